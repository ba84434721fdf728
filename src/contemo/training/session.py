"""A GAN run's session: the Accelerator for a device, the locked run folder, the trainer.

`open_accelerator` turns a device name and the config's mixed precision into an
Accelerator (one process, or one of many under `accelerate launch` / torchrun);
`train_run` opens or creates the run folder, locked so that one trainer writes it,
and runs `GANTrainer` in it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator, PartialState
from accelerate.state import AcceleratorState
from accelerate.utils import DistributedDataParallelKwargs, broadcast_object_list

from contemo.errors import ContemoError
from contemo.fileio import atomic_write_json, write_error
from contemo.hardware import accelerate_precision, resolve_device, resolve_precision
from contemo.training.config import TrainConfig
from contemo.training.gan import GANTrainer
from contemo.training.plan import Plan
from contemo.training.runs import CONFIG, RunLock, new_run_dir, reopen


def open_accelerator(config: TrainConfig, device_name: str, data: Any) -> Accelerator:
    """Return the Accelerator of a run on `device_name` (auto, cpu, cuda[:N], mps)."""
    # A fresh mixed-precision state per call: in-process callers (tests, notebooks) may train
    # twice with different settings; the process group (PartialState) is kept.
    AcceleratorState._reset_state(reset_partial_state=False)
    device = resolve_device(device_name)
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
    return accelerator


def train_run(plan: Plan, accelerator: Accelerator, data: Any) -> int:
    """Return the exit status after training `plan` in its (new or resumed) run folder."""
    config, sidecar, run_dir, notes, damaged = plan
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
            lock, lines = reopen(run_dir, damaged, fresh=sidecar is None)
            for line in lines:
                print(f"contemo: {line}", file=sys.stderr)
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
