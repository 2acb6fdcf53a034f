"""Tests of the request and response models: layout, round trips, forward compatibility, dates."""

from __future__ import annotations

import ast
import copy
import importlib
import json
import pprint
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import voucherify.models
from voucherify.exceptions import ApiValueError, OpenApiException
from voucherify.models import (
    ClientEventsCreateRequestBody,
    ClientEventsCreateRequestBodyLoyalty,
    ClientEventsCreateRequestBodyReferral,
    ClientEventsCreateResponseBody,
    Customer,
    CustomerAddress,
    Error,
    ErrorError,
    EventsCreateRequestBody,
    EventsCreateRequestBodyLoyalty,
    EventsCreateRequestBodyReferral,
    EventsCreateResponseBody,
    SimpleCustomerRequiredObjectType,
)
from voucherify.models._base import RequestModel, ResponseModel, VoucherifyModel
from voucherify.models._json_value import MAX_DEPTH

# The module each model is expected to live in, written out by hand rather than derived.
EXPECTED_MODULES = {
    "ClientEventsCreateRequestBody": "client_events_create_request_body",
    "ClientEventsCreateRequestBodyLoyalty": "client_events_create_request_body_loyalty",
    "ClientEventsCreateRequestBodyReferral": "client_events_create_request_body_referral",
    "ClientEventsCreateResponseBody": "client_events_create_response_body",
    "Customer": "customer",
    "CustomerAddress": "customer_address",
    "Error": "error",
    "ErrorError": "error_error",
    "EventsCreateRequestBody": "events_create_request_body",
    "EventsCreateRequestBodyLoyalty": "events_create_request_body_loyalty",
    "EventsCreateRequestBodyReferral": "events_create_request_body_referral",
    "EventsCreateResponseBody": "events_create_response_body",
    "SimpleCustomerRequiredObjectType": "simple_customer_required_object_type",
}

REQUEST_MODELS = {
    "ClientEventsCreateRequestBody",
    "ClientEventsCreateRequestBodyLoyalty",
    "ClientEventsCreateRequestBodyReferral",
    "Customer",
    "CustomerAddress",
    "EventsCreateRequestBody",
    "EventsCreateRequestBodyLoyalty",
    "EventsCreateRequestBodyReferral",
}
RESPONSE_MODELS = set(EXPECTED_MODULES) - REQUEST_MODELS

# The contract's documented example reply, verbatim.
DOCUMENTED_RESPONSE = (
    '{"object":"event","type":"cart_abandoned","customer":{"id":"cust_ypePCF6IU6fnUvec6RMXZuH4",'
    '"name":"John Doe","email":"john@voucherify.io","source_id":"source_customer_event",'
    '"metadata":{"prop":"value"},"object":"customer"},"referral":null,"loyalty":null}'
)

REQUEST_BODY_CLASSES = [EventsCreateRequestBody, ClientEventsCreateRequestBody]
RESPONSE_BODY_CLASSES = [EventsCreateResponseBody, ClientEventsCreateResponseBody]


# --------------------------------------------------------------------------------------------
# Layout: one module per model, lazily exported, all sharing the base class
# --------------------------------------------------------------------------------------------


def test_all_lists_exactly_the_expected_models() -> None:
    assert sorted(voucherify.models.__all__) == sorted(EXPECTED_MODULES)
    assert len(set(voucherify.models.__all__)) == len(voucherify.models.__all__)


@pytest.mark.parametrize("name", sorted(EXPECTED_MODULES))
def test_model_module_is_importable_by_snake_case_name(name: str) -> None:
    module = importlib.import_module(f"voucherify.models.{EXPECTED_MODULES[name]}")
    cls = getattr(module, name)
    assert isinstance(cls, type)
    assert cls.__name__ == name
    assert cls.__module__ == module.__name__


