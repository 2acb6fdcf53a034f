"""Turn one call into what goes on the wire, checking everything before any I/O.

The body is validated against its model and encoded once; options, path, query and header
arguments and keys are checked; the URL and timeouts are resolved. Any problem raises
``ApiValueError`` or ``ApiTypeError`` naming what is wrong, and never a key's value.

The URL, headers and limits depend only on the configuration and the client's headers, so a
client keeps them per operation (:class:`CallTarget`) and rebuilds them, keys checked again,
whenever those settings differ from what they were built from. What depends on the call (path
parameters, query) is added to the kept URL on each call.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any, Mapping, Optional
from urllib.parse import quote

from pydantic import BaseModel, ValidationError

from voucherify._pipeline.headers import check_header, drop_header, put_header
from voucherify._pipeline.log import IDENTIFIERS, NO_SECRETS, Secrets
from voucherify._pipeline.operation import OPTION_NAMES, Operation, RequestOptions
from voucherify._pipeline.steps import Timeouts
from voucherify._pipeline.urls import check_proxy, join_url, parse_checked, sends_in_clear
from voucherify.configuration import AUTH_KEYS, Configuration, TimeoutSpec
from voucherify.exceptions import ApiTypeError, ApiValueError
from voucherify.models._base import RequestModel, VoucherifyModel
from voucherify.models._validation import to_api_value_error
from voucherify.retry import RetryPolicy, resolve_policy

MAX_BODY_BYTES = 10 * 1024 * 1024
"""The API answers 413 above this; the SDK refuses such a body before sending it."""

_JSON_MEDIA_TYPE = re.compile(r"application/([\w.+-]+\+)?json\s*(;.*)?\Z", re.IGNORECASE)


_TARGET_OPTIONS = frozenset({"_host_index", "_headers", "_content_type", "_request_auth"})
"""Per-call options that change the URL or headers, so the call builds its own."""


class CallTarget:
    """Where a call goes and with what: URL, headers (keys included) and limits.

    All of it comes from the configuration and the client's headers, not from the call, so a
    client keeps one per operation and rebuilds it only when those settings change.
    """

    __slots__ = ("deadline", "headers", "retry_policy", "secrets", "timeouts", "url")

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        timeouts: Timeouts,
        retry_policy: RetryPolicy,
        deadline: Optional[float],
        secrets: Secrets = NO_SECRETS,
    ) -> None:
        self.url = url
        self.headers = headers
        self.timeouts = timeouts
        self.retry_policy = retry_policy
        self.deadline = deadline
        self.secrets = secrets
        """What the log must mask in ``headers``: the key headers' names and the keys."""


class PreparedRequest(CallTarget):
    """A request ready for a transport, every field final and checked: a target (its URL
    with this call's path and query), this call's limits, and the method and encoded body
    (``None`` when the operation sends none)."""

    __slots__ = ("body", "method")

    def __init__(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Optional[bytes],
        timeouts: Timeouts,
        retry_policy: RetryPolicy,
        deadline: Optional[float],
        secrets: Secrets = NO_SECRETS,
    ) -> None:
        super().__init__(url, headers, timeouts, retry_policy, deadline, secrets)
        self.method = method
        self.body = body


class EncodedBody:
    """A body that :func:`encode_body` already validated and encoded, sent as it is.

    The outbox stores an event's bytes when it is tracked and sends those same bytes later;
    checking them again would let a later release of the SDK refuse what it already took.
    """

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


TargetCache = dict[str, tuple[tuple[Any, ...], CallTarget]]
"""A client's call targets by operation name, each with the settings it was built from."""


def prepare_request(
    operation: Operation[Any],
    configuration: Configuration,
    base_headers: Mapping[str, str],
    body: Any,
    args: tuple[Any, ...],
    options: RequestOptions,
    targets: Optional[TargetCache] = None,
    secret_headers: frozenset[str] = frozenset(),
) -> PreparedRequest:
    """Validate a call of ``operation`` and build the request it sends.

    ``args`` are the values of the operation's path, query and header parameters, in that
    order. ``targets`` is the client's cache of :class:`CallTarget` by operation; without it, or
    when an option changes the URL or headers, the target is built for this call alone.
    ``secret_headers`` names (lower case) client headers that the log masks like keys.
    """
    if options and not OPTION_NAMES.issuperset(options):
        unknown = ", ".join(sorted(set(options) - OPTION_NAMES))
        raise ApiTypeError(f"{operation.name}() got unexpected keyword argument(s): {unknown}")

    payload = encode_body(operation, body)

    if targets is not None and _TARGET_OPTIONS.isdisjoint(options):
        target = _cached_target(operation, configuration, base_headers, targets, secret_headers)
    else:
        target = build_target(operation, configuration, base_headers, options, secret_headers)
    url, headers = target.url, target.headers
    if operation.path_params or operation.query_params:
        url, args = call_url(operation, url, args)
    if operation.header_params:
        headers = {**headers, **_header_arguments(operation, args)}
    timeouts, policy, deadline = target.timeouts, target.retry_policy, target.deadline
    if options:
        if "_request_timeout" in options:
            timeouts = normalize_timeout(options["_request_timeout"], "_request_timeout")
        if "_retries" in options:
            policy = resolve_policy(options["_retries"])
        if "_deadline" in options:
            deadline = _deadline(options["_deadline"], "_deadline")
    return PreparedRequest(
        operation.method, url, headers, payload, timeouts, policy, deadline,
        target.secrets,
    )


