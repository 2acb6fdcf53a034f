"""A test-only API class, written by docs/contributing.md's steps 1 and 2: a GET with a path
parameter and a query, a bodiless POST answered ``204``, and a CSV download.

Not part of the package: it proves that ``Operation`` describes such endpoints and that the
pipeline sends and reads them with no change of its own.
"""

from __future__ import annotations

from typing import Any, Optional

from typing_extensions import Unpack

from voucherify._pipeline.operation import NO_CONTENT, Operation, RequestOptions
from voucherify.api._base import BaseApi
from voucherify.api_response import ApiResponse
from voucherify.models._base import ResponseModel
from voucherify.rest import RESTResponse


class CustomerActivities(ResponseModel):
    """The reply of ``GET /v1/customers/{customerId}/activity``: one page of activities."""

    object: str = "list"
    data: list[dict[str, Any]]
    total: int


GET_CUSTOMER_ACTIVITY = Operation(
    name="CustomersApi.list_customer_activity",
    method="GET",
    path="/v1/customers/{customerId}/activity",
    response_model=CustomerActivities,
    auth=("X-App-Id", "X-App-Token"),
    query_params=("type", "limit"),
)

DELETE_CUSTOMER_PERMANENTLY = Operation(
    name="CustomersApi.delete_customer_permanently",
    method="POST",
    path="/v1/customers/{customerId}/permanent-deletion",
    response_model=NO_CONTENT,
    auth=("X-App-Id", "X-App-Token"),
)

DOWNLOAD_EXPORT = Operation(
    name="CustomersApi.download_export",
    method="GET",
    path="/v1/exports/{exportId}",
    response_model=str,
    auth=("X-App-Id", "X-App-Token"),
    query_params=("token",),
    accept="text/csv",
)


class CustomersApi(BaseApi):
    """Customers' activity and deletion, and exports, with the server-side keys."""

    def list_customer_activity(
        self,
        customer_id: Any,
        type: Any = None,
        limit: Any = None,
        **options: Unpack[RequestOptions],
    ) -> CustomerActivities:
        """One page of the customer's activities, of one ``type`` if given."""
        return self.api_client.call_operation(
            GET_CUSTOMER_ACTIVITY, None, (customer_id, type, limit), options
        ).data

    def list_customer_activity_with_http_info(
        self,
        customer_id: Any,
        type: Any = None,
        limit: Any = None,
        **options: Unpack[RequestOptions],
    ) -> ApiResponse[CustomerActivities]:
        """As :meth:`list_customer_activity`, with the status, headers and raw body."""
        return self.api_client.call_operation(
            GET_CUSTOMER_ACTIVITY, None, (customer_id, type, limit), options
        )

    def list_customer_activity_without_preload_content(
        self,
        customer_id: Any,
        type: Any = None,
        limit: Any = None,
        **options: Unpack[RequestOptions],
    ) -> RESTResponse:
        """As :meth:`list_customer_activity`, returning the unread reply."""
        return self.api_client.call_operation_raw(
            GET_CUSTOMER_ACTIVITY, None, (customer_id, type, limit), options
        )

    def delete_customer_permanently_with_http_info(
        self, customer_id: Any, body: Optional[Any] = None, **options: Unpack[RequestOptions]
    ) -> ApiResponse[None]:
        """Delete the customer for good; the API answers ``204`` with no body."""
        return self.api_client.call_operation(
            DELETE_CUSTOMER_PERMANENTLY, body, (customer_id,), options
        )

    def download_export_with_http_info(
        self, export_id: Any, token: Any, **options: Unpack[RequestOptions]
    ) -> ApiResponse[str]:
        """The export's CSV text."""
        return self.api_client.call_operation(DOWNLOAD_EXPORT, None, (export_id, token), options)