@pytest.mark.parametrize("name", sorted(EXPECTED_MODULES))
def test_model_is_exported_from_the_package(name: str) -> None:
    module = importlib.import_module(f"voucherify.models.{EXPECTED_MODULES[name]}")
    assert getattr(voucherify.models, name) is getattr(module, name)
    namespace: dict[str, Any] = {}
    exec(f"from voucherify.models import {name} as imported", namespace)
    assert namespace["imported"] is getattr(module, name)
    assert name in dir(voucherify.models)


def test_unknown_package_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchModel"):
        _ = voucherify.models.NoSuchModel  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(EXPECTED_MODULES))
def test_model_subclasses_the_shared_base_and_has_the_helpers(name: str) -> None:
    cls = getattr(voucherify.models, name)
    assert issubclass(cls, VoucherifyModel)
    for method in ("to_dict", "from_dict", "to_json", "from_json", "to_str"):
        assert callable(getattr(cls, method)), method
    assert cls.from_dict(None) is None


@pytest.mark.parametrize("name", sorted(EXPECTED_MODULES))
def test_request_and_response_models_have_the_matching_base(name: str) -> None:
    cls = getattr(voucherify.models, name)
    if name in REQUEST_MODELS:
        assert issubclass(cls, RequestModel)
        assert not issubclass(cls, ResponseModel)
    else:
        assert name in RESPONSE_MODELS
        assert issubclass(cls, ResponseModel)
        assert not issubclass(cls, RequestModel)


# One valid, minimal-but-interesting document per model.
SAMPLES: dict[str, dict[str, Any]] = {
    "EventsCreateRequestBody": {
        "event": "cart_abandoned",
        "customer": {"source_id": "cust-1"},
        "referral": {"code": "REF-1", "referrer_id": "cust_ref"},
        "loyalty": {"code": "LOY-1"},
        "metadata": {"total": 10.5},
    },
    "ClientEventsCreateRequestBody": {
        "event": "cart_abandoned",
        "customer": {"id": "cust_1"},
        "referral": {"code": "REF-1"},
        "loyalty": {"code": "LOY-1"},
    },
    "EventsCreateRequestBodyReferral": {"code": "REF", "referrer_id": "cust_7"},
    "ClientEventsCreateRequestBodyReferral": {"code": "REF"},
    "EventsCreateRequestBodyLoyalty": {"code": "LOY"},
    "ClientEventsCreateRequestBodyLoyalty": {"code": "LOY"},
    "Customer": {"source_id": "s", "birthdate": "1990-12-31", "address": {"city": "Warsaw"}},
    "CustomerAddress": {"city": "Warsaw", "postal_code": "00-001", "line_2": "flat 2"},
    "EventsCreateResponseBody": json.loads(DOCUMENTED_RESPONSE),
    "ClientEventsCreateResponseBody": json.loads(DOCUMENTED_RESPONSE),
    "SimpleCustomerRequiredObjectType": {"id": "cust_1", "object": "customer"},
    "Error": {"code": 401, "message": "Unauthorized", "key": "unauthorized"},
    "ErrorError": {"message": "Cart too small"},
}


