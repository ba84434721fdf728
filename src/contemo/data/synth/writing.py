"""Writing a synthetic set to disk: option checks, the output folder, images in worker processes, CSVs.

Images are written to a hidden temp name and renamed, so a killed run never
leaves a half JPEG under a real name; CSVs are streamed to a temp file and
renamed when complete, so a set of any size never has to sit in memory.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from contemo.data.affectnet import IMAGE_FOLDER
from contemo.data.synth.identity import Identity
from contemo.data.synth.render import Jitter, render
from contemo.errors import ContemoError

SET_JSON = "synth.json"
GROUND_TRUTH = "ground_truth.csv"
IDENTITIES = "identities.csv"
FACES_SHEET = "contact_sheet.gif"  # GIF: the FACES layout reads .png/.jpg, so it is not a "face"
CONTINUOUS_SHEET = "contact_sheet.png"
MANIFEST = Path("Manually_Annotated_file_lists") / "training.csv"  # where AffectNet keeps it
MIN_SIZE, MAX_SIZE = 16, 1024
JPEG = {"format": "JPEG", "quality": 95, "subsampling": 0}


@dataclass(frozen=True)
class Job:
    """One image to render and write (picklable, so worker processes can take it)."""

    path: Path
    who: Identity
    aus: dict[str, float]
    size: int
    jitter: Jitter
    row: dict[str, object] = field(default_factory=dict)


def encode(job: Job) -> bytes:
    """Return the JPEG bytes of a job's image."""
    buf = io.BytesIO()
    render(job.who, job.aus, job.size, job.jitter).save(buf, **JPEG)
    return buf.getvalue()


def _write(job: Job) -> None:
    """Render and write one image; a hidden temp name then a rename, so no half JPEG is seen."""
    tmp = job.path.with_name(f".{job.path.name}.tmp")
    tmp.write_bytes(encode(job))
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


class ImageWriter:
    """Writes jobs' images in `workers` processes (0 = one per core) under one progress bar."""

    def __init__(self, total: int, workers: int, progress: bool, desc: str):
        from tqdm import tqdm

        self.workers = workers or os.cpu_count() or 1
        self.bar = tqdm(total=total, desc=desc, unit="img", disable=not progress, leave=False)
        self.pool = ProcessPoolExecutor(self.workers) if self.workers > 1 else None

    def write(self, jobs: list[Job]) -> None:
        """Write every job's image; a full disk or unwritable file is a one-line ContemoError."""
        try:
            if self.pool is None:
                for job in jobs:
                    _write(job)
                    self.bar.update()
            else:
                for _ in self.pool.map(_write, jobs, chunksize=16):
                    self.bar.update()
        except OSError as err:
            raise ContemoError(f"{err.filename}: cannot write image ({err.strerror})") from None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
        self.bar.close()


class CsvStream:
    """A CSV written row batch by row batch to a temp file, renamed into place by `commit`."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = path.with_name(f".{path.name}.tmp")
        self._fh = open(self.tmp, "w", newline="", encoding="utf-8")  # noqa: SIM115 - kept open
        self._writer: csv.DictWriter | None = None

    def write(self, rows: Iterable[dict[str, object]]) -> None:
        """Append rows (the first row ever written names the columns)."""
        for row in rows:
            if self._writer is None:
                self._writer = csv.DictWriter(self._fh, fieldnames=list(row))
                self._writer.writeheader()
            self._writer.writerow(row)

    def commit(self) -> Path:
        """Return the final path after flushing, syncing and renaming the temp file."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self.tmp, self.path)
        return self.path

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.commit()
        else:
            self._fh.close()
            self.tmp.unlink(missing_ok=True)


def write_csv(path: Path, rows: Iterable[dict[str, object]]) -> Path:
    """Return `path` after writing dict rows (columns from the first row) atomically."""
    with CsvStream(path) as stream:
        stream.write(rows)
    return path
