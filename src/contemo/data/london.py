"""The Face Research Lab London Set: 102 adults, each neutral and smiling, frontal, studio-lit.

Layout of the public release: neutral_front/NNN_03.jpg (neutral) and
smiling_front/NNN_08.jpg (smiling = happy), with london_info.csv giving each
face's id, age, gender and ethnic group (DeBruine & Jones 2017, CC BY 4.0).
"""

from __future__ import annotations

import re
from pathlib import Path

from contemo.data.files import image_files, require_folder, shown
from contemo.data.manifest import read_header, rows
from contemo.data.records import ScanResult, categorical_record
from contemo.errors import ContemoError

# folder -> (emotion, the picture number every file in it carries)
FOLDERS: dict[str, tuple[str, str]] = {
    "neutral_front": ("neutral", "03"),
    "smiling_front": ("happy", "08"),
}
INFO_CSV = "london_info.csv"
NAME = re.compile(r"^(\d{3})_(\d{2})$")


def scan_london(root: str | Path) -> ScanResult:
    """Return the London set's neutral and smiling faces with age/gender/ethnicity metadata."""
    folder = require_folder(root, "London set folder")
    present = [name for name in FOLDERS if (folder / name).is_dir()]
    if not present:
        raise ContemoError(
            f"{folder}: not a London set (expected folders {', '.join(FOLDERS)})"
        )
    info = _info(folder / INFO_CSV)
    result = ScanResult(records=[], problems=[], layout="london", root=folder)
    for missing in sorted(set(FOLDERS) - set(present)):
        result.notes.append(f"folder {missing}/ is absent")
    for sub in present:
        emotion, number = FOLDERS[sub]
        files = image_files(folder / sub)
        if not files:
            result.problems.append(f"{sub}/: no image files")
        for path in files:
            fields = NAME.match(path.stem)
            if fields is None or fields.group(2) != number or path.parent != folder / sub:
                result.problems.append(
                    f"{shown(path, folder)}: not a London file name "
                    f"(expected {sub}/NNN_{number}.jpg)"
                )
                continue
            person = fields.group(1)
            meta = {"person": person, **info.get(person, {})}
            result.records.append(categorical_record(path, emotion, meta))
    return result


def _info(path: Path) -> dict[str, dict[str, object]]:
    """Return face id -> {age, gender, ethnicity} from london_info.csv ({} if it is absent)."""
    if not path.is_file():
        return {}
    header = read_header(path)
    if "face_id" not in header:
        raise ContemoError(f"{path}: missing column face_id (expected face_id, face_age, ...)")
    info: dict[str, dict[str, object]] = {}
    for _, row in rows(path):
        meta: dict[str, object] = {}
        if row.get("face_age", "").isdigit():
            meta["age"] = int(row["face_age"])
        if row.get("face_gender"):
            meta["gender"] = row["face_gender"]
        if row.get("face_eth"):
            meta["ethnicity"] = row["face_eth"]
        info[row["face_id"].zfill(3)] = meta
    return info
