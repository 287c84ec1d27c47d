"""KerasTuner's chief/worker mode, made safe to lose a worker.

KerasTuner's chief serves the oracle over gRPC until a worker is told STOPPED
and no trial is running. Three traps follow (measured with 1.4.8): a worker
that dies mid-trial leaves its trial "running" forever, so the chief never
exits and the budget is one trial short; a failure past the limit raises
inside the gRPC handler, killing the workers and leaving the chief waiting;
and when every worker is gone the chief waits forever. Here workers send a
heartbeat while they train, the chief re-queues the trial of a worker it has
not heard from within `worker_timeout` (another worker re-runs it with the same
id and values), tells workers to wait rather than stop while a trial may still
be re-queued, keeps serving until every worker has been told to stop (one
still ending its trial would otherwise wait forever on its next call), and
exits with a clear message when failures pass the limit or no worker is left.
"""

import contextlib
import os
import threading
import time
from concurrent import futures
from typing import TYPE_CHECKING

from keras_tuner import synchronized
from keras_tuner.engine import trial as trial_module

from kerasnas import keras_tuner_internals as internals

ROLES = ("chief", "worker")


class ChiefError(RuntimeError):
    """The chief stopped before the budget was spent (failures, or no workers left)."""


def configure(role, address, worker_id="tuner0"):
    """Sets KerasTuner's environment variables for `role` ("chief" or "worker").

    Args:
        role: "chief" (serves the oracle, never trains) or "worker".
        address: "host:port" of the chief (127.0.0.1 unless told otherwise).
        worker_id: The worker's name (workers only); unique per worker.

    Raises:
        ValueError: for an unknown role, a malformed address, or a worker named "chief".
    """
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; choose one of {ROLES}.")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--oracle-address must be HOST:PORT (e.g. 127.0.0.1:8000); got {address!r}.")
    if role == "worker" and worker_id == "chief":
        raise ValueError("A worker cannot be named 'chief'; use e.g. --worker-id tuner0.")
    os.environ["KERASTUNER_ORACLE_IP"] = host
    os.environ["KERASTUNER_ORACLE_PORT"] = port
    os.environ["KERASTUNER_TUNER_ID"] = "chief" if role == "chief" else worker_id


@contextlib.contextmanager
def quiet_debug_print():
    """Silences the `print` KerasTuner 1.4.8 left in `Parent.to_proto` while inside the block.

    A patch, because no hook reaches it: every gRPC call of chief/worker mode
    converts conditions to protos and floods stdout. Scoped to the chief's
    serving and the worker's search, and undone after, so KerasTuner is left
    unchanged for everything else in the process.
    """
    with internals.silenced_condition_to_proto():
        yield


