"""The CLI as a user runs it, in subprocesses (the bad-input table also in this process: the fast tier)."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(*args, timeout=600, quiet_tf=True):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if not quiet_tf:
        env.pop("TF_CPP_MIN_LOG_LEVEL")
    return subprocess.run([sys.executable, "-m", "kerasnas.run", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def exit_code_and_stderr(process, capsys, *args):
    """`python -m kerasnas.run ARGS` in a subprocess, or its `main` in this process (no
    interpreter start, TensorFlow already imported): (exit code, stderr) either way."""
    if process == "subprocess":
        r = cli(*args)
        return r.returncode, r.stderr
    from kerasnas.cli import main

    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as e:  # argparse's errors
        code = e.code
    return code, capsys.readouterr().err


# The subprocess, as a user runs it, in the full suite; the same checks in this process in the fast tier.
PROCESSES = ["in-process", pytest.param("subprocess", marks=pytest.mark.slow)]


@pytest.mark.slow
def test_main_job_small_budget_writes_the_three_files_without_warning_noise(tmp_path):
    out = tmp_path / "D"
    r = cli("--space", "resnet", "--oracle", "bayes", "--max-trials", "3", "--epochs", "1",
            "--train-size", "600", "--val-size", "200", "--output-dir", str(out), quiet_tf=False)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("results.csv", "summary.json", "best_model.keras"):
        assert (out / name).is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert 0.0 <= summary["test_accuracy"] <= 1.0 and summary["trials_completed"] == 3
    assert "[3/3]" in r.stdout and "best" in r.stdout
    table = pd.read_csv(out / "results.csv").sort_values("trial_id")
    assert table.phase.tolist() == ["warm-up", "warm-up", "model"]  # a random start of 2, then the GP
    # No library noise: no Python warnings, no TensorFlow start-up notes.
    for text in (r.stdout, r.stderr):
        assert "Warning" not in text and "oneDNN" not in text and "WARNING" not in text, text[-3000:]


def test_unknown_space_lists_the_valid_names():
    r = cli("--space", "vgg")
    assert r.returncode == 2 and "nasbench201" in r.stderr and "custom" in r.stderr


def _official_copy(folder, damage):
    import gzip
    import shutil

    from kerasnas.datasets.fashion_mnist import DEBIAN_DIR, FILES

    folder.mkdir()
    for name in FILES.values():
        shutil.copy(os.path.join(DEBIAN_DIR, name), folder / name)
    target = folder / FILES["y_train"]
    raw = gzip.decompress(target.read_bytes())
    target.write_bytes(gzip.compress(raw[:-100]) if damage == "truncated" else b"\x1f\x8b garbage")


def _tree(root):
    return sorted((str(p.relative_to(root)), p.stat().st_size if p.is_file() else -1)
                  for p in root.rglob("*"))


# (case, extra CLI args with {tmp}, exit code, words the message must contain)
BAD_INPUT = [
    ("unknown oracle", ["--oracle", "hyperband"], 2, "invalid choice"),
    ("max trials < 1", ["--max-trials", "0"], 2, "--max-trials: must be >= 1"),
    ("epochs < 1", ["--epochs", "-1"], 2, "--epochs: must be >= 1"),
    ("not a number", ["--batch-size", "many"], 2, "'many' is not an integer"),
    ("sample > population", ["--oracle", "evolution", "--population-size", "2", "--sample-size", "3"],
     2, "larger than --population-size"),
    ("population without evolution", ["--population-size", "4"], 2, "only apply to --oracle evolution"),
    ("train size larger than the data", ["--train-size", "59000", "--val-size", "2000"], 2,
     "more than the 60000"),
    ("val size alone larger than the data", ["--val-size", "70000"], 2, "more than the 60000"),
    ("negative final epochs", ["--final-epochs", "-2"], 2, "--final-epochs: must be >= 0"),
    ("malformed space option", ["--space-option", "channels"], 2, "KEY=VALUE"),
    ("malformed constraint", ["--constraint", "params=10"], 1, "NAME OPERATOR NUMBER"),
    ("unknown constraint", ["--constraint", "size<=10"], 1, "choose among: accuracy, params"),
    ("constraint on accuracy", ["--constraint", "accuracy>=0.9"], 1, "known only after training"),
    ("two budgets", ["--budget-epochs", "5", "--budget-minutes", "1"], 1, "Give one budget"),
    ("unknown engine", ["--engine", "spark"], 2, "invalid choice: 'spark'"),
    ("no CPUs per trial", ["--engine", "ray", "--cpus-per-trial", "0"], 2,
     "--cpus-per-trial: must be > 0"),
    ("unknown objective", ["--objectives", "accuracy,size"], 1,
     "choose distinct names among: accuracy, params, flops, latency"),
    ("objectives without accuracy", ["--objectives", "params,latency"], 1, "must include accuracy"),
    ("unknown reference", ["--reference", "vgg16"], 1,
     "`reference` must be plain-cnn or the path of a saved .keras model; got 'vgg16'."),
    ("a trade-off for one-objective oracle", ["--oracle", "kt-gp", "--objectives", "accuracy,params",
                                              "--train-size", "100", "--val-size", "100"], 1,
     "searches one objective; to trade off ['params'] choose one of: bayes, evolution"),
    ("resume and overwrite", ["--resume", "--overwrite", "--train-size", "100", "--val-size", "100"],
     1, "not both"),
    ("empty data folder", ["--data-dir", "{tmp}/empty"], 1, "dataset-fashion-mnist"),
    ("truncated data file", ["--data-dir", "{tmp}/truncated"], 1, "truncated"),
    ("corrupt data file", ["--data-dir", "{tmp}/corrupt"], 1, "cannot be read as gzip"),
    ("unwritable output folder", ["--output-dir", "{tmp}/afile/run", "--train-size", "100",
                                  "--val-size", "100"], 1, "pick a writable --output-dir"),
    ("output folder holds something else", ["--output-dir", "{tmp}/thesis", "--train-size", "100",
                                            "--val-size", "100"], 1, "not a kerasnas run"),
]


@pytest.mark.parametrize("process", PROCESSES)
@pytest.mark.parametrize("case, args, code, words", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_one_clear_message_nonzero_exit_nothing_changed(tmp_path, capsys, case, args, code,
                                                                   words, process):
    (tmp_path / "empty").mkdir()
    _official_copy(tmp_path / "truncated", "truncated")
    _official_copy(tmp_path / "corrupt", "corrupt")
    (tmp_path / "afile").write_text("a file, not a folder")
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter1.tex").write_text("precious")
    before = _tree(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--output-dir" not in args:
        args += ["--output-dir", str(tmp_path / "out")]
    returncode, stderr = exit_code_and_stderr(process, capsys, *args)
    assert returncode == code, stderr[-2000:]
    assert words in stderr
    assert "Traceback" not in stderr
    assert _tree(tmp_path) == before  # nothing created, nothing deleted


@pytest.mark.slow
def test_mirrored_strategy_over_two_logical_cpus(tmp_path):
    out = tmp_path / "m"
    r = cli("--strategy", "mirrored", "--oracle", "random", "--max-trials", "1", "--epochs", "1",
            "--train-size", "500", "--val-size", "200", "--output-dir", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strategy"] == "MirroredStrategy (2 replicas)"
