"""The synthetic face sets: deterministic, FACES-shaped, true ground truth, emotions that read."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from contemo.data.affectnet import COLUMNS
from contemo.data.faces import NAME
from contemo.data.layouts import scan
from contemo.data.synth import (
    AU_NAMES,
    PROTOTYPES,
    actions,
    faces_roster,
    make_continuous_set,
    make_faces_set,
    prototype,
    render,
    sample_identity,
    sets,
)
from contemo.emotions import AFFECTNET_CLASSES, EMOTIONS, FACES_LETTER, VA_ANCHORS


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    """A 3-person FACES set at 32 px (36 images)."""
    return make_faces_set(tmp_path_factory.mktemp("synth") / "faces", people=3, size=32, seed=5)


@pytest.fixture(scope="module")
def continuous(tmp_path_factory) -> Path:
    """A 60-image continuous set at 24 px."""
    return make_continuous_set(tmp_path_factory.mktemp("synth") / "va", 60, size=24, seed=2)


def test_same_seed_same_bytes_other_seed_differs(tmp_path, faces):
    again = make_faces_set(tmp_path / "again", people=3, size=32, seed=5)
    assert _files(again) == _files(faces)
    other = _files(make_faces_set(tmp_path / "other", people=3, size=32, seed=6))
    jpgs = [k for k in other if k.endswith(".jpg")]
    assert all(other[k] != _files(faces).get(k) for k in jpgs[:12])


def test_worker_processes_write_the_same_bytes(tmp_path, continuous):
    pooled = make_continuous_set(tmp_path / "pooled", 60, size=24, seed=2, workers=2)
    assert _files(pooled) == _files(continuous)


def test_faces_names_counts_and_scan(faces):
    result = scan(faces, "faces")
    assert not result.problems and len(result.records) == 3 * 6 * 2
    jpgs = sorted(p.name for p in faces.glob("*.jpg"))
    assert len(jpgs) == 36 and all(NAME.match(Path(n).stem) for n in jpgs)
    assert {n.split("_")[3] for n in jpgs} == set(FACES_LETTER.values())
    assert {n[-5] for n in jpgs} == {"a", "b"}
    assert Counter(r.meta["person"] for r in result.records) == {"001": 12, "002": 12, "003": 12}
    for name in ("synth.json", "ground_truth.csv", "identities.csv", sets.FACES_SHEET):
        assert (faces / name).is_file(), name
    with Image.open(faces / sets.FACES_SHEET) as sheet:  # 3 rows of people, 6 emotion columns
        assert sheet.width > 6 * 64 and sheet.height > 3 * 64


def test_age_and_gender_spread_like_faces():
    roster = faces_roster(171, seed=0)
    assert Counter(a for a, _ in roster) == {"y": 58, "m": 56, "o": 57}
    genders = Counter(g for _, g in roster)
    assert abs(genders["m"] - genders["f"]) <= 3
    assert faces_roster(171, 0) == roster and faces_roster(171, 1) != roster
    small = Counter(a for a, _ in faces_roster(6, 0))
    assert small == {"y": 2, "m": 2, "o": 2}


def test_identity_is_fixed_per_person_and_photos_differ(tmp_path):
    jobs, identities = sets.faces_jobs(tmp_path, people=4, size=32, seed=1)
    by_person: dict[str, set] = {}
    for job in jobs:
        by_person.setdefault(str(job.row["person"]), set()).add(job.who)
    assert len(identities) == 4 and all(len(w) == 1 for w in by_person.values())
    assert len({next(iter(w)) for w in by_person.values()}) == 4
    a, b = (np.asarray(Image.open(io.BytesIO(sets._encode(j))), dtype=float)
            for j in jobs[:2])  # person 1, neutral, picture sets a and b
    assert jobs[0].row["picture_set"] == "a" and jobs[1].row["picture_set"] == "b"
    assert 0.2 < np.abs(a - b).mean() < 25  # two photos: not identical, still the same pose


def test_identity_depends_on_seed_and_person_only():
    one = sample_identity(np.random.default_rng([3, sets.STREAM_IDENTITY, 7]), "o", "f")
    two = sample_identity(np.random.default_rng([3, sets.STREAM_IDENTITY, 7]), "o", "f")
    assert one == two and one.age_group == "o" and 69 <= one.age <= 80


def test_au_table_uses_emotion_names_and_emfacs_prototypes():
    assert set(PROTOTYPES) == set(EMOTIONS) | {"surprise", "contempt"}
    assert all(prototype(c) == PROTOTYPES[c.replace("anger", "angry")] for c in AFFECTNET_CLASSES)
    assert set(PROTOTYPES["happy"]) == {"AU6", "AU12"}
    assert set(PROTOTYPES["sad"]) == {"AU1", "AU4", "AU15"}
    assert PROTOTYPES["surprise"] == {"AU1": 1.0, "AU2": 1.0, "AU5": 0.4, "AU26": 1.0}
    assert set(PROTOTYPES["fear"]) == {"AU1", "AU2", "AU4", "AU5", "AU7", "AU20", "AU26"}
    assert set(PROTOTYPES["angry"]) == {"AU4", "AU5", "AU7", "AU23"}
    assert set(PROTOTYPES["disgust"]) == {"AU9", "AU15", "AU16"}
    assert PROTOTYPES["contempt"] == {"R12": 0.2, "R14": 0.2}
    assert PROTOTYPES["neutral"] == {}
    assert all(au in AU_NAMES and 0 < v <= 1 for p in PROTOTYPES.values() for au, v in p.items())
    assert actions.blend({"neutral": 0.5, "happy": 0.5}) == {"AU6": 0.5, "AU12": 0.5}
    with pytest.raises(ValueError):
        actions.parse_code("AU99")


def test_continuous_manifest_columns_ranges_and_va_is_anchor_blend(continuous):
    manifest = _rows(continuous / sets.MANIFEST)
    assert tuple(manifest[0]) == COLUMNS and len(manifest) == 60
    truth = {r["file"]: r for r in _rows(continuous / sets.GROUND_TRUTH)}
    classes = Counter()
    for row in manifest:
        gt = truth[row["subDirectory_filePath"]]
        w = {c: float(gt[f"w_{c}"]) for c in AFFECTNET_CLASSES}
        assert abs(sum(w.values()) - 1) < 1e-4 and min(w.values()) >= 0
        v = sum(w[c] * VA_ANCHORS[c][0] for c in w)
        a = sum(w[c] * VA_ANCHORS[c][1] for c in w)
        assert float(row["valence"]) == pytest.approx(v, abs=1e-4)
        assert float(row["arousal"]) == pytest.approx(a, abs=1e-4)
        assert -1 <= float(row["valence"]) <= 1 and -1 <= float(row["arousal"]) <= 1
        code = int(row["expression"])
        assert w[AFFECTNET_CLASSES[code]] == max(w.values())  # the dominant class
        assert float(gt["w_neutral"]) == pytest.approx(1 - float(gt["intensity"]), abs=1e-4)
        classes[code] += 1
    assert len(classes) >= 6  # the blends cover (almost) every class, surprise/contempt too
    result = scan(continuous, "affectnet")
    assert not result.problems and len(result.records) == 60


def test_pure_emotion_va_scales_towards_neutral():
    assert sets.blend_va({"neutral": 0.6, "happy": 0.4}) == pytest.approx(
        (0.4 * VA_ANCHORS["happy"][0], 0.4 * VA_ANCHORS["happy"][1]))
    assert sets.blend_va({"neutral": 1.0}) == (0.0, 0.0)


def test_force_replaces_an_earlier_set(tmp_path, faces):
    out = make_faces_set(tmp_path / "f", people=3, size=16, seed=0)
    (out / "notes.txt").write_text("mine")
    make_faces_set(out, people=1, size=16, seed=0, force=True)
    assert len(scan(out, "faces").records) == 12 and (out / "notes.txt").read_text() == "mine"


def test_emotions_are_distinguishable_by_nearest_centroid(tmp_path):
    """Held-out people: a nearest-centroid classifier on 32 px grey pixels names the emotion.

    Each person's mean image is subtracted (subject normalisation, standard in
    expression recognition) so the classifier sees expression, not identity.
    """
    root = make_faces_set(tmp_path / "nc", people=24, size=32, seed=11)
    records = scan(root, "faces").records
    x = np.stack([np.asarray(Image.open(r.path).convert("L"), dtype=np.float64).ravel()
                  for r in records])
    y = np.array([EMOTIONS.index(r.emotion) for r in records])
    person = np.array([int(r.meta["person"]) for r in records])
    for p in np.unique(person):
        x[person == p] -= x[person == p].mean(axis=0)
    train, test = person <= 16, person > 16
    centroids = np.stack([x[train & (y == k)].mean(axis=0) for k in range(len(EMOTIONS))])
    guess = ((x[test][:, None, :] - centroids[None]) ** 2).sum(-1).argmin(axis=1)
    accuracy = float((guess == y[test]).mean())
    assert accuracy > 0.9, f"nearest-centroid accuracy {accuracy:.2f}"


def test_render_size_and_mode():
    who = sample_identity(np.random.default_rng(0), "m", "f")
    im = render(who, prototype("fear"), 48)
    assert im.size == (48, 48) and im.mode == "RGB"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "contemo", "data", "synth", *args],
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize("args, needle", [
    (["--people", "0"], "--people must be at least 1"),
    (["--people", "1000"], "--people must be at most 999"),
    (["--people", "1", "--size", "8"], "--size must be between 16 and 1024"),
    (["--people", "1", "--size", "2000"], "--size must be between 16 and 1024"),
    (["--people", "1", "--seed", "-1"], "--seed must be 0 or more"),
    (["--people", "1", "--workers", "-2"], "--workers must be 0"),
    (["--continuous", "0"], "--continuous must be at least 1"),
    (["--continuous", "5", "--people", "2"], "--people applies to the FACES set"),
    (["--people", "1", "--out-is-file"], "is a file"),
    (["--people", "1", "--out-not-empty"], "not empty (pass --force"),
])
def test_bad_input_is_one_line(tmp_path, args, needle):
    out = tmp_path / "out"
    if "--out-is-file" in args:
        out.write_text("x")
    if "--out-not-empty" in args:
        out.mkdir()
        (out / "keep.txt").write_text("x")
    args = [a for a in args if not a.startswith("--out-")]
    result = _cli("--out", str(out), "--no-progress", *args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("contemo: error:") and needle in lines[0]
    assert not out.is_dir() or not any(p.suffix == ".jpg" for p in out.iterdir())


def test_cli_writes_a_set_and_sheet(tmp_path):
    result = _cli("--out", str(tmp_path / "s"), "--people", "2", "--size", "16", "--no-progress",
                  "--sheet", str(tmp_path / "sheet.png"))
    assert result.returncode == 0, result.stderr
    assert "wrote 24 images" in result.stdout and (tmp_path / "sheet.png").is_file()
    assert len(scan(tmp_path / "s", "faces").records) == 24
