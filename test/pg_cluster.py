"""A throwaway PostgreSQL server for the tests (and the benchmark), and a fresh database each.

``VOUCHERIFY_TEST_POSTGRES_URL`` (a server URL whose user may create databases) is used when
set. Otherwise, when ``initdb`` and ``pg_ctl`` are found (on PATH or under
``/usr/lib/postgresql/*/bin``), a cluster is made in a temporary folder, listening on
127.0.0.1 on a free port only (no Unix socket outside that folder), run as the ``postgres``
user when the tests run as root, and removed at the end of the session (or by a watchdog
process if the session dies without ending). When neither is
possible the PostgreSQL tests skip, unless ``VOUCHERIFY_REQUIRE_POSTGRES=1`` (CI sets it):
then they fail, saying why.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Callable, Optional

import pytest

ENV_URL = "VOUCHERIFY_TEST_POSTGRES_URL"
ENV_REQUIRE = "VOUCHERIFY_REQUIRE_POSTGRES"


def find_binaries() -> Optional[str]:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or ``None``."""
    found = shutil.which("initdb")
    candidates = [os.path.dirname(found)] if found else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if all(os.access(os.path.join(folder, name), os.X_OK)
               for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


# Stops the cluster if the process that started it dies without stopping it (SIGKILL, a
# crash): it waits for its stdin to close, which happens however the parent ends.
_WATCHDOG = r"""
import os, shutil, subprocess, sys
sys.stdin.read()
as_user, pg_ctl, data, folder = sys.argv[1:5]
if os.path.exists(os.path.join(data, "postmaster.pid")):
    subprocess.run((as_user.split() if as_user else []) + [pg_ctl, "-D", data, "-m",
                   "immediate", "-w", "stop"], capture_output=True, check=False, timeout=60)
shutil.rmtree(folder, ignore_errors=True)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Cluster:
    """One throwaway cluster: ``start()``, ``url``, ``stop()`` (which removes its folder)."""

    def __init__(self, bin_dir: str, fsync: bool = False) -> None:
        self.bin_dir = bin_dir
        self.fsync = fsync
        self.folder = tempfile.mkdtemp(prefix="voucherify-pg-")
        self.data = os.path.join(self.folder, "data")
        self.port = 0
        self._as: list[str] = []
        self._watchdog: Optional[subprocess.Popen[bytes]] = None
        if os.geteuid() == 0:  # initdb refuses root: run the server as postgres
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(self.folder, ignore_errors=True)
                raise RuntimeError("the tests run as root and there is no postgres user to "
                                   "run the server as") from None
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [*self._as, os.path.join(self.bin_dir, args[0]), *args[1:]]
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=120, cwd=self.folder)
        if done.returncode:
            raise RuntimeError(f"{' '.join(args[:1])} failed ({done.returncode}): "
                               f"{done.stdout}{done.stderr}")

    def start(self) -> None:
        self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync",
                  "-E", "UTF8", "--locale=C")
        settings = [
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.folder}'",
            "max_connections = 200",
            f"fsync = {'on' if self.fsync else 'off'}",
            f"full_page_writes = {'on' if self.fsync else 'off'}",
            "shared_buffers = 32MB",
        ]
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as conf:
            conf.write("\n".join(settings) + "\n")
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, " ".join(self._as),
             os.path.join(self.bin_dir, "pg_ctl"), self.data, self.folder],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        for attempt in itertools.count():
            self.port = _free_port()
            try:
                self._run("pg_ctl", "-D", self.data, "-w", "-t", "60", "-l",
                          os.path.join(self.folder, "server.log"), "-o", f"-p {self.port}",
                          "start")
                return
            except RuntimeError:
                if attempt >= 2:  # the port taken meanwhile, three times: something else
                    raise

    def stop(self) -> None:
        try:
            if os.path.exists(os.path.join(self.data, "postmaster.pid")):
                self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            watchdog = self._watchdog
            if watchdog is not None and watchdog.stdin is not None:
                watchdog.stdin.close()  # nothing left for it to do: it exits
                watchdog.wait(60)


def _unavailable(why: str) -> None:
    if os.environ.get(ENV_REQUIRE) == "1":
        pytest.fail(f"PostgreSQL is required ({ENV_REQUIRE}=1) but {why}", pytrace=False)
    pytest.skip(f"no PostgreSQL server: {why}")


_STARTED: dict[str, str] = {}
"""The session's server URL, once made (``"url"``), or why none could be (``"why"``)."""


def server_url(config: pytest.Config) -> str:
    """The URL of a server whose user may create databases (its ``postgres`` database),
    started on first use and stopped when the session ends; skips (or fails) without one."""
    if "url" not in _STARTED and "why" not in _STARTED:
        _start(config)
    if "why" in _STARTED:
        _unavailable(_STARTED["why"])
    return _STARTED["url"]


def _start(config: pytest.Config) -> None:
    url = os.environ.get(ENV_URL)
    if url:
        _STARTED["url"] = url
        config.add_cleanup(lambda: _drop_created(url))  # a server of yours: leave it clean
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _STARTED["why"] = "psycopg is not installed (pip install -e '.[test]')"
        return
    bin_dir = find_binaries()
    if bin_dir is None:
        _STARTED["why"] = ("initdb/pg_ctl were not found on PATH or in "
                           "/usr/lib/postgresql/*/bin (install Debian's postgresql package, "
                           f"or set {ENV_URL})")
        return
    try:
        cluster = Cluster(bin_dir)
    except RuntimeError as error:
        _STARTED["why"] = str(error)
        return
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        cluster.stop()
        _STARTED["why"] = f"the throwaway cluster did not start: {error}"
        return
    config.add_cleanup(cluster.stop)
    _STARTED["url"] = cluster.url


@pytest.fixture(scope="session")
def pg_server(pytestconfig: pytest.Config) -> str:
    """The session's server URL (see :func:`server_url`)."""
    return server_url(pytestconfig)


def with_database(url: str, name: str) -> str:
    """``url`` with its database replaced by ``name``."""
    address, _, query = url.partition("?")
    base = address.rpartition("/")[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


_CREATED: list[str] = []
"""The databases this session created, dropped at its end on a server of yours."""


def create_database(server_url: str) -> str:
    """A new, empty database on the server; its URL."""
    import psycopg

    name = "voucherify_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    _CREATED.append(name)
    return with_database(server_url, name)


def _drop_created(server_url: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        while _CREATED:
            admin.execute(f'DROP DATABASE IF EXISTS "{_CREATED.pop()}" WITH (FORCE)')


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` until true, failing the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty database for one test."""
    return create_database(pg_server)
