"""Constraints on a model's footprint: checked once built, before training; never returned."""

import os

import keras
import keras_tuner
import pandas as pd
import pytest

from kerasnas.footprint import LATENCY_PROTOCOL, footprint, latency_ms
from kerasnas.layers import estimate_flops
from kerasnas.progress import Reporter
from kerasnas.search import search
from kerasnas.spaces import ResNetSpace


def space():
    return ResNetSpace(stages=1, blocks_per_stage=1)  # widths and kernels still searched


def unscreened(max_trials):
    """KerasTuner's own random search: it has no `screen`, so its draws that break a bound
    reach the tuner (kerasnas' oracles draw again)."""
    return keras_tuner.oracles.RandomSearchOracle(
        objective=keras_tuner.Objective("val_accuracy", "max"), max_trials=max_trials, seed=1)


@pytest.mark.slow
def test_a_candidate_that_breaks_a_bound_is_never_trained_nor_returned(tmp_path, synthetic_splits):
    result = search(space(), unscreened(6), synthetic_splits, max_trials=6, epochs=1, seed=0,
                    directory=str(tmp_path), reporter=Reporter(), constraints=("params<=20000",))
    table = pd.read_csv(tmp_path / "results.csv", dtype={"trial_id": str})
    kept = table.params <= 20000
    assert 0 < kept.sum() < len(table)  # the seed draws both kinds
    assert (table.feasible == kept.astype(float)).all()
    broken = table[~kept]
    assert (broken.epochs_trained == 0).all() and (broken.val_accuracy == 0).all()
    assert all(m.startswith("infeasible, not trained: ") and m.endswith("breaks params<=20000")
               for m in broken.message)
    for trial_id in broken.trial_id:  # nothing was trained or saved for them
        assert not os.path.exists(tmp_path / "search" / f"trial_{trial_id}" / "model.keras")
    assert (table[kept].epochs_trained == 1).all()
    assert result.summary["best_trial"] in set(table[kept].trial_id)
    model = keras.models.load_model(tmp_path / "best_model.keras")
    assert model.count_params() <= 20000
    assert result.summary["constraints"] == ["params<=20000"]
    assert (table.flops > 0).all() and "latency_ms" not in table  # latency only when bounded


@pytest.mark.slow
def test_a_screening_oracle_trains_its_whole_budget_within_the_bounds(tmp_path, synthetic_splits):
    # The same search with kerasnas' random search: its draws are screened on their size.
    search(space(), "random", synthetic_splits, max_trials=6, epochs=1, seed=0,
           directory=str(tmp_path), reporter=Reporter(), constraints=("params<=20000",))
    table = pd.read_csv(tmp_path / "results.csv", dtype={"trial_id": str})
    assert len(table) == 6 and (table.params <= 20000).all() and (table.feasible == 1).all()
    assert (table.epochs_trained == 1).all()


def test_when_no_candidate_keeps_the_bounds_the_run_says_so(tmp_path, synthetic_splits):
    with pytest.raises(ValueError, match=r"No candidate kept the constraints \(params<=100\): "
                                         r"each trial broke one"):
        search(space(), unscreened(2), synthetic_splits, max_trials=2, epochs=1, seed=0,
               directory=str(tmp_path), reporter=Reporter(), constraints=("params<=100",))
    assert len(pd.read_csv(tmp_path / "results.csv")) == 2  # what ran is kept


@pytest.mark.slow
def test_a_budgeted_search_never_promotes_a_candidate_that_broke_a_bound(tmp_path,
                                                                         synthetic_splits):
    result = search(space(), unscreened(100), synthetic_splits, budget_epochs=5, seed=0,
                    directory=str(tmp_path), reporter=Reporter(), constraints=("params<=20000",))
    table = pd.read_csv(tmp_path / "results.csv", dtype={"trial_id": str, "promoted_from": str})
    broken = set(table[table.feasible == 0].trial_id)
    assert broken and not broken & set(table.promoted_from.dropna())
    assert result.summary["best_trial"] not in broken


@pytest.mark.slow
def test_a_budgeted_searchs_proposer_is_screened_as_well(tmp_path, synthetic_splits):
    search(space(), "random", synthetic_splits, budget_epochs=5, seed=0,
           directory=str(tmp_path), reporter=Reporter(), constraints=("params<=20000",))
    table = pd.read_csv(tmp_path / "results.csv", dtype={"trial_id": str})
    proposals = table[(table.rung == 0) & (table.phase != "start")]
    assert len(proposals) == 2 and (proposals.params <= 20000).all()


def test_the_footprint_is_the_models_size_and_its_latency_by_the_protocol(synthetic_splits):
    data = synthetic_splits
    s = space().for_data(input_shape=data.input_shape, num_classes=data.num_classes,
                         mean=data.mean, variance=data.variance)
    import keras_tuner

    model = s.build(keras_tuner.HyperParameters())
    sizes = footprint(model, latency=True)
    assert sizes["params"] == model.count_params() and sizes["flops"] == estimate_flops(model)
    assert sizes["latency_ms"] > 0 and latency_ms(model) > 0
    assert set(footprint(model)) == {"params", "flops"}
    assert (LATENCY_PROTOCOL["batch"], LATENCY_PROTOCOL["statistic"]) == (1, "median")


@pytest.mark.slow
@pytest.mark.parametrize("oracle", ["bayes", "tpe", "evolution"])
def test_every_oracle_returns_a_model_within_the_bounds(tmp_path, synthetic_splits, oracle):
    result = search(space(), oracle, synthetic_splits, max_trials=4, epochs=1, seed=0,
                    directory=str(tmp_path), reporter=Reporter(), constraints=("flops<=9e6",))
    table = pd.read_csv(tmp_path / "results.csv", dtype={"trial_id": str})
    best = table[table.trial_id == result.summary["best_trial"]].iloc[0]
    assert best.flops <= 9e6 and best.feasible == 1
    assert (table.feasible == (table.flops <= 9e6).astype(float)).all()


@pytest.mark.slow
def test_a_latency_bound_records_each_latency_and_the_protocol(tmp_path, synthetic_splits):
    result = search(space(), "random", synthetic_splits, max_trials=1, epochs=1, seed=0,
                    directory=str(tmp_path), reporter=Reporter(), constraints=("latency<=10000",))
    table = pd.read_csv(tmp_path / "results.csv")
    assert table.latency_ms[0] > 0 and table.feasible[0] == 1
    protocol = result.summary["latency_protocol"]
    assert {k: protocol[k] for k in LATENCY_PROTOCOL} == LATENCY_PROTOCOL
    assert protocol["backend"] == keras.backend.backend() and "threads" in protocol
