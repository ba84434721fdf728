"""Path linearity: D's emotion head, the straight-path loss and a resumable run."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from data_fixtures import make_london
from test_pairs import (
    assert_refused_in_one_line,
    assert_switch_resumes_exactly_and_changes_g,
    run_keys_and_stats,
)

from contemo.models import Discriminator
from contemo.models.config import MODEL_PRESETS
from contemo.training.linearity import blend_labels, path_linearity


def test_emotion_logits_are_the_classifier_head_of_the_forward_pass():
    torch.manual_seed(0)
    d = Discriminator(replace(MODEL_PRESETS["tiny"], d_classifier=True))
    x = torch.rand(6, 3, 32, 32) * 2 - 1
    _, head = d(x, torch.eye(6)[[0] * 6], with_class=True)
    assert torch.allclose(d.emotion_logits(x), head, atol=1e-6)
    with pytest.raises(ValueError, match="d_classifier"):
        Discriminator(MODEL_PRESETS["tiny"]).emotion_logits(x)


def test_straight_paths_cost_nothing_and_only_the_middles_learn():
    a, b = torch.randn(4, 6), torch.randn(4, 6)
    t = torch.rand(4, 1)
    on_line = torch.cat([a, b, (1 - t) * a + t * b])
    assert path_linearity(on_line, t).item() < 1e-10
    # a middle at the neutral end when asked for t = 0.5 is a quarter of the path squared
    half = torch.full((4, 1), 0.5)
    assert abs(path_linearity(torch.cat([a, b, a]), half).item() - 0.25) < 1e-6
    # scaled in units of each path's own length: shrinking the ends does not pay
    assert abs(path_linearity(torch.cat([a, b, a]) * 0.01, half).item() - 0.25) < 1e-6
    bent = torch.cat([a, b, a]).requires_grad_(True)
    path_linearity(bent, half).backward()
    assert bent.grad[:8].abs().sum() == 0 and bent.grad[8:].abs().sum() > 0


def test_blend_labels_lie_between_the_ends():
    first, second = torch.eye(6)[[0, 0, 1]], torch.eye(6)[[5, 2, 3]]
    labels, t = blend_labels(first, second, torch.Generator().manual_seed(0))
    assert torch.allclose(labels, (1 - t) * first + t * second)
    assert ((t >= 0) & (t <= 1)).all() and torch.allclose(labels.sum(dim=1), torch.ones(3))
    again, _ = blend_labels(first, second, torch.Generator().manual_seed(0))
    assert torch.equal(again, labels)


def test_linearity_run_resumes_exactly_changes_g_and_needs_pairs_and_the_head(tmp_path,
                                                                               capsys):
    data = make_london(tmp_path / "london", people=4)
    head = ["--set", "model.d_classifier=true", "--set", "classify=1"]
    extra = ["--layout", "london", "--set", "pairs=1", "--set", "pair_batch=3", *head,
             "--set", "linearity=1"]
    assert_switch_resumes_exactly_and_changes_g(data, tmp_path, extra)
    _, rows = run_keys_and_stats(tmp_path / "a")
    assert rows and all(json.loads(r)["linearity"] > 0 for r in rows)
    assert_refused_in_one_line(data, tmp_path / "bad", capsys, [
        ([*head, "--set", "linearity=1"], "'linearity': needs the pair D: set pairs > 0"),
        (["--set", "pairs=1", "--set", "linearity=1"],
         "'linearity': reads the path with D's emotion head: set classify > 0")])
