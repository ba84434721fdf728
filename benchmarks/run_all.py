"""Run every benchmark in this folder one after another (each prints a table and writes JSON).

`make bench` calls this. Each script is a separate process so one's threads, caches and
memory cannot colour another's figures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["bench_synth.py", "bench_sampling.py", "bench_generate.py", "bench_train.py",
           "bench_sweep.py", "bench_serve.py", "judge_port_check.py"]


def main() -> int:
    """Return 0 if every benchmark present ran cleanly, else 1."""
    failed = []
    for name in SCRIPTS:
        script = HERE / name
        if not script.is_file():
            continue
        print(f"\n=== {name}", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=HERE.parent, check=False).returncode:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
