"""Check a face data set: counts per emotion/age/gender, image sizes, every bad file.

Every image is decoded in full (in parallel threads), so a truncated or corrupt
file is found here rather than halfway through a training run. Exit status is 0
when the set is clean (or --skip-bad is given), 1 when problems were found, 2 when
the set cannot be read at all (missing folder, manifest or column).
"""

from __future__ import annotations

import argparse
import sys

from contemo.data.layouts import LAYOUTS

EXAMPLES = """\
  contemo data check data/synth --layout faces
  contemo data check /data/FACES --layout faces --json faces-report.json
  contemo data check /data/AffectNet --layout affectnet --manifest /data/AffectNet/validation.csv
  contemo data check ../shared/data/london-faces --layout london --crop fixed
  contemo data check my_faces/ --layout folder --skip-bad
"""



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("root", metavar="DIR",
                        help="data folder (or the manifest CSV for affectnet/csv)")
    parser.add_argument("--layout", choices=tuple(LAYOUTS), default="faces",
                        help="how the folder is organised (default: faces)")
    parser.add_argument("--manifest", metavar="CSV",
                        help="affectnet/csv: the manifest to read (default: found under DIR)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="count bad files as skipped and exit 0 instead of 1")
    parser.add_argument("--crop", choices=("none", "fixed", "detect"), default="none",
                        help="also find faces (dlib) and report how many were found and "
                        "cropped: fixed = one box for a studio set, detect = a box per image")
    parser.add_argument("--crop-scale", type=float, default=1.6,
                        help="crop side / detected face box side (default 1.6)")
    parser.add_argument("--json", metavar="OUT", help="also write the report as JSON to OUT")
    parser.add_argument("--threads", type=int, default=None,
                        help="decoding threads (default: up to 8, one per core)")
    parser.add_argument("--max-pixels", type=int, default=None, metavar="N",
                        help="refuse images whose header claims more than N pixels, before "
                        "decoding (default: $CONTEMO_MAX_PIXELS, else 40000000)")


def run(args: argparse.Namespace) -> int:
    """Print the report; return 0 if clean or --skip-bad, else 1."""
    from contemo.data.check_report import build_report, format_report
    from contemo.data.images import max_pixels, set_max_pixels
    from contemo.errors import ContemoError
    from contemo.fileio import atomic_write_json

    set_max_pixels(args.max_pixels)
    max_pixels()  # a bad CONTEMO_MAX_PIXELS is one line, not one problem per image
    report = build_report(args.root, args.layout, manifest=args.manifest, threads=args.threads,
                          crop=args.crop, crop_scale=args.crop_scale)
    print(format_report(report, skip_bad=args.skip_bad))
    if args.json:
        try:
            atomic_write_json(args.json, report)
        except OSError as err:
            reason = err.strerror or type(err).__name__
            raise ContemoError(f"{args.json}: cannot write the JSON report ({reason})") from None
    if report["problems"] and not args.skip_bad:
        count = len(report["problems"])
        print(
            f"contemo: data check: {count} problem{'s' * (count > 1)} in {report['root']} "
            "(listed above; --skip-bad skips them)",
            file=sys.stderr,
        )
        return 1
    return 0
