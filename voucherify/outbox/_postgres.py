"""The outbox in a PostgreSQL database, shared by every process of every machine that opens it.

One psycopg 3 connection per store (autocommit; each method one explicit transaction),
used under :attr:`lock`. Claims take the shared pace row ``FOR UPDATE`` and the oldest
pending event ``FOR UPDATE SKIP LOCKED`` in one transaction, so every worker of the fleet
spends one rate budget and no two hold the same event. Pacing runs on the database's clock
(``clock_timestamp()``), never the callers': the machines' clocks need not agree.

Liveness without clocks or leases: a worker's session holds a session-level advisory lock
on its own random 63-bit key, taken before its row is written. A session that can take that
lock knows the worker's session has ended (process killed, machine gone, connection lost),
and turns the worker's ``sending`` events ``unknown`` in the same lock's shadow; a live
worker's lock cannot be taken, so its claims are never touched.

Caps: every change of an event in or out of a held state appends a delta row to
``voucherify_outbox_held`` (a trigger), and ``add`` compares the sum of the rows it can see
with the caps. Appending never waits for another transaction and never conflicts under
``REPEATABLE READ``, so tracking inside the app's own transactions does not serialize them;
the price is that transactions still open do not see each other's events: the caps can be
passed by as many events as are being tracked in transactions open at that moment. Workers
fold the deltas into one row every few seconds.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import socket
import threading
import time
import uuid
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional

from voucherify.bulk._pacer import PaceState
from voucherify.exceptions import ApiTypeError
from voucherify.outbox._errors import OutboxError, OutboxFullError, unknown_after
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

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger("voucherify")

APPLICATION = "voucherify-outbox"
"""What ``voucherify_outbox_schema.application`` says in an outbox's database."""
SCHEMA_LOCK = 0x56584F42_00000001
"""The advisory lock (one bigint key) held while the schema is checked or created."""
COMPACT_LOCK = 0x56584F42_00000002
"""The advisory lock that lets one session at a time fold the cap deltas."""
COMPACT_EVERY = 256
"""Events this process adds between two foldings of the cap deltas (workers also fold)."""
RETRY_SECONDS = 1.0
"""How long a worker waits before trying again when the database cannot be reached."""
RETRY_MAX_SECONDS = 30.0
"""The longest wait between two tries to record a call's outcome while the database cannot
be reached: it is tried until it is recorded or the outbox is closed (then the event, left
``sending``, turns ``unknown`` once its worker's session is seen gone)."""

_URL = re.compile(r"^postgres(ql)?://", re.IGNORECASE)
_CONNINFO = re.compile(
    r"^\s*(host|hostaddr|port|dbname|user|password|passfile|service|sslmode|options|"
    r"application_name|connect_timeout|target_session_attrs)\s*=", re.IGNORECASE)
_ABANDONED: list[Any] = []
"""Connections a forked child inherited: kept from being collected, their socket replaced
by /dev/null in the child so that nothing the child does can reach the parent's session."""

_NOW = "extract(epoch FROM clock_timestamp())::float8"
_HELD = sql_list(HELD_STATES)
_STATES = sql_list(frozenset(State))
_TABLES = ("voucherify_outbox_schema", "voucherify_outbox_events", "voucherify_outbox_workers",
           "voucherify_outbox_shared", "voucherify_outbox_held")

