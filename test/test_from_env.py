"""One set of environment variables: Configuration.from_env reads them, the CLI reads them
through it, and ``python -m voucherify.testing run`` sets exactly them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import voucherify
from voucherify.configuration import HOST_ENV, KEY_ENV, REGION_ENV


def test_from_env_reads_host_and_every_key() -> None:
    environ = {
        "VOUCHERIFY_HOST": "https://gateway.example/v/",
        "VOUCHERIFY_APP_ID": "a", "VOUCHERIFY_APP_TOKEN": "t",
        "VOUCHERIFY_CLIENT_APP_ID": "ca", "VOUCHERIFY_CLIENT_TOKEN": "ct",
    }
    configuration = voucherify.Configuration.from_env(environ, timeout=3)
    assert configuration.host == "https://gateway.example/v/"
    assert configuration.api_key == {
        "X-App-Id": "a", "X-App-Token": "t", "X-Client-Application-Id": "ca",
        "X-Client-Token": "ct",
    }
    assert configuration.timeout == 3


def test_from_env_region_default_and_conflict() -> None:
    assert voucherify.Configuration.from_env({}).host == "https://api.voucherify.io"
    assert voucherify.Configuration.from_env({"VOUCHERIFY_REGION": "us"}).host == (
        "https://us1.api.voucherify.io"
    )
    assert voucherify.Configuration.from_env({"VOUCHERIFY_HOST": ""}).host == (
        "https://api.voucherify.io"
    )
    with pytest.raises(voucherify.ApiValueError, match="VOUCHERIFY_HOST and VOUCHERIFY_REGION"):
        voucherify.Configuration.from_env({HOST_ENV: "https://x.example", REGION_ENV: "us"})
    with pytest.raises(voucherify.ApiValueError, match="VOUCHERIFY_REGION"):
        voucherify.Configuration.from_env({REGION_ENV: "mars"})
    explicit = voucherify.Configuration.from_env(
        {HOST_ENV: "https://x.example", REGION_ENV: "us"}, host="https://y.example"
    )
    assert explicit.host == "https://y.example"


def test_from_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REGION_ENV, raising=False)
    monkeypatch.setenv(HOST_ENV, "https://env.example")
    monkeypatch.setenv(KEY_ENV["X-App-Token"], "tok")
    configuration = voucherify.Configuration.from_env()
    assert configuration.host == "https://env.example"
    assert configuration.api_key["X-App-Token"] == "tok"
    assert voucherify.Configuration().host == "https://api.voucherify.io"  # no implicit read


def test_testing_run_sets_what_from_env_reads_and_the_call_succeeds() -> None:
    script = textwrap.dedent("""
        import voucherify
        configuration = voucherify.Configuration.from_env()
        with voucherify.ApiClient(configuration) as client:
            voucherify.EventsApi(client).track_custom_event(
                events_create_request_body={"event": "e", "customer": {"source_id": "c"}})
            voucherify.ClientSideApi(client).track_custom_event_client_side(
                "https://shop.example", {"event": "e", "customer": {"source_id": "c"}})
        print("ok", sorted(configuration.api_key))
    """)
    env = dict(os.environ, VOUCHERIFY_REGION="us")  # run removes it: it would conflict
    done = subprocess.run(
        [sys.executable, "-m", "voucherify.testing", "run", "--", sys.executable, "-c", script],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok ['X-App-Id', 'X-App-Token', 'X-Client-Application-Id',")
