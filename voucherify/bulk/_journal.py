"""The journal: an append-only file of what happened to each item, to resume a run.

One JSON object a line: ``{"key": ..., "state": ...}`` plus details. Before an item is sent
its ``sending`` line is written; after, its outcome. Each line is flushed to the operating
system before the run goes on, so a killed process loses nothing; ``fsync`` runs every
``fsync_every`` lines and at the end, which bounds what a machine crash can lose.

Reading it back, an item's last line wins; a ``sending`` line with no outcome after it means
the request may have reached the API (the process died waiting for the reply).

One journal serves one run at a time: opening it takes an exclusive lock on the file
(``flock``), which the operating system releases when the journal is closed or the process
ends, however it ends. A second run on the same file meanwhile gets
:class:`JournalInUseError` before it reads or sends anything.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import IO, Any, Iterator, Optional, Union

from voucherify.exceptions import OpenApiException

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; the journal is then unlocked
    fcntl = None  # type: ignore[assignment]

SENDING = "sending"
FINAL_STATES = frozenset({"sent", "rejected", "invalid"})
"""States after which an item is never sent again."""


class JournalInUseError(OpenApiException):
    """Another run holds this journal: two runs on one journal could both send an item."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"the journal {path} is in use by another run; wait for that run to end (a "
            "killed run frees it at once), or give this run a journal of its own"
        )
        self.path = path


class Journal:
    """A journal file opened for appending and locked, with the states it already held.

    ``track_events`` opens one from a path; a caller that must hold the lock for longer (to
    read the journal before the run, as the command line does) opens it itself and passes
    it in, and closes it afterwards.
    """

    def __init__(self, path: Union[str, Path], fsync_every: int = 100) -> None:
        self.path = Path(path)
        self._fsync_every = fsync_every
        self._lock = threading.Lock()
        self._since_fsync = 0
        self._file = self.path.open("a", encoding="utf-8")
        try:
            _lock(self._file, str(path))
            # Read only once the lock is held: a run that ended meanwhile has written it all.
            self.states: dict[str, str] = {}
            self.statuses: dict[str, int] = {}
            """The HTTP status of each key's last outcome, where the journal has one."""
            for entry in read_entries(self.path):
                key = entry["key"]
                self.states[key] = str(entry.get("state"))
                status = entry.get("status")
                if isinstance(status, int) and not isinstance(status, bool):
                    self.statuses[key] = status
                else:
                    self.statuses.pop(key, None)
            # A line a killed process left unfinished is ended by the first record, so that
            # opening a file that turns out not to be a journal leaves it as it was.
            self._unfinished = bool(self.path.stat().st_size) and not _ends_a_line(self.path)
        except BaseException:
            self._file.close()
            raise

    def state(self, key: str) -> Optional[str]:
        """The last state recorded for ``key`` (in this run or an earlier one)."""
        return self.states.get(key)

    def record(self, key: str, state: str, **details: Any) -> None:
        """Append ``state`` for ``key`` and flush it to the operating system."""
        line = json.dumps({"key": key, "state": state, **details}, separators=(",", ":"))
        with self._lock:
            if self._unfinished:
                line = "\n" + line
                self._unfinished = False
            self._file.write(line + "\n")
            self._file.flush()
            self.states[key] = state
            status = details.get("status")
            if isinstance(status, int):
                self.statuses[key] = status
            else:
                self.statuses.pop(key, None)
            self._since_fsync += 1
            if self._since_fsync >= self._fsync_every:
                os.fsync(self._file.fileno())
                self._since_fsync = 0

    def close(self) -> None:
        """Flush, fsync and close the file, which releases the lock."""
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()


def _lock(file: IO[str], path: str) -> None:
    if fcntl is None:
        return
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise JournalInUseError(path) from None


def _ends_a_line(path: Path) -> bool:
    with path.open("rb") as file:
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"


def read_entries(path: Union[str, Path]) -> Iterator[dict[str, Any]]:
    """Each record of a journal, oldest first: JSON objects with a string ``key``.

    Other lines are passed over: they are records a killed process cut short (a run that
    resumes ends such a line, so it may stand anywhere in the file). A missing file has none.
    """
    path = Path(path)
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                yield entry
