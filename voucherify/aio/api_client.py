"""The asyncio ``ApiClient``: the shared pipeline over the aiohttp transport.

It drives the same :func:`~voucherify._pipeline.exchange.exchange` as the sync client,
awaiting where that one blocks, so validation, retries, waits, deadline, logging and parsing
are one implementation. Use it with ``async with``, or ``await client.close()``. One client
may serve several event loops (one ``asyncio.run`` after another, or a loop per thread): its
transport keeps a session per loop.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING, Any, Optional, Union

from voucherify._client_base import BaseApiClient
from voucherify._pipeline.exchange import exchange
from voucherify._pipeline.operation import Operation, RequestOptions, ResponseT
from voucherify._pipeline.steps import Reply, Sleep
from voucherify.aio.rest import AsyncRESTClientObject
from voucherify.api_response import ApiResponse
from voucherify.exceptions import ApiTransportException

if TYPE_CHECKING:
    import aiohttp


class ApiClient(BaseApiClient):
    """Sends operations for :class:`voucherify.aio.EventsApi` and ``ClientSideApi``.

    Takes the same arguments as :class:`voucherify.ApiClient`. Calls may run concurrently
    (``asyncio.gather``); cancelling one leaves the client usable.
    """

    rest_client: AsyncRESTClientObject

    def _open_transport(self) -> None:
        self.rest_client = AsyncRESTClientObject(self.configuration)

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the sessions and their connections; the client opens new ones if used again.

        The running loop's session is closed before this returns; one of another loop that
        is still running is closed by that loop, without this waiting for it.
        """
        await self.rest_client.close()

    async def call_operation(
        self,
        operation: Operation[ResponseT],
        body: Any,
        header_args: tuple[Any, ...],
        options: RequestOptions,
    ) -> ApiResponse[ResponseT]:
        """Validate, send and parse one call, retrying as the policy allows."""
        request = self._prepare(operation, body, header_args, options)
        steps = exchange(operation, request, self.configuration.log_level)
        step = next(steps)
        outcome: Union[Reply, ApiTransportException, None]
        try:
            while True:
                if type(step) is Sleep:
                    await asyncio.sleep(step.seconds)
                    outcome = None
                else:
                    try:
                        outcome = await self.rest_client.send(request, step)
                    except ApiTransportException as error:
                        outcome = error
                step = steps.send(outcome)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def call_operation_raw(
        self,
        operation: Operation[Any],
        body: Any,
        header_args: tuple[Any, ...],
        options: RequestOptions,
    ) -> aiohttp.ClientResponse:
        """Validate and send one call; return the unread reply, whatever its status.

        Release it with ``async with response:`` or ``response.release()``.
        """
        request = self._prepare(operation, body, header_args, options)
        return await self.rest_client.request(request, request.timeouts, request.deadline)
