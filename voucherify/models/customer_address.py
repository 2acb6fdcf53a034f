"""Model ``CustomerAddress``: a customer's postal address."""

from typing import Optional

from voucherify.models._base import RequestModel


class CustomerAddress(RequestModel):
    """A customer's address; every part is optional free text."""

    city: Optional[str] = None
    state: Optional[str] = None
    line_1: Optional[str] = None
    line_2: Optional[str] = None
    country: Optional[str] = None
    postal_code: Optional[str] = None
