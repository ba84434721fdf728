"""What a GAN run will do before it starts: its config, and where a resumed run picks up.

Resuming a run folder takes its newest checkpoint that passes every check and says
which newer ones were damaged; `contemo train` prints the notes and the trainer logs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from contemo.data.layouts import LAYOUTS
from contemo.errors import ContemoError
from contemo.training import checkpoint as ckpt
from contemo.training.config import TrainConfig, apply, get_preset, load_file
from contemo.training.runs import CONFIG, resume_point


class Plan(NamedTuple):
    """What `contemo train` will do: its config, where it resumes from, what it noticed."""

    config: TrainConfig
    sidecar: Path | None  # checkpoint to resume from; None: step 0
    run_dir: Path | None  # None: a new run folder
    notes: list[str]  # lines to print and log (skipped checkpoints, restarts)
    damaged: list[Path]  # damaged checkpoints newer than `sidecar`, set aside once locked


def plan_run(changes: dict[str, object], *, preset: str | None = None,
             config_file: str | None = None, resume: str | None = None) -> Plan:
    """Return the Plan of a run: config, resume checkpoint, run folder, notes.

    The config is `preset` (default synth64) or `config_file`, or a resumed run's
    config.json, with `changes` (field -> value, as --set gives them) applied.

    Resuming a run folder picks its newest checkpoint that passes every check; `notes`
    says which newer ones were damaged and skipped. A run folder without any checkpoint
    (stopped before its first) resumes from step 0 with its config.json.
    """
    notes: list[str] = []
    damaged: list[Path] = []
    if resume:
        if preset or config_file:
            raise ContemoError("--resume takes its config from the run folder; change fields "
                               "with --set or --steps instead of --preset/--config")
        run, sidecar, notes, damaged = resume_point(resume, ckpt.GANSidecar)
        base = load_file(run / CONFIG)
        return Plan(checked(apply(base, changes, "--set")), sidecar, run, notes, damaged)
    if config_file:
        base = load_file(config_file)
        if preset:
            raise ContemoError("give --preset or --config, not both (a config file names its "
                               "base preset in its 'preset' field)")
    else:
        base = get_preset(preset or "synth64")
    return Plan(checked(apply(base, changes, "--set")), None, None, notes, damaged)


def checked(config: TrainConfig) -> TrainConfig:
    """Return `config` if it can train: a known layout and a length (steps or epochs)."""
    if config.layout not in LAYOUTS:
        raise ContemoError(f"train config field 'layout': expected one of {', '.join(LAYOUTS)}, "
                           f"got {config.layout!r}")
    if not config.steps and not config.epochs:
        raise ContemoError("train config: steps and epochs are both 0; set --steps N or "
                           "--epochs E")
    return config
