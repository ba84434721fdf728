"""Atomic file writes: a crash or SIGKILL never leaves a half-written checkpoint, JSON or image."""

from __future__ import annotations

import errno
import json
import math
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contemo.errors import ContemoError

TMP_SUFFIX = ".tmp"  # atomic_write's temp files: '.NAME.XXXX.tmp' beside their target
MAX_JSON_BYTES = 32 * 1024 * 1024  # configs and sidecars are KiBs; this bounds a hostile file
MAX_JSON_DEPTH = 32  # contemo's files nest 4 levels at most; deep nesting is damage or an attack


def current_umask() -> int:
    """Return the process umask (reading it means setting it, so it is set straight back)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Return `path` after `write(tmp)` filled a temp file beside it that then replaced `path`.

    The temp file lives in the same folder so `os.replace` is a rename on one file
    system, which POSIX makes atomic: readers see the old file or the new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        # mkstemp makes the file private (0600), and some writers (safetensors) replace the
        # file they are given, so the mode is set after writing: results are shared like any file.
        os.chmod(tmp_path, 0o666 & ~current_umask())
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


def finite_json(obj: Any) -> Any:
    """Return `obj` with every NaN or infinite float replaced by None (JSON's null).

    A metric can be undefined (the correlation of constant predictions on a tiny held-out
    split is NaN), and Python would write it as the literal NaN, which JSON lacks and the
    release reader refuses: the model it describes would then not load.
    """
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: finite_json(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(value) for value in obj]
    return obj


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Return `path` after writing `obj` as indented JSON atomically."""
    text = json.dumps(obj, indent=2, sort_keys=False) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def read_format_json(path: str | os.PathLike, fmt: str, *, missing: str,
                     allow_nan: bool = True) -> dict[str, Any]:
    """Return a JSON object file whose 'format' field is `fmt`; any problem is one line.

    `missing` is what to say after the path when the file does not exist (e.g. how to
    make it). Every contemo file that carries a format tag (releases, studies,
    calibrations) is read through here, so their errors read alike.
    """
    path = Path(path)
    if not path.is_file():
        raise ContemoError(f"{path}: {missing}")
    data = read_json(path, allow_nan=allow_nan)
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise ContemoError(f"{path}: field 'format' must be {fmt!r}")
    return data


def read_json(path: str | os.PathLike, *, allow_nan: bool = True,
              max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Return the JSON data of a file; anything that is not sane JSON is one line naming it.

    Python's parser raises more than JSONDecodeError on hostile input: RecursionError on
    deep nesting, ValueError on integers of over 4,300 digits. Those, an oversized file,
    nesting deeper than MAX_JSON_DEPTH and non-UTF-8 bytes are refused here, so no reader
    of a contemo file can be crashed or exhausted by one. `allow_nan=False` also refuses
    the NaN/Infinity literals Python writes but JSON lacks (for files whose every number
    must be finite: configs, checkpoint sidecars).
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as err:
        raise ContemoError(f"{path}: cannot read ({err.strerror or type(err).__name__})") from None
    if len(raw) > max_bytes:
        raise ContemoError(f"{path}: larger than {max_bytes // (1024 * 1024)} MiB; not a contemo "
                           "JSON file")
    try:
        text = raw.decode("utf-8")
        data = json.loads(text) if allow_nan else json.loads(text, parse_constant=_no_constant)
    except UnicodeDecodeError as err:
        raise ContemoError(f"{path}: not UTF-8 text (byte 0x{raw[err.start]:02x} at offset "
                           f"{err.start})") from None
    except json.JSONDecodeError as err:
        raise ContemoError(f"{path}: not valid JSON ({err.msg} at line {err.lineno} "
                           f"column {err.colno})") from None
    except RecursionError:
        raise ContemoError(f"{path}: JSON nested too deeply") from None
    except ValueError as err:  # e.g. an integer literal of thousands of digits
        raise ContemoError(f"{path}: not valid JSON ({str(err).splitlines()[0][:80]})") from None
    if json_depth(data) > MAX_JSON_DEPTH:
        raise ContemoError(f"{path}: JSON nested more than {MAX_JSON_DEPTH} levels deep")
    return data


def _no_constant(name: str) -> Any:
    """Refuse NaN, Infinity and -Infinity, which json.loads would otherwise accept."""
    raise ValueError(f"{name} is not a JSON number")


def json_depth(data: Any) -> int:
    """Return how deeply lists and objects nest in `data` (a scalar is depth 0), iteratively."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_JSON_DEPTH:  # no need to look deeper than the limit
            stack.extend((child, depth + 1) for child in children)
    return deepest


def write_error(path: str | os.PathLike, err: OSError) -> ContemoError:
    """Return the one-line error for a failed write: the file and the system's reason."""
    reason = err.strerror or (str(err).splitlines()[0] if str(err) else type(err).__name__)
    return ContemoError(f"{getattr(err, 'filename', None) or path}: cannot write ({reason})")


def write_safetensors(path: str | os.PathLike, tensors: dict[str, Any],
                      metadata: dict[str, str] | None = None) -> Path:
    """Return `path` after writing `tensors` to it atomically; a failed write is an OSError.

    safetensors reports a full disk as SafetensorError with the OS error inside its text;
    it is turned back into the OSError it was (errno kept), so callers handle a full disk
    or a read-only folder the same way for every file they write.
    """
    from safetensors import SafetensorError  # lazy: torch stays out of light commands
    from safetensors.torch import save_file

    def write(tmp: Path) -> None:
        try:
            save_file(tensors, str(tmp), metadata)
        except SafetensorError as err:
            code = re.search(r"(?:os error|code:) (\d+)", str(err))
            errno_ = int(code.group(1)) if code else errno.EIO
            raise OSError(errno_, os.strerror(errno_), str(path)) from None

    return atomic_write(path, write)


def load_tensors(path: str | os.PathLike) -> dict[str, Any]:
    """Return the tensors of a safetensors file; a damaged or foreign file is one line."""
    from safetensors import SafetensorError  # lazy: torch stays out of light commands
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ContemoError(f"{path}: not a readable safetensors file ({err})".splitlines()[0]
                           ) from None
