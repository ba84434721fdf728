"""The user study: building it, the participant API, storage, export, analysis, concurrency."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest
from data_fixtures import make_faces, make_london
from fastapi.testclient import TestClient
from PIL import Image
from scipy.stats import wilcoxon
from serve_fixtures import live_server, tiny_checkpoint

from contemo.cli import main
from contemo.data.images import load_face
from contemo.emotions import EMOTIONS, one_hot
from contemo.errors import ContemoError
from contemo.evaluation.study_analysis import analyze
from contemo.figures import to_uint8
from contemo.generation.pipeline import EmotionPipeline
from contemo.serve.faces import encode_png
from contemo.serve.http import token_hash
from contemo.serve.study.app import TOKEN_HEADER, create_study_app
from contemo.serve.study.build import StudyPlan, create_study
from contemo.serve.study.folder import load_study
from contemo.serve.study.store import DB_FILE, AnswerStore

PLAN = StudyPlan(real_per_emotion=2, generated_per_emotion=1, size=64, seed=3)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny")


@pytest.fixture(scope="module")
def faces_root(tmp_path_factory):
    return make_faces(tmp_path_factory.mktemp("faces"), people=2)


@pytest.fixture(scope="module")
def built(tmp_path_factory, faces_root, checkpoint):
    """A study folder (18 images) and its admin token; tests must not answer into it."""
    return create_study(tmp_path_factory.mktemp("s") / "study", faces_root, "faces",
                        str(checkpoint), PLAN)


@pytest.fixture
def fresh(tmp_path, built):
    """A copy of the built study with no answers, its admin token, and a TestClient for it."""
    original, token = built
    study = load_study(shutil.copytree(original.folder, tmp_path / "study"))
    app = create_study_app(study, AnswerStore(study.folder / DB_FILE))
    return study, token, TestClient(app, raise_server_exceptions=False)


def join(client, study, **params) -> dict:
    """Return the headers of a new participant who joined with the study's link."""
    r = client.post("/api/participants", json={
        "consent": True, "entry_key": study.settings.entry_key, "params": params})
    assert r.status_code == 201, r.text
    return {TOKEN_HEADER: r.json()["token"]}


def test_study_has_n_real_and_n_generated_per_emotion(built):
    study, _ = built
    counts = {(e, s): 0 for e in EMOTIONS for s in ("real", "generated")}
    for im in study.images:
        counts[(im.emotion, im.source)] += 1
    assert set(counts.values()) == {1, 2} and len(study.images) == 18
    assert all(counts[(e, "real")] == 2 and counts[(e, "generated")] == 1 for e in EMOTIONS)
    for im in study.images:
        assert Image.open(study.image_path(im)).size == (64, 64)
        assert not any(word in im.id for word in (*EMOTIONS, "real", "gen"))
    assert study.data["missing_real"] == [] and study.data["notes"] == []


def test_real_and_generated_pixels_are_the_sources(built, checkpoint):
    study, _ = built
    real = next(im for im in study.images if im.source == "real")
    want = load_face(Path(study.data["real_source"]["root"]) / real.origin["path"], 64,
                     center_crop=True).transpose(1, 2, 0)
    assert np.array_equal(np.asarray(Image.open(study.image_path(real))), want)
    gen = next(im for im in study.images if im.source == "generated")
    face = to_uint8(EmotionPipeline.from_pretrained(checkpoint).generate(
        one_hot(gen.emotion)[None], seeds=[gen.origin["seed"]]))[0]
    assert Image.open(study.image_path(gen)).tobytes() == \
        Image.open(io.BytesIO(encode_png(face, 64))).tobytes()


def test_admin_token_is_stored_only_as_a_hash(built):
    study, token = built
    text = (study.folder / "study.json").read_text()
    assert token not in text and len(study.admin_hash) == 64


def test_london_has_only_neutral_and_happy_and_says_so(tmp_path, checkpoint, capsys):
    root = make_london(tmp_path / "london", people=4)
    code = main(["study", "create", "--data", str(root), "--layout", "london", "--checkpoint",
                 str(checkpoint), "--out", str(tmp_path / "st"), "--size", "32"])
    out = capsys.readouterr().out
    assert code == 0
    assert "no real images of sad, disgust, fear, angry" in out
    assert "admin token (shown once" in out
    study = load_study(tmp_path / "st")
    assert study.data["missing_real"] == ["sad", "disgust", "fear", "angry"]
    assert sum(im.source == "real" for im in study.images) == 6
    assert sum(im.source == "generated" for im in study.images) == 18


