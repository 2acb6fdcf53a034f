"""Tests of input validation: every contract rule, raised before any I/O, never echoing values.

Each rule is checked through the model constructor, ``from_dict`` and both API methods, the
latter against a real TCP server on 127.0.0.1 that counts the connections it accepts.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

import pytest

import voucherify
from voucherify.exceptions import ApiTypeError, ApiValueError, OpenApiException
from voucherify.models import ClientEventsCreateRequestBody, EventsCreateRequestBody
from voucherify.models._json_value import MAX_DEPTH

import cases
from conftest import make_configuration
from rawserver import RawServer, reply

SECRET = "SECRETVALUE123"
SECRET_INT = 987654321
ORIGIN = "https://shop.example"
MAX_BODY_BYTES = 10 * 1024 * 1024

REPLY = (
    b'{"object":"event","type":"e","customer":{"id":"cust_1","object":"customer"},'
    b'"referral":null,"loyalty":null}'
)


# --------------------------------------------------------------------------------------------
# A real HTTP server that counts connections
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[RawServer]:
    with RawServer(reply(b"200 OK", REPLY)) as srv:
        yield srv


def _configuration(server: RawServer, **keys: str) -> voucherify.Configuration:
    configuration = voucherify.Configuration(host=server.host)
    for name, value in keys.items():
        configuration.api_key[name.replace("_", "-")] = value
    return configuration


ALL_KEYS = {
    "X_App_Id": "app-id",
    "X_App_Token": "app-token",
    "X_Client_Application_Id": "client-id",
    "X_Client_Token": "client-token",
}


class Env:
    """An ApiClient pointed at the counting server, and the server's count when it was made."""

    def __init__(self, server: RawServer, configuration: voucherify.Configuration) -> None:
        self.server = server
        self.client = voucherify.ApiClient(configuration)
        self.events = voucherify.EventsApi(self.client)
        self.client_side = voucherify.ClientSideApi(self.client)
        self.start = server.connections

    @property
    def connections(self) -> int:
        return self.server.connections - self.start


@pytest.fixture
def env(server: RawServer) -> Iterator[Env]:
    environment = Env(server, _configuration(server, **ALL_KEYS))
    try:
        yield environment
    finally:
        environment.client.close()


@pytest.fixture
def make_env(server: RawServer) -> Iterator[Callable[..., Env]]:
    made: list[Env] = []

    def make(**keys: str) -> Env:
        environment = Env(server, _configuration(server, **keys))
        made.append(environment)
        return environment

    yield make
    for environment in made:
        environment.client.close()


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _texts(exc: BaseException) -> list[str]:
    formatted = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return [str(exc), repr(exc), formatted, repr(getattr(exc, "errors", ""))]


def _assert_not_echoed(exc: BaseException, secrets: tuple[str, ...] = ()) -> None:
    for secret in (SECRET, *secrets):
        for text in _texts(exc):
            assert secret not in text


def _capture(call: Callable[[], Any], kind: type[BaseException] = ApiValueError) -> Any:
    with pytest.raises(kind) as info:
        call()
    exc = info.value
    assert isinstance(exc, OpenApiException)
    assert isinstance(exc, voucherify.VoucherifyError)
    if kind is ApiValueError:
        assert isinstance(exc, ValueError)
    if kind is ApiTypeError:
        assert isinstance(exc, TypeError)
    return exc


def _good_body() -> dict[str, Any]:
    return {"event": "cart_abandoned", "customer": {"source_id": "cust-1"}}


def _nested(levels: int, leaf: Any = "leaf") -> Any:
    value = leaf
    for _ in range(levels):
        value = {"k": value}
    return value


def _nested_lists(levels: int, leaf: Any = "leaf") -> Any:
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def _with(**fields: Any) -> dict[str, Any]:
    body = _good_body()
    body.update(fields)
    return body


def _with_customer(**fields: Any) -> dict[str, Any]:
    body = _good_body()
    body["customer"] = {"name": SECRET, **fields}
    return body


# --------------------------------------------------------------------------------------------
# The contract's rules, each through every entry point
# --------------------------------------------------------------------------------------------

NAN, INF = float("nan"), float("inf")

