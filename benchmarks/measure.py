"""The workloads: fresh processes (import, first call), per-call and bulk workers, each
against its floor, in children bounded in time."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from benchmarks.server import BenchServer
from benchmarks.settings import BODY, KEYS, Settings

REPO = Path(__file__).resolve().parent.parent
WORKER = str(Path(__file__).resolve().parent / "worker.py")
WORKER_TIMEOUT = 240.0
CHILD_TIMEOUT = 60.0
FORKING_SHELL = ("/bin/sh", "-c", '"$@"; exit $?', "sh")
"""A small shell that forks the command (it is not its last one, so no ``exec``): see
:func:`run`'s ``small_parent``."""


class ChildError(RuntimeError):
    """A child process failed, timed out or printed something that is not the expected JSON."""


@dataclass(frozen=True)
class Interpreter:
    """How to start a Python for one SDK. This repository's runs in the harness's own
    interpreter with the repository first on ``PYTHONPATH`` (so this very copy is measured);
    the official one with ``-I`` from an empty directory, so that this repository's
    ``voucherify`` can never shadow it."""

    label: str
    python: str
    flags: tuple[str, ...] = ()
    cwd: str = str(REPO)
    env: dict[str, str] = field(default_factory=dict)


def this_sdk() -> Interpreter:
    path = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    return Interpreter("voucherify (this repo)", sys.executable, env={"PYTHONPATH": path})


def official_sdk(python: str) -> Interpreter:
    return Interpreter("official", python, flags=("-I",), cwd=tempfile.gettempdir())


def small_parent_available() -> bool:
    return sys.platform.startswith("linux") and os.access(FORKING_SHELL[0], os.X_OK)


def run(interpreter: Interpreter, args: list[str], timeout: float, stdin: str = "",
        env: Optional[dict[str, str]] = None, small_parent: bool = False) -> tuple[float, str]:
    """Run one child to its end; its wall time (spawn to exit) and standard output.

    With ``small_parent`` the child is forked by ``/bin/sh`` rather than by this process: on
    Linux a process's ``ru_maxrss`` starts at the peak RSS of the memory it was exec'd from,
    so a child spawned straight from this harness (25 MiB and more) would report at least
    that. Every child gets a session of its own, and any failure here (a timeout, Ctrl-C,
    SIGTERM) kills that whole group. Raises :class:`ChildError` if it exits non-zero or runs
    past ``timeout`` seconds.
    """
    argv = [interpreter.python, *interpreter.flags, *args]
    if small_parent and small_parent_available():
        argv = [*FORKING_SHELL, *argv]
    started = time.perf_counter()
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, cwd=interpreter.cwd,
                          env={**os.environ, **interpreter.env, **(env or {})},
                          start_new_session=True) as popen:
        try:
            out, err = popen.communicate(stdin, timeout=timeout)
        except BaseException as error:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(popen.pid, signal.SIGKILL)
            popen.communicate()
            if isinstance(error, subprocess.TimeoutExpired):
                raise ChildError(f"{interpreter.label}: {args[:2]} ran past {timeout:g} s"
                                 ) from error
            raise
        wall = time.perf_counter() - started
    if popen.returncode != 0:
        tail = " | ".join(err.strip().splitlines()[-5:])
        raise ChildError(f"{interpreter.label}: {args[:2]} exited {popen.returncode}: {tail}")
    return wall, out


def run_worker(interpreter: Interpreter, plan: dict[str, Any]) -> dict[str, Any]:
    """Run ``worker.py`` with ``plan``; its JSON report."""
    plan = {**plan, "time_limit": int(WORKER_TIMEOUT)}
    _, out = run(interpreter, [WORKER], WORKER_TIMEOUT + 5.0, stdin=json.dumps(plan))
    try:
        document: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError) as error:
        raise ChildError(f"{interpreter.label}: worker printed {out[-200:]!r}") from error
    return document


RSS_LINE = """
import os, resource, sys
status = open("/proc/self/status").readlines() if os.path.exists("/proc/self/status") else []
hwm = ([line.split()[1] for line in status if line.startswith("VmHWM")] or ["0"])[0]
sys.stdout.write("%d %s" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, hwm))
"""
"""The child's last act: print its ``ru_maxrss`` (KiB on Linux) and, as a cross-check, the
kernel's ``VmHWM`` for its own memory (0 where there is no /proc)."""
FIRST_CALL = """\
import json, os
import voucherify
configuration = voucherify.Configuration(host=os.environ["BENCH_URL"])
for name, value in json.loads(os.environ["BENCH_KEYS"]).items():
    configuration.api_key[name] = value
with voucherify.ApiClient(configuration) as api_client:
    voucherify.EventsApi(api_client).track_custom_event(
        events_create_request_body=json.loads(os.environ["BENCH_BODY"]))
"""
FIRST_CALL_FLOOR = """\
import json, os
import pydantic, urllib3
request = json.loads(os.environ["BENCH_REQUEST"])
response = urllib3.PoolManager().request(
    "POST", os.environ["BENCH_URL"] + "/v1/events",
    body=request["body"].encode("latin-1"), headers=dict(request["headers"]))
json.loads(response.data)
"""
CODE = {
    "pass": "pass",
    "import_floor": "import pydantic, urllib3",
    "import_sdk": "import voucherify",
    "first_call_floor": FIRST_CALL_FLOOR,
    "first_call_sdk": FIRST_CALL,
}
OFFICIAL_CODE = {"official_import": "import voucherify", "official_first_call": FIRST_CALL}


