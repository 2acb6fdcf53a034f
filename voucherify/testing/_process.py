"""``LocalVoucherifyProcess``: the stand-in in a child process, driven over its admin API.

For code that forks, tests that kill the client process, or a server that must outlive the
test's threads. The parent picks every key and a random admin token and hands them to
``python -m voucherify.testing serve`` through environment variables, never on the command
line (visible to every user of the machine) and never printed. The child stops on SIGTERM,
and on its own when its standard input closes, so it does not outlive a parent that dies.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import secrets
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any, Mapping, Optional

from typing_extensions import Unpack

from voucherify._closing import Closing
from voucherify.testing._admin import KEY_ENV, TOKEN_ENV, TOKEN_HEADER, request_from_json
from voucherify.testing._fault_queue import check_injection
from voucherify.testing._options import ServerOptions, make_key, normalized_origins
from voucherify.testing._rate_limit import Limit, limit_from_pair, make_limit
from voucherify.testing._schemas import EventSchemas, parse_definition
from voucherify.testing._server import ADMIN_PREFIX
from voucherify.testing._state import RecordedEvent, RecordedRequest
from voucherify.testing.faults import Fault

STOP_TIMEOUT = 5.0
"""Seconds ``stop`` waits after SIGTERM before it kills the child."""

ADMIN_TIMEOUT = 10.0
"""Seconds an admin call may take."""

_OUTPUT_LINES = 200
"""How many lines of the child's output are kept, for error messages and tests."""

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent.parent)
"""The directory holding ``voucherify``, so that the child imports this very copy."""


