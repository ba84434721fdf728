"""Tiny data sets in the real on-disk formats (FACES names, AffectNet CSV, folders, CSV, London)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from PIL import Image

from contemo.data.affectnet import COLUMNS
from contemo.emotions import FACES_CODES


def _london_root() -> Path:
    """Return the real London set folder ($CONTEMO_LONDON_FACES, ../shared/data or /work/shared)."""
    candidates = [os.environ.get("CONTEMO_LONDON_FACES", ""),
                  Path(__file__).resolve().parents[2] / "shared" / "data" / "london-faces",
                  "/work/shared/data/london-faces"]
    return next((Path(c) for c in candidates if c and Path(c).is_dir()), Path(candidates[-1]))


LONDON = _london_root()  # the real Face Research Lab London Set, read in place (never copied)
RED, BLUE = (230, 20, 20), (20, 20, 230)


def write_image(path: Path, size=(48, 40), color=(128, 128, 128), box=None, box_color=RED) -> Path:
    """Write a flat-coloured image (with an optional painted box x, y, w, h); return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, color)
    if box is not None:
        x, y, w, h = box
        im.paste(Image.new("RGB", (w, h), box_color), (x, y))
    im.save(path, quality=95) if path.suffix.lower() in (".jpg", ".jpeg") else im.save(path)
    return path


def make_faces(root: Path, people: int = 3, suffix: str = ".jpg") -> Path:
    """Write people x 6 emotions x 2 picture sets with FACES names, in per-person sub-folders."""
    ages, genders = "ymo", "mf"
    for p in range(1, people + 1):
        for code in FACES_CODES:
            for picture_set in "ab":
                name = f"{p:03d}_{ages[p % 3]}_{genders[p % 2]}_{code}_{picture_set}{suffix}"
                write_image(root / f"person{p}" / name, color=(40 * p, 60, 90))
    return root


# (expression code, valence, arousal) rows of the AffectNet fixture.
AFFECTNET_ROWS = [
    (0, 0.0, 0.1), (1, 0.8, 0.4), (2, -0.6, -0.3), (3, 0.3, 0.7), (4, -0.6, 0.6),
    (5, -0.5, 0.3), (6, -0.5, 0.6), (7, -0.4, 0.2), (1, -2.0, -2.0),
    (8, 0.1, 0.1), (9, -2.0, -2.0), (10, -2.0, -2.0),
]
FACE_BOX = (10, 6, 20, 24)  # x, y, w, h of the painted face in every AffectNet fixture image


def write_affectnet_csv(path: Path, rows: list[dict]) -> Path:
    """Write an AffectNet manifest with its exact columns; `rows` fill in what they name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({"facial_landmarks": "1.0;2.0;3.0;4.0", **row})
    return path


def make_affectnet(root: Path) -> Path:
    """Write an AffectNet-style tree: Manually_Annotated_Images/ and file_lists/training.csv."""
    rows = []
    for i, (code, valence, arousal) in enumerate(AFFECTNET_ROWS):
        rel = f"{i % 3 + 1}/img{i:02d}.jpg"
        write_image(root / "Manually_Annotated_Images" / rel, (60, 44), BLUE, FACE_BOX)
        x, y, w, h = FACE_BOX
        rows.append({"subDirectory_filePath": rel, "face_x": x, "face_y": y, "face_width": w,
                     "face_height": h, "expression": code, "valence": valence, "arousal": arousal})
    write_affectnet_csv(root / "Manually_Annotated_file_lists" / "training.csv", rows)
    return root


def make_folder(root: Path) -> Path:
    """Write a folder-per-emotion set using some synonyms (anger, happiness) and surprise."""
    for folder, count in [("neutral", 2), ("anger", 2), ("Happiness", 3), ("surprise", 1)]:
        for i in range(count):
            write_image(root / folder / f"{i}.png")
    return root


def make_london(root: Path, people: int = 4) -> Path:
    """Write a London-set-style tree with london_info.csv."""
    lines = ["face_id,face_age,face_gender,face_eth"]
    for p in range(1, people + 1):
        write_image(root / "neutral_front" / f"{p:03d}_03.jpg", (64, 64))
        write_image(root / "smiling_front" / f"{p:03d}_08.jpg", (64, 64))
        lines.append(f"{p:03d},{20 + p},{'female' if p % 2 else 'male'},white")
    (root / "london_info.csv").write_text("\n".join(lines) + "\n")
    return root
