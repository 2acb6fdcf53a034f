"""The outbox in one SQLite file: WAL, every commit on disk before it returns.

Any number of processes of one host may open the same file. Writes take the write lock at
``BEGIN IMMEDIATE`` (so two transactions never deadlock upgrading a read lock) and wait up
to ``busy_timeout`` for it. Workers prove they live with :class:`WorkerLocks`. The shared
pacing is one row, read and written inside the claim and finish transactions, so workers in
different processes spend one rate budget. Counts held against the caps are kept by
triggers, so every path that changes a state keeps them right.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Optional

from voucherify.bulk._pacer import PaceState
from voucherify.outbox._errors import OutboxError, OutboxFullError, unknown_after
from voucherify.outbox._liveness import WorkerLocks
from voucherify.outbox._records import HELD_STATES, OutboxEvent, OutboxStats, State, sql_list
from voucherify.outbox._store import (
    SCHEMA_VERSION,
    Claim,
    ClaimResult,
    Finish,
    Grant,
    Learn,
    SharedPace,
    Store,
)

APPLICATION_ID = 0x56584F42
"""``PRAGMA application_id`` of an outbox file ("VXOB"): tells it from other SQLite files."""

_BUSY_TIMEOUT = 30.0
_ABANDONED: list[sqlite3.Connection] = []
"""Connections a forked child inherited anyway (a fork that ran no Python hook): never used
or closed there, only kept from being collected."""

_HELD = sql_list(HELD_STATES)

_SCHEMA = f"""
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    payload BLOB NOT NULL,
    size INTEGER NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    status INTEGER,
    customer_id TEXT,
    request_id TEXT,
    error TEXT
);
CREATE INDEX events_by_state ON events (state, seq);
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at REAL NOT NULL
);
CREATE TABLE shared (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    next_slot REAL NOT NULL DEFAULT 0,
    remaining INTEGER,
    window_end REAL NOT NULL DEFAULT 0,
    paused_until REAL NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    held_events INTEGER NOT NULL DEFAULT 0,
    held_bytes INTEGER NOT NULL DEFAULT 0
);
INSERT INTO shared (id) VALUES (1);
CREATE TRIGGER held_on_insert AFTER INSERT ON events WHEN NEW.state IN {_HELD} BEGIN
    UPDATE shared SET held_events = held_events + 1, held_bytes = held_bytes + NEW.size;
END;
CREATE TRIGGER held_on_delete AFTER DELETE ON events WHEN OLD.state IN {_HELD} BEGIN
    UPDATE shared SET held_events = held_events - 1, held_bytes = held_bytes - OLD.size;
END;
CREATE TRIGGER held_on_update AFTER UPDATE OF state ON events
WHEN (OLD.state IN {_HELD}) != (NEW.state IN {_HELD}) BEGIN
    UPDATE shared SET
        held_events = held_events + CASE WHEN NEW.state IN {_HELD} THEN 1 ELSE -1 END,
        held_bytes = held_bytes + CASE WHEN NEW.state IN {_HELD} THEN NEW.size ELSE -NEW.size END;
