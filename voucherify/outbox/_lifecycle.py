"""What happens to open outboxes at interpreter exit and across ``os.fork()``.

Each open outbox is held weakly here. At exit, one with a running worker gets a bounded last
flush; what is left stays on disk for the next start. Around a fork, every outbox's locks are
held so that the child never inherits one mid-transaction, and in the child each outbox drops
what belongs to the parent (thread, connections, worker lock) before anything can use it.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voucherify.outbox._outbox import Outbox

_OPEN: weakref.WeakSet[Outbox] = weakref.WeakSet()
_hooks_installed: list[bool] = []
_install_lock = threading.Lock()


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
