"""Path linearity: D's reading of each emotion must move evenly along a label path.

Why: the paper trains one-hot labels and interpolates at inference, and nothing says
how a blend should look. synth64's Neutral -> happy path shows the cost: the mouth
opens before the smile forms, so the valence regressor reads the first half of the
path as *less* happy than neutral (monotonicity 0.81, every other emotion >= 0.97), and
no loss, blend share or architecture of the recipe table changed its shape (the model
card lists them). Only calibrated steps (labels/calibration.py) hide the dip, after
the fact.

So this term asks the blend to be a blend, as read by an emotion classifier the GAN
trains anyway: the AC-GAN head of D (`model.d_classifier`, `classify`), which learns the
emotion of real faces only. For each identity pair G already renders (one z under e_a
and e_b), G also renders the same z at v_t = (1 - t) e_a + t e_b, t ~ U(0, 1), and the
head's logits for that face must lie where a straight path would put them:

    L = || c(x_t) - ((1 - t) c(x_a) + t c(x_b)) ||^2 / || c(x_b) - c(x_a) ||^2

in units of the path's own length (so G cannot pass it by making the two ends alike),
with the ends as fixed targets (no gradient through them). A middle that reads as
another emotion (an open mouth read as fear) is off the line in that emotion's logit.
The three faces go through D in one forward pass, so a BatchNorm D normalises them
together. `linearity=W` weighs it (0 = off; needs `pairs`, whose faces are the path's
ends, and `classify`, which trains the head).

D's projection alone is no reading of the expression: on a synth64 run its label part
(pooled features against each label's embedding) moved by 0.2 along Neutral -> happy,
against a common offset of -6, and fell for happy as the smile formed. So the classifier.
"""

from __future__ import annotations

import torch

from contemo.training.batches import step_generator

STREAM_T = 12  # random stream of the blend weights t (batches.step_generator)


def blend_labels(first: torch.Tensor, second: torch.Tensor, gen: torch.Generator
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (labels (1 - t) first + t second (P, K), t (P, 1)) with t ~ U(0, 1) from `gen`."""
    t = torch.rand(first.shape[0], 1, generator=gen).to(first.device, first.dtype)
    return (1 - t) * first + t * second, t


def path_middles(noise: torch.Tensor, labels: torch.Tensor, seed: int, rank: int, step: int
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (noise, labels, t) of G's path middles: each pair's z between its two labels.

    `noise` and `labels` are G's 2P pair inputs (all first faces, then all second ones,
    pairs.PairTerm.generator_input); t comes from its own stream by (seed, rank, step).
    """
    half = noise.shape[0] // 2
    gen = step_generator(seed, STREAM_T, rank, step)
    middle, t = blend_labels(labels[:half], labels[half:], gen)
    return noise[:half], middle, t


def path_linearity(evidence: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Return the mean squared distance of the middles' evidence from the straight path.

    `evidence` (3P, K): the P first ends, the P second ends, then the P middles, each
    row D's evidence of one face; `t` (P, 1): where each middle was asked to be.
    """
    ends_a, ends_b, middle = evidence.float().chunk(3)
    ends_a, ends_b = ends_a.detach(), ends_b.detach()
    target = (1 - t) * ends_a + t * ends_b
    length = (ends_b - ends_a).square().sum(dim=1).clamp(min=1e-6)
    return ((middle - target).square().sum(dim=1) / length).mean()