def test_every_model_has_a_sample() -> None:
    assert set(SAMPLES) == set(EXPECTED_MODULES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_helpers_agree_with_each_other(name: str) -> None:
    cls = getattr(voucherify.models, name)
    doc = SAMPLES[name]
    model = cls.from_dict(doc)
    assert isinstance(model, cls)
    assert model.to_dict() == doc
    assert json.loads(model.to_json()) == doc
    again = cls.from_json(model.to_json())
    assert again.to_dict() == doc
    assert again == model
    assert cls.from_json(model.to_json().encode("utf-8")).to_dict() == doc
    assert model.to_str() == pprint.pformat(doc)
    assert ast.literal_eval(model.to_str()) == doc


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_from_dict_does_not_mutate_its_input(name: str) -> None:
    cls = getattr(voucherify.models, name)
    doc = SAMPLES[name]
    before = copy.deepcopy(doc)
    cls.from_dict(doc).to_dict()
    assert doc == before


# --------------------------------------------------------------------------------------------
# Round trips: exactly what was given comes back
# --------------------------------------------------------------------------------------------

ROUND_TRIP_REQUESTS = [
    pytest.param({"event": "e", "customer": {}}, id="minimal-empty-customer"),
    pytest.param({"event": "signup", "customer": {"source_id": "s-1"}}, id="minimal-source-id"),
    pytest.param(
        {
            "event": "x" * 300,
            "customer": {
                "id": "cust_1",
                "source_id": "s",
                "name": "Jane",
                "description": "VIP",
                "email": "jane@example.com",
                "phone": "+48 123",
                "birthday": "1980-01-01",
                "birthdate": "1980-01-01",
                "address": {
                    "city": "Kraków",
                    "state": "MA",
                    "line_1": "Main 1",
                    "line_2": "flat 2",
                    "country": "PL",
                    "postal_code": "30-001",
                },
                "metadata": {"tier": "gold", "points": 12},
            },
            "referral": {"code": "REF", "referrer_id": "cust_2"},
            "loyalty": {"code": "LOY"},
            "metadata": {
                "s": "text",
                "i": 3,
                "f": 2.5,
                "b": False,
                "n": None,
                "when": "2022-12-01T09:24:33.061Z",
                "day": "2022-12-01",
                "list": [1, "two", None, {"three": [3.0]}],
                "nested": {"a": {"b": {"c": []}}},
            },
        },
        id="every-field",
    ),
    pytest.param(
        # The only declared field the API accepts null for, and free-form values.
        {"event": "e", "customer": {"address": None, "metadata": {"m": None}}, "metadata": {}},
        id="explicit-nulls",
    ),
    pytest.param(
        {"event": "e", "customer": {"address": {"city": "X"}}, "metadata": {"a": {"b": None}}},
        id="nested-explicit-null",
    ),
    pytest.param(
        {
            "event": "e",
            "customer": {
                "source_id": "s",
                "loyalty_tier": "gold",
                "address": {"city": "X", "geo": {"lat": 1.5, "lon": -2}},
                "future": [1, {"k": None}],
            },
            "referral": {"code": "R", "campaign": "spring"},
            "loyalty": {"code": "L", "points": 4},
            "brand_new_top_level": {"x": [True, None]},
            "another": None,
        },
        id="unknown-keys-top-and-nested",
    ),
    pytest.param({"event": "e", "customer": {}, "metadata": {}}, id="empty-metadata"),
    pytest.param(
        {"event": "é漢字🎉", "customer": {"name": "Zoë 🎉", "metadata": {"ключ": "значение"}}},
        id="non-ascii",
    ),
]


@pytest.mark.parametrize("cls", REQUEST_BODY_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("doc", ROUND_TRIP_REQUESTS)
def test_request_round_trip(cls: type[EventsCreateRequestBody], doc: dict[str, Any]) -> None:
    via_from_dict = cls.from_dict(doc)
    via_constructor = cls(**doc)
    assert via_from_dict.to_dict() == doc
    assert via_constructor.to_dict() == doc
    assert json.loads(via_from_dict.to_json()) == doc
    assert cls.from_json(json.dumps(doc)).to_dict() == doc
    assert cls.from_dict(via_from_dict).to_dict() == doc


def test_absent_fields_stay_absent() -> None:
    model = EventsCreateRequestBody.from_dict({"event": "e", "customer": {"name": "n"}})
    out = model.to_dict()
    assert set(out) == {"event", "customer"}
    assert out["customer"] == {"name": "n"}
    text = model.to_json()
    for field in ("referral", "loyalty", "metadata", "null", "source_id", "address"):
        assert field not in text
    assert model.referral is None
    assert model.customer.address is None


def test_explicit_none_is_kept_distinct_from_absent() -> None:
    given_null = EventsCreateRequestBody.from_dict(
        {"event": "e", "customer": {"address": None}, "metadata": {"plan": None}}
    )
    assert given_null.to_dict() == {
        "event": "e", "customer": {"address": None}, "metadata": {"plan": None}
    }
    assert '"address":null' in given_null.to_json()
    assert '"plan":null' in given_null.to_json()


def test_assigning_a_field_makes_it_part_of_the_output() -> None:
    model = EventsCreateRequestBody(event="e", customer={})
    model.customer.address = None
    model.metadata = {"a": 1}
    model.customer.name = "n"
    assert model.to_dict() == {
        "event": "e",
        "customer": {"address": None, "name": "n"},
        "metadata": {"a": 1},
    }


def test_assigning_a_dict_builds_the_nested_model() -> None:
    model = EventsCreateRequestBody(event="e", customer={})
    model.customer = {"address": {"city": "Paris"}, "custom": 1}
    assert isinstance(model.customer, Customer)
    assert isinstance(model.customer.address, CustomerAddress)
    assert model.customer.custom == 1
    model.referral = {"code": "R"}
    assert isinstance(model.referral, EventsCreateRequestBodyReferral)
    assert model.to_dict() == {
        "event": "e",
        "customer": {"address": {"city": "Paris"}, "custom": 1},
        "referral": {"code": "R"},
    }


def test_nested_models_are_built_and_unknown_keys_are_attributes() -> None:
    doc = {
        "event": "e",
        "customer": {"source_id": "s", "segment": "b2b", "address": {"city": "X", "floor": 3}},
        "loyalty": {"code": "L"},
        "campaign_hint": "spring",
    }
    model = EventsCreateRequestBody.from_dict(doc)
    assert isinstance(model.customer, Customer)
    assert isinstance(model.customer.address, CustomerAddress)
    assert isinstance(model.loyalty, EventsCreateRequestBodyLoyalty)
    assert model.campaign_hint == "spring"
    assert model.customer.segment == "b2b"
    assert model.customer.address.floor == 3
    assert model.to_dict() == doc


def test_models_can_be_nested_as_instances() -> None:
    customer = Customer(source_id="s", address=CustomerAddress(city="Oslo"))
    body = EventsCreateRequestBody(
        event="e",
        customer=customer,
        referral=EventsCreateRequestBodyReferral(code="R"),
        loyalty=EventsCreateRequestBodyLoyalty(code="L"),
    )
    assert body.to_dict() == {
        "event": "e",
        "customer": {"source_id": "s", "address": {"city": "Oslo"}},
        "referral": {"code": "R"},
        "loyalty": {"code": "L"},
    }


# --- hypothesis: generated valid bodies round-trip ------------------------------------------

_CHARS = st.characters(blacklist_categories=("Cs",))
_TEXT = st.text(_CHARS, max_size=12)
_EVENT = st.text(_CHARS, min_size=1, max_size=300)
_SCALAR = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
)
_JSON = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=15,
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_METADATA = st.dictionaries(_TEXT, _JSON, max_size=5).filter(lambda m: _depth(m) <= MAX_DEPTH)
_OPT_TEXT = _TEXT  # None only where the API accepts null: customer.address
_DATE_TEXT = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)).map(date.isoformat)
_ADDRESS = st.fixed_dictionaries(
    {},
    optional={
        name: _OPT_TEXT for name in ("city", "state", "line_1", "line_2", "country", "postal_code")
    },
)
_CUSTOMER = st.fixed_dictionaries(
    {},
    optional={
        **{
            name: _OPT_TEXT for name in ("id", "source_id", "name", "description", "email", "phone")
        },
        "birthdate": _DATE_TEXT,
        "birthday": _DATE_TEXT,
        "address": st.none() | _ADDRESS,
        "metadata": _METADATA,
        "x_customer_extra": _JSON,
    },
)
_REFERRAL = st.fixed_dictionaries({"code": _TEXT}, optional={"referrer_id": _OPT_TEXT})
_LOYALTY = st.fixed_dictionaries({"code": _TEXT})
_BODY = st.fixed_dictionaries(
    {"event": _EVENT, "customer": _CUSTOMER},
    optional={
        "referral": _REFERRAL,
        "loyalty": _LOYALTY,
        "metadata": _METADATA,
        "x_top_extra": _JSON,
    },
)

