"""The stand-in in its own process (``LocalVoucherify.start_process``), and ``serve``'s flags."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
from test_local_server import EVENT, REPO, Reply, assert_error, send

import voucherify
from voucherify.testing import LocalVoucherify, faults
from voucherify.testing._process import LocalVoucherifyProcess

ADMIN_TOKEN_HEADER = "X-Local-Admin-Token"


@pytest.fixture(scope="module")
def shared() -> Iterator[LocalVoucherifyProcess]:
    with LocalVoucherify.start_process(allowed_origins=["https://shop.example"]) as process:
        yield process


@pytest.fixture
def proc(shared: LocalVoucherifyProcess) -> LocalVoucherifyProcess:
    shared.reset()
    return shared


def sdk_api(server: LocalVoucherifyProcess) -> tuple[voucherify.ApiClient, voucherify.EventsApi]:
    configuration = voucherify.Configuration(host=server.url)
    configuration.retries = False
    configuration.api_key.update({"X-App-Id": server.app_id, "X-App-Token": server.app_token})
    client = voucherify.ApiClient(configuration)
    return client, voucherify.EventsApi(client)


def admin(
    server: LocalVoucherifyProcess, method: str, path: str, token: Optional[str]
) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    headers = {} if token is None else {ADMIN_TOKEN_HEADER: token}
    try:
        conn.request(method, path, headers=headers)
        return Reply(conn.getresponse())
    finally:
        conn.close()


def secrets_of(server: LocalVoucherifyProcess) -> list[str]:
    return [
        server.app_id,
        server.app_token,
        server.client_app_id,
        server.client_token,
        server._admin_token,
    ]


def port_is_closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


# -- the process -----------------------------------------------------------------------------


def test_track_through_the_sdk_and_read_the_records(proc: LocalVoucherifyProcess) -> None:
    client, api = sdk_api(proc)
    with client:
        result = api.track_custom_event(events_create_request_body=EVENT)

    assert proc.running
    assert proc.url == f"http://127.0.0.1:{proc.port}"
    [event] = proc.events
    assert event == {
        "endpoint": "/v1/events",
        "event": "signed_up",
        "customer_id": result.customer.id,
        "body": EVENT,
    }
    [request] = proc.requests
    assert (request["method"], request["path"], request["status"]) == ("POST", "/v1/events", 200)
    assert request["fault"] is None
    assert json.loads(request["body"]) == EVENT
    assert request["headers"]["x-voucherify-channel"] == "Python-SDK"
    assert [c["source_id"] for c in proc.customers] == ["alice"]


def test_request_bodies_survive_the_crossing_byte_for_byte(proc: LocalVoucherifyProcess) -> None:
    odd = bytes(range(256)) + b"\r\n\x00"
    assert send(proc, odd).status == 400
    assert proc.requests[0]["body"] == odd


def test_injected_faults_cross_to_the_child(proc: LocalVoucherifyProcess) -> None:
    proc.inject(faults.drop_after_processing())
    proc.inject(faults.status(503, retry_after=2), times=2, path="/v1/events")
    proc.inject(faults.raw(200, b"\xff<html>", "text/html"))

    with pytest.raises(http.client.RemoteDisconnected):
        send(proc, EVENT)
    unavailable = [send(proc, EVENT) for _ in range(2)]
    raw = send(proc, EVENT)

    assert [(r.status, r.headers["retry-after"]) for r in unavailable] == [(503, "2")] * 2
    assert raw.raw == b"\xff<html>"
    assert len(proc.events) == 1  # only the dropped one was processed
    assert [(r["status"], r["fault"]) for r in proc.requests] == [
        (0, "drop_after_processing"),
        (503, "status"),
        (503, "status"),
        (200, "raw"),
    ]
    proc.inject(faults.reset(), times=5)
    proc.clear_faults()
    assert send(proc, EVENT).status == 200


def test_rate_limits_and_definitions_can_be_set_remotely(proc: LocalVoucherifyProcess) -> None:
    proc.set_rate_limit(1, 60.0)
    proc.define_event("signed_up", {"plan": "string?"})
    try:
        for _ in range(3):
            assert proc.events == []  # admin calls are not counted against the limit
        assert send(proc, EVENT).status == 200
        limited = send(proc, EVENT)
        assert (limited.status, limited.headers["x-rate-limit-type"]) == (429, "project")
        assert proc.rate_limited == 1
        proc.set_rate_limit(None)
        undefined = send(proc, {**EVENT, "event": "other"})
        assert_error(undefined, 400, "event_not_defined")
        wrong = send(proc, {**EVENT, "metadata": {"plan": 1}})
        assert_error(wrong, 400, "metadata_validation_failed")
        proc.set_client_rate_limit(1, 60.0)
        headers = {
            "X-Client-Application-Id": proc.client_app_id,
            "X-Client-Token": proc.client_token,
            "origin": "https://shop.example",
        }
        path = "/client/v1/events"
        statuses = [send(proc, EVENT, headers, path=path).status for _ in range(2)]
        assert statuses == [200, 429]
    finally:
        proc.set_rate_limit(None)
        proc.set_client_rate_limit(None)
        proc.define_event("signed_up")


def test_bad_arguments_are_refused_like_in_process(proc: LocalVoucherifyProcess) -> None:
    with pytest.raises(ValueError):
        proc.set_rate_limit(0)
    with pytest.raises(ValueError):
        proc.define_event("e", {"x": "nope"})
    with pytest.raises(ValueError):
        proc.inject(faults.reset(), times=0)
    with pytest.raises(TypeError):
        LocalVoucherify.start_process(allowed_origins="https://one.example")


def test_reset_forgets_records_in_the_child(proc: LocalVoucherifyProcess) -> None:
    send(proc, EVENT)
    assert proc.events
    proc.reset()
    assert (proc.events, proc.requests, proc.customers, proc.rate_limited) == ([], [], [], 0)


def test_admin_api_refuses_a_missing_or_wrong_token_and_is_never_recorded(
    proc: LocalVoucherifyProcess,
) -> None:
    missing = admin(proc, "GET", "/_local/events", None)
    wrong = admin(proc, "GET", "/_local/events", "0" * 64)
    wrong_reset = admin(proc, "POST", "/_local/reset", proc.app_token)
    right = admin(proc, "GET", "/_local/events", proc._admin_token)

    assert_error(missing, 401, "unauthorized")
    assert_error(wrong, 401, "unauthorized")
    assert_error(wrong_reset, 401, "unauthorized")
    assert right.status == 200
    assert right.json() == {"events": []}
    assert admin(proc, "GET", "/_local/nothing", proc._admin_token).status == 404
    assert proc.requests == []


def test_a_server_in_this_process_has_no_admin_api() -> None:
    with LocalVoucherify() as server:
        token = {ADMIN_TOKEN_HEADER: "0" * 64}
        reply = send(server, None, token, path="/_local/events", method="GET")
        assert_error(reply, 404, "not_found")
        assert [r["path"] for r in server.requests] == ["/_local/events"]


def test_repr_and_output_never_show_keys(proc: LocalVoucherifyProcess) -> None:
    send(proc, EVENT)
    shown = repr(proc) + proc.output
    assert proc.url in shown
    assert not [secret for secret in secrets_of(proc) if secret in shown]


def test_keys_stay_off_the_childs_command_line(proc: LocalVoucherifyProcess) -> None:
    cmdline = Path(f"/proc/{proc.pid}/cmdline")
    if not cmdline.exists():
        pytest.skip("needs /proc")
    arguments = cmdline.read_bytes().decode()
    assert "serve" in arguments
    assert not [secret for secret in secrets_of(proc) if secret in arguments]


def test_start_with_settings_stop_and_the_port_is_closed() -> None:
    process = LocalVoucherify.start_process(
        app_id="my-id",
        app_token="my-token",
        rate_limit=(1, 60.0),
        event_schemas={"signed_up": {"plan": "string"}},
    )
    try:
        assert (process.app_id, process.app_token) == ("my-id", "my-token")
        ok = send(process, {**EVENT, "metadata": {"plan": "pro"}})
        assert (ok.status, ok.headers["x-rate-limit-remaining"]) == (200, "0")
        assert send(process, EVENT).status == 429
    finally:
        started = time.monotonic()
        process.stop()
    assert time.monotonic() - started < 5
    assert not process.running
    assert process.returncode == 0  # SIGTERM was handled: a clean exit
    assert port_is_closed(process.port)
    process.stop()  # a second stop does nothing

    # The records were kept from just before the stop; control calls are refused.
    assert len(process.events) == 1
    assert [r["status"] for r in process.requests] == [200, 429]
    assert process.rate_limited == 1
    with pytest.raises(RuntimeError):
        process.reset()
    output = process.output
    assert "Traceback" not in output
    assert "Fatal" not in output
    assert "my-token" not in output and process._admin_token not in output


def test_a_child_that_cannot_start_is_reported_clearly() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="did not print its URL") as caught:
            LocalVoucherify.start_process(port=port)
    assert time.monotonic() - started < 10
    assert "cannot listen" in str(caught.value)


# -- serve -----------------------------------------------------------------------------------


def serve(*flags: str, env: Optional[dict[str, str]] = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "voucherify.testing", "serve", *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        process.terminate()
        return process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def post(port: int, body: Any, headers: dict[str, str]) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("POST", "/v1/events", json.dumps(body), headers)
        return Reply(conn.getresponse())
    finally:
        conn.close()


def test_serve_takes_limits_definitions_and_keys_from_the_environment(tmp_path: Path) -> None:
    events_file = tmp_path / "events.json"
    events_file.write_text(json.dumps({"signed_up": {"plan": "string"}}))
    env = {"VOUCHERIFY_LOCAL_APP_ID": "env-id", "VOUCHERIFY_LOCAL_APP_TOKEN": "env-secret"}
    process = serve("--rate-limit", "2/60", "--events-file", str(events_file), env=env)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().strip().rsplit(":", 1)[1])
        keys = {"X-App-Id": "env-id", "X-App-Token": "env-secret"}
        undefined = post(port, {**EVENT, "event": "other"}, keys)
        good = post(port, {**EVENT, "metadata": {"plan": "pro"}}, keys)
        limited = post(port, EVENT, keys)
    finally:
        stdout, stderr = finish(process)

    assert_error(undefined, 400, "event_not_defined")
    assert (good.status, good.headers["x-rate-limit-remaining"]) == (200, "0")
    assert limited.status == 429
    assert process.returncode == 0
    assert "env-secret" not in stdout + stderr
    assert "generated --app-token" not in stderr
    assert "generated --client-token" in stderr  # not given, so generated and shown


def test_serve_exits_when_its_standard_input_closes() -> None:
    process = serve("--exit-on-eof")
    assert process.stdin is not None
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        assert process.stdout.readline().startswith("http://127.0.0.1:")
        process.stdin.close()
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


@pytest.mark.parametrize(
    "flags",
    [
        ["--rate-limit", "abc"],
        ["--rate-limit", "0/60"],
        ["--client-rate-limit", "5/0"],
        ["--events-file", "/no/such/file.json"],
    ],
)
def test_serve_refuses_bad_flags(flags: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voucherify.testing", "serve", *flags],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_malformed_events_file(tmp_path: Path) -> None:
    events_file = tmp_path / "events.json"
    events_file.write_text(json.dumps({"signed_up": {"plan": "text"}}))
    result = subprocess.run(
        [sys.executable, "-m", "voucherify.testing", "serve", "--events-file", str(events_file)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 2
    assert "'text'" in result.stderr


def test_an_unknown_setting_is_refused_before_any_process_starts() -> None:
    with pytest.raises(TypeError, match="rate_limits"):
        LocalVoucherify.start_process(rate_limits=(5, 1.0))  # type: ignore[call-arg]
