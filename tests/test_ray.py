"""kerasnas on Ray Tune: an oracle as a Ray Tune searcher, and `--engine ray` runs."""

import json

import keras_tuner
import pandas as pd
import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

from kerasnas.oracles import make_oracle  # noqa: E402
from kerasnas.progress import Reporter  # noqa: E402
from kerasnas.search import search  # noqa: E402
from kerasnas.spaces import ResNetSpace  # noqa: E402

pytestmark = pytest.mark.slow  # Ray's start-up alone takes about 20 s here


@pytest.fixture(scope="module")
def local_ray():
    # Ray's workers inherit this process' environment: TensorFlow runs with as many threads
    # there as here, so the two engines' trials add their floats alike.
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_an_oracle_proposes_the_trials_of_a_users_own_ray_tune_program(local_ray, tmp_path):
    from ray import tune

    from kerasnas.ray import TRIAL_ID_KEY, OracleSearcher

    hp = keras_tuner.HyperParameters()
    hp.Choice("a", [0, 1, 2, 3])
    hp.Int("b", 0, 3)
    oracle = make_oracle("evolution", objective=keras_tuner.Objective("score", "max"),
                         max_trials=8, seed=0, hyperparameters=hp)

    def trainable(config):
        tune.report({"score": config["a"] * 4 + config["b"]})

    tuner = tune.Tuner(trainable, tune_config=tune.TuneConfig(
        search_alg=OracleSearcher(oracle, directory=str(tmp_path)), num_samples=-1,
        max_concurrent_trials=1))
    results = tuner.fit()
    assert len(results) == 8 and len(oracle.trials) == 8  # the oracle's budget ended the search
    scores = sorted(r.metrics["score"] for r in results)
    assert sorted(t.score for t in oracle.trials.values()) == scores
    configs = {json.dumps({k: v for k, v in r.config.items() if k != TRIAL_ID_KEY}, sort_keys=True)
               for r in results}
    assert len(configs) == 8  # never the same architecture twice
    assert sum(n["phase"] == "mutation" for n in oracle.notes.values()) == 5  # P = 3, then evolves
    assert (tmp_path / "oracle" / "trial_7" / "trial.json").is_file()


def test_a_searcher_refuses_an_oracle_without_a_space():
    from kerasnas.ray import OracleSearcher

    oracle = make_oracle("random", objective=keras_tuner.Objective("score", "max"), max_trials=2)
    with pytest.raises(ValueError, match="make it with `hyperparameters=`"):
        OracleSearcher(oracle)


def test_the_ray_engine_writes_what_the_keras_tuner_engine_writes(local_ray, tmp_path,
                                                                  synthetic_splits):
    def run(engine):
        directory = tmp_path / engine
        result = search(ResNetSpace(stages=1, blocks_per_stage=1), "evolution", synthetic_splits,
                        max_trials=3, epochs=1, seed=0, directory=str(directory),
                        reporter=Reporter(), engine=engine, cpus_per_trial=2)
        return directory, result

    (ray_dir, ray_result), (kt_dir, _) = run("ray"), run("keras_tuner")
    for name in ("results.csv", "summary.json", "best_model.keras", "report.md", "run.json"):
        assert (ray_dir / name).is_file(), name
    ray_table = pd.read_csv(ray_dir / "results.csv", dtype={"trial_id": str})
    kt_table = pd.read_csv(kt_dir / "results.csv", dtype={"trial_id": str})
    # One trial at a time (the cluster has room for one), the same seeds: the same trials,
    # trained alike.
    assert list(ray_table.arch) == list(kt_table.arch)
    assert list(ray_table.params) == list(kt_table.params)
    assert list(ray_table.val_loss) == pytest.approx(list(kt_table.val_loss), rel=1e-5)
    assert ray_result.summary["engine"] == "ray" and "Ray Tune" in ray_result.summary["method"]
    assert set(ray_table.columns) == set(kt_table.columns)
    # Ray pickles the searcher into its experiment folder: the oracle, not the run and its data.
    assert (ray_dir / "ray" / "tuner.pkl").stat().st_size < synthetic_splits.x_train.nbytes


def test_trials_run_as_many_at_once_as_the_cluster_has_room_for():
    from kerasnas.ray.engine import trial_slots

    assert trial_slots({"CPU": 16.0}, 2, 0) == 8
    assert trial_slots({"CPU": 16.0, "GPU": 2.0}, 2, 1) == 2
    assert trial_slots({"CPU": 2.0}, 4, 0) == 1  # a trial asking for more still runs, alone


def test_a_budget_in_minutes_on_the_ray_engine_is_refused_naming_the_way(tmp_path,
                                                                         synthetic_splits):
    with pytest.raises(ValueError, match="--engine ray takes a budget in epochs"):
        search(ResNetSpace(stages=1, blocks_per_stage=1), "random", synthetic_splits,
               budget_minutes=1, directory=str(tmp_path), reporter=Reporter(), engine="ray")


