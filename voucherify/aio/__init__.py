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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "voucherify.aio.api.client_side_api": ("ClientSideApi",),
        "voucherify.aio.api.events_api": ("EventsApi",),
        "voucherify.aio.api_client": ("ApiClient",),
    },
)

if TYPE_CHECKING:
    from voucherify.aio.api.client_side_api import ClientSideApi as ClientSideApi
    from voucherify.aio.api.events_api import EventsApi as EventsApi
    from voucherify.aio.api_client import ApiClient as ApiClient
