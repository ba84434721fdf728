"""`contemo generate --va V,A` and `--calibrated SWEEP_DIR --emotion E`: the sweep's label sources."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from generation_fixtures import make_checkpoint

from contemo import cli
from contemo.emotions import EMOTIONS
from contemo.labels.calibration import save_calibration
from contemo.labels.va import va_to_label


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


@pytest.mark.parametrize("trained", [None, ["neutral", "fear", "angry", "happy"]])
def test_generate_va_and_the_web_app_give_one_label_for_one_checkpoint(tmp_path, capsys, trained):
    """Anchors moved in config.json (as a measured-anchor release has) and, in the second
    case, fewer trained emotions: both entry points must follow the checkpoint."""
    import json

    from fastapi.testclient import TestClient

    from contemo.serve.launch import build

    ckpt = make_checkpoint(tmp_path / "moved")
    config = json.loads((ckpt / "config.json").read_text())
    config["va_anchors"]["happy"] = [0.3, 0.8]
    config["va_anchors"]["fear"] = [-0.8, 0.2]
    if trained:
        config["trained_emotions"] = trained
    (ckpt / "config.json").write_text(json.dumps(config))
    for v, a in ((0.2, 0.5), (-0.5, 0.4), (0.6, -0.7)):
        assert run(ckpt, tmp_path / f"va{v}{a}", f"--va={v},{a}") == 0
        generated = labels_of(tmp_path / f"va{v}{a}")[0]
        face = TestClient(build(str(ckpt))).post("/api/generate", json={
            "seed": 0, "va": {"valence": v, "arousal": a}, "format": "json"}).json()
        np.testing.assert_allclose(generated, face["label"], atol=1e-4)  # the API rounds to 4
    # ... and the label really is the checkpoint's, not the theoretical anchors' one
    assert not np.allclose(generated, va_to_label(0.6, -0.7).label, atol=1e-3)
    capsys.readouterr()


def test_calibrated_path_warns_in_one_line_when_the_sweep_used_another_truncation(
        ckpt, tmp_path, capsys):
    w = list(np.linspace(0, 1, 11))
    curves = {"happy": {"weights": w, "valence": w, "arousal": w}}
    save_calibration(tmp_path / "sweep", curves, {}, {"truncation": 0.7})
    args = ["--calibrated", str(tmp_path / "sweep"), "--emotion", "happy", "--steps", "3"]
    assert run(ckpt, tmp_path / "same", *args, "--truncation", "0.7") == 0
    assert capsys.readouterr().err == ""
    assert run(ckpt, tmp_path / "other", *args) == 0
    err = capsys.readouterr().err.strip()
    assert "measured at truncation 0.7, these faces use 1" in err and "\n" not in err
    save_calibration(tmp_path / "bad", curves, {}, {"truncation": "high"})
    assert run(ckpt, tmp_path / "bad-out", "--calibrated", str(tmp_path / "bad"), "--emotion",
               "happy") == 2
    err = capsys.readouterr().err.strip()
    assert "field 'truncation': expected a number in [0, 1]" in err and "\n" not in err
