"""The identity report: a generator's strip and (optionally) a real set, figures, FED, a table.

Shared by `contemo evaluate identity` and benchmarks/london_targets.py so both
measure exactly the same thing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from contemo.errors import ContemoError
from contemo.evaluation.identity_strip import (
    StripConfig,
    end_features,
    figures,
    save_grid,
    score_real,
    score_strip,
)
from contemo.evaluation.quality_distances import frechet_with_floor

REPORT_FORMAT = "contemo-identity/1"
PROTOCOL = ("each image at the generator's size; dlib HOG face detector (upscaled to >= 256 px "
            "for dlib); the box widened by the margin, grey, bilinear to 64x64, FER2013 judge; "
            "dlib ResNet descriptor from 5 landmarks (same person below 0.6)")


def identity_report(config: StripConfig, checkpoint: str | Path | None = None, *,
                    real: str | Path | None = None, layout: str = "london",
                    grid: str | Path | None = None, progress: bool = True,
                    device: str = "cpu") -> dict[str, Any]:
    """Return the report of a generator's strip, with the real reference and FED when `real`."""
    from contemo.data import open_dataset
    from contemo.generation.pipeline import EmotionPipeline
    from contemo.judge.model import Judge
    from contemo.models.face_id import shared_face_id

    start = time.perf_counter()
    judge = Judge.from_file(device=device)  # first: a bad --device is its one-line error
    pipeline = EmotionPipeline.from_pretrained(checkpoint, device=device,
                                               truncation=config.truncation)
    face_id = shared_face_id()
    strip = score_strip(pipeline, face_id, judge, config, progress=progress)
    report: dict[str, Any] = {
        "format": REPORT_FORMAT, "checkpoint": str(checkpoint or "shipped"),
        "config": dict(config.__dict__), "protocol": PROTOCOL,
        "generated": figures(strip),
    }
    if real is not None:
        data = open_dataset(real, layout, pipeline.resolution)
        scored, notes = score_real(
            data.images_uint8.float() / 127.5 - 1.0, [r.emotion for r in data.records],
            [r.meta.get("person") for r in data.records], face_id, judge, config)
        report["real"] = {"root": str(real), "layout": layout, **notes, **figures(scored)}
        report["fed_judge_features"] = frechet_with_floor(
            end_features(scored), end_features(strip), seed=config.seed)
    if grid is not None:
        if strip.grid is None:
            raise ContemoError("no strip images were kept for the grid")
        try:
            Path(grid).parent.mkdir(parents=True, exist_ok=True)
            save_grid(strip.grid, grid)
        except OSError as err:
            raise ContemoError(f"{grid}: cannot write the grid ({err.strerror})") from None
        report["grid"] = str(grid)
    report["seconds"] = round(time.perf_counter() - start, 1)
    return report


def _rate(entry: dict[str, Any] | None) -> str:
    """Return 'rate (median m)' of a same/different-person entry, '-' when not measured."""
    if not entry or entry.get("rate_below") is None:
        return "-"
    return f"{entry['rate_below']:.3f} (median {entry['median']:.2f})"


def _num(x: float | None) -> str:
    """Return a figure with three decimals, '-' when not measured."""
    return "-" if x is None else f"{x:.3f}"


def format_table(report: dict[str, Any]) -> str:
    """Return the report as an aligned table: one row per figure, generated and real columns."""
    cfg = report["config"]
    gen, real = report["generated"], report.get("real", {})
    rows = [
        ("faces found by dlib", _num(gen["faces_found"]), _num(real.get("faces_found"))),
        (f"judge AUC P({cfg['end']}), w=1 vs w=0", _num(gen["judge_auc_end_vs_start"]),
         _num(real.get("judge_auc_end_vs_start"))),
        (f"mean P({cfg['end']}) at w=1", _num(gen["mean_p_end_at_end"]),
         _num(real.get("mean_p_end_at_end"))),
        (f"Spearman mean P({cfg['end']}) by step", _num(gen.get("spearman_p_end")), "-"),
        ("same person w=0 vs w=1 (< 0.6)", _rate(gen["same_person"]),
         _rate(real.get("same_person"))),
        ("different z/people below 0.6", _rate(gen["different_below_0_6"]),
         _rate(real.get("different_below_0_6"))),
    ]
    width = max(len(r[0]) for r in rows)
    title = (f"{cfg['start']} -> {cfg['end']}: {cfg['seeds']} seeds x {cfg['steps']} steps, "
             f"generator {report['checkpoint']}")
    lines = [title, f"{'':<{width}}  {'generated':<24} {'real' if real else ''}"]
    lines += [f"{name:<{width}}  {g:<24} {r if real else ''}".rstrip() for name, g, r in rows]
    fed = report.get("fed_judge_features")
    if fed:
        ratio = "n/a" if fed["ratio"] is None else f"{fed['ratio']:.2f}x"
        lines.append(f"FED (judge features): {fed['value']:.3f}, real/real floor "
                     f"{fed['floor']:.3f} ({ratio} the floor; {fed['half_size']} faces a side)")
    return "\n".join(lines)