def _cached_target(
    operation: Operation[Any],
    configuration: Configuration,
    base_headers: Mapping[str, str],
    targets: TargetCache,
    secret_headers: frozenset[str],
) -> CallTarget:
    current = configuration.call_settings()
    if current is None:
        return build_target(operation, configuration, base_headers, {}, secret_headers)
    settings = (*current, base_headers, secret_headers)
    cached = targets.get(operation.name)
    # The stored settings hold copies of the dicts, so this compares contents: a key or
    # header changed in place since the last call is seen.
    if cached is not None and cached[0] == settings:
        return cached[1]
    # Copied before building: a change made meanwhile (another thread rotating a key) then
    # differs from the copy, and the next call builds again.
    snapshot = tuple(_copied(value) for value in settings)
    target = build_target(operation, configuration, base_headers, {}, secret_headers)
    targets[operation.name] = (snapshot, target)
    return target


def _copied(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


def build_target(
    operation: Operation[Any],
    configuration: Configuration,
    base_headers: Mapping[str, str],
    options: RequestOptions,
    secret_headers: frozenset[str] = frozenset(),
) -> CallTarget:
    """Resolve and check the URL, headers and the configuration's limits for ``operation``."""
    host_index = options.get("_host_index")
    if host_index is None:
        host = configuration.host
    else:
        if not isinstance(host_index, int) or isinstance(host_index, bool):
            raise ApiTypeError("_host_index must be an integer")
        host = configuration.get_host_from_settings(host_index, configuration.server_variables)
    parse_checked(host, "configuration.host")
    for name in ("api_key", "api_key_prefix"):
        if not isinstance(getattr(configuration, name), Mapping):
            raise ApiTypeError(f"configuration.{name} must be a dict of header names to strings")
    url = join_url(host, operation.path)
    if not configuration.allow_insecure_http and sends_in_clear(host):
        raise ApiValueError(
            "refusing to send keys over plain http:// to a host that is not this machine; "
            "use https://, or set configuration.allow_insecure_http = True"
        )
    check_proxy(url, configuration)
    headers = build_headers(operation, configuration, base_headers, options)
    return CallTarget(
        url,
        headers,
        normalize_timeout(configuration.timeout, "configuration.timeout"),
        resolve_policy(configuration.retries),
        _deadline(configuration.deadline, "configuration.deadline"),
        _secrets(configuration, options, headers, secret_headers),
    )


def build_headers(
    operation: Operation[Any],
    configuration: Configuration,
    base_headers: Mapping[str, str],
    options: RequestOptions,
) -> dict[str, str]:
    """The call's headers, one per name whatever its case; each layer wins over the one
    before: the client's (SDK defaults, then its own), the operation's ``Accept``,
    ``_headers``, ``_content_type``, then the keys (configured, or ``_request_auth``).
    Header parameters (``origin``) are left out: the call's argument wins over all of these
    and is added per call. An operation without a body sends no ``Content-Type``."""
    headers: dict[str, str] = {}
    for name, value in base_headers.items():
        check_header(name, value)
        put_header(headers, name, value)
    if operation.accept is not None:
        put_header(headers, "Accept", operation.accept)
    extra_headers = options.get("_headers")
    if extra_headers:
        if not isinstance(extra_headers, Mapping):
            raise ApiTypeError(
                f"_headers must be a dict of header names to values, not "
                f"{type(extra_headers).__name__}"
            )
        for name, value in extra_headers.items():
            check_header(name, value)
            if name.lower() == "content-type":
                _check_json_media_type(value, "_headers Content-Type")
            put_header(headers, name, value)

    content_type = options.get("_content_type")
    if content_type is not None:
        _check_json_media_type(content_type, "_content_type")
        put_header(headers, "Content-Type", content_type)

    request_auth = options.get("_request_auth")
    if request_auth is not None:
        _apply_request_auth(request_auth, headers)
    else:
        _apply_configured_keys(operation, configuration, headers)
    for name in operation.header_params:
        drop_header(headers, name)
    if operation.body_model is None:
        drop_header(headers, "Content-Type")
    return headers


def _secrets(
    configuration: Configuration,
    options: RequestOptions,
    headers: Mapping[str, str],
    secret_headers: frozenset[str],
) -> Secrets:
    """The names and values the log masks: the configuration's keys (with and without their
    prefix), ``_request_auth``'s, and whatever the headers of those names carry (a key that a
    subclass computes is read from there, not asked for again)."""
    found: list[tuple[str, Any]] = []
    api_key, prefixes = configuration.api_key, configuration.api_key_prefix
    for name in {*AUTH_KEYS, *api_key}:
        if isinstance(name, str):
            key, prefix = api_key.get(name), prefixes.get(name)
            found.append((name, key))
            if isinstance(key, str) and isinstance(prefix, str):
                found.append((name, f"{prefix} {key}"))
    request_auth = options.get("_request_auth")
    if request_auth is not None:
        settings = [request_auth] if isinstance(request_auth, Mapping) else request_auth
        found += [(setting["key"], setting["value"]) for setting in settings]
    names = {name.lower() for name, _ in found} | secret_headers
    found += [(name, value) for name, value in headers.items() if name.lower() in names]
    found = [(name.lower(), value) for name, value in found if isinstance(value, str) and value]
    secret = {value for name, value in found if name not in IDENTIFIERS}
    identifiers = {value for name, value in found if name in IDENTIFIERS} - secret
    return Secrets(frozenset(names), tuple(secret | identifiers), frozenset(identifiers))


_SEGMENT_SAFE = "!$&'()*+,;=:@"
"""What RFC 3986 lets a path segment hold unescaped besides letters, digits and ``-._~``."""
_QUERY_SAFE = "!$'()*,/:?@"
"""What a query name or value holds unescaped: RFC 3986 allows it, it separates nothing
(``&``, ``=``, ``+`` and ``;`` do, to some servers), and yarl, which the async transport
sends through, would unescape it: so both clients send the same bytes."""


def call_url(
    operation: Operation[Any], url: str, args: tuple[Any, ...]
) -> tuple[str, tuple[Any, ...]]:
    """``url`` (the target's, ``{name}`` parts unfilled) with this call's path parameters
    quoted in and its query appended; and the arguments left for the header parameters."""
    names, query_names = operation.path_params, operation.query_params
    count = len(names) + len(query_names)
    if len(args) < count + len(operation.header_params):
        raise ApiTypeError(f"{operation.name}() got too few arguments")
    if names:
        url = url.format_map(
            {name: _path_segment(operation, name, value) for name, value in zip(names, args)}
        )
    pairs = [
        f"{quote(name, safe=_QUERY_SAFE)}={_query_value(operation, name, item)}"
        for name, value in zip(query_names, args[len(names):count])
        if value is not None
        for item in (value if isinstance(value, (list, tuple)) else (value,))
    ]
    if pairs:
        url = f"{url}?{'&'.join(pairs)}"
    return url, args[count:]


def _path_segment(operation: Operation[Any], name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ApiTypeError(
            f"{operation.name}(): path parameter {name} must be a string, "
            f"not {type(value).__name__}"
        )
    if value in ("", ".", ".."):
        # "." and ".." would be read as steps up the path, not as a value.
        raise ApiValueError(
            f"{operation.name}(): path parameter {name} must not be empty, '.' or '..'"
        )
    return quote(value, safe=_SEGMENT_SAFE)


def _query_value(operation: Operation[Any], name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        raise ApiValueError(f"{operation.name}(): query parameter {name} must be finite")
    if not isinstance(value, (str, int, float)):
        raise ApiTypeError(
            f"{operation.name}(): query parameter {name} must be a string, number, boolean "
            f"or a list of them, not {type(value).__name__}"
        )
    return quote(str(value), safe=_QUERY_SAFE)


def _header_arguments(operation: Operation[Any], header_args: tuple[Any, ...]) -> dict[str, str]:
    """The operation's required header parameters (``origin``), checked."""
    headers = {}
    for name, value in zip(operation.header_params, header_args):
        if value is None or value == "":
            raise ApiValueError(f"{operation.name}(): {name} is required")
        check_header(name, value)
        headers[name] = value
    return headers


def encode_body(operation: Operation[Any], body: Any) -> Optional[bytes]:
    """Validate ``body`` (a dict or a model) against the operation's model and encode it;
    ``None`` for an operation that sends no body."""
    model_class = operation.body_model
    if model_class is None:
        if body is not None:
            raise ApiTypeError(f"{operation.name}() sends no body; got {type(body).__name__}")
        return None
    if type(body) is EncodedBody:
        return body.payload
    if body is None:
        raise ApiValueError(f"{operation.name}(): {operation.body_param} is required")
    if not isinstance(body, (dict, BaseModel)):
        if not isinstance(body, Mapping):
            raise ApiTypeError(
                f"{operation.body_param} must be a dict or "
                f"{model_class.__name__}, not {type(body).__name__}"
            )
        body = dict(body)
    if isinstance(body, VoucherifyModel) and not isinstance(body, model_class):
        body = body.to_dict()
    try:
        # The validator itself, not model_validate(): this runs on every call.
        model: RequestModel = model_class.__pydantic_validator__.validate_python(body)
    except ValidationError as exc:
        raise to_api_value_error(exc, model_class.__name__) from None
    payload = model.to_json_bytes()
    if len(payload) > MAX_BODY_BYTES:
        raise ApiValueError(
            f"{operation.body_param} encodes to {len(payload)} bytes; "
            f"the API accepts at most {MAX_BODY_BYTES} (10 MiB)"
        )
    return payload


def _check_json_media_type(value: Any, what: str) -> None:
    if not isinstance(value, str) or not _JSON_MEDIA_TYPE.match(value):
        raise ApiValueError(f"{what} must be a JSON media type such as application/json")


def _apply_configured_keys(
    operation: Operation[Any], configuration: Configuration, headers: dict[str, str]
) -> None:
    for name in operation.auth:
        value = configuration.get_api_key_with_prefix(name)
        if not value:
            if _has_header(headers, name):
                continue
            raise ApiValueError(
                f"{operation.name}(): key {name} is not set; "
                f"set configuration.api_key[{name!r}]"
            )
        check_header(name, value)
        put_header(headers, name, value)


def _has_header(headers: Mapping[str, str], name: str) -> bool:
    lower = name.lower()
    return any(value and existing.lower() == lower for existing, value in headers.items())


_AUTH_SHAPE = (
    '_request_auth must be {"in": "header", "key": <header name>, "value": <key>} with '
    "string key and value, or a non-empty list of them"
)


def _apply_request_auth(request_auth: Any, headers: dict[str, str]) -> None:
    if isinstance(request_auth, Mapping):
        settings: list[Any] = [request_auth]
    elif isinstance(request_auth, (list, tuple)):
        settings = list(request_auth)
        if not settings:
            raise ApiValueError(_AUTH_SHAPE)
    else:
        raise ApiTypeError(_AUTH_SHAPE)
    for setting in settings:
        if (
            not isinstance(setting, Mapping)
            or setting.get("in") != "header"
            or not isinstance(setting.get("key"), str)
            or not isinstance(setting.get("value"), str)
            or not setting["value"]
        ):
            raise ApiValueError(_AUTH_SHAPE)
        name, value = setting["key"], setting["value"]
        check_header(name, value)
        put_header(headers, name, value)


def normalize_timeout(spec: Any, what: str = "_request_timeout") -> Timeouts:
    """``(connect, read)`` seconds from one number or a pair; ``None`` for no timeout.

    ``what`` names the setting in messages. ``True`` is not a number of seconds here.
    """
    if isinstance(spec, list):
        spec = tuple(spec)
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise ApiValueError(f"{what} pair must be (connect, read)")
        # Checked before the cache, which would take True for 1 and 1.0 for 1.
        for part in spec:
            _check_seconds_type(part, what)
    else:
        _check_seconds_type(spec, what)
    try:
        return _normalize_timeout(spec)
    except ApiValueError:
        raise ApiValueError(f"{what} values must be positive, finite seconds") from None


def _check_seconds_type(value: Any, what: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ApiTypeError(f"{what} must be a number of seconds or a (connect, read) pair")


@lru_cache(maxsize=32)
def _normalize_timeout(spec: TimeoutSpec) -> Timeouts:
    if spec is None:
        return None
    if isinstance(spec, tuple):
        return (_seconds(spec[0]), _seconds(spec[1]))
    seconds = _seconds(spec)
    return (seconds, seconds)


def _deadline(value: Any, what: str = "deadline") -> Optional[float]:
    if value is None:
        return None
    try:
        seconds = _seconds(value)
    except TypeError:
        raise ApiTypeError(f"{what} must be a number of seconds or None") from None
    except ApiValueError:
        raise ApiValueError(f"{what} must be positive, finite seconds") from None
    return seconds


def _seconds(value: Any) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError
    try:
        seconds = float(value)
    except OverflowError:  # an int too big for a float: no finite number of seconds
        seconds = math.inf
    if not math.isfinite(seconds) or seconds <= 0:
        raise ApiValueError("_request_timeout values must be positive, finite seconds")
    return seconds
