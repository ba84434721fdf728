"""The generator's release: ``config.json`` + ``generator.safetensors``; nothing pickled.

A released generator folder is all that inference needs. ``config.json`` carries the
model shape, the emotion order and VA anchors it was trained with (a reader with a
different order must refuse it, not silently permute emotions), a description of the
training data and the contemo version. Weights are the EMA generator's, BatchNorm
buffers included, as safetensors: loading one can never run code. The format itself
(writer, reader, weights) is contemo.models.release, shared with the VA regressor.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from contemo.emotions import EMOTIONS, VA_ANCHORS
from contemo.errors import ContemoError
from contemo.models.config import ModelConfig
from contemo.models.dcgan import Generator
from contemo.models.release import (
    CONFIG_FILE,
    Kind,
    load_weights,
    read_release,
    register,
)

FORMAT = "contemo-generator/1"
WEIGHTS_FILE = "generator.safetensors"
DEFAULT_CHECKPOINT = "generator-synth64"  # folder under contemo/assets shipped in the package


def describe(generator: Generator, *, trained_emotions: list[str] | None = None,
             preprocess: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return a generator release's config.json fields besides format, version and training.

    `trained_emotions` (default: all six) are the emotions the data had images of; a
    reader refuses labels that weigh any other. `preprocess` says how the training
    faces were framed (the face crop), so users can frame real photos the same way.
    """
    return {
        "model": generator.config.to_dict(),
        "emotions": list(EMOTIONS),
        "va_anchors": {e: list(VA_ANCHORS[e]) for e in EMOTIONS},
        "trained_emotions": list(trained_emotions or EMOTIONS),
        "preprocess": preprocess or {},
    }


register(Generator, Kind(FORMAT, WEIGHTS_FILE, describe))


def resolve_model_dir(model_dir: str | Path | None) -> Path:
    """Return the release folder meant by `model_dir`: a folder, a run folder or a shipped name.

    A training run folder holds its release in generator/; a short name such as
    ``london64`` names a generator shipped inside the package (assets/generator-NAME).
    """
    if model_dir is None:
        return default_checkpoint()
    folder = Path(model_dir)
    if not folder.exists() and str(model_dir) in shipped_generators():
        return shipped_generators()[str(model_dir)]
    if (folder / "generator" / CONFIG_FILE).is_file():
        return folder / "generator"  # a run folder: its own config.json is the training config
    if not folder.exists():
        names = ", ".join(shipped_generators())
        raise ContemoError(f"{folder}: checkpoint folder not found (shipped names: {names})")
    return folder


def shipped_generators() -> dict[str, Path]:
    """Return short name -> folder of every generator shipped in the package (synth64, ...)."""
    assets = Path(str(resources.files("contemo") / "assets"))
    return {p.name.removeprefix("generator-"): p for p in sorted(assets.glob("generator-*"))
            if (p / CONFIG_FILE).is_file()}


def trained_emotions(meta: dict[str, Any], where: str = "config.json") -> tuple[str, ...]:
    """Return the emotions a release was trained on (all six when its config predates the key)."""
    names = meta.get("trained_emotions")
    if names is None:
        return tuple(EMOTIONS)
    if not isinstance(names, list) or not names or any(n not in EMOTIONS for n in names) \
            or list(names) != [e for e in EMOTIONS if e in names]:
        raise ContemoError(f"{where}: field 'trained_emotions' must be a non-empty subset of "
                           f"{', '.join(EMOTIONS)} in that order")
    return tuple(names)


def read_config(model_dir: str | Path) -> dict[str, Any]:
    """Return the validated config.json of a released generator folder (or run folder, or name)."""
    folder = resolve_model_dir(model_dir)
    path = folder / CONFIG_FILE
    meta = read_release(folder, FORMAT, WEIGHTS_FILE, "checkpoint")
    if meta.get("emotions") != list(EMOTIONS):
        raise ContemoError(
            f"{path}: field 'emotions' is {meta.get('emotions')!r}; this contemo uses "
            f"{list(EMOTIONS)!r} and will not reorder a model's labels"
        )
    meta["model_config"] = ModelConfig.from_dict(meta["model"], f"{path}: field 'model'")
    meta["trained_emotions"] = list(trained_emotions(meta, str(path)))
    meta["folder"] = str(folder)
    if "va_anchors" in meta:
        meta["va_anchors"] = check_anchors(meta["va_anchors"], f"{path}: field 'va_anchors'")
    return meta


def check_anchors(anchors: Any, where: str) -> dict[str, list[float]]:
    """Return VA anchors {emotion: [valence, arousal]} after checking every emotion has a finite
    point in [-1, 1]^2 (a missing, short or NaN anchor would silently skew every VA target)."""
    if not isinstance(anchors, dict) or set(anchors) != set(EMOTIONS):
        raise ContemoError(f"{where}: expected an object with one [valence, arousal] per emotion "
                           f"({', '.join(EMOTIONS)})")
    out = {}
    for e in EMOTIONS:
        point = anchors[e]
        if (not isinstance(point, list) or len(point) != 2
                or not all(isinstance(x, int | float) and not isinstance(x, bool)
                           and math.isfinite(x) and -1.0 <= x <= 1.0 for x in point)):
            raise ContemoError(f"{where}.{e}: expected [valence, arousal], two numbers in "
                               f"[-1, 1], got {str(point)[:60]}")
        out[e] = [float(x) for x in point]
    return out


def from_pretrained(model_dir: str | Path | None = None, device: str | torch.device = "cpu"
                    ) -> tuple[Generator, dict[str, Any]]:
    """Return (generator in eval mode, its config.json) from a release folder (default: shipped)."""
    folder = resolve_model_dir(model_dir)
    meta = read_config(folder)
    generator = Generator(meta["model_config"])
    load_weights(generator, folder / WEIGHTS_FILE)
    return generator.to(device).eval(), meta


def default_checkpoint() -> Path:
    """Return the folder of the generator shipped inside the package (trained on synth64)."""
    folder = Path(str(resources.files("contemo") / "assets" / DEFAULT_CHECKPOINT))
    if not (folder / CONFIG_FILE).is_file():
        raise ContemoError(
            f"{folder}: the shipped checkpoint is missing; reinstall contemo or pass --checkpoint"
        )
    return folder
