"""Every exception class in the package survives pickle and copy with its fields and str().

The classes are found by walking the package, so a new one is covered as soon as it
exists: one whose ``__init__`` is new needs an example in ``EXAMPLES``, or the test fails.
``ProcessPoolExecutor`` and ``multiprocessing`` pickle exceptions between processes; the last
tests do that for real, with exceptions from calls against the stand-in.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import inspect
import multiprocessing
import pickle
import pkgutil
import socket
from concurrent.futures import ProcessPoolExecutor
from types import ModuleType
from typing import Any, Callable, Optional

import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from urllib3 import HTTPHeaderDict

import voucherify
from voucherify import exceptions as exc
from voucherify.models.error import Error
from voucherify.testing import LocalVoucherify

CALL_TIMEOUT = 120

ERROR = Error.model_validate(
    {
        "code": 429,
        "key": "too_many_requests",
        "message": "Too many requests",
        "details": "Retry later",
        "request_id": "v-0c15694e0e022146dd",
        "error": {"message": "slow down"},
        "extra_field": {"kept": [1, 2]},
    }
)


def _multidict_headers() -> CIMultiDictProxy[str]:
    """Headers as aiohttp hands them over: a proxy that cannot be pickled."""
    return CIMultiDictProxy(
        CIMultiDict([("Retry-After", "3"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2")])
    )


def _urllib3_headers() -> HTTPHeaderDict:
    headers = HTTPHeaderDict()
    headers.add("X-Rate-Limit-Remaining", "0")
    headers.add("Set-Cookie", "a=1")
    headers.add("Set-Cookie", "b=2")
    return headers


def _api_exception(cls: type[exc.ApiException]) -> exc.ApiException:
    error = cls(status=429, reason="Too Many Requests", headers=_multidict_headers(),
                body='{"code": 429}', data=ERROR)
    error.attempts, error.slept, error.retryable = 3, 1.5, True
    return error


def _transport_exception(cls: type[exc.ApiTransportException]) -> exc.ApiTransportException:
    error = cls("connection reset by peer", request_sent=None)
    error.attempts, error.slept, error.retryable, error.deadline_exceeded = 2, 0.25, False, True
    return error


def _invalid_response(cls: type[exc.InvalidResponseException]) -> exc.InvalidResponseException:
    error = cls("body is not JSON", status=200, reason="OK", headers=_urllib3_headers(),
                body="<html>")
    error.attempts = 2
    return error


def _testing_reply() -> Any:
    from voucherify.testing._replies import Reply

    return Reply(413, b'{"code": 413}', (("Connection", "close"),), close=True)


# One example per distinct __init__: (the class it is for, how to build one of a class).
EXAMPLES: dict[str, Callable[[type[Any]], BaseException]] = {
    "voucherify.exceptions.PicklableException": lambda cls: cls("something failed", 2),
    "voucherify.exceptions.OpenApiException": lambda cls: cls("something failed"),
    "voucherify.exceptions.ApiKeyError": lambda cls: cls("X-App-Token"),
    "voucherify.exceptions.ApiAttributeError": lambda cls: cls("no attribute 'nope'"),
    "voucherify.exceptions.ApiTypeError": lambda cls: cls(
        "must be a string", path_to_item=["customer", "tags", 2], valid_classes=(str,),
        key_type=False,
    ),
    "voucherify.exceptions.ApiValueError": lambda cls: cls(
        "is required", path_to_item=["referral", "code"],
        errors=[("referral.code", "is required"), ("event", "must not be empty")],
    ),
    "voucherify.exceptions.ApiException": _api_exception,
    "voucherify.exceptions.InvalidResponseException": _invalid_response,
    "voucherify.exceptions.ApiTransportException": _transport_exception,
    "voucherify.models._json_value.FreeFormValueError": lambda cls: cls(
        ["metadata", "when"], "must be timezone-aware"
    ),
    "voucherify._deadline_io.UnplaceableReply": lambda cls: cls("more than 20 interim replies"),
    "voucherify.bulk._journal.JournalInUseError": lambda cls: cls("/tmp/events.journal"),
    "voucherify.outbox._errors.OutboxFullError": lambda cls: cls("the outbox is full", 10, 4096),
    "voucherify.cli._common.CliError": lambda cls: cls("no application id", 3),
    "voucherify.cli._common.UsageError": lambda cls: cls("bad flag", "usage: voucherify ..."),
    "voucherify.cli._input.CellError": lambda cls: cls("column plan: not a number"),
    "voucherify.testing._validation.PayloadError": lambda cls: cls(
        "Property .referral should have required property 'code'"
    ),
    "voucherify.testing._schemas.SchemaError": lambda cls: cls(
        "metadata_validation_failed", "Metadata validation failed", "plan must be a string"
    ),
    "voucherify.testing._server._BodyError": lambda cls: cls(_testing_reply()),
}


def _modules() -> list[ModuleType]:
    names = [voucherify.__name__] + [
        info.name
        for info in pkgutil.walk_packages(voucherify.__path__, prefix="voucherify.")
        if not info.name.endswith(".__main__")
    ]
    return [importlib.import_module(name) for name in names]


def _exception_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module in _modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__.startswith("voucherify"):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


CLASSES = _exception_classes()


def _example_for(cls: type[BaseException]) -> BaseException:
    """An instance of ``cls`` with every field set, from the example of its ``__init__``."""
    for base in cls.__mro__:
        name = f"{base.__module__}.{base.__qualname__}"
        if name in EXAMPLES and base.__init__ is cls.__init__:
            return EXAMPLES[name](cls)
    raise AssertionError(f"{cls.__qualname__} has an __init__ of its own: add it to EXAMPLES")


def _normalized(value: Any) -> Any:
    """Attributes in a comparable form: headers as their (lower-case name, value) pairs."""
    if isinstance(value, (HTTPHeaderDict, CIMultiDictProxy, CIMultiDict)):
        return sorted((name.lower(), item) for name, item in value.items())
    if isinstance(value, dict):
        return {key: _normalized(item) for key, item in value.items()}
    return value


def _assert_same(original: BaseException, copied: BaseException) -> None:
    assert type(copied) is type(original)
    assert copied is not original
    assert copied.args == original.args
    assert str(copied) == str(original)
    assert repr(copied) == repr(original)
    assert _normalized(vars(copied)) == _normalized(vars(original))
    headers = getattr(original, "headers", None)
    if headers is not None:
        copied_headers = copied.headers  # type: ignore[attr-defined]
        names = [name for name, _ in _normalized(headers)]
        for name in {name for name in names if names.count(name) == 1}:
            assert copied_headers.get(name.upper()) == headers.get(name)


def test_every_exception_class_is_found() -> None:
    """The walk finds the SDK's exceptions, including those outside exceptions.py."""
    names = {cls.__qualname__ for cls in CLASSES}
    assert {name for name in exc.__all__ if name != "VoucherifyError"} - {
        "RateLimitException"
    } <= names
    assert {"FreeFormValueError", "CliError", "UsageError", "PayloadError", "SchemaError"} <= names
    assert len(CLASSES) >= 25


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__qualname__)
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip(cls: type[BaseException], protocol: int) -> None:
    original = _example_for(cls)
    _assert_same(original, pickle.loads(pickle.dumps(original, protocol=protocol)))


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__qualname__)
@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_copy(cls: type[BaseException], how: Callable[[Any], Any]) -> None:
    original = _example_for(cls)
    _assert_same(original, how(original))


