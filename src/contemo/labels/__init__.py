"""Label construction: every way contemo turns a wish into conditioning vectors.

* `paths` - two-emotion blends and paths (the paper's Neutral -> emotion, Eq. 3-4),
  and the step weights of a path;
* `sets` - labelled sets of vectors for a job or a figure (pairs, one-hots, a VA
  target, a calibrated path), each column with its header;
* `va` - a valence-arousal target -> the label that reaches it, and the anchors a
  checkpoint carries;
* `calibration` - a sweep's measured curves: calibrated (equal-VA) steps and the
  measured anchors, read from and written to calibration.json.

The emotion vocabulary, the theoretical anchors and label validation stay in
`contemo.emotions`; nothing here parses command lines (contemo.generation.label_options
does that for `contemo generate`).
"""
