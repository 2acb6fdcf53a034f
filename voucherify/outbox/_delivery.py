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
from typing import Any, Callable, Optional

from voucherify.api.events_api import EventsApi
from voucherify.bulk._outcome import Outcome, keys_refused
from voucherify.bulk._send import Attempt, send_event
from voucherify.exceptions import ApiException, OpenApiException
from voucherify.outbox._records import State
from voucherify.outbox._store import Claim, Finish, Learn, SharedPace, Store
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


class Delivery:
    """The delivery loop of one outbox: any number of threads may run it at once."""

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
        """Notified after every finished call, for :meth:`Outbox.flush`."""

    def grant(self, pace: SharedPace, now: float) -> float:
        return pace.state.grant(now, self._interval)

    def run(
        self,
        stop: threading.Event,
        wake: threading.Event,
        follow: bool,
        until: Optional[float],
    ) -> DeliveryReport:
        """Deliver until nothing is pending (``follow``: until ``stop``), or ``until``
        (``time.monotonic()``) passes, or ``stop`` is set."""
        report = DeliveryReport()
        started = time.monotonic()
        next_reap = 0.0
        store = self._store
        while not stop.is_set():
            now = time.monotonic()
            if until is not None and now >= until:
                break
            if now >= next_reap:
                store.reap()
                next_reap = now + REAP_SECONDS
            wake.clear()
            worker = self._worker()
            claimed = store.claim(worker, time.time(), self.grant)
            if isinstance(claimed, Claim):
                report.count(self._deliver(worker, claimed))
                continue
            if claimed is None and not follow:
                break
            wait = POLL_SECONDS if claimed is None else min(claimed, POLL_SECONDS)
            if until is not None:
                wait = min(wait, until - now)
            # Pacing waits are not shortened by a new event; an idle wait is.
            (wake if claimed is None else stop).wait(max(wait, 0.0))
        report.elapsed = time.monotonic() - started
        return report

    def _deliver(self, worker: str, claim: Claim) -> State:
        try:
            attempt = send_event(self._events_api(), claim.payload, POLICY, encoded=True)
        except BaseException as error:  # not from the SDK (a bug, KeyboardInterrupt)
            self._finish(worker, claim, Finish(State.UNKNOWN, error=error_doc(error)),
                         lambda pace, now, in_flight: None)
            raise
        finish = finish_for(attempt)
        self._finish(worker, claim, finish, learner(attempt, self._max_pause))
        _log(claim, attempt, finish)
        return finish.state

    def _finish(self, worker: str, claim: Claim, finish: Finish, learn: Learn) -> None:
        self._store.finish(worker, claim, finish, time.time(), learn)
        with self.progress:
            self.progress.notify_all()


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
