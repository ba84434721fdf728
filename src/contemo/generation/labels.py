"""Label sources for `contemo generate`: a small table of option -> (steps, 6) label vectors.

Each source owns its options and turns them into a ``LabelSet``: the label vectors
(the grid's columns, validated) with one header per column and a figure title. The
command picks exactly one source from the options given, so a new way of choosing
labels (a VA target, a calibrated path) is one more ``LabelSource`` in ``SOURCES``:
its options, whether ``--steps`` applies, and a build function. A source may refine
another by requiring its options too (a calibrated Neutral->emotion path reads
``--emotion``): the one naming more of the given options wins. All emotion facts come
from ``contemo.emotions``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from contemo.emotions import (
    EMOTIONS,
    NEUTRAL,
    canonical_emotion,
    neutral_to,
    parse_label,
    path,
    validate_labels,
)
from contemo.errors import ContemoError

DEFAULT_STEPS = 11  # the paper's 0.0, 0.1, ..., 1.0 (§4.3)
MAX_STEPS = 1001


@dataclass(frozen=True)
class LabelSet:
    """The label vectors of one generate job: the columns of its grid and its manifest rows."""

    labels: np.ndarray  # (K, 6) float32, each a valid conditioning vector (Eq. 2-3)
    columns: list[str]  # header of each column, may hold "\n"
    title: str  # one line above the grid


@dataclass(frozen=True)
class LabelSource:
    """One way of choosing labels: its options, and the function that builds the LabelSet."""

    # argparse dests of its options, all required. A source whose dests include another's
    # refines it (e.g. ("calibrated", "emotion") over ("emotion",)) and wins when both match.
    dests: tuple[str, ...]
    declare: Callable[[argparse._ArgumentGroup], None]  # adds those options
    build: Callable[[argparse.Namespace, int], LabelSet]  # (args, steps) -> labels
    uses_steps: bool  # whether --steps means something to it


def weight_text(weights: Sequence[float]) -> list[str]:
    """Return the weights written with the fewest decimals (1-3) that show every one exactly."""
    arr = np.asarray(weights, dtype=np.float64)
    for places in (1, 2, 3):
        if np.allclose(np.round(arr, places), arr, atol=1e-6):
            break
    return [f"{w:.{places}f}" for w in arr]


def describe(v: np.ndarray, max_lines: int = 4, places: int = 3) -> str:
    """Return a short header for one vector: its non-zero emotions by weight, one per line."""
    order = [i for i in np.argsort(-v, kind="stable") if v[i] > 0]
    if len(order) == 1:
        return EMOTIONS[order[0]]
    lines = [f"{EMOTIONS[i]} {v[i]:.{places}f}".rstrip("0").rstrip(".")
             for i in order[:max_lines]]
    if len(order) > max_lines:
        lines[-1] = f"+{len(order) - max_lines + 1} more"
    return "\n".join(lines)


def pair_set(start: str, end: str, steps: int = DEFAULT_STEPS) -> LabelSet:
    """Return the path blending emotion `start` into `end`, headed by the weights.

    From Neutral (the paper's Fig. 5) a header is the end emotion's weight ("happy 0.3");
    between two extreme emotions it shows both weights.
    """
    start, end = canonical_emotion(start), canonical_emotion(end)
    if start == end:
        raise ContemoError(f"--from and --to are both {start!r}: give two different emotions")
    labels = neutral_to(end, steps) if start == EMOTIONS[NEUTRAL] else path(start, end, steps)
    weights = labels[:, EMOTIONS.index(end)]
    texts = weight_text(weights)
    if start == EMOTIONS[NEUTRAL]:
        columns = [f"{end} {t}" for t in texts]
    else:
        columns = [f"{start} {s}\n{end} {t}" for s, t in zip(weight_text(1 - weights), texts)]
    return LabelSet(labels, columns, f"{start} -> {end}")


def one_hot_set(emotions: Sequence[str] = EMOTIONS) -> LabelSet:
    """Return the one-hot training emotions (the paper's Fig. 3), by default all 6."""
    rows = [EMOTIONS.index(e) for e in emotions]
    return LabelSet(np.eye(len(EMOTIONS), dtype=np.float32)[rows], list(emotions),
                    f"the {len(rows)} emotions")


def from_emotion(args: argparse.Namespace, steps: int) -> LabelSet:
    """Return the paper's Neutral->emotion path (Fig. 5, Eq. 3-4)."""
    end = canonical_emotion(args.emotion)
    if end == EMOTIONS[NEUTRAL]:
        raise ContemoError("--emotion neutral: give the emotion to move to from Neutral "
                           f"({', '.join(EMOTIONS[1:])})")
    return pair_set(EMOTIONS[NEUTRAL], end, steps)


def from_to(args: argparse.Namespace, steps: int) -> LabelSet:
    """Return the blend path between any two training emotions."""
    return pair_set(args.from_emotion, args.to_emotion, steps)


def from_labels(args: argparse.Namespace, steps: int) -> LabelSet:
    """Return explicit vectors: one '--label a,b,c,d,e,f', or several separated by ';'."""
    texts = [t for t in args.label.split(";") if t.strip()]
    if not texts:
        raise ContemoError(f"--label {args.label!r}: expected 6 comma-separated numbers")
    labels = np.stack([parse_label(t) for t in texts])
    return LabelSet(labels, [describe(v) for v in labels], "labels")


def all_emotions(args: argparse.Namespace, steps: int) -> LabelSet:
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


def from_va(args: argparse.Namespace, steps: int) -> LabelSet:
    """Return the label reaching a 'valence,arousal' target (theoretical anchors).

    A target outside the reachable region goes to the nearest reachable point, with a
    one-line warning on stderr naming both points.
    """
    import sys

    from contemo.interpolation import va_to_label

    try:
        v, a = (float(x) for x in args.va.replace(" ", "").split(","))
    except ValueError:
        raise ContemoError(f"--va {args.va!r}: expected valence,arousal, e.g. 0.5,0.3") from None
    target = va_to_label(v, a)
    achieved = f"{target.achieved[0]:.3f},{target.achieved[1]:.3f}"
    if target.clipped:
        print(f"contemo: warning: --va {v:g},{a:g} is outside the reachable region; using the "
              f"nearest reachable point {achieved}", file=sys.stderr)
    return LabelSet(target.label[None], [f"VA {achieved}\n{describe(target.label, 2)}"],
                    f"valence {v:g}, arousal {a:g}")


def from_calibrated(args: argparse.Namespace, steps: int) -> LabelSet:
    """Return the Neutral->emotion path on weights calibrated by a sweep (equal VA steps)."""
    from contemo.interpolation import calibrated_path

    end = canonical_emotion(args.emotion)
    if end == EMOTIONS[NEUTRAL]:
        raise ContemoError("--emotion neutral: give the emotion to move to from Neutral")
    labels = calibrated_path(args.calibrated, end, steps)
    texts = weight_text(labels[:, EMOTIONS.index(end)])
    return LabelSet(labels, [f"{end} {t}" for t in texts], f"neutral -> {end} (calibrated)")


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


def build(args: argparse.Namespace) -> LabelSet:
    """Return the LabelSet of the one label source the options name; conflicts are errors."""
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
    result = source.build(args, steps)
    validate_labels(result.labels)  # a new source cannot slip an invalid vector through
    return result
