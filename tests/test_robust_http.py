"""Robustness, HTTP: hostile and broken requests to the explorer get a short 4xx, never a 5xx.

The client re-raises any exception inside the app (raise_server_exceptions=True), so a
case that reached a traceback fails here even though the server would answer 500.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from fastapi.testclient import TestClient
from serve_fixtures import tiny_checkpoint

from contemo.serve.gate import BULK, INTERACTIVE, Admission, RenderGate
from contemo.serve.http import MAX_ERROR_CHARS
from contemo.serve.launch import build

BIG = "x" * 60_000  # the issue's 60 KB input that error replies used to echo
LABEL = [0.2, 0, 0, 0, 0, 0.8]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny")
    meta = json.loads((folder / "config.json").read_text())
    meta["training"] = {"data": {"path": "/home/alice/secret/FACES", "images": 24},
                        "run": "C:\\Users\\bob\\runs\\00003"}
    (folder / "config.json").write_text(json.dumps(meta))
    return TestClient(build(str(folder)), raise_server_exceptions=True)


# (why, body) posted to /api/generate
GENERATE = [
    ("seed true", {"seed": True, "label": LABEL}),
    ("seed as text", {"seed": "7", "label": LABEL}),
    ("seed fractional", {"seed": 1.5, "label": LABEL}),
    ("seed negative", {"seed": -1, "label": LABEL}),
    ("seed 2^31", {"seed": 2**31, "label": LABEL}),
    ("seed 10^30", {"seed": 10**30, "label": LABEL}),
    ("labels as strings", {"label": ["0.2", "0", "0", "0", "0", "0.8"]}),
    ("label of 5", {"label": [0.2, 0, 0, 0, 0.8]}),
    ("label sums to 1.5", {"label": [0.7, 0, 0, 0, 0, 0.8]}),
    ("label negative", {"label": [-0.2, 0, 0, 0, 0.2, 1.0]}),
    ("label bool", {"label": [True, 0, 0, 0, 0, 0]}),
    ("blend a == b", {"blend": {"a": "happy", "b": "happy", "weight": 0.5}}),
    ("blend a == b by spelling", {"blend": {"a": "Happy", "b": "happy ", "weight": 0.5}}),
    ("blend 60 KB name", {"blend": {"a": BIG, "b": "happy", "weight": 0.5}}),
    ("blend unknown name", {"blend": {"a": "joyful", "b": "happy", "weight": 0.5}}),
    ("blend weight 1.5", {"blend": {"a": "sad", "b": "happy", "weight": 1.5}}),
    ("blend weight text", {"blend": {"a": "sad", "b": "happy", "weight": "0.5"}}),
    ("valence 2", {"va": {"valence": 2, "arousal": 0}}),
    ("valence as text", {"va": {"valence": "0.1", "arousal": 0}}),
    ("two specs", {"label": LABEL, "va": {"valence": 0, "arousal": 0}}),
    ("no spec", {"seed": 3}),
    ("unknown field", {"label": LABEL, "colour": "red"}),
    ("60 KB field name", {"label": LABEL, BIG: 1}),
    ("size too big", {"label": LABEL, "size": 10_000}),
    ("size too small", {"label": LABEL, "size": 8}),
    ("format gif", {"label": LABEL, "format": "gif"}),
    ("body is a list", [LABEL]),
]

# (why, raw body) posted to /api/generate
RAW = [
    ("not JSON", b"{seed: 7"),
    ("deep nesting", b"[" * 30_000 + b"]" * 30_000),
    ("5,000-digit seed", b'{"seed": ' + b"9" * 5000 + b', "label": [1,0,0,0,0,0]}'),
    ("NaN label", b'{"label": [NaN, 0, 0, 0, 0, 1]}'),
    ("Infinity valence", b'{"va": {"valence": Infinity, "arousal": 0}}'),
    ("not UTF-8", b'{"label": "\xff\xfe"}'),
    ("body over 64 KiB", b'{"label": [' + b"0," * 40_000 + b"1]}"),
]

# (why, body) posted to /api/batch
BATCH = [
    ("the issue's 64 x 512 px", {"items": [{"label": LABEL}] * 64, "seeds": [0], "size": 512}),
    ("65 items", {"items": [{"label": LABEL}] * 65, "seeds": [0]}),
    ("17 seeds", {"items": [{"label": LABEL}], "seeds": list(range(17))}),
    ("5 x 16 images", {"items": [{"label": LABEL}] * 5, "seeds": list(range(16))}),
    ("seed true in a batch", {"items": [{"label": LABEL}], "seeds": [True]}),
    ("no items", {"items": [], "seeds": [0]}),
    ("bad spec inside", {"items": [{"blend": {"a": "sad", "b": "sad", "weight": 0.1}}]}),
]

# (why, query string) for GET /api/face.png
QUERIES = [
    ("60 KB label", "label=" + "9," * 20_000),
    ("seed not a number", "seed=abc&valence=0&arousal=0"),
    ("blend a == b", "a=happy&b=happy&weight=0.5"),
    ("valence nan", "valence=nan&arousal=0"),
    ("size 100000", "valence=0&arousal=0&size=100000"),
    ("half a blend", "a=happy"),
    ("60 KB emotion name", f"a={BIG[:6000]}&b=happy&weight=0.5"),
]


def assert_short_4xx(response, sent: bytes | str = b"") -> None:
    """Assert a 4xx JSON error of one short line that does not echo the input."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    error = response.json()["error"]
    assert isinstance(error, str) and "\n" not in error and 0 < len(error) <= MAX_ERROR_CHARS
    assert BIG[:300] not in response.text


