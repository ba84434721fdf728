"""Face-aware crops: make the face fill the frame the same way for every image of a set.

The paper resized whole FACES frames and needed nothing more, because a studio set
puts every face in the same place. Whole frames waste most of a 64-px image on
background, shoulders and hair, which is why a GAN trained on London's whole frames
gave one blurry average face. Two modes:

* ``fixed``: studio sets (FACES, London). dlib's HOG detector runs on every image
  once; the median face box, widened by ``scale``, becomes *one* box for the whole
  set (as fractions of the frame), so the crop never jitters between images and
  head size and position stay what the studio made them.
* ``detect``: in-the-wild folders. Every image gets its own detected box, widened
  by ``scale``; an image with no face is a problem (skipped with --skip-bad).

Detection is slow next to decoding, so the result is kept on disk in the dataset
cache (keyed by the files, their sizes and times, the mode and the scale) and the
resolved box is written into the run's config, so `generate` knows how the faces
the model learnt were framed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from contemo.data.records import FaceRecord
from contemo.errors import ContemoError

CROP_MODES = ("none", "fixed", "detect")
DETECT_SIDE = 320  # detection runs on a copy scaled to this longest side (HOG finds >= 80 px)
CACHE_ENV = "CONTEMO_CACHE"
CACHE_VERSION = 1


@dataclass(frozen=True)
class CropSpec:
    """How faces are framed before resizing; `box` is filled in by `resolve_crop`."""

    mode: str = "none"  # none | fixed | detect
    scale: float = 1.6  # crop side / detector box side: 1.6 keeps brows, chin and a little hair
    lift: float = 0.1  # move the crop up by this share of the box: the detector box sits low
    box: tuple[float, float, float, float] | None = None  # fixed: (left, top, right, bottom) 0..1
    found: int = 0  # images in which a face was found
    cropped: int = 0  # images cropped (fixed: all; detect: those with a face)
    images: int = 0  # images looked at

    def __post_init__(self) -> None:
        if self.mode not in CROP_MODES:
            raise ContemoError(f"crop mode {self.mode!r}: expected one of {', '.join(CROP_MODES)}")
        if not 0.5 <= self.scale <= 4.0:
            raise ContemoError(f"crop scale {self.scale}: expected a number in [0.5, 4]")
        if not -0.5 <= self.lift <= 0.5:
            raise ContemoError(f"crop lift {self.lift}: expected a number in [-0.5, 0.5]")

    def to_dict(self) -> dict[str, Any]:
        """Return the crop as JSON data (written into run and generator configs)."""
        data = asdict(self)
        data["box"] = None if self.box is None else [round(b, 5) for b in self.box]
        return data


def detector():
    """Return dlib's HOG frontal face detector (the one-line install error where dlib is missing).

    The detector needs no model file, so the crop does not load face_id's descriptor models.
    """
    from contemo.models.face_id import load_dlib

    return load_dlib().get_frontal_face_detector()


def detect_box(path: Path, find) -> tuple[float, float, float, float] | None:
    """Return the largest face's (left, top, right, bottom) as fractions of the frame, or None."""
    from contemo.data.images import load_grey_for_detection

    grey, (width, height) = load_grey_for_detection(path, DETECT_SIDE)
    zoom = grey.shape[1] / width
    # Small frames (48-px in-the-wild crops) need dlib's own upsampling to reach 80-px faces.
    upsample = 0 if min(grey.shape) >= 160 else 2 if min(grey.shape) < 80 else 1
    faces = find(np.ascontiguousarray(grey), upsample)
    if len(faces) == 0:
        return None
    best = max(faces, key=lambda r: r.width() * r.height())
    return (best.left() / zoom / width, best.top() / zoom / height,
            best.right() / zoom / width, best.bottom() / zoom / height)


def widen(box: Sequence[float], scale: float, lift: float) -> tuple[float, float, float, float]:
    """Return a square box around `box`'s centre, `scale` times its side, moved up by `lift`.

    Fractions of a square frame are used as is; the box may reach outside [0, 1]
    (the loader pads with the edge colour there rather than squashing the face).
    """
    left, top, right, bottom = box
    side = max(right - left, bottom - top) * scale
    cx = (left + right) / 2
    cy = (top + bottom) / 2 - lift * (bottom - top)
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def resolve_crop(records: Sequence[FaceRecord], spec: CropSpec, *, skip_bad: bool = False,
                 cache_dir: Path | None = None) -> tuple[list[FaceRecord], CropSpec, list[str]]:
    """Return (records with their crop, the resolved spec, problems) for a set.

    `fixed` sets one shared box; `detect` gives each record its own. Either way the
    records carry the box in `crop` (fractions), which `load_face` applies.
    """
    if spec.mode == "none":
        return list(records), replace(spec, images=len(records)), []
    boxes = _detected(records, spec, cache_dir)
    found = [b for b in boxes if b is not None]
    problems: list[str] = []
    if spec.mode == "fixed":
        if not found:
            raise ContemoError("crop=fixed: dlib found no face in any image of the set; "
                               "use crop=none or crop=detect")
        median = np.median(np.asarray(found), axis=0)
        box = widen(median, spec.scale, spec.lift)
        out = [replace(r, crop=box) for r in records]
        return out, replace(spec, box=box, found=len(found), cropped=len(out),
                            images=len(records)), problems
    out = []
    for record, box in zip(records, boxes):
        if box is None:
            problems.append(f"{record.path}: no face found (crop=detect)")
            continue
        out.append(replace(record, crop=widen(box, spec.scale, spec.lift)))
    if problems and not skip_bad:
        more = f" (and {len(problems) - 1} more; pass --skip-bad)" if len(problems) > 1 else \
            " (pass --skip-bad to skip it)"
        raise ContemoError(problems[0] + more)
    return out, replace(spec, found=len(found), cropped=len(out), images=len(records)), problems


def _detected(records: Sequence[FaceRecord], spec: CropSpec, cache_dir: Path | None
              ) -> list[tuple[float, float, float, float] | None]:
    """Return each record's detected face box, from the disk cache where it was computed before."""
    cache = (cache_dir or default_cache_dir()) / f"faces-{_key(records)}.json"
    if cache.is_file():
        try:
            data = json.loads(cache.read_text())
            if data.get("version") == CACHE_VERSION and len(data["boxes"]) == len(records):
                return [None if b is None else tuple(b) for b in data["boxes"]]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged cache is recomputed, never trusted
    find = detector()
    boxes = []
    for record in tqdm(records, desc="finding faces", unit="img", disable=None, leave=False):
        try:
            boxes.append(detect_box(record.path, find))
        except ContemoError:
            boxes.append(None)  # unreadable: the decoder reports it with its own message
    try:
        from contemo.fileio import atomic_write_json

        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(cache, {"version": CACHE_VERSION, "boxes": boxes})
    except OSError:
        pass  # a read-only cache only costs the detection next time
    return boxes


def _key(records: Sequence[FaceRecord]) -> str:
    """Return a short hash of the files (path, size, mtime): the cache is stale when they change."""
    h = hashlib.sha256()
    for record in records:
        try:
            st = record.path.stat()
            h.update(f"{record.path.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{record.path}|missing\n".encode())
    return h.hexdigest()[:20]


def default_cache_dir() -> Path:
    """Return where detected boxes are kept: $CONTEMO_CACHE, else ~/.cache/contemo."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "contemo"
    return Path(root) / "crops"
