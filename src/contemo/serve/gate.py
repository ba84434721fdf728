"""Who may use the generator, and how many requests may wait for it: the explorer's fairness.

One CPU-bound generator serves everyone, so two things keep a flood of large batch
requests from starving people dragging the pad (without it, 45 clients sending the
largest batch pushed single faces to a 54 s median):

* `Admission` (ASGI middleware) counts requests in flight per kind, from arrival until
  the response has been sent, and answers 429 with Retry-After at once when a kind is
  full. Waiting requests therefore never pile up in the thread pool, and the memory of
  unsent batch replies is bounded by the batch limit times the largest reply.
* `RenderGate` orders the generator's turns: a single face waits for the render in
  progress and then goes first; a batch is rendered in chunks and lets every waiting
  single face in between chunks. A face waits at most one chunk, not a whole batch.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

INTERACTIVE, BULK = "interactive", "bulk"


@dataclass(frozen=True)
class ServeLimits:
    """How much of the server each kind of request may hold at once (see docs/serve.md)."""

    max_batches: int = 2  # batch requests rendering or sending at once; more get 429
    max_faces: int = 32  # single-face requests waiting, rendering or sending; more get 429
    batch_chunk: int = 4  # images a batch renders per generator turn (a face waits <= one)
    retry_after_s: int = 1  # what a 429 tells the client to wait

    def __post_init__(self) -> None:
        for name in ("max_batches", "max_faces", "batch_chunk", "retry_after_s"):
            if getattr(self, name) < 1:
                raise ValueError(f"ServeLimits.{name} must be at least 1")


class RenderGate:
    """A generator lock that serves interactive requests before bulk ones (thread-safe)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._faces_waiting = 0

    @contextlib.contextmanager
    def turn(self, kind: str) -> Iterator[None]:
        """Hold the generator for one render; a bulk turn also yields to waiting faces."""
        with self._cond:
            if kind == INTERACTIVE:
                self._faces_waiting += 1
                try:
                    self._cond.wait_for(lambda: not self._busy)
                finally:
                    self._faces_waiting -= 1
            else:
                self._cond.wait_for(lambda: not self._busy and self._faces_waiting == 0)
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


class Admission:
    """ASGI middleware: at most `limit` requests of a path's kind in flight, else 429 at once.

    `paths` maps a request path to (kind, limit). The count covers the whole exchange:
    the app call returns only after the response body was handed to the server, so a
    client that reads its 20 MB reply slowly keeps holding its slot.
    """

    def __init__(self, app: ASGIApp, paths: dict[str, tuple[str, int]], retry_after_s: int = 1
                 ) -> None:
        self.app = app
        self.paths = paths
        self.retry_after_s = retry_after_s
        self.in_flight: dict[str, int] = {kind: 0 for kind, _ in paths.values()}
        self.refused: dict[str, int] = {kind: 0 for kind, _ in paths.values()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self.paths.get(scope.get("path", "")) if scope["type"] == "http" else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        kind, limit = rule
        if self.in_flight[kind] >= limit:  # one event loop: no lock needed for the counters
            self.refused[kind] += 1
            await self._refuse(kind, limit, send)
            return
        self.in_flight[kind] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight[kind] -= 1

    async def _refuse(self, kind: str, limit: int, send: Send) -> None:
        what = "batch requests" if kind == BULK else "face requests"
        body = (f'{{"error": "server busy: {limit} {what} in progress; retry in '
                f'{self.retry_after_s} s"}}').encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(self.retry_after_s).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
