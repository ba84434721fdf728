"""A hand-wired tiny generator and a scorer that reads the label's VA back off its images.

The generator is the real `tiny` Generator with hand-set weights: the red channel is
tanh(gain * valence) and the green tanh(gain * arousal) of the label's blend of the
Russell-Mehrabian anchors (contemo.emotions.label_va), the blue channel is drawn from
z alone (identity) and never sees the label. `VAScorer` reads the centre of the image;
with `invert=True` it undoes the tanh, so it reports exactly label_va(v): every number
in a sweep or targeting summary is known in advance. With `invert=False` VA is curved
in the label weight, which is what calibration has to straighten.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from contemo.emotions import EMOTIONS, anchor_matrix
from contemo.models import MODEL_PRESETS, Generator, save_pretrained


def wired_generator(gain: float = 1.0) -> Generator:
    """Return a tiny Generator painting tanh(gain * label VA) in red/green and z in blue."""
    g = Generator(MODEL_PRESETS["tiny"]).eval()
    zd = g.config.z_dim
    anchors = torch.tensor(anchor_matrix(), dtype=torch.float32)  # (6, 2)
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, (nn.ConvTranspose2d, nn.Linear)):
                m.weight.zero_()
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):  # exactly the identity in eval mode
                m.weight.fill_(1.0)
                m.bias.zero_()
                m.running_mean.zero_()
                m.running_var.fill_(1.0 - m.eps)
        # Label channels 0-3: +valence, -valence, +arousal, -arousal (ReLU keeps only >= 0).
        for c, (axis, sign) in enumerate(((0, 1), (0, -1), (1, 1), (1, -1))):
            g.label_embed.weight[c] = (sign * anchors[:, axis]).clamp(min=0)
        convs = [m for m in g.net if isinstance(m, nn.ConvTranspose2d)]
        for c in range(4):
            convs[0].weight[zd + c, c] = 1.0
        gen = torch.Generator().manual_seed(0)
        convs[0].weight[:zd, 4] = torch.randn(zd, 4, 4, generator=gen)  # identity channel
        for conv in convs[1:-1]:
            for c in range(5):
                conv.weight[c, c] = 0.25  # 2x2 contributions of 0.25: interior values kept
        last = convs[-1].weight
        last[0, 0], last[1, 0] = 0.25 * gain, -0.25 * gain
        last[2, 1], last[3, 1] = 0.25 * gain, -0.25 * gain
        last[4, 2] = 0.25
    return g


def save_wired(folder: Path, gain: float = 1.0) -> Path:
    """Return a release folder holding the wired generator."""
    return save_pretrained(wired_generator(gain), folder, training={"fixture": "wired"})


class VAScorer:
    """Scorer protocol: VA from the image centre's red/green; classes = nearest anchor."""

    name = "wired-test"
    classes = EMOTIONS

    def __init__(self, gain: float = 1.0, invert: bool = True) -> None:
        self.gain, self.invert = gain, invert
        self.anchors = torch.tensor(anchor_matrix(), dtype=torch.float32)

    def score(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        x = images.float()
        h, w = x.shape[-2:]
        centre = x[:, :2, h * 3 // 8:h * 5 // 8, w * 3 // 8:w * 5 // 8].mean(dim=(2, 3))
        va = torch.atanh(centre.clamp(-0.999999, 0.999999)) / self.gain if self.invert else centre
        dist = torch.cdist(va, self.anchors)
        features = torch.nn.functional.avg_pool2d(x, h // 4).flatten(1)  # (N, 3 * 4 * 4)
        return {"valence": va[:, 0], "arousal": va[:, 1], "probs": (-10 * dist).softmax(1),
                "features": features}


def label_va_np(labels: np.ndarray) -> np.ndarray:
    """Return the theoretical VA of label rows (what VAScorer(invert=True) must report)."""
    return np.asarray(labels, np.float64) @ anchor_matrix()
