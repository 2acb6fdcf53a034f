"""Model ``EventsCreateRequestBody``: the body of ``POST /v1/events``."""

from typing import Optional

from pydantic import Field
from typing_extensions import Annotated

from voucherify.models._base import RequestModel
from voucherify.models._json_value import JsonObject
from voucherify.models.customer import Customer
from voucherify.models.events_create_request_body_loyalty import EventsCreateRequestBodyLoyalty
from voucherify.models.events_create_request_body_referral import EventsCreateRequestBodyReferral


class EventsCreateRequestBody(RequestModel):
    """A custom event: its name (defined in the project's event schema) and its customer."""

    event: Annotated[str, Field(min_length=1, max_length=300)]
    customer: Customer
    referral: Optional[EventsCreateRequestBodyReferral] = None
    loyalty: Optional[EventsCreateRequestBodyLoyalty] = None
    metadata: Optional[JsonObject] = None
