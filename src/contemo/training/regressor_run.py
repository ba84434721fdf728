"""One regressor run, end to end: which config and folder, which data split, and the release.

`contemo regressor train` parses its options into `plan_run`, then calls `split_data`,
`open_run` (the locked run folder), `training.regressor.train` and `finish_run`; each is
a plain function a notebook or a benchmark can call the same way. Run folders, resume
and checkpoints are the GAN's (contemo.training.runs and .checkpoint).
"""

from __future__ import annotations

import contextlib
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from contemo.errors import ContemoError
from contemo.fileio import atomic_write_json, read_format_json, write_error
from contemo.training.checkpoint import RegressorSidecar
from contemo.training.regressor import RUN_FORMAT, identity_groups, load_split, split_groups
from contemo.training.regressor_config import PRESETS, RegressorTrainConfig
from contemo.training.runs import CHECKPOINTS, CONFIG, RunLock, new_run_dir, reopen, resume_point

RUNS_ROOT = Path("runs") / "regressor"
LEGACY_CHECKPOINT = "checkpoint.safetensors"  # one file per run, before checkpoints/
OVERRIDES = ("epochs", "batch_size", "lr", "lr_schedule", "input_size", "width_mult",
             "class_weight", "ccc_weight", "crop", "val_fraction", "seed", "augment")


@dataclass(frozen=True)
class RunPlan:
    """The resolved settings of a run: its config, folder, and where a resumed run picks up."""

    config: RegressorTrainConfig
    run_dir: Path | None  # the resumed run; None: a new numbered folder under `parent`
    parent: Path = RUNS_ROOT  # where open_run makes a new run folder (--out)
    sidecar: Path | None = None  # the checkpoint a resumed run continues from (None: epoch 0)
    notes: tuple[str, ...] = ()  # lines to print (skipped damaged checkpoints, restarts)
    damaged: tuple[Path, ...] = ()  # damaged checkpoints newer than `sidecar`, set aside
    saved: dict[str, Any] = field(default_factory=dict)  # the resumed run's config.json

    @property
    def resume(self) -> bool:
        """Return whether this plan continues an earlier run."""
        return bool(self.saved)

    @property
    def data(self) -> dict[str, Any]:
        """Return the data description the resumed run recorded (empty for a new run)."""
        return self.saved.get("data", {})


def plan_run(overrides: dict[str, Any], *, preset: str | None, config_file: str | None,
             out: str | None, resume: str | None) -> RunPlan:
    """Return the plan of a new run (preset or file + overrides) or of a resumed one.

    As `contemo train`: `out` is the parent of numbered run folders, and `resume` a run
    folder (or one checkpoint's JSON) that continues from its newest intact checkpoint
    (contemo.training.runs.resume_point). A resumed run keeps its settings: only
    `epochs` may change.
    """
    if resume:
        changed = [k for k, v in overrides.items() if v is not None and k != "epochs"]
        if preset or config_file or out or changed:
            flag = ("--preset" if preset else "--config" if config_file else "--out" if out
                    else "--" + changed[0].replace("_", "-"))
            raise ContemoError(f"--resume keeps the run's folder and settings; only --epochs "
                               f"may change (got {flag})")
        run, sidecar, notes, damaged = resume_point(resume, RegressorSidecar)
        legacy = run / LEGACY_CHECKPOINT
        if sidecar is None and legacy.is_file():
            raise ContemoError(f"{legacy}: a checkpoint of an older contemo, which this one "
                               "cannot resume; start a new run")
        saved = read_format_json(run / CONFIG, RUN_FORMAT,
                                 missing="missing (a regressor run folder holds it)")
        config = RegressorTrainConfig.from_dict(saved.get("config"), f"{run / CONFIG}: config")
        return RunPlan(config.override(epochs=overrides.get("epochs")), run, run.parent,
                       sidecar, tuple(notes), tuple(damaged), saved)
    if preset and config_file:
        raise ContemoError("give --preset or --config, not both")
    base = RegressorTrainConfig.from_file(config_file) if config_file else PRESETS[
        preset or "synth"]
    return RunPlan(base.override(**overrides), None, Path(out) if out else RUNS_ROOT)


