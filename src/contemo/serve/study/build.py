"""Build a study folder like the paper's §4.2: per emotion N real + N generated images.

Real images come from any layout `contemo.data.layouts.scan` reads; generated ones
from a checkpoint conditioned on one-hot labels (as in the paper). All are resized
to one size (paper: 256x256) and written as PNGs named by opaque random ids. An
emotion the data set has no (or too few) real images of is still studied with its
generated images; the notes say so, and `analyze` reports it.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from contemo import __version__
from contemo.data.images import load_face
from contemo.data.layouts import scan
from contemo.data.records import FaceRecord
from contemo.emotions import EMOTIONS, one_hot
from contemo.errors import ContemoError
from contemo.fileio import atomic_write_bytes, atomic_write_json
from contemo.serve.faces import encode_png
from contemo.serve.http import token_hash
from contemo.serve.study.folder import (
    DEFAULT_CONSENT,
    FORMAT,
    IMAGES,
    LIKERT,
    STUDY_FILE,
    Study,
    load_study,
)
from contemo.serve.study.settings import StudySettings, parse_settings


@dataclass
class StudyPlan:
    """What to put in a study (defaults: the paper's 3 real + 3 generated per emotion at 256)."""

    real_per_emotion: int = 3
    generated_per_emotion: int = 3
    size: int = 256
    seed: int = 0  # picks the real images and the generator seeds
    title: str = "Emotion perception study"
    consent: str = DEFAULT_CONSENT
    emotions: tuple[str, ...] = EMOTIONS
    notes: list[str] = field(default_factory=list)
    entry_key: bool = True  # participants need the link with ?key=...; False: open to all
    completion_url: str | None = None  # where finishers go; {code} is filled in
    completion_code: str | None = None  # one code for all; None: one per participant
    attention_checks: int = 0  # instructed-response catch pages ("choose 5 for Fear")
    practice: int = 0  # practice pages first (generated faces, answers not stored)
    demographics: bool = False  # optional age and gender after consent


def pick_real(records: list[FaceRecord], count: int, rng: random.Random) -> list[FaceRecord]:
    """Return `count` records at random, different people first when the layout names them."""
    pool = records[:]
    rng.shuffle(pool)
    people: set[str] = set()
    first, rest = [], []
    for record in pool:
        person = record.meta.get("person")
        (first if person is None or person not in people else rest).append(record)
        if person is not None:
            people.add(person)
    return (first + rest)[:count]


def create_study(out: str | Path, data_root: str | Path, layout: str, checkpoint: str | None,
                 plan: StudyPlan, *, skip_bad: bool = False) -> tuple[Study, str]:
    """Return (the new study, its admin token) after writing the study folder `out`."""
    final = Path(out)
    if (final / STUDY_FILE).exists():
        raise ContemoError(f"{final}: already holds a study; choose a new folder")
    if final.exists() and (not final.is_dir() or any(final.iterdir())):
        raise ContemoError(f"{final}: exists and is not an empty folder; choose a new folder")
    for name, value in (("--real", plan.real_per_emotion), ("--generated",
                                                            plan.generated_per_emotion)):
        if value < 0:
            raise ContemoError(f"{name} must be 0 or more, got {value}")
    if plan.real_per_emotion + plan.generated_per_emotion < 1:
        raise ContemoError("--real and --generated are both 0: the study would have no images")
    if not 32 <= plan.size <= 1024:
        raise ContemoError(f"--size {plan.size}: expected 32-1024 pixels")
    for name, value in (("--attention-checks", plan.attention_checks),
                        ("--practice", plan.practice)):
        if not 0 <= value <= 20:
            raise ContemoError(f"{name} {value}: expected 0-20")
    for name, key in (("--completion-url", "completion_url"),
                      ("--completion-code", "completion_code")):
        try:
            parse_settings({key: getattr(plan, key)}, final)
        except ContemoError as err:
            raise ContemoError(f"{name}: {str(err).split(': ', 2)[-1]}") from None
    # Built in a hidden sibling and renamed at the end: a failure (a bad image, Ctrl-C)
    # leaves no half-made study behind.
    final.parent.mkdir(parents=True, exist_ok=True)
    out = final.parent / f".{final.name}.partial-{secrets.token_hex(4)}"
    try:
        admin_token = _fill(out, data_root, layout, checkpoint, plan, skip_bad)
        if final.exists():
            final.rmdir()
        os.replace(out, final)
    finally:
        if out.exists():
            shutil.rmtree(out)
    return load_study(final), admin_token


def _fill(out: Path, data_root: str | Path, layout: str, checkpoint: str | None,
          plan: StudyPlan, skip_bad: bool) -> str:
    """Return the admin token after writing a whole study (images + study.json) into `out`."""
    from contemo.figures import to_uint8
    from contemo.generation.pipeline import EmotionPipeline
    from contemo.models import default_checkpoint

    rng = random.Random(plan.seed)
    result = scan(data_root, layout, skip_bad=skip_bad)
    by_emotion: dict[str, list[FaceRecord]] = defaultdict(list)
    for record in result.records:
        if record.emotion is not None:
            by_emotion[record.emotion].append(record)
    folder = str(default_checkpoint() if checkpoint is None else checkpoint)
    pipeline = EmotionPipeline.from_pretrained(folder)
    images: list[dict] = []
    missing, short = [], []
    (out / IMAGES).mkdir(parents=True, exist_ok=True)
    used_seeds: set[int] = set()
    for emotion in plan.emotions:
        chosen = pick_real(by_emotion.get(emotion, []), plan.real_per_emotion, rng)
        if plan.real_per_emotion and not chosen:
            missing.append(emotion)
        elif len(chosen) < plan.real_per_emotion:
            short.append(f"{emotion} ({len(chosen)} of {plan.real_per_emotion})")
        for record in chosen:
            pixels = load_face(record.path, plan.size, record.bbox, center_crop=True)
            origin = {"path": _relative(record.path, result.root)}
            images.append(_write(out, "real", emotion, pixels.transpose(1, 2, 0), plan.size,
                                 origin))
        seeds = []
        while len(seeds) < plan.generated_per_emotion:
            seed = rng.randrange(2**31)
            if seed not in used_seeds:
                used_seeds.add(seed)
                seeds.append(seed)
        if seeds:
            faces = to_uint8(pipeline.generate(one_hot(emotion)[None], seeds=seeds))
            for seed, pixels in zip(seeds, faces):
                origin = {"seed": seed, "label": [float(x) for x in one_hot(emotion)]}
                images.append(_write(out, "generated", emotion, pixels, plan.size, origin))
    notes = list(plan.notes)
    if missing:
        notes.append(f"no real images of {', '.join(missing)} in {data_root} (layout {layout}): "
                     f"the study shows only generated images of "
                     f"{'that emotion' if len(missing) == 1 else 'those emotions'}")
    if short:
        notes.append(f"fewer real images than asked for: {', '.join(short)}")
    rng.shuffle(images)  # study.json order reveals nothing either
    settings = _settings(out, plan, images, pipeline, rng, used_seeds)
    admin_token = secrets.token_urlsafe(24)
    atomic_write_json(out / STUDY_FILE, {
        "format": FORMAT,
        "title": plan.title,
        "consent": plan.consent,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "contemo_version": __version__,
        "emotions": list(EMOTIONS),
        "likert": {str(k): v for k, v in LIKERT.items()},
        "image_size": plan.size,
        "per_emotion": {"real": plan.real_per_emotion, "generated": plan.generated_per_emotion},
        "real_source": {"root": str(Path(data_root).resolve()), "layout": layout},
        "checkpoint": str(Path(folder).resolve()),
        "missing_real": missing,
        "notes": notes,
        "admin_token_sha256": token_hash(admin_token),
        "settings": settings,
        "images": images,
    })
    return admin_token


def _settings(out: Path, plan: StudyPlan, images: list[dict], pipeline, rng: random.Random,
              used_seeds: set[int]) -> dict:
    """Return study.json's "settings", writing the catch and practice images they name.

    An instructed catch page copies a random stimulus under a new id (so it looks like
    any other page) and asks for one given answer on one emotion row.
    """
    from contemo.figures import to_uint8

    catch = []
    for _ in range(plan.attention_checks):
        source = rng.choice(images)
        emotion, value = rng.choice(EMOTIONS), rng.choice([1, 5])
        image_id = secrets.token_hex(6)
        shutil.copyfile(out / source["file"], out / IMAGES / f"{image_id}.png")
        catch.append({"id": image_id, "file": f"{IMAGES}/{image_id}.png", "kind": "instructed",
                      "emotion": emotion, "accept": [value],
                      "instruction": f"Attention check: on this page, please choose {value} "
                                     f"({LIKERT[value]}) for {emotion.capitalize()}."})
    practice = []
    for _ in range(plan.practice):
        seed = rng.randrange(2**31)
        while seed in used_seeds:
            seed = rng.randrange(2**31)
        used_seeds.add(seed)
        label = np.asarray(rng.choice([one_hot(e) for e in EMOTIONS]))
        face = to_uint8(pipeline.generate(label[None], seeds=[seed]))[0]
        practice.append(_write(out, "practice", "", face, plan.size, {"seed": seed})["id"])
    return StudySettings(
        entry_key=secrets.token_urlsafe(12) if plan.entry_key else None,
        completion_url=plan.completion_url, completion_code=plan.completion_code,
        demographics=plan.demographics, practice=tuple(practice),
        catch=tuple(parse_settings({"catch": catch}, out / STUDY_FILE).catch),
    ).to_json()


def _write(out: Path, source: str, emotion: str, pixels: np.ndarray, size: int,
           origin: dict) -> dict:
    """Return the study.json entry of a stimulus after writing its PNG under an opaque id."""
    image_id = secrets.token_hex(6)
    file = f"{IMAGES}/{image_id}.png"
    atomic_write_bytes(out / file, encode_png(np.ascontiguousarray(pixels), size))
    return {"id": image_id, "file": file, "source": source, "emotion": emotion, "origin": origin}


def _relative(path: Path, root: Path | None) -> str:
    """Return `path` relative to the data root when it lies inside it."""
    try:
        return str(path.relative_to(root)) if root is not None else str(path)
    except ValueError:
        return str(path)