# (body, field path, rule text, other strings that must not appear)
RULES = [
    # event
    pytest.param({"customer": {"name": SECRET}}, "event", "is required", (), id="event-missing"),
    pytest.param(
        {"event": "", "customer": {"name": SECRET}},
        "event",
        "must not be empty",
        (),
        id="event-empty",
    ),
    pytest.param(
        _with(event=SECRET + "x" * (301 - len(SECRET))),
        "event",
        "at most 300 characters",
        (),
        id="event-301",
    ),
    pytest.param(
        _with(event=SECRET + "x" * 10_000),
        "event",
        "at most 300 characters",
        (),
        id="event-very-long",
    ),
    pytest.param(
        _with(event=SECRET_INT), "event", "must be a string", (str(SECRET_INT),), id="event-int"
    ),
    pytest.param(_with(event=[SECRET]), "event", "must be a string", (), id="event-list"),
    pytest.param(_with(event={"n": SECRET}), "event", "must be a string", (), id="event-dict"),
    pytest.param(_with(event=None), "event", "must be a string", (), id="event-null"),
    pytest.param(_with(event=True), "event", "must be a string", (), id="event-bool"),
    pytest.param(_with(event=12.75), "event", "must be a string", ("12.75",), id="event-float"),
    # customer
    pytest.param({"event": SECRET}, "customer", "is required", (), id="customer-missing"),
    pytest.param(_with(customer=SECRET), "customer", "must be an object", (), id="customer-str"),
    pytest.param(_with(customer=[SECRET]), "customer", "must be an object", (), id="customer-list"),
    pytest.param(
        _with(customer=SECRET_INT),
        "customer",
        "must be an object",
        (str(SECRET_INT),),
        id="customer-int",
    ),
    pytest.param(_with(customer=None), "customer", "must be an object", (), id="customer-null"),
    # referral
    pytest.param(
        _with(referral={"referrer_id": SECRET}),
        "referral.code",
        "is required",
        (),
        id="referral-no-code",
    ),
    pytest.param(_with(referral={}), "referral.code", "is required", (), id="referral-empty"),
    pytest.param(
        _with(referral={"code": SECRET_INT}),
        "referral.code",
        "must be a string",
        (str(SECRET_INT),),
        id="referral-code-int",
    ),
    pytest.param(
        _with(referral={"code": [SECRET]}),
        "referral.code",
        "must be a string",
        (),
        id="referral-code-list",
    ),
    pytest.param(
        _with(referral={"code": None}),
        "referral.code",
        "must be a string",
        (),
        id="referral-code-null",
    ),
    pytest.param(_with(referral=SECRET), "referral", "must be an object", (), id="referral-str"),
    pytest.param(
        _with(referral={"code": "c", "referrer_id": SECRET_INT}),
        "referral.referrer_id",
        "must be a string",
        (str(SECRET_INT),),
        id="referrer-id-int",
    ),
    # loyalty
    pytest.param(_with(loyalty={}), "loyalty.code", "is required", (), id="loyalty-empty"),
    pytest.param(
        _with(loyalty={"card": SECRET}), "loyalty.code", "is required", (), id="loyalty-no-code"
    ),
    pytest.param(
        _with(loyalty={"code": SECRET_INT}),
        "loyalty.code",
        "must be a string",
        (str(SECRET_INT),),
        id="loyalty-code-int",
    ),
    pytest.param(_with(loyalty=[SECRET]), "loyalty", "must be an object", (), id="loyalty-list"),
    # metadata: not an object
    pytest.param(_with(metadata=SECRET), "metadata", "must be an object", (), id="metadata-str"),
    pytest.param(_with(metadata=[SECRET]), "metadata", "must be an object", (), id="metadata-list"),
    pytest.param(
        _with(metadata=SECRET_INT),
        "metadata",
        "must be an object",
        (str(SECRET_INT),),
        id="metadata-int",
    ),
    # metadata: non-finite numbers, top level, in a nested object, in a list
    pytest.param(
        _with(metadata={"a": NAN, "b": SECRET}), "metadata.a", "finite", (), id="metadata-nan"
    ),
    pytest.param(
        _with(metadata={"a": INF, "b": SECRET}), "metadata.a", "finite", (), id="metadata-inf"
    ),
    pytest.param(
        _with(metadata={"a": -INF, "b": SECRET}),
        "metadata.a",
        "finite",
        (),
        id="metadata-minus-inf",
    ),
    pytest.param(
        _with(metadata={"a": {"b": NAN, "c": SECRET}}),
        "metadata.a.b",
        "finite",
        (),
        id="metadata-nested-nan",
    ),
    pytest.param(
        _with(metadata={"a": {"x": {"b": -INF}}}),
        "metadata.a.x.b",
        "finite",
        (),
        id="metadata-deep-minus-inf",
    ),
    pytest.param(
        _with(metadata={"a": [SECRET, INF]}), "metadata.a[1]", "finite", (), id="metadata-list-inf"
    ),
    pytest.param(
        _with(metadata={"a": [SECRET, {"b": NAN}]}),
        "metadata.a[1].b",
        "finite",
        (),
        id="metadata-list-dict-nan",
    ),
    pytest.param(
        _with(metadata={"a": [[0, [SECRET, -INF]]]}),
        "metadata.a[0][1][1]",
        "finite",
        (),
        id="metadata-nested-lists-minus-inf",
    ),
    # metadata: date-times must carry an offset
    pytest.param(
        _with(metadata={"when": datetime(2020, 1, 2, 3, 4, 5), "s": SECRET}),
        "metadata.when",
        "timezone",
        ("2020",),
        id="metadata-naive-datetime",
    ),
    pytest.param(
        _with(metadata={"a": [{"when": datetime(2021, 5, 6)}]}),
        "metadata.a[0].when",
        "timezone",
        ("2021",),
        id="metadata-nested-naive-datetime",
    ),
    # metadata: object keys must be strings
    pytest.param(
        _with(metadata={SECRET_INT: SECRET}),
        "metadata",
        "keys must be strings",
        (str(SECRET_INT),),
        id="metadata-int-key",
    ),
    pytest.param(
        _with(metadata={(SECRET,): 1}),
        "metadata",
        "keys must be strings",
        (),
        id="metadata-tuple-key",
    ),
    pytest.param(
        _with(metadata={"a": {SECRET_INT: SECRET}}),
        "metadata.a",
        "keys must be strings",
        (str(SECRET_INT),),
        id="metadata-nested-int-key",
    ),
    pytest.param(
        _with(metadata={"a": [{(SECRET,): 1}]}),
        "metadata.a[0]",
        "keys must be strings",
        (),
        id="metadata-nested-tuple-key",
    ),
    # metadata: values JSON cannot hold
    pytest.param(
        _with(metadata={"a": {SECRET}}),
        "metadata.a",
        "cannot be sent as JSON",
        (),
        id="metadata-set",
    ),
    pytest.param(
        _with(metadata={"a": frozenset([SECRET])}),
        "metadata.a",
        "cannot be sent as JSON",
        (),
        id="metadata-frozenset",
    ),
    pytest.param(
        _with(metadata={"a": object()}),
        "metadata.a",
        "cannot be sent as JSON",
        ("object at 0x",),
        id="metadata-object",
    ),
    pytest.param(
        _with(metadata={"a": SECRET.encode()}),
        "metadata.a",
        "cannot be sent as JSON",
        (),
        id="metadata-bytes",
    ),
    pytest.param(
        _with(metadata={"a": [1, complex(3, 4)]}),
        "metadata.a[1]",
        "cannot be sent as JSON",
        ("3+4j",),
        id="metadata-complex",
    ),
    # metadata: nesting
    pytest.param(
        _with(metadata=_nested(MAX_DEPTH + 1, SECRET)),
        "metadata" + ".k" * MAX_DEPTH,
        f"nested deeper than {MAX_DEPTH} levels",
        (),
        id="metadata-too-deep-objects",
    ),
    pytest.param(
        _with(metadata={"a": _nested_lists(MAX_DEPTH, SECRET)}),
        "metadata.a" + "[0]" * (MAX_DEPTH - 1),
        f"nested deeper than {MAX_DEPTH} levels",
        (),
        id="metadata-too-deep-lists",
    ),
    pytest.param(
        _with(metadata=_nested(500, SECRET)),
        "metadata" + ".k" * MAX_DEPTH,
        f"nested deeper than {MAX_DEPTH} levels",
        (),
        id="metadata-far-too-deep",
    ),
    # unknown top-level keys must be JSON-safe too
    pytest.param(
        _with(extra_field=NAN, other=SECRET), "extra_field", "finite", (), id="unknown-key-nan"
    ),
    pytest.param(
        _with(extra_field={"x": [SECRET, INF]}),
        "extra_field.x[1]",
        "finite",
        (),
        id="unknown-key-nested-inf",
    ),
    pytest.param(
        _with(extra_field={SECRET}),
        "extra_field",
        "cannot be sent as JSON",
        (),
        id="unknown-key-set",
    ),
    pytest.param(
        _with(extra_field=datetime(2020, 1, 1)),
        "extra_field",
        "timezone",
        (),
        id="unknown-key-naive-datetime",
    ),
    # customer fields
    pytest.param(
        _with_customer(birthdate=SECRET),
        "customer.birthdate",
        "must be a date",
        (),
        id="birthdate-garbage",
    ),
    pytest.param(
        _with_customer(birthdate="2001-02-30"),
        "customer.birthdate",
        "must be a date",
        ("2001-02-30",),
        id="birthdate-feb-30",
    ),
    pytest.param(
        _with_customer(birthdate="03/02/2001"),
        "customer.birthdate",
        "must be a date",
        ("03/02/2001",),
        id="birthdate-slashes",
    ),
    pytest.param(
        _with_customer(birthdate=""),
        "customer.birthdate",
        "must be a date",
        (),
        id="birthdate-empty",
    ),
    pytest.param(
        _with_customer(birthday="2001-13-01"),
        "customer.birthday",
        "must be a date",
        ("2001-13-01",),
        id="birthday-month-13",
    ),
    pytest.param(
        _with_customer(address=SECRET),
        "customer.address",
        "must be an object",
        (),
        id="address-str",
    ),
    pytest.param(
        _with_customer(address=[SECRET]),
        "customer.address",
        "must be an object",
        (),
        id="address-list",
    ),
    pytest.param(
        _with_customer(address=SECRET_INT),
        "customer.address",
        "must be an object",
        (str(SECRET_INT),),
        id="address-int",
    ),
    pytest.param(
        _with_customer(address={"city": SECRET_INT}),
        "customer.address.city",
        "must be a string",
        (str(SECRET_INT),),
        id="address-city-int",
    ),
    pytest.param(
        _with_customer(address={"city": [SECRET]}),
        "customer.address.city",
        "must be a string",
        (),
        id="address-city-list",
    ),
    pytest.param(
        _with_customer(address={"postal_code": SECRET_INT}),
        "customer.address.postal_code",
        "must be a string",
        (str(SECRET_INT),),
        id="address-postal-code-int",
    ),
    pytest.param(
        _with_customer(email=SECRET_INT),
        "customer.email",
        "must be a string",
        (str(SECRET_INT),),
        id="customer-email-int",
    ),
    pytest.param(
        _with_customer(metadata={"x": NAN}),
        "customer.metadata.x",
        "finite",
        (),
        id="customer-metadata-nan",
    ),
    pytest.param(
        _with_customer(metadata={"x": [0, -INF]}),
        "customer.metadata.x[1]",
        "finite",
        (),
        id="customer-metadata-list-minus-inf",
    ),
    pytest.param(
        _with_customer(metadata=SECRET),
        "customer.metadata",
        "must be an object",
        (),
        id="customer-metadata-str",
    ),
    pytest.param(
        _with_customer(metadata={"d": datetime(2020, 1, 1)}),
        "customer.metadata.d",
        "timezone",
        (),
        id="customer-metadata-naive-datetime",
    ),
    pytest.param(
        _with_customer(metadata=_nested(MAX_DEPTH + 1)),
        "customer.metadata" + ".k" * MAX_DEPTH,
        f"nested deeper than {MAX_DEPTH} levels",
        (),
        id="customer-metadata-too-deep",
    ),
    pytest.param(
        _with_customer(loyalty_tier=INF),
        "customer.loyalty_tier",
        "finite",
        (),
        id="customer-unknown-key-inf",
    ),
    pytest.param(
        _with_customer(address={"geo": NAN}),
        "customer.address.geo",
        "finite",
        (),
        id="address-unknown-key-nan",
    ),
]

