"""What an import shows and writes besides the calls: progress, the summary, the rejected file.

**Progress**, on stderr. On a terminal: one line, redrawn in place (``\\r``) a few times a
second, with rows done of the total (when the input is a file), counts, rows per second and
the time left. Elsewhere (a log file, CI): a plain line every so many seconds or rows,
whichever comes first. Row messages (a malformed line, a rejected row) print above the line
without breaking it.

**The summary**: the lines an import ends with, on stderr: counts per outcome, waits, time,
rate, advice.

**The rejected file** (``--rejected``): every row the API refused or that was malformed, one
JSON a line: ``{"line": N, "row": <body>, "error": {"status", "key", "message", "details",
"request_id"}}`` where ``line`` is the row's line in the input and ``status`` is ``null``
for a row that was never sent. Fix the rows, and import them from a new file.
"""

from __future__ import annotations

import collections
import json
import os
import threading
import time
from typing import IO, Any, Optional, Sequence, TextIO

from voucherify.bulk import Outcome
from voucherify.cli._common import CliError
from voucherify.exceptions import ApiException, OpenApiException

# -- progress --------------------------------------------------------------------------------

_RATE_WINDOW = 10.0
"""Seconds of recent history the rate (and so the time left) is measured over."""


class Progress:
    """Counts rows by outcome and shows how the import goes; safe to call from any thread."""

    def __init__(
        self,
        stream: TextIO,
        mode: str,
        total: Optional[int],
        every_seconds: float,
        every_rows: int,
    ) -> None:
        self.stream = stream
        self.mode = _resolve(mode, stream)
        self.total = total
        self.counts = dict.fromkeys(Outcome, 0)
        """Rows finished, by outcome (the bulk library's, in its order)."""
        self.started = time.monotonic()
        self._every_seconds = every_seconds
        self._every_rows = every_rows
        self._lock = threading.Lock()
        self._history: collections.deque[tuple[float, int]] = collections.deque()
        self._history.append((self.started, 0))
        self._last_line = (self.started, 0)
        self._drawn = False

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    @property
    def failed(self) -> int:
        """Rows not known to be recorded (:attr:`voucherify.bulk.Outcome.done` is false)."""
        return sum(count for outcome, count in self.counts.items() if not outcome.done)

    def count(self, outcome: Outcome) -> None:
        """One more row finished with ``outcome``."""
        with self._lock:
            self.counts[outcome] += 1
            if self.mode == "plain" and self.done - self._last_line[1] >= self._every_rows:
                self._plain_line(time.monotonic())

    def message(self, text: str) -> None:
        """Print ``text`` on its own line, above the progress line."""
        with self._lock:
            if self._drawn:
                self.stream.write("\r\x1b[K")
            self.stream.write(text + "\n")
            if self._drawn:
                self._draw(time.monotonic())
            self.stream.flush()

    def tick(self) -> None:
        """Called a few times a second: redraw the line, or print a plain one when it is due."""
        now = time.monotonic()
        with self._lock:
            self._history.append((now, self.done))
            while len(self._history) > 2 and now - self._history[1][0] > _RATE_WINDOW:
                self._history.popleft()
            if self.mode == "tty":
                self._draw(now)
                self.stream.flush()
            elif self.mode == "plain" and now - self._last_line[0] >= self._every_seconds:
                self._plain_line(now)

    def finish(self) -> None:
        """End the display: a last redraw, then a line break, so that the summary follows."""
        with self._lock:
            if self.mode == "tty":
                self._draw(time.monotonic())
                self.stream.write("\n")
                self.stream.flush()
                self._drawn = False

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def rate(self, now: Optional[float] = None) -> float:
        """Rows per second over the last few seconds (since the start, early on)."""
        now = time.monotonic() if now is None else now
        then, done_then = self._history[0]
        if now - then < 1.0:
            then, done_then = self.started, 0
        seconds = now - then
        return (self.done - done_then) / seconds if seconds > 0 else 0.0

    def status(self, now: float) -> str:
        """The progress in one line: rows done (of total), counts, rate, time left."""
        done = self.done
        if self.total:
            shown = f"{done}/{self.total} rows ({100.0 * done / self.total:.0f}%)"
        else:
            shown = f"{done} rows"
        failed = self.failed
        parts = [shown, f"sent {self.counts[Outcome.SENT]}"]
        if self.counts[Outcome.SKIPPED]:
            parts.append(f"skipped {self.counts[Outcome.SKIPPED]}")
        parts.append(f"failed {failed}")
        rate = self.rate(now)
        parts.append(f"{rate:.1f} rows/s")
        if self.total is not None and done < self.total:
            parts.append("ETA " + (duration((self.total - done) / rate) if rate > 0 else "?"))
        return ", ".join(parts)

    def _draw(self, now: float) -> None:
        line = self.status(now)[: _width(self.stream) - 1]
        self.stream.write("\r" + line + "\x1b[K")
        self._drawn = True

    def _plain_line(self, now: float) -> None:
        self.stream.write(f"progress: {self.status(now)}\n")
        self.stream.flush()
        self._last_line = (now, self.done)


