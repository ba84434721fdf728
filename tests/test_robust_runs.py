"""Robustness, run folders: damaged checkpoints, leftovers, locks, full disks, read-only folders.

A full disk is simulated two ways: by making safetensors' writer fail the way it does on
ENOSPC (always), and for real on a 1 MiB tmpfs (only where this process may mount, i.e.
as root; skipped elsewhere). A read-only --out is a read-only tmpfs as root, and a chmod
0555 folder otherwise (root ignores modes, so chmod alone would prove nothing there).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import safetensors.torch
from data_fixtures import make_faces
from robust_fixtures import one_line_error
from safetensors import SafetensorError

from contemo.cli import main
from contemo.training.runs import RunLock

TINY = ["--preset", "tiny", "--set", "grid_every=0", "--set", "mixed_precision=no"]


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    return make_faces(tmp_path_factory.mktemp("faces"), people=2)


@pytest.fixture(scope="module")
def two_checkpoints(tmp_path_factory, faces) -> Path:
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", *TINY, "--data", str(faces), "--out", str(out), "--steps", "2",
                 "--set", "checkpoint_every=1"]) == 0
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


def copy_run(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / run.name
    shutil.copytree(run, target)
    return target


def checkpoints(run: Path) -> list[str]:
    return sorted(p.name for p in (run / "checkpoints").iterdir())


def test_resume_falls_back_to_the_newest_intact_checkpoint(capsys, tmp_path, two_checkpoints):
    run = copy_run(two_checkpoints, tmp_path)
    newest = run / "checkpoints" / "checkpoint-000002.safetensors"
    data = bytearray(newest.read_bytes())
    data[-10] ^= 0xFF  # one flipped byte: a bad sector
    newest.write_bytes(bytes(data))
    assert main(["train", "--resume", str(run), "--steps", "3"]) == 0
    err = capsys.readouterr().err
    assert "skipped damaged checkpoint" in err and "checksum does not match" in err
    assert "resuming from checkpoint-000001.json, the newest intact checkpoint" in err
    assert "resumed from checkpoint-000001.json" in (run / "log.txt").read_text()
    assert "kept the damaged checkpoint as checkpoint-000002.safetensors.damaged" in err
    assert checkpoints(run) == ["checkpoint-000001.json", "checkpoint-000001.safetensors",
                                "checkpoint-000002.json", "checkpoint-000002.json.damaged",
                                "checkpoint-000002.safetensors",
                                "checkpoint-000002.safetensors.damaged",
                                "checkpoint-000003.json", "checkpoint-000003.safetensors"]
    steps = [line for line in (run / "stats.jsonl").read_text().splitlines()]
    assert len(steps) == 3  # steps 1, 2 (again), 3: each logged once


def test_no_intact_checkpoint_is_one_line(capsys, tmp_path, two_checkpoints):
    run = copy_run(two_checkpoints, tmp_path)
    for sidecar in (run / "checkpoints").glob("*.json"):
        sidecar.write_text("{")
    line = one_line_error(capsys, ["train", "--resume", str(run)])
    assert "no intact checkpoint to resume from" in line


def test_empty_run_folder_is_explained(capsys, tmp_path):
    (tmp_path / "00007-tiny").mkdir()
    line = one_line_error(capsys, ["train", "--resume", str(tmp_path / "00007-tiny")])
    assert "empty run folder" in line and "start a new run" in line


def test_run_stopped_before_its_first_checkpoint_resumes_from_step_0(capsys, tmp_path,
                                                                      two_checkpoints):
    run = copy_run(two_checkpoints, tmp_path)
    shutil.rmtree(run / "checkpoints")
    (run / "stats.jsonl").write_text('{"step": 1}\n')
    assert main(["train", "--resume", str(run), "--steps", "2"]) == 0
    assert "starting it again from step 0" in capsys.readouterr().err
    assert "checkpoint-000002.json" in checkpoints(run)
    assert len((run / "stats.jsonl").read_text().splitlines()) == 2


def test_new_run_folders_appear_whole_and_stale_staging_is_removed(tmp_path, faces):
    stale = tmp_path / ".tiny.starting-999999999"  # a start-up killed before its rename
    stale.mkdir()
    os.utime(stale, (time.time() - 120, time.time() - 120))
    assert main(["train", *TINY, "--data", str(faces), "--out", str(tmp_path),
                 "--steps", "1"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["00000-tiny"]


def test_leftovers_are_cleaned_on_resume(capsys, tmp_path, two_checkpoints):
    run = copy_run(two_checkpoints, tmp_path)
    folder = run / "checkpoints"
    (folder / ".checkpoint-000003.safetensors.k2j3.tmp").write_bytes(b"half")
    (folder / ".checkpoint-000003.json.x8.tmp").write_text("{")
    (run / ".stats.jsonl.q1.tmp").write_text("")
    shutil.copy(folder / "checkpoint-000001.safetensors", folder / "checkpoint-000009.safetensors")
    assert main(["train", "--resume", str(run), "--steps", "3"]) == 0
    err = capsys.readouterr().err
    assert err.count("removed leftover") == 4
    assert checkpoints(run) == [f"checkpoint-00000{i}.{e}" for i in (1, 2, 3)
                                for e in ("json", "safetensors")]
    assert not [p for p in run.rglob("*.tmp")]


def test_a_locked_run_folder_refuses_a_second_trainer(capsys, tmp_path, two_checkpoints):
    run = copy_run(two_checkpoints, tmp_path)
    with RunLock(run):
        line = one_line_error(capsys, ["train", "--resume", str(run), "--steps", "3"])
        assert "another contemo train is using this run folder" in line
        assert f"pid {os.getpid()}" in line
    assert checkpoints(run)[-1] == "checkpoint-000002.safetensors"  # nothing was written
    assert main(["train", "--resume", str(run), "--steps", "3"]) == 0  # the lock is gone


def test_full_disk_is_one_line_and_keeps_the_checkpoints(capsys, tmp_path, two_checkpoints,
                                                         monkeypatch):
    run = copy_run(two_checkpoints, tmp_path)
    before = {p.name: p.read_bytes() for p in (run / "checkpoints").iterdir()}

    def full(*args, **kwargs):
        raise SafetensorError("Error while serializing: I/O error: No space left on device "
                              "(os error 28)")

    monkeypatch.setattr(safetensors.torch, "save_file", full)
    line = one_line_error(capsys, ["train", "--resume", str(run), "--steps", "4",
                                   "--set", "checkpoint_every=1"])
    assert "checkpoint-000003.safetensors: cannot write (No space left on device)" in line
    assert "are intact, resume with contemo train --resume" in line
    assert {p.name: p.read_bytes() for p in (run / "checkpoints").iterdir()} == before
    assert not [p for p in run.rglob("*.tmp")]


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of `size` at `path` (root only); skip the test where mounting fails."""
    path.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}",
                                            "tmpfs", str(path)], capture_output=True,
                                           check=False).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_really_full_disk(capsys, tmp_path, faces):
    with tmpfs(tmp_path / "disk", "2m") as disk:
        assert main(["train", *TINY, "--data", str(faces), "--out", str(disk), "--steps", "1"]) == 0
        (run,) = [p for p in disk.iterdir() if p.is_dir()]
        before = {p.name: p.read_bytes() for p in (run / "checkpoints").iterdir()}
        free = shutil.disk_usage(disk).free
        (disk / "filler").write_bytes(b"\0" * max(0, free - 16 * 1024))
        line = one_line_error(capsys, ["train", "--resume", str(run), "--steps", "3",
                                       "--set", "checkpoint_every=1"])
        assert "No space left on device" in line
        (disk / "filler").unlink()
        assert {p.name: p.read_bytes() for p in (run / "checkpoints").iterdir()
                if p.name in before} == before
        assert main(["train", "--resume", str(run), "--steps", "3"]) == 0  # space again: resumes


def test_read_only_out(capsys, tmp_path, faces):
    if os.geteuid() == 0:
        with tmpfs(tmp_path / "ro", "1m") as ro:
            subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
            line = one_line_error(capsys, ["train", *TINY, "--data", str(faces),
                                           "--out", str(ro / "runs")])
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        line = one_line_error(capsys, ["train", *TINY, "--data", str(faces),
                                       "--out", str(ro / "runs")])
    assert "cannot create a run folder" in line
    assert "Read-only file system" in line or "Permission denied" in line


def test_checkpoint_files_share_one_mode(tmp_path, two_checkpoints):
    modes = {stat.S_IMODE(p.stat().st_mode) for p in (two_checkpoints / "checkpoints").iterdir()}
    assert len(modes) == 1 and modes.pop() & 0o044  # group/others may read, like the JSON
