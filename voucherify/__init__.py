"""voucherify: a typed, fast and safe client for the Voucherify Events API.

Every public name resolves on first use (PEP 562), so ``import voucherify`` loads neither
pydantic models nor urllib3 until a client is made. The names match the official SDK::

    import voucherify
    configuration = voucherify.Configuration(host="https://api.voucherify.io")
    with voucherify.ApiClient(configuration) as api_client:
        voucherify.EventsApi(api_client).track_custom_event(events_create_request_body={...})
"""

from typing import TYPE_CHECKING

from voucherify._lazy import lazy_exports
from voucherify._version import __version__

__all__ = [
    "ApiAttributeError",
    "ApiClient",
    "ApiConnectionException",
    "ApiException",
    "ApiKeyError",
    "ApiResponse",
    "ApiResponseTooLargeException",
    "ApiSSLException",
    "ApiTimeoutException",
    "ApiTransportException",
    "ApiTypeError",
    "ApiValueError",
    "BadRequestException",
    "ClientSideApi",
    "Configuration",
    "ConflictException",
    "EventsApi",
    "ForbiddenException",
    "InvalidResponseException",
    "NotFoundException",
    "OpenApiException",
    "RateLimitException",
    "ServiceException",
    "TooManyRequestsException",
    "UnauthorizedException",
    "UnprocessableEntityException",
    "VoucherifyError",
    "__version__",
]

_MODULES = {
    "ApiClient": "voucherify.api_client",
    "ApiResponse": "voucherify.api_response",
    "ClientSideApi": "voucherify.api.client_side_api",
    "Configuration": "voucherify.configuration",
    "EventsApi": "voucherify.api.events_api",
}
# Every other public name is an exception.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {n: _MODULES.get(n, "voucherify.exceptions") for n in __all__ if n != "__version__"},
)

if TYPE_CHECKING:
    from voucherify.api.client_side_api import ClientSideApi
    from voucherify.api.events_api import EventsApi
    from voucherify.api_client import ApiClient
    from voucherify.api_response import ApiResponse
    from voucherify.configuration import Configuration
    from voucherify.exceptions import (
        ApiAttributeError,
        ApiConnectionException,
        ApiException,
        ApiKeyError,
        ApiResponseTooLargeException,
        ApiSSLException,
        ApiTimeoutException,
        ApiTransportException,
        ApiTypeError,
        ApiValueError,
        BadRequestException,
        ConflictException,
        ForbiddenException,
        InvalidResponseException,
        NotFoundException,
        OpenApiException,
        RateLimitException,
        ServiceException,
        TooManyRequestsException,
        UnauthorizedException,
        UnprocessableEntityException,
        VoucherifyError,
    )
