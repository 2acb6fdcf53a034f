"""Event definitions and metadata schemas of the local stand-in, over real sockets."""

from __future__ import annotations

from typing import Any, Iterator, Optional

import pytest
from test_local_server import UNAUTHORIZED, assert_error, client_keys, send

import voucherify
from voucherify.testing import LocalVoucherify

SCHEMAS = {
    "signed_up": {"plan": "string", "age": "number?"},
    "typed": {
        "s": "string?",
        "n": "number?",
        "b": "boolean?",
        "d": "date?",
        "dt": "datetime?",
    },
}


@pytest.fixture
def server() -> Iterator[LocalVoucherify]:
    with LocalVoucherify(event_schemas=SCHEMAS) as running:
        yield running


def event(name: str = "signed_up", metadata: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    body: dict[str, Any] = {"event": name, "customer": {"source_id": "alice"}}
    if metadata is not None:
        body["metadata"] = metadata
    return body


def test_without_definitions_any_event_and_metadata_are_accepted() -> None:
    with LocalVoucherify() as open_server, LocalVoucherify(event_schemas={}) as empty:
        for running in (open_server, empty):
            assert send(running, event("anything", {"plan": 3})).status == 200
            assert send(running, event("else")).status == 200
            assert len(running.events) == 2


def test_an_undefined_event_is_refused_naming_it(server: LocalVoucherify) -> None:
    doc = assert_error(send(server, event("order_paid", {"plan": "pro"})), 400, "event_not_defined")
    assert "'order_paid'" in doc["details"]
    assert server.events == []
    assert server.customers == []


def test_a_defined_event_with_good_metadata_is_accepted(server: LocalVoucherify) -> None:
    assert send(server, event(metadata={"plan": "pro", "age": 41})).status == 200
    assert server.events[0]["body"]["metadata"] == {"plan": "pro", "age": 41}


GOOD = [
    ("s", ""),
    ("s", "text"),
    ("n", 0),
    ("n", -1.5),
    ("n", 10**20),
    ("b", True),
    ("b", False),
    ("d", "2024-02-29"),
    ("dt", "2022-12-01T09:24:33.061Z"),
    ("dt", "2022-12-01T09:24:33+02:00"),
    ("dt", "2022-12-01T09:24:33.123456-05:30"),
    ("dt", "2022-12-01T09:24Z"),
]

BAD = [
    ("s", 1, "should be string"),
    ("s", ["a"], "should be string"),
    ("n", "1", "should be number"),
    ("n", True, "should be number"),
    ("b", "true", "should be boolean"),
    ("b", 1, "should be boolean"),
    ("d", "2023-02-29", 'should match format "date" (YYYY-MM-DD)'),
    ("d", "2024-1-01", 'should match format "date" (YYYY-MM-DD)'),
    ("d", 20240101, 'should match format "date" (YYYY-MM-DD)'),
    ("d", "2024-01-01T00:00:00Z", 'should match format "date" (YYYY-MM-DD)'),
    ("dt", "2022-12-01T09:24:33", "date-time"),
    ("dt", "2022-12-01", "date-time"),
    ("dt", "2022-13-01T00:00:00Z", "date-time"),
    ("dt", "2022-12-01T24:00:00Z", "date-time"),
    ("dt", "2022-12-01 09:24:33Z", "date-time"),
    ("dt", 1669886673, "date-time"),
]


@pytest.mark.parametrize(("prop", "value"), GOOD, ids=[f"{p}={v!r}" for p, v in GOOD])
def test_each_type_accepts_its_values(server: LocalVoucherify, prop: str, value: Any) -> None:
    assert send(server, event("typed", {prop: value})).status == 200


@pytest.mark.parametrize(("prop", "value", "rule"), BAD, ids=[f"{p}={v!r}" for p, v, _ in BAD])
def test_each_type_refuses_other_values_naming_the_property(
    server: LocalVoucherify, prop: str, value: Any, rule: str
) -> None:
    reply = send(server, event("typed", {prop: value}))
    doc = assert_error(reply, 400, "metadata_validation_failed")

    assert doc["details"].startswith(f"Property .metadata.{prop} should ")
    assert rule in doc["details"]
    assert server.events == []


def test_the_documented_example_detail(server: LocalVoucherify) -> None:
    doc = assert_error(send(server, event(metadata={"plan": 3})), 400, "metadata_validation_failed")
    assert doc["details"] == "Property .metadata.plan should be string"
    assert doc["message"] == "Metadata validation failed"


def test_required_properties_must_be_there_and_not_null(server: LocalVoucherify) -> None:
    key = "metadata_validation_failed"
    missing = assert_error(send(server, event(metadata={"age": 3})), 400, key)
    no_metadata = assert_error(send(server, event()), 400, key)
    null = assert_error(send(server, event(metadata={"plan": None})), 400, key)

    assert missing["details"] == "Property .metadata should have required property 'plan'"
    assert no_metadata["details"] == missing["details"]
    assert null["details"] == "Property .metadata.plan should be string"


def test_optional_properties_may_be_absent_or_null_but_not_of_another_type(
    server: LocalVoucherify,
) -> None:
    assert send(server, event(metadata={"plan": "pro"})).status == 200
    assert send(server, event(metadata={"plan": "pro", "age": None})).status == 200
    wrong = send(server, event(metadata={"plan": "pro", "age": "41"}))
    assert assert_error(wrong, 400, "metadata_validation_failed")["details"] == (
        "Property .metadata.age should be number"
    )
    assert send(server, event("typed")).status == 200  # every property optional


def test_undeclared_properties_are_allowed(server: LocalVoucherify) -> None:
    body = event(metadata={"plan": "pro", "source": "ad", "nested": {"x": [1]}})
    assert send(server, body).status == 200


def test_define_event_adds_and_replaces_definitions() -> None:
    with LocalVoucherify() as server:
        server.define_event("order_paid", metadata={"amount": "number", "paid_at": "datetime"})
        assert send(server, event("anything")).status == 400  # now only defined events pass
        ok = event("order_paid", {"amount": 9.99, "paid_at": "2024-05-01T10:00:00Z"})
        assert send(server, ok).status == 200

        server.define_event("order_paid", metadata={"amount": "string"})
        assert send(server, ok).status == 400
        server.define_event("order_paid")  # no schema: any metadata
        assert send(server, ok).status == 200
        assert send(server, event("order_paid")).status == 200


def test_checks_run_after_keys_and_payload_rules(server: LocalVoucherify) -> None:
    assert send(server, event("undefined"), {"X-App-Id": "x"}).raw == UNAUTHORIZED
    shape = send(server, {**event("undefined"), "metadata": "x"})
    assert assert_error(shape, 400, "invalid_payload")["details"] == (
        "Property .metadata should be object"
    )
    unknown_customer = {**event(metadata={"plan": 1}), "customer": {"id": "cust_nobody"}}
    assert_error(send(server, unknown_customer), 400, "metadata_validation_failed")


def test_client_side_events_are_checked_the_same_way(server: LocalVoucherify) -> None:
    path = "/client/v1/events"
    undefined = send(server, event("nope"), client_keys(server), path=path)
    assert_error(undefined, 400, "event_not_defined")
    good = send(server, event(metadata={"plan": "x"}), client_keys(server), path=path)
    assert good.status == 200


def test_sdk_raises_bad_request_with_the_key(server: LocalVoucherify) -> None:
    configuration = voucherify.Configuration(host=server.url)
    configuration.api_key.update({"X-App-Id": server.app_id, "X-App-Token": server.app_token})
    with voucherify.ApiClient(configuration) as client:
        api = voucherify.EventsApi(client)
        with pytest.raises(voucherify.BadRequestException) as caught:
            api.track_custom_event(events_create_request_body=event(metadata={"plan": 3}))
        result = api.track_custom_event(events_create_request_body=event(metadata={"plan": "p"}))
    assert caught.value.key == "metadata_validation_failed"
    assert caught.value.details == "Property .metadata.plan should be string"
    assert result.type == "signed_up"
    assert len(server.events) == 1


@pytest.mark.parametrize(
    ("name", "metadata", "error"),
    [
        ("e", {"plan": "strin"}, ValueError),
        ("e", {"plan": "string??"}, ValueError),
        ("e", {"plan": "String"}, ValueError),
        ("e", {"plan": 3}, ValueError),
        ("e", {"": "string"}, ValueError),
        ("", None, ValueError),
        ("e" * 301, None, ValueError),
        ("e", ["plan"], TypeError),
    ],
)
def test_bad_definitions_are_refused(name: str, metadata: Any, error: type[Exception]) -> None:
    server = LocalVoucherify()
    with pytest.raises(error):
        server.define_event(name, metadata)
    with pytest.raises(error):
        LocalVoucherify(event_schemas={name: metadata})
