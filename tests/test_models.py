"""The cGAN's shapes, its release format and the inference pipeline (tiny models, CPU)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from contemo.emotions import one_hot
from contemo.errors import ContemoError
from contemo.figures import to_uint8
from contemo.generation.pipeline import EmotionPipeline, noise_for_seeds, parse_seeds
from contemo.labels.paths import neutral_to
from contemo.models import (
    MODEL_PRESETS,
    Discriminator,
    Generator,
    ModelConfig,
    from_pretrained,
    save_pretrained,
)


@pytest.mark.parametrize("resolution", [32, 64, 128, 256])
def test_shapes_at_every_resolution(resolution):
    cfg = ModelConfig(resolution=resolution, z_dim=8, label_dim=4, g_width=4, d_width=4)
    g, d = Generator(cfg), Discriminator(cfg)
    x = g(torch.randn(2, 8), torch.tensor(np.stack([one_hot("sad"), neutral_to("fear")[3]])))
    assert x.shape == (2, 3, resolution, resolution)
    assert x.min() >= -1 and x.max() <= 1
    assert d(x, torch.eye(6)[:2]).shape == (2,)


def test_bad_resolution_is_one_line():
    with pytest.raises(ContemoError, match="resolution 48"):
        ModelConfig(resolution=48)


def test_label_changes_the_image_and_the_logit():
    torch.manual_seed(0)
    cfg = MODEL_PRESETS["tiny"]
    g, d = Generator(cfg).eval(), Discriminator(cfg).eval()
    z = torch.randn(1, cfg.z_dim)
    a, b = g(z, torch.eye(6)[:1]), g(z, torch.eye(6)[5:6])
    assert (a - b).abs().max() > 1e-5  # untrained, eval-mode: small but real
    assert d(a, torch.eye(6)[:1]) != d(a, torch.eye(6)[5:6])


def test_round_trip_gives_identical_images(tmp_path):
    torch.manual_seed(1)
    g = Generator(MODEL_PRESETS["tiny"]).eval()
    save_pretrained(g, tmp_path / "ck", training={"preset": "tiny"})
    meta = json.loads((tmp_path / "ck" / "config.json").read_text())
    assert meta["emotions"][0] == "neutral" and meta["training"] == {"preset": "tiny"}
    pipe = EmotionPipeline.from_pretrained(tmp_path / "ck")
    labels = neutral_to("happy", 11)
    with torch.no_grad():
        direct = g(noise_for_seeds([4] * 11, 16), torch.tensor(labels))
    assert torch.equal(pipe.generate(labels, seeds=[4] * 11), direct)


def test_an_undefined_metric_is_saved_as_null_and_the_release_loads(tmp_path):
    """A correlation of constant predictions is NaN; written as NaN, the model never loads."""
    g = Generator(MODEL_PRESETS["tiny"]).eval()
    metrics = {"arousal": {"pcc": float("nan"), "ccc": 0.0}, "steps": [1.0, float("inf")]}
    save_pretrained(g, tmp_path / "ck", training={"metrics": metrics})
    text = (tmp_path / "ck" / "config.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    meta = json.loads(text)["training"]["metrics"]
    assert meta == {"arousal": {"pcc": None, "ccc": 0.0}, "steps": [1.0, None]}
    EmotionPipeline.from_pretrained(tmp_path / "ck")


def test_seed_noise_is_independent_of_batch():
    assert torch.equal(noise_for_seeds([7], 10)[0], noise_for_seeds([1, 2, 7], 10)[2])
    assert not torch.equal(noise_for_seeds([1], 10), noise_for_seeds([2], 10))


def test_generate_validates_labels_and_broadcasts(tmp_path):
    save_pretrained(Generator(MODEL_PRESETS["tiny"]), tmp_path)
    pipe = EmotionPipeline.from_pretrained(tmp_path)
    assert pipe.generate([one_hot("angry")], seeds=[0, 1, 2]).shape == (3, 3, 32, 32)
    with pytest.raises(ContemoError, match="sum to 1"):
        pipe.generate([[0.5, 0.6, 0, 0, 0, 0]], seeds=[0])
    assert to_uint8(pipe.generate([one_hot("sad")], seeds=[0])).dtype == np.uint8


def test_parse_seeds():
    assert parse_seeds("0-3,9") == [0, 1, 2, 3, 9]
    for bad in ("x", "5-2", ""):
        with pytest.raises(ContemoError):
            parse_seeds(bad)


def test_bad_checkpoints_are_one_line(tmp_path):
    with pytest.raises(ContemoError, match="not found"):
        from_pretrained(tmp_path / "nope")
    save_pretrained(Generator(MODEL_PRESETS["tiny"]), tmp_path / "a")
    (tmp_path / "a" / "generator.safetensors").write_bytes(b"garbage")
    with pytest.raises(ContemoError, match="safetensors"):
        from_pretrained(tmp_path / "a")
    save_pretrained(Generator(MODEL_PRESETS["tiny"]), tmp_path / "b")
    cfg = json.loads((tmp_path / "b" / "config.json").read_text())
    cfg["model"]["g_width"] = 16
    (tmp_path / "b" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ContemoError, match="do not fit"):
        from_pretrained(tmp_path / "b")
    cfg["emotions"] = cfg["emotions"][::-1]
    (tmp_path / "b" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ContemoError, match="reorder"):
        from_pretrained(tmp_path / "b")
    (tmp_path / "b" / "config.json").write_text("{not json")
    with pytest.raises(ContemoError, match="JSON"):
        from_pretrained(tmp_path / "b")


def test_bf16_pipeline_is_close_to_fp32(tmp_path):
    torch.manual_seed(2)
    save_pretrained(Generator(MODEL_PRESETS["tiny"]), tmp_path)
    labels = neutral_to("sad", 5)
    exact = EmotionPipeline.from_pretrained(tmp_path).generate(labels, seeds=[1] * 5)
    fast = EmotionPipeline.from_pretrained(tmp_path, precision="bf16", channels_last=True)
    out = fast.generate(labels, seeds=[1] * 5)
    assert out.dtype == torch.float32 and (out - exact).abs().max() < 0.1
    with pytest.raises(ContemoError, match="precision"):
        EmotionPipeline.from_pretrained(tmp_path, precision="int3")


def test_minibatch_std_is_taken_within_each_label():
    from contemo.models.dcgan import minibatch_std

    # Two emotions; every "sad" image is the same, the "happy" ones differ: only happy's
    # images see a spread, however far apart the two emotions are.
    sad = torch.full((4, 2, 1, 1), 5.0)
    happy = torch.randn(4, 2, 1, 1, generator=torch.Generator().manual_seed(0))
    h = torch.cat([sad, happy])
    v = torch.cat([torch.eye(6)[[1] * 4], torch.eye(6)[[5] * 4]])
    spread = minibatch_std(h, v)[:, -1, 0, 0]
    assert torch.allclose(spread[:4], torch.full((4,), 1e-4), atol=1e-5)
    expected = happy.flatten(1).var(dim=0, unbiased=False).add(1e-8).sqrt().mean()
    assert torch.allclose(spread[4:], expected.expand(4))
    # the label-blind std would have seen the sad/happy gap as "variety" for all 8
    assert minibatch_std(h, torch.eye(6)[[1] * 8])[:4, -1].min() > 1.0
