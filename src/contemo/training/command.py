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
    parser.add_argument("--cpu", action="store_true", help="train on the CPU even with a GPU")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="CPU threads per process (default: torch's; 1 is much faster on "
                        "a CPU shared with other jobs)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the resolved config and exit without training")


def _changes(args: argparse.Namespace) -> dict[str, object]:
    """Return the field changes of --set and the explicit flags (flags win)."""
    from contemo.training.config import parse_sets

    changes: dict[str, object] = dict(parse_sets(args.sets))
    for field, value in (("data", args.data), ("layout", args.layout), ("steps", args.steps),
                         ("epochs", args.epochs), ("batch_size", args.batch_size),
                         ("out", args.out)):
        if value is not None:
            changes[field] = value
    if args.epochs is not None and args.steps is None:
        changes["steps"] = 0  # --epochs alone means train by epochs
    return changes


def resolve_config(args: argparse.Namespace):
    """Return (TrainConfig, resume checkpoint or None, run folder or None) for the arguments."""
    from contemo.errors import ContemoError
    from contemo.training import checkpoint as ckpt
    from contemo.training.config import apply, get_preset, load_file
    from contemo.training.runs import CHECKPOINTS, CONFIG, check_run_dir

    changes = _changes(args)
    if args.resume:
        if args.preset or args.config:
            raise ContemoError("--resume takes its config from the run folder; change fields "
                               "with --set or --steps instead of --preset/--config")
        target = Path(args.resume)
        if target.suffix == ".json" and target.is_file():
            sidecar, run = target, check_run_dir(target.parent.parent)
        else:
            run = check_run_dir(target)
            found = ckpt.list_checkpoints(run / CHECKPOINTS)
            if not found:
                raise ContemoError(f"{run / CHECKPOINTS}: no checkpoint to resume from")
            sidecar = found[-1]
        base = load_file(run / CONFIG)
        return apply(base, changes, "--set"), sidecar, run
    if args.config:
        base = load_file(args.config)
        if args.preset:
            raise ContemoError("give --preset or --config, not both (a config file names its "
                               "base preset in its 'preset' field)")
    else:
        base = get_preset(args.preset or "synth64")
    return apply(base, changes, "--set"), None, None


def run(args: argparse.Namespace) -> int:
    """Train (or resume) one run; return the exit status."""
    import json

    config, sidecar, run_dir = resolve_config(args)
    if args.dry_run:
        print(json.dumps(config.to_dict(), indent=2))
        return 0

    import torch
    from accelerate import Accelerator, PartialState
    from accelerate.state import AcceleratorState
    from accelerate.utils import DistributedDataParallelKwargs, broadcast_object_list

    from contemo.errors import ContemoError
    from contemo.fileio import atomic_write_json
    from contemo.training.fastpaths import resolve_precision
    from contemo.training.data import load_train_data
    from contemo.training.gan import GANTrainer
    from contemo.training.runs import CONFIG, new_run_dir

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
    state = PartialState(cpu=args.cpu)
    precision = resolve_precision(config.mixed_precision, state.device.type == "cuda")
    accelerator = Accelerator(
        cpu=args.cpu, mixed_precision=precision,
        kwargs_handlers=[DistributedDataParallelKwargs(broadcast_buffers=False)])
    if run_dir is None:
        holder = [None]
        if accelerator.is_main_process:
            run_dir = new_run_dir(config.out, config.preset)
            atomic_write_json(run_dir / CONFIG, config.to_dict())
            holder = [str(run_dir)]
        if accelerator.num_processes > 1:
            broadcast_object_list(holder)
        run_dir = Path(holder[0])
    elif accelerator.is_main_process:
        atomic_write_json(run_dir / CONFIG, config.to_dict())  # with this resume's changes
    trainer = GANTrainer(config, accelerator, run_dir, data, resume=sidecar)
    if accelerator.is_main_process:
        how = f"resumed from {sidecar.name}" if sidecar else "new run"
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
