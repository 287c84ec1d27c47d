"""Several objectives: the run marks, lists, tests and exports the Pareto front."""

import json

import keras
import pandas as pd
import pytest

from kerasnas.progress import Reporter
from kerasnas.search import search
from kerasnas.settings import SearchSettings
from kerasnas.spaces import ResNetSpace


def space():
    return ResNetSpace(stages=1, blocks_per_stage=1)  # widths and kernels still searched


def brute_force_front(table, columns, directions):
    """Indices of the completed, feasible rows no other such row dominates (by definition)."""
    rows = table[(table.status == "COMPLETED") & (table.get("feasible", 1) != 0)]
    sign = {"max": 1.0, "min": -1.0}
    front = []
    for i, a in rows.iterrows():
        dominated = False
        for j, b in rows.iterrows():
            ge = all(sign[d] * b[c] >= sign[d] * a[c] for c, d in zip(columns, directions))
            gt = any(sign[d] * b[c] > sign[d] * a[c] for c, d in zip(columns, directions))
            dominated = dominated or (i != j and ge and gt)
        if not dominated:
            front.append(a.trial_id)
    return sorted(front)


@pytest.mark.parametrize("oracle", ["evolution", pytest.param("bayes", marks=pytest.mark.slow)])
def test_the_front_is_the_non_dominated_trials_each_tested_once_and_exported(
        tmp_path, synthetic_splits, oracle):
    result = search(space(), oracle, synthetic_splits, max_trials=6, epochs=1, seed=0,
                    directory=str(tmp_path), reporter=Reporter(),
                    objectives=("accuracy", "params"), constraints=("params<=60000",))
    table = pd.read_csv(tmp_path / "results.csv", dtype={"trial_id": str})
    marked = sorted(table[table.pareto == 1].trial_id)
    assert marked == brute_force_front(table, ["val_accuracy", "params"], ["max", "min"])
    front = result.summary["pareto_front"]
    assert sorted(m["trial_id"] for m in front) == marked
    best = result.summary["best_trial"]
    assert front[0]["trial_id"] == best  # the most accurate member is the returned model
    assert front[0]["test_accuracy"] == result.test_accuracy
    for member in front:
        model = keras.models.load_model(tmp_path / member["model"])
        assert model.count_params() == member["params"] <= 60000
        row = table[table.trial_id == member["trial_id"]].iloc[0]
        assert (member["accuracy"], member["params"]) == (row.val_accuracy, row.params)
        assert 0 <= member["test_accuracy"] <= 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["objectives"] == ["accuracy", "params"]
    assert keras.models.load_model(tmp_path / "best_model.keras").count_params() <= 60000


def test_with_one_objective_nothing_is_added(tmp_path, synthetic_splits):
    result = search(space(), "random", synthetic_splits, max_trials=1, epochs=1, seed=0,
                    directory=str(tmp_path), reporter=Reporter())
    table = pd.read_csv(tmp_path / "results.csv")
    assert "pareto" not in table and "flops" not in table
    assert "pareto_front" not in result.summary and not (tmp_path / "front").exists()


def test_latency_as_an_objective_is_measured_and_its_protocol_recorded(tmp_path, synthetic_splits):
    result = search(space(), "random", synthetic_splits, max_trials=2, epochs=1, seed=0,
                    directory=str(tmp_path), reporter=Reporter(),
                    objectives="accuracy,latency")
    table = pd.read_csv(tmp_path / "results.csv")
    assert (table.latency_ms > 0).all() and set(table.pareto) <= {0, 1} and table.pareto.sum() >= 1
    assert result.summary["latency_protocol"]["batch"] == 1
    assert all(m["latency"] > 0 for m in result.summary["pareto_front"])


@pytest.mark.parametrize("objectives, message", [
    ("accuracy,size", r"Unknown objective\(s\) \['size'\]; choose distinct names among: "
                      "accuracy, params, flops, latency"),
    ("accuracy,params,params", "An objective given twice"),
    ("params", "must include accuracy"),
])
def test_bad_objectives_are_refused_naming_the_valid_ones(objectives, message):
    with pytest.raises(ValueError, match=message):
        SearchSettings(objectives=objectives)


def test_the_settings_keep_one_spelling_of_the_objectives():
    assert (SearchSettings(objectives="accuracy, params").objectives
            == SearchSettings(objectives=["accuracy", "params"]).objectives == ("accuracy", "params"))


def test_an_oracle_of_one_objective_is_refused_a_trade_off_naming_those_that_trade_off(
        tmp_path, synthetic_splits):
    with pytest.raises(ValueError, match="The kt-gp oracle searches one objective; to trade off "
                                         r"\['params'\] choose one of: bayes, evolution, random, tpe"):
        search(space(), "kt-gp", synthetic_splits, max_trials=1, epochs=1,
               directory=str(tmp_path), reporter=Reporter(), objectives=("accuracy", "params"))
    assert not list(tmp_path.iterdir())  # refused before anything was written



def test_the_report_lists_and_plots_the_front(tmp_path, synthetic_splits):
    search(space(), "random", synthetic_splits, max_trials=3, epochs=1, seed=0,
           directory=str(tmp_path), reporter=Reporter(), objectives=("accuracy", "params", "flops"))
    report = (tmp_path / "report.md").read_text()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert "## Pareto front" in report and "![front](report_front.png)" in report
    for member in summary["pareto_front"]:
        assert f"| {member['trial_id']} |" in report and member["model"] in report
    assert (tmp_path / "report_front.png").stat().st_size > 10_000  # two panels drawn


@pytest.mark.slow
def test_a_budgeted_search_trades_off_too(tmp_path, synthetic_splits):
    result = search(space(), "evolution", synthetic_splits, budget_epochs=5, seed=0,
                    directory=str(tmp_path), reporter=Reporter(), objectives=("accuracy", "params"))
    table = pd.read_csv(tmp_path / "results.csv", dtype={"trial_id": str})
    marked = sorted(table[table.pareto == 1].trial_id)
    assert marked == brute_force_front(table, ["val_accuracy", "params"], ["max", "min"])
    assert sorted(m["trial_id"] for m in result.summary["pareto_front"]) == marked
    final = table[table.phase == "final"]
    assert len(final) == 1 and final.trial_id.iloc[0] == result.summary["best_trial"]
    assert result.summary["budget"]["epochs_used"] <= 5 + 1e-9


def test_of_equally_accurate_trials_the_smaller_is_returned(tmp_path):
    import keras_tuner

    from kerasnas import keras_tuner_internals as internals
    from kerasnas.early_stopping import best_finished
    from kerasnas.oracles import make_oracle
    from kerasnas.testing.oracle_contract import register_space

    oracle = make_oracle("random", objective=keras_tuner.Objective("val_accuracy", "max"),
                         max_trials=3, seed=0)
    internals.set_project_dir(oracle, str(tmp_path), "p")
    register_space(oracle)
    for accuracy, params in [(0.8, 900.0), (0.8, 100.0), (0.7, 10.0)]:
        trial = oracle.create_trial("tuner0")
        oracle.update_trial(trial.trial_id, {"val_accuracy": accuracy, "params": params})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    best = best_finished(oracle)
    assert (best.score, best.metrics.get_last_value("params")) == (0.8, 100.0)
