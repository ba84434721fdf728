"""Resumable training checkpoints: tensors as safetensors, everything else as a JSON sidecar.

A checkpoint is ``checkpoint-NNNNNN.safetensors`` (weights, optimizer moments, RNG
states) plus ``checkpoint-NNNNNN.json`` (step, counters, optimizer hyper-parameters,
non-tensor RNG state, the SHA-256 of the tensor file). Both are written atomically and
the JSON last: it is the commit marker, so a checkpoint whose JSON exists is complete,
and a checkpoint a crash interrupted is simply not there. Nothing is pickled.

The JSON carries a SHA-256 of its own content too (``sidecar_sha256``), and every field
is checked against a schema (`Sidecar`) on load: a damaged, truncated or hand-edited
checkpoint is one line naming the file, and `newest_intact` lets resume fall back to
the newest checkpoint that passes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from contemo import schema
from contemo.errors import ContemoError
from contemo.fileio import atomic_write_json, load_tensors, read_json, write_safetensors
from contemo.models.release import require_finite

FORMAT = "contemo-train-state/1"
NAME = re.compile(r"^checkpoint-(\d{6,})\.json$")
TENSORS = re.compile(r"^checkpoint-(\d{6,})\.safetensors$")
MAX_STEP = 10**9  # a run of more steps is not a lab run; a larger number is damage
SELF_SUM = "sidecar_sha256"
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
            pid, _, key = name[len(head):].partition(".")
            state.setdefault(int(pid), {})[key] = value
    for pid, entry in data["scalars"].items():
        state.setdefault(int(pid), {}).update(entry)
    groups = []
    for saved, now in zip(data["param_groups"], current["param_groups"], strict=True):
        group = {k: (tuple(v) if k == "betas" else v) for k, v in saved.items()}
        group.update({k: now[k] for k in _KEEP_GROUP_KEYS if k in now})
        groups.append(group)
    return {"state": state, "param_groups": groups}


@dataclass(frozen=True)
class NumpyRng:
    """numpy's legacy MT19937 state besides its key array (which is a tensor)."""

    kind: Literal["MT19937"]
    pos: int
    has_gauss: int
    cached_gaussian: float


@dataclass(frozen=True)
class PythonRng:
    """Python's `random` state: version, 624 words + position, cached gauss."""

    version: int
    state: list[int]
    gauss: float | None

    def __post_init__(self) -> None:
        if len(self.state) != 625:
            raise ContemoError(f"field 'state': expected 625 integers, got {len(self.state)}")


@dataclass(frozen=True)
class Rng:
    numpy: NumpyRng
    python: PythonRng


@dataclass(frozen=True)
class OptimizerState:
    """An optimizer's state_dict without its tensors (flatten_optimizer)."""

    param_groups: list[dict[str, Any]]
    scalars: dict[str, dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class Sidecar:
    """The fields every trainer's checkpoint JSON has (others are allowed, unread).

    Each trainer adds its own (`GANSidecar`, `RegressorSidecar`); its `trainer` tag
    keeps a GAN from resuming a regressor's checkpoint and the other way round.
    """

    format: Literal["contemo-train-state/1"]
    step: int
    tensors: str
    sha256: str
    rng: Rng
    epoch: float = 0.0
    wall_time_s: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)
    sidecar_sha256: str | None = None


@dataclass(frozen=True, kw_only=True)
class GANSidecar(Sidecar):
    """A GAN checkpoint: two optimizers, the AMP scaler, the ADA probability."""

    trainer: Literal["gan"] = "gan"  # checkpoints older than the tag are the GAN's
    optG: OptimizerState
    optD: OptimizerState
    scaler: dict[str, Any] | None = None
    images_seen: int = 0
    num_processes: int = 1
    augment_p: float = 1.0  # the (adaptive) augmentation probability at this step


@dataclass(frozen=True, kw_only=True)
class RegressorSidecar(Sidecar):
    """A VA regressor checkpoint, written after each epoch: one optimizer."""

    trainer: Literal["regressor"]
    opt: OptimizerState
    epoch: int  # whole epochs done


schema.register_bounds(NumpyRng, {"pos": (0, 624), "has_gauss": (0, 1)})
schema.register_bounds(PythonRng, {"version": (3, 3), "state": (0, 2**32 - 1)})
schema.register_bounds(Sidecar, {"step": (0, MAX_STEP), "epoch": (0, 1e12),
                                 "wall_time_s": (0, 1e12)})
schema.register_bounds(GANSidecar, {"images_seen": (0, 2**62), "num_processes": (1, 1 << 20),
                                    "augment_p": (0.0, 1.0)})


def _self_sum(meta: dict[str, Any]) -> str:
    """Return the SHA-256 of a sidecar's content without its own checksum field."""
    body = {k: v for k, v in meta.items() if k != SELF_SUM}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()


