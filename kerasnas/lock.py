"""A lock on a run folder: one search process at a time, a killed one's lock recognised.

The lock is `kerasnas.lock` in the folder: an `flock`ed file holding the
holder's pid, host, start time and command. The kernel drops an `flock` when
its process dies, `kill -9` included, so a lock file nobody holds is stale;
as a second guard (file systems where `flock` is a no-op) a holder whose pid
is alive on this host is never taken over. No TensorFlow here: the CLI checks
the lock before its heavy imports, so a second process refuses within seconds.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import socket
import sys
import time

LOCK_FILE = "kerasnas.lock"


class FolderBusy(ValueError):
    """Another live process holds the run folder."""


@dataclasses.dataclass
class Holder:
    """Who holds (or held) a lock."""

    pid: int
    host: str
    started: float
    command: str = ""

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        return f"process {self.pid} on {self.host} since {since}"

    def alive(self) -> bool:
        """Whether the holder may still run (True when it is on another host: unknown)."""
        if self.host != socket.gethostname():
            return True
        import psutil

        try:
            # A reused pid belongs to a process created after the holder started.
            return psutil.Process(self.pid).create_time() <= self.started + 1.0
        except psutil.Error:
            return False


class FolderLock:
    """The lock of one run folder.

    Args:
        directory: The run folder (must exist before `acquire`).
    """

    def __init__(self, directory: str):
        self.path = os.path.join(directory, LOCK_FILE)
        self._fd: int | None = None
        self.stale: Holder | None = None  # the dead holder taken over, if any

    def holder(self) -> Holder | None:
        """The holder written in the lock file, or None (no file, or unreadable)."""
        try:
            with open(self.path) as f:
                return Holder(**json.load(f))
        except (OSError, ValueError, TypeError):
            return None

    def busy_message(self, holder: Holder, directory: str) -> str:
        return (f"{directory} is in use by {holder.describe()} ({holder.command or 'a search'}). "
                "Wait for it to finish; if that process has ended, continue its search with "
                "--resume; or choose another --output-dir.")

    def check(self) -> None:
        """Raises FolderBusy if a live process holds the lock; changes nothing."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            holder = self.holder()
            if holder is not None and holder.pid != os.getpid() and holder.alive():
                raise FolderBusy(self.busy_message(holder, os.path.dirname(self.path)))
        except BlockingIOError:
            holder = self.holder() or Holder(-1, "?", time.time())
            raise FolderBusy(self.busy_message(holder, os.path.dirname(self.path))) from None
        finally:
            os.close(fd)

    def acquire(self) -> None:
        """Takes the lock, taking over a stale one (noted in `self.stale`).

        Raises:
            FolderBusy: naming the live holder and what to do.
        """
        directory = os.path.dirname(self.path)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = self.holder() or Holder(-1, "?", time.time())
                raise FolderBusy(self.busy_message(holder, directory)) from None
            # The holder we raced with may have removed the file after we opened it.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        previous = self.holder()
        if previous is not None and previous.pid != os.getpid() and previous.alive():
            os.close(fd)  # flock does not work on this file system; the pid says it is held
            raise FolderBusy(self.busy_message(previous, directory))
        self.stale = previous
        me = Holder(os.getpid(), socket.gethostname(), time.time(), " ".join(sys.argv)[:300])
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(dataclasses.asdict(me)).encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        """Removes the lock file, then lets go (a no-op if not held)."""
        if self._fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self._fd)
        self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None
