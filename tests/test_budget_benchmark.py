"""benchmarks/budget.py: Hyperband's arithmetic and the report, on hand-made rows."""

import argparse
import json

import keras_tuner
import pytest

from benchmarks.budget import (hyperband_epochs, hyperband_max_epochs, load_results, main,
                               write_report)


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
    assert "| resnet x bayes | 12 | 10000 / 2000 | default | 0,1,2 | 91.00 ± 1.00 | 89.33 ± 0.58 |" in text
    # margins 1, 2, 2 points: t = 5.0 on 2 degrees of freedom
    assert "| budgeted | +1.67 (p 0.038, seeds 0,1,2) |" in text


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
    assert "| resnet | 12 | 10000 | default | 0 | budgeted | 90.00 |" in out.read_text()


def test_rows_at_another_size_or_scale_are_their_own_and_reported_apart(tmp_path, monkeypatch):
    import kerasnas.datasets

    common = {"space": "nasbench201", "budget": 18.0, "seed": 0, "seconds": 10.0}
    rows = [{**common, "arm": "budgeted", "train_size": 10000, "val_size": 2000,
             "test_accuracy": 0.9},
            {**common, "arm": "budgeted", "train_size": 50000, "val_size": 10000,
             "space_options": {"channels": 8, "cells_per_stage": 2}, "test_accuracy": 0.92}]
    results = tmp_path / "kept.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = load_results(str(results))
    assert len(done) == 2
    out = tmp_path / "budget.md"
    args = ["--spaces", "nasbench201", "--budgets", "18", "--seeds", "0", "--arms", "budgeted",
            "--results", str(results), "--run-dir", str(tmp_path / "runs"), "--out", str(out)]
    monkeypatch.setattr(kerasnas.datasets, "make_splits", None)  # would raise if called
    main(args + ["--train-size", "50000", "--val-size", "10000", "--space-option",
                 "nasbench201:cells_per_stage=2", "--space-option", "nasbench201:channels=8"])
    text = out.read_text()
    assert "| nasbench201 x evolution | 18 | 10000 / 2000 | default | 0 | 90.00 ± 0.00 |" in text
    assert ("| nasbench201 x evolution | 18 | 50000 / 10000 | cells_per_stage=2,channels=8 | 0 | "
            "92.00 ± 0.00 |") in text
    with pytest.raises(TypeError):  # the same arm at another scale is not kept: it would run
        main(args + ["--train-size", "50000", "--val-size", "10000", "--space-option",
                     "nasbench201:channels=16"])


def test_an_unknown_space_ends_the_harness_naming_the_known_ones(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--spaces", "resnet,mobilenet", "--results", str(tmp_path / "r.jsonl"),
              "--run-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "budget.md")])
    assert exit_info.value.code == 2
    assert "--spaces: unknown mobilenet; choose from resnet, custom, nasbench201, convnet" in \
        capsys.readouterr().err


def test_a_malformed_space_option_ends_the_harness_naming_it(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--space-option", "resnet50:width=3", "--out", str(tmp_path / "b.md"),
              "--results", str(tmp_path / "r.jsonl"), "--run-dir", str(tmp_path / "runs")])
    assert stop.value.code == 2
    assert "--space-option expects SPACE:KEY=VALUE with SPACE in resnet, custom, nasbench201, convnet; " \
           "got 'resnet50:width=3'" in capsys.readouterr().err


