"""The stand-in against a client nobody here wrote: the official ``voucherify`` 6.1.1 from PyPI.

Both packages are named ``voucherify``, so the official one lives in its own virtual
environment, ``.venv-official`` (CI makes it and names its python in
``VOUCHERIFY_OFFICIAL_PYTHON``; by hand, the ``official_python`` fixture makes it). One
subprocess, ``test/official_sdk_client.py``, runs every scenario with the official SDK's own
code, each against a stand-in this process starts; the tests below check its report and what
the stand-ins recorded.

What the official package does with each status (its ``voucherify/exceptions.py``,
``ApiException.from_response``): 400 ``BadRequestException``, 401 ``UnauthorizedException``,
403 ``ForbiddenException``, 404 ``NotFoundException``, 500 to 599 ``ServiceException``, and
any other status, 429 among them, the base ``ApiException`` itself. ``body`` is the raw reply
text and ``headers`` the reply's headers; the SDK never retries the POST.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

import voucherify
from voucherify.testing import LocalVoucherify, RecordedEvent, RecordedRequest

REPO = Path(__file__).resolve().parent.parent
CLIENT_SCRIPT = Path(__file__).resolve().with_name("official_sdk_client.py")
OFFICIAL_VERSION = "6.1.1"
OFFICIAL_VENV = REPO / ".venv-official"
PYTHON_VARIABLE = "VOUCHERIFY_OFFICIAL_PYTHON"
PLAN_VARIABLE = "OFFICIAL_SDK_PLAN"  # read by official_sdk_client.py
INSTALL_TIMEOUT = 300.0
"""Seconds for making the venv and installing the official package into it, together."""
CHECK_TIMEOUT = 60.0
RUN_TIMEOUT = 90.0
"""Seconds for the one subprocess; it needs about 5 (3.5 of them the official import)."""

ORIGIN = "https://shop.example"
SEED_BODY: dict[str, Any] = {
    "event": "event-name",
    "customer": {"source_id": "referee-source_id"},
    "referral": {"code": "voucher-code", "referrer_id": "referrer-source_id"},
}
"""The request body of the official docs' example for ``EventsApi.track_custom_event``."""
UNKNOWN_CUSTOMER = "cust_" + "0" * 24
WRONG_TOKEN = "wrong-token-0000000000000000000000"

ERROR_FIELDS = (
    "code",
    "key",
    "message",
    "details",
    "request_id",
    "resource_id",
    "resource_type",
    "error",
)
"""The official ``Error`` model's properties (``Error.__properties``)."""

IGNORED_HEADERS = {
    # Names the client and its version: different by design.
    "user-agent",
    # The two SDKs serialize the same JSON with different whitespace (the official one uses
    # json.dumps' default ", " and ": " separators, ours the compact form), so the byte count
    # differs; the bodies are compared as JSON instead.
    "content-length",
}
"""Request headers that legitimately differ between the official SDK and ours."""


# -- the official SDK's environment ---------------------------------------------------------


