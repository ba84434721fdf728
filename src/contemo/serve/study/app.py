"""The study server: consent, one page per image with six Likert questions, completion code.

Participant API (token in the ``X-Participant-Token`` header, never in a URL, so it
is never in an access log):

* ``POST /api/participants`` - consent given: a new participant and their token;
* ``GET /api/session`` - their image order, answers so far, where to resume;
* ``PUT /api/answers`` - ratings of one image (1-6 emotions), committed at once;
* ``POST /api/complete`` - all images answered: the completion code.

Admin API (``Authorization: Bearer ADMIN_TOKEN``, compared in constant time):
``GET /api/admin/export.csv`` and ``GET /api/admin/summary``.
"""

# No `from __future__ import annotations` here: FastAPI must see Depends() on local
# functions as objects, not as strings it cannot resolve.
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from contemo import __version__
from contemo.emotions import EMOTIONS
from contemo.serve.http import (
    MAX_BODY_BYTES,
    STATIC,
    BodyLimit,
    bearer,
    install_error_handlers,
    token_matches,
)
from contemo.serve.study.export import answer_rows, to_csv
from contemo.serve.study.folder import ID_PATTERN, LIKERT, Study
from contemo.serve.study.store import LIKERT_MAX, LIKERT_MIN, AnswerStore

TOKEN_HEADER = "X-Participant-Token"
ImageId = Annotated[str, Path(pattern=ID_PATTERN.pattern, description="An image id.")]


class Consent(BaseModel):
    """The participant's consent; must be true to take part."""

    model_config = ConfigDict(extra="forbid")
    consent: Literal[True] = Field(description="True: the participant agrees to take part.")


class Answer(BaseModel):
    """Ratings of one image: emotion -> Likert value (1 = strongly agree ... 5 = strongly disagree)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"image_id": "0123456789ab", "ratings": {"happy": 1, "sad": 5}}]})
    image_id: str = Field(pattern=ID_PATTERN.pattern, description="The image rated.")
    ratings: dict[str, StrictInt] = Field(min_length=1, max_length=len(EMOTIONS),
                                    description="Emotion -> Likert value 1-5.")

    @field_validator("ratings")
    @classmethod
    def _likert(cls, ratings: dict[str, int]) -> dict[str, int]:
        for emotion, value in ratings.items():
            if emotion not in EMOTIONS:
                raise ValueError(f"unknown emotion {emotion!r}: expected one of "
                                 f"{', '.join(EMOTIONS)}")
            if not LIKERT_MIN <= value <= LIKERT_MAX:
                raise ValueError(f"{emotion}: Likert value must be an integer "
                                 f"{LIKERT_MIN}-{LIKERT_MAX}, got {value}")
        return ratings


class Session(BaseModel):
    """Where a participant stands."""

    order: list[str] = Field(description="Image ids in this participant's order.")
    answers: dict[str, dict[str, int]] = Field(description="Ratings given so far.")
    position: int = Field(description="Index in `order` of the first image not fully rated.")
    total: int
    completed: bool
    completion_code: str | None = None


def create_study_app(study: Study, store: AnswerStore, max_participants: int | None = None
                     ) -> FastAPI:
    """Return the study server app for a loaded study and its answer store."""
    app = FastAPIOffline(  # /docs served from the package, not a CDN: works offline
        title=f"contemo study: {study.title}", version=__version__,
        description="The user study of the paper's §4.2: Likert ratings of six emotions per "
                    "image.")
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    install_error_handlers(app)
    images = study.by_id
    order_cache: dict[str, list[str]] = {}

    def participant(token: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None) -> dict:
        if not token or len(token) > 200:
            raise HTTPException(401, f"missing or malformed {TOKEN_HEADER} header")
        found = store.participant(token)
        if found is None:
            raise HTTPException(401, "unknown participant token")
        return found

    def admin(request: Request) -> None:
        if not token_matches(bearer(request), study.admin_hash):
            raise HTTPException(401, "admin token required (Authorization: Bearer TOKEN)")

    def order_of(person: dict) -> list[str]:
        key = person["token_sha256"]
        if key not in order_cache:
            order_cache[key] = study.order_for(key)
        return order_cache[key]

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "study.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/study", tags=["participant"], summary="What participants are told")
    def about() -> dict:
        return {"title": study.title, "consent": study.data.get("consent", ""),
                "emotions": list(EMOTIONS), "likert": {str(k): v for k, v in LIKERT.items()},
                "images": len(study.images), "image_size": study.data.get("image_size")}

    @app.post("/api/participants", tags=["participant"], status_code=201,
              summary="Give consent and get a participant token")
    def join(body: Consent) -> dict:
        token = store.add_participant(max_participants)
        return {"token": token, "images": len(study.images)}

    @app.get("/api/session", tags=["participant"], response_model=Session)
    def session(person: Annotated[dict, Depends(participant)]) -> Session:
        order = order_of(person)
        answers = store.answers_of(person["id"])
        done = [len(answers.get(i, {})) == len(EMOTIONS) for i in order]
        position = done.index(False) if False in done else len(order)
        return Session(order=order, answers=answers, position=position, total=len(order),
                       completed=person["completed"] is not None,
                       completion_code=person["completion_code"])

    @app.put("/api/answers", tags=["participant"], summary="Save the ratings of one image")
    def answer(body: Answer, person: Annotated[dict, Depends(participant)]) -> dict:
        if body.image_id not in images:
            raise HTTPException(404, f"unknown image id {body.image_id}")
        store.save(person["id"], body.image_id, body.ratings)
        return {"saved": len(body.ratings)}

    @app.post("/api/complete", tags=["participant"], summary="Finish: get the completion code")
    def complete(person: Annotated[dict, Depends(participant)]) -> dict:
        answers = store.answers_of(person["id"])
        missing = [i for i in order_of(person) if len(answers.get(i, {})) < len(EMOTIONS)]
        if missing:
            raise HTTPException(409, f"{len(missing)} image(s) not fully rated yet")
        return {"completion_code": store.complete(person["id"])}

    @app.get("/api/images/{image_id}.png", tags=["participant"], response_class=FileResponse)
    def image(image_id: ImageId) -> FileResponse:
        found = images.get(image_id)
        if found is None:
            raise HTTPException(404, f"unknown image id {image_id}")
        return FileResponse(study.image_path(found), media_type="image/png",
                            headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/api/admin/export.csv", tags=["admin"], dependencies=[Depends(admin)],
             response_class=Response, summary="All answers as CSV")
    def export() -> Response:
        return Response(to_csv(answer_rows(study, store)), media_type="text/csv", headers={
            "Content-Disposition": 'attachment; filename="answers.csv"'})

    @app.get("/api/admin/summary", tags=["admin"], dependencies=[Depends(admin)])
    def summary() -> dict:
        return {**store.summary(), "images": len(study.images),
                "notes": study.data.get("notes", [])}

    return app
