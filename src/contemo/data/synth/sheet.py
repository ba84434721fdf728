"""Contact sheets: labelled grids of a synthetic set, to see at a glance what was generated.

The FACES sheet has one row per age group x gender (the first such person) and
one column per emotion; the continuous sheet shows the first images with their
dominant class and ground-truth valence/arousal.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from contemo.data.faces import AGE_GROUPS as AGE_NAMES
from contemo.data.faces import GENDERS as GENDER_NAMES
from contemo.data.faces import NAME
from contemo.emotions import EMOTIONS, FACES_LETTER

PAPER = (255, 255, 255)
INK = (30, 30, 30)
MIN_TILE, MAX_TILE = 64, 128
GAP = 2


def _font(size: int) -> ImageFont.ImageFont:
    """Return PIL's bundled font at `size` px (a bitmap font on very old Pillow)."""
    try:
        return ImageFont.load_default(size)
    except TypeError:  # Pillow < 10.1 has no sizes
        return ImageFont.load_default()


def tile_size(size: int) -> int:
    """Return the sheet's tile size for images of `size` px: shown at 64-128 px."""
    return max(MIN_TILE, min(MAX_TILE, size))


def _fit(im: Image.Image, tile: int) -> Image.Image:
    """Return `im` at `tile` px: nearest-neighbour when enlarging (pixels stay honest)."""
    if im.size == (tile, tile):
        return im
    method = Image.Resampling.NEAREST if im.width < tile else Image.Resampling.BICUBIC
    return im.resize((tile, tile), method)


def grid(tiles: Sequence[Sequence[Image.Image]], tile: int, col_labels: Sequence[str] = (),
         row_labels: Sequence[str] = (), captions: Sequence[Sequence[str]] = ()) -> Image.Image:
    """Return a white sheet of `tiles` (rows of images) with column, row and per-tile labels."""
    font = _font(11)
    top = 16 if col_labels else 0
    left = 92 if row_labels else 0
    cap = 26 if captions else 0
    rows, cols = len(tiles), max(len(r) for r in tiles)
    sheet = Image.new("RGB", (left + cols * (tile + GAP), top + rows * (tile + cap + GAP)), PAPER)
    draw = ImageDraw.Draw(sheet)
    for j, label in enumerate(col_labels):
        draw.text((left + j * (tile + GAP) + tile // 2, 2), label, fill=INK, font=font, anchor="ma")
    for i, row in enumerate(tiles):
        y = top + i * (tile + cap + GAP)
        if i < len(row_labels):
            for k, line in enumerate(row_labels[i].split("\n")):
                draw.text((4, y + tile // 2 - 12 + 13 * k), line, fill=INK, font=font)
        for j, im in enumerate(row):
            x = left + j * (tile + GAP)
            sheet.paste(_fit(im.convert("RGB"), tile), (x, y))
            if captions:
                for k, line in enumerate(captions[i][j].split("\n")):
                    draw.text((x + tile // 2, y + tile + 1 + 12 * k), line, fill=INK, font=font,
                              anchor="ma")
    return sheet


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
    size = tiles[0][0].width
    return grid(tiles, tile_size(size), col_labels=EMOTIONS, row_labels=labels)


def continuous_sheet(folder: str | Path, jobs: Sequence, columns: int = 8) -> Image.Image:
    """Return the sheet of a continuous set's first images with class and valence/arousal."""
    tiles, captions = [], []
    for start in range(0, len(jobs), columns):
        chunk = jobs[start:start + columns]
        tiles.append([Image.open(j.path) for j in chunk])
        captions.append([f"{j.row['class']}\n{j.row['valence']:+.2f},{j.row['arousal']:+.2f}"
                         for j in chunk])
    return grid(tiles, tile_size(tiles[0][0].width), captions=captions)
