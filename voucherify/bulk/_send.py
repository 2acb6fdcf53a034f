"""One event sent once, and what became of it: the decision bulk runs and the outbox share.

:func:`send_event` makes one call and classifies how it ended as an :class:`Outcome`, with
what the pacer needs to learn from it (the rate-limit headers and the status). Deciding what
a run or a worker does next (wait out a 429, stop, pause) stays with the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from voucherify._pipeline.request import EncodedBody
from voucherify.api.events_api import TRACK_CUSTOM_EVENT, EventsApi
from voucherify.bulk._outcome import Outcome, outcome_of
from voucherify.exceptions import (
    ApiException,
    InvalidResponseException,
    OpenApiException,
    TooManyRequestsException,
)
from voucherify.rate_limit import RateLimit
from voucherify.retry import RetryPolicy

_PROBE = {"event": "settings_check", "customer": {"source_id": "settings_check"}}
"""A valid body, prepared (never sent) to check the settings before any event is taken."""


def refused_settings(events_api: EventsApi) -> Optional[OpenApiException]:
    """The SDK's refusal of ``events_api``'s settings (host, keys, headers), or ``None``.

    Preparing a call checks all of them without any I/O, so a bulk run or an outbox worker
    stops on settings no event would get past before it reads, claims or sends anything.
    """
    try:
        events_api.api_client._prepare(TRACK_CUSTOM_EVENT, _PROBE, (), {})
    except OpenApiException as error:
        return error
    return None


@dataclass(frozen=True)
class Attempt:
    """How one call ended.

    ``outcome`` is ``NOT_SENT`` for a 429 (``rate_limited``), for a failure before the
    request left, for refused keys, and for settings the SDK refused (``settings_refused``:
    no call was made). A 2xx whose body cannot be read is ``SENT`` with ``error`` set.
    """

    outcome: Outcome
    error: Optional[OpenApiException] = None
    customer_id: Optional[str] = None
    request_id: Optional[str] = None
    status: Optional[int] = None
    rate_limit: Optional[RateLimit] = None

    @property
    def rate_limited(self) -> bool:
        """Whether the API answered 429: the call was not processed."""
        return self.status == 429

    @property
    def settings_refused(self) -> bool:
        """Whether the SDK refused the client's settings (host, keys, headers) before I/O."""
        return self.error is not None and not isinstance(self.error, ApiException)


def send_event(
    events_api: EventsApi, body: Any, policy: RetryPolicy, encoded: bool = False
) -> Attempt:
    """Track ``body`` once through ``events_api`` under ``policy``, and classify the end.

    With ``encoded``, ``body`` is the bytes :func:`~voucherify.bulk.encode_event` made,
    sent unchanged. Never raises an SDK exception: each is an :class:`Attempt`.
    """
    request_body: Any = EncodedBody(body) if encoded else body
    try:
        response = events_api.track_custom_event_with_http_info(
            events_create_request_body=request_body, _retries=policy
        )
    except TooManyRequestsException as error:
        return Attempt(Outcome.NOT_SENT, error, status=429, rate_limit=error.rate_limit)
    except InvalidResponseException as error:
        # A 2xx: the API recorded the event, though its reply cannot be read.
        return Attempt(Outcome.SENT, error, status=error.status, rate_limit=error.rate_limit)
    except ApiException as error:
        return Attempt(outcome_of(error), error, request_id=error.request_id,
                       status=error.status, rate_limit=error.rate_limit)
    except OpenApiException as error:
        return Attempt(Outcome.NOT_SENT, error)
    return Attempt(
        Outcome.SENT,
        customer_id=response.data.customer.id,
        request_id=response.headers.get("X-Request-Id"),
        status=response.status_code,
        rate_limit=response.rate_limit,
    )