ENTRY_POINTS = ["constructor", "from_dict", "api", "client_side_api"]


def _submit(entry: str, body: dict[str, Any], env: Env) -> Any:
    if entry == "constructor":
        return EventsCreateRequestBody(**body)
    if entry == "from_dict":
        return EventsCreateRequestBody.from_dict(body)
    if entry == "api":
        return env.events.track_custom_event(events_create_request_body=body)
    assert entry == "client_side_api"
    return env.client_side.track_custom_event_client_side(ORIGIN, body)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(("body", "path", "rule", "secrets"), RULES)
def test_contract_rule_is_enforced(
    entry: str, body: dict[str, Any], path: str, rule: str, secrets: tuple[str, ...], env: Env
) -> None:
    exc = _capture(lambda: _submit(entry, body, env))
    _assert_not_echoed(exc, secrets)
    assert env.connections == 0
    message = str(exc)
    assert f"{path}: " in message
    assert rule in message
    assert message.index(path) < message.index(rule)
    assert any(p == path and rule in r for p, r in exc.errors), exc.errors


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_valid_body_goes_through_every_entry_point(entry: str, env: Env) -> None:
    # The positive control: the same bodies, made valid, are accepted (and the API sends them).
    body = _with(
        event="x" * 300,
        metadata={
            "when": datetime(2020, 1, 2, tzinfo=timezone.utc),
            "day": date(2020, 1, 2),
            "n": 1.5,
            "deep": _nested(MAX_DEPTH - 1),
            "lists": _nested_lists(MAX_DEPTH - 1),
        },
        extra_field={"x": [1, None, "y"]},
        referral={"code": "R"},
        loyalty={"code": "L"},
    )
    result = _submit(entry, body, env)
    assert result is not None
    expected = 1 if entry.endswith("api") else 0
    assert env.connections == expected
    assert env.server.requests >= expected