def test_a_budgeted_search_on_ray_promotes_as_the_keras_tuner_engine_does(local_ray, tmp_path,
                                                                          synthetic_splits):
    def run(engine):
        result = search(ResNetSpace(stages=1, blocks_per_stage=1), "random", synthetic_splits,
                        budget_epochs=5, seed=0, directory=str(tmp_path / engine),
                        reporter=Reporter(), engine=engine, cpus_per_trial=2)
        table = pd.read_csv(tmp_path / engine / "results.csv",
                            dtype={"trial_id": str, "promoted_from": str})
        return result, table

    (ray_result, ray_table), (kt_result, kt_table) = run("ray"), run("keras_tuner")
    columns = ["arch", "rung", "epochs_from", "epochs_to", "promoted_from"]
    # One at a time: synchronous halving, the same candidates and promotions, each promotion
    # continuing its parent's saved model.
    assert ray_table[columns].fillna("").values.tolist() == kt_table[columns].fillna("").values.tolist()
    assert list(ray_table.val_loss) == pytest.approx(list(kt_table.val_loss), rel=1e-4)
    assert ray_result.summary["budget"]["epochs_used"] == kt_result.summary["budget"]["epochs_used"]
    assert ray_result.summary["best_trial"] == kt_result.summary["best_trial"]


def _completed(directory):
    path = directory / "results.csv"
    if not path.is_file():
        return pd.DataFrame()
    table = pd.read_csv(path, dtype={"trial_id": str})
    return table[table.status == "COMPLETED"]


def test_a_trial_on_a_lost_node_is_retried_elsewhere_from_its_checkpoint(tmp_path,
                                                                         synthetic_splits):
    import threading
    import time

    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    nodes = [cluster.add_node(num_cpus=1) for _ in range(2)]  # a trial on each
    ray.init(address=cluster.address, log_to_driver=False)
    outcome = {}

    def run():
        outcome["result"] = search(
            ResNetSpace(stages=1, blocks_per_stage=1), "random", synthetic_splits, max_trials=3,
            epochs=8, seed=0, directory=str(tmp_path), reporter=Reporter(), engine="ray",
            cpus_per_trial=1)

    thread = threading.Thread(target=run)
    try:
        thread.start()
        deadline = time.time() + 300
        # Both running trials past their first epoch: the lost one has a checkpoint.
        while len(list(tmp_path.glob("search/trial_*/checkpoint.json"))) < 2:
            assert time.time() < deadline and thread.is_alive(), "no two trials checkpointed"
            time.sleep(0.05)
        cluster.remove_node(nodes[0])
        thread.join(timeout=600)
    finally:
        ray.shutdown()
        cluster.shutdown()
    table = pd.read_csv(tmp_path / "results.csv", dtype={"trial_id": str})
    assert list(table.status) == ["COMPLETED"] * 3  # exactly the budget, none lost
    assert (table.epochs_trained == 8).all()
    resumed = table.resumed_at_epoch.dropna()
    assert len(resumed) == 1 and resumed.iloc[0] >= 1  # the lost node's trial went on
    assert outcome["result"].summary["trials_completed"] == 3


def test_a_driver_killed_then_resumed_trains_nothing_twice_that_had_finished(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    if ray.is_initialized():
        ray.shutdown()
    script = os.path.join(os.path.dirname(__file__), "_ray_search_script.py")
    env = {**os.environ, "PYTHONPATH": os.path.dirname(__file__)}
    log = open(tmp_path / "log.txt", "a")
    first = subprocess.Popen([sys.executable, script, str(tmp_path / "run"), "4", "4", "0"],
                             stdout=log, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
    deadline = time.time() + 400
    while len(_completed(tmp_path / "run")) < 2:
        assert time.time() < deadline and first.poll() is None, (tmp_path / "log.txt").read_text()
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the driver and the Ray it started
    first.wait()
    before = _completed(tmp_path / "run").set_index("trial_id")
    second = subprocess.run([sys.executable, script, str(tmp_path / "run"), "4", "4", "1"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, timeout=600)
    assert second.returncode == 0, (tmp_path / "log.txt").read_text()[-3000:]
    after = _completed(tmp_path / "run").set_index("trial_id")
    assert sorted(after.index) == ["0", "1", "2", "3"]  # exactly the budget
    for trial_id, row in before.iterrows():  # finished before the kill: not trained again
        assert after.loc[trial_id, "train_seconds"] == row.train_seconds
        assert after.loc[trial_id, "end_seconds"] == row.end_seconds


def test_a_space_runs_under_rays_own_searcher_and_asha(local_ray, synthetic_splits):
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from kerasnas.ray import param_space, trainable

    space = ResNetSpace(stages=1, blocks_per_stage=1)
    space.for_data(input_shape=synthetic_splits.input_shape,
                   num_classes=synthetic_splits.num_classes, mean=synthetic_splits.mean,
                   variance=synthetic_splits.variance)
    params = param_space(space)
    assert params["stem_width"].categories == [16, 24, 32, 48]
    assert set(params) >= {"kernel_size", "learning_rate", "optimizer", "sgd_learning_rate"}
    tuner = tune.Tuner(
        trainable(space, synthetic_splits, epochs=3), param_space=params,
        tune_config=tune.TuneConfig(metric="val_accuracy", mode="max", num_samples=4,
                                    scheduler=ASHAScheduler(max_t=3, grace_period=1),
                                    search_alg=tune.search.BasicVariantGenerator(random_state=0)))
    results = tuner.fit()
    assert len(results) == 4 and not results.errors
    for result in results:
        assert 1 <= result.metrics["epoch"] <= 3 and 0 <= result.metrics["val_accuracy"] <= 1
        assert result.metrics["params"] > 0
