"""Calibrated interpolation (inverting measured step -> VA curves) and VA targeting, measured."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sweep_fixtures import VAScorer, save_wired

from contemo.cli import main
from contemo.emotions import EMOTIONS, VA_ANCHORS, label_va, one_hot
from contemo.errors import ContemoError
from contemo.evaluation.scorers import SCORERS, register_scorer
from contemo.evaluation.targeting import measure_targets, target_grid
from contemo.generation.pipeline import EmotionPipeline
from contemo.labels.calibration import (
    CalibrationCurve,
    calibrated_path,
    calibrated_weights,
    isotonic_increasing,
    load_calibration,
    load_measured_anchors,
    progress_curve,
    save_calibration,
)
from contemo.labels.va import va_to_label

W101 = np.linspace(0, 1, 101)


def _curve(weights, va):
    return {"weights": list(weights), "valence": list(va[:, 0]), "arousal": list(va[:, 1])}


def test_isotonic_pools_violators_and_keeps_monotone_input():
    np.testing.assert_allclose(isotonic_increasing([1, 3, 2, 4]), [1, 2.5, 2.5, 4])
    np.testing.assert_allclose(isotonic_increasing([0, 2, 1, 0, 5]), [0, 1, 1, 1, 5])
    np.testing.assert_array_equal(isotonic_increasing([0, 1, 1, 2]), [0, 1, 1, 2])


def test_progress_is_the_projection_on_start_to_end():
    va = np.array([[0.1, 0.1], [0.3, 0.0], [0.5, 0.1]])  # start->end along +valence
    np.testing.assert_allclose(progress_curve(va), [0, 0.5, 1])
    assert np.isnan(progress_curve(np.zeros((3, 2)))).all()


def test_calibration_inverts_a_quadratic_curve_into_equal_steps():
    curve = CalibrationCurve("happy", W101, np.outer(W101**2, [0.8, 0.4]))
    w = curve.weights_for(11)
    np.testing.assert_allclose(w, np.sqrt(np.linspace(0, 1, 11)), atol=2e-3)
    np.testing.assert_allclose(w**2, np.linspace(0, 1, 11), atol=2e-3)  # equal VA change


def test_linear_curve_gives_uniform_weights_and_flat_one_gives_uniform_too():
    linear = CalibrationCurve("sad", W101, np.outer(W101, [-0.6, -0.3]))
    np.testing.assert_allclose(linear.weights_for(6), np.linspace(0, 1, 6), atol=1e-9)
    flat = CalibrationCurve("angry", W101, np.full((101, 2), 0.2))
    assert flat.degenerate
    np.testing.assert_array_equal(flat.weights_for(5), np.linspace(0, 1, 5))


def test_overshooting_curve_still_gives_an_ascending_full_path():
    w = np.linspace(0, 1, 11)
    bump = np.stack([np.sin(w * np.pi * 0.75) / np.sin(np.pi * 0.75), np.zeros(11)], 1)
    out = CalibrationCurve("fear", w, bump).weights_for(11)
    assert out[0] == 0 and out[-1] == 1 and np.all(np.diff(out) >= 0)
    # a plateau is stepped over, not walked into: weights land where the curve still moves
    plateau = np.stack([np.r_[0, 0.5, 0.5, 0.5, 1.0], np.zeros(5)], 1)
    got = CalibrationCurve("sad", np.linspace(0, 1, 5), plateau).weights_for(5)
    np.testing.assert_allclose(got[[0, 1, 3, 4]], [0, 0.125, 0.875, 1.0], atol=1e-6)
    assert 0.25 <= got[2] <= 0.75  # exactly the plateau's level: anywhere on the plateau


def test_calibration_file_round_trip_and_measured_anchors(tmp_path):
    anchors = {e: [0.5 * v, 0.5 * a - 0.1] for e, (v, a) in VA_ANCHORS.items() if e in EMOTIONS}
    save_calibration(tmp_path, {"happy": _curve(W101, np.outer(W101**2, [0.8, 0.4]))}, anchors)
    assert set(load_calibration(tmp_path)) == {"happy"}
    w = calibrated_weights(tmp_path / "calibration.json", "Happiness", 5)
    np.testing.assert_allclose(w, np.sqrt([0, 0.25, 0.5, 0.75, 1]), atol=3e-3)
    labels = calibrated_path(tmp_path, "happy", 5)
    np.testing.assert_allclose(labels[:, EMOTIONS.index("happy")], w, atol=1e-6)
    assert np.allclose(labels.sum(1), 1)
    with pytest.raises(ContemoError, match="no curve for sad"):
        calibrated_weights(tmp_path, "sad")
    measured = load_measured_anchors(tmp_path)
    for e in EMOTIONS:  # target = measured anchor -> that emotion's one-hot, reached exactly
        t = va_to_label(*measured[e], anchors=measured)
        np.testing.assert_allclose(t.label, one_hot(e), atol=1e-6)
        np.testing.assert_allclose(t.achieved, measured[e], atol=1e-9)
        assert not t.clipped
    assert measured["neutral"] == (0.0, -0.1)  # neutral off the origin is honoured


def test_clipped_target_goes_to_the_nearest_reachable_point():
    t = va_to_label(0.6, -0.7)  # the calm quadrant: no training emotion there
    assert t.clipped
    # brute force over every blend of neutral with one or two angular neighbours
    rng = np.random.default_rng(0)
    w = rng.dirichlet(np.ones(6), 50_000)
    best = np.hypot(*(label_va(w) - [0.6, -0.7]).T).min()
    assert np.hypot(*np.subtract(t.achieved, (0.6, -0.7))) <= best + 1e-9


@pytest.mark.parametrize("content, message", [
    (None, "calibration.json: not found"), ("{", "not valid JSON"),
    ('{"format": "other"}', "field 'format' must be"),
    ('{"format": "contemo-calibration/1", "curves": {}}', "'curves' is empty"),
    ('{"format": "contemo-calibration/1", "curves": {"sad": {"weights": [0, 1]}}}',
     "curve 'sad' needs numeric lists"),
    (('{"format": "contemo-calibration/1", "curves": {"sad": {"weights": [1, 0], '
      '"valence": [0, 1], "arousal": [0, 1]}}}'), "ascending weights"),
])
def test_bad_calibration_files_are_one_line(tmp_path, content, message):
    if content is not None:
        (tmp_path / "calibration.json").write_text(content)
    with pytest.raises(ContemoError, match=message) as err:
        load_calibration(tmp_path)
    assert "\n" not in str(err.value)


def test_measured_anchors_need_every_emotion(tmp_path):
    save_calibration(tmp_path, {"sad": _curve([0, 1], np.zeros((2, 2)))},
                     {"neutral": [0, 0], "sad": [-0.5, -0.2], "happy": [None, None]})
    with pytest.raises(ContemoError, match="no measured anchor for disgust, fear, angry, happy"):
        load_measured_anchors(tmp_path)


def test_targeting_reaches_every_reachable_target_of_a_label_reading_model(tmp_path):
    pipe = EmotionPipeline.from_pretrained(save_wired(tmp_path / "ck"))
    grid = target_grid(5)
    assert len(grid) == 25 and grid[0] == (-1.0, 1.0) and (0.0, 0.0) in grid
    run = measure_targets(pipe, VAScorer(), grid, None, per_target=3, precision="fp32",
                          batch_size=10)
    assert run["mae"]["reachable"] == pytest.approx(0, abs=1e-4)
    assert run["mae"]["vs_predicted"] == pytest.approx(0, abs=1e-4)
    assert run["mae"]["all"] > 0.1 and 0 < run["clipped"] < 25
    centre = next(r for r in run["targets"] if r["requested"] == [0.0, 0.0])
    assert centre["label"] == [1, 0, 0, 0, 0, 0] and not centre["clipped"]
    for r in run["targets"]:
        np.testing.assert_allclose(r["measured"], r["predicted"], atol=1e-3)


def test_targeting_cli_with_measured_anchors(tmp_path, capsys):
    ck = save_wired(tmp_path / "ck")
    register_scorer("wired-exact", lambda path, device: VAScorer())
    try:
        common = ["--checkpoint", str(ck), "--scorer", "wired-exact", "--precision", "fp32",
                  "--quiet"]
        assert main(["evaluate", "sweep", *common, "--noises", "2", "--steps", "3",
                     "--out", str(tmp_path / "sweep")]) == 0
        assert main(["evaluate", "targeting", *common, "--grid", "3", "--per-target", "2",
                     "--anchors-from", str(tmp_path / "sweep"), "--out", str(tmp_path / "t"),
                     "--truncation", "0.7"]) == 0
        assert main(["evaluate", "targeting", *common, "--grid", "1", "--out", str(tmp_path)]) == 2
    finally:
        SCORERS.pop("wired-exact")
    out = capsys.readouterr()
    assert "measured     anchors: MAE" in out.out and "--grid must be at least 2" in out.err
    report = json.loads((tmp_path / "t" / "targeting.json").read_text())
    assert set(report["runs"]) == {"theoretical", "measured"} and report["truncation"] == 0.7
    for run in report["runs"].values():
        assert run["mae"]["reachable"] == pytest.approx(0, abs=1e-3)
    assert (tmp_path / "t" / "targeting.png").stat().st_size > 10_000
