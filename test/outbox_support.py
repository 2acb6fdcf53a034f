"""What the outbox tests share: where an outbox lives, for every kind of store.

A test that takes ``outbox_target`` runs once per store kind: a fresh SQLite file, and (when
a PostgreSQL server is at hand) a fresh PostgreSQL database. The value is what
``Outbox(...)`` takes (a path or a URL), so a test and the child processes it starts open the
same outbox whatever the kind. Import the fixture into a test module with
``from outbox_support import outbox_target  # noqa: F401``.

The helpers below make bodies that can be told apart in the stand-in's record (each carries
a ``tag`` in its metadata), configurations aimed at a stand-in with the test keys, and polls
with a deadline for tests that wait for something to happen.
"""

from __future__ import annotations

import collections
import socket
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import pytest
from pg_cluster import create_database, server_url

import voucherify
from voucherify.outbox import Outbox, State
from voucherify.testing import LocalVoucherify

from conftest import APP_ID, APP_TOKEN

TARGET_MAKERS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "sqlite": lambda request, tmp_path: str(tmp_path / "outbox.db"),
    "postgres": lambda request, tmp_path: create_database(server_url(request.config)),
}
"""How each store kind makes a fresh, empty outbox target for one test."""


@pytest.fixture(params=sorted(TARGET_MAKERS))
def outbox_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh outbox's path or URL, once per store kind."""
    kind: str = request.param
    return TARGET_MAKERS[kind](request, tmp_path)


def body(tag: str, **extra: Any) -> dict[str, Any]:
    """A valid event body whose ``metadata.tag`` names it in the stand-in's record."""
    doc: dict[str, Any] = {"event": "outbox_test", "customer": {"source_id": f"c-{tag}"},
                           "metadata": {"tag": tag}}
    doc.update(extra)
    return doc


def local_server(port: int = 0, **options: Any) -> LocalVoucherify:
    """A stand-in (not started) that accepts the test keys ``APP_ID``/``APP_TOKEN``."""
    return LocalVoucherify(port=port, app_id=APP_ID, app_token=APP_TOKEN, **options)


def configuration_for(url: str, timeout: Any = (2.0, 5.0), app_token: str = APP_TOKEN
                      ) -> voucherify.Configuration:
    """A configuration aimed at ``url`` with the test keys (or another token)."""
    configuration = voucherify.Configuration(host=url, timeout=timeout)
    configuration.api_key["X-App-Id"] = APP_ID
    configuration.api_key["X-App-Token"] = app_token
    return configuration


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def recorded_tags(events: Iterable[Any]) -> collections.Counter[str]:
    """How many times the stand-in recorded each tag (from ``server.events``)."""
    return collections.Counter(
        str(event["body"].get("metadata", {}).get("tag")) for event in events)


def states(outbox: Outbox) -> dict[str, State]:
    """Every stored event's state, by id."""
    return {event.id: event.state for event in outbox.events()}


def tag_of(outbox: Outbox, event_id: str) -> Optional[str]:
    """The tag of one stored event."""
    for event in outbox.events():
        if event.id == event_id:
            tag = event.body.get("metadata", {}).get("tag")
            return None if tag is None else str(tag)
    return None
