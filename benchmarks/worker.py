"""The measuring child: per-call rounds of an SDK against its floors, or bulk runs.

Run by the harness with a JSON plan on standard input; writes one JSON document on standard
output. It runs in this repository's interpreter and in the official SDK's (``python -I``,
which does not put this folder on ``sys.path``), so it imports only the standard library,
urllib3, the ``voucherify`` that interpreter has and, when asked for, aiohttp and
``voucherify.bulk``. The process dies by SIGALRM after the plan's ``time_limit`` seconds.

``mode`` ``"sync"`` or ``"aio"``: each round times ``per_round`` sequential calls of each
contender over one keep-alive connection, the order reversed every other round, and records
wall and CPU (``time.process_time``) per call. Contenders: ``sdk``
(``EventsApi.track_custom_event``); ``floor``, the SDK's own request bytes through bare
urllib3 (``PoolManager().request``) or aiohttp (``ClientSession.post``), then ``json.loads``;
in sync mode also ``pool``, the same bytes through urllib3's connection pool for the host
(``HTTPConnectionPool.urlopen``, the path the SDK's transport takes), and ``raw``, the same
bytes on a plain socket, the reply read and not parsed.

``mode`` ``"bulk"``: ``events`` events at ``concurrency`` C, once per entry of ``runs``:
``track_events`` (``voucherify.bulk.track_events`` on a default configuration),
``threads_floor`` (C threads, one ``PoolManager(maxsize=C)``, ``json.dumps`` + ``request`` +
``json.loads``), ``aio_gather`` (``asyncio.gather`` of ``aio.EventsApi.track_custom_event``
behind one ``Semaphore(C)``) and ``aio_floor`` (the same gather over bare aiohttp).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import signal
import socket
import sys
import threading
import time
from typing import Any, Awaitable, Callable, Mapping, Optional

import urllib3

import voucherify

PATH = "/v1/events"
Samples = dict[str, dict[str, list[float]]]


def get_json(url: str, path: str) -> dict[str, Any]:
    """One of the benchmark server's own routes (``/__stats``, ``/__last``), on a connection
    of its own."""
    with urllib3.PoolManager() as manager:
        document: dict[str, Any] = json.loads(
            manager.request("GET", url + path, timeout=10.0, retries=False).data)
    return document


def last_request(url: str) -> tuple[bytes, bytes]:
    """The head and body of the last POST the benchmark server received."""
    document = get_json(url, "/__last")
    return document["head"].encode("latin-1"), base64.b64decode(document["body"])


def header_pairs(head: bytes) -> list[tuple[str, str]]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return [(name, value.strip()) for name, _, value in (line.partition(":") for line in lines)]


def configuration(plan: dict[str, Any]) -> Any:
    config = voucherify.Configuration(host=plan["url"])
    for name, value in plan["keys"].items():
        config.api_key[name] = value
    return config


def interleave(blocks: Mapping[str, Callable[[], None]], rounds: int, calls: int) -> Samples:
    """Time each block (``calls`` calls of one contender) once per round, in an order that
    reverses every other round; wall and CPU seconds per call."""
    samples: Samples = {name: {"wall": [], "cpu": []} for name in blocks}
    names = list(blocks)
    for number in range(rounds):
        for name in names if number % 2 == 0 else names[::-1]:
            wall, cpu = time.perf_counter(), time.process_time()
            blocks[name]()
            samples[name]["cpu"].append((time.process_time() - cpu) / calls)
            samples[name]["wall"].append((time.perf_counter() - wall) / calls)
    return samples


def repeat(call: Callable[[], object], times: int) -> Callable[[], None]:
    def block() -> None:
        for _ in range(times):
            call()

    return block


def repeat_async(loop: asyncio.AbstractEventLoop, call: Callable[[], Awaitable[object]],
                 times: int) -> Callable[[], None]:
    async def calls() -> None:
        for _ in range(times):
            await call()

    return lambda: loop.run_until_complete(calls())


def raw_socket(url: str, request: bytes, stack: contextlib.ExitStack) -> Callable[[], bytes]:
    """Sends fixed request bytes on one socket and reads each reply to its last byte."""
    host, _, port = url[len("http://") :].rpartition(":")
    sock = stack.enter_context(socket.create_connection((host, int(port)), timeout=10.0))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def call() -> bytes:
        sock.sendall(request)
        data = b""
        while True:
            head, found, body = data.partition(b"\r\n\r\n")
            if found and len(body) >= int(head.lower().split(b"content-length:")[1]
                                          .split(b"\r\n")[0]):
                return body
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the benchmark server closed the connection")
            data += chunk

    return call


def facts(head: bytes, sent: bytes, **checks: bool) -> dict[str, Any]:
    """What the report says of the SDK's request, and whether the others sent the same."""
    return {**checks, "request_bytes": len(head) + 4 + len(sent),
            "header_names": [name for name, _ in header_pairs(head)]}


