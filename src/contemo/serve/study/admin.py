"""The researcher's side of the study server: /admin page and its token-protected JSON API.

The page is a login form: the admin token typed there is kept in the tab's
sessionStorage and sent as ``Authorization: Bearer TOKEN`` (compared in constant
time), so no cookie exists that another site could ride on. Endpoints:

* ``GET /api/admin/summary`` - counts, enrolment state, the study's notes;
* ``GET /api/admin/participants`` - progress, completion, ids, catch and speed flags;
* ``POST /api/admin/enrolment`` - pause or resume enrolment (kept across restarts);
* ``POST /api/admin/participants/{n}/exclusion`` - exclude (or re-include) a participant;
* ``GET /api/admin/export.csv`` / ``participants.csv`` - the downloads;
* ``GET /api/admin/fig4.png`` - the Fig. 4 plot of the answers so far (excluded
  participants left out), redrawn only when the answers changed.
"""

# No `from __future__ import annotations`: FastAPI resolves Depends() at runtime.
import threading
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Request
from fastapi.responses import FileResponse, Response

from contemo.serve.http import STATIC, bearer, token_matches
from contemo.serve.study.export import (
    answer_columns,
    answer_rows,
    participant_columns,
    participant_rows,
    to_csv,
)
from contemo.serve.study.folder import Study
from contemo.serve.study.schemas import Enrolment, Exclusion
from contemo.serve.study.store import AnswerStore


def add_admin_routes(app: FastAPI, study: Study, store: AnswerStore) -> None:
    """Add the admin page and API to the study app."""
    figure_cache: dict[str, object] = {}
    figure_lock = threading.Lock()

    def admin(request: Request) -> None:
        if not token_matches(bearer(request), study.admin_hash):
            raise HTTPException(401, "admin token required (Authorization: Bearer TOKEN)")

    guarded = [Depends(admin)]

    @app.get("/admin", include_in_schema=False)
    def admin_page() -> FileResponse:
        return FileResponse(STATIC / "admin.html")

    @app.get("/api/admin/summary", tags=["admin"], dependencies=guarded)
    def summary() -> dict:
        return {**store.summary(), "title": study.title,
                "images": len(study.images), "catch_items": len(study.settings.catch),
                "entry_key": study.settings.entry_key is not None,
                "notes": study.data.get("notes", [])}

    @app.get("/api/admin/participants", tags=["admin"], dependencies=guarded)
    def participants() -> dict:
        pages = len(study.images) + len(study.settings.catch)
        return {"pages": pages, "url_params": list(study.settings.url_params),
                "participants": participant_rows(study, store)}

    @app.post("/api/admin/enrolment", tags=["admin"], dependencies=guarded)
    def enrolment(body: Enrolment) -> dict:
        store.set_enrolment(body.open)
        return {"enrolment": "open" if body.open else "paused"}

    @app.post("/api/admin/participants/{number}/exclusion", tags=["admin"],
              dependencies=guarded)
    def exclusion(number: Annotated[int, Path(ge=1, le=2**62)], body: Exclusion) -> dict:
        if not store.exclude(number, body.excluded, body.reason):
            raise HTTPException(404, f"no participant {number}")
        return {"participant": number, "excluded": body.excluded}

    @app.get("/api/admin/export.csv", tags=["admin"], dependencies=guarded,
             response_class=Response, summary="All answers as CSV")
    def export() -> Response:
        return _csv(to_csv(answer_rows(study, store), answer_columns(study)), "answers.csv")

    @app.get("/api/admin/participants.csv", tags=["admin"], dependencies=guarded,
             response_class=Response, summary="One row per participant as CSV")
    def participants_csv() -> Response:
        return _csv(to_csv(participant_rows(study, store), participant_columns(study)),
                    "participants.csv")

    @app.get("/api/admin/fig4.png", tags=["admin"], dependencies=guarded,
             response_class=Response, summary="Fig. 4 of the answers so far")
    def figure() -> Response:
        from contemo.evaluation.study_analysis import describe_cells, figure_png

        rows = [r for r in answer_rows(study, store) if not r["excluded"]]
        if not rows:
            raise HTTPException(404, "no answers yet")
        stamp = (len(rows), max(r["answered"] for r in rows),
                 sum(1 for p in store.participants() if p["excluded"]))
        with figure_lock:  # one drawing at a time; matplotlib is not made for threads
            if figure_cache.get("stamp") != stamp:
                stats = describe_cells(rows, missing_real=study.data.get("missing_real", []))
                figure_cache.update(stamp=stamp, png=figure_png(stats, study.title))
            png = figure_cache["png"]
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


def _csv(text: str, name: str) -> Response:
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
