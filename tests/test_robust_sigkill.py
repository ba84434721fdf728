"""Robustness, processes: SIGKILL at random moments, and two trainers on one run folder.

A run killed at random moments, resumed each time, ends bit for bit like the run nobody
killed, with no temp file, orphan checkpoint or doubled stats line. Kills land anywhere:
during start-up (before the run folder exists, or before the first checkpoint), in a
step, while a checkpoint is written or pruned (one every step here). A second `--resume`
of a run that is training stops with one line, and the stats stay single.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from data_fixtures import make_faces
from safetensors.torch import load_file

SRC = Path(__file__).resolve().parents[1] / "src"
STEPS = 12
ARGS = ["--preset", "tiny", "--set", "grid_every=0", "--set",
        "mixed_precision=no", "--set", "checkpoint_every=1", "--set", "keep_checkpoints=2"]


def command(faces: Path, out: Path) -> list[str]:
    """Return the train command: resume the run in `out` if there is one, else a new run."""
    base = [sys.executable, "-m", "contemo", "train", "--steps", str(STEPS), "--threads", "1"]
    runs = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")] \
        if out.exists() else []
    if runs:
        return [*base, "--resume", str(runs[0])]
    return [*base, *ARGS, "--data", str(faces), "--out", str(out)]


def run_to_end(cmd: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_matches_the_unbroken_run(tmp_path):
    faces = make_faces(tmp_path / "faces", people=2)
    reference = tmp_path / "reference"
    started = time.perf_counter()
    run_to_end(command(faces, reference))
    lifetime = time.perf_counter() - started  # start-up + 12 steps on this machine, now
    (ref_run,) = [p for p in reference.iterdir() if p.is_dir()]

    out = tmp_path / "killed"
    rng = random.Random(11)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    kills = 0
    for _ in range(8):
        proc = subprocess.Popen(command(faces, out), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        # Kill times scale with this machine's speed, so kills land inside a run's life on
        # a fast quiet CPU as on a loaded one (fixed 0.5-7 s let fast runs finish first).
        time.sleep(rng.uniform(0.1, 0.7) * lifetime)
        if proc.poll() is not None:  # finished before the kill: nothing left to break
            assert proc.returncode == 0, proc.stderr.read()[-2000:]
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        kills += 1
    run_to_end(command(faces, out))
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    assert kills >= 3

    ours = load_file(run / "generator" / "generator.safetensors")
    theirs = load_file(ref_run / "generator" / "generator.safetensors")
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    steps = [json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert steps == list(range(1, STEPS + 1))
    assert not list(out.rglob("*.tmp")) and not list(out.glob(".*"))
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names == [f"checkpoint-{s:06d}.{e}" for s in (STEPS - 1, STEPS)
                     for e in ("json", "safetensors")]


@pytest.mark.slow
def test_two_concurrent_resumes_of_one_run(tmp_path, capsys):
    from contemo.cli import main

    faces = make_faces(tmp_path / "faces", people=2)
    out = tmp_path / "runs"
    run_to_end([sys.executable, "-m", "contemo", "train", *ARGS, "--steps", "2",
                "--data", str(faces), "--out", str(out)])
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    first = subprocess.Popen([sys.executable, "-m", "contemo", "train", "--resume", str(run),
                              "--steps", "100000"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while "resumed from" not in (run / "log.txt").read_text():  # it holds the lock
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        assert main(["train", "--resume", str(run), "--steps", "100"]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert f"another contemo train is using this run folder (pid {first.pid}" in err
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=120)
    assert first.returncode == 130
    steps = [json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert steps == list(range(1, len(steps) + 1))  # one trainer wrote: no step logged twice
