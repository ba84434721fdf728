"""Helpers for the robustness suite: damaged files made for real, and the one-line check."""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contemo.cli import main


def one_line_error(capsys, argv: list[str], code: int = 2) -> str:
    """Run the CLI in-process; assert exit `code` and exactly one error line, no traceback."""
    got = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("contemo: error")]
    assert got == code and len(lines) == 1, (got, err[-1500:])
    assert len(lines[0]) < 600, lines[0][:300]
    return lines[0]


def edit_json(path: Path, change: Callable[[dict], Any]) -> None:
    """Apply `change` to the JSON object in `path` (it edits in place or returns a new value)."""
    data = json.loads(path.read_text())
    new = change(data)
    path.write_text(json.dumps(data if new is None else new))


def reseal(path: Path) -> None:
    """Recompute a training sidecar's own checksum: what a forger (or a careful editor) does."""
    data = json.loads(path.read_text())
    body = {k: v for k, v in data.items() if k != "sidecar_sha256"}
    data["sidecar_sha256"] = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    path.write_text(json.dumps(data))


def png_header_only(path: Path, width: int, height: int) -> Path:
    """Write a tiny PNG whose header claims width x height (the issue's 74-byte file)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"")
                     + chunk(b"IEND", b""))
    return path


def deep(levels: int) -> str:
    """Return JSON text nested `levels` lists deep."""
    return "[" * levels + "]" * levels
