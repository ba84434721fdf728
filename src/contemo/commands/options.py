"""Option groups several commands share: the generator (generate, demo, serve), the scorer
(evaluate sweep/targeting), figures, torch threads, and the run folder of both trainers
(train, regressor train); one `--checkpoint` for all generating commands."""

from __future__ import annotations

import argparse
from typing import Any

from contemo.hardware import add_device_argument, add_precision_argument


def add_checkpoint_argument(parser: argparse.ArgumentParser) -> None:
    """Declare --checkpoint, the generator every generating command loads."""
    parser.add_argument("--checkpoint", metavar="DIR|NAME",
                        help="released generator folder (config.json + generator.safetensors), "
                        "a training run folder, or a shipped name: synth64 (default), london64")


def add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare --checkpoint, --scorer, --scorer-weights, --precision, --batch-size, --device,
    --truncation.

    The scoring commands default to precision auto and batches of 550 (generate's are
    fp32 and 256): their scores are means over many faces, within noise of fp32, and a
    sweep's batch holds whole noise rows of 11 steps.
    """
    add_checkpoint_argument(parser)
    parser.add_argument("--scorer", default="regressor",
                        help="what scores the faces: regressor (contemo's VA regressor) or judge "
                             "(the independent FER2013 classifier); default regressor")
    parser.add_argument("--scorer-weights", default=None, metavar="PATH",
                        help="the scorer's weights (default: its shipped/installed ones)")
    add_precision_argument(parser, "auto", "generator and scorer; bf16 scores are within "
                           "noise of fp32 (benchmarks/bench_sweep.py)")
    parser.add_argument("--batch-size", type=int, default=550,
                        help="faces generated and scored at once (default 550)")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                        help="NHWC convolutions in generator and scorer (default on: faster with "
                             "oneDNN on CPU)")
    parser.add_argument("--seed", type=int, default=0, help="first noise seed")
    add_truncation_argument(parser)
    add_device_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def resolve_runtime(args: argparse.Namespace) -> tuple[Any, str]:
    """Return (torch device, concrete precision) of --device and --precision, made concrete in
    `args` too so the summary a command writes names what ran."""
    from contemo.hardware import resolve_device, resolve_precision

    device = resolve_device(str(args.device))
    args.device = str(device)
    args.precision = resolve_precision(args.precision, device)
    return device, args.precision


def load_models(args: argparse.Namespace) -> tuple[Any, Any]:
    """Return (EmotionPipeline, scorer) for the options declared by add_model_arguments."""
    from contemo.errors import ContemoError
    from contemo.evaluation.scorers import load_scorer, prepare_scorer
    from contemo.generation.pipeline import EmotionPipeline

    if args.batch_size < 1:
        raise ContemoError(f"--batch-size must be at least 1, got {args.batch_size}")
    device, precision = resolve_runtime(args)
    pipeline = EmotionPipeline.from_pretrained(args.checkpoint, device, precision=precision,
                                               channels_last=args.channels_last,
                                               truncation=args.truncation)
    scorer = load_scorer(args.scorer, args.scorer_weights, str(device))
    return pipeline, prepare_scorer(scorer, args.channels_last)


def add_generator_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare --checkpoint, --device, --precision, --batch-size, --truncation (generate, demo)."""
    add_checkpoint_argument(parser)
    add_device_argument(parser)
    add_precision_argument(parser, "fp32", "the same seed gives the same pixels on every "
                           "machine (bf16/fp16 are faster, their last bits differ)")
    parser.add_argument("--batch-size", type=int, default=256, metavar="N",
                        help="images per forward pass (default 256)")
    add_truncation_argument(parser)


def add_truncation_argument(parser: argparse.ArgumentParser) -> None:
    """Declare --truncation, the psi that scales every seed's noise (generate, demo, identity,
    sweep, targeting)."""
    parser.add_argument("--truncation", type=float, default=1.0, metavar="PSI",
                        help="scale each seed's noise by PSI in [0, 1] towards the mean face: "
                        "cleaner faces, all more alike: less variety between seeds "
                        "(default 1: none)")


def add_figure_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare --display-scale and --resample (shared with `contemo demo`)."""
    parser.add_argument("--display-scale", default="auto", metavar="N",
                        help="upscale grids and GIFs N times (default auto: tiles >= 128 px); "
                        "individual images keep the model's resolution")
    parser.add_argument("--resample", default="nearest", choices=("nearest", "bicubic"),
                        help="upscaling filter for figures (default nearest: true pixels)")


def load_pipeline(args: argparse.Namespace, checkpoint: Any = None):
    """Return the EmotionPipeline for --checkpoint (or `checkpoint`, e.g. another shipped
    folder) with --device, --precision and --truncation; bad values are one-line errors."""
    from contemo.errors import ContemoError
    from contemo.generation.pipeline import EmotionPipeline
    from contemo.hardware import resolve_device

    if args.batch_size < 1:
        raise ContemoError(f"--batch-size {args.batch_size}: expected a positive integer")
    return EmotionPipeline.from_pretrained(checkpoint or args.checkpoint,
                                           resolve_device(args.device),
                                           precision=args.precision, truncation=args.truncation)


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    """Declare --threads, torch's CPU thread count (train, regressor train, serve)."""
    parser.add_argument("--threads", type=int, metavar="N",
                        help="torch CPU threads per process (default: torch's choice; 1 is "
                        "often much faster on a CPU shared with other jobs)")


def apply_threads(args: argparse.Namespace) -> None:
    """Set torch's CPU thread count from --threads (unset: torch's choice); 0 or less is one line."""
    from contemo.errors import ContemoError

    if args.threads is None:
        return
    if args.threads < 1:
        raise ContemoError(f"--threads {args.threads}: expected a positive integer")
    import torch

    torch.set_num_threads(args.threads)


def add_run_arguments(parser: argparse.ArgumentParser, runs_root: str) -> None:
    """Declare --out and --resume, the same for every trainer (train, regressor train).

    A new run goes into the next numbered folder under --out; --resume RUN_DIR continues
    a run from its newest intact checkpoint (contemo.training.runs.resume_point).
    """
    parser.add_argument("--out", metavar="DIR",
                        help=f"parent folder of run folders (default {runs_root}/)")
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="continue a run from its newest intact checkpoint (or a "
                        "checkpoint .json)")
