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
from pathlib import Path
from typing import Any, NamedTuple

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
    src.add_argument("--out", help="parent folder of run folders (default runs/)")
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="continue a run from its newest checkpoint (or a checkpoint .json)")
    add_device_argument(parser)
    parser.add_argument("--cpu", action="store_true",
                        help="deprecated: the same as --device cpu")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="CPU threads per process (default: torch's; 1 is much faster on "
                        "a CPU shared with other jobs)")
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


class Plan(NamedTuple):
    """What `contemo train` will do: its config, where it resumes from, what it noticed."""

    config: Any  # TrainConfig (imported lazily: --help stays light)
    sidecar: Path | None  # checkpoint to resume from; None: step 0
    run_dir: Path | None  # None: a new run folder
    notes: list[str]  # lines to print and log (skipped checkpoints, restarts)
    damaged: list[Path]  # damaged checkpoints newer than `sidecar`, set aside once locked


def resolve_config(args: argparse.Namespace) -> Plan:
    """Return the Plan for the arguments: config, resume checkpoint, run folder, notes.

    Resuming a run folder picks its newest checkpoint that passes every check; `notes`
    says which newer ones were damaged and skipped. A run folder without any checkpoint
    (stopped before its first) resumes from step 0 with its config.json.
    """
    from contemo.errors import ContemoError
    from contemo.training import checkpoint as ckpt
    from contemo.training.config import apply, get_preset, load_file
    from contemo.training.runs import CHECKPOINTS, CONFIG, check_run_dir

    changes = _changes(args)
    notes: list[str] = []
    damaged: list[Path] = []
    if args.resume:
        if args.preset or args.config:
            raise ContemoError("--resume takes its config from the run folder; change fields "
                               "with --set or --steps instead of --preset/--config")
        target = Path(args.resume)
        if target.suffix == ".json" and target.is_file():
            sidecar, run = target, check_run_dir(target.parent.parent)
            ckpt.load(sidecar)  # the one asked for: damaged is an error, not a fallback
        else:
            run = check_run_dir(target)
            sidecar, skipped = ckpt.newest_intact(run / CHECKPOINTS)
            notes += [f"skipped damaged checkpoint: {line}" for _, line in skipped]
            if sidecar is None and skipped:
                raise ContemoError(f"{run / CHECKPOINTS}: no intact checkpoint to resume from "
                                   f"(newest: {skipped[0][1]})")
            damaged = [path for path, _ in skipped]
            if sidecar is None:
                notes.append(f"{run}: no checkpoint yet (stopped before the first); "
                             "starting it again from step 0 with its config.json")
            elif skipped:
                notes.append(f"resuming from {sidecar.name}, the newest intact checkpoint")
        base = load_file(run / CONFIG)
        return Plan(checked(apply(base, changes, "--set")), sidecar, run, notes, damaged)
    if args.config:
        base = load_file(args.config)
        if args.preset:
            raise ContemoError("give --preset or --config, not both (a config file names its "
                               "base preset in its 'preset' field)")
    else:
        base = get_preset(args.preset or "synth64")
    return Plan(checked(apply(base, changes, "--set")), None, None, notes, damaged)


