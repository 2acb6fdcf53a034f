"""The API classes, one module each, loaded on first use."""

from typing import TYPE_CHECKING

from voucherify._lazy import lazy_exports

__all__ = ["ClientSideApi", "EventsApi"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ClientSideApi": "voucherify.api.client_side_api",
        "EventsApi": "voucherify.api.events_api",
    },
)

if TYPE_CHECKING:
    from voucherify.api.client_side_api import ClientSideApi
    from voucherify.api.events_api import EventsApi
