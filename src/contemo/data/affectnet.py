"""The AffectNet layout: a manifest CSV of image paths, face boxes, expression codes and VA.

Real AffectNet ships `training.csv` / `validation.csv` (in Manually_Annotated_file_lists/)
and the images under Manually_Annotated_Images/, with `subDirectory_filePath` relative
to that folder. Codes 8-10 (none, uncertain, no face) are dropped; a valence or
arousal of -2 means "not annotated" and is kept as unknown (the categorical label
is still good). Surprise and contempt keep their class and VA but have no training label.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

from contemo.data.files import shown
from contemo.data.manifest import find_manifests, parse_number, read_header, require_columns, rows
from contemo.data.records import FaceRecord, ScanResult, categorical_record
from contemo.emotions import (
    AFFECTNET_CLASSES,
    AFFECTNET_DROPPED_CODES,
    AFFECTNET_INVALID_VA,
    FROM_AFFECTNET,
)
from contemo.errors import ContemoError

COLUMNS = (
    "subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
    "facial_landmarks", "expression", "valence", "arousal",
)
IMAGE_FOLDER = "Manually_Annotated_Images"  # where real AffectNet keeps its images
PREFERRED_MANIFEST = "training.csv"
DROPPED_CODES = "expression 8-10 (none/uncertain/no face)"
INVALID_VA = "valence/arousal -2 (kept, VA unknown)"


def find_manifest(root: Path) -> Path:
    """Return the AffectNet manifest for `root`: the CSV itself, or the one CSV found in it."""
    if root.is_file():
        return root
    found = find_manifests(root, COLUMNS)
    if len(found) == 1:
        return found[0]
    preferred = [p for p in found if p.name == PREFERRED_MANIFEST]
    if len(preferred) == 1:
        return preferred[0]
    if not found:
        raise ContemoError(
            f"{root}: no AffectNet manifest CSV (with columns {', '.join(COLUMNS)}) "
            "in this folder or one level below; pass --manifest FILE"
        )
    names = ", ".join(str(p.relative_to(root)) for p in found)
    raise ContemoError(f"{root}: several AffectNet manifests ({names}); pick one with --manifest")


def scan_affectnet(root: str | Path, manifest: str | Path | None = None) -> ScanResult:
    """Return the usable rows of an AffectNet manifest as records; bad rows become problems."""
    root = Path(root).expanduser()
    if not root.exists():
        raise ContemoError(f"{root}: no such AffectNet folder or manifest")
    csv_path = Path(manifest).expanduser() if manifest else find_manifest(root)
    require_columns(csv_path, read_header(csv_path), COLUMNS)
    image_root = root if root.is_dir() else root.parent
    bases = list(dict.fromkeys([
        image_root, image_root / IMAGE_FOLDER, csv_path.parent, csv_path.parent / IMAGE_FOLDER,
        csv_path.parent.parent / IMAGE_FOLDER,
    ]))
    result = ScanResult(records=[], problems=[], layout="affectnet", root=image_root)
    result.notes.append(f"manifest: {csv_path}")
    dropped: Counter = Counter()
    any_rows = False
    for line, row in rows(csv_path):
        any_rows = True
        where = f"{shown(csv_path, image_root)} line {line}"
        try:
            record = _record(row, bases, dropped)
        except ValueError as err:
            result.problems.append(f"{where}: {err}")
            continue
        if record is not None:
            result.records.append(dataclasses.replace(record, meta={**record.meta, "row": line}))
    if not any_rows:
        raise ContemoError(f"{csv_path}: manifest has a header but no rows")
    result.dropped = dict(dropped)
    return result


def _record(row: dict[str, str], bases: list[Path], dropped: Counter) -> FaceRecord | None:
    """Return one manifest row's record, None for a dropped code; ValueError says what is wrong."""
    code = parse_number(row["expression"], int, "expression")
    if code in AFFECTNET_DROPPED_CODES:
        dropped[DROPPED_CODES] += 1
        return None
    if not 0 <= code < len(AFFECTNET_CLASSES):
        raise ValueError(f"expression {code} is not an AffectNet code (expected 0-10)")
    va = [parse_number(row[k], float, k) for k in ("valence", "arousal")]
    if AFFECTNET_INVALID_VA in va:
        dropped[INVALID_VA] += 1
        valence = arousal = None
    else:
        for key, value in zip(("valence", "arousal"), va):
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"{key} {value:g} is outside [-1, 1] (and not -2 = invalid)")
        valence, arousal = va
    path = _resolve(row["subDirectory_filePath"], bases)
    name = AFFECTNET_CLASSES[code]
    category = FROM_AFFECTNET[name] or name
    record = categorical_record(path, category, bbox=_bbox(row))
    return dataclasses.replace(record, valence=valence, arousal=arousal)


def _bbox(row: dict[str, str]) -> tuple[int, int, int, int] | None:
    """Return the face box (x, y, w, h), or None when all four fields are empty (whole image)."""
    keys = ("face_x", "face_y", "face_width", "face_height")
    if all(row[k] == "" for k in keys):
        return None
    x, y, w, h = (parse_number(row[k], int, k) for k in keys)
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise ValueError(f"face box x={x} y={y} w={w} h={h} is empty or negative")
    return (x, y, w, h)


def _resolve(relative: str, bases: list[Path]) -> Path:
    """Return the existing image file `relative` names, trying each base folder in turn."""
    if not relative:
        raise ValueError("subDirectory_filePath is empty")
    for base in bases:
        candidate = base / relative
        if candidate.is_file():
            if base is not bases[0]:
                bases.remove(base)  # most rows share one base; try it first from now on
                bases.insert(0, base)
            return candidate
    others = len(bases) - 1
    raise ValueError(f"image {relative!r} not found under {bases[0]} or {others} other folders")
