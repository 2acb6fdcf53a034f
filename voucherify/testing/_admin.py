"""The admin API of a server in its own process: how the parent reads records and steers it.

It lives under ``/_local/`` and answers only requests whose ``X-Local-Admin-Token`` header
holds the token the parent generated (401 otherwise). Its requests are never faulted,
rate-limited or recorded. Bodies are JSON both ways; recorded request bodies travel as
base64, so any bytes survive.

- ``GET /_local/events``, ``/_local/requests`` (bodies in base64), ``/_local/customers``,
  ``/_local/rate-limited``: ``{"events": [...]}`` and so on;
- ``POST /_local/reset``: ``reset()``;
- ``POST /_local/faults`` with ``{"fault", "times", "path"}``: ``inject()``;
  ``DELETE /_local/faults``: ``clear_faults()``;
- ``POST /_local/rate-limit`` and ``/_local/client-rate-limit`` with
  ``{"limit", "window_seconds"}``: ``set_rate_limit()``, ``set_client_rate_limit()``;
- ``POST /_local/events`` with ``{"name", "metadata"}``: ``define_event()``.

The parent hands the child its keys and the admin token in the environment variables named
here (:data:`KEY_ENV`, :data:`TOKEN_ENV`).

A refused argument gets 400 with ``{"error": TYPE, "message": ...}``, which the parent raises
again as that type (``TypeError`` or ``ValueError``).
"""

from __future__ import annotations

import base64
import hmac
import json
from typing import TYPE_CHECKING, Any, Callable, Mapping

from voucherify.testing._replies import Reply, encode, error_reply, json_reply
from voucherify.testing._server import ADMIN_PREFIX
from voucherify.testing._state import RecordedRequest
from voucherify.testing.faults import Fault

if TYPE_CHECKING:
    from voucherify.testing._local import LocalVoucherify

TOKEN_HEADER = "X-Local-Admin-Token"
TOKEN_ENV = "VOUCHERIFY_LOCAL_ADMIN_TOKEN"
"""The environment variable that hands the token to the child (never its command line)."""

KEY_ENV = {
    "app_id": "VOUCHERIFY_LOCAL_APP_ID",
    "app_token": "VOUCHERIFY_LOCAL_APP_TOKEN",
    "client_app_id": "VOUCHERIFY_LOCAL_CLIENT_APP_ID",
    "client_token": "VOUCHERIFY_LOCAL_CLIENT_TOKEN",
}
"""The environment variables ``serve`` takes keys from when no flag gives them, so that a
parent can hand its child keys without putting them on the command line."""


def request_to_json(request: RecordedRequest) -> dict[str, Any]:
    """A recorded request as JSON-ready data, its body in base64."""
    return {**request, "body": base64.b64encode(request["body"]).decode("ascii")}


def request_from_json(doc: Mapping[str, Any]) -> RecordedRequest:
    """The recorded request that :func:`request_to_json` described."""
    return RecordedRequest(
        method=doc["method"],
        path=doc["path"],
        headers=dict(doc["headers"]),
        body=base64.b64decode(doc["body"]),
        status=doc["status"],
        fault=doc["fault"],
    )


class AdminApi:
    """Answers ``/_local/`` requests for ``server``, when they carry ``token``."""

    def __init__(self, server: LocalVoucherify, token: str) -> None:
        if len(token) < 16:
            raise ValueError("the admin token must be at least 16 characters")
        self._server = server
        self._token = token.encode("utf-8")
        self._routes: dict[tuple[str, str], Callable[[Any], Any]] = {
            ("GET", "events"): lambda _: {"events": server.events},
            ("GET", "requests"): lambda _: {
                "requests": [request_to_json(r) for r in server.requests]
            },
            ("GET", "customers"): lambda _: {"customers": server.customers},
            ("GET", "rate-limited"): lambda _: {"rate_limited": server.rate_limited},
            ("POST", "reset"): lambda _: server.reset(),
            ("POST", "faults"): lambda doc: server.inject(
                Fault.from_json(doc["fault"]), doc["times"], doc["path"]
            ),
            ("DELETE", "faults"): lambda _: server.clear_faults(),
            ("POST", "rate-limit"): lambda doc: server.set_rate_limit(
                doc["limit"], doc["window_seconds"]
            ),
            ("POST", "client-rate-limit"): lambda doc: server.set_client_rate_limit(
                doc["limit"], doc["window_seconds"]
            ),
            ("POST", "events"): lambda doc: server.define_event(doc["name"], doc["metadata"]),
        }

    def __call__(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """The reply to one admin request; ``headers`` have lower-cased names."""
        given = headers.get(TOKEN_HEADER.lower(), "").encode("utf-8")
        if not hmac.compare_digest(given, self._token):
            return error_reply(
                401, "unauthorized", "Unauthorized", f"The admin API needs the {TOKEN_HEADER}"
            )
        name = target.partition("?")[0][len(ADMIN_PREFIX) :]
        route = self._routes.get((method, name))
        if route is None:
            return error_reply(
                404, "not_found", "Resource not found", f"No admin route {method} {name}"
            )
        try:
            doc = json.loads(body) if body else {}
            result = route(doc)
        except (TypeError, ValueError, KeyError) as exc:
            kind = "TypeError" if isinstance(exc, TypeError) else "ValueError"
            return Reply(400, encode({"error": kind, "message": str(exc)}))
        return json_reply(200, {} if result is None else result)
