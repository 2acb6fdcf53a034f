"""Child processes: which interpreter, how it is started, and running one, bounded in time."""

from __future__ import annotations

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

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = Path(__file__).resolve().parent


SHELL = "/bin/sh"
FORKING_SHELL = (SHELL, "-c", '"$@"; exit $?', "sh")
"""A small shell that forks the command (it is not its last one, so no ``exec``): see
:func:`run`'s ``small_parent``."""


class ChildError(RuntimeError):
    """A child process failed, timed out or printed something that is not the expected JSON."""


@dataclass(frozen=True)
class Interpreter:
    """How to start a Python for one SDK.

    This repository's SDK runs in the harness's own interpreter with the repository on
    ``PYTHONPATH`` (so it is this very copy that is measured). The official SDK runs
    with ``-I`` from an empty directory, so that this repository's ``voucherify`` can never
    shadow it (``python -c`` from the repository root would import the local one).
    """

    label: str
    python: str
    flags: tuple[str, ...] = ()
    cwd: str = str(REPO)
    env: dict[str, str] = field(default_factory=dict)

    def argv(self, *args: str) -> list[str]:
        return [self.python, *self.flags, *args]

    def environment(self, extra: Optional[dict[str, str]] = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        env.update(extra or {})
        return env


def this_sdk() -> Interpreter:
    path = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    return Interpreter("voucherify (this repo)", sys.executable, env={"PYTHONPATH": path})


def official_sdk(python: str) -> Interpreter:
    return Interpreter("official", python, flags=("-I",), cwd=tempfile.gettempdir())


def run(
    interpreter: Interpreter,
    args: list[str],
    timeout: float,
    stdin: str = "",
    env: Optional[dict[str, str]] = None,
    small_parent: bool = False,
) -> tuple[float, str]:
    """Run one child to its end; its wall time (spawn to exit) and standard output.

    With ``small_parent`` the child is forked by a small shell rather than by this process.
    On Linux a process's ``ru_maxrss`` starts at the peak RSS of the memory it was exec'd
    from: a child spawned straight from this harness (25 MiB and more) reports at least
    that much, whatever it did itself. Forked by ``/bin/sh`` (about 1 MiB), it reports its
    own peak. The shell adds the same small start-up time to every command.

    Every child gets a session of its own, and any failure here (a timeout, Ctrl-C, SIGTERM)
    kills that whole group, the shell and the child it forked alike. Raises
    :class:`ChildError` if it exits non-zero or runs past ``timeout`` seconds.
    """
    argv = interpreter.argv(*args)
    if small_parent and small_parent_available():
        argv = [*FORKING_SHELL, *argv]
    started = time.perf_counter()
    with subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=interpreter.cwd,
        env=interpreter.environment(env),
        start_new_session=True,
    ) as popen:
        try:
            out, err = popen.communicate(stdin, timeout=timeout)
        except BaseException as error:
            _kill_group(popen)
            if isinstance(error, subprocess.TimeoutExpired):
                raise ChildError(
                    f"{interpreter.label}: {args[:2]} ran past {timeout:g} s"
                ) from error
            raise
        wall = time.perf_counter() - started
    if popen.returncode != 0:
        tail = err.strip().splitlines()[-5:]
        raise ChildError(
            f"{interpreter.label}: {args[:2]} exited {popen.returncode}: " + " | ".join(tail)
        )
    return wall, out


def _kill_group(popen: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    popen.kill()
    popen.communicate()


def small_parent_available() -> bool:
    return sys.platform.startswith("linux") and os.access(SHELL, os.X_OK)


def run_worker(
    interpreter: Interpreter, script: str, plan: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """Run one of the ``worker_*.py`` scripts with ``plan``; its JSON report."""
    plan = {**plan, "time_limit": int(timeout)}
    _, out = run(interpreter, [str(BENCHMARKS / script)], timeout + 5.0, stdin=json.dumps(plan))
    try:
        document: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError) as error:
        raise ChildError(f"{interpreter.label}: {script} printed {out[-200:]!r}") from error
    return document
