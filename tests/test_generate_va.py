"""`contemo generate --va V,A` and `--calibrated SWEEP_DIR --emotion E`: the sweep's label sources."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from generation_fixtures import make_checkpoint

from contemo import cli
from contemo.emotions import EMOTIONS
from contemo.interpolation import save_calibration, va_to_label


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny")


def run(ckpt, out, *args):
    return cli.main(["generate", "--checkpoint", str(ckpt), "--out", str(out), "--device", "cpu",
                     "--seeds", "0-1", *args])


def labels_of(out):
    with open(out / "manifest.csv", newline="") as fh:
        return [np.array([float(r[e]) for e in EMOTIONS]) for r in csv.DictReader(fh)]


def test_va_target_generates_its_label(ckpt, tmp_path, capsys):
    assert run(ckpt, tmp_path / "va", "--va", "0.405,0.255") == 0  # half happy
    assert "warning" not in capsys.readouterr().err
    rows = labels_of(tmp_path / "va")
    assert len(rows) == 2
    np.testing.assert_allclose(rows[0], va_to_label(0.405, 0.255).label, atol=1e-5)


def test_unreachable_va_warns_in_one_line_and_uses_the_nearest_point(ckpt, tmp_path, capsys):
    assert run(ckpt, tmp_path / "calm", "--va", "0.6,-0.7") == 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("contemo: warning: --va 0.6,-0.7 is outside") and "\n" not in err
    np.testing.assert_allclose(labels_of(tmp_path / "calm")[0], va_to_label(0.6, -0.7).label,
                               atol=1e-5)


def test_calibrated_path_uses_the_sweep_weights(ckpt, tmp_path):
    w = np.linspace(0, 1, 101)
    save_calibration(tmp_path / "sweep", {"happy": {"weights": list(w), "valence": list(w**2),
                                                    "arousal": list(0.5 * w**2)}}, {})
    assert run(ckpt, tmp_path / "cal", "--calibrated", str(tmp_path / "sweep"), "--emotion",
               "happy", "--steps", "5") == 0
    happy = [r[EMOTIONS.index("happy")] for r in labels_of(tmp_path / "cal")[:5]]
    np.testing.assert_allclose(happy, np.sqrt([0, 0.25, 0.5, 0.75, 1]), atol=3e-3)


@pytest.mark.parametrize("args, message", [
    (["--va", "0.5"], "--va '0.5': expected valence,arousal"),
    (["--va", "2,0"], "valence 2.0: expected a number in [-1, 1]"),
    (["--calibrated", "nowhere"], "--calibrated needs --emotion"),
    (["--va", "0,0", "--emotion", "sad"], "conflict"),
])
def test_bad_va_and_calibrated_input_is_one_line(ckpt, tmp_path, capsys, args, message):
    assert run(ckpt, tmp_path / "bad", *args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
