"""Model ``SimpleCustomerRequiredObjectType``: the customer echoed in an event reply."""

from typing import Any, Dict, Optional

from voucherify.models._base import ResponseModel


class SimpleCustomerRequiredObjectType(ResponseModel):
    """The customer the event was recorded for, with the id Voucherify gave it."""

    id: str
    source_id: Optional[str] = None
    name: Optional[str] = None
    email: Optional[str] = None
    metadata: Optional[Dict[str, Any]] = None
    object: str = "customer"
