# Generated from voucherify/api/client_side_api.py by tools/unasync.py: do not edit.
"""The asyncio twin of :mod:`voucherify.api.client_side_api`.

The same classes and signatures; the methods that send are coroutines.
"""

from __future__ import annotations

from typing import Optional

from typing_extensions import Unpack

from voucherify._pipeline.operation import RequestOptions
from voucherify.aio.api._base import BaseApi
from voucherify.aio.rest import RESTResponse
from voucherify.api.client_side_api import TRACK_CUSTOM_EVENT_CLIENT_SIDE, Body
from voucherify.api_response import ApiResponse
from voucherify.models.client_events_create_response_body import ClientEventsCreateResponseBody


class ClientSideApi(BaseApi):
    """Calls made with the client-side keys ``X-Client-Application-Id``/``X-Client-Token``.

    Each call sends an ``origin`` header that the project's allow-list must contain. The API
    limits these calls to 5 per 5 seconds per IP address.
    """

    async def track_custom_event_client_side(
        self,
        origin: Optional[str],
        client_events_create_request_body: Body = None,
        **options: Unpack[RequestOptions],
    ) -> ClientEventsCreateResponseBody:
        """Track Custom Event from the client side: as ``EventsApi.track_custom_event``."""
        return (await self.api_client.call_operation(
            TRACK_CUSTOM_EVENT_CLIENT_SIDE, client_events_create_request_body, (origin,), options
        )).data

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
    ) -> RESTResponse:
        """As :meth:`track_custom_event_client_side`, returning the unread reply."""
        return await self.api_client.call_operation_raw(
            TRACK_CUSTOM_EVENT_CLIENT_SIDE, client_events_create_request_body, (origin,), options
        )
