"""Options and settings: every wrong value is an ApiValueError or ApiTypeError before any
I/O, never a raw OverflowError, AttributeError, ValueError or TypeError; bool is no number."""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any, Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import voucherify
from voucherify.exceptions import OpenApiException

from conftest import EXAMPLE_RESPONSE, MINIMAL_BODY, make_configuration
from rawserver import RawServer, reply

OK = reply(b"200 OK", json.dumps(EXAMPLE_RESPONSE).encode())
SDK_ERRORS = (voucherify.ApiValueError, voucherify.ApiTypeError)


@pytest.fixture(scope="module")
def server() -> Iterator[RawServer]:
    with RawServer(OK) as running:
        yield running


def refused(action: Callable[[], Any]) -> OpenApiException:
    try:
        action()
    except SDK_ERRORS as error:
        return error
    except Exception as error:
        pytest.fail(f"raw {type(error).__name__} escaped: {error}")
    pytest.fail("accepted")


WRONG_NUMBERS = [True, False, 10**400, -(10**400), math.nan, math.inf, -1, 0, -0.5, "5", b"5",
                 [], [1], [1, 2, 3], (1,), (True, 5), (5, False), (10**400, 1), ("1", "2"),
                 [[1], [2]], {}, {"a": 1}, object()]


@pytest.mark.parametrize("value", WRONG_NUMBERS, ids=repr)
@pytest.mark.parametrize("option", ["_request_timeout", "_deadline"])
def test_wrong_per_call_limits_are_refused(option: str, value: Any, server: RawServer) -> None:
    configuration = make_configuration(server.url)
    before = server.requests
    with voucherify.ApiClient(configuration) as client:
        error = refused(lambda: voucherify.EventsApi(client).track_custom_event(
            events_create_request_body=MINIMAL_BODY, **{option: value}))
    assert option in str(error)
    assert server.requests == before


@pytest.mark.parametrize("value", WRONG_NUMBERS, ids=repr)
@pytest.mark.parametrize("setting", ["timeout", "deadline"])
def test_wrong_configuration_limits_are_refused(
    setting: str, value: Any, server: RawServer
) -> None:
    configuration = make_configuration(server.url)
    before = server.requests
    with voucherify.ApiClient(configuration) as client:
        voucherify.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)
        setattr(configuration, setting, value)  # after a valid call: no stale cache hit
        error = refused(lambda: voucherify.EventsApi(client).track_custom_event(
            events_create_request_body=MINIMAL_BODY))
    assert f"configuration.{setting}" in str(error)
    assert server.requests == before + 1


def test_bool_is_not_a_number_even_after_its_equal_number_was_cached(server: RawServer) -> None:
    with voucherify.ApiClient(make_configuration(server.url)) as client:
        api = voucherify.EventsApi(client)
        api.track_custom_event(events_create_request_body=MINIMAL_BODY, _request_timeout=1)
        api.track_custom_event(events_create_request_body=MINIMAL_BODY, _request_timeout=(1, 5))
        for value in (True, (True, 5), (1, True)):
            refused(lambda value=value: api.track_custom_event(
                events_create_request_body=MINIMAL_BODY, _request_timeout=value))


WRONG_OPTIONS: list[tuple[str, Any]] = [
    ("_headers", [("X-A", "b")]), ("_headers", "X-A: b"), ("_headers", 5),
    ("_headers", {5: "x"}), ("_headers", {"X-A": 5}), ("_headers", {"X-A": None}),
    ("_request_auth", 5), ("_request_auth", "X-App-Token"), ("_request_auth", []),
    ("_request_auth", {}), ("_request_auth", {"in": "header"}),
    ("_request_auth", {"in": "header", "key": "X-App-Token"}),
    ("_request_auth", {"in": "header", "value": "k"}),
    ("_request_auth", {"in": "query", "key": "X-App-Token", "value": "k"}),
    ("_request_auth", {"in": "header", "key": "X-App-Token", "value": 5}),
    ("_request_auth", {"in": "header", "key": 5, "value": "k"}),
    ("_request_auth", {"in": "header", "key": "X-App-Token", "value": ""}),
    ("_request_auth", [{"in": "header", "key": "X-App-Token", "value": "k"}, None]),
    ("_content_type", 5), ("_content_type", "text/plain"),
    ("_host_index", "0"), ("_host_index", True), ("_host_index", 1.0), ("_host_index", 10**400),
    ("_host_index", -1),
    ("_retries", "3"), ("_retries", -1), ("_retries", 1.5), ("_retries", True),
]


@pytest.mark.parametrize(("option", "value"), WRONG_OPTIONS, ids=repr)
def test_wrong_options_are_refused(option: str, value: Any, server: RawServer) -> None:
    before = server.requests
    with voucherify.ApiClient(make_configuration(server.url)) as client:
        refused(lambda: voucherify.EventsApi(client).track_custom_event(
            events_create_request_body=MINIMAL_BODY, **{option: value}))
    assert server.requests == before


WRONG_SETTINGS: list[tuple[str, Any]] = [
    ("server_index", "0"), ("server_index", 0.0), ("server_index", True),
    ("server_index", 10**400), ("server_index", -1), ("server_index", [0]),
    ("server_variables", "cluster"), ("server_variables", 5), ("server_variables", ["api"]),
    ("server_variables", {"cluster": 5}), ("server_variables", {"cluster": ["api"]}),
    ("server_variables", {1: "api", "cluster": "api"}), ("server_variables", {"cluster": "eu9"}),
    ("api_key", None), ("api_key", "key"), ("api_key", [("X-App-Id", "a")]),
    ("api_key", {"X-App-Id": 5, "X-App-Token": "t"}), ("api_key_prefix", 5),
    ("host", None), ("host", 5), ("host", "http://h:99999"), ("host", "https://h#"),
    ("host", "https://h?"),
]


@pytest.mark.parametrize(("setting", "value"), WRONG_SETTINGS, ids=repr)
def test_wrong_settings_are_refused_at_the_call(setting: str, value: Any) -> None:
    configuration = make_configuration("https://api.voucherify.io")
    setattr(configuration, setting, value)
    if setting == "server_variables":
        configuration.server_index = 0
    with voucherify.ApiClient(configuration) as client:
        refused(lambda: voucherify.EventsApi(client).track_custom_event(
            events_create_request_body=MINIMAL_BODY))
    assert repr(configuration).startswith("Configuration(")  # descriptions never raise
    assert "Host:" in configuration.to_debug_report()


@pytest.mark.parametrize(
    "arguments",
    [{"api_key": "k"}, {"api_key": [1, 2]}, {"api_key_prefix": 5}, {"server_variables": "x"},
     {"region": 5}, {"region": ["us"]}, {"region": "mars"}, {"host": "h", "region": "us"}],
    ids=repr,
)
def test_wrong_constructor_arguments_are_refused(arguments: dict[str, Any]) -> None:
    refused(lambda: voucherify.Configuration(**arguments))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    option=st.sampled_from(["_request_timeout", "_deadline", "_retries", "_host_index",
                            "_headers", "_request_auth", "_content_type"]),
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=6,
    ),
)
def test_fuzzed_options_raise_only_sdk_errors(option: str, value: Any) -> None:
    configuration = make_configuration("http://127.0.0.1:9")  # nothing listens there
    configuration.deadline = 1
    options = {"_retries": 0, "_deadline": 1, option: value}
    with voucherify.ApiClient(configuration) as client, contextlib.suppress(
        OpenApiException
    ):
        voucherify.EventsApi(client).track_custom_event(
            events_create_request_body=MINIMAL_BODY, **options
        )
