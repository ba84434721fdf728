"""Self-supervised D: D's maps, the decoders' targets, their gradient and a resumable run."""

from __future__ import annotations

import torch
from test_pairs import (
    assert_refused_in_one_line,
    london_switch_run,
    run_keys_and_stats,
)

from contemo.models import Discriminator
from contemo.models.config import ModelConfig
from contemo.training.recon import Decoders, draw_quarter, targets


def test_d_maps_leave_its_logits_unchanged_and_match_their_channels():
    torch.manual_seed(0)
    for resolution in (64, 128):
        d = Discriminator(ModelConfig(resolution=resolution, g_width=8, d_width=8)).eval()
        x, v = torch.randn(3, 3, resolution, resolution), torch.eye(6)[[0, 5, 5]]
        logits, map16, map8 = d(x, v, with_maps=True)
        assert torch.equal(logits, d(x, v))
        assert map16.shape == (3, d.map_channels()[0], 16, 16)
        assert map8.shape == (3, d.map_channels()[1], 8, 8)


def test_targets_are_the_whole_face_and_the_exact_quarter():
    real = torch.rand(2, 3, 64, 64)
    whole, part = targets(real, 3)  # bottom right
    assert torch.equal(part, real[..., 32:, 32:])
    assert torch.allclose(whole, real.unfold(2, 2, 2).unfold(3, 2, 2).mean(dim=(-1, -2)))
    whole, part = targets(torch.rand(2, 3, 128, 128), 1)  # top right, area-resized
    assert whole.shape == part.shape == (2, 3, 32, 32)
    assert {draw_quarter(0, 0, step) for step in range(40)} == {0, 1, 2, 3}
    assert draw_quarter(0, 0, 7) == draw_quarter(0, 0, 7)


def test_quarter_decoder_reads_only_its_quarter_of_the_map():
    decoders = Decoders((4, 8))
    map16 = torch.randn(2, 4, 16, 16, requires_grad=True)
    map8 = torch.randn(2, 8, 8, 8, requires_grad=True)
    whole, part = decoders(map16, map8, 2)  # bottom left
    assert whole.shape == part.shape == (2, 3, 32, 32)
    (whole.sum() + part.sum()).backward()
    grad = map16.grad.abs().sum(dim=(0, 1))
    assert grad[8:, :8].min() > 0 and grad[:8].sum() == 0 and grad[:, 8:].sum() == 0
    assert map8.grad.abs().sum() > 0


def test_recon_run_resumes_exactly_changes_g_and_refuses_bad_settings(tmp_path, capsys):
    data, rows = london_switch_run(tmp_path, ["--set", "recon=1"], "RC", "recon")
    assert float(rows[-1].split('"recon": ')[1].split(",")[0]) > 0
    assert_refused_in_one_line(data, tmp_path / "bad", capsys, [
        (["--set", "recon=-1"], "recon"),
        (["--set", "recon=1"], "recon")])  # tiny is 32 px: no quarter to redraw


def test_pair_recon_run_resumes_exactly_redraws_both_faces_and_needs_the_pair_d(
        tmp_path, capsys):
    decoders = Decoders((4, 8), images=2)
    whole, part = decoders(torch.randn(2, 4, 16, 16), torch.randn(2, 8, 8, 8), 0)
    assert whole.shape == part.shape == (2, 6, 32, 32)  # both faces of a pair
    data, _ = london_switch_run(tmp_path, ["--set", "pairs=1", "--set", "pair_batch=3",
                                           "--set", "pair_recon=1"], "RCP", "pair_d")
    keys, _ = run_keys_and_stats(tmp_path / "a")
    assert not any(k.startswith("RC.") for k in keys)  # the main D's decoders stay off
    assert_refused_in_one_line(data, tmp_path / "bad", capsys, [
        (["--set", "model.resolution=64", "--set", "pair_recon=1"],
         "'pair_recon': needs the pair D")])
