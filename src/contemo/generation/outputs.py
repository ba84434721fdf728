"""Everything one generate job writes: images, manifest, figures, a GIF and generate.json.

`contemo generate` builds the options and prints the paths this returns; a script can
call `write_outputs` the same way to get the same folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contemo import __version__
from contemo.fileio import atomic_write_json
from contemo.generation import animation
from contemo.generation.job import GRID, Figures, JobResult, clear_previous, generate_job
from contemo.generation.pipeline import EmotionPipeline
from contemo.labels.sets import LabelSet
from contemo.labels.va import checkpoint_anchors

RUN_FILE = "generate.json"
GIF = "transition.gif"
STRIPS = "strips"


def write_outputs(pipe: EmotionPipeline, seeds: Sequence[int], label_set: LabelSet, out: Path,
                  *, figures: Figures, gif: animation.GifOptions | None, batch_size: int,
                  overwrite: bool, record: dict[str, Any]) -> tuple[JobResult, Path]:
    """Return (JobResult, generate.json path) after writing every output of the job.

    `record` adds the caller's facts (checkpoint, seeds as typed) to generate.json; the
    manifest and figures label VA with the checkpoint's own anchors.
    """
    anchors = checkpoint_anchors(pipe.meta)
    if overwrite:  # an earlier job's figures must not pass for this one's
        clear_previous(out)
        for old in (out / GRID, out / GIF, *(out / STRIPS).glob("seed*.png")):
            old.unlink(missing_ok=True)
    result = generate_job(pipe, list(seeds), label_set, out, batch_size=batch_size,
                          figures=figures, anchors=anchors)
    if gif is not None:
        gif_path, _ = animation.render(pipe, list(seeds), label_set.labels, out / GIF, gif,
                                       scale=figures.scale, method=figures.method,
                                       batch_size=batch_size, anchors=anchors)
        result.files.append(gif_path)
    run_file = atomic_write_json(out / RUN_FILE, {
        "contemo_version": __version__,
        **record,
        "device": str(pipe.device),
        "precision": pipe.precision,
        "truncation": pipe.truncation,
        "title": label_set.title,
        "labels": label_set.labels.tolist(),
        "columns": label_set.columns,
        "images": result.images,
        "seconds": round(result.seconds, 3),
    })
    return result, run_file
