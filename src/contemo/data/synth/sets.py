"""Write synthetic data sets: a FACES-layout set and an AffectNet-style continuous VA set.

Both are deterministic for (seed, size, count): every image draws from its own
`numpy.random.default_rng([seed, stream, ...])`, so worker processes and run
order cannot change a byte. Beside the images each set gets `synth.json` (what
was generated, by which generator version), a per-image `ground_truth.csv` (AU
intensities, jitter, blend weights) and a contact sheet.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from contemo import __version__
from contemo.data.affectnet import COLUMNS, IMAGE_FOLDER
from contemo.data.synth.actions import AU_NAMES, blend, prototype, scaled
from contemo.data.synth.identity import AGE_GROUPS, GENDERS, faces_roster, sample_identity
from contemo.data.synth.landmarks import as_affectnet, landmarks
from contemo.data.synth.render import sample_jitter
from contemo.data.synth.writing import (
    CONTINUOUS_SHEET,
    FACES_SHEET,
    GROUND_TRUTH,
    IDENTITIES,
    MANIFEST,
    SET_JSON,
    CsvStream,
    ImageWriter,
    Job,
    check_options,
    prepare_folder,
    write_csv,
)
from contemo.emotions import AFFECTNET_CLASSES, EMOTIONS, FACES_LETTER, va_anchor
from contemo.fileio import atomic_write, atomic_write_json

GENERATOR_VERSION = 1  # bump whenever a seed would render different pixels
PICTURE_SETS = ("a", "b")
MAX_PEOPLE = 999  # FACES person ids have 3 digits
STREAM_IDENTITY, STREAM_PHOTO, STREAM_CONTINUOUS = 1, 2, 3
CHUNK = 2000  # continuous sets are generated and written this many images at a time
SHEET_IMAGES = 40


def _au_row(aus: dict[str, float]) -> dict[str, float]:
    """Return AU intensities in AU_NAMES order (0 for inactive), rounded for the CSV."""
    return {au: round(aus.get(au, 0.0), 5) for au in AU_NAMES}


def faces_jobs(out: Path, people: int, size: int, seed: int) -> tuple[list[Job], list[dict]]:
    """Return the FACES set's jobs (person x emotion x picture set) and one identity row per person."""
    jobs, identities = [], []
    for person, (age, gender) in enumerate(faces_roster(people, seed), start=1):
        who = sample_identity(np.random.default_rng([seed, STREAM_IDENTITY, person]), age, gender)
        identities.append({"person": f"{person:03d}", **who.row()})
        for e_index, emotion in enumerate(EMOTIONS):
            for s_index, pset in enumerate(PICTURE_SETS):
                rng = np.random.default_rng([seed, STREAM_PHOTO, person, e_index, s_index])
                jitter = sample_jitter(rng)
                name = f"{person:03d}_{age}_{gender}_{FACES_LETTER[emotion]}_{pset}.jpg"
                aus = prototype(emotion)
                row = {"file": name, "person": f"{person:03d}", "age_group": age,
                       "gender": gender, "emotion": emotion, "picture_set": pset,
                       **_au_row(scaled(aus, jitter.intensity)), **jitter.row(),
                       "landmarks": as_affectnet(landmarks(who, aus, size, jitter))}
                jobs.append(Job(out / name, who, aus, size, jitter, row))
    return jobs, identities


def make_faces_set(out: str | Path, people: int = 171, size: int = 128, seed: int = 0, *,
                   workers: int = 1, force: bool = False, progress: bool = False) -> Path:
    """Return the folder after writing `people` x 6 emotions x 2 picture sets, FACES-named.

    Reads back with `scan(folder, "faces")`. Age groups follow FACES' 58:56:57,
    men and women alternate within each; a person's identity is the same in all
    12 of their images, only the expression and the photo jitter change.
    """
    check_options(people, size, seed, workers, "--people", MAX_PEOPLE)
    out = prepare_folder(out, force)
    jobs, identities = faces_jobs(out, people, size, seed)
    with ImageWriter(len(jobs), workers, progress, "synth faces") as writer:
        writer.write(jobs)
    write_csv(out / GROUND_TRUTH, (j.row for j in jobs))
    write_csv(out / IDENTITIES, identities)
    from contemo.data.synth.sheet import faces_sheet

    sheet = faces_sheet(out).quantize(256, dither=Image.Dither.NONE)  # GIF: 256 colours
    atomic_write(out / FACES_SHEET, lambda tmp: sheet.save(tmp, format="GIF"))
    counts = {key: dict(sorted(Counter(str(j.row[key]) for j in jobs).items()))
              for key in ("emotion", "age_group", "gender", "picture_set")}
    counts["people_per_age_group"] = dict(Counter(a for a, _ in faces_roster(people, seed)))
    _write_info(out, "faces", seed, size, len(jobs),
                people=people, counts=counts, layout="faces", contact_sheet=FACES_SHEET)
    return out


