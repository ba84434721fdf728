"""`contemo train` end to end on tiny data (CPU): run folder, exact resume, signals, divergence."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from data_fixtures import make_faces
from PIL import Image
from safetensors.torch import load_file

from contemo.cli import main
from contemo.generation.pipeline import EmotionPipeline
from contemo.labels.paths import neutral_to

SRC = Path(__file__).resolve().parents[1] / "src"
FP32 = ["--set", "mixed_precision=no"]


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    return make_faces(tmp_path_factory.mktemp("faces"), people=2)  # 24 images, 6 emotions


def train(faces: Path, out: Path, *extra: str) -> int:
    """Run `contemo train --preset tiny` in-process; return its exit status."""
    return main(["train", "--preset", "tiny", "--data", str(faces), "--out", str(out), *extra])


def error_lines(capsys) -> list[str]:
    """Return the CLI's error lines on stderr (tqdm's bars left out), asserting no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("contemo: error")]


def only_run(out: Path) -> Path:
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


def test_two_steps_write_a_complete_run_folder(faces, tmp_path):
    assert train(faces, tmp_path, "--steps", "2") == 0
    run = only_run(tmp_path)
    assert run.name == "00000-tiny"
    config = json.loads((run / "config.json").read_text())
    assert config["steps"] == 2 and config["data"] == str(faces)
    stats = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [s["step"] for s in stats] == [1, 2]
    for key in ("epoch", "loss_d", "loss_g", "d_real", "d_fake", "img_per_s", "lr",
                "sec_per_step"):
        assert all(isinstance(s[key], float) for s in stats), key
    assert stats[-1]["images_seen"] == 16 and stats[-1]["epoch"] == pytest.approx(16 / 24, abs=1e-4)
    assert "training steps 0->2" in (run / "log.txt").read_text()
    grid = Image.open(run / "grid-final.png")
    # 2 seeds x 6 emotions of 32 px tiles drawn at 2x, plus titles and padding
    assert grid.size[0] > 6 * 64 and grid.size[1] > 2 * 64
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "checkpoint-000002.json", "checkpoint-000002.safetensors"]
    pipe = EmotionPipeline.from_pretrained(run / "generator")
    assert pipe.meta["training"]["steps"] == 2 and pipe.meta["training"]["preset"] == "tiny"
    assert pipe.meta["training"]["data"]["images"] == 24
    images = pipe.generate(neutral_to("happy", 3), seeds=[0, 0, 0])
    assert images.shape == (3, 3, 32, 32) and torch.isfinite(images).all()
    # a second run gets the next number
    assert train(faces, tmp_path, "--steps", "1", "--set", "grid_every=0") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["00000-tiny", "00001-tiny"]


def test_resume_continues_exactly(faces, tmp_path):
    # NCHW: oneDNN's channels_last backward kernels are not bitwise-repeatable under load,
    # and this test checks contemo's resume logic, bit for bit.
    common = [*FP32, "--set", "channels_last=false", "--set", "checkpoint_every=2",
              "--set", "grid_every=2"]
    assert train(faces, tmp_path / "straight", "--steps", "4", *common) == 0
    assert train(faces, tmp_path / "split", "--steps", "2", *common) == 0
    split = only_run(tmp_path / "split")
    assert main(["train", "--resume", str(split), "--steps", "4"]) == 0
    straight = only_run(tmp_path / "straight")
    a = load_file(straight / "checkpoints" / "checkpoint-000004.safetensors")
    b = load_file(split / "checkpoints" / "checkpoint-000004.safetensors")
    assert a.keys() == b.keys() and any(k.startswith("optD.") for k in a)
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    meta = json.loads((split / "checkpoints" / "checkpoint-000004.json").read_text())
    assert meta["step"] == 4 and meta["images_seen"] == 32
    lines = lambda run: [{k: v for k, v in json.loads(t).items()
                          if k in ("step", "loss_d", "loss_g", "d_real")}
                         for t in (run / "stats.jsonl").read_text().splitlines()]
    assert lines(split) == lines(straight)  # same losses, and no repeated steps
    ga = load_file(straight / "generator" / "generator.safetensors")
    gb = load_file(split / "generator" / "generator.safetensors")
    assert all(torch.equal(ga[k], gb[k]) for k in ga)


