"""Show what contemo does: the 6 emotions, Neutral->emotion strips, a GIF and a data set.

Uses the generator shipped with contemo (trained on the synthetic synth64 faces) and
writes into one folder (default demo_out/): emotions.png (the paper's Fig. 3),
strips/neutral_to_<emotion>.png and all_strips.png (Fig. 5), transition.gif (one
identity touring every emotion and back), and manifest.csv + images/ (the strips'
images with their labels and valence/arousal). `--train` first retrains synth64 from
scratch (synthetic faces, then `contemo train`) and uses that model instead.
"""

from __future__ import annotations

import argparse

EXAMPLES = """\
  contemo demo
  contemo demo --out /tmp/demo --display-scale 3 --resample bicubic
  contemo demo --checkpoint runs/00003-synth64/generator
  contemo demo --train
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    from contemo.commands.options import add_figure_arguments, add_generator_arguments

    parser.add_argument("--out", default="demo_out", metavar="DIR",
                        help="output folder (default demo_out/; the demo's files are replaced)")
    add_generator_arguments(parser)
    add_figure_arguments(parser)
    parser.add_argument("--train", action="store_true",
                        help="retrain synth64 from scratch first (minutes on a CPU) and demo it")
    parser.add_argument("--train-preset", default="synth64", help=argparse.SUPPRESS)
    parser.add_argument("--train-people", type=int, default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """Write the demo's figures and data set, print their paths and a summary; return 0."""
    import time
    from pathlib import Path

    from contemo.commands.options import load_pipeline
    from contemo.errors import ContemoError
    from contemo.generation.demo_figures import write_demo
    from contemo.generation.images import display_scale
    from contemo.labels.va import checkpoint_anchors

    started = time.perf_counter()
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ContemoError(f"--out {out}: exists and is not a folder")
    if args.train:
        if args.checkpoint:
            raise ContemoError("--train and --checkpoint conflict: --train makes its own")
        from contemo.generation.demo_training import train_for_demo

        args.checkpoint = str(train_for_demo(out / "train", args.train_preset,
                                             args.train_people, args.device))
    elif args.checkpoint is None:
        _require_shipped()
    pipe = load_pipeline(args)
    scale = display_scale(args.display_scale, pipe.resolution)
    try:
        files, images = write_demo(pipe, out, scale=scale, method=args.resample,
                                   batch_size=args.batch_size, anchors=checkpoint_anchors(pipe.meta))
    except OSError as err:
        raise ContemoError(f"--out {out}: cannot write there ({err.strerror or err})") from None
    for path in files:
        print(path)
    source = args.checkpoint or "the shipped synth64 checkpoint"
    print(f"demo: {len(pipe.trained)}-emotion grid, strips, GIF and a {images}-image data set in "
          f"{time.perf_counter() - started:.1f} s on {pipe.device} from {source} -> {out}")
    if args.checkpoint is None and not args.train:
        _demo_other_shipped(args, out, scale)
    return 0


def _demo_other_shipped(args: argparse.Namespace, out, scale: int) -> None:
    """Write the same figures for every other generator shipped in the package (out/NAME/)."""
    from contemo.commands.options import load_pipeline
    from contemo.generation.demo_figures import write_demo
    from contemo.models.pretrained import DEFAULT_CHECKPOINT, shipped_generators

    for name, folder in shipped_generators().items():
        if folder.name == DEFAULT_CHECKPOINT:
            continue
        pipe = load_pipeline(args, folder)  # the same device, precision and truncation
        files, _ = write_demo(pipe, out / name, scale=scale, method=args.resample,
                              batch_size=args.batch_size)
        for path in files:
            print(path)
        print(f"demo: {name} ({', '.join(pipe.trained)}) -> {out / name}")


def _require_shipped() -> None:
    """Raise a one-line error pointing at --checkpoint/--train while no model is shipped."""
    from contemo.errors import ContemoError
    from contemo.models import default_checkpoint

    try:
        default_checkpoint()
    except ContemoError as err:
        raise ContemoError(f"{err}; or run `contemo demo --train` to train one") from None
