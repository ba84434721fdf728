"""Run a study in the browser: consent, Likert ratings per image, completion code.

Answers go to answers.sqlite in the study folder as they are given (WAL mode);
participants who reload, or come back after a server restart, resume where they
left. Listens on 127.0.0.1 unless --host says otherwise.
"""

from __future__ import annotations

import argparse

EXAMPLES = """\
  contemo study serve ~/studies/pilot                      # http://127.0.0.1:8001
  contemo study serve ~/studies/pilot --host 0.0.0.0 --port 8080 --max-participants 40
  # researchers open http://HOST:PORT/admin and log in with the admin token
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", help="study folder made by `contemo study create`")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8001, help="port (default 8001)")
    parser.add_argument("--max-participants", type=int, default=1000,
                        help="refuse new participants after this many (default 1000)")
    parser.add_argument("--joins-per-minute", type=int, default=20,
                        help="new participants per client address per minute (default 20; "
                             "0: no limit)")
    parser.add_argument("--access-log", action="store_true",
                        help="log every request with the participant's IP address (off by "
                             "default: a study should not collect what it does not need)")
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"])


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from contemo.errors import ContemoError
    from contemo.serve.study.app import create_study_app
    from contemo.serve.study.folder import load_study
    from contemo.serve.study.store import DB_FILE, AnswerStore

    if not 0 < args.port < 65536:
        raise ContemoError(f"--port {args.port}: expected 1-65535")
    if args.max_participants < 1:
        raise ContemoError(f"--max-participants must be at least 1, got {args.max_participants}")
    if not 0 <= args.joins_per_minute <= 100_000:
        raise ContemoError(f"--joins-per-minute {args.joins_per_minute}: expected 0-100000")
    # load_study checks every image: a regular PNG inside images/, no symlink out of it
    study = load_study(args.study)
    store = AnswerStore(study.folder / DB_FILE)
    app = create_study_app(study, store, args.max_participants, args.joins_per_minute)
    summary = store.summary()
    print(f"study {study.title!r}: {len(study.images)} images, {summary['participants']} "
          f"participants so far ({summary['completed']} completed), enrolment "
          f"{summary['enrolment']}")
    base = f"http://{args.host}:{args.port}/"
    key = study.settings.entry_key
    print(f"participants open: {base}" + (f"?key={key}" if key else ""))
    if key is None:
        print("warning: this study has no entry key: anyone who finds the address can join "
              "(set settings.entry_key in study.json)")
    print(f"researchers open: {base}admin (log in with the admin token)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                access_log=args.access_log)
    return 0