def test_keeps_only_the_newest_checkpoints(faces, tmp_path):
    assert train(faces, tmp_path, "--steps", "5", "--set", "checkpoint_every=1",
                 "--set", "keep_checkpoints=2", "--set", "grid_every=0") == 0
    names = sorted(p.name for p in (only_run(tmp_path) / "checkpoints").iterdir())
    assert names == [f"checkpoint-00000{i}.{e}" for i in (4, 5) for e in ("json", "safetensors")]
    milestones = tmp_path / "milestones"  # keep_every also keeps every 2nd step's checkpoint
    assert train(faces, milestones, "--steps", "5", "--set", "checkpoint_every=1",
                 "--set", "keep_checkpoints=1", "--set", "keep_every=2",
                 "--set", "grid_every=0") == 0
    names = sorted(p.name for p in (only_run(milestones) / "checkpoints").glob("*.json"))
    assert names == [f"checkpoint-00000{i}.json" for i in (2, 4, 5)]


def test_exploding_loss_stops_and_keeps_the_last_good_checkpoint(faces, tmp_path, capsys):
    assert train(faces, tmp_path, "--steps", "2", "--set", "checkpoint_every=2") == 0
    run = only_run(tmp_path)
    good = (run / "checkpoints" / "checkpoint-000002.safetensors").read_bytes()
    assert main(["train", "--resume", str(run), "--steps", "6", "--set", "max_loss=1e-6"]) == 2
    err = error_lines(capsys)
    assert len(err) == 1 and "training diverged by step 3" in err[0]
    assert "last good checkpoint: checkpoint-000002.json" in err[0]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "checkpoint-000002.json", "checkpoint-000002.safetensors"]
    assert (run / "checkpoints" / "checkpoint-000002.safetensors").read_bytes() == good
    assert not (run / "generator").exists() or "diverged" in (run / "log.txt").read_text()


def test_nan_weights_stop_the_run_before_any_checkpoint(faces, tmp_path, capsys):
    # lr 10 (the largest allowed) makes the weights overflow within a few steps: NaN/inf
    assert train(faces, tmp_path, "--steps", "6", *FP32, "--set", "lr=10",
                 "--set", "checkpoint_every=3") == 2
    err = error_lines(capsys)
    assert len(err) == 1 and "diverged" in err[0] and "none written yet" in err[0]
    # glob of a folder that was never made is empty too: either way no checkpoint exists
    assert not list((only_run(tmp_path) / "checkpoints").glob("*.json"))


@pytest.mark.slow  # 5-11 s per signal: a real child process trains until it is signalled
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_saves_a_checkpoint_then_resume_works(faces, tmp_path, signum, code):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    cmd = [sys.executable, "-m", "contemo", "train", "--preset", "tiny", "--data", str(faces),
           "--out", str(tmp_path), "--steps", "100000", "--set", "checkpoint_every=100000",
           "--set", "grid_every=0", *FP32]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    stats = None
    while time.monotonic() < deadline:
        found = list(tmp_path.glob("*/stats.jsonl"))
        if found and len(found[0].read_text().splitlines()) >= 3:
            stats = found[0]
            break
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        time.sleep(0.2)
    assert stats is not None, "training never logged 3 steps"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err.decode()[-2000:]
    run = stats.parent
    (sidecar,) = (run / "checkpoints").glob("*.json")
    step = json.loads(sidecar.read_text())["step"]
    assert step >= 3
    assert f"stopped by signal {int(signum)} at step {step}" in (run / "log.txt").read_text()
    assert main(["train", "--resume", str(run), "--steps", str(step + 1),
                 "--set", "grid_every=0"]) == 0
    assert json.loads(max((run / "checkpoints").glob("*.json")).read_text())["step"] \
        == step + 1


def test_mode_seeking_pairs_share_labels_and_reward_variety():
    from contemo.training.diversity import mode_seeking, paired_labels

    labels = torch.eye(6)[torch.tensor([0, 1, 2, 3, 4, 5, 0, 1, 5])]
    paired = paired_labels(labels)
    assert torch.equal(paired[4:8], labels[:4]) and torch.equal(paired[8], labels[8])
    z = torch.randn(8, 16, generator=torch.Generator().manual_seed(0))
    same = torch.zeros(8, 3, 4, 4)
    varied = torch.cat([torch.zeros(4, 3, 4, 4), torch.full((4, 3, 4, 4), 0.5)])
    assert mode_seeking(same, z, cap=10.0) == 0
    ratio = 0.5 / (z[:4] - z[4:]).abs().mean(dim=1)
    assert torch.allclose(mode_seeking(varied, z, cap=10.0), ratio.mean())
    assert mode_seeking(varied, z, cap=0.01) == pytest.approx(0.01)  # capped: no reward past it


def test_diversity_run_trains_and_logs(faces, tmp_path):
    assert train(faces, tmp_path, "--steps", "2", *FP32, "--set", "diversity=1") == 0
    run = only_run(tmp_path)
    assert json.loads((run / "config.json").read_text())["diversity"] == 1.0
    assert (run / "generator" / "generator.safetensors").is_file()
