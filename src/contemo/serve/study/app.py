"""The study server: consent, one page per image with six Likert questions, completion code.

Participant API (token in the ``X-Participant-Token`` header, never in a URL, so it
is never in an access log):

* ``POST /api/participants`` - consent given (+ the entry key and platform ids of the
  study link): a new participant and their token; refused while enrolment is paused,
  without the study's entry key, or past the per-address rate limit;
* ``GET /api/session`` - their page order, row orders, answers so far, where to resume;
* ``POST /api/demographics`` - optional age and gender (when the study asks);
* ``PUT /api/answers`` - ratings of one image (1-6 emotions), committed at once; refused
  (409) once the participant has completed;
* ``POST /api/complete`` - all pages answered: the completion code and redirect URL.

The researcher's page is /admin (see admin.py).
"""

# No `from __future__ import annotations` here: FastAPI must see Depends() on local
# functions as objects, not as strings it cannot resolve.
import hmac
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from contemo import __version__
from contemo.emotions import EMOTIONS
from contemo.errors import ContemoError
from contemo.serve.http import (
    MAX_BODY_BYTES,
    STATIC,
    BodyLimit,
    error_json,
    install_error_handlers,
    log,
)
from contemo.serve.study.admin import add_admin_routes
from contemo.serve.study.folder import ID_PATTERN, LIKERT, Study
from contemo.serve.study.ratelimit import RateLimit
from contemo.serve.study.schemas import Answer, Demographics, Join, Session
from contemo.serve.study.store import AnswersFrozen, AnswerStore, StoreError

TOKEN_HEADER = "X-Participant-Token"
DEFAULT_JOINS_PER_MINUTE = 20
ImageId = Annotated[str, Path(pattern=ID_PATTERN.pattern, description="An image id.")]


def create_study_app(study: Study, store: AnswerStore, max_participants: int | None = None,
                     joins_per_minute: int = DEFAULT_JOINS_PER_MINUTE) -> FastAPI:
    """Return the study server app for a loaded study and its answer store."""
    app = FastAPIOffline(  # /docs served from the package, not a CDN: works offline
        title=f"contemo study: {study.title}", version=__version__,
        description="The user study of the paper's §4.2: Likert ratings of six emotions per "
                    "image.")
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    install_error_handlers(app)

    @app.exception_handler(StoreError)
    async def _store_failed(request: Request, err: StoreError) -> JSONResponse:
        # The server's fault, not the participant's: logged with the file, answered without it.
        log.error("answers database failed on %s %s: %s", request.method, request.url.path, err)
        return error_json(503, "the study cannot save answers right now; please try again "
                               "in a minute")

    settings = study.settings
    rated_ids = {im.id for im in study.images} | set(study.catch_by_id)
    served_ids = study.served_ids()
    order_cache: dict[str, list[str]] = {}
    joins = RateLimit(joins_per_minute)

    def participant(token: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None) -> dict:
        if not token or len(token) > 200:
            raise HTTPException(401, f"missing or malformed {TOKEN_HEADER} header")
        found = store.participant(token)
        if found is None:
            raise HTTPException(401, "unknown participant token")
        if found["excluded"]:
            raise HTTPException(403, "this participation has been ended by the researchers")
        return found

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
                "images": len(study.images) + len(settings.catch),
                "practice": len(settings.practice),
                "image_size": study.data.get("image_size"),
                "entry_key_required": settings.entry_key is not None,
                "url_params": list(settings.url_params),
                "enrolment_open": store.enrolment_open()}

    @app.post("/api/participants", tags=["participant"], status_code=201,
              summary="Give consent and get a participant token")
    def join(body: Join, request: Request) -> dict:
        if settings.entry_key is not None and not hmac.compare_digest(
                (body.entry_key or "").encode(), settings.entry_key.encode()):
            raise HTTPException(403, "this study needs the link you were given (entry key "
                                     "missing or wrong)")
        if not store.enrolment_open():
            raise HTTPException(503, "enrolment is paused; please try again later")
        client = request.client.host if request.client else "unknown"
        if not joins.allow(client):
            raise HTTPException(429, "too many new participants from your address; please "
                                     "wait a minute")
        ids = {k: v for k, v in body.params.items() if k in settings.url_params}
        try:
            token = store.add_participant(max_participants, ids)
        except StoreError:
            raise
        except ContemoError as err:  # paused or full, decided inside the write transaction
            raise HTTPException(409, str(err)) from None
        return {"token": token, "images": len(study.images) + len(settings.catch)}

    @app.get("/api/session", tags=["participant"], response_model=Session)
    def session(person: Annotated[dict, Depends(participant)]) -> Session:
        order = order_of(person)
        answers = store.answers_of(person["id"])
        done = [len(answers.get(i, {})) == len(EMOTIONS) for i in order]
        position = done.index(False) if False in done else len(order)
        code = person["completion_code"]
        key = person["token_sha256"]
        return Session(
            order=order, rows={i: study.rows_for(key, i) for i in order + list(settings.practice)},
            instructions={c.id: c.instruction for c in settings.catch if c.instruction},
            practice=list(settings.practice),
            ask_demographics=settings.demographics and not person["demographics"],
            answers=answers, position=position, total=len(order),
            completed=person["completed"] is not None, completion_code=code,
            redirect=settings.redirect_for(code) if code else None)

    @app.post("/api/demographics", tags=["participant"], summary="Optional age and gender")
    def demographics(body: Demographics, person: Annotated[dict, Depends(participant)]) -> dict:
        if not settings.demographics:
            raise HTTPException(404, "this study does not ask for demographics")
        store.set_demographics(person["id"], body.model_dump())
        return {"saved": True}

    @app.put("/api/answers", tags=["participant"], summary="Save the ratings of one image")
    def answer(body: Answer, person: Annotated[dict, Depends(participant)]) -> dict:
        if body.image_id not in rated_ids:
            raise HTTPException(404, f"unknown image id {body.image_id}")
        rows = study.rows_for(person["token_sha256"], body.image_id)
        try:
            store.save(person["id"], body.image_id, body.ratings, body.rt_ms,
                       {e: rows.index(e) + 1 for e in body.ratings})
        except AnswersFrozen as err:
            raise HTTPException(409, str(err)) from None
        return {"saved": len(body.ratings)}

    @app.post("/api/complete", tags=["participant"], summary="Finish: get the completion code")
    def complete(person: Annotated[dict, Depends(participant)]) -> dict:
        answers = store.answers_of(person["id"])
        missing = [i for i in order_of(person) if len(answers.get(i, {})) < len(EMOTIONS)]
        if missing:
            raise HTTPException(409, f"{len(missing)} image(s) not fully rated yet")
        code = store.complete(person["id"], settings.completion_code)
        return {"completion_code": code, "redirect": settings.redirect_for(code)}

    @app.get("/api/images/{image_id}.png", tags=["participant"], response_class=FileResponse)
    def image(image_id: ImageId) -> FileResponse:
        if image_id not in served_ids:
            raise HTTPException(404, f"unknown image id {image_id}")
        try:
            path = study.file_of(image_id)
        except ContemoError:
            raise HTTPException(404, f"image {image_id} is not available") from None
        return FileResponse(path, media_type="image/png",
                            headers={"Cache-Control": "private, max-age=3600"})

    add_admin_routes(app, study, store)
    return app
