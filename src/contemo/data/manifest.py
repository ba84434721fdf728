"""Reading CSV manifests: the header is checked first, rows come with their line numbers."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

from contemo.errors import ContemoError


def read_header(path: Path) -> list[str]:
    """Return the CSV's column names (stripped), or raise a one-line ContemoError."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            first = next(csv.reader(fh), None)
    except FileNotFoundError:
        raise ContemoError(f"{path}: manifest not found") from None
    except UnicodeDecodeError as err:
        raise ContemoError(f"{path}: {not_utf8(path, err)}") from None
    except (csv.Error, OSError) as err:
        raise ContemoError(f"{path}: not a readable CSV file ({err.__class__.__name__})") from None
    if not first:
        raise ContemoError(f"{path}: empty CSV file (expected a header row)")
    return [c.strip() for c in first]


def require_columns(path: Path, header: Sequence[str], required: Sequence[str]) -> None:
    """Raise a one-line ContemoError naming every required column the header lacks."""
    missing = [c for c in required if c not in header]
    if missing:
        raise ContemoError(
            f"{path}: missing column(s) {', '.join(missing)} "
            f"(expected {', '.join(required)}; found {', '.join(header) or 'none'})"
        )


def rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) with stripped keys and values; blank lines are skipped."""
    header = read_header(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            next(reader)
            for values in reader:
                if not any(v.strip() for v in values):
                    continue
                padded = list(values) + [""] * (len(header) - len(values))
                yield reader.line_num, {k: v.strip() for k, v in zip(header, padded)}
    except UnicodeDecodeError as err:
        raise ContemoError(f"{path}: {not_utf8(path, err)}") from None
    except csv.Error as err:
        raise ContemoError(f"{path}: not a readable CSV file ({err.__class__.__name__})") from None


def not_utf8(path: Path, err: UnicodeDecodeError) -> str:
    """Return 'not UTF-8 text: byte 0xe9 on line 3' for a CSV that failed to decode."""
    try:
        raw = path.read_bytes()
        offset = raw.index(err.object[err.start:err.end])  # the decoder saw a chunk, not the file
        line = raw.count(b"\n", 0, offset) + 1
        where = f" on line {line}"
    except (OSError, ValueError):
        where = ""
    return (f"not UTF-8 text: byte 0x{err.object[err.start]:02x}{where} (save the CSV as "
            "UTF-8)")


def find_manifests(folder: Path, required: Sequence[str],
                   unreadable: list[str] | None = None) -> list[Path]:
    """Return the CSVs in `folder` or one level below whose header has every `required` column.

    CSVs that cannot be read are skipped; their one-line reasons go to `unreadable`, so
    that "no CSV found" can say why a CSV that is there did not count.
    """
    found = []
    for csv_path in sorted([*folder.glob("*.csv"), *folder.glob("*/*.csv")]):
        try:
            header = read_header(csv_path)
        except ContemoError as err:
            if unreadable is not None:
                unreadable.append(str(err))
            continue
        if all(c in header for c in required):
            found.append(csv_path)
    return found


def parse_number(text: str, kind: type, field: str) -> float | int:
    """Return `text` as int or float, or raise ValueError with a message naming the field."""
    try:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError
        if kind is int:
            if value != int(value):
                raise ValueError
            return int(value)
        return value
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise ValueError(f"{field} {text!r} is not {noun}") from None
