"""The progress display of an import, on stderr.

On a terminal: one line, redrawn in place (``\\r``) a few times a second, with rows done of
the total (when the input is a file), counts, rows per second and the time left. Elsewhere
(a log file, CI): a plain line every so many seconds or rows, whichever comes first. Row
messages (a malformed line, a rejected row) print above the line without breaking it.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from typing import Optional, TextIO

from voucherify.bulk import Outcome

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
