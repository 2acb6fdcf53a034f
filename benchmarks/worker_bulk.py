"""Bulk workload, in a fresh child process: many events with bounded concurrency.

Run by the harness with a JSON plan on standard input; writes one JSON document on
standard output. Imports only this repository's ``voucherify`` (and aiohttp for
``aio_gather``), nothing from ``benchmarks``.

Plan: ``url``, ``keys`` (header name to value), ``events`` (how many per run),
``concurrency``, ``runs`` (a list of the kinds below, run in that order), ``stats``
(whether the server answers ``GET /__stats``), ``time_limit`` (seconds; SIGALRM kills the
process after that).

- ``track_events``: ``voucherify.bulk.track_events(EventsApi, bodies, concurrency=C)`` on an
  ``ApiClient`` with the default ``Configuration`` (as a user would write it);
- ``threads_floor``: its bare counterpart: C threads taking bodies from one iterator, each
  ``json.dumps`` + ``PoolManager(maxsize=C).request("POST", ...)`` + ``json.loads``;
- ``aio_gather``: ``asyncio.gather`` of ``aio.EventsApi.track_custom_event`` calls, each
  behind one ``asyncio.Semaphore(C)``;
- ``aio_floor``: the same gather over a bare ``aiohttp.ClientSession.post``.

Each run reports its elapsed wall time (the bulk call alone, not the client's set-up), the
events sent, the 429s it met, the connections the server saw opened (when it can tell) and
how many "Connection pool is full" warnings urllib3 logged.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import signal
import sys
import threading
import time
from typing import Any, Optional

import urllib3

import voucherify
from voucherify.bulk import Outcome, track_events


class _PoolFullCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "Connection pool is full" in record.getMessage():
            self.count += 1


def event_body(number: int) -> dict[str, Any]:
    return {"event": "bulk_benchmark", "customer": {"source_id": f"bulk-user-{number}"}}


def configuration(plan: dict[str, Any]) -> voucherify.Configuration:
    config = voucherify.Configuration(host=plan["url"])
    for name, value in plan["keys"].items():
        config.api_key[name] = value
    # As the docs advise: a pool as large as the concurrency, so no connection is discarded.
    config.connection_pool_maxsize = max(config.connection_pool_maxsize, plan["concurrency"])
    return config


def connections_opened(plan: dict[str, Any]) -> Optional[int]:
    if not plan["stats"]:
        return None
    host, _, port = plan["url"][len("http://") :].rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10.0)
    try:
        connection.request("GET", "/__stats")
        count: int = json.loads(connection.getresponse().read())["connections"]
        return count
    finally:
        connection.close()


def run_track_events(plan: dict[str, Any]) -> dict[str, Any]:
    bodies = [event_body(number) for number in range(plan["events"])]
    with voucherify.ApiClient(configuration(plan)) as api_client:
        events_api = voucherify.EventsApi(api_client)
        started = time.perf_counter()
        result = track_events(events_api, bodies, concurrency=plan["concurrency"])
        elapsed = time.perf_counter() - started
    return {
        "elapsed": elapsed,
        "sent": result.counts[Outcome.SENT],
        "failed": result.total - result.counts[Outcome.SENT],
        "rate_limited_seen": result.rate_limited,
    }


async def run_aio_gather(plan: dict[str, Any]) -> dict[str, Any]:
    from voucherify import aio

    async with aio.ApiClient(configuration(plan)) as api_client:
        events_api = aio.EventsApi(api_client)
        gate = asyncio.Semaphore(plan["concurrency"])

        async def track(number: int) -> object:
            async with gate:
                return await events_api.track_custom_event(
                    events_create_request_body=event_body(number)
                )

        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(track(number) for number in range(plan["events"])), return_exceptions=True
        )
        elapsed = time.perf_counter() - started
    failed = sum(isinstance(outcome, BaseException) for outcome in outcomes)
    return {"elapsed": elapsed, "sent": len(outcomes) - failed, "failed": failed,
            "rate_limited_seen": 0}


def floor_headers(plan: dict[str, Any]) -> dict[str, str]:
    return {"Content-Type": "application/json", "Accept": "application/json", **plan["keys"]}


def run_threads_floor(plan: dict[str, Any]) -> dict[str, Any]:
    url, headers, count = plan["url"] + "/v1/events", floor_headers(plan), plan["events"]
    pool = urllib3.PoolManager(maxsize=plan["concurrency"])
    numbers = iter(range(count))
    lock = threading.Lock()
    failures: list[int] = []

    def work() -> None:
        while True:
            with lock:
                number = next(numbers, None)
            if number is None:
                return
            body = json.dumps(event_body(number)).encode()
            response = pool.request("POST", url, body=body, headers=headers)
            json.loads(response.data)
            if response.status != 200:
                failures.append(number)

    workers = [threading.Thread(target=work) for _ in range(plan["concurrency"])]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    pool.clear()
    return {"elapsed": elapsed, "sent": count - len(failures), "failed": len(failures),
            "rate_limited_seen": 0}


async def run_aio_floor(plan: dict[str, Any]) -> dict[str, Any]:
    import aiohttp

    url, headers, count = plan["url"] + "/v1/events", floor_headers(plan), plan["events"]
    async with aiohttp.ClientSession() as session:
        gate = asyncio.Semaphore(plan["concurrency"])

        async def post(number: int) -> int:
            async with gate:
                body = json.dumps(event_body(number)).encode()
                async with session.post(url, data=body, headers=headers) as response:
                    json.loads(await response.read())
                    return response.status

        started = time.perf_counter()
        statuses = await asyncio.gather(*(post(number) for number in range(count)))
        elapsed = time.perf_counter() - started
    failed = sum(status != 200 for status in statuses)
    return {"elapsed": elapsed, "sent": count - failed, "failed": failed, "rate_limited_seen": 0}


def run_one(kind: str, plan: dict[str, Any]) -> dict[str, Any]:
    if kind == "track_events":
        return run_track_events(plan)
    if kind == "threads_floor":
        return run_threads_floor(plan)
    if kind == "aio_gather":
        return asyncio.run(run_aio_gather(plan))
    if kind == "aio_floor":
        return asyncio.run(run_aio_floor(plan))
    raise ValueError(f"unknown run kind {kind!r}")


def main() -> int:
    plan: dict[str, Any] = json.loads(sys.stdin.read())
    signal.alarm(int(plan["time_limit"]))
    counter = _PoolFullCounter()
    logging.getLogger("urllib3.connectionpool").addHandler(counter)
    runs: list[dict[str, Any]] = []
    for kind in plan["runs"]:
        counter.count = 0
        before = connections_opened(plan)
        run = run_one(kind, plan)
        after = connections_opened(plan)
        run["kind"] = kind
        run["events_per_second"] = run["sent"] / run["elapsed"] if run["elapsed"] > 0 else 0.0
        run["connections"] = None if before is None or after is None else after - before - 1
        run["pool_full_warnings"] = counter.count
        runs.append(run)
    sys.stdout.write(json.dumps({"runs": runs}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
