"""Delivery: claim the oldest pending event, send it once, record what became of it.

The decisions are pure functions of how a call ended (:func:`finish_for`, :func:`learner`):
the state an event goes to comes from bulk's :class:`~voucherify.bulk.Outcome`, and the
shared pace is bulk's :class:`PaceState` rule, kept in the store so that every worker of
every process spends one rate budget. :class:`Delivery` drives them over a store and a client.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Generator, Optional, Sequence, Union

from voucherify.api.events_api import EventsApi
from voucherify.bulk._outcome import Outcome, keys_refused
from voucherify.bulk._send import Attempt, send_event
from voucherify.exceptions import ApiException, OpenApiException
from voucherify.outbox._records import State
from voucherify.outbox._store import (
    Claim,
    ClaimResult,
    Finish,
    Grant,
    Learn,
    SharedPace,
    Store,
)
from voucherify.retry import RetryPolicy

logger = logging.getLogger("voucherify")

POLICY = RetryPolicy(total=0)
"""One call per claim: the outbox retries what was not sent itself, paced and backed off,
and never resends what may have been recorded."""

_STATE_OF = {
    Outcome.SENT: State.DELIVERED,
    Outcome.REJECTED: State.REJECTED,
    Outcome.INVALID: State.REJECTED,
    Outcome.UNKNOWN: State.UNKNOWN,
    Outcome.NOT_SENT: State.PENDING,
}

POLL_SECONDS = 1.0
"""How often an idle worker looks for events other processes added (its own wake it)."""
REAP_SECONDS = 5.0
"""How often a worker looks for dead workers' claims."""
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 60.0


def backoff(failures: int) -> float:
    """Seconds to pause after ``failures`` deliveries in a row certainly not processed:
    doubling from half a second up to a minute, with up to a quarter off at random."""
    base = min(BACKOFF_MAX, BACKOFF_FIRST * 2.0 ** min(failures - 1, 30))
    return base * (1.0 - 0.25 * random.random())


def error_doc(error: Optional[BaseException]) -> Optional[dict[str, Any]]:
    """What is kept of an error: its type and what the API said, never a key."""
    if error is None:
        return None
    doc: dict[str, Any] = {"type": type(error).__name__}
    if isinstance(error, ApiException):
        doc.update(status=error.status, key=error.key, message=error.message or error.reason,
                   details=error.details, request_id=error.request_id)
    else:
        doc["message"] = str(error)
    return {name: value for name, value in doc.items() if value is not None}


def finish_for(attempt: Attempt) -> Finish:
    """Where an event goes after ``attempt``: a 2xx that cannot be read is ``unknown``
    (the status says recorded, nothing else is known), whatever was not processed is
    ``pending`` again, the rest follows the outcome."""
    state = _STATE_OF[attempt.outcome]
    if state is State.DELIVERED and attempt.error is not None:
        state = State.UNKNOWN
    return Finish(state, attempt.status, attempt.customer_id, attempt.request_id,
                  error_doc(attempt.error))


def learner(attempt: Attempt, max_pause: float) -> Learn:
    """How the shared pace learns from ``attempt``: the rate-limit rule, then a backoff
    that grows while calls certainly do not reach the API (down, refused keys or settings)."""

    def learn(pace: SharedPace, now: float, in_flight: int) -> None:
        state = pace.state
        if not state.learn(attempt.rate_limit, attempt.status, now, in_flight, max_pause):
            state.paused_until = max(state.paused_until, now + max_pause)
        if attempt.outcome is Outcome.NOT_SENT and not attempt.rate_limited:
            pace.failures += 1
            state.paused_until = max(state.paused_until, now + backoff(pace.failures))
        else:
            pace.failures = 0

    return learn


