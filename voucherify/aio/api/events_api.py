# Generated from voucherify/api/events_api.py by tools/unasync.py: do not edit.
"""The asyncio twin of :mod:`voucherify.api.events_api`.

The same classes and signatures; the methods that send are coroutines.
"""

from __future__ import annotations

from typing_extensions import Unpack

from voucherify._pipeline.operation import RequestOptions
from voucherify.aio.api._base import BaseApi
from voucherify.aio.rest import RESTResponse
from voucherify.api.events_api import TRACK_CUSTOM_EVENT, Body
from voucherify.api_response import ApiResponse
from voucherify.models.events_create_response_body import EventsCreateResponseBody


class EventsApi(BaseApi):
    """Custom events, authenticated with the server-side keys ``X-App-Id``/``X-App-Token``."""

    async def track_custom_event(
        self,
        events_create_request_body: Body = None,
        **options: Unpack[RequestOptions],
    ) -> EventsCreateResponseBody:
        """Track Custom Event: record ``event`` for ``customer``, creating the customer if new.

        Not idempotent: each successful call records one more event.
        """
        return (await self.api_client.call_operation(
            TRACK_CUSTOM_EVENT, events_create_request_body, (), options
        )).data

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
    ) -> RESTResponse:
        """As :meth:`track_custom_event`, returning the unread reply whatever its status."""
        return await self.api_client.call_operation_raw(
            TRACK_CUSTOM_EVENT, events_create_request_body, (), options
        )
