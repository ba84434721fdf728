"""Per-participant data quality: attention-check results, time per image, speeders.

A catch item is passed when the answer for its emotion is one it accepts; a
participant passes when every catch item they answered was passed (an item not yet
answered counts neither way). Time per image is the client-measured time from the
face appearing to the last of its six ratings (rt_ms); for answers sent without it
(an API client) the server's answer timestamps give the spacing between images
instead. A participant whose median time per image is under the study's speeder_ms
is a speeder.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from contemo.serve.study.folder import Study


@dataclass(frozen=True)
class Quality:
    """One participant's data-quality facts (what export, admin page and analyze show)."""

    images_done: int  # stimulus + catch pages with all six rows rated
    catch_passed: int
    catch_total: int  # catch items answered
    catch_ok: bool | None  # None: no catch item answered yet
    median_image_ms: int | None  # None: nothing answered
    timing: str  # "client" (rt_ms) or "server" (answer timestamps)
    speeder: bool | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def assess(study: Study, rows: list[dict]) -> dict[int, Quality]:
    """Return participant id -> Quality from the store's answer rows (store.rows())."""
    by_person: dict[int, list[dict]] = {}
    for row in rows:
        by_person.setdefault(row["participant"], []).append(row)
    return {pid: _assess_one(study, answers) for pid, answers in by_person.items()}


def _assess_one(study: Study, answers: list[dict]) -> Quality:
    catch = study.catch_by_id
    pages: dict[str, list[dict]] = {}
    for row in answers:
        pages.setdefault(row["image_id"], []).append(row)
    full = {i: rs for i, rs in pages.items() if len({r["rated_emotion"] for r in rs}) >= 6}
    results = [catch[i].passed({r["rated_emotion"]: r["value"] for r in rs})
               for i, rs in full.items() if i in catch]
    client = [max(r["rt_ms"] for r in rs) for rs in full.values()
              if all(r.get("rt_ms") is not None for r in rs)]
    if client and len(client) == len(full):
        median, timing = int(statistics.median(client)), "client"
    else:
        median, timing = _server_median(full), "server"
    speeder = None if median is None else median < study.settings.speeder_ms
    return Quality(images_done=len(full), catch_passed=sum(results), catch_total=len(results),
                   catch_ok=None if not results else all(results), median_image_ms=median,
                   timing=timing, speeder=speeder)


def _server_median(full: dict[str, list[dict]]) -> int | None:
    """Return the median gap in ms between the last answers of successive full pages."""
    stamps = sorted(max(datetime.fromisoformat(r["answered"]) for r in rs)
                    for rs in full.values())
    if len(stamps) < 2:
        return None
    gaps = [(b - a).total_seconds() * 1000 for a, b in itertools.pairwise(stamps)]
    return int(statistics.median(gaps))
