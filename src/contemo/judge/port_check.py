"""Checking the judge's PyTorch port against outputs the original Keras model gave.

`tests/fixtures/judge/make_reference.py` ran the ``fer`` package's Keras model
(TensorFlow, in a separate environment) on three input groups and stored its softmax
outputs in ``reference.npz``: drawn faces and random images (inputs stored too) and
every London face (inputs *not* stored: that set is never copied into the repository;
only file names, a hash of each exact network input and the outputs are kept).
`compare` reruns the port on the same inputs and reports the agreement per group.

This module imports no torch at the top so the reference script, which runs under
TensorFlow's environment, can share `london_input` and `london_files` with it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from contemo.errors import ContemoError

if TYPE_CHECKING:
    from contemo.judge.model import Judge

INPUT_SUFFIX = "_inputs"  # groups whose uint8 inputs the fixture stores: drawn, random, synth
LONDON = "london"


def input_groups(ref: np.lib.npyio.NpzFile) -> list[str]:
    """Return the names of the reference's groups that store their inputs, in file order."""
    return [key[: -len(INPUT_SUFFIX)] for key in ref.files if key.endswith(INPUT_SUFFIX)]


def london_files(root: str | Path) -> list[Path]:
    """Return the London set's neutral and smiling image files, in scan order."""
    from contemo.data.london import scan_london

    return [record.path for record in scan_london(root).records]


def london_input(path: str | Path) -> np.ndarray:
    """Return a face file as the judge's exact uint8 (64, 64) input: PIL 'L', bicubic resize."""
    with Image.open(path) as im:
        grey = im.convert("L").resize((64, 64), Image.Resampling.BICUBIC)
    return np.asarray(grey, dtype=np.uint8)


def input_hash(grey: np.ndarray) -> str:
    """Return the SHA-256 of one uint8 network input (to prove both sides saw the same pixels)."""
    return hashlib.sha256(np.ascontiguousarray(grey, dtype=np.uint8).tobytes()).hexdigest()


def agreement(ours: np.ndarray, reference: np.ndarray) -> dict[str, float | int]:
    """Return n, max |softmax difference| and top-1 agreement of two (N, 7) probability arrays."""
    return {
        "n": len(ours),
        "max_abs_diff": float(np.abs(ours - reference).max()),
        "top1_agreement": float((ours.argmax(1) == reference.argmax(1)).mean()),
    }


def compare(
    reference: str | Path, judge: Judge, london_root: str | Path | None = None
) -> dict[str, Any]:
    """Return {group: agreement} for the port against the stored Keras outputs.

    The London group is compared only when `london_root` is a folder; its inputs are
    rebuilt from the files and must hash to what the Keras side saw, else it raises.
    """
    import torch

    ref = np.load(reference, allow_pickle=False)
    out: dict[str, Any] = {}
    for group in input_groups(ref):
        grey = torch.from_numpy(ref[f"{group}_inputs"])
        probs = judge.score_grey_uint8(grey)["probs"].cpu().numpy()
        out[group] = agreement(probs, ref[f"{group}_probs"])
    if london_root is not None and Path(london_root).is_dir():
        root = Path(london_root)
        names = [str(n) for n in ref["london_files"]]
        grey = np.stack([london_input(root / name) for name in names])
        mismatched = [n for n, g, h in zip(names, grey, ref["london_sha256"]) if input_hash(g) != h]
        if mismatched:
            raise ContemoError(
                f"{len(mismatched)} London inputs differ from the reference's (first "
                f"{mismatched[0]}): the files or PIL's resize changed since make_reference.py"
            )
        probs = judge.score_grey_uint8(torch.from_numpy(grey))["probs"].cpu().numpy()
        out[LONDON] = agreement(probs, ref["london_probs"])
    out["all"] = _pooled(out)
    return out


def _pooled(groups: dict[str, dict]) -> dict[str, float | int]:
    """Return the agreement over every compared input (max of maxima, n-weighted agreement)."""
    n = sum(g["n"] for g in groups.values())
    return {
        "n": n,
        "max_abs_diff": max(g["max_abs_diff"] for g in groups.values()),
        "top1_agreement": sum(g["top1_agreement"] * g["n"] for g in groups.values()) / n,
    }
