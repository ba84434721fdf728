"""`contemo demo`: every output on a tiny random checkpoint, the missing-model error, --train."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from generation_fixtures import make_checkpoint
from PIL import Image

from contemo import cli
from contemo.data.generic import scan_csv
from contemo.emotions import EMOTIONS, EXTREME_EMOTIONS
from contemo.errors import ContemoError
from contemo.figures import grid_layout
from contemo.generation import demo_training
from contemo.generation.demo_figures import GRID_SEEDS, STEPS, STRIP_SEEDS
from contemo.models import default_checkpoint

RES = 32


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny")


def demo(*args: str) -> int:
    return cli.main(["demo", "--device", "cpu", *args])


def test_demo_writes_every_output(ckpt, tmp_path, capsys):
    out = tmp_path / "demo_out"
    assert demo("--checkpoint", str(ckpt), "--out", str(out)) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    strips = [out / "strips" / f"neutral_to_{e}.png" for e in EXTREME_EMOTIONS]
    expected = [out / "emotions.png", out / "all_strips.png", out / "transition.gif", *strips,
                out / "manifest.csv", out / "images"]
    assert lines[:-1] == [str(p) for p in expected]
    assert all(p.exists() for p in expected)
    assert lines[-1].startswith("demo: ") and f"-> {out}" in lines[-1]
    scale = 4  # auto: 32 px tiles blown up to 128
    fig3 = grid_layout(len(GRID_SEEDS), 6, RES * scale, list(EMOTIONS),
                       [f"seed {s}" for s in GRID_SEEDS], "the 6 trained emotions (one-hot labels)")
    assert Image.open(out / "emotions.png").size == fig3.size
    assert fig3.size == (fig3.left + 6 * 128, fig3.top + 8 * 128)
    for strip in strips:
        width, height = Image.open(strip).size
        assert width > STEPS * 128 and height > len(STRIP_SEEDS) * 128
    width, height = Image.open(out / "all_strips.png").size
    assert width > STEPS * 128 and len(EXTREME_EMOTIONS) * 128 < height < 6 * 128
    gif = Image.open(out / "transition.gif")
    assert gif.n_frames == 10 * 2 * 5 + 1 and gif.info["loop"] == 0
    with open(out / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(EXTREME_EMOTIONS) * len(STRIP_SEEDS) * STEPS
    assert rows[-1]["path"] == "images/neutral_to_happy/seed0003_step10.png"
    assert len(scan_csv(out).records) == len(rows)


def test_demo_without_a_checkpoint(tmp_path, capsys):
    try:
        default_checkpoint()
    except ContemoError:
        assert demo("--out", str(tmp_path / "d")) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1
        assert "--checkpoint" in err and "demo --train" in err
    else:  # once a model is shipped, the plain demo must just work
        assert demo("--out", str(tmp_path / "d")) == 0


def test_demo_truncation_reaches_every_shipped_generator(tmp_path):
    """--truncation 0 draws every seed as the mean face, in the London figures too."""
    try:
        default_checkpoint()
    except ContemoError:
        pytest.skip("no generator shipped")
    out = tmp_path / "d"
    assert demo("--out", str(out), "--truncation", "0") == 0
    for folder in (out, out / "london64"):
        strip = folder / "images" / "neutral_to_happy"
        a, b = (np.asarray(Image.open(strip / f"seed000{i}_step10.png")) for i in (0, 1))
        assert np.array_equal(a, b), folder


def test_demo_bad_checkpoint_conflicts_and_out(ckpt, tmp_path, capsys):
    for args in (["--checkpoint", str(tmp_path / "none")],
                 ["--train", "--checkpoint", str(tmp_path)],
                 ["--train", "--train-preset", "huge"],
                 ["--checkpoint", str(ckpt), "--out", "/proc/contemo-demo-test"]):
        assert demo("--out", str(tmp_path / "d"), *args) == 2, args
        assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_demo_train_runs_synth_then_train(ckpt, tmp_path, capsys, monkeypatch):
    """--train: the two CLI steps (flags the real parsers accept), then a demo over an old one."""
    calls: list[list[str]] = []

    class FakeChild:
        def __init__(self, argv, stdout, text):
            calls.append(argv)
            lines = []
            if argv[3:5] == ["train", "--preset"]:
                runs = Path(argv[argv.index("--out") + 1])
                release = make_checkpoint(runs / "00000-tiny" / "generator")
                lines.append(f"contemo: {demo_training.RELEASED} {release}\n")
            self.stdout = io.StringIO("".join(lines))
            self.returncode = 0

        def wait(self):
            return self.returncode

    monkeypatch.setattr(demo_training.subprocess, "Popen", FakeChild)
    out = tmp_path / "trained"
    stale = out / "images" / "neutral_to_sad" / "seed0099_step00.png"  # from an earlier demo
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    assert demo("--train", "--train-preset", "tiny", "--train-people", "3", "--out",
                str(out), "--display-scale", "1") == 0
    assert [c[3:5] for c in calls] == [["data", "synth"], ["train", "--preset"]]
    synth, train = calls
    assert synth[synth.index("--size") + 1] == "32" and "--people" in synth
    assert train[train.index("--data") + 1] == synth[synth.index("--out") + 1]
    assert train[train.index("--device") + 1] == "cpu"
    assert f"from {out / 'train' / 'runs' / '00000-tiny' / 'generator'}" in capsys.readouterr(
        ).out
    # The rerun replaced the earlier demo's images; figures show the data set's images.
    assert not stale.exists()
    assert len(list((out / "images").rglob("*.png"))) == 5 * 4 * 11
    figure = np.asarray(Image.open(out / "all_strips.png").convert("RGB"))
    row = EXTREME_EMOTIONS.index("fear")  # the fear row, last column: seed 0 at full fear
    x1, y1 = figure.shape[1], figure.shape[0] - (len(EXTREME_EMOTIONS) - 1 - row) * RES
    image = np.asarray(Image.open(out / "images/neutral_to_fear/seed0000_step10.png"))
    assert np.array_equal(figure[y1 - RES:y1, x1 - RES:x1], image)
    parser = cli.build_parser()
    for argv in (synth, train):
        parser.parse_args(argv[3:])  # the real command accepts these flags


def test_demo_train_failure_is_one_line(tmp_path, capsys, monkeypatch):
    class Failing:
        def __init__(self, argv, stdout, text):
            self.stdout = io.StringIO("")
            self.returncode = 1

        def wait(self):
            return 1

    monkeypatch.setattr(demo_training.subprocess, "Popen", Failing)
    assert demo("--train", "--out", str(tmp_path / "t")) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "data synth" in err and "status 1" in err


@pytest.mark.slow
def test_demo_train_for_real_tiny(tmp_path, capsys):
    out = tmp_path / "real"
    assert demo("--train", "--train-preset", "tiny", "--train-people", "2", "--out",
                str(out), "--display-scale", "1") == 0
    assert (out / "train" / "data").is_dir()
    assert Image.open(out / "transition.gif").n_frames == 101
    assert "generator" in capsys.readouterr().out.strip().splitlines()[-1]
