"""Model ``ClientEventsCreateRequestBodyLoyalty``: the client-side twin of the loyalty card."""

from voucherify.models._base import TwinModel
from voucherify.models.events_create_request_body_loyalty import EventsCreateRequestBodyLoyalty


class ClientEventsCreateRequestBodyLoyalty(EventsCreateRequestBodyLoyalty, TwinModel):
    """Same fields as :class:`EventsCreateRequestBodyLoyalty`."""
