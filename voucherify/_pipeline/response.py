"""Turn a reply into the operation's model, or into the exception its status calls for."""

from __future__ import annotations

from typing import Mapping, Optional

from pydantic import ValidationError

from voucherify._pipeline.operation import Operation, ResponseT
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
    """Parse a 2xx body into the response model; raise the matching exception otherwise.

    Unknown fields and values are kept on the model; a body that is not JSON, or lacks a
    field the model needs, raises ``InvalidResponseException`` with the raw body attached.
    """
    if not 200 <= status < 300:
        raise exception_from_response(status, reason, headers, raw)
    try:
        data = operation.response_model.__pydantic_validator__.validate_json(raw)
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
