"""The SQLite outbox when the disk says no: a full database, a locked one.

SQLite's ``max_page_count`` makes a real database file full at a size of our choosing, so
the error the app sees is SQLite's own "database or disk is full", as on a full disk.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from voucherify.outbox import Outbox, OutboxError, State

from conftest import MINIMAL_BODY


def _body(index: int) -> dict[str, object]:
    return {"event": "signed_up", "customer": {"source_id": f"c-{index}"},
            "metadata": {"filler": "x" * 2000}}


def test_a_full_disk_raises_outbox_error_and_keeps_every_event_stored_before(
    tmp_path: Path,
) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    try:
        db = outbox._store.db  # type: ignore[attr-defined]
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages + 8}")
        stored = []
        with pytest.raises(OutboxError, match="full") as caught:
            for index in range(1000):
                stored.append(outbox.track(_body(index)))
        assert isinstance(caught.value.__cause__, sqlite3.Error)
        assert "nothing of this change was stored" in str(caught.value)
        assert stored, "the cap was too small to store anything"
        events = outbox.events()
        assert [event.id for event in events] == stored
        assert all(event.state is State.PENDING for event in events)
        assert outbox.stats().held_events == len(stored)
        db.execute("PRAGMA max_page_count = 1073741823")
        stored.append(outbox.track(MINIMAL_BODY))
        assert len(outbox.events()) == len(stored)
    finally:
        outbox.close()


def test_an_outbox_locked_by_another_writer_past_the_timeout_raises_outbox_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outbox.db"
    outbox = Outbox(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        outbox._store.db.execute("PRAGMA busy_timeout = 200")  # type: ignore[attr-defined]
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(OutboxError, match="locked"):
            outbox.track(MINIMAL_BODY)
        blocker.execute("ROLLBACK")
        outbox.track(MINIMAL_BODY)
        assert len(outbox.events()) == 1
    finally:
        blocker.close()
        outbox.close()
