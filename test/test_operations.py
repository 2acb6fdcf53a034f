"""Any endpoint in one declaration: path parameters, a query, no body, a 204 and a text reply.

The operations are test-only (``customers_api.py``, ``aio_customers_api.py``) and go through
the same ``call_operation`` of both clients to a real server on 127.0.0.1 that records each
request's bytes, so the request line is checked exactly as sent.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import aio_customers_api
import customers_api
import pytest

import voucherify
import voucherify.aio
from voucherify._pipeline.operation import NO_CONTENT, Operation
from voucherify.exceptions import ApiTypeError, ApiValueError, InvalidResponseException
from voucherify.models.events_create_request_body import EventsCreateRequestBody

from conftest import APP_ID, APP_TOKEN, make_configuration
from rawserver import FaultProxy, RawServer

ACTIVITIES = (
    b'{"object": "list", "data": [{"id": "evcus_1", "type": "customer.created"}], "total": 1}'
)
CLIENTS = ("sync", "async")


def answer(status_line: bytes, headers: bytes = b"", body: bytes = b"") -> Any:
    """A RawServer behaviour: this status line, headers and body, then close."""

    def behaviour(conn: socket.socket) -> None:
        length = b"" if status_line.startswith(b"204") else b"Content-Length: %d\r\n" % len(body)
        conn.sendall(b"HTTP/1.1 " + status_line + b"\r\n" + headers + length
                     + b"Connection: close\r\n\r\n" + body)

    return behaviour


def call(
    kind: str, url: str, method: str, *args: Any, proxy: Any = None, **kwargs: Any
) -> Any:
    """Call ``CustomersApi.<method>`` through the sync or the async client; bounded."""
    configuration = make_configuration(url)
    if proxy is not None:
        configuration.proxy = proxy
        configuration.allow_insecure_http = True
    configuration.timeout = 5
    configuration.retries = 0
    if kind == "sync":
        with voucherify.ApiClient(configuration) as client:
            return getattr(customers_api.CustomersApi(client), method)(*args, **kwargs)

    async def run() -> Any:
        async with voucherify.aio.ApiClient(configuration) as client:
            api = aio_customers_api.CustomersApi(client)
            return await asyncio.wait_for(getattr(api, method)(*args, **kwargs), 10)

    return asyncio.run(run())


@pytest.fixture
def json_server() -> Iterator[RawServer]:
    headers = b"Content-Type: application/json\r\n"
    with RawServer(answer(b"200 OK", headers, ACTIVITIES)) as server:
        yield server


def head_lines(server: RawServer) -> list[str]:
    assert server.requests == 1
    return server.heads[0].decode("ascii").split("\r\n")


def header(lines: list[str], name: str) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in lines[1:]
            if line.split(":", 1)[0].lower() == name.lower()]


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_get_sends_its_path_parameter_as_one_quoted_segment_and_its_query(
    kind: str, json_server: RawServer
) -> None:
    response = call(
        kind, json_server.url, "list_customer_activity_with_http_info",
        "a/b?c#d%e f ü", type="order created&x=1+2", limit=10,
    )
    lines = head_lines(json_server)
    assert lines[0] == (
        "GET /v1/customers/a%2Fb%3Fc%23d%25e%20f%20%C3%BC/activity"
        "?type=order%20created%26x%3D1%2B2&limit=10 HTTP/1.1"
    )
    assert json_server.bodies == [b""]
    assert header(lines, "Content-Type") == []
    assert header(lines, "Content-Length") in ([], ["0"])
    assert header(lines, "Accept") == ["application/json"]
    assert header(lines, "X-App-Id") == [APP_ID]
    assert header(lines, "X-App-Token") == [APP_TOKEN]
    assert isinstance(response.data, customers_api.CustomerActivities)
    assert response.data.total == 1
    assert response.data.data == [{"id": "evcus_1", "type": "customer.created"}]


@pytest.mark.parametrize("kind", CLIENTS)
def test_characters_a_segment_and_a_query_may_hold_go_unescaped_the_same_by_both_clients(
    kind: str, json_server: RawServer
) -> None:
    call(kind, json_server.url, "list_customer_activity", "!$&'()*+,;=:@-._~",
         type="!$'()*,/:?@;")
    assert head_lines(json_server)[0] == (
        "GET /v1/customers/!$&'()*+,;=:@-._~/activity?type=!$'()*,/:?@%3B HTTP/1.1"
    )


@pytest.mark.parametrize("kind", CLIENTS)
def test_none_leaves_a_query_parameter_out_and_lists_and_booleans_are_encoded(
    kind: str, json_server: RawServer
) -> None:
    call(kind, json_server.url, "list_customer_activity", "c1", type=["a", "b c"], limit=True)
    call(kind, json_server.url, "list_customer_activity", "c2", limit=2.5)
    call(kind, json_server.url, "list_customer_activity", "c3")
    assert [head.split(b"\r\n")[0] for head in json_server.heads] == [
        b"GET /v1/customers/c1/activity?type=a&type=b%20c&limit=true HTTP/1.1",
        b"GET /v1/customers/c2/activity?limit=2.5 HTTP/1.1",
        b"GET /v1/customers/c3/activity HTTP/1.1",
    ]


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize(
    ("customer_id", "query", "error", "named"),
    [
        ("", {}, ApiValueError, "customerId"),
        (".", {}, ApiValueError, "customerId"),
        ("..", {}, ApiValueError, "customerId"),
        (5, {}, ApiTypeError, "customerId"),
        (None, {}, ApiTypeError, "customerId"),
        (b"c1", {}, ApiTypeError, "customerId"),
        ("c1", {"limit": {"n": 1}}, ApiTypeError, "limit"),
        ("c1", {"limit": float("nan")}, ApiValueError, "limit"),
        ("c1", {"type": ["a", None]}, ApiTypeError, "type"),
    ],
)
def test_a_bad_path_or_query_value_is_refused_by_name_before_any_io(
    kind: str, json_server: RawServer, customer_id: Any, query: dict[str, Any],
    error: type[Exception], named: str,
) -> None:
    with pytest.raises(error) as raised:
        call(kind, json_server.url, "list_customer_activity", customer_id, **query)
    assert named in str(raised.value)
    assert "CustomersApi.list_customer_activity" in str(raised.value)
    assert json_server.requests == 0


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_bodiless_post_sends_no_body_nor_content_type_and_reads_a_204(kind: str) -> None:
    with RawServer(answer(b"204 No Content")) as server:
        response = call(kind, server.url, "delete_customer_permanently_with_http_info", "c 1")
    lines = head_lines(server)
    assert lines[0] == "POST /v1/customers/c%201/permanent-deletion HTTP/1.1"
    assert server.bodies == [b""]
    assert header(lines, "Content-Type") == []
    assert header(lines, "Content-Length") in ([], ["0"])
    assert header(lines, "X-App-Token") == [APP_TOKEN]
    assert (response.status_code, response.data, response.raw_data) == (204, None, b"")


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_body_given_to_an_operation_without_one_is_refused_before_any_io(kind: str) -> None:
    with RawServer(answer(b"204 No Content")) as server:
        with pytest.raises(ApiTypeError, match=r"delete_customer_permanently\(\) sends no body"):
            call(kind, server.url, "delete_customer_permanently_with_http_info", "c1", {"a": 1})
        assert server.requests == 0


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_text_reply_is_asked_for_by_its_type_and_decoded_by_its_charset(kind: str) -> None:
    csv = "name,city\nRenée,Kraków\n"
    headers = b"Content-Type: text/csv; charset=utf-8\r\n"
    with RawServer(answer(b"200 OK", headers, csv.encode())) as server:
        response = call(kind, server.url, "download_export_with_http_info", "exp_1", "t/k=n")
    lines = head_lines(server)
    assert lines[0] == "GET /v1/exports/exp_1?token=t/k%3Dn HTTP/1.1"
    assert header(lines, "Accept") == ["text/csv"]
    assert response.data == csv


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_text_reply_that_is_not_its_charset_is_an_invalid_response(kind: str) -> None:
    headers = b"Content-Type: text/csv; charset=utf-8\r\n"
    with RawServer(answer(b"200 OK", headers, b"caf\xe9\n")) as server, pytest.raises(
        InvalidResponseException, match="utf-8"
    ) as raised:
        call(kind, server.url, "download_export_with_http_info", "exp_1", "t")
    assert raised.value.status == 200


@pytest.mark.parametrize("kind", CLIENTS)
def test_an_error_reply_of_a_new_operation_raises_as_for_any_other(kind: str) -> None:
    body = b'{"code": 404, "key": "not_found", "message": "Resource not found"}'
    headers = b"Content-Type: application/json\r\n"
    with RawServer(answer(b"404 Not Found", headers, body)) as server, pytest.raises(
        voucherify.NotFoundException
    ):
        call(kind, server.url, "list_customer_activity", "missing")


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_path_value_and_a_query_go_through_a_proxy_as_sent_direct(
    kind: str, json_server: RawServer
) -> None:
    with FaultProxy(("127.0.0.1", json_server.port)) as proxy:
        call(kind, "http://customers.example.test", "list_customer_activity", "a/b c",
             type="x&y", proxy=proxy.url)
        forwarded = [head.split(b"\r\n")[0] for head in proxy.forward_heads]
    assert forwarded == [
        b"GET http://customers.example.test/v1/customers/a%2Fb%20c/activity?type=x%26y HTTP/1.1"
    ]
    assert head_lines(json_server)[0] == "GET /v1/customers/a%2Fb%20c/activity?type=x%26y HTTP/1.1"


def test_the_unread_reply_of_a_get_comes_from_the_same_request(json_server: RawServer) -> None:
    configuration = make_configuration(json_server.url)
    with voucherify.ApiClient(configuration) as client:
        api = customers_api.CustomersApi(client)
        response = api.list_customer_activity_without_preload_content(
            "a b", limit=1, _request_timeout=5
        )
        try:
            assert response.status == 200
            assert response.read() == ACTIVITIES
        finally:
            response.release_conn()
    assert head_lines(json_server)[0] == "GET /v1/customers/a%20b/activity?limit=1 HTTP/1.1"


def test_calls_with_different_path_values_share_the_client_s_one_target() -> None:
    with RawServer(answer(b"200 OK", b"", ACTIVITIES), keep_alive=False) as server:
        configuration = make_configuration(server.url)
        with voucherify.ApiClient(configuration) as client:
            api = customers_api.CustomersApi(client)
            api.list_customer_activity("c1", _request_timeout=5)
            target = client._targets[customers_api.GET_CUSTOMER_ACTIVITY.name][1]
            api.list_customer_activity("c2", limit=3, _request_timeout=5)
            assert client._targets[customers_api.GET_CUSTOMER_ACTIVITY.name][1] is target
            assert "{customerId}" in target.url  # the kept URL holds no call's value
    assert [head.split(b"\r\n")[0] for head in server.heads] == [
        b"GET /v1/customers/c1/activity HTTP/1.1",
        b"GET /v1/customers/c2/activity?limit=3 HTTP/1.1",
    ]


def test_the_async_transport_keeps_a_bounded_number_of_urls() -> None:
    with RawServer(answer(b"200 OK", b"", ACTIVITIES)) as server:
        configuration = make_configuration(server.url)

        async def run() -> int:
            async with voucherify.aio.ApiClient(configuration) as client:
                api = aio_customers_api.CustomersApi(client)
                for number in range(80):
                    await asyncio.wait_for(api.list_customer_activity(f"c{number}"), 10)
                return len(client.rest_client._proxies)

        kept = asyncio.run(run())
    assert server.requests == 80
    assert kept <= 32


def declare(**fields: Any) -> Operation[Any]:
    values: dict[str, Any] = {
        "name": "TestApi.op", "method": "GET", "path": "/v1/things",
        "response_model": NO_CONTENT, "auth": ("X-App-Id",),
    }
    return Operation(**{**values, **fields})


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"path": "/v1/things/{id"}, "written {name}"),
        ({"path": "/v1/things/id}"}, "written {name}"),
        ({"path": "/v1/things/{id}", "query_params": ("id",)}, "declared twice"),
        ({"path": "/v1/{a}/{a}"}, "declared twice"),
        ({"body_param": "body"}, "go together"),
        ({"body_model": EventsCreateRequestBody}, "go together"),
        ({"response_model": dict}, "response_model"),
    ],
)
def test_a_malformed_declaration_is_refused_at_import(
    fields: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        declare(**fields)


def test_a_declaration_reads_its_path_parameters_in_order() -> None:
    operation = declare(path="/v1/{campaignId}/vouchers/{code}", query_params=("limit",))
    assert operation.path_params == ("campaignId", "code")

