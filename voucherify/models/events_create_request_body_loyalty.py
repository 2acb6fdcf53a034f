"""Model ``EventsCreateRequestBodyLoyalty``: the loyalty card an event is linked to."""

from voucherify.models._base import RequestModel


class EventsCreateRequestBodyLoyalty(RequestModel):
    """The code of the customer's loyalty card."""

    code: str
