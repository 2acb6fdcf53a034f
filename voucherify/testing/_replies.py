"""What the stand-in answers: a status, a body (JSON but for injected faults) and headers.

Error bodies follow the contract's ``Error`` shape (``code``, ``key``, ``message``,
``details``, ``request_id``...). The 401 body is sent byte for byte as the contract gives it,
so it is the one error reply without a ``request_id``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any, Optional

JSON_TYPE = "application/json"

UNAUTHORIZED_BODY = b'{"code":401,"message":"Unauthorized","key":"unauthorized"}'
"""The API's reply to wrong or missing keys, exactly."""


@dataclass(frozen=True)
class Reply:
    """One HTTP reply; ``headers`` are extra to Content-Type and Content-Length."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False
    """Whether the connection must close after this reply (the request was not fully read)."""
    content_type: Optional[str] = JSON_TYPE
    """The API always answers JSON; only injected faults send something else (or none)."""


def new_request_id() -> str:
    """An id in the API's style: ``v-`` and 18 hex digits."""
    return "v-" + secrets.token_hex(9)


def encode(doc: Any) -> bytes:
    """Compact UTF-8 JSON, as the API sends it."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_reply(status: int, doc: Any) -> Reply:
    """A reply carrying ``doc`` as JSON."""
    return Reply(status, encode(doc))


def error_reply(
    status: int,
    key: str,
    message: str,
    details: str,
    *,
    headers: tuple[tuple[str, str], ...] = (),
    close: bool = False,
    **extra: str,
) -> Reply:
    """An ``Error`` body with a fresh ``request_id``; ``extra`` adds ``resource_id`` and co."""
    doc = {
        "code": status,
        "key": key,
        "message": message,
        "details": details,
        "request_id": new_request_id(),
        **extra,
    }
    return Reply(status, encode(doc), headers, close)


def unauthorized_reply() -> Reply:
    """The 401 for wrong or missing keys."""
    return Reply(401, UNAUTHORIZED_BODY)


def invalid_payload_reply(details: str) -> Reply:
    """The 400 for a body that breaks the contract; ``details`` names the property."""
    return error_reply(400, "invalid_payload", "Invalid payload", details)
