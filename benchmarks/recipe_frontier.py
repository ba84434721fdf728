"""The London recipe table as one picture: identity against smile, every row a point.

Run: `python benchmarks/recipe_frontier.py [--table benchmarks/results/london_recipe_table.json]
[--by-step benchmarks/results/london64_by_step.json] --out PNG`.

Why a picture: across the table, the rows that hold a person best smile least, and a
single run walks the same line as it trains (london64's own checkpoints). A new recipe
only helps if its point lies *beyond* that line, not somewhere else on it; a table of
seven columns hides this, a scatter shows it. Marker colour is the third figure that
trades against both: different z matched (variety, lower is better). The targets and
the real photos' figures are drawn as lines.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contemo.errors import ContemoError
from contemo.fileio import read_json

RESULTS = Path(__file__).resolve().parent / "results"
SMILE_TARGET, SAME_TARGET = 0.435, 0.90  # the real smiling photos' P(happy); issue 14


def load(path: Path, what: str) -> object:
    """Return a JSON file's data (contemo's one reader), or exit with one line naming it."""
    try:
        return read_json(path)
    except ContemoError as err:
        raise SystemExit(f"error: cannot read the {what}: {err}") from None


def points(table: object, path: Path) -> list[dict]:
    """Return the table's rows as {variant, smile, same, variety}, checking their fields."""
    if not isinstance(table, list) or not table:
        raise SystemExit(f"error: {path}: expected a non-empty list of recipe rows")
    out = []
    for i, row in enumerate(table):
        try:
            out.append({"variant": str(row["variant"]), "smile": float(row["mean_p_end_at_end"]),
                        "same": float(row["same_person"]),
                        "variety": float(row["different_below_0_6"])})
        except (KeyError, TypeError, ValueError):
            raise SystemExit(f"error: {path}: row {i} lacks variant, mean_p_end_at_end, "
                             f"same_person or different_below_0_6") from None
    return out


def trajectory(by_step: object, path: Path) -> list[dict]:
    """Return one run's checkpoints as {step, smile, same}, in step order."""
    try:
        steps = by_step["steps"]  # type: ignore[index]
        return [{"step": int(k), "smile": float(v["mean_p_end_at_end"]["generated"]),
                 "same": float(v["same_person"]["generated"])}
                for k, v in sorted(steps.items(), key=lambda kv: int(kv[0]))]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise SystemExit(f"error: {path}: expected {{'steps': {{STEP: targets}}}} as written "
                         f"for london64_by_step.json") from None


# Where a name may go, in display pixels from its dot: right-above, right-below, left-above,
# left-below, then a line further out each way; the one whose text covers the fewest
# earlier names and dots, and stays inside the axes, wins (names weigh more than dots).
LABEL_SPOTS = ((5, 4, "left"), (5, -14, "left"), (-5, 4, "right"), (-5, -14, "right"),
               (5, 14, "left"), (5, -24, "left"), (-5, 14, "right"), (-5, -24, "right"))
SHIPPED = "GWB"  # the row whose weights ship as generator-london64


def place_labels(ax, rows: list[dict]) -> None:
    """Name every dot at the LABEL_SPOTS place whose drawn text overlaps the fewest earlier
    names and other dots (the first such place on a tie)."""
    renderer = ax.figure.canvas.get_renderer()
    dots = ax.transData.transform([(r["smile"], r["same"]) for r in rows])
    marks = [(x - 7, y - 7, x + 7, y + 7) for x, y in dots]  # a dot is about 12 px wide
    names: list[tuple[float, float, float, float]] = []
    frame = ax.get_window_extent(renderer)
    for i, r in enumerate(rows):
        others = names * 3 + marks[:i] + marks[i + 1:]  # a name may touch its own dot;
        # covering another name (counted thrice) is worse than covering a dot
        # "london64-" is dropped from the preset's own rows (seed1, bf16@4500, ...): the
        # crowded corner has room for short names only
        name = r["variant"].removeprefix("london64-")
        text = ax.annotate(name, (r["smile"], r["same"]), fontsize=7,
                           textcoords="offset pixels", xytext=LABEL_SPOTS[0][:2])
        boxes = []
        for dx, dy, ha in LABEL_SPOTS:
            text.xyann = (dx, dy)
            text.set_horizontalalignment(ha)
            e = text.get_window_extent(renderer)
            boxes.append((e.x0, e.y0, e.x1, e.y1))
        clashes = [sum(b[0] < o[2] and o[0] < b[2] and b[1] < o[3] and o[1] < b[3]
                       for o in others)
                   + len(others) * (b[0] < frame.x0 or b[2] > frame.x1)  # cut off: worst
                   for b in boxes]
        best = clashes.index(min(clashes))  # the first place on a tie
        text.xyann = LABEL_SPOTS[best][:2]
        text.set_horizontalalignment(LABEL_SPOTS[best][2])
        names.append(boxes[best])


