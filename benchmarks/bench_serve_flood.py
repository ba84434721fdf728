"""Explorer under a batch flood: single-face latency (p50/p95) and server memory.

Run: `python benchmarks/bench_serve_flood.py [--clients 45] [--seconds 20] [--uncapped]`.
Prints a table and writes benchmarks/results/serve_flood.json.

Issue 11's scenario: 45 hostile clients send the largest batch they can, as fast as they
can (no back-off, Retry-After ignored), while one person drags the pad: one new face
(new seed, 256 px, as the page asks) per request, one after the other. The server is the
real `contemo serve` in its own process (uvicorn, loopback), so its memory is measured
alone (VmRSS sampled every 0.2 s, and 5 s after the flood stops: what stays allocated).

Phases, each on a fresh server, in one run:
* quiet      - the prober alone: the baseline latency of this machine right now;
* issue      - the flood of the issue's requests (64 images at 512 px), now refused (422);
* allowed    - the flood of the largest batch still allowed (64 images at 256 px);
* uncapped   - (--uncapped) the same with the in-flight caps raised to 1000: what the
               caps buy, measured on the same machine in the same run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from harness import print_table, write_result

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from serve_fixtures import free_port


def rss_mb(pid: int) -> float:
    """Return the resident memory of process `pid` in MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Server:
    """`contemo serve` in a subprocess on a free loopback port."""

    def __init__(self, checkpoint: str | None, extra: list[str]) -> None:
        self.port = free_port()
        cmd = [sys.executable, "-m", "contemo", "serve", "--port", str(self.port),
               "--log-level", "warning", *extra]
        if checkpoint:
            cmd += ["--checkpoint", checkpoint]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def flood_client(port: int, body: bytes, stop: threading.Event, counts: dict, lock) -> None:
    """Send `body` to /api/batch until `stop`, ignoring 429's Retry-After (hostile)."""
    conn = None
    while not stop.is_set():
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            conn.request("POST", "/api/batch", body, {"content-type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            status = response.status
            if response.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            status, data = "error", b""
            if conn is not None:
                conn.close()
            conn = None
        with lock:
            counts[status] = counts.get(status, 0) + 1
            counts["bytes"] = counts.get("bytes", 0) + len(data)
    if conn is not None:
        conn.close()


def flood_process(port: int, body: bytes, clients: int, stop, result) -> None:
    """Run `clients` flood threads in this (separate) process until `stop` is set.

    A process of its own: 45 client threads in the prober's process would make the
    prober wait for the GIL and blame the server for it.
    """
    halt, lock, counts = threading.Event(), threading.Lock(), {}
    threads = [threading.Thread(target=flood_client, args=(port, body, halt, counts, lock),
                                daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    stop.wait()
    halt.set()
    for t in threads:
        t.join(timeout=600)
    result.put(counts)


def probe(port: int, seconds: float, seed0: int) -> list[float]:
    """Return the latencies (ms) of sequential new-face requests over `seconds`."""
    out: list[float] = []
    end = time.time() + seconds
    seed = seed0
    while time.time() < end:
        seed += 1
        v, a = ((seed * 37) % 180 - 90) / 100, ((seed * 53) % 180 - 90) / 100
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        start = time.perf_counter()
        conn.request("GET", f"/api/face.png?seed={seed}&valence={v}&arousal={a}&size=256")
        response = conn.getresponse()
        response.read()
        out.append((time.perf_counter() - start) * 1000)
        conn.close()
        if response.status != 200:
            raise RuntimeError(f"face request answered {response.status}")
        time.sleep(0.05)  # a drag sends a new point when the last face arrived, about this often
    return out


def phase(name: str, checkpoint: str | None, clients: int, seconds: float, size: int | None,
          extra: list[str]) -> dict:
    """Return one phase's figures: prober latencies, flood answers, server memory."""
    server = Server(checkpoint, extra)
    pid = server.proc.pid
    start_rss = rss_mb(pid)
    peak = [start_rss]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    body = json.dumps({"items": [{"va": {"valence": round(i / 80 - 0.4, 4), "arousal": 0.2}}
                                 for i in range(64)], "seeds": [0], "size": size}).encode()
    context = multiprocessing.get_context("spawn")
    stop, result = context.Event(), context.Queue()
    flooders = clients if size else 0
    flood = context.Process(target=flood_process,
                            args=(server.port, body, flooders, stop, result))
    flood.start()
    time.sleep(2.0 if flooders else 0)  # let the flood build up before measuring
    latencies = probe(server.port, seconds, seed0=sum(map(ord, name)) * 1000)
    stop.set()
    counts = result.get(timeout=600)
    flood.join(timeout=60)
    time.sleep(5.0)  # what stays allocated once the flood is over
    after = rss_mb(pid)
    sampling.set()
    sampler.join()
    server.stop()
    ordered = sorted(latencies)
    return {
        "phase": name, "flood_clients": flooders, "flood_size_px": size,
        "face_requests": len(ordered), "face_p50_ms": round(statistics.median(ordered), 1),
        "face_p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1),
        "face_max_ms": round(ordered[-1], 1),
        "flood_answers": {str(k): v for k, v in counts.items() if k != "bytes"},
        "flood_reply_mb": round(counts.get("bytes", 0) / 2**20, 1),
        "server_rss_start_mb": round(start_rss, 1), "server_rss_peak_mb": round(peak[0], 1),
        "server_rss_after_mb": round(after, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="release folder (default: shipped)")
    parser.add_argument("--clients", type=int, default=45)
    parser.add_argument("--seconds", type=float, default=20.0, help="probing time per phase")
    parser.add_argument("--uncapped", action="store_true",
                        help="also run the allowed flood with the in-flight caps raised")
    args = parser.parse_args()
    plan = [("quiet", None, []), ("issue", 512, []), ("allowed", 256, [])]
    if args.uncapped:
        plan.append(("uncapped", 256, ["--max-batches", "1000", "--max-faces", "1000"]))
    rows = []
    for name, size, extra in plan:
        print(f"phase {name} ...", flush=True)
        rows.append(phase(name, args.checkpoint, args.clients, args.seconds, size, extra))
    print_table(rows, ["phase", "flood_clients", "flood_size_px", "face_requests", "face_p50_ms",
                       "face_p95_ms", "face_max_ms", "server_rss_peak_mb",
                       "server_rss_after_mb"])
    for row in rows:
        print(f"{row['phase']}: flood answers {row['flood_answers']}, "
              f"{row['flood_reply_mb']} MiB of replies")
    path = write_result("serve_flood", {
        "checkpoint": args.checkpoint or "shipped synth64", "seconds_per_phase": args.seconds,
        "goal": "single-face p95 under 1000 ms during the flood", "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
