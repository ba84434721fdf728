"""Measure image quality: FID and KID of generated vs real faces, in a named feature space.

Real images come from any data layout; generated ones from a generator checkpoint,
one-hot per emotion, as many per emotion as there are real images of it. FID and KID
are computed overall and per emotion, with the real/real floor, in one of three
feature spaces (--features): the contemo VA regressor's (synthetic faces only), the
FER2013 judge's on dlib face crops (FED, for photographs) or dlib's identity
descriptor. Never Inception-v3, so the numbers are not comparable with published
FIDs; every output says so. Writes quality.json.
"""

from __future__ import annotations

import argparse

from contemo.data.layouts import LAYOUTS
from contemo.hardware import add_device_argument

EXAMPLES = """\
  contemo evaluate quality --real data/synth --layout faces --out out/quality.json
  contemo evaluate quality --real ../shared/data/london-faces --layout london --features judge
  contemo evaluate quality --real ../shared/data/london-faces --layout london --features dlib \\
      --checkpoint runs/00004-london64/generator
  contemo evaluate quality --real data/synth --checkpoint runs/00003-synth64/generator \\
      --regressor runs/regressor-synth/model --max-per-class 500
"""

FEATURE_CHOICES = ("regressor", "judge", "dlib")  # as contemo.evaluation.quality_features


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--real", metavar="DIR", required=True, help="real face images")
    parser.add_argument("--layout", choices=tuple(LAYOUTS), default="faces",
                        help="how --real is organised (default: faces)")
    parser.add_argument("--manifest", metavar="CSV", help="affectnet/csv: the manifest to read")
    parser.add_argument("--checkpoint", metavar="DIR",
                        help="generator release folder (default: the shipped generator)")
    parser.add_argument("--features", choices=FEATURE_CHOICES, default="regressor",
                        help="feature space: regressor (contemo's VA regressor; synthetic faces "
                        "only, default), judge (FER2013 judge on dlib face crops: FED, for "
                        "photographs) or dlib (face-identity descriptors)")
    parser.add_argument("--regressor", metavar="DIR",
                        help="--features regressor: the VA regressor folder (default: shipped)")
    parser.add_argument("--max-per-class", type=int, default=1000, metavar="N",
                        help="at most N real (and N generated) images per emotion (default 1000)")
    parser.add_argument("--seed-start", type=int, default=0,
                        help="first generator seed; emotions get consecutive seed ranges")
    parser.add_argument("--kid-subsets", type=int, default=100)
    parser.add_argument("--kid-subset-size", type=int, default=1000,
                        help="shrunk to the smaller set's size when that is smaller")
    parser.add_argument("--seed", type=int, default=0, help="real-image sampling and KID subsets")
    parser.add_argument("--reference", action=argparse.BooleanOptionalAction, default=True,
                        help="also score two halves of the real images against each other "
                        "(the floor a perfect generator reaches; default on)")
    add_device_argument(parser)
    parser.add_argument("--out", metavar="JSON", default="quality.json",
                        help="where to write the report (default: quality.json)")


def run(args: argparse.Namespace) -> int:
    """Print the FID/KID table and write quality.json; return 0."""
    from contemo.data import open_dataset
    from contemo.errors import ContemoError
    from contemo.evaluation.quality import format_report, quality_report
    from contemo.evaluation.quality_features import load_space
    from contemo.fileio import atomic_write_json
    from contemo.generation.pipeline import EmotionPipeline
    from contemo.hardware import resolve_device

    for flag in ("max_per_class", "kid_subsets", "kid_subset_size"):
        if getattr(args, flag) < 1:
            raise ContemoError(f"--{flag.replace('_', '-')} must be at least 1")
    device = resolve_device(args.device)
    pipeline = EmotionPipeline.from_pretrained(args.checkpoint, device=device)
    space = load_space(args.features, regressor=args.regressor, device=str(device))
    dataset = open_dataset(args.real, args.layout, pipeline.resolution, manifest=args.manifest)
    real = dataset.images_uint8.float().div_(127.5).sub_(1.0)
    report = quality_report(
        real, [r.emotion for r in dataset.records], pipeline, space,
        max_per_class=args.max_per_class, seed_start=args.seed_start,
        kid_subsets=args.kid_subsets, kid_subset_size=args.kid_subset_size, seed=args.seed,
        reference=args.reference,
    )
    report = {
        "generator": str(args.checkpoint or "shipped"),
        "regressor_folder": str(args.regressor or "shipped") if args.features == "regressor"
        else None,
        "real": {"root": str(args.real), "layout": args.layout, "images": len(dataset),
                 "resolution": pipeline.resolution},
        **report,
    }
    print(format_report(report))
    try:
        atomic_write_json(args.out, report)
    except OSError as err:
        raise ContemoError(f"{args.out}: cannot write the report ({err.strerror})") from None
    print(f"wrote {args.out}")
    return 0
