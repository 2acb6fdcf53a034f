"""The local stand-in (``voucherify.testing``) over real sockets, and the SDK against it."""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Union

import pytest
import urllib3

import voucherify
from voucherify.testing import LocalVoucherify

REPO = Path(__file__).resolve().parent.parent
SEED_EXAMPLE = REPO / "examples" / "seed_example.py"
ORIGIN = "https://shop.example"
REQUEST_ID = re.compile(r"v-[0-9a-f]{18}\Z")
CUSTOMER_ID = re.compile(r"cust_[A-Za-z0-9]{24}\Z")
UNAUTHORIZED = b'{"code":401,"message":"Unauthorized","key":"unauthorized"}'
EVENT = {"event": "signed_up", "customer": {"source_id": "alice"}}


@pytest.fixture
def server() -> Iterator[LocalVoucherify]:
    with LocalVoucherify(allowed_origins=[ORIGIN]) as running:
        yield running


# -- helpers -------------------------------------------------------------------------------


class Reply:
    """A reply read with http.client: status, lower-cased headers, raw and parsed body."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = {name.lower(): value for name, value in response.getheaders()}
        self.raw = response.read()

    def json(self) -> Any:
        assert self.headers["content-type"] == "application/json"
        assert int(self.headers["content-length"]) == len(self.raw)
        return json.loads(self.raw)


def app_keys(server: LocalVoucherify) -> dict[str, str]:
    return {"X-App-Id": server.app_id, "X-App-Token": server.app_token}


def client_keys(server: LocalVoucherify, origin: Optional[str] = ORIGIN) -> dict[str, str]:
    keys = {"X-Client-Application-Id": server.client_app_id, "X-Client-Token": server.client_token}
    if origin is not None:
        keys["origin"] = origin
    return keys


def send(
    server: LocalVoucherify,
    body: Union[bytes, Mapping[str, Any], list[Any], None] = None,
    headers: Optional[Mapping[str, str]] = None,
    *,
    path: str = "/v1/events",
    method: str = "POST",
    conn: Optional[http.client.HTTPConnection] = None,
) -> Reply:
    """One request; a dict body is sent as JSON, headers default to the server-side keys."""
    raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(app_keys(server) if headers is None else headers)
    own = conn is None
    connection = conn or http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request(method, path, body=raw, headers=all_headers)
        return Reply(connection.getresponse())
    finally:
        if own:
            connection.close()


def assert_error(reply: Reply, status: int, key: str) -> dict[str, Any]:
    doc: dict[str, Any] = reply.json()
    assert reply.status == status
    assert doc["code"] == status
    assert doc["key"] == key
    assert REQUEST_ID.match(doc["request_id"])
    return doc


def sdk_client(server: LocalVoucherify, **keys: str) -> voucherify.ApiClient:
    configuration = voucherify.Configuration(host=server.url)
    configuration.api_key.update(
        keys
        or {
            "X-App-Id": server.app_id,
            "X-App-Token": server.app_token,
            "X-Client-Application-Id": server.client_app_id,
            "X-Client-Token": server.client_token,
        }
    )
    return voucherify.ApiClient(configuration)


# -- success -------------------------------------------------------------------------------


def test_event_reply_has_the_documented_shape(server: LocalVoucherify) -> None:
    body = {
        "event": "cart_abandoned",
        "customer": {
            "source_id": "source_customer_event",
            "name": "John Doe",
            "email": "john@voucherify.io",
            "metadata": {"prop": "value"},
        },
    }
    reply = send(server, body)
    doc = reply.json()

    assert reply.status == 200
    assert list(doc) == ["object", "type", "customer", "referral", "loyalty"]
    customer = doc.pop("customer")
    assert doc == {"object": "event", "type": "cart_abandoned", "referral": None, "loyalty": None}
    assert list(customer) == ["id", "name", "email", "source_id", "metadata", "object"]
    assert CUSTOMER_ID.match(customer.pop("id"))
    assert customer == {
        "name": "John Doe",
        "email": "john@voucherify.io",
        "source_id": "source_customer_event",
        "metadata": {"prop": "value"},
        "object": "customer",
    }


def test_sdk_events_api_round_trip(server: LocalVoucherify) -> None:
    body = {"event": "event-name", "customer": {"source_id": "referee"}, "referral": {"code": "C"}}
    with sdk_client(server) as client:
        result = voucherify.EventsApi(client).track_custom_event(events_create_request_body=body)

    assert result.type == "event-name"
    assert result.customer.source_id == "referee"
    assert CUSTOMER_ID.match(result.customer.id)
    [event] = server.events
    assert event == {
        "endpoint": "/v1/events",
        "event": "event-name",
        "customer_id": result.customer.id,
        "body": body,
    }
    assert server.requests[0]["headers"]["x-voucherify-channel"] == "Python-SDK"


def test_sdk_client_side_api_round_trip(server: LocalVoucherify) -> None:
    with sdk_client(server) as client:
        result = voucherify.ClientSideApi(client).track_custom_event_client_side(
            ORIGIN, client_events_create_request_body=EVENT
        )

    assert result.type == "signed_up"
    assert result.customer.source_id == "alice"
    assert server.events[0]["endpoint"] == "/client/v1/events"
    assert server.requests[0]["headers"]["origin"] == ORIGIN


def test_optional_fields_within_the_rules_are_accepted(server: LocalVoucherify) -> None:
    body: dict[str, Any] = {
        "event": "e" * 300,
        "customer": {
            "source_id": "bob",
            "name": "Bob",
            "description": "d",
            "phone": "+48 600 000 000",
            "birthdate": "1990-02-28",
            "birthday": "1990-02-28",
            "address": {"city": "Warsaw", "postal_code": "00-001", "line_1": "Main 1"},
            "metadata": {"tier": 2},
        },
        "referral": {"code": "REF", "referrer_id": "alice"},
        "loyalty": {"code": "LOYAL"},
        "metadata": {"when": "2022-12-01T09:24:33.061Z", "n": 1, "ok": True},
        "a_field_from_the_future": [1, 2],
    }
    assert send(server, body).status == 200
    body["customer"]["address"] = None
    assert send(server, body).status == 200
    assert len(server.events) == 2


# -- keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-App-Id": "wrong", "X-App-Token": "<token>"},
        {"X-App-Id": "<id>", "X-App-Token": "wrong"},
        {"X-App-Id": "<id>"},
        {"X-App-Token": "<token>"},
        {"X-App-Id": "<token>", "X-App-Token": "<id>"},
        {"X-Client-Application-Id": "<client_id>", "X-Client-Token": "<client_token>"},
    ],
    ids=["none", "wrong-id", "wrong-token", "no-token", "no-id", "swapped", "client-keys"],
)
def test_server_side_keys_are_checked(server: LocalVoucherify, headers: dict[str, str]) -> None:
    values = {
        "<id>": server.app_id,
        "<token>": server.app_token,
        "<client_id>": server.client_app_id,
        "<client_token>": server.client_token,
    }
    reply = send(server, EVENT, {name: values.get(v, v) for name, v in headers.items()})

    assert reply.status == 401
    assert reply.raw == UNAUTHORIZED
    assert reply.headers["content-type"] == "application/json"
    assert server.events == []


@pytest.mark.parametrize("wrong", ["X-Client-Application-Id", "X-Client-Token"])
def test_client_side_keys_are_checked(server: LocalVoucherify, wrong: str) -> None:
    headers = {**client_keys(server), wrong: "nope"}
    reply = send(server, EVENT, headers, path="/client/v1/events")

    assert reply.status == 401
    assert reply.raw == UNAUTHORIZED
    assert send(server, EVENT, app_keys(server), path="/client/v1/events").raw == UNAUTHORIZED


def test_sdk_raises_unauthorized_with_the_parsed_error(server: LocalVoucherify) -> None:
    keys = {"X-App-Id": server.app_id, "X-App-Token": "wrong"}
    with (
        sdk_client(server, **keys) as client,
        pytest.raises(voucherify.UnauthorizedException) as caught,
    ):
        voucherify.EventsApi(client).track_custom_event(events_create_request_body=EVENT)

    assert caught.value.status == 401
    assert caught.value.key == "unauthorized"
    assert caught.value.message == "Unauthorized"


# -- client-side origin --------------------------------------------------------------------


def test_client_side_origin_is_required_and_checked(server: LocalVoucherify) -> None:
    path = "/client/v1/events"
    missing = send(server, EVENT, client_keys(server, origin=None), path=path)
    assert "origin" in assert_error(missing, 403, "forbidden")["details"]

    other = send(server, EVENT, client_keys(server, origin="https://evil.example"), path=path)
    assert "https://evil.example" in assert_error(other, 403, "forbidden")["details"]

    same_origin_other_case = client_keys(server, origin="HTTPS://Shop.Example")
    assert send(server, EVENT, same_origin_other_case, path=path).status == 200
    assert [r["status"] for r in server.requests] == [403, 403, 200]
    assert len(server.events) == 1


def test_any_origin_is_allowed_by_default_but_the_header_stays_required() -> None:
    with LocalVoucherify() as open_server:
        path = "/client/v1/events"
        headers = client_keys(open_server, origin="https://anything.example")
        assert send(open_server, EVENT, headers, path=path).status == 200
        no_origin = send(open_server, EVENT, client_keys(open_server, origin=None), path=path)
        assert no_origin.status == 403


def test_allowed_origins_compare_without_case_or_trailing_slash() -> None:
    with LocalVoucherify(allowed_origins=["HTTPS://Shop.Example/"]) as strict:
        headers = client_keys(strict, origin="https://shop.example")
        assert send(strict, EVENT, headers, path="/client/v1/events").status == 200
        assert strict.allowed_origins == frozenset({"https://shop.example"})


def test_sdk_raises_forbidden_for_an_unlisted_origin(server: LocalVoucherify) -> None:
    with sdk_client(server) as client, pytest.raises(voucherify.ForbiddenException) as caught:
        voucherify.ClientSideApi(client).track_custom_event_client_side(
            "https://evil.example", client_events_create_request_body=EVENT
        )
    assert caught.value.key == "forbidden"


# -- payload validation --------------------------------------------------------------------


def _with(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(json.dumps(EVENT))
    for name, value in changes.items():
        if value is ...:
            del body[name]
        else:
            body[name] = value
    return body


def _customer(**fields: Any) -> dict[str, Any]:
    return _with(customer={"source_id": "alice", **fields})


INVALID_BODIES = [
    ("not-json", b"{not json", "Request body should be valid JSON"),
    ("empty", b"", "Request body should be valid JSON"),
    ("nan", b'{"event": NaN, "customer": {}}', "Request body should be valid JSON"),
    ("array", [], "Request body should be object"),
    ("no-event", _with(event=...), "Request body should have required property 'event'"),
    ("event-number", _with(event=3), "Property .event should be string"),
    ("event-empty", _with(event=""), "Property .event should NOT be shorter than 1 characters"),
    (
        "event-301",
        _with(event="e" * 301),
        "Property .event should NOT be longer than 300 characters",
    ),
    ("no-customer", _with(customer=...), "Request body should have required property 'customer'"),
    ("customer-string", _with(customer="alice"), "Property .customer should be object"),
    ("customer-null", _with(customer=None), "Property .customer should be object"),
    ("source-id-number", _customer(source_id=7), "Property .customer.source_id should be string"),
    ("name-null", _customer(name=None), "Property .customer.name should be string"),
    ("email-list", _customer(email=["a"]), "Property .customer.email should be string"),
    (
        "address-string",
        _customer(address="Main 1"),
        "Property .customer.address should be object or null",
    ),
    (
        "address-city",
        _customer(address={"city": 1}),
        "Property .customer.address.city should be string",
    ),
    (
        "customer-metadata",
        _customer(metadata=[1]),
        "Property .customer.metadata should be object",
    ),
    (
        "birthdate-format",
        _customer(birthdate="1990/01/01"),
        'Property .customer.birthdate should match format "date" (YYYY-MM-DD)',
    ),
    (
        "birthday-impossible",
        _customer(birthday="1990-02-30"),
        'Property .customer.birthday should match format "date" (YYYY-MM-DD)',
    ),
    ("referral-string", _with(referral="C"), "Property .referral should be object"),
    (
        "referral-no-code",
        _with(referral={"referrer_id": "bob"}),
        "Property .referral should have required property 'code'",
    ),
    (
        "referral-code-number",
        _with(referral={"code": 1}),
        "Property .referral.code should be string",
    ),
    (
        "referrer-number",
        _with(referral={"code": "C", "referrer_id": 2}),
        "Property .referral.referrer_id should be string",
    ),
    ("loyalty-null", _with(loyalty=None), "Property .loyalty should be object"),
    (
        "loyalty-no-code",
        _with(loyalty={}),
        "Property .loyalty should have required property 'code'",
    ),
    ("metadata-string", _with(metadata="x"), "Property .metadata should be object"),
]


@pytest.mark.parametrize(
    ("body", "details"),
    [case[1:] for case in INVALID_BODIES],
    ids=[case[0] for case in INVALID_BODIES],
)
def test_invalid_payload_is_refused_naming_the_property(
    server: LocalVoucherify, body: Any, details: str
) -> None:
    doc = assert_error(send(server, body), 400, "invalid_payload")

    assert doc["message"] == "Invalid payload"
    assert doc["details"] == details
    assert server.events == []
    assert server.customers == []


def test_client_side_endpoint_validates_the_same_way(server: LocalVoucherify) -> None:
    reply = send(server, _with(referral={}), client_keys(server), path="/client/v1/events")
    doc = assert_error(reply, 400, "invalid_payload")
    assert doc["details"] == "Property .referral should have required property 'code'"


def test_keys_are_checked_before_the_payload(server: LocalVoucherify) -> None:
    assert send(server, b"{not json", {}).raw == UNAUTHORIZED


# -- customers -----------------------------------------------------------------------------


def test_same_source_id_gets_the_same_customer_and_fields_merge(server: LocalVoucherify) -> None:
    first = send(server, _customer(name="Alice", metadata={"a": 1})).json()["customer"]
    second = send(server, _customer(email="a@x.io", metadata={"b": 2})).json()["customer"]
    other = send(server, _with(customer={"source_id": "bob"})).json()["customer"]

    assert second["id"] == first["id"]
    assert other["id"] != first["id"]
    assert second == {
        "id": first["id"],
        "name": "Alice",
        "email": "a@x.io",
        "source_id": "alice",
        "metadata": {"a": 1, "b": 2},
        "object": "customer",
    }
    assert [c["source_id"] for c in server.customers] == ["alice", "bob"]
    assert [e["customer_id"] for e in server.events] == [first["id"], first["id"], other["id"]]


def test_known_customer_id_wins_over_source_id(server: LocalVoucherify) -> None:
    known = send(server, EVENT).json()["customer"]["id"]
    reply = send(server, _with(customer={"id": known, "source_id": "someone-else", "name": "A"}))

    customer = reply.json()["customer"]
    assert (customer["id"], customer["source_id"], customer["name"]) == (known, "alice", "A")
    assert len(server.customers) == 1


def test_unknown_customer_id_is_not_found(server: LocalVoucherify) -> None:
    missing = "cust_" + "x" * 24
    doc = assert_error(send(server, _with(customer={"id": missing})), 404, "not_found")

    del doc["request_id"]
    assert doc == {
        "code": 404,
        "key": "not_found",
        "message": "Resource not found",
        "details": f"Cannot find customer with id {missing}",
        "resource_id": missing,
        "resource_type": "customer",
    }
    assert server.events == []


def test_sdk_raises_not_found_for_an_unknown_customer(server: LocalVoucherify) -> None:
    body = {"event": "e", "customer": {"id": "cust_nobody"}}
    with sdk_client(server) as client, pytest.raises(voucherify.NotFoundException) as caught:
        voucherify.EventsApi(client).track_custom_event(events_create_request_body=body)

    assert caught.value.resource_type == "customer"
    assert caught.value.resource_id == "cust_nobody"


def test_concurrent_events_for_one_source_id_make_one_customer(server: LocalVoucherify) -> None:
    ids: list[str] = []
    lock = threading.Lock()

    def track() -> None:
        customer_id = send(server, EVENT).json()["customer"]["id"]
        with lock:
            ids.append(customer_id)

    threads = [threading.Thread(target=track) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(ids) == 16
    assert len(set(ids)) == 1
    assert len(server.events) == 16
    assert len(server.customers) == 1


# -- routing and HTTP ----------------------------------------------------------------------


def test_unknown_path_is_not_found(server: LocalVoucherify) -> None:
    doc = assert_error(send(server, EVENT, path="/v1/nothing"), 404, "not_found")
    assert "/v1/nothing" in doc["details"]


def test_wrong_method_is_not_allowed(server: LocalVoucherify) -> None:
    reply = send(server, None, path="/v1/events", method="GET")
    assert_error(reply, 405, "method_not_allowed")
    assert reply.headers["allow"] == "POST"

    head = send(server, None, path="/client/v1/events", method="HEAD")
    assert head.status == 405
    assert head.raw == b""
    assert int(head.headers["content-length"]) > 0


def test_query_string_does_not_change_the_route(server: LocalVoucherify) -> None:
    assert send(server, EVENT, path="/v1/events?debug=1").status == 200
    assert server.requests[0]["path"] == "/v1/events?debug=1"


def test_every_error_reply_has_its_own_request_id(server: LocalVoucherify) -> None:
    replies = [send(server, b"nope"), send(server, b"nope"), send(server, EVENT, path="/x")]
    ids = {reply.json()["request_id"] for reply in replies}
    assert len(ids) == 3
    assert all(REQUEST_ID.match(request_id) for request_id in ids)


def test_keep_alive_serves_several_requests_on_one_connection(server: LocalVoucherify) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        first = send(server, EVENT, conn=conn)
        sock = conn.sock
        assert sock is not None
        error = send(server, b"nope", conn=conn)
        second = send(server, EVENT, conn=conn)
        assert conn.sock is sock
    finally:
        conn.close()

    assert [first.status, error.status, second.status] == [200, 400, 200]
    assert "close" not in first.headers.get("connection", "")


def test_urllib3_pool_reuses_its_connection(server: LocalVoucherify) -> None:
    with urllib3.HTTPConnectionPool("127.0.0.1", server.port, maxsize=1) as pool:
        headers = {**app_keys(server), "Content-Type": "application/json"}
        for _ in range(3):
            reply = pool.request("POST", "/v1/events", body=json.dumps(EVENT), headers=headers)
            assert reply.status == 200
        assert pool.num_connections == 1


def test_chunked_body_is_read(server: LocalVoucherify) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        chunks = iter([b'{"event": "chunked", ', b'"customer": {"source_id": "c"}}'])
        conn.request("POST", "/v1/events", body=chunks, headers=app_keys(server))
        reply = Reply(conn.getresponse())
    finally:
        conn.close()

    assert reply.status == 200
    assert reply.json()["type"] == "chunked"
    assert server.requests[0]["headers"]["transfer-encoding"] == "chunked"


def test_body_over_10_mib_is_refused_without_reading_it(server: LocalVoucherify) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.putrequest("POST", "/v1/events")
        conn.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
        conn.endheaders()
        reply = Reply(conn.getresponse())
    finally:
        conn.close()

    assert_error(reply, 413, "payload_too_large")
    assert reply.headers["connection"] == "close"


@pytest.mark.parametrize("length", ["abc", "-1", "\u00b2"])
def test_unreadable_content_length_is_refused_and_closes(
    server: LocalVoucherify, length: str
) -> None:
    request = (
        f"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{{}}"
    ).encode("latin-1")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):  # the server closes the connection after replying
            received += chunk

    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"\r\nConnection: close" in head
    assert json.loads(body)["key"] == "bad_request"
    assert server.requests[0]["status"] == 400


# -- records -------------------------------------------------------------------------------


def test_requests_are_recorded_with_headers_body_and_status(server: LocalVoucherify) -> None:
    raw = json.dumps(EVENT).encode()
    send(server, raw)
    send(server, raw, {"X-App-Id": "wrong"})

    ok, refused = server.requests
    assert (ok["method"], ok["path"], ok["body"], ok["status"]) == ("POST", "/v1/events", raw, 200)
    assert ok["headers"]["x-app-id"] == server.app_id
    assert ok["headers"]["content-length"] == str(len(raw))
    assert all(name == name.lower() for name in ok["headers"])
    assert refused["status"] == 401
    assert len(server.events) == 1


def test_records_are_copies(server: LocalVoucherify) -> None:
    send(server, EVENT)
    server.events[0]["body"]["event"] = "changed"
    server.requests[0]["headers"].clear()
    server.customers[0]["metadata"]["x"] = 1
    server.events.clear()

    assert server.events[0]["body"]["event"] == "signed_up"
    assert server.requests[0]["headers"]
    assert server.customers[0]["metadata"] == {}


def test_reset_forgets_events_requests_and_customers(server: LocalVoucherify) -> None:
    before = send(server, EVENT).json()["customer"]["id"]
    server.reset()

    assert (server.events, server.requests, server.customers) == ([], [], [])
    after = send(server, EVENT).json()["customer"]["id"]
    assert after != before
    assert len(server.events) == 1


# -- lifecycle -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_lifecycle_and_url() -> None:
    port = _free_port()
    server = LocalVoucherify(port=port, app_id="id", app_token="token")
    with pytest.raises(RuntimeError):
        _ = server.url
    server.start()
    try:
        assert server.url == f"http://127.0.0.1:{port}"
        assert send(server, EVENT).status == 200
        with pytest.raises(RuntimeError):
            server.start()
    finally:
        server.stop()
    server.stop()  # a second stop does nothing

    assert not server.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with server:
        assert send(server, EVENT).status == 200
        assert len(server.events) == 2


def test_stop_closes_idle_keep_alive_connections_promptly() -> None:
    server = LocalVoucherify().start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        assert send(server, EVENT, conn=conn).status == 200
        sock = conn.sock
        assert sock is not None
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        stopper.join(timeout=5)
        assert not stopper.is_alive()
        # The server closed its end: the idle connection reads end-of-file at once.
        sock.settimeout(2)
        assert sock.recv(1) == b""
    finally:
        conn.close()


def test_keys_default_to_distinct_random_values_and_stay_out_of_repr() -> None:
    one, two = LocalVoucherify(), LocalVoucherify()
    keys = [one.app_id, one.app_token, one.client_app_id, one.client_token, two.app_id]

    assert len(set(keys)) == 5
    assert all(re.fullmatch(r"[0-9a-f]{32}", key) for key in keys)
    with one:
        assert one.app_token not in repr(one)
        assert one.url in repr(one)
    with pytest.raises(TypeError):
        LocalVoucherify(allowed_origins=ORIGIN)


# -- imports -------------------------------------------------------------------------------


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )


def test_the_sdk_does_not_import_the_testing_package() -> None:
    result = _python(
        "import sys, voucherify\n"
        "voucherify.EventsApi, voucherify.ClientSideApi, voucherify.Configuration\n"
        "import voucherify.models, voucherify.rest\n"
        "assert not [m for m in sys.modules if m.startswith('voucherify.testing')]\n"
    )
    assert result.returncode == 0, result.stderr


def test_the_testing_package_does_not_use_the_sdk_models() -> None:
    result = _python(
        "import sys, voucherify.testing\n"
        "assert 'voucherify.models' not in sys.modules\n"
        "assert 'pydantic' not in sys.modules\n"
    )
    assert result.returncode == 0, result.stderr


# -- command line --------------------------------------------------------------------------

CAPTURE_AND_RUN = (
    "import os, runpy, sys\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    f.write(os.environ['API_KEY'] + '\\n' + os.environ['VOUCHERIFY_HOST'])\n"
    "runpy.run_path(sys.argv[2], run_name='__main__')\n"
)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voucherify.testing", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )


def test_run_seed_example_end_to_end(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    result = _cli("run", "--", sys.executable, "-c", CAPTURE_AND_RUN, str(seen), str(SEED_EXAMPLE))
    key, host = seen.read_text().split("\n")
    output = result.stdout + result.stderr

    assert result.returncode == 0, output
    assert "EventsCreateResponseBody" in result.stdout
    assert "'event-name'" in result.stdout
    assert "referee-source_id" in result.stdout
    assert "Exception when calling" not in output
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert key not in output
    assert re.fullmatch(r"http://127\.0\.0\.1:[0-9]+", host)


def test_run_exits_with_the_childs_code() -> None:
    assert _cli("run", "--", sys.executable, "-c", "import sys; sys.exit(3)").returncode == 3
    assert _cli("run", "--", str(REPO / "no-such-program")).returncode == 127
    assert _cli("run").returncode == 2


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_serve_prints_its_url_and_stops_cleanly_on_sigint() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "voucherify.testing", "serve", "--app-id", "i", "--app-token", "t"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:[0-9]+", url), url
        port = int(url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request(
                "POST", "/v1/events", json.dumps(EVENT), {"X-App-Id": "i", "X-App-Token": "t"}
            )
            assert conn.getresponse().status == 200
        finally:
            conn.close()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0
    assert "Traceback" not in stderr
    assert stdout == ""
