"""Return a data-set check report (a JSON-ready dict) and format it for the terminal."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tqdm import tqdm

from contemo.data.facecrop import CropSpec, resolve_crop
from contemo.data.files import shown
from contemo.data.images import crop_box, decode_threads, probe
from contemo.data.layouts import better_layout, collect
from contemo.data.records import FaceRecord, ScanResult
from contemo.emotions import AFFECTNET_CLASSES, EMOTIONS
from contemo.errors import ContemoError

# Metadata worth tallying, with the heading printed for each.
META_COUNTS = {"age_group": "age group", "gender": "gender", "picture_set": "picture set",
               "ethnicity": "ethnicity"}
MAX_SIZES_SHOWN = 8


def build_report(
    root: str | Path, layout: str, *, manifest: str | Path | None = None,
    threads: int | None = None, crop: str = "none", crop_scale: float = 1.6,
) -> dict[str, Any]:
    """Return counts, sizes and every problem of the data set (each image decoded once).

    With `crop` fixed or detect, faces are looked for too (contemo.data.facecrop) and
    the report says how many were found and cropped, and the box a fixed crop uses.
    """
    result = collect(root, layout, manifest=manifest)
    better = better_layout(result, root, manifest)
    if better is not None:
        result.notes.append(f"most files do not fit layout {layout}; it looks like layout "
                            f"{better[0]!r} ({better[1]} usable images): --layout {better[0]}")
    sizes, unreadable, good = _probe_all(result, threads)
    records = [r for r, ok in zip(result.records, good) if ok]
    face_crop = None
    if crop != "none" and records:
        records, spec, no_face = resolve_crop(records, CropSpec(crop, crop_scale),
                                              skip_bad=True)
        unreadable = unreadable + no_face
        face_crop = spec.to_dict()
    kept = ScanResult(records, result.problems + unreadable, layout, result.root,
                      result.dropped, result.notes)
    counts = {"emotion": _ordered(kept.counts("emotion"), EMOTIONS)}
    if layout == "affectnet" or any(r.emotion is None for r in records):
        counts["class"] = _ordered(kept.counts("class"), AFFECTNET_CLASSES)
    for key in META_COUNTS:
        tally = kept.counts(key)
        if tally:
            counts[key] = dict(sorted(tally.items()))
    return {
        "root": str(result.root or root),
        "layout": layout,
        "notes": result.notes,
        "usable": len(records),
        "counts": counts,
        "age_years": _age_summary(records),
        "valence_arousal": _va_summary(records),
        "image_sizes": {f"{w}x{h}": n for (w, h), n in sizes.most_common()},
        "dropped": result.dropped,
        "face_crop": face_crop,
        "problems": kept.problems,
    }


def _probe_all(
    result: ScanResult, threads: int | None
) -> tuple[Counter, list[str], list[bool]]:
    """Return (size tally, unreadable-file problems, per-record ok flags), decoding every image."""

    def work(record: FaceRecord) -> tuple[int, int] | str:
        try:
            size = probe(record.path)
            crop_box(size, record.bbox, record.path)  # a face box outside the image is bad too
            return size
        except ContemoError as err:
            return str(err)

    workers = decode_threads(threads)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(tqdm(pool.map(work, result.records), total=len(result.records),
                             unit="img", desc="decoding", disable=None, leave=False))
    sizes: Counter = Counter(o for o in outcomes if isinstance(o, tuple))
    root = result.root or Path(".")
    problems = [_relative(o, root) for o in outcomes if isinstance(o, str)]
    return sizes, problems, [isinstance(o, tuple) for o in outcomes]


def _relative(message: str, root: Path) -> str:
    """Return an image error with its leading path written relative to the data root."""
    path, sep, rest = message.partition(": ")
    return f"{shown(Path(path), root)}{sep}{rest}"


def _ordered(tally: Counter, order: tuple[str, ...] | list[str]) -> dict[str, int]:
    """Return the tally as a dict in vocabulary order (unknown keys last), zero counts included."""
    out = {k: tally.get(k, 0) for k in order}
    out.update({k: v for k, v in sorted(tally.items()) if k not in out})
    return out


def _age_summary(records: list[FaceRecord]) -> dict[str, Any] | None:
    """Return the range of ages in years (London set), None when no record gives an age."""
    ages = [r.meta["age"] for r in records if isinstance(r.meta.get("age"), int)]
    if not ages:
        return None
    return {"min": min(ages), "max": max(ages), "mean": sum(ages) / len(ages),
            "unknown": len(records) - len(ages)}


def _va_summary(records: list[FaceRecord]) -> dict[str, Any] | None:
    """Return how many records carry valence-arousal and their ranges, None if none do."""
    pairs = [(r.valence, r.arousal) for r in records if r.valence is not None]
    if not pairs:
        return None
    vs, ars = zip(*pairs)
    return {
        "count": len(pairs),
        "valence": {"min": min(vs), "mean": sum(vs) / len(vs), "max": max(vs)},
        "arousal": {"min": min(ars), "mean": sum(ars) / len(ars), "max": max(ars)},
    }


def format_report(report: dict[str, Any], *, skip_bad: bool = False) -> str:
    """Return the report as the lines `contemo data check` prints."""
    lines = [f"{report['root']}  (layout {report['layout']})"]
    lines += [f"  {note}" for note in report["notes"]]
    problems = report["problems"]
    verdict = f"skipped {len(problems)}" if skip_bad else f"problems {len(problems)}"
    lines.append(f"usable images: {report['usable']}   {verdict}")
    for name, count in report["dropped"].items():
        lines.append(f"dropped: {name}: {count}")
    for key, tally in report["counts"].items():
        heading = META_COUNTS.get(key, key)
        lines.append(f"{heading + ':':13s}" + "  ".join(f"{k} {v}" for k, v in tally.items()))
    age = report["age_years"]
    if age:
        unknown = f"; unknown for {age['unknown']}" if age["unknown"] else ""
        span = f"{age['min']}-{age['max']} years"
        lines.append(f"{'age:':13s}{span} (mean {age['mean']:.1f}{unknown})")
    va = report["valence_arousal"]
    if va:
        lines.append(
            f"{'VA:':13s}{va['count']} images; valence {va['valence']['min']:+.2f}.."
            f"{va['valence']['max']:+.2f} (mean {va['valence']['mean']:+.2f}), arousal "
            f"{va['arousal']['min']:+.2f}..{va['arousal']['max']:+.2f} "
            f"(mean {va['arousal']['mean']:+.2f})"
        )
    sizes = list(report["image_sizes"].items())
    shown_sizes = "  ".join(f"{s} ({n})" for s, n in sizes[:MAX_SIZES_SHOWN])
    hidden = len(sizes) - MAX_SIZES_SHOWN
    more = f"  ... {hidden} other sizes" if hidden > 0 else ""
    lines.append(f"{'image sizes:':13s}{shown_sizes or 'none readable'}{more}")
    crop = report.get("face_crop")
    if crop:
        box = "" if crop["box"] is None else \
            " box " + ",".join(f"{b:.3f}" for b in crop["box"]) + " (fractions l,t,r,b)"
        lines.append(f"{'faces:':13s}found {crop['found']} of {crop['images']}, cropped "
                     f"{crop['cropped']} (crop {crop['mode']}, scale {crop['scale']}){box}")
    if problems:
        lines.append(f"{'skipped' if skip_bad else 'problems'} ({len(problems)}):")
        lines += [f"  {p}" for p in problems]
    else:
        lines.append("no problems found")
    return "\n".join(lines)
