"""Create a user study like the paper's §4.2: real and generated faces, 6 emotions, Likert 1-5.

Per emotion it takes N real images (any layout `contemo data check` reads) and N
faces generated from the one-hot label, resizes all to one size (paper: 256x256)
and copies them into the study folder under opaque random ids. The admin token
(needed to export answers over HTTP) is printed once and stored only as a hash.
"""

from __future__ import annotations

import argparse

EXAMPLES = """\
  contemo study create --data /data/FACES --layout faces --out ~/studies/pilot
  contemo study create --data /work/shared/data/london-faces --layout london \\
      --checkpoint runs/00003-synth64/release --out ~/studies/london --real 3 --generated 3
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="folder of real face images")
    parser.add_argument("--layout", default="faces",
                        help="layout of --data: faces, affectnet, folder, csv, london")
    parser.add_argument("--out", required=True, help="new study folder (must not exist or be "
                                                     "empty)")
    parser.add_argument("--checkpoint", default=None,
                        help="generator release folder (default: the shipped one)")
    parser.add_argument("--real", type=int, default=3, help="real images per emotion (3)")
    parser.add_argument("--generated", type=int, default=3,
                        help="generated images per emotion (3)")
    parser.add_argument("--size", type=int, default=256, help="image side in pixels (256)")
    parser.add_argument("--seed", type=int, default=0,
                        help="picks the real images and generator seeds (0)")
    parser.add_argument("--title", default="Emotion perception study",
                        help="title shown to participants")
    parser.add_argument("--skip-bad", action="store_true",
                        help="skip unreadable or misnamed files in --data")


def run(args: argparse.Namespace) -> int:
    from collections import Counter

    from contemo.serve.study.build import StudyPlan, create_study

    plan = StudyPlan(real_per_emotion=args.real, generated_per_emotion=args.generated,
                     size=args.size, seed=args.seed, title=args.title)
    study, token = create_study(args.out, args.data, args.layout, args.checkpoint, plan,
                                skip_bad=args.skip_bad)
    counts = Counter((im.emotion, im.source) for im in study.images)
    print(f"study created: {study.folder} ({len(study.images)} images, "
          f"{plan.size}x{plan.size})")
    for emotion in study.data["emotions"]:
        print(f"  {emotion:8s} real {counts[(emotion, 'real')]}  "
              f"generated {counts[(emotion, 'generated')]}")
    for note in study.data["notes"]:
        print(f"note: {note}")
    print(f"admin token (shown once; needed for the HTTP export): {token}")
    print(f"run it: contemo study serve {study.folder}")
    return 0
