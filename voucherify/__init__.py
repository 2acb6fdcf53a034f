"""voucherify: a typed, fast and safe client for the Voucherify Events API.

Every public name resolves on first use (PEP 562), so ``import voucherify`` loads neither
pydantic models nor urllib3 until a client is made. The names match the official SDK::

    import voucherify
    configuration = voucherify.Configuration(host="https://api.voucherify.io")
    with voucherify.ApiClient(configuration) as api_client:
        voucherify.EventsApi(api_client).track_custom_event(events_create_request_body={...})
"""

from typing import TYPE_CHECKING

from voucherify._lazy import EVERY_NAME, lazy_exports
from voucherify._version import __version__ as __version__

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "voucherify._version": ("__version__",),
        "voucherify.api.client_side_api": ("ClientSideApi",),
        "voucherify.api.events_api": ("EventsApi",),
        "voucherify.api_client": ("ApiClient",),
        "voucherify.api_response": ("ApiResponse",),
        "voucherify.configuration": ("Configuration",),
        "voucherify.exceptions": EVERY_NAME,
    },
)

if TYPE_CHECKING:
    from voucherify.api.client_side_api import ClientSideApi as ClientSideApi
    from voucherify.api.events_api import EventsApi as EventsApi
    from voucherify.api_client import ApiClient as ApiClient
    from voucherify.api_response import ApiResponse as ApiResponse
    from voucherify.configuration import Configuration as Configuration
    from voucherify.exceptions import *  # noqa: F403  (every name of its __all__)