def test_event_of_300_characters_is_accepted() -> None:
    assert EventsCreateRequestBody(event="é" * 300, customer={}).event == "é" * 300
    assert EventsCreateRequestBody.from_dict({"event": "x" * 300, "customer": {}}) is not None


def test_metadata_nested_exactly_to_the_limit_is_accepted() -> None:
    body = EventsCreateRequestBody(event="e", customer={}, metadata=_nested(MAX_DEPTH))
    assert body.to_dict()["metadata"] == _nested(MAX_DEPTH)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=9))),
    ],
)
def test_aware_datetime_in_metadata_is_accepted(moment: datetime, env: Env) -> None:
    body = _with(metadata={"when": moment, "list": [moment]}, extra=moment)
    assert EventsCreateRequestBody(**body).metadata["when"] is moment
    assert EventsCreateRequestBody.from_dict(body) is not None
    env.events.track_custom_event(events_create_request_body=body)
    assert env.connections == 1


def test_every_problem_is_reported_at_once() -> None:
    exc = _capture(
        lambda: EventsCreateRequestBody.from_dict(
            {"event": "", "customer": {"address": {"city": 1}}, "metadata": {"a": NAN}}
        )
    )
    paths = [path for path, _ in exc.errors]
    assert "event" in paths
    assert "customer.address.city" in paths
    assert "metadata.a" in paths


