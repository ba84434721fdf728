"""Resumable training checkpoints: tensors as safetensors, everything else as a JSON sidecar.

A checkpoint is ``checkpoint-NNNNNN.safetensors`` (weights, optimizer moments, RNG
states) plus ``checkpoint-NNNNNN.json`` (step, counters, optimizer hyper-parameters,
non-tensor RNG state, the SHA-256 of the tensor file). Both are written atomically and
the JSON last: it is the commit marker, so a checkpoint whose JSON exists is complete,
and a checkpoint a crash interrupted is simply not there. Nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from contemo.errors import ContemoError
from contemo.fileio import atomic_write, atomic_write_json, load_tensors

FORMAT = "contemo-train-state/1"
NAME = re.compile(r"^checkpoint-(\d{6,})\.json$")
_KEEP_GROUP_KEYS = ("fused", "foreach", "capturable")  # device-specific: the new run's choice


def _sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def flatten_optimizer(prefix: str, state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict]:
    """Return (tensors, JSON data) holding an optimizer state_dict without pickling it."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entry in state["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{pid}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()}
              for g in state["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def unflatten_optimizer(prefix: str, tensors: dict[str, torch.Tensor], data: dict,
                        current: dict[str, Any]) -> dict[str, Any]:
    """Return an optimizer state_dict rebuilt from flatten_optimizer's output.

    Device-specific group flags (fused, foreach) keep the values of `current`, the new
    optimizer's own state_dict, so a run can resume on other hardware.
    """
    state: dict[int, dict[str, Any]] = {}
    head = prefix + "."
    for name, value in tensors.items():
        if name.startswith(head):
            pid, key = name[len(head):].split(".", 1)
            state.setdefault(int(pid), {})[key] = value
    for pid, entry in data["scalars"].items():
        state.setdefault(int(pid), {}).update(entry)
    groups = []
    for saved, now in zip(data["param_groups"], current["param_groups"], strict=True):
        group = {k: (tuple(v) if k == "betas" else v) for k, v in saved.items()}
        group.update({k: now[k] for k in _KEEP_GROUP_KEYS if k in now})
        groups.append(group)
    return {"state": state, "param_groups": groups}


def save(folder: Path, step: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Return the JSON path of the checkpoint of `step` written atomically into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"checkpoint-{step:06d}.safetensors"
    flat = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    atomic_write(weights, lambda tmp: save_file(flat, str(tmp), {"format": FORMAT}))
    sidecar = {"format": FORMAT, "step": step, "tensors": weights.name,
               "sha256": _sha256(weights), **meta}
    return atomic_write_json(folder / f"checkpoint-{step:06d}.json", sidecar)


def list_checkpoints(folder: Path) -> list[Path]:
    """Return the checkpoint JSON files in `folder`, oldest step first."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def prune(folder: Path, keep: int) -> None:
    """Delete all but the newest `keep` checkpoints in `folder` (JSON first: never half-present)."""
    for sidecar in list_checkpoints(folder)[:-keep] if keep > 0 else []:
        weights = sidecar.with_suffix(".safetensors")
        sidecar.unlink(missing_ok=True)
        weights.unlink(missing_ok=True)


def load(sidecar: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Return (tensors, JSON data) of a checkpoint; a damaged one is a one-line ContemoError."""
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ContemoError(f"{sidecar}: not a readable checkpoint ({err.__class__.__name__})"
                           ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ContemoError(f"{sidecar}: field 'format' must be {FORMAT!r}")
    weights = sidecar.parent / str(meta.get("tensors", ""))
    if not weights.is_file():
        raise ContemoError(f"{weights}: checkpoint tensors missing")
    if _sha256(weights) != meta.get("sha256"):
        raise ContemoError(f"{weights}: checksum does not match {sidecar.name} (file damaged)")
    return load_tensors(weights), meta


def module_tensors(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Return a module's state_dict (parameters and buffers) under `prefix.`."""
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def load_module(prefix: str, module: torch.nn.Module, tensors: dict[str, torch.Tensor],
                where: Path) -> None:
    """Load `prefix.*` tensors into `module`; a shape mismatch is a one-line ContemoError."""
    head = prefix + "."
    state = {k[len(head):]: v for k, v in tensors.items() if k.startswith(head)}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as err:
        lines = [s.strip() for s in str(err).splitlines() if s.strip()]
        raise ContemoError(f"{where}: {prefix} weights do not fit this model "
                           f"({lines[1] if len(lines) > 1 else lines[0]})") from None