def test_pickled_headers_keep_case_insensitivity_and_repeated_names() -> None:
    original = _api_exception(exc.TooManyRequestsException)
    copied = pickle.loads(pickle.dumps(original))
    assert copied.headers is not None
    assert copied.headers["retry-after"] == "3"
    assert copied.headers.getlist("SET-COOKIE") == ["a=1", "b=2"]
    assert copied.retry_after == 3.0
    assert copied.key == "too_many_requests"
    assert copied.data == ERROR
    assert copied.data.extra_field == {"kept": [1, 2]}


# -- between real processes ------------------------------------------------------------------


def _configuration(url: str, app_id: str, app_token: str) -> voucherify.Configuration:
    configuration = voucherify.Configuration(host=url)
    configuration.api_key["X-App-Id"] = app_id
    configuration.api_key["X-App-Token"] = app_token
    return configuration


def _call_in_child(
    kind: str, url: str, app_id: str, app_token: str
) -> tuple[BaseException, str, dict[str, Any]]:
    """Run in a worker process: make a failing call, return the exception and what it said."""
    from voucherify import aio

    body = {"event": "signed_up", "customer": {"source_id": "user-1"}}
    configuration = _configuration(url, app_id, app_token)
    try:
        if kind == "async":

            async def main() -> None:
                async with aio.ApiClient(configuration) as api_client:
                    await aio.EventsApi(api_client).track_custom_event(
                        events_create_request_body=body
                    )

            asyncio.run(main())
        else:
            with voucherify.ApiClient(configuration) as api_client:
                voucherify.EventsApi(api_client).track_custom_event(
                    events_create_request_body=body, _retries=1 if kind == "refused" else None
                )
    except voucherify.OpenApiException as error:
        seen = {name: getattr(error, name, None) for name in (
            "status", "reason", "body", "attempts", "slept", "retryable", "request_sent",
            "deadline_exceeded", "key", "request_id",
        )}
        return error, str(error), seen
    raise AssertionError("the call succeeded")


