"""Headers: one line per name on the wire whatever the case, in one precedence; framing
headers and values a header cannot carry refused before I/O, without echoing the value."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

import pytest

import voucherify

from conftest import APP_TOKEN, CLIENT_TOKEN, EXAMPLE_RESPONSE, MINIMAL_BODY, make_configuration
from rawserver import RawServer, reply

OK = reply(b"200 OK", json.dumps(EXAMPLE_RESPONSE).encode())


@pytest.fixture
def server() -> Iterator[RawServer]:
    with RawServer(OK) as running:
        yield running


def header_lines(head: bytes) -> list[tuple[str, str]]:
    """The raw header lines of a request head, as (lower-case name, value)."""
    lines = head.decode("latin-1").split("\r\n")[1:]
    return [(name.strip().lower(), value.strip())
            for name, _, value in (line.partition(":") for line in lines)]


def only(head: bytes, name: str) -> str:
    values = [value for lower, value in header_lines(head) if lower == name.lower()]
    assert len(values) == 1, f"{name}: {values}"
    return values[0]


def track(client: voucherify.ApiClient, **options: Any) -> None:
    voucherify.EventsApi(client).track_custom_event(
        events_create_request_body=MINIMAL_BODY, _retries=0, **options
    )


# -- item 16: one header per name, one precedence ------------------------------------------


def test_every_name_goes_out_once_with_the_documented_winner(server: RawServer) -> None:
    configuration = make_configuration(server.url)
    with voucherify.ApiClient(configuration, header_name="x-team", header_value="t1") as client:
        client.set_default_header("user-agent", "my-agent/1")  # client over SDK default
        client.set_default_header("X-TEAM", "t2")  # a later client header replaces
        client.set_default_header("x-voucherify-channel", "client-channel")
        track(
            client,
            _headers={
                "x-app-token": "not-the-key",  # the configured key wins
                "ACCEPT": "application/json; v=2",  # per call over SDK default
                "X-Voucherify-Channel": "call-channel",  # per call over client
                "content-type": "application/vnd.voucherify+json",
            },
            _content_type="application/json; charset=utf-8",  # over _headers Content-Type
        )
    head = server.heads[0]
    assert only(head, "X-App-Token") == APP_TOKEN
    assert only(head, "User-Agent") == "my-agent/1"
    assert only(head, "X-Team") == "t2"
    assert only(head, "Accept") == "application/json; v=2"
    assert only(head, "X-Voucherify-Channel") == "call-channel"
    assert only(head, "Content-Type") == "application/json; charset=utf-8"
    names = [name for name, _ in header_lines(head) if name]
    assert len(names) == len(set(names)), names


def test_request_auth_wins_over_headers_of_its_name(server: RawServer) -> None:
    with voucherify.ApiClient(make_configuration(server.url)) as client:
        client.set_default_header("x-app-id", "client-id")
        track(
            client,
            _headers={"X-APP-TOKEN": "from-headers"},
            _request_auth=[
                {"in": "header", "key": "x-app-token", "value": "auth-token"},
                {"in": "header", "key": "X-App-Id", "value": "auth-id"},
            ],
        )
    head = server.heads[0]
    assert only(head, "X-App-Token") == "auth-token"
    assert only(head, "X-App-Id") == "auth-id"


def test_a_missing_key_may_come_from_a_header_in_any_case(server: RawServer) -> None:
    configuration = make_configuration(server.url)
    del configuration.api_key["X-App-Id"]
    with voucherify.ApiClient(configuration) as client:
        track(client, _headers={"x-app-id": "given-per-call"})
    assert only(server.heads[0], "X-App-Id") == "given-per-call"


def test_the_origin_argument_wins_over_any_origin_header(server: RawServer) -> None:
    with voucherify.ApiClient(make_configuration(server.url)) as client:
        client.set_default_header("ORIGIN", "https://client.example")
        voucherify.ClientSideApi(client).track_custom_event_client_side(
            "https://argument.example", MINIMAL_BODY,
            _headers={"Origin": "https://headers.example"}, _retries=0,
        )
        voucherify.ClientSideApi(client).track_custom_event_client_side(
            "https://second.example", MINIMAL_BODY, _retries=0,
        )
    assert only(server.heads[0], "origin") == "https://argument.example"
    assert only(server.heads[1], "origin") == "https://second.example"
    assert only(server.heads[0], "X-Client-Token") == CLIENT_TOKEN


def test_set_default_header_replaces_whatever_the_case_and_user_agent_reads_it() -> None:
    client = voucherify.ApiClient(make_configuration("http://127.0.0.1:9"))
    client.set_default_header("user-agent", "mine/2")
    assert client.user_agent == "mine/2"
    assert [name for name in client.default_headers if name.lower() == "user-agent"] == [
        "User-Agent"
    ]
    client.close()


def test_headers_written_straight_into_default_headers_merge_too(server: RawServer) -> None:
    with voucherify.ApiClient(make_configuration(server.url)) as client:
        client.default_headers["accept"] = "application/json; q=0.9"
        track(client)
    assert only(server.heads[0], "Accept") == "application/json; q=0.9"


# -- item 6: framing headers ------------------------------------------------------------------

FRAMING = [
    "Content-Length", "transfer-encoding", "HOST", "Connection", "Upgrade", "TE", "Trailer",
    "Keep-Alive", "Expect", "Proxy-Connection",
]

def _straight_in(client: voucherify.ApiClient, name: str) -> None:
    client.default_headers[name] = "0"
    track(client)


ENTRY_POINTS: dict[str, Callable[[voucherify.ApiClient, str], None]] = {
    "_headers": lambda client, name: track(client, _headers={name: "0"}),
    "set_default_header": lambda client, name: client.set_default_header(name, "0"),
    "header_name": lambda client, name: voucherify.ApiClient(
        client.configuration, header_name=name, header_value="0"
    ).close(),
    "default_headers": _straight_in,
    "_request_auth": lambda client, name: track(
        client, _request_auth={"in": "header", "key": name, "value": "0"}
    ),
}


@pytest.mark.parametrize("name", FRAMING)
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_framing_headers_are_refused_before_io(name: str, entry: str, server: RawServer) -> None:
    with voucherify.ApiClient(make_configuration(server.url)) as client, pytest.raises(
        voucherify.ApiValueError, match=f"header {name} is set by the transport"
    ):
        ENTRY_POINTS[entry](client, name)
    assert server.connections == 0


# -- item 15: a value a header cannot carry -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "says"),
    [("caf\u00e9\u2603", "outside Latin-1"), ("caf\u00e9", "outside ASCII"),
     ("\u2603", "outside Latin-1")],
)
@pytest.mark.parametrize("entry", ["_headers", "set_default_header", "header_name", "key"])
def test_non_ascii_header_value_is_refused_naming_the_header(
    value: str, says: str, entry: str, server: RawServer
) -> None:
    configuration = make_configuration(server.url)
    with voucherify.ApiClient(configuration) as client, pytest.raises(
        voucherify.ApiValueError
    ) as refused:
        if entry == "_headers":
            track(client, _headers={"X-Note": value})
        elif entry == "set_default_header":
            client.set_default_header("X-Note", value)
        elif entry == "header_name":
            voucherify.ApiClient(configuration, header_name="X-Note", header_value=value)
        else:
            configuration.api_key["X-App-Token"] = value
            track(client)
    message = str(refused.value)
    assert says in message
    assert ("X-Note" if entry != "key" else "X-App-Token") in message
    assert value not in message and "caf" not in message
    assert server.connections == 0