@contextlib.contextmanager
def open_run(plan: RunPlan, description: dict[str, Any], name: str) -> Iterator[RunPlan]:
    """Yield `plan` with its run folder made or reopened, locked, and config.json written.

    A new folder is the next `parent`/NNNNN-PRESET, made atomically by
    training.runs.new_run_dir as for GAN runs; a resumed one is reopened as a GAN run
    is (training.runs.reopen: lock, leftovers removed, damaged checkpoints set aside).
    A write that fails (full disk, read-only folder) is one line; the checkpoints
    already written stay intact.
    """
    from contemo.training.regressor import write_run_config

    def fill(folder: Path) -> None:
        write_run_config(folder, plan.config, description, name)

    if plan.run_dir is None:
        run = new_run_dir(plan.parent, plan.config.preset, fill)
        lock = RunLock(run)
    else:
        run = plan.run_dir
        lock, lines = reopen(run, list(plan.damaged), fresh=plan.sidecar is None)
        for line in lines:
            print(f"contemo: {line}", file=sys.stderr)
    try:
        if plan.run_dir is not None:
            fill(run)  # with this resume's epochs
        yield replace(plan, run_dir=run)
    except OSError as err:
        raise ContemoError(f"{write_error(run, err)}; checkpoints in {run / CHECKPOINTS} are "
                           f"intact, resume with contemo regressor train --resume {run}"
                           ) from None
    finally:
        lock.release()


def split_data(plan: RunPlan, data: str | None, manifest: str | None,
               val_manifest: str | None) -> tuple[Any, Any, dict[str, Any]]:
    """Return (train set, held-out set, data description) for the run.

    Unset paths fall back to those the resumed run recorded; the held-out set is
    `val_manifest` or a seeded split by identity, and a resumed run must see the same counts.
    """
    recorded = plan.data
    root = Path(data) if data else Path(recorded["root"]) if recorded.get("root") else None
    if root is None:
        raise ContemoError("--data DIR is required (an AffectNet-layout folder or manifest)")
    manifest = manifest or recorded.get("manifest")
    val_manifest = val_manifest or recorded.get("val_manifest")
    config = plan.config
    dataset_all, dataset = load_split(root, config, Path(manifest) if manifest else None)
    if val_manifest:
        train_set = dataset_all
        held_out, _ = load_split(root, config, Path(val_manifest))
        split_kind = f"manifest {val_manifest}"
    else:
        groups, split_kind = identity_groups(dataset, root, Path(manifest) if manifest else None)
        train_idx, val_idx = split_groups(groups, config.val_fraction, config.seed)
        train_set, held_out = dataset_all.take(train_idx), dataset_all.take(val_idx)
    description = {
        "root": str(root), "manifest": manifest, "val_manifest": val_manifest,
        "layout": "affectnet", "images": len(dataset_all), "train": len(train_set),
        "held_out": len(held_out), "split": split_kind,
    }
    if plan.resume and recorded and (recorded.get("train"), recorded.get("held_out")) != (
            len(train_set), len(held_out)):
        raise ContemoError(f"{root}: the data changed since the run started "
                           f"({recorded.get('train')}/{recorded.get('held_out')} train/held-out "
                           f"images, now {len(train_set)}/{len(held_out)})")
    return train_set, held_out, description


def reproduce_command(config: Any, data: dict[str, Any], out: Path, name: str) -> str:
    """Return the command line that trains this run again (into a new folder under `out`)."""
    words = ["contemo", "regressor", "train", "--data", data["root"]]
    for key in ("manifest", "val_manifest"):
        if data.get(key):
            words += [f"--{key.replace('_', '-')}", str(data[key])]
    preset = PRESETS.get(config.preset)
    words += ["--preset", config.preset] if preset else []
    for key, value in config.to_dict().items():
        if key in ("preset", "feature_dim", "dropout", "weight_decay", "shift"):
            continue
        if preset is None or getattr(preset, key) != value:
            flag = "--" + key.replace("_", "-")
            words += [flag if value else "--no-augment"] if isinstance(value, bool) else [
                flag, str(value)]
    return shlex.join([*words, "--name", name, "--out", str(out)])


def finish_run(model: Any, plan: RunPlan, held_out: Any, description: dict[str, Any],
               name: str, device: str, seconds: float) -> dict[str, Any]:
    """Return the held-out report after writing metrics.json, scatter.png and model/ (+ card)."""
    from contemo.models import save_pretrained
    from contemo.training.regressor_report import evaluate, write_model_card

    out, config = plan.run_dir, plan.config
    model = model.cpu()
    report = evaluate(model, held_out, plot=out / "scatter.png",
                      title=f"{len(held_out)} held-out images ({description['split']})")
    report = {"regressor": str(out / "model"), "data": description, **report}
    atomic_write_json(out / "metrics.json", report)
    save_pretrained(model, out / "model", training={
        "config": config.to_dict(), "data": description, "held_out_metrics": {
            dim: {k: report[dim][k] for k in ("ccc", "rmse", "pcc", "sagr")}
            for dim in ("valence", "arousal")} | {"accuracy": report["classes"]["accuracy"]},
    })
    write_model_card(out / "model" / "MODEL_CARD.md", out, config, description, report,
                     reproduce_command(config, description, out.parent, name), name=name,
                     device=device, last_call_seconds=seconds)
    return report
