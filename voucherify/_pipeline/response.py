"""Turn a reply into the operation's model, or into the exception its status calls for."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Mapping, Optional

from pydantic import ValidationError

from voucherify._pipeline.operation import Operation, ReplyKind, ResponseT
from voucherify.api_response import ApiResponse
from voucherify.exceptions import (
    ApiException,
    InvalidResponseException,
    exception_class_for_status,
)
from voucherify.models._validation import describe_errors

if TYPE_CHECKING:
    from voucherify.models.error import Error


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


def exception_from_response(
    status: int, reason: Optional[str], headers: Mapping[str, str], raw: bytes
) -> ApiException:
    """Map a non-2xx reply to its exception, with the body parsed when it is an error."""
    exc_class = exception_class_for_status(status)
    text = raw.decode("utf-8", "replace")
    return exc_class(
        status=status,
        reason=reason,
        headers=headers,
        body=text,
        data=parse_error(raw) if raw else None,
    )


def parse_error(raw: bytes) -> Optional[Error]:
    """Parse the error body shapes the API is known to send into one :class:`Error`.

    The model is imported here, on the first error, so that a client that only ever
    succeeds never loads it.
    """
    from voucherify.models.error import Error

    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    if "code" not in doc and "statusCode" in doc:
        # The framework-level shape: {"statusCode": 400, "error": "Bad Request", "message": ...}
        doc = {**doc, "code": doc["statusCode"]}
        del doc["statusCode"]
        if isinstance(doc.get("error"), str) and "key" not in doc:
            doc["key"] = doc["error"].strip().lower().replace(" ", "_")
    try:
        return Error.model_validate(doc)
    except ValueError:
        return None


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
