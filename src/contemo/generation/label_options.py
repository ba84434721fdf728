"""The label options of `contemo generate`: a small table of option -> label set.

Each source owns its options and turns them, with the facts of the loaded checkpoint
(its anchors and trained emotions), into a ``LabelSet`` from ``contemo.labels.sets``.
The command picks exactly one source from the options given, so a new way of choosing
labels is one more ``LabelSource`` in ``SOURCES``: its options, whether ``--steps``
applies, and a build function. A source may refine another by requiring its options
too (a calibrated Neutral->emotion path reads ``--emotion``): the one naming more of
the given options wins. Label construction itself lives in ``contemo.labels``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

from contemo.emotions import EMOTIONS, NEUTRAL, canonical_emotion, validate_labels
from contemo.errors import ContemoError
from contemo.labels.calibration import calibration_truncation
from contemo.labels.sets import (
    DEFAULT_STEPS,
    LabelSet,
    calibrated_set,
    one_hot_set,
    pair_set,
    va_set,
    vector_set,
)
from contemo.labels.va import ModelLabels

MAX_STEPS = 1001


@dataclass(frozen=True)
class LabelSource:
    """One way of choosing labels: its options, and the function that builds the LabelSet."""

    # argparse dests of its options, all required. A source whose dests include another's
    # refines it (e.g. ("calibrated", "emotion") over ("emotion",)) and wins when both match.
    dests: tuple[str, ...]
    declare: Callable[[argparse._ArgumentGroup], None]  # adds those options
    build: Callable[[argparse.Namespace, int, ModelLabels], LabelSet]  # (args, steps, model)
    uses_steps: bool  # whether --steps means something to it


def from_emotion(args: argparse.Namespace, steps: int, model: ModelLabels) -> LabelSet:
    """Return the paper's Neutral->emotion path (Fig. 5, Eq. 3-4)."""
    end = canonical_emotion(args.emotion)
    if end == EMOTIONS[NEUTRAL]:
        raise ContemoError("--emotion neutral: give the emotion to move to from Neutral "
                           f"({', '.join(EMOTIONS[1:])})")
    return pair_set(EMOTIONS[NEUTRAL], end, steps)


def from_to(args: argparse.Namespace, steps: int, model: ModelLabels) -> LabelSet:
    """Return the blend path between any two training emotions."""
    return pair_set(args.from_emotion, args.to_emotion, steps)


def from_labels(args: argparse.Namespace, steps: int, model: ModelLabels) -> LabelSet:
    """Return explicit vectors: one '--label a,b,c,d,e,f', or several separated by ';'."""
    texts = [t for t in args.label.split(";") if t.strip()]
    if not texts:
        raise ContemoError(f"--label {args.label!r}: expected 6 comma-separated numbers")
    return vector_set(texts)


def all_emotions(args: argparse.Namespace, steps: int, model: ModelLabels) -> LabelSet:
    """Return the 6 one-hot training emotions (the --all-emotions source)."""
    return one_hot_set()


def _declare_emotion(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--emotion", metavar="NAME",
                       help=f"Neutral -> NAME path, the paper's Fig. 5 ({', '.join(EMOTIONS[1:])})")


def _declare_from_to(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--from", dest="from_emotion", metavar="NAME",
                       help="start emotion of a two-emotion path (with --to)")
    group.add_argument("--to", dest="to_emotion", metavar="NAME",
                       help="end emotion of the path (with --from)")


def _declare_label(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--label", metavar="V",
                       help=f"explicit vector(s) of 6 weights ({','.join(EMOTIONS)}) summing "
                       "to 1; several separated by ';' become columns")


def _declare_all(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--all-emotions", action="store_const", const=True, default=None,
                       help="one column per training emotion, the paper's Fig. 3")


def from_va(args: argparse.Namespace, steps: int, model: ModelLabels) -> LabelSet:
    """Return the label reaching a 'valence,arousal' target with the checkpoint's anchors.

    The same label the web app gives for that checkpoint and point. A target outside the
    reachable region goes to the nearest reachable point, with a one-line warning on
    stderr naming both points.
    """
    try:
        v, a = (float(x) for x in args.va.replace(" ", "").split(","))
    except ValueError:
        raise ContemoError(f"--va {args.va!r}: expected valence,arousal, e.g. 0.5,0.3") from None
    label_set, target = va_set(v, a, model.anchors, model.trained)
    if target.clipped:
        achieved = f"{target.achieved[0]:.3f},{target.achieved[1]:.3f}"
        print(f"contemo: warning: --va {v:g},{a:g} is outside the reachable region; using the "
              f"nearest reachable point {achieved}", file=sys.stderr)
    return label_set


