"""Logging: one line per attempt, switched per configuration, never a secret, nothing global."""

from __future__ import annotations

import http.client
import logging
import subprocess
import sys
import textwrap

import pytest
from pytest_httpserver import HTTPServer

import voucherify

from conftest import APP_ID, APP_TOKEN, EXAMPLE_RESPONSE, MINIMAL_BODY, make_configuration


def track(configuration: voucherify.Configuration) -> None:
    with voucherify.ApiClient(configuration) as client:
        voucherify.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)


def sdk_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "voucherify"]


def test_silent_by_default(httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    track(make_configuration(httpserver.url_for("/")))
    assert sdk_lines(caplog) == []


def test_debug_logs_each_attempt_without_changing_any_logger(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_ordered_request("/v1/events").respond_with_json(
        {"code": 429}, status=429, headers={"Retry-After": "0"}
    )
    httpserver.expect_ordered_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    levels = (logging.getLogger().level, logging.getLogger("voucherify").level)
    configuration = make_configuration(httpserver.url_for("/"))
    configuration.debug = True
    track(configuration)

    assert (logging.getLogger().level, logging.getLogger("voucherify").level) == levels
    assert http.client.HTTPConnection.debuglevel == 0
    records = sdk_lines(caplog)
    info = [r.getMessage() for r in records if r.levelno == logging.INFO]
    debug = [r.getMessage() for r in records if r.levelno == logging.DEBUG]
    assert len(info) == 2 and len(debug) == 2
    assert "POST" in info[0] and "/v1/events -> 429 attempt=1" in info[0]
    assert "retry in 0.00s" in info[0]
    assert "-> 200 attempt=2" in info[1] and info[1].endswith("final")
    assert "elapsed=" in info[1]
    for line in (*info, *debug):
        assert APP_TOKEN not in line
        assert APP_ID not in line
    assert "'X-App-Token': '***'" in debug[0]
    assert "'X-App-Id': 'app-***'" in debug[0]


def test_another_configuration_stays_silent(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    loud = make_configuration(httpserver.url_for("/"))
    loud.debug = True
    quiet = make_configuration(httpserver.url_for("/"))
    track(quiet)
    assert sdk_lines(caplog) == []
    track(loud)
    assert sdk_lines(caplog) != []


def test_environment_variable_sets_info(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    monkeypatch.setenv("VOUCHERIFY_LOG", "info")
    track(make_configuration(httpserver.url_for("/")))
    levels = {r.levelno for r in sdk_lines(caplog)}
    assert levels == {logging.INFO}


def test_standard_logging_configuration_works_too(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    with caplog.at_level(logging.DEBUG, logger="voucherify"):
        track(make_configuration(httpserver.url_for("/")))
    assert {r.levelno for r in sdk_lines(caplog)} == {logging.INFO, logging.DEBUG}


def test_failures_are_logged_with_their_class(
    caplog: pytest.LogCaptureFixture,
) -> None:
    configuration = make_configuration("http://127.0.0.1:9")
    configuration.debug = True
    with voucherify.ApiClient(configuration) as client, pytest.raises(
        voucherify.ApiConnectionException
    ):
        voucherify.EventsApi(client).track_custom_event(
            events_create_request_body=MINIMAL_BODY, _retries=0
        )
    info = [r.getMessage() for r in sdk_lines(caplog) if r.levelno == logging.INFO]
    assert info == [info[0]] and "-> ApiConnectionException attempt=1" in info[0]


def test_debug_without_any_logging_setup_writes_to_stderr_only() -> None:
    script = textwrap.dedent(f"""
        import voucherify
        from voucherify.testing import LocalVoucherify
        with LocalVoucherify(app_id={APP_ID!r}, app_token={APP_TOKEN!r}) as server:
            configuration = voucherify.Configuration(host=server.url)
            configuration.api_key["X-App-Id"] = server.app_id
            configuration.api_key["X-App-Token"] = server.app_token
            configuration.debug = True
            with voucherify.ApiClient(configuration) as client:
                voucherify.EventsApi(client).track_custom_event(
                    events_create_request_body={{"event": "e", "customer": {{"source_id": "u"}}}})
        import logging
        assert not logging.getLogger().handlers and not logging.getLogger("voucherify").handlers
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == ""
    assert "voucherify INFO POST http://127.0.0.1:" in done.stderr
    assert "-> 200 attempt=1" in done.stderr
    assert "voucherify DEBUG" in done.stderr
    assert APP_TOKEN not in done.stderr
    assert APP_ID not in done.stderr
