"""The CLI as a user runs it, in subprocesses."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(*args, timeout=600):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "kerasnas.run", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_main_job_small_budget_writes_the_three_files(tmp_path):
    out = tmp_path / "D"
    r = cli("--space", "resnet", "--oracle", "bayes", "--max-trials", "2", "--epochs", "1",
            "--train-size", "2000", "--val-size", "500", "--output-dir", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("results.csv", "summary.json", "best_model.keras"):
        assert (out / name).is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert 0.0 <= summary["test_accuracy"] <= 1.0 and summary["trials_completed"] == 2
    assert "[2/2]" in r.stdout and "best" in r.stdout
    table = pd.read_csv(out / "results.csv")
    assert table.phase.tolist() == ["warm-up", "warm-up"]  # 2 trials: all in the random start


def test_unknown_space_lists_the_valid_names():
    r = cli("--space", "vgg")
    assert r.returncode == 2 and "nasbench201" in r.stderr and "custom" in r.stderr


@pytest.mark.parametrize("args, match", [
    (["--max-trials", "0"], "--max-trials: must be >= 1"),
    (["--epochs", "-1"], "--epochs: must be >= 1"),
    (["--train-size", "59000", "--val-size", "2000"], "more than the 60000"),
    (["--oracle", "evolution", "--population-size", "2", "--sample-size", "3"], "larger than"),
])
def test_bad_values_exit_2_with_the_problem_named(tmp_path, args, match):
    r = cli(*args, "--output-dir", str(tmp_path / "o"))
    assert r.returncode == 2 and match in r.stderr
    assert not (tmp_path / "o").exists()


def test_empty_or_corrupt_data_dir_names_the_debian_package(tmp_path):
    r = cli("--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "o"))
    assert r.returncode == 1 and "dataset-fashion-mnist" in r.stderr
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"garbage")
    r = cli("--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "o"))
    assert r.returncode == 1 and "dataset-fashion-mnist" in r.stderr
    assert not (tmp_path / "o").exists()


def test_mirrored_strategy_over_two_logical_cpus(tmp_path):
    out = tmp_path / "m"
    r = cli("--strategy", "mirrored", "--oracle", "random", "--max-trials", "1", "--epochs", "1",
            "--train-size", "500", "--val-size", "200", "--output-dir", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strategy"] == "MirroredStrategy (2 replicas)"
