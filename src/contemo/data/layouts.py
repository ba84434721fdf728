"""Scan any supported data layout into FaceRecords: `scan(root, layout)` is the one entry point.

`collect` always gathers every problem (what `contemo data check` prints);
`scan` is what training uses: it stops at the first problem with a one-line
ContemoError unless `skip_bad`, in which case bad files are skipped and counted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from contemo.data.affectnet import scan_affectnet
from contemo.data.faces import scan_faces
from contemo.data.generic import scan_csv, scan_folder
from contemo.data.london import scan_london
from contemo.data.records import ScanResult
from contemo.errors import ContemoError

LAYOUTS: dict[str, Callable[..., ScanResult]] = {
    "faces": scan_faces,
    "affectnet": scan_affectnet,
    "folder": scan_folder,
    "csv": scan_csv,
    "london": scan_london,
}
MANIFEST_LAYOUTS = ("affectnet", "csv")  # the layouts that read a CSV manifest
IDENTITY_LAYOUTS = ("london", "faces")  # the layouts whose names say who is in each photo


def collect(root: str | Path, layout: str, *, manifest: str | Path | None = None) -> ScanResult:
    """Return the scan of `root` with every per-file problem listed (fatal ones still raise)."""
    if layout not in LAYOUTS:
        raise ContemoError(f"unknown layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    if manifest is not None and layout not in MANIFEST_LAYOUTS:
        raise ContemoError(
            f"--manifest applies to layouts {', '.join(MANIFEST_LAYOUTS)}, not {layout}"
        )
    if layout in MANIFEST_LAYOUTS:
        return LAYOUTS[layout](root, manifest=manifest)
    return LAYOUTS[layout](root)


def scan(
    root: str | Path, layout: str, *, skip_bad: bool = False, manifest: str | Path | None = None
) -> ScanResult:
    """Return the usable records of `root`; raise on the first problem unless `skip_bad`.

    Even with `skip_bad`, a scan that leaves no usable image raises: an empty data
    set is never what the caller wants.
    """
    result = collect(root, layout, manifest=manifest)
    better = better_layout(result, root, manifest)
    if better is not None:
        name, count = better
        raise ContemoError(
            f"{result.root or root}: {len(result.problems)} of the files do not fit layout "
            f"{layout}, but it looks like layout {name!r} ({count} usable images): "
            f"pass --layout {name}")
    if result.problems and not skip_bad:
        more = len(result.problems) - 1
        tail = f" (and {more} more problem{'s' * (more > 1)}; see `contemo data check`" \
            f" or pass --skip-bad)" if more else " (pass --skip-bad to skip bad files)"
        raise ContemoError(_located(result, result.problems[0]) + tail)
    if not result.records:
        raise ContemoError(
            f"{result.root or root}: no usable images for layout {layout} "
            f"({len(result.problems)} skipped)"
        )
    return result


def _located(result: ScanResult, problem: str) -> str:
    """Return a problem line (written relative to the scan root) with the root in front."""
    return problem if result.root is None else f"{result.root / problem}"


def better_layout(result: ScanResult, root: str | Path, manifest: str | Path | None = None
                  ) -> tuple[str, int] | None:
    """Return (layout, usable images) that reads `root` better than `result`'s, when most failed."""
    if len(result.problems) <= len(result.records) or manifest is not None:
        return None
    return guess_layout(root, exclude=result.layout)


def guess_layout(root: str | Path, exclude: str = "") -> tuple[str, int] | None:
    """Return (layout, usable images) of the layout that reads `root` best, if one reads it cleanly.

    A folder of emotion sub-folders read as FACES gives one "not a FACES file name"
    per image; naming the layout that fits is the useful answer.
    """
    best: tuple[str, int] | None = None
    for name in LAYOUTS:
        if name == exclude:
            continue
        try:
            result = collect(root, name)
        except ContemoError:
            continue
        usable = len(result.records)
        if usable and len(result.problems) <= usable // 10 and (best is None or usable > best[1]):
            best = (name, usable)
    return best