_SCHEMA = [
    """CREATE TABLE voucherify_outbox_schema (
        id integer PRIMARY KEY CHECK (id = 1),
        application text NOT NULL,
        version integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp())""",
    f"""CREATE TABLE voucherify_outbox_events (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        state text NOT NULL CHECK (state IN {_STATES}),
        payload bytea NOT NULL,
        size integer NOT NULL,
        created_at double precision NOT NULL,
        updated_at double precision NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        worker text,
        status integer,
        customer_id text,
        request_id text,
        error text)""",
    "CREATE INDEX voucherify_outbox_events_by_state ON voucherify_outbox_events (state, seq)",
    """CREATE TABLE voucherify_outbox_workers (
        id text PRIMARY KEY,
        lock_key bigint NOT NULL UNIQUE,
        host text NOT NULL,
        pid integer NOT NULL,
        backend_pid integer NOT NULL,
        started_at double precision NOT NULL)""",
    """CREATE TABLE voucherify_outbox_shared (
        id integer PRIMARY KEY CHECK (id = 1),
        next_slot double precision NOT NULL DEFAULT 0,
        remaining integer,
        window_end double precision NOT NULL DEFAULT 0,
        paused_until double precision NOT NULL DEFAULT 0,
        failures integer NOT NULL DEFAULT 0)""",
    "INSERT INTO voucherify_outbox_shared (id) VALUES (1)",
    """CREATE TABLE voucherify_outbox_held (
        slot bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        events bigint NOT NULL,
        bytes bigint NOT NULL)""",
    "INSERT INTO voucherify_outbox_held (events, bytes) VALUES (0, 0)",
    f"""CREATE FUNCTION voucherify_outbox_held_change() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    DECLARE
        was boolean := TG_OP <> 'INSERT' AND OLD.state IN {_HELD};
        now_held boolean := TG_OP <> 'DELETE' AND NEW.state IN {_HELD};
    BEGIN
        IF coalesce(was, false) AND NOT coalesce(now_held, false) THEN
            INSERT INTO voucherify_outbox_held (events, bytes) VALUES (-1, -OLD.size);
        ELSIF coalesce(now_held, false) AND NOT coalesce(was, false) THEN
            INSERT INTO voucherify_outbox_held (events, bytes) VALUES (1, NEW.size);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER voucherify_outbox_held_change
    AFTER INSERT OR DELETE OR UPDATE OF state ON voucherify_outbox_events
    FOR EACH ROW EXECUTE FUNCTION voucherify_outbox_held_change()""",
    f"INSERT INTO voucherify_outbox_schema (id, application, version) "
    f"VALUES (1, '{APPLICATION}', {SCHEMA_VERSION})",
]

_COLUMNS = ("id, state, created_at, updated_at, attempts, payload, status, customer_id, "
            "request_id, error")


def is_postgres_target(target: str) -> bool:
    """Whether ``target`` names a PostgreSQL database (a URL or a libpq conninfo string)."""
    return bool(_URL.match(target) or _CONNINFO.match(target))


def masked(conninfo: str) -> str:
    """``conninfo`` without its password, to show in messages."""
    try:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        params = conninfo_to_dict(conninfo)
    except Exception:
        return "<a PostgreSQL connection string that cannot be parsed>"
    params.pop("password", None)
    return make_conninfo("", **{name: str(value) for name, value in params.items()
                                if value is not None})


class _Worker:
    """One registered worker of this store: the row it has now and every row it had."""

    def __init__(self, row: str, key: int) -> None:
        self.row = row
        self.key = key
        self.rows = {row}


