"""The outbox's delivery loop without I/O: the steps it asks for and what it decides.

Each test drives :func:`voucherify.outbox._delivery.delivery` by hand, answering each step
as a store and a client would, and checks the next step and the recorded state.
"""

from __future__ import annotations

from typing import Any, Optional

import pytest

from voucherify.bulk._outcome import Outcome
from voucherify.bulk._pacer import PaceState
from voucherify.bulk._send import Attempt
from voucherify.exceptions import ApiConnectionException
from voucherify.outbox._delivery import (
    ClaimNext,
    Hold,
    Idle,
    Reap,
    Record,
    SendClaimed,
    backoff,
    delivery,
    finish_for,
)
from voucherify.outbox._records import State
from voucherify.outbox._store import Claim, SharedPace
from voucherify.rate_limit import RateLimit

CLAIM = Claim("e1", b'{"event":"e","customer":{"source_id":"c"}}')


def _grant(pace: SharedPace, now: float) -> float:
    return 0.0


def start(follow: bool = False, until: Optional[float] = None, stopped: Any = None) -> Any:
    steps = delivery(follow, until, stopped or (lambda: False), _grant, 3600.0)
    return steps, next(steps)


def test_the_first_step_reaps_then_claims_and_an_empty_store_ends_a_non_following_run() -> None:
    steps, step = start()
    assert isinstance(step, Reap)
    assert isinstance(steps.send(None), ClaimNext)
    with pytest.raises(StopIteration) as done:
        steps.send(None)
    assert done.value.value.delivered == 0


def test_a_following_run_idles_when_nothing_is_pending_and_holds_when_the_pace_says_wait() -> None:
    steps, _ = start(follow=True)
    steps.send(None)  # the claim
    idle = steps.send(None)
    assert isinstance(idle, Idle) and 0 < idle.seconds <= 1.0
    assert isinstance(steps.send(None), ClaimNext)
    hold = steps.send(0.25)
    assert isinstance(hold, Hold) and hold.seconds == 0.25


def test_a_claim_is_sent_then_recorded_with_the_state_its_outcome_gives() -> None:
    steps, _ = start()
    steps.send(None)
    send = steps.send(CLAIM)
    assert isinstance(send, SendClaimed) and send.claim is CLAIM
    record = steps.send(Attempt(Outcome.SENT, customer_id="cust_1", status=200))
    assert isinstance(record, Record)
    assert record.finish.state is State.DELIVERED and record.finish.customer_id == "cust_1"
    assert isinstance(steps.send(None), ClaimNext)
    with pytest.raises(StopIteration) as done:
        steps.send(None)
    assert done.value.value.delivered == 1


@pytest.mark.parametrize(
    ("attempt", "state"),
    [
        (Attempt(Outcome.SENT, status=200), State.DELIVERED),
        (Attempt(Outcome.REJECTED, status=400), State.REJECTED),
        (Attempt(Outcome.INVALID), State.REJECTED),
        (Attempt(Outcome.UNKNOWN, status=500), State.UNKNOWN),
        (Attempt(Outcome.NOT_SENT, status=429), State.PENDING),
        (Attempt(Outcome.NOT_SENT, ApiConnectionException("refused", request_sent=False)),
         State.PENDING),
    ],
)
def test_each_outcome_has_one_state(attempt: Attempt, state: State) -> None:
    assert finish_for(attempt).state is state


def test_a_2xx_whose_body_cannot_be_read_is_unknown_not_delivered() -> None:
    from voucherify.exceptions import InvalidResponseException

    error = InvalidResponseException("not JSON", status=200, reason="OK")
    attempt = Attempt(Outcome.SENT, error, status=200)
    finish = finish_for(attempt)
    assert finish.state is State.UNKNOWN
    assert finish.error is not None and finish.error["type"] == "InvalidResponseException"


def test_a_429_pauses_every_worker_for_its_retry_after_and_keeps_the_event_pending() -> None:
    steps, _ = start()
    steps.send(None)
    steps.send(CLAIM)
    record = steps.send(Attempt(Outcome.NOT_SENT, status=429,
                                rate_limit=RateLimit(retry_after=7.0)))
    assert record.finish.state is State.PENDING
    pace = SharedPace()
    record.learn(pace, 1000.0, 0)
    assert pace.state.paused_until == pytest.approx(1007.0)
    assert pace.failures == 0


def test_a_retry_after_over_max_pause_pauses_for_max_pause_only() -> None:
    steps = delivery(False, None, lambda: False, _grant, 30.0)
    next(steps)
    steps.send(None)
    steps.send(CLAIM)
    record = steps.send(Attempt(Outcome.NOT_SENT, status=429,
                                rate_limit=RateLimit(retry_after=float("inf"))))
    pace = SharedPace()
    record.learn(pace, 1000.0, 0)
    assert pace.state.paused_until == pytest.approx(1030.0)


def test_calls_that_never_reach_the_api_back_off_more_each_time_and_a_reply_resets_it() -> None:
    refused = Attempt(Outcome.NOT_SENT, ApiConnectionException("refused", request_sent=False))
    pace = SharedPace()
    pauses = []
    for _ in range(4):
        steps, _ = start()
        steps.send(None)
        steps.send(CLAIM)
        record = steps.send(refused)
        before = pace.state.paused_until = 0.0
        record.learn(pace, 0.0, 0)
        pauses.append(pace.state.paused_until - before)
    assert pace.failures == 4
    assert pauses[0] < pauses[2] < pauses[3]
    ok = Attempt(Outcome.SENT, status=200)
    steps, _ = start()
    steps.send(None)
    steps.send(CLAIM)
    steps.send(ok).learn(pace, 0.0, 0)
    assert pace.failures == 0


def test_backoff_doubles_to_a_minute_with_at_most_a_quarter_off() -> None:
    for failures, base in [(1, 0.5), (2, 1.0), (3, 2.0), (8, 60.0), (100, 60.0)]:
        assert 0.75 * base <= backoff(failures) <= base


def test_the_rate_limit_headers_of_a_reply_teach_the_shared_pace() -> None:
    steps, _ = start()
    steps.send(None)
    steps.send(CLAIM)
    record = steps.send(Attempt(Outcome.SENT, status=200,
                                rate_limit=RateLimit(limit=10, remaining=0, retry_at=1005.0)))
    pace = SharedPace(PaceState())
    record.learn(pace, 1000.0, 0)
    assert pace.state.grant(1001.0) == pytest.approx(4.0)
    assert pace.state.grant(1005.0) == 0.0


def test_an_error_that_is_not_the_sdks_records_the_claim_unknown_then_propagates() -> None:
    steps, _ = start()
    steps.send(None)
    steps.send(CLAIM)
    record = steps.throw(KeyboardInterrupt())
    assert isinstance(record, Record) and record.finish.state is State.UNKNOWN
    with pytest.raises(KeyboardInterrupt):
        steps.send(None)


def test_stopping_ends_the_run_before_the_next_claim() -> None:
    stop = [False]
    steps, _ = start(follow=True, stopped=lambda: stop[0])
    steps.send(None)
    steps.send(CLAIM)
    steps.send(Attempt(Outcome.SENT, status=200))
    stop[0] = True
    with pytest.raises(StopIteration) as done:
        steps.send(None)
    assert done.value.value.delivered == 1


def test_a_deadline_already_past_ends_the_run_at_once() -> None:
    steps = delivery(True, 0.0, lambda: False, _grant, 3600.0)
    with pytest.raises(StopIteration):
        next(steps)
