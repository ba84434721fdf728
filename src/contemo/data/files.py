"""Finding a layout's files: the folder must exist, and image files are listed in a stable order."""

from __future__ import annotations

from pathlib import Path

from contemo.data.images import IMAGE_SUFFIXES, is_image_file
from contemo.errors import ContemoError


def require_folder(root: str | Path, what: str = "data folder") -> Path:
    """Return `root` as a Path if it is an existing folder, else raise a one-line ContemoError."""
    path = Path(root).expanduser()
    if not path.exists():
        raise ContemoError(f"{path}: no such {what}")
    if not path.is_dir():
        raise ContemoError(f"{path}: expected a {what}, found a file")
    return path


def image_files(folder: Path) -> list[Path]:
    """Return every image file below `folder` (recursively, hidden ones skipped), sorted."""
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and is_image_file(p)
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def folder_images(root: str | Path, what: str) -> tuple[Path, list[Path]]:
    """Return (folder, its image files); a missing folder or one without images raises."""
    folder = require_folder(root, what)
    files = image_files(folder)
    if not files:
        kinds = ", ".join(sorted(IMAGE_SUFFIXES))
        raise ContemoError(f"{folder}: no image files ({kinds}) found")
    return folder, files


def shown(path: Path, root: Path) -> str:
    """Return `path` relative to `root` when below it (shorter problem lines), else whole."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
