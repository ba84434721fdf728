"""Train the conditional GAN on emotion-labelled faces into a numbered run folder.

Settings come from a preset (--preset), a JSON file (--config, e.g. one of configs/),
then --set key=value and the explicit flags; the resolved config is written to the
run folder. The run writes log.txt, stats.jsonl, fixed-seed grids, resumable
checkpoints and, at the end, the EMA generator in generator/ (the release format).
Ctrl-C or SIGTERM saves a checkpoint; --resume RUN_DIR continues exactly.
Multi-GPU / multi-node: `accelerate launch --num_processes N -m contemo train ...`.
"""

from __future__ import annotations

import argparse

from contemo.commands.options import add_run_arguments, add_threads_argument
from contemo.hardware import add_device_argument

EXAMPLES = """\
  contemo train --preset synth64 --data data/synth
  contemo train --preset tiny --data data/synth --steps 50 --out /tmp/runs
  contemo train --config configs/paper256.json --data /data/FACES
  contemo train --preset synth64 --data data/synth --set lr=1e-4 --set mixed_precision=no
  contemo train --preset london64 --data ../shared/data/london-faces
  contemo train --preset synth64 --data in_the_wild/ --layout folder --set crop=detect --set skip_bad=true
  contemo train --resume runs/00003-synth64
  contemo train --resume runs/00003-synth64 --steps 6000     (train further)
  accelerate launch --num_processes 4 -m contemo train --preset paper256 --data /data/FACES
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare `contemo train`'s options."""
    src = parser.add_argument_group("settings (later ones override earlier ones)")
    src.add_argument("--preset", help="named preset: paper256, synth64, london64, london128 or "
                     "tiny (default synth64)")
    src.add_argument("--config", metavar="FILE", help="JSON config file (fields of TrainConfig)")
    src.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                     help="override one field, e.g. lr=2e-4, model.g_width=48 (repeatable)")
    src.add_argument("--data", help="training set folder")
    src.add_argument("--layout", help="data layout: faces, affectnet, folder, csv, london")
    src.add_argument("--steps", type=int, help="optimisation steps (overrides epochs)")
    src.add_argument("--epochs", type=float, help="passes over the data (when steps is 0)")
    src.add_argument("--batch-size", type=int, help="images per step per process")
    add_run_arguments(parser, "runs")
    add_device_argument(parser)
    parser.add_argument("--cpu", action="store_true",
                        help="deprecated: the same as --device cpu")
    add_threads_argument(parser)
    parser.add_argument("--max-pixels", type=int, metavar="N",
                        help="refuse training images whose header claims more than N pixels "
                        "(default: $CONTEMO_MAX_PIXELS, else 40000000)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the resolved config and exit without training")


def _changes(args: argparse.Namespace) -> dict[str, object]:
    """Return the field changes of --set and the explicit flags (flags win)."""
    from contemo.errors import ContemoError
    from contemo.training.config import parse_sets

    for flag, value in (("--steps", args.steps), ("--batch-size", args.batch_size)):
        if value is not None and value < 1:
            raise ContemoError(f"{flag} {value}: expected a positive integer"
                               + (" (train by passes over the data with --epochs)"
                                  if flag == "--steps" else ""))
    if args.epochs is not None and not args.epochs > 0:
        raise ContemoError(f"--epochs {args.epochs}: expected a positive number")
    changes: dict[str, object] = dict(parse_sets(args.sets))
    for field, value in (("data", args.data), ("layout", args.layout), ("steps", args.steps),
                         ("epochs", args.epochs), ("batch_size", args.batch_size),
                         ("out", args.out)):
        if value is not None:
            changes[field] = value
    if args.epochs is not None and args.steps is None:
        changes["steps"] = 0  # --epochs alone means train by epochs
    return changes


def train_device(args: argparse.Namespace) -> str:
    """Return the --device value, with the deprecated --cpu read as --device cpu."""
    from contemo.errors import ContemoError

    if args.cpu and args.device not in ("auto", "cpu"):
        raise ContemoError(f"--cpu and --device {args.device} conflict (--cpu is --device cpu)")
    return "cpu" if args.cpu else args.device


def run(args: argparse.Namespace) -> int:
    """Train (or resume) one run; return the exit status."""
    import json
    import sys

    from contemo.data.images import set_max_pixels
    from contemo.training.plan import plan_run

    set_max_pixels(args.max_pixels)
    plan = plan_run(_changes(args), preset=args.preset, config_file=args.config,
                    resume=args.resume)
    if args.dry_run:
        print(json.dumps(plan.config.to_dict(), indent=2))
        return 0
    for note in plan.notes:
        print(f"contemo: {note}", file=sys.stderr)

    from contemo.commands.options import apply_threads
    from contemo.training.data import load_train_data
    from contemo.training.session import open_accelerator, train_run

    apply_threads(args)
    data = load_train_data(plan.config)  # before any run folder exists: bad data leaves nothing
    for warning in data.warnings:
        print(f"contemo: warning: {warning}")
    accelerator = open_accelerator(plan.config, train_device(args), data)
    return train_run(plan, accelerator, data)
