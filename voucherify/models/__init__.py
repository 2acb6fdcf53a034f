"""The request and response models, one module each, loaded on first use."""

from typing import TYPE_CHECKING

from voucherify._lazy import lazy_exports, snake_case

# Each model lives in the module named after it, as in every generated SDK.
_MODELS = (
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
)
__getattr__, __dir__ = lazy_exports(
    __name__, {f"{__name__}.{snake_case(name)}": (name,) for name in _MODELS}
)

if TYPE_CHECKING:
    from voucherify.models.client_events_create_request_body import (
        ClientEventsCreateRequestBody as ClientEventsCreateRequestBody,
    )
    from voucherify.models.client_events_create_request_body_loyalty import (
        ClientEventsCreateRequestBodyLoyalty as ClientEventsCreateRequestBodyLoyalty,
    )
    from voucherify.models.client_events_create_request_body_referral import (
        ClientEventsCreateRequestBodyReferral as ClientEventsCreateRequestBodyReferral,
    )
    from voucherify.models.client_events_create_response_body import (
        ClientEventsCreateResponseBody as ClientEventsCreateResponseBody,
    )
    from voucherify.models.customer import Customer as Customer
    from voucherify.models.customer_address import CustomerAddress as CustomerAddress
    from voucherify.models.error import Error as Error
    from voucherify.models.error_error import ErrorError as ErrorError
    from voucherify.models.events_create_request_body import (
        EventsCreateRequestBody as EventsCreateRequestBody,
    )
    from voucherify.models.events_create_request_body_loyalty import (
        EventsCreateRequestBodyLoyalty as EventsCreateRequestBodyLoyalty,
    )
    from voucherify.models.events_create_request_body_referral import (
        EventsCreateRequestBodyReferral as EventsCreateRequestBodyReferral,
    )
    from voucherify.models.events_create_response_body import (
        EventsCreateResponseBody as EventsCreateResponseBody,
    )
    from voucherify.models.simple_customer_required_object_type import (
        SimpleCustomerRequiredObjectType as SimpleCustomerRequiredObjectType,
    )
