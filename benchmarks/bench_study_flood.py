"""Study flood (issue 11): many fake participants from one address, with and without the key.

Run: `python benchmarks/bench_study_flood.py [--requests 1000] [--threads 16]`. Builds a
small study (six synthetic faces), serves it with uvicorn on loopback and fires the POSTs
a flood script would; prints how many got in and writes benchmarks/results/study_flood.json.
Before the entry key and the per-address limit, 941 such POSTs in 1.4 s filled a
1,000-place study.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from harness import print_table, write_result

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from data_fixtures import make_faces
from serve_fixtures import live_server, tiny_checkpoint

from contemo.serve.study.app import create_study_app
from contemo.serve.study.build import StudyPlan, create_study
from contemo.serve.study.store import DB_FILE, AnswerStore


def flood(url: str, body: dict, requests: int, threads: int) -> dict:
    """Return status counts and the wall time of `requests` join POSTs."""
    start = time.perf_counter()
    with httpx.Client(base_url=url, timeout=30) as client, ThreadPoolExecutor(threads) as pool:
        codes = list(pool.map(lambda _: client.post("/api/participants", json=body).status_code,
                              range(requests)))
    return {"seconds": round(time.perf_counter() - start, 2),
            **{f"http_{c}": codes.count(c) for c in sorted(set(codes))}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        plan = StudyPlan(real_per_emotion=1, generated_per_emotion=0, size=32)
        study, _ = create_study(root / "study", make_faces(root / "faces", people=1), "faces",
                                str(tiny_checkpoint(root / "ckpt")), plan)
        store = AnswerStore(study.folder / DB_FILE)
        rows = []
        with live_server(create_study_app(study, store)) as url:
            for case, body in (("no entry key", {"consent": True}),
                               ("with the entry key", {"consent": True,
                                                       "entry_key": study.settings.entry_key})):
                result = flood(url, body, args.requests, args.threads)
                rows.append({"case": case, "requests": args.requests, **result,
                             "stored": store.summary()["participants"]})
        print_table(rows, ["case", "requests", "seconds", "http_201", "http_403", "http_429",
                           "stored"])
        write_result("study_flood", {"rows": rows, "joins_per_minute": 20})


if __name__ == "__main__":
    main()
