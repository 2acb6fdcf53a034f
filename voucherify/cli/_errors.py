"""Exit codes, and the exception that ends a command with one of them."""

from __future__ import annotations

from voucherify.exceptions import PicklableException

OK = 0
"""Everything was done."""
FAILED = 1
"""The API refused, the exchange failed, or some rows were not sent."""
USAGE = 2
"""Bad flags or input: nothing (further) was sent."""
KEYS_REFUSED = 3
"""The API answered 401 or 403: the keys are wrong or lack a permission."""
INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT), as shells report it."""


class CliError(PicklableException, Exception):
    """A problem to report on one line of stderr, ending the command with ``code``."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class UsageError(CliError):
    """A command-line mistake: reported with the command's usage line."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message, USAGE)
        self.usage = usage
