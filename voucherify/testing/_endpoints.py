"""The two event endpoints as a plain function of a request: no sockets, so easy to reason about.

Checks run in the order a caller would want to learn about problems: the path (404), the
method (405), the keys (401), the rate limit (429), for the client-side endpoint the origin
(403), then the body (400), the event definitions (400) and the customer (404).

Only requests with the right keys count against a rate limit: a caller with wrong keys
belongs to no project, and a flood of them must not lock the real caller out. So only their
replies carry the ``X-Rate-Limit-*`` headers; every reply to a counted request does, 2xx and
4xx alike. A refused request (429) is not processed.

A missing or unlisted ``origin`` is answered with **403** ``forbidden``: the keys were right
(that is what 401 means in this API), but this caller may not use them from there.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from typing import Any, Mapping, Optional

from voucherify.testing._rate_limit import CLIENT, PROJECT, Decision, RateLimiter
from voucherify.testing._replies import (
    Reply,
    error_reply,
    invalid_payload_reply,
    json_reply,
    new_request_id,
    unauthorized_reply,
)
from voucherify.testing._schemas import EventSchemas, SchemaError
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
    """Answers requests for one project's :class:`Settings`, keeping what it learns in ``state``.

    ``rate_limit`` limits ``/v1/events`` for the project, ``client_rate_limit`` limits
    ``/client/v1/events`` per client IP; ``schemas`` holds the event definitions.
    """

    def __init__(
        self,
        settings: Settings,
        state: State,
        *,
        rate_limit: Optional[RateLimiter] = None,
        client_rate_limit: Optional[RateLimiter] = None,
        schemas: Optional[EventSchemas] = None,
    ) -> None:
        self.settings = settings
        self.state = state
        self.rate_limit = rate_limit or RateLimiter(PROJECT)
        self.client_rate_limit = client_rate_limit or RateLimiter(CLIENT)
        self.schemas = schemas or EventSchemas()

    def handle(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        client_ip: str = "127.0.0.1",
    ) -> Reply:
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
            decision = self.client_rate_limit.hit(client_ip)
        else:
            decision = self.rate_limit.hit(PROJECT)
        if decision is None:
            return self._process(path, headers, body)
        if not decision.allowed:
            self.state.count_rate_limited()
            return _too_many_requests(decision)
        reply = self._process(path, headers, body)
        return replace(reply, headers=reply.headers + decision.headers())

    def _process(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """The reply to a request with the right keys that no rate limit refused."""
        if path == CLIENT_PATH:
            refusal = self._check_origin(headers.get("origin"))
            if refusal is not None:
                return refusal
        try:
            payload = parse_json(body)
            check_event_body(payload)
        except PayloadError as exc:
            return invalid_payload_reply(exc.details)
        try:
            self.schemas.check(payload["event"], payload.get("metadata"))
        except SchemaError as exc:
            return error_reply(400, exc.key, exc.message, exc.details)
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
        reply = json_reply(
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
        # As the API does, a 2xx names its request, so a caller can quote it to support.
        return replace(reply, headers=(("X-Request-Id", new_request_id()),))


def _too_many_requests(decision: Decision) -> Reply:
    if decision.kind == CLIENT:
        whose = "The client-side limit for this IP"
    else:
        whose = "The project's limit"
    return error_reply(
        429,
        "too_many_requests",
        "Too many requests",
        f"{whose} of {decision.limit} requests per window is used up; "
        f"retry in {decision.retry_after} s",
        headers=decision.headers(),
    )


def _same_secret(given: Optional[str], expected: str) -> bool:
    """Compare keys in constant time; a missing header never matches."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
