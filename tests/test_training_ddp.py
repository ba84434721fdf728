"""DDP: two CPU processes (gloo) train in step, checkpoint once on rank 0, and resume."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from data_fixtures import make_faces
from safetensors.torch import load_file

SRC = Path(__file__).resolve().parents[1] / "src"


def free_port() -> int:
    """Return a TCP port nobody listens on (torchrun's port 0 does not rendezvous here)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `torchrun --nproc_per_node 2 -m contemo train --cpu ...` (gloo); return the result.

    torchrun is the launcher `accelerate launch --multi_gpu` starts; Accelerate reads its
    environment and, with --cpu, joins the gloo process group.
    """
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(free_port()), "-m", "contemo", "train", "--cpu", *args]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False)


@pytest.mark.slow
def test_two_process_training_and_resume(tmp_path):
    faces = make_faces(tmp_path / "faces", people=2)
    out = tmp_path / "runs"
    common = ["--preset", "tiny", "--data", str(faces), "--set", "mixed_precision=no",
              "--set", "checkpoint_every=2", "--set", "grid_every=2"]
    done = launch(*common, "--out", str(out), "--steps", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = out.iterdir()  # one run folder, although two processes started
    log = (run / "log.txt").read_text()
    assert "x2" in log and "G and D parameters identical on 2 ranks" in log
    meta = json.loads((run / "checkpoints" / "checkpoint-000002.json").read_text())
    assert meta["step"] == 2 and meta["num_processes"] == 2
    assert meta["images_seen"] == 2 * 2 * 8  # steps x ranks x per-rank batch
    stats = [json.loads(t) for t in (run / "stats.jsonl").read_text().splitlines()]
    assert [s["step"] for s in stats] == [1, 2]  # rank 0 alone writes
    assert log.count("checkpoint checkpoint-000002.json") == 1
    first = load_file(run / "checkpoints" / "checkpoint-000002.safetensors")

    done = launch("--resume", str(run), "--steps", "4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    later = load_file(run / "checkpoints" / "checkpoint-000004.safetensors")
    assert not torch.equal(first["G.net.0.weight"], later["G.net.0.weight"])
    assert (run / "generator" / "generator.safetensors").is_file()
    assert (run / "log.txt").read_text().count("parameters identical on 2 ranks") >= 2
