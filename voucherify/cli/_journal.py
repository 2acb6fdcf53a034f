"""The import's side of the journal: check that it belongs to the input.

:func:`voucherify.bulk.item_key` keys a row by its position among the rows passed to the
bulk library and a digest of its body. Rerun over the same file, every row gets the key it
had, and the journal skips what was done. If the file changed (a row added, removed or
fixed before the end of what the journal covers), later rows move to other positions, get
new keys, and would be sent again. This module reads the journal's keys (one JSON object a
line with a ``key``, as ``voucherify.bulk`` writes it) so the import can refuse a row whose
position the journal knows with another body.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from voucherify.bulk import FINAL_STATES, read_entries
from voucherify.cli._errors import CliError


class JournalGuard:
    """What a journal file recorded: the key at each position, and each key's last state."""

    def __init__(self, path: Optional[str] = None) -> None:
        self.keys: dict[int, str] = {}
        self.states: dict[str, str] = {}
        self.statuses: dict[str, int] = {}
        """The HTTP status of each key's last outcome, where the journal has one."""
        if path is not None and Path(path).exists():
            self._read(Path(path))

    def conflicts(self, key: str) -> bool:
        """Whether the journal holds another body at ``key``'s position."""
        known = self.keys.get(_position(key))
        return known is not None and known != key

    def state_at(self, position: int) -> Optional[str]:
        """The last state the journal recorded for the row at ``position``, if any."""
        key = self.keys.get(position)
        return None if key is None else self.states.get(key)

    def earlier(self, key: str) -> Optional[str]:
        """How an earlier run finished ``key`` (``sent``, ``rejected``, ``invalid``), if it did."""
        state = self.states.get(key)
        return state if state in FINAL_STATES else None

    def _read(self, path: Path) -> None:
        try:
            entries = list(read_entries(path))
            if not entries and path.stat().st_size:
                raise ValueError("no journal records")
            positions = [_position(entry["key"]) for entry in entries]
        except OSError as error:
            raise CliError(f"cannot read the journal {path}: {error.strerror}") from None
        except ValueError:
            raise CliError(f"{path} is not a journal of voucherify events import") from None
        for entry, position in zip(entries, positions):
            key = entry["key"]
            self.keys[position] = key
            self.states[key] = str(entry.get("state"))
            if isinstance(entry.get("status"), int):
                self.statuses[key] = entry["status"]


def _position(key: str) -> int:
    """The row position in a journal key (``"<position>:<digest>"``); ValueError if none."""
    position, separator, _ = key.partition(":")
    if not separator:
        raise ValueError(key)
    return int(position)