def save(folder: Path, step: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Return the JSON path of the checkpoint of `step` written atomically into `folder`.

    A failed write (full disk, read-only folder) raises OSError and leaves the earlier
    checkpoints as they were; what it left behind is removed by `leftovers`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"checkpoint-{step:06d}.safetensors"
    flat = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    write_safetensors(weights, flat, {"format": FORMAT})
    sidecar = {"format": FORMAT, "step": step, "tensors": weights.name,
               "sha256": _sha256(weights), **meta}
    sidecar[SELF_SUM] = _self_sum(sidecar)
    return atomic_write_json(folder / f"checkpoint-{step:06d}.json", sidecar)


def step_of(sidecar: Path) -> int | None:
    """Return the step a checkpoint JSON's name says (checkpoint-NNNNNN.json), else None."""
    named = NAME.match(sidecar.name)
    return int(named.group(1)) if named else None


def list_checkpoints(folder: Path) -> list[Path]:
    """Return the checkpoint JSON files in `folder`, oldest step first."""
    if not folder.is_dir():
        return []
    found = [(step, p) for p in folder.iterdir() if (step := step_of(p)) is not None]
    return [p for _, p in sorted(found)]


def prune(folder: Path, keep: int, keep_every: int = 0) -> None:
    """Delete all but the newest `keep` checkpoints in `folder` (JSON first: never half-present).

    With `keep_every` > 0, checkpoints whose step is a multiple of it are kept too: the
    milestones a run can later be released at and scored.
    """
    for sidecar in list_checkpoints(folder)[:-keep] if keep > 0 else []:
        if keep_every and step_of(sidecar) % keep_every == 0:
            continue
        weights = sidecar.with_suffix(".safetensors")
        sidecar.unlink(missing_ok=True)
        weights.unlink(missing_ok=True)


def read_sidecar(sidecar: Path, kind: type[Sidecar] = GANSidecar) -> dict[str, Any]:
    """Return a checkpoint's JSON after checking its own checksum and every field of `kind`."""
    meta = read_json(sidecar, allow_nan=False)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ContemoError(f"{sidecar}: field 'format' must be {FORMAT!r}")
    if SELF_SUM in meta and meta[SELF_SUM] != _self_sum(meta):
        raise ContemoError(f"{sidecar}: content does not match its checksum "
                           "(file damaged or edited)")
    checked = schema.build(kind, meta, str(sidecar), extra="allow")
    named = step_of(sidecar)
    if named is not None and named != checked.step:
        raise ContemoError(f"{sidecar}: field 'step' is {checked.step} but the file name says "
                           f"{named}")
    if checked.tensors != f"checkpoint-{checked.step:06d}.safetensors":
        raise ContemoError(f"{sidecar}: field 'tensors' must name checkpoint-"
                           f"{checked.step:06d}.safetensors, got {checked.tensors[:80]!r}")
    if not re.fullmatch(r"[0-9a-f]{64}", checked.sha256):
        raise ContemoError(f"{sidecar}: field 'sha256' must be 64 hex digits")
    return meta


def load(sidecar: Path, kind: type[Sidecar] = GANSidecar
         ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Return (tensors, JSON data) of a `kind` checkpoint; a damaged one is one line.

    `kind` defaults to the GAN's, the trainer that had checkpoints first.
    """
    if not sidecar.is_file():
        raise ContemoError(f"{sidecar}: checkpoint not found")
    meta = read_sidecar(sidecar, kind)
    weights = sidecar.parent / meta["tensors"]
    if not weights.is_file():
        raise ContemoError(f"{weights}: checkpoint tensors missing")
    if _sha256(weights) != meta.get("sha256"):
        raise ContemoError(f"{weights}: checksum does not match {sidecar.name} (file damaged)")
    tensors = load_tensors(weights)
    require_finite(tensors, weights)
    _check_rng_tensors(tensors, weights)
    return tensors, meta


def _check_rng_tensors(tensors: dict[str, torch.Tensor], where: Path) -> None:
    """Raise a one-line ContemoError unless the RNG state tensors have the shapes restored."""
    expected = {"rng.torch": (torch.uint8, tuple(torch.get_rng_state().shape)),
                "rng.numpy": (torch.int64, (624,))}
    for name, (dtype, shape) in expected.items():
        found = tensors.get(name)
        if found is None or found.dtype != dtype or tuple(found.shape) != shape:
            raise ContemoError(f"{where}: tensor {name!r} missing or not {dtype} of shape {shape}")


def newest_intact(folder: Path, kind: type[Sidecar] = GANSidecar
                  ) -> tuple[Path | None, list[tuple[Path, str]]]:
    """Return (the newest `kind` checkpoint that loads, (sidecar, one-line reason) per newer one).

    A checkpoint damaged on disk (a bad sector, a copy cut short, an edit) must not cost
    the whole run: resume falls back to the newest one that passes every check.
    """
    skipped: list[tuple[Path, str]] = []
    for sidecar in reversed(list_checkpoints(folder)):
        try:
            load(sidecar, kind)
        except ContemoError as err:
            skipped.append((sidecar, str(err)))
            continue
        return sidecar, skipped
    return None, skipped


def set_aside(sidecar: Path) -> list[Path]:
    """Rename a damaged checkpoint's files to NAME.damaged; return the new paths.

    They stay for the user to inspect, but no longer count as checkpoints: pruning keeps
    the newest K, and a damaged newer one would otherwise take a slot (with K = 1, it
    would be kept while the good checkpoint just saved was deleted).
    """
    moved = []
    for path in (sidecar, sidecar.with_suffix(".safetensors")):
        if path.exists():
            target = path.with_name(path.name + ".damaged")
            path.replace(target)
            moved.append(target)
    return moved


def leftovers(folder: Path) -> list[Path]:
    """Return tensor files in `folder` without their JSON: a save or prune cut short by SIGKILL.

    The JSON is written last and deleted first, so a tensor file alone is never part of
    a complete checkpoint and can be removed.
    """
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if TENSORS.match(p.name)
                  and not p.with_suffix(".json").exists())


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