END;
"""

_COLUMNS = ("id, state, created_at, updated_at, attempts, payload, status, customer_id, "
            "request_id, error")


class SQLiteStore(Store):
    """One outbox file; safe to share between the threads of a process."""

    def __init__(self, path: str, max_events: int, max_bytes: int) -> None:
        self.path = path
        self.display = path
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.lock = threading.RLock()
        self.locks = WorkerLocks(path)
        self._host = socket.gethostname()
        self._db: Optional[sqlite3.Connection] = None
        self._closed = False
        self._connect(create=True)

    # -- opening -------------------------------------------------------------------------

    def _connect(self, create: bool) -> sqlite3.Connection:
        path = self.path
        if os.path.isdir(path):
            raise OutboxError(f"{path} is a folder, not an outbox file")
        if create and not os.path.exists(path):
            _create_private_file(path)
        try:
            db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT, isolation_level=None,
                                 check_same_thread=False)
        except sqlite3.Error as error:
            raise OutboxError(f"{path} cannot be opened as an outbox: {error}") from None
        try:
            _check_or_create(db, path)
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OutboxError(f"{path}: SQLite refused WAL mode (got {mode}); is it on a "
                                  "file system without shared memory, such as NFS?")
            db.execute("PRAGMA synchronous=FULL")
        except BaseException:
            db.close()
            raise
        self._db = db
        return db

    @property
    def db(self) -> sqlite3.Connection:
        db = self._db
        if db is None:
            if self._closed:
                raise OutboxError("the outbox is closed")
            db = self._connect(create=False)
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed (durably) on leaving, rolled back on error.

        Writers of every process queue on one ``flock`` first: the kernel hands it on the
        moment it is free, where SQLite's own busy handler sleeps up to 100 ms between tries
        and lets a waiting writer lose the lock again and again (a p99 of 100 ms and stalls
        near a second with three processes tracking, against 15 ms queued).

        SQLite's own errors (a full disk, a lock held past ``busy_timeout``, an I/O error)
        become :class:`OutboxError`, the transaction undone: nothing of it was stored."""
        with self.lock, self.locks.writing():
            db = self.db
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as error:
                raise OutboxError(f"the outbox {self.path} could not be written: {error}; "
                                  "nothing of this change was stored") from error

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            try:
                yield self.db
            except sqlite3.Error as error:
                raise OutboxError(f"the outbox {self.path} could not be read: {error}"
                                  ) from error

    # -- events --------------------------------------------------------------------------

    def add(self, event_id: str, payload: bytes, now: float, connection: Any = None) -> None:
        if connection is not None:
            raise OutboxError("track(connection=...) needs a PostgreSQL outbox; a SQLite "
                              "outbox commits each event itself")
        size = len(payload)
        with self._write() as db:
            held_events, held_bytes = db.execute(
                "SELECT held_events, held_bytes FROM shared").fetchone()
            if held_events + 1 > self.max_events or held_bytes + size > self.max_bytes:
                raise OutboxFullError.over_cap(held_events, held_bytes, size, self.max_events,
                                               self.max_bytes)
            db.execute(
                "INSERT INTO events (id, state, payload, size, created_at, updated_at) "
                "VALUES (?, 'pending', ?, ?, ?, ?)",
                (event_id, payload, size, now, now),
            )

    def claim(self, worker: str, now: float, grant: Grant) -> ClaimResult:
        with self._write() as db:
            row = db.execute(
                "SELECT seq, id, payload FROM events WHERE state = 'pending' "
                "ORDER BY seq LIMIT 1").fetchone()
            if row is None:
                return None
            pace = _load_pace(db)
            wait = grant(pace, now)
            if wait > 0:
                return wait  # nothing changed: the transaction commits nothing
            db.execute(
                "UPDATE events SET state = 'sending', worker = ?, attempts = attempts + 1, "
                "updated_at = ? WHERE seq = ?", (worker, now, row[0]))
            _save_pace(db, pace)
        return Claim(row[1], bytes(row[2]))

    def finish(self, worker: str, claim: Claim, finish: Finish, now: float, learn: Learn) -> None:
        error = None if finish.error is None else json.dumps(finish.error)
        with self._write() as db:
            db.execute(
                "UPDATE events SET state = ?, worker = NULL, updated_at = ?, status = ?, "
                "customer_id = ?, request_id = ?, error = ? "
                "WHERE id = ? AND state = 'sending' AND worker = ?",
                (finish.state.value, now, finish.status, finish.customer_id, finish.request_id,
                 error, claim.id, worker))
            in_flight = db.execute(
                "SELECT COUNT(*) FROM events WHERE state = 'sending'").fetchone()[0]
            pace = _load_pace(db)
            learn(pace, now, in_flight)
            _save_pace(db, pace)

    def active(self) -> int:
        with self._read() as db:
            count: int = db.execute(
                "SELECT COUNT(*) FROM events WHERE state IN ('pending', 'sending')"
            ).fetchone()[0]
        return count

    # -- workers -------------------------------------------------------------------------

    def register_worker(self) -> str:
        worker = uuid.uuid4().hex[:16]
        self.locks.hold(worker)  # before the row: a row whose file is unlocked is dead
        try:
            with self._write() as db:
                db.execute("INSERT INTO workers (id, host, pid, started_at) VALUES (?, ?, ?, ?)",
                           (worker, self._host, os.getpid(), time.time()))
        except BaseException:
            self.locks.release(worker)
            raise
        return worker

    def unregister_worker(self, worker: str) -> None:
        with self._write() as db:
            _give_up_claims(db, worker, "the worker stopped while sending it")
            db.execute("DELETE FROM workers WHERE id = ?", (worker,))
        self.locks.release(worker)

    def reap(self) -> int:
        with self._read() as db:
            workers = [row[0] for row in db.execute(
                "SELECT id FROM workers WHERE host = ?", (self._host,))]
        dead = [worker for worker in workers if not self.locks.is_alive(worker)]
        reaped = 0
        for worker in dead:
            with self._write() as db:
                reaped += _give_up_claims(db, worker, "its worker died while sending it")
                db.execute("DELETE FROM workers WHERE id = ?", (worker,))
            self.locks.remove(worker)
        return reaped

    # -- operators -----------------------------------------------------------------------

    def stats(self, now: float) -> OutboxStats:
        with self._read() as db:
            db.execute("BEGIN")
            try:
                counts = dict.fromkeys(State, 0)
                for state, count in db.execute(
                        "SELECT state, COUNT(*) FROM events GROUP BY state"):
                    counts[State(state)] = count
                oldest = db.execute("SELECT created_at FROM events WHERE state = 'pending' "
                                    "ORDER BY seq LIMIT 1").fetchone()
                held_events, held_bytes, paused_until = db.execute(
                    "SELECT held_events, held_bytes, paused_until FROM shared").fetchone()
                workers = db.execute("SELECT COUNT(*) FROM workers").fetchone()[0]
            finally:
                db.execute("COMMIT")
        return OutboxStats.at(now, counts, None if oldest is None else oldest[0],
                              (held_events, held_bytes), (self.max_events, self.max_bytes),
                              workers, paused_until)

    def events(
        self, state: Optional[State], limit: Optional[int], after: Optional[str] = None
    ) -> list[OutboxEvent]:
        where, args = [], []
        if state is not None:
            where.append("state = ?")
            args.append(state.value)
        if after is not None:
            with self._read() as db:
                found = db.execute("SELECT seq FROM events WHERE id = ?", (after,)).fetchone()
            if found is None:
                raise unknown_after(after)
            where.append("seq > ?")
            args.append(str(found[0]))
        sql = f"SELECT {_COLUMNS} FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(str(limit))
        with self._read() as db:
            return [_event(row) for row in db.execute(sql, args)]

    def move(self, ids: Iterable[str], from_states: frozenset[State], to: State, now: float
             ) -> list[str]:
        wanted = list(dict.fromkeys(ids))
        allowed = [state.value for state in from_states]
        moved = []
        with self._write() as db:
            marks = ",".join("?" * len(allowed))
            for event_id in wanted:
                cursor = db.execute(
                    f"UPDATE events SET state = ?, updated_at = ?, worker = NULL "
                    f"WHERE id = ? AND state IN ({marks})", (to.value, now, event_id, *allowed))
                if cursor.rowcount:
                    moved.append(event_id)
        return moved

    def purge(self, before: float, states: frozenset[State]) -> int:
        allowed = [state.value for state in states]
        marks = ",".join("?" * len(allowed))
        with self._write() as db:
            cursor = db.execute(
                f"DELETE FROM events WHERE state IN ({marks}) AND updated_at < ?",
                (*allowed, before))
            return cursor.rowcount

    # -- lifecycle -----------------------------------------------------------------------

    def before_fork(self) -> None:
        """Close the connection; it reopens on next use, here and in the child.

        A child must not inherit an open connection: SQLite keeps per process what locks
        it believes the process holds, so the child's own connection to the same file
        would believe it holds the parent's locks on the file and the WAL index and hold
        none, and a last connection elsewhere closing would checkpoint and delete the WAL
        under it: what the child then committed was lost, and its own last close wrote
        stale pages over what others had committed meanwhile."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def forget_after_fork(self) -> None:
        if self._db is not None:
            _ABANDONED.append(self._db)
            self._db = None
        self.lock = threading.RLock()
        self.locks.forget_after_fork()

    def close(self) -> None:
        with self.lock:
            self._closed = True
            if self._db is not None:
                self._db.close()
                self._db = None
            self.locks.close()


def _create_private_file(path: str) -> None:
    """Create ``path`` readable by its owner alone (it holds customers' data)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as error:
        raise OutboxError(f"cannot create the outbox file {path}: {error.strerror}") from None
    os.close(fd)


def _check_or_create(db: sqlite3.Connection, path: str) -> None:
    """Accept an outbox of this release's schema, make an empty file one, refuse the rest."""
    try:
        application_id, version, tables = _header(db)
        if application_id == 0 and tables == 0:
            db.execute("BEGIN IMMEDIATE")
            try:
                application_id, version, tables = _header(db)  # another process may have won
                if application_id == 0 and tables == 0:
                    for statement in _statements(_SCHEMA):
                        db.execute(statement)
                    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    application_id, version = APPLICATION_ID, SCHEMA_VERSION
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
    except sqlite3.DatabaseError as error:
        raise OutboxError(f"{path} is not an outbox: {error}") from None
    if application_id != APPLICATION_ID:
        raise OutboxError(f"{path} is an SQLite database of something else, not an outbox; "
                          "nothing in it was changed")
    if version > SCHEMA_VERSION:
        raise OutboxError(
            f"{path} is an outbox of a newer release (schema {version}; this one reads up to "
            f"{SCHEMA_VERSION}); upgrade voucherify-events to use it. Nothing was changed")
    if version < 1:
        raise OutboxError(f"{path} is an outbox with no schema version; nothing was changed")


def _header(db: sqlite3.Connection) -> tuple[int, int, int]:
    application_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
    return application_id, version, tables


def _statements(script: str) -> list[str]:
    """The statements of ``script``, a trigger's body kept whole."""
    statements, current = [], ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements


def _load_pace(db: sqlite3.Connection) -> SharedPace:
    next_slot, remaining, window_end, paused_until, failures = db.execute(
        "SELECT next_slot, remaining, window_end, paused_until, failures FROM shared"
    ).fetchone()
    return SharedPace(PaceState(next_slot, remaining, window_end, paused_until), failures)


def _save_pace(db: sqlite3.Connection, pace: SharedPace) -> None:
    state = pace.state
    db.execute(
        "UPDATE shared SET next_slot = ?, remaining = ?, window_end = ?, paused_until = ?, "
        "failures = ?",
        (state.next_slot, state.remaining, state.window_end, state.paused_until, pace.failures))


def _give_up_claims(db: sqlite3.Connection, worker: str, why: str) -> int:
    """Turn ``worker``'s claims ``unknown``: their calls may have reached the API."""
    error = json.dumps({"type": "WorkerGone", "message": why})
    cursor = db.execute(
        "UPDATE events SET state = 'unknown', worker = NULL, error = ?, "
        "updated_at = ? WHERE state = 'sending' AND worker = ?",
        (error, time.time(), worker))
    return cursor.rowcount


def _event(row: tuple[Any, ...]) -> OutboxEvent:
    (event_id, state, created_at, updated_at, attempts, payload, status, customer_id,
     request_id, error) = row
    return OutboxEvent(
        id=event_id, state=State(state), created_at=created_at, updated_at=updated_at,
        attempts=attempts, payload=bytes(payload), status=status, customer_id=customer_id,
        request_id=request_id, error=None if error is None else json.loads(error))
