"""The storage interface: what an outbox needs from where it keeps events.

Everything above it (validation, the worker, pacing decisions, lifecycle, the operator views
and the command line) is written once against :class:`Store`; SQLite and PostgreSQL are two
implementations. A store owns durability, claims and worker liveness; it decides nothing
about delivery. Each method is one transaction unless it says otherwise.
"""

from __future__ import annotations

import abc
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Union

from voucherify.bulk._pacer import PaceState
from voucherify.outbox._records import OutboxEvent, OutboxStats, State

SCHEMA_VERSION = 1
"""The layout this release writes; a store whose recorded version is higher is refused."""

DEFAULT_MAX_EVENTS = 1_000_000
DEFAULT_MAX_BYTES = 1024 * 1024 * 1024
"""The default caps on held (undelivered, not discarded) events: a million, or 1 GiB."""


@dataclass
class SharedPace:
    """The pacing every worker of one outbox shares, kept in the store.

    ``state`` is the pacing rule's own state on the Unix clock; ``failures`` counts
    deliveries in a row that certainly did not reach the API (for the backoff).
    """

    state: PaceState = field(default_factory=PaceState)
    failures: int = 0


@dataclass(frozen=True)
class Claim:
    """An event a worker now holds (``sending``): its id and the bytes to send."""

    id: str
    payload: bytes


@dataclass(frozen=True)
class Finish:
    """Where a claimed event goes once its call has ended."""

    state: State
    status: Optional[int] = None
    customer_id: Optional[str] = None
    request_id: Optional[str] = None
    error: Optional[dict[str, Any]] = None


Grant = Callable[[SharedPace, float], float]
"""Given the shared pace and the time, seconds to wait (0: go, the call is counted)."""
Learn = Callable[[SharedPace, float, int], None]
"""Given the shared pace, the time and the calls still in flight, learn from a call."""

ClaimResult = Union[Claim, float, None]
"""A claim; or seconds to wait before one may be made; or ``None``: nothing is pending."""


class Store(abc.ABC):
    """Where one outbox keeps its events, its workers and its shared pacing."""

    max_events: int
    max_bytes: int
    lock: threading.RLock
    display: str
    """Where the store is, safe to show: a path, or a URL with its password masked."""
    """Held by every use of the store's connections; the outbox holds it across a fork."""

    @abc.abstractmethod
    def add(self, event_id: str, payload: bytes, now: float, connection: Any = None) -> None:
        """Store one ``pending`` event, durably before returning; raise
        :class:`OutboxFullError` (storing nothing) past a cap. With ``connection`` (a
        store that supports it), write through the caller's transaction without committing."""

    @abc.abstractmethod
    def register_worker(self) -> str:
        """Make this process a worker that may hold claims; return its id. Its claims stay
        its own for as long as it lives (however long it takes), and no longer."""

    @abc.abstractmethod
    def unregister_worker(self, worker: str) -> None:
        """End a worker: any claim it still holds becomes ``unknown``."""

    @abc.abstractmethod
    def reap(self) -> int:
        """Turn the claims of workers that are gone into ``unknown``; how many."""

    @abc.abstractmethod
    def claim(self, worker: str, now: float, grant: Grant) -> ClaimResult:
        """Claim the oldest ``pending`` event for ``worker`` if ``grant`` lets a call go."""

    @abc.abstractmethod
    def finish(self, worker: str, claim: Claim, finish: Finish, now: float, learn: Learn) -> None:
        """Record how ``claim``'s call ended and let ``learn`` update the shared pace."""

    @abc.abstractmethod
    def active(self) -> int:
        """How many events are ``pending`` or ``sending``."""

    @abc.abstractmethod
    def stats(self, now: float) -> OutboxStats:
        """Counts by state and what monitoring needs."""

    @abc.abstractmethod
    def events(
        self, state: Optional[State], limit: Optional[int], after: Optional[str] = None
    ) -> list[OutboxEvent]:
        """Events oldest first (in ``state`` if given), after the event ``after``."""

    @abc.abstractmethod
    def move(self, ids: Iterable[str], from_states: frozenset[State], to: State, now: float
             ) -> list[str]:
        """Move the events among ``ids`` that are in one of ``from_states`` to ``to``;
        the ids moved."""

    @abc.abstractmethod
    def purge(self, before: float, states: frozenset[State]) -> int:
        """Delete events in ``states`` last changed before ``before``; how many."""

    @abc.abstractmethod
    def before_fork(self) -> None:
        """In the parent, just before ``os.fork()``, with :attr:`lock` held: leave nothing
        the child must not inherit."""

    @abc.abstractmethod
    def forget_after_fork(self) -> None:
        """In a forked child: drop every connection, lock and worker inherited from the
        parent without closing or using them (they are the parent's)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections; a registered worker must be unregistered first."""
