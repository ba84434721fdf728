"""Export a study's answers as CSV (one row per participant x image x rated emotion).

Reads answers.sqlite in the study folder directly, so it works while the study
server runs (SQLite WAL) or after it stopped. Participants appear by number only.
"""

from __future__ import annotations

import argparse

EXAMPLES = """\
  contemo study export ~/studies/pilot --out answers.csv
  contemo study export ~/studies/pilot            # CSV to stdout
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", help="study folder")
    parser.add_argument("--out", default=None, help="CSV file to write (default: stdout)")


def run(args: argparse.Namespace) -> int:
    import sys

    from contemo.fileio import atomic_write
    from contemo.serve.study.export import answer_rows, to_csv
    from contemo.serve.study.folder import load_study
    from contemo.serve.study.store import open_existing

    study = load_study(args.study)
    rows = answer_rows(study, open_existing(study.folder))
    text = to_csv(rows)
    if args.out is None:
        sys.stdout.write(text)
    else:
        atomic_write(args.out, lambda tmp: tmp.write_text(text))
        print(f"{len(rows)} answers written to {args.out}", file=sys.stderr)
    return 0