def duration(seconds: float) -> str:
    """``7s``, ``3m05s``, ``2h04m``: short enough for a progress line."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _resolve(mode: str, stream: TextIO) -> str:
    if mode != "auto":
        return mode
    try:
        return "tty" if stream.isatty() else "plain"
    except (AttributeError, ValueError):
        return "plain"


def _width(stream: TextIO) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        columns = 0
    return max(40, columns) if columns else 80  # a new pseudo-terminal says 0


# -- the summary -----------------------------------------------------------------------------

_MEANING = {
    Outcome.SENT: "recorded by the API",
    Outcome.REJECTED: "refused by the API",
    Outcome.INVALID: "malformed, not sent",
    Outcome.UNKNOWN: "sent, reply lost: may have been recorded",
    Outcome.NOT_SENT: "certainly not recorded: a rerun with the journal sends them",
    Outcome.SKIPPED: "sent by an earlier run, per the journal",
}
_ORDER = (Outcome.SENT, Outcome.SKIPPED, Outcome.REJECTED, Outcome.INVALID, Outcome.UNKNOWN,
          Outcome.NOT_SENT)
"""The summary's order of the bulk library's outcomes."""
_LINES_SHOWN = 20


def import_summary(
    source: str,
    progress: Progress,
    rate_limited: int,
    stopped: Optional[str],
    unknown_lines: Sequence[int],
    journal: Optional[str],
    rejected_path: Optional[str],
    rejected_written: int,
) -> list[str]:
    """The summary of a run that sent rows."""
    elapsed = progress.elapsed()
    done = progress.done
    rate = done / elapsed if elapsed > 0 else 0.0
    lines = [f"{source}: {done} rows in {elapsed:.1f}s ({rate:.1f} rows/s)"]
    for outcome in _ORDER:
        label = outcome.value.replace("_", " ")
        lines.append(f"  {label:<9}{progress.counts[outcome]:>8}  {_MEANING[outcome]}")
    lines.append(f"  429 replies waited out: {rate_limited}")
    if stopped is not None:
        lines.append(f"stopped: {stopped}")
        if progress.total is not None and done < progress.total:
            lines.append(f"  {progress.total - done} rows of the input were not read")
    if unknown_lines:
        lines.append("unknown rows, to check by hand: " + _some(unknown_lines))
    if rejected_path is not None:
        lines.append(f"{rejected_written} rejected or invalid rows written to {rejected_path}")
    counts = progress.counts
    if counts[Outcome.NOT_SENT] or counts[Outcome.UNKNOWN] or stopped is not None:
        if journal is not None:
            lines.append(
                f"to resume, run the same command again: --journal {journal} skips what was "
                "done" + (" and leaves unknown rows alone unless --resend-unknown"
                          if counts[Outcome.UNKNOWN] else "")
            )
        else:
            lines.append("with --journal PATH, a rerun would resume where this run ended")
    return lines


def dry_run_summary(
    source: str, valid: int, invalid: int, sent: int, refused: int, stopped: Optional[str]
) -> list[str]:
    """The summary of a dry run: what was checked, and what a real run would do."""
    lines = [
        f"dry run: {source}: {valid + invalid} rows, {valid} valid, {invalid} invalid; "
        "nothing was sent"
    ]
    if sent or refused:
        lines.append(
            f"  per the journal, {sent} valid rows were sent and {refused} refused by an "
            "earlier run: a run sends neither again, skipping the sent ones and counting the "
            "refused ones as refused"
        )
    if stopped is not None:
        lines.append(f"stopped: {stopped}")
    return lines


def _some(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(number) for number in sorted(numbers)[:_LINES_SHOWN])
    more = len(numbers) - _LINES_SHOWN
    return f"lines {shown}" + (f" and {more} more" if more > 0 else "")


# -- the rejected file ------------------------------------------------------------------------

def api_error(error: Optional[OpenApiException]) -> dict[str, Any]:
    """The ``error`` object of a row the API refused (or the bulk library found invalid)."""
    if isinstance(error, ApiException):
        return {
            "status": error.status,
            "key": error.key,
            "message": error.message or str(error),
            "details": error.details,
            "request_id": error.request_id,
        }
    return problem_error("invalid_body", str(error))


def problem_error(key: str, message: str) -> dict[str, Any]:
    """The ``error`` object of a row that was not sent because it is malformed."""
    return {"status": None, "key": key, "message": message, "details": None, "request_id": None}


class RejectedFile:
    """Appends rejected rows to a file (or nowhere, without a path); safe across threads."""

    def __init__(self, path: Optional[str]) -> None:
        self.path = path
        self.written = 0
        self.failure: Optional[str] = None
        """Why writing stopped (a full disk, say); the import reports it at the end."""
        self._lock = threading.Lock()
        self._file: Optional[IO[str]] = None
        if path is not None:
            try:
                self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115
            except OSError as error:
                raise CliError(f"cannot write --rejected {path}: {error.strerror}") from None

    def write(self, line: int, row: Any, error: dict[str, Any]) -> None:
        if self._file is None:
            return
        try:
            text = json.dumps({"line": line, "row": row, "error": error}, default=str)
        except (ValueError, TypeError, RecursionError):  # a row only the SDK could read
            text = json.dumps({"line": line, "row": None, "error": error}, default=str)
        with self._lock:
            if self.failure is not None:
                return
            try:
                self._file.write(text + "\n")
                self._file.flush()
                self.written += 1
            except OSError as failure:
                self.failure = f"writing {self.path} failed: {failure.strerror}"

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