_HYPOTHESIS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@_HYPOTHESIS
@given(doc=_BODY)
def test_generated_request_bodies_round_trip(doc: dict[str, Any]) -> None:
    for cls in REQUEST_BODY_CLASSES:
        model = cls.from_dict(doc)
        assert model.to_dict() == doc
        assert json.loads(model.to_json()) == doc
        assert cls(**doc).to_dict() == doc
        assert cls.from_json(model.to_json()).to_dict() == doc


_RESPONSE = st.fixed_dictionaries(
    {
        "type": _TEXT,
        "customer": st.fixed_dictionaries(
            {"id": _TEXT},
            optional={
                "source_id": _OPT_TEXT,
                "name": _OPT_TEXT,
                "email": _OPT_TEXT,
                "metadata": st.none() | _METADATA,
                "object": _TEXT,
                "x_new": _JSON,
            },
        ),
    },
    optional={
        "object": _TEXT,
        "referral": st.none() | _METADATA,
        "loyalty": st.none() | _METADATA,
        "metadata": st.none() | _METADATA,
        "x_new_top": _JSON,
    },
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_RESPONSE)
def test_generated_response_bodies_round_trip(doc: dict[str, Any]) -> None:
    for cls in RESPONSE_BODY_CLASSES:
        model = cls.from_json(json.dumps(doc))
        assert model.to_dict() == doc
        assert json.loads(model.to_json()) == doc


