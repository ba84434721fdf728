"""The recipe table of docs/training.md: London target figures of several runs side by side.

Run: `python benchmarks/recipe_table.py NAME=RUN_DIR:TARGETS_JSON ...` where each
TARGETS_JSON was written by `benchmarks/london_targets.py RUN_DIR/generator --out ...`.
Prints a Markdown table (variant, the changes from the run's preset, steps, wall
minutes, the seven target figures) and writes it as JSON beside the first input.
With `--append KEPT_JSON` the rows go into the kept table instead
(`benchmarks/results/london_recipe_table.json`): a row whose name is already there is
replaced in place, a new one is added at the end.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from contemo.errors import ContemoError
from contemo.fileio import atomic_write_json, read_json
from contemo.training.config import TrainConfig, get_preset, load_file

FIGURES = [  # (key in targets, column, format)
    ("faces_found", "faces", "{:.3f}"),
    ("judge_auc_end_vs_start", "AUC", "{:.3f}"),
    ("mean_p_end_at_end", "P(happy) w=1", "{:.3f}"),
    ("spearman_p_end", "Spearman", "{:.2f}"),
    ("same_person", "same z same person", "{:.3f}"),
    ("different_below_0_6", "different z matched", "{:.3f}"),
    ("fed_ratio", "FED / floor", "{:.2f}"),
]


def changes(run: Path) -> str:
    """Return the fields of the run's config that differ from its preset, as key=value."""
    config = load_file(run / "config.json")
    base = get_preset(config.preset).to_dict()
    # A field the run's config.json lacks did not exist yet: it ran with the field's
    # off value (the TrainConfig default), not with today's preset value.
    written = json.loads((run / "config.json").read_text())
    off = TrainConfig().to_dict()
    out = []
    for key, value in config.to_dict().items():
        value = value if key in written else off[key]
        if key in ("data", "out", "layout", "steps", "preset"):
            continue
        if key == "model":
            out += [f"model.{k}={v}" for k, v in value.items() if base["model"].get(k) != v]
        elif base.get(key) != value:
            out.append(f"{key}={value}" if value != "" else f'{key}=""')
    return ", ".join(out) or "(the preset)"


def split_entry(entry: str) -> tuple[str, Path, Path]:
    """Return (name, run folder, targets JSON) of one NAME=RUN_DIR:TARGETS_JSON argument.

    The paths come from the right (the JSON after the last ':', the run after the last
    '='), so a row name may itself hold '=' ("london64 seed=1").
    """
    head, _, targets = entry.rpartition(":")
    name, _, run = head.rpartition("=")
    if not name or not Path(run, "stats.jsonl").is_file() or not Path(targets).is_file():
        raise SystemExit(f"error: {entry!r}: expected NAME=RUN_DIR:TARGETS_JSON with "
                         "RUN_DIR/stats.jsonl and the JSON present")
    return name, Path(run), Path(targets)


def merged(kept: Path, rows: list[dict]) -> list[dict]:
    """Return the kept table with `rows` in it: same-name rows replaced in place, new ones last.

    Anything but a list of rows that each have a "variant" is one line naming the file.
    """
    try:
        table = read_json(kept)
    except ContemoError as err:
        raise SystemExit(f"error: {err}") from None
    if not isinstance(table, list) or not all(isinstance(r, dict) and "variant" in r
                                              for r in table):
        raise SystemExit(f"error: {kept}: expected a JSON list of rows with a 'variant'")
    where = {r["variant"]: i for i, r in enumerate(table)}
    for row in rows:
        if row["variant"] in where:
            table[where[row["variant"]]] = row
        else:
            where[row["variant"]] = len(table)
            table.append(row)
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entries", nargs="+", metavar="NAME=RUN_DIR:TARGETS_JSON")
    parser.add_argument("--append", type=Path, metavar="KEPT_JSON",
                        help="put the rows into this kept table instead of a new file")
    args = parser.parse_args(argv)
    rows = []
    for entry in args.entries:
        name, run, targets = split_entry(entry)
        report = json.loads(targets.read_text())
        stats = [json.loads(line) for line in (Path(run) / "stats.jsonl").read_text().splitlines()]
        row = {"variant": name, "changes": changes(Path(run)), "steps": stats[-1]["step"],
               "wall_min": round(stats[-1]["time_s"] / 60, 1)}
        for key, _, _ in FIGURES:
            row[key] = report["targets"][key]["generated"]
        rows.append(row)
    head = ["variant", "changes from preset", "steps", "wall min"] + [c for _, c, _ in FIGURES]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        cells = [row["variant"], row["changes"], str(row["steps"]), str(row["wall_min"])]
        cells += [fmt.format(row[key]) for key, _, fmt in FIGURES]
        print("| " + " | ".join(cells) + " |")
    if args.append is not None:
        table = merged(args.append, rows)
        atomic_write_json(args.append, table)
        print(f"wrote {args.append} ({len(table)} rows)")
        return
    out = split_entry(args.entries[0])[2].with_name("recipe_table.json")
    atomic_write_json(out, rows)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
