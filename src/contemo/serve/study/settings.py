"""A study's run settings (study.json "settings"): recruitment hand-off, data quality, extras.

Everything a researcher sets per study lives in study.json so that the folder alone
says how the study was run: which URL parameters of a recruitment platform are kept
(Prolific's PROLIFIC_PID / STUDY_ID / SESSION_ID, MTurk's workerId / assignmentId /
hitId, a generic pid), where participants are sent at the end and with which code,
the entry key that keeps strangers out, attention checks (catch items), practice
pages, demographics and the speeder threshold. Each field is validated on load with a
one-line error naming it; a study.json without "settings" gets the defaults (an old
study keeps working, open to anyone, which `study serve` warns about).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from contemo.emotions import EMOTIONS
from contemo.errors import ContemoError

ID_PATTERN = re.compile(r"^[0-9a-f]{12}$")  # secrets.token_hex(6): images, catch, practice
PARAM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,100}$")
# Prolific, MTurk and a generic participant id: kept when present in the study URL.
DEFAULT_URL_PARAMS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "workerId", "assignmentId",
                      "hitId", "pid")
CATCH_KINDS = ("instructed", "known")
LIKERT_VALUES = (1, 2, 3, 4, 5)
# A participant whose median time per image is below this is flagged a speeder: reading
# six rows and clicking six circles takes a person well over 2 s (36 images in 10 s is
# 0.28 s each, the case that prompted the flag).
DEFAULT_SPEEDER_MS = 2000


@dataclass(frozen=True)
class CatchItem:
    """An attention check shown as one more image page, indistinguishable by its id.

    instructed: the page tells the participant which answer to give for one emotion
    ("choose 5 for Fear"); known: a face whose emotion is unambiguous, where the rating
    of `emotion` must be one of `accept` (e.g. happy rated 1 or 2).
    """

    id: str
    file: str
    kind: str
    emotion: str
    accept: tuple[int, ...]
    instruction: str = ""

    def passed(self, ratings: dict[str, int]) -> bool:
        """Return True when the participant's answer for `emotion` is an accepted one."""
        return ratings.get(self.emotion) in self.accept


@dataclass(frozen=True)
class StudySettings:
    """How a study is run (every field optional in study.json)."""

    entry_key: str | None = None  # participants need ?key=ENTRY_KEY in their link; None: open
    url_params: tuple[str, ...] = DEFAULT_URL_PARAMS  # kept with the participant when present
    completion_url: str | None = None  # where to send finishers; "{code}" is replaced
    completion_code: str | None = None  # one code for everyone; None: a code per participant
    randomize_rows: bool = True  # emotion rows in a per-participant, per-image random order
    speeder_ms: int = DEFAULT_SPEEDER_MS  # median ms per image below this: a speeder
    demographics: bool = False  # ask age and gender (optional answers) after consent
    practice: tuple[str, ...] = ()  # image ids shown first, answers not stored
    catch: tuple[CatchItem, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """Return the settings as study.json stores them."""
        return {
            "entry_key": self.entry_key, "url_params": list(self.url_params),
            "completion_url": self.completion_url, "completion_code": self.completion_code,
            "randomize_rows": self.randomize_rows, "speeder_ms": self.speeder_ms,
            "demographics": self.demographics,
            "practice": [{"id": p, "file": f"images/{p}.png"} for p in self.practice],
            "catch": [{"id": c.id, "file": c.file, "kind": c.kind, "emotion": c.emotion,
                       "accept": list(c.accept), "instruction": c.instruction}
                      for c in self.catch],
        }

    def redirect_for(self, code: str) -> str | None:
        """Return the completion URL with the code filled in (None when none is set)."""
        if not self.completion_url:
            return None
        from urllib.parse import quote

        return self.completion_url.replace("{code}", quote(code, safe=""))


def parse_settings(raw: Any, path: Path) -> StudySettings:
    """Return validated settings from study.json's "settings" (absent: the defaults)."""
    if raw is None:
        return StudySettings()
    where = f"{path}: settings"
    if not isinstance(raw, dict):
        raise ContemoError(f"{where}: expected an object")
    known = set(StudySettings.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ContemoError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})")
    out: dict[str, Any] = {}
    key = raw.get("entry_key")
    if key is not None and (not isinstance(key, str) or not KEY_PATTERN.match(key)):
        raise ContemoError(f"{where}.entry_key: expected 8-100 letters, digits, '-' or '_'")
    out["entry_key"] = key
    params = raw.get("url_params", list(DEFAULT_URL_PARAMS))
    if not isinstance(params, list) or not all(isinstance(p, str) and PARAM_NAME.match(p)
                                                for p in params) or len(params) > 20:
        raise ContemoError(f"{where}.url_params: expected a list of up to 20 parameter names "
                           "(letters, digits, '_')")
    out["url_params"] = tuple(params)
    out["completion_url"] = _completion_url(raw.get("completion_url"), f"{where}.completion_url")
    code = raw.get("completion_code")
    if code is not None and (not isinstance(code, str) or not CODE_PATTERN.match(code)):
        raise ContemoError(f"{where}.completion_code: expected 1-40 letters, digits, '-' or '_'")
    out["completion_code"] = code
    for name in ("randomize_rows", "demographics"):
        value = raw.get(name, getattr(StudySettings, name))
        if not isinstance(value, bool):
            raise ContemoError(f"{where}.{name}: expected true or false")
        out[name] = value
    speeder = raw.get("speeder_ms", DEFAULT_SPEEDER_MS)
    if isinstance(speeder, bool) or not isinstance(speeder, int) or not 0 <= speeder <= 600_000:
        raise ContemoError(f"{where}.speeder_ms: expected a whole number of ms, 0-600000")
    out["speeder_ms"] = speeder
    out["practice"] = tuple(_practice(raw.get("practice") or [], f"{where}.practice"))
    out["catch"] = tuple(_catch(item, f"{where}.catch[{i}]")
                         for i, item in enumerate(raw.get("catch") or []))
    return StudySettings(**out)