@pytest.mark.parametrize("arm, other", [("cnn", "cnn-trainval"), ("cnn-trainval", "cnn")])
def test_the_cnn_of_a_seed_trains_once_and_other_spaces_share_it(tmp_path, monkeypatch, arm, other):
    import kerasnas.datasets

    row = {"space": "resnet", "budget": 12.0, "seed": 0, "arm": arm, "train_size": 10000,
           "val_size": 2000, "seconds": 30.0, "test_accuracy": 0.89, "note": "alone"}
    results = tmp_path / "kept.jsonl"
    results.write_text(json.dumps(row) + "\n")
    monkeypatch.setattr(kerasnas.datasets, "make_splits", None)  # would raise if called
    main(["--spaces", "custom,nasbench201", "--budgets", "12", "--seeds", "0", "--arms", arm,
          "--results", str(results), "--run-dir", str(tmp_path / "runs"),
          "--out", str(tmp_path / "budget.md")])
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [(r["space"], r["test_accuracy"], r.get("shared_from")) for r in rows] == [
        ("resnet", 0.89, None), ("custom", 0.89, "resnet"), ("nasbench201", 0.89, "resnet")]
    with pytest.raises(TypeError):  # the other CNN trains on other images: it would train
        main(["--spaces", "custom", "--budgets", "12", "--seeds", "0", "--arms", other,
              "--results", str(results), "--run-dir", str(tmp_path / "runs"),
              "--out", str(tmp_path / "budget.md")])
    with pytest.raises(TypeError):  # on other images it is not the same CNN: it would train
        main(["--spaces", "custom", "--budgets", "12", "--seeds", "0", "--arms", arm,
              "--train-size", "50000", "--val-size", "10000", "--results", str(results),
              "--run-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "budget.md")])


def test_an_arm_missing_seeds_is_reported_over_the_seeds_it_has(tmp_path):
    common = {"space": "custom", "budget": 12.0, "train_size": 10000, "val_size": 2000,
              "seconds": 10.0}
    rows = [{**common, "seed": s, "arm": "cnn", "test_accuracy": 0.89} for s in (0, 1, 2)]
    rows += [{**common, "seed": s, "arm": "budgeted", "test_accuracy": a}
             for s, a in ((0, 0.90), (2, 0.92))]
    rows += [{**common, "seed": 1, "arm": "any-lead", "test_accuracy": 0.88,
              "renamed_from": "budgeted"}]
    out = tmp_path / "budget.md"
    args = argparse.Namespace(out=str(out), spaces="custom", budgets="12", seeds="0,1,2",
                              train_size=10000, val_size=2000)
    write_report(args, rows)
    text = out.read_text()
    assert "| custom x evolution | 12 | 10000 / 2000 | default | 0,1,2 | 91.00 ± 1.41 (seeds 0,2) " \
           "| 89.00 ± 0.00 |" in text
    # margins 1 and 3: t = 2, 1 d.f.; the any-lead arm has seed 1 only
    assert "| custom x evolution | 12 | 10000 / 2000 | default | budgeted | +2.00 (p 0.295, seeds 0,2) " \
           "| - | - | - | - |  | - | - | - | - | - | 10 |" in text
    assert "| any-lead | -1.00 (p nan, seeds 1) | - | - | - | - | - | - |  | - | - | - | 10 |" in text
    assert "Rows marked `renamed_from` ran as the budgeted arm before" in text


def test_the_steered_arm_runs_only_where_a_proxy_steers():
    from benchmarks.budget import steers

    assert steers("nasbench201", {}) and steers("nasbench201", {"channels": 8})
    assert not steers("resnet", {}) and not steers("custom", {})


@pytest.mark.parametrize("arm, options", [
    ("budgeted", (0.95, False, 0.0, "train")),
    ("any-lead", (None, False, 0.0, "train")),
    ("raced", (0.95, True, 0.0, "train")),
    ("cooled", (None, True, 1 / 6, "train")),
    ("steered", (None, True, 1 / 6, "train")),
    ("trainval", (None, True, 1 / 6, "train+val")),
])
def test_each_search_arm_runs_the_options_it_names(tmp_path, monkeypatch, arm, options):
    import types

    import kerasnas.search
    from benchmarks.budget import run_arm

    methods, steer = [], []

    def search(space, oracle, data, *, method, **common):
        methods.append(method)
        steer.append(common["steer"])
        return types.SimpleNamespace(test_accuracy=0.9, summary={"best_architecture": "x",
                                                                 "budget": {}})

    monkeypatch.setattr(kerasnas.search, "search", search)
    args = argparse.Namespace(options={"nasbench201": {}}, run_dir=str(tmp_path),
                              train_size=10000, batch_size=32)
    run_arm(args, "nasbench201", 12.0, 0, arm, data=None)
    m = methods[0]
    assert (m.incumbent_confidence, m.incumbent_race, m.cooldown_fraction, m.final_images) == options
    assert m.budget_epochs == 12.0 and steer == ["auto" if arm == "steered" else "none"]


@pytest.mark.parametrize("arm", ["hand", "cooled"])
def test_an_arm_killed_part_way_resumes_its_folder_and_counts_the_earlier_seconds(
        tmp_path, monkeypatch, arm):
    import types

    import kerasnas.search
    from benchmarks.budget import run_arm

    calls = []

    def search(space, oracle, data, **options):
        calls.append((options["directory"], options["resume"], options["overwrite"]))
        return types.SimpleNamespace(test_accuracy=0.9, summary={
            "resumed_after_seconds": 100.0 if options["resume"] else 0.0,
            "best_architecture": "x", "budget": {}})

    monkeypatch.setattr(kerasnas.search, "search", search)
    args = argparse.Namespace(options={"resnet": {}}, run_dir=str(tmp_path), train_size=10000,
                              batch_size=32)
    fresh = run_arm(args, "resnet", 12.0, 0, arm, data=None)
    folder = tmp_path / f"resnet-B12-s0-{arm}"
    folder.mkdir()
    (folder / "run.json").write_text("{}")  # what a killed run leaves
    resumed = run_arm(args, "resnet", 12.0, 0, arm, data=None)
    assert calls == [(str(folder), False, True), (str(folder), True, False)]
    assert "resumed_after_seconds" not in fresh and fresh["seconds"] < 100.0
    assert resumed["resumed_after_seconds"] == 100.0 and resumed["seconds"] >= 100.0


def test_the_reports_command_names_the_arms_and_results_it_was_given(tmp_path):
    results, out = tmp_path / "rerun.jsonl", tmp_path / "rerun.md"
    results.write_text(json.dumps({"space": "resnet", "budget": 12.0, "seed": 0, "arm": "cooled",
                                   "train_size": 10000, "val_size": 2000, "seconds": 10.0,
                                   "test_accuracy": 0.9}) + "\n")
    main(["--spaces", "resnet", "--arms", "cooled", "--results", str(results), "--out", str(out),
          "--run-dir", str(tmp_path / "runs"), "--report-only"])
    assert (f"Command: `python -m benchmarks.budget --spaces resnet --budgets 12 --seeds 0,1,2 "
            f"--arms cooled --results {results}`") in out.read_text()


def test_a_rerun_is_set_beside_the_baselines_kept_in_another_file(tmp_path):
    common = {"space": "resnet", "budget": 12.0, "train_size": 10000, "val_size": 2000,
              "seconds": 10.0}
    rerun, kept, out = tmp_path / "rerun.jsonl", tmp_path / "kept.jsonl", tmp_path / "rerun.md"
    rerun.write_text("".join(json.dumps({**common, "seed": s, "arm": "cooled", "test_accuracy": a})
                             + "\n" for s, a in ((0, 0.90), (1, 0.91), (2, 0.92))))
    # The kept file's own cooled rows are not the rerun's; its CNN rows are the baseline.
    kept.write_text("".join(json.dumps({**common, "seed": s, "arm": arm, "test_accuracy": a}) + "\n"
                            for s in (0, 1, 2)
                            for arm, a in (("cooled", 0.5), ("cnn", (0.89, 0.89, 0.90)[s])))
                    + json.dumps({**common, "budget": 6.0, "seed": 0, "arm": "cnn",
                                  "test_accuracy": 0.88}) + "\n")
    main(["--spaces", "resnet", "--arms", "cooled", "--results", str(rerun), "--baselines",
          str(kept), "--out", str(out), "--run-dir", str(tmp_path / "runs"), "--report-only"])
    text = out.read_text()
    assert "| resnet x bayes | 12 | 10000 / 2000 | default | 0,1,2 | - | 89.33 ± 0.58 |" in text
    assert "| 91.00 ± 1.00 | - | - |" in text  # the rerun's cooled rows, not the kept 50 %
    assert "| cooled | +1.67 (p 0.038, seeds 0,1,2) |" in text
    assert f"--results {rerun} --baselines {kept}`" in text
    assert f"that {rerun} lacks are read from {kept}" in text
    assert "| resnet x bayes | 6 |" not in text  # a budget the rerun does not have
    assert len(rerun.read_text().splitlines()) == 3  # the report adds no rows to the rerun


@pytest.mark.parametrize("parts, val_seen", [(("train",), 0), (("train", "val"), 8)])
def test_the_trainval_cnn_trains_on_both_splits_for_the_training_splits_steps(parts, val_seen):
    import keras
    import numpy as np

    from benchmarks.comparison.frameworks._common import fit_keras
    from kerasnas.datasets import Splits

    # Training images are black (class 0), validation images white (class 1): a batch's pixels
    # say which split each image came from.
    black, white = np.zeros((40, 4, 4), "uint8"), np.full((8, 4, 4), 255, "uint8")
    data = Splits(black, np.zeros(40, "int32"), white, np.ones(8, "int32"), white,
                  np.ones(8, "int32"), num_classes=2)
    seen = []

    class Record(keras.layers.Layer):
        def call(self, x, training=None):
            if training:
                seen.extend(keras.ops.convert_to_numpy(keras.ops.max(x, axis=(1, 2, 3))))
            return x

    model = keras.Sequential([keras.Input((4, 4, 1)), Record(), keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  run_eagerly=True)
    fit_keras(model, data, epochs=2, batch_size=8, seed=0, raw=True, parts=parts)
    # 2 epochs of the training split's 5 steps, whatever the images: the budget counts steps.
    assert len(seen) == 2 * 5 * 8 and int(model.optimizer.iterations) == 10
    # The first 48 images are one shuffled pass over what it trains on: every white one once.
    assert sum(v == 255 for v in seen[:48]) == val_seen
