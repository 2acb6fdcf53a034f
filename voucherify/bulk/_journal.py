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

from voucherify.bulk._item import key_position
from voucherify.bulk._outcome import Outcome
from voucherify.exceptions import OpenApiException

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; the journal is then unlocked
    fcntl = None  # type: ignore[assignment]

SENDING = "sending"
"""The state written before a call; with no outcome after it, the call's fate is unknown."""


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
            self.records = read_journal(self.path)
            """What the journal held when it was opened, kept up to date by :meth:`record`."""
            # A line a killed process left unfinished is ended by the first record, so that
            # opening a file that turns out not to be a journal leaves it as it was.
            self._unfinished = bool(self.path.stat().st_size) and not _ends_a_line(self.path)
        except BaseException:
            self._file.close()
            raise

    def state(self, key: str) -> Optional[str]:
        """The last state recorded for ``key`` (in this run or an earlier one)."""
        return self.records.state(key)

    def record(self, key: str, state: str, **details: Any) -> None:
        """Append ``state`` for ``key`` and flush it to the operating system."""
        line = json.dumps({"key": key, "state": state, **details}, separators=(",", ":"))
        with self._lock:
            if self._unfinished:
                line = "\n" + line
                self._unfinished = False
            self._file.write(line + "\n")
            self._file.flush()
            self.records.add(key, state, details.get("status"))
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


class JournalRecords:
    """What a journal file recorded: each key's last state and status, and which key was
    last recorded at each position of the input (see :func:`voucherify.bulk.item_key`)."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        """Each key's last state: an :class:`Outcome` value, or ``sending``."""
        self.statuses: dict[str, int] = {}
        """The HTTP status of each key's last outcome, where the journal has one."""
        self.keys: dict[int, str] = {}
        """The key last recorded at each position."""
        self.is_journal = True
        """``False`` when the file held text but no record, or a record whose key no run of
        :func:`~voucherify.bulk.track_events` writes: it is likely another file."""

    def add(self, key: str, state: str, status: Any = None) -> None:
        """Take in one record: ``key`` is now in ``state``, with ``status`` if an int."""
        self.states[key] = state
        if isinstance(status, int) and not isinstance(status, bool):
            self.statuses[key] = status
        else:
            self.statuses.pop(key, None)
        position = key_position(key)
        if position is None:
            self.is_journal = False
        else:
            self.keys[position] = key

    def state(self, key: str) -> Optional[str]:
        """The last state recorded for ``key``, if any."""
        return self.states.get(key)

    def finished(self, key: str) -> Optional[Outcome]:
        """How an earlier run finished ``key`` for good (sent, rejected or invalid), if it did:
        such an item is never sent again."""
        try:
            outcome = Outcome(self.states.get(key))
        except ValueError:
            return None
        return outcome if outcome.final else None

    def conflicts(self, key: str) -> bool:
        """Whether the journal holds another item at ``key``'s position: the input changed
        since it was written, and later items would be sent again under new keys."""
        position = key_position(key)
        known = None if position is None else self.keys.get(position)
        return known is not None and known != key

    def state_at(self, position: int) -> Optional[str]:
        """The last state recorded for the item at ``position``, if any."""
        key = self.keys.get(position)
        return None if key is None else self.states.get(key)


def read_journal(path: Union[str, Path]) -> JournalRecords:
    """Read the journal at ``path`` without locking it (a missing file has no records).

    For a look at a journal while no run holds it (a dry run, a report); a run reads it
    through :class:`Journal`, under the lock. ``OSError`` if the file cannot be read.
    """
    path = Path(path)
    records = JournalRecords()
    for entry in read_entries(path):
        records.add(entry["key"], str(entry.get("state")), entry.get("status"))
    if not records.states and path.exists() and path.stat().st_size:
        records.is_journal = False
    return records
