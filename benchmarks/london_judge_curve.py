"""P(happy) of the pretrained judge along Neutral->happy for a generator (e.g. one trained on London).

Run: `python benchmarks/london_judge_curve.py GENERATOR_DIR` (100 seeds x 11 steps, judge crop 0.6).
Prints one JSON line: mean and SD of P(happy) at each happy weight 0.0 ... 1.0.
"""
import json
import sys

import numpy as np

from contemo.emotions import FER2013_CLASSES
from contemo.generation.pipeline import EmotionPipeline
from contemo.judge.model import Judge
from contemo.labels.paths import neutral_to

ck = sys.argv[1]
pipe = EmotionPipeline.from_pretrained(ck)
judge = Judge.from_file(crop=0.6)
hi = FER2013_CLASSES.index("happy")
seeds = list(range(100)); labels = neutral_to("happy", 11)
curve = []
for w, lab in zip(np.linspace(0, 1, 11), labels):
    imgs = pipe.generate([lab], seeds=seeds)
    p = judge.score(imgs)["probs"][:, hi]
    curve.append((round(float(w), 1), round(float(p.mean()), 4), round(float(p.std()), 4)))
print(json.dumps({"checkpoint": ck, "seeds": 100, "judge_crop": 0.6, "p_happy_by_weight": curve}))
