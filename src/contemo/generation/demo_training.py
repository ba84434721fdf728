"""`contemo demo --train`: make the synthetic faces, train a generator, return its release folder.

It calls the two stable CLIs, `contemo data synth` and `contemo train`, in child
processes rather than importing the trainer: inference code (this package) never
imports training code, and a training crash cannot take the demo's state with it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from contemo.errors import ContemoError
from contemo.models import MODEL_PRESETS
from contemo.models.pretrained import CONFIG_FILE

RELEASED = "released EMA generator:"  # the line `contemo train` ends with


def contemo(*args: str) -> list[str]:
    """Return the argv that runs `contemo ARGS` with this Python (works without the script)."""
    return [sys.executable, "-m", "contemo", *args]


def train_commands(work: Path, preset: str, people: int | None, device: str
                   ) -> list[list[str]]:
    """Return the synth and train command lines for `preset` with everything under `work`."""
    if preset not in MODEL_PRESETS:
        raise ContemoError(f"--train-preset {preset!r}: expected one of "
                           f"{', '.join(MODEL_PRESETS)}")
    synth = ["data", "synth", "--out", str(work / "data"), "--size",
             str(MODEL_PRESETS[preset].resolution), "--force", "--no-progress"]
    if people is not None:
        synth += ["--people", str(people)]
    train = ["train", "--preset", preset, "--data", str(work / "data"), "--out",
             str(work / "runs"), "--device", device]
    return [contemo(*synth), contemo(*train)]


def run_step(argv: list[str]) -> list[str]:
    """Return the stdout lines of one child command (echoed as they come); fail loudly."""
    shown = "contemo " + " ".join(argv[3:])
    print(f"demo --train: {shown}", flush=True)
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    except OSError as err:
        raise ContemoError(f"cannot start `{shown}` ({err.strerror or err})") from None
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line.rstrip("\n"))
    if proc.wait() != 0:
        raise ContemoError(f"`{shown}` failed with exit status {proc.returncode} "
                           "(its message is above)")
    return lines


def release_folder(lines: list[str], runs: Path) -> Path:
    """Return the generator folder the train step reported (else the newest run's)."""
    for line in reversed(lines):
        if RELEASED in line:
            folder = Path(line.split(RELEASED, 1)[1].strip())
            if (folder / CONFIG_FILE).is_file():
                return folder
    found = sorted(runs.glob(f"*/generator/{CONFIG_FILE}"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise ContemoError(f"{runs}: training finished but left no generator/{CONFIG_FILE}")
    return found[-1].parent


def train_for_demo(work: str | Path, preset: str = "synth64", people: int | None = None,
                   device: str = "auto") -> Path:
    """Return the release folder of a generator trained from scratch on fresh synthetic faces."""
    work = Path(work)
    synth, train = train_commands(work, preset, people, device)
    run_step(synth)
    return release_folder(run_step(train), work / "runs")
