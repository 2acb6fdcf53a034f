"""``ApiClient``: runs an operation through the pipeline over the urllib3 transport.

One client holds one connection pool and is safe to share between threads. Use it as a
context manager, or call :meth:`ApiClient.close`, to release its connections.
"""

from __future__ import annotations

import time
from typing import Any, Union

import urllib3

from voucherify._client_base import BaseApiClient
from voucherify._closing import Closing
from voucherify._pipeline.exchange import exchange
from voucherify._pipeline.operation import Operation, RequestOptions, ResponseT
from voucherify._pipeline.steps import Reply, Send, Sleep
from voucherify.api_response import ApiResponse
from voucherify.exceptions import ApiTransportException
from voucherify.rest import RESTClientObject


class ApiClient(BaseApiClient, Closing):
    """Sends operations for the API classes (:class:`~voucherify.EventsApi`...) over urllib3.

    :param configuration: host, keys and connection settings; the default
        :class:`Configuration` when omitted.
    :param header_name: with ``header_value``, one extra header sent on every call.
    :param cookie: a ``Cookie`` header sent on every call.
    """

    rest_client: RESTClientObject

    def _open_transport(self) -> None:
        self.rest_client = RESTClientObject(self.configuration)

    def close(self) -> None:
        """Close every pooled connection; the client opens new ones if used again."""
        self.rest_client.close()

    def call_operation(
        self,
        operation: Operation[ResponseT],
        body: Any,
        header_args: tuple[Any, ...],
        options: RequestOptions,
    ) -> ApiResponse[ResponseT]:
        """Validate, send and parse one call, retrying as the policy allows.

        The API classes' methods all end here. Failures raise with ``attempts``, ``slept``
        and ``retryable`` set; a success reports the same on the ``ApiResponse``.
        """
        request = self._prepare(operation, body, header_args, options)
        steps = exchange(operation, request, self.configuration.log_level)
        step = next(steps)
        outcome: Union[Reply, ApiTransportException, None]
        try:
            while True:
                if type(step) is Sleep:
                    time.sleep(step.seconds)
                    outcome = None
                else:
                    try:
                        outcome = self.rest_client.send(request, step)
                    except ApiTransportException as error:
                        outcome = error
                step = steps.send(outcome)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def call_operation_raw(
        self,
        operation: Operation[Any],
        body: Any,
        header_args: tuple[Any, ...],
        options: RequestOptions,
    ) -> urllib3.BaseHTTPResponse:
        """Validate and send one call; return the unread reply, whatever its status.

        The call's deadline still bounds every read of the reply, the caller's later reads
        of the body included: past it, a read raises urllib3's ``ReadTimeoutError``.
        """
        request = self._prepare(operation, body, header_args, options)
        deadline, timeouts = request.deadline, request.timeouts
        deadline_at = None
        if deadline is not None:
            deadline_at = time.monotonic() + deadline
            connect, read = timeouts or (None, None)
            timeouts = (deadline if connect is None else min(connect, deadline), read)
        return self.rest_client.request(request, Send(timeouts, deadline_at), preload_content=False)
