"""Checking JSON data against a typed dataclass: types from its annotations, bounds per field.

Configs arrive from files anyone can edit (a run's config.json, a release's model
shape), so every field is checked before it is used: its JSON type must fit the
dataclass annotation (int, float, bool, str, Literal, tuple, list, dict, unions,
nested dataclasses) and its value must lie within bounds. Bounds are registered per
class and field (`register_bounds`); a field with none gets its type's default
bound, so a field added later is checked too, just more loosely. The point is a
one-line refusal for `g_width: 1e6` or `steps: 1e30` instead of an allocation that
exhausts memory or a run that never ends.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from typing import Any

from contemo.errors import ContemoError

DEFAULT_INT = (-(10**9), 10**9)  # no count, size or step of a lab tool needs more
DEFAULT_FLOAT = (-1e9, 1e9)
MAX_STRING = 4096  # paths and names; a config string of more is damage
MAX_LIST = 10_000

_BOUNDS: dict[type, dict[str, tuple[float, float]]] = {}


def register_bounds(cls: type, bounds: dict[str, tuple[float, float]]) -> None:
    """Declare the inclusive (low, high) range of numeric fields of dataclass `cls`."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(bounds) - names
    if unknown:  # a typo here would silently leave a field at the loose default
        raise ValueError(f"bounds for unknown {cls.__name__} fields: {sorted(unknown)}")
    _BOUNDS.setdefault(cls, {}).update(bounds)


def bound_of(cls: type, name: str, kind: type) -> tuple[float, float]:
    """Return the (low, high) range of field `name` of `cls` (its type's default if none).

    Bounds registered on a base class hold for its subclasses (a checkpoint sidecar of
    any trainer shares the common fields' bounds).
    """
    for owner in getattr(cls, "__mro__", (cls,)):
        if name in _BOUNDS.get(owner, {}):
            return _BOUNDS[owner][name]
    return DEFAULT_INT if kind is int else DEFAULT_FLOAT


def check_range(value: float, low: float, high: float, what: str) -> None:
    """Raise a one-line ContemoError unless low <= value <= high (and value is finite)."""
    finite = not isinstance(value, float) or math.isfinite(value)  # ints: no float overflow
    if not (finite and low <= value <= high):
        raise ContemoError(f"{what}: expected a number in [{_num(low)}, {_num(high)}], "
                           f"got {_shown(value)}")


