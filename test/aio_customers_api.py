"""The asyncio twin of ``customers_api.CustomersApi``, by docs/contributing.md's step 3."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from customers_api import (
    DELETE_CUSTOMER_PERMANENTLY,
    DOWNLOAD_EXPORT,
    GET_CUSTOMER_ACTIVITY,
    CustomerActivities,
)
from typing_extensions import Unpack

from voucherify._pipeline.operation import RequestOptions
from voucherify.aio.api._base import BaseApi
from voucherify.api_response import ApiResponse

if TYPE_CHECKING:
    import aiohttp


class CustomersApi(BaseApi):
    """Customers' activity and deletion, and exports, with the server-side keys."""

    async def list_customer_activity(
        self,
        customer_id: Any,
        type: Any = None,
        limit: Any = None,
        **options: Unpack[RequestOptions],
    ) -> CustomerActivities:
        """As ``customers_api.CustomersApi.list_customer_activity``."""
        response = await self.api_client.call_operation(
            GET_CUSTOMER_ACTIVITY, None, (customer_id, type, limit), options
        )
        return response.data

    async def list_customer_activity_with_http_info(
        self,
        customer_id: Any,
        type: Any = None,
        limit: Any = None,
        **options: Unpack[RequestOptions],
    ) -> ApiResponse[CustomerActivities]:
        """As :meth:`list_customer_activity`, with the status, headers and raw body."""
        return await self.api_client.call_operation(
            GET_CUSTOMER_ACTIVITY, None, (customer_id, type, limit), options
        )

    async def list_customer_activity_without_preload_content(
        self,
        customer_id: Any,
        type: Any = None,
        limit: Any = None,
        **options: Unpack[RequestOptions],
    ) -> aiohttp.ClientResponse:
        """As :meth:`list_customer_activity`, returning the unread aiohttp reply."""
        return await self.api_client.call_operation_raw(
            GET_CUSTOMER_ACTIVITY, None, (customer_id, type, limit), options
        )

    async def delete_customer_permanently_with_http_info(
        self, customer_id: Any, body: Optional[Any] = None, **options: Unpack[RequestOptions]
    ) -> ApiResponse[None]:
        """As ``customers_api.CustomersApi.delete_customer_permanently_with_http_info``."""
        return await self.api_client.call_operation(
            DELETE_CUSTOMER_PERMANENTLY, body, (customer_id,), options
        )

    async def download_export_with_http_info(
        self, export_id: Any, token: Any, **options: Unpack[RequestOptions]
    ) -> ApiResponse[str]:
        """As ``customers_api.CustomersApi.download_export_with_http_info``."""
        return await self.api_client.call_operation(
            DOWNLOAD_EXPORT, None, (export_id, token), options
        )