def checked(config):
    """Return `config` if it can train: a known layout and a length (steps or epochs)."""
    from contemo.data.layouts import LAYOUTS
    from contemo.errors import ContemoError

    if config.layout not in LAYOUTS:
        raise ContemoError(f"train config field 'layout': expected one of {', '.join(LAYOUTS)}, "
                           f"got {config.layout!r}")
    if not config.steps and not config.epochs:
        raise ContemoError("train config: steps and epochs are both 0; set --steps N or "
                           "--epochs E")
    return config


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

    set_max_pixels(args.max_pixels)
    config, sidecar, run_dir, notes, damaged = resolve_config(args)
    if args.dry_run:
        print(json.dumps(config.to_dict(), indent=2))
        return 0
    for note in notes:
        print(f"contemo: {note}", file=sys.stderr)

    import torch
    from accelerate import Accelerator, PartialState
    from accelerate.state import AcceleratorState
    from accelerate.utils import DistributedDataParallelKwargs, broadcast_object_list

    from contemo.errors import ContemoError
    from contemo.fileio import atomic_write_json, write_error
    from contemo.hardware import accelerate_precision, resolve_device, resolve_precision
    from contemo.training.checkpoint import set_aside
    from contemo.training.data import load_train_data
    from contemo.training.runs import CONFIG, RunLock, clean_leftovers, new_run_dir, truncate_stats

    if args.threads is not None:
        if args.threads < 1:
            raise ContemoError(f"--threads {args.threads}: expected a positive integer")
        torch.set_num_threads(args.threads)
    data = load_train_data(config)  # before any run folder exists: bad data leaves nothing
    for warning in data.warnings:
        print(f"contemo: warning: {warning}")
    # A fresh mixed-precision state per call: in-process callers (tests, notebooks) may train
    # twice with different settings; the process group (PartialState) is kept.
    AcceleratorState._reset_state(reset_partial_state=False)
    device = resolve_device(train_device(args))
    if device.type == "cuda" and device.index is not None:
        torch.cuda.set_device(device)  # one process: Accelerate uses the current CUDA device
    state = PartialState(cpu=device.type == "cpu")
    images = data.description["images"]
    if config.batch_size * state.num_processes > images:
        raise ContemoError(f"batch size {config.batch_size} x {state.num_processes} "
                           f"process(es) is more than the {images} training images; use "
                           f"--batch-size {max(1, images // state.num_processes)} or less")
    precision = resolve_precision(config.mixed_precision, state.device, training=True,
                                  where="mixed_precision")
    accelerator = Accelerator(
        cpu=device.type == "cpu", mixed_precision=accelerate_precision(precision),
        kwargs_handlers=[DistributedDataParallelKwargs(broadcast_buffers=False)])
    lock = None
    try:
        if run_dir is None:
            holder = [None]
            if accelerator.is_main_process:
                run_dir = new_run_dir(config.out, config.preset,
                                      lambda d: atomic_write_json(d / CONFIG, config.to_dict()))
                lock = RunLock(run_dir)
                holder = [str(run_dir)]
            if accelerator.num_processes > 1:
                broadcast_object_list(holder)
            run_dir = Path(holder[0])
        elif accelerator.is_main_process:
            lock = RunLock(run_dir)  # before anything is written: one trainer per run folder
            for line in clean_leftovers(run_dir):
                print(f"contemo: {line}", file=sys.stderr)
            for bad in damaged:
                for path in set_aside(bad):
                    print(f"contemo: kept the damaged checkpoint as {path.name}", file=sys.stderr)
            if sidecar is None:
                truncate_stats(run_dir, 0)
            atomic_write_json(run_dir / CONFIG, config.to_dict())  # with this resume's changes
        return _train(config, accelerator, run_dir, data, sidecar, notes)
    except OSError as err:  # a full disk or a read-only folder: earlier checkpoints are intact
        where = f"; checkpoints in {run_dir / 'checkpoints'} are intact, resume with " \
                f"contemo train --resume {run_dir}" if run_dir else ""
        raise ContemoError(f"{write_error(run_dir or config.out, err)}{where}") from None
    finally:
        if lock is not None:
            lock.release()


def _train(config, accelerator, run_dir: Path, data, sidecar: Path | None,
           notes: list[str]) -> int:
    """Run the trainer in `run_dir` (locked, clean) and return the exit status."""
    import torch

    from contemo.training.gan import GANTrainer

    trainer = GANTrainer(config, accelerator, run_dir, data, resume=sidecar)
    if accelerator.is_main_process:
        how = f"resumed from {sidecar.name}" if sidecar else "new run"
        for note in notes:
            trainer.log.line(note)
        trainer.log.line(f"{how}: {run_dir} ({data.description['images']} images, "
                         f"{data.description['per_emotion']})")
        for warning in data.warnings:
            trainer.log.line(f"warning: {warning}")
        print(f"contemo: run folder {run_dir}")
    try:
        code = trainer.train()
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    if code == 0 and accelerator.is_main_process:
        print(f"contemo: released EMA generator: {run_dir / 'generator'}")
    return code
