"""LeCam regularisation: its two terms, its running means, and a resumable run with it on."""

from __future__ import annotations

import pytest
import torch
from accelerate import Accelerator
from test_pairs import assert_switch_resumes_exactly_and_changes_g, train

from contemo.training.lecam import DECAY, LeCam


def test_terms_penalise_only_outputs_past_the_other_sides_running_mean():
    lecam = LeCam(0.5, torch.device("cpu"))
    lecam.ema_real.fill_(1.0)
    lecam.ema_fake.fill_(-1.0)
    # real outputs at or below the fake mean, fake outputs at or above the real mean: free
    assert lecam.real_term(torch.tensor([-1.0, -3.0])).item() == 0.0
    assert lecam.fake_term(torch.tensor([1.0, 2.0])).item() == 0.0
    # past them: the weighted mean square of the excess
    assert lecam.real_term(torch.tensor([1.0, -1.0])).item() == pytest.approx(0.5 * 4 / 2)
    assert lecam.fake_term(torch.tensor([-2.0])).item() == pytest.approx(0.5 * 9)


def test_running_means_follow_the_outputs_at_the_papers_decay():
    lecam = LeCam(0.3, torch.device("cpu"))
    acc = Accelerator(cpu=True)
    lecam.update(torch.tensor([2.0, 4.0]), torch.tensor([-1.0]), acc)
    assert lecam.ema_real.item() == pytest.approx(3.0 * (1 - DECAY))
    assert lecam.ema_fake.item() == pytest.approx(-1.0 * (1 - DECAY))
    # the buffers are what a checkpoint saves
    assert set(lecam.state_dict()) == {"ema_real", "ema_fake"}


def test_lecam_run_resumes_exactly_and_changes_g(tmp_path, capsys):
    from data_fixtures import make_london
    from safetensors import safe_open

    data = make_london(tmp_path / "london", people=4)
    extra = ["--layout", "london", "--set", "pairs=1", "--set", "pair_batch=3",
             "--set", "loss=hinge", "--set", "lecam=0.3"]
    assert_switch_resumes_exactly_and_changes_g(data, tmp_path, extra)
    # both discriminators' running means travel in the checkpoint and have moved
    (run,) = [p for p in (tmp_path / "a").iterdir() if p.is_dir()]
    ckpt = max((run / "checkpoints").glob("*.safetensors"))
    with safe_open(str(ckpt), "pt") as f:
        names = [k for k in f.keys() if k.startswith(("LC.", "LCP."))]  # noqa: SIM118
        means = {k: f.get_tensor(k) for k in names}
    assert set(means) == {"LC.ema_real", "LC.ema_fake", "LCP.ema_real", "LCP.ema_fake"}
    assert all(v.item() != 0.0 for v in means.values())
    capsys.readouterr()
    assert train(data, tmp_path / "bad", "--steps", "1", "--set", "lecam=-1") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lecam" in err[0] and ">= 0" in err[0]
