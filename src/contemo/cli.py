"""The one `contemo` command: a table of subcommands, each implemented in its own module.

Every command module exposes:
  * a module docstring whose first line is the command's help,
  * ``EXAMPLES``: a string shown under ``--help``,
  * ``add_arguments(parser)``: declares its options (imports nothing heavy),
  * ``run(args) -> int``: does the work (heavy imports go inside).

User errors are raised as ``ContemoError`` (or ``LabelError``) and printed as one
line ``contemo: error: ...`` with exit status 2: never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from contemo import __version__
from contemo.errors import ContemoError

# (words, module) - the order here is the order in `contemo --help`.
COMMANDS: list[tuple[tuple[str, ...], str]] = [
    (("demo",), "contemo.commands.demo"),
    (("data", "synth"), "contemo.commands.data_synth"),
    (("data", "check"), "contemo.commands.data_check"),
    (("train",), "contemo.commands.train"),
    (("generate",), "contemo.commands.generate"),
    (("regressor", "train"), "contemo.commands.regressor_train"),
    (("evaluate", "sweep"), "contemo.commands.evaluate_sweep"),
    (("evaluate", "quality"), "contemo.commands.evaluate_quality"),
    (("evaluate", "judge"), "contemo.commands.evaluate_judge"),
    (("evaluate", "identity"), "contemo.commands.evaluate_identity"),
    (("evaluate", "targeting"), "contemo.commands.evaluate_targeting"),
    (("serve",), "contemo.commands.serve"),
    (("study", "create"), "contemo.commands.study_create"),
    (("study", "serve"), "contemo.commands.study_serve"),
    (("study", "export"), "contemo.commands.study_export"),
    (("study", "analyze"), "contemo.commands.study_analyze"),
]

GROUP_HELP = {
    "data": "read, check and synthesise face data sets",
    "regressor": "the valence-arousal regressor used to score generated faces",
    "evaluate": "measure how continuously emotion moves (the paper's §4.3, and more)",
    "study": "the paper's user study (§4.2): create, run, export, analyze",
}


def _load(module: str) -> ModuleType:
    """Return the command module of the table; a missing one is a bug in the table, raised."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name and module.startswith(err.name):
            raise ModuleNotFoundError(f"contemo.cli.COMMANDS names {module}, which does not "
                                      "exist: fix the command table", name=module) from err
        raise


def build_parser() -> argparse.ArgumentParser:
    """Return the full argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="contemo",
        description="Continuous emotions: train a cGAN on categorical emotions, "
        "generate faces whose emotion moves continuously through valence-arousal space.",
        epilog="Examples:\n  contemo demo\n  contemo data synth --out data/synth --people 60\n"
        "  contemo train --preset synth64 --data data/synth\n"
        "  contemo generate --emotion happy --steps 11 --seeds 0-7 --out out/\n"
        "Run `contemo COMMAND --help` for each command's options and examples.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"contemo {__version__}")
    top = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for words, module_name in COMMANDS:
        module = _load(module_name)
        help_line = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
        container = top
        if len(words) == 2:
            group = words[0]
            if group not in groups:
                gp = top.add_parser(group, help=GROUP_HELP.get(group, ""))
                groups[group] = gp.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
                gp.set_defaults(_group_parser=gp)
            container = groups[group]
        sub = container.add_parser(
            words[-1],
            help=help_line,
            description=module.__doc__,
            epilog="Examples:\n" + getattr(module, "EXAMPLES", "").rstrip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "_run", None)
    if run is None:
        (getattr(args, "_group_parser", None) or parser).print_help()
        return 2
    try:
        return int(run(args) or 0)
    except ContemoError as err:
        print(f"contemo: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("contemo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
