"""Track many events with bounded concurrency on one client, paced, journaled, resumable."""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Union

from voucherify.api.events_api import EventsApi
from voucherify.bulk._item import check_item, item_key
from voucherify.bulk._journal import SENDING, Journal
from voucherify.bulk._outcome import Outcome, keys_refused
from voucherify.bulk._pacer import Pacer
from voucherify.bulk._send import refused_settings, send_event
from voucherify.exceptions import (
    ApiException,
    ApiValueError,
    OpenApiException,
    TooManyRequestsException,
)
from voucherify.retry import RETRY_STATUSES, RetryPolicy, resolve_policy

logger = logging.getLogger("voucherify")

@dataclass(frozen=True)
class ItemResult:
    """One item's outcome; ``index`` is its position in the input, from 0."""

    index: int
    key: str
    outcome: Outcome
    error: Optional[OpenApiException] = None
    customer_id: Optional[str] = None
    earlier: bool = False
    """The outcome is an earlier run's, read from the journal: nothing was sent this time."""


@dataclass
class BulkResult:
    """The summary of a run: counts by outcome and the items that need a look."""

    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    rejected: list[ItemResult] = field(default_factory=list)
    """Items refused by the API or invalid (now or by an earlier run), with their errors."""
    unknown: list[ItemResult] = field(default_factory=list)
    """Items that may or may not have been recorded."""
    stopped: Optional[str] = None
    """Why the run stopped early (401/403, a setting the SDK refused, a 429 asking for a
    wait over ``max_wait``, or ``stop`` was set), or ``None``. Input after the stop is not
    read, so ``total`` counts only what was."""
    settings_error: Optional[OpenApiException] = None
    """When the SDK refused the settings (the host, a key, a header), its error: no item
    could have been sent, and none was."""
    rate_limited: int = 0
    """How many 429 replies the run met (each waited out and sent again)."""
    elapsed: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        """Whether every item was sent (now or by an earlier run) and the run did not stop."""
        done = sum(count for outcome, count in self.counts.items() if outcome.done)
        return self.stopped is None and done == self.total and not self.unknown


def track_events(
    events_api: EventsApi,
    items: Iterable[Any],
    *,
    concurrency: int = 8,
    max_rate: Optional[float] = None,
    journal: Union[str, Path, Journal, None] = None,
    resend_unknown: bool = False,
    on_result: Optional[Callable[[ItemResult], None]] = None,
    stop: Optional[threading.Event] = None,
) -> BulkResult:
    """Track every event body in ``items`` through ``events_api``; see :mod:`voucherify.bulk`.

    ``concurrency`` calls run at once on the one client; ``max_rate`` caps calls per second,
    and the API's rate-limit headers pace the run below its limit. With ``journal``, each
    item's fate is appended to that file, and a rerun with the same input skips what was
    done, sends what was not, and leaves items of unknown fate alone unless
    ``resend_unknown``; while it runs the file is locked, and a second run on it raises
    :class:`JournalInUseError`. A :class:`Journal` already opened may be passed instead
    of a path; the caller then closes it. ``on_result`` is called, from worker threads, for
    each item. Setting ``stop`` (from any thread) ends the run once the calls in flight
    finish. An exception from ``items`` or ``on_result`` stops the run and is raised here.

    A bad item (``None``, not an object, over 10 MiB, a cycle...) is ``invalid`` and the
    run goes on; settings the SDK refuses stop the run before any item is read.
    """
    if concurrency < 1:
        raise ApiValueError("concurrency must be at least 1")
    if max_rate is not None and not max_rate > 0:
        raise ApiValueError("max_rate must be a positive number of calls per second")
    refused = refused_settings(events_api)
    if refused is not None:
        return BulkResult(stopped=f"the SDK refused the settings: {refused}",
                          settings_error=refused)
    configuration = events_api.api_client.configuration
    # The configured policy's bound on a demanded wait, for the pacer's waits too.
    max_wait = resolve_policy(configuration.retries).max_wait
    pool_size = configuration.connection_pool_maxsize
    if pool_size < concurrency:
        logger.warning(
            "connection_pool_maxsize (%d) is below the concurrency (%d): connections will be "
            "opened and thrown away; set configuration.connection_pool_maxsize before making "
            "the client",
            pool_size,
            concurrency,
        )
    opened = journal if isinstance(journal, Journal) or journal is None else Journal(journal)
    # Retry what was not sent, but let 429s through: the pacer holds every worker back.
    policy = RetryPolicy(total=3, status_forcelist=RETRY_STATUSES - {429}, max_wait=max_wait)
    run = _Run(events_api, Pacer(max_rate, max_wait), opened, policy, resend_unknown,
               on_result, stop or threading.Event())
    started = time.monotonic()
    try:
        run.execute(iter(items), concurrency)
    finally:
        if opened is not None and opened is not journal:
            opened.close()
    if run.failure is not None:
        raise run.failure
    if run.stop.is_set() and run.result.stopped is None:
        run.result.stopped = "stopped by the caller"
    run.result.rate_limited = run.pacer.rate_limited
    run.result.elapsed = time.monotonic() - started
    return run.result


