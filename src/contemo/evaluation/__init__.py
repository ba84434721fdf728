"""Measuring generated faces: sweeps, metrics, identity, quality, plots, the user study's
statistics and Fig. 4 (the judge itself is contemo.judge)."""
