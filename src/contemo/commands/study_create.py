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
      --checkpoint runs/00003-synth64 --out ~/studies/london --real 3 --generated 3
  contemo study create --data /data/FACES --out ~/studies/prolific --attention-checks 2 \\
      --completion-url 'https://app.prolific.com/submissions/complete?cc={code}' \\
      --completion-code C1A2B3
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
    parser.add_argument("--completion-url", default=None,
                        help="send finishers here; {code} becomes their completion code, e.g. "
                             "'https://app.prolific.com/submissions/complete?cc={code}'")
    parser.add_argument("--completion-code", default=None,
                        help="one completion code for everyone (Prolific); default: a code "
                             "per participant")
    parser.add_argument("--attention-checks", type=int, default=0,
                        help="instructed-response catch pages per participant (default 0)")
    parser.add_argument("--practice", type=int, default=0,
                        help="practice pages shown first, answers not stored (default 0)")
    parser.add_argument("--demographics", action="store_true",
                        help="ask age and gender (both optional) after consent")
    parser.add_argument("--open", action="store_true",
                        help="no entry key: anyone with the address can join (default: "
                             "participants need the link with ?key=...)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="skip unreadable or misnamed files in --data")


def run(args: argparse.Namespace) -> int:
    from collections import Counter

    from contemo.serve.study.build import StudyPlan, create_study

    plan = StudyPlan(real_per_emotion=args.real, generated_per_emotion=args.generated,
                     size=args.size, seed=args.seed, title=args.title,
                     entry_key=not args.open, completion_url=args.completion_url,
                     completion_code=args.completion_code,
                     attention_checks=args.attention_checks, practice=args.practice,
                     demographics=args.demographics)
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
    settings = study.settings
    if settings.catch or settings.practice:
        print(f"  plus {len(settings.catch)} attention-check page(s), {len(settings.practice)} "
              "practice page(s)")
    print(f"admin token (shown once; log in at /admin with it): {token}")
    if settings.entry_key:
        print(f"participant link: http://HOST:PORT/?key={settings.entry_key}"
              "  (Prolific: add &PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}"
              "&SESSION_ID={{%SESSION_ID%}})")
    print(f"run it: contemo study serve {study.folder}")
    return 0
