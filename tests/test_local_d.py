"""Inner-face D: the window it judges, its config checks and a resumable run."""

from __future__ import annotations

import pytest
import torch
from test_pairs import assert_refused_in_one_line, london_switch_run

from contemo.training.local import inner_window, local_resolution, window_pixels


def test_window_is_placed_by_fractions_and_kept_inside_the_frame():
    assert window_pixels(64, (0.5, 0.58, 0.5)) == (16, 21, 32)
    assert window_pixels(128, (0.5, 0.58, 0.5)) == (32, 42, 64)
    # a window that would leave the frame is moved back inside, its side kept
    assert window_pixels(64, (0.95, 0.05, 0.5)) == (32, 0, 32)


def test_inner_window_is_half_the_side_and_passes_g_gradients():
    x = torch.arange(64 * 64, dtype=torch.float32).view(1, 1, 64, 64).expand(2, 3, 64, 64)
    out = inner_window(x, (0.5, 0.58, 0.5))
    assert out.shape == (2, 3, 32, 32)
    assert torch.equal(out, x[..., 21:53, 16:48])  # half the side: the pixels themselves
    wide = torch.rand(2, 3, 64, 64, requires_grad=True)
    resized = inner_window(wide, (0.5, 0.5, 0.75))  # 48 px, resized to 32
    assert resized.shape == (2, 3, 32, 32)
    resized.sum().backward()
    grad = wide.grad.abs().sum(dim=(0, 1))
    assert grad[8:56, 8:56].min() > 0 and grad[:8].sum() == 0 and grad[:, 56:].sum() == 0
    with pytest.raises(ValueError, match="32 px"):
        local_resolution(32)


def test_local_run_resumes_exactly_changes_g_and_refuses_bad_settings(tmp_path, capsys):
    data, _ = london_switch_run(tmp_path, ["--set", "local=1"], "LD", "local_d")
    assert_refused_in_one_line(data, tmp_path / "bad", capsys, [
        (["--set", "local_box=0.5,0.5"], "local_box"),
        (["--set", "local_box=0.5,0.5,0"], "local_box"),
        (["--set", "local=1"], "local")])  # tiny is 32 px: nothing to halve
