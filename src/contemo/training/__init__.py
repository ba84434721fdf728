"""Training loops: the conditional GAN and the valence-arousal regressor, run folders, checkpoints."""
