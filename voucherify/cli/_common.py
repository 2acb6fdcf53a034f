"""What every command shares: exit codes and the error that ends a command, secrets kept out
of everything printed, and where the API is and which keys to send.

**Exit codes and errors.** :class:`CliError` ends a command with one line on stderr and its
code; :class:`UsageError` adds the command's usage line.

**Secrets.** The SDK never puts a key in its messages; :func:`redact` is the second line of
defence for the messages the command line writes itself, argparse's included
(``unrecognized arguments: --app-tokn SECRET`` would echo a mistyped flag's value).

**Connection.** The host comes from ``--host`` or ``--region`` (else ``VOUCHERIFY_HOST`` or
``VOUCHERIFY_REGION``, else the European cluster); the keys from ``--app-id`` and
``--app-token`` (else ``VOUCHERIFY_APP_ID`` and ``VOUCHERIFY_APP_TOKEN``). The environment is
read by :meth:`Configuration.from_env`, the one reader of those names. A missing key, or one
with a line break, is refused here, naming the flag and the variable; the host is checked by
the SDK's own check (never quoting it: it may hold a password), whose message names
``configuration.host``, which :func:`in_cli_terms` turns into the flag and the variable.
"""

from __future__ import annotations

import argparse
import os
import threading
from typing import Callable, NoReturn, Sequence, TextIO, TypeVar

from voucherify.configuration import HOST_ENV, KEY_ENV, REGION_ENV, Configuration
from voucherify.exceptions import ApiValueError, PicklableException

T = TypeVar("T")

# -- exit codes and errors -------------------------------------------------------------------

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


# -- secrets ---------------------------------------------------------------------------------

TOKEN_ENV = KEY_ENV["X-App-Token"]
_SECRET_ENV = (TOKEN_ENV, KEY_ENV["X-Client-Token"])

_MASK = "***"


def secrets_in(argv: Sequence[str]) -> list[str]:
    """The values that may be secrets: the tokens from the environment, and any argument
    given to an option whose name looks like a token's (``--app-token``, or a typo of it)."""
    found = [os.environ.get(name, "") for name in _SECRET_ENV]
    for position, arg in enumerate(argv):
        name, equals, value = arg.partition("=")
        if not (name.startswith("-") and "tok" in name.lower()):
            continue
        if equals:
            found.append(value)
        elif position + 1 < len(argv):
            found.append(argv[position + 1])
    # Longest first, so that a secret containing another is masked whole.
    return sorted({value for value in found if len(value) >= 4}, key=len, reverse=True)


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, _MASK)
    return text


# -- connection ------------------------------------------------------------------------------

APP_ID_ENV = KEY_ENV["X-App-Id"]
_HOST = f"the host (--host / {HOST_ENV})"
_IN_CLI_TERMS = {
    "configuration.host": _HOST,
    "configuration.api_key": f"{APP_ID_ENV} and {TOKEN_ENV}",
    "to a host that is not this machine; use https://, or set "
    "configuration.allow_insecure_http = True": f"to {_HOST}, which is not this machine; "
    "use https://",
}
"""The library's names of settings, and its advice on them, as this command sets them."""

TOKEN_ON_COMMAND_LINE = (
    "warning: a secret key given with --app-token is visible to other users of this machine "
    f"(in ps and /proc); prefer the environment variable {TOKEN_ENV}"
)


def warn_if_token_on_command_line(args: argparse.Namespace, stderr: TextIO) -> None:
    """Accept ``--app-token``, but say once why the environment is the better place."""
    if args.app_token is not None:
        print(TOKEN_ON_COMMAND_LINE, file=stderr, flush=True)


def keys(args: argparse.Namespace, config: Configuration) -> tuple[str, str]:
    """The application id and secret key, from the flags or else from ``config`` (which
    :meth:`Configuration.from_env` filled); a missing one is an error naming both."""
    app_id = args.app_id or config.api_key.get("X-App-Id")
    token = args.app_token or config.api_key.get("X-App-Token")
    if app_id is None:
        raise CliError(f"no application id: give --app-id or set {APP_ID_ENV}")
    if token is None:
        raise CliError(f"no secret key: set {TOKEN_ENV} (or give --app-token)")
    sources = {f"--app-id / {APP_ID_ENV}": app_id, f"--app-token / {TOKEN_ENV}": token}
    for where, value in sources.items():
        if any(char in value for char in "\r\n\0"):
            raise CliError(f"the key from {where} contains a line break or NUL")
    return app_id, token


def configuration(args: argparse.Namespace) -> Configuration:
    """A :class:`Configuration` for the chosen host and keys; the SDK checks the host at the
    first call (for an import, before the first row), before any I/O."""
    if args.host is not None and args.region is not None:
        raise CliError("give either --host or --region, not both")
    try:
        config = Configuration.from_env(host=args.host, region=args.region)
    except ApiValueError as error:
        suffix = f" (--region / {REGION_ENV})" if args.region is not None else ""
        raise CliError(f"{error}{suffix}") from None
    app_id, token = keys(args, config)
    config.api_key["X-App-Id"] = app_id
    config.api_key["X-App-Token"] = token
    config.debug = bool(args.debug)
    return config


def in_cli_terms(message: str) -> str:
    """The SDK's ``message`` with the settings it names called as this command sets them."""
    for library, here in _IN_CLI_TERMS.items():
        message = message.replace(library, here)
    return message


def _nothing() -> None:
    """A tick that does nothing."""


def run_interruptible(
    work: Callable[[], T],
    name: str,
    interrupted: Callable[[], None],
    abandon: Callable[[], NoReturn],
    tick: Callable[[], None] = _nothing,
    tick_seconds: float = 0.1,
) -> tuple[T, bool]:
    """Run ``work`` in a thread of its own while the main thread waits for Ctrl-C.

    The first Ctrl-C calls ``interrupted`` (which should ask ``work`` to stop after the
    calls in flight) and the wait goes on; a second calls ``abandon``, which exits at once.
    ``tick`` runs every ``tick_seconds`` meanwhile. Returns what ``work`` returned and
    whether it was interrupted; an exception from ``work`` is raised here.
    """
    outcome: dict[str, object] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:  # handed to the main thread
            outcome["error"] = error
        finally:
            finished.set()

    threading.Thread(target=run, name=name, daemon=True).start()
    was_interrupted = False
    # An Event, not Thread.join: a join cut short by Ctrl-C can leave the thread looking
    # finished while it still runs.
    while not finished.is_set():
        try:
            finished.wait(tick_seconds)
            tick()
        except KeyboardInterrupt:
            if was_interrupted:
                abandon()
            was_interrupted = True
            interrupted()
    error = outcome.get("error")
    if isinstance(error, BaseException):
        raise error
    return outcome["result"], was_interrupted  # type: ignore[return-value]