class PostgresStore(Store):
    """One outbox in one PostgreSQL database; safe to share between threads."""

    def __init__(self, conninfo: str, max_events: int, max_bytes: int) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise OutboxError("a PostgreSQL outbox needs psycopg 3: pip install "
                              "'voucherify-events[postgres]'") from None
        self.conninfo = conninfo
        self.display = masked(conninfo)
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.lock = threading.RLock()
        self._host = socket.gethostname()
        self._conn: Optional[psycopg.Connection[Any]] = None
        self._closed = False
        self._workers: dict[str, _Worker] = {}
        self._adds = 0
        self._dbname: Optional[str] = None
        """The database the store's connection reached: the app's must be the same."""
        with self.lock:
            self._connection()

    # -- the connection --------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        """The store's connection, made again (and the workers' locks taken again) if lost."""
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        if self._closed:
            raise OutboxError("the outbox is closed")
        import psycopg

        self._conn = None
        try:
            conn = psycopg.connect(self.conninfo, autocommit=True)
        except psycopg.Error as error:
            raise OutboxError(f"cannot connect to the outbox database ({self.display}): "
                              f"{_message(error)}") from None
        try:
            conn.execute("SET synchronous_commit = on")
            _check_or_create(conn, self.display)
            self._dbname = conn.info.dbname
            self._conn = conn
            self._take_locks_again(conn)
        except psycopg.Error as error:
            self._conn = None
            conn.close()
            raise OutboxError(f"the outbox database failed: {_message(error)}") from None
        except BaseException:
            self._conn = None
            conn.close()
            raise
        return conn

    def _lost(self, error: Exception) -> None:
        logger.warning("outbox: the database connection failed (%s); trying again",
                       _message(error))
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):  # already broken
                conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction on the store's connection, under the lock; database errors
        become :class:`OutboxError` (a lost connection is made again on next use)."""
        import psycopg

        with self.lock:
            conn = self._connection()
            try:
                with conn.transaction():
                    yield conn
            except psycopg.Error as error:
                if conn.broken or conn.closed:  # not a refusal or a timeout: the session
                    self._lost(error)
                raise OutboxError(f"the outbox database failed: {_message(error)}") from error

    # -- events ----------------------------------------------------------------------------

    def add(self, event_id: str, payload: bytes, now: float, connection: Any = None) -> None:
        if connection is None:
            self._add(event_id, payload)
        else:
            self._check_callers(connection)
            _insert(connection, event_id, payload, self.max_events, self.max_bytes)
        with self.lock:
            self._adds += 1
            fold = self._adds % COMPACT_EVERY == 0
        if fold:
            try:
                self._fold()
            except OutboxError as error:  # the event is stored; folding waits for next time
                logger.warning("outbox: could not fold the cap counts: %s", error)

    def _add(self, event_id: str, payload: bytes) -> None:
        """Insert on the store's connection; when that connection turns out lost before the
        commit, once more on a new one (nothing can have been stored). Lost during the
        commit, the event may be stored or not: that is said, never guessed by storing twice."""
        for attempt in (1, 2):
            committing: list[bool] = []
            try:
                with self._transaction() as conn:
                    _insert(conn, event_id, payload, self.max_events, self.max_bytes)
                    committing.append(True)
                return
            except OutboxError as error:
                if self._conn is not None or self._closed:
                    raise
                if committing:  # lost during COMMIT: it may have been applied
                    raise OutboxError(
                        f"the connection to the outbox database was lost while storing event "
                        f"{event_id}; it may or may not be stored (voucherify outbox list "
                        f"shows it if it is): {error}") from error
                if attempt == 2:
                    raise

    def _check_callers(self, connection: Any) -> None:
        import psycopg

        if isinstance(connection, psycopg.AsyncConnection):
            raise ApiTypeError("connection is a psycopg AsyncConnection; track() writes "
                               "through a sync connection (psycopg.Connection)")
        psycopg2 = type(connection).__module__.split(".")[0] == "psycopg2"
        if not isinstance(connection, psycopg.Connection) and not (
                psycopg2 and hasattr(connection, "cursor")):
            raise ApiTypeError("connection must be a psycopg (3, or psycopg2) connection to "
                               "the outbox's database; with SQLAlchemy or Django pass the "
                               "driver's connection (docs/outbox.md, PostgreSQL)")
        theirs = getattr(getattr(connection, "info", None), "dbname", None)
        ours = self._dbname
        if theirs is not None and ours is not None and theirs != ours:
            raise OutboxError(f"connection is to the database {theirs!r}, but the outbox is in "
                              f"{ours!r}: the event would be stored where no worker looks")

    def claim(self, worker: str, now: float, grant: Grant) -> ClaimResult:
        for attempt in (1, 2):
            try:
                return self._claim(worker, grant)
            except OutboxError as error:
                if self._conn is not None or self._closed:  # not a lost connection
                    raise
                if attempt == 2:
                    logger.warning("outbox: no claim (%s); trying again in %s s", error,
                                   RETRY_SECONDS)
        return RETRY_SECONDS  # a claim lost with its connection goes unknown with its row

    def _claim(self, worker: str, grant: Grant) -> ClaimResult:
        with self._transaction() as conn:
            row_id = self._row(worker)
            pace, db_now = _load_pace(conn)
            row = conn.execute(
                "SELECT seq, id, payload FROM voucherify_outbox_events "
                "WHERE state = 'pending' ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED"
            ).fetchone()
            if row is None:
                return None
            wait = grant(pace, db_now)
            if wait > 0:
                return wait  # nothing changed
            conn.execute(
                "UPDATE voucherify_outbox_events SET state = 'sending', worker = %s, "
                "attempts = attempts + 1, updated_at = %s WHERE seq = %s",
                (row_id, db_now, row[0]))
            _save_pace(conn, pace)
        return Claim(row[1], bytes(row[2]))

    def finish(self, worker: str, claim: Claim, finish: Finish, now: float, learn: Learn) -> None:
        error = None if finish.error is None else json.dumps(finish.error)
        pause = RETRY_SECONDS
        while True:
            try:
                with self._transaction() as conn:
                    rows = sorted(self._rows(worker))
                    db_now = _db_now(conn)
                    conn.execute(
                        "UPDATE voucherify_outbox_events SET state = %s, worker = NULL, "
                        "updated_at = %s, status = %s, customer_id = %s, request_id = %s, "
                        "error = %s WHERE id = %s AND state = 'sending' AND worker = ANY(%s)",
                        (finish.state.value, db_now, finish.status, finish.customer_id,
                         finish.request_id, error, claim.id, rows))
                    in_flight = _one(conn, "SELECT count(*) FROM voucherify_outbox_events "
                                           "WHERE state = 'sending'")
                    pace, db_now = _load_pace(conn)
                    learn(pace, db_now, in_flight)
                    _save_pace(conn, pace)
                return
            except OutboxError:
                if self._conn is not None or self._closed:
                    raise
                time.sleep(pause)  # the outcome is known: worth waiting for the database
                pause = min(pause * 2, RETRY_MAX_SECONDS)

    def active(self) -> int:
        with self._transaction() as conn:
            return _one(conn, "SELECT count(*) FROM voucherify_outbox_events "
                              "WHERE state IN ('pending', 'sending')")

    # -- workers ---------------------------------------------------------------------------

    def _row(self, worker: str) -> str:
        known = self._workers.get(worker)
        if known is None:
            raise OutboxError(f"worker {worker} is not registered on this outbox")
        return known.row

    def _rows(self, worker: str) -> set[str]:
        known = self._workers.get(worker)
        return set() if known is None else known.rows

    def register_worker(self) -> str:
        import psycopg

        worker = uuid.uuid4().hex[:16]
        with self.lock:
            conn = self._connection()
            try:
                row, key = self._new_row(conn, worker)
            except psycopg.Error as error:
                if conn.broken or conn.closed:
                    self._lost(error)
                raise OutboxError(f"the outbox database failed: {_message(error)}") from None
            self._workers[worker] = _Worker(row, key)
        return worker

    def _new_row(self, conn: psycopg.Connection[Any], row: str) -> tuple[str, int]:
        """Take a fresh advisory lock, then write the worker's row: a row whose lock can be
        taken is a dead worker's."""
        while True:
            key = random.getrandbits(63)
            if conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (True,):
                break
        try:
            with conn.transaction():
                conn.execute(
                    f"INSERT INTO voucherify_outbox_workers (id, lock_key, host, pid, "
                    f"backend_pid, started_at) VALUES (%s, %s, %s, %s, pg_backend_pid(), {_NOW})",
                    (row, key, self._host, os.getpid()))
        except BaseException:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            raise
        return row, key

    def _take_locks_again(self, conn: psycopg.Connection[Any]) -> None:
        """After the connection was made again: keep each worker's row if its lock is still
        free to take and the row is still there (nobody reaped it); else a new row (its old
        claims go ``unknown`` once the old session is seen gone)."""
        for known in self._workers.values():
            got = conn.execute("SELECT pg_try_advisory_lock(%s)", (known.key,)).fetchone()
            if got == (True,) and conn.execute(
                    "SELECT 1 FROM voucherify_outbox_workers WHERE id = %s AND lock_key = %s",
                    (known.row, known.key)).fetchone():
                continue
            if got == (True,):
                conn.execute("SELECT pg_advisory_unlock(%s)", (known.key,))
            known.row, known.key = self._new_row(conn, uuid.uuid4().hex[:16])
            known.rows.add(known.row)

    def unregister_worker(self, worker: str) -> None:
        with self.lock:
            known = self._workers.get(worker)
            if known is None:
                return
            with self._transaction() as conn:
                for row in known.rows:
                    _give_up_claims(conn, row, "the worker stopped while sending it")
                conn.execute("DELETE FROM voucherify_outbox_workers WHERE id = ANY(%s)",
                             (sorted(known.rows),))
            del self._workers[worker]
            with self._transaction() as conn:
                conn.execute("SELECT pg_advisory_unlock(%s)", (known.key,))

    def reap(self) -> int:
        try:
            with self._transaction() as conn:
                rows = conn.execute(
                    "SELECT id, lock_key FROM voucherify_outbox_workers").fetchall()
        except OutboxError as error:
            if self._conn is not None or self._closed:
                raise
            logger.warning("outbox: no reaping (%s)", error)
            return 0
        reaped = 0
        with self.lock:
            own = {known.key for known in self._workers.values()}
            for row, key in rows:
                if key in own:
                    continue
                with self._transaction() as conn:
                    if conn.execute("SELECT pg_try_advisory_xact_lock(%s)",
                                    (key,)).fetchone() != (True,):
                        continue  # its session lives: its claims stay its own
                    reaped += _give_up_claims(conn, row, "its worker died while sending it")
                    conn.execute("DELETE FROM voucherify_outbox_workers WHERE id = %s "
                                 "AND lock_key = %s", (row, key))
        self._fold()
        return reaped

    def _fold(self) -> None:
        """Fold the cap deltas into the first row, if no other session is doing it."""
        with self._transaction() as conn:
            if conn.execute("SELECT pg_try_advisory_xact_lock(%s)",
                            (COMPACT_LOCK,)).fetchone() != (True,):
                return
            conn.execute(
                "WITH base AS (SELECT min(slot) AS slot FROM voucherify_outbox_held), "
                "gone AS (DELETE FROM voucherify_outbox_held WHERE slot > (SELECT slot FROM base)"
                " RETURNING events, bytes) "
                "UPDATE voucherify_outbox_held SET "
                "events = events + (SELECT coalesce(sum(events), 0) FROM gone), "
                "bytes = bytes + (SELECT coalesce(sum(bytes), 0) FROM gone) "
                "WHERE slot = (SELECT slot FROM base)")

    # -- operators -------------------------------------------------------------------------

    def stats(self, now: float) -> OutboxStats:
        with self._transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            counts = dict.fromkeys(State, 0)
            for state, count in conn.execute(
                    "SELECT state, count(*) FROM voucherify_outbox_events GROUP BY state"):
                counts[State(state)] = count
            oldest, paused_until, db_now = conn.execute(
                f"SELECT (SELECT created_at FROM voucherify_outbox_events WHERE state = "
                f"'pending' ORDER BY seq LIMIT 1), paused_until, {_NOW} "
                f"FROM voucherify_outbox_shared").fetchone() or (None, 0.0, 0.0)
            held_events, held_bytes = _held(conn)
            workers = _one(conn, "SELECT count(*) FROM voucherify_outbox_workers")
        return OutboxStats.at(db_now, counts, oldest, (held_events, held_bytes),
                              (self.max_events, self.max_bytes), workers, paused_until)

    def events(
        self, state: Optional[State], limit: Optional[int], after: Optional[str] = None
    ) -> list[OutboxEvent]:
        where: list[str] = []
        args: list[Any] = []
        if state is not None:
            where.append("state = %s")
            args.append(state.value)
        if after is not None:
            with self._transaction() as conn:
                found = conn.execute("SELECT seq FROM voucherify_outbox_events WHERE id = %s",
                                     (after,)).fetchone()
            if found is None:
                raise unknown_after(after)
            where.append("seq > %s")
            args.append(found[0])
        sql = f"SELECT {_COLUMNS} FROM voucherify_outbox_events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT %s"
            args.append(limit)
        with self._transaction() as conn:
            return [_event(row) for row in conn.execute(sql, args)]

    def move(self, ids: Iterable[str], from_states: frozenset[State], to: State, now: float
             ) -> list[str]:
        wanted = list(dict.fromkeys(ids))
        allowed = sorted(state.value for state in from_states)
        with self._transaction() as conn:
            moved = {row[0] for row in conn.execute(
                f"UPDATE voucherify_outbox_events SET state = %s, updated_at = {_NOW}, "
                f"worker = NULL WHERE id = ANY(%s) AND state = ANY(%s) RETURNING id",
                (to.value, wanted, allowed))}
        return [event_id for event_id in wanted if event_id in moved]

    def purge(self, before: float, states: frozenset[State]) -> int:
        allowed = sorted(state.value for state in states)
        age = time.time() - before  # on the database's clock, as updated_at is
        with self._transaction() as conn:
            cursor = conn.execute(
                f"DELETE FROM voucherify_outbox_events WHERE state = ANY(%s) "
                f"AND updated_at < {_NOW} - %s", (allowed, age))
            return max(cursor.rowcount, 0)

    # -- lifecycle -------------------------------------------------------------------------

    def before_fork(self) -> None:
        """Nothing: the session stays open here, and the child disowns its copy."""

    def forget_after_fork(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            _disown(conn)
        self._workers = {}  # their locks are the parent's session's
        self._adds = 0
        self.lock = threading.RLock()

    def close(self) -> None:
        with self.lock:
            self._closed = True
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()  # ends the session: any advisory lock still held goes with it


def _disown(conn: Any) -> None:
    """Make an inherited connection harmless in a forked child: its socket number now names
    /dev/null here, so closing or collecting it (libpq says goodbye on the socket) can never
    end or disturb the parent's session; the parent's socket is untouched."""
    try:
        fd = conn.pgconn.socket
    except Exception:  # already closed or broken: nothing shared is left
        fd = -1
    if fd >= 0:
        null = os.open(os.devnull, os.O_RDWR)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
    _ABANDONED.append(conn)


def _check_or_create(conn: psycopg.Connection[Any], display: str) -> None:
    """Accept an outbox of this release's schema, create one where there is none, refuse
    a database whose outbox tables are another release's or something else's."""
    import psycopg

    try:
        if _schema_version(conn, display) is not None:
            return
        # A session lock, taken before the transaction: one begun before waiting could go
        # on seeing the catalog as it was (no table yet) after another process created it.
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            with conn.transaction():
                if _schema_version(conn, display) is not None:
                    return  # another process created it meanwhile
                taken = [name for name in _TABLES if conn.execute(
                    "SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone() == (True,)]
                if taken:
                    raise OutboxError(
                        f"{display}: the database has tables named like the outbox's "
                        f"({', '.join(taken)}) but no outbox schema record: they are not an "
                        "outbox's. Nothing was changed")
                for statement in _SCHEMA:
                    conn.execute(statement)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
    except psycopg.Error as error:
        raise OutboxError(f"{display}: cannot check or create the outbox's tables: "
                          f"{_message(error)}") from None


def _schema_version(conn: psycopg.Connection[Any], display: str) -> Optional[int]:
    """The recorded schema version, checked; ``None`` when there is no outbox yet."""
    import psycopg

    if conn.execute("SELECT to_regclass('voucherify_outbox_schema') IS NULL").fetchone() == (
            True,):
        return None
    try:
        row = conn.execute("SELECT application, version FROM voucherify_outbox_schema "
                           "WHERE id = 1").fetchone()
    except psycopg.Error:
        row = None
    if row is None or row[0] != APPLICATION:
        raise OutboxError(f"{display}: voucherify_outbox_schema is a table of something else, "
                          "not an outbox's. Nothing was changed")
    version: int = row[1]
    if version > SCHEMA_VERSION:
        raise OutboxError(
            f"{display} holds an outbox of a newer release (schema {version}; this one reads "
            f"up to {SCHEMA_VERSION}); upgrade voucherify-events to use it. Nothing was "
            "changed")
    if version < 1:
        raise OutboxError(f"{display}: the outbox has no valid schema version ({version}); "
                          "nothing was changed")
    return version


def _insert(conn: Any, event_id: str, payload: bytes, max_events: int, max_bytes: int) -> None:
    """Store the event pending if the caps, as this transaction sees them, allow it: one
    statement."""
    size = len(payload)
    cursor = conn.cursor()
    try:
        cursor.execute(
            f"WITH held AS (SELECT coalesce(sum(events), 0) AS events, "
            f"coalesce(sum(bytes), 0) AS bytes FROM voucherify_outbox_held) "
            f"INSERT INTO voucherify_outbox_events (id, state, payload, size, created_at, "
            f"updated_at) SELECT %s, 'pending', %s, %s, {_NOW}, {_NOW} FROM held "
            f"WHERE held.events + 1 <= %s AND held.bytes + %s <= %s RETURNING seq",
            (event_id, payload, size, max_events, size, max_bytes))
        if cursor.fetchone() is None:
            cursor.execute("SELECT coalesce(sum(events), 0)::bigint, "
                           "coalesce(sum(bytes), 0)::bigint FROM voucherify_outbox_held")
            held_events, held_bytes = cursor.fetchone()
            raise OutboxFullError.over_cap(held_events, held_bytes, size, max_events, max_bytes)
    finally:
        cursor.close()


def _db_now(conn: psycopg.Connection[Any]) -> float:
    row = conn.execute(f"SELECT {_NOW}").fetchone()
    assert row is not None
    now: float = row[0]
    return now


def _one(conn: psycopg.Connection[Any], sql: str) -> int:
    row = conn.execute(sql).fetchone()
    assert row is not None
    value: int = row[0]
    return value


def _held(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    row = conn.execute("SELECT coalesce(sum(events), 0)::bigint, coalesce(sum(bytes), 0)::bigint "
                       "FROM voucherify_outbox_held").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _load_pace(conn: psycopg.Connection[Any]) -> tuple[SharedPace, float]:
    """The shared pace, locked for this transaction, and the database's time once it is."""
    row = conn.execute(
        "SELECT next_slot, remaining, window_end, paused_until, failures "
        "FROM voucherify_outbox_shared WHERE id = 1 FOR UPDATE").fetchone()
    if row is None:
        raise OutboxError("the outbox's shared pace row is missing")
    next_slot, remaining, window_end, paused_until, failures = row
    return (SharedPace(PaceState(next_slot, remaining, window_end, paused_until), failures),
            _db_now(conn))


def _save_pace(conn: psycopg.Connection[Any], pace: SharedPace) -> None:
    state = pace.state
    conn.execute(
        "UPDATE voucherify_outbox_shared SET next_slot = %s, remaining = %s, window_end = %s, "
        "paused_until = %s, failures = %s WHERE id = 1",
        (state.next_slot, state.remaining, state.window_end, state.paused_until, pace.failures))


def _give_up_claims(conn: psycopg.Connection[Any], row: str, why: str) -> int:
    """Turn the claims of worker row ``row`` ``unknown``: their calls may have reached the API."""
    error = json.dumps({"type": "WorkerGone", "message": why})
    cursor = conn.execute(
        f"UPDATE voucherify_outbox_events SET state = 'unknown', worker = NULL, error = %s, "
        f"updated_at = {_NOW} WHERE state = 'sending' AND worker = %s", (error, row))
    return max(cursor.rowcount, 0)


def _message(error: BaseException) -> str:
    """The server's or libpq's message, first line (it never holds the password)."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _event(row: tuple[Any, ...]) -> OutboxEvent:
    (event_id, state, created_at, updated_at, attempts, payload, status, customer_id,
     request_id, error) = row
    return OutboxEvent(
        id=event_id, state=State(state), created_at=created_at, updated_at=updated_at,
        attempts=attempts, payload=bytes(payload), status=status, customer_id=customer_id,
        request_id=request_id, error=None if error is None else json.loads(error))
