"""One regressor run, end to end: which config and folder, which data split, and the release.

`contemo regressor train` parses its options into `plan_run`, then calls `split_data`,
`training.regressor.train` and `finish_run`; each is a plain function a notebook or a
benchmark can call the same way.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contemo.errors import ContemoError
from contemo.fileio import atomic_write_json
from contemo.training.regressor import CHECKPOINT, identity_groups, load_split, split_groups
from contemo.training.regressor_config import PRESETS, RegressorTrainConfig

RUNS_ROOT = Path("runs") / "regressor"
OVERRIDES = ("epochs", "batch_size", "lr", "lr_schedule", "input_size", "width_mult",
             "class_weight", "ccc_weight", "crop", "val_fraction", "seed", "augment")


@dataclass(frozen=True)
class RunPlan:
    """The resolved settings of a run: its config, folder, and what a resumed run recorded."""

    config: RegressorTrainConfig
    out: Path | None  # None: the next numbered folder under RUNS_ROOT, made by open_run
    resume: bool
    saved: dict[str, Any] = field(default_factory=dict)  # the resumed run's config.json

    @property
    def data(self) -> dict[str, Any]:
        """Return the data description the resumed run recorded (empty for a new run)."""
        return self.saved.get("data", {})


def plan_run(overrides: dict[str, Any], *, preset: str, config_file: str | None,
             out: str | None, resume: bool | str) -> RunPlan:
    """Return the plan of a new run (preset or file + overrides) or of a resumed one.

    `resume` is the run folder to continue (as `contemo train --resume RUN`), or True
    for the older spelling `--resume --out RUN`. A resumed run keeps its settings: only
    `epochs` may change.
    """
    if resume:
        if isinstance(resume, str):
            if out and Path(out) != Path(resume):
                raise ContemoError(f"--resume {resume} and --out {out} name different runs")
            out = resume
        if not out:
            raise ContemoError("--resume needs the run folder: --resume RUN_DIR")
        folder = Path(out)
        if not (folder / CHECKPOINT).is_file():
            raise ContemoError(f"{folder / CHECKPOINT}: no checkpoint to resume from")
        file = folder / "config.json"
        saved = json.loads(file.read_text()) if file.is_file() else {}
        changed = [k for k, v in overrides.items() if v is not None and k != "epochs"]
        if changed:
            raise ContemoError(f"--resume keeps the run's settings; only --epochs may change "
                               f"(got --{changed[0].replace('_', '-')})")
        config = RegressorTrainConfig.from_file(file).override(epochs=overrides.get("epochs"))
        return RunPlan(config, folder, True, saved)
    base = RegressorTrainConfig.from_file(config_file) if config_file else PRESETS[preset]
    config = base.override(**overrides)
    folder = Path(out) if out else None
    if folder is not None and (folder / CHECKPOINT).exists():
        raise ContemoError(f"{folder}: already holds a run; pass --resume to continue it or "
                           "choose another --out")
    return RunPlan(config, folder, False)


def open_run(plan: RunPlan, description: dict[str, Any], name: str) -> RunPlan:
    """Return `plan` with its folder made and config.json written in it.

    Without --out the folder is the next runs/regressor/NNNNN-preset, made atomically by
    training.runs.new_run_dir as for GAN runs: two starts never share a number.
    """
    from dataclasses import replace

    from contemo.training.regressor import write_run_config
    from contemo.training.runs import new_run_dir

    if plan.out is None:
        folder = new_run_dir(RUNS_ROOT, plan.config.preset,
                             lambda d: write_run_config(d, plan.config, description, name),
                             subfolders=())
        return replace(plan, out=folder)
    plan.out.mkdir(parents=True, exist_ok=True)
    write_run_config(plan.out, plan.config, description, name)
    return plan


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
    """Return the command line that trains this run again: preset plus every changed field."""
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

    out, config = plan.out, plan.config
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
                     reproduce_command(config, description, out, name), name=name,
                     device=device, last_call_seconds=seconds)
    return report