def _once(name: str, interpreter: Interpreter, code: str, env: dict[str, str]
          ) -> dict[str, float]:
    """One fresh process: its wall seconds, ``ru_maxrss`` and ``VmHWM`` (KiB)."""
    wall, out = run(interpreter, ["-c", code + RSS_LINE], CHILD_TIMEOUT, env=env,
                    small_parent=True)
    maxrss, hwm = out.strip().splitlines()[-1].split()
    return {"wall_s": wall, "rss_kib": int(maxrss), "vmhwm_kib": int(hwm)}


def measure_imports(settings: Settings, server: BenchServer, official: Optional[Interpreter]
                    ) -> dict[str, Any]:
    """Every command once per round, the order rotated by one each round; every sample."""
    env = {"BENCH_URL": server.url, "BENCH_KEYS": json.dumps(KEYS), "BENCH_BODY": json.dumps(BODY)}
    commands = [(name, this_sdk(), code) for name, code in CODE.items()]
    # Warm-up, not counted: compiles bytecode, fills the page cache, and records the request
    # the SDK's first call sends so that the floor's first call sends the same bytes.
    _once(*commands[-1], env)
    last = server.get("/__last")
    head, body = last["head"].encode("latin-1"), base64.b64decode(last["body"])
    headers = [[name, value.strip()] for name, _, value in
               (line.partition(":") for line in head.decode("latin-1").split("\r\n")[1:])]
    env["BENCH_REQUEST"] = json.dumps({"headers": headers, "body": body.decode("latin-1")})
    for command in commands[:-1]:
        _once(*command, env)
    extra: list[tuple[str, Interpreter, str]] = []
    status = "skipped"
    if official is not None:
        extra = [(name, official, code) for name, code in OFFICIAL_CODE.items()]
        try:
            for command in extra:
                _once(*command, env)
            status = "ok"
        except ChildError as error:
            status, extra = f"unavailable: {error}", []
    rounds_total = settings.import_rounds
    wanted = max(1, min(settings.official_import_rounds, rounds_total))
    with_official = {number * rounds_total // wanted for number in range(wanted)}
    rounds: list[dict[str, dict[str, float]]] = []
    for number in range(rounds_total):
        active = commands + (extra if number in with_official else [])
        shift = number % len(active)
        rounds.append({command[0]: _once(*command, env)
                       for command in active[shift:] + active[:shift]})
    samples = {name: {key: [r[name][key] for r in rounds if name in r]
                      for key in ("wall_s", "rss_kib", "vmhwm_kib")}
               for name, _, _ in commands + extra}
    return {"samples": samples, "rounds": rounds, "official_status": status,
            "spawned_by": "/bin/sh (fork)" if small_parent_available() else "the harness"}


def _call_plan(server: BenchServer, mode: str, rounds: int, settings: Settings
               ) -> dict[str, Any]:
    return {"mode": mode, "url": server.url, "keys": KEYS, "body": BODY, "rounds": rounds,
            "per_round": settings.calls_per_round, "warmup": settings.warmup_calls}


def measure_calls(settings: Settings, server: BenchServer) -> dict[str, Any]:
    """This SDK's sync and async clients, each interleaved with its floor in one child."""
    return {mode: run_worker(this_sdk(), _call_plan(server, mode, rounds, settings))
            for mode, rounds in (("sync", settings.call_rounds), ("aio", settings.aio_rounds))}


def measure_official_calls(settings: Settings, server: BenchServer, official: Interpreter
                           ) -> dict[str, Any]:
    """The official SDK, interleaved with the same urllib3 floor, in its own interpreter."""
    plan = _call_plan(server, "sync", settings.official_call_rounds, settings)
    try:
        return {"status": "ok", **run_worker(official, plan)}
    except ChildError as error:
        return {"status": f"unavailable: {error}"}


def _bulk_plan(settings: Settings, url: str, keys: dict[str, str], events: int,
               runs: list[str], stats: bool) -> dict[str, Any]:
    return {"mode": "bulk", "url": url, "keys": keys, "events": events, "runs": runs,
            "concurrency": settings.bulk_concurrency, "stats": stats}


def measure_bulk_latency(settings: Settings) -> dict[str, Any]:
    """track_events, an aio gather and their bare floors, against a server that answers
    after a fixed delay; the four alternate, ``bulk_repeats`` times."""
    runs = ["track_events", "threads_floor", "aio_gather", "aio_floor"] * settings.bulk_repeats
    with BenchServer(latency=settings.bulk_latency) as server:
        plan = _bulk_plan(settings, server.url, KEYS, settings.bulk_events, runs, stats=True)
        report = run_worker(this_sdk(), plan)
    return {"latency_s": settings.bulk_latency, "concurrency": settings.bulk_concurrency,
            "events": settings.bulk_events,
            "ideal_events_per_second": settings.bulk_concurrency / settings.bulk_latency,
            "runs": report["runs"]}


def measure_bulk_rate_limit(settings: Settings) -> dict[str, Any]:
    """track_events against the package's stand-in, in its own process, with a rate limit."""
    from voucherify.testing import LocalVoucherify

    limit, events = settings.rate_limit, settings.rate_limited_events
    server = LocalVoucherify.start_process(rate_limit=(limit, 1.0))
    try:
        keys = {"X-App-Id": server.app_id, "X-App-Token": server.app_token}
        plan = _bulk_plan(settings, server.url, keys, events, ["track_events"], stats=False)
        report = run_worker(this_sdk(), plan)
        rate_limited, recorded = server.rate_limited, len(server.events)
    finally:
        server.stop()
    windows = -(-events // limit)
    return {"limit_per_second": limit, "events": events,
            "concurrency": settings.bulk_concurrency, "server_429s": rate_limited,
            "server_recorded_events": recorded,
            "best_possible_events_per_second": events / max(windows - 1, 1),
            "run": report["runs"][0]}
