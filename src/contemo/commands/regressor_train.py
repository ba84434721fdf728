"""Train the valence-arousal regressor (MobileNetV2, VA + 8 classes) on an AffectNet-layout set.

Works on real AffectNet (its training.csv / validation.csv and Manually_Annotated_Images)
or on contemo's synthetic continuous set. A seeded held-out split (whole identities when
the manifest has an identity column) is scored at every epoch; at the end the run folder
gets model/ (release: config.json + regressor.safetensors + MODEL_CARD.md), metrics.json
(CCC, RMSE, PCC, SAGR for valence and arousal; accuracy, macro F1) and scatter.png.
Run folders, checkpoints and `--resume RUN_DIR` work as for `contemo train`: interrupt
at any time, and `--resume` continues from the last finished epoch, bit-exactly.
"""

from __future__ import annotations

import argparse

from contemo.commands.options import add_run_arguments, add_threads_argument
from contemo.hardware import add_device_argument

EXAMPLES = """\
  contemo regressor train --data data/va --preset synth
  contemo regressor train --resume runs/regressor/00000-synth
  contemo regressor train --resume runs/regressor/00000-synth --epochs 20   (train further)
  contemo regressor train --data /data/AffectNet --preset paper \\
      --val-manifest /data/AffectNet/Manually_Annotated_file_lists/validation.csv
  contemo regressor train --data data/va --preset tiny --epochs 2 --out /tmp/runs
"""

PRESET_NAMES = ("paper", "synth", "tiny")  # = regressor_config.PRESETS (tested)
RUNS_ROOT = "runs/regressor"  # = training.regressor_run.RUNS_ROOT (tested)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--data", metavar="DIR", help="AffectNet-layout folder (or its manifest)")
    parser.add_argument("--manifest", metavar="CSV", help="training manifest (default: found)")
    parser.add_argument("--val-manifest", metavar="CSV",
                        help="score this manifest as the held-out set instead of a split "
                        "(e.g. AffectNet's validation.csv)")
    parser.add_argument("--preset", choices=PRESET_NAMES,
                        help="named settings (default: synth)")
    parser.add_argument("--config", metavar="JSON", help="settings file (e.g. a run's config.json)")
    add_run_arguments(parser, RUNS_ROOT)
    add_device_argument(parser)
    add_threads_argument(parser)
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


def run(args: argparse.Namespace) -> int:
    """Train (or resume), export model/, write metrics.json + scatter.png; return 0."""
    import sys
    import time

    from contemo.commands.options import apply_threads
    from contemo.hardware import resolve_device
    from contemo.training.regressor import train
    from contemo.training.regressor_run import (
        OVERRIDES,
        finish_run,
        open_run,
        plan_run,
        split_data,
    )

    plan = plan_run({k: getattr(args, k) for k in OVERRIDES}, preset=args.preset,
                    config_file=args.config, out=args.out, resume=args.resume)
    for note in plan.notes:
        print(f"contemo: {note}", file=sys.stderr)
    device = resolve_device(args.device)
    apply_threads(args)
    train_set, held_out, description = split_data(plan, args.data, args.manifest,
                                                  args.val_manifest)
    name = args.name or plan.saved.get("name") or f"regressor-{plan.config.preset}"
    with open_run(plan, description, name) as plan:
        print(f"regressor run {plan.run_dir}: {len(train_set)} train / {len(held_out)} held-out "
              f"images (split by {description['split']}), {plan.config.epochs} epochs on {device}")
        t0 = time.perf_counter()
        model = train(plan.run_dir, plan.config, train_set, held_out, device=device,
                      resume=plan.sidecar, name=name)
        report = finish_run(model, plan, held_out, description, name, str(device),
                            time.perf_counter() - t0)
    v, a = report["valence"], report["arousal"]
    print(f"held-out: CCC V {v['ccc']:.3f} A {a['ccc']:.3f} | RMSE V {v['rmse']:.3f} "
          f"A {a['rmse']:.3f} | PCC V {v['pcc']:.3f} A {a['pcc']:.3f} | SAGR V {v['sagr']:.3f} "
          f"A {a['sagr']:.3f} | accuracy {report['classes']['accuracy']:.3f}")
    out = plan.run_dir
    print(f"wrote {out / 'model'}, {out / 'metrics.json'}, {out / 'scatter.png'}")
    return 0
