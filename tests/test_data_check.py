"""`contemo data check`: counts, sizes, every bad file, exit status, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from data_fixtures import LONDON, make_affectnet, make_faces, make_folder, make_london, write_image

from contemo import cli
from contemo.data.layouts import IDENTITY_LAYOUTS, LAYOUTS


def check(capsys, *args):
    """Return (status, stdout, stderr) of `contemo data check ARGS` run in-process."""
    status = cli.main(["data", "check", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def test_every_layout_option_comes_from_the_layout_table():
    import argparse

    parser = cli.build_parser()
    commands = {("data", "check"): tuple(LAYOUTS), ("evaluate", "quality"): tuple(LAYOUTS),
                ("evaluate", "judge"): ("plain", *LAYOUTS),
                ("evaluate", "identity"): IDENTITY_LAYOUTS}
    for words, expected in commands.items():
        sub = parser
        for word in words:
            sub = next(a for a in sub._actions
                       if isinstance(a, argparse._SubParsersAction)).choices[word]
        layout = next(a for a in sub._actions if "--layout" in a.option_strings)
        assert tuple(layout.choices) == expected, words
    assert set(IDENTITY_LAYOUTS) <= set(LAYOUTS)


def test_clean_faces_set_prints_counts_and_sizes(tmp_path, capsys):
    make_faces(tmp_path, people=3)
    status, out, err = check(capsys, tmp_path, "--layout", "faces", "--json", tmp_path / "r.json")
    assert status == 0 and err == ""
    assert "usable images: 36" in out and "emotion:     neutral 6  sad 6" in out
    assert "age group:   middle 12  old 12  young 12" in out
    assert "image sizes: 48x40 (36)" in out and "no problems found" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["counts"]["gender"] == {"female": 24, "male": 12}
    assert report["image_sizes"] == {"48x40": 36} and report["problems"] == []


def test_every_bad_file_is_listed_and_status_reflects_skip_bad(tmp_path, capsys):
    make_faces(tmp_path, people=1)
    write_image(tmp_path / "066_y_m_q_a.jpg")
    write_image(tmp_path / "IMG_0001.jpg")
    (tmp_path / "person1" / "001_m_f_n_a.jpg").write_bytes(b"\xff\xd8garbage")
    status, out, err = check(capsys, tmp_path)
    assert status == 1
    assert "066_y_m_q_a.jpg: unknown emotion code 'q'" in out
    assert "IMG_0001.jpg: not a FACES file name" in out
    assert "person1/001_m_f_n_a.jpg: unreadable image" in out
    assert "problems (3):" in out and "usable images: 11" in out
    assert err.count("\n") == 1 and "3 problems" in err
    status, out, _ = check(capsys, tmp_path, "--skip-bad")
    assert status == 0 and "skipped (3):" in out


def test_affectnet_report(tmp_path, capsys):
    make_affectnet(tmp_path)
    status, out, _ = check(capsys, tmp_path, "--layout", "affectnet")
    assert status == 0
    assert "dropped: expression 8-10 (none/uncertain/no face): 3" in out
    assert "class:" in out and "surprise 1" in out and "contempt 1" in out
    assert "VA:          8 images" in out and "manifest:" in out


@pytest.mark.parametrize("layout,maker", [("folder", make_folder), ("london", make_london)])
def test_other_layouts(tmp_path, capsys, layout, maker):
    maker(tmp_path)
    status, out, _ = check(capsys, tmp_path, "--layout", layout)
    assert status == 0 and "no problems found" in out


@pytest.mark.parametrize("args,expected", [
    (["{tmp}/nope", "--layout", "faces"], "nope: no such FACES folder"),
    (["{tmp}/empty"], "empty: no image files"),
    (["{tmp}/m.csv", "--layout", "csv"], "m.csv: missing column(s) path"),
    (["{tmp}", "--layout", "affectnet", "--manifest", "{tmp}/m.csv"], "missing column(s) subDir"),
    (["{tmp}", "--layout", "faces", "--manifest", "{tmp}/m.csv"], "--manifest applies to layouts"),
])
def test_unusable_input_is_one_line_error(tmp_path, capsys, args, expected):
    (tmp_path / "empty").mkdir()
    (tmp_path / "m.csv").write_text("file,emotion\na.jpg,sad\n")
    status, _, err = check(capsys, *[a.format(tmp=tmp_path) for a in args])
    assert status == 2 and err.startswith("contemo: error: ") and err.count("\n") == 1
    assert expected in err


def test_subprocess_errors_have_no_traceback(tmp_path):
    write_image(tmp_path / "happy" / "a.jpg")
    (tmp_path / "happy" / "b.jpg").write_bytes(b"")
    cases = [([str(tmp_path / "missing")], 2), ([str(tmp_path), "--layout", "folder"], 1)]
    for args, status in cases:
        proc = subprocess.run([sys.executable, "-m", "contemo", "data", "check", *args],
                              check=False, capture_output=True, text=True)
        assert proc.returncode == status and "Traceback" not in proc.stderr + proc.stdout
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("contemo")


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    make_faces(tmp_path / "set", people=1)
    status, _, err = check(capsys, tmp_path / "set", "--threads", "0")
    assert status == 2 and err == "contemo: error: --threads must be at least 1, got 0\n"
    (tmp_path / "taken").mkdir()
    status, _, err = check(capsys, tmp_path / "set", "--json", tmp_path / "taken")
    assert status == 2 and err.startswith(f"contemo: error: {tmp_path / 'taken'}: cannot write")


@pytest.mark.skipif(not LONDON.is_dir(), reason="London set not at /work/shared/data/london-faces")
def test_real_london_set_report(tmp_path, capsys):
    status, out, _ = check(capsys, LONDON, "--layout", "london", "--json", tmp_path / "r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    neutral = len(list((LONDON / "neutral_front").glob("*_03.jpg")))
    smiling = len(list((LONDON / "smiling_front").glob("*_08.jpg")))
    assert status == 0 and report["problems"] == [] and report["usable"] == neutral + smiling
    assert report["counts"]["emotion"]["neutral"] == neutral == 102
    assert report["counts"]["emotion"]["happy"] == smiling == 102
    assert sum(report["counts"]["gender"].values()) == 204
    assert report["image_sizes"] == {"256x256": 204} and "age:" in out
