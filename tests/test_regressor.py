"""The VA regressor: scorer protocol, release round trip, config, split, and `regressor train`."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from va_fixtures import make_va_set

from contemo.cli import main
from contemo.commands import regressor_train as regressor_command
from contemo.emotions import AFFECTNET_CLASSES
from contemo.errors import ContemoError
from contemo.models import save_pretrained
from contemo.models.regressor import RegressorConfig, VARegressor, default_regressor
from contemo.training.regressor import (
    augment,
    load_checkpoint,
    losses,
    save_checkpoint,
    split_groups,
)
from contemo.training.regressor_config import PRESETS, RegressorTrainConfig

TINY = RegressorConfig(input_size=32, width_mult=0.25, feature_dim=16)


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return VARegressor(TINY).eval()


def test_score_follows_the_scorer_protocol_at_any_size(tiny_model):
    images = torch.rand(3, 3, 50, 41) * 2 - 1
    out = tiny_model.score(images)
    assert set(out) == {"valence", "arousal", "probs", "features"}
    assert out["valence"].shape == out["arousal"].shape == (3,)
    assert out["probs"].shape == (3, len(AFFECTNET_CLASSES)) and out["features"].shape == (3, 16)
    assert torch.allclose(out["probs"].sum(1), torch.ones(3))
    assert out["valence"].abs().max() <= 1 and out["arousal"].abs().max() <= 1
    assert tiny_model.classes == AFFECTNET_CLASSES and isinstance(tiny_model.name, str)
    assert not tiny_model.score(images[:2], batch_size=1)["features"].requires_grad
    batched = tiny_model.score(images, batch_size=2)
    assert torch.allclose(batched["valence"], out["valence"], atol=1e-6)


def test_empty_and_bad_inputs(tiny_model):
    empty = tiny_model.score(torch.empty(0, 3, 32, 32))
    assert empty["probs"].shape == (0, 8) and empty["features"].shape == (0, 16)
    for bad in (torch.zeros(2, 1, 32, 32), torch.zeros(3, 32, 32), np.zeros((1, 3, 8, 8))):
        with pytest.raises(ContemoError, match=r"expected RGB images \(N, 3, H, W\)") as err:
            tiny_model.score(bad)
        assert "\n" not in str(err.value)


def test_release_round_trip_gives_identical_outputs(tmp_path, tiny_model):
    save_pretrained(tiny_model, tmp_path / "reg", training={"note": "test"})
    assert sorted(p.name for p in (tmp_path / "reg").iterdir()) == [
        "config.json", "regressor.safetensors"]
    loaded = VARegressor.from_pretrained(tmp_path / "reg")
    images = torch.rand(4, 3, 32, 32) * 2 - 1
    a, b = tiny_model.score(images), loaded.score(images)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert loaded.config == TINY and loaded.name == "contemo-regressor"


def test_class_head_can_be_dropped_and_va_is_unchanged(tmp_path, tiny_model):
    save_pretrained(tiny_model, tmp_path / "reg")
    va_only = VARegressor.from_pretrained(tmp_path / "reg", class_head=False)
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    out = va_only.score(images)
    assert va_only.classes == () and out["probs"].shape == (2, 0)
    assert torch.equal(out["valence"], tiny_model.score(images)["valence"])
    assert "class_head.weight" not in va_only.state_dict()


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "config.json").unlink(), "config.json: missing"),
    (lambda d: (d / "config.json").write_text("{"), "not valid JSON"),
    (lambda d: _edit(d, format="other/1"), "field 'format'"),
    (lambda d: _edit(d, classes=list(reversed(AFFECTNET_CLASSES))), "will not reorder"),
    (lambda d: _edit(d, model={**TINY.to_dict(), "depth": 3}), "unknown field"),
    (lambda d: _edit(d, model={**TINY.to_dict(), "feature_dim": 32}), "do not fit"),
    (lambda d: (d / "regressor.safetensors").write_bytes(b"junk"), "not a readable safetensors"),
])
def test_bad_release_folders_are_one_line_errors(tmp_path, tiny_model, damage, message):
    folder = save_pretrained(tiny_model, tmp_path / "reg")
    damage(folder)
    with pytest.raises(ContemoError, match=message) as err:
        VARegressor.from_pretrained(folder)
    assert "\n" not in str(err.value)


def _edit(folder, **fields):
    meta = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**meta, **fields}))


def test_shipped_regressor_loads_and_scores():
    model = VARegressor.from_pretrained()
    assert default_regressor().name == "regressor-synth"
    assert model.config.input_size == 64
    out = model.score(torch.zeros(1, 3, 64, 64))
    assert out["features"].shape == (1, model.config.feature_dim)


def test_configs_validate_and_presets_match_the_cli():
    from contemo.training.regressor_run import RUNS_ROOT

    assert tuple(PRESETS) == regressor_command.PRESET_NAMES
    assert Path(regressor_command.RUNS_ROOT) == RUNS_ROOT
    assert PRESETS["paper"].lr == 1e-3 and PRESETS["paper"].epochs == 100
    with pytest.raises(ContemoError, match="val_fraction"):
        RegressorTrainConfig(val_fraction=1.5)
    with pytest.raises(ContemoError, match="field 'augment': expected true or false"):
        RegressorTrainConfig.from_dict({"augment": "false"})
    with pytest.raises(ContemoError, match="unknown field"):
        RegressorTrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ContemoError, match="width_mult"):
        RegressorConfig(width_mult=5.0)


def test_split_keeps_groups_apart_and_is_seeded():
    groups = np.repeat([f"p{i}" for i in range(10)], 3)
    train, held = split_groups(groups, 0.2, seed=1)
    assert len(set(groups[train]) & set(groups[held])) == 0
    assert len(held) == 6 and len(train) + len(held) == 30
    again = split_groups(groups, 0.2, seed=1)
    assert np.array_equal(held, again[1])
    with pytest.raises(ContemoError, match="need at least 2"):
        split_groups(np.array(["a", "a"]), 0.5, 0)


def test_losses_mask_unknown_va_and_classes(tiny_model):
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    va = torch.tensor([[0.5, 0.1], [float("nan")] * 2, [-0.2, 0.3], [float("nan")] * 2])
    cls = torch.tensor([1, -1, -1, -1])
    tiny_model.train()
    parts = losses(tiny_model, x, va, cls)
    tiny_model.eval()
    assert all(torch.isfinite(v) for v in parts.values()) and parts["va_mse"] > 0
    assert 0 <= parts["va_ccc_loss"] <= 2
    none = losses(tiny_model, x, torch.full((4, 2), float("nan")), torch.full((4,), -1))
    assert all(v == 0 for v in none.values())


def test_augment_flips_and_shifts_within_the_image():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    out = augment(x, torch.Generator().manual_seed(0), shift=0)
    assert all(torch.equal(o, s) or torch.equal(o, s.flip(-1)) for o, s in zip(out, x))
    shifted = augment(x, torch.Generator().manual_seed(0), shift=2)
    assert shifted.shape == x.shape and shifted.min() >= x.min() and shifted.max() <= x.max()


def test_checkpoint_restores_model_adam_and_rng_state(tmp_path, tiny_model):
    opt = torch.optim.Adam(tiny_model.parameters(), lr=1e-3)
    tiny_model.train()
    parts = losses(tiny_model, torch.rand(4, 3, 32, 32), torch.zeros(4, 2),
                   torch.zeros(4, dtype=torch.int64))
    (parts["va_mse"] + parts["class_ce"]).backward()
    opt.step()
    tiny_model.eval()
    torch.manual_seed(123)
    sidecar = save_checkpoint(tmp_path, tiny_model, opt, epoch=3, step=6,
                              config=PRESETS["tiny"])
    after_save = torch.rand(3)
    assert sidecar.name == "checkpoint-000006.json"
    assert json.loads(sidecar.read_text())["trainer"] == "regressor"
    fresh = VARegressor(TINY)
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=5.0)
    assert load_checkpoint(sidecar, fresh, fresh_opt) == 3
    assert torch.equal(torch.rand(3), after_save)  # the global RNG continues where it was
    for a, b in zip(tiny_model.state_dict().values(), fresh.state_dict().values()):
        assert torch.equal(a, b)
    s0, s1 = opt.state_dict(), fresh_opt.state_dict()
    assert s1["param_groups"][0]["lr"] == 1e-3
    assert torch.equal(s0["state"][0]["exp_avg"], s1["state"][0]["exp_avg"])
    assert float(s0["state"][0]["step"]) == float(s1["state"][0]["step"]) == 1.0


def test_regressor_train_writes_a_run_folder_and_resumes(tmp_path, capsys):
    data = make_va_set(tmp_path / "va", count=16, identities=8)
    runs = tmp_path / "runs"
    args = ["regressor", "train", "--data", str(data), "--preset", "tiny", "--out", str(runs),
            "--val-fraction", "0.25", "--threads", "1"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "split by identity (identity)" in printed and "held-out: CCC V" in printed
    out = runs / "00000-tiny"
    for name in ("config.json", "log.txt", "stats.jsonl", "checkpoints/checkpoint-000002.json",
                 "checkpoints/checkpoint-000002.safetensors", "metrics.json", "scatter.png",
                 "model/config.json", "model/regressor.safetensors", "model/MODEL_CARD.md"):
        assert (out / name).is_file(), name
    assert json.loads((out / "config.json").read_text())["format"] == "contemo-regressor-run/1"
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["valence"]) == {"ccc", "rmse", "pcc", "sagr", "n"}
    assert metrics["data"]["held_out"] == 4 and metrics["data"]["train"] == 12
    assert "accuracy" in metrics["classes"] and "macro_f1" in metrics["classes"]
    card = (out / "model" / "MODEL_CARD.md").read_text()
    assert "--preset tiny" in card and "--val-fraction 0.25" in card
    assert f"--out {runs}" in card
    VARegressor.from_pretrained(out / "model")

    assert main(["regressor", "train", "--resume", str(out), "--epochs", "2"]) == 0  # as train
    stats = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
    assert [s["epoch"] for s in stats] == [1, 2] and [s["step"] for s in stats] == [2, 4]
    assert json.loads((out / "config.json").read_text())["config"]["epochs"] == 2
    assert "resumed from checkpoint-000002.json (epoch 1)" in (out / "log.txt").read_text()
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "checkpoint-000002.json", "checkpoint-000002.safetensors",
        "checkpoint-000004.json", "checkpoint-000004.safetensors"]


def test_numbered_regressor_runs_are_made_atomically_like_gan_runs(tmp_path, monkeypatch,
                                                                     capsys):
    from contemo.training import regressor_run

    data = make_va_set(tmp_path / "va", count=16, identities=8)
    monkeypatch.setattr(regressor_run, "RUNS_ROOT", tmp_path / "runs")
    stale = tmp_path / "runs" / ".tiny.starting-999999"  # a start killed an hour ago
    stale.mkdir(parents=True)
    os.utime(stale, (time.time() - 3600,) * 2)
    args = ["regressor", "train", "--data", str(data), "--preset", "tiny", "--epochs", "1",
            "--val-fraction", "0.25", "--threads", "1"]
    assert main(args) == 0 and main(args) == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["00000-tiny", "00001-tiny"]
    assert (tmp_path / "runs" / "00001-tiny" / "model" / "regressor.safetensors").is_file()
    capsys.readouterr()


@pytest.mark.parametrize("argv, message", [
    (["--data", "{tmp}/nowhere"], "no such AffectNet folder"),
    (["--resume", "{tmp}/nowhere"], "expects a run folder"),
    (["--resume", "{tmp}"], "empty run folder"),
    (["--resume", "{tmp}/a", "--out", "{tmp}/b"], "only --epochs may change (got --out)"),
    (["--resume", "{tmp}/a", "--lr", "0.1"], "only --epochs may change (got --lr)"),
    (["--preset", "tiny", "--config", "{tmp}/c.json"], "give --preset or --config"),
    (["--data", "{tmp}", "--epochs", "0"], "epochs must be at least 1"),
    (["--data", "{tmp}", "--device", "cuda:7"], "cuda"),
])
def test_bad_train_inputs_are_one_line_errors(tmp_path, capsys, argv, message):
    code = main(["regressor", "train", *[a.format(tmp=tmp_path) for a in argv]])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err


def test_crop_keeps_the_centre_before_resizing():
    model = VARegressor(RegressorConfig(input_size=32, width_mult=0.25, feature_dim=16, crop=0.5))
    frame = torch.full((1, 3, 64, 64), -1.0)
    frame[..., 16:48, 16:48] = 1.0  # the centre half is white, the border black
    assert torch.equal(model.prepare(frame), torch.ones(1, 3, 32, 32))
    with pytest.raises(ContemoError, match="crop"):
        RegressorConfig(crop=0.1)
