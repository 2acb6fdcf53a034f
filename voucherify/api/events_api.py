"""``EventsApi``: server-side tracking of custom events (``POST /v1/events``)."""

from __future__ import annotations

from typing import Any, Union

from typing_extensions import Unpack

from voucherify._pipeline.operation import Operation, RequestOptions
from voucherify.api._base import BaseApi
from voucherify.api_response import ApiResponse
from voucherify.models.events_create_request_body import EventsCreateRequestBody
from voucherify.models.events_create_response_body import EventsCreateResponseBody
from voucherify.rest import RESTResponse

Body = Union[EventsCreateRequestBody, dict[str, Any], None]

TRACK_CUSTOM_EVENT = Operation(
    name="EventsApi.track_custom_event",
    method="POST",
    path="/v1/events",
    body_param="events_create_request_body",
    body_model=EventsCreateRequestBody,
    response_model=EventsCreateResponseBody,
    auth=("X-App-Id", "X-App-Token"),
)


class EventsApi(BaseApi):
    """Custom events, authenticated with the server-side keys ``X-App-Id``/``X-App-Token``."""

    def track_custom_event(
        self,
        events_create_request_body: Body = None,
        **options: Unpack[RequestOptions],
    ) -> EventsCreateResponseBody:
        """Track Custom Event: record ``event`` for ``customer``, creating the customer if new.

        Not idempotent: each successful call records one more event.
        """
        return self.api_client.call_operation(
            TRACK_CUSTOM_EVENT, events_create_request_body, (), options
        ).data

    def track_custom_event_with_http_info(
        self,
        events_create_request_body: Body = None,
        **options: Unpack[RequestOptions],
    ) -> ApiResponse[EventsCreateResponseBody]:
        """As :meth:`track_custom_event`, with the status, headers and raw body."""
        return self.api_client.call_operation(
            TRACK_CUSTOM_EVENT, events_create_request_body, (), options
        )

    def track_custom_event_without_preload_content(
        self,
        events_create_request_body: Body = None,
        **options: Unpack[RequestOptions],
    ) -> RESTResponse:
        """As :meth:`track_custom_event`, returning the unread reply whatever its status."""
        return self.api_client.call_operation_raw(
            TRACK_CUSTOM_EVENT, events_create_request_body, (), options
        )
