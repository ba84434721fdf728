"""The paper's user study (§4.2): build a study folder, run it in the browser, export, analyze.

`contemo study create` picks real and generated stimuli, `study serve` runs the
participant pages with answers in SQLite, `study export` writes the answers as CSV
and `study analyze` draws the Fig. 4-style plot with per-emotion statistics
(contemo.evaluation.study_analysis and study_stats: the statistics live with evaluation).
"""