def _raise_in_child(url: str, app_id: str) -> None:
    with voucherify.ApiClient(_configuration(url, app_id, "wrong-token")) as api_client:
        voucherify.EventsApi(api_client).track_custom_event(
            events_create_request_body={"event": "signed_up", "customer": {}}
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def pool() -> Any:
    # spawn: the child starts clean and everything it returns really crosses by pickle.
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as p:
        yield p


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_api_exception_from_a_worker_process(pool: ProcessPoolExecutor, kind: str) -> None:
    """A 401 from the stand-in, raised in a worker (sync: urllib3 headers; async: aiohttp's)."""
    with LocalVoucherify() as server:
        future = pool.submit(_call_in_child, kind, server.url, server.app_id, "wrong-token")
        error, text, seen = future.result(timeout=CALL_TIMEOUT)
    assert isinstance(error, exc.UnauthorizedException)
    assert str(error) == text
    assert {name: getattr(error, name, None) for name in seen} == seen
    assert seen["status"] == 401 and seen["key"] == "unauthorized"
    assert error.data is not None and error.data.code == 401
    assert error.headers is not None
    assert error.headers["content-type"] == error.headers["Content-Type"]
    assert error.headers["CONTENT-TYPE"].startswith("application/json")


def test_transport_exception_from_a_worker_process(pool: ProcessPoolExecutor) -> None:
    """A refused connection, retried once: request_sent, attempts and slept cross too."""
    url = f"http://127.0.0.1:{_free_port()}"
    future = pool.submit(_call_in_child, "refused", url, "app-id", "token")
    error, text, seen = future.result(timeout=CALL_TIMEOUT)
    assert isinstance(error, exc.ApiConnectionException)
    assert str(error) == text
    assert {name: getattr(error, name, None) for name in seen} == seen
    assert error.request_sent is False
    assert error.attempts == 2


def test_exception_raised_in_a_worker_is_raised_by_result(pool: ProcessPoolExecutor) -> None:
    """What users see: ``future.result()`` raises the worker's exception, fields intact."""
    with LocalVoucherify() as server:
        future = pool.submit(_raise_in_child, server.url, server.app_id)
        with pytest.raises(exc.UnauthorizedException) as info:
            future.result(timeout=CALL_TIMEOUT)
    error: Optional[exc.UnauthorizedException] = info.value
    assert error is not None
    assert error.status == 401
    assert error.key == "unauthorized"
    assert error.request_id is None or error.request_id.startswith("v-")
    assert str(error).startswith("(401)")
