"""Would the SDK send this body? The same checks it runs before a call, without the call."""

from __future__ import annotations

from typing import Any, Optional

from voucherify._pipeline.request import MAX_BODY_BYTES
from voucherify.exceptions import ApiTypeError, ApiValueError
from voucherify.models.events_create_request_body import EventsCreateRequestBody


def problem_with(body: Any) -> Optional[str]:
    """The SDK's message for a body it would refuse (naming field and rule), or ``None``."""
    # Anything but a dict, None included, is wrapped so that the model says "must be an object".
    candidate: Any = body if isinstance(body, dict) else [body]
    try:
        model = EventsCreateRequestBody.from_dict(candidate)
        size = 0 if model is None else len(model.to_json_bytes())
    except (ApiValueError, ApiTypeError) as error:
        return str(error)
    if size > MAX_BODY_BYTES:
        return f"the body encodes to {size} bytes; the API accepts at most 10 MiB"
    return None
