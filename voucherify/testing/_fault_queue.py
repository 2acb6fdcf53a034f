"""The queue of injected faults: which fault, if any, the next request to a path gets."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Optional

from voucherify.testing.faults import Fault


@dataclass
class _Injection:
    fault: Fault
    remaining: int
    path: Optional[str]


class FaultQueue:
    """Injections in FIFO order; each applies to its next ``times`` matching requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Injection] = []

    def inject(self, fault: Fault, times: int = 1, path: Optional[str] = None) -> None:
        """Queue ``fault`` for the next ``times`` requests to ``path`` (``None``: any path)."""
        check_injection(fault, times, path)
        with self._lock:
            self._queue.append(_Injection(fault, times, path))

    def take(self, path: str) -> Optional[Fault]:
        """The fault for a request to ``path`` (query string removed), using up one of its times.

        The oldest injection whose path matches wins; injections for other paths wait.
        """
        with self._lock:
            for index, injection in enumerate(self._queue):
                if injection.path is None or injection.path == path:
                    injection.remaining -= 1
                    if injection.remaining == 0:
                        del self._queue[index]
                    return injection.fault
        return None

    def clear(self) -> None:
        """Drop every queued injection."""
        with self._lock:
            self._queue.clear()


def check_injection(fault: Fault, times: int, path: Optional[str]) -> None:
    """Refuse an injection that could never apply, before it is queued (here or remotely)."""
    if not isinstance(fault, Fault):
        raise TypeError("inject a Fault, made by one of the voucherify.testing.faults functions")
    if isinstance(times, bool) or not isinstance(times, int):
        raise TypeError("times must be an int")
    if times < 1:
        raise ValueError("times must be 1 or more")
    if path is not None and (
        not isinstance(path, str) or not path.startswith("/") or "?" in path
    ):
        raise ValueError("path must be None or a path without query, like '/v1/events'")
