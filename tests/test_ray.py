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
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
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


def test_trials_run_as_many_at_once_as_the_cluster_has_room_for():
    from kerasnas.ray.engine import trial_slots

    assert trial_slots({"CPU": 16.0}, 2, 0) == 8
    assert trial_slots({"CPU": 16.0, "GPU": 2.0}, 2, 1) == 2
    assert trial_slots({"CPU": 2.0}, 4, 0) == 1  # a trial asking for more still runs, alone


def test_a_budget_on_the_ray_engine_is_refused_naming_the_way(tmp_path, synthetic_splits):
    with pytest.raises(ValueError, match="--engine ray runs trial by trial for now"):
        search(ResNetSpace(stages=1, blocks_per_stage=1), "random", synthetic_splits,
               budget_epochs=2, directory=str(tmp_path), reporter=Reporter(), engine="ray")
