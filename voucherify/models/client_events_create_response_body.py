"""Model ``ClientEventsCreateResponseBody``: the reply to ``POST /client/v1/events``."""

from voucherify.models.events_create_response_body import EventsCreateResponseBody


class ClientEventsCreateResponseBody(EventsCreateResponseBody):
    """Same fields as :class:`EventsCreateResponseBody`."""