def _seconds(wait: Optional[float]) -> str:
    if wait is None or math.isnan(wait):
        return "an unstated time"
    return "without end" if math.isinf(wait) else f"{wait:.0f}s"


@dataclass
class _Run:
    """The state one call of :func:`track_events` shares between its worker threads."""

    events_api: EventsApi
    pacer: Pacer
    journal: Optional[Journal]
    policy: RetryPolicy
    resend_unknown: bool
    on_result: Optional[Callable[[ItemResult], None]]
    stop: threading.Event
    result: BulkResult = field(default_factory=BulkResult)
    failure: Optional[BaseException] = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_index: int = 0

    def execute(self, items: Iterator[Any], concurrency: int) -> None:
        workers = [
            threading.Thread(target=self._work, args=(items,), name=f"voucherify-bulk-{n}")
            for n in range(concurrency)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def _next(self, items: Iterator[Any]) -> Optional[tuple[int, Any]]:
        with self._lock:
            try:
                body = next(items)
            except StopIteration:
                return None
            index = self._next_index
            self._next_index += 1
            return index, body

    def _work(self, items: Iterator[Any]) -> None:
        try:
            while not self.stop.is_set():
                taken = self._next(items)
                if taken is None:
                    return
                index, body = taken
                self._finish(self._track(index, item_key(index, body), body))
        except BaseException as error:  # from the caller's items or on_result: stop, re-raise
            with self._lock:
                if self.failure is None:
                    self.failure = error
            self._stop_run(f"stopped by {type(error).__name__}")

    def _track(self, index: int, key: str, body: Any) -> ItemResult:
        journal = self.journal
        finished = journal.records.finished(key) if journal is not None else None
        if finished is Outcome.SENT:
            return ItemResult(index, key, Outcome.SKIPPED, earlier=True)
        if finished is not None:
            # Refused before: still not recorded, so counted as refused again, not as done.
            return ItemResult(index, key, finished, earlier=True)
        earlier = journal.state(key) if journal is not None else None
        if earlier in (SENDING, Outcome.UNKNOWN.value) and not self.resend_unknown:
            return ItemResult(index, key, Outcome.UNKNOWN, earlier=True)
        problem = check_item(body)
        if problem is not None:
            return self._journaled(ItemResult(index, key, Outcome.INVALID, problem))
        while self.pacer.acquire(self.stop):
            if self.journal is not None:
                self.journal.record(key, SENDING)
            outcome = self._send(index, key, body)
            if outcome is not None:
                return self._journaled(outcome)
        return self._journaled(ItemResult(index, key, Outcome.NOT_SENT))

    def _send(self, index: int, key: str, body: Any) -> Optional[ItemResult]:
        """One call; ``None`` when it met a 429 and must wait for the pacer and go again."""
        attempt = send_event(self.events_api, body, self.policy)
        within = self.pacer.observe(attempt.rate_limit, attempt.status)
        if attempt.rate_limited:
            if within:
                return None
            assert isinstance(attempt.error, TooManyRequestsException)
            self._stop_run(
                f"the API asked to wait {_seconds(attempt.error.retry_after)} before the next "
                f"call, longer than max_wait ({self.pacer.max_wait:g}s); run again later to "
                "send the rest"
            )
        elif attempt.settings_refused:
            # check_item passed this body: the refusal is of a setting changed since the
            # run began (a key, the host), which no item will get past. Nothing was sent.
            with self._lock:
                if self.result.settings_error is None:
                    self.result.settings_error = attempt.error
            self._stop_run(f"the SDK refused the settings: {attempt.error}")
        elif isinstance(attempt.error, ApiException) and keys_refused(attempt.error):
            # Not the item's fault: a rerun with the right keys must send it.
            self._stop_run(f"{attempt.error.status} {attempt.error.key or attempt.error.reason}")
        return ItemResult(index, key, attempt.outcome, attempt.error,
                          customer_id=attempt.customer_id)

    def _stop_run(self, why: str) -> None:
        with self._lock:
            if self.result.stopped is None:
                self.result.stopped = why
        self.stop.set()

    def _journaled(self, item: ItemResult) -> ItemResult:
        if self.journal is not None:
            details: dict[str, Any] = {}
            if isinstance(item.error, ApiException) and item.error.status is not None:
                details["status"] = item.error.status
            self.journal.record(item.key, item.outcome.value, **details)
        return item

    def _finish(self, item: ItemResult) -> None:
        with self._lock:
            self.result.counts[item.outcome] += 1
            if item.outcome.refused:
                self.result.rejected.append(item)
            elif item.outcome is Outcome.UNKNOWN:
                self.result.unknown.append(item)
        if self.on_result is not None:
            self.on_result(item)