def draw(rows: list[dict], walk: list[dict], out: Path, shipped: str = SHIPPED) -> None:
    """Write the scatter: P(happy) at w=1 across, same person up, variety as colour, and the
    shipped row ringed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 6), dpi=120)
    dots = ax.scatter([r["smile"] for r in rows], [r["same"] for r in rows],
                      c=[r["variety"] for r in rows], cmap="viridis_r", vmin=0.15, vmax=0.7,
                      s=40, edgecolors="black", linewidths=0.5, zorder=3)
    for r in rows:
        if r["variant"] == shipped:
            ax.scatter([r["smile"]], [r["same"]], s=180, facecolors="none",
                       edgecolors="tab:red", linewidths=1.5, zorder=4,
                       label=f"shipped london64 ({shipped})")
    # room on the right for the names of the rows that smile most
    ax.set_xlim(right=max(SMILE_TARGET, *(r["smile"] for r in rows)) + 0.09)
    if walk:
        ax.plot([w["smile"] for w in walk], [w["same"] for w in walk], "--", color="grey",
                zorder=2, label="london64 (3,000-step fp32 run) at steps "
                + ", ".join(str(w["step"]) for w in walk))
    ax.axvline(SMILE_TARGET, color="tab:red", lw=0.8, label="targets (real photos' smile, "
               "same person 0.90)")
    ax.axhline(SAME_TARGET, color="tab:red", lw=0.8)
    ax.set_xlabel("mean P(happy) at w=1 (FER2013 judge)")
    ax.set_ylabel("same z at w=0 and w=1 is one person (dlib < 0.6)")
    ax.set_title("London recipes: identity against smile (3,000 steps unless named;\n"
                 "seedN, bf16@STEPS: london64 with that change)", fontsize=10)
    fig.colorbar(dots, ax=ax, label="different z matched (lower: more people)")
    ax.legend(loc="upper left", bbox_to_anchor=(0.01, 0.81), fontsize=7)  # between GW1 and P2
    fig.tight_layout()
    place_labels(ax, rows)  # after the layout: names are placed in its final pixels
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Read the kept table and trajectory, draw the scatter, print the rows it drew."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=RESULTS / "london_recipe_table.json")
    parser.add_argument("--by-step", type=Path, default=RESULTS / "london64_by_step.json")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--shipped", default=SHIPPED, metavar="VARIANT",
                        help=f"the row to ring as the shipped model (default {SHIPPED})")
    args = parser.parse_args(argv)
    rows = points(load(args.table, "recipe table"), args.table)
    walk = trajectory(load(args.by_step, "checkpoint trajectory"), args.by_step)
    if args.shipped not in {r["variant"] for r in rows}:
        raise SystemExit(f"error: --shipped {args.shipped}: no such row in {args.table}")
    draw(rows, walk, args.out, args.shipped)
    for r in sorted(rows, key=lambda r: -r["same"]):
        print(f"{r['variant']:<16} P(happy) {r['smile']:.3f}  same person {r['same']:.3f}  "
              f"different z {r['variety']:.3f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
