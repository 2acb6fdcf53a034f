"""Transport safety: no keys in clear off this machine, proxies, forks and threads."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import voucherify
from voucherify._pipeline.urls import sends_in_clear
from voucherify.testing import LocalVoucherify

from conftest import APP_TOKEN, EXAMPLE_RESPONSE, MINIMAL_BODY, make_configuration
from rawserver import RawServer, reply

OK = reply(b"200 OK", json.dumps(EXAMPLE_RESPONSE).encode())


def call(configuration: voucherify.Configuration, **options: Any) -> Any:
    with voucherify.ApiClient(configuration) as client:
        return voucherify.EventsApi(client).track_custom_event(
            events_create_request_body=MINIMAL_BODY, _retries=0, **options
        )


@pytest.mark.parametrize(
    "host", ["http://api.voucherify.io", "http://10.1.2.3:8080", "http://[2001:db8::1]/x"]
)
def test_keys_are_not_sent_in_clear_off_this_machine(host: str) -> None:
    with pytest.raises(voucherify.ApiValueError, match="plain http://") as info:
        call(make_configuration(host))
    assert APP_TOKEN not in str(info.value)


@pytest.mark.parametrize("loopback", ["127.0.0.1", "localhost"])
def test_plain_http_to_loopback_is_fine(loopback: str) -> None:
    with RawServer(OK) as server:
        host = server.url.replace("127.0.0.1", loopback)
        assert call(make_configuration(host)).object == "event"


@pytest.mark.parametrize(
    ("host", "in_clear"),
    [
        ("http://127.9.9.9:1", False),
        ("http://[::1]:1", False),
        ("http://LOCALHOST", False),
        ("https://api.voucherify.io", False),
        ("http://api.voucherify.io", True),
        ("http://192.168.1.5", True),
    ],
)
def test_which_hosts_count_as_in_clear(host: str, in_clear: bool) -> None:
    assert sends_in_clear(host) is in_clear


def test_plain_http_can_be_allowed_explicitly() -> None:
    with RawServer(OK) as proxy:
        configuration = make_configuration("http://events.example")
        configuration.allow_insecure_http = True
        configuration.proxy = proxy.url
        assert call(configuration).type == "cart_abandoned"
    assert proxy.heads[0].startswith(b"POST http://events.example/v1/events HTTP/1.1")


def test_https_goes_through_the_proxy_in_a_tunnel() -> None:
    with RawServer(reply(b"502 Bad Gateway", b"")) as proxy:
        configuration = make_configuration("https://api.voucherify.io")
        configuration.proxy = proxy.url
        with pytest.raises(voucherify.ApiConnectionException) as info:
            call(configuration)
    assert proxy.heads[0].startswith(b"CONNECT api.voucherify.io:443 HTTP/1.")
    # Only the tunnel request reached the proxy: the keys travel inside TLS, never to it.
    assert APP_TOKEN.encode() not in proxy.heads[0]
    assert info.value.request_sent is False


def test_proxy_from_environment_and_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with RawServer(OK) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        configuration = make_configuration("http://events.example")
        configuration.allow_insecure_http = True
        call(configuration)
        assert proxy.requests == 1
        monkeypatch.setenv("NO_PROXY", "events.example")
        with pytest.raises(voucherify.ApiConnectionException):
            call(configuration)  # direct now: events.example does not resolve here
        assert proxy.requests == 1
        monkeypatch.delenv("NO_PROXY")
        configuration.trust_env = False
        with pytest.raises(voucherify.ApiConnectionException):
            call(configuration)
        assert proxy.requests == 1


def test_loopback_never_goes_through_an_environment_proxy(
    monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    with RawServer(OK) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        call(make_configuration(httpserver.url_for("/")))
        assert proxy.requests == 0
    assert len(httpserver.log) == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_does_not_reuse_the_parents_connection() -> None:
    body = json.dumps(EXAMPLE_RESPONSE).encode()
    with RawServer(reply(b"200 OK", body, close=False), keep_alive=True) as server:
        client = voucherify.ApiClient(make_configuration(server.url))
        api = voucherify.EventsApi(client)
        api.track_custom_event(events_create_request_body=MINIMAL_BODY)
        assert server.connections == 1
        pid = os.fork()
        if pid == 0:  # the child: one call, then out without running pytest's teardown
            try:
                api.track_custom_event(events_create_request_body=MINIMAL_BODY)
                os._exit(0)
            except BaseException:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert server.connections == 2, "the child must open its own connection"
        api.track_custom_event(events_create_request_body=MINIMAL_BODY)
        assert server.connections == 2, "the parent keeps using its pooled connection"
        client.close()


def test_one_client_shared_by_threads() -> None:
    threads, per_thread = 8, 500
    errors: list[BaseException] = []
    with LocalVoucherify() as server:
        configuration = voucherify.Configuration(host=server.url)
        configuration.api_key["X-App-Id"] = server.app_id
        configuration.api_key["X-App-Token"] = server.app_token
        assert configuration.connection_pool_maxsize >= threads
        with voucherify.ApiClient(configuration) as client:
            api = voucherify.EventsApi(client)

            def work(worker: int) -> None:
                try:
                    for n in range(per_thread):
                        api.track_custom_event(events_create_request_body={
                            "event": "thread_test",
                            "customer": {"source_id": f"w{worker}"},
                            "metadata": {"n": n, "worker": worker},
                        })
                except BaseException as error:  # collected and asserted below
                    errors.append(error)

            workers = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(120)
            manager = client.rest_client.pool_manager
            pool_count = len(manager.pools)
            pool = manager.connection_from_url(server.url)
        events = server.events
    assert errors == []
    keys = {(e["body"]["metadata"]["worker"], e["body"]["metadata"]["n"]) for e in events}
    assert len(events) == threads * per_thread
    assert len(keys) == threads * per_thread
    # No connection was thrown away for lack of room in the pool.
    assert pool_count == 1
    assert pool.num_connections <= configuration.connection_pool_maxsize