def sync_contenders(plan: dict[str, Any], stack: contextlib.ExitStack
                    ) -> tuple[dict[str, Callable[[], object]], dict[str, Any]]:
    """The sync SDK, its floor, urllib3's pool and the raw socket, all sending the SDK's
    request; and whether the floor and the pool sent it byte for byte."""
    url, body = plan["url"], plan["body"]
    events = voucherify.EventsApi(stack.enter_context(voucherify.ApiClient(configuration(plan))))

    def sdk() -> object:
        return events.track_custom_event(events_create_request_body=body)

    sdk()
    head, sent = last_request(url)
    headers = dict(header_pairs(head))
    manager = urllib3.PoolManager()
    stack.callback(manager.clear)
    pool = urllib3.connection_from_url(url)
    stack.callback(pool.close)
    raw = raw_socket(url, head + b"\r\n\r\n" + sent, stack)

    def floor() -> object:
        return json.loads(manager.request("POST", url + PATH, body=sent, headers=headers).data)

    def pool_call() -> object:
        response = pool.urlopen("POST", PATH, body=sent, headers=headers, retries=False,
                                redirect=False)
        return json.loads(response.data)

    floor()
    same = last_request(url) == (head, sent)
    pool_call()
    checks = facts(head, sent, same_request=same,
                   same_request_pool=last_request(url) == (head, sent))
    return {"sdk": sdk, "floor": floor, "pool": pool_call, "raw": raw}, checks


async def aio_contenders(plan: dict[str, Any], stack: contextlib.AsyncExitStack
                         ) -> tuple[dict[str, Callable[[], Awaitable[object]]], dict[str, Any]]:
    """The aio SDK and its aiohttp floor; whether the floor sent the same headers and body
    (aiohttp decides their order)."""
    import aiohttp

    from voucherify import aio

    url, body = plan["url"], plan["body"]
    events = aio.EventsApi(await stack.enter_async_context(aio.ApiClient(configuration(plan))))
    session = await stack.enter_async_context(aiohttp.ClientSession())

    async def sdk() -> object:
        return await events.track_custom_event(events_create_request_body=body)

    await sdk()
    head, sent = last_request(url)
    headers = dict(header_pairs(head))

    async def floor() -> object:
        async with session.post(url + PATH, data=sent, headers=headers) as response:
            return json.loads(await response.read())

    await floor()
    floor_head, floor_sent = last_request(url)
    same = sorted(header_pairs(floor_head)) == sorted(header_pairs(head)) and floor_sent == sent
    return {"sdk": sdk, "floor": floor}, facts(head, sent, same_request=same)


def run_calls(plan: dict[str, Any]) -> dict[str, Any]:
    """One per-call report: every sample, the request checks, the server's work meanwhile."""
    rounds, calls, warmup = plan["rounds"], plan["per_round"], plan["warmup"]
    with contextlib.ExitStack() as stack:
        if plan["mode"] == "sync":
            contenders, checks = sync_contenders(plan, stack)
            blocks = {name: repeat(call, calls) for name, call in contenders.items()}
            warm = [repeat(call, warmup) for call in contenders.values()]
        else:
            loop, async_stack = asyncio.new_event_loop(), contextlib.AsyncExitStack()
            stack.callback(loop.close)
            stack.callback(loop.run_until_complete, async_stack.aclose())
            aio_calls, checks = loop.run_until_complete(aio_contenders(plan, async_stack))
            blocks = {name: repeat_async(loop, call, calls) for name, call in aio_calls.items()}
            warm = [repeat_async(loop, call, warmup) for call in aio_calls.values()]
        for block in warm:
            block()
        before = get_json(plan["url"], "/__stats")
        samples = interleave(blocks, rounds, calls)
        after = get_json(plan["url"], "/__stats")
    requests = after["requests"] - before["requests"]
    return {
        "sdk": {"version": voucherify.__version__, "file": voucherify.__file__},
        "urllib3": getattr(urllib3, "__version__", "unknown"),
        "samples": samples,
        **checks,
        "server": {
            "requests": requests,
            "connections": after["connections"] - before["connections"],
            "cpu_per_request": (after["cpu_seconds"] - before["cpu_seconds"]) / max(requests, 1),
        },
    }


class _PoolFullCounter(logging.Handler):
    """Counts urllib3's "Connection pool is full, discarding connection" warnings."""

    count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += "Connection pool is full" in record.getMessage()


def event_body(number: int) -> dict[str, Any]:
    return {"event": "bulk_benchmark", "customer": {"source_id": f"bulk-user-{number}"}}