@pytest.mark.parametrize("entry", ["from_dict", "api", "client_side_api"])
@pytest.mark.parametrize("body", [[], [_good_body()], SECRET, SECRET_INT])
def test_non_object_body_is_refused(entry: str, body: Any, env: Env) -> None:
    if entry == "from_dict":
        exc = _capture(lambda: EventsCreateRequestBody.from_dict(body))
    elif entry == "api":
        exc = _capture(lambda: _submit(entry, body, env), ApiTypeError)
        assert "events_create_request_body" in str(exc)
    else:
        exc = _capture(lambda: _submit(entry, body, env), ApiTypeError)
        assert "client_events_create_request_body" in str(exc)
    _assert_not_echoed(exc, (str(SECRET_INT),))
    assert env.connections == 0


# --------------------------------------------------------------------------------------------
# Assignment
# --------------------------------------------------------------------------------------------

ASSIGNMENTS = [
    pytest.param(
        lambda m: setattr(m, "event", "x" * 301), "event", "at most 300 characters", id="event-301"
    ),
    pytest.param(lambda m: setattr(m, "event", ""), "event", "must not be empty", id="event-empty"),
    pytest.param(
        lambda m: setattr(m, "event", SECRET_INT), "event", "must be a string", id="event-int"
    ),
    pytest.param(
        lambda m: setattr(m, "customer", SECRET), "customer", "must be an object", id="customer-str"
    ),
    pytest.param(
        lambda m: setattr(m, "referral", {"referrer_id": SECRET}),
        "referral.code",
        "is required",
        id="referral-no-code",
    ),
    pytest.param(
        lambda m: setattr(m, "metadata", {"a": [SECRET, NAN]}),
        "metadata.a[1]",
        "finite",
        id="metadata-nan",
    ),
    pytest.param(
        lambda m: setattr(m, "metadata", {"a": datetime(2020, 1, 1)}),
        "metadata.a",
        "timezone",
        id="metadata-naive",
    ),
    pytest.param(
        lambda m: setattr(m.customer, "birthdate", SECRET),
        "birthdate",
        "must be a date",
        id="nested-birthdate",
    ),
    pytest.param(
        lambda m: setattr(m.customer, "address", {"city": SECRET_INT}),
        "address.city",
        "must be a string",
        id="nested-address-city",
    ),
    pytest.param(
        lambda m: setattr(m.customer.address, "city", SECRET_INT),
        "city",
        "must be a string",
        id="nested-city",
    ),
    pytest.param(
        lambda m: setattr(m.customer, "metadata", {"x": INF}),
        "metadata.x",
        "finite",
        id="nested-metadata-inf",
    ),
]


@pytest.mark.parametrize("cls", [EventsCreateRequestBody, ClientEventsCreateRequestBody])
@pytest.mark.parametrize(("assign", "path", "rule"), ASSIGNMENTS)
def test_assignment_is_validated(
    cls: type[EventsCreateRequestBody], assign: Callable[[Any], None], path: str, rule: str
) -> None:
    model = cls(event="ok", customer={"address": {"city": "c"}})
    before = model.to_dict()
    exc = _capture(lambda: assign(model))
    _assert_not_echoed(exc, (str(SECRET_INT),))
    assert f"{path}: " in str(exc)
    assert rule in str(exc)
    # The failed assignment left the model as it was.
    assert model.to_dict() == before
    assert model.event == "ok"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(NAN, id="nan"),
        pytest.param({"a": [INF]}, id="nested-inf"),
        pytest.param({SECRET}, id="set"),
        pytest.param(datetime(2020, 1, 1), id="naive-datetime"),
    ],
)
@pytest.mark.parametrize("target", ["body", "customer", "address"])
def test_failed_assignment_of_an_unknown_attribute_leaves_no_trace(value: Any, target: str) -> None:
    body = EventsCreateRequestBody(event="ok", customer={"address": {"city": "c"}})
    before = body.to_dict()
    model = {"body": body, "customer": body.customer, "address": body.customer.address}[target]
    exc = _capture(lambda: setattr(model, "surprise", value))
    assert "surprise" in str(exc)
    _assert_not_echoed(exc)
    # Nothing of the refused value may stay on the model ...
    assert "surprise" not in model.to_dict()
    assert not hasattr(model, "surprise")
    assert body.to_dict() == before
    # ... so that the model stays usable.
    body.event = "still usable"
    assert body.event == "still usable"


# --------------------------------------------------------------------------------------------
# Text that cannot be encoded, and bodies that are too large
# --------------------------------------------------------------------------------------------

