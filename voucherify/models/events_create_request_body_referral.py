"""Model ``EventsCreateRequestBodyReferral``: the referral an event converts."""

from typing import Optional

from voucherify.models._base import RequestModel


class EventsCreateRequestBodyReferral(RequestModel):
    """The referral code used and, optionally, who referred the customer."""

    code: str
    referrer_id: Optional[str] = None