def _venv_python(venv: Path) -> Path:
    if sys.platform == "win32":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def _official_sdk_problem(python: Path) -> Optional[str]:
    """Why ``python`` cannot run the official SDK at the pinned version; ``None`` if it can."""
    if not python.exists():
        return f"{python} does not exist"
    probe = "import json, voucherify as v; print(json.dumps([v.__version__, v.__file__]))"
    try:
        result = subprocess.run(
            [str(python), "-I", "-c", probe],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{python} could not run: {exc}"
    if result.returncode != 0:
        return f"importing voucherify failed:\n{result.stderr[-2000:]}"
    version, location = json.loads(result.stdout)
    if version != OFFICIAL_VERSION:
        return f"it has voucherify {version}, not {OFFICIAL_VERSION}"
    if Path(location).resolve().is_relative_to(REPO / "voucherify"):
        return "it imports this repository's voucherify, not the official one"
    return None


@contextlib.contextmanager
def _venv_lock() -> Iterator[None]:
    """Serialize making the venv across pytest processes started at the same time."""
    try:
        import fcntl
    except ImportError:  # no fcntl (Windows): one process at a time is the user's business
        yield
        return
    digest = hashlib.sha256(str(REPO).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"voucherify-official-venv-{digest}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _make_official_venv(python: Path) -> None:
    """``python -m venv`` and ``pip install voucherify==6.1.1``, bounded by INSTALL_TIMEOUT."""
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(OFFICIAL_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", f"voucherify=={OFFICIAL_VERSION}"],
    ]
    deadline = time.monotonic() + INSTALL_TIMEOUT
    for step in steps:
        what = " ".join(step[1:])
        try:
            result = subprocess.run(
                step,
                capture_output=True,
                text=True,
                timeout=max(deadline - time.monotonic(), 1.0),
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"making {OFFICIAL_VENV} took over {INSTALL_TIMEOUT:.0f} s (at `{what}`); "
                f"is PyPI reachable? Or make it yourself and set {PYTHON_VARIABLE}",
                pytrace=False,
            )
        if result.returncode != 0:
            pytest.fail(
                f"making {OFFICIAL_VENV} failed at `{what}` (exit {result.returncode}):\n"
                f"{result.stderr[-3000:]}",
                pytrace=False,
            )


@pytest.fixture(scope="session")
def official_python() -> Path:
    """A python that imports the official voucherify 6.1.1, made on first need."""
    given = os.environ.get(PYTHON_VARIABLE)
    if given:
        problem = _official_sdk_problem(Path(given))
        if problem is not None:
            pytest.fail(f"{PYTHON_VARIABLE}={given} is unusable: {problem}", pytrace=False)
        return Path(given)
    python = _venv_python(OFFICIAL_VENV)
    with _venv_lock():
        problem = _official_sdk_problem(python)
        if problem is not None:
            _make_official_venv(python)
            problem = _official_sdk_problem(python)
    if problem is not None:
        pytest.fail(f"{OFFICIAL_VENV} was made, yet is unusable: {problem}", pytrace=False)
    return python


# -- scenarios ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One official SDK call and what the stand-in must answer it with."""

    name: str
    server: str
    """Which stand-in it goes to (see ``_start_servers``)."""
    api: str
    """``events``: ``EventsApi.track_custom_event``; ``client``: the client-side variant."""
    body: dict[str, Any]
    status: Optional[int]
    """The status the stand-in answers with; ``None``: the SDK must not send anything."""
    key: Optional[str] = None
    """The error body's ``key``."""
    token: Optional[str] = None
    """A token to use instead of the right one."""
    origin: str = ORIGIN

    @property
    def path(self) -> str:
        return "/v1/events" if self.api == "events" else "/client/v1/events"


SCENARIOS = (
    Scenario("seed", "seed", "events", SEED_BODY, 200),
    Scenario(
        "client_side",
        "client_side",
        "client",
        {"event": "signed_up", "customer": {"source_id": "visitor-1", "name": "Ann"}},
        200,
    ),
    # The official SDK's spec makes referral.code optional, so it sends this; the API refuses.
    Scenario(
        "bad_request",
        "bad_request",
        "events",
        {"event": "e", "customer": {"source_id": "x"}, "referral": {"referrer_id": "r"}},
        400,
        "invalid_payload",
    ),
    # Its model does keep `event` to 1 to 300 characters: this one never leaves the process.
    Scenario("empty_event", "empty_event", "events", {"event": "", "customer": {}}, None),
    Scenario("unauthorized", "unauthorized", "events", SEED_BODY, 401, "unauthorized", WRONG_TOKEN),
    Scenario(
        "forbidden",
        "forbidden",
        "client",
        {"event": "e", "customer": {"source_id": "x"}},
        403,
        "forbidden",
        origin="https://elsewhere.example",
    ),
    Scenario(
        "not_found",
        "not_found",
        "events",
        {"event": "e", "customer": {"id": UNKNOWN_CUSTOMER}},
        404,
        "not_found",
    ),
    # One call per minute is allowed: the first gets through, the second is refused.
    Scenario("under_rate_limit", "rate_limited", "events", SEED_BODY, 200),
    Scenario("rate_limited", "rate_limited", "events", SEED_BODY, 429, "too_many_requests"),
    Scenario("server_error", "server_error", "events", SEED_BODY, 503, "service_unavailable"),
)
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
SUCCESSES = [s.name for s in SCENARIOS if s.status is not None and s.status < 300]
FAILURES = [s.name for s in SCENARIOS if s.status is not None and s.status >= 300]

OFFICIAL_EXCEPTIONS = {
    400: "BadRequestException",
    401: "UnauthorizedException",
    403: "ForbiddenException",
    404: "NotFoundException",
    429: "ApiException",  # no class of its own: from_response falls through to the base
    503: "ServiceException",
}
"""The class the official ``ApiException.from_response`` raises for each status."""


def _start_servers(stack: contextlib.ExitStack) -> dict[str, LocalVoucherify]:
    """One stand-in per scenario (two for the rate limit), so each record is one story."""
    # Imported here: should faults ever be missing, these tests fail, not the whole collection.
    from voucherify.testing import faults

    servers: dict[str, LocalVoucherify] = {}
    for name in dict.fromkeys(scenario.server for scenario in SCENARIOS):
        options: dict[str, Any] = {"allowed_origins": [ORIGIN]}
        if name == "rate_limited":
            options["rate_limit"] = (1, 60.0)
        servers[name] = stack.enter_context(LocalVoucherify(**options))
    servers["server_error"].inject(faults.status(503), times=1)
    return servers


def _keys(scenario: Scenario, server: LocalVoucherify) -> dict[str, str]:
    if scenario.api == "events":
        return {"X-App-Id": server.app_id, "X-App-Token": scenario.token or server.app_token}
    return {
        "X-Client-Application-Id": server.client_app_id,
        "X-Client-Token": scenario.token or server.client_token,
    }


@dataclass
class OfficialRun:
    """The official SDK's report and the stand-ins' records right after it ran."""

    servers: dict[str, LocalVoucherify]
    keys: dict[str, dict[str, str]]
    """Per scenario, the key headers the official SDK was configured with."""
    sdk: dict[str, str]
    results: dict[str, dict[str, Any]]
    stdout: str
    stderr: str
    requests: dict[str, list[RecordedRequest]] = field(default_factory=dict)
    events: dict[str, list[RecordedEvent]] = field(default_factory=dict)

    def secrets(self) -> set[str]:
        return {
            key
            for server in self.servers.values()
            for key in (server.app_id, server.app_token, server.client_app_id, server.client_token)
        }


@pytest.fixture(scope="module")
def official(official_python: Path) -> Iterator[OfficialRun]:
    """Every scenario, run by the official SDK in one subprocess against fresh stand-ins."""
    with contextlib.ExitStack() as stack:
        servers = _start_servers(stack)
        keys = {s.name: _keys(s, servers[s.server]) for s in SCENARIOS}
        plan = {
            "scenarios": [
                {
                    "name": s.name,
                    "api": s.api,
                    "host": servers[s.server].url,
                    "keys": keys[s.name],
                    "origin": s.origin,
                    "body": s.body,
                }
                for s in SCENARIOS
            ]
        }
        try:
            result = subprocess.run(
                [str(official_python), "-I", str(CLIENT_SCRIPT)],
                env={**os.environ, PLAN_VARIABLE: json.dumps(plan)},
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT,
                check=False,
                cwd=REPO,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"the official SDK client took over {RUN_TIMEOUT:.0f} s: {exc.stderr!r}")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        run = OfficialRun(
            servers=servers,
            keys=keys,
            sdk=report["sdk"],
            results=report["scenarios"],
            stdout=result.stdout,
            stderr=result.stderr,
        )
        # Snapshots: a test may send more to a live stand-in without disturbing the others.
        run.requests = {name: server.requests for name, server in servers.items()}
        run.events = {name: server.events for name, server in servers.items()}
        yield run


def _request_of(official: OfficialRun, scenario: Scenario) -> RecordedRequest:
    """The one request the scenario's stand-in recorded from that scenario.

    Fails if the stand-in recorded more or fewer requests than its scenarios made calls:
    a retry, or a call made twice, shows up here.
    """
    calls = [s.name for s in SCENARIOS if s.server == scenario.server and s.status is not None]
    recorded = official.requests[scenario.server]
    assert len(recorded) == len(calls), [r["status"] for r in recorded]
    return recorded[calls.index(scenario.name)]


# -- the report -----------------------------------------------------------------------------


def test_the_report_comes_from_the_official_package(
    official: OfficialRun, official_python: Path
) -> None:
    assert official.sdk["version"] == OFFICIAL_VERSION
    location = Path(official.sdk["file"]).resolve()
    assert not location.is_relative_to(REPO / "voucherify")
    assert location.is_relative_to(Path(official_python).parent.parent.resolve())
    assert list(official.results) == [scenario.name for scenario in SCENARIOS]


def test_the_report_is_one_json_document_without_keys(official: OfficialRun) -> None:
    assert official.stdout.count("\n") == 1
    assert isinstance(json.loads(official.stdout), dict)
    for secret in official.secrets() | {WRONG_TOKEN}:
        assert secret not in official.stdout
        assert secret not in official.stderr


# -- 2xx ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SUCCESSES)
def test_official_models_parse_every_success(official: OfficialRun, name: str) -> None:
    scenario = BY_NAME[name]
    result = official.results[name]
    model = {"events": "EventsCreateResponseBody", "client": "ClientEventsCreateResponseBody"}

    assert result["outcome"] == "ok", result
    assert result["model"] == model[scenario.api]
    assert result["model_module"].startswith("voucherify.models.")
    event = official.events[scenario.server][-1]
    assert result["fields"] == {
        "object": "event",
        "type": scenario.body["event"],
        "customer.id": event["customer_id"],
        "customer.source_id": scenario.body["customer"]["source_id"],
        "customer.object": "customer",
        "referral": None,
        "loyalty": None,
    }
    assert event["endpoint"] == scenario.path
    assert event["body"] == scenario.body


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FAILURES)
def test_exception_classes_follow_the_official_mapping(official: OfficialRun, name: str) -> None:
    scenario = BY_NAME[name]
    result = official.results[name]

    assert result["outcome"] == "exception"
    assert result["is_api_exception"] is True
    assert result["exception"] == OFFICIAL_EXCEPTIONS[scenario.status]
    assert result["exception_module"] == "voucherify.exceptions"
    assert "ApiException" in result["mro"]
    assert result["status"] == scenario.status


def test_rate_limited_call_is_a_plain_api_exception_with_retry_after(
    official: OfficialRun,
) -> None:
    result = official.results["rate_limited"]

    assert result["exception"] == "ApiException"
    assert result["mro"][0] == "ApiException"  # not one of the status subclasses
    assert result["retry_after"] is not None
    assert result["retry_after"].isdigit()
    assert 1 <= int(result["retry_after"]) <= 60
    # Not retried, with or without Retry-After: the first call and the refused one only.
    assert [r["status"] for r in official.requests["rate_limited"]] == [200, 429]


@pytest.mark.parametrize("name", FAILURES)
def test_error_bodies_parse_into_the_official_error(official: OfficialRun, name: str) -> None:
    scenario = BY_NAME[name]
    result = official.results[name]
    raw = json.loads(result["body"])

    assert result["error_parses"] is True, result["error_failure"]
    error = result["error"]
    assert error["code"] == scenario.status
    assert error["key"] == scenario.key
    # Each of the model's fields holds what the body held (absent: None), unchanged.
    assert {name: error.get(name) for name in ERROR_FIELDS} == {
        name: raw.get(name) for name in ERROR_FIELDS
    }


def test_official_sdk_refuses_an_empty_event_without_sending_it(official: OfficialRun) -> None:
    result = official.results["empty_event"]

    assert result["outcome"] == "exception"
    assert result["exception"] == "ValidationError"
    assert result["is_api_exception"] is False
    assert "event" in result["message"]
    assert official.requests["empty_event"] == []


# -- what went over the wire ----------------------------------------------------------------


@pytest.mark.parametrize("name", SUCCESSES + FAILURES)
def test_stand_in_recorded_exactly_what_the_official_sdk_sent(
    official: OfficialRun, name: str
) -> None:
    scenario = BY_NAME[name]
    request = _request_of(official, scenario)
    headers = request["headers"]

    assert request["method"] == "POST"
    assert request["path"] == scenario.path
    assert request["status"] == scenario.status
    assert json.loads(request["body"]) == scenario.body
    for key_name, value in official.keys[name].items():
        assert headers[key_name.lower()] == value
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    assert headers["x-voucherify-channel"] == "Python-SDK"
    assert headers["user-agent"] == f"OpenAPI-Python-SDK/{OFFICIAL_VERSION}"
    if scenario.api == "client":
        assert headers["origin"] == scenario.origin
        assert "x-app-id" not in headers
        assert "x-app-token" not in headers
    else:
        assert "origin" not in headers
        assert "x-client-token" not in headers


def test_official_and_our_sdk_send_the_same_seed_request(official: OfficialRun) -> None:
    server = official.servers["seed"]
    [theirs] = official.requests["seed"]
    configuration = voucherify.Configuration(host=server.url)
    configuration.api_key["X-App-Id"] = server.app_id
    configuration.api_key["X-App-Token"] = server.app_token
    with voucherify.ApiClient(configuration) as api_client:
        reply = voucherify.EventsApi(api_client).track_custom_event(
            events_create_request_body=SEED_BODY
        )
    ours = server.requests[-1]

    assert reply.customer.id == official.results["seed"]["fields"]["customer.id"]
    assert (ours["method"], ours["path"]) == (theirs["method"], theirs["path"])
    assert json.loads(ours["body"]) == json.loads(theirs["body"]) == SEED_BODY

    def compared(request: RecordedRequest) -> dict[str, str]:
        return {k: v for k, v in request["headers"].items() if k not in IGNORED_HEADERS}

    assert compared(ours) == compared(theirs)
    assert {"x-app-id", "x-app-token", "content-type", "accept"} <= compared(ours).keys()
