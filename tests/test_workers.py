"""Chief/worker mode: a lost worker costs one re-run trial; the chief never hangs."""

import os
import signal
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tests", "_search_script.py")


pytestmark = pytest.mark.slow  # subprocesses: chief and workers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp_path, role, worker_id, port, space="ok", trials=6, timeout=6):
    log = open(tmp_path / f"{worker_id}.log", "w")
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, SCRIPT, str(tmp_path / "run"), role, worker_id, str(port),
                             space, "random", str(trials), str(timeout)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def stop_all(procs):
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def wait_for(predicate, timeout, procs):
    deadline = time.time() + timeout
    while time.time() < deadline and all(p.poll() is None for p in procs):
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_worker_killed_mid_trial_costs_only_a_rerun(tmp_path):
    port = free_port()
    procs = [start(tmp_path, "chief", "chief", port)]
    try:
        procs += [start(tmp_path, "worker", w, port) for w in ("tuner0", "tuner1")]
        victim_log = tmp_path / "tuner1.log"
        # Kill tuner1 right after its first finished trial: it is then inside its next one.
        assert wait_for(lambda: "tuner1: #" in victim_log.read_text(), 240, procs), victim_log.read_text()
        time.sleep(0.5)
        os.killpg(procs[2].pid, signal.SIGKILL)
        assert procs[0].wait(timeout=300) == 0, (tmp_path / "chief.log").read_text()[-3000:]
        assert procs[1].wait(timeout=60) == 0
    finally:
        stop_all(procs)
    chief_log = (tmp_path / "chief.log").read_text()
    table = pd.read_csv(tmp_path / "run" / "results.csv")
    assert len(table) == 6 and set(table.status) == {"COMPLETED"}
    values = table[[c for c in table if c.startswith("hp.")]].astype(str).agg("|".join, axis=1)
    assert values.nunique() == 6
    if "goes back in the queue" not in chief_log:
        # tuner1 was killed between trials: nothing to re-queue, still exactly 6 trials.
        assert "tuner1" not in chief_log
    assert (tmp_path / "run" / "best_model.keras").is_file()


def test_the_chief_exits_when_no_worker_comes(tmp_path):
    port = free_port()
    chief = start(tmp_path, "chief", "chief", port, timeout=3)
    try:
        code = chief.wait(timeout=120)
    finally:
        stop_all([chief])
    log = (tmp_path / "chief.log").read_text()
    assert code == 3 and "no worker has called" in log and "0 of 6 trials" in log


def test_failures_past_the_limit_stop_chief_and_workers_cleanly(tmp_path):
    port = free_port()
    procs = [start(tmp_path, "chief", "chief", port, space="failing", timeout=20)]
    try:
        procs.append(start(tmp_path, "worker", "tuner0", port, space="failing", timeout=20))
        codes = [p.wait(timeout=240) for p in procs]
    finally:
        stop_all(procs)
    log = (tmp_path / "chief.log").read_text()
    assert codes == [3, 0], log[-3000:]
    assert "consecutive failures exceeded the limit of 3" in log
    table = pd.read_csv(tmp_path / "run" / "results.csv")
    assert table.status.tolist() == ["FAILED"] * 3
    assert table.message.str.contains("cannot be built").all()
