"""The rows an import hands to the bulk library: checked, in order, each one's line remembered.

Malformed rows (unreadable, or refused by the SDK's model) are reported and never handed
on, so the bulk library sees only rows it can send, and a row's journal key is its position
among those (``voucherify.bulk.item_key``). The same file gives the same keys on every run.
Reading stops early on ``--on-error stop``, on a row whose position the journal knows with
another body, on a refusal of the keys, or on Ctrl-C; the bulk library then finishes what it
holds and ends.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable, Iterator, Optional

from voucherify.bulk import JournalRecords, check_item, item_key
from voucherify.cli._errors import FAILED, USAGE
from voucherify.cli._rows import Problem, Row

OnMalformed = Callable[[Row, Problem], None]


class Feed:
    """An iterator of the valid rows' bodies; see the module's docstring."""

    def __init__(
        self,
        rows: Iterable[Row],
        journal: JournalRecords,
        stop_on_malformed: bool,
        on_malformed: OnMalformed,
    ) -> None:
        self._rows = rows
        self._journal = journal
        self._stop_on_malformed = stop_on_malformed
        self._on_malformed = on_malformed
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[int, Any]] = {}
        self.handed = 0
        """How many rows were handed on; the next one's position."""
        self.stopped: Optional[str] = None
        """Why reading stopped before the end, or ``None``."""
        self.stop_code: Optional[int] = None

    def stop(self, reason: str, code: int) -> None:
        """Read no further; the first reason given is kept."""
        with self._lock:
            if self.stopped is None:
                self.stopped, self.stop_code = reason, code

    def take(self, index: int) -> tuple[int, Any]:
        """The line and body of the row handed on at ``index``, forgotten once taken."""
        with self._lock:
            return self._pending.pop(index)

    def __iter__(self) -> Iterator[Any]:
        # Workers of the bulk library pull from this one at a time; nothing raised here may
        # reach them, or a worker thread would die with the row it held.
        try:
            for row in self._rows:
                if self.stopped is not None:
                    return
                body = self._check(row)
                if body is not None:
                    yield body
        except Exception as error:
            self.stop(f"reading the input failed: {error}", FAILED)

    def _check(self, row: Row) -> Optional[Any]:
        problem = row.problem
        if problem is None:
            refusal = check_item(row.body)
            problem = None if refusal is None else Problem("invalid_body", str(refusal))
        if problem is not None:
            self._on_malformed(row, problem)
            if self._stop_on_malformed:
                self.stop(f"line {row.line} is malformed and --on-error is stop", FAILED)
            return None
        key = item_key(self.handed, row.body)
        if self._journal.conflicts(key):
            state = self._journal.state_at(self.handed) or "?"
            self.stop(
                f"line {row.line}: the journal holds another row as valid row "
                f"{self.handed + 1} (recorded as {state}): the input changed since the journal "
                "was written, and going on could send rows twice, so nothing more was sent. "
                "To resume this journal, put back the file it was written for; import new or "
                "fixed rows from a file of their own, with a journal of their own",
                USAGE,
            )
            return None
        with self._lock:
            self._pending[self.handed] = (row.line, row.body)
            self.handed += 1
        return row.body
