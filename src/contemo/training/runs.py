"""Numbered run folders (``runs/00012-synth64/``): config, log, stats, grids, checkpoints.

Like stylegan3's: each run gets the next free number, so runs sort in the order they
were started and never overwrite each other. Inside:

* ``config.json``  - the resolved TrainConfig (plus how it was resolved)
* ``log.txt``      - what the run printed, with UTC timestamps
* ``stats.jsonl``  - one JSON object per logged step (losses, D outputs, img/s, ...)
* ``grid-NNNNNN.png`` / ``grid-final.png`` - fixed seeds x the 6 emotions
* ``checkpoints/`` - resumable training state (contemo.training.checkpoint)
* ``generator/``   - the released EMA generator (contemo.models.save_pretrained)
* ``.lock``        - held (flock) by the process training in the folder

A run folder appears complete or not at all: it is filled under a hidden staging name
and renamed into place, so a start-up killed half-way leaves no folder that `--resume`
cannot read. A crash can still leave temp files and half-saved checkpoints behind;
`clean_leftovers` removes them under the lock at every start and resume.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from contemo.errors import ContemoError
from contemo.fileio import TMP_SUFFIX, atomic_write, write_error
from contemo.training import checkpoint as ckpt

RUN_NAME = re.compile(r"^(\d{5,})-")
CONFIG = "config.json"
CHECKPOINTS = "checkpoints"
LOCK = ".lock"
STAGING_GRACE_S = 60  # a staging folder this old was left by a killed start-up


def new_run_dir(out: str | Path, desc: str, fill: Callable[[Path], None],
                subfolders: tuple[str, ...] = (CHECKPOINTS,)) -> Path:
    """Return a new ``out/NNNNN-desc`` folder, numbered after the highest, after `fill(folder)`.

    `fill` writes config.json (and anything else a run folder must hold from its first
    moment) into a hidden staging folder that is then renamed into place: the rename is
    atomic, so the numbered folder never exists half-made, and a start-up killed before
    it leaves only a hidden ``.desc.starting-PID`` that a later start removes.
    """
    parent = Path(out)
    if parent.exists() and not parent.is_dir():
        raise ContemoError(f"{parent}: --out must be a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_staging(parent)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", desc).strip("-") or "run"
        staging = parent / f".{safe}.starting-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for sub in subfolders:  # the GAN's checkpoints/; the regressor keeps one file
            (staging / sub).mkdir()
        fill(staging)
        while True:
            taken = [int(m.group(1)) for p in parent.iterdir() if (m := RUN_NAME.match(p.name))]
            run = parent / f"{max(taken, default=-1) + 1:05d}-{safe}"
            try:
                os.rename(staging, run)  # fails if another start took the name meanwhile
                return run
            except OSError as err:
                if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
    except OSError as err:
        raise ContemoError(f"{parent}: cannot create a run folder here "
                           f"({err.strerror or type(err).__name__})") from None


def _remove_stale_staging(parent: Path) -> None:
    """Remove staging folders older than STAGING_GRACE_S: start-ups killed before the rename.

    Staging lasts milliseconds (mkdir, config.json, rename), so an old one is dead; age is
    used rather than the pid, which means nothing for a start-up on another machine
    sharing `--out`.
    """
    for path in parent.glob(".*.starting-*"):
        with contextlib.suppress(OSError):
            if path.is_dir() and time.time() - path.stat().st_mtime > STAGING_GRACE_S:
                shutil.rmtree(path, ignore_errors=True)


class RunLock:
    """An exclusive lock on a run folder (flock on RUN/.lock), held while training in it.

    The kernel drops a flock when its process dies, even by SIGKILL, so a lock is never
    stale; two `contemo train --resume` of one run cannot both proceed.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise write_error(self.path, err) from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(self._fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(self._fd)
            raise ContemoError(f"{run_dir}: another contemo train is using this run folder "
                               f"({holder}); wait for it to finish or stop it first") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"pid {os.getpid()} since "
                  f"{time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())}".encode(), 0)

    def release(self) -> None:
        """Drop the lock (also dropped when the process exits)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def clean_leftovers(run_dir: Path) -> list[str]:
    """Remove what a killed run left behind; return one line per file removed.

    Temp files of atomic writes (``.NAME.XXXX.tmp``) in the run folder and its
    subfolders (checkpoints/, the release), and checkpoint tensor files without their
    JSON (a save or prune cut short). Call it only while holding the RunLock: then no
    writer is using them.
    """
    removed = []
    for folder in (run_dir, *sorted(p for p in run_dir.iterdir() if p.is_dir())):
        temps = [p for p in folder.iterdir() if p.name.startswith(".")
                 and p.name.endswith(TMP_SUFFIX) and p.is_file()]
        for path in [*temps, *ckpt.leftovers(folder)]:
            path.unlink(missing_ok=True)
            removed.append(f"removed leftover {path.relative_to(run_dir)}")
    return removed


def check_run_dir(path: str | Path) -> Path:
    """Return `path` if it is a run folder (it has config.json), else a one-line error.

    checkpoints/ may be missing or empty: a run stopped before its first checkpoint
    restarts from step 0 with its config.
    """
    run = Path(path)
    if not run.is_dir():
        raise ContemoError(f"{run}: --resume expects a run folder, and this is not a folder")
    if not (run / CONFIG).is_file():
        empty = not any(p for p in run.iterdir() if p.name != LOCK)
        raise ContemoError(
            f"{run}: empty run folder (left by a start-up interrupted before its {CONFIG} was "
            "written); there is nothing to resume: delete it and start a new run" if empty else
            f"{run}: not a run folder (expected {CONFIG} written by `contemo train` or "
            "`contemo regressor train`)")
    return run


def resume_point(target: str | Path, kind: type[ckpt.Sidecar] = ckpt.GANSidecar
                 ) -> tuple[Path, Path | None, list[str], list[Path]]:
    """Return (run folder, checkpoint or None, notes, damaged newer checkpoints) of `--resume`.

    Every trainer resumes alike. `target` is a run folder: it resumes from its newest
    checkpoint of `kind` that passes every check, with a note per newer one skipped as
    damaged; a run folder without any checkpoint (stopped before its first) starts again
    from step 0 with its config.json; one whose checkpoints are all damaged is a one-line
    error. `target` may also name one checkpoint's JSON: then that one, damaged or not.
    """
    target = Path(target)
    if target.suffix == ".json" and target.is_file():
        run = check_run_dir(target.parent.parent)
        ckpt.load(target, kind)  # the one asked for: damaged is an error, not a fallback
        return run, target, [], []
    run = check_run_dir(target)
    sidecar, skipped = ckpt.newest_intact(run / CHECKPOINTS, kind)
    notes = [f"skipped damaged checkpoint: {line}" for _, line in skipped]
    if sidecar is None and skipped:
        raise ContemoError(f"{run / CHECKPOINTS}: no intact checkpoint to resume from "
                           f"(newest: {skipped[0][1]})")
    if sidecar is None:
        notes.append(f"{run}: no checkpoint yet (stopped before the first); "
                     "starting it again from step 0 with its config.json")
    elif skipped:
        notes.append(f"resuming from {sidecar.name}, the newest intact checkpoint")
    return run, sidecar, notes, [path for path, _ in skipped]


def reopen(run_dir: Path, damaged: list[Path], fresh: bool) -> tuple[RunLock, list[str]]:
    """Return (the run folder's lock, one line per change) after readying it for a resume.

    Locks the folder before anything is written (one trainer per run folder), removes
    what a killed run left (`clean_leftovers`), sets the `damaged` checkpoints aside
    as NAME.damaged, and empties stats.jsonl when the run starts again (`fresh`).
    """
    lock = RunLock(run_dir)
    try:
        lines = clean_leftovers(run_dir)
        for bad in damaged:
            lines += [f"kept the damaged checkpoint as {path.name}"
                      for path in ckpt.set_aside(bad)]
        if fresh:
            truncate_stats(run_dir, 0)
    except BaseException:
        lock.release()
        raise
    return lock, lines


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
    atomic_write(path, lambda tmp: tmp.write_text("".join(t + "\n" for t in kept)))