def within_bounds(cls: type, name: str, value: Any, where: str) -> Any:
    """Return `value` of field `name` after checking a number against the field's bounds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        check_range(value, *bound_of(cls, name, type(value)), f"{where}: field {name!r}")
    elif isinstance(value, tuple | list):
        for item in value:
            within_bounds(cls, name, item, where)
    return value


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else f"{x:g}"


def _shown(value: Any) -> str:
    """Return a short repr of a value for an error line (a 5,000-digit int is not printed)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**16:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def coerce(kind: Any, value: Any, what: str, bound: tuple[float, float] | None = None) -> Any:
    """Return JSON `value` as type `kind`, or raise a one-line ContemoError naming `what`."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any or kind is object:
        return value
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ContemoError(f"{what}: expected an object, got {_shown(value)}")
        return build(kind, value, what)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        problems = []
        for option in (a for a in args if a is not type(None)):
            try:
                return coerce(option, value, what, bound)
            except ContemoError as err:
                problems.append(str(err).rsplit(": expected ", 1)[-1].split(", got")[0])
        raise ContemoError(f"{what}: expected {' or '.join(problems)}, got {_shown(value)}")
    if origin is typing.Literal:
        if value not in args or isinstance(value, bool) != any(isinstance(a, bool) for a in args):
            raise ContemoError(f"{what}: expected one of {', '.join(map(repr, args))}, "
                               f"got {_shown(value)}")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ContemoError(f"{what}: expected true or false, got {_shown(value)}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ContemoError(f"{what}: expected an integer, got {_shown(value)}")
        if isinstance(value, float) and not value.is_integer():
            raise ContemoError(f"{what}: expected an integer, got {_shown(value)}")
        check_range(value, *(bound or DEFAULT_INT), what)
        return int(value)
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ContemoError(f"{what}: expected a number, got {_shown(value)}")
        if isinstance(value, int) and abs(value) > 10**308:
            raise ContemoError(f"{what}: expected a number in range, got {_shown(value)}")
        check_range(float(value), *(bound or DEFAULT_FLOAT), what)
        return float(value)
    if kind is str:
        if not isinstance(value, str) or len(value) > MAX_STRING or "\x00" in value:
            raise ContemoError(f"{what}: expected a string (at most {MAX_STRING} characters), "
                               f"got {_shown(value)}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ContemoError(f"{what}: expected a list, got {_shown(value)}")
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(items) != len(value) or len(value) > MAX_LIST:
            raise ContemoError(f"{what}: expected a list of {len(items)} items, got {len(value)}")
        return tuple(coerce(k, v, f"{what}[{i}]", bound) for i, (k, v)
                     in enumerate(zip(items, value)))
    if origin is list or kind is list:
        if not isinstance(value, list) or len(value) > MAX_LIST:
            raise ContemoError(f"{what}: expected a list (at most {MAX_LIST} items), "
                               f"got {_shown(value)}")
        item = args[0] if args else Any
        return [coerce(item, v, f"{what}[{i}]", bound) for i, v in enumerate(value)]
    if origin is dict or kind is dict:
        if not isinstance(value, dict):
            raise ContemoError(f"{what}: expected an object, got {_shown(value)}")
        item = args[1] if len(args) == 2 else Any
        return {str(k): coerce(item, v, f"{what}.{k}", bound) for k, v in value.items()}
    raise ContemoError(f"{what}: cannot check a field of type {kind!r}")  # a contemo bug


TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


def parse_text(cls: type, changes: dict[str, Any]) -> dict[str, Any]:
    """Return `changes` with command-line text turned into JSON values by field type.

    `--set model.g_width=48` arrives as the string '48'; numbers, booleans (true/false,
    yes/no, on/off, 1/0) and lists ('0.5,0.999') written as text become JSON values, then
    checked by `build`/`fields` like any JSON. Text that does not parse is left as it is,
    for the check to refuse with the field's name.
    """
    hints = typing.get_type_hints(cls)
    return {name: _from_text(hints.get(name), value) if isinstance(value, str) else value
            for name, value in changes.items()}


def _from_text(kind: Any, value: str) -> Any:
    """Return the JSON value that command-line `value` stands for as a `kind` (or `value`)."""
    text = value.strip().lower()
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        if str in args and text not in TRUE_WORDS + FALSE_WORDS:
            return value  # bool | str: "auto" stays text
        return next((v for v in (_from_text(a, value) for a in args if a is not str)
                     if not isinstance(v, str)), value)
    try:
        if kind is bool:
            return True if text in TRUE_WORDS else False if text in FALSE_WORDS else value
        if kind is int:
            number = float(text)
            return int(number) if number.is_integer() else number
        if kind is float:
            return float(text)
    except (ValueError, OverflowError):
        return value
    if origin is tuple and text:
        return [_from_text(args[0] if args else Any, part) for part in
                value.strip().strip("[]() ").split(",")]
    return value


def _known_hint(name: str, known: set[str]) -> str:
    """Return ' (fields: ...)' for a short field list, else the fields a typo most likely meant.

    A config has 60-odd fields: the whole list would make the one error line too long to
    read, so a long list narrows to close spellings and fields with the same first letter.
    """
    everything = ", ".join(sorted(known))
    if len(everything) <= 300:
        return f" (fields: {everything})"
    close = set(difflib.get_close_matches(name, known, n=3, cutoff=0.6))
    close |= {k for k in known if k[:1] == name[:1]}
    return f" (did you mean: {', '.join(sorted(close))}?)" if close else ""


def fields(cls: type, data: dict[str, Any], where: str, *, extra: str = "forbid"
           ) -> dict[str, Any]:
    """Return the fields of `data` that `cls` declares, each checked for type and bounds.

    Unknown fields are refused with the list of known ones (a typo must not be silently
    ignored) unless `extra="allow"`, where they are left out. This is the one place
    contemo turns JSON (or command-line text, after `parse_text`) into typed fields.
    """
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(map(str, set(data) - known))
    if unknown and extra == "forbid":
        raise ContemoError(f"{where}: unknown field {', '.join(map(repr, unknown))}"
                           f"{_known_hint(unknown[0], known)}")
    values = {}
    for name, value in ((k, v) for k, v in data.items() if k in known):
        kind = hints[name]
        values[name] = coerce(kind, value, f"{where}: field {name!r}",
                              bound_of(cls, name, int if kind is int else float))
    return values


def build(cls: type, data: dict[str, Any], where: str, *, extra: str = "forbid") -> Any:
    """Return `cls(**data)` after checking every field's type and bounds; one line if not.

    Fields missing from `data` keep their defaults (a field without one is required);
    unknown fields are refused unless `extra="allow"` (see `fields`). `cls.__post_init__`
    then checks what relates fields.
    """
    if not isinstance(data, dict):
        raise ContemoError(f"{where}: expected an object of {cls.__name__} fields")
    values = fields(cls, data, where, extra=extra)
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in data
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ContemoError(f"{where}: field(s) {', '.join(map(repr, missing))} missing")
    try:
        return cls(**values)
    except (TypeError, ValueError, ContemoError) as err:  # __post_init__'s cross-field checks
        line = str(err).splitlines()[0]
        raise ContemoError(line if line.startswith(f"{where}: ") else f"{where}: {line}"
                           ) from None
