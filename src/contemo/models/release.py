"""The release format of every trained model: ``config.json`` + safetensors weights.

One writer and one reader serve the generator and the VA regressor alike: the
weights are the module's state_dict (CPU, contiguous) as safetensors, whose metadata
and ``config.json`` both carry the model's ``format`` tag; ``config.json`` also holds
the contemo version, what the model needs to be rebuilt (its shape) and how it was
trained. Nothing is pickled: loading a release can never run code.

Each model kind registers how it is released (`register`): its format tag, weights
file name and the fields that describe it. `save_pretrained(model, folder)` then
releases any registered model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from contemo import __version__
from contemo.errors import ContemoError
from contemo.fileio import (
    atomic_write_json,
    finite_json,
    load_tensors,
    read_format_json,
    write_safetensors,
)

CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class Kind:
    """How one kind of model is released."""

    format: str  # the tag in config.json and the weights' metadata, e.g. contemo-generator/1
    weights_file: str  # e.g. generator.safetensors
    describe: Callable[..., dict[str, Any]]  # model, **extra -> config.json fields


_KINDS: dict[type, Kind] = {}


def register(cls: type, kind: Kind) -> None:
    """Declare how models of class `cls` (and its subclasses) are released."""
    _KINDS[cls] = kind


def kind_of(model: torch.nn.Module) -> Kind:
    """Return the release Kind of `model`; a model of no registered kind is a contemo bug."""
    for cls in type(model).__mro__:
        if cls in _KINDS:
            return _KINDS[cls]
    raise TypeError(f"no release format for {type(model).__name__}")


def save_pretrained(model: torch.nn.Module, out_dir: str | Path, *,
                    training: dict[str, Any] | None = None, **extra: Any) -> Path:
    """Return `out_dir` after writing `model`'s weights (CPU) and config.json into it.

    `training` says how the model was made (config, data, metrics); `extra` goes to the
    kind's `describe` (the generator's trained_emotions and preprocess).
    """
    kind = kind_of(model)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    write_safetensors(out / kind.weights_file, state, {"format": kind.format})
    atomic_write_json(out / CONFIG_FILE, {
        "format": kind.format, "contemo_version": __version__, **kind.describe(model, **extra),
        "training": finite_json(training or {}),  # an undefined metric is null, not NaN
    })
    return out


def read_release(folder: Path, fmt: str, weights_file: str, what: str) -> dict[str, Any]:
    """Return a release folder's config.json after checking its format tag and 'model' field.

    `what` names the kind for messages ("checkpoint", "regressor"); everything else a
    kind checks (emotion order, classes) is the caller's.
    """
    path = folder / CONFIG_FILE
    if not folder.is_dir():
        raise ContemoError(f"{folder}: {what} folder not found")
    meta = read_format_json(
        path, fmt, missing=f"missing (a {what} folder holds {CONFIG_FILE} + {weights_file})",
        allow_nan=False)
    if not isinstance(meta.get("model"), dict):
        raise ContemoError(f"{path}: field 'model' must be an object")
    if not isinstance(meta.get("training", {}), dict):
        raise ContemoError(f"{path}: field 'training' must be an object")
    return meta


def load_weights(module: torch.nn.Module, weights: Path) -> None:
    """Fill `module` with the tensors of `weights` (strict); a missing file or mismatch is one line."""
    if not weights.is_file():
        raise ContemoError(f"{weights}: missing")
    state = load_tensors(weights)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as err:
        lines = str(err).splitlines()
        first = lines[1].strip() if len(lines) > 1 else lines[0]
        raise ContemoError(f"{weights}: weights do not fit config.json's model ({first})"
                           ) from None
    require_finite(state, weights)


def require_finite(tensors: dict[str, torch.Tensor], where: Path) -> None:
    """Raise a one-line ContemoError if a floating tensor holds NaN or inf.

    Such weights render black or garbage images without any error, and training never
    saves them (it stops on divergence first), so they mean a damaged or forged file.
    """
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise ContemoError(f"{where}: tensor {name!r} holds {bad} NaN/inf value(s) of "
                               f"{tensor.numel()}; the file is damaged")
