"""Inference: the pipeline (noise + labels -> faces), image writers, `generate` and `demo`.

Imports no training code, so serving and evaluation depend on inference alone.
"""
