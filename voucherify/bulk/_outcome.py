"""What happened to one item, decided once from the pipeline's result.

Bulk runs, the journal and the command line (and later the outbox) all name an item's fate
with :class:`Outcome` and take it from :func:`outcome_of`; :func:`keys_refused` is the one
decision that a failure is about the keys rather than the item.
"""

from __future__ import annotations

import enum
from typing import Optional

from voucherify.exceptions import (
    ApiException,
    ApiTransportException,
    ForbiddenException,
    ServiceException,
    UnauthorizedException,
)


class Outcome(str, enum.Enum):
    """What happened to one item."""

    SENT = "sent"
    """The API recorded the event: it answered 2xx. When that reply's body could not be
    read, ``error`` is the :class:`~voucherify.InvalidResponseException` and ``customer_id``
    is ``None``; the status says the event was recorded, so it is never sent again."""
    REJECTED = "rejected"
    """The API refused it (4xx): not recorded. ``error`` says why; with ``earlier``, an
    earlier run was refused it, per the journal, and it was not sent again."""
    INVALID = "invalid"
    """The SDK refused it before sending (it breaks the API's rules, is not an object, or
    cannot be encoded): not sent. ``error`` names what is wrong."""
    UNKNOWN = "unknown"
    """It was sent and the reply was lost (or a 5xx came): it may have been recorded.
    With ``earlier``, this is an earlier run's item, left alone unless ``resend_unknown``."""
    NOT_SENT = "not_sent"
    """It was certainly not processed: no connection could be made, the run stopped before
    it was sent, a 429 asked for a wait over ``max_wait``, or the API refused the keys
    (401/403, which stops the run); a rerun with the journal sends it."""
    SKIPPED = "skipped"
    """The journal says an earlier run sent this item: it is not sent again."""

    @property
    def done(self) -> bool:
        """Whether the item is known to be recorded (now or by an earlier run)."""
        return self in _DONE

    @property
    def final(self) -> bool:
        """Whether a journal holding this outcome for an item keeps it from being sent again:
        it was recorded, or refused as it is (sending it unchanged would be refused again)."""
        return self in _FINAL

    @property
    def refused(self) -> bool:
        """Whether the item was refused as it is, by the API or the SDK: fix it to send it."""
        return self in _REFUSED


_DONE = frozenset({Outcome.SENT, Outcome.SKIPPED})
_FINAL = frozenset({Outcome.SENT, Outcome.REJECTED, Outcome.INVALID})
_REFUSED = frozenset({Outcome.REJECTED, Outcome.INVALID})


def keys_refused(error: Optional[BaseException]) -> bool:
    """Whether ``error`` is the API refusing the keys (401/403) rather than the item.

    Such a call was not processed, and every later call would meet the same refusal: the
    item is not sent, and a run stops.
    """
    return isinstance(error, (UnauthorizedException, ForbiddenException))


def outcome_of(error: ApiException) -> Outcome:
    """The outcome of an item whose call ended in ``error`` (anything but a 429 or a 2xx
    with an unreadable body, which the caller decides first)."""
    if keys_refused(error):
        return Outcome.NOT_SENT
    if isinstance(error, ApiTransportException):
        return Outcome.NOT_SENT if error.request_sent is False else Outcome.UNKNOWN
    if isinstance(error, ServiceException):
        return Outcome.UNKNOWN
    return Outcome.REJECTED
