"""FaceDataset: records decoded once into a uint8 tensor cache, served as [-1, 1] images.

Decoding JPEGs dominates a small GAN's epoch on CPU, so every image is decoded,
cropped and resized exactly once (in parallel threads: PIL releases the GIL while
decoding) into one (N, 3, S, S) uint8 tensor; an item is then a slice and a scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from contemo.data.images import decode_threads, load_face
from contemo.data.records import FaceRecord
from contemo.emotions import NUM_EMOTIONS
from contemo.errors import ContemoError


class FaceDataset(Dataset):
    """Return items dict(image, label, va, cls, index) for face records at one training size."""

    def __init__(
        self, records: Sequence[FaceRecord], size: int, *, center_crop: bool = False,
        cache: bool = True, skip_bad: bool = False, threads: int | None = None,
    ) -> None:
        if size < 1:
            raise ContemoError(f"image size must be a positive number of pixels, got {size}")
        self.size = size
        self.center_crop = center_crop
        self.skipped: list[str] = []  # one line per image dropped by skip_bad
        records = list(records)
        self.images_uint8: torch.Tensor | None = None
        if cache:
            records, images = self._decode_all(records, skip_bad, threads)
            self.images_uint8 = torch.from_numpy(images)
        if not records:
            raise ContemoError("no usable face images to build a data set from")
        self.records = records
        self.labels = torch.from_numpy(np.stack([_label(r) for r in records]))
        self.va = torch.tensor(
            [[_nan(r.valence), _nan(r.arousal)] for r in records], dtype=torch.float32
        )
        self.classes = torch.tensor(
            [-1 if r.affectnet_class is None else r.affectnet_class for r in records],
            dtype=torch.int64,
        )

    def _decode_all(
        self, records: list[FaceRecord], skip_bad: bool, threads: int | None
    ) -> tuple[list[FaceRecord], np.ndarray]:
        """Return the records that decoded and their images as one uint8 (N, 3, S, S) array."""
        out = np.empty((len(records), 3, self.size, self.size), dtype=np.uint8)
        ok = np.zeros(len(records), dtype=bool)

        def work(i: int) -> str | None:
            try:
                out[i] = self._load(records[i])
            except ContemoError as err:
                return str(err)
            ok[i] = True
            return None

        with ThreadPoolExecutor(max_workers=decode_threads(threads)) as pool:
            errors = list(tqdm(
                pool.map(work, range(len(records))), total=len(records), unit="img",
                desc=f"decoding faces at {self.size}px", disable=None, leave=False,
            ))
        failures = [e for e in errors if e is not None]
        if failures and not skip_bad:
            more = f" (and {len(failures) - 1} more; pass --skip-bad)" if len(failures) > 1 else ""
            raise ContemoError(failures[0] + more)
        self.skipped.extend(failures)
        kept = [r for r, good in zip(records, ok) if good]
        return kept, (out if ok.all() else out[ok])

    def _load(self, record: FaceRecord) -> np.ndarray:
        """Return one record's face as uint8 (3, S, S)."""
        return load_face(record.path, self.size, record.bbox, self.center_crop, record.crop)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        if self.images_uint8 is not None:
            pixels = self.images_uint8[index]
        else:
            pixels = torch.from_numpy(self._load(self.records[index]))
        return {
            "image": pixels.to(torch.float32) / 127.5 - 1.0,
            "label": self.labels[index],
            "va": self.va[index],
            "cls": self.classes[index],
            "index": index,
        }


def _label(record: FaceRecord) -> np.ndarray:
    """Return the record's 6-vector, zeros when it has no training label (e.g. surprise)."""
    if record.label is None:
        return np.zeros(NUM_EMOTIONS, dtype=np.float32)
    return np.asarray(record.label, dtype=np.float32)


def _nan(value: float | None) -> float:
    """Return `value`, or NaN where it is unknown."""
    return float("nan") if value is None else float(value)
