"""Train the valence-arousal regressor (MobileNetV2, VA + 8 classes) on an AffectNet-layout set.

Works on real AffectNet (its training.csv / validation.csv and Manually_Annotated_Images)
or on contemo's synthetic continuous set. A seeded held-out split (whole identities when
the manifest has an identity column) is scored at every epoch; at the end the run folder
gets model/ (release: config.json + regressor.safetensors + MODEL_CARD.md), metrics.json
(CCC, RMSE, PCC, SAGR for valence and arousal; accuracy, macro F1) and scatter.png.
Interrupt at any time: `--resume` continues from the last finished epoch.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from contemo.hardware import add_device_argument

EXAMPLES = """\
  contemo regressor train --data data/va --preset synth --out runs/regressor-synth
  contemo regressor train --out runs/regressor-synth --resume
  contemo regressor train --data /data/AffectNet --preset paper \\
      --val-manifest /data/AffectNet/Manually_Annotated_file_lists/validation.csv
  contemo regressor train --data data/va --preset tiny --epochs 2 --out /tmp/reg
"""

PRESET_NAMES = ("paper", "synth", "tiny")  # = regressor_config.PRESETS (tested)
RUNS_ROOT = Path("runs") / "regressor"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--data", metavar="DIR", help="AffectNet-layout folder (or its manifest)")
    parser.add_argument("--manifest", metavar="CSV", help="training manifest (default: found)")
    parser.add_argument("--val-manifest", metavar="CSV",
                        help="score this manifest as the held-out set instead of a split "
                        "(e.g. AffectNet's validation.csv)")
    parser.add_argument("--preset", choices=PRESET_NAMES, default="synth",
                        help="named settings (default: synth)")
    parser.add_argument("--config", metavar="JSON", help="settings file (e.g. a run's config.json)")
    parser.add_argument("--out", metavar="DIR",
                        help=f"run folder (default: next {RUNS_ROOT}/NNNNN-PRESET)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its last checkpoint")
    add_device_argument(parser)
    parser.add_argument("--threads", type=int, metavar="N",
                        help="CPU threads for torch (default: torch's choice; 1 is often faster "
                        "on a busy machine)")
    parser.add_argument("--name", help="name of the released model (default: regressor-PRESET)")
    group = parser.add_argument_group("overrides (any preset or config field)")
    group.add_argument("--epochs", type=int)
    group.add_argument("--batch-size", type=int)
    group.add_argument("--lr", type=float)
    group.add_argument("--lr-schedule", choices=("constant", "cosine"))
    group.add_argument("--input-size", type=int)
    group.add_argument("--width-mult", type=float)
    group.add_argument("--crop", type=float, help="centred share of each side kept (0.3-1)")
    group.add_argument("--class-weight", type=float)
    group.add_argument("--ccc-weight", type=float, help="add this x (1 - CCC) to the VA loss")
    group.add_argument("--val-fraction", type=float)
    group.add_argument("--seed", type=int)
    group.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                       help="flip + shift augmentation")


def _next_run(preset: str) -> Path:
    """Return runs/regressor/NNNNN-preset with the next free number."""
    numbers = [int(p.name[:5]) for p in RUNS_ROOT.glob("[0-9]" * 5 + "-*") if p.is_dir()]
    return RUNS_ROOT / f"{max(numbers, default=-1) + 1:05d}-{preset}"


def reproduce_command(config: Any, data: dict[str, Any], out: Path, name: str) -> str:
    """Return the command line that trains this run again: preset plus every changed field."""
    from contemo.training.regressor_config import PRESETS

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


def run(args: argparse.Namespace) -> int:
    """Train (or resume), export model/, write metrics.json + scatter.png; return 0."""
    import json
    import time

    from contemo.errors import ContemoError
    from contemo.hardware import resolve_device
    from contemo.training.regressor import (
        CHECKPOINT,
        identity_groups,
        load_split,
        split_groups,
        train,
        write_run_config,
    )
    from contemo.training.regressor_config import PRESETS, RegressorTrainConfig
    from contemo.training.regressor_report import evaluate, write_model_card

    overrides = {k: getattr(args, k) for k in (
        "epochs", "batch_size", "lr", "lr_schedule", "input_size", "width_mult", "class_weight",
        "ccc_weight", "crop",
        "val_fraction", "seed", "augment")}
    saved: dict = {}
    if args.resume:
        if not args.out:
            raise ContemoError("--resume needs --out RUN_DIR (the run folder to continue)")
        out = Path(args.out)
        if not (out / CHECKPOINT).is_file():
            raise ContemoError(f"{out / CHECKPOINT}: no checkpoint to resume from")
        saved = json.loads((out / "config.json").read_text()) if (out / "config.json").is_file() \
            else {}
        config = RegressorTrainConfig.from_file(out / "config.json")
        changed = [k for k, v in overrides.items() if v is not None and k != "epochs"]
        if changed:
            raise ContemoError(f"--resume keeps the run's settings; only --epochs may change "
                               f"(got --{changed[0].replace('_', '-')})")
        config = config.override(epochs=args.epochs)
    else:
        base = RegressorTrainConfig.from_file(args.config) if args.config else PRESETS[args.preset]
        config = base.override(**overrides)
        out = Path(args.out) if args.out else _next_run(config.preset)
        if (out / CHECKPOINT).exists():
            raise ContemoError(f"{out}: already holds a run; pass --resume to continue it or "
                               "choose another --out")
    data = saved.get("data", {})
    root = Path(args.data) if args.data else Path(data["root"]) if data.get("root") else None
    if root is None:
        raise ContemoError("--data DIR is required (an AffectNet-layout folder or manifest)")
    manifest = args.manifest or data.get("manifest")
    val_manifest = args.val_manifest or data.get("val_manifest")
    device = resolve_device(args.device)
    if args.threads is not None:
        if args.threads < 1:
            raise ContemoError(f"--threads must be at least 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)

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
    if args.resume and data and (data.get("train"), data.get("held_out")) != (
            len(train_set), len(held_out)):
        raise ContemoError(f"{root}: the data changed since the run started "
                           f"({data.get('train')}/{data.get('held_out')} train/held-out images, "
                           f"now {len(train_set)}/{len(held_out)})")
    out.mkdir(parents=True, exist_ok=True)
    name = args.name or saved.get("name") or f"regressor-{config.preset}"
    write_run_config(out, config, description, name)
    print(f"regressor run {out}: {len(train_set)} train / {len(held_out)} held-out images "
          f"(split by {split_kind}), {config.epochs} epochs on {device}")
    t0 = time.perf_counter()
    model = train(out, config, train_set, held_out, device=device, resume=args.resume,
                  name=name)
    wall = time.perf_counter() - t0
    model = model.cpu()
    report = evaluate(model, held_out, plot=out / "scatter.png",
                      title=f"{len(held_out)} held-out images ({split_kind})")
    report = {"regressor": str(out / "model"), "data": description, **report}
    from contemo.fileio import atomic_write_json

    atomic_write_json(out / "metrics.json", report)
    command = reproduce_command(config, description, out, name)
    model.save_pretrained(out / "model", training={
        "config": config.to_dict(), "data": description, "held_out_metrics": {
            dim: {k: report[dim][k] for k in ("ccc", "rmse", "pcc", "sagr")}
            for dim in ("valence", "arousal")} | {"accuracy": report["classes"]["accuracy"]},
    })
    write_model_card(out / "model" / "MODEL_CARD.md", out, config, description, report,
                     command, name=name, device=str(device), last_call_seconds=wall)
    v, a = report["valence"], report["arousal"]
    print(f"held-out: CCC V {v['ccc']:.3f} A {a['ccc']:.3f} | RMSE V {v['rmse']:.3f} "
          f"A {a['rmse']:.3f} | PCC V {v['pcc']:.3f} A {a['pcc']:.3f} | SAGR V {v['sagr']:.3f} "
          f"A {a['sagr']:.3f} | accuracy {report['classes']['accuracy']:.3f}")
    print(f"wrote {out / 'model'}, {out / 'metrics.json'}, {out / 'scatter.png'}")
    return 0
