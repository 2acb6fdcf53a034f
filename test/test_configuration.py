"""Configuration: hosts and clusters, keys, defaults, and secrets kept out of sight."""

from __future__ import annotations

import copy

import pytest
from pytest_httpserver import HTTPServer

import voucherify

from conftest import APP_TOKEN, MINIMAL_BODY, make_configuration


def test_default_host_is_europe() -> None:
    assert voucherify.Configuration().host == "https://api.voucherify.io"


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("eu", "https://api.voucherify.io"),
        ("us", "https://us1.api.voucherify.io"),
        ("US1", "https://us1.api.voucherify.io"),
        ("asia", "https://as1.api.voucherify.io"),
        ("as1.api", "https://as1.api.voucherify.io"),
    ],
)
def test_region_by_plain_name(region: str, host: str) -> None:
    assert voucherify.Configuration(region=region).host == host


def test_unknown_region_names_the_choices() -> None:
    with pytest.raises(voucherify.ApiValueError, match=r"region 'mars' is not known.*us"):
        voucherify.Configuration(region="mars")


def test_region_and_host_conflict() -> None:
    with pytest.raises(voucherify.ApiValueError, match="host or region"):
        voucherify.Configuration(host="https://x.example", region="us")


def test_server_index_and_variables_as_in_official_sdk() -> None:
    configuration = voucherify.Configuration(
        server_index=0, server_variables={"cluster": "us1.api"}
    )
    assert configuration.host == "https://us1.api.voucherify.io"
    settings = configuration.get_host_settings()
    assert settings[0]["url"] == "https://{cluster}.voucherify.io"
    assert settings[0]["variables"]["cluster"]["enum_values"] == ["api", "us1.api", "as1.api"]
    assert configuration.get_host_from_settings(0, {"cluster": "as1.api"}) == (
        "https://as1.api.voucherify.io"
    )
    with pytest.raises(voucherify.ApiValueError, match="cluster"):
        configuration.get_host_from_settings(0, {"cluster": "eu2.api"})
    with pytest.raises(voucherify.ApiValueError, match="out of range"):
        configuration.get_host_from_settings(3)


def test_setting_host_overrides_server_index() -> None:
    configuration = voucherify.Configuration(region="us")
    configuration.host = "https://gateway.example/voucherify"
    assert configuration.host == "https://gateway.example/voucherify"


def test_repr_and_debug_report_hide_keys() -> None:
    configuration = make_configuration("https://api.voucherify.io")
    for text in (repr(configuration), str(configuration), configuration.to_debug_report()):
        assert APP_TOKEN not in text
        assert "app-id-1234" not in text
    assert "X-App-Token" in repr(configuration)


def test_get_api_key_with_prefix_and_auth_settings() -> None:
    configuration = voucherify.Configuration(api_key={"X-App-Id": "id"})
    configuration.api_key_prefix["X-App-Id"] = "Bearer"
    assert configuration.get_api_key_with_prefix("X-App-Id") == "Bearer id"
    assert configuration.get_api_key_with_prefix("X-App-Token") is None
    settings = configuration.auth_settings()
    assert settings["X-App-Id"] == {
        "type": "api_key", "in": "header", "key": "X-App-Id", "value": "Bearer id"
    }
    assert "X-App-Token" not in settings


def test_deepcopy_is_independent() -> None:
    configuration = make_configuration("https://api.voucherify.io")
    clone = copy.deepcopy(configuration)
    clone.api_key["X-App-Token"] = "changed"
    assert configuration.api_key["X-App-Token"] == APP_TOKEN


def test_default_configuration_and_client() -> None:
    custom = voucherify.Configuration(host="https://custom.example")
    voucherify.Configuration.set_default(custom)
    try:
        assert voucherify.Configuration.get_default() is custom
        client = voucherify.ApiClient()
        assert client.configuration is custom
        client.close()
    finally:
        voucherify.Configuration.set_default(None)
    assert voucherify.Configuration.get_default().host == "https://api.voucherify.io"


@pytest.mark.parametrize(
    "host", ["ftp://x.example", "api.voucherify.io", "https://", "https://x.example/?a=1"]
)
def test_bad_host_fails_before_io(host: str) -> None:
    with voucherify.ApiClient(make_configuration(host)) as client, pytest.raises(
        voucherify.ApiValueError, match=r"configuration\.host"
    ):
        voucherify.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)


def test_host_index_out_of_range_fails_before_io(httpserver: HTTPServer) -> None:
    configuration = make_configuration(httpserver.url_for("/"))
    with voucherify.ApiClient(configuration) as client, pytest.raises(
        voucherify.ApiValueError, match="out of range"
    ):
        voucherify.EventsApi(client).track_custom_event(
            events_create_request_body=MINIMAL_BODY, _host_index=1
        )
    assert len(httpserver.log) == 0
