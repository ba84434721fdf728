"""The answers joined with the hidden key, as rows and CSV (HTTP export and `study export`)."""

from __future__ import annotations

import csv
import io

from contemo.serve.study.folder import Study
from contemo.serve.study.store import AnswerStore

COLUMNS = ("participant", "image_id", "source", "image_emotion", "rated_emotion", "value",
           "answered", "revisions", "participant_completed")


def answer_rows(study: Study, store: AnswerStore) -> list[dict]:
    """Return one dict per stored answer with the image's source and emotion filled in.

    Participants appear by their database number, never by token. Answers to images no
    longer in study.json (an edited study) are kept, with source and emotion blank.
    """
    key = study.by_id
    rows = []
    for row in store.rows():
        image = key.get(row["image_id"])
        rows.append({**row, "source": image.source if image else "",
                     "image_emotion": image.emotion if image else "",
                     "participant_completed": int(bool(row["participant_completed"]))})
    return rows


def to_csv(rows: list[dict]) -> str:
    """Return the rows as CSV text with a header."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
