"""Would the SDK send this body? The same checks it runs before a call, without the call."""

from __future__ import annotations

from typing import Any, Optional

from voucherify.bulk import check_item


def problem_with(body: Any) -> Optional[str]:
    """The SDK's message for a body it would refuse (naming field and rule), or ``None``.

    The bulk library's own check (the one a call runs on its body), so that a row passes
    here exactly when the library would send it.
    """
    if not isinstance(body, dict):  # a JSON line that is an array, a string, null...
        return "invalid EventsCreateRequestBody: must be an object"
    problem = check_item(body)
    return None if problem is None else str(problem)