class LocalVoucherifyProcess(Closing):
    """A running child-process stand-in, with :class:`LocalVoucherify`'s query and control surface.

    Make one with :meth:`LocalVoucherify.start_process`. It is already serving; use it as a
    context manager or call :meth:`stop`. After :meth:`stop`, ``events``, ``requests``,
    ``customers`` and ``rate_limited`` keep answering from a last snapshot taken just
    before the child was stopped.
    """

    def __init__(
        self,
        popen: subprocess.Popen[str],
        output: _Output,
        url: str,
        keys: Mapping[str, str],
        admin_token: str,
        allowed_origins: Optional[frozenset[str]],
    ) -> None:
        self._popen = popen
        self._output = output
        self.url = url
        """``http://HOST:PORT``, the value for ``Configuration(host=...)``."""
        self.host, _, port = url[len("http://") :].rpartition(":")
        self.port = int(port)
        self.app_id = keys["app_id"]
        self.app_token = keys["app_token"]
        self.client_app_id = keys["client_app_id"]
        self.client_token = keys["client_token"]
        self.allowed_origins = allowed_origins
        self._admin_token = admin_token
        self._lock = threading.Lock()
        self._stopped = False
        self._snapshot: Optional[dict[str, Any]] = None

    @classmethod
    def start(
        cls, startup_timeout: float = 10.0, **options: Unpack[ServerOptions]
    ) -> LocalVoucherifyProcess:
        """Start the child, wait until it prints its URL, give it the event definitions.

        Takes :class:`LocalVoucherify`'s keywords. Settings are checked here first, so a
        mistake raises the same error as that class would, before any process starts.
        Raises ``RuntimeError`` with the child's output if it is not serving within
        ``startup_timeout`` seconds.
        """
        unknown = set(options) - set(ServerOptions.__annotations__)
        if unknown:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
        allowed = normalized_origins(options.get("allowed_origins"))
        keys = {
            "app_id": make_key(options.get("app_id"), "app_id"),
            "app_token": make_key(options.get("app_token"), "app_token"),
            "client_app_id": make_key(options.get("client_app_id"), "client_app_id"),
            "client_token": make_key(options.get("client_token"), "client_token"),
        }
        limits = {
            "--rate-limit": limit_from_pair(options.get("rate_limit")),
            "--client-rate-limit": limit_from_pair(options.get("client_rate_limit")),
        }
        definitions = EventSchemas(options.get("event_schemas")).definitions()
        argv = [sys.executable, "-m", "voucherify.testing", "serve", "--exit-on-eof"]
        argv += ["--host", options.get("host", "127.0.0.1")]
        argv += ["--port", str(int(options.get("port", 0)))]
        for origin in sorted(allowed or ()):
            argv += ["--allowed-origin", origin]
        for flag, limit in limits.items():
            if limit is not None:
                argv += [flag, _limit_text(limit)]

        admin_token = secrets.token_hex(32)
        env = dict(os.environ)
        env.update({KEY_ENV[name]: value for name, value in keys.items()})
        env[TOKEN_ENV] = admin_token
        env["PYTHONPATH"] = os.pathsep.join(
            [_PACKAGE_ROOT, *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        popen = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        output = _Output(popen)
        url = output.first_line(startup_timeout)
        if url is None or not url.startswith("http://"):
            exited = popen.poll() is not None
            _end(popen, output)
            what = "exited" if exited else "was stopped and exited"
            raise RuntimeError(
                f"the local Voucherify process did not print its URL within "
                f"{startup_timeout:g} s; it {what} with code {popen.returncode}. "
                f"Its output:\n{output.text() or '(none)'}"
            )
        server = cls(popen, output, url, keys, admin_token, allowed)
        try:
            for name, metadata in definitions.items():
                server.define_event(name, metadata)
        except BaseException:
            server.stop()
            raise
        return server

    # -- lifecycle ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Snapshot the records, then stop the child: SIGTERM, and a kill if it lingers.

        Does nothing if already stopped.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            self._snapshot = {
                "events": self._call("GET", "events")["events"],
                "requests": self._call("GET", "requests")["requests"],
                "customers": self._call("GET", "customers")["customers"],
                "rate_limited": self._call("GET", "rate-limited")["rate_limited"],
            }
        except RuntimeError:
            self._snapshot = None  # the child is gone or hung; its records went with it
        _end(self._popen, self._output)

    def close(self) -> None:
        """The same as :meth:`stop`; ``with`` calls it when the block ends."""
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the child is serving (not stopped, not exited)."""
        return not self._stopped and self._popen.poll() is None

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._popen.pid

    @property
    def returncode(self) -> Optional[int]:
        """The child's exit code once it exited (0 after a clean stop); ``None`` before."""
        return self._popen.poll()

    @property
    def output(self) -> str:
        """What the child printed on stdout and stderr (the last lines): its URL, warnings."""
        return self._output.text()

    # -- what it saw -------------------------------------------------------------------------

    @property
    def events(self) -> list[RecordedEvent]:
        """The accepted events, oldest first."""
        events: list[RecordedEvent] = self._read("events")
        return events

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, with its status and fault, oldest first."""
        return [request_from_json(doc) for doc in self._read("requests")]

    @property
    def customers(self) -> list[dict[str, Any]]:
        """The customers events created or updated, in creation order."""
        customers: list[dict[str, Any]] = self._read("customers")
        return customers

    @property
    def rate_limited(self) -> int:
        """How many requests were refused with 429 by a rate limit."""
        count: int = self._read("rate_limited", "rate-limited")
        return count

    def reset(self) -> None:
        """As :meth:`LocalVoucherify.reset`: forget records, 429 count, windows and faults."""
        self._control("POST", "reset")

    # -- faults, limits, definitions ---------------------------------------------------------

    def inject(self, fault: Fault, times: int = 1, path: Optional[str] = None) -> None:
        """As :meth:`LocalVoucherify.inject`."""
        check_injection(fault, times, path)
        self._control("POST", "faults", {"fault": fault.to_json(), "times": times, "path": path})

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        self._control("DELETE", "faults")

    def set_rate_limit(self, limit: Optional[int], window_seconds: float = 60.0) -> None:
        """As :meth:`LocalVoucherify.set_rate_limit`."""
        make_limit(limit, window_seconds)
        self._control("POST", "rate-limit", {"limit": limit, "window_seconds": window_seconds})

    def set_client_rate_limit(self, limit: Optional[int], window_seconds: float = 60.0) -> None:
        """As :meth:`LocalVoucherify.set_client_rate_limit`."""
        make_limit(limit, window_seconds)
        doc = {"limit": limit, "window_seconds": window_seconds}
        self._control("POST", "client-rate-limit", doc)

    def define_event(self, name: str, metadata: Optional[Mapping[str, str]] = None) -> None:
        """As :meth:`LocalVoucherify.define_event`."""
        parse_definition(name, metadata)
        doc = {"name": name, "metadata": None if metadata is None else dict(metadata)}
        self._control("POST", "events", doc)

    def __repr__(self) -> str:
        # Never the keys or the admin token: a repr ends up in logs and test reports.
        state = "running" if self.running else "stopped"
        return f"LocalVoucherifyProcess(url={self.url!r}, pid={self.pid}, {state})"

    # -- admin API ---------------------------------------------------------------------------

    def _read(self, field: str, route: Optional[str] = None) -> Any:
        if self._stopped:
            if self._snapshot is None:
                raise RuntimeError("the process ended before its records could be read")
            return json.loads(json.dumps(self._snapshot[field]))
        return self._call("GET", route or field)[field]

    def _control(self, method: str, route: str, doc: Optional[Mapping[str, Any]] = None) -> None:
        if self._stopped:
            raise RuntimeError("the local Voucherify process is stopped")
        self._call(method, route, doc)

    def _call(self, method: str, route: str, doc: Optional[Mapping[str, Any]] = None) -> Any:
        """One admin request; its JSON answer, or the error it reports raised here."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        connection = http.client.HTTPConnection(host.strip("[]"), self.port, timeout=ADMIN_TIMEOUT)
        headers = {TOKEN_HEADER: self._admin_token, "Content-Type": "application/json"}
        body = None if doc is None else json.dumps(doc).encode("utf-8")
        try:
            connection.request(method, ADMIN_PREFIX + route, body=body, headers=headers)
            response = connection.getresponse()
            status, raw = response.status, response.read()
        except OSError as exc:
            raise RuntimeError(
                f"the local Voucherify process at {self.url} did not answer: {exc}"
            ) from None
        finally:
            connection.close()
        answer = json.loads(raw) if raw else {}
        if status == 400 and "error" in answer:
            kind = TypeError if answer["error"] == "TypeError" else ValueError
            raise kind(answer["message"])
        if status != 200:
            raise RuntimeError(f"the local Voucherify process refused {method} {route}: {status}")
        return answer


class _Output:
    """Reads the child's stdout and stderr as they come, so that its pipes never fill up."""

    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._first: queue.Queue[Optional[str]] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._pump, args=(popen.stdout, True), daemon=True),
            threading.Thread(target=self._pump, args=(popen.stderr, False), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def first_line(self, timeout: float) -> Optional[str]:
        """The first line on stdout, stripped; ``None`` if none came within ``timeout``."""
        try:
            return self._first.get(timeout=timeout)
        except queue.Empty:
            return None

    def text(self) -> str:
        """The last lines read from both streams."""
        with self._lock:
            return "".join(self._lines)

    def join(self, timeout: float) -> None:
        """Wait for both streams to end (the child exited)."""
        for thread in self._threads:
            thread.join(timeout)

    def _pump(self, stream: Optional[IO[str]], is_stdout: bool) -> None:
        if stream is None:
            return
        first = is_stdout
        with stream:
            for line in stream:
                with self._lock:
                    self._lines.append(line)
                    del self._lines[:-_OUTPUT_LINES]
                if first:
                    self._first.put(line.strip())
                    first = False
        if first:
            self._first.put(None)  # stdout ended without a line: the child is gone


def _end(popen: subprocess.Popen[str], output: _Output) -> None:
    """Stop the child: SIGTERM, a kill after :data:`STOP_TIMEOUT`; reap it, close its pipes.

    Its stdin closes only once it is gone: one way to stop at a time.
    """
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
    if popen.stdin is not None:
        with contextlib.suppress(OSError):
            popen.stdin.close()
    output.join(STOP_TIMEOUT)


def _limit_text(limit: Limit) -> str:
    """A limit as ``serve`` takes it: ``N/SECONDS``, the seconds exact."""
    return f"{limit.requests}/{limit.window!r}"

