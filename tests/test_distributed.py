"""Chief + 2 workers on 127.0.0.1 with AgingEvolutionOracle: exactly max_trials, no repeats."""

import glob
import json
import os
import socket
import subprocess
import sys

import pytest

MAX_TRIALS = 12
SCRIPT = os.path.join(os.path.dirname(__file__), "_distributed_search.py")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


pytestmark = pytest.mark.slow  # subprocesses: chief and workers


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_chief_and_two_workers_run_exactly_max_trials(tmp_path):
    port = _free_port()
    processes = []
    try:
        for role in ("chief", "tuner0", "tuner1"):
            env = {**os.environ, "KERASTUNER_TUNER_ID": role, "KERASTUNER_ORACLE_IP": "127.0.0.1",
                   "KERASTUNER_ORACLE_PORT": str(port), "PYTHONPATH": ROOT}
            log = open(tmp_path / f"{role}.log", "w")
            processes.append(subprocess.Popen(
                [sys.executable, SCRIPT, str(tmp_path), str(MAX_TRIALS)], env=env,
                stdout=log, stderr=subprocess.STDOUT))
            log.close()
        # Workers stop when the oracle says STOPPED; the chief when they are gone.
        codes = [process.wait(timeout=100) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    logs = {role: (tmp_path / f"{role}.log").read_text()[-2000:]
            for role in ("chief", "tuner0", "tuner1")}
    assert codes == [0, 0, 0], logs

    trials = [json.load(open(f)) for f in glob.glob(str(tmp_path / "chief/p/trial_*/trial.json"))]
    assert len(trials) == MAX_TRIALS
    assert all(t["status"] == "COMPLETED" for t in trials)
    values = {json.dumps(t["hyperparameters"]["values"], sort_keys=True) for t in trials}
    assert len(values) == MAX_TRIALS
    notes = json.load(open(tmp_path / "chief/p/oracle.json"))["notes"]
    assert sorted(notes) == sorted(t["trial_id"] for t in trials)
    assert any(note["phase"] == "mutation" for note in notes.values())
    assert sorted(os.listdir(tmp_path / "started")) == ["tuner0", "tuner1"]  # both ran trials
