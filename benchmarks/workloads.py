"""Per-call and bulk workloads: start their servers, run their workers, collect the reports."""

from __future__ import annotations

from typing import Any, Optional

from benchmarks.children import ChildError, Interpreter, run_worker, this_sdk
from benchmarks.servers import ServerProcess
from benchmarks.settings import BODY, KEYS, Settings

WORKER_TIMEOUT = 240.0


def _call_plan(server: ServerProcess, mode: str, rounds: int, settings: Settings) -> dict[str, Any]:
    return {
        "mode": mode,
        "url": server.url,
        "keys": KEYS,
        "body": BODY,
        "rounds": rounds,
        "per_round": settings.calls_per_round,
        "warmup": settings.warmup_calls,
    }


def measure_calls(settings: Settings, server: ServerProcess) -> dict[str, Any]:
    """This SDK's sync and async clients, each interleaved with its floor in one child."""
    ours = this_sdk()
    sync = run_worker(ours, "worker_calls.py",
                      _call_plan(server, "sync", settings.call_rounds, settings), WORKER_TIMEOUT)
    aio = run_worker(ours, "worker_calls.py",
                     _call_plan(server, "aio", settings.aio_rounds, settings), WORKER_TIMEOUT)
    return {"sync": sync, "aio": aio}


def measure_official_calls(
    settings: Settings, server: ServerProcess, official: Interpreter
) -> dict[str, Any]:
    """The official SDK, interleaved with the same urllib3 floor, in its own interpreter."""
    plan = _call_plan(server, "sync", settings.official_call_rounds, settings)
    try:
        return {"status": "ok", **run_worker(official, "worker_calls.py", plan, WORKER_TIMEOUT)}
    except ChildError as error:
        return {"status": f"unavailable: {error}"}


def measure_bulk_latency(settings: Settings) -> dict[str, Any]:
    """track_events, an aio gather and their bare floors, against a server that answers
    after a fixed delay; the four alternate, ``bulk_repeats`` times."""
    runs = ["track_events", "threads_floor", "aio_gather", "aio_floor"] * settings.bulk_repeats
    with ServerProcess(latency=settings.bulk_latency) as server:
        plan = {
            "url": server.url,
            "keys": KEYS,
            "events": settings.bulk_events,
            "concurrency": settings.bulk_concurrency,
            "runs": runs,
            "stats": True,
        }
        report = run_worker(this_sdk(), "worker_bulk.py", plan, WORKER_TIMEOUT)
    return {
        "latency_s": settings.bulk_latency,
        "concurrency": settings.bulk_concurrency,
        "events": settings.bulk_events,
        "ideal_events_per_second": settings.bulk_concurrency / settings.bulk_latency,
        "runs": report["runs"],
    }


def measure_bulk_rate_limit(settings: Settings) -> dict[str, Any]:
    """track_events against the package's stand-in, in its own process, with a rate limit."""
    from voucherify.testing import LocalVoucherify

    limit, events = settings.rate_limit, settings.rate_limited_events
    server = LocalVoucherify.start_process(rate_limit=(limit, 1.0))
    try:
        plan = {
            "url": server.url,
            "keys": {"X-App-Id": server.app_id, "X-App-Token": server.app_token},
            "events": events,
            "concurrency": settings.bulk_concurrency,
            "runs": ["track_events"],
            "stats": False,
        }
        report = run_worker(this_sdk(), "worker_bulk.py", plan, WORKER_TIMEOUT)
        rate_limited: Optional[int] = server.rate_limited
        recorded = len(server.events)
    finally:
        server.stop()
    windows = -(-events // limit)
    return {
        "limit_per_second": limit,
        "events": events,
        "concurrency": settings.bulk_concurrency,
        "server_429s": rate_limited,
        "server_recorded_events": recorded,
        "best_possible_events_per_second": events / max(windows - 1, 1),
        "run": report["runs"][0],
    }
