"""The journal: an append-only file of what happened to each item, to resume a run.

One JSON object a line: ``{"key": ..., "state": ...}`` plus details. Before an item is sent
its ``sending`` line is written; after, its outcome. Each line is flushed to the operating
system before the run goes on, so a killed process loses nothing; ``fsync`` runs every
``fsync_every`` lines and at the end, which bounds what a machine crash can lose.

Reading it back, an item's last line wins; a ``sending`` line with no outcome after it means
the request may have reached the API (the process died waiting for the reply).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Iterator, Optional, Union

SENDING = "sending"
FINAL_STATES = frozenset({"sent", "rejected", "invalid"})
"""States after which an item is never sent again."""


class Journal:
    """A journal file opened for appending, with the states it already held."""

    def __init__(self, path: Union[str, Path], fsync_every: int = 100) -> None:
        self.path = Path(path)
        self._fsync_every = fsync_every
        self._lock = threading.Lock()
        self._since_fsync = 0
        self.states: dict[str, str] = _read_states(self.path)
        self._file = self.path.open("a", encoding="utf-8")
        if self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n"):
            self._file.write("\n")  # end a line a killed process left unfinished

    def state(self, key: str) -> Optional[str]:
        """The last state recorded for ``key`` (in this run or an earlier one)."""
        return self.states.get(key)

    def record(self, key: str, state: str, **details: Any) -> None:
        """Append ``state`` for ``key`` and flush it to the operating system."""
        line = json.dumps({"key": key, "state": state, **details}, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            self.states[key] = state
            self._since_fsync += 1
            if self._since_fsync >= self._fsync_every:
                os.fsync(self._file.fileno())
                self._since_fsync = 0

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()


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


def _read_states(path: Path) -> dict[str, str]:
    return {entry["key"]: str(entry.get("state")) for entry in read_entries(path)}
