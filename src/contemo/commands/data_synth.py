"""Render a synthetic face set with known ground truth (FACES layout, or AffectNet-style VA blends).

Default: N people x 6 emotions x 2 picture sets named like FACES
(NNN_A_G_E_S.jpg), age groups and genders spread as in FACES: contemo's
default training data (`contemo train --data DIR`). With --continuous K: K images of random
blends of AffectNet's 8 expressions with ground-truth valence/arousal, in the
AffectNet layout, for `contemo regressor train`. Same seed, same bytes.
"""

from __future__ import annotations

import argparse

EXAMPLES = """\
  contemo data synth --out data/synth                       # 171 people, 2052 images, 128 px
  contemo data synth --out data/synth64 --people 60 --size 64 --seed 1 --workers 0
  contemo data synth --continuous 20000 --out data/synth-va --size 64
  contemo data synth --out /tmp/peek --people 6 --size 64 --sheet sheet.png
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output folder (must be new or empty unless --force)")
    parser.add_argument("--people", type=int, default=None, metavar="N",
                        help="FACES set: number of people, 1-999 (default 171, as in FACES)")
    parser.add_argument("--continuous", type=int, default=None, metavar="K",
                        help="write K random expression blends with valence/arousal instead")
    parser.add_argument("--size", type=int, default=128, metavar="S",
                        help="image side in pixels, 16-1024 (default 128)")
    parser.add_argument("--seed", type=int, default=0, metavar="K", help="random seed (default 0)")
    parser.add_argument("--workers", type=int, default=1, metavar="W",
                        help="worker processes (0 = one per core; default 1)")
    parser.add_argument("--force", action="store_true",
                        help="write into a non-empty folder (an earlier synthetic set there "
                        "is replaced; other files are left alone)")
    parser.add_argument("--sheet", metavar="PNG", help="also save the contact sheet as PNG here")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Write the set and print where it is and how to read it; return 0."""
    import time
    from pathlib import Path

    from contemo.data.synth import sets, writing
    from contemo.errors import ContemoError

    if args.continuous is not None and args.people is not None:
        raise ContemoError("--people applies to the FACES set; --continuous K draws K random "
                           "people (give one of the two)")
    start = time.perf_counter()
    progress = not args.no_progress
    if args.continuous is not None:
        out = sets.make_continuous_set(args.out, args.continuous, args.size, args.seed,
                                       workers=args.workers, force=args.force, progress=progress)
        images, layout, sheet = args.continuous, "affectnet", out / writing.CONTINUOUS_SHEET
        what = f"{images} expression blends"
    else:
        people = 171 if args.people is None else args.people
        out = sets.make_faces_set(args.out, people, args.size, args.seed, workers=args.workers,
                                  force=args.force, progress=progress)
        images, layout, sheet = people * 12, "faces", out / writing.FACES_SHEET
        what = f"{images} images ({people} people x 6 emotions x 2 picture sets)"
    seconds = time.perf_counter() - start
    if args.sheet:
        _save_sheet(Path(args.sheet).expanduser(), out, sheet, args.continuous is None)
    print(f"wrote {what} at {args.size} px to {out} in {seconds:.1f} s "
          f"({images / max(seconds, 1e-9):.0f} images/s)")
    print(f"contact sheet: {sheet}   ground truth: {out / writing.GROUND_TRUTH}")
    print(f"check it: contemo data check {out} --layout {layout}")
    return 0


def _save_sheet(target, out, written, faces: bool) -> None:
    """Save the contact sheet as a full-colour PNG at `target` (the FACES one is redrawn)."""
    from PIL import Image

    from contemo.data.synth.sheet import faces_sheet
    from contemo.errors import ContemoError
    from contemo.figures import save_png

    if faces:
        image = faces_sheet(out)  # the GIF beside the set has 256 colours; this has them all
    else:
        with Image.open(written) as im:
            image = im.convert("RGB")
    try:
        save_png(image, target)
    except OSError as err:
        raise ContemoError(f"{target}: cannot write the contact sheet ({err.strerror})") from None
