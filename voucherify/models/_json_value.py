"""The one check that a free-form value (metadata, unknown keys) can go out as JSON.

Pydantic would quietly turn NaN into ``null`` and send a naive ``datetime`` without an
offset; the API contract wants neither, so free-form values are walked once here.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Dict, Optional, Union

from pydantic import AfterValidator
from typing_extensions import Annotated

from voucherify.exceptions import ApiValueError, PicklableException, render_path

MAX_DEPTH = 32
"""How deeply objects and arrays may nest inside a free-form value."""

_NOT_UNICODE = "text is not valid Unicode (a lone surrogate?)"


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_value_problem(value: Any, depth: int = 0) -> Optional[tuple[list[Any], str]]:
    """Return ``(path, rule)`` for the first part of ``value`` that is not JSON-safe, or None.

    Allowed: Unicode strings, booleans, integers, finite floats, ``None``, dates,
    timezone-aware datetimes, and lists, tuples or string-keyed dicts of those.
    """
    if isinstance(value, (dict, list, tuple)):
        return _container_problem(value, depth)
    rule = _scalar_problem(value)
    return None if rule is None else ([], rule)


def _scalar_problem(value: Any) -> Optional[str]:
    if isinstance(value, str):
        return None if _encodable(value) else _NOT_UNICODE
    if isinstance(value, (bool, int, type(None))):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "must be a finite number, not NaN or infinity"
    if isinstance(value, Decimal):
        # pydantic would send it as a JSON string; say so rather than change its type.
        return "Decimal would be sent as a string; convert it to float or str first"
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            return "datetime has no timezone; pass an aware one (tzinfo=timezone.utc...)"
        return None
    if isinstance(value, date):
        return None
    return f"{type(value).__name__} cannot be sent as JSON"


def _container_problem(
    value: Union[dict[Any, Any], list[Any], tuple[Any, ...]], depth: int
) -> Optional[tuple[list[Any], str]]:
    if depth >= MAX_DEPTH:
        return ([], f"nested deeper than {MAX_DEPTH} levels")
    is_dict = isinstance(value, dict)
    for key, item in value.items() if is_dict else enumerate(value):  # type: ignore[union-attr]
        if is_dict and not (isinstance(key, str) and (key.isascii() or _encodable(key))):
            return ([], "object keys must be strings of valid Unicode")
        if type(item) is str and item.isascii():
            continue  # the usual metadata value, checked without another call
        problem = json_value_problem(item, depth + 1)
        if problem is not None:
            problem[0].insert(0, key)
            return problem
    return None


def check_json_value(value: Any) -> Any:
    """Pydantic after-validator for a free-form value: ``metadata``, or an unknown field."""
    problem = json_value_problem(value)
    if problem is not None:
        raise FreeFormValueError(*problem)
    return value


class FreeFormValueError(PicklableException, ValueError):
    """A free-form value that cannot be sent; carries the path inside the value."""

    def __init__(self, path: list[Any], rule: str) -> None:
        self.path = path
        self.rule = rule
        super().__init__(rule)

    def as_api_error(self, model_name: str) -> ApiValueError:
        where = render_path(self.path)
        return ApiValueError(
            f"invalid {model_name}: {where}: {self.rule}", errors=[(where, self.rule)]
        )


JsonObject = Annotated[Dict[str, Any], AfterValidator(check_json_value)]
"""A free-form JSON object field (``metadata``) whose values are checked by the walk above."""

JsonValue = Annotated[Any, AfterValidator(check_json_value)]
"""The type of a request model's unknown fields: any value the walk above accepts."""
