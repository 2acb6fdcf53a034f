"""What the stand-in remembers: customers, events, requests and a count of 429s, behind one lock.

Readers get deep copies, so a test can inspect the records while the server runs and can
never change them by accident.
"""

from __future__ import annotations

import copy
import secrets
import string
import threading
from typing import Any, Mapping, Optional, TypedDict

CUSTOMER_ID_PREFIX = "cust_"
_ID_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 24

PROFILE_FIELDS = (
    "name",
    "description",
    "email",
    "phone",
    "birthdate",
    "birthday",
    "address",
    "metadata",
)
"""Customer fields an event may set or update; ``metadata`` is merged key by key."""


class RecordedRequest(TypedDict):
    """One request as received, with the status it was answered with."""

    method: str
    path: str
    """The request target as sent, query string included."""
    headers: dict[str, str]
    """Names lower-cased; repeated headers joined with ``", "``."""
    body: bytes
    status: int
    """The status sent; 0 when none was (the connection was reset or dropped first)."""
    fault: Optional[str]
    """The name of the injected fault applied to this request (``"delay"``...), or ``None``."""


class RecordedEvent(TypedDict):
    """One accepted event."""

    endpoint: str
    """``/v1/events`` or ``/client/v1/events``."""
    event: str
    customer_id: str
    body: dict[str, Any]
    """The request body as parsed from JSON."""


def new_customer_id() -> str:
    """An id in the API's style: ``cust_`` and 24 random letters and digits."""
    return CUSTOMER_ID_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


class State:
    """Customers by id and by ``source_id``, plus the event and request records."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._customers: dict[str, dict[str, Any]] = {}
        self._ids_by_source: dict[str, str] = {}
        self._events: list[RecordedEvent] = []
        self._requests: list[RecordedRequest] = []
        self._rate_limited = 0

    def upsert_customer(self, fields: Mapping[str, Any]) -> Optional[dict[str, Any]]:
        """Find or create the customer ``fields`` names, apply its profile fields, return it.

        A given ``id`` must be known (``None`` is returned otherwise) and wins over
        ``source_id``; a ``source_id`` seen before gets the same customer again. With
        neither, a new customer without ``source_id`` is created.
        """
        with self._lock:
            customer_id = fields.get("id")
            if customer_id is not None:
                customer = self._customers.get(customer_id)
                if customer is None:
                    return None
            else:
                customer = self._find_or_create(fields.get("source_id"))
            for name in PROFILE_FIELDS:
                if name not in fields:
                    continue
                if name == "metadata":
                    customer["metadata"].update(copy.deepcopy(fields["metadata"]))
                else:
                    customer[name] = copy.deepcopy(fields[name])
            return copy.deepcopy(customer)

    def _find_or_create(self, source_id: Optional[str]) -> dict[str, Any]:
        if source_id is not None and source_id in self._ids_by_source:
            return self._customers[self._ids_by_source[source_id]]
        customer_id = new_customer_id()
        while customer_id in self._customers:
            customer_id = new_customer_id()
        customer: dict[str, Any] = {"id": customer_id, "source_id": source_id, "metadata": {}}
        self._customers[customer_id] = customer
        if source_id is not None:
            self._ids_by_source[source_id] = customer_id
        return customer

    def record_event(self, event: RecordedEvent) -> None:
        """Keep a copy of an accepted event."""
        with self._lock:
            self._events.append(copy.deepcopy(event))

    def record_request(self, request: RecordedRequest) -> None:
        """Keep a copy of a request and its status."""
        with self._lock:
            self._requests.append(copy.deepcopy(request))

    def count_rate_limited(self) -> None:
        """Note one request refused with 429."""
        with self._lock:
            self._rate_limited += 1

    def rate_limited(self) -> int:
        """How many requests were refused with 429."""
        with self._lock:
            return self._rate_limited

    def events(self) -> list[RecordedEvent]:
        """Copies of the accepted events, oldest first."""
        with self._lock:
            return copy.deepcopy(self._events)

    def requests(self) -> list[RecordedRequest]:
        """Copies of every request, oldest first."""
        with self._lock:
            return copy.deepcopy(self._requests)

    def customers(self) -> list[dict[str, Any]]:
        """Copies of the known customers, in creation order."""
        with self._lock:
            return copy.deepcopy(list(self._customers.values()))

    def reset(self) -> None:
        """Forget every customer, event and request, and the count of 429s."""
        with self._lock:
            self._rate_limited = 0
            self._customers.clear()
            self._ids_by_source.clear()
            self._events.clear()
            self._requests.clear()
