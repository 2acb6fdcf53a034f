"""``voucherify outbox ACTION TARGET``: look into an outbox, move its events, deliver them.

TARGET is what :class:`voucherify.outbox.Outbox` takes (the outbox file's path), passed on
unchanged. Every flag is checked by the grammar before the outbox is opened; for ``deliver``
the connection settings are checked next, still before opening it. What the library refuses
when opening (a file that is not an outbox, one from a newer release) is a usage error.

Everything printed goes through :func:`voucherify.cli._common.redact`, the library's log
lines included (``deliver`` shows them on stderr).

``deliver`` runs :meth:`Outbox.deliver` in a thread of its own while this one waits for
Ctrl-C (or SIGTERM). The first asks the delivery to stop: the call in flight ends and is
recorded as what it was, nothing more is claimed, the summary is printed and the command
exits 130. A second exits at once: the event in flight stays ``sending`` until a worker (or
the next command on the outbox) finds this process gone and makes it ``unknown``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import signal
import threading
from contextlib import contextmanager
from dataclasses import asdict
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, Iterator, NoReturn, Optional, Sequence, TextIO

from voucherify.cli import _common
from voucherify.cli._common import FAILED, INTERRUPTED, OK, USAGE, CliError, redact
from voucherify.exceptions import ApiTypeError, ApiValueError
from voucherify.outbox import State

if TYPE_CHECKING:
    from voucherify.configuration import Configuration
    from voucherify.outbox import DeliveryReport, Outbox

LIST_LIMIT = 100
"""Events ``outbox list`` prints when ``--limit`` is not given."""
STATES = tuple(state.value for state in State)

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*", re.IGNORECASE)


# -- argument types (used by the grammar in __main__) ----------------------------------------

def duration(text: str) -> float:
    """Seconds, from ``3600``, ``90s``, ``30m``, ``12h`` or ``7d``."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: give seconds, or a number with s, m, h or d "
            "(30m, 12h, 7d)"
        )
    seconds = float(match.group(1)) * _UNITS[(match.group(2) or "s").lower()]
    if not math.isfinite(seconds):
        raise argparse.ArgumentTypeError(f"{text!r} is too long a duration")
    return seconds


def event_id(text: str) -> str:
    """An event id as ``track`` returns it: not empty, no spaces."""
    if not text or text.strip() != text or any(char.isspace() for char in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an event id")
    return text


# -- the commands ----------------------------------------------------------------------------

def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO, secrets: Sequence[str]) -> int:
    """Run ``voucherify outbox <action>``; see the module's docstring and docs/cli.md."""
    try:
        return _run(args, _Printer(stdout, secrets), stderr, secrets)
    except BrokenPipeError:  # ``list ... | head``: the reader has all it wanted
        _silence(stdout)
        return FAILED


def _run(args: argparse.Namespace, out: _Printer, stderr: TextIO,
         secrets: Sequence[str]) -> int:
    action: str = args.outbox_action
    if action == "deliver":
        return _deliver(args, out, stderr, secrets)
    with _opened(args.target) as outbox:
        if action == "init":
            from voucherify.outbox import SCHEMA_VERSION

            out.json({"schema_version": SCHEMA_VERSION})
            return OK
        if action == "status":
            out.json(_operate(outbox.stats).to_dict(), indent=2)
            return OK
        if action == "list":
            return _list(outbox, args, out)
        if action in ("resend", "discard"):
            return _move(outbox, action, args.ids, out, stderr, secrets)
        purged = _operate(lambda: outbox.purge(args.older_than))
        out.json({"purged": purged})
        return OK


def _list(outbox: Outbox, args: argparse.Namespace, out: _Printer) -> int:
    events = _operate(lambda: outbox.events(args.state, args.limit, args.after))
    for event in events:
        out.json(event.to_dict())
    return OK


_MOVES = {
    "resend": ("resent", frozenset(state for state in State if state.resendable)),
    "discard": ("discarded", frozenset(state for state in State if state.discardable)),
}


def _move(outbox: Outbox, action: str, ids: list[str], out: _Printer, stderr: TextIO,
          secrets: Sequence[str]) -> int:
    done, from_states = _MOVES[action]
    wanted = list(dict.fromkeys(ids))
    move = outbox.resend if action == "resend" else outbox.discard
    moved = _operate(lambda: move(wanted))
    moved_now = set(moved)
    left = [event for event in wanted if event not in moved_now]
    out.json({done: moved, f"not_{done}": left})
    if not left:
        return OK
    allowed = " or ".join(sorted(state.value for state in from_states))
    print(redact(
        f"voucherify: {len(left)} of {len(wanted)} ids were not {done}: they are not in the "
        f"outbox, or not {allowed}: {', '.join(left)}", secrets), file=stderr, flush=True)
    return FAILED


# -- deliver ---------------------------------------------------------------------------------

