"""Inference: the pipeline (noise + labels -> faces), generate jobs, GIFs and the demo's figures.

Imports no training code, so serving and evaluation depend on inference alone.
"""
