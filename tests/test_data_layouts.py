"""Scanning every layout from fixtures in the real formats: counts, labels, and every bad input."""

from __future__ import annotations

import numpy as np
import pytest
from data_fixtures import (
    AFFECTNET_ROWS,
    make_affectnet,
    make_faces,
    make_folder,
    make_london,
    write_affectnet_csv,
    write_image,
)

from contemo.data.affectnet import DROPPED_CODES, INVALID_VA
from contemo.data.layouts import LAYOUTS, collect, scan
from contemo.emotions import EMOTIONS, one_hot
from contemo.errors import ContemoError


def test_faces_counts_and_metadata(tmp_path):
    make_faces(tmp_path, people=3)
    write_image(tmp_path / "extra" / "004_o_f_h_b.PNG")  # other endings and case are accepted
    result = scan(tmp_path, "faces")
    assert len(result.records) == 3 * 6 * 2 + 1 and not result.problems
    assert result.counts("emotion")["happy"] == 3 * 2 + 1
    assert dict(result.counts("age_group")) == {"young": 12, "middle": 12, "old": 13}
    assert result.counts("gender") == {"male": 12, "female": 25}
    rec = next(r for r in result.records if r.path.name == "002_o_m_s_a.jpg")
    assert rec.emotion == "sad" and np.array_equal(rec.label, one_hot("sad"))
    assert rec.meta == {"person": "002", "age_group": "old", "gender": "male", "picture_set": "a"}
    assert rec.valence is None and rec.bbox is None


def test_faces_problems_listed_by_collect_and_raised_by_scan(tmp_path):
    make_faces(tmp_path, people=1)
    write_image(tmp_path / "066_y_m_q_a.jpg")  # unknown emotion code
    write_image(tmp_path / "holiday.jpg")  # not a FACES name
    write_image(tmp_path / "067_x_m_h_a.jpg")  # unknown age group
    write_image(tmp_path / "copy" / "001_m_f_h_a.jpg")  # same picture twice
    (tmp_path / "notes.txt").write_text("not an image, ignored")
    problems = collect(tmp_path, "faces").problems
    assert len(problems) == 4
    assert any("066_y_m_q_a.jpg: unknown emotion code 'q'" in p for p in problems)
    assert any("holiday.jpg: not a FACES file name" in p for p in problems)
    assert any("unknown age group 'x'" in p for p in problems)
    assert any("duplicate of" in p for p in problems)
    with pytest.raises(ContemoError) as err:
        scan(tmp_path, "faces")
    assert "\n" not in str(err.value) and str(tmp_path) in str(err.value)
    assert "and 3 more problems" in str(err.value)
    skipped = scan(tmp_path, "faces", skip_bad=True)
    assert len(skipped.records) == 12 and len(skipped.problems) == 4


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_missing_and_empty_roots_are_one_line_errors(tmp_path, layout):
    with pytest.raises(ContemoError, match="no such") as err:
        scan(tmp_path / "nope", layout)
    assert "\n" not in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ContemoError, match=str(tmp_path / "empty")):
        scan(tmp_path / "empty", layout, skip_bad=True)


def test_all_bad_files_with_skip_bad_still_raises(tmp_path):
    write_image(tmp_path / "a.jpg")
    with pytest.raises(ContemoError, match="no usable images for layout faces"):
        scan(tmp_path, "faces", skip_bad=True)


def test_unknown_layout(tmp_path):
    with pytest.raises(ContemoError, match="unknown layout 'fac'"):
        scan(tmp_path, "fac")


