"""Command-line options every scoring command shares: generator, scorer, precision, device."""

from __future__ import annotations

import argparse
from typing import Any


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare --checkpoint, --scorer, --scorer-weights, --precision, --batch-size, --device."""
    parser.add_argument("--checkpoint", default=None,
                        help="generator release folder (default: the shipped synth64 one)")
    parser.add_argument("--scorer", default="regressor",
                        help="what scores the faces: regressor (contemo's VA regressor) or judge "
                             "(the independent FER2013 classifier); default regressor")
    parser.add_argument("--scorer-weights", default=None, metavar="PATH",
                        help="the scorer's weights (default: its shipped/installed ones)")
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                        help="autocast for generator and scorer (default auto: bf16 where the "
                             "CPU/GPU has it natively, scores within noise, else fp32; see "
                             "benchmarks/bench_sweep.py)")
    parser.add_argument("--batch-size", type=int, default=550,
                        help="faces generated and scored at once (default 550)")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                        help="NHWC convolutions in generator and scorer (default on: faster with "
                             "oneDNN on CPU)")
    parser.add_argument("--seed", type=int, default=0, help="first noise seed")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def resolve_precision(args: argparse.Namespace) -> str:
    """Return --precision made concrete (auto: bf16 where native on --device, else fp32)."""
    if args.precision == "auto":
        from contemo.hardware import auto_precision

        args.precision = auto_precision(args.device)
    return args.precision


def load_models(args: argparse.Namespace) -> tuple[Any, Any]:
    """Return (EmotionPipeline, scorer) for the options declared by add_model_arguments."""
    from contemo.errors import ContemoError
    from contemo.evaluation.scorers import load_scorer
    from contemo.generation.pipeline import EmotionPipeline

    if args.batch_size < 1:
        raise ContemoError(f"--batch-size must be at least 1, got {args.batch_size}")
    pipeline = EmotionPipeline.from_pretrained(args.checkpoint, args.device,
                                               precision=resolve_precision(args),
                                               channels_last=args.channels_last)
    scorer = load_scorer(args.scorer, args.scorer_weights, args.device)
    return pipeline, prepare_scorer(scorer, args.channels_last)


def prepare_scorer(scorer: Any, channels_last: bool) -> Any:
    """Return the scorer, its network switched to channels_last when it is a torch Module.

    Memory format changes speed only, never results; scorers that are not Modules (the
    judge keeps its own layout) are returned as they are.
    """
    import torch

    if channels_last and isinstance(scorer, torch.nn.Module):
        scorer.to(memory_format=torch.channels_last)
    return scorer
