"""Recruitment hand-off and data quality through the study API: ids, codes, checks, speed, rows."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from data_fixtures import make_faces
from fastapi.testclient import TestClient
from serve_fixtures import tiny_checkpoint

from contemo.cli import main
from contemo.emotions import EMOTIONS
from contemo.errors import ContemoError
from contemo.serve.http import token_hash
from contemo.serve.study.app import TOKEN_HEADER, create_study_app
from contemo.serve.study.build import StudyPlan, create_study
from contemo.serve.study.folder import load_study
from contemo.serve.study.store import DB_FILE, AnswerStore

PROLIFIC = "https://app.prolific.com/submissions/complete?cc={code}"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("rec")
    plan = StudyPlan(real_per_emotion=1, generated_per_emotion=1, size=32, seed=2,
                     completion_url=PROLIFIC, completion_code="CODE-7", attention_checks=2,
                     practice=1, demographics=True)
    return create_study(root / "study", make_faces(root / "faces", people=1), "faces",
                        str(tiny_checkpoint(root / "ckpt")), plan)


@pytest.fixture
def setup(tmp_path, built):
    study = load_study(shutil.copytree(built[0].folder, tmp_path / "study"))
    store = AnswerStore(study.folder / DB_FILE)
    client = TestClient(create_study_app(study, store), raise_server_exceptions=False)
    client.admin = {"Authorization": f"Bearer {built[1]}"}
    return study, store, client


def join(client, study, **params) -> dict:
    r = client.post("/api/participants", json={"consent": True, "params": params,
                                               "entry_key": study.settings.entry_key})
    assert r.status_code == 201, r.text
    return {TOKEN_HEADER: r.json()["token"]}


def answer_all(client, headers, session, *, catch_right=True, rt_ms=4000) -> None:
    catch = {c.id: c for c in session["study"].settings.catch}
    for image_id in session["order"]:
        ratings = {e: 3 for e in EMOTIONS}
        if image_id in catch:
            item = catch[image_id]
            ratings[item.emotion] = item.accept[0] if catch_right else \
                next(v for v in range(1, 6) if v not in item.accept)
        body = {"image_id": image_id, "ratings": ratings}
        if rt_ms is not None:
            body["rt_ms"] = rt_ms
        assert client.put("/api/answers", headers=headers, json=body).status_code == 200


def session_of(client, headers, study) -> dict:
    return {**client.get("/api/session", headers=headers).json(), "study": study}


def test_prolific_ids_code_and_redirect_round_trip(setup, tmp_path):
    study, _, client = setup
    headers = join(client, study, PROLIFIC_PID="5f1e2d", STUDY_ID="abc", SESSION_ID="s9",
                   utm_source="ignored")
    session = session_of(client, headers, study)
    assert session["ask_demographics"] and len(session["practice"]) == 1
    assert len(session["order"]) == 12 + 2 and session["order"][0] not in session["instructions"]
    assert client.post("/api/demographics", headers=headers,
                       json={"age": 17, "gender": None}).status_code == 422
    assert client.post("/api/demographics", headers=headers,
                       json={"age": 41, "gender": "male"}).status_code == 200
    assert not session_of(client, headers, study)["ask_demographics"]
    practice = session["practice"][0]
    assert client.get(f"/api/images/{practice}.png").status_code == 200
    assert client.put("/api/answers", headers=headers, json={
        "image_id": practice, "ratings": {"sad": 1}}).status_code == 404  # never stored
    answer_all(client, headers, session)
    done = client.post("/api/complete", headers=headers).json()
    assert done == {"completion_code": "CODE-7",
                    "redirect": "https://app.prolific.com/submissions/complete?cc=CODE-7"}
    assert session_of(client, headers, study)["redirect"] == done["redirect"]
    out = tmp_path / "answers.csv"
    assert main(["study", "export", str(study.folder), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert {(r["PROLIFIC_PID"], r["STUDY_ID"], r["SESSION_ID"], r["completion_code"],
             r["catch_ok"], r["speeder"]) for r in rows} == {
        ("5f1e2d", "abc", "s9", "CODE-7", "1", "0")}
    assert "utm_source" not in rows[0]
    assert sum(r["source"] == "catch" for r in rows) == 2 * 6
    people = tmp_path / "people.csv"
    assert main(["study", "export", str(study.folder), "--participants", "--out",
                 str(people)]) == 0
    (person,) = csv.DictReader(people.open())
    assert (person["age"], person["gender"], person["images_done"], person["catch_passed"],
            person["median_image_ms"]) == ("41", "male", "14", "2", "4000")


def test_per_participant_codes_when_no_study_code(tmp_path, built):
    folder = shutil.copytree(built[0].folder, tmp_path / "study")
    data = json.loads((folder / "study.json").read_text())
    data["settings"]["completion_code"] = None
    data["settings"]["completion_url"] = None
    (folder / "study.json").write_text(json.dumps(data))
    study = load_study(folder)
    client = TestClient(create_study_app(study, AnswerStore(folder / DB_FILE)))
    codes = []
    for _ in range(2):
        headers = join(client, study)
        answer_all(client, headers, session_of(client, headers, study))
        done = client.post("/api/complete", headers=headers).json()
        assert done["redirect"] is None
        codes.append(done["completion_code"])
    assert codes[0] != codes[1] and all(len(c) == 8 for c in codes)


def test_a_failed_attention_check_and_a_speeder_are_flagged(setup, tmp_path, capsys):
    study, _, client = setup
    careless = join(client, study, PROLIFIC_PID="careless")
    answer_all(client, careless, session_of(client, careless, study), catch_right=False)
    fast = join(client, study, PROLIFIC_PID="fast")
    answer_all(client, fast, session_of(client, fast, study), rt_ms=300)  # 0.3 s per image
    api = join(client, study, PROLIFIC_PID="api")  # no client timing: server stamps decide
    answer_all(client, api, session_of(client, api, study), rt_ms=None)
    good = join(client, study, PROLIFIC_PID="good")
    answer_all(client, good, session_of(client, good, study))
    for headers in (careless, fast, api, good):
        assert client.post("/api/complete", headers=headers).status_code == 200
    people = client.get("/api/admin/participants", headers=client.admin).json()["participants"]
    flags = {r["PROLIFIC_PID"]: (r["catch_ok"], r["speeder"], r["timing"]) for r in people}
    assert flags == {"careless": (0, 0, "client"), "fast": (1, 1, "client"),
                     "api": (1, 1, "server"), "good": (1, 0, "client")}
    assert main(["study", "analyze", str(study.folder), "--out", str(tmp_path / "an"),
                 "--bootstrap", "100"]) == 0
    out = capsys.readouterr().out
    assert "1 participants" in out
    assert "left out: 1 failed an attention check (1), 2 speeder(s) (2, 3)" in out
    stats = json.loads((tmp_path / "an" / "stats.json").read_text())
    assert stats["exclusions"] == {"researcher": [], "failed_catch": [1], "speeder": [2, 3],
                                   "incomplete": []}


def test_rows_are_in_a_per_participant_order_and_recorded(setup):
    study, store, client = setup
    headers = join(client, study)
    session = session_of(client, headers, study)
    image = session["order"][0]
    rows = session["rows"][image]
    token = headers[TOKEN_HEADER]
    assert rows == study.rows_for(token_hash(token), image) and sorted(rows) == sorted(EMOTIONS)
    assert len({tuple(r) for r in session["rows"].values()}) > 1  # differs between images
    client.put("/api/answers", headers=headers,
               json={"image_id": image, "ratings": {rows[2]: 4}, "rt_ms": 1234})
    (row,) = store.rows()
    assert (row["rated_emotion"], row["row_position"], row["rt_ms"]) == (rows[2], 3, 1234)
    assert len(row["answered"]) == len("2026-01-01T00:00:00.000+00:00")  # milliseconds


@pytest.mark.parametrize("settings, message", [
    ({"entry_key": "short"}, "settings.entry_key"),
    ({"completion_url": "javascript:alert(1)"}, "settings.completion_url"),
    ({"completion_code": "a b"}, "settings.completion_code"),
    ({"url_params": ["ok", "no spaces"]}, "settings.url_params"),
    ({"randomize_rows": 1}, "settings.randomize_rows"),
    ({"speeder_ms": -1}, "settings.speeder_ms"),
    ({"catch": [{"id": "0123456789ab"}]}, "settings.catch[0].file"),
    ({"bogus": 1}, "unknown field 'bogus'"),
])
def test_bad_settings_are_one_line_naming_the_field(tmp_path, built, settings, message):
    folder = shutil.copytree(built[0].folder, tmp_path / "study")
    data = json.loads((folder / "study.json").read_text())
    data["settings"] = settings
    (folder / "study.json").write_text(json.dumps(data))
    with pytest.raises(ContemoError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_study(folder)


def test_create_flags_are_checked(tmp_path, capsys):
    code = main(["study", "create", "--data", str(tmp_path), "--out", str(tmp_path / "s"),
                 "--completion-url", "ftp://x"])
    assert code == 2 and "--completion-url: expected an http(s) URL" in capsys.readouterr().err


def test_an_old_study_without_settings_is_open_and_serve_warns(tmp_path, built, monkeypatch,
                                                               capsys):
    import uvicorn

    folder = shutil.copytree(built[0].folder, tmp_path / "study")
    data = json.loads((folder / "study.json").read_text())
    del data["settings"]
    (folder / "study.json").write_text(json.dumps(data))
    study = load_study(folder)
    assert study.settings.entry_key is None and study.settings.catch == ()
    client = TestClient(create_study_app(study, AnswerStore(folder / DB_FILE)))
    assert client.post("/api/participants", json={"consent": True}).status_code == 201
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    assert main(["study", "serve", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "warning: this study has no entry key" in out and "/admin" in out
