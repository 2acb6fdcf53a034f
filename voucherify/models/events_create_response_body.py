"""Model ``EventsCreateResponseBody``: the reply to ``POST /v1/events``."""

from typing import Any, Dict, Optional

from voucherify.models._base import ResponseModel
from voucherify.models.simple_customer_required_object_type import (
    SimpleCustomerRequiredObjectType,
)


class EventsCreateResponseBody(ResponseModel):
    """The recorded event: its name in ``type`` and the customer it was recorded for."""

    object: str = "event"
    type: str
    customer: SimpleCustomerRequiredObjectType
    referral: Optional[Dict[str, Any]] = None
    loyalty: Optional[Dict[str, Any]] = None
    metadata: Optional[Dict[str, Any]] = None
