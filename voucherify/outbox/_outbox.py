"""``Outbox``: take an event at once, keep it on disk, deliver it in the background, once."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, Iterable, Optional, Union

from voucherify._closing import Closing
from voucherify.api.events_api import EventsApi
from voucherify.api_client import ApiClient
from voucherify.bulk._item import encode_event
from voucherify.bulk._send import refused_settings
from voucherify.configuration import Configuration
from voucherify.exceptions import ApiTypeError, ApiValueError
from voucherify.outbox import _lifecycle
from voucherify.outbox._delivery import Delivery, DeliveryReport, backoff
from voucherify.outbox._errors import OutboxError
from voucherify.outbox._records import (
    DISCARDABLE_STATES,
    PURGEABLE_STATES,
    RESENDABLE_STATES,
    OutboxEvent,
    OutboxStats,
    State,
)
from voucherify.outbox._store import DEFAULT_MAX_BYTES, DEFAULT_MAX_EVENTS, Store

logger = logging.getLogger("voucherify")

DEFAULT_EXIT_TIMEOUT = 5.0
"""Seconds a running worker gets at interpreter exit (and when a ``with`` block ends) to
deliver what is pending before the process goes on; the rest stays on disk."""


class Outbox(Closing):
    """Events stored durably by :meth:`track` and delivered, each at most once, by a worker.

    :param path: the outbox file (SQLite); created, readable by its owner alone, if missing.
    :param configuration: host, keys, timeouts, TLS, proxy and logging for delivery;
        :meth:`Configuration.get_default` when omitted. Keys are never stored.
    :param max_events: how many held events (pending, sending, unknown, rejected) the
        outbox keeps at most; past it :meth:`track` raises :class:`OutboxFullError`.
    :param max_bytes: the same cap in bytes of request bodies.
    :param max_rate: calls per second at most, across every process using the file, on
        top of the API's own rate-limit headers.
    :param exit_timeout: seconds a running worker gets to deliver at interpreter exit and
        when a ``with`` block ends.
    :param max_pause: the longest one 429 may pause delivery for (a longer ``Retry-After``
        pauses this long, then delivery tries again).

    Safe to use from any thread; any number of processes may open the same file.
    """

    def __init__(
        self,
        path: Union[str, Path],
        configuration: Optional[Configuration] = None,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_rate: Optional[float] = None,
        exit_timeout: float = DEFAULT_EXIT_TIMEOUT,
        max_pause: float = 3600.0,
    ) -> None:
        _check_count(max_events, "max_events")
        _check_count(max_bytes, "max_bytes")
        if max_rate is not None:
            _check_seconds(max_rate, "max_rate", allow_zero=False)
        _check_seconds(exit_timeout, "exit_timeout")
        _check_seconds(max_pause, "max_pause")
        if configuration is not None and not isinstance(configuration, Configuration):
            raise ApiTypeError("configuration must be a voucherify.Configuration")
        self.configuration = configuration
        self.exit_timeout = float(exit_timeout)
        self._store: Store = open_store(path, max_events, max_bytes)
        self.path: str = self._store.display
        """Where the outbox is: its file, or its database with any password masked."""
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._worker_id: Optional[str] = None
        self._client: Optional[ApiClient] = None
        self._events_api: Optional[EventsApi] = None
        self._start_in_child = False
        self._closing = False
        self._closed = False
        self._setup_lock = threading.Lock()
        """Guards making the client and registering the worker, never held for long."""
        self._delivery = Delivery(self._store, self._api, self._worker, max_rate,
                                  float(max_pause))
        _lifecycle.register(self)
        self._store.reap()

    # -- tracking --------------------------------------------------------------------------

    def track(self, body: Any, *, connection: Any = None) -> str:
        """Store one event for delivery and return its id, with no network I/O.

        ``body`` is checked exactly as ``EventsApi.track_custom_event`` checks it (the same
        ``ApiValueError``, and nothing is stored); once this returns, the event is on disk.

        ``connection`` (a PostgreSQL outbox only): the app's own psycopg connection to the
        outbox's database. The event is written inside that connection's open transaction
        and not committed: workers see it once the app commits, and a rollback leaves
        nothing (in autocommit mode the insert commits by itself).
        """
        payload = encode_event(body)
        self._check_open()
        if self._start_in_child:
            self.start()
        event_id = uuid.uuid4().hex
        self._store.add(event_id, payload, time.time(), connection)
        self._wake.set()
        return event_id

    async def track_async(self, body: Any) -> str:
        """:meth:`track` in a thread, so that waiting for the disk never stalls the event
        loop; the same checks and the same errors, raised here."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.track, body)

    # -- delivering ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background worker (once; again after a fork, in the child).

        Settings the SDK refuses (a plain-http host off this machine, a bad key header)
        raise here, before any event is claimed."""
        with self._lock:
            self._check_open()
            self._start_in_child = False
            if self._thread is not None and self._thread.is_alive():
                return
            self._check_settings()
            thread = threading.Thread(target=self._background, name="voucherify-outbox",
                                      daemon=True)
            self._thread = thread
            thread.start()
        _lifecycle.worker_started()

    def deliver(
        self,
        follow: bool = False,
        max_seconds: Optional[float] = None,
        stop: Optional[threading.Event] = None,
    ) -> DeliveryReport:
        """Deliver in the calling thread until nothing is pending; with ``follow``, keep
        delivering new events; stop after ``max_seconds`` if given, or once ``stop`` is set
        (from any thread: the call in flight ends and is recorded first).

        Settings the SDK refuses raise here, before any event is claimed. While the API
        is down or refuses the keys, events stay pending and this keeps trying: give
        ``max_seconds`` to a cron job."""
        if max_seconds is not None:
            _check_seconds(max_seconds, "max_seconds")
        if stop is not None and not isinstance(stop, threading.Event):
            raise ApiTypeError("stop must be a threading.Event")
        self._check_open()
        self._check_settings()
        until = None if max_seconds is None else time.monotonic() + max_seconds
        stops = (self._stop,) if stop is None else (self._stop, stop)
        return self._delivery.run(stops, threading.Event(), follow, until)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Wait until nothing is ``pending`` or ``sending``, at most ``timeout`` seconds;
        whether that was reached. Without a running worker, delivers in this thread."""
        if timeout is not None:
            _check_seconds(timeout, "timeout")
        self._check_open()
        until = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._store.active() == 0:
                return True
            left = None if until is None else until - time.monotonic()
            if left is not None and left <= 0:
                return False
            if self._running():
                self._wake.set()
                with self._delivery.progress:
                    self._delivery.progress.wait(0.1 if left is None else min(0.1, left))
            else:
                self._delivery.run((self._stop,), threading.Event(), False, until)
                if self._store.active():
                    time.sleep(0.05 if left is None else min(0.05, max(left, 0)))

    # -- operators -------------------------------------------------------------------------

    def stats(self) -> OutboxStats:
        """Counts by state, the age of the oldest pending event, the caps and the workers."""
        self._check_open()
        return self._store.stats(time.time())

    def events(self, state: Union[State, str, None] = None, limit: Optional[int] = None,
               after: Optional[str] = None) -> list[OutboxEvent]:
        """Stored events, oldest first: all, or those in ``state``; at most ``limit``,
        starting after the event ``after`` (to page through a large outbox)."""
        chosen = None if state is None else _state(state)
        if limit is not None:
            _check_count(limit, "limit", allow_zero=True)
        self._check_open()
        return self._store.events(chosen, limit, after)

    def resend(self, ids: Iterable[str]) -> list[str]:
        """Move ``unknown`` or ``rejected`` events back to ``pending``, to be sent again:
        only when you know an unknown one was not recorded, or fixed what was refused.
        Returns the ids moved; ids in other states are left alone."""
        return self._move(ids, RESENDABLE_STATES, State.PENDING)

    def discard(self, ids: Iterable[str]) -> list[str]:
        """Set ``pending``, ``unknown`` or ``rejected`` events aside for good; the ids moved."""
        return self._move(ids, DISCARDABLE_STATES, State.DISCARDED)

    def purge(self, older_than: float) -> int:
        """Delete ``delivered`` and ``discarded`` events last changed over ``older_than``
        seconds ago; how many."""
        _check_seconds(older_than, "older_than")
        self._check_open()
        return self._store.purge(time.time() - older_than, PURGEABLE_STATES)

    def _move(self, ids: Iterable[str], from_states: frozenset[State], to: State) -> list[str]:
        if isinstance(ids, (str, bytes)):
            raise ApiTypeError("ids must be a list of event ids, not one string")
        wanted = list(ids)
        for event_id in wanted:
            if not isinstance(event_id, str) or not event_id:
                raise ApiValueError("every id must be an event id (a non-empty string)")
        self._check_open()
        moved = self._store.move(wanted, from_states, to, time.time())
        if to is State.PENDING and moved:
            self._wake.set()
        return moved

    # -- closing ---------------------------------------------------------------------------

    def close(self, timeout: Optional[float] = None) -> None:
        """Flush (at most ``timeout`` seconds; ``None``: until done) if the worker runs,
        then stop it and release the file. What is left stays on disk for the next start."""
        until = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            if self._closed or self._closing:
                return
            self._closing = True
        if self._running():
            try:
                self.flush(timeout)
            except Exception:  # the store failing: still stop and release
                logger.exception("outbox: the last flush failed")
        with self._lock:
            self._closed = True
            self._stop.set()
            self._wake.set()
            thread = self._thread
        # Calls in flight (the worker's, and deliver() in other threads) end within their
        # own timeouts and are recorded; past the bound, a claim still held is given up
        # below, as unknown: its call may still reach the API.
        self._delivery.wait_idle(None if until is None else max(until - time.monotonic(), 0.5))
        if thread is not None and thread is not threading.current_thread():
            thread.join(None if until is None else max(until - time.monotonic(), 0.1))
        _lifecycle.unregister(self)
        try:
            if self._worker_id is not None:
                self._store.unregister_worker(self._worker_id)
        finally:
            self._store.close()
            if self._client is not None:
                self._client.close()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close(self.exit_timeout)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("running" if self._running() else "open")
        return f"Outbox({self.path!r}, {state})"

    # -- inner workings --------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise OutboxError("the outbox is closed")

    def _running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _background(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._delivery.run((self._stop,), self._wake, True, None)
            except Exception:
                # The store failing (a full disk, a lock held too long): events stay on
                # disk; try again later rather than stop delivering for good.
                failures += 1
                logger.exception("outbox: the worker met an error; it tries again shortly")
                self._stop.wait(backoff(failures))
            else:
                return

    def _check_settings(self) -> None:
        refused = refused_settings(self._api())
        if refused is not None:
            raise refused

    def _api(self) -> EventsApi:
        """This process's client, made on first use (a forked child makes its own)."""
        with self._setup_lock:
            if self._events_api is None:
                configuration = self.configuration or Configuration.get_default()
                self._client = ApiClient(configuration)
                self._events_api = EventsApi(self._client)
            return self._events_api

    def _worker(self) -> str:
        with self._setup_lock:
            if self._worker_id is None:
                self._worker_id = self._store.register_worker()
            return self._worker_id

    def _at_exit(self) -> None:
        if self._running():
            self.close(self.exit_timeout)

    def _before_fork(self) -> None:
        self._lock.acquire()
        self._store.lock.acquire()
        self._store.before_fork()

    def _after_fork_in_parent(self) -> None:
        self._store.lock.release()
        self._lock.release()

    def _after_fork_in_child(self) -> None:
        # Nothing of the parent's may be used here: its thread does not exist in the child,
        # its connections and its worker lock are the parent's.
        self._start_in_child = not self._closed and self._running_before_fork()
        self._lock = threading.RLock()
        self._setup_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self._worker_id = None
        self._client = None  # its pooled sockets are the parent's: never closed here
        self._events_api = None
        self._store.forget_after_fork()
        self._delivery.progress = threading.Condition()

    def _running_before_fork(self) -> bool:
        # In the child, the inherited Thread object still says what the parent had.
        thread = self._thread
        return thread is not None and thread.ident is not None and not self._stop.is_set()


def open_store(path: Union[str, Path], max_events: int, max_bytes: int) -> Store:
    """The store ``path`` names: a ``postgresql://`` or ``postgres://`` URL, or a libpq
    connection string (``host=... dbname=...``), is a PostgreSQL database; anything else is
    the path of an SQLite file."""
    if not isinstance(path, (str, Path)) or not str(path):
        raise ApiTypeError("path must be the outbox file's path (a str or Path), or a "
                           "PostgreSQL URL or connection string")
    if isinstance(path, str):
        from voucherify.outbox._postgres import is_postgres_target

        if is_postgres_target(path):
            from voucherify.outbox._postgres import PostgresStore

            return PostgresStore(path, max_events, max_bytes)
    from voucherify.outbox._sqlite import SQLiteStore

    return SQLiteStore(os.fspath(path), max_events, max_bytes)


def _state(value: Union[State, str]) -> State:
    try:
        return State(value)
    except ValueError:
        names = ", ".join(state.value for state in State)
        raise ApiValueError(f"state must be one of {names}; got {value!r}") from None


def _check_count(value: Any, name: str, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiTypeError(f"{name} must be an int")
    if value < (0 if allow_zero else 1):
        raise ApiValueError(f"{name} must be {'0' if allow_zero else '1'} or more; got {value}")


def _check_seconds(value: Any, name: str, allow_zero: bool = True) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiTypeError(f"{name} must be a number of seconds")
    if not math.isfinite(value) or value < 0 or (not allow_zero and value == 0):
        bound = "above 0" if not allow_zero else "of 0 or more"
        raise ApiValueError(f"{name} must be a finite number {bound}; got {value!r}")
