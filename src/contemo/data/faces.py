"""The FACES layout (Ebner et al., 2010): files named NNN_A_G_E_S.jpg, searched recursively.

NNN is the person, A the age group (y/m/o), G the gender (m/f), E the emotion
letter (contemo.emotions.FACES_CODES) and S the picture set (a/b), e.g.
066_y_m_s_a.jpg is young male person 66 looking sad, picture set a.
"""

from __future__ import annotations

import re
from pathlib import Path

from contemo.data.files import folder_images, shown
from contemo.data.records import ScanResult, categorical_record
from contemo.emotions import FACES_CODES

NAME = re.compile(r"^(\d{3})_([a-z])_([a-z])_([a-z])_([a-z])$")
AGE_GROUPS = {"y": "young", "m": "middle", "o": "old"}
GENDERS = {"m": "male", "f": "female"}
PICTURE_SETS = ("a", "b")
EXAMPLE = "066_y_m_s_a.jpg"


def scan_faces(root: str | Path) -> ScanResult:
    """Return every FACES-named image below `root`; misnamed files become problems."""
    folder, files = folder_images(root, "FACES folder")
    result = ScanResult(records=[], problems=[], layout="faces", root=folder)
    seen: dict[tuple[str, ...], Path] = {}
    for path in files:
        name = shown(path, folder)
        fields = NAME.match(path.stem.lower())
        if fields is None:
            result.problems.append(
                f"{name}: not a FACES file name (expected NNN_A_G_E_S, e.g. {EXAMPLE})"
            )
            continue
        person, age, gender, code, picture_set = fields.groups()
        wrong = _wrong_field(age, gender, code, picture_set)
        if wrong:
            result.problems.append(f"{name}: {wrong}")
            continue
        key = fields.groups()
        if key in seen:
            result.problems.append(f"{name}: duplicate of {shown(seen[key], folder)}")
            continue
        seen[key] = path
        meta = {
            "person": person, "age_group": AGE_GROUPS[age], "gender": GENDERS[gender],
            "picture_set": picture_set,
        }
        result.records.append(categorical_record(path, FACES_CODES[code], meta))
    return result


def _wrong_field(age: str, gender: str, code: str, picture_set: str) -> str | None:
    """Return what is wrong with the lettered fields of a FACES name, or None if all are valid."""
    if code not in FACES_CODES:
        return f"unknown emotion code {code!r} (expected one of {', '.join(sorted(FACES_CODES))})"
    if age not in AGE_GROUPS:
        return f"unknown age group {age!r} (expected one of {', '.join(AGE_GROUPS)})"
    if gender not in GENDERS:
        return f"unknown gender {gender!r} (expected one of {', '.join(GENDERS)})"
    if picture_set not in PICTURE_SETS:
        return f"unknown picture set {picture_set!r} (expected one of {', '.join(PICTURE_SETS)})"
    return None