# --------------------------------------------------------------------------------------------
# Response models: forward compatible
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", RESPONSE_BODY_CLASSES, ids=lambda c: c.__name__)
def test_documented_example_response_parses(cls: type[EventsCreateResponseBody]) -> None:
    reply = cls.from_json(DOCUMENTED_RESPONSE)
    assert isinstance(reply, cls)
    assert reply.object == "event"
    assert reply.type == "cart_abandoned"
    assert isinstance(reply.customer, SimpleCustomerRequiredObjectType)
    assert reply.customer.id == "cust_ypePCF6IU6fnUvec6RMXZuH4"
    assert reply.customer.source_id == "source_customer_event"
    assert reply.customer.name == "John Doe"
    assert reply.customer.email == "john@voucherify.io"
    assert reply.customer.metadata == {"prop": "value"}
    assert reply.customer.object == "customer"
    assert reply.referral is None
    assert reply.loyalty is None
    assert reply.metadata is None
    out = reply.to_dict()
    assert out == json.loads(DOCUMENTED_RESPONSE)
    assert "metadata" not in out


@pytest.mark.parametrize("cls", RESPONSE_BODY_CLASSES, ids=lambda c: c.__name__)
def test_unknown_response_fields_are_kept(cls: type[EventsCreateResponseBody]) -> None:
    doc = json.loads(DOCUMENTED_RESPONSE)
    doc["created_at"] = "2024-01-01T00:00:00.000Z"
    doc["points_granted"] = {"amount": 10, "tags": ["a"]}
    doc["customer"]["loyalty_tier"] = "gold"
    doc["customer"]["summary"] = {"orders": 3}
    reply = cls.from_json(json.dumps(doc))
    assert reply.created_at == "2024-01-01T00:00:00.000Z"
    assert reply.points_granted == {"amount": 10, "tags": ["a"]}
    assert reply.customer.loyalty_tier == "gold"
    assert reply.customer.summary == {"orders": 3}
    out = reply.to_dict()
    assert out == doc
    assert out["customer"]["loyalty_tier"] == "gold"
    assert json.loads(reply.to_json()) == doc
    assert cls.from_dict(doc).to_dict() == doc


