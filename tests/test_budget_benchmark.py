"""benchmarks/budget.py: Hyperband's arithmetic and the report, on hand-made rows."""

import argparse
import json

import keras_tuner
import pytest

from benchmarks.budget import hyperband_epochs, hyperband_max_epochs, main, write_report


@pytest.mark.parametrize("max_epochs", [1, 2, 3, 4, 5, 9])
def test_hyperband_epochs_are_what_keras_tuners_own_oracle_schedules(tmp_path, max_epochs):
    oracle = keras_tuner.oracles.HyperbandOracle(objective=keras_tuner.Objective("score", "max"),
                                                 max_epochs=max_epochs, factor=3, seed=0)
    oracle._set_project_dir(str(tmp_path), "p")  # as its tuner does (a test of KerasTuner itself)
    oracle.hyperparameters.Int("a", 0, 1000)
    epochs = trials = 0
    while (trial := oracle.create_trial("tuner0")).status == "RUNNING":
        values = trial.hyperparameters.values
        epochs += values["tuner/epochs"] - values["tuner/initial_epoch"]
        trials += 1
        oracle.update_trial(trial.trial_id, {"score": values["a"]})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    assert hyperband_epochs(max_epochs) == (epochs, trials)


def test_the_largest_hyperband_within_a_budget():
    assert [hyperband_max_epochs(b) for b in (6, 12, 18, 30)] == [2, 3, 3, 4]


def test_the_report_sets_the_budgeted_search_beside_each_arm_with_a_paired_test(tmp_path):
    rows = []
    for seed, (budgeted, cnn) in enumerate([(0.90, 0.89), (0.91, 0.89), (0.92, 0.90)]):
        common = {"space": "resnet", "budget": 12.0, "seed": seed, "train_size": 10000,
                  "val_size": 2000, "seconds": 100.0}
        rows.append({**common, "arm": "budgeted", "test_accuracy": budgeted, "best": "x",
                     "split": {"selection_epochs": 2.5, "final_epochs": 9.5}})
        rows.append({**common, "arm": "cnn", "test_accuracy": cnn})
    out = tmp_path / "budget.md"
    args = argparse.Namespace(out=str(out), spaces="resnet", budgets="12", seeds="0,1,2",
                              train_size=10000, val_size=2000)
    write_report(args, rows)
    text = out.read_text()
    assert "| resnet x bayes | 12 | 0,1,2 | 91.00 ± 1.00 | 89.33 ± 0.58 |" in text
    assert "+1.67 (p 0.038)" in text  # margins 1, 2, 2 points: t = 5.0 on 2 degrees of freedom


def test_kept_rows_are_reported_and_not_run_again(tmp_path, monkeypatch):
    import kerasnas.datasets

    rows = [{"space": "resnet", "budget": 12.0, "seed": 0, "arm": arm, "train_size": 10000,
             "val_size": 2000, "seconds": 10.0, "test_accuracy": accuracy}
            for arm, accuracy in (("budgeted", 0.9), ("cnn", 0.88))]
    results = tmp_path / "kept.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "budget.md"
    # Both arms of seed 0 are kept: nothing is trained, and no data is loaded for them.
    monkeypatch.setattr(kerasnas.datasets, "make_splits", None)  # would raise if called
    main(["--spaces", "resnet", "--budgets", "12", "--seeds", "0", "--arms", "budgeted,cnn",
          "--results", str(results), "--run-dir", str(tmp_path / "runs"), "--out", str(out)])
    assert len(results.read_text().splitlines()) == 2
    assert "| resnet | 12 | 0 | budgeted | 90.00 |" in out.read_text()
