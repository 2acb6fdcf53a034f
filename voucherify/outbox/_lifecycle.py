"""What happens to open outboxes at interpreter exit and across ``os.fork()``.

Each open outbox is held weakly here. At exit, one with a running worker gets a bounded last
flush; what is left stays on disk for the next start. A ``multiprocessing`` child ends with
``os._exit()``, which runs no ``atexit`` hook, so a process that starts a worker also gets a
``multiprocessing`` finalizer (which such a child runs before it ends) doing the same.
Around a fork, every outbox's locks are held so that the child never inherits one
mid-transaction, and in the child each outbox drops what belongs to the parent (thread,
connections, worker lock) before anything can use it.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voucherify.outbox._outbox import Outbox

_OPEN: weakref.WeakSet[Outbox] = weakref.WeakSet()
_hooks_installed: list[bool] = []
_install_lock = threading.Lock()
_finalizer_installed: list[bool] = []


def register(outbox: Outbox) -> None:
    """Look after ``outbox`` at exit and across forks until it is closed."""
    with _install_lock:
        if not _hooks_installed:
            atexit.register(_at_exit)
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                                    after_in_child=_after_fork_in_child)
            _hooks_installed.append(True)
    _OPEN.add(outbox)


def worker_started() -> None:
    """A worker starts in this process: if ``multiprocessing`` is in use, make sure that a
    child of it ending here still gives its outboxes their last flush. A forked
    ``multiprocessing`` child clears the finalizers it inherits, then runs the after-fork
    hooks: that hook registers the finalizer again in each such child."""
    if "multiprocessing.util" not in sys.modules:
        return
    from multiprocessing import util

    with _install_lock:
        if _finalizer_installed:
            return
        _register_finalizer(_FORK_MARKER)
        util.register_after_fork(_FORK_MARKER, _register_finalizer)
        _finalizer_installed.append(True)


class _Marker:
    """What ``multiprocessing.util.register_after_fork`` keys its hook by (held weakly)."""


_FORK_MARKER = _Marker()


def _register_finalizer(marker: _Marker) -> None:
    from multiprocessing import util

    util.Finalize(None, _at_exit, exitpriority=100)


def unregister(outbox: Outbox) -> None:
    _OPEN.discard(outbox)


def _at_exit() -> None:
    for outbox in list(_OPEN):
        outbox._at_exit()


def _before_fork() -> None:
    for outbox in sorted(_OPEN, key=id):
        outbox._before_fork()


def _after_fork_in_parent() -> None:
    for outbox in sorted(_OPEN, key=id, reverse=True):
        outbox._after_fork_in_parent()


def _after_fork_in_child() -> None:
    for outbox in list(_OPEN):
        outbox._after_fork_in_child()
