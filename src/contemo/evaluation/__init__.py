"""Measuring generated faces: sweeps, metrics, the independent judge, plots, user-study analysis."""
