"""Helpers for web-app tests: tiny checkpoints, a real uvicorn server on a free loopback port."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import torch
import uvicorn

from contemo.models import MODEL_PRESETS, Generator, save_pretrained

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-dev-shm-usage", "--disable-extensions", "--no-first-run"]


def tiny_checkpoint(folder: Path, preset: str = "tiny", seed: int = 0, gain: float = 1.0) -> Path:
    """Write a randomly initialised generator release folder; return it.

    At DCGAN's init the output is a flat grey; `gain` scales the transposed-conv weights
    so that pages show visible, label-dependent pictures (for screenshots and pixel checks).
    """
    torch.manual_seed(seed)
    generator = Generator(MODEL_PRESETS[preset]).eval()
    with torch.no_grad():
        for module in generator.net:
            if isinstance(module, torch.nn.ConvTranspose2d):
                module.weight.mul_(gain)
    return save_pretrained(generator, folder, training={"note": "random weights for tests"})


def free_port() -> int:
    """Return a TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(app) -> Iterator[str]:
    """Run `app` with uvicorn in a thread on a free loopback port; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def pixel_variance(png_path: Path) -> float:
    """Return the variance of a screenshot's grey levels (0 for a blank page)."""
    import numpy as np
    from PIL import Image

    return float(np.asarray(Image.open(png_path).convert("L"), dtype=np.float64).var())
