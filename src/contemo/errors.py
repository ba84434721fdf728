"""The one exception type the CLI turns into a one-line error instead of a traceback."""

from __future__ import annotations


class ContemoError(Exception):
    """A problem with the user's input (file, field, option): str(error) is one line naming it."""
