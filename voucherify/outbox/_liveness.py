"""Whether a worker on this host is alive, told by a lock only its process can hold.

Each worker holds an exclusive ``flock`` on a file of its own in a folder beside the outbox
file. The kernel drops the lock the moment the process ends, however it ends (``kill -9``
included), so another process that can take the lock knows the worker is gone; one that
cannot knows it lives, however slow it is. No clock, lease or heartbeat is involved, so a
live worker's claim is never taken over.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator, Optional

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


WRITE_LOCK = "write.lock"
"""The file in the folder that writers queue on; never a worker id (those are hex)."""


class WorkerLocks:
    """The lock files of one outbox's workers: ``<outbox file>-workers/<worker id>``."""

    def __init__(self, outbox_path: str) -> None:
        self.folder = Path(outbox_path + "-workers")
        self._held: dict[str, int] = {}
        """Lock files this process holds, by worker id: their descriptors."""
        self._write_fd: Optional[int] = None

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the outbox's write lock (``write.lock`` in the folder): writers of every
        process take it in turn, blocking in the kernel rather than polling."""
        if fcntl is None:  # pragma: no cover
            yield
            return
        if self._write_fd is None:
            self.folder.mkdir(mode=0o700, exist_ok=True)
            self._write_fd = os.open(self.folder / WRITE_LOCK,
                                     os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fd = self._write_fd
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def hold(self, worker: str) -> None:
        """Create and lock ``worker``'s file; held until :meth:`release` or the process ends."""
        if fcntl is None:  # pragma: no cover
            raise OSError("the outbox needs flock (POSIX) to tell live workers from dead ones")
        self.folder.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(self.folder / worker, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(fd, f"{os.getpid()}\n".encode())
        except BaseException:
            os.close(fd)
            raise
        self._held[worker] = fd

    def release(self, worker: str) -> None:
        """Give up ``worker``'s lock and remove its file."""
        fd = self._held.pop(worker, None)
        if fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.folder / worker)
        os.close(fd)

    def is_alive(self, worker: str) -> bool:
        """Whether ``worker``'s process still holds its lock (always true for our own)."""
        if worker in self._held:
            return True
        if fcntl is None:  # pragma: no cover
            return True
        fd = _open_existing(self.folder / worker)
        if fd is None:
            return False  # a worker locks its file before it may claim: no file, no worker
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def remove(self, worker: str) -> None:
        """Remove a dead worker's file."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.folder / worker)

    def forget_after_fork(self) -> None:
        """In a forked child: close the inherited descriptors. The parent's locks stay the
        parent's (its own descriptors still hold them) and end when it ends."""
        for fd in self._held.values():
            os.close(fd)
        self._held.clear()
        if self._write_fd is not None:
            # Shared with the parent: a flock on it here would pass while the parent holds it.
            os.close(self._write_fd)
            self._write_fd = None

    def close(self) -> None:
        """Close the write lock's descriptor (worker locks end with their workers)."""
        if self._write_fd is not None:
            os.close(self._write_fd)
            self._write_fd = None


def _open_existing(path: Path) -> Optional[int]:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
