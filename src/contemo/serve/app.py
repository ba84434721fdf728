"""The explorer app: a valence-arousal pad in the browser and the JSON API behind it.

`create_app(renderer, meta, checkpoint)` builds the FastAPI app; `contemo serve`
runs it with uvicorn. Endpoints (all documented at /docs):

* ``GET /`` - the explorer page (static files, no CDN, works offline);
* ``POST /api/generate`` - one face from a label, a blend or a VA point, as PNG or JSON;
* ``GET /api/face.png`` - the same with query parameters (what the page uses);
* ``POST /api/batch`` - specs x seeds, bounded, as JSON (path animations, grids);
* ``POST /api/path.gif`` - a pad path as a looping GIF (what the page's "Save GIF" gets);
* ``GET /api/info`` - checkpoint config, emotions (and which were trained), anchors, limits;
* ``GET /model-card`` - the checkpoint's MODEL_CARD.md, as text;
* ``GET /healthz`` - liveness.

Limits (docs/serve.md "Limits"): request bodies, batch images and pixels, reply bytes,
and how many face and batch requests may be in flight at once (`ServeLimits`; more get
429 at once). Error replies are one short line and /api/info shows no server paths.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import ValidationError

from contemo import __version__
from contemo.emotions import (
    EMOTIONS,
    check_trained,
    label_va,
    parse_label,
    validate_label,
)
from contemo.errors import ContemoError
from contemo.labels.paths import mix
from contemo.labels.va import checkpoint_anchors, model_va_label, sectors
from contemo.models.pretrained import trained_emotions
from contemo.serve.explorer_extras import PathGif, frames_gif, model_card
from contemo.serve.faces import FaceRenderer, Rendered, png_filename
from contemo.serve.gate import BULK, INTERACTIVE, Admission, ServeLimits
from contemo.serve.http import MAX_BODY_BYTES, STATIC, BodyLimit, install_error_handlers
from contemo.serve.schemas import (
    MAX_BATCH_PIXELS,
    MAX_SEED,
    BatchRequest,
    BatchResponse,
    Face,
    FaceRequest,
    FaceSpec,
    Info,
    Limits,
)

MAX_RESPONSE_BYTES = 24 * 1024 * 1024  # a batch reply; MAX_BATCH_PIXELS keeps real ones < 17 MB
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:[\\/]")


def public(value: Any) -> Any:
    """Return JSON data with every absolute path cut to its last part (what /api/info shows).

    A checkpoint's training notes record where its data lay on the training machine;
    a public server must not tell every visitor its users' folder layout.
    """
    if isinstance(value, dict):
        return {k: public(v) for k, v in value.items()}
    if isinstance(value, list):
        return [public(v) for v in value]
    if isinstance(value, str) and (os.path.isabs(value) or _WINDOWS_PATH.match(value)
                                   or value.startswith("~")):
        return re.split(r"[\\/]", value.rstrip("/\\"))[-1]
    return value


PNG_OR_JSON = {"model": Face, "content": {"image/png": {}},
               "description": "The PNG (format=png) or a Face as JSON (format=json)."}


def resolve(spec: FaceSpec, anchors: dict, trained: tuple[str, ...] = EMOTIONS
            ) -> tuple[np.ndarray, dict[str, Any]]:
    """Return (label vector, facts about how it was chosen) for an emotion spec."""
    if spec.label is not None or spec.blend is not None:
        label = validate_label(spec.label, "label") if spec.label is not None else \
            mix(spec.blend.a, spec.blend.b, spec.blend.weight)
        check_trained(label, trained)
        return label, {}
    target = model_va_label(spec.va.valence, spec.va.arousal, anchors, trained)
    return target.label, {"requested_va": spec.va, "clipped": target.clipped,
                          "neighbours": list(target.neighbours)}


def face_model(r: Rendered, facts: dict[str, Any], anchors: dict) -> Face:
    """Return the JSON description of a rendered face."""
    label = [round(float(x), 6) for x in r.label]
    v, a = label_va(r.label.astype(np.float64), anchors)
    return Face(seed=r.seed, label=label,
                label_named={e: x for e, x in zip(EMOTIONS, label) if x > 0},
                valence=round(float(v), 4), arousal=round(float(a), 4),
                filename=png_filename(r.seed, r.label, anchors), size=r.size,
                render_ms=round(r.render_ms, 2), cached=r.cached,
                image_base64=base64.b64encode(r.png).decode("ascii"), **facts)


def png_response(r: Rendered, face: Face) -> Response:
    """Return the PNG with headers that say what it shows and what it cost."""
    meta = {"seed": face.seed, "label": face.label, "valence": face.valence,
            "arousal": face.arousal, "clipped": face.clipped}
    return Response(r.png, media_type="image/png", headers={
        "Content-Disposition": f'inline; filename="{face.filename}"',
        "X-Contemo-Filename": face.filename,
        "X-Contemo-Face": json.dumps(meta, separators=(",", ":")),
        "X-Contemo-Render-Ms": f"{r.render_ms:.2f}",
        "X-Contemo-Cached": "1" if r.cached else "0",
        "Server-Timing": f"render;dur={r.render_ms:.2f}",
        "Cache-Control": "no-store",
    })


def create_app(renderer: FaceRenderer, meta: dict[str, Any], checkpoint: str,
               limits: ServeLimits | None = None) -> FastAPI:
    """Return the explorer + API app serving `renderer`'s generator under `limits`."""
    limits = limits or ServeLimits()
    renderer.chunk = limits.batch_chunk
    app = FastAPIOffline(  # /docs served from the package, not a CDN: works offline
        title="contemo explorer API", version=__version__,
        description="Generate faces whose emotion is set by a label vector, a two-emotion "
                    "blend or a valence-arousal point (Russell's circumplex). The seed fixes "
                    "the identity; the label moves only the emotion.",
    )
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(Admission, retry_after_s=limits.retry_after_s, paths={
        "/api/batch": (BULK, limits.max_batches),
        "/api/generate": (INTERACTIVE, limits.max_faces),
        "/api/face.png": (INTERACTIVE, limits.max_faces)})
    install_error_handlers(app)
    shown_checkpoint = Path(checkpoint).name  # the folder's name, never the server's path
    anchors = checkpoint_anchors(renderer.pipeline.meta)
    trained = trained_emotions(meta, f"{checkpoint}/config.json")
    card = model_card(checkpoint)

    def one(request: FaceRequest) -> tuple[Rendered, Face]:
        label, facts = resolve(request, anchors, trained)
        (rendered,) = renderer.render(label[None], [request.seed], request.size, INTERACTIVE)
        return rendered, face_model(rendered, facts, anchors)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", tags=["meta"], summary="Liveness check")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/info", tags=["meta"], summary="The served checkpoint", response_model=Info)
    def info() -> Info:
        return Info(checkpoint=shown_checkpoint, model=meta.get("model", {}),
                    training=public(meta.get("training", {})), resolution=renderer.resolution,
                    emotions=list(EMOTIONS), anchors={e: list(p) for e, p in anchors.items()},
                    sectors=[list(p) for p in sectors(
                        anchors, None if len(trained) == len(EMOTIONS) else trained)],
                    trained_emotions=list(trained), model_card=card is not None,
                    limits=Limits(max_body_bytes=MAX_BODY_BYTES,
                                  max_response_bytes=MAX_RESPONSE_BYTES,
                                  max_batches_in_flight=limits.max_batches,
                                  max_faces_in_flight=limits.max_faces))

    @app.get("/model-card", tags=["meta"], summary="The checkpoint's model card (Markdown)",
             response_class=PlainTextResponse)
    def card_text() -> PlainTextResponse:
        if card is None:
            raise HTTPException(404, "this checkpoint has no MODEL_CARD.md")
        return PlainTextResponse(card.read_text(encoding="utf-8", errors="replace"),
                                 media_type="text/markdown; charset=utf-8")

    @app.post("/api/path.gif", tags=["faces"], summary="A pad path as a looping GIF",
              responses={200: {"content": {"image/gif": {}}}}, response_class=Response)
    def path_gif(request: PathGif) -> Response:
        specs = [resolve(FaceSpec(va=p), anchors, trained)[0] for p in request.points]
        rendered = renderer.render(np.stack(specs), [request.seed] * len(specs), request.size)
        gif = frames_gif([r.png for r in rendered], request.fps)
        return Response(gif, media_type="image/gif", headers={
            "Content-Disposition": f'attachment; filename="contemo_seed{request.seed}_path.gif"'})

    @app.post("/api/generate", tags=["faces"], summary="Generate one face",
              responses={200: PNG_OR_JSON}, response_class=Response)
    def generate(request: FaceRequest) -> Response:
        rendered, face = one(request)
        return png_response(rendered, face) if request.format == "png" else \
            Response(face.model_dump_json(), media_type="application/json")

    @app.get("/api/face.png", tags=["faces"], summary="Generate one face (query parameters)",
             responses={200: {"content": {"image/png": {}}, "description": "The face."}},
             response_class=Response)
    def face_png(
        seed: Annotated[int, Query(ge=0, le=MAX_SEED, description="Noise seed.")] = 0,
        label: Annotated[str | None, Query(description="Label vector, e.g. "
                                                       "0.2,0,0,0,0,0.8.")] = None,
        a: Annotated[str | None, Query(description="Blend: first emotion.")] = None,
        b: Annotated[str | None, Query(description="Blend: second emotion.")] = None,
        weight: Annotated[float | None, Query(description="Blend: share of b.")] = None,
        valence: Annotated[float | None, Query(description="VA target: valence.")] = None,
        arousal: Annotated[float | None, Query(description="VA target: arousal.")] = None,
        size: Annotated[int | None, Query(description="PNG side in pixels.")] = None,
    ) -> Response:
        fields: dict[str, Any] = {"seed": seed, "size": size}
        if label is not None:
            fields["label"] = [float(x) for x in parse_label(label)]
        if (a, b, weight) != (None, None, None):
            fields["blend"] = {"a": a, "b": b, "weight": weight}
        if (valence, arousal) != (None, None):
            fields["va"] = {"valence": valence, "arousal": arousal}
        try:
            request = FaceRequest(**fields)
        except ValidationError as err:
            raise RequestValidationError(err.errors()) from None
        return png_response(*one(request))

    @app.post("/api/batch", tags=["faces"], summary="Generate specs x seeds",
              response_model=BatchResponse)
    def batch(request: BatchRequest) -> BatchResponse:
        start = time.perf_counter()
        side = request.size or renderer.resolution
        count = len(request.items) * len(request.seeds)
        if count * side * side > MAX_BATCH_PIXELS:
            raise ContemoError(f"{count} images of {side} px exceed {MAX_BATCH_PIXELS / 1e6:.1f} "
                               "megapixels per request; ask for fewer or smaller images")
        resolved = [resolve(spec, anchors, trained) for spec in request.items]
        labels = np.stack([label for label, _ in resolved for _ in request.seeds])
        seeds = [s for _ in resolved for s in request.seeds]
        rendered = renderer.render(labels, seeds, request.size, BULK)
        reply_bytes = sum(len(r.png) for r in rendered) * 4 // 3  # base64
        if reply_bytes > MAX_RESPONSE_BYTES:
            raise ContemoError(f"the reply would be {reply_bytes / 2**20:.1f} MiB, above the "
                               f"{MAX_RESPONSE_BYTES // 2**20} MiB limit; ask for fewer or "
                               "smaller images")
        facts = [f for _, f in resolved for _ in request.seeds]
        faces = [face_model(r, f, anchors) for r, f in zip(rendered, facts)]
        return BatchResponse(faces=faces, render_ms=round((time.perf_counter() - start) * 1000, 2))

    return app

