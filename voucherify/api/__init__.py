"""The API classes, one module each, loaded on first use."""

from typing import TYPE_CHECKING

from voucherify._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "voucherify.api.client_side_api": ("ClientSideApi",),
        "voucherify.api.events_api": ("EventsApi",),
    },
)

if TYPE_CHECKING:
    from voucherify.api.client_side_api import ClientSideApi as ClientSideApi
    from voucherify.api.events_api import EventsApi as EventsApi
