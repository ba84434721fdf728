"""The explorer's additions of issue 12 through the API: path GIFs, the model card, trained emotions."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from serve_fixtures import tiny_checkpoint

from contemo.errors import ContemoError
from contemo.models.pretrained import trained_emotions
from contemo.serve.launch import build


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny")
    return TestClient(build(str(folder)), raise_server_exceptions=False)


def test_path_gif_has_one_frame_per_point(client):
    points = [{"valence": 0.0, "arousal": 0.0}, {"valence": 0.3, "arousal": 0.2},
              {"valence": -0.5, "arousal": 0.5}]
    r = client.post("/api/path.gif", json={"seed": 3, "points": points, "size": 64, "fps": 10})
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    gif = Image.open(io.BytesIO(r.content))
    assert (gif.n_frames, gif.size, gif.info["duration"]) == (3, (64, 64), 100)
    # frame 0 is the face the explorer shows for that point and seed
    png = client.get("/api/face.png", params={"seed": 3, "valence": 0, "arousal": 0, "size": 64})
    first = Image.open(io.BytesIO(png.content)).convert("RGB")
    gif.seek(0)
    grey = [np.asarray(im.convert("L"), dtype=np.float64) for im in (first, gif)]
    assert np.abs(grey[0] - grey[1]).mean() < 6  # the same picture up to the GIF palette


@pytest.mark.parametrize("body, field", [
    ({"points": [{"valence": 0, "arousal": 0}]}, "points"),
    ({"points": [{"valence": 0, "arousal": 0}] * 65}, "points"),
    ({"points": [{"valence": 2, "arousal": 0}] * 2}, "points.0.valence"),
    ({"points": [{"valence": 0, "arousal": 0}] * 2, "size": 1024}, "size"),
    ({"points": [{"valence": 0, "arousal": 0}] * 2, "fps": 0}, "fps"),
])
def test_path_gif_refuses_bad_requests(client, body, field):
    r = client.post("/api/path.gif", json=body)
    assert r.status_code == 422 and r.json()["error"].startswith(field)


def test_model_card_is_served_only_when_present(client, tmp_path):
    assert client.get("/api/info").json()["model_card"] is False
    assert client.get("/model-card").status_code == 404
    folder = tiny_checkpoint(tmp_path / "carded")
    (folder / "MODEL_CARD.md").write_text("# card\n")
    carded = TestClient(build(str(folder)))
    assert carded.get("/api/info").json()["model_card"] is True
    assert carded.get("/model-card").text == "# card\n"


def test_trained_emotions_limit_what_can_be_asked(tmp_path):
    folder = tiny_checkpoint(tmp_path / "three")
    config = json.loads((folder / "config.json").read_text())
    config["trained_emotions"] = ["sad", "angry", "happy"]  # no neutral: no pad
    (folder / "config.json").write_text(json.dumps(config))
    client = TestClient(build(str(folder)), raise_server_exceptions=False)
    info = client.get("/api/info").json()
    assert info["trained_emotions"] == ["sad", "angry", "happy"]
    assert client.get("/api/face.png", params={"label": "0,0.5,0,0,0.5,0"}).status_code == 200
    r = client.get("/api/face.png", params={"valence": 0.2, "arousal": 0.2})
    assert r.status_code == 400 and "not trained on neutral" in r.json()["error"]
    r = client.post("/api/generate", json={"blend": {"a": "sad", "b": "fear", "weight": 0.5}})
    assert r.status_code == 400 and "not trained on fear" in r.json()["error"]


@pytest.mark.parametrize("value", [[], ["happy", "sad"], ["joy"], "happy", [1]])
def test_bad_trained_emotions_are_one_line(value):
    with pytest.raises(ContemoError, match="config.json: field 'trained_emotions'"):
        trained_emotions({"trained_emotions": value})
