"""``ClientSideApi`` for asyncio: ``await``-able twins of the sync class's methods."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from typing_extensions import Unpack

from voucherify._pipeline.operation import RequestOptions
from voucherify.aio.api._base import BaseApi
from voucherify.api.client_side_api import TRACK_CUSTOM_EVENT_CLIENT_SIDE, Body
from voucherify.api_response import ApiResponse
from voucherify.models.client_events_create_response_body import ClientEventsCreateResponseBody

if TYPE_CHECKING:
    import aiohttp


class ClientSideApi(BaseApi):
    """Calls with the client-side keys and an ``origin``, as :class:`voucherify.ClientSideApi`."""

    async def track_custom_event_client_side(
        self,
        origin: Optional[str],
        client_events_create_request_body: Body = None,
        **options: Unpack[RequestOptions],
    ) -> ClientEventsCreateResponseBody:
        """Track Custom Event from the client side."""
        response = await self.api_client.call_operation(
            TRACK_CUSTOM_EVENT_CLIENT_SIDE, client_events_create_request_body, (origin,), options
        )
        return response.data

    async def track_custom_event_client_side_with_http_info(
        self,
        origin: Optional[str],
        client_events_create_request_body: Body = None,
        **options: Unpack[RequestOptions],
    ) -> ApiResponse[ClientEventsCreateResponseBody]:
        """As :meth:`track_custom_event_client_side`, with the status, headers and raw body."""
        return await self.api_client.call_operation(
            TRACK_CUSTOM_EVENT_CLIENT_SIDE, client_events_create_request_body, (origin,), options
        )

    async def track_custom_event_client_side_without_preload_content(
        self,
        origin: Optional[str],
        client_events_create_request_body: Body = None,
        **options: Unpack[RequestOptions],
    ) -> aiohttp.ClientResponse:
        """As :meth:`track_custom_event_client_side`, returning the unread aiohttp reply."""
        return await self.api_client.call_operation_raw(
            TRACK_CUSTOM_EVENT_CLIENT_SIDE, client_events_create_request_body, (origin,), options
        )
