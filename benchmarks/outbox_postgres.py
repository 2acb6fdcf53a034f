"""The PostgreSQL outbox: drain rate of a fleet against the limit, and what ``track`` costs
inside the app's transaction next to a plain ``INSERT`` of the same row.

    python benchmarks/outbox_postgres.py                  # a throwaway cluster (fsync on)
    python benchmarks/outbox_postgres.py --url postgresql://user@host/db   # a server of yours
    python benchmarks/outbox_postgres.py --quick          # fewer events and calls

It needs the ``postgres`` extra (psycopg) and, without ``--url``, the server binaries
(``initdb``/``pg_ctl``, see test/pg_cluster.py). With ``--url`` it creates and drops a
database of its own on that server. Everything else runs on 127.0.0.1: the stand-in, limited
to ``--rate`` calls per second, and ``--workers`` delivering processes with one connection each.

Drain: every event is tracked first; then the workers start together and the clock runs
until the stand-in has recorded all of them. Its windows are fixed (one second), so N events
need ceil(N / rate) windows and the run takes a little over (windows - 1) seconds: the
figure to compare with the limit is events per second over that span.

``track`` against ``INSERT``: one connection, the two alternating call by call (so drift
hits both alike), each (a) alone inside an open transaction, which is what the app's own
transaction pays, and (b) in a transaction of its own with its commit (durable: fsync on).
The plain ``INSERT`` writes the same bytes into a table of the same layout with no trigger;
``track`` also validates and encodes the body, reads the cap counts and appends one delta.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "test"))

WORKER = r"""
import os, sys, voucherify
from voucherify.outbox import Outbox
configuration = voucherify.Configuration(host=os.environ["STANDIN_URL"])
configuration.api_key["X-App-Id"] = os.environ["STANDIN_APP_ID"]
configuration.api_key["X-App-Token"] = os.environ["STANDIN_APP_TOKEN"]
with Outbox(os.environ["OUTBOX_URL"], configuration) as outbox:
    print("ready", flush=True)
    sys.stdin.readline()
    report = outbox.deliver(max_seconds=float(sys.argv[1]))
    print(f"done {report.delivered}", flush=True)