@pytest.mark.parametrize("object_value", ["event_v2", "", "something.new"])
def test_unknown_object_values_parse(object_value: str) -> None:
    doc = {
        "object": object_value,
        "type": "t",
        "customer": {"id": "cust_1", "object": object_value},
    }
    reply = EventsCreateResponseBody.from_json(json.dumps(doc))
    assert reply.object == object_value
    assert reply.customer.object == object_value
    assert reply.to_dict() == doc


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param({"type": "t", "customer": {"id": "c"}}, id="no-optionals"),
        pytest.param({"object": "event", "type": "t", "customer": {"id": "c"}}, id="no-ref-loy"),
        pytest.param(
            {"type": "t", "customer": {"id": "c"}, "referral": {"id": "r", "x": 1}},
            id="referral-object",
        ),
        pytest.param(
            {"type": "t", "customer": {"id": "c"}, "loyalty": {"points": 5}, "metadata": {}},
            id="loyalty-object",
        ),
        pytest.param(
            {"type": "t", "customer": {"id": "c", "metadata": None}, "metadata": None},
            id="null-metadata",
        ),
    ],
)
def test_absent_optional_response_fields_are_fine(doc: dict[str, Any]) -> None:
    for cls in RESPONSE_BODY_CLASSES:
        reply = cls.from_json(json.dumps(doc))
        assert reply.to_dict() == doc
        assert reply.customer.id == "c"


def test_response_defaults_are_not_invented_in_output() -> None:
    reply = EventsCreateResponseBody.from_dict({"type": "t", "customer": {"id": "c"}})
    assert reply.object == "event"
    assert reply.customer.object == "customer"
    assert reply.to_dict() == {"type": "t", "customer": {"id": "c"}}


@pytest.mark.parametrize("cls", RESPONSE_BODY_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    ("doc", "path"),
    [
        pytest.param({"object": "event", "type": "t"}, "customer", id="customer-missing"),
        pytest.param({"type": "t", "customer": {"name": "n"}}, "customer.id", id="id-missing"),
        pytest.param({"type": "t", "customer": {}}, "customer.id", id="customer-empty"),
        pytest.param({"type": "t", "customer": None}, "customer", id="customer-null"),
    ],
)
def test_response_without_customer_id_is_an_error(
    cls: type[EventsCreateResponseBody], doc: dict[str, Any], path: str
) -> None:
    for parse in (lambda: cls.from_dict(doc), lambda: cls.from_json(json.dumps(doc))):
        with pytest.raises(ApiValueError) as info:
            parse()
        assert isinstance(info.value, OpenApiException)
        assert isinstance(info.value, ValueError)
        assert f"{path}: " in str(info.value)


# --------------------------------------------------------------------------------------------
# The error model
# --------------------------------------------------------------------------------------------


def test_error_model_parses_the_voucherify_shape() -> None:
    doc = {
        "code": 400,
        "key": "invalid_payload",
        "message": "Invalid payload",
        "details": "Property .referral should have required property 'code'",
        "request_id": "v-0c15694e0e022146dd",
        "resource_id": "cust_1",
        "resource_type": "customer",
        "error": {"message": "Your cart is too small"},
    }
    err = Error.from_json(json.dumps(doc))
    assert err.code == 400
    assert isinstance(err.code, int)
    assert err.key == "invalid_payload"
    assert err.message == "Invalid payload"
    assert err.details == "Property .referral should have required property 'code'"
    assert err.request_id == "v-0c15694e0e022146dd"
    assert err.resource_id == "cust_1"
    assert err.resource_type == "customer"
    assert isinstance(err.error, ErrorError)
    assert err.error.message == "Your cart is too small"
    assert err.to_dict() == doc
    assert Error.from_dict(doc).to_dict() == doc


def test_error_model_parses_the_framework_shape() -> None:
    doc = {"statusCode": 400, "error": "Bad Request", "message": "body should be object"}
    err = Error.from_json(json.dumps(doc))
    assert err.error == "Bad Request"
    assert isinstance(err.error, str)
    assert err.message == "body should be object"
    assert err.statusCode == 400
    assert err.code is None
    assert err.to_dict() == doc


