"""The CLI: help works and bad input is one line, never a traceback."""

import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "contemo", *args], capture_output=True, text=True, check=False)


def _listed(help_text):
    """Return the command words `--help` lists (4-space indented, continuation lines skipped)."""
    return [line.split()[0] for line in help_text.splitlines()
            if line.startswith("    ") and not line.startswith("     ")]


def test_help_lists_commands():
    from contemo.cli import COMMANDS

    out = run("--help")
    assert out.returncode == 0
    assert _listed(out.stdout) == list(dict.fromkeys(words[0] for words, _ in COMMANDS))
    for group in ("data", "evaluate", "regressor", "study"):
        sub = run(group, "--help")
        assert _listed(sub.stdout) == [words[1] for words, _ in COMMANDS if words[0] == group]


def test_a_missing_command_module_fails_loudly(monkeypatch):
    import pytest

    from contemo import cli

    monkeypatch.setattr(cli, "COMMANDS", [*cli.COMMANDS, (("typo",), "contemo.no_such_command")])
    with pytest.raises(ModuleNotFoundError, match="COMMANDS names contemo.no_such_command"):
        cli.build_parser()
