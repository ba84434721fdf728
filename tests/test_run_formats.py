"""One run, checkpoint and release format for every trained model (GAN and VA regressor).

Both trainers write numbered run folders with checkpoints/ in the same training-state
format, resume with `--resume RUN_DIR` the same way (falling back from a damaged newest
checkpoint, one-line errors, a locked folder), and release `config.json` (tagged
`format`) + safetensors through one writer and one reader.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from data_fixtures import make_faces
from robust_fixtures import one_line_error
from safetensors import safe_open
from va_fixtures import make_va_set

from contemo.cli import build_parser, main
from contemo.fileio import load_tensors
from contemo.models import MODEL_PRESETS, Generator, save_pretrained
from contemo.models.regressor import RegressorConfig, VARegressor, default_regressor
from contemo.models.release import CONFIG_FILE, kind_of, read_release
from contemo.training.runs import RunLock

GAN_NEW = ["train", "--preset", "tiny", "--set", "grid_every=0", "--set", "mixed_precision=no",
           "--steps", "2", "--set", "checkpoint_every=1"]
REG_NEW = ["regressor", "train", "--preset", "tiny", "--epochs", "2", "--val-fraction", "0.25",
           "--threads", "1"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Return {trainer: a finished run folder with two checkpoints}."""
    root = tmp_path_factory.mktemp("runs")
    faces = make_faces(root / "faces", people=2)
    va = make_va_set(root / "va", count=16, identities=8)
    assert main([*GAN_NEW, "--data", str(faces), "--out", str(root / "gan")]) == 0
    assert main([*REG_NEW, "--data", str(va), "--out", str(root / "regressor")]) == 0
    return {name: next(p for p in (root / name).iterdir() if p.is_dir())
            for name in ("gan", "regressor")}


def resume_argv(trainer: str, run: Path) -> list[str]:
    """Return the command line that resumes `run` one step / epoch further."""
    if trainer == "gan":
        return ["train", "--resume", str(run), "--steps", "3"]
    return ["regressor", "train", "--resume", str(run), "--epochs", "3", "--threads", "1"]


