"""Model ``ClientEventsCreateRequestBodyReferral``: the client-side twin of the referral."""

from voucherify.models._base import TwinModel
from voucherify.models.events_create_request_body_referral import EventsCreateRequestBodyReferral


class ClientEventsCreateRequestBodyReferral(EventsCreateRequestBodyReferral, TwinModel):
    """Same fields as :class:`EventsCreateRequestBodyReferral`."""
