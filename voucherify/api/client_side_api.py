"""``ClientSideApi``: custom events from browsers and apps (``POST /client/v1/events``)."""

from __future__ import annotations

from typing import Any, Optional, Union

from typing_extensions import Unpack

from voucherify._pipeline.operation import Operation, RequestOptions
from voucherify.api._base import BaseApi
from voucherify.api_response import ApiResponse
from voucherify.models.client_events_create_request_body import ClientEventsCreateRequestBody
from voucherify.models.client_events_create_response_body import ClientEventsCreateResponseBody
from voucherify.rest import RESTResponse

Body = Union[ClientEventsCreateRequestBody, dict[str, Any], None]

TRACK_CUSTOM_EVENT_CLIENT_SIDE = Operation(
    name="ClientSideApi.track_custom_event_client_side",
    method="POST",
    path="/client/v1/events",
    body_param="client_events_create_request_body",
    body_model=ClientEventsCreateRequestBody,
    response_model=ClientEventsCreateResponseBody,
    auth=("X-Client-Application-Id", "X-Client-Token"),
    header_params=("origin",),
)


class ClientSideApi(BaseApi):
    """Calls made with the client-side keys ``X-Client-Application-Id``/``X-Client-Token``.

    Each call sends an ``origin`` header that the project's allow-list must contain. The API
    limits these calls to 5 per 5 seconds per IP address.
    """

    def track_custom_event_client_side(
        self,
        origin: Optional[str],
        client_events_create_request_body: Body = None,
        **options: Unpack[RequestOptions],
    ) -> ClientEventsCreateResponseBody:
        """Track Custom Event from the client side: as ``EventsApi.track_custom_event``."""
        return self.api_client.call_operation(
            TRACK_CUSTOM_EVENT_CLIENT_SIDE, client_events_create_request_body, (origin,), options
        ).data

    def track_custom_event_client_side_with_http_info(
        self,
        origin: Optional[str],
        client_events_create_request_body: Body = None,
        **options: Unpack[RequestOptions],
    ) -> ApiResponse[ClientEventsCreateResponseBody]:
        """As :meth:`track_custom_event_client_side`, with the status, headers and raw body."""
        return self.api_client.call_operation(
            TRACK_CUSTOM_EVENT_CLIENT_SIDE, client_events_create_request_body, (origin,), options
        )

    def track_custom_event_client_side_without_preload_content(
        self,
        origin: Optional[str],
        client_events_create_request_body: Body = None,
        **options: Unpack[RequestOptions],
    ) -> RESTResponse:
        """As :meth:`track_custom_event_client_side`, returning the unread reply."""
        return self.api_client.call_operation_raw(
            TRACK_CUSTOM_EVENT_CLIENT_SIDE, client_events_create_request_body, (origin,), options
        )