def test_create_refuses_a_used_folder_and_bad_counts(tmp_path, faces_root, checkpoint, built):
    study, _ = built
    with pytest.raises(ContemoError, match="already holds a study"):
        create_study(study.folder, faces_root, "faces", str(checkpoint), PLAN)
    with pytest.raises(ContemoError, match="both 0"):
        create_study(tmp_path / "x", faces_root, "faces", str(checkpoint),
                     StudyPlan(real_per_emotion=0, generated_per_emotion=0))


def test_a_failed_create_leaves_nothing_behind(tmp_path, checkpoint):
    root = make_faces(tmp_path / "faces", people=1)
    (root / "person1" / "001_m_f_h_a.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ContemoError, match="001_m_f_h_a.jpg"):
        create_study(tmp_path / "st", root, "faces", str(checkpoint), PLAN)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faces"]


def test_order_is_a_per_participant_permutation(built):
    study, _ = built
    ids = sorted(im.id for im in study.images)
    a, b = study.order_for("a" * 64), study.order_for("b" * 64)
    assert sorted(a) == ids and sorted(b) == ids and a != b
    assert study.order_for("a" * 64) == a


def test_participant_flow_resume_and_completion(fresh):
    study, _, client = fresh
    assert client.post("/api/participants", json={
        "consent": False, "entry_key": study.settings.entry_key}).status_code == 422
    headers = join(client, study)
    session = client.get("/api/session", headers=headers).json()
    assert session["position"] == 0 and session["total"] == 18 and not session["completed"]
    order = session["order"]
    assert client.post("/api/complete", headers=headers).status_code == 409
    for image_id in order[:5]:
        r = client.put("/api/answers", headers=headers,
                       json={"image_id": image_id, "ratings": {e: 3 for e in EMOTIONS}})
        assert r.status_code == 200
    client.put("/api/answers", headers=headers,
               json={"image_id": order[5], "ratings": {"happy": 1}})
    # a "server restart": a new app and store over the same folder
    restarted = TestClient(create_study_app(load_study(study.folder),
                                            AnswerStore(study.folder / DB_FILE)))
    again = restarted.get("/api/session", headers=headers).json()
    assert again["order"] == order and again["position"] == 5
    assert again["answers"][order[5]] == {"happy": 1}
    for image_id in order[5:]:
        restarted.put("/api/answers", headers=headers,
                      json={"image_id": image_id, "ratings": {e: 2 for e in EMOTIONS}})
    code = restarted.post("/api/complete", headers=headers).json()["completion_code"]
    assert len(code) == 8 and restarted.post("/api/complete", headers=headers).json() == {
        "completion_code": code, "redirect": None}
    final = restarted.get("/api/session", headers=headers).json()
    assert final["completed"] and final["completion_code"] == code and final["position"] == 18


def test_reanswering_updates_the_one_row(fresh):
    study, _, client = fresh
    headers = join(client, study)
    image_id = study.images[0].id
    for value in (1, 4):
        client.put("/api/answers", headers=headers,
                   json={"image_id": image_id, "ratings": {"sad": value}})
    with sqlite3.connect(study.folder / DB_FILE) as db:
        rows = db.execute("SELECT value, revisions FROM answers").fetchall()
        assert rows == [(4, 1)]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("INSERT INTO answers (participant_id, image_id, emotion, value, answered) "
                       "VALUES (1, ?, 'sad', 2, 'now')", (image_id,))
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("INSERT INTO answers (participant_id, image_id, emotion, value, answered) "
                       "VALUES (1, ?, 'happy', 6, 'now')", (image_id,))


@pytest.mark.parametrize("ratings, message", [
    ({"happy": 0}, "1-5"), ({"happy": 6}, "1-5"), ({"happy": "3"}, "integer"),
    ({"happy": 3.5}, "integer"), ({"happy": True}, "integer"), ({"joy": 2}, "unknown emotion"),
    ({}, "ratings"),
])
def test_likert_values_are_validated(fresh, ratings, message):
    study, _, client = fresh
    r = client.put("/api/answers", headers=join(client, study),
                   json={"image_id": study.images[0].id, "ratings": ratings})
    assert r.status_code == 422 and message in r.json()["error"]


def test_unknown_images_tokens_and_paths_are_4xx(fresh):
    study, _, client = fresh
    headers = join(client, study)
    cases = [
        client.put("/api/answers", headers=headers,
                   json={"image_id": "0123456789ab", "ratings": {"sad": 1}}),
        client.put("/api/answers", headers=headers,
                   json={"image_id": "../study.json", "ratings": {"sad": 1}}),
        client.get("/api/session"),
        client.get("/api/session", headers={TOKEN_HEADER: "guess"}),
        client.get("/api/images/0123456789ab.png"),
        client.get("/api/images/..%2Fstudy.json"),
        client.get("/api/images/%2e%2e%2fstudy.json.png"),
        client.get("/study.json"),
        client.get("/static/..%2F..%2Fstudy.json"),
        client.post("/api/participants", content=b"x" * 100_000,
                    headers={"content-type": "application/json"}),
    ]
    assert [r.status_code for r in cases] == [404, 422, 401, 401, 404, 404, 404, 404, 404, 413]
    assert all(isinstance(r.json()["error"], str) for r in cases)
    image = client.get(f"/api/images/{study.images[0].id}.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"


def test_admin_export_needs_the_token(fresh):
    study, token, client = fresh
    headers = join(client, study)
    client.put("/api/answers", headers=headers,
               json={"image_id": study.images[0].id, "ratings": {"fear": 2, "happy": 5}})
    assert client.get("/api/admin/export.csv").status_code == 401
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")  # one character off
    assert client.get("/api/admin/export.csv",
                      headers={"Authorization": f"Bearer {wrong}"}).status_code == 401
    r = client.get("/api/admin/export.csv", headers={"Authorization": f"Bearer {token}"})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    im = study.images[0]
    assert [(x["image_id"], x["source"], x["image_emotion"], x["rated_emotion"], x["value"])
            for x in rows] == [(im.id, im.source, im.emotion, "fear", "2"),
                               (im.id, im.source, im.emotion, "happy", "5")]
    assert headers[TOKEN_HEADER] not in r.text
    summary = client.get("/api/admin/summary", headers={"Authorization": f"Bearer {token}"})
    assert summary.json()["answers"] == 2 and summary.json()["participants"] == 1


def test_cli_export_and_analyze(fresh, tmp_path, capsys):
    study, token, client = fresh
    for _ in range(2):
        headers = join(client, study)
        for im in study.images:  # real images rated 1 for their emotion, generated 2
            value = 1 if im.source == "real" else 2
            client.put("/api/answers", headers=headers, json={
                "image_id": im.id, "rt_ms": 4000, "ratings": {
                    e: value if e == im.emotion else 5 for e in EMOTIONS}})
        client.post("/api/complete", headers=headers)
    out_csv = tmp_path / "answers.csv"
    assert main(["study", "export", str(study.folder), "--out", str(out_csv)]) == 0
    http = client.get("/api/admin/export.csv", headers={"Authorization": f"Bearer {token}"}).text
    assert out_csv.read_text() == http and len(http.splitlines()) == 1 + 2 * 18 * 6
    assert main(["study", "analyze", str(study.folder), "--out", str(tmp_path / "an")]) == 0
    out = capsys.readouterr().out
    assert "2 participants, 216 answers" in out and "left out: nobody" in out
    stats = json.loads((tmp_path / "an" / "stats.json").read_text())
    rec = stats["emotions"]["sad"]["recognition"]
    assert (rec["real"]["n"], rec["real"]["mean"], rec["real"]["sd"]) == (4, 1.0, 0.0)
    assert (rec["generated"]["n"], rec["generated"]["mean"]) == (2, 2.0)
    # per participant: real mean 1, generated mean 2, so both paired differences are +1
    want = wilcoxon([1.0, 1.0])
    test = rec["test"]
    assert (test["n"], test["mean_diff"], test["r"]) == (2, 1.0, 1.0)
    assert test["p"] == pytest.approx(want.pvalue, abs=1e-6) and test["p_holm"] == 1.0
    assert stats["emotions"]["sad"]["ratings"]["happy"]["real"]["counts"] == [0, 0, 0, 0, 4]
    figure = Image.open(tmp_path / "an" / "fig4.png").convert("RGB")
    colours = np.asarray(figure).reshape(-1, 3)
    assert (np.abs(colours - [31, 119, 180]).sum(1) < 30).any()  # blue real
    assert (np.abs(colours - [255, 127, 14]).sum(1) < 30).any()  # orange generated


def test_export_before_serving_is_one_line(built, capsys):
    study, _ = built
    assert main(["study", "export", str(study.folder)]) == 2
    assert "no answers yet" in capsys.readouterr().err


def test_analysis_without_real_images_has_no_test():
    rows = [{"participant": 1, "image_id": "0123456789ab", "source": "generated",
             "image_emotion": "sad",
             "rated_emotion": "sad", "value": 2, "participant_completed": 1}]
    rec = analyze(rows, missing_real=["sad"], n_boot=100)["emotions"]["sad"]["recognition"]
    assert rec["real"]["n"] == 0 and rec["test"]["p"] is None and rec["test"]["n"] == 0
    assert "fewer than 2 participants" in rec["test"]["reason"]


def test_fifty_participants_at_once_store_every_answer_once(tmp_path, faces_root, checkpoint):
    plan = StudyPlan(real_per_emotion=0, generated_per_emotion=1, size=32)  # 6 images
    study, _ = create_study(tmp_path / "study", faces_root, "faces", str(checkpoint), plan)
    app = create_study_app(study, AnswerStore(study.folder / DB_FILE), joins_per_minute=0)
    errors: list[str] = []
    tokens: dict[int, str] = {}
    barrier = threading.Barrier(50)

    def participant(k: int) -> None:
        try:
            with httpx.Client(base_url=url, timeout=60) as http:
                token = http.post("/api/participants", json={
                    "consent": True, "entry_key": study.settings.entry_key}).json()["token"]
                tokens[k] = token
                headers = {TOKEN_HEADER: token}
                order = http.get("/api/session", headers=headers).json()["order"]
                barrier.wait()
                for i, image_id in enumerate(order):
                    ratings = {e: 1 + (k + i + j) % 5 for j, e in enumerate(EMOTIONS)}
                    r = http.put("/api/answers", headers=headers,
                                 json={"image_id": image_id, "ratings": ratings})
                    if r.status_code != 200:
                        errors.append(r.text)
                if http.post("/api/complete", headers=headers).status_code != 200:
                    errors.append(f"participant {k} could not complete")
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(repr(err))

    with live_server(app) as url:
        threads = [threading.Thread(target=participant, args=(k,)) for k in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert errors == []
    with sqlite3.connect(study.folder / DB_FILE) as db:
        (n,) = db.execute("SELECT COUNT(*) FROM answers").fetchone()
        (distinct,) = db.execute("SELECT COUNT(*) FROM (SELECT DISTINCT participant_id, "
                                 "image_id, emotion FROM answers)").fetchone()
        (done,) = db.execute("SELECT COUNT(*) FROM participants WHERE completed IS NOT NULL"
                             ).fetchone()
        (revised,) = db.execute("SELECT COUNT(*) FROM answers WHERE revisions > 0").fetchone()
        stored = {(h, image, e): v for h, image, e, v in db.execute(
            "SELECT p.token_sha256, a.image_id, a.emotion, a.value FROM answers a "
            "JOIN participants p ON p.id = a.participant_id")}
    assert n == distinct == 50 * len(study.images) * len(EMOTIONS) and done == 50 and revised == 0
    want = {}
    for k, token in tokens.items():
        for i, image_id in enumerate(study.order_for(token_hash(token))):
            for j, e in enumerate(EMOTIONS):
                want[(token_hash(token), image_id, e)] = 1 + (k + i + j) % 5
    assert stored == want  # every answer, with its value, exactly once


def test_study_serve_command(built, tmp_path, monkeypatch, capsys):
    import uvicorn

    study = load_study(shutil.copytree(built[0].folder, tmp_path / "study"))
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    assert main(["study", "serve", str(study.folder), "--port", "8124"]) == 0
    assert (seen["host"], seen["port"], seen["access_log"]) == ("127.0.0.1", 8124, False)
    assert "18 images, 0 participants" in capsys.readouterr().out
    assert (study.folder / DB_FILE).is_file()
    about = TestClient(seen["app"]).get("/api/study").json()
    assert about["images"] == 18 and about["likert"]["1"] == "strongly agree"
    assert "real" not in json.dumps(about) and "generated" not in json.dumps(about)
