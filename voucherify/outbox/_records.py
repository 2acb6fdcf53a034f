"""The outbox's vocabulary: an event's :class:`State`, and what operators read back."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any, Optional


class State(str, enum.Enum):
    """Where one event stands; every event is in exactly one state."""

    PENDING = "pending"
    """Stored, not yet sent (or certainly not processed yet: it will be sent)."""
    SENDING = "sending"
    """Claimed by a live worker, which is sending it now."""
    DELIVERED = "delivered"
    """The API answered 2xx: recorded. The customer id and request id are kept."""
    REJECTED = "rejected"
    """The API refused it (a 4xx other than 429): not recorded, never sent again unless an
    operator resends it. The parsed error is kept."""
    UNKNOWN = "unknown"
    """It may have been recorded (reply lost, read timeout, 5xx, a 2xx that could not be
    read, a worker that died while sending): never sent again unless an operator resends it."""
    DISCARDED = "discarded"
    """An operator set it aside: never sent."""

    @property
    def held(self) -> bool:
        """Whether an event in this state counts against the outbox's cap: not delivered
        and not discarded."""
        return self in HELD_STATES

    @property
    def resendable(self) -> bool:
        """Whether :meth:`Outbox.resend` moves an event in this state back to pending."""
        return self in RESENDABLE_STATES

    @property
    def discardable(self) -> bool:
        """Whether :meth:`Outbox.discard` sets an event in this state aside."""
        return self in DISCARDABLE_STATES


HELD_STATES = frozenset({State.PENDING, State.SENDING, State.REJECTED, State.UNKNOWN})


def sql_list(states: frozenset[State]) -> str:
    """``states`` as an SQL list of literals, ``('pending', ...)``, for a store's schema
    (triggers and checks take no parameters)."""
    return "(" + ", ".join(f"'{state.value}'" for state in sorted(states)) + ")"
RESENDABLE_STATES = frozenset({State.UNKNOWN, State.REJECTED})
DISCARDABLE_STATES = frozenset({State.PENDING, State.UNKNOWN, State.REJECTED})
PURGEABLE_STATES = frozenset({State.DELIVERED, State.DISCARDED})


@dataclass(frozen=True)
class OutboxEvent:
    """One stored event as operators see it; no key is ever part of it."""

    id: str
    state: State
    created_at: float
    """Unix time when it was tracked."""
    updated_at: float
    """Unix time of its last change of state."""
    attempts: int
    """How many times a worker sent it (or tried to)."""
    payload: bytes
    """The request body exactly as it is (or was) sent."""
    status: Optional[int] = None
    """The HTTP status of the last reply, if one came."""
    customer_id: Optional[str] = None
    request_id: Optional[str] = None
    error: Optional[dict[str, Any]] = None
    """Why it is ``rejected`` or ``unknown``: ``status``, ``key``, ``message``, ``details``,
    ``request_id`` and ``type`` (the exception's class), whichever are known."""

    @property
    def body(self) -> dict[str, Any]:
        """The request body, decoded."""
        decoded: dict[str, Any] = json.loads(self.payload)
        return decoded

    @property
    def event(self) -> Optional[str]:
        """The event's name."""
        return _event_name(self.body)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (the body decoded), as ``voucherify outbox list`` prints it."""
        body = self.body
        return {
            "id": self.id,
            "state": self.state.value,
            "event": _event_name(body),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "attempts": self.attempts,
            "status": self.status,
            "customer_id": self.customer_id,
            "request_id": self.request_id,
            "error": self.error,
            "body": body,
        }


def _event_name(body: dict[str, Any]) -> Optional[str]:
    name = body.get("event")
    return name if isinstance(name, str) else None


@dataclass(frozen=True)
class OutboxStats:
    """Counts for monitoring: alert on ``unknown`` and ``rejected`` growing, and on
    ``oldest_pending_age`` (seconds) growing while the API is up."""

    counts: dict[State, int]
    oldest_pending_age: Optional[float]
    """Seconds since the oldest ``pending`` event was tracked; ``None`` when none is."""
    held_events: int
    """Events counting against the cap (pending, sending, rejected, unknown)."""
    held_bytes: int
    max_events: int
    max_bytes: int
    workers: int
    """Workers registered on the outbox now (in any process)."""
    paused_for: float
    """Seconds until delivery may go on, when it is paused (a 429, the API down); else 0."""

    @classmethod
    def at(
        cls,
        now: float,
        counts: dict[State, int],
        oldest_pending_at: Optional[float],
        held: tuple[int, int],
        caps: tuple[int, int],
        workers: int,
        paused_until: float,
    ) -> OutboxStats:
        """The stats as of ``now`` (the store's clock) from what a store read: when the
        oldest pending event was tracked, the held events and bytes, the caps, and until
        when delivery is paused."""
        return cls(
            counts=counts,
            oldest_pending_age=(None if oldest_pending_at is None
                                else max(0.0, now - oldest_pending_at)),
            held_events=held[0],
            held_bytes=held[1],
            max_events=caps[0],
            max_bytes=caps[1],
            workers=workers,
            paused_for=max(0.0, paused_until - now),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, as ``voucherify outbox status`` prints it."""
        return {
            "counts": {state.value: count for state, count in self.counts.items()},
            "oldest_pending_age": self.oldest_pending_age,
            "held_events": self.held_events,
            "held_bytes": self.held_bytes,
            "max_events": self.max_events,
            "max_bytes": self.max_bytes,
            "workers": self.workers,
            "paused_for": self.paused_for,
        }