def role():
    """ "chief", "worker", or None when not in chief/worker mode."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return None
    return "chief" if os.environ.get("KERASTUNER_TUNER_ID") == "chief" else "worker"


class Heartbeat:
    """Worker side: asks the chief about the running trial every `interval` seconds."""

    def __init__(self, oracle, trial_id, interval):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(oracle, trial_id, interval),
                                        daemon=True)

    def _beat(self, oracle, trial_id, interval):
        while not self._stop.wait(interval):
            try:
                oracle.get_trial(trial_id)
            except Exception:  # the chief is gone: the worker finds out at its next call
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()


def serve(oracle, *, worker_timeout=120.0, log=print, on_trial_end=None):
    """Chief side: serves `oracle` until the budget is spent; never hangs.

    Args:
        oracle: The oracle to serve.
        worker_timeout: Seconds of silence after which a worker counts as lost.
        log: Function receiving progress lines.
        on_trial_end: Called with each ended trial (on the chief's oracle).

    Raises:
        ChiefError: when failures pass the oracle's limit, or no worker has
            been heard from for `worker_timeout` seconds with trials left.
    """
    import grpc

    servicer = _make_servicer(oracle, on_trial_end)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    internals.add_servicer_to_server(servicer, server)
    address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    if server.add_insecure_port(address) == 0:
        raise ChiefError(f"Cannot listen on {address}: is another chief running? Pick another port.")
    server.start()
    log(f"chief: serving the oracle on {address}; workers lost after {worker_timeout:.0f} s of silence")
    try:
        while True:
            time.sleep(0.5)
            for tuner_id, trial_id in _requeue_silent(oracle, servicer.last_seen, worker_timeout):
                servicer.workers.discard(tuner_id)
                log(f"chief: no news from {tuner_id} for {worker_timeout:.0f} s: trial "
                    f"{trial_id} goes back in the queue")
            # Serve until every worker has been told to stop: a worker still ending its
            # trial would otherwise wait forever on its next call (KerasTuner's client
            # waits for the server to be ready).
            told = (servicer.workers <= servicer.stopped
                    or time.time() - servicer.last_call > worker_timeout)
            if servicer.finished and told and _nothing_running(oracle):
                break
            idle = time.time() - max(servicer.last_seen.values(), default=servicer.started)
            if servicer.failure is not None and (told and _nothing_running(oracle)
                                                 or idle > worker_timeout):
                raise ChiefError(f"the search stopped: {servicer.failure}")
            if idle > worker_timeout and _nothing_running(oracle):
                done = sum(t.status == "COMPLETED" for t in oracle.trials.values())
                raise ChiefError(
                    f"no worker has called for {idle:.0f} s and {done} of {oracle.max_trials} trials "
                    "are done; start workers (the same command with --role worker) and restart the "
                    "chief with --resume to finish.")
    finally:
        server.stop(grace=2)


def _make_servicer(oracle, on_trial_end):
    if TYPE_CHECKING:  # mypy cannot follow a base class found at run time
        from kerasnas.keras_tuner_internals import OracleServicer
    else:
        OracleServicer = internals.oracle_servicer_class()

    class Servicer(OracleServicer):
        def __init__(self, oracle):
            super().__init__(oracle)
            self.last_seen = {}  # trial id -> time of the last call about it
            self.started = time.time()
            self.finished = False
            self.failure = None
            self.on_trial_end = on_trial_end
            self.workers = set()  # tuner ids that asked for a trial
            self.stopped = set()  # tuner ids told that the search is over
            self.last_call = time.time()

        def _seen(self, trial_id):
            self.last_seen[trial_id] = self.last_call = time.time()

        def CreateTrial(self, request, context):
            self.last_call = time.time()
            self.workers.add(request.tuner_id)
            if self.failure is not None:
                trial = trial_module.Trial(self.oracle.get_space(), status=trial_module.TrialStatus.STOPPED)
            else:
                trial = self.oracle.create_trial(request.tuner_id)
            if trial.status == trial_module.TrialStatus.STOPPED and self.failure is None:
                if _nothing_running(self.oracle):
                    self.finished = True
                else:
                    # A running trial may still come back to the queue: wait, don't stop.
                    self.oracle.tuner_ids.add(request.tuner_id)
                    time.sleep(1)
                    trial.status = trial_module.TrialStatus.IDLE
            if trial.status == trial_module.TrialStatus.RUNNING:
                self._seen(trial.trial_id)
            elif trial.status == trial_module.TrialStatus.STOPPED:
                self.stopped.add(request.tuner_id)
            return internals.create_trial_response(trial)

        def UpdateTrial(self, request, context):
            self._seen(request.trial_id)
            return super().UpdateTrial(request, context)

        def GetTrial(self, request, context):
            self._seen(request.trial_id)
            return super().GetTrial(request, context)

        def EndTrial(self, request, context):
            trial = trial_module.Trial.from_proto(request.trial)
            self._seen(trial.trial_id)
            try:
                self.oracle.end_trial(trial)
            except RuntimeError as e:  # failures past the limit: stop everyone, cleanly
                # KerasTuner's `synchronized` releases its lock only when the method
                # returns, so this error leaves it held and every later gRPC call
                # would wait forever: the chief's known hang.
                internals.release_oracle_lock(self.oracle)
                self.failure = str(e).splitlines()[0]
                _forget(self.oracle, trial.trial_id)
            if self.on_trial_end is not None:
                self.on_trial_end(self.oracle.get_trial(trial.trial_id))
            return internals.end_trial_response()

    return Servicer(oracle)


@synchronized
def _nothing_running(oracle):
    return not oracle.ongoing_trials and not internals.retry_queue(oracle)


@synchronized
def _requeue_silent(oracle, last_seen, timeout):
    now, lost = time.time(), []
    for tuner_id, trial in list(oracle.ongoing_trials.items()):
        if now - last_seen.get(trial.trial_id, now) > timeout:
            oracle.ongoing_trials.pop(tuner_id)
            oracle.tuner_ids.discard(tuner_id)
            internals.retry_queue(oracle).append(trial.trial_id)
            last_seen.pop(trial.trial_id, None)
            lost.append((tuner_id, trial.trial_id))
    if lost:
        oracle.save()
    return lost


@synchronized
def _forget(oracle, trial_id):
    for tuner_id, trial in list(oracle.ongoing_trials.items()):
        if trial.trial_id == trial_id:
            oracle.ongoing_trials.pop(tuner_id)
    internals.save_trial(oracle, oracle.trials[trial_id])
    oracle.save()