def track_events_run(plan: dict[str, Any]) -> tuple[float, int, int]:
    """``track_events`` as a user would call it."""
    from voucherify.bulk import Outcome, track_events

    config = configuration(plan)
    # As the docs advise: a pool as large as the concurrency, so no connection is discarded.
    config.connection_pool_maxsize = max(config.connection_pool_maxsize, plan["concurrency"])
    bodies = [event_body(number) for number in range(plan["events"])]
    with voucherify.ApiClient(config) as api_client:
        events_api, started = voucherify.EventsApi(api_client), time.perf_counter()
        result = track_events(events_api, bodies, concurrency=plan["concurrency"])
        elapsed = time.perf_counter() - started
    return elapsed, result.counts[Outcome.SENT], result.rate_limited


def threads_floor_run(plan: dict[str, Any]) -> tuple[float, int, int]:
    url, count = plan["url"] + PATH, plan["events"]
    headers = {"Content-Type": "application/json", "Accept": "application/json", **plan["keys"]}
    pool = urllib3.PoolManager(maxsize=plan["concurrency"])
    numbers, lock, sent = iter(range(count)), threading.Lock(), []

    def work() -> None:
        while True:
            with lock:
                number = next(numbers, None)
            if number is None:
                return
            response = pool.request("POST", url, body=json.dumps(event_body(number)).encode(),
                                    headers=headers)
            json.loads(response.data)
            sent.append(response.status == 200)

    workers = [threading.Thread(target=work) for _ in range(plan["concurrency"])]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    pool.clear()
    return elapsed, sum(sent), 0


async def gather_run(plan: dict[str, Any], bare: bool) -> tuple[float, int, int]:
    """The aio SDK (or, ``bare``, aiohttp itself) under ``asyncio.gather`` and a semaphore."""
    import aiohttp

    from voucherify import aio

    url = plan["url"] + PATH
    headers = {"Content-Type": "application/json", "Accept": "application/json", **plan["keys"]}
    gate = asyncio.Semaphore(plan["concurrency"])
    async with contextlib.AsyncExitStack() as stack:
        if bare:
            session = await stack.enter_async_context(aiohttp.ClientSession())

            async def post(number: int) -> bool:
                body = json.dumps(event_body(number)).encode()
                async with session.post(url, data=body, headers=headers) as response:
                    json.loads(await response.read())
                    return response.status == 200
        else:
            client = await stack.enter_async_context(aio.ApiClient(configuration(plan)))
            events_api = aio.EventsApi(client)

            async def post(number: int) -> bool:
                await events_api.track_custom_event(events_create_request_body=event_body(number))
                return True

        async def gated(number: int) -> bool:
            async with gate:
                return await post(number)

        started = time.perf_counter()
        outcomes = await asyncio.gather(*map(gated, range(plan["events"])),
                                        return_exceptions=True)
        elapsed = time.perf_counter() - started
    return elapsed, sum(outcome is True for outcome in outcomes), 0


BULK: dict[str, Callable[[dict[str, Any]], tuple[float, int, int]]] = {
    "track_events": track_events_run,
    "threads_floor": threads_floor_run,
    "aio_gather": lambda plan: asyncio.run(gather_run(plan, bare=False)),
    "aio_floor": lambda plan: asyncio.run(gather_run(plan, bare=True)),
}
"""Each bulk run: (seconds of the bulk call alone, events sent, 429s met)."""


def run_bulk(plan: dict[str, Any]) -> dict[str, Any]:
    """Each run of ``plan["runs"]`` in turn: elapsed wall time, events sent and failed, the
    connections the server saw opened (when it answers ``/__stats``) and pool-full warnings."""
    counter = _PoolFullCounter()
    logging.getLogger("urllib3.connectionpool").addHandler(counter)

    def connections() -> Optional[int]:
        return get_json(plan["url"], "/__stats")["connections"] if plan["stats"] else None

    runs: list[dict[str, Any]] = []
    for kind in plan["runs"]:
        counter.count, before = 0, connections()
        elapsed, sent, rate_limited = BULK[kind](plan)
        after = connections()
        runs.append({
            "kind": kind, "elapsed": elapsed, "sent": sent, "failed": plan["events"] - sent,
            "rate_limited_seen": rate_limited, "events_per_second": sent / elapsed,
            "connections": None if before is None or after is None else after - before - 1,
            "pool_full_warnings": counter.count,
        })
    return {"runs": runs}


def main() -> int:
    plan: dict[str, Any] = json.loads(sys.stdin.read())
    signal.alarm(int(plan["time_limit"]))
    result = run_bulk(plan) if plan["mode"] == "bulk" else run_calls(plan)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
