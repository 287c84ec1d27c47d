"""The run folder's lock: one live process at a time, a killed one's lock taken over."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from kerasnas.lock import LOCK_FILE, FolderBusy, FolderLock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOLD = ("import sys, time; from kerasnas.lock import FolderLock; FolderLock(sys.argv[1]).acquire(); "
        "print('held', flush=True); time.sleep(60)")


def hold_in_child(directory):
    """A child process that takes the lock and sleeps; returns it once it holds the lock."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(directory)], env=env,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_live_holder_is_named_and_the_lock_file_left_alone(tmp_path):
    child = hold_in_child(tmp_path)
    try:
        before = (tmp_path / LOCK_FILE).read_text()
        for attempt in (FolderLock(tmp_path).check, FolderLock(tmp_path).acquire):
            with pytest.raises(FolderBusy, match=rf"in use by process {child.pid} on "
                                                 rf"{socket.gethostname()} since .*--resume"):
                attempt()
        assert (tmp_path / LOCK_FILE).read_text() == before
    finally:
        child.kill()
        child.wait()


def test_a_lock_left_by_kill_9_is_stale_and_taken_over(tmp_path):
    child = hold_in_child(tmp_path)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == child.pid  # left behind
    lock = FolderLock(tmp_path)
    lock.check()  # not busy
    lock.acquire()
    assert lock.stale.pid == child.pid
    assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()
    lock.release()
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_second_lock_in_the_same_process_is_refused_until_released(tmp_path):
    first = FolderLock(tmp_path)
    first.acquire()
    with pytest.raises(FolderBusy, match=f"process {os.getpid()} on"):
        FolderLock(tmp_path).acquire()
    first.release()
    second = FolderLock(tmp_path)
    second.acquire()
    assert second.stale is None  # released properly: nothing was taken over
    second.release()


def test_without_flock_a_live_pid_on_this_host_still_holds(tmp_path):
    # A file system where flock is a no-op: the holder's pid is the second guard.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        (tmp_path / LOCK_FILE).write_text(json.dumps(
            {"pid": sleeper.pid, "host": socket.gethostname(), "started": time.time(),
             "command": "python -m kerasnas.run"}))
        with pytest.raises(FolderBusy, match=f"process {sleeper.pid} .*kerasnas.run"):
            FolderLock(tmp_path).acquire()
    finally:
        sleeper.kill()
        sleeper.wait()
    # Its pid is dead now: stale.
    lock = FolderLock(tmp_path)
    lock.acquire()
    assert lock.stale.pid == sleeper.pid
    lock.release()
