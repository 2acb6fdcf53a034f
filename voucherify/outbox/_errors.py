"""What the outbox raises: SDK exceptions, so ``except OpenApiException`` catches them too."""

from __future__ import annotations

from voucherify.exceptions import ApiValueError, OpenApiException


class OutboxError(OpenApiException):
    """The outbox cannot be used as asked: the file is not an outbox, is from a newer
    release, or the outbox is closed. Nothing was stored or changed."""


class OutboxFullError(OutboxError):
    """The outbox holds as many undelivered events (or bytes) as its cap allows; the event
    was not stored. Deliver, resend or discard what it holds, or raise the cap."""

    def __init__(self, message: str, held_events: int, held_bytes: int) -> None:
        super().__init__(message)
        self.held_events = held_events
        self.held_bytes = held_bytes

    @classmethod
    def over_cap(cls, held_events: int, held_bytes: int, size: int, max_events: int,
                 max_bytes: int) -> OutboxFullError:
        """The error for an event of ``size`` bytes that the caps leave no room for, saying
        which cap it met; the same words from every store."""
        if held_events + 1 > max_events:
            why = f"it holds {held_events} undelivered events, its cap (max_events={max_events})"
        else:
            why = (f"{held_bytes} bytes of undelivered events plus this one's {size} would "
                   f"pass its cap (max_bytes={max_bytes})")
        return cls(
            f"the outbox is full: {why}; the event was not stored. Deliver, resend or discard "
            "what it holds (voucherify outbox status/list), or raise the cap", held_events,
            held_bytes)


def unknown_after(event_id: str) -> ApiValueError:
    """``events(after=...)`` named an event the outbox does not hold (purged, or a typo):
    listing from the start instead would show a paging operator events twice."""
    return ApiValueError(f"after: the outbox holds no event {event_id!r} (purged, or not an "
                         "id of this outbox); page from the last id you listed that remains")
