"""Write synthetic data sets: a FACES-layout set and an AffectNet-style continuous VA set.

Both are deterministic for (seed, size, count): every image draws from its own
`numpy.random.default_rng([seed, stream, ...])`, so worker processes and run
order cannot change a byte. Beside the images each set gets `synth.json` (what
was generated, by which generator version), a per-image `ground_truth.csv` (AU
intensities, jitter, blend weights) and a contact sheet.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from contemo import __version__
from contemo.data.affectnet import COLUMNS, IMAGE_FOLDER
from contemo.data.synth.actions import AU_NAMES, blend, prototype, scaled
from contemo.data.synth.identity import AGE_GROUPS, GENDERS, Identity, faces_roster, sample_identity
from contemo.data.synth.render import Jitter, render, sample_jitter
from contemo.emotions import AFFECTNET_CLASSES, EMOTIONS, FACES_LETTER, va_anchor
from contemo.errors import ContemoError
from contemo.fileio import atomic_write, atomic_write_json

GENERATOR_VERSION = 1  # bump whenever a seed would render different pixels
SET_JSON = "synth.json"
GROUND_TRUTH = "ground_truth.csv"
IDENTITIES = "identities.csv"
FACES_SHEET = "contact_sheet.gif"  # GIF: the FACES layout reads .png/.jpg, so it is not a "face"
CONTINUOUS_SHEET = "contact_sheet.png"
MANIFEST = Path("Manually_Annotated_file_lists") / "training.csv"  # where AffectNet keeps it
PICTURE_SETS = ("a", "b")
MIN_SIZE, MAX_SIZE = 16, 1024
MAX_PEOPLE = 999  # FACES person ids have 3 digits
JPEG = {"format": "JPEG", "quality": 95, "subsampling": 0}
STREAM_IDENTITY, STREAM_PHOTO, STREAM_CONTINUOUS = 1, 2, 3


@dataclass(frozen=True)
class Job:
    """One image to render and write (picklable, so worker processes can take it)."""

    path: Path
    who: Identity
    aus: dict[str, float]
    size: int
    jitter: Jitter
    row: dict[str, object] = field(default_factory=dict)


def _encode(job: Job) -> bytes:
    """Return the JPEG bytes of a job's image."""
    buf = io.BytesIO()
    render(job.who, job.aus, job.size, job.jitter).save(buf, **JPEG)
    return buf.getvalue()


def _write(job: Job) -> None:
    """Render and write one image; a hidden temp name then a rename, so no half JPEG is seen."""
    tmp = job.path.with_name(f".{job.path.name}.tmp")
    tmp.write_bytes(_encode(job))
    os.replace(tmp, job.path)


def check_options(count: int, size: int, seed: int, workers: int, what: str = "--people",
                  most: int | None = None) -> None:
    """Raise a one-line ContemoError for a count, size, seed or worker number contemo cannot use."""
    if count < 1:
        raise ContemoError(f"{what} must be at least 1, got {count}")
    if most is not None and count > most:
        raise ContemoError(f"{what} must be at most {most} (FACES ids have 3 digits), got {count}")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ContemoError(f"--size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}")
    if seed < 0:
        raise ContemoError(f"--seed must be 0 or more, got {seed}")
    if workers < 0:
        raise ContemoError(f"--workers must be 0 (all cores) or more, got {workers}")


def prepare_folder(out: str | Path, force: bool) -> Path:
    """Return the output folder, created; a non-empty one is refused unless `force`.

    With `force`, an earlier synthetic set there (recognised by its synth.json) is
    removed first, so no stale image of a bigger set survives; other files stay.
    """
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise ContemoError(f"{out}: --out is a file, expected a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise ContemoError(f"{out}: --out folder is not empty (pass --force to write into it)")
        if (out / SET_JSON).is_file():
            _remove_earlier_set(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ContemoError(f"{out}: cannot create the output folder ({err.strerror})") from None
    if not os.access(out, os.W_OK):
        raise ContemoError(f"{out}: output folder is not writable")
    return out


def _remove_earlier_set(out: Path) -> None:
    """Delete the files an earlier `contemo data synth` wrote into `out`."""
    from contemo.data.faces import NAME

    for path in out.iterdir():
        if path.is_file() and path.suffix == ".jpg" and NAME.match(path.stem):
            path.unlink()
    for name in (SET_JSON, GROUND_TRUTH, IDENTITIES, FACES_SHEET, CONTINUOUS_SHEET):
        (out / name).unlink(missing_ok=True)
    for folder in (IMAGE_FOLDER, str(MANIFEST.parent)):
        shutil.rmtree(out / folder, ignore_errors=True)


def run_jobs(jobs: list[Job], workers: int, progress: bool, desc: str) -> None:
    """Write every job's image, in `workers` processes (0 = one per core), with a progress bar."""
    from tqdm import tqdm

    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(jobs), desc=desc, unit="img", disable=not progress, leave=False)
    try:
        if workers == 1:
            for job in jobs:
                _write(job)
                bar.update()
        else:
            with ProcessPoolExecutor(workers) as pool:
                for _ in pool.map(_write, jobs, chunksize=16):
                    bar.update()
    except OSError as err:
        raise ContemoError(f"{err.filename}: cannot write image ({err.strerror})") from None
    finally:
        bar.close()


def write_csv(path: Path, rows: Iterable[dict[str, object]]) -> Path:
    """Return `path` after writing dict rows (columns from the first row) atomically."""
    rows = list(rows)

    def fill(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    return atomic_write(path, fill)


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
                       **_au_row(scaled(aus, jitter.intensity)), **jitter.row()}
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
    run_jobs(jobs, workers, progress, "synth faces")
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


def continuous_jobs(out: Path, count: int, size: int, seed: int) -> list[Job]:
    """Return the continuous set's jobs: a random person and blend per image, rows filled in."""
    jobs = []
    for i in range(count):
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
               **_au_row(aus), **who.row(), **jitter.row()}
        jobs.append(Job(out / IMAGE_FOLDER / rel, who, aus, size, jitter, row))
    return jobs


def manifest_rows(jobs: list[Job], size: int) -> Iterator[dict[str, object]]:
    """Yield the AffectNet manifest rows (real column names); the face box is the whole image."""
    for job in jobs:
        r = job.row
        values = (r["file"], 0, 0, size, size, "", r["expression"], r["valence"], r["arousal"])
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
    jobs = continuous_jobs(out, count, size, seed)
    for folder in sorted({j.path.parent for j in jobs}):
        folder.mkdir(parents=True, exist_ok=True)
    run_jobs(jobs, workers, progress, "synth continuous")
    write_csv(out / MANIFEST, manifest_rows(jobs, size))
    write_csv(out / GROUND_TRUTH, (j.row for j in jobs))
    from contemo.data.synth.sheet import continuous_sheet

    atomic_write(out / CONTINUOUS_SHEET,
                 lambda tmp: continuous_sheet(out, jobs[:40]).save(tmp, format="PNG"))
    counts = {"class": dict(sorted(Counter(str(j.row["class"]) for j in jobs).items()))}
    _write_info(out, "continuous", seed, size, len(jobs),
                counts=counts, layout="affectnet", manifest=str(MANIFEST),
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
