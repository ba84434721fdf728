"""The CLI: help works and bad input is one line, never a traceback."""

import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "contemo", *args], capture_output=True, text=True, check=False)


def test_help_lists_commands():
    out = run("--help")
    assert out.returncode == 0
    assert "contemo" in out.stdout
