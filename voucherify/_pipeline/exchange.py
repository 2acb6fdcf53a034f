"""One call from prepared request to result: the loop of attempts, without any I/O.

:func:`exchange` is a generator that says what to do next: ``(SEND, timeouts, deadline_at)``
or ``(SLEEP, seconds)``. The client that drives it does the sending or sleeping its own way
(blocking in :class:`voucherify.ApiClient`, awaiting in :class:`voucherify.aio.ApiClient`)
and sends back what happened: the reply as ``(status, reason, headers, body)``, or the
``ApiTransportException`` the transport raised. The generator returns the parsed
``ApiResponse`` or raises the final exception, so both clients retry, wait, log and parse
by the same code.
"""

from __future__ import annotations

from typing import Any, Generator, Mapping, Optional, Union

from voucherify._pipeline.attempts import Attempts
from voucherify._pipeline.operation import Operation, ResponseT
from voucherify._pipeline.request import PreparedRequest
from voucherify._pipeline.response import read_response
from voucherify.api_response import ApiResponse
from voucherify.exceptions import ApiException, ApiTransportException

SEND = "send"
SLEEP = "sleep"

Reply = tuple[int, Optional[str], Mapping[str, str], bytes]
Step = tuple[Any, ...]


def exchange(
    operation: Operation[ResponseT], request: PreparedRequest, log_level: Optional[int]
) -> Generator[Step, Union[Reply, ApiTransportException, None], ApiResponse[ResponseT]]:
    """Drive one call's attempts; see the module docstring for the protocol."""
    attempts = Attempts(request, log_level)
    while True:
        outcome = yield (SEND, attempts.start(), attempts.deadline_at)
        if isinstance(outcome, ApiTransportException):
            wait = attempts.wait_after_error(outcome)
            if wait is None:
                raise attempts.finish(outcome)
        else:
            assert outcome is not None
            status, reason, headers, data = outcome
            wait = attempts.wait_after_status(status, headers)
            if wait is None:
                try:
                    response = read_response(operation, status, reason, headers, data)
                except ApiException as error:
                    raise attempts.finish(error) from None
                response.attempts = attempts.count
                response.slept = attempts.slept
                return response
        yield (SLEEP, wait)
        attempts.slept_for(wait)
