"""The one check that a free-form value (metadata, unknown keys) can go out as JSON.

Pydantic would quietly turn NaN into ``null`` and send a naive ``datetime`` without an
offset; the API contract wants neither, so free-form values are walked once here.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Dict, Optional

from pydantic import AfterValidator
from typing_extensions import Annotated

MAX_DEPTH = 32
"""How deeply objects and arrays may nest inside a free-form value."""

_SCALARS = (str, bool, int, type(None))


def json_value_problem(value: Any, depth: int = 0) -> Optional[tuple[list[Any], str]]:
    """Return ``(path, rule)`` for the first part of ``value`` that is not JSON-safe, or None.

    Allowed: strings, booleans, integers, finite floats and decimals, ``None``, dates,
    timezone-aware datetimes, and lists, tuples or string-keyed dicts of those.
    """
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, (float, Decimal)):
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        return None if finite else ([], "must be a finite number, not NaN or infinity")
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            return ([], "datetime has no timezone; pass an aware datetime such as "
                        "datetime(..., tzinfo=timezone.utc)")
        return None
    if isinstance(value, date):
        return None
    if isinstance(value, (dict, list, tuple)):
        if depth >= MAX_DEPTH:
            return ([], f"nested deeper than {MAX_DEPTH} levels")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(value, dict) and not isinstance(key, str):
                return ([], "object keys must be strings")
            problem = json_value_problem(item, depth + 1)
            if problem is not None:
                problem[0].insert(0, key)
                return problem
        return None
    return ([], f"{type(value).__name__} cannot be sent as JSON")


def check_json_object(value: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """Pydantic after-validator for free-form objects such as ``metadata``."""
    if value:
        problem = json_value_problem(value)
        if problem is not None:
            path, rule = problem
            raise FreeFormValueError(path, rule)
    return value


class FreeFormValueError(ValueError):
    """A free-form value that cannot be sent; carries the path inside the value."""

    def __init__(self, path: list[Any], rule: str) -> None:
        self.path = path
        self.rule = rule
        super().__init__(rule)


JsonObject = Annotated[Dict[str, Any], AfterValidator(check_json_object)]
"""A free-form JSON object field (``metadata``) whose values are checked by the walk above."""