def sample_blend(rng: np.random.Generator) -> tuple[dict[str, float], float]:
    """Return (weights over AffectNet classes summing to 1, intensity) for a random blend.

    One to three non-neutral classes get Dirichlet weights; the intensity t scales
    them towards neutral, which keeps weight 1 - t. One draw in ten is pure neutral.
    """
    others = [c for c in AFFECTNET_CLASSES if c != "neutral"]
    if rng.uniform() < 0.1:
        return {"neutral": 1.0}, 0.0
    k = int(rng.choice((1, 2, 3), p=(0.6, 0.3, 0.1)))
    picked = rng.choice(len(others), size=k, replace=False)
    w = rng.dirichlet(np.ones(k))
    t = 0.1 + 0.9 * float(rng.beta(2.2, 1.2))  # mostly clear expressions, some faint
    weights = {"neutral": 1.0 - t}
    for i, wi in zip(picked, w):
        weights[others[int(i)]] = t * float(wi)
    return weights, t


def blend_va(weights: dict[str, float]) -> tuple[float, float]:
    """Return the ground-truth (valence, arousal) of a blend: the weighted VA anchors."""
    v = sum(w * va_anchor(name)[0] for name, w in weights.items())
    a = sum(w * va_anchor(name)[1] for name, w in weights.items())
    return float(v), float(a)


def continuous_jobs(out: Path, indices: Iterable[int], size: int, seed: int) -> list[Job]:
    """Return the continuous set's jobs for image `indices`: a random person and blend each."""
    jobs = []
    for i in indices:
        rng = np.random.default_rng([seed, STREAM_CONTINUOUS, i])
        age, gender = AGE_GROUPS[int(rng.integers(3))], GENDERS[int(rng.integers(2))]
        who = sample_identity(rng, age, gender)
        weights, intensity = sample_blend(rng)
        aus = blend(weights)
        jitter = dataclasses.replace(sample_jitter(rng), intensity=1.0)  # label = rendered
        valence, arousal = blend_va(weights)
        code = max(range(len(AFFECTNET_CLASSES)),
                   key=lambda k: (weights.get(AFFECTNET_CLASSES[k], 0.0), -k))
        rel = f"{i // 1000:03d}/{i:06d}.jpg"
        row = {"file": rel, "expression": code, "class": AFFECTNET_CLASSES[code],
               "valence": round(valence, 6), "arousal": round(arousal, 6),
               "intensity": round(intensity, 6),
               **{f"w_{c}": round(weights.get(c, 0.0), 6) for c in AFFECTNET_CLASSES},
               **_au_row(aus), **who.row(), **jitter.row(),
               "landmarks": as_affectnet(landmarks(who, aus, size, jitter))}
        jobs.append(Job(out / IMAGE_FOLDER / rel, who, aus, size, jitter, row))
    return jobs


def manifest_rows(jobs: list[Job], size: int) -> Iterator[dict[str, object]]:
    """Yield the AffectNet manifest rows (real column names): whole-image box, 68 landmarks."""
    for job in jobs:
        r = job.row
        values = (r["file"], 0, 0, size, size, r["landmarks"], r["expression"], r["valence"],
                  r["arousal"])
        yield dict(zip(COLUMNS, values))


def make_continuous_set(out: str | Path, count: int, size: int = 128, seed: int = 0, *,
                        workers: int = 1, force: bool = False, progress: bool = False) -> Path:
    """Return the folder after writing `count` random expression blends, AffectNet-style.

    Images go to Manually_Annotated_Images/NNN/, the manifest to
    Manually_Annotated_file_lists/training.csv, as in the real release, so
    `scan(folder, "affectnet")` reads it. Valence/arousal are the blend of the
    VA anchors (exact ground truth), `expression` the dominant class.
    """
    check_options(count, size, seed, workers, "--continuous")
    out = prepare_folder(out, force)
    classes: Counter = Counter()
    first: list[Job] = []
    with ImageWriter(count, workers, progress, "synth continuous") as writer, \
            CsvStream(out / MANIFEST) as manifest, CsvStream(out / GROUND_TRUTH) as truth:
        for start in range(0, count, CHUNK):
            jobs = continuous_jobs(out, range(start, min(count, start + CHUNK)), size, seed)
            for folder in sorted({j.path.parent for j in jobs}):
                folder.mkdir(parents=True, exist_ok=True)
            writer.write(jobs)
            manifest.write(manifest_rows(jobs, size))
            truth.write(j.row for j in jobs)
            classes.update(str(j.row["class"]) for j in jobs)
            first += jobs[:SHEET_IMAGES - len(first)]
    from contemo.data.synth.sheet import continuous_sheet
    from contemo.figures import save_png

    save_png(continuous_sheet(out, first), out / CONTINUOUS_SHEET)
    _write_info(out, "continuous", seed, size, count, counts={"class": dict(sorted(
        classes.items()))}, layout="affectnet", manifest=str(MANIFEST),
        contact_sheet=CONTINUOUS_SHEET)
    return out


def _write_info(out: Path, kind: str, seed: int, size: int, images: int,
                **extra: object) -> None:
    """Write synth.json: what was generated and how, so the set can be regenerated exactly."""
    atomic_write_json(out / SET_JSON, {
        "generator": "contemo.data.synth", "generator_version": GENERATOR_VERSION,
        "contemo_version": __version__, "kind": kind, "seed": seed, "size": size,
        "images": images, **extra, "ground_truth": GROUND_TRUTH,
    })
