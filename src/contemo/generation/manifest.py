"""The manifest of generated images: a CSV that is also a continuously-labelled data set.

Columns: ``path`` (relative to the CSV), ``seed``, ``step`` (column of the grid), the
6 label weights under their emotion names, ``valence`` and ``arousal`` (the label's
VA, ``emotions.label_va`` with the checkpoint's anchors) and ``emotion`` (the name when
the label is one-hot, blank for blends). That is the csv layout of
``contemo.data.generic``: ``contemo data check OUT --layout csv`` reads it and every
image comes back with its VA.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np

from contemo.emotions import EMOTIONS, label_va

MANIFEST = "manifest.csv"
COLUMNS: tuple[str, ...] = ("path", "seed", "step", *EMOTIONS, "valence", "arousal", "emotion")


def row(path: str, seed: int, step: int, label: np.ndarray,
        anchors: dict[str, tuple[float, float]] | None = None) -> list[str]:
    """Return one manifest row; weights with 7 significant digits (float32 round-trips, sums
    stay within 1e-6 of 1)."""
    valence, arousal = label_va(label, anchors)
    hot = np.flatnonzero(label)
    emotion = EMOTIONS[hot[0]] if len(hot) == 1 else ""
    return [path, str(seed), str(step), *(f"{float(w):.7g}" for w in label),
            f"{valence:.6g}", f"{arousal:.6g}", emotion]


class ManifestWriter:
    """Stream manifest rows to a temp file that replaces OUT/manifest.csv only on success.

    A crashed or interrupted job leaves any previous manifest untouched, so a manifest
    never lists images that were not written.
    """

    def __init__(self, out_dir: str | Path, name: str = MANIFEST) -> None:
        self.path = Path(out_dir) / name
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.path.parent)
        self._tmp = Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self._tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide a data set from others
        self._fh = os.fdopen(fd, "w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._fh)
        self._csv.writerow(COLUMNS)
        self.rows = 0

    def write(self, values: list[str]) -> None:
        """Append one row (see `row`)."""
        self._csv.writerow(values)
        self.rows += 1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._fh.flush()
        if kind is None:
            os.fsync(self._fh.fileno())
        self._fh.close()
        if kind is None:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)
