"""Serve the explorer: a valence-arousal pad in the browser and a JSON API (/docs).

Runs on 127.0.0.1 unless --host says otherwise; the page needs no internet (no CDN,
no web fonts). Without --checkpoint the generator shipped with contemo is served.
"""

from __future__ import annotations

import argparse

from contemo.commands.options import add_checkpoint_argument, add_threads_argument
from contemo.hardware import add_device_argument

EXAMPLES = """\
  contemo serve                                  # shipped checkpoint, http://127.0.0.1:8000
  contemo serve --checkpoint runs/00003-synth64 --port 8080
  curl -s 127.0.0.1:8000/api/face.png?seed=7\\&valence=0.5\\&arousal=0.3 -o face.png
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_checkpoint_argument(parser)
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    add_device_argument(parser)
    add_threads_argument(parser)
    parser.add_argument("--max-batches", type=int, default=2, metavar="N",
                        help="batch requests rendered or sent at once; more get 429 (default 2)")
    parser.add_argument("--max-faces", type=int, default=32, metavar="N",
                        help="single-face requests in flight at once; more get 429 (default 32)")
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"])


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from contemo.commands.options import apply_threads
    from contemo.errors import ContemoError

    if not 0 < args.port < 65536:
        raise ContemoError(f"--port {args.port}: expected 1-65535")
    apply_threads(args)
    from contemo.serve.gate import ServeLimits
    from contemo.serve.launch import build

    for flag, value in (("--max-batches", args.max_batches), ("--max-faces", args.max_faces)):
        if value < 1:
            raise ContemoError(f"{flag} {value}: expected a positive integer")
    limits = ServeLimits(max_batches=args.max_batches, max_faces=args.max_faces)
    app = build(args.checkpoint, args.device, limits)
    print(f"contemo explorer: http://{args.host}:{args.port}/  (API docs: /docs)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
