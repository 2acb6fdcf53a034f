"""What an endpoint is: method, path and its parameters, query, keys, body and reply, header
parameters."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Generic, Optional, TypeVar

from typing_extensions import TypedDict

from voucherify.configuration import TimeoutSpec
from voucherify.models._base import RequestModel, ResponseModel

ResponseT = TypeVar("ResponseT")

NO_CONTENT: type[None] = type(None)
"""``response_model`` of an operation whose reply has no body (``204 No Content``)."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ReplyKind:
    """How a 2xx reply's body becomes ``ApiResponse.data``, decided once per operation."""

    JSON = "json"
    """Parsed and validated into the operation's ``ResponseModel``."""
    NONE = "none"
    """No body expected: ``data`` is ``None`` (whatever bytes came are in ``raw_data``)."""
    TEXT = "text"
    """Decoded to ``str`` by the reply's charset (UTF-8 when it names none)."""
    BYTES = "bytes"
    """The body as received."""


@dataclass(frozen=True)
class Operation(Generic[ResponseT]):
    """One endpoint, declared once by its API class and read by the pipeline on each call.

    The values of the path, query and header parameters come, in that order, as the call's
    positional arguments tuple (``call_operation(operation, body, args, options)``).
    """

    name: str
    """``ApiClass.method``, used in messages."""
    method: str
    path: str
    """The path after the host; a ``{name}`` is a path parameter, quoted as one segment."""
    response_model: type[ResponseT]
    """A ``ResponseModel`` for a JSON reply; ``str`` or ``bytes`` for another media type
    (see ``accept``); :data:`NO_CONTENT` for a reply without a body."""
    auth: tuple[str, ...]
    """Header names of the keys the endpoint requires, looked up in ``Configuration.api_key``."""
    body_param: str = ""
    """The keyword the body is passed as, named in messages; empty with no body."""
    body_model: Optional[type[RequestModel]] = None
    """The body's model; ``None`` for a call that sends no body (and no ``Content-Type``)."""
    header_params: tuple[str, ...] = ()
    """Required headers given as method arguments (``origin``)."""
    query_params: tuple[str, ...] = ()
    """Query parameters given as method arguments, by their names on the wire; ``None``
    leaves one out."""
    accept: Optional[str] = None
    """The ``Accept`` header when the reply is not JSON; ``None`` keeps the client's."""
    path_params: tuple[str, ...] = field(init=False)
    """The ``{name}`` parts of ``path``, in order."""
    reply_kind: str = field(init=False)
    """One of :class:`ReplyKind`'s values, from ``response_model``."""

    def __post_init__(self) -> None:
        # Declarations are checked here, at import, so a call never meets a malformed one.
        names = tuple(_PLACEHOLDER.findall(self.path))
        rest = _PLACEHOLDER.sub("", self.path)
        if "{" in rest or "}" in rest:
            raise ValueError(f"{self.name}: path parameters are written {{name}}")
        if len(set(names + self.query_params)) != len(names) + len(self.query_params):
            raise ValueError(f"{self.name}: a path or query parameter is declared twice")
        if (self.body_model is None) != (not self.body_param):
            raise ValueError(f"{self.name}: body_param and body_model go together")
        object.__setattr__(self, "path_params", names)
        object.__setattr__(self, "reply_kind", _reply_of(self.name, self.response_model))


def _reply_of(name: str, model: Any) -> str:
    if model is NO_CONTENT:
        return ReplyKind.NONE
    if model is str:
        return ReplyKind.TEXT
    if model is bytes:
        return ReplyKind.BYTES
    if isinstance(model, type) and issubclass(model, ResponseModel):
        return ReplyKind.JSON
    raise ValueError(f"{name}: response_model must be a ResponseModel, str, bytes or NO_CONTENT")


class RequestOptions(TypedDict, total=False):
    """Per-call options every operation accepts, named as in the official SDK."""

    _request_timeout: TimeoutSpec
    """``(connect, read)`` seconds, or one number for both; overrides the configuration."""
    _request_auth: Optional[dict[str, Any]]
    """An auth setting (``{"in": "header", "key": ..., "value": ...}``) used instead of the
    configured keys for this call."""
    _content_type: Optional[str]
    """A JSON media type to send as ``Content-Type``."""
    _headers: Optional[dict[str, str]]
    """Extra headers for this call."""
    _host_index: Optional[int]
    """Send this call to server ``n`` of ``Configuration.get_host_settings()``."""
    _retries: Any
    """A ``RetryPolicy``, a number of retries, or ``False``, instead of the configuration's."""
    _deadline: Optional[float]
    """Seconds this whole call may take, instead of the configuration's ``deadline``."""


OPTION_NAMES = frozenset(RequestOptions.__annotations__)