def copy_run(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / run.name
    shutil.copytree(run, target)
    return target


def sidecars(run: Path) -> list[Path]:
    return sorted((run / "checkpoints").glob("checkpoint-*.json"))


@pytest.mark.parametrize("trainer", ["gan", "regressor"])
def test_both_trainers_fall_back_from_a_damaged_newest_checkpoint(trainer, runs, tmp_path,
                                                                  capsys):
    run = copy_run(runs[trainer], tmp_path)
    older, newest = sidecars(run)
    tensors = newest.with_suffix(".safetensors")
    data = bytearray(tensors.read_bytes())
    data[-10] ^= 0xFF  # one flipped byte: a bad sector
    tensors.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(resume_argv(trainer, run)) == 0
    err = capsys.readouterr().err
    assert f"skipped damaged checkpoint: {tensors}: checksum does not match" in err
    assert f"resuming from {older.name}, the newest intact checkpoint" in err
    assert f"kept the damaged checkpoint as {tensors.name}.damaged" in err
    assert f"resumed from {older.name}" in (run / "log.txt").read_text()


@pytest.mark.parametrize("trainer", ["gan", "regressor"])
def test_both_trainers_refuse_runs_without_an_intact_checkpoint_alike(trainer, runs, tmp_path,
                                                                      capsys):
    run = copy_run(runs[trainer], tmp_path)
    for sidecar in sidecars(run):
        sidecar.write_text("{")
    line = one_line_error(capsys, resume_argv(trainer, run))
    assert f"{run / 'checkpoints'}: no intact checkpoint to resume from" in line


@pytest.mark.parametrize("trainer", ["gan", "regressor"])
def test_both_trainers_lock_their_run_folder(trainer, runs, tmp_path, capsys):
    run = copy_run(runs[trainer], tmp_path)
    with RunLock(run):
        line = one_line_error(capsys, resume_argv(trainer, run))
    assert "another contemo train is using this run folder" in line


@pytest.mark.parametrize("trainer, other", [("gan", "regressor"), ("regressor", "gan")])
def test_a_trainer_refuses_the_other_trainers_run_and_checkpoints(trainer, other, runs, tmp_path,
                                                                  capsys):
    run = copy_run(runs[other], tmp_path)
    one_line_error(capsys, resume_argv(trainer, run))
    checkpoint = sidecars(run)[-1]
    argv = resume_argv(trainer, run)
    argv[argv.index("--resume") + 1] = str(checkpoint)
    line = one_line_error(capsys, argv)
    assert str(checkpoint) in line and "field" in line


def test_both_trainers_take_the_same_run_options():
    parser = build_parser()
    for words in (["train"], ["regressor", "train"]):
        args = parser.parse_args([*words, "--resume", "runs/x", "--threads", "2"])
        assert (args.resume, args.out, args.threads) == ("runs/x", None, 2)
        assert parser.parse_args([*words, "--out", "elsewhere"]).out == "elsewhere"


def test_regressor_resume_is_bit_exact(runs, tmp_path, capsys):
    """A regressor run killed after epoch 1 and resumed ends as the straight run did.

    The straight run is the fixture's (2 epochs, dropout, flips and shifts); the killed
    one is its copy without the epoch-2 checkpoint, release and metrics.
    """
    straight = runs["regressor"]
    run = copy_run(straight, tmp_path)
    first, last = sidecars(run)
    for path in (last, last.with_suffix(".safetensors")):
        path.unlink()
    shutil.rmtree(run / "model")
    (run / "metrics.json").unlink()
    capsys.readouterr()
    assert main(["regressor", "train", "--resume", str(run), "--threads", "1"]) == 0
    assert f"resumed from {first.name} (epoch 1)" in (run / "log.txt").read_text()
    want = load_tensors(straight / "checkpoints" / last.with_suffix(".safetensors").name)
    got = load_tensors(last.with_suffix(".safetensors"))
    assert sorted(got) == sorted(want)
    assert any(k.startswith("opt.") for k in got) and any(k.startswith("rng.") for k in got)
    for name, tensor in want.items():
        assert torch.equal(got[name], tensor), name
    release = "model/regressor.safetensors"
    assert (run / release).read_bytes() == (straight / release).read_bytes()
    stats = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    want_stats = [json.loads(line) for line in (straight / "stats.jsonl").read_text().splitlines()]
    for a, b in zip(stats, want_stats, strict=True):
        assert {k: v for k, v in a.items() if k not in ("seconds", "images_per_second")} == \
               {k: v for k, v in b.items() if k not in ("seconds", "images_per_second")}


def test_both_releases_carry_format_and_load_through_one_reader(tmp_path):
    torch.manual_seed(0)
    models = {"generator": Generator(MODEL_PRESETS["tiny"]).eval(),
              "regressor": VARegressor(RegressorConfig(input_size=32, width_mult=0.25,
                                                       feature_dim=16)).eval()}
    for name, model in models.items():
        kind = kind_of(model)
        folder = save_pretrained(model, tmp_path / name, training={"note": name})
        config = json.loads((folder / CONFIG_FILE).read_text())
        assert list(config)[:2] == ["format", "contemo_version"] and "kind" not in config
        assert config["format"] == kind.format == f"contemo-{name}/1"
        assert config["training"] == {"note": name}
        with safe_open(str(folder / kind.weights_file), "pt") as fh:
            assert fh.metadata()["format"] == kind.format
        assert read_release(folder, kind.format, kind.weights_file, name)["model"] == \
               model.config.to_dict()


@pytest.mark.parametrize("folder", ["generator-synth64", "generator-london64", "regressor-synth"])
def test_shipped_releases_are_read_by_the_shared_reader(folder):
    root = default_regressor().parent / folder
    config = json.loads((root / CONFIG_FILE).read_text())
    kind = "regressor" if folder.startswith("regressor") else "generator"
    assert config["format"] == f"contemo-{kind}/1"
    read_release(root, config["format"], f"{kind}.safetensors", kind)


def test_a_regressor_run_of_the_older_layout_is_refused_in_one_line(tmp_path, capsys):
    run = tmp_path / "regressor-synth"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"format": "contemo-regressor-run/1",
                                                 "config": {"preset": "tiny"}}))
    (run / "checkpoint.safetensors").write_bytes(b"old")
    line = one_line_error(capsys, ["regressor", "train", "--resume", str(run)])
    assert "checkpoint.safetensors: a checkpoint of an older contemo" in line
