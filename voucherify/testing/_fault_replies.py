"""What the answering faults (``status``, ``redirect``, ``raw``) send instead of the API."""

from __future__ import annotations

import http
import re

from voucherify.testing._replies import JSON_TYPE, Reply, error_reply, unauthorized_reply
from voucherify.testing.faults import Fault

_ERRORS = {
    400: ("bad_request", "Bad request"),
    402: ("missing_required_feature", "Missing required feature"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Resource not found"),
    405: ("method_not_allowed", "Method not allowed"),
    408: ("request_timeout", "Request timeout"),
    409: ("conflict", "Conflict"),
    413: ("payload_too_large", "Payload too large"),
    422: ("unprocessable_entity", "Unprocessable entity"),
    429: ("too_many_requests", "Too many requests"),
    500: ("internal_server_error", "Internal server error"),
    502: ("bad_gateway", "Bad gateway"),
    503: ("service_unavailable", "Service unavailable"),
    504: ("gateway_timeout", "Gateway timeout"),
}
"""Keys and messages in the API's style for the statuses a test most often injects."""


def fault_reply(fault: Fault) -> Reply:
    """What ``fault`` answers; only for faults that do not process the request."""
    if fault.name == "status":
        custom_type = any(name.lower() == "content-type" for name, _ in fault.headers)
        content_type = None if custom_type else JSON_TYPE
        if fault.body is not None:
            return Reply(fault.status, fault.body, fault.headers, content_type=content_type)
        error = _error_body(fault.status)
        return Reply(fault.status, error.body, fault.headers, content_type=content_type)
    if fault.name == "redirect":
        return Reply(fault.status, b"", fault.headers, content_type=None)
    if fault.name == "raw":
        return Reply(fault.status, fault.body or b"", content_type=fault.content_type)
    raise ValueError(f"{fault!r} does not answer in place of the API")


def _error_body(status: int) -> Reply:
    """The contract's ``Error`` for ``status``; for 401, its exact body."""
    if status == 401:
        return unauthorized_reply()
    key, message = _ERRORS.get(status) or _from_phrase(status)
    return error_reply(
        status,
        key,
        message,
        f"A fault injected into the local stand-in: {status}, the request was not processed",
    )


def _from_phrase(status: int) -> tuple[str, str]:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    key = re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_")
    return key, phrase[:1] + phrase[1:].lower()
