"""The request and response models, one module each, loaded on first use."""

from typing import TYPE_CHECKING

from voucherify._lazy import lazy_exports, snake_case

__all__ = [
    "ClientEventsCreateRequestBody",
    "ClientEventsCreateRequestBodyLoyalty",
    "ClientEventsCreateRequestBodyReferral",
    "ClientEventsCreateResponseBody",
    "Customer",
    "CustomerAddress",
    "Error",
    "ErrorError",
    "EventsCreateRequestBody",
    "EventsCreateRequestBodyLoyalty",
    "EventsCreateRequestBodyReferral",
    "EventsCreateResponseBody",
    "SimpleCustomerRequiredObjectType",
]

# Each model lives in the module named after it, as in every generated SDK.
__getattr__, __dir__ = lazy_exports(
    __name__, {name: f"{__name__}.{snake_case(name)}" for name in __all__}
)

if TYPE_CHECKING:
    from voucherify.models.client_events_create_request_body import ClientEventsCreateRequestBody
    from voucherify.models.client_events_create_request_body_loyalty import (
        ClientEventsCreateRequestBodyLoyalty,
    )
    from voucherify.models.client_events_create_request_body_referral import (
        ClientEventsCreateRequestBodyReferral,
    )
    from voucherify.models.client_events_create_response_body import (
        ClientEventsCreateResponseBody,
    )
    from voucherify.models.customer import Customer
    from voucherify.models.customer_address import CustomerAddress
    from voucherify.models.error import Error
    from voucherify.models.error_error import ErrorError
    from voucherify.models.events_create_request_body import EventsCreateRequestBody
    from voucherify.models.events_create_request_body_loyalty import (
        EventsCreateRequestBodyLoyalty,
    )
    from voucherify.models.events_create_request_body_referral import (
        EventsCreateRequestBodyReferral,
    )
    from voucherify.models.events_create_response_body import EventsCreateResponseBody
    from voucherify.models.simple_customer_required_object_type import (
        SimpleCustomerRequiredObjectType,
    )
