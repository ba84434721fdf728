"""Contact sheets: labelled grids of a synthetic set, to see at a glance what was generated.

The FACES sheet has one row per age group x gender (the first such person) and
one column per emotion; the continuous sheet shows the first images with their
dominant class and ground-truth valence/arousal.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from contemo.data.faces import AGE_GROUPS as AGE_NAMES
from contemo.data.faces import GENDERS as GENDER_NAMES
from contemo.data.faces import NAME
from contemo.emotions import EMOTIONS, FACES_LETTER
from contemo.figures import grid

MIN_TILE, MAX_TILE = 64, 128


def tile_size(size: int) -> int:
    """Return the sheet's tile size for images of `size` px: shown at 64-128 px."""
    return max(MIN_TILE, min(MAX_TILE, size))


def _fit(im: Image.Image, tile: int) -> np.ndarray:
    """Return `im` as uint8 RGB at `tile` px: nearest-neighbour when enlarging (pixels stay honest)."""
    im = im.convert("RGB")
    if im.size != (tile, tile):
        method = Image.Resampling.NEAREST if im.width < tile else Image.Resampling.BICUBIC
        im = im.resize((tile, tile), method)
    return np.asarray(im)


def sheet(images: Sequence[Sequence[Image.Image]], **labels: Sequence) -> Image.Image:
    """Return the contemo.figures grid of `images` fitted to one tile size, with `labels`."""
    tile = tile_size(images[0][0].width)
    return grid([[_fit(im, tile) for im in row] for row in images], **labels)


def faces_sheet(folder: str | Path, picture_set: str = "a") -> Image.Image:
    """Return the sheet of a FACES-named folder: one person per age group x gender, 6 emotions."""
    folder = Path(folder)
    people: dict[tuple[str, str], str] = {}
    for path in sorted(folder.glob("*.jpg")):
        m = NAME.match(path.stem)
        if m:
            person, age, gender = m.group(1), m.group(2), m.group(3)
            people.setdefault((age, gender), person)
    chosen = [(people[k], *k) for k in sorted(people, key=lambda k: (
        list(AGE_NAMES).index(k[0]), list(GENDER_NAMES).index(k[1])))]
    tiles, labels = [], []
    for person, age, gender in chosen:
        row = [Image.open(folder / f"{person}_{age}_{gender}_{FACES_LETTER[e]}_{picture_set}.jpg")
               for e in EMOTIONS]
        tiles.append(row)
        labels.append(f"{person}\n{AGE_NAMES[age]} {GENDER_NAMES[gender]}")
    return sheet(tiles, col_labels=EMOTIONS, row_labels=labels)


def continuous_sheet(folder: str | Path, jobs: Sequence, columns: int = 8) -> Image.Image:
    """Return the sheet of a continuous set's first images with class and valence/arousal."""
    tiles, captions = [], []
    for start in range(0, len(jobs), columns):
        chunk = jobs[start:start + columns]
        tiles.append([Image.open(j.path) for j in chunk])
        captions.append([f"{j.row['class']}\n{j.row['valence']:+.2f},{j.row['arousal']:+.2f}"
                         for j in chunk])
    return sheet(tiles, captions=captions)
