"""The small-data recipe: DiffAugment/ADA, hinge + spectral norm, R1, balance, untrained emotions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from benchmark_fixtures import import_benchmark
from data_fixtures import make_faces, make_london

from contemo.cli import main
from contemo.errors import ContemoError
from contemo.generation.pipeline import EmotionPipeline
from contemo.labels.paths import neutral_to
from contemo.models import Discriminator
from contemo.models.config import ModelConfig
from contemo.training.augment import AdaptiveP, augment, parse_ops
from contemo.training.batches import BatchSampler
from contemo.training.diversity import data_diversity_ratio
from contemo.training.losses import d_loss

FP32 = ["--set", "mixed_precision=no"]


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    return make_faces(tmp_path_factory.mktemp("faces"), people=2)


def train(data: Path, out: Path, *extra: str) -> int:
    return main(["train", "--preset", "tiny", "--data", str(data), "--out", str(out), *FP32,
                 *extra])


def only_run(out: Path) -> Path:
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


def test_augment_ops_change_images_and_keep_gradients():
    x = (torch.rand(8, 3, 16, 16) * 2 - 1).requires_grad_()
    for op in ("color", "translation", "cutout"):
        y = augment(x, (op,), 1.0, torch.Generator().manual_seed(0))
        assert y.shape == x.shape and not torch.equal(y, x)
        y.sum().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0
        x.grad = None
    assert torch.equal(augment(x, ("color",), 0.0), x)  # p = 0: untouched
    same = augment(x, ("cutout",), 1.0, torch.Generator().manual_seed(3))
    assert torch.equal(same, augment(x, ("cutout",), 1.0, torch.Generator().manual_seed(3)))


def test_cutout_zeroes_a_quarter_of_the_image():
    x = torch.ones(64, 3, 32, 32)
    y = augment(x, ("cutout",), 1.0, torch.Generator().manual_seed(1))
    zero_share = (y == 0).float().mean().item()
    assert 0.1 < zero_share < 0.3  # a half-side square is 1/4 of the area, less at the borders


def test_parse_ops_refuses_unknown_names():
    assert parse_ops("color, cutout") == ("color", "cutout")
    assert parse_ops("none") == () and parse_ops("") == ()
    with pytest.raises(ContemoError, match="augment 'blur'"):
        parse_ops("blur")


def test_adaptive_p_rises_when_d_is_too_sure_of_reals_and_falls_otherwise():
    ada = AdaptiveP(0.0, True)
    assert ada.update(sign_sum=100.0, count=100, images=1000) > 0  # r_t = 1.0 > 0.6
    high = ada.p
    assert ada.update(sign_sum=0.0, count=100, images=1000) < high  # r_t = 0 < 0.6
    fixed = AdaptiveP(0.5, False)
    assert fixed.update(100.0, 100, 1000) == 0.5


def test_hinge_loss_and_spectral_norm_discriminator():
    logits = torch.tensor([2.0, 0.5, -2.0])
    assert d_loss(logits, True, "hinge").item() == pytest.approx((0 + 0.5 + 3) / 3)
    assert d_loss(logits, False, "hinge").item() == pytest.approx((3 + 1.5 + 0) / 3)
    d = Discriminator(ModelConfig(resolution=32, d_width=8, d_norm="spectral"))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    w = d.features[0].weight  # normalised weight: largest singular value about 1
    for _ in range(20):
        d(torch.randn(4, 3, 32, 32), torch.eye(6)[:4])
    assert torch.linalg.matrix_norm(w.flatten(1), ord=2).item() == pytest.approx(1.0, abs=0.1)
    with pytest.raises(ContemoError, match="d_norm"):
        ModelConfig(d_norm="layer")


def test_data_diversity_ratio_is_zero_for_identical_images_and_positive_otherwise():
    labels = torch.eye(6)[torch.tensor([0, 0, 5, 5])]
    same = torch.full((4, 3, 8, 8), 100, dtype=torch.uint8)
    assert data_diversity_ratio(same, labels, 16) == 0.0
    varied = torch.randint(0, 255, (4, 3, 8, 8), dtype=torch.uint8)
    assert data_diversity_ratio(varied, labels, 16) > 0.1


def test_balanced_sampler_draws_each_class_about_equally():
    labels = torch.eye(6)[torch.tensor([0] * 90 + [5] * 10)]
    images = torch.zeros(100, 3, 4, 4, dtype=torch.uint8)
    sampler = BatchSampler(images, labels, 50, 4, seed=0, balanced=True)
    drawn = torch.cat([sampler.indices(s) for s in range(40)])
    share = (drawn >= 90).float().mean().item()
    assert 0.4 < share < 0.6
    plain = BatchSampler(images, labels, 50, 4, seed=0)
    assert (torch.cat([plain.indices(s) for s in range(40)]) >= 90).float().mean() < 0.15


def test_recipe_run_trains_logs_and_resumes_exactly(faces, tmp_path):
    recipe = ["--set", "augment=color,translation,cutout", "--set", "ada=true",
              "--set", "loss=hinge", "--set", "model.d_norm=spectral", "--set", "r1=1",
              "--set", "r1_every=2", "--set", "diversity=5", "--set", "diversity_cap=0"]
    assert train(faces, tmp_path / "a", "--steps", "4", *recipe) == 0
    run = only_run(tmp_path / "a")
    stats = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert {"r_t", "r1", "augment_p"} <= set(stats[-1])
    assert any(s["r1"] > 0 for s in stats)
    meta = json.loads((run / "generator" / "config.json").read_text())
    assert meta["training"]["diversity_cap"] > 0  # measured from the data
    # 2 + resume + 2 equals 4 straight, augmentation and ADA state included
    assert train(faces, tmp_path / "b", "--steps", "2", *recipe) == 0
    run_b = only_run(tmp_path / "b")
    assert main(["train", "--resume", str(run_b), "--steps", "4"]) == 0
    from safetensors.torch import load_file
    a = load_file(str(run / "generator" / "generator.safetensors"))
    b = load_file(str(run_b / "generator" / "generator.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_model_trained_on_two_emotions_refuses_the_others(tmp_path, capsys):
    data = make_london(tmp_path / "london", people=4)  # neutral + happy, 4 each
    assert train(data, tmp_path / "out", "--layout", "london", "--steps", "2") == 0
    out = capsys.readouterr().out
    assert "warning: sad: no images; the model will refuse it" in out
    run = only_run(tmp_path / "out")
    pipe = EmotionPipeline.from_pretrained(run)  # the run folder itself is accepted
    assert pipe.trained == ("neutral", "happy")
    assert pipe.generate(neutral_to("happy", 3), seeds=[0, 1, 2]).shape[0] == 3
    with pytest.raises(ContemoError, match="not trained on sad; it was trained on neutral, happy"):
        pipe.generate(neutral_to("sad", 3), seeds=[0, 1, 2])
    code = main(["generate", "--checkpoint", str(run), "--emotion", "fear", "--seeds", "0",
                 "--out", str(tmp_path / "g")])
    err = capsys.readouterr().err
    assert code != 0 and "trained on neutral, happy" in err and "Traceback" not in err
    meta = json.loads((run / "generator" / "config.json").read_text())
    assert meta["trained_emotions"] == ["neutral", "happy"]
    assert meta["preprocess"]["crop"]["mode"] == "none"


def test_short_names_and_missing_checkpoints():
    pipe = EmotionPipeline.from_pretrained("synth64")
    assert pipe.trained == ("neutral", "sad", "disgust", "fear", "angry", "happy")
    with pytest.raises(ContemoError, match="not found .*shipped names: .*synth64"):
        EmotionPipeline.from_pretrained("nosuchmodel")


def test_48px_resolution_names_the_size_to_train_at():
    with pytest.raises(ContemoError, match="resolution 48: .*train at 64 and smaller images are"):
        ModelConfig(resolution=48)


def test_conditional_batchnorm_gives_each_emotion_its_gain_and_a_blend_the_blend():
    from contemo.models import Generator
    from contemo.models.dcgan import ConditionalBatchNorm
    g = Generator(ModelConfig(resolution=32, z_dim=16, label_dim=8, g_width=8,
                              g_norm="conditional"))
    norms = [m for m in g.modules() if isinstance(m, ConditionalBatchNorm)]
    assert len(norms) == 3 and not any(isinstance(m, torch.nn.BatchNorm2d) and m.affine
                                       for m in g.modules())
    gains = norms[0].gain(torch.eye(6))  # DCGAN's BatchNorm init, once per emotion
    assert gains.mean().item() == pytest.approx(1.0, abs=0.01) and 0.005 < gains.std() < 0.05
    assert not torch.equal(gains[0], gains[5])
    blend = torch.tensor([[0.7, 0, 0, 0, 0, 0.3]])
    assert torch.allclose(norms[0].gain(blend)[0], 0.7 * gains[0] + 0.3 * gains[5], atol=1e-6)
    with pytest.raises(ContemoError, match="g_norm"):
        ModelConfig(g_norm="layer")


def test_conditional_generator_trains_resumes_exactly_and_loads(faces, tmp_path):
    cbn = ["--set", "model.g_norm=conditional"]
    assert train(faces, tmp_path / "a", "--steps", "4", *cbn) == 0
    run = only_run(tmp_path / "a")
    assert train(faces, tmp_path / "b", "--steps", "2", *cbn) == 0
    run_b = only_run(tmp_path / "b")
    assert main(["train", "--resume", str(run_b), "--steps", "4"]) == 0
    from safetensors.torch import load_file
    a = load_file(str(run / "generator" / "generator.safetensors"))
    b = load_file(str(run_b / "generator" / "generator.safetensors"))
    assert any(".gain." in k for k in a) and all(torch.equal(a[k], b[k]) for k in a)
    pipe = EmotionPipeline.from_pretrained(run)
    faces_out = pipe.generate(neutral_to("happy", 3), seeds=[0, 1, 2])
    assert faces_out.shape[0] == 3 and torch.isfinite(faces_out.float()).all()


def test_label_from_keeps_the_coarse_layers_label_free_so_z_alone_sets_the_layout():
    from contemo.models import Generator
    from contemo.models.dcgan import ConditionalBatchNorm
    config = ModelConfig(resolution=32, z_dim=16, label_dim=8, g_width=8,
                         g_norm="conditional", label_from=8)
    g = Generator(config).eval()
    assert g.label_embed is None and g.net[0].in_channels == 16  # z only at the input
    kinds = [type(m).__name__ for m in g.net if "Norm" in type(m).__name__]
    assert kinds == ["BatchNorm2d", "ConditionalBatchNorm", "ConditionalBatchNorm"]
    coarse: list[torch.Tensor] = []
    g.net[2].register_forward_hook(lambda _m, _i, out: coarse.append(out.clone()))
    z = torch.randn(2, 16)
    with torch.no_grad():  # the 4x4 features of one z are the same under every emotion
        neutral, happy = (g(z, torch.eye(6)[[k, k]]) for k in (0, 5))
    assert torch.equal(*coarse) and not torch.allclose(neutral, happy)
    assert isinstance(g.net[4], ConditionalBatchNorm)
    with pytest.raises(ContemoError, match="label_from 8 needs g_norm=conditional"):
        ModelConfig(label_from=8)
    with pytest.raises(ContemoError, match="label_from 6: expected 0 .* 4, 8, 16, 32"):
        ModelConfig(g_norm="conditional", label_from=6)


def test_label_until_keeps_the_fine_layers_label_free():
    """With label_until=8 at 32 px, the 16x16 block uses plain BatchNorm: the label moves
    the coarse features only, and the fine block maps equal inputs to equal outputs."""
    from contemo.models import Generator
    config = ModelConfig(resolution=32, z_dim=16, label_dim=8, g_width=8,
                         g_norm="conditional", label_until=8)
    g = Generator(config).eval()
    kinds = [type(m).__name__ for m in g.net if "Norm" in type(m).__name__]
    assert kinds == ["ConditionalBatchNorm", "ConditionalBatchNorm", "BatchNorm2d"]
    z = torch.randn(2, 16)
    with torch.no_grad():
        neutral, happy = (g(z, torch.eye(6)[[k, k]]) for k in (0, 5))
    assert not torch.allclose(neutral, happy)  # the label still reaches the face
    assert ModelConfig.from_dict({**ModelConfig().to_dict(), "label_until": 0}).label_until == 0
    with pytest.raises(ContemoError, match="label_until 16 needs g_norm=conditional"):
        ModelConfig(label_until=16)
    with pytest.raises(ContemoError, match="label_until 12: expected 0 .* 4, 8, 16, 32"):
        ModelConfig(g_norm="conditional", label_until=12)
    with pytest.raises(ContemoError, match="label_until 8: expected at least label_from"):
        ModelConfig(g_norm="conditional", label_from=16, label_until=8)


def test_nearest_upsampling_generator_has_no_strided_transposed_convs_and_trains(faces, tmp_path):
    from contemo.models import Generator
    g = Generator(ModelConfig(resolution=32, z_dim=16, label_dim=8, g_width=8,
                              g_upsample="nearest"))
    transposed = [m for m in g.net if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(transposed) == 1 and transposed[0].stride == (1, 1)  # only 1x1 -> 4x4
    assert sum(isinstance(m, torch.nn.Upsample) for m in g.net) == 3  # 4 -> 32 px
    assert g(torch.randn(2, 16), torch.eye(6)[[0, 5]]).shape == (2, 3, 32, 32)
    assert train(faces, tmp_path, "--steps", "2", "--set", "model.g_upsample=nearest") == 0
    pipe = EmotionPipeline.from_pretrained(only_run(tmp_path))
    assert pipe.generator.config.g_upsample == "nearest"
    with pytest.raises(ContemoError, match="g_upsample 'bilinear': expected one of transposed"):
        ModelConfig(g_upsample="bilinear")


def test_release_checkpoint_rebuilds_the_release_and_the_raw_g_of_any_step(faces, tmp_path,
                                                                             capsys):
    release_checkpoint = import_benchmark("release_checkpoint")
    from safetensors.torch import load_file
    assert train(faces, tmp_path / "run", "--steps", "4", "--set", "checkpoint_every=2") == 0
    run = only_run(tmp_path / "run")
    assert release_checkpoint.main([str(run), "--out", str(tmp_path / "ema")]) == 0
    shipped = load_file(str(run / "generator" / "generator.safetensors"))
    ema = load_file(str(tmp_path / "ema" / "generator.safetensors"))
    assert all(torch.allclose(shipped[k].float(), ema[k].float(), atol=1e-5) for k in shipped)
    assert release_checkpoint.main([str(run), "--step", "2", "--weights", "raw",
                                    "--out", str(tmp_path / "raw")]) == 0
    raw = load_file(str(tmp_path / "raw" / "generator.safetensors"))
    assert not all(torch.equal(raw[k], ema[k]) for k in raw)
    info = json.loads((tmp_path / "raw" / "config.json").read_text())
    assert info["training"]["steps"] == 2 and "raw" in info["training"]["released_from"]
    capsys.readouterr()
    assert release_checkpoint.main([str(run), "--step", "3", "--out", str(tmp_path / "x")]) == 1
    assert capsys.readouterr().err.strip().endswith("no checkpoint at step 3 in checkpoints/")


def test_recipe_frontier_draws_the_kept_table_and_names_a_bad_file(tmp_path, capsys):
    frontier = import_benchmark("recipe_frontier")
    out = tmp_path / "frontier.png"
    assert frontier.main(["--out", str(out)]) == 0
    from PIL import Image

    with Image.open(out) as im:
        assert im.size[0] > 400 and im.size[1] > 300
    printed = capsys.readouterr().out
    assert "london64 " in printed and "same person 0.694" in printed  # the 3,000-step preset
    bad = tmp_path / "table.json"
    bad.write_text(json.dumps([{"variant": "x", "same_person": 0.5}]))
    with pytest.raises(SystemExit) as err:
        frontier.main(["--table", str(bad), "--out", str(out)])
    assert "row 0 lacks" in str(err.value) and str(bad) in str(err.value)
    with pytest.raises(SystemExit) as err:
        frontier.main(["--table", str(tmp_path / "none.json"), "--out", str(out)])
    assert "cannot read the recipe table" in str(err.value)
    with pytest.raises(SystemExit) as err:
        frontier.main(["--shipped", "nope", "--out", str(out)])
    assert "--shipped nope: no such row" in str(err.value)


def test_recipe_table_appends_rows_to_the_kept_table_by_name(tmp_path, capsys):
    from contemo.training.config import get_preset

    table = import_benchmark("recipe_table")
    run = tmp_path / "run"
    run.mkdir()
    config = get_preset("london64").to_dict() | {"lecam": 0.03}
    (run / "config.json").write_text(json.dumps(config))
    (run / "stats.jsonl").write_text(json.dumps({"step": 3000, "time_s": 1500.0}) + "\n")
    targets = tmp_path / "t.json"
    keys = [key for key, _, _ in table.FIGURES]
    targets.write_text(json.dumps({"targets": {k: {"generated": 0.5} for k in keys}}))
    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps([{"variant": "old", "same_person": 0.1},
                                {"variant": "LC03", "same_person": 0.2}]))
    table.main([f"LC03={run}:{targets}", f"NEW={run}:{targets}", "--append", str(kept)])
    rows = json.loads(kept.read_text())
    assert [r["variant"] for r in rows] == ["old", "LC03", "NEW"]  # replaced in place, added last
    assert rows[1]["changes"] == "lecam=0.03" and rows[1]["same_person"] == 0.5
    assert rows[1]["steps"] == 3000 and rows[1]["wall_min"] == 25.0
    assert "| LC03 | lecam=0.03 | 3000 | 25.0 | 0.500 |" in capsys.readouterr().out
    kept.write_text(json.dumps({"rows": []}))
    with pytest.raises(SystemExit) as err:
        table.main([f"X={run}:{targets}", "--append", str(kept)])
    assert str(kept) in str(err.value) and "list of rows" in str(err.value)
