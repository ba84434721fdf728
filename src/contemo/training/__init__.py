"""Training: the GAN loop (`contemo train`), its configs, checkpoints and run folders.

Inference never imports this package; it only reads the released generator folder.
"""
