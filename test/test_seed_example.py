"""The official docs' example, run as shipped in examples/, sends the official SDK's request."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from conftest import EXAMPLE_RESPONSE

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "seed_example.py"


def test_seed_example_sends_the_documented_request(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    httpserver.expect_oneshot_request("/v1/events", method="POST").respond_with_json(
        EXAMPLE_RESPONSE
    )
    monkeypatch.setenv("VOUCHERIFY_HOST", httpserver.url_for("/"))
    monkeypatch.setenv("API_KEY", "seed-key-123")

    runpy.run_path(str(EXAMPLE), run_name="__main__")

    out = capsys.readouterr().out
    assert "EventsCreateResponseBody(" in out
    assert "cust_ypePCF6IU6fnUvec6RMXZuH4" in out
    assert "Exception when calling" not in out
    assert "seed-key-123" not in out

    # What the official SDK sends for this example: the same method, path, auth and content
    # headers, and the same JSON document.
    assert len(httpserver.log) == 1
    request = httpserver.log[0][0]
    assert (request.method, request.path) == ("POST", "/v1/events")
    assert request.headers["X-App-Id"] == "seed-key-123"
    assert request.headers["X-App-Token"] == "seed-key-123"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert json.loads(request.get_data()) == {
        "event": "event-name",
        "customer": {"source_id": "referee-source_id"},
        "referral": {"code": "voucher-code", "referrer_id": "referrer-source_id"},
    }


def test_seed_example_reports_an_api_error(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(
        {"code": 401, "message": "Unauthorized", "key": "unauthorized"}, status=401
    )
    monkeypatch.setenv("VOUCHERIFY_HOST", httpserver.url_for("/"))
    monkeypatch.setenv("API_KEY", "wrong-key-456")
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "Exception when calling EventsApi->track_custom_event: (401)" in out
    assert "unauthorized" in out
    assert "wrong-key-456" not in out