@pytest.mark.parametrize("why, body", GENERATE, ids=[c[0] for c in GENERATE])
def test_bad_generate_request(client, why, body):
    assert_short_4xx(client.post("/api/generate", json=body))


@pytest.mark.parametrize("why, raw", RAW, ids=[c[0] for c in RAW])
def test_bad_raw_body(client, why, raw):
    response = client.post("/api/generate", content=raw,
                           headers={"content-type": "application/json"})
    assert_short_4xx(response)


@pytest.mark.parametrize("why, body", BATCH, ids=[c[0] for c in BATCH])
def test_bad_batch_request(client, why, body):
    assert_short_4xx(client.post("/api/batch", json=body))


@pytest.mark.parametrize("why, query", QUERIES, ids=[c[0] for c in QUERIES])
def test_bad_face_query(client, why, query):
    assert_short_4xx(client.get(f"/api/face.png?{query}"))


def test_specific_answers(client):
    r = client.post("/api/generate", json={"blend": {"a": "happy", "b": "happy", "weight": 0.5}})
    assert r.status_code == 422 and "two different emotions" in r.json()["error"]
    r = client.post("/api/batch", json=BATCH[0][1])
    assert r.status_code == 422 and "megapixels" in r.json()["error"]
    r = client.post("/api/generate", json={"seed": True, "label": LABEL})
    assert r.status_code == 422 and r.json()["error"].startswith("seed:")
    r = client.post("/api/generate", content=RAW[-1][1],
                    headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_info_shows_no_server_paths(client):
    info = client.get("/api/info").json()
    text = json.dumps(info)
    assert info["checkpoint"] == "tiny"
    assert info["training"]["data"] == {"path": "FACES", "images": 24}
    assert info["training"]["run"] == "00003"
    assert "/tmp" not in text and "/home" not in text and "Users" not in text
    assert info["limits"]["max_batch_pixels"] == 64 * 256 * 256
    assert info["limits"]["max_batches_in_flight"] == 2


def test_good_requests_still_work(client):
    assert client.post("/api/generate", json={"seed": 1, "label": [0, 0, 0, 0, 0, 1]}
                       ).status_code == 200
    r = client.post("/api/batch", json={"items": [{"label": LABEL}] * 16, "seeds": [0, 1, 2, 3],
                                        "size": 256})
    assert r.status_code == 200 and len(r.json()["faces"]) == 64


def test_gate_serves_waiting_faces_before_the_next_batch_chunk():
    gate, order = RenderGate(), []
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with gate.turn(BULK):
            holding.set()
            release.wait(5)

    def take(kind: str, name: str) -> None:
        with gate.turn(kind):
            order.append(name)

    first = threading.Thread(target=hold)
    first.start()
    holding.wait(5)
    bulk = threading.Thread(target=take, args=(BULK, "bulk"))
    bulk.start()
    time.sleep(0.1)  # the batch's next chunk is waiting first...
    face = threading.Thread(target=take, args=(INTERACTIVE, "face"))
    face.start()
    time.sleep(0.1)
    release.set()
    for t in (first, bulk, face):
        t.join(5)
    assert order == ["face", "bulk"]  # ...but the face that came later goes first


def test_admission_answers_429_at_once_when_full():
    entered, leave = asyncio.Event(), asyncio.Event()

    async def slow_app(scope, receive, send):
        entered.set()
        await leave.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    gate = Admission(slow_app, {"/api/batch": (BULK, 1)}, retry_after_s=3)

    async def call(path: str) -> list[dict]:
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        await gate({"type": "http", "path": path}, receive, send)
        return sent

    async def scenario():
        first = asyncio.create_task(call("/api/batch"))
        await entered.wait()
        refused = await call("/api/batch")
        other = asyncio.create_task(call("/healthz"))  # other paths are not counted
        leave.set()
        return await first, refused, await other

    first, refused, other = asyncio.run(scenario())
    assert first[0]["status"] == 200 and other[0]["status"] == 200
    assert refused[0]["status"] == 429 and (b"retry-after", b"3") in refused[0]["headers"]
    assert b"server busy" in refused[1]["body"] and gate.in_flight[BULK] == 0
