"""What the outbox tests share: where an outbox lives, for every kind of store.

A test that takes ``outbox_target`` runs once per store kind: a fresh SQLite file, and (when
a PostgreSQL server is at hand) a fresh PostgreSQL database. The value is what
``Outbox(...)`` takes (a path or a URL), so a test and the child processes it starts open the
same outbox whatever the kind. Import the fixture into a test module with
``from outbox_support import outbox_target  # noqa: F401``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from pg_cluster import create_database, server_url

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