"""


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a server URL whose user may create databases")
    parser.add_argument("--rate", type=int, default=50, help="the stand-in's limit, per second")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--events", type=int, help="events to drain (default 8 x rate)")
    parser.add_argument("--calls", type=int, default=2000, help="track/INSERT pairs")
    parser.add_argument("--quick", action="store_true", help="4 x rate events, 300 pairs")
    args = parser.parse_args(argv)
    if args.quick:
        args.events = args.events or 4 * args.rate
        args.calls = 300
    args.events = args.events or 8 * args.rate
    return args


def drain(url: str, rate: int, workers: int, events: int) -> dict[str, float]:
    from voucherify.outbox import Outbox
    from voucherify.testing import LocalVoucherify

    app_id, app_token = "bench-app", "bench-" + uuid.uuid4().hex
    with LocalVoucherify(app_id=app_id, app_token=app_token, rate_limit=(rate, 1.0)) as server:
        with Outbox(url) as outbox:
            for i in range(events):
                outbox.track({"event": "order_paid", "customer": {"source_id": f"c-{i}"}})
        env = dict(os.environ, OUTBOX_URL=url, STANDIN_URL=server.url, STANDIN_APP_ID=app_id,
                   STANDIN_APP_TOKEN=app_token, PYTHONPATH=str(ROOT))
        limit = 5.0 * events / rate + 30
        children = [subprocess.Popen([sys.executable, "-c", WORKER, str(limit)], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                    for _ in range(workers)]
        try:
            for child in children:
                assert child.stdout is not None
                if child.stdout.readline() != "ready\n":
                    raise RuntimeError("a worker did not start")
            started = time.monotonic()
            for child in children:
                assert child.stdin is not None
                child.stdin.write("go\n")
                child.stdin.flush()
            while len(server.events) < events:
                if time.monotonic() - started > limit:
                    raise RuntimeError(f"only {len(server.events)} of {events} delivered")
                time.sleep(0.01)
            elapsed = time.monotonic() - started
            shares = []
            for child in children:
                assert child.stdout is not None
                shares.append(int(child.stdout.readline().split()[1]))
                child.wait(30)
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait(10)
        sources = [event["body"]["customer"]["source_id"] for event in server.events]
        return {"events": events, "elapsed": elapsed, "rate": events / elapsed,
                "limit": rate, "rate_limited": server.rate_limited,
                "duplicates": len(sources) - len(set(sources)),
                "least_share": min(shares), "most_share": max(shares)}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def track_vs_insert(url: str, calls: int) -> dict[str, dict[str, float]]:
    import psycopg

    from voucherify.bulk._item import encode_event
    from voucherify.outbox import Outbox

    body = {"event": "order_paid", "customer": {"source_id": "c-1"},
            "metadata": {"order_id": "o-123", "amount": 42.5}}
    payload = encode_event(body)
    with Outbox(url) as outbox, psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE bench_plain (LIKE voucherify_outbox_events INCLUDING ALL)")
        conn.commit()
        insert = ("INSERT INTO bench_plain (id, state, payload, size, created_at, updated_at) "
                  "VALUES (%s, 'pending', %s, %s, extract(epoch FROM clock_timestamp())::float8,"
                  " extract(epoch FROM clock_timestamp())::float8)")

        def plain() -> None:
            conn.execute(insert, (uuid.uuid4().hex, payload, len(payload)))

        def track() -> None:
            outbox.track(body, connection=conn)

        results: dict[str, dict[str, float]] = {}
        for mode in ("in the app's transaction", "with its own commit"):
            times: dict[str, list[float]] = {"track": [], "insert": []}
            for i in range(calls + calls // 10):  # the first tenth warms up
                pair: list[tuple[str, Callable[[], None]]] = [("track", track),
                                                              ("insert", plain)]
                if i % 2:
                    pair.reverse()
                for name, call in pair:
                    started = time.perf_counter()
                    call()
                    if mode == "with its own commit":
                        conn.commit()
                    took = time.perf_counter() - started
                    if i >= calls // 10:
                        times[name].append(took)
                if mode == "in the app's transaction" and i % 50 == 49:
                    conn.commit()  # keep the open transaction from growing without end
            conn.commit()
            results[mode] = {
                "track_p50": statistics.median(times["track"]),
                "track_p99": _percentile(times["track"], 0.99),
                "insert_p50": statistics.median(times["insert"]),
                "insert_p99": _percentile(times["insert"], 0.99),
            }
    return results


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    import psycopg
    from pg_cluster import Cluster, find_binaries, with_database

    cluster: Optional[Cluster] = None
    server_url = args.url
    if server_url is None:
        bin_dir = find_binaries()
        if bin_dir is None:
            sys.stderr.write("no initdb/pg_ctl found: install PostgreSQL or pass --url\n")
            return 2
        cluster = Cluster(bin_dir, fsync=True)
        cluster.start()
        server_url = cluster.url
    name = "bench_" + uuid.uuid4().hex[:10]
    try:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = with_database(server_url, name)
        print(f"drain: {args.events} events, {args.workers} workers, limit {args.rate}/s ...",
              flush=True)
        drained = drain(url, args.rate, args.workers, args.events)
        print(f"track vs INSERT: {args.calls} pairs each way ...", flush=True)
        costs = track_vs_insert(url, args.calls)
    finally:
        if cluster is not None:
            cluster.stop()
        else:
            with psycopg.connect(server_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(report(args, drained, costs))
    return 0


def report(args: argparse.Namespace, drained: dict[str, Any],
           costs: dict[str, dict[str, float]]) -> str:
    lines = [
        "",
        f"| PostgreSQL outbox ({args.workers} workers, limit {args.rate}/s) | value |",
        "|---|---|",
        f"| drained | {drained['events']} events in {drained['elapsed']:.2f} s |",
        f"| delivered per second | {drained['rate']:.1f} (x{drained['rate'] / args.rate:.2f} "
        f"of the limit) |",
        f"| 429 replies | {drained['rate_limited']} |",
        f"| events recorded twice | {drained['duplicates']} |",
        f"| events per worker | {drained['least_share']} to {drained['most_share']} |",
        "",
        "| one event | track p50 | INSERT p50 | ratio p50 | track p99 | INSERT p99 |",
        "|---|---|---|---|---|---|",
    ]
    for mode, cost in costs.items():
        lines.append(
            f"| {mode} | {cost['track_p50'] * 1e6:.0f} us | {cost['insert_p50'] * 1e6:.0f} us | "
            f"x{cost['track_p50'] / cost['insert_p50']:.2f} | {cost['track_p99'] * 1e6:.0f} us | "
            f"{cost['insert_p99'] * 1e6:.0f} us |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
