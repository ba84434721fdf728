"""Identity contrast: the InfoNCE loss, the encoder, its real batches and a resumable run."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from test_pairs import assert_pair_switch_reaches_g_and_needs_the_pair_d, run_keys_and_stats, train

from contemo.models.config import MODEL_PRESETS
from contemo.training.identity import EMBED_DIM, IdentityEncoder, info_nce


def test_info_nce_is_log_b_at_chance_and_small_when_rows_match():
    b = 8
    same = torch.nn.functional.normalize(torch.ones(b, 4), dim=1)
    assert info_nce(same, same, 0.1).item() == pytest.approx(math.log(b))  # no one stands out
    eye = torch.eye(b)
    assert info_nce(eye, eye, 0.1).item() < 1e-3  # each row matched to its own only
    # swapping two partners makes it large: the loss knows who belongs with whom
    swapped = eye[[1, 0, *range(2, b)]]
    assert info_nce(eye, swapped, 0.1).item() > 2.0


def test_encoder_gives_unit_embeddings_independent_of_the_batch():
    torch.manual_seed(0)
    e = IdentityEncoder(MODEL_PRESETS["tiny"])
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    out = e(x)
    assert out.shape == (5, EMBED_DIM)
    assert torch.allclose(out.norm(dim=1), torch.ones(5))
    # no batch statistics: a face's embedding does not depend on the other faces
    assert torch.allclose(e(x[:1]), out[:1], atol=1e-6)


def test_identity_run_resumes_exactly_changes_g_and_needs_the_pair_d(tmp_path, capsys):
    data, extra = assert_pair_switch_reaches_g_and_needs_the_pair_d(tmp_path, capsys,
                                                                   "identity=1")
    keys, rows = run_keys_and_stats(tmp_path / "a")
    assert any(k.startswith("ID.") for k in keys) and any(k.startswith("optID") for k in keys)
    assert all('"identity_e"' in r for r in rows)
    capsys.readouterr()
    assert train(data, tmp_path / "bad", "--steps", "1", *extra[:-1], "identity_tau=0") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "identity_tau" in err[0]


def test_real_pairs_are_distinct_people_and_repeat_by_step(tmp_path):
    from accelerate import Accelerator

    from contemo.training.config import get_preset
    from contemo.training.identity import IdentityTerm

    cfg = replace(get_preset("tiny"), pairs=1.0, identity=1.0, pair_batch=4)
    images = torch.arange(10, dtype=torch.uint8)[:, None, None, None].expand(10, 3, 4, 4)
    pairs = torch.tensor([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]])
    term = IdentityTerm(cfg, Accelerator(cpu=True), images.contiguous(), pairs, None, False)
    first, second = term.real_pairs(3)
    ids = ((first[:, 0, 0, 0] + 1) * 127.5).round().long()
    assert len(set(ids.tolist())) == 4 and all(i % 2 == 0 for i in ids.tolist())
    partners = ((second[:, 0, 0, 0] + 1) * 127.5).round().long()
    assert torch.equal(partners, ids + 1)  # each first photo beside its own person's second
    again, _ = term.real_pairs(3)
    assert torch.equal(again, first)