@pytest.mark.parametrize("code", ["429", "too_many_requests", ""])
def test_error_model_keeps_a_string_code(code: str) -> None:
    doc = {"code": code, "message": "Too many requests", "key": "too_many_requests"}
    err = Error.from_json(json.dumps(doc))
    assert err.code == code
    assert isinstance(err.code, str)
    assert err.to_dict() == doc


def test_error_model_keeps_an_integer_code_an_integer() -> None:
    err = Error.from_json('{"code": 401, "message": "Unauthorized", "key": "unauthorized"}')
    assert err.code == 401
    assert type(err.code) is int


def test_error_model_keeps_unknown_fields_in_error_error() -> None:
    doc = {"code": 400, "error": {"message": "m", "translations": {"pl": "x"}}, "hint": "h"}
    err = Error.from_dict(doc)
    assert err.error.translations == {"pl": "x"}
    assert err.hint == "h"
    assert err.to_dict() == doc


def test_error_model_accepts_an_empty_object() -> None:
    assert Error.from_json("{}").to_dict() == {}


# --------------------------------------------------------------------------------------------
# The client-side twins
# --------------------------------------------------------------------------------------------

TWIN_DOCS = [
    pytest.param({"event": "e", "customer": {}}, id="minimal"),
    pytest.param(
        {
            "event": "e",
            "customer": {"source_id": "s", "address": {"city": "c", "new": 1}},
            "referral": {"code": "R", "referrer_id": "cust_x"},
            "loyalty": {"code": "L"},
            "metadata": {"a": [1, 2]},
            "unknown": True,
        },
        id="full",
    ),
    pytest.param(
        {"event": "e", "customer": {"address": None}, "metadata": {"n": None}}, id="nulls"
    ),
]


@pytest.mark.parametrize("doc", TWIN_DOCS)
def test_client_request_twin_matches_server_request(doc: dict[str, Any]) -> None:
    server = EventsCreateRequestBody.from_dict(doc)
    client = ClientEventsCreateRequestBody.from_dict(doc)
    assert client.to_dict() == server.to_dict() == doc
    assert client.to_json() == server.to_json()
    assert ClientEventsCreateRequestBody(**doc).to_dict() == doc
    assert isinstance(client, ClientEventsCreateRequestBody)


def test_client_request_twin_uses_client_sub_models() -> None:
    client = ClientEventsCreateRequestBody.from_dict(
        {"event": "e", "customer": {}, "referral": {"code": "R"}, "loyalty": {"code": "L"}}
    )
    assert type(client.referral) is ClientEventsCreateRequestBodyReferral
    assert type(client.loyalty) is ClientEventsCreateRequestBodyLoyalty
    client.referral = {"code": "R2"}
    assert type(client.referral) is ClientEventsCreateRequestBodyReferral


def test_client_request_twin_is_built_from_a_server_body() -> None:
    server = EventsCreateRequestBody(
        event="e", customer={"name": "n"}, referral={"code": "R"}, extra_key=1
    )
    client = ClientEventsCreateRequestBody.from_dict(server)
    assert isinstance(client, ClientEventsCreateRequestBody)
    assert type(client.referral) is ClientEventsCreateRequestBodyReferral
    assert client.to_dict() == server.to_dict()


def test_client_request_twin_accepts_server_side_sub_models() -> None:
    # The same data, given as the server-side sub-model instances.
    client = ClientEventsCreateRequestBody(
        event="e",
        customer=Customer(source_id="s"),
        referral=EventsCreateRequestBodyReferral(code="R"),
        loyalty=EventsCreateRequestBodyLoyalty(code="L"),
    )
    assert client.to_dict() == {
        "event": "e",
        "customer": {"source_id": "s"},
        "referral": {"code": "R"},
        "loyalty": {"code": "L"},
    }