def _completion_url(url: Any, where: str) -> str | None:
    """Return a checked http(s) completion URL or None."""
    if url is None:
        return None
    if not isinstance(url, str) or len(url) > 2000:
        raise ContemoError(f"{where}: expected an http(s) URL of at most 2000 characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ContemoError(f"{where}: expected an http(s) URL, e.g. "
                           "https://app.prolific.com/submissions/complete?cc={code}")
    return url


def _practice(items: Any, where: str) -> list[str]:
    """Return the ids of practice images ({"id", "file"} objects)."""
    if not isinstance(items, list):
        raise ContemoError(f"{where}: expected a list")
    ids = []
    for i, item in enumerate(items):
        image_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(image_id, str) or not ID_PATTERN.match(image_id) \
                or item.get("file") != f"images/{image_id}.png":
            raise ContemoError(f"{where}[{i}]: expected {{\"id\": 12 hex digits, "
                               "\"file\": \"images/<id>.png\"}")
        ids.append(image_id)
    return ids


def _catch(item: Any, where: str) -> CatchItem:
    """Return one validated catch item."""
    if not isinstance(item, dict):
        raise ContemoError(f"{where}: expected an object")
    image_id = item.get("id")
    if not isinstance(image_id, str) or not ID_PATTERN.match(image_id):
        raise ContemoError(f"{where}.id: must be 12 hex digits")
    if item.get("file") != f"images/{image_id}.png":
        raise ContemoError(f"{where}.file: must be 'images/{image_id}.png'")
    if item.get("kind") not in CATCH_KINDS:
        raise ContemoError(f"{where}.kind: must be one of {', '.join(CATCH_KINDS)}")
    if item.get("emotion") not in EMOTIONS:
        raise ContemoError(f"{where}.emotion: must be one of {', '.join(EMOTIONS)}")
    accept = item.get("accept")
    if not isinstance(accept, list) or not accept or not all(
            type(v) is int and v in LIKERT_VALUES for v in accept):
        raise ContemoError(f"{where}.accept: expected a non-empty list of Likert values 1-5")
    instruction = item.get("instruction", "")
    if not isinstance(instruction, str) or len(instruction) > 300:
        raise ContemoError(f"{where}.instruction: expected text of at most 300 characters")
    if item["kind"] == "instructed" and not instruction:
        raise ContemoError(f"{where}.instruction: an instructed item needs its instruction")
    return CatchItem(image_id, item["file"], item["kind"], item["emotion"],
                     tuple(sorted(set(accept))), instruction)
