"""Turn a reply into the operation's model, or into the exception its status calls for."""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

from pydantic import ValidationError

from voucherify._pipeline.operation import Operation, ReplyKind, ResponseT
from voucherify.api_response import ApiResponse
from voucherify.exceptions import InvalidResponseException, exception_from_response
from voucherify.models._validation import describe_errors


def read_response(
    operation: Operation[ResponseT],
    status: int,
    reason: Optional[str],
    headers: Mapping[str, str],
    raw: bytes,
) -> ApiResponse[ResponseT]:
    """Parse a 2xx body as the operation expects; raise the matching exception otherwise.

    A JSON reply becomes the response model: unknown fields and values are kept on it; a
    body that is not JSON, or lacks a field the model needs, raises
    ``InvalidResponseException`` with the raw body attached. Other replies are read as the
    operation's ``reply_kind`` says (see :func:`_plain_data`).
    """
    if not 200 <= status < 300:
        raise exception_from_response(status, reason, headers, raw)
    if operation.reply_kind != ReplyKind.JSON:
        data = _plain_data(operation, status, reason, headers, raw)
        return ApiResponse(status, headers, data, raw)
    model: Any = operation.response_model  # a ResponseModel: the kind says so
    try:
        data = model.__pydantic_validator__.validate_json(raw)
    except ValidationError as exc:
        problems = describe_errors(exc)
        if any(rule == "is not valid JSON" for _, rule in problems):
            problem = "empty body" if not raw.strip() else "not JSON"
        else:
            problem = "; ".join(f"{path}: {rule}" if path else rule for path, rule in problems)
        raise InvalidResponseException(
            problem,
            status=status,
            reason=reason,
            headers=headers,
            body=raw.decode("utf-8", "replace"),
        ) from None
    return ApiResponse(status, headers, data, raw)


_CHARSET = re.compile(r';\s*charset\s*=\s*"?([^";\s]+)', re.IGNORECASE)


def _plain_data(
    operation: Operation[Any],
    status: int,
    reason: Optional[str],
    headers: Mapping[str, str],
    raw: bytes,
) -> Any:
    """``None`` for a reply without a body (any bytes that came stay in ``raw_data``), the
    bytes themselves, or text decoded by the ``Content-Type``'s charset (UTF-8 if none)."""
    kind = operation.reply_kind
    if kind == ReplyKind.NONE:
        return None
    if kind == ReplyKind.BYTES:
        return raw
    match = _CHARSET.search(headers.get("Content-Type") or "")
    charset = match.group(1) if match else "utf-8"
    try:
        return raw.decode(charset)
    except (LookupError, UnicodeDecodeError):
        raise InvalidResponseException(
            f"body is not text in its charset ({charset})",
            status=status,
            reason=reason,
            headers=headers,
            body=raw.decode("utf-8", "replace"),
        ) from None
