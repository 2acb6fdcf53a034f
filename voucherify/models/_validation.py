"""Turn pydantic's validation errors into the SDK's ``ApiValueError``.

Messages name the field path and the rule (``event: at most 300 characters``) and never the
value that broke it, since values may hold personal data.
"""

from __future__ import annotations

from typing import Any, Callable

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from voucherify.exceptions import ApiValueError, render_path
from voucherify.models._json_value import FreeFormValueError

_DATE = "must be a date (YYYY-MM-DD)"
_DATETIME = "must be an ISO 8601 date-time with a timezone"

_RULES: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda c: "is required",
    "string_too_long": lambda c: f"at most {c['max_length']} characters",
    "string_too_short": lambda c: (
        "must not be empty" if c["min_length"] == 1 else f"at least {c['min_length']} characters"
    ),
    "string_type": lambda c: "must be a string",
    "string_unicode": lambda c: "must be valid Unicode text",
    "int_type": lambda c: "must be an integer",
    "int_parsing": lambda c: "must be an integer",
    "bool_type": lambda c: "must be true or false",
    "bool_parsing": lambda c: "must be true or false",
    "dict_type": lambda c: "must be an object",
    "model_type": lambda c: "must be an object",
    "model_attributes_type": lambda c: "must be an object",
    "list_type": lambda c: "must be an array",
    "date_type": lambda c: _DATE,
    "date_parsing": lambda c: _DATE,
    "date_from_datetime_parsing": lambda c: _DATE,
    "date_from_datetime_inexact": lambda c: _DATE + ", without a time of day",
    "datetime_type": lambda c: _DATETIME,
    "datetime_parsing": lambda c: _DATETIME,
    "datetime_from_date_parsing": lambda c: _DATETIME,
    "timezone_aware": lambda c: _DATETIME,
    "json_invalid": lambda c: "is not valid JSON",
    "json_type": lambda c: "must be JSON text",
}


def _describe(error: ErrorDetails) -> tuple[str, str]:
    path: list[Any] = list(error["loc"])
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    cause = ctx.get("error")
    if isinstance(cause, FreeFormValueError):
        return render_path(path + cause.path), cause.rule
    if path and path[-1] == "[key]":
        return render_path(path[:-2]), "object keys must be strings"
    rule = _RULES.get(error["type"])
    if rule is not None:
        return render_path(path), rule(ctx)
    return render_path(path), error["msg"]


def describe_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """Each problem pydantic found, as ``(field path, rule)``, without the offending values."""
    return [_describe(e) for e in exc.errors(include_url=False, include_input=False)]


def to_api_value_error(exc: ValidationError, what: str) -> ApiValueError:
    """One ``ApiValueError`` listing every problem pydantic found in ``what``."""
    problems = describe_errors(exc)
    text = "; ".join(f"{path}: {rule}" if path else rule for path, rule in problems)
    return ApiValueError(f"invalid {what}: {text}", errors=problems)
