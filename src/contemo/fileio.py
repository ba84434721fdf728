"""Atomic file writes: a crash or SIGKILL never leaves a half-written checkpoint, JSON or image."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contemo.errors import ContemoError


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Return `path` after `write(tmp)` filled a temp file beside it that then replaced `path`.

    The temp file lives in the same folder so `os.replace` is a rename on one file
    system, which POSIX makes atomic: readers see the old file or the new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    # mkstemp makes the file private (0600); results are meant to be shared like any file.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Return `path` after writing `data` to it atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Return `path` after writing `obj` as indented JSON atomically."""
    text = json.dumps(obj, indent=2, sort_keys=False) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def read_format_json(path: str | os.PathLike, fmt: str, *, missing: str) -> dict[str, Any]:
    """Return a JSON object file whose 'format' field is `fmt`; any problem is one line.

    `missing` is what to say after the path when the file does not exist (e.g. how to
    make it). Every contemo file that carries a format tag (releases, studies,
    calibrations) is read through here, so their errors read alike.
    """
    path = Path(path)
    if not path.is_file():
        raise ContemoError(f"{path}: {missing}")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ContemoError(f"{path}: not valid JSON ({err.__class__.__name__})") from None
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise ContemoError(f"{path}: field 'format' must be {fmt!r}")
    return data


def load_tensors(path: str | os.PathLike) -> dict[str, Any]:
    """Return the tensors of a safetensors file; a damaged or foreign file is one line."""
    from safetensors import SafetensorError  # lazy: torch stays out of light commands
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ContemoError(f"{path}: not a readable safetensors file ({err})".splitlines()[0]
                           ) from None
