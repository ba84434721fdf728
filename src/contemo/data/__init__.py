"""Face data: layouts (FACES, AffectNet, folder, CSV, London), the cached dataset, synthetic faces.

`open_dataset` is the one call training needs. Importing this package stays light
(no torch) so `contemo data check` starts fast; torch loads with the dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contemo.data.dataset import FaceDataset
    from contemo.data.facecrop import CropSpec


def open_dataset(
    root: str | Path, layout: str = "faces", size: int = 64, *, skip_bad: bool = False,
    center_crop: bool = False, manifest: str | Path | None = None, cache: bool = True,
    threads: int | None = None, crop: CropSpec | None = None,
) -> FaceDataset:
    """Return the FaceDataset of `root` read as `layout`, decoded once at `size` pixels.

    Any bad input (missing folder or column, misnamed or unreadable file) raises a
    one-line ContemoError naming it, unless `skip_bad`, which skips and counts
    (`dataset.skipped` lists the decode failures; the scan's problems come first).
    `crop` frames every face the same way (contemo.data.facecrop); the resolved crop,
    with its box and how many faces were found, is `dataset.crop`.
    """
    from contemo.data.dataset import FaceDataset
    from contemo.data.facecrop import CropSpec, resolve_crop
    from contemo.data.layouts import scan

    result = scan(root, layout, skip_bad=skip_bad, manifest=manifest)
    records, spec, no_face = resolve_crop(result.records, crop or CropSpec(), skip_bad=skip_bad)
    dataset = FaceDataset(
        records, size, center_crop=center_crop, cache=cache, skip_bad=skip_bad, threads=threads,
    )
    dataset.skipped[:0] = result.problems + no_face
    dataset.crop = spec
    return dataset
