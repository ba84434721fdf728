"""Issue 11's study-server reproductions: floods, symlinks, echoes, lax inputs, damaged databases.

Each case is the request or file that showed the defect; each must now get a 4xx or a
one-line error naming the file, and lose nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from data_fixtures import make_faces
from fastapi.testclient import TestClient
from serve_fixtures import tiny_checkpoint

from contemo.cli import main
from contemo.emotions import EMOTIONS
from contemo.errors import ContemoError
from contemo.serve.study.app import TOKEN_HEADER, create_study_app
from contemo.serve.study.build import StudyPlan, create_study
from contemo.serve.study.folder import load_study
from contemo.serve.study.store import DB_FILE, AnswerStore


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("hard")
    plan = StudyPlan(real_per_emotion=1, generated_per_emotion=0, size=32, seed=1)
    return create_study(root / "study", make_faces(root / "faces", people=1), "faces",
                        str(tiny_checkpoint(root / "ckpt")), plan)


@pytest.fixture
def study(tmp_path, built):
    return load_study(shutil.copytree(built[0].folder, tmp_path / "study"))


def client_for(study, **kwargs) -> TestClient:
    return TestClient(create_study_app(study, AnswerStore(study.folder / DB_FILE), **kwargs),
                      raise_server_exceptions=False)


def joined(client, study) -> dict:
    r = client.post("/api/participants", json={"consent": True,
                                               "entry_key": study.settings.entry_key})
    assert r.status_code == 201, r.text
    return {TOKEN_HEADER: r.json()["token"]}


def complete_all(client, study, headers) -> str:
    for im in study.images:
        client.put("/api/answers", headers=headers, json={
            "image_id": im.id, "rt_ms": 3000, "ratings": {e: 2 for e in EMOTIONS}})
    return client.post("/api/complete", headers=headers).json()["completion_code"]


# ---- 1. study flood ---------------------------------------------------------------------
def test_a_flood_without_the_entry_key_adds_nobody(study):
    client = client_for(study)
    codes = {client.post("/api/participants", json={"consent": True}).status_code
             for _ in range(50)}
    wrong = client.post("/api/participants", json={"consent": True, "entry_key": "x" * 20})
    assert codes == {403} and wrong.status_code == 403
    assert "link you were given" in wrong.json()["error"]
    assert AnswerStore(study.folder / DB_FILE).summary()["participants"] == 0


def test_a_flood_with_the_key_is_rate_limited_per_address(study):
    client = client_for(study, joins_per_minute=20)
    body = {"consent": True, "entry_key": study.settings.entry_key}
    codes = [client.post("/api/participants", json=body).status_code for _ in range(60)]
    assert codes[:20] == [201] * 20 and set(codes[20:]) == {429}
    assert AnswerStore(study.folder / DB_FILE).summary()["participants"] == 20


def test_paused_enrolment_and_excluded_participants(study):
    client = client_for(study)
    store = AnswerStore(study.folder / DB_FILE)
    headers = joined(client, study)
    store.set_enrolment(False)
    r = client.post("/api/participants", json={"consent": True,
                                               "entry_key": study.settings.entry_key})
    assert r.status_code == 503 and "paused" in r.json()["error"]
    assert client.get("/api/session", headers=headers).status_code == 200  # started: goes on
    assert store.exclude(1, True, "junk")
    assert client.get("/api/session", headers=headers).status_code == 403
    # a restart keeps both decisions
    again = AnswerStore(study.folder / DB_FILE)
    assert again.summary()["enrolment"] == "paused" and again.participants()[0]["excluded"]
    assert not store.exclude(99, True)


# ---- 3. symlinks in images/ -------------------------------------------------------------
def test_a_symlink_out_of_the_study_is_refused_at_start(study, capsys):
    victim = study.folder / study.images[0].file
    victim.unlink()
    victim.symlink_to("/etc/passwd")
    with pytest.raises(ContemoError, match=f"{victim.name}: not a file inside"):
        load_study(study.folder)
    assert main(["study", "serve", str(study.folder)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "symlink" in err


def test_a_file_swapped_for_a_symlink_while_serving_is_not_served(study):
    client = client_for(study)
    image = study.images[0]
    assert client.get(f"/api/images/{image.id}.png").status_code == 200
    path = study.folder / image.file
    path.unlink()
    path.symlink_to("/etc/passwd")
    r = client.get(f"/api/images/{image.id}.png")
    assert r.status_code == 404 and b"root:" not in r.content


def test_a_symlink_inside_images_and_a_non_png_are_handled(study):
    image = study.images[0]
    path = study.folder / image.file
    real = study.folder / "images" / "kept.png"
    path.rename(real)
    path.symlink_to(real)  # stays inside images/: allowed
    assert client_for(load_study(study.folder)).get(
        f"/api/images/{image.id}.png").status_code == 200
    path.unlink()
    path.write_text("not a png")
    with pytest.raises(ContemoError, match="not a PNG file"):
        load_study(study.folder)


# ---- 4. echoes, lax inputs, answers after completion ------------------------------------
def test_error_replies_do_not_echo_big_inputs(study):
    client = client_for(study)
    headers = joined(client, study)
    big = "x" * 60_000
    cases = [
        client.put("/api/answers", headers=headers,
                   json={"image_id": study.images[0].id, "ratings": {big: 1}}),
        client.put("/api/answers", headers=headers,
                   json={"image_id": study.images[0].id, "ratings": {"sad": 1}, big: 1}),
        client.post("/api/participants", json={"consent": True, "params": {big: "a"}}),
        client.put("/api/answers", headers=headers, json={"image_id": big, "ratings": {}}),
    ]
    assert all(400 <= r.status_code < 500 for r in cases), [r.status_code for r in cases]
    assert max(len(r.content) for r in cases) < 400


@pytest.mark.parametrize("consent", [1, "true", "yes", 1.0, None, False])
def test_consent_must_be_the_boolean_true(study, consent):
    r = client_for(study).post("/api/participants", json={
        "consent": consent, "entry_key": study.settings.entry_key})
    assert r.status_code == 422 and r.json()["error"].startswith("consent")


def test_answers_are_frozen_after_completion(study):
    client = client_for(study)
    headers = joined(client, study)
    complete_all(client, study, headers)
    r = client.put("/api/answers", headers=headers,
                   json={"image_id": study.images[0].id, "ratings": {"sad": 5}})
    assert r.status_code == 409 and "completed" in r.json()["error"]
    with sqlite3.connect(study.folder / DB_FILE) as db:
        assert db.execute("SELECT DISTINCT value FROM answers").fetchall() == [(2,)]
        assert db.execute("SELECT MAX(revisions) FROM answers").fetchone() == (0,)


# ---- 5. damaged and read-only databases -------------------------------------------------
def served_study(study) -> Path:
    """Give the study some answers through the API; return its database, checkpointed as
    when the server stops (its last connection closed, the -wal merged and removed)."""
    store = AnswerStore(study.folder / DB_FILE)
    client = TestClient(create_study_app(study, store))
    complete_all(client, study, joined(client, study))
    store.close()
    assert not Path(f"{study.folder / DB_FILE}-wal").exists()
    return study.folder / DB_FILE


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign", "empty-header"])
def test_a_damaged_database_is_one_line_naming_it(study, damage, capsys, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("served a damaged study"))
    db = served_study(study)
    for extra in ("-wal", "-shm"):
        Path(str(db) + extra).unlink(missing_ok=True)
    if damage == "garbage":
        db.write_bytes(os.urandom(8192))
    elif damage == "truncated":
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 3])
    elif damage == "foreign":
        db.unlink()
        with sqlite3.connect(db) as other:
            other.execute("CREATE TABLE notes (x)")
    else:
        db.write_bytes(b"SQLite format 3\x00" + b"\xff" * 84 + b"\x00" * 3996)
    for command in (["study", "export", str(study.folder)],
                    ["study", "analyze", str(study.folder)],
                    ["study", "serve", str(study.folder)]):
        assert main(command) == 2, command
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(db) in err and "Traceback" not in err, err


@contextlib.contextmanager
def read_only(folder: Path):
    """Yield `folder` mounted read-only (a bind mount; or chmod when not root); skip if neither."""
    target = folder.parent / (folder.name + "-ro")
    target.mkdir()
    done = os.geteuid() == 0 and shutil.which("mount") is not None and subprocess.run(
        ["mount", "--bind", "-o", "ro", str(folder), str(target)],
        capture_output=True, check=False).returncode == 0
    if not done:
        if os.geteuid() == 0:
            pytest.skip("cannot make a read-only mount here")
        shutil.rmtree(target)
        shutil.copytree(folder, target)
        for path in [target, *target.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
    try:
        yield target
    finally:
        if done:  # the kernel may still be letting go of the files: retry, then detach
            for _ in range(20):
                if subprocess.run(["umount", str(target)], capture_output=True,
                                  check=False).returncode == 0:
                    break
                time.sleep(0.25)
            else:
                subprocess.run(["umount", "-l", str(target)], check=True)
        else:
            for path in [target, *target.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)


def test_export_and_analyze_work_on_a_read_only_mount(study, tmp_path, capsys):
    db = served_study(study)
    before = db.read_bytes()
    with read_only(study.folder) as ro:
        assert main(["study", "export", str(ro), "--out", str(tmp_path / "a.csv")]) == 0
        assert main(["study", "analyze", str(ro), "--out", str(tmp_path / "an"),
                     "--bootstrap", "100"]) == 0
        assert not os.access(ro / DB_FILE, os.W_OK) or os.geteuid() == 0
    capsys.readouterr()
    assert len((tmp_path / "a.csv").read_text().splitlines()) == 1 + 6 * 6
    assert db.read_bytes() == before


def test_export_and_analyze_leave_no_file_of_the_study_open(study, tmp_path, capsys):
    """An answers database left open until garbage collection kept a read-only mount busy."""
    proc = Path("/proc/self/fd")
    if not proc.is_dir():
        pytest.skip("no /proc/self/fd here")
    db = served_study(study)
    with AnswerStore(db, read_only=True) as store:
        assert len(store.rows()) == 36

    def open_in_study() -> list[str]:
        names = []
        for fd in proc.iterdir():
            with contextlib.suppress(OSError):
                names.append(os.readlink(fd))
        return [n for n in names if n.startswith(str(study.folder))]

    assert open_in_study() == []
    assert main(["study", "export", str(study.folder), "--out", str(tmp_path / "a.csv")]) == 0
    assert main(["study", "analyze", str(study.folder), "--out", str(tmp_path / "an"),
                 "--bootstrap", "100"]) == 0
    capsys.readouterr()
    assert open_in_study() == []


def test_a_read_only_store_refuses_writes(study):
    db = served_study(study)
    store = AnswerStore(db, read_only=True)
    assert len(store.rows()) == 36
    with pytest.raises(ContemoError, match="read-only"):
        store.add_participant()


def test_an_older_database_is_upgraded_and_exported(study, tmp_path):
    """A database written before rt_ms, exclusions and enrolment existed still works."""
    db = study.folder / DB_FILE
    with sqlite3.connect(db) as old:
        old.executescript(
            "CREATE TABLE participants (id INTEGER PRIMARY KEY, token_sha256 TEXT NOT NULL "
            "UNIQUE, created TEXT NOT NULL, completed TEXT, completion_code TEXT);"
            "CREATE TABLE answers (participant_id INTEGER NOT NULL, image_id TEXT NOT NULL, "
            "emotion TEXT NOT NULL, value INTEGER NOT NULL, answered TEXT NOT NULL, "
            "revisions INTEGER NOT NULL DEFAULT 0, UNIQUE (participant_id, image_id, emotion));"
            "INSERT INTO participants VALUES (1, 'h', '2026-01-01T00:00:00+00:00', NULL, NULL);")
        old.execute("INSERT INTO answers VALUES (1, ?, 'sad', 3, '2026-01-01T00:00:01+00:00', 0)",
                    (study.images[0].id,))
    assert main(["study", "export", str(study.folder), "--out", str(tmp_path / "old.csv")]) == 0
    assert ",sad,,3,," in (tmp_path / "old.csv").read_text()  # row_position, rt_ms blank
    store = AnswerStore(db)  # the server upgrades it in place
    assert store.summary() == {"participants": 1, "completed": 0, "excluded": 0,
                               "answers": 1, "enrolment": "open"}


def test_a_database_damaged_while_serving_is_a_503_without_paths(study):
    client = client_for(study)
    headers = joined(client, study)
    db = study.folder / DB_FILE
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        if path.exists():
            path.write_bytes(os.urandom(4096))
    r = client.put("/api/answers", headers=headers,
                   json={"image_id": study.images[0].id, "ratings": {"sad": 1}})
    assert r.status_code == 503 and "try again" in r.json()["error"], r.text
    assert str(study.folder) not in r.text and "sqlite" not in r.text.lower()
