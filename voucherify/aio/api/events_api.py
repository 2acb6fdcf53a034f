"""``EventsApi`` for asyncio: ``await``-able twins of :class:`voucherify.EventsApi`'s methods."""

from __future__ import annotations

from typing import TYPE_CHECKING

from typing_extensions import Unpack

from voucherify._pipeline.operation import RequestOptions
from voucherify.aio.api._base import BaseApi
from voucherify.api.events_api import TRACK_CUSTOM_EVENT, Body
from voucherify.api_response import ApiResponse
from voucherify.models.events_create_response_body import EventsCreateResponseBody

if TYPE_CHECKING:
    import aiohttp


class EventsApi(BaseApi):
    """Custom events, authenticated with the server-side keys ``X-App-Id``/``X-App-Token``."""

    async def track_custom_event(
        self,
        events_create_request_body: Body = None,
        **options: Unpack[RequestOptions],
    ) -> EventsCreateResponseBody:
        """Track Custom Event: as :meth:`voucherify.EventsApi.track_custom_event`."""
        response = await self.api_client.call_operation(
            TRACK_CUSTOM_EVENT, events_create_request_body, (), options
        )
        return response.data

    async def track_custom_event_with_http_info(
        self,
        events_create_request_body: Body = None,
        **options: Unpack[RequestOptions],
    ) -> ApiResponse[EventsCreateResponseBody]:
        """As :meth:`track_custom_event`, with the status, headers and raw body."""
        return await self.api_client.call_operation(
            TRACK_CUSTOM_EVENT, events_create_request_body, (), options
        )

    async def track_custom_event_without_preload_content(
        self,
        events_create_request_body: Body = None,
        **options: Unpack[RequestOptions],
    ) -> aiohttp.ClientResponse:
        """As :meth:`track_custom_event`, returning the unread aiohttp reply."""
        return await self.api_client.call_operation_raw(
            TRACK_CUSTOM_EVENT, events_create_request_body, (), options
        )
