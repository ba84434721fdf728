"""HTTP plumbing shared by the explorer and the study server: errors as JSON, body limits, tokens.

Every error a client can cause is a 4xx with ``{"error": "<one line>"}``: validation
errors name the field, ContemoError/LabelError keep their one-line message. Anything
else is a bug: it is logged (without the request body, which may carry tokens) and
answered 500 with no details.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contemo.errors import ContemoError

log = logging.getLogger("contemo.serve")

MAX_BODY_BYTES = 64 * 1024  # the largest legal request (a full batch) is a few KiB
MAX_ERROR_CHARS = 300  # an error names the field; it never echoes a 60 KB input back
STATIC = Path(__file__).resolve().parent / "static"  # pages, scripts, styles of both apps


def error_json(status: int, message: str, **extra: Any) -> JSONResponse:
    """Return the JSON error response every handler uses (the message capped in length)."""
    if len(message) > MAX_ERROR_CHARS:
        message = message[:MAX_ERROR_CHARS - 1] + "…"
    return JSONResponse({"error": message, **extra}, status_code=status)


def _field(loc: tuple | list) -> str:
    """Return a validation error's location as 'body.va.valence' without the transport part."""
    parts = [str(p)[:60] for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "request"


def validation_message(err: RequestValidationError) -> str:
    """Return the first validation problem as one line naming the field."""
    problems = err.errors()
    if not problems:
        return "invalid request"
    first = problems[0]
    if first.get("type") == "json_invalid":
        return "request body is not valid JSON"
    msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{_field(first.get('loc', ()))}: {msg}{more}"


def install_error_handlers(app: FastAPI) -> None:
    """Make every error a JSON {'error': ...}; user errors 4xx, bugs a bare 500."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        return error_json(422, validation_message(err))

    @app.exception_handler(ContemoError)
    async def _contemo(request: Request, err: ContemoError) -> JSONResponse:
        return error_json(400, str(err).splitlines()[0] if str(err) else "bad request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        detail = err.detail if isinstance(err.detail, str) else "request failed"
        return error_json(err.status_code, detail)

    @app.exception_handler(Exception)
    async def _bug(request: Request, err: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_json(500, "internal server error")


class BodyLimit:
    """ASGI middleware: refuse bodies over `limit` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge(self.limit)
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_json(413, f"request body larger than {self.limit} bytes")
        await response(scope, receive, send)


class _TooLarge(StarletteHTTPException):
    """Raised inside the app's receive when a streamed body passes the limit: a JSON 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


def token_hash(token: str) -> str:
    """Return the SHA-256 hex of a token: what is stored instead of the token itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(given: str | None, stored_hash: str) -> bool:
    """Return True when `given` hashes to `stored_hash`, compared in constant time."""
    if not given:
        return False
    return hmac.compare_digest(token_hash(given), stored_hash)


def bearer(request: Request) -> str | None:
    """Return the token of an 'Authorization: Bearer TOKEN' header, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None
