"""TrainConfig presets, files and overrides, and every bad-input path of `contemo train`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from data_fixtures import make_faces, make_folder

from contemo.cli import main
from contemo.errors import ContemoError
from contemo.models import MODEL_PRESETS
from contemo.training.config import TRAIN_PRESETS, TrainConfig, apply, get_preset, load_file

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("name", sorted(TRAIN_PRESETS))
def test_config_files_match_the_presets(name):
    assert load_file(CONFIGS / f"{name}.json") == TRAIN_PRESETS[name]
    assert json.loads((CONFIGS / f"{name}.json").read_text()) == TRAIN_PRESETS[name].to_dict()


def test_presets_follow_the_paper_and_the_dev_box():
    paper = get_preset("paper256")
    assert paper.model == MODEL_PRESETS["paper256"] and paper.model.resolution == 256
    assert paper.epochs == 10_000 and paper.lr == 1e-4 and paper.steps == 0
    assert paper.total_steps(2052) == -(-10_000 * 2052 // 64)
    assert get_preset("synth64").model.resolution == 64
    assert TrainConfig().betas == (0.5, 0.999)


def test_overrides_are_typed_and_model_fields_reach_the_shape():
    cfg = apply(get_preset("tiny"), {"lr": "2e-4", "steps": "7", "flip": "true",
                                     "betas": "0.0,0.99", "channels_last": "auto",
                                     "fused_adam": "false", "model.g_width": "12",
                                     "model": "tiny"}, "--set")
    assert cfg.lr == 2e-4 and cfg.steps == 7 and cfg.flip is True
    assert cfg.betas == (0.0, 0.99) and cfg.channels_last == "auto" and cfg.fused_adam is False
    assert cfg.model == replace(MODEL_PRESETS["tiny"], g_width=12)


def test_a_file_names_its_base_preset(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"preset": "tiny", "lr": 3e-4, "model": {"resolution": 64}}))
    cfg = load_file(path)
    assert cfg.lr == 3e-4 and cfg.batch_size == TRAIN_PRESETS["tiny"].batch_size
    assert cfg.model.resolution == 64 and cfg.model.g_width == 64  # a full ModelConfig


@pytest.mark.parametrize("changes, message", [
    ({"lrr": 1}, "unknown field 'lrr'"),
    ({"lr": "fast"}, "field 'lr': expected a number"),
    ({"lr": -1}, "field 'lr'"),
    ({"steps": 1.5}, "field 'steps': expected an integer"),
    ({"betas": "0.5"}, "field 'betas': expected a list of 2 items"),
    ({"mixed_precision": "fp8"}, "field 'mixed_precision'"),
    ({"channels_last": "maybe"}, "expected true, false or auto"),
    ({"model": "huge"}, "field 'model': expected a model preset"),
    ({"model.resolution": 48}, "resolution 48"),
    ({"ema_decay": 1.0}, "field 'ema_decay'"),
])
def test_bad_fields_are_one_line_errors(changes, message):
    with pytest.raises(ContemoError, match=message.replace("(", r"\(")) as err:
        apply(TrainConfig(), changes, "--set")
    assert "\n" not in str(err.value)


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    return make_faces(tmp_path_factory.mktemp("faces"), people=1)


def cli_error(capsys, argv: list[str]) -> str:
    """Return the one error line of a CLI call that must fail with status 2."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("contemo: error: ")]
    assert len(lines) == 1, err
    return lines[0]


def test_bad_command_lines_are_one_line_errors(capsys, tmp_path, faces):
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"batchsize": 3}))
    cases = [
        (["--preset", "huge"], "unknown preset 'huge'"),
        (["--config", str(tmp_path / "nope.json")], "config file not found"),
        (["--config", str(bad_json)], "bad.json: not valid JSON"),
        (["--config", str(unknown)], "unknown field 'batchsize'"),
        (["--preset", "tiny", "--set", "lr"], "expected key=value"),
        (["--preset", "tiny"], "no training data"),
        (["--preset", "tiny", "--data", str(tmp_path / "missing")], "missing"),
        (["--preset", "tiny", "--data", str(faces), "--threads", "0"], "--threads 0"),
        (["--resume", str(tmp_path)], "not a run folder"),
        (["--resume", str(tmp_path / "nowhere")], "not a folder"),
        (["--resume", str(tmp_path), "--preset", "tiny"], "--resume takes its config"),
    ]
    for argv, message in cases:
        assert message in cli_error(capsys, ["train", *argv]), argv


def test_data_without_training_labels_is_refused(capsys, tmp_path):
    root = make_folder(tmp_path / "folder")
    for sub in ("neutral", "anger", "Happiness"):
        for f in (root / sub).iterdir():
            f.unlink()
        (root / sub).rmdir()
    line = cli_error(capsys, ["train", "--preset", "tiny", "--data", str(root),
                              "--layout", "folder", "--out", str(tmp_path / "runs")])
    assert "none of the 1 images has a training label" in line
    assert not (tmp_path / "runs").exists()  # no run folder for a run that cannot start


def test_corrupt_checkpoint_is_refused(capsys, tmp_path, faces):
    out = tmp_path / "runs"
    assert main(["train", "--preset", "tiny", "--data", str(faces), "--out", str(out),
                 "--steps", "1", "--set", "grid_every=0", "--set", "mixed_precision=no"]) == 0
    (run,) = out.iterdir()
    weights = run / "checkpoints" / "checkpoint-000001.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    assert "checksum does not match" in cli_error(capsys, ["train", "--resume", str(run)])
    (run / "checkpoints" / "checkpoint-000001.json").write_text("{")
    assert "not valid JSON" in cli_error(capsys, ["train", "--resume", str(run)])


def test_dry_run_prints_the_resolved_config(capsys):
    assert main(["train", "--preset", "tiny", "--steps", "9", "--set", "lr=3e-4",
                 "--dry-run"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["steps"] == 9 and printed["lr"] == 3e-4 and printed["preset"] == "tiny"