SURROGATES = [
    pytest.param(_with_customer(name="\ud800"), "customer.name", id="customer-name"),
    pytest.param(_with(event="abc\udfff"), "event", id="event"),
    pytest.param(
        _with_customer(address={"city": "x\ud83d"}), "customer.address.city", id="address-city"
    ),
    pytest.param(
        _with(metadata={"a": [SECRET, {"b": "\udc00"}]}),
        "metadata.a[1].b",
        id="metadata-nested-value",
    ),
    pytest.param(_with(referral={"code": "\ud800"}), "referral.code", id="referral-code"),
    pytest.param(_with(extra_field="\ud800"), "extra_field", id="unknown-key-value"),
    pytest.param(_with(metadata={"\ud800" + SECRET: 1}), "metadata", id="metadata-key"),
    pytest.param(_with(metadata={"a": {"\ud800": 1}}), "metadata.a", id="metadata-nested-key"),
    pytest.param(
        _with_customer(metadata={"\udfff": SECRET}), "customer.metadata", id="customer-metadata-key"
    ),
]


@pytest.mark.parametrize("entry", ["api", "client_side_api"])
@pytest.mark.parametrize(("body", "path"), SURROGATES)
def test_lone_surrogate_is_refused_before_sending(
    entry: str, body: dict[str, Any], path: str, env: Env
) -> None:
    exc = _capture(lambda: _submit(entry, body, env))
    assert f"{path}: " in str(exc)
    assert "Unicode" in str(exc)
    _assert_not_echoed(exc)
    assert env.connections == 0


def test_body_over_10_mib_is_refused_before_sending(env: Env) -> None:
    body = _with(metadata={"blob": SECRET + "x" * (11 * 1024 * 1024)})
    for call in (
        lambda: env.events.track_custom_event(events_create_request_body=body),
        lambda: env.client_side.track_custom_event_client_side(ORIGIN, body),
    ):
        exc = _capture(call)
        assert "10 MiB" in str(exc)
        assert len(str(exc)) < 500
        _assert_not_echoed(exc)
    assert env.connections == 0


def _body_of_size(size: int) -> dict[str, Any]:
    body = _with(metadata={"blob": ""})
    overhead = len(EventsCreateRequestBody(**body).to_json().encode())
    body["metadata"]["blob"] = "x" * (size - overhead)
    assert len(EventsCreateRequestBody(**body).to_json().encode()) == size
    return body


def test_body_size_limit_is_exact(env: Env) -> None:
    too_big = _body_of_size(MAX_BODY_BYTES + 1)
    exc = _capture(lambda: env.events.track_custom_event(events_create_request_body=too_big))
    assert str(MAX_BODY_BYTES + 1) in str(exc)
    assert env.connections == 0
    just_right = _body_of_size(MAX_BODY_BYTES)
    env.events.track_custom_event(events_create_request_body=just_right)
    assert env.connections == 1


# --------------------------------------------------------------------------------------------
# The body argument itself
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([], id="empty-list"),
        pytest.param([_good_body()], id="list"),
        pytest.param(SECRET, id="str"),
        pytest.param(SECRET_INT, id="int"),
        pytest.param(1.5, id="float"),
        pytest.param(SECRET.encode(), id="bytes"),
        pytest.param((SECRET,), id="tuple"),
    ],
)
def test_body_of_the_wrong_type_raises_api_type_error(body: Any, env: Env) -> None:
    exc = _capture(
        lambda: env.events.track_custom_event(events_create_request_body=body), ApiTypeError
    )
    assert "events_create_request_body" in str(exc)
    _assert_not_echoed(exc, (str(SECRET_INT),))
    exc = _capture(
        lambda: env.client_side.track_custom_event_client_side(ORIGIN, body), ApiTypeError
    )
    assert "client_events_create_request_body" in str(exc)
    assert env.connections == 0


def test_body_none_raises_api_value_error_naming_the_parameter(env: Env) -> None:
    for call in (
        lambda: env.events.track_custom_event(events_create_request_body=None),
        env.events.track_custom_event,
        env.events.track_custom_event_with_http_info,
        env.events.track_custom_event_without_preload_content,
    ):
        exc = _capture(call)
        assert "events_create_request_body" in str(exc)
        assert "required" in str(exc)
    exc = _capture(lambda: env.client_side.track_custom_event_client_side(ORIGIN, None))
    assert "client_events_create_request_body" in str(exc)
    assert env.connections == 0


@pytest.mark.parametrize(
    "method",
    [
        "track_custom_event",
        "track_custom_event_with_http_info",
        "track_custom_event_without_preload_content",
    ],
)
def test_every_method_variant_validates_before_sending(method: str, env: Env) -> None:
    body = _with(event="x" * 301, metadata={"s": SECRET})
    call = getattr(env.events, method)
    exc = _capture(lambda: call(events_create_request_body=body))
    assert "event: at most 300 characters" in str(exc)
    _assert_not_echoed(exc)
    assert env.connections == 0


