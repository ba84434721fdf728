"""Export a study's answers as CSV (one row per participant x image x rated emotion).

Reads answers.sqlite in the study folder read-only, so it works while the study
server runs (SQLite WAL), after it stopped, and on a read-only mount. Participants
appear by number with their recruitment ids (e.g. PROLIFIC_PID), completion code,
exclusion and data-quality flags; --participants writes one row per participant.
"""

from __future__ import annotations

import argparse

EXAMPLES = """\
  contemo study export ~/studies/pilot --out answers.csv
  contemo study export ~/studies/pilot --participants --out participants.csv
  contemo study export ~/studies/pilot            # CSV to stdout
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", help="study folder")
    parser.add_argument("--out", default=None, help="CSV file to write (default: stdout)")
    parser.add_argument("--participants", action="store_true",
                        help="one row per participant (ids, progress, flags) instead of "
                             "one per answer")


def run(args: argparse.Namespace) -> int:
    import sys

    from contemo.fileio import atomic_write
    from contemo.serve.study import export
    from contemo.serve.study.folder import load_study
    from contemo.serve.study.store import open_existing

    study = load_study(args.study)
    with open_existing(study.folder) as store:
        if args.participants:
            rows = export.participant_rows(study, store)
            text = export.to_csv(rows, export.participant_columns(study))
            what = "participants"
        else:
            rows = export.answer_rows(study, store)
            text = export.to_csv(rows, export.answer_columns(study))
            what = "answers"
    if args.out is None:
        sys.stdout.write(text)
    else:
        atomic_write(args.out, lambda tmp: tmp.write_text(text))
        print(f"{len(rows)} {what} written to {args.out}", file=sys.stderr)
    return 0
