"""Tiny AffectNet-format sets with valence/arousal for the regressor and quality tests.

The images encode VA in colour (red = valence, green = arousal) with a painted box,
so a regressor can learn them; the manifest uses AffectNet's real columns plus an
optional identity column, and includes rows with unknown VA (-2) and dropped codes.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from contemo.data.affectnet import COLUMNS


def make_va_set(root: Path, count: int = 24, size: int = 40, identities: int | None = None,
                seed: int = 0) -> Path:
    """Write `count` colour-coded images + training.csv; every 7th row has VA -2 (unknown)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(count):
        v, a = (float(x) for x in rng.uniform(-0.9, 0.9, 2))
        pixels = np.zeros((size, size, 3), np.uint8)
        pixels[..., 0] = int((v + 1) * 127)
        pixels[..., 1] = int((a + 1) * 127)
        pixels[size // 4: size // 2, size // 4: 3 * size // 4, 2] = 200
        rel = f"{i % 3}/img{i:03d}.png"
        path = root / "Manually_Annotated_Images" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path)
        unknown = i % 7 == 6
        row = {"subDirectory_filePath": rel, "face_x": "", "face_y": "", "face_width": "",
               "face_height": "", "facial_landmarks": "", "expression": i % 8,
               "valence": -2 if unknown else round(v, 4), "arousal": -2 if unknown else round(a, 4)}
        if identities:
            row["identity"] = f"p{i % identities}"
        rows.append(row)
    rows.append({**rows[0], "expression": 9})  # AffectNet's "uncertain": dropped by the layout
    manifest = root / "Manually_Annotated_file_lists" / "training.csv"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*COLUMNS, *(["identity"] if identities else [])])
        writer.writeheader()
        writer.writerows(rows)
    return root


def calibrated_tiny_regressor(seed: int = 0):
    """Return an untrained tiny VARegressor whose BatchNorm statistics fit random images.

    A fresh network in eval mode uses unit running variances, under which its signal
    fades layer by layer until every image gets the same features; one pass in train
    mode with cumulative statistics gives features that tell images apart (for FID tests).
    """
    import torch

    from contemo.models.regressor import RegressorConfig, VARegressor

    torch.manual_seed(seed)
    model = VARegressor(RegressorConfig(input_size=32, width_mult=0.25, feature_dim=16))
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # cumulative average
            module.reset_running_stats()
    model.train()
    with torch.no_grad():
        model(torch.rand(32, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2 - 1)
    return model.eval()
