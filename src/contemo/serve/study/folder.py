"""A study folder: study.json (images, their hidden answer key, settings), images/, answers.

Layout::

    my-study/
      study.json        what the server needs; never sent to participants
      images/<id>.png   every stimulus, named by an opaque random id
      answers.sqlite    created by `contemo study serve` (WAL mode)

Participants only ever see image ids and pixels: which images are real, which are
generated and which emotion each shows stay in study.json on the server.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contemo.emotions import EMOTIONS
from contemo.errors import ContemoError
from contemo.fileio import read_format_json

FORMAT = "contemo-study/1"
STUDY_FILE = "study.json"
IMAGES = "images"
ID_PATTERN = re.compile(r"^[0-9a-f]{12}$")  # secrets.token_hex(6)
SOURCES = ("real", "generated")
LIKERT = {1: "strongly agree", 2: "agree", 3: "neither agree nor disagree", 4: "disagree",
          5: "strongly disagree"}  # the paper's direction: 1 = strongly agree (§4.2)
DEFAULT_CONSENT = (
    "You will see a series of face images. For each image, say how much you agree that it "
    "shows each of six emotions. There are no right or wrong answers. Taking part is "
    "voluntary: you can stop at any time, and your answers are saved as you go. Answers are "
    "stored without your name or any other identifying information and are used for research "
    "only."
)


@dataclass(frozen=True)
class StudyImage:
    """One stimulus: its opaque id, its file, and the hidden key (source, emotion, origin)."""

    id: str
    file: str  # relative to the study folder
    source: str  # "real" or "generated"
    emotion: str  # the emotion it is meant to show
    origin: dict[str, Any]  # real: {"path": ...}; generated: {"seed": ..., "label": [...]}


@dataclass(frozen=True)
class Study:
    """A loaded, validated study folder."""

    folder: Path
    data: dict[str, Any]
    images: tuple[StudyImage, ...]

    @property
    def title(self) -> str:
        return str(self.data.get("title", "Emotion perception study"))

    @property
    def admin_hash(self) -> str:
        return str(self.data["admin_token_sha256"])

    @property
    def by_id(self) -> dict[str, StudyImage]:
        return {im.id: im for im in self.images}

    def image_path(self, image: StudyImage) -> Path:
        """Return the file of a stimulus (checked at load time to lie inside images/)."""
        return self.folder / image.file

    def order_for(self, token_sha256: str) -> list[str]:
        """Return the image ids in this participant's order: a shuffle seeded by their token."""
        ids = [im.id for im in self.images]
        seed = int.from_bytes(hashlib.sha256(token_sha256.encode()).digest()[:8], "big")
        random.Random(seed).shuffle(ids)
        return ids


def load_study(folder: str | Path) -> Study:
    """Return the study in `folder`; any problem is a one-line ContemoError naming the field."""
    folder = Path(folder)
    path = folder / STUDY_FILE
    data = read_format_json(
        path, FORMAT, missing="not found (create a study with `contemo study create`)"
    )
    if data.get("emotions") != list(EMOTIONS):
        raise ContemoError(f"{path}: field 'emotions' must be {list(EMOTIONS)!r}")
    if not isinstance(data.get("admin_token_sha256"), str):
        raise ContemoError(f"{path}: field 'admin_token_sha256' missing")
    images = []
    for i, item in enumerate(data.get("images") or []):
        images.append(_image(item, f"{path}: images[{i}]", folder))
    if not images:
        raise ContemoError(f"{path}: field 'images' lists no images")
    if len({im.id for im in images}) != len(images):
        raise ContemoError(f"{path}: field 'images' repeats an id")
    return Study(folder, data, tuple(images))


def _image(item: Any, where: str, folder: Path) -> StudyImage:
    """Return one validated StudyImage; its file must exist inside the images/ folder."""
    if not isinstance(item, dict):
        raise ContemoError(f"{where}: expected an object")
    image_id, source, emotion = item.get("id"), item.get("source"), item.get("emotion")
    if not isinstance(image_id, str) or not ID_PATTERN.match(image_id):
        raise ContemoError(f"{where}: field 'id' must be 12 hex digits")
    if source not in SOURCES:
        raise ContemoError(f"{where}: field 'source' must be one of {', '.join(SOURCES)}")
    if emotion not in EMOTIONS:
        raise ContemoError(f"{where}: field 'emotion' must be one of {', '.join(EMOTIONS)}")
    file = f"{IMAGES}/{image_id}.png"
    if item.get("file") != file:
        raise ContemoError(f"{where}: field 'file' must be {file!r}")
    if not (folder / file).is_file():
        raise ContemoError(f"{folder / file}: image missing from the study folder")
    return StudyImage(image_id, file, source, emotion, dict(item.get("origin") or {}))