def _deliver(args: argparse.Namespace, out: _Printer, stderr: TextIO,
             secrets: Sequence[str]) -> int:
    configuration = _common.configuration(args)  # keys and host, before opening anything
    _check_settings(configuration)
    with _opened(args.target, configuration, args.max_rate) as outbox, \
            _log_to(stderr, secrets, bool(args.debug)):
        stop = threading.Event()

        def interrupted_once() -> None:
            stop.set()  # claim nothing more; the call in flight ends and is recorded
            print("voucherify: interrupted: claiming nothing more, waiting for the call in "
                  "flight to end (Ctrl-C again to exit at once)", file=stderr, flush=True)

        try:
            with _sigterm_as_interrupt():
                report, interrupted = _common.run_interruptible(
                    lambda: outbox.deliver(args.follow, args.max_seconds, stop),
                    "voucherify-outbox-deliver", interrupted_once, lambda: _abandon(stderr))
        except BaseException as error:
            raise _failure(error) from None
    out.json(_summary(report), indent=2)
    if interrupted:
        return INTERRUPTED
    return FAILED if report.rejected or report.unknown else OK


def _check_settings(configuration: Configuration) -> None:
    """Refuse what the SDK would refuse at the first call (a plain-http host off this
    machine, say), as ``events import`` does: the outbox would only pause and retry."""
    from voucherify.api.events_api import EventsApi
    from voucherify.api_client import ApiClient
    from voucherify.bulk import refused_settings

    with ApiClient(configuration) as client:
        refused = refused_settings(EventsApi(client))
    if refused is not None:
        raise CliError(_common.in_cli_terms(str(refused)), USAGE)


def _summary(report: DeliveryReport) -> dict[str, Any]:
    summary = asdict(report)
    summary["elapsed"] = round(report.elapsed, 3)
    return summary


def _abandon(stderr: TextIO) -> NoReturn:
    """Exit now, the call in flight unfinished. ``os._exit``: the delivery thread is still
    in its call, and an interpreter shutting down around it could hang. The kernel drops
    this worker's lock, so the event it holds becomes ``unknown`` (never resent) as soon as
    another worker, or the next ``voucherify outbox`` command, looks."""
    print("voucherify: interrupted again: exiting without waiting for the call in flight; "
          "its event becomes unknown (it may have been recorded) and is not sent again",
          file=stderr, flush=True)
    os._exit(INTERRUPTED)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While delivering, SIGTERM (a service manager stopping it) does what Ctrl-C does;
    only in the main thread, where signal handlers can be set."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: Optional[FrameType]) -> None:
    raise KeyboardInterrupt


# -- shared ----------------------------------------------------------------------------------

def _silence(stream: TextIO) -> None:
    """Point ``stream``'s descriptor at /dev/null, so that the interpreter's last flush
    of it at exit does not fail again on the closed pipe."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


class _Printer:
    """stdout, every line redacted."""

    def __init__(self, stream: TextIO, secrets: Sequence[str]) -> None:
        self._stream = stream
        self._secrets = secrets

    def json(self, value: Any, indent: Optional[int] = None) -> None:
        text = json.dumps(value, indent=indent, ensure_ascii=False, default=str)
        print(redact(text, self._secrets), file=self._stream, flush=True)


@contextmanager
def _opened(target: str, configuration: Optional[Configuration] = None,
            max_rate: Optional[float] = None) -> Iterator[Outbox]:
    """The outbox at ``target``, closed on leaving; what the library refuses about the
    target is a usage error (exit 2) with the library's message, anything else exit 1."""
    from voucherify.outbox import Outbox, OutboxError

    try:
        outbox = Outbox(target, configuration, max_rate=max_rate)
    except (OutboxError, ApiValueError, ApiTypeError) as error:
        raise CliError(str(error), USAGE) from None
    except Exception as error:
        raise _failure(error) from None
    try:
        yield outbox
    finally:
        outbox.close(timeout=0)


def _operate(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as error:
        raise _failure(error) from None


def _failure(error: BaseException) -> BaseException:
    """What an operation's failure ends the command with: exit 1 and one line."""
    if isinstance(error, (KeyboardInterrupt, SystemExit, CliError)):
        return error
    if isinstance(error, OSError) and error.strerror:
        return CliError(f"the outbox failed: {error.strerror}", FAILED)
    return CliError(f"the outbox failed: {error}", FAILED)


class _StderrLog(logging.Handler):
    """The library's log lines on stderr, redacted."""

    def __init__(self, stream: TextIO, secrets: Sequence[str]) -> None:
        super().__init__()
        self._stream = stream
        self._secrets = secrets
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = redact(self.format(record), self._secrets)
            self._stream.write(line + "\n")
            self._stream.flush()
        except Exception:  # a log line must never end a delivery
            self.handleError(record)


@contextmanager
def _log_to(stream: TextIO, secrets: Sequence[str], debug: bool) -> Iterator[None]:
    """Route the ``voucherify`` logger to ``stream`` while delivering: its warnings (an
    event unknown or rejected, the keys refused), and with ``--debug`` every attempt."""
    handler = _StderrLog(stream, secrets)
    handler.setLevel(logging.DEBUG if debug else logging.WARNING)
    logger = logging.getLogger("voucherify")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
