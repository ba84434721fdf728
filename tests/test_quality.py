"""FID/KID on injected regressor features: self-distance, small sets, per-class report, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from data_fixtures import make_faces, make_london
from va_fixtures import calibrated_tiny_regressor

from contemo.cli import main
from contemo.emotions import EMOTIONS
from contemo.errors import ContemoError
from contemo.evaluation.quality import fid_kid, quality_report
from contemo.evaluation.quality_distances import (
    frechet_distance,
    frechet_with_floor,
    kernel_distance,
)
from contemo.evaluation.quality_features import regressor_space
from contemo.generation.pipeline import EmotionPipeline
from contemo.models import MODEL_PRESETS, Generator, save_pretrained


@pytest.fixture(scope="module")
def regressor():
    return calibrated_tiny_regressor()


FID_NAME = "FID (contemo regressor features, not Inception)"
KID_NAME = "KID (contemo regressor features, not Inception)"


@pytest.fixture(scope="module")
def folders(tmp_path_factory, regressor):
    root = tmp_path_factory.mktemp("quality")
    torch.manual_seed(1)
    save_pretrained(Generator(MODEL_PRESETS["tiny"]), root / "gen")
    save_pretrained(regressor, root / "reg")
    return root


def _images(n, seed, offset=0.0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 3, 32, 32, generator=gen) * 1.6 - 0.8 + offset).clamp(-1, 1)


def test_names_say_these_are_not_inception_numbers(regressor):
    space = regressor_space(regressor)
    assert (space.fid_name, space.kid_name) == (FID_NAME, KID_NAME)
    assert "synthetic" in space.note


def test_a_set_against_itself_is_about_zero_and_against_another_is_not(regressor):
    extractor = regressor_space(regressor)
    a, b = _images(24, 0), _images(24, 1, offset=0.6)
    same = fid_kid(a, a, extractor, kid_subsets=100, kid_subset_size=12)
    other = fid_kid(a, b, extractor, kid_subsets=100, kid_subset_size=12)
    assert abs(same[FID_NAME]) < 1e-6 * max(1.0, other[FID_NAME])
    assert other[FID_NAME] > 1e-3
    assert abs(same[KID_NAME]["mean"]) < 0.25 * other[KID_NAME]["mean"]  # unbiased: ~0, noisy
    assert same["real_images"] == 24 and other[KID_NAME]["subset_size"] == 12


def test_kid_subset_shrinks_to_small_sets_and_tiny_sets_are_one_line_errors(regressor):
    extractor = regressor_space(regressor)
    out = fid_kid(_images(5, 0), _images(7, 1), extractor, kid_subsets=3, kid_subset_size=1000)
    assert out[KID_NAME]["subset_size"] == 5 and out["generated_images"] == 7
    with pytest.raises(ContemoError, match="at least 2 real and 2 generated") as err:
        fid_kid(_images(1, 0), _images(7, 1), extractor)
    assert "\n" not in str(err.value)


def test_kid_is_seeded(regressor):
    extractor = regressor_space(regressor)
    a, b = _images(12, 0), _images(12, 1, 0.3)
    runs = [fid_kid(a, b, extractor, kid_subsets=4, kid_subset_size=6, seed=3)[KID_NAME]
            for _ in range(2)]
    assert runs[0] == runs[1]


def test_report_has_every_emotion_and_skips_missing_ones(tmp_path, folders, regressor):
    from contemo.data import open_dataset

    ds = open_dataset(make_london(tmp_path / "london", people=3), "london", 32)
    real = ds.images_uint8.float() / 127.5 - 1
    pipe = EmotionPipeline.from_pretrained(folders / "gen")
    report = quality_report(real, [r.emotion for r in ds.records], pipe, regressor_space(regressor),
                            kid_subsets=3)
    assert list(report["per_class"]) == list(EMOTIONS)
    assert set(report["per_class"]["neutral"]) >= {FID_NAME, KID_NAME, "real_images"}
    assert report["per_class"]["happy"]["generated_images"] == 3
    assert report["per_class"]["sad"] == {"skipped": "no real images of this emotion"}
    assert report["overall"]["real_images"] == report["overall"]["generated_images"] == 6
    assert report["metrics"] == [FID_NAME, KID_NAME] and "not Inception" in report["note"]
    assert report["real_vs_real"]["real_images"] == report["real_vs_real"]["generated_images"] == 3


def test_evaluate_quality_command_writes_quality_json(tmp_path, folders, capsys):
    real = make_faces(tmp_path / "faces", people=2)
    out = tmp_path / "q.json"
    code = main(["evaluate", "quality", "--real", str(real), "--checkpoint", str(folders / "gen"),
                 "--regressor", str(folders / "reg"), "--kid-subsets", "3", "--max-per-class",
                 "2", "--no-reference", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "not Inception" in printed and "overall" in printed
    report = json.loads(out.read_text())
    assert set(report["per_class"]) == set(EMOTIONS)
    assert all(report["per_class"][e]["real_images"] == 2 for e in EMOTIONS)
    assert FID_NAME in report["overall"] and report["real"]["layout"] == "faces"
    assert report["real_vs_real"] is None


@pytest.mark.parametrize("extra, message", [
    (["--real", "{tmp}/nowhere"], "no such"),
    (["--real", "{tmp}", "--max-per-class", "0"], "--max-per-class must be at least 1"),
    (["--real", "{tmp}", "--regressor", "{tmp}/none"], "regressor folder not found"),
])
def test_bad_quality_inputs_are_one_line_errors(tmp_path, folders, capsys, extra, message):
    argv = ["evaluate", "quality", "--checkpoint", str(folders / "gen"),
            *[a.format(tmp=tmp_path) for a in extra]]
    if "--regressor" not in extra:
        argv += ["--regressor", str(folders / "reg")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_frechet_distance_by_hand():
    a = np.random.default_rng(0).normal(size=(300, 5))
    shift = np.array([1.0, -2.0, 0.0, 0.5, 0.0])
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    # A shifted copy has the same covariance: the distance is exactly |shift|^2.
    assert frechet_distance(a, a + shift) == pytest.approx(float(shift @ shift), rel=1e-6)
    # 2a: mean 2 mu and S_b = 4 S_a, so |mu|^2 + Tr(S_a + 4 S_a - 2 (4 S_a^2)^(1/2)) = |mu|^2 + Tr(S_a)
    mu = a.mean(0)
    assert frechet_distance(a, 2 * a) == pytest.approx(
        float(mu @ mu) + np.trace(np.cov(a, rowvar=False)), rel=1e-6)
    with pytest.raises(ContemoError, match="at least 2 feature rows"):
        frechet_distance(a[:1], a)


def test_frechet_floor_reads_one_for_the_same_distribution_and_more_for_another():
    rng = np.random.default_rng(1)
    real, same = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    alike = frechet_with_floor(real, same, seed=0)
    apart = frechet_with_floor(real, same + 1.0, seed=0)
    assert alike["half_size"] == 200 and alike["generated_used"] == 200
    assert 0.5 < alike["ratio"] < 2.0
    assert apart["ratio"] > 10 and apart["floor"] == alike["floor"]
    nan_rows = np.vstack([real, np.full((3, 8), np.nan)])  # faces not found are left out
    assert frechet_with_floor(nan_rows, same, seed=0)["floor"] == alike["floor"]


def test_kid_has_no_spread_when_every_subset_is_both_sets_whole():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(12, 4)), rng.normal(size=(12, 4)) + 0.5
    whole = kernel_distance(a, b, subsets=50, subset_size=1000)
    assert whole["std"] is None and whole["subsets"] == 1 and whole["subset_size"] == 12
    drawn = kernel_distance(a, np.vstack([b, b + 0.1]), subsets=50, subset_size=1000)
    assert drawn["std"] > 0 and drawn["subsets"] == 50  # the larger set's subsets differ


def test_quality_in_judge_and_dlib_spaces(tmp_path, folders, capsys):
    """--features judge (FED) runs on any faces; dlib needs faces it can find, else one line."""
    from contemo.judge.model import default_weights_path

    try:
        default_weights_path()
        from contemo.models.face_id import shared_face_id

        shared_face_id()
    except ContemoError as err:
        pytest.skip(str(err))
    real = make_london(tmp_path / "london", people=3)  # flat images: no face for dlib
    out = tmp_path / "q.json"
    common = ["evaluate", "quality", "--real", str(real), "--layout", "london", "--checkpoint",
              str(folders / "gen"), "--kid-subsets", "3", "--out", str(out)]
    assert main([*common, "--features", "judge"]) == 0
    assert "FED (FER2013 judge features" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["features"] == "judge" and report["regressor_folder"] is None
    assert report["metrics"][0].startswith("FED")
    kid = report["real_vs_real"][report["metrics"][1]]
    assert kid["subset_size"] == 3 and kid["std"] is None  # 3 vs 3: the subsets are the sets
    assert main([*common, "--features", "dlib"]) == 2
    err = capsys.readouterr().err.strip()
    assert "at least 2 real and 2 generated images with a face" in err and "\n" not in err
