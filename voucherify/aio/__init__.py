"""voucherify.aio: the asyncio client, with the same names, models, errors and retry rules.

Needs the ``async`` extra (``pip install "voucherify-events[async]"``), which brings aiohttp::

    import voucherify
    from voucherify import aio

    async with aio.ApiClient(configuration) as api_client:
        event = await aio.EventsApi(api_client).track_custom_event(
            events_create_request_body={"event": "signed_up", "customer": {"source_id": "u1"}}
        )

Everything but moving bytes is the sync client's: request validation and encoding, the
attempt loop with its retries, deadline and logging, and response parsing all come from
``voucherify._pipeline``. ``import voucherify`` never loads this package.
"""

from typing import TYPE_CHECKING

from voucherify._lazy import lazy_exports

__all__ = ["ApiClient", "ClientSideApi", "EventsApi"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ApiClient": "voucherify.aio.api_client",
        "ClientSideApi": "voucherify.aio.api.client_side_api",
        "EventsApi": "voucherify.aio.api.events_api",
    },
)

if TYPE_CHECKING:
    from voucherify.aio.api.client_side_api import ClientSideApi
    from voucherify.aio.api.events_api import EventsApi
    from voucherify.aio.api_client import ApiClient
