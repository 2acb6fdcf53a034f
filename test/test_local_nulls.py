"""The SDK and the stand-in agree on ``null``, field by field.

For every declared field of the request models, at every depth, a body with that field set
to ``None`` is given to the SDK and, as JSON with ``null``, straight to the stand-in. The SDK
refuses it before sending exactly when the stand-in (which implements the API's strict
rules) answers 400; otherwise both take it and the stand-in records the ``null``.
"""

from __future__ import annotations

import copy
import http.client
import json
import typing
from typing import Any, Iterator

import pytest

import voucherify
from voucherify.models import ClientEventsCreateRequestBody, EventsCreateRequestBody
from voucherify.models._base import RequestModel
from voucherify.testing import LocalVoucherify

ORIGIN = "https://shop.example"
TIMEOUT = 10.0

FULL_BODY: dict[str, Any] = {
    "event": "signed_up",
    "customer": {
        "source_id": "user-1",  # no "id": the stand-in knows no customer yet
        "name": "Ada",
        "description": "first",
        "email": "ada@example.com",
        "phone": "+48 600 000 000",
        "birthday": "1990-01-02",
        "birthdate": "1990-01-02",
        "address": {
            "city": "Warsaw",
            "state": "mazowieckie",
            "line_1": "Main St 1",
            "line_2": "flat 2",
            "country": "PL",
            "postal_code": "00-001",
        },
        "metadata": {"tier": "gold"},
    },
    "referral": {"code": "REF-1", "referrer_id": "cust_2"},
    "loyalty": {"code": "LOY-1"},
    "metadata": {"plan": "pro"},
}


def _model_of(annotation: Any) -> type[RequestModel] | None:
    """The request model a field holds, if any (through ``Optional``)."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, RequestModel):
            return candidate
    return None


def _field_paths(
    model: type[RequestModel], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    for name, field in model.model_fields.items():
        path = (*prefix, field.alias or name)
        yield path
        nested = _model_of(field.annotation)
        if nested is not None:
            yield from _field_paths(nested, path)


def _with_null(path: tuple[str, ...]) -> dict[str, Any]:
    body = copy.deepcopy(FULL_BODY)
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = None
    return body


def _post_raw(server: LocalVoucherify, client_side: bool, body: dict[str, Any]) -> int:
    """Send ``body`` as JSON (``None`` as ``null``) without the SDK; the status."""
    if client_side:
        assert server.client_app_id is not None and server.client_token is not None
        path = "/client/v1/events"
        headers = {
            "X-Client-Application-Id": server.client_app_id,
            "X-Client-Token": server.client_token,
            "origin": ORIGIN,
        }
    else:
        path, headers = "/v1/events", {"X-App-Id": server.app_id, "X-App-Token": server.app_token}
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        connection.request(
            "POST", path, json.dumps(body), {**headers, "Content-Type": "application/json"}
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalVoucherify]:
    with LocalVoucherify(allowed_origins=[ORIGIN]) as running:
        yield running


@pytest.fixture(scope="module")
def api_client(server: LocalVoucherify) -> Iterator[voucherify.ApiClient]:
    configuration = voucherify.Configuration(host=server.url)
    configuration.api_key["X-App-Id"] = server.app_id
    configuration.api_key["X-App-Token"] = server.app_token
    assert server.client_app_id is not None and server.client_token is not None
    configuration.api_key["X-Client-Application-Id"] = server.client_app_id
    configuration.api_key["X-Client-Token"] = server.client_token
    with voucherify.ApiClient(configuration) as client:
        yield client


def _send_through_sdk(api_client: voucherify.ApiClient, client_side: bool, body: Any) -> Any:
    if client_side:
        return voucherify.ClientSideApi(api_client).track_custom_event_client_side(
            ORIGIN, body, _retries=0
        )
    return voucherify.EventsApi(api_client).track_custom_event(body, _retries=0)


BODY_MODELS = ((False, EventsCreateRequestBody), (True, ClientEventsCreateRequestBody))
CASES = [
    pytest.param(client_side, path, id=f"{'client' if client_side else 'server'}-{'.'.join(path)}")
    for client_side, model in BODY_MODELS
    for path in _field_paths(model)
]


def test_every_declared_field_is_covered() -> None:
    paths = {".".join(path) for path in _field_paths(EventsCreateRequestBody)}
    assert {"referral", "metadata", "customer.address", "customer.address.city",
            "customer.birthdate", "referral.referrer_id", "loyalty.code"} <= paths
    assert len(paths) == 24


def test_the_full_body_is_accepted_by_both(
    server: LocalVoucherify, api_client: voucherify.ApiClient
) -> None:
    for client_side in (False, True):
        assert _post_raw(server, client_side, FULL_BODY) == 200
        _send_through_sdk(api_client, client_side, FULL_BODY)


@pytest.mark.parametrize(("client_side", "path"), CASES)
def test_sdk_refuses_null_exactly_where_the_stand_in_answers_400(
    server: LocalVoucherify, api_client: voucherify.ApiClient, client_side: bool,
    path: tuple[str, ...],
) -> None:
    body = _with_null(path)
    stand_in_status = _post_raw(server, client_side, body)
    assert stand_in_status in (200, 400)

    requests_before = len(server.requests)
    events_before = len(server.events)
    try:
        _send_through_sdk(api_client, client_side, body)
    except voucherify.ApiValueError as error:
        sdk_refused = True
        assert ".".join(path) in str(error)
        assert len(server.requests) == requests_before  # refused before anything was sent
    else:
        sdk_refused = False
        recorded = server.events[events_before]["body"]
        for part in path[:-1]:
            recorded = recorded[part]
        assert path[-1] in recorded and recorded[path[-1]] is None
    assert sdk_refused == (stand_in_status == 400), (path, stand_in_status)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({**FULL_BODY, "metadata": {"plan": None}}, id="metadata-value"),
        pytest.param({**FULL_BODY, "metadata": {"a": [None, {"b": None}]}}, id="nested-metadata"),
        pytest.param(
            {**FULL_BODY, "customer": {"source_id": "u", "metadata": {"tier": None}}},
            id="customer-metadata-value",
        ),
        pytest.param({**FULL_BODY, "campaign_hint": None}, id="unknown-key"),
    ],
)
def test_free_form_nulls_are_taken_by_both(
    server: LocalVoucherify, api_client: voucherify.ApiClient, body: dict[str, Any]
) -> None:
    assert _post_raw(server, False, body) == 200
    _send_through_sdk(api_client, False, body)
    assert server.events[-1]["body"] == body
