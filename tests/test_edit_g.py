"""The edit generator (model.g_edit): each face an edit of its z's Neutral face."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from test_pairs import (
    assert_refused_in_one_line,
    assert_switch_resumes_exactly_and_changes_g,
    run_keys_and_stats,
    train,
)

from contemo.errors import ContemoError
from contemo.generation.pipeline import EmotionPipeline
from contemo.models import Generator
from contemo.models.config import ModelConfig
from contemo.training.config import TrainConfig

SMALL = {"resolution": 32, "z_dim": 16, "label_dim": 8, "g_width": 8}


def test_faces_differ_between_emotions_only_where_a_mask_is_open():
    torch.manual_seed(0)
    g = Generator(ModelConfig(**SMALL, g_norm="conditional", g_edit=True))
    g(torch.randn(16, 16), torch.eye(6)[torch.arange(16) % 6])  # BatchNorm statistics
    g.eval()
    z = torch.randn(4, 16)
    with torch.no_grad():
        sad, sad_mask = g(z, torch.eye(6)[[1] * 4], with_mask=True)
        happy, happy_mask = g(z, torch.eye(6)[[5] * 4], with_mask=True)
        neutral, _ = g(z, torch.eye(6)[[0] * 4], with_mask=True)
        base = torch.tanh(g._draw(z, torch.eye(6)[[0] * 4])[:, :3])
    assert sad.shape == (4, 3, 32, 32) and sad_mask.shape == (4, 1, 32, 32)
    assert 0 <= float(sad_mask.min()) and float(sad_mask.max()) <= 1
    assert not torch.allclose(sad, happy)
    # colour and base lie in [-1, 1], so a face moves from its base by at most 2 * mask
    bound = 2 * (sad_mask + happy_mask) + 1e-6
    assert bool(((sad - happy).abs() <= bound).all())
    assert bool(((happy - base).abs() <= 2 * happy_mask + 1e-6).all())
    assert torch.allclose(neutral, base, atol=1e-6)  # Neutral is its own base, mask or not
    assert float(sad_mask.mean()) < 0.5  # the mask starts nearly shut (MASK_START)


def test_edit_run_resumes_exactly_logs_its_mask_and_loads_for_generation(tmp_path, capsys):
    from data_fixtures import make_london

    data = make_london(tmp_path / "london", people=4)
    extra = ["--layout", "london", "--set", "model.resolution=64", "--set", "model.g_edit=true",
             "--set", "edit_mask=1"]
    assert_switch_resumes_exactly_and_changes_g(data, tmp_path, extra)  # the penalty reaches G
    _, rows = run_keys_and_stats(tmp_path / "a")
    masks = [float(r.split('"edit_mask": ')[1].split(",")[0]) for r in rows]
    assert rows and all(0 < m < 1 for m in masks)
    (run,) = [p for p in (tmp_path / "a").iterdir() if p.is_dir()]
    pipe = EmotionPipeline.from_pretrained(run / "generator")
    assert pipe.generator.config.g_edit
    assert_refused_in_one_line(data, tmp_path / "bad", capsys, [
        (["--set", "edit_mask=1"], "'edit_mask': weighs G's edit masks: set model.g_edit=true"),
        (["--set", "model.g_edit=true", "--set", "edit_mask=-1"], "'edit_mask': expected >= 0")])
    with pytest.raises(ContemoError, match="edit_mask"):
        TrainConfig(edit_mask=float("nan"))


def train_edit_32(tmp_path: Path) -> tuple[Path, Path]:
    """Train a 32 px edit generator without the penalty for 2 steps; return (data, run)."""
    from data_fixtures import make_faces

    faces = make_faces(tmp_path / "faces", people=2)
    assert train(faces, tmp_path / "out", "--steps", "2", "--set", "model.g_edit=true") == 0
    _, rows = run_keys_and_stats(tmp_path / "out")
    assert all('"edit_mask": ' in r for r in rows)
    (run,) = [p for p in (tmp_path / "out").iterdir() if p.is_dir()]
    return faces, run


def test_edit_mask_figure_draws_faces_over_masks_and_refuses_a_plain_g(tmp_path, capsys):
    from benchmark_fixtures import import_benchmark
    from PIL import Image

    edit_masks = import_benchmark("edit_masks")
    faces, run = train_edit_32(tmp_path)  # also: it trains at 32 px without the penalty
    figure, table = tmp_path / "masks.png", tmp_path / "masks.json"
    assert edit_masks.main([str(run / "generator"), "--seeds", "0-2", "--steps", "4",
                            "--out", str(figure), "--json", str(table)]) == 0
    with Image.open(figure) as im:
        assert im.size == (2 * 4 * 32, 2 * 2 * 3 * 32)  # 4 steps across, face + mask per seed
    result = json.loads(table.read_text())
    assert len(result["mean_mask_by_step"]) == 4
    assert all(0 < m < 1 for m in result["mean_mask_by_step"]) and 0 <= result["kept_share"] <= 1
    assert train(faces, tmp_path / "plain", "--steps", "1") == 0
    (plain,) = [p for p in (tmp_path / "plain").iterdir() if p.is_dir()]
    capsys.readouterr()
    assert edit_masks.main([str(plain / "generator"), "--out", str(figure)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not an edit generator (model.g_edit)" in err[0], err


def test_pair_change_compares_real_people_with_g_and_names_a_bad_set_in_one_line(tmp_path,
                                                                               capsys):
    import shutil

    from benchmark_fixtures import import_benchmark
    from data_fixtures import make_london

    pair_change = import_benchmark("pair_change")
    from data_fixtures import write_image

    data = make_london(tmp_path / "london", people=4)
    for p in range(1, 5):  # flat photos: Neutral grey 110..140, smiling 200
        write_image(data / "neutral_front" / f"{p:03d}_03.jpg", (64, 64), (100 + 10 * p,) * 3)
        write_image(data / "smiling_front" / f"{p:03d}_08.jpg", (64, 64), (200,) * 3)
    assert train(data, tmp_path / "out", "--steps", "1", "--layout", "london") == 0
    (run,) = [p for p in (tmp_path / "out").iterdir() if p.is_dir()]
    table = tmp_path / "change.json"
    assert pair_change.main(["--data", str(data), "--preset", "tiny", str(run / "generator"),
                             "--seeds", "4", "--json", str(table)]) == 0
    result = json.loads(table.read_text())
    assert result["real"]["people"] == 4
    # |110..140 - 200| and, each Neutral against the next person's, 10, 10, 10 and 30
    assert result["real"]["same_person"] == pytest.approx(75 / 127.5, abs=0.01)
    assert result["real"]["different_people"] == pytest.approx(15 / 127.5, abs=0.01)
    assert result["generated"][str(run / "generator")] > 0
    shutil.rmtree(data / "smiling_front")
    (data / "smiling_front").mkdir()
    capsys.readouterr()
    assert pair_change.main(["--data", str(data), "--preset", "tiny"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "smiling_front/: no image files" in err[0], err



def test_warp_moves_pixels_by_the_flow_and_keeps_them_where_it_is_zero():
    from contemo.models.warp import FLOW_SCALE, flow_between, warp

    image = torch.randn(2, 3, 16, 16)
    assert torch.allclose(warp(image, torch.zeros(2, 2, 16, 16)), image, atol=1e-5)
    shift = torch.zeros(2, 2, 16, 16)
    shift[:, 0] = 2 / 16  # one pixel in grid_sample's [-1, 1] coordinates: sample from x + 1
    moved = warp(image, shift)
    assert torch.allclose(moved[..., :-1], image[..., 1:], atol=1e-5)
    # the flow is the smoothed difference of two bounded fields: 0 for equal fields
    raw = torch.randn(2, 2, 64, 64) * 5
    assert float(flow_between(raw, raw).abs().max()) == 0.0
    flow = flow_between(raw, -raw)
    assert float(flow.abs().max()) <= 2 * FLOW_SCALE
    # smoothed over 4 px cells: far smoother from pixel to pixel than the raw fields
    step = (flow[..., 1:] - flow[..., :-1]).abs().mean()
    raw_step = (torch.tanh(raw)[..., 1:] - torch.tanh(raw)[..., :-1]).abs().mean() * FLOW_SCALE
    assert float(step) < 0.3 * float(raw_step)


def test_warp_generator_starts_every_path_at_its_neutral_face_and_moves_it():
    from contemo.models.dcgan import ConditionalBatchNorm

    torch.manual_seed(0)
    g = Generator(ModelConfig(**SMALL, g_norm="conditional", g_edit=True, g_warp=True))
    with torch.no_grad():  # a textured face and a label that matters, as training makes them
        g.net[-1].weight.normal_(0, 0.5)
        for m in g.modules():
            if isinstance(m, ConditionalBatchNorm):
                m.gain.weight.normal_(0, 0.5)
        for _ in range(40):  # BatchNorm's running statistics, near the batch's own
            g(torch.randn(16, 16), torch.eye(6)[torch.arange(16) % 6])
    g.eval()
    z, neutral_v, happy_v = torch.randn(4, 16), torch.eye(6)[[0] * 4], torch.eye(6)[[5] * 4]
    with torch.no_grad():
        neutral, _ = g(z, neutral_v, with_mask=True)
        happy, mask = g(z, happy_v, with_mask=True)
        out = g._draw(torch.cat([z, z]), torch.cat([happy_v, neutral_v]))
    assert out.shape[1] == 6  # colour, mask, flow x and y
    base, colour = torch.tanh(out[4:, :3]), torch.tanh(out[:4, :3])
    assert torch.allclose(neutral, base, atol=1e-4)  # the flow is 0 at Neutral
    unwarped = torch.lerp(base, colour, mask)  # what the edit generator alone would draw
    assert float((happy - unwarped).abs().mean()) > 0.01  # the warp moved the base


def test_warp_needs_the_edit_generator_and_a_warp_run_loads_for_generation(tmp_path):
    from data_fixtures import make_faces

    with pytest.raises(ContemoError, match="g_warp warps the edit generator's Neutral face: "
                                           "set g_edit=true too"):
        ModelConfig(**SMALL, g_norm="conditional", g_warp=True)
    faces = make_faces(tmp_path / "faces", people=2)
    assert train(faces, tmp_path / "out", "--steps", "2", "--set", "model.g_edit=true",
                 "--set", "model.g_warp=true", "--set", "edit_mask=1") == 0
    (run,) = [p for p in (tmp_path / "out").iterdir() if p.is_dir()]
    pipe = EmotionPipeline.from_pretrained(run / "generator")
    assert pipe.generator.config.g_warp
    faces_out = pipe.generate(torch.eye(6)[[0]].numpy(), seeds=[0, 1])
    assert faces_out.shape == (2, 3, 32, 32) and bool(torch.isfinite(faces_out).all())


def test_a_blend_of_labels_moves_the_face_by_the_same_blend_of_their_flows():
    from contemo.models.warp import blended_emotions, flow_between, linear_flow

    eye = torch.eye(6)
    v = torch.stack([eye[0], eye[5], 0.5 * eye[0] + 0.5 * eye[5], 0.2 * eye[1] + 0.8 * eye[5]])
    assert blended_emotions(v, 0) == [1, 5]
    assert blended_emotions(eye[[0, 5, 5]], 0) == []  # one-hot labels (training): none
    drawn, neutral = torch.randn(4, 2, 16, 16), torch.randn(4, 2, 16, 16)
    sad, happy = torch.randn(4, 2, 16, 16), torch.randn(4, 2, 16, 16)
    flow = linear_flow(v, drawn, neutral, {1: sad, 5: happy})
    one_hot = flow_between(drawn, neutral)
    assert torch.equal(flow[:2], one_hot[:2])  # one-hot rows: their own field's flow
    assert torch.allclose(flow[2], 0.5 * flow_between(happy, neutral)[2], atol=1e-6)
    expected = 0.2 * flow_between(sad, neutral)[3] + 0.8 * flow_between(happy, neutral)[3]
    assert torch.allclose(flow[3], expected, atol=1e-6)


def test_a_warp_generator_draws_each_row_alike_alone_or_in_a_mixed_batch():
    """The blend path renders extra one-hot labels for the whole batch; a row's face must
    not depend on which other rows share its batch (eval mode)."""
    torch.manual_seed(0)
    g = Generator(ModelConfig(**SMALL, g_norm="conditional", g_edit=True, g_warp=True))
    with torch.no_grad():
        g.net[-1].weight.normal_(0, 0.5)
    g.eval()
    eye = torch.eye(6)
    z = torch.randn(3, 16)
    v = torch.stack([eye[0], 0.3 * eye[0] + 0.7 * eye[5], eye[5]])
    with torch.no_grad():
        together = g(z, v)
        alone = torch.cat([g(z[i:i + 1], v[i:i + 1]) for i in range(3)])
    assert torch.allclose(together, alone, atol=1e-5)