@pytest.mark.parametrize(
    "method",
    [
        "track_custom_event_client_side",
        "track_custom_event_client_side_with_http_info",
        "track_custom_event_client_side_without_preload_content",
    ],
)
def test_every_client_side_variant_validates_before_sending(method: str, env: Env) -> None:
    body = _with(metadata={"a": [SECRET, NAN]})
    call = getattr(env.client_side, method)
    exc = _capture(lambda: call(ORIGIN, body))
    assert "metadata.a[1]: " in str(exc)
    assert "ClientEventsCreateRequestBody" in str(exc)
    _assert_not_echoed(exc)
    assert env.connections == 0


def test_a_model_mutated_in_place_is_revalidated_before_sending(env: Env) -> None:
    model = EventsCreateRequestBody(event="e", customer={}, metadata={"ok": 1})
    model.metadata["bad"] = NAN
    model.customer.__dict__["name"] = SECRET_INT
    exc = _capture(lambda: env.events.track_custom_event(events_create_request_body=model))
    assert "metadata.bad: " in str(exc)
    assert "customer.name: must be a string" in str(exc)
    _assert_not_echoed(exc, (str(SECRET_INT),))
    assert env.connections == 0


# --------------------------------------------------------------------------------------------
# Options, headers and keys
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"_request_timeot": 1}, id="typo"),
        pytest.param({"_request_timeot": 1, "_request_timeout": 5}, id="typo-and-real"),
        pytest.param({"events_create_request_bdy": _good_body()}, id="body-typo"),
        pytest.param({"timeout": 1}, id="no-underscore"),
    ],
)
def test_unknown_keyword_option_raises_api_type_error(options: dict[str, Any], env: Env) -> None:
    exc = _capture(
        lambda: env.events.track_custom_event(events_create_request_body=_good_body(), **options),
        ApiTypeError,
    )
    for name in options:
        if name not in ("_request_timeout",):
            assert name in str(exc)
    assert env.connections == 0


@pytest.mark.parametrize(
    "timeout",
    [
        pytest.param(0, id="zero"),
        pytest.param(-1, id="negative"),
        pytest.param(-0.0, id="negative-zero"),
        pytest.param(math.nan, id="nan"),
        pytest.param(math.inf, id="inf"),
        pytest.param("abc", id="str"),
        pytest.param("5", id="numeric-str"),
        pytest.param((1, 2, 3), id="triple"),
        pytest.param((1,), id="single"),
        pytest.param((0, 5), id="zero-connect"),
        pytest.param((5, -1), id="negative-read"),
        pytest.param((5, "x"), id="str-read"),
        pytest.param(True, id="bool"),
        pytest.param({"connect": 1}, id="dict"),
    ],
)
def test_bad_request_timeout_raises_before_sending(timeout: Any, env: Env) -> None:
    with pytest.raises(OpenApiException) as info:
        env.events.track_custom_event(
            events_create_request_body=_good_body(), _request_timeout=timeout
        )
    exc = info.value
    assert isinstance(exc, (ApiValueError, ApiTypeError))
    assert "_request_timeout" in str(exc)
    assert env.connections == 0


@pytest.mark.parametrize("timeout", [5, 2.5, (3, 10), [3, 10], (None, 10), None])
def test_good_request_timeout_is_accepted(timeout: Any, env: Env) -> None:
    reply = env.events.track_custom_event(
        events_create_request_body=_good_body(), _request_timeout=timeout
    )
    assert reply.customer.id == "cust_1"
    assert env.connections == 1


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Test": "a\r\n" + SECRET}, id="crlf"),
        pytest.param({"X-Test": SECRET + "\n"}, id="lf"),
        pytest.param({"X-Test": SECRET + "\r"}, id="cr"),
        pytest.param({"X-Test": SECRET + "\x00"}, id="nul"),
        pytest.param({"X-Test": SECRET_INT}, id="int-value"),
        pytest.param({SECRET + "\r\nX-Evil": "v"}, id="crlf-name"),
        pytest.param({SECRET + " name": "v"}, id="space-name"),
        pytest.param({"": "v"}, id="empty-name"),
    ],
)
def test_bad_header_raises_without_echoing_it(headers: dict[str, Any], env: Env) -> None:
    exc = _capture(
        lambda: env.events.track_custom_event(
            events_create_request_body=_good_body(), _headers=headers
        )
    )
    assert "header" in str(exc)
    _assert_not_echoed(exc, (str(SECRET_INT),))
    assert env.connections == 0


def test_bad_header_message_names_the_header(env: Env) -> None:
    exc = _capture(
        lambda: env.events.track_custom_event(
            events_create_request_body=_good_body(), _headers={"X-Test": "a\r\nb"}
        )
    )
    assert "X-Test" in str(exc)
    assert "a\r\nb" not in str(exc)
    assert env.connections == 0


@pytest.mark.parametrize("missing", ["X_App_Token", "X_App_Id"])
@pytest.mark.parametrize("how", ["absent", "empty"])
def test_missing_server_key_raises_before_sending(
    missing: str, how: str, make_env: Callable[..., Env]
) -> None:
    keys = dict(ALL_KEYS)
    if how == "absent":
        del keys[missing]
    else:
        keys[missing] = ""
    environment = make_env(**keys)
    exc = _capture(
        lambda: environment.events.track_custom_event(events_create_request_body=_good_body())
    )
    assert missing.replace("_", "-") in str(exc)
    for other in ("app-token", "app-id"):
        assert other not in str(exc)
    assert environment.connections == 0


