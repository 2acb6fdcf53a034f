"""Both clients through a real proxy on 127.0.0.1: credentials from the proxy URL become
``Proxy-Authorization`` (the same header from both), and never appear in an exception, its
chain or a log line, whatever fails."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import traceback
from collections.abc import Iterator
from typing import Any, Optional
from urllib.parse import urlsplit

import pytest

import voucherify
from voucherify import aio
from voucherify._pipeline.proxies import proxy_route
from voucherify.testing import LocalVoucherify

from fault_matrix import TUNNEL_NAME, _authority, configuration_for
from rawserver import FaultProxy

USER, PASSWORD = "pr@xy user", "s3cret:pa ss"
QUOTED = "pr%40xy%20user:s3cret%3Apa%20ss"
EXPECTED = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalVoucherify]:
    with LocalVoucherify() as local:
        yield local


def backend(server: LocalVoucherify) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def with_credentials(url: str, credentials: str = QUOTED) -> str:
    return url.replace("http://", f"http://{credentials}@", 1)


def configured(
    server: LocalVoucherify, scheme: str, proxy: Optional[str]
) -> voucherify.Configuration:
    configuration = configuration_for(server, host=f"{scheme}://{TUNNEL_NAME}")
    configuration.allow_insecure_http = scheme == "http"
    configuration.ssl_ca_cert = _authority()[1]
    configuration.proxy = proxy
    return configuration


def call(client: str, configuration: voucherify.Configuration) -> Any:
    body = {"event": "proxied", "customer": {"source_id": "p-1"}}
    options: dict[str, Any] = {"_retries": 0, "_request_timeout": (1.0, 1.0), "_deadline": 3.0}
    if client == "sync":
        with voucherify.ApiClient(configuration) as sync_client:
            return voucherify.EventsApi(sync_client).track_custom_event(
                events_create_request_body=body, **options
            )

    async def run() -> Any:
        async with aio.ApiClient(configuration) as async_client:
            return await aio.EventsApi(async_client).track_custom_event(
                events_create_request_body=body, **options
            )

    return asyncio.run(asyncio.wait_for(run(), 15))


def header(head: bytes, name: str) -> Optional[str]:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower().encode():
            return value.strip().decode("latin-1")
    return None


@pytest.mark.parametrize("client", ["sync", "async"])
@pytest.mark.parametrize("scheme", ["https", "http"])
def test_credentials_in_the_proxy_url_become_proxy_authorization(
    client: str, scheme: str, server: LocalVoucherify
) -> None:
    context, _ = _authority()
    with FaultProxy(backend(server), context) as proxy:
        result = call(client, configured(server, scheme, with_credentials(proxy.url)))
    assert result.object == "event"
    if scheme == "https":  # on the tunnel request only: the API never sees it
        assert [header(head, "Proxy-Authorization") for head in proxy.connect_heads] == [EXPECTED]
        assert header(proxy.forward_heads[0], "Proxy-Authorization") is None
    else:  # on the request the proxy forwards
        assert proxy.connect_heads == []
        assert header(proxy.forward_heads[0], "Proxy-Authorization") == EXPECTED


@pytest.mark.parametrize("client", ["sync", "async"])
def test_url_credentials_replace_a_proxy_authorization_header_and_env_proxies_count(
    client: str, server: LocalVoucherify, monkeypatch: pytest.MonkeyPatch
) -> None:
    context, _ = _authority()
    with FaultProxy(backend(server), context) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", with_credentials(proxy.url, "only-user%40x"))
        configuration = configured(server, "https", None)
        configuration.proxy_headers = {"proxy-authorization": "Basic b2xkOm9sZA==", "X-Via": "t"}
        call(client, configuration)
    head = proxy.connect_heads[0]
    assert header(head, "Proxy-Authorization") == "Basic " + base64.b64encode(
        b"only-user@x:"
    ).decode()
    assert head.lower().count(b"proxy-authorization") == 1
    assert header(head, "X-Via") == "t"


def test_the_libraries_get_the_proxy_url_without_its_credentials() -> None:
    route = proxy_route("http://u%3Ax:p%40w@proxy.example:3128", {"X-A": "1"})
    expected = "Basic " + base64.b64encode(b"u:x:p@w").decode()
    assert route.url == "http://proxy.example:3128"
    assert route.headers == {"X-A": "1", "Proxy-Authorization": expected}
    assert route.authorization == expected
    plain = proxy_route("http://proxy.example:3128", None)
    assert (plain.url, plain.headers, plain.authorization) == (
        "http://proxy.example:3128", None, None
    )
    with pytest.raises(voucherify.ApiValueError, match="Latin-1") as info:
        proxy_route("http://%E2%82%AC:pw@proxy.example", None)
    assert "pw" not in str(info.value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("client", ["sync", "async"])
@pytest.mark.parametrize(
    "mode",
    ["not-listening", "refuse-407", "close-on-connect", "tls-garbage", "close-after-forward",
     "stall-after-forward"],
)
def test_proxy_credentials_never_appear_in_an_exception_or_a_log(
    client: str, mode: str, server: LocalVoucherify, caplog: pytest.LogCaptureFixture
) -> None:
    context, _ = _authority()
    caplog.set_level(logging.DEBUG)  # every logger: the SDK's, urllib3's, aiohttp's, asyncio's
    proxy_mode = "forward" if mode == "not-listening" else mode
    with FaultProxy(backend(server), context, proxy_mode) as proxy:
        url = f"http://127.0.0.1:{free_port()}" if mode == "not-listening" else proxy.url
        configuration = configured(server, "https", with_credentials(url))
        configuration.debug = True
        with pytest.raises(voucherify.ApiTransportException) as info:
            call(client, configuration)
    error = info.value
    rendered = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    texts = [rendered, repr(error), str(error), caplog.text]
    for secret in (PASSWORD, QUOTED, "s3cret", "pr%40xy", USER):
        assert not any(secret in text for text in texts), (secret, mode)