@pytest.mark.parametrize("twin", ["referral", "loyalty"])
def test_client_sub_models_are_twins_of_server_sub_models(twin: str) -> None:
    pairs = {
        "referral": (EventsCreateRequestBodyReferral, ClientEventsCreateRequestBodyReferral),
        "loyalty": (EventsCreateRequestBodyLoyalty, ClientEventsCreateRequestBodyLoyalty),
    }
    server_cls, client_cls = pairs[twin]
    doc = {"code": "C", "unknown": [1]}
    assert client_cls.from_dict(doc).to_dict() == server_cls.from_dict(doc).to_dict() == doc
    assert set(client_cls.model_fields) == set(server_cls.model_fields)


def test_client_response_twin_matches_server_response() -> None:
    doc = json.loads(DOCUMENTED_RESPONSE)
    doc["new"] = 1
    server = EventsCreateResponseBody.from_dict(doc)
    client = ClientEventsCreateResponseBody.from_dict(doc)
    assert client.to_dict() == server.to_dict() == doc
    assert isinstance(client, ClientEventsCreateResponseBody)


# --------------------------------------------------------------------------------------------
# Dates and date-times
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["birthdate", "birthday"])
def test_customer_dates_parse_to_date_and_render_back(field: str) -> None:
    body = EventsCreateRequestBody.from_dict({"event": "e", "customer": {field: "2001-02-03"}})
    value = getattr(body.customer, field)
    assert type(value) is date
    assert value == date(2001, 2, 3)
    assert body.to_dict() == {"event": "e", "customer": {field: "2001-02-03"}}
    assert json.loads(body.to_json())["customer"][field] == "2001-02-03"
    assert f'"{field}":"2001-02-03"' in body.to_json()


def test_customer_birthdate_accepts_a_date_object() -> None:
    customer = Customer(birthdate=date(1999, 12, 31))
    assert customer.to_dict() == {"birthdate": "1999-12-31"}
    assert customer.to_json() == '{"birthdate":"1999-12-31"}'


def _parse_instant(text: str) -> datetime:
    assert re.search(r"(Z|[+-]\d\d:\d\d)\Z", text), text
    parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    assert parsed.utcoffset() is not None
    return parsed


AWARE_DATETIMES = [
    pytest.param(datetime(2022, 12, 1, 9, 24, 33, 61000, tzinfo=timezone.utc), id="utc-ms"),
    pytest.param(datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc), id="utc"),
    pytest.param(datetime(2020, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))), id="plus-2"),
    pytest.param(
        datetime(2020, 1, 2, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        id="minus-5-30-us",
    ),
]


@pytest.mark.parametrize("moment", AWARE_DATETIMES)
def test_metadata_aware_datetime_renders_as_iso_8601_with_offset(moment: datetime) -> None:
    body = EventsCreateRequestBody(
        event="e",
        customer={"metadata": {"seen": moment}},
        metadata={"when": moment, "list": [moment], "deep": {"at": moment}},
    )
    wire = json.loads(body.to_json())
    for text in (
        wire["metadata"]["when"],
        wire["metadata"]["list"][0],
        wire["metadata"]["deep"]["at"],
        wire["customer"]["metadata"]["seen"],
    ):
        assert isinstance(text, str)
        assert _parse_instant(text) == moment
    assert _parse_instant(body.to_dict()["metadata"]["when"]) == moment
    assert body.metadata["when"] is moment


def test_metadata_date_renders_as_iso_date() -> None:
    body = EventsCreateRequestBody(
        event="e", customer={}, metadata={"day": date(2022, 12, 1), "days": [date(2000, 1, 31)]}
    )
    assert json.loads(body.to_json())["metadata"] == {"day": "2022-12-01", "days": ["2000-01-31"]}
    assert body.to_dict()["metadata"] == {"day": "2022-12-01", "days": ["2000-01-31"]}


def test_metadata_date_strings_stay_strings() -> None:
    doc = {"event": "e", "customer": {}, "metadata": {"d": "2022-12-01", "t": "09:24:33"}}
    body = EventsCreateRequestBody.from_dict(doc)
    assert body.metadata == {"d": "2022-12-01", "t": "09:24:33"}
    assert body.to_dict() == doc
