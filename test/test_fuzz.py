"""Fuzzed bodies: each is sent as strict JSON or refused before any I/O; nothing else escapes."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import voucherify

from conftest import EXAMPLE_RESPONSE, make_configuration
from rawserver import RawServer, reply

REPLY = json.dumps(EXAMPLE_RESPONSE).encode()


text = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=3),
    st.just("x" * 400),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
    st.binary(max_size=5),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.just(timezone.utc)),
    st.decimals(allow_nan=True),
    st.sets(st.integers(), max_size=2),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(text, st.integers()), inner, max_size=3),
    ),
    max_leaves=12,
)
customers = st.one_of(
    st.fixed_dictionaries(
        {}, optional={"source_id": values, "email": values, "birthdate": values, "metadata": values,
                      "address": values, "extra": values},
    ),
    values,
)
bodies = st.one_of(
    st.fixed_dictionaries(
        {"event": values, "customer": customers},
        optional={"metadata": values, "referral": values, "loyalty": values, "unknown": values},
    ),
    values,
)


def deep(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"d": value}
    return value


@pytest.fixture(scope="module")
def server() -> Iterator[RawServer]:
    with RawServer(reply(b"200 OK", REPLY, close=False), keep_alive=True) as server:
        yield server


@pytest.fixture(scope="module")
def events_api(server: RawServer) -> Iterator[voucherify.EventsApi]:
    with voucherify.ApiClient(make_configuration(server.url)) as client:
        yield voucherify.EventsApi(client)


def refuse_constant(name: str) -> Any:
    raise AssertionError(f"non-JSON constant {name} was sent")


def send_or_refuse(server: RawServer, api: voucherify.EventsApi, body: Any) -> None:
    before = server.requests
    try:
        api.track_custom_event(events_create_request_body=body, _retries=0)
    except (voucherify.ApiValueError, voucherify.ApiTypeError) as error:
        assert server.requests == before, "refused input must not be sent"
        assert str(error)
        return
    assert server.requests == before + 1
    doc = json.loads(server.bodies[-1].decode("utf-8"), parse_constant=refuse_constant)
    assert isinstance(doc, dict)
    assert isinstance(doc["event"], str) and 1 <= len(doc["event"]) <= 300
    assert isinstance(doc["customer"], dict)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_fuzzed_bodies(server: RawServer, events_api: voucherify.EventsApi, body: Any) -> None:
    send_or_refuse(server, events_api, body)


@pytest.mark.parametrize(
    "body",
    [
        {"event": "e", "customer": {}, "metadata": deep(200)},
        {"event": "e", "customer": {}, "metadata": {"d": deep(5000)}},
        {"event": "e" * 10_000, "customer": {}},
        {"event": "e", "customer": {"name": "\ud800"}},
        {"event": "e", "customer": {}, "metadata": {"n": math.nan}},
        {"event": "e", "customer": {}, "metadata": {"n": Decimal("1.5")}},
        {"event": "e", "customer": {}, "metadata": {"when": datetime(2020, 1, 1)}},
        {"event": "e", "customer": {"birthdate": date(2000, 1, 1)}, "metadata": {"ok": [1]}},
    ],
    ids=["deep-200", "deep-5000", "huge-event", "surrogate", "nan", "decimal", "naive",
         "valid"],
)
def test_edge_bodies(server: RawServer, events_api: voucherify.EventsApi, body: Any) -> None:
    send_or_refuse(server, events_api, body)
