"""Per-call workload, in a fresh child process: an SDK against its bare floor, interleaved.

Run by the harness with a JSON plan on standard input; writes one JSON document on
standard output. It runs both in this repository's interpreter and in the official SDK's
(``python -I``), so it imports only the standard library, urllib3, the ``voucherify`` that
interpreter has, and, in ``aio`` mode, aiohttp; nothing from ``benchmarks``.

Plan: ``mode`` (``"sync"`` or ``"aio"``), ``url`` (the benchmark server), ``keys`` (header
name to value), ``body`` (the event body, a dict), ``rounds``, ``per_round``, ``warmup``,
``time_limit`` (seconds; the process dies by SIGALRM after that).

Each round times ``per_round`` sequential calls of each contender over one keep-alive
connection, the order reversed every other round, and records wall and CPU
(``time.process_time``) per call. Contenders:

- ``sdk``: ``EventsApi.track_custom_event(events_create_request_body=body)``;
- ``floor``: the same request bytes through bare urllib3 (``PoolManager().request``) or
  aiohttp (``ClientSession.post``), then ``json.loads`` of the reply;
- ``pool`` (sync only): the same bytes through urllib3's connection pool for the host,
  ``HTTPConnectionPool.urlopen(..., retries=False, redirect=False)``, then ``json.loads``:
  the leanest urllib3 path, the one the SDK's own transport takes;
- ``raw`` (sync only): the same bytes through a plain socket, reply read and not parsed:
  what the loopback and the server cost alone.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import signal
import socket
import sys
import time
from typing import Any, Awaitable, Callable, Mapping

import urllib3

import voucherify

Samples = dict[str, dict[str, list[float]]]
PATH = "/v1/events"


def get_json(base_url: str, path: str) -> dict[str, Any]:
    host, _, port = base_url[len("http://") :].rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10.0)
    try:
        connection.request("GET", path)
        document: dict[str, Any] = json.loads(connection.getresponse().read())
        return document
    finally:
        connection.close()


def last_request(base_url: str) -> tuple[bytes, bytes]:
    """The head and body of the last POST the benchmark server received."""
    document = get_json(base_url, "/__last")
    return document["head"].encode("latin-1"), base64.b64decode(document["body"])


def header_pairs(head: bytes) -> list[tuple[str, str]]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return [(name, value.strip()) for name, _, value in (line.partition(":") for line in lines)]


def configuration(plan: dict[str, Any]) -> Any:
    config = voucherify.Configuration(host=plan["url"])
    for name, value in plan["keys"].items():
        config.api_key[name] = value
    return config


def record(samples: Samples, name: str, wall: float, cpu: float, calls: int) -> None:
    samples.setdefault(name, {"wall": [], "cpu": []})
    samples[name]["wall"].append(wall / calls)
    samples[name]["cpu"].append(cpu / calls)


def measure_sync(contenders: Mapping[str, Callable[[], object]], rounds: int, k: int) -> Samples:
    samples: Samples = {}
    names = list(contenders)
    for number in range(rounds):
        for name in names if number % 2 == 0 else names[::-1]:
            call = contenders[name]
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(k):
                call()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            record(samples, name, wall, cpu, k)
    return samples


async def measure_async(
    contenders: Mapping[str, Callable[[], Awaitable[object]]], rounds: int, k: int
) -> Samples:
    samples: Samples = {}
    names = list(contenders)
    for number in range(rounds):
        for name in names if number % 2 == 0 else names[::-1]:
            call = contenders[name]
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(k):
                await call()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            record(samples, name, wall, cpu, k)
    return samples


class RawClient:
    """Sends fixed request bytes on one socket and reads each reply to its last byte."""

    def __init__(self, base_url: str, request: bytes) -> None:
        host, _, port = base_url[len("http://") :].rpartition(":")
        self._socket = socket.create_connection((host, int(port)), timeout=10.0)
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._request = request

    def call(self) -> bytes:
        self._socket.sendall(self._request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self._recv()
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(body) < length:
            body += self._recv()
        return body

    def _recv(self) -> bytes:
        chunk = self._socket.recv(65536)
        if not chunk:
            raise ConnectionError("the benchmark server closed the connection")
        return chunk

    def close(self) -> None:
        self._socket.close()


def run_sync(plan: dict[str, Any]) -> dict[str, Any]:
    url, body, warmup = plan["url"], plan["body"], plan["warmup"]
    with voucherify.ApiClient(configuration(plan)) as api_client:
        events = voucherify.EventsApi(api_client)

        def sdk() -> object:
            return events.track_custom_event(events_create_request_body=body)

        sdk()
        head, sent = last_request(url)
        headers = dict(header_pairs(head))
        manager = urllib3.PoolManager()
        pool = urllib3.connection_from_url(url)
        raw = RawClient(url, head + b"\r\n\r\n" + sent)

        def floor() -> object:
            return json.loads(manager.request("POST", url + PATH, body=sent, headers=headers).data)

        def pool_call() -> object:
            response = pool.urlopen(
                "POST", PATH, body=sent, headers=headers, retries=False, redirect=False
            )
            return json.loads(response.data)

        try:
            floor()
            checks = {"same_request": last_request(url) == (head, sent)}
            pool_call()
            checks["same_request_pool"] = last_request(url) == (head, sent)
            contenders = {"sdk": sdk, "floor": floor, "pool": pool_call, "raw": raw.call}
            for call in contenders.values():
                for _ in range(warmup):
                    call()
            before = get_json(url, "/__stats")
            samples = measure_sync(contenders, plan["rounds"], plan["per_round"])
            after = get_json(url, "/__stats")
        finally:
            raw.close()
            pool.close()
            manager.clear()
    return report(samples, head, sent, checks, before, after)


async def run_aio_calls(plan: dict[str, Any]) -> dict[str, Any]:
    import aiohttp

    from voucherify import aio

    url, body, warmup = plan["url"], plan["body"], plan["warmup"]
    async with aio.ApiClient(configuration(plan)) as api_client, aiohttp.ClientSession() as session:
        events = aio.EventsApi(api_client)

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
        checks = {
            "same_request": sorted(header_pairs(floor_head)) == sorted(header_pairs(head))
            and floor_sent == sent
        }
        contenders = {"sdk": sdk, "floor": floor}
        for call in contenders.values():
            for _ in range(warmup):
                await call()
        before = get_json(url, "/__stats")
        samples = await measure_async(contenders, plan["rounds"], plan["per_round"])
        after = get_json(url, "/__stats")
    return report(samples, head, sent, checks, before, after)


def report(
    samples: Samples,
    head: bytes,
    sent: bytes,
    checks: dict[str, bool],
    before: dict[str, Any],
    after: dict[str, Any],
) -> dict[str, Any]:
    requests = after["requests"] - before["requests"]
    return {
        "sdk": {"version": voucherify.__version__, "file": voucherify.__file__},
        "urllib3": getattr(urllib3, "__version__", "unknown"),
        "samples": samples,
        **checks,
        "request_bytes": len(head) + 4 + len(sent),
        "header_names": [name for name, _ in header_pairs(head)],
        "server": {
            "requests": requests,
            "connections": after["connections"] - before["connections"],
            "cpu_per_request": (after["cpu_seconds"] - before["cpu_seconds"]) / max(requests, 1),
        },
    }


def main() -> int:
    plan: dict[str, Any] = json.loads(sys.stdin.read())
    signal.alarm(int(plan["time_limit"]))
    result = run_sync(plan) if plan["mode"] == "sync" else asyncio.run(run_aio_calls(plan))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
