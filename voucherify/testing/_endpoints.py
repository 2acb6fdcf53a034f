"""The two event endpoints as a plain function of a request: no sockets, so easy to reason about.

Checks run in the order a caller would want to learn about problems: the path (404), the
method (405), the keys (401), for the client-side endpoint the origin (403), then the body
(400) and the customer (404).

A missing or unlisted ``origin`` is answered with **403** ``forbidden``: the keys were right
(that is what 401 means in this API), but this caller may not use them from there.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from voucherify.testing._replies import (
    Reply,
    error_reply,
    invalid_payload_reply,
    json_reply,
    unauthorized_reply,
)
from voucherify.testing._state import RecordedEvent, State
from voucherify.testing._validation import PayloadError, check_event_body, parse_json

SERVER_PATH = "/v1/events"
CLIENT_PATH = "/client/v1/events"


def normalize_origin(origin: str) -> str:
    """Origins compare without case and without a trailing slash."""
    return origin.strip().rstrip("/").lower()


@dataclass(frozen=True)
class Settings:
    """The project's keys and the origins its client-side keys may be used from."""

    app_id: str
    app_token: str
    client_app_id: str
    client_token: str
    allowed_origins: Optional[frozenset[str]] = None
    """Normalized origins (see :func:`normalize_origin`); ``None`` allows any origin."""


class Endpoints:
    """Answers requests for one project's :class:`Settings`, keeping what it learns in ``state``."""

    def __init__(self, settings: Settings, state: State) -> None:
        self.settings = settings
        self.state = state

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """The reply to one request; ``headers`` must have lower-cased names."""
        path = target.partition("?")[0]
        keys = self._keys_for(path)
        if keys is None:
            return error_reply(404, "not_found", "Resource not found", f"Cannot {method} {path}")
        if method != "POST":
            return error_reply(
                405,
                "method_not_allowed",
                "Method not allowed",
                f"{path} accepts POST only",
                headers=(("Allow", "POST"),),
            )
        if not all(_same_secret(headers.get(name), expected) for name, expected in keys):
            return unauthorized_reply()
        if path == CLIENT_PATH:
            refusal = self._check_origin(headers.get("origin"))
            if refusal is not None:
                return refusal
        try:
            payload = parse_json(body)
            check_event_body(payload)
        except PayloadError as exc:
            return invalid_payload_reply(exc.details)
        return self._track(path, payload)

    def _keys_for(self, path: str) -> Optional[tuple[tuple[str, str], ...]]:
        """The key headers ``path`` requires with their expected values; ``None`` if unknown."""
        s = self.settings
        if path == SERVER_PATH:
            return (("x-app-id", s.app_id), ("x-app-token", s.app_token))
        if path == CLIENT_PATH:
            return (
                ("x-client-application-id", s.client_app_id),
                ("x-client-token", s.client_token),
            )
        return None

    def _check_origin(self, origin: Optional[str]) -> Optional[Reply]:
        if not origin:
            return error_reply(
                403, "forbidden", "Forbidden", "The origin header is required for client-side calls"
            )
        allowed = self.settings.allowed_origins
        if allowed is not None and normalize_origin(origin) not in allowed:
            return error_reply(
                403,
                "forbidden",
                "Forbidden",
                f"Origin {origin} is not allowed for this project's client-side keys",
            )
        return None

    def _track(self, path: str, payload: dict[str, Any]) -> Reply:
        customer = self.state.upsert_customer(payload["customer"])
        if customer is None:
            missing = payload["customer"]["id"]
            return error_reply(
                404,
                "not_found",
                "Resource not found",
                f"Cannot find customer with id {missing}",
                resource_id=missing,
                resource_type="customer",
            )
        self.state.record_event(
            RecordedEvent(
                endpoint=path, event=payload["event"], customer_id=customer["id"], body=payload
            )
        )
        return json_reply(
            200,
            {
                "object": "event",
                "type": payload["event"],
                "customer": {
                    "id": customer["id"],
                    "name": customer.get("name"),
                    "email": customer.get("email"),
                    "source_id": customer["source_id"],
                    "metadata": customer["metadata"],
                    "object": "customer",
                },
                "referral": None,
                "loyalty": None,
            },
        )


def _same_secret(given: Optional[str], expected: str) -> bool:
    """Compare keys in constant time; a missing header never matches."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
