"""Model ``Customer``: the customer an event belongs to, created if it does not exist."""

from datetime import date
from typing import ClassVar, Optional

from voucherify.models._base import RequestModel
from voucherify.models._json_value import JsonObject
from voucherify.models.customer_address import CustomerAddress


class Customer(RequestModel):
    """Identifies the customer by ``id`` (``cust_...``) or by your own ``source_id``.

    When ``id`` is given the API ignores ``source_id``.
    """

    nullable_fields: ClassVar[frozenset[str]] = frozenset({"address"})

    id: Optional[str] = None
    source_id: Optional[str] = None
    name: Optional[str] = None
    description: Optional[str] = None
    email: Optional[str] = None
    phone: Optional[str] = None
    birthday: Optional[date] = None
    """Deprecated by the API in favour of ``birthdate``."""
    birthdate: Optional[date] = None
    address: Optional[CustomerAddress] = None
    metadata: Optional[JsonObject] = None
