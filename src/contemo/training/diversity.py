"""The mode-seeking term (Mao et al. 2019): different noise under one label, different faces.

Why: on 2,052 faces a plain cGAN's G learns to ignore z (one face per emotion). MSGAN
rewards the image distance between two fakes of one label per unit of noise distance.
contemo caps the reward at the data's own ratio (`diversity_cap=0` measures it), so G
is pushed to as much variety as real people have and no further. The trainer pairs
image i with image i + N/2 under one label (`paired_labels`) and adds
`-diversity * mode_seeking(...)` to G's loss.
"""

from __future__ import annotations

import torch

from contemo.errors import ContemoError


def paired_labels(labels: torch.Tensor) -> torch.Tensor:
    """Return the batch's labels with the second half replaced by the first half's.

    Image i and image i + N/2 then share a label but not their noise, which is what
    the mode-seeking term compares. Fakes keep the data's label distribution.
    """
    half = labels.shape[0] // 2
    out = labels.clone()
    out[half:2 * half] = labels[:half]
    return out


def data_diversity_ratio(images: torch.Tensor, labels: torch.Tensor, z_dim: int,
                         seed: int = 0) -> float:
    """Return the data's own mode-seeking ratio: mean L1 of same-emotion image pairs / noise pairs.

    The cap of the mode-seeking term should be what real people differ by, so that G is
    pushed to data-like variety and no further; this measures it (same-label pairs, as
    the term compares same-label fakes).
    """
    gen = torch.Generator().manual_seed(seed)
    cls = labels.argmax(dim=1)
    diffs = []
    for k in cls.unique().tolist():
        idx = (cls == k).nonzero().flatten()
        if len(idx) < 2:
            continue
        a = idx[torch.randint(len(idx), (256,), generator=gen)]
        b = idx[torch.randint(len(idx), (256,), generator=gen)]
        keep = a != b
        x = images[a[keep]].float() / 127.5 - 1
        y = images[b[keep]].float() / 127.5 - 1
        diffs.append((x - y).abs().mean(dim=(1, 2, 3)))
    if not diffs:
        raise ContemoError("diversity_cap=0 needs two images of one emotion to measure the data")
    z = torch.randn(4096, 2, z_dim, generator=gen)
    return float(torch.cat(diffs).mean() / (z[:, 0] - z[:, 1]).abs().mean())


def mode_seeking(fake: torch.Tensor, z: torch.Tensor, cap: float) -> torch.Tensor:
    """Return the mode-seeking reward: mean |G(z1,v)-G(z2,v)| / mean |z1-z2|, capped at `cap`.

    MSGAN (Mao et al., 2019) maximises this ratio so that G cannot map different noise
    under the same label to the same face. The cap (about the data's own ratio for two
    people with the same emotion: pixel std 0.15) stops it rewarding noise for its own
    sake once faces differ as much as real people do; a plain ratio, not MSGAN's
    1/(ratio + eps), so a collapsed start does not blow up the G loss.
    """
    half = fake.shape[0] // 2
    images = (fake[:half].float() - fake[half:2 * half].float()).abs().mean(dim=(1, 2, 3))
    noise = (z[:half] - z[half:2 * half]).abs().mean(dim=1)
    return (images / noise).clamp(max=cap).mean()
