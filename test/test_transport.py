"""Transport failures become the SDK's exceptions, saying whether the request was sent."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
import trustme
import urllib3
from pytest_httpserver import HTTPServer

import voucherify
from voucherify.rest import translate_transport_error

import cases
from cases import assert_clean, free_port
from conftest import APP_TOKEN, EXAMPLE_RESPONSE, MINIMAL_BODY, make_configuration
from rawserver import RawServer, close_without_reply, reply, reset, stall


def track(host: str, **options: object) -> object:
    """One call, not retried unless ``options`` say so: retrying is tested in test_retries."""
    options.setdefault("_retries", 0)
    with voucherify.ApiClient(make_configuration(host)) as client:
        return voucherify.EventsApi(client).track_custom_event(
            events_create_request_body=MINIMAL_BODY, **options  # type: ignore[arg-type]
        )


def test_connection_refused_is_not_sent() -> None:
    with pytest.raises(voucherify.ApiConnectionException) as info:
        track(f"http://127.0.0.1:{free_port()}")
    assert info.value.request_sent is False
    assert "not sent" in str(info.value)
    assert_clean(info.value)


def test_unresolvable_host_is_not_sent() -> None:
    with pytest.raises(voucherify.ApiConnectionException) as info:
        track("https://no-such-host.invalid")
    assert info.value.request_sent is False
    assert_clean(info.value)


def test_read_timeout_may_have_been_processed() -> None:
    with RawServer(stall(2.0)) as server:
        started = time.monotonic()
        with pytest.raises(voucherify.ApiTimeoutException) as info:
            track(server.url, _request_timeout=(1.0, 0.3))
        elapsed = time.monotonic() - started
    assert info.value.request_sent is None
    assert "may have been processed" in str(info.value)
    assert server.requests == 1
    assert elapsed < 1.5
    assert_clean(info.value)


def test_single_number_timeout_applies_to_reads() -> None:
    with RawServer(stall(2.0)) as server, pytest.raises(voucherify.ApiTimeoutException):
        track(server.url, _request_timeout=0.3)


def test_configured_default_timeout_is_used() -> None:
    configuration = voucherify.Configuration()
    assert configuration.timeout == (5.0, 30.0)
    with RawServer(stall(2.0)) as server:
        configuration = make_configuration(server.url)
        configuration.timeout = (1.0, 0.3)
        with voucherify.ApiClient(configuration) as client, pytest.raises(
            voucherify.ApiTimeoutException
        ):
            voucherify.EventsApi(client).track_custom_event(
                events_create_request_body=MINIMAL_BODY
            )


@pytest.mark.parametrize("behaviour", [close_without_reply, reset], ids=["closed", "reset"])
def test_connection_lost_after_sending_may_have_been_processed(behaviour: object) -> None:
    with RawServer(behaviour) as server, pytest.raises(  # type: ignore[arg-type]
        voucherify.ApiConnectionException
    ) as info:
        track(server.url)
    assert info.value.request_sent is None
    assert server.requests == 1
    assert_clean(info.value)


def test_tls_untrusted_certificate_is_refused(tls_server: HTTPServer) -> None:
    url = tls_server.url_for("/")
    assert url.startswith("https://")
    with pytest.raises(voucherify.ApiSSLException) as info:
        track(url)
    assert info.value.request_sent is False
    assert len(tls_server.log) == 0
    assert_clean(info.value)


def test_tls_with_ca_bundle_succeeds(
    tls_server: HTTPServer, ca: trustme.CA, tmp_path: Path
) -> None:
    configuration = make_configuration(tls_server.url_for("/"))
    configuration.ssl_ca_cert = cases.ca_bundle(ca, tmp_path)
    with voucherify.ApiClient(configuration) as client:
        result = voucherify.EventsApi(client).track_custom_event(
            events_create_request_body=MINIMAL_BODY
        )
    assert result.type == "cart_abandoned"
    assert tls_server.log[0][0].headers["X-App-Token"] == APP_TOKEN


def test_tls_verification_can_be_switched_off(tls_server: HTTPServer) -> None:
    configuration = make_configuration(tls_server.url_for("/"))
    configuration.verify_ssl = False
    with voucherify.ApiClient(configuration) as client, pytest.warns(
        Warning, match="Unverified HTTPS request"
    ):
        result = voucherify.EventsApi(client).track_custom_event(
            events_create_request_body=MINIMAL_BODY
        )
    assert result.object == "event"


def test_close_releases_connections(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    client = voucherify.ApiClient(make_configuration(httpserver.url_for("/")))
    with client:
        voucherify.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)
        assert len(client.rest_client.pool_manager.pools) == 1
    assert len(client.rest_client.pool_manager.pools) == 0
    # A closed client opens a new connection when used again.
    voucherify.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)
    client.close()
    assert len(httpserver.log) == 2


def test_close_closes_the_kept_alive_connections_at_once() -> None:
    body = json.dumps(EXAMPLE_RESPONSE).encode()
    with RawServer(reply(b"200 OK", body, close=False), keep_alive=True) as server:
        client = voucherify.ApiClient(make_configuration(server.url))
        voucherify.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)
        client.close()
        # The server's handler for that connection ends when it reads end-of-file: no pool
        # (and no cached route to one) outlives close().
        for thread in server._threads:
            thread.join(2)
        assert server.connections == 1
        assert not any(thread.is_alive() for thread in server._threads)


def test_close_closes_connections_a_response_still_refers_to() -> None:
    body = json.dumps(EXAMPLE_RESPONSE).encode()
    with RawServer(reply(b"200 OK", body, close=False), keep_alive=True) as server:
        client = voucherify.ApiClient(make_configuration(server.url))
        response = voucherify.EventsApi(client).track_custom_event_without_preload_content(
            events_create_request_body=MINIMAL_BODY
        )
        response.read()
        response.release_conn()  # the connection is pooled again; the response keeps the pool
        client.close()
        for thread in server._threads:
            thread.join(2)
        assert not any(thread.is_alive() for thread in server._threads)
        assert response.status == 200


def test_a_pool_closed_as_a_call_begins_means_not_sent() -> None:
    pool = urllib3.HTTPConnectionPool("127.0.0.1", 9)
    error = translate_transport_error(urllib3.exceptions.ClosedPoolError(pool, "closed"))
    assert isinstance(error, voucherify.ApiConnectionException)
    assert error.request_sent is False


def test_calls_racing_close_from_another_thread_fail_only_unsent() -> None:
    # close() closes the pools at once, so a call that took its pool just before may find
    # it closed. Such a call has sent nothing and must say so (and be retried by the
    # policy); every call that succeeded went out exactly once.
    body = json.dumps(EXAMPLE_RESPONSE).encode()
    with RawServer(reply(b"200 OK", body, close=False), keep_alive=True) as server:
        with voucherify.ApiClient(make_configuration(server.url)) as client:
            events = voucherify.EventsApi(client)
            succeeded: list[int] = []
            errors: list[voucherify.ApiException] = []

            def track_many() -> None:
                for _ in range(100):
                    try:
                        events.track_custom_event(
                            events_create_request_body=MINIMAL_BODY, _retries=0
                        )
                        succeeded.append(1)
                    except voucherify.ApiException as error:
                        errors.append(error)

            workers = [threading.Thread(target=track_many) for _ in range(4)]
            interval = sys.getswitchinterval()
            sys.setswitchinterval(1e-6)  # switch threads often, so that close() lands mid-call
            try:
                for worker in workers:
                    worker.start()
                while any(worker.is_alive() for worker in workers):
                    client.close()
                    time.sleep(0.0002)
            finally:
                sys.setswitchinterval(interval)
                for worker in workers:
                    worker.join()
        assert len(succeeded) + len(errors) == 400
        assert all(
            isinstance(error, voucherify.ApiConnectionException) and error.request_sent is False
            for error in errors
        ), errors[:3]
        assert server.requests == len(succeeded)


def test_client_certificate_is_presented(ca: trustme.CA, tmp_path: Path) -> None:
    server = cases.start_tls_server(ca, "127.0.0.1", mutual=True)  # no certificate, no call
    try:
        cert_file, key_file = cases.client_certificate(ca, tmp_path)
        configuration = make_configuration(server.url_for("/"))
        configuration.ssl_ca_cert = cases.ca_bundle(ca, tmp_path)
        with pytest.raises(voucherify.ApiConnectionException), voucherify.ApiClient(
            configuration
        ) as client:
            voucherify.EventsApi(client).track_custom_event(
                events_create_request_body=MINIMAL_BODY, _retries=0
            )
        configuration.cert_file, configuration.key_file = cert_file, key_file
        with voucherify.ApiClient(configuration) as client:
            result = voucherify.EventsApi(client).track_custom_event(
                events_create_request_body=MINIMAL_BODY
            )
        assert result.object == "event"
        assert len(server.log) == 1
    finally:
        server.clear()
        server.stop()


def test_more_hosts_than_pooled_still_reach_each_host() -> None:
    # The manager keeps four hosts' pools; a fifth drops the oldest, whose route the client
    # has cached. Each call must still go out once, to the right host.
    servers = [HTTPServer(host="127.0.0.1", port=0) for _ in range(6)]
    for server in servers:
        server.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
        server.start()
    try:
        configuration = make_configuration(servers[0].url_for("/"))
        with voucherify.ApiClient(configuration) as client:
            events = voucherify.EventsApi(client)
            for _ in range(2):
                for server in servers:
                    configuration.host = server.url_for("/")
                    events.track_custom_event(events_create_request_body=MINIMAL_BODY)
            assert len(client.rest_client.pool_manager.pools) <= 4
        assert [len(server.log) for server in servers] == [2] * 6
    finally:
        for server in servers:
            server.stop()


def test_socket_options_apply_to_the_connection() -> None:
    body = json.dumps(EXAMPLE_RESPONSE).encode()
    with RawServer(reply(b"200 OK", body, close=False), keep_alive=True) as server:
        for options, priority in ((None, 0), ([(socket.SOL_SOCKET, socket.SO_PRIORITY, 3)], 3)):
            configuration = make_configuration(server.url)
            configuration.socket_options = options
            with voucherify.ApiClient(configuration) as client:
                response = voucherify.EventsApi(client).track_custom_event_without_preload_content(
                    events_create_request_body=MINIMAL_BODY
                )
                connection = response.connection
                assert connection is not None and connection.sock is not None
                assert connection.sock.getsockopt(socket.SOL_SOCKET, socket.SO_PRIORITY) == priority
                response.read()
                response.release_conn()