@dataclass
class DeliveryReport:
    """What one :meth:`Outbox.deliver` call did."""

    delivered: int = 0
    rejected: int = 0
    unknown: int = 0
    retried: int = 0
    """Calls that certainly were not processed (API unreachable, 429...): the event is
    pending again."""
    elapsed: float = 0.0

    def count(self, state: State) -> None:
        if state is State.DELIVERED:
            self.delivered += 1
        elif state is State.REJECTED:
            self.rejected += 1
        elif state is State.UNKNOWN:
            self.unknown += 1
        else:
            self.retried += 1


@dataclass(frozen=True)
class Reap:
    """Turn dead workers' claims ``unknown``."""


@dataclass(frozen=True)
class ClaimNext:
    """Claim the oldest pending event if the shared pace lets a call go; send back what
    :meth:`Store.claim` returned."""

    grant: Grant


@dataclass(frozen=True)
class SendClaimed:
    """Send the claimed event once; send back the :class:`Attempt` (or throw what the call
    raised that is not an SDK error)."""

    claim: Claim


@dataclass(frozen=True)
class Record:
    """Record how the claimed event's call ended, and learn from it."""

    claim: Claim
    finish: Finish
    learn: Learn


@dataclass(frozen=True)
class Idle:
    """Nothing is pending: wait up to ``seconds``, less if an event is tracked."""

    seconds: float


@dataclass(frozen=True)
class Hold:
    """The shared pace says wait ``seconds`` (a new event does not shorten it)."""

    seconds: float


DeliveryStep = Union[Reap, ClaimNext, SendClaimed, Record, Idle, Hold]
DeliverySteps = Generator[DeliveryStep, Union[ClaimResult, Attempt, None], DeliveryReport]


def _no_learning(pace: SharedPace, now: float, in_flight: int) -> None:
    """A call that ended in no reply the SDK could classify teaches the pace nothing."""


def delivery(
    follow: bool,
    until: Optional[float],
    stopped: Callable[[], bool],
    grant: Grant,
    max_pause: float,
) -> DeliverySteps:
    """The delivery loop as steps, without I/O: claim, send, record; wait when nothing is
    pending (``follow``) or the pace says so. Ends when nothing is pending (unless
    ``follow``), at ``until`` (``time.monotonic()``), or once ``stopped()``; returns the
    report. A driver does each step its own way and sends back its result."""
    report = DeliveryReport()
    started = time.monotonic()
    next_reap = 0.0
    while not stopped():
        now = time.monotonic()
        if until is not None and now >= until:
            break
        if now >= next_reap:
            yield Reap()
            next_reap = now + REAP_SECONDS
        claimed = yield ClaimNext(grant)
        if isinstance(claimed, Claim):
            try:
                attempt = yield SendClaimed(claimed)
            except BaseException as error:  # not from the SDK (a bug, KeyboardInterrupt)
                yield Record(claimed, Finish(State.UNKNOWN, error=error_doc(error)),
                             _no_learning)
                raise
            assert isinstance(attempt, Attempt)
            finish = finish_for(attempt)
            yield Record(claimed, finish, learner(attempt, max_pause))
            _log(claimed, attempt, finish)
            report.count(finish.state)
            continue
        if claimed is None and not follow:
            break
        assert claimed is None or isinstance(claimed, float)
        wait = POLL_SECONDS if claimed is None else min(claimed, POLL_SECONDS)
        if until is not None:
            wait = min(wait, until - now)
        yield Idle(max(wait, 0.0)) if claimed is None else Hold(max(wait, 0.0))
    report.elapsed = time.monotonic() - started
    return report


