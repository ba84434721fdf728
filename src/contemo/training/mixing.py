"""Label mixing: some of G's training faces are asked for a blend of two emotions.

Why: the paper trains on one-hot labels only and interpolates at inference (Eq. 1-4), so
every point inside a path is a label G never saw in training. On London this showed as
the path's blurry middle (fewer faces found by dlib at w=0.5 than at either end, and a
visible loss of detail). With `mix=F`, a fraction F of each step's fakes get the label
(1-t) e_a + t e_b, with a the image's own emotion, b another trained one and t ~ U(0, 1).
The projection D reads any float label (models/dcgan.py), and real faces are never
blended, so a blurry mid-path face is simply a fake to D: G must keep the face sharp
and real all along the path. Nothing asks the blend to *look* like a blend, so the
ends stay the data's expressions. 0 = off (the paper).
"""

from __future__ import annotations

import torch


def mix_labels(labels: torch.Tensor, fraction: float, trained: list[int],
               gen: torch.Generator) -> torch.Tensor:
    """Return one-hot `labels` (N, 6) with its first round(fraction * N) rows blended.

    The trainer mixes the first half of a batch before the mode-seeking pairing copies
    it onto the second half, so the pairs stay pairs of equal labels and the share of
    blended faces is still `fraction`.
    """
    n = round(fraction * labels.shape[0])
    if n == 0 or len(trained) < 2:
        return labels
    own = labels[:n].argmax(dim=1).cpu()
    choices = torch.tensor(trained)
    # another trained emotion: shift a random index among the trained ones by 1..K-1
    pos = torch.tensor([trained.index(int(c)) if int(c) in trained else 0 for c in own])
    shift = torch.randint(1, len(trained), (n,), generator=gen)
    other = choices[(pos + shift) % len(trained)]
    t = torch.rand(n, 1, generator=gen)
    blend = (1 - t) * torch.eye(labels.shape[1])[own] + t * torch.eye(labels.shape[1])[other]
    out = labels.clone()
    out[:n] = blend.to(labels.device, labels.dtype)
    return out
