"""Replies other than a usable 2xx: typed exceptions carrying the parsed error."""

from __future__ import annotations

import json
import traceback
from typing import Any, ClassVar

import pytest
from pytest_httpserver import HTTPServer

import voucherify

import cases
from conftest import APP_TOKEN, EXAMPLE_RESPONSE, MINIMAL_BODY, make_configuration


def call(events_api: voucherify.EventsApi) -> Any:
    # These tests are about mapping one reply; retrying is tested in test_retries.py.
    return events_api.track_custom_event(events_create_request_body=MINIMAL_BODY, _retries=0)


@pytest.mark.parametrize(("status", "exc_class"), cases.STATUS_EXCEPTIONS)
def test_status_maps_to_exception_class(
    httpserver: HTTPServer, events_api: voucherify.EventsApi, status: int, exc_class: type
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(
        cases.error_body(status), status=status
    )
    with pytest.raises(exc_class) as info:
        call(events_api)
    cases.check_status_error(info.value, status, exc_class)


def test_rate_limit_alias() -> None:
    assert voucherify.RateLimitException is voucherify.TooManyRequestsException


def test_error_fields_reachable_and_str_is_one_line(
    httpserver: HTTPServer, events_api: voucherify.EventsApi
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(cases.INVALID_PAYLOAD, status=400)
    with pytest.raises(voucherify.BadRequestException) as info:
        call(events_api)
    cases.check_error_fields(info.value)


def test_not_found_carries_resource(
    httpserver: HTTPServer, events_api: voucherify.EventsApi
) -> None:
    body = {
        "code": 404,
        "key": "not_found",
        "message": "Resource not found",
        "details": "Cannot find customer with id cust_x",
        "request_id": "v-2",
        "resource_id": "cust_x",
        "resource_type": "customer",
    }
    httpserver.expect_request("/v1/events").respond_with_json(body, status=404)
    with pytest.raises(voucherify.NotFoundException) as info:
        call(events_api)
    assert info.value.resource_id == "cust_x"
    assert info.value.resource_type == "customer"


def test_validation_rule_error_message(
    httpserver: HTTPServer, events_api: voucherify.EventsApi
) -> None:
    body = {"code": 400, "key": "x", "error": {"message": "Only for VIPs"}}
    httpserver.expect_request("/v1/events").respond_with_json(body, status=400)
    with pytest.raises(voucherify.BadRequestException) as info:
        call(events_api)
    assert info.value.data is not None
    assert info.value.data.error is not None
    assert getattr(info.value.data.error, "message", None) == "Only for VIPs"


def test_framework_shape_error_parses(
    httpserver: HTTPServer, events_api: voucherify.EventsApi
) -> None:
    body = {"statusCode": 400, "error": "Bad Request", "message": "Invalid request payload JSON"}
    httpserver.expect_request("/v1/events").respond_with_json(body, status=400)
    with pytest.raises(voucherify.BadRequestException) as info:
        call(events_api)
    assert info.value.code == 400
    assert info.value.key == "bad_request"
    assert info.value.message == "Invalid request payload JSON"


def test_429_with_string_code_parses(
    httpserver: HTTPServer, events_api: voucherify.EventsApi
) -> None:
    body = {"code": "too_many_requests", "message": "Too many requests"}
    httpserver.expect_request("/v1/events").respond_with_json(
        body, status=429, headers={"Retry-After": "3"}
    )
    with pytest.raises(voucherify.TooManyRequestsException) as info:
        call(events_api)
    assert info.value.code == "too_many_requests"
    assert info.value.headers is not None and info.value.headers["retry-after"] == "3"


@pytest.mark.parametrize("payload", [b"<html>Bad Gateway</html>", b"", b"[1,2]", b"\xff\xfe"])
def test_error_status_with_unparsable_body_keeps_raw(
    httpserver: HTTPServer, events_api: voucherify.EventsApi, payload: bytes
) -> None:
    httpserver.expect_request("/v1/events").respond_with_data(payload, status=502)
    with pytest.raises(voucherify.ServiceException) as info:
        call(events_api)
    assert info.value.data is None
    assert info.value.status == 502
    assert info.value.body == payload.decode("utf-8", "replace")
    assert "502" in str(info.value)


@pytest.mark.parametrize(("payload", "problem"), cases.UNUSABLE_2XX)
def test_unusable_2xx_body_raises_invalid_response(
    httpserver: HTTPServer, events_api: voucherify.EventsApi, payload: bytes, problem: str
) -> None:
    httpserver.expect_request("/v1/events").respond_with_data(
        payload, status=200, content_type="application/json"
    )
    with pytest.raises(voucherify.InvalidResponseException) as info:
        call(events_api)
    cases.check_invalid_response(info.value, payload, problem)


def test_forward_compatible_response(
    httpserver: HTTPServer, events_api: voucherify.EventsApi
) -> None:
    reply = json.loads(json.dumps(EXAMPLE_RESPONSE))
    reply["object"] = "event_v2"
    reply["brand_new"] = {"nested": True}
    reply["customer"]["tier"] = "gold"
    del reply["referral"]
    httpserver.expect_request("/v1/events").respond_with_json(reply)
    result = call(events_api)
    assert result.object == "event_v2"
    assert result.brand_new == {"nested": True}
    assert result.customer.tier == "gold"
    assert result.referral is None
    assert result.to_dict() == reply


def test_redirect_is_not_followed_and_keys_stay_home(events_api: voucherify.EventsApi,
                                                      httpserver: HTTPServer) -> None:
    other = HTTPServer(host="127.0.0.1", port=0)
    other.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    other.start()
    try:
        httpserver.expect_request("/v1/events").respond_with_data(
            "", status=307, headers={"Location": other.url_for("/v1/events")}
        )
        with pytest.raises(voucherify.ApiException) as info:
            call(events_api)
        assert info.value.status == 307
        assert len(other.log) == 0
    finally:
        other.stop()


def test_secret_never_in_exception_text(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(cases.INVALID_PAYLOAD, status=400)
    configuration = make_configuration(httpserver.url_for("/"))
    with voucherify.ApiClient(configuration) as client, pytest.raises(
        voucherify.ApiException
    ) as info:
        voucherify.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)
    error = info.value
    rendered = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert APP_TOKEN not in rendered
    assert APP_TOKEN not in repr(info.value)


def test_exception_hierarchy_has_one_root() -> None:
    for name in voucherify.__all__:
        value = getattr(voucherify, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, voucherify.OpenApiException), name
    assert voucherify.VoucherifyError is voucherify.OpenApiException
    assert issubclass(voucherify.ApiValueError, ValueError)
    assert issubclass(voucherify.ApiTimeoutException, voucherify.ApiException)
    assert issubclass(voucherify.ApiConnectionException, voucherify.ApiException)
    assert issubclass(voucherify.ApiSSLException, voucherify.ApiConnectionException)


def test_official_constructor_and_from_response_still_work() -> None:
    class FakeResponse:
        status = 404
        reason = "Not Found"
        headers: ClassVar[dict[str, str]] = {"a": "b"}
        data = b'{"key": "not_found"}'

    made = voucherify.ApiException.from_response(http_resp=FakeResponse(), body=None, data=None)
    assert type(made) is voucherify.NotFoundException
    assert made.status == 404 and made.body == '{"key": "not_found"}'
    plain = voucherify.ApiException(status=500, reason="boom")
    assert str(plain) == "(500) boom"