@pytest.mark.parametrize("missing", ["X_Client_Token", "X_Client_Application_Id"])
def test_missing_client_key_raises_before_sending(
    missing: str, make_env: Callable[..., Env]
) -> None:
    keys = dict(ALL_KEYS)
    del keys[missing]
    environment = make_env(**keys)
    exc = _capture(
        lambda: environment.client_side.track_custom_event_client_side(ORIGIN, _good_body())
    )
    assert missing.replace("_", "-") in str(exc)
    assert environment.connections == 0


@pytest.mark.parametrize("key", ["X_App_Token", "X_App_Id"])
@pytest.mark.parametrize("bad", [SECRET + "\nX-Evil: 1", "\r\n" + SECRET, SECRET + "\x00"])
def test_configured_key_with_line_break_raises_without_echoing_it(
    key: str, bad: str, make_env: Callable[..., Env]
) -> None:
    environment = make_env(**{**ALL_KEYS, key: bad})
    exc = _capture(
        lambda: environment.events.track_custom_event(events_create_request_body=_good_body())
    )
    assert key.replace("_", "-") in str(exc)
    _assert_not_echoed(exc, ("X-Evil",))
    assert environment.connections == 0


def test_configured_key_prefix_with_line_break_raises_without_echoing_it(
    make_env: Callable[..., Env],
) -> None:
    environment = make_env(**ALL_KEYS)
    environment.client.configuration.api_key_prefix["X-App-Token"] = SECRET + "\n"
    exc = _capture(
        lambda: environment.events.track_custom_event(events_create_request_body=_good_body())
    )
    assert "X-App-Token" in str(exc)
    _assert_not_echoed(exc, ("app-token",))
    assert environment.connections == 0


def test_client_key_with_line_break_raises_without_echoing_it(
    make_env: Callable[..., Env],
) -> None:
    environment = make_env(**{**ALL_KEYS, "X_Client_Token": SECRET + "\r\n"})
    exc = _capture(
        lambda: environment.client_side.track_custom_event_client_side(ORIGIN, _good_body())
    )
    assert "X-Client-Token" in str(exc)
    _assert_not_echoed(exc)
    assert environment.connections == 0


@pytest.mark.parametrize("origin", [None, ""])
def test_client_side_origin_is_required(origin: Any, env: Env) -> None:
    for method in (
        env.client_side.track_custom_event_client_side,
        env.client_side.track_custom_event_client_side_with_http_info,
        env.client_side.track_custom_event_client_side_without_preload_content,
    ):
        exc = _capture(lambda m=method: m(origin, _good_body()))
        assert "origin" in str(exc)
    assert env.connections == 0


@pytest.mark.parametrize("origin", [SECRET + "\r\nX-Evil: 1", SECRET + "\n", SECRET_INT])
def test_client_side_bad_origin_raises_without_echoing_it(origin: Any, env: Env) -> None:
    exc = _capture(lambda: env.client_side.track_custom_event_client_side(origin, _good_body()))
    assert "origin" in str(exc)
    _assert_not_echoed(exc, ("X-Evil", str(SECRET_INT)))
    assert env.connections == 0


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "multipart/form-data", "application/jsonx", 5],
)
def test_non_json_content_type_is_refused(content_type: Any, env: Env) -> None:
    exc = _capture(
        lambda: env.events.track_custom_event(
            events_create_request_body=_good_body(), _content_type=content_type
        )
    )
    assert "_content_type" in str(exc)
    assert env.connections == 0


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/vnd.api+json"],
)
def test_json_content_type_is_accepted(content_type: str, env: Env) -> None:
    env.events.track_custom_event(
        events_create_request_body=_good_body(), _content_type=content_type
    )
    assert env.connections == 1


def test_valid_call_sends_exactly_one_request(env: Env) -> None:
    # Without this the zero-connection assertions above would prove nothing.
    before = env.server.requests
    reply = env.events.track_custom_event(events_create_request_body=_good_body())
    assert reply.type == "e"
    assert env.connections == 1
    assert env.server.requests == before + 1
    reply = env.client_side.track_custom_event_client_side(ORIGIN, _good_body())
    assert reply.customer.id == "cust_1"
    assert env.connections == 2


@pytest.mark.parametrize(("kind", "body", "options"), cases.BAD_INPUT)
def test_bad_input_is_refused_before_any_request(
    kind: str, body: Any, options: dict[str, Any]
) -> None:
    with RawServer(reply(b"200 OK", b"{}")) as server:
        with voucherify.ApiClient(make_configuration(server.url)) as client, pytest.raises(
            voucherify.OpenApiException
        ) as info:
            cases.send(voucherify, client, kind, body, dict(options))
        cases.check_refused(info.value, len(server.bodies))
