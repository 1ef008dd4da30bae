"""The one error class every layer raises for the person at the terminal: the command line prints its
message (one line) and exits non-zero, never with a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A failure the user can act on; the message is one line and says what to change."""


__all__ = ["UserError"]