class Delivery:
    """Drives :func:`delivery` over a store and a client, blocking; any number of threads
    may run it at once."""

    def __init__(
        self,
        store: Store,
        events_api: Callable[[], EventsApi],
        worker: Callable[[], str],
        max_rate: Optional[float],
        max_pause: float,
    ) -> None:
        self._store = store
        self._events_api = events_api
        self._worker = worker
        self._interval = 0.0 if not max_rate else 1.0 / max_rate
        self._max_pause = max_pause
        self.progress = threading.Condition()
        """Notified after every recorded call and every run's end, for :meth:`Outbox.flush`
        and :meth:`wait_idle`."""
        self.running = 0
        """Runs under way, in any thread (guarded by ``progress``)."""

    def grant(self, pace: SharedPace, now: float) -> float:
        return pace.state.grant(now, self._interval)

    def wait_idle(self, timeout: Optional[float]) -> bool:
        """Wait until no run is under way, at most ``timeout`` seconds; whether none is."""
        until = None if timeout is None else time.monotonic() + timeout
        with self.progress:
            while self.running:
                left = None if until is None else until - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self.progress.wait(left)
        return True

    def run(
        self,
        stops: Sequence[threading.Event],
        wake: threading.Event,
        follow: bool,
        until: Optional[float],
    ) -> DeliveryReport:
        """Deliver until nothing is pending (``follow``: until stopped), or ``until``
        (``time.monotonic()``) passes, or one of ``stops`` is set."""
        with self.progress:
            self.running += 1
        try:
            return self._run(stops, wake, follow, until)
        finally:
            with self.progress:
                self.running -= 1
                self.progress.notify_all()

    def _run(
        self,
        stops: Sequence[threading.Event],
        wake: threading.Event,
        follow: bool,
        until: Optional[float],
    ) -> DeliveryReport:
        store = self._store

        def stopped() -> bool:
            return any(stop.is_set() for stop in stops)

        steps = delivery(follow, until, stopped, self.grant, self._max_pause)
        result: Union[ClaimResult, Attempt, None] = None
        try:
            step = next(steps)
            while True:
                result = None
                if isinstance(step, ClaimNext):
                    wake.clear()  # before looking: a track from now on wakes the next Idle
                    result = store.claim(self._worker(), time.time(), step.grant)
                elif isinstance(step, SendClaimed):
                    try:
                        result = send_event(self._events_api(), step.claim.payload, POLICY,
                                            encoded=True)
                    except BaseException as error:
                        step = steps.throw(error)
                        continue
                elif isinstance(step, Record):
                    store.finish(self._worker(), step.claim, step.finish, time.time(),
                                 step.learn)
                    with self.progress:
                        self.progress.notify_all()
                elif isinstance(step, Reap):
                    store.reap()
                elif isinstance(step, Idle):
                    _wait(wake, stops, step.seconds)
                else:
                    _wait(None, stops, step.seconds)
                step = steps.send(result)
        except StopIteration as done:
            report: DeliveryReport = done.value
            return report
def _wait(wake: Optional[threading.Event], stops: Sequence[threading.Event], seconds: float
          ) -> None:
    """Wait ``seconds``, less if ``wake`` or one of ``stops`` is set."""
    first = stops[0]
    if wake is None and len(stops) == 1:
        first.wait(seconds)
        return
    until = time.monotonic() + seconds
    while not any(stop.is_set() for stop in stops):
        left = until - time.monotonic()
        if left <= 0:
            return
        if wake is not None:
            if wake.wait(min(left, 0.1)):
                return
        else:
            first.wait(min(left, 0.1))


def _log(claim: Claim, attempt: Attempt, finish: Finish) -> None:
    if finish.state is State.DELIVERED:
        return
    error = attempt.error
    if finish.state is State.PENDING:
        if attempt.rate_limited:
            logger.info("outbox: event %s met a 429; delivery waits", claim.id)
        elif isinstance(error, ApiException) and keys_refused(error):
            logger.error("outbox: the API refused the keys (%s) for event %s; delivery "
                         "pauses, the event stays pending", error.status, claim.id)
        elif isinstance(error, OpenApiException) and not isinstance(error, ApiException):
            logger.error("outbox: the SDK refused the settings for event %s (%s); delivery "
                         "pauses, the event stays pending", claim.id, error)
        else:
            logger.warning("outbox: event %s was not sent (%s); it stays pending",
                           claim.id, type(error).__name__)
        return
    logger.warning("outbox: event %s is %s (%s)", claim.id, finish.state.value,
                   (finish.error or {}).get("message") or (finish.error or {}).get("type"))
