"""The explorer's JSON API on a tiny random generator: exact pixels, labels, limits, errors."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from serve_fixtures import tiny_checkpoint

from contemo.emotions import EMOTIONS, VA_ANCHORS, one_hot
from contemo.figures import to_uint8
from contemo.generation.pipeline import EmotionPipeline
from contemo.labels.paths import mix
from contemo.labels.va import va_to_label
from contemo.serve.faces import png_filename
from contemo.serve.launch import build
from contemo.serve.schemas import MAX_BATCH_IMAGES, MAX_BATCH_ITEMS, MAX_BATCH_SEEDS


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny")


@pytest.fixture(scope="module")
def client(checkpoint):
    return TestClient(build(str(checkpoint)), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def pipeline(checkpoint):
    return EmotionPipeline.from_pretrained(checkpoint)


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_health_info_and_docs(client, checkpoint):
    assert client.get("/healthz").json() == {"status": "ok"}
    info = client.get("/api/info").json()
    assert info["emotions"] == list(EMOTIONS)
    assert info["resolution"] == 32 and info["model"]["z_dim"] == 16
    assert info["checkpoint"] == checkpoint.name  # the folder name, no server path
    assert info["anchors"] == {e: list(VA_ANCHORS[e]) for e in EMOTIONS}
    assert ["happy", "angry"] in info["sectors"]
    assert info["limits"]["max_batch_images"] == MAX_BATCH_IMAGES
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"FaceRequest", "BatchRequest", "Face", "Info"} <= set(schemas)
    assert schemas["VAPoint"]["properties"]["valence"]["description"]
    assert schemas["FaceRequest"]["examples"]
    docs = client.get("/docs").text
    assert "swagger" in docs.lower() and "cdn" not in docs.lower()  # bundled, works offline
    assert client.get("/").status_code == 200 and "pad" in client.get("/").text


def test_png_is_exactly_the_pipelines_face(client, pipeline):
    r = client.post("/api/generate", json={"seed": 7, "label": [0.2, 0, 0, 0, 0, 0.8]})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    want = to_uint8(pipeline.generate(mix("neutral", "happy", 0.8)[None], seeds=[7]))[0]
    assert np.array_equal(pixels(r.content), want)
    assert r.headers["x-contemo-filename"] == "contemo_seed7_v+0.65_a+0.41_neutral0.20-happy0.80.png"
    assert float(r.headers["x-contemo-render-ms"]) >= 0
    assert r.headers["server-timing"].startswith("render;dur=")


def test_blend_va_and_label_agree(client):
    blend = client.post("/api/generate", json={
        "seed": 3, "blend": {"a": "neutral", "b": "sad", "weight": 0.6}, "format": "json"}).json()
    label = client.post("/api/generate", json={
        "seed": 3, "label": [float(x) for x in mix("neutral", "sad", 0.6)], "format": "json"}).json()
    assert blend["label"] == pytest.approx(list(mix("neutral", "sad", 0.6)), abs=1e-6)
    assert blend["image_base64"] == label["image_base64"]
    target = va_to_label(-0.3, 0.3)
    va = client.post("/api/generate", json={
        "seed": 3, "va": {"valence": -0.3, "arousal": 0.3}, "format": "json"}).json()
    assert va["label"] == pytest.approx(list(target.label), abs=1e-4)
    assert (va["valence"], va["arousal"]) == pytest.approx((-0.3, 0.3), abs=1e-3)
    assert va["clipped"] is False and va["neighbours"] == list(target.neighbours)
    calm = client.post("/api/generate", json={
        "seed": 3, "va": {"valence": 0.6, "arousal": -0.6}, "format": "json"}).json()
    assert calm["clipped"] is True  # the calm quadrant: no training emotion reaches it


def test_get_png_equals_post_and_resizes(client):
    post = client.post("/api/generate", json={"seed": 1, "va": {"valence": 0.4, "arousal": 0.2}})
    get = client.get("/api/face.png", params={"seed": 1, "valence": 0.4, "arousal": 0.2})
    assert get.content == post.content
    big = client.get("/api/face.png", params={"seed": 1, "label": "0,0,0,0,1,0", "size": 128})
    assert Image.open(io.BytesIO(big.content)).size == (128, 128)
    assert "angry1.00" in big.headers["x-contemo-filename"]


def test_cache_returns_identical_bytes(client):
    params = {"seed": 11, "valence": -0.5, "arousal": 0.5}
    first, second = client.get("/api/face.png", params=params), client.get("/api/face.png",
                                                                             params=params)
    assert first.content == second.content
    assert second.headers["x-contemo-cached"] == "1"


def test_batch_keeps_identity_and_order(client, pipeline):
    items = [{"label": [float(x) for x in one_hot(e)]} for e in ("neutral", "happy")]
    r = client.post("/api/batch", json={"items": items, "seeds": [0, 5]})
    faces = r.json()["faces"]
    assert [(f["seed"], f["label_named"]) for f in faces] == [
        (0, {"neutral": 1.0}), (5, {"neutral": 1.0}), (0, {"happy": 1.0}), (5, {"happy": 1.0})]
    want = to_uint8(pipeline.generate(np.stack([one_hot("happy")] * 2), seeds=[0, 5]))
    got = [pixels(base64.b64decode(f["image_base64"])) for f in faces[2:]]
    assert np.array_equal(np.stack(got), want)


@pytest.mark.parametrize("body, message", [
    ({"items": [{"va": {"valence": 0, "arousal": 0}}] * (MAX_BATCH_ITEMS + 1)}, "items"),
    ({"items": [{"va": {"valence": 0, "arousal": 0}}], "seeds": list(range(MAX_BATCH_SEEDS + 1))},
     "seeds"),
    ({"items": [{"va": {"valence": 0, "arousal": 0}}] * 9, "seeds": list(range(8))},
     f"at most {MAX_BATCH_IMAGES}"),
    ({"items": [{"va": {"valence": 0, "arousal": 0}}], "seeds": [-1]}, "seed"),
])
def test_batch_limits(client, body, message):
    r = client.post("/api/batch", json=body)
    assert r.status_code == 422 and message in r.json()["error"]


BAD = [
    ("post", "/api/generate", {"json": {"seed": 1}}, 422, "exactly one of label, blend or va"),
    ("post", "/api/generate", {"json": {"seed": 1, "label": [1, 0, 0, 0, 0, 0.5]}}, 400,
     "sum to 1"),
    ("post", "/api/generate", {"json": {"label": [1, 0, 0]}}, 422, "label"),
    ("post", "/api/generate", {"json": {"blend": {"a": "joyful", "b": "sad", "weight": 0.5}}},
     400, "unknown emotion 'joyful'"),
    ("post", "/api/generate", {"json": {"blend": {"a": "sad", "b": "happy", "weight": 2}}}, 422,
     "blend.weight"),
    ("post", "/api/generate", {"json": {"va": {"valence": 1.5, "arousal": 0}}}, 422,
     "va.valence"),
    ("post", "/api/generate", {"json": {"va": {"valence": 0, "arousal": 0}, "seed": 2**40}}, 422,
     "seed"),
    ("post", "/api/generate", {"json": {"va": {"valence": 0, "arousal": 0}, "size": 4096}}, 422,
     "size"),
    ("post", "/api/generate", {"json": {"va": {"valence": 0, "arousal": 0}, "colour": 1}}, 422,
     "colour"),
    ("post", "/api/generate", {"json": {"va": {"valence": 0, "arousal": 0}, "format": "gif"}},
     422, "format"),
    ("post", "/api/generate", {"content": b"{not json", "headers": {
        "content-type": "application/json"}}, 422, "not valid JSON"),
    ("post", "/api/generate", {"content": b"[1, 2]", "headers": {
        "content-type": "application/json"}}, 422, ""),
    ("post", "/api/generate", {"content": b" " * 70000, "headers": {
        "content-type": "application/json"}}, 413, "larger than"),
    ("get", "/api/face.png", {"params": {"label": "nan,0,0,0,0,1"}}, 400, "NaN"),
    ("get", "/api/face.png", {"params": {"label": "a,b"}}, 400, "6 comma-separated"),
    ("get", "/api/face.png", {"params": {"seed": "seven", "valence": 0, "arousal": 0}}, 422,
     "seed"),
    ("get", "/api/face.png", {"params": {"valence": 0.1}}, 422, "va.arousal"),
    ("get", "/api/face.png", {"params": {"a": "sad"}}, 422, "blend"),
    ("get", "/static/..%2F..%2Fapp.py", {}, 404, ""),
    ("get", "/static/%2e%2e/app.py", {}, 404, ""),
    ("get", "/nothing-here", {}, 404, "Not Found"),
    ("delete", "/api/generate", {}, 405, ""),
]


@pytest.mark.parametrize("method, path, kwargs, status, message", BAD,
                         ids=[f"{m} {p} {i}" for i, (m, p, *_rest) in enumerate(BAD)])
def test_bad_requests_get_a_clear_4xx_json(client, method, path, kwargs, status, message):
    r = client.request(method.upper(), path, **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body["error"], str) and "\n" not in body["error"]
    assert message in body["error"]


def test_streamed_body_over_the_limit_is_413(client):
    def chunks():
        for _ in range(20):
            yield b" " * 8192  # no Content-Length: the limit is counted as the body arrives

    r = client.post("/api/generate", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["error"]


def test_a_bug_is_a_bare_json_500(checkpoint):
    app = build(str(checkpoint))

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    r = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert r.status_code == 500 and r.json() == {"error": "internal server error"}


def test_filename_names_only_present_emotions():
    label = np.array([0.2, 0, 0, 0, 0, 0.8], dtype=np.float32)
    assert png_filename(7, label) == "contemo_seed7_v+0.65_a+0.41_neutral0.20-happy0.80.png"
    assert png_filename(0, one_hot("sad")) == "contemo_seed0_v-0.63_a-0.27_sad1.00.png"


def test_missing_checkpoint_is_one_line(tmp_path):
    from contemo.errors import ContemoError

    with pytest.raises(ContemoError, match="checkpoint folder not found"):
        build(str(tmp_path / "nope"))


def test_pages_load_nothing_from_the_internet():
    from contemo.serve.http import STATIC

    files = sorted(STATIC.iterdir())
    assert {"index.html", "explorer.js", "style.css", "study.html", "study.js"} <= {
        f.name for f in files}
    for f in files:
        text = f.read_text().replace("http://www.w3.org/2000/svg", "")
        assert "http://" not in text and "https://" not in text and "@import" not in text, f


def test_every_page_loads_the_one_error_line_before_its_own_script():
    import re

    from contemo.serve.http import STATIC

    pages = {"index.html": "explorer-share.js", "study.html": "study.js",
             "admin.html": "admin.js"}
    for page, script in pages.items():
        scripts = re.findall(r'<script src="/static/([^"]+)"', (STATIC / page).read_text())
        assert scripts[0] == "error-line.js" and script in scripts[1:], (page, scripts)
    defined = [f.name for f in STATIC.glob("*.js") if "function showError" in f.read_text()]
    assert defined == ["error-line.js"]


def test_cli_lists_serve_and_study_commands():
    from contemo.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["serve", "--port", "8123"])
    assert args.port == 8123 and args.host == "127.0.0.1" and args.checkpoint is None
    for words in (["study", "create", "--data", "d", "--out", "o"], ["study", "serve", "s"],
                  ["study", "export", "s"], ["study", "analyze", "s"]):
        run = parser.parse_args(words)._run
        assert run.__module__ == f"contemo.commands.study_{words[1]}" and run.__name__ == "run"


def test_serve_command_runs_uvicorn_on_loopback(checkpoint, monkeypatch, capsys):
    import uvicorn

    from contemo.cli import main

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    assert main(["serve", "--checkpoint", str(checkpoint), "--port", "8123"]) == 0
    assert (seen["host"], seen["port"]) == ("127.0.0.1", 8123)
    assert TestClient(seen["app"]).get("/api/info").json()["checkpoint"] == checkpoint.name
    assert "http://127.0.0.1:8123/" in capsys.readouterr().out
    assert main(["serve", "--checkpoint", str(checkpoint), "--port", "0"]) == 2
    assert "--port 0" in capsys.readouterr().err


def test_shipped_checkpoint_serves_out_of_the_box():
    client = TestClient(build(None))
    info = client.get("/api/info").json()
    assert info["resolution"] == 64 and info["emotions"] == list(EMOTIONS)
    r = client.get("/api/face.png", params={"seed": 7, "valence": 0.5, "arousal": 0.3})
    assert r.status_code == 200 and pixels(r.content).shape == (64, 64, 3)
    assert pixels(r.content).std() > 10  # a trained face, not a flat image
