"""contemo: continuous emotions from a conditional GAN trained on categorical ones.

Train a DCGAN-based cGAN on faces labelled with 6 categorical emotions, then
interpolate its conditioning vector to move a face continuously through
valence-arousal space (Eq. 1-4 of "Continuous Emotions: Exploring Label
Interpolation in Conditional GANs for Face Generation", DeLTA 2021).
"""

__version__ = "0.1.0"
