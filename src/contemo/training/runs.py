"""Numbered run folders (``runs/00012-synth64/``): config, log, stats, grids, checkpoints.

Like stylegan3's: each run gets the next free number, so runs sort in the order they
were started and never overwrite each other. Inside:

* ``config.json``  - the resolved TrainConfig (plus how it was resolved)
* ``log.txt``      - what the run printed, with UTC timestamps
* ``stats.jsonl``  - one JSON object per logged step (losses, D outputs, img/s, ...)
* ``grid-NNNNNN.png`` / ``grid-final.png`` - fixed seeds x the 6 emotions
* ``checkpoints/`` - resumable training state (contemo.training.checkpoint)
* ``generator/``   - the released EMA generator (contemo.models.save_pretrained)
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from contemo.errors import ContemoError

RUN_NAME = re.compile(r"^(\d{5,})-")
CONFIG = "config.json"
CHECKPOINTS = "checkpoints"


def new_run_dir(out: str | Path, desc: str) -> Path:
    """Return a freshly created ``out/NNNNN-desc`` folder numbered after the highest existing."""
    parent = Path(out)
    if parent.exists() and not parent.is_dir():
        raise ContemoError(f"{parent}: --out must be a folder")
    parent.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", desc).strip("-") or "run"
    while True:
        taken = [int(m.group(1)) for p in parent.iterdir() if (m := RUN_NAME.match(p.name))]
        run = parent / f"{max(taken, default=-1) + 1:05d}-{safe}"
        try:
            run.mkdir()  # atomic: two runs started at once cannot get the same folder
            return run
        except FileExistsError:
            continue


def check_run_dir(path: str | Path) -> Path:
    """Return `path` if it is a run folder (config.json + checkpoints/), else a one-line error."""
    run = Path(path)
    if not run.is_dir():
        raise ContemoError(f"{run}: --resume expects a run folder, and this is not a folder")
    if not (run / CONFIG).is_file() or not (run / CHECKPOINTS).is_dir():
        raise ContemoError(f"{run}: not a run folder (expected {CONFIG} and {CHECKPOINTS}/ "
                           "written by `contemo train`)")
    return run


class RunLog:
    """Appends to log.txt and stats.jsonl of a run folder (main process only)."""

    def __init__(self, run_dir: Path, enabled: bool = True) -> None:
        self.run_dir = run_dir
        self.enabled = enabled

    def line(self, text: str) -> None:
        """Append one timestamped line to log.txt."""
        if not self.enabled:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        with open(self.run_dir / "log.txt", "a") as fh:
            fh.write(f"{stamp}Z {text}\n")

    def stats(self, record: dict[str, Any]) -> None:
        """Append one JSON line to stats.jsonl, flushed so a killed run keeps its log."""
        if not self.enabled:
            return
        with open(self.run_dir / "stats.jsonl", "a") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def truncate_stats(run_dir: Path, step: int) -> None:
    """Drop stats.jsonl lines after `step` (a resumed run re-logs the steps it repeats)."""
    path = run_dir / "stats.jsonl"
    if not path.is_file():
        return
    kept = []
    for text in path.read_text().splitlines():
        try:
            if json.loads(text).get("step", 0) <= step:
                kept.append(text)
        except json.JSONDecodeError:
            continue  # a line cut by SIGKILL
    from contemo.fileio import atomic_write

    atomic_write(path, lambda tmp: tmp.write_text("".join(t + "\n" for t in kept)))
