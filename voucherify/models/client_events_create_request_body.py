"""Model ``ClientEventsCreateRequestBody``: the body of ``POST /client/v1/events``."""

from typing import Optional

from voucherify.models.client_events_create_request_body_loyalty import (
    ClientEventsCreateRequestBodyLoyalty,
)
from voucherify.models.client_events_create_request_body_referral import (
    ClientEventsCreateRequestBodyReferral,
)
from voucherify.models.events_create_request_body import EventsCreateRequestBody


class ClientEventsCreateRequestBody(EventsCreateRequestBody):
    """Same fields and rules as :class:`EventsCreateRequestBody`, with the twin sub-models."""

    referral: Optional[ClientEventsCreateRequestBodyReferral] = None
    loyalty: Optional[ClientEventsCreateRequestBodyLoyalty] = None
