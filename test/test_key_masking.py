"""Logging masks keys by value and by the names they came under, for every way a key can be
given, on success, on a refusal by the API, and when the SDK refuses the call itself."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any, Callable, Iterator

import pytest

import voucherify

from rawserver import RawServer, reply

KEY = "sk_MASK_ME_by_value_5521"
APP = "app_ID_MASKED_too_7"
OK = reply(b"200 OK", json.dumps({
    "object": "event", "type": "e", "customer": {"id": "c", "object": "customer"}
}).encode())
UNAUTHORIZED = reply(b"401 Unauthorized", b'{"code":401,"key":"unauthorized"}')


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage() + repr(record.args))


@pytest.fixture
def lines() -> Iterator[list[str]]:
    handler = Collect()
    logger = logging.getLogger("voucherify")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def configured(url: str, **keys: str) -> voucherify.Configuration:
    configuration = voucherify.Configuration(host=url)
    configuration.api_key.update(keys)
    configuration.debug = True
    return configuration


def track(client: voucherify.ApiClient, **options: Any) -> None:
    voucherify.EventsApi(client).track_custom_event(
        events_create_request_body={"event": "e", "customer": {"source_id": "c"}},
        _retries=0, **options,
    )


WAYS: dict[str, Callable[[str], None]] = {}


def way(function: Callable[[str], None]) -> Callable[[str], None]:
    WAYS[function.__name__] = function
    return function


@way
def configured_keys(url: str) -> None:
    with voucherify.ApiClient(configured(url, **{"X-App-Id": APP, "X-App-Token": KEY})) as c:
        track(c)


@way
def key_with_prefix(url: str) -> None:
    configuration = configured(url, **{"X-App-Id": APP, "X-App-Token": KEY})
    configuration.api_key_prefix["X-App-Token"] = "Token"
    with voucherify.ApiClient(configuration) as client:
        track(client)


@way
def key_also_in_another_header(url: str) -> None:
    with voucherify.ApiClient(configured(url, **{"X-App-Id": APP, "X-App-Token": KEY})) as c:
        track(c, _headers={"X-Debug-Echo": f"token={KEY}", "X-Who": APP})


@way
def key_under_an_odd_configured_name(url: str) -> None:
    configuration = configured(url, **{"X-App-Id": APP, "X-App-Token": "other-token-1"})
    configuration.api_key["X-Gateway-Key"] = KEY
    with voucherify.ApiClient(configuration) as client:
        track(client, _headers={"X-Gateway-Key": KEY})


@way
def request_auth_under_any_name(url: str) -> None:
    with voucherify.ApiClient(configured(url)) as client:
        track(client, _request_auth=[
            {"in": "header", "key": "X-Custom-Auth", "value": KEY},
            {"in": "header", "key": "x-app-id", "value": APP},
        ])


@way
def header_name_and_value(url: str) -> None:
    configuration = configured(url, **{"X-App-Id": APP, "X-App-Token": "other-token-2"})
    with voucherify.ApiClient(configuration, header_name="X-Api-Secret", header_value=KEY) as c:
        track(c)


@way
def key_in_a_lower_case_header(url: str) -> None:
    configuration = configured(url, **{"X-App-Id": APP})
    with voucherify.ApiClient(configuration) as client:
        track(client, _headers={"x-app-token": KEY})


@way
def swapped_keys(url: str) -> None:
    with voucherify.ApiClient(configured(url, **{"X-App-Id": KEY, "X-App-Token": APP})) as c:
        track(c)


@pytest.mark.parametrize("reply_with", [OK, UNAUTHORIZED], ids=["sent", "refused-by-api"])
@pytest.mark.parametrize("name", list(WAYS))
def test_no_key_text_in_any_record(name: str, reply_with: Any, lines: list[str]) -> None:
    with RawServer(reply_with) as server, contextlib.suppress(voucherify.UnauthorizedException):
        WAYS[name](server.url)
    assert server.requests == 1
    assert lines, "DEBUG was on: the attempt must have been logged"
    for line in lines:
        assert KEY not in line
        assert APP not in line


def test_a_call_the_sdk_refuses_logs_no_key(lines: list[str]) -> None:
    configuration = configured("http://events.example", **{"X-App-Token": KEY})
    with voucherify.ApiClient(configuration) as client, pytest.raises(voucherify.ApiValueError):
        track(client, _headers={"X-Echo": KEY})
    assert all(KEY not in line for line in lines)


def test_application_id_under_its_own_header_is_cut_short(lines: list[str]) -> None:
    with RawServer(OK) as server:
        configured_keys(server.url)
    debug = [line for line in lines if "headers=" in line]
    assert "'X-App-Id': 'app_***'" in debug[0] and "'X-App-Token': '***'" in debug[0]
