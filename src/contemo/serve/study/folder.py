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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contemo.emotions import EMOTIONS
from contemo.errors import ContemoError
from contemo.fileio import read_format_json
from contemo.serve.study.settings import ID_PATTERN, StudySettings, parse_settings

FORMAT = "contemo-study/1"
STUDY_FILE = "study.json"
IMAGES = "images"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
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
    settings: StudySettings = field(default_factory=StudySettings)

    @property
    def title(self) -> str:
        return str(self.data.get("title", "Emotion perception study"))

    @property
    def admin_hash(self) -> str:
        return str(self.data["admin_token_sha256"])

    @property
    def by_id(self) -> dict[str, StudyImage]:
        return {im.id: im for im in self.images}

    @property
    def catch_by_id(self) -> dict[str, Any]:
        return {c.id: c for c in self.settings.catch}

    def served_ids(self) -> set[str]:
        """Return every image id the server may send: stimuli, catch items, practice."""
        return ({im.id for im in self.images} | {c.id for c in self.settings.catch}
                | set(self.settings.practice))

    def image_path(self, image: StudyImage) -> Path:
        """Return the file of a stimulus (checked at load time to lie inside images/)."""
        return self.folder / image.file

    def file_of(self, image_id: str) -> Path:
        """Return the real path of a served image, refusing anything outside images/.

        Checked again on every request (not only at start-up): a file swapped for a
        symlink while the server runs must not serve /etc/passwd as a PNG.
        """
        return safe_image_file(self.folder, f"{IMAGES}/{image_id}.png")

    def order_for(self, token_sha256: str) -> list[str]:
        """Return this participant's page order: stimuli shuffled by their token, catch items
        inserted at random places (not first, so nobody starts with a check)."""
        rng = random.Random(_seed(token_sha256, "order"))
        ids = [im.id for im in self.images]
        rng.shuffle(ids)
        for catch in self.settings.catch:
            ids.insert(rng.randint(1, len(ids)), catch.id)
        return ids

    def rows_for(self, token_sha256: str, image_id: str) -> list[str]:
        """Return the emotion rows in the order this participant sees them on this image."""
        rows = list(EMOTIONS)
        if self.settings.randomize_rows:
            random.Random(_seed(token_sha256, "rows:" + image_id)).shuffle(rows)
        return rows


def _seed(token_sha256: str, purpose: str) -> int:
    """Return a 64-bit seed from a participant's token hash and what it is for."""
    return int.from_bytes(hashlib.sha256(f"{token_sha256}:{purpose}".encode()).digest()[:8],
                          "big")


def safe_image_file(folder: Path, relative: str) -> Path:
    """Return the resolved image file, or raise if it is missing, not a regular file, or
    (through a symlink) outside the study's images/ folder."""
    images = (folder / IMAGES).resolve()
    path = folder / relative
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise ContemoError(f"{path}: image missing from the study folder") from None
    if not real.is_relative_to(images) or not real.is_file():
        raise ContemoError(f"{path}: not a file inside {images} (a symlink out of the study "
                           "folder is refused)")
    return real


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
    raw_images = data.get("images")
    if raw_images is not None and not isinstance(raw_images, list):
        raise ContemoError(f"{path}: field 'images' must be a list")
    for i, item in enumerate(raw_images or []):
        images.append(_image(item, f"{path}: images[{i}]", folder))
    if not images:
        raise ContemoError(f"{path}: field 'images' lists no images")
    settings = parse_settings(data.get("settings"), path)
    ids = [im.id for im in images] + [c.id for c in settings.catch] + list(settings.practice)
    if len(set(ids)) != len(ids):
        raise ContemoError(f"{path}: an image id is used twice (images, catch, practice)")
    for extra in [c.id for c in settings.catch] + list(settings.practice):
        check_png(safe_image_file(folder, f"{IMAGES}/{extra}.png"))
    return Study(folder, data, tuple(images), settings)


def check_png(path: Path) -> None:
    """Raise unless `path` starts with the PNG signature (a stray or swapped file)."""
    try:
        with path.open("rb") as f:
            head = f.read(len(PNG_SIGNATURE))
    except OSError as err:
        raise ContemoError(f"{path}: cannot read ({err.strerror})") from None
    if head != PNG_SIGNATURE:
        raise ContemoError(f"{path}: not a PNG file")


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
    check_png(safe_image_file(folder, file))
    return StudyImage(image_id, file, source, emotion, dict(item.get("origin") or {}))
