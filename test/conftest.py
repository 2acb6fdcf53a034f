"""Shared fixtures: a real HTTP server on 127.0.0.1 (pytest-httpserver) and clients aimed at it."""

from __future__ import annotations

import os
from typing import Any, Iterator

import pytest
import trustme
from pytest_httpserver import HTTPServer

import voucherify

APP_ID = "app-id-1234"
APP_TOKEN = "sk_SECRET_TOKEN_do_not_leak_42"
CLIENT_ID = "client-app-5678"
CLIENT_TOKEN = "pk_CLIENT_TOKEN_do_not_leak_42"

# The documented example reply of POST /v1/events.
EXAMPLE_RESPONSE: dict[str, Any] = {
    "object": "event",
    "type": "cart_abandoned",
    "customer": {
        "id": "cust_ypePCF6IU6fnUvec6RMXZuH4",
        "name": "John Doe",
        "email": "john@voucherify.io",
        "source_id": "source_customer_event",
        "metadata": {"prop": "value"},
        "object": "customer",
    },
    "referral": None,
    "loyalty": None,
}

MINIMAL_BODY: dict[str, Any] = {"event": "signed_up", "customer": {"source_id": "c-1"}}


def make_configuration(host: str) -> voucherify.Configuration:
    configuration = voucherify.Configuration(host=host)
    configuration.api_key["X-App-Id"] = APP_ID
    configuration.api_key["X-App-Token"] = APP_TOKEN
    configuration.api_key["X-Client-Application-Id"] = CLIENT_ID
    configuration.api_key["X-Client-Token"] = CLIENT_TOKEN
    return configuration


@pytest.fixture
def configuration(httpserver: HTTPServer) -> voucherify.Configuration:
    return make_configuration(httpserver.url_for("/"))


@pytest.fixture
def api_client(configuration: voucherify.Configuration) -> Iterator[voucherify.ApiClient]:
    with voucherify.ApiClient(configuration) as client:
        yield client


@pytest.fixture
def events_api(api_client: voucherify.ApiClient) -> voucherify.EventsApi:
    return voucherify.EventsApi(api_client)


@pytest.fixture
def client_side_api(api_client: voucherify.ApiClient) -> voucherify.ClientSideApi:
    return voucherify.ClientSideApi(api_client)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A certificate authority for a module's TLS servers and client certificates."""
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[HTTPServer]:
    """An HTTPS server on 127.0.0.1 with a certificate from ``ca``, answering POST /v1/events."""
    from cases import start_tls_server  # cases imports this module

    server = start_tls_server(ca, "127.0.0.1", "localhost")
    yield server
    server.clear()
    server.stop()


def cli_environment(
    monkeypatch: pytest.MonkeyPatch, host: str, app_id: str, app_token: str
) -> dict[str, str]:
    """Point this process's ``VOUCHERIFY_*`` variables at ``host`` with these keys (and drop
    the ones that would change a run); return the environment, for child processes too."""
    for name in ("VOUCHERIFY_REGION", "VOUCHERIFY_LOG"):
        monkeypatch.delenv(name, raising=False)
    keys = {"VOUCHERIFY_HOST": host, "VOUCHERIFY_APP_ID": app_id, "VOUCHERIFY_APP_TOKEN": app_token}
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    return dict(os.environ)