def test_affectnet_codes_va_and_vocabulary(tmp_path):
    make_affectnet(tmp_path)
    result = scan(tmp_path, "affectnet")  # finds Manually_Annotated_file_lists/training.csv
    assert not result.problems and len(result.records) == 9  # 12 rows, codes 8-10 dropped
    assert result.dropped == {DROPPED_CODES: 3, INVALID_VA: 1}
    by_class = {r.affectnet_class: r for r in result.records if r.valence is not None}
    assert by_class[6].emotion == "angry" and np.array_equal(by_class[6].label, one_hot("angry"))
    for cls in (3, 7):  # surprise, contempt: no training label, class and VA kept
        assert by_class[cls].emotion is None and by_class[cls].label is None
        assert by_class[cls].valence == AFFECTNET_ROWS[cls][1]
    invalid = [r for r in result.records if r.valence is None]
    assert len(invalid) == 1 and invalid[0].emotion == "happy" and invalid[0].arousal is None
    assert all(r.bbox == (10, 6, 20, 24) for r in result.records)
    assert result.counts("class")["surprise"] == 1


def test_affectnet_manifest_given_directly_and_choice_between_several(tmp_path):
    make_affectnet(tmp_path)
    lists = tmp_path / "Manually_Annotated_file_lists"
    (lists / "validation.csv").write_text((lists / "training.csv").read_text())
    assert len(scan(tmp_path, "affectnet").records) == 9  # training.csv preferred
    val = scan(tmp_path, "affectnet", manifest=lists / "validation.csv")
    assert val.notes == [f"manifest: {lists / 'validation.csv'}"]
    (lists / "training.csv").rename(lists / "train_a.csv")
    with pytest.raises(ContemoError, match="several AffectNet manifests"):
        scan(tmp_path, "affectnet")


@pytest.mark.parametrize("field,value,expected", [
    ("expression", "happy", "expression 'happy' is not an integer"),
    ("expression", "12", "expression 12 is not an AffectNet code"),
    ("valence", "1.5", "valence 1.5 is outside [-1, 1]"),
    ("arousal", "nan", "arousal 'nan' is not a number"),
    ("face_width", "0", "face box x=1 y=1 w=0 h=10 is empty"),
    ("subDirectory_filePath", "gone.jpg", "image 'gone.jpg' not found"),
])
def test_affectnet_bad_rows(tmp_path, field, value, expected):
    write_image(tmp_path / "a.jpg")
    good = {"subDirectory_filePath": "a.jpg", "face_x": 1, "face_y": 1, "face_width": 10,
            "face_height": 10, "expression": 1, "valence": 0.5, "arousal": 0.5}
    manifest = write_affectnet_csv(tmp_path / "list.csv", [good, {**good, field: value}])
    result = collect(tmp_path, "affectnet")
    assert len(result.records) == 1
    assert len(result.problems) == 1
    assert result.problems[0].startswith(f"list.csv line 3: {expected}")
    with pytest.raises(ContemoError) as err:
        scan(manifest, "affectnet")
    assert str(err.value).startswith(f"{manifest} line 3: {expected}")


def test_affectnet_missing_column_names_it(tmp_path):
    (tmp_path / "list.csv").write_text("subDirectory_filePath,expression,valence\na.jpg,1,0.5\n")
    with pytest.raises(ContemoError, match="missing column.*face_x.*arousal"):
        scan(tmp_path, "affectnet", manifest=tmp_path / "list.csv")
    with pytest.raises(ContemoError, match="no AffectNet manifest CSV"):
        scan(tmp_path, "affectnet")


def test_folder_layout_synonyms_and_bad_folders(tmp_path):
    make_folder(tmp_path)
    result = scan(tmp_path, "folder")
    counts = result.counts("emotion")
    assert counts == {"neutral": 2, "angry": 2, "happy": 3, "(none)": 1}
    surprise = next(r for r in result.records if r.emotion is None)
    assert surprise.affectnet_class == 3 and surprise.label is None
    write_image(tmp_path / "misc" / "x.jpg")
    write_image(tmp_path / "loose.jpg")
    problems = collect(tmp_path, "folder").problems
    assert any("folder 'misc' is not an emotion name" in p for p in problems)
    assert any("loose.jpg: image outside any emotion folder" in p for p in problems)


