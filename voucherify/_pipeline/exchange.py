"""One call from prepared request to result: the loop of attempts, without any I/O.

:func:`exchange` is a generator that says what to do next: a :class:`~.steps.Send` or a
:class:`~.steps.Sleep`. The client that drives it does the sending or sleeping its own way
(blocking in :class:`voucherify.ApiClient`, awaiting in :class:`voucherify.aio.ApiClient`)
and sends back what happened: the transport's :class:`~.steps.Reply`, the
``ApiTransportException`` the transport raised, or ``None`` after a sleep. The generator
returns the parsed ``ApiResponse`` or raises the final exception, so both clients retry,
wait, log and parse by the same code.
"""

from __future__ import annotations

from typing import Generator, Optional, Union

from voucherify._pipeline.attempts import Attempts
from voucherify._pipeline.operation import Operation, ResponseT
from voucherify._pipeline.request import PreparedRequest
from voucherify._pipeline.response import read_response
from voucherify._pipeline.steps import Reply, Send, Sleep
from voucherify.api_response import ApiResponse
from voucherify.exceptions import ApiException, ApiTransportException

Steps = Generator[
    Union[Send, Sleep], Union[Reply, ApiTransportException, None], ApiResponse[ResponseT]
]


def exchange(
    operation: Operation[ResponseT], request: PreparedRequest, log_level: Optional[int]
) -> Steps[ResponseT]:
    """Drive one call's attempts; see the module docstring for the protocol."""
    attempts = Attempts(request, log_level)
    while True:
        outcome = yield Send(attempts.start(), attempts.deadline_at)
        # type(...) is, not isinstance: no call, and the per-call budget counts calls.
        if type(outcome) is Reply:
            wait = attempts.wait_after_status(outcome.status, outcome.headers)
            if wait is None:
                try:
                    response = read_response(
                        operation, outcome.status, outcome.reason, outcome.headers, outcome.body
                    )
                except ApiException as error:
                    raise attempts.finish(error) from None
                response.attempts = attempts.count
                response.slept = attempts.slept
                return response
        else:
            assert isinstance(outcome, ApiTransportException)
            wait = attempts.wait_after_error(outcome)
            if wait is None:
                raise attempts.finish(outcome)
        yield Sleep(wait)
        attempts.slept_for(wait)
