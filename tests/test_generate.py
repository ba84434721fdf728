"""`contemo generate` end to end through the CLI on a tiny random checkpoint (CPU)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from generation_fixtures import make_checkpoint
from PIL import Image, ImageSequence

from contemo import cli
from contemo.data.generic import scan_csv
from contemo.emotions import EMOTIONS, label_va
from contemo.errors import ContemoError
from contemo.figures import grid_layout
from contemo.generation import label_options as label_sources
from contemo.generation.manifest import COLUMNS
from contemo.generation.pipeline import EmotionPipeline

RES = 32  # the tiny preset's resolution


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny")


def generate(ckpt: Path, out: Path, *args: str, capsys=None) -> tuple[int, str, str]:
    """Run `contemo generate` in-process; return (status, stdout, stderr)."""
    rc = cli.main(["generate", "--checkpoint", str(ckpt), "--out", str(out), "--device", "cpu",
                   *args])
    if capsys is None:
        return rc, "", ""
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def read_manifest(out: Path) -> list[dict[str, str]]:
    with open(out / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_emotion_strip_files_grid_and_manifest(ckpt, tmp_path, capsys):
    out = tmp_path / "happy"
    rc, stdout, _ = generate(ckpt, out, "--emotion", "happy", "--steps", "11", "--seeds", "0-2",
                             "--display-scale", "2", capsys=capsys)
    assert rc == 0
    images = sorted((out / "images").glob("*.png"))
    assert len(images) == 33 and images[0].name == "seed0000_step00.png"
    assert (out / "images" / "seed0002_step10.png").is_file()
    lines = stdout.strip().splitlines()
    assert lines[-1].startswith("generate: 33 images (3 seeds x 11 labels, neutral -> happy)")
    assert str(out / "grid.png") in lines and str(out / "manifest.csv") in lines
    # Grid: exactly rows x cols tiles of 2x-upscaled images plus the header bands ...
    job = json.loads((out / "generate.json").read_text())
    assert job["columns"][3] == "happy 0.3"
    layout = grid_layout(3, 11, RES * 2, job["columns"], ["seed 0", "seed 1", "seed 2"],
                         "neutral -> happy")
    figure = pixels(out / "grid.png")
    assert (figure.shape[1], figure.shape[0]) == layout.size
    assert layout.size == (layout.left + 11 * 64, layout.top + 3 * 64)
    assert layout.left > 0 and layout.top > 0
    # ... and each tile is the matching individual image, upscaled with nearest.
    for row, col in [(0, 0), (1, 5), (2, 10)]:
        x0, y0, x1, y1 = layout.box(row, col)
        tile = pixels(out / "images" / f"seed{row:04d}_step{col:02d}.png")
        assert tile.shape == (RES, RES, 3)
        assert np.array_equal(figure[y0:y1, x0:x1], tile.repeat(2, 0).repeat(2, 1))
    rows = read_manifest(out)
    assert tuple(rows[0]) == COLUMNS and len(rows) == 33
    for r in rows:
        v = np.array([float(r[e]) for e in EMOTIONS])
        assert abs(v.sum() - 1) < 1e-6
        assert v[EMOTIONS.index("happy")] == pytest.approx(int(r["step"]) / 10, abs=1e-6)
        assert float(r["valence"]) == pytest.approx(label_va(v)[0], abs=1e-5)
        assert r["path"] == f"images/seed{int(r['seed']):04d}_step{int(r['step']):02d}.png"
    assert [r["emotion"] for r in rows[:11]] == ["neutral"] + [""] * 9 + ["happy"]


def test_strips_one_per_seed_and_no_grid(ckpt, tmp_path, capsys):
    out = tmp_path / "strips"
    rc, stdout, _ = generate(ckpt, out, "--emotion", "angry", "--steps", "4", "--seeds", "5,12",
                             "--strips", "--grid-rows", "0", "--display-scale", "2",
                             capsys=capsys)
    assert rc == 0 and not (out / "grid.png").exists() and "grid.png" not in stdout
    assert sorted(p.name for p in (out / "strips").iterdir()) == ["seed0005.png",
                                                                   "seed0012.png"]
    columns = json.loads((out / "generate.json").read_text())["columns"]
    layout = grid_layout(1, 4, RES * 2, columns, None, "seed 12: neutral -> angry")
    strip = pixels(out / "strips" / "seed0012.png")
    assert (strip.shape[1], strip.shape[0]) == layout.size and layout.left == 0
    x0, y0, x1, y1 = layout.box(0, 3)
    tile = pixels(out / "images" / "seed0012_step03.png")
    assert np.array_equal(strip[y0:y1, x0:x1], tile.repeat(2, 0).repeat(2, 1))


def test_same_seed_same_pixels_and_identity_kept(ckpt, tmp_path):
    a, b, single = tmp_path / "a", tmp_path / "b", tmp_path / "single"
    assert generate(ckpt, a, "--emotion", "sad", "--seeds", "2-4", "--steps", "5")[0] == 0
    assert generate(ckpt, b, "--emotion", "sad", "--seeds", "3", "--steps", "5",
                    "--batch-size", "2")[0] == 0
    # Same seed, another run, other batch composition: identical pixels.
    for step in range(5):
        name = f"seed0003_step{step:02d}.png"
        assert np.array_equal(pixels(a / "images" / name), pixels(b / "images" / name))
    # A one-hot Neutral label run of seed 3 is the strip's first image: z kept, same face.
    assert generate(ckpt, single, "--label", "1,0,0,0,0,0", "--seeds", "3")[0] == 0
    neutral = pixels(single / "images" / "seed0003_step00.png")
    assert np.array_equal(neutral, pixels(a / "images" / "seed0003_step00.png"))
    # ... and the label does change the face while a different seed is another face.
    assert not np.array_equal(neutral, pixels(a / "images" / "seed0003_step04.png"))
    assert not np.array_equal(neutral, pixels(a / "images" / "seed0004_step00.png"))


def test_truncation_scales_each_seeds_noise_and_is_recorded(ckpt, tmp_path):
    pipe = EmotionPipeline.from_pretrained(ckpt, truncation=0.7)
    plain = EmotionPipeline.from_pretrained(ckpt)
    assert torch.equal(pipe.noise([3, 9]), plain.noise([3, 9]) * 0.7)
    # psi 0 is every seed's mean face: z = 0 for all, so one face per label.
    mean = EmotionPipeline.from_pretrained(ckpt, truncation=0.0).generate([[0, 0, 0, 0, 0, 1]],
                                                                          seeds=[1, 2])
    assert torch.equal(mean[0], mean[1])
    a, b = tmp_path / "a", tmp_path / "b"
    assert generate(ckpt, a, "--emotion", "happy", "--seeds", "3", "--steps", "3")[0] == 0
    assert generate(ckpt, b, "--emotion", "happy", "--seeds", "3", "--steps", "3",
                    "--truncation", "0.7")[0] == 0
    assert json.loads((a / "generate.json").read_text())["truncation"] == 1.0
    assert json.loads((b / "generate.json").read_text())["truncation"] == 0.7
    name = "seed0003_step02.png"
    assert not np.array_equal(pixels(a / "images" / name), pixels(b / "images" / name))
    # An explicit z is used as given: truncation applies to seeds only.
    z = plain.noise([3])
    assert torch.equal(pipe.generate([[1, 0, 0, 0, 0, 0]], z=z),
                       plain.generate([[1, 0, 0, 0, 0, 0]], z=z))


def test_from_to_path(ckpt, tmp_path):
    out = tmp_path / "sad-happy"
    assert generate(ckpt, out, "--from", "sadness", "--to", "happy", "--steps", "5",
                    "--seeds", "7")[0] == 0
    rows = read_manifest(out)
    sad = [float(r["sad"]) for r in rows]
    happy = [float(r["happy"]) for r in rows]
    assert sad == pytest.approx([1, 0.75, 0.5, 0.25, 0]) and happy == pytest.approx(
        [0, 0.25, 0.5, 0.75, 1])
    assert json.loads((out / "generate.json").read_text())["columns"][1] == "sad 0.75\nhappy 0.25"


def test_all_emotions_grid(ckpt, tmp_path):
    out = tmp_path / "fig3"
    assert generate(ckpt, out, "--all-emotions", "--seeds", "0-3", "--display-scale", "4")[0] == 0
    rows = read_manifest(out)
    assert len(rows) == 24 and [r["emotion"] for r in rows[:6]] == list(EMOTIONS)
    layout = grid_layout(4, 6, RES * 4, list(EMOTIONS), [f"seed {s}" for s in range(4)],
                         "the 6 emotions")
    assert Image.open(out / "grid.png").size == layout.size == (layout.left + 6 * 128,
                                                                 layout.top + 4 * 128)


def test_several_explicit_labels(ckpt, tmp_path):
    out = tmp_path / "labels"
    assert generate(ckpt, out, "--label", "0.2,0,0,0,0,0.8; 0,0.5,0.5,0,0,0", "--seeds",
                    "1,5")[0] == 0
    rows = read_manifest(out)
    assert [(r["seed"], r["step"]) for r in rows] == [("1", "0"), ("1", "1"), ("5", "0"),
                                                       ("5", "1")]
    assert float(rows[0]["happy"]) == pytest.approx(0.8) and rows[0]["emotion"] == ""
    assert float(rows[1]["arousal"]) == pytest.approx(label_va([0, .5, .5, 0, 0, 0])[1])


def test_gif_frames_loop_and_durations(ckpt, tmp_path):
    out = tmp_path / "gif"
    assert generate(ckpt, out, "--emotion", "happy", "--seeds", "0-5", "--gif", "--gif-frames",
                    "8", "--gif-fps", "10", "--gif-hold", "0.5", "--gif-seeds", "3",
                    "--display-scale", "2")[0] == 0
    gif = Image.open(out / "transition.gif")
    assert gif.n_frames == 8 + 6  # there (8) and back without repeating the ends
    assert gif.info["loop"] == 0
    durations = [f.info["duration"] for f in ImageSequence.Iterator(gif)]
    assert durations[0] == durations[7] == 600 and sum(durations) == 14 * 100 + 1000
    assert gif.size[0] == 3 * RES * 2  # three faces side by side
    forward = tmp_path / "gif-forward"
    assert generate(ckpt, forward, "--from", "fear", "--to", "angry", "--gif", "--gif-mode",
                    "forward", "--gif-frames", "5")[0] == 0
    assert Image.open(forward / "transition.gif").n_frames == 5


def test_manifest_reads_back_as_csv_layout(ckpt, tmp_path, capsys):
    out = tmp_path / "dataset"
    assert generate(ckpt, out, "--emotion", "fear", "--steps", "6", "--seeds", "0-1")[0] == 0
    scan = scan_csv(out)
    assert not scan.problems and len(scan.records) == 12
    by_name = {r.path.name: r for r in scan.records}
    for row in read_manifest(out):
        record = by_name[Path(row["path"]).name]
        v = np.array([float(row[e]) for e in EMOTIONS])
        assert (record.valence, record.arousal) == pytest.approx(tuple(label_va(v)), abs=1e-5)
        assert record.emotion == (row["emotion"] or None)
    capsys.readouterr()
    assert cli.main(["data", "check", str(out), "--layout", "csv"]) == 0
    assert "12" in capsys.readouterr().out


def test_large_job_streams_in_batches(ckpt, tmp_path, monkeypatch):
    sizes: list[int] = []
    original = EmotionPipeline.generate

    def spy(self, labels, *args, **kwargs):
        sizes.append(len(labels))
        return original(self, labels, *args, **kwargs)

    monkeypatch.setattr(EmotionPipeline, "generate", spy)
    out = tmp_path / "big"
    assert generate(ckpt, out, "--emotion", "angry", "--steps", "3", "--seeds", "0-39",
                    "--batch-size", "16", "--grid-rows", "4")[0] == 0
    assert max(sizes) <= 16 and sum(sizes) == 120
    assert len(list((out / "images").glob("*.png"))) == 120 and len(read_manifest(out)) == 120
    layout = grid_layout(4, 3, RES * 4, ["angry 0.0", "angry 0.5", "angry 1.0"],
                         [f"seed {s}" for s in range(4)], "neutral -> angry")
    assert Image.open(out / "grid.png").size == layout.size


def test_overwrite_replaces_an_earlier_job(ckpt, tmp_path, capsys):
    out = tmp_path / "again"
    assert generate(ckpt, out, "--emotion", "happy", "--seeds", "0-3", "--gif")[0] == 0
    rc, _, err = generate(ckpt, out, "--emotion", "happy", "--seeds", "0", capsys=capsys)
    assert rc == 2 and "--overwrite" in err
    assert generate(ckpt, out, "--emotion", "happy", "--seeds", "0", "--overwrite")[0] == 0
    assert len(list((out / "images").glob("*.png"))) == 11 and len(read_manifest(out)) == 11
    assert not (out / "transition.gif").exists()  # the earlier job's GIF is not this one's


def test_unusable_out_is_one_line(ckpt, tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    rc, _, err = generate(ckpt, target, "--emotion", "happy", capsys=capsys)
    assert rc == 2 and err.count("\n") == 1 and "not a folder" in err
    unwritable = Path("/proc/contemo-generate-test")  # mkdir fails there, even for root
    rc, _, err = generate(ckpt, unwritable, "--emotion", "happy", capsys=capsys)
    assert rc == 2 and err.count("\n") == 1 and "cannot write" in err


BAD_ARGS = {
    "label sum": ["--label", "0.5,0.6,0,0,0,0"],
    "label count": ["--label", "1,0,0"],
    "label text": ["--label", "a,b,c,d,e,f"],
    "label range": ["--label", "1.5,-0.5,0,0,0,0"],
    "unknown emotion": ["--emotion", "bored"],
    "neutral target": ["--emotion", "neutral"],
    "to surprise": ["--from", "sad", "--to", "surprise"],
    "same from/to": ["--from", "sad", "--to", "sad"],
    "from without to": ["--from", "sad"],
    "label with emotion": ["--emotion", "happy", "--label", "1,0,0,0,0,0"],
    "all with from": ["--all-emotions", "--from", "sad", "--to", "fear"],
    "no source": [],
    "steps with all": ["--all-emotions", "--steps", "5"],
    "one step": ["--emotion", "happy", "--steps", "1"],
    "seeds descending": ["--emotion", "happy", "--seeds", "5-2"],
    "seeds text": ["--emotion", "happy", "--seeds", "one"],
    "seeds empty": ["--emotion", "happy", "--seeds", ","],
    "seeds too many": ["--emotion", "happy", "--seeds", "0-99999999999"],
    "gif single label": ["--label", "1,0,0,0,0,0", "--gif"],
    "gif fps": ["--emotion", "happy", "--gif", "--gif-fps", "0"],
    "display scale": ["--emotion", "happy", "--display-scale", "big"],
    "batch size": ["--emotion", "happy", "--batch-size", "0"],
    "grid rows": ["--emotion", "happy", "--grid-rows", "-1"],
    "device": ["--emotion", "happy", "--device", "tpu9"],
    "truncation above 1": ["--emotion", "happy", "--truncation", "1.5"],
    "truncation below 0": ["--emotion", "happy", "--truncation", "-0.1"],
    "truncation nan": ["--emotion", "happy", "--truncation", "nan"],
}


@pytest.mark.parametrize("args", BAD_ARGS.values(), ids=BAD_ARGS.keys())
def test_bad_input_is_one_line_exit_2(ckpt, tmp_path, capsys, args):
    rc, _, err = generate(ckpt, tmp_path / "bad", *args, capsys=capsys)
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("contemo: error: ")
    assert not (tmp_path / "bad" / "manifest.csv").exists()


def broken_checkpoints(ckpt: Path, root: Path) -> dict[str, Path]:
    """Return checkpoint folders that are missing, truncated or mislabelled."""
    import shutil

    cases = {"missing": root / "nowhere"}
    for name in ("truncated", "bad-json", "no-weights", "other-order"):
        folder = root / name
        shutil.copytree(ckpt, folder)
        cases[name] = folder
    weights = cases["truncated"] / "generator.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    (cases["bad-json"] / "config.json").write_text("{not json")
    (cases["no-weights"] / "generator.safetensors").unlink()
    meta = json.loads((ckpt / "config.json").read_text())
    meta["emotions"] = list(reversed(meta["emotions"]))
    (cases["other-order"] / "config.json").write_text(json.dumps(meta))
    return cases


def test_bad_checkpoints_are_one_line_exit_2(ckpt, tmp_path, capsys):
    for name, folder in broken_checkpoints(ckpt, tmp_path).items():
        rc, _, err = generate(folder, tmp_path / name, "--emotion", "happy", capsys=capsys)
        assert rc == 2, name
        assert len(err.strip().splitlines()) == 1 and str(folder) in err, (name, err)


def test_real_process_exit_status_and_stderr(ckpt, tmp_path):
    truncated = broken_checkpoints(ckpt, tmp_path)["truncated"]
    proc = subprocess.run(
        [sys.executable, "-m", "contemo", "generate", "--emotion", "happy", "--checkpoint",
         str(truncated), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "safetensors" in proc.stderr


def test_label_sources_table_names_every_flag():
    flags = [label_sources.flag(d) for s in label_sources.SOURCES for d in s.dests]
    assert flags == ["--emotion", "--from", "--to", "--label", "--all-emotions", "--va",
                     "--calibrated", "--emotion"]


def test_a_refining_source_wins_over_the_one_it_refines(monkeypatch):
    """Room for later sources: one needing --emotion and its own flag beats plain --emotion."""
    import argparse

    from contemo.labels.paths import neutral_to
    from contemo.labels.sets import LabelSet

    def refined(args, steps, model):
        return LabelSet(neutral_to(args.emotion, 3), ["a", "b", "c"], f"refined by {args.extra}")

    extra = label_sources.LabelSource(
        ("extra", "emotion"), lambda g: g.add_argument("--extra"), refined, uses_steps=False)
    monkeypatch.setattr(label_sources, "SOURCES", [*label_sources.SOURCES, extra])
    parser = argparse.ArgumentParser()
    label_sources.declare(parser.add_argument_group())
    chosen = label_sources.build(parser.parse_args(["--emotion", "fear", "--extra", "x"]))
    assert chosen.title == "refined by x" and chosen.labels.shape == (3, 6)
    plain = label_sources.build(parser.parse_args(["--emotion", "fear"]))
    assert plain.title == "neutral -> fear"
    with pytest.raises(ContemoError, match="--extra needs --emotion"):
        label_sources.build(parser.parse_args(["--extra", "x"]))
