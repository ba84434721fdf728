"""Generic layouts for any labelled face set: one folder per emotion, or a CSV manifest.

Folder layout: ROOT/<emotion>/**/*.jpg, the folder name an emotion (synonyms such as
"anger" or "happiness" accepted; AffectNet-only classes such as surprise are read but
carry no training label). CSV layout: a `path` column (relative to the CSV's folder)
with an `emotion` column and/or `valence` and `arousal` columns.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from contemo.data.files import folder_images, require_folder, shown
from contemo.data.manifest import find_manifests, parse_number, read_header, require_columns, rows
from contemo.data.records import FaceRecord, ScanResult, categorical_record
from contemo.emotions import AFFECTNET_CLASSES, EMOTIONS, LabelError, canonical_emotion
from contemo.errors import ContemoError

# Folder/column names may be a training emotion or an AffectNet-only class.
VOCABULARY: tuple[str, ...] = tuple(dict.fromkeys([*EMOTIONS, *AFFECTNET_CLASSES]))


def category(name: str) -> str:
    """Return the canonical category (training spelling first) of a name; LabelError if none."""
    key = canonical_emotion(name, VOCABULARY)
    return "angry" if key == "anger" else key


def scan_folder(root: str | Path) -> ScanResult:
    """Return the images of ROOT/<emotion>/ folders; images elsewhere become problems."""
    folder, files = folder_images(root, "emotion folder")
    result = ScanResult(records=[], problems=[], layout="folder", root=folder)
    for path in files:
        parts = path.relative_to(folder).parts
        if len(parts) == 1:
            result.problems.append(
                f"{parts[0]}: image outside any emotion folder (expected ROOT/<emotion>/FILE)"
            )
            continue
        try:
            name = category(parts[0])
        except LabelError:
            result.problems.append(
                f"{shown(path, folder)}: folder {parts[0]!r} is not an emotion name "
                f"(expected one of {', '.join(VOCABULARY)})"
            )
            continue
        result.records.append(categorical_record(path, name))
    return result


def find_csv(root: Path) -> Path:
    """Return the CSV manifest for `root`: the file itself, or the one CSV with a `path` column."""
    if root.is_file():
        return root
    unreadable: list[str] = []
    found = find_manifests(require_folder(root, "manifest folder"), ["path"], unreadable)
    if len(found) != 1:
        state = "no CSV" if not found else f"{len(found)} CSVs"
        why = f" (unreadable: {unreadable[0]}{' ...' if len(unreadable) > 1 else ''})" \
            if unreadable and not found else ""
        raise ContemoError(
            f"{root}: {state} with a 'path' column in this folder or one level below{why}; "
            "pass the CSV itself or --manifest FILE"
        )
    return found[0]


def scan_csv(root: str | Path, manifest: str | Path | None = None) -> ScanResult:
    """Return the rows of a `path,emotion[,valence,arousal]` manifest; bad rows become problems."""
    root = Path(root).expanduser()
    if not root.exists():
        raise ContemoError(f"{root}: no such manifest or folder")
    csv_path = Path(manifest).expanduser() if manifest else find_csv(root)
    header = read_header(csv_path)
    require_columns(csv_path, header, ["path"])
    has_emotion = "emotion" in header
    has_va = "valence" in header or "arousal" in header
    if has_va:
        require_columns(csv_path, header, ["path", "valence", "arousal"])
    if not (has_emotion or has_va):
        raise ContemoError(
            f"{csv_path}: needs an 'emotion' column and/or 'valence' and 'arousal' columns "
            f"(found {', '.join(header)})"
        )
    result = ScanResult(records=[], problems=[], layout="csv", root=csv_path.parent)
    result.notes.append(f"manifest: {csv_path}")
    for line, row in rows(csv_path):
        try:
            result.records.append(_row_record(row, csv_path.parent, has_emotion, has_va))
        except (ValueError, LabelError) as err:
            result.problems.append(f"{csv_path.name} line {line}: {err}")
    if not result.records and not result.problems:
        raise ContemoError(f"{csv_path}: manifest has a header but no rows")
    return result


def _row_record(row: dict[str, str], base: Path, has_emotion: bool, has_va: bool) -> FaceRecord:
    """Return one CSV row's record; ValueError/LabelError say what is wrong with it."""
    if not row["path"]:
        raise ValueError("path is empty")
    path = base / row["path"]
    if not path.is_file():
        raise ValueError(f"image {row['path']!r} not found next to the manifest")
    emotion = row["emotion"] if has_emotion else ""
    va_given = has_va and (row["valence"] != "" or row["arousal"] != "")
    if not emotion and not va_given:
        raise ValueError("neither emotion nor valence/arousal given")
    if emotion:
        record = categorical_record(path, category(emotion))
    else:
        record = FaceRecord(path, None, None, None, None, None, None, {})
    if va_given:
        valence, arousal = (parse_number(row[k], float, k) for k in ("valence", "arousal"))
        for key, value in (("valence", valence), ("arousal", arousal)):
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"{key} {value:g} is outside [-1, 1]")
        record = dataclasses.replace(record, valence=valence, arousal=arousal)
    return record