def from_calibrated(args: argparse.Namespace, steps: int, model: ModelLabels) -> LabelSet:
    """Return the Neutral->emotion path on weights calibrated by a sweep (equal VA steps).

    A sweep measured at another --truncation than the faces asked for now gives a one-line
    warning: its steps are equal in VA for the faces it scored, not necessarily for these.
    """
    label_set = calibrated_set(args.calibrated, args.emotion, steps)
    measured, asked = calibration_truncation(args.calibrated), getattr(args, "truncation", 1.0)
    if measured != asked:
        print(f"contemo: warning: --calibrated {args.calibrated} was measured at truncation "
              f"{measured:g}, these faces use {asked:g}: its steps may not be equal in VA "
              f"(sweep again with --truncation {asked:g})", file=sys.stderr)
    return label_set


def _declare_va(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--va", metavar="V,A",
                       help="one face at a valence,arousal target in [-1, 1] (unreachable "
                       "targets go to the nearest reachable point)")


def _declare_calibrated(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--calibrated", metavar="SWEEP_DIR",
                       help="with --emotion: step weights from that sweep's calibration.json, "
                       "so equal steps give equal VA change")


SOURCES: list[LabelSource] = [
    LabelSource(("emotion",), _declare_emotion, from_emotion, uses_steps=True),
    LabelSource(("from_emotion", "to_emotion"), _declare_from_to, from_to, uses_steps=True),
    LabelSource(("label",), _declare_label, from_labels, uses_steps=False),
    LabelSource(("all_emotions",), _declare_all, all_emotions, uses_steps=False),
    LabelSource(("va",), _declare_va, from_va, uses_steps=False),
    LabelSource(("calibrated", "emotion"), _declare_calibrated, from_calibrated, uses_steps=True),
]


def flag(dest: str) -> str:
    """Return the command-line spelling of an option dest."""
    return {"from_emotion": "--from", "to_emotion": "--to"}.get(dest, "--" + dest.replace("_", "-"))


def declare(group: argparse._ArgumentGroup) -> None:
    """Add every source's options (and --steps) to the parser group."""
    for source in SOURCES:
        source.declare(group)
    group.add_argument("--steps", type=int, default=None, metavar="N",
                       help=f"points on a path, ends included (default {DEFAULT_STEPS}: weights "
                       "0.0, 0.1, ..., 1.0)")


def _own(source: LabelSource) -> set[str]:
    """Return the options that select `source`: its dests less those of sources it refines."""
    refined = [o for o in SOURCES if set(o.dests) < set(source.dests)]
    return set(source.dests).difference(*(o.dests for o in refined))


def select(args: argparse.Namespace) -> tuple[LabelSource, int]:
    """Return (the one label source the options name, its steps); conflicts are errors.

    Checks the options alone, so `contemo generate` can refuse bad ones before loading
    a checkpoint.
    """
    given = [s for s in SOURCES if any(getattr(args, d, None) is not None for d in _own(s))]
    # The most specific source wins: (--calibrated, --emotion) refines (--emotion).
    given = [s for s in given if not any(set(s.dests) < set(o.dests) for o in given)]
    names = " / ".join("/".join(flag(d) for d in s.dests) for s in SOURCES)
    if not given:
        raise ContemoError(f"say which labels to generate: give one of {names}")
    if len(given) > 1:
        used = [flag(next(d for d in s.dests if getattr(args, d, None) is not None))
                for s in given]
        raise ContemoError(f"{' and '.join(used)} conflict: give one label source")
    source = given[0]
    missing = [flag(d) for d in source.dests if getattr(args, d, None) is None]
    if missing:
        present = [flag(d) for d in source.dests if getattr(args, d, None) is not None]
        raise ContemoError(f"{' '.join(present)} needs {' '.join(missing)}")
    if args.steps is not None and not source.uses_steps:
        raise ContemoError(f"--steps does not apply to {flag(source.dests[0])} "
                           "(it sets the points on an --emotion or --from/--to path)")
    steps = DEFAULT_STEPS if args.steps is None else args.steps
    if source.uses_steps and not 2 <= steps <= MAX_STEPS:
        raise ContemoError(f"--steps {steps}: expected 2 to {MAX_STEPS}")
    return source, steps


def build(args: argparse.Namespace, model: ModelLabels | None = None) -> LabelSet:
    """Return the LabelSet the options name for `model` (default: theoretical, all 6 trained)."""
    source, steps = select(args)
    result = source.build(args, steps, model or ModelLabels.theoretical())
    validate_labels(result.labels)  # a new source cannot slip an invalid vector through
    return result