def test_csv_layout_emotion_and_va(tmp_path):
    for name in ("a.jpg", "b.jpg", "sub/c.jpg"):
        write_image(tmp_path / name)
    (tmp_path / "faces.csv").write_text(
        "path,emotion,valence,arousal\n"
        "a.jpg,Happiness,,\nb.jpg,,-0.5,0.25\nsub/c.jpg,sad,-0.6,-0.3\n"
    )
    result = scan(tmp_path, "csv")
    a, b, c = result.records
    assert a.emotion == "happy" and a.valence is None
    assert b.emotion is None and b.label is None and (b.valence, b.arousal) == (-0.5, 0.25)
    assert c.emotion == "sad" and c.arousal == -0.3 and c.path == tmp_path / "sub" / "c.jpg"
    assert len(scan(tmp_path / "faces.csv", "csv").records) == 3  # the CSV itself as root


@pytest.mark.parametrize("text,expected", [
    ("path,emotion\na.jpg,bored\n", "line 2: unknown emotion 'bored'"),
    ("path,emotion\nmissing.jpg,sad\n", "line 2: image 'missing.jpg' not found"),
    ("path,emotion,valence,arousal\na.jpg,,,\n", "line 2: neither emotion nor valence"),
    ("path,valence,arousal\na.jpg,2,0\n", "line 2: valence 2 is outside [-1, 1]"),
])
def test_csv_bad_rows(tmp_path, text, expected):
    write_image(tmp_path / "a.jpg")
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(ContemoError, match="m.csv " + expected.replace("[", r"\[")) as err:
        scan(tmp_path, "csv")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("text,expected", [
    ("file,emotion\na.jpg,sad\n", "no CSV with a 'path' column"),
    ("path,label\na.jpg,sad\n", "needs an 'emotion' column and/or 'valence' and 'arousal'"),
    ("path,valence\na.jpg,0.5\n", r"missing column\(s\) arousal"),
    ("", "no CSV with a 'path' column"),
])
def test_csv_bad_headers(tmp_path, text, expected):
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(ContemoError, match=expected):
        scan(tmp_path, "csv")
    with pytest.raises(ContemoError):
        scan(tmp_path / "m.csv", "csv")


def test_london_layout(tmp_path):
    make_london(tmp_path, people=4)
    result = scan(tmp_path, "london")
    assert result.counts("emotion") == {"neutral": 4, "happy": 4}
    assert result.counts("gender") == {"female": 4, "male": 4}
    rec = next(r for r in result.records if r.path.name == "003_08.jpg")
    assert rec.emotion == "happy" and rec.meta == {
        "person": "003", "age": 23, "gender": "female", "ethnicity": "white"}
    write_image(tmp_path / "smiling_front" / "005_03.jpg")
    assert collect(tmp_path, "london").problems == [
        "smiling_front/005_03.jpg: not a London file name (expected smiling_front/NNN_08.jpg)"]


def test_every_training_emotion_reachable_from_every_categorical_layout(tmp_path):
    make_faces(tmp_path / "f", people=1)
    assert set(scan(tmp_path / "f", "faces").counts("emotion")) == set(EMOTIONS)


@pytest.mark.parametrize("layout,setup,expected", [
    ("faces", lambda p: write_image(p / "x.jpg"), "expected a FACES folder, found a file"),
    ("london", lambda p: write_image(p / "x" / "001_03.jpg"), "not a London set"),
    ("affectnet", lambda p: write_affectnet_csv(p / "m.csv", []), "header but no rows"),
    ("csv", lambda p: (p / "m.csv").write_text("path,emotion\n"), "header but no rows"),
])
def test_unreadable_roots(tmp_path, layout, setup, expected):
    setup(tmp_path)
    root = tmp_path / "x.jpg" if layout == "faces" else tmp_path
    with pytest.raises(ContemoError, match=expected) as err:
        scan(root, layout, skip_bad=True)
    assert "\n" not in str(err.value)
