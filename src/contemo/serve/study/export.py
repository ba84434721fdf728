"""The answers joined with the hidden key and each participant's facts, as rows and CSV.

export.csv is long (one row per participant x image x rated emotion) and repeats the
participant's recruitment ids, completion code, exclusion and data-quality flags on
every row, so one file is enough to match a submitted code to its answers in R or
pandas. participants.csv has one row per participant (the admin page's table).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from contemo.serve.study.folder import Study
from contemo.serve.study.quality import Quality, assess
from contemo.serve.study.store import AnswerStore

ANSWER_COLUMNS = ("image_id", "source", "image_emotion", "rated_emotion", "row_position",
                  "value", "rt_ms", "answered", "revisions")
PERSON_COLUMNS = ("completion_code", "participant_completed", "excluded", "exclusion_reason",
                  "catch_passed", "catch_total", "catch_ok", "median_image_ms", "speeder")
DEMOGRAPHICS = ("age", "gender")


def answer_columns(study: Study) -> tuple[str, ...]:
    """Return export.csv's columns: participant, their ids, their flags, then the answer."""
    return ("participant", *study.settings.url_params, *PERSON_COLUMNS, *ANSWER_COLUMNS)


def participant_columns(study: Study) -> tuple[str, ...]:
    """Return participants.csv's columns."""
    return ("participant", *study.settings.url_params, "created", "completed", "answers",
            "images_done", *PERSON_COLUMNS, "timing", *DEMOGRAPHICS)


def participant_rows(study: Study, store: AnswerStore,
                     rows: list[dict] | None = None) -> list[dict[str, Any]]:
    """Return one dict per participant: ids, progress, completion, quality, exclusion."""
    rows = store.rows() if rows is None else rows
    quality = assess(study, rows)
    out = []
    for person in store.participants():
        q = quality.get(person["id"]) or Quality(0, 0, 0, None, None, "none", None)
        out.append({
            "participant": person["id"], **{p: person["external_ids"].get(p, "")
                                            for p in study.settings.url_params},
            "created": person["created"], "completed": person["completed"] or "",
            "answers": person["answers"], "completion_code": person["completion_code"] or "",
            "participant_completed": int(person["completed"] is not None),
            "excluded": int(person["excluded"]),
            "exclusion_reason": person["exclusion_reason"] or "",
            **{k: _flag(v) for k, v in q.as_dict().items()},
            **{d: person["demographics"].get(d, "") for d in DEMOGRAPHICS},
        })
    return out


def answer_rows(study: Study, store: AnswerStore) -> list[dict]:
    """Return one dict per stored answer with the image's key and its participant's facts.

    Participants appear by their database number, never by token. Catch-item answers
    have source "catch"; answers to images no longer in study.json (an edited study)
    are kept, with source and emotion blank.
    """
    key = study.by_id
    catch = study.catch_by_id
    rows = store.rows()
    people = {p["participant"]: p for p in participant_rows(study, store, rows)}
    out = []
    for row in rows:
        image = key.get(row["image_id"])
        check = catch.get(row["image_id"])
        source = image.source if image else ("catch" if check else "")
        emotion = image.emotion if image else (check.emotion if check else "")
        person = people.get(row["participant"], {})
        out.append({**{c: person.get(c, "") for c in answer_columns(study)}, **row,
                    "source": source, "image_emotion": emotion,
                    "rt_ms": "" if row["rt_ms"] is None else row["rt_ms"],
                    "row_position": "" if row["row_position"] is None else row["row_position"]})
    return out


def _flag(value: Any) -> Any:
    """Return booleans as 0/1 and None as blank (how R and pandas read CSV best)."""
    if value is None:
        return ""
    return int(value) if isinstance(value, bool) else value


def to_csv(rows: list[dict], columns: tuple[str, ...]) -> str:
    """Return the rows as CSV text with a header."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
