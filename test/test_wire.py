"""What goes on the wire: method, path, headers and JSON body, for both operations."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import voucherify
from voucherify.models.client_events_create_request_body import ClientEventsCreateRequestBody
from voucherify.models.events_create_request_body import EventsCreateRequestBody
from voucherify.models.events_create_response_body import EventsCreateResponseBody

import cases
from conftest import (
    APP_ID,
    APP_TOKEN,
    CLIENT_ID,
    CLIENT_TOKEN,
    EXAMPLE_RESPONSE,
    MINIMAL_BODY,
    make_configuration,
)


@pytest.mark.parametrize(("kind", "body", "options"), cases.WIRE)
def test_wire_case(
    httpserver: HTTPServer, kind: str, body: Any, options: dict[str, Any]
) -> None:
    cases.expect_both_paths(httpserver)
    configuration = make_configuration(httpserver.url_for("/"))
    with voucherify.ApiClient(configuration, **cases.CLIENT_EXTRAS) as client:
        cases.send(voucherify, client, kind, body, dict(options))
    method, path, headers, sent = cases.wire(httpserver.log[0][0])
    assert headers.pop("accept-encoding") == "identity"
    cases.check_wire((method, path, headers, sent), kind, body, options)


def sent_body(httpserver: HTTPServer) -> Any:
    request, _ = httpserver.log[-1]
    return json.loads(request.get_data())


def test_track_custom_event_sends_post_with_keys_and_json(
    httpserver: HTTPServer, events_api: voucherify.EventsApi
) -> None:
    httpserver.expect_oneshot_request("/v1/events", method="POST").respond_with_json(
        EXAMPLE_RESPONSE
    )
    body = {
        "event": "event-name",
        "customer": {"source_id": "referee-source_id"},
        "referral": {"code": "voucher-code", "referrer_id": "referrer-source_id"},
    }
    result = events_api.track_custom_event(events_create_request_body=body)

    assert isinstance(result, EventsCreateResponseBody)
    assert result.customer.id == "cust_ypePCF6IU6fnUvec6RMXZuH4"
    request, _ = httpserver.log[0]
    assert request.method == "POST"
    assert request.path == "/v1/events"
    assert request.headers["X-App-Id"] == APP_ID
    assert request.headers["X-App-Token"] == APP_TOKEN
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["X-Voucherify-Channel"] == "Python-SDK"
    assert request.headers["User-Agent"].startswith(f"voucherify-python/{voucherify.__version__}")
    assert "X-Client-Token" not in request.headers
    assert json.loads(request.get_data()) == body


def test_client_side_call_uses_client_keys_and_origin(
    httpserver: HTTPServer, client_side_api: voucherify.ClientSideApi
) -> None:
    httpserver.expect_oneshot_request("/client/v1/events", method="POST").respond_with_json(
        EXAMPLE_RESPONSE
    )
    result = client_side_api.track_custom_event_client_side(
        "https://shop.example", client_events_create_request_body=MINIMAL_BODY
    )
    assert result.type == "cart_abandoned"
    request, _ = httpserver.log[0]
    assert request.headers["origin"] == "https://shop.example"
    assert request.headers["X-Client-Application-Id"] == CLIENT_ID
    assert request.headers["X-Client-Token"] == CLIENT_TOKEN
    assert "X-App-Token" not in request.headers
    assert json.loads(request.get_data()) == MINIMAL_BODY


def test_body_may_be_a_model(httpserver: HTTPServer, events_api: voucherify.EventsApi) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    model = EventsCreateRequestBody(event="signed_up", customer={"source_id": "c-1"})
    events_api.track_custom_event(events_create_request_body=model)
    assert sent_body(httpserver) == MINIMAL_BODY
    # The twin model is accepted by the other operation, and vice versa.
    twin = ClientEventsCreateRequestBody(event="signed_up", customer={"source_id": "c-1"})
    events_api.track_custom_event(events_create_request_body=twin)
    assert sent_body(httpserver) == MINIMAL_BODY


def test_model_body_is_sent_via_client_side_api(
    httpserver: HTTPServer, client_side_api: voucherify.ClientSideApi
) -> None:
    httpserver.expect_request("/client/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    model = EventsCreateRequestBody(event="signed_up", customer={"source_id": "c-1"})
    client_side_api.track_custom_event_client_side("https://a.example", model)
    assert sent_body(httpserver) == MINIMAL_BODY


def test_absent_fields_omitted_explicit_none_kept_unknown_keys_passed_through(
    httpserver: HTTPServer, events_api: voucherify.EventsApi
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    body = {
        "event": "signed_up",
        "customer": {"source_id": "c-1", "address": None, "future_field": {"x": [1, 2]}},
        "metadata": {"plan": None},
        "brand_new_top_level": "kept",
    }
    events_api.track_custom_event(events_create_request_body=body)
    assert sent_body(httpserver) == body


def test_dates_and_aware_datetimes_are_iso_8601(
    httpserver: HTTPServer, events_api: voucherify.EventsApi
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    when = datetime(2022, 12, 1, 9, 24, 33, 61000, tzinfo=timezone(timedelta(hours=2)))
    body = {
        "event": "signed_up",
        "customer": {"source_id": "c-1", "birthdate": date(1990, 5, 17)},
        "metadata": {"day": date(2022, 12, 1), "at": when, "n": 1.5, "ok": True},
    }
    events_api.track_custom_event(events_create_request_body=body)
    sent = sent_body(httpserver)
    assert sent["customer"]["birthdate"] == "1990-05-17"
    assert sent["metadata"]["day"] == "2022-12-01"
    assert datetime.fromisoformat(sent["metadata"]["at"].replace("Z", "+00:00")) == when
    assert sent["metadata"]["at"].endswith("+02:00")
    assert sent["metadata"]["n"] == 1.5 and sent["metadata"]["ok"] is True


def test_body_is_strict_json(httpserver: HTTPServer, events_api: voucherify.EventsApi) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    events_api.track_custom_event(
        events_create_request_body={**MINIMAL_BODY, "metadata": {"t": "ünïcødé ✓", "big": 10**20}}
    )
    raw = httpserver.log[-1][0].get_data()
    # json.loads with a strict constant hook rejects NaN/Infinity, so a clean parse proves it.
    doc = json.loads(raw, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert doc["metadata"] == {"t": "ünïcødé ✓", "big": 10**20}


@pytest.mark.parametrize(
    ("host", "expected_path"),
    [
        ("{root}", "/v1/events"),
        ("{root}/", "/v1/events"),
        ("{root}/api", "/api/v1/events"),
        ("{root}/api/", "/api/v1/events"),
    ],
)
def test_host_with_prefix_and_trailing_slash(
    httpserver: HTTPServer, host: str, expected_path: str
) -> None:
    httpserver.expect_request(expected_path, method="POST").respond_with_json(EXAMPLE_RESPONSE)
    root = httpserver.url_for("/").rstrip("/")
    with voucherify.ApiClient(make_configuration(host.format(root=root))) as client:
        voucherify.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)
    assert httpserver.log[-1][0].path == expected_path


def test_api_key_prefix_is_applied(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    configuration = make_configuration(httpserver.url_for("/"))
    configuration.api_key_prefix["X-App-Id"] = "Bearer"
    with voucherify.ApiClient(configuration) as client:
        voucherify.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)
    assert httpserver.log[-1][0].headers["X-App-Id"] == f"Bearer {APP_ID}"


def test_per_call_headers_content_type_and_request_auth(
    httpserver: HTTPServer, events_api: voucherify.EventsApi
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    events_api.track_custom_event(
        events_create_request_body=MINIMAL_BODY,
        _headers={"X-Voucherify-API-Version": "v2018-08-01"},
        _content_type="application/json; charset=utf-8",
        _request_auth={"in": "header", "type": "api_key", "key": "X-App-Token", "value": "other"},
    )
    request = httpserver.log[-1][0]
    assert request.headers["X-Voucherify-API-Version"] == "v2018-08-01"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["X-App-Token"] == "other"
    # _request_auth replaces the configured keys for this call.
    assert "X-App-Id" not in request.headers


def test_default_headers_and_user_agent(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    configuration = make_configuration(httpserver.url_for("/"))
    with voucherify.ApiClient(configuration, header_name="X-Team", header_value="growth") as client:
        client.user_agent = "my-app/1.0"
        client.set_default_header("X-Extra", "1")
        voucherify.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)
    request = httpserver.log[-1][0]
    assert request.headers["User-Agent"] == "my-app/1.0"
    assert request.headers["X-Team"] == "growth"
    assert request.headers["X-Extra"] == "1"


def test_with_http_info_gives_status_headers_raw(
    httpserver: HTTPServer, events_api: voucherify.EventsApi
) -> None:
    raw = json.dumps(EXAMPLE_RESPONSE).encode()
    httpserver.expect_request("/v1/events").respond_with_data(
        raw, status=200, headers={"X-Rate-Limit-Remaining": "99"}, content_type="application/json"
    )
    response = events_api.track_custom_event_with_http_info(
        events_create_request_body=MINIMAL_BODY
    )
    assert isinstance(response, voucherify.ApiResponse)
    assert response.status_code == 200
    assert response.headers["x-rate-limit-remaining"] == "99"
    assert response.headers["X-RATE-LIMIT-REMAINING"] == "99"
    assert response.raw_data == raw
    assert response.data.customer.email == "john@voucherify.io"


def test_without_preload_content_returns_unread_response(
    httpserver: HTTPServer, events_api: voucherify.EventsApi
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json({"code": 400}, status=400)
    response = events_api.track_custom_event_without_preload_content(
        events_create_request_body=MINIMAL_BODY
    )
    try:
        assert response.status == 400
        assert json.loads(response.read()) == {"code": 400}
    finally:
        response.release_conn()


def test_client_side_variants(
    httpserver: HTTPServer, client_side_api: voucherify.ClientSideApi
) -> None:
    httpserver.expect_request("/client/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    info = client_side_api.track_custom_event_client_side_with_http_info(
        "https://a.example", MINIMAL_BODY
    )
    assert info.status_code == 200 and info.data.object == "event"
    raw = client_side_api.track_custom_event_client_side_without_preload_content(
        "https://a.example", MINIMAL_BODY
    )
    assert json.loads(raw.read())["type"] == "cart_abandoned"
    raw.release_conn()
    assert len(httpserver.log) == 2


def test_keep_alive_reuses_one_connection(
    httpserver: HTTPServer, events_api: voucherify.EventsApi
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    for _ in range(5):
        events_api.track_custom_event(events_create_request_body=MINIMAL_BODY)
    pool = events_api.api_client.rest_client.pool_manager.connection_from_url(
        httpserver.url_for("/")
    )
    assert pool.num_connections == 1
    assert pool.num_requests == 5


@pytest.mark.parametrize(
    "setter",
    [
        lambda c: c.set_default_header("X-Team", "a\r\nInjected: 1"),
        lambda c: setattr(c, "user_agent", "ua\nInjected: 1"),
    ],
)
def test_client_level_header_with_crlf_refused_when_set(setter: Any) -> None:
    client = voucherify.ApiClient(make_configuration("http://127.0.0.1:9"))
    with pytest.raises(voucherify.ApiValueError) as info:
        setter(client)
    assert "Injected" not in str(info.value)
    client.close()


def test_header_mutated_in_place_is_refused_without_echo(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    with voucherify.ApiClient(make_configuration(httpserver.url_for("/"))) as client:
        client.default_headers["X-Team"] = "SECRETISH\r\nInjected: 1"
        with pytest.raises(voucherify.ApiValueError) as info:
            voucherify.EventsApi(client).track_custom_event(
                events_create_request_body=MINIMAL_BODY
            )
    assert "SECRETISH" not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__
    assert len(httpserver.log) == 0


def test_content_type_in_extra_headers_must_be_json(httpserver: HTTPServer,
                                                    events_api: voucherify.EventsApi) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    with pytest.raises(voucherify.ApiValueError, match="JSON media type"):
        events_api.track_custom_event(
            events_create_request_body=MINIMAL_BODY, _headers={"content-type": "text/plain"}
        )
    events_api.track_custom_event(
        events_create_request_body=MINIMAL_BODY,
        _headers={"content-type": "application/vnd.voucherify+json"},
    )
    request = httpserver.log[-1][0]
    assert request.headers.getlist("Content-Type") == ["application/vnd.voucherify+json"]
    assert len(httpserver.log) == 1


def test_settings_changed_between_calls_apply_to_the_next_call(httpserver: HTTPServer) -> None:
    # A client reuses each operation's URL and headers between calls; every setting they
    # are made from, changed in place or replaced, must still reach the very next call.
    other = HTTPServer(host="127.0.0.1", port=0)
    other.expect_request("/prefix/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    other.start()
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    configuration = make_configuration(httpserver.url_for("/"))
    try:
        with voucherify.ApiClient(configuration) as client:
            events = voucherify.EventsApi(client)

            def track() -> Any:
                events.track_custom_event(events_create_request_body=MINIMAL_BODY)
                return httpserver.log[-1][0].headers

            assert track()["X-App-Token"] == APP_TOKEN
            configuration.api_key["X-App-Token"] = "rotated-token"
            assert track()["X-App-Token"] == "rotated-token"
            configuration.api_key_prefix["X-App-Token"] = "Bearer"
            assert track()["X-App-Token"] == "Bearer rotated-token"
            configuration.api_key_prefix.clear()
            configuration.api_key = {"X-App-Id": "new-id", "X-App-Token": "new-token"}
            assert (track()["X-App-Id"], track()["X-App-Token"]) == ("new-id", "new-token")
            client.default_headers["X-Team"] = "growth"
            assert track()["X-Team"] == "growth"
            client.user_agent = "my-app/2.0"
            assert track()["User-Agent"] == "my-app/2.0"
            del configuration.api_key["X-App-Token"]
            with pytest.raises(voucherify.ApiValueError, match="X-App-Token is not set"):
                track()
            configuration.api_key["X-App-Token"] = "bad\r\nInjected: 1"
            with pytest.raises(voucherify.ApiValueError) as info:
                track()
            assert "Injected" not in str(info.value)
            configuration.api_key["X-App-Token"] = APP_TOKEN
            requests_to_first = len(httpserver.log)
            configuration.host = other.url_for("/prefix/")
            events.track_custom_event(events_create_request_body=MINIMAL_BODY)
            assert len(other.log) == 1 and len(httpserver.log) == requests_to_first
            configuration.host = "http://api.example.com"
            with pytest.raises(voucherify.ApiValueError, match="plain http://"):
                track()
    finally:
        other.stop()


def test_limits_changed_in_the_configuration_apply_to_the_next_call() -> None:
    with voucherify.ApiClient(make_configuration("http://127.0.0.1:9")) as client:
        from voucherify.api.events_api import TRACK_CUSTOM_EVENT

        def prepared() -> Any:
            return client._prepare(TRACK_CUSTOM_EVENT, MINIMAL_BODY, (), {})

        first = prepared()
        assert (first.timeouts, first.deadline) == ((5.0, 30.0), 60.0)
        client.configuration.timeout = 2
        client.configuration.deadline = 9
        client.configuration.retries = False
        second = prepared()
        assert (second.timeouts, second.deadline) == ((2.0, 2.0), 9.0)
        assert second.retry_policy.total == 0
        client.configuration.timeout = [1, 4]
        assert prepared().timeouts == (1.0, 4.0)
        client.configuration.timeout[1] = 7  # a list changed in place
        assert prepared().timeouts == (1.0, 7.0)


def test_a_key_rotated_while_a_call_is_prepared_reaches_the_next_call(
    httpserver: HTTPServer,
) -> None:
    # Another thread rotates the token just after this call read it: this call may send the
    # old one, the next must not.
    class RotatedRightAfterRead(dict):  # type: ignore[type-arg]
        rotated = False

        def get(self, name: Any, default: Any = None) -> Any:
            value = super().get(name, default)
            if name == "X-App-Token" and not self.rotated:
                self.rotated = True
                self["X-App-Token"] = "rotated-token"
            return value

    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    configuration = make_configuration(httpserver.url_for("/"))
    configuration.api_key = RotatedRightAfterRead(configuration.api_key)
    with voucherify.ApiClient(configuration) as client:
        events = voucherify.EventsApi(client)
        for _ in range(3):
            events.track_custom_event(events_create_request_body=MINIMAL_BODY)
    tokens = [request.headers["X-App-Token"] for request, _ in httpserver.log]
    assert tokens == [APP_TOKEN, "rotated-token", "rotated-token"]


def test_a_configuration_subclass_computing_keys_or_host_is_asked_every_call(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/a/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    httpserver.expect_request("/b/v1/events").respond_with_json(EXAMPLE_RESPONSE)

    class FromVault(voucherify.Configuration):
        reads = 0

        def get_api_key_with_prefix(self, identifier: str, alias: Any = None) -> Any:
            if identifier != "X-App-Token":
                return super().get_api_key_with_prefix(identifier, alias)
            FromVault.reads += 1
            return f"vault-token-{FromVault.reads}"

    class Balanced(voucherify.Configuration):
        calls = 0

        @property
        def host(self) -> str:
            Balanced.calls += 1
            return httpserver.url_for("/a/" if Balanced.calls % 2 else "/b/")

        @host.setter
        def host(self, value: str) -> None:
            pass

    for configuration in (FromVault(host=httpserver.url_for("/a/")), Balanced()):
        configuration.api_key.update(make_configuration("http://127.0.0.1").api_key)
        with voucherify.ApiClient(configuration) as client:
            for _ in range(3):
                voucherify.EventsApi(client).track_custom_event(
                    events_create_request_body=MINIMAL_BODY
                )
    sent = [(request.path, request.headers["X-App-Token"]) for request, _ in httpserver.log]
    assert [token for _, token in sent[:3]] == ["vault-token-1", "vault-token-2", "vault-token-3"]
    assert [path for path, _ in sent[3:]] == ["/a/v1/events", "/b/v1/events", "/a/v1/events"]


@pytest.mark.parametrize(
    ("name", "valid", "invalid"), [("retries", 1, True), ("deadline", 1, True),
                                   ("retries", 2, 2.0), ("timeout", 1, True)]
)
def test_an_invalid_limit_equal_to_the_last_valid_one_is_still_refused(
    name: str, valid: Any, invalid: Any
) -> None:
    with voucherify.ApiClient(make_configuration("http://127.0.0.1:9")) as client:
        from voucherify.api.events_api import TRACK_CUSTOM_EVENT

        def prepare() -> Any:
            return client._prepare(TRACK_CUSTOM_EVENT, MINIMAL_BODY, (), {})

        setattr(client.configuration, name, valid)
        prepare()
        setattr(client.configuration, name, invalid)
        with pytest.raises(voucherify.ApiTypeError):
            prepare()


def test_keys_in_another_mapping_type_changed_in_place_reach_the_next_call(
    httpserver: HTTPServer,
) -> None:
    from collections import UserDict

    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    configuration = make_configuration(httpserver.url_for("/"))
    configuration.api_key = UserDict(configuration.api_key)  # type: ignore[assignment]
    with voucherify.ApiClient(configuration) as client:
        events = voucherify.EventsApi(client)
        events.track_custom_event(events_create_request_body=MINIMAL_BODY)
        configuration.api_key["X-App-Token"] = "new-token"
        events.track_custom_event(events_create_request_body=MINIMAL_BODY)
    tokens = [request.headers["X-App-Token"] for request, _ in httpserver.log]
    assert tokens == [APP_TOKEN, "new-token"]
