"""Command-line options every scoring command shares: generator, scorer, precision, device."""

from __future__ import annotations

import argparse
from typing import Any

from contemo.hardware import add_device_argument, add_precision_argument


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare --checkpoint, --scorer, --scorer-weights, --precision, --batch-size, --device."""
    parser.add_argument("--checkpoint", default=None,
                        help="generator release folder (default: the shipped synth64 one)")
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
    from contemo.evaluation.scorers import load_scorer
    from contemo.generation.pipeline import EmotionPipeline

    if args.batch_size < 1:
        raise ContemoError(f"--batch-size must be at least 1, got {args.batch_size}")
    device, precision = resolve_runtime(args)
    pipeline = EmotionPipeline.from_pretrained(args.checkpoint, device, precision=precision,
                                               channels_last=args.channels_last)
    scorer = load_scorer(args.scorer, args.scorer_weights, str(device))
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
