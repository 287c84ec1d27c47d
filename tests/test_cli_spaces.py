"""Every space and every oracle through the CLI, on tiny subsets."""

import json

import pandas as pd
import pytest

from kerasnas.cli import main
from tests.test_cli import cli

# Each test runs a whole search through the CLI (the first three in a subprocess).
pytestmark = pytest.mark.slow

TINY = ["--epochs", "1", "--train-size", "200", "--val-size", "100", "--batch-size", "50"]
SMALL_NB201 = ["--space-option", "channels=4", "--space-option", "cells_per_stage=1"]


def test_custom_space_with_evolution(tmp_path):
    out = tmp_path / "custom"
    r = cli("--space", "custom", "--oracle", "evolution", "--max-trials", "3", *TINY,
            "--output-dir", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    table = pd.read_csv(out / "results.csv")
    assert table.status.tolist() == ["COMPLETED"] * 3 and (table.params > 0).all()
    assert table.phase.tolist() == ["warm-up", "warm-up", "mutation"]
    for name in ("best_cell.png", "report.md", "report_lineage.png", "best_model.keras"):
        assert (out / name).is_file()


def test_resnet_evolution_shows_warmup_then_mutations(tmp_path):
    out = tmp_path / "evo"
    r = cli("--space", "resnet", "--oracle", "evolution", "--max-trials", "6", *TINY,
            "--space-option", "stem_width=8", "--output-dir", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    table = pd.read_csv(out / "results.csv", dtype={"parent": str})
    # Sized to the budget: P = 2, so 2 random trials, then 4 children of tournament winners.
    assert table.phase.tolist() == ["warm-up"] * 2 + ["mutation"] * 4
    assert table.parent[2:].notna().all() and table.mutation[2:].str.contains("->").all()
    assert r.stdout.count("warm-up") >= 2 and r.stdout.count("mutation of") == 4


def test_nasbench201_with_tpe_shows_its_random_start(tmp_path):
    out = tmp_path / "tpe"
    r = cli("--space", "nasbench201", "--oracle", "tpe", "--max-trials", "3", *TINY, *SMALL_NB201,
            "--output-dir", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    table = pd.read_csv(out / "results.csv")
    # A third of the budget, at least 2, is TPE's random start (Optuna's default: 10).
    assert table.phase.tolist() == ["warm-up", "warm-up", "model"]
    assert table.arch.str.match(r"^\|(\w+~0)\|\+\|\w+~0\|\w+~1\|\+\|\w+~0\|\w+~1\|\w+~2\|$").all()
    assert (out / "search" / "optuna.db").is_file() and (out / "best_cell.png").is_file()
    assert json.loads((out / "summary.json").read_text())["trials_completed"] == 3


# Budget 3: every oracle's random start is 2 trials, so the third is the strategy's own.
GUIDED = {"random": "random", "bayes": "model", "tpe": "model", "evolution": "mutation"}


@pytest.mark.parametrize("space, oracle", [
    ("custom", "random"), ("custom", "bayes"), ("custom", "tpe"),
    ("nasbench201", "random"), ("nasbench201", "bayes"), ("nasbench201", "evolution")])
def test_both_cell_spaces_run_with_every_oracle_into_its_guided_phase(space, oracle, tmp_path):
    # The combinations the tests above leave out, in-process through the CLI's main().
    out = tmp_path / "run"
    extra = SMALL_NB201 if space == "nasbench201" else ["--space-option", "stem_width=8"]
    code = main(["--space", space, "--oracle", oracle, "--max-trials", "3", *TINY, *extra,
                 "--output-dir", str(out)])
    assert code == 0
    table = pd.read_csv(out / "results.csv")
    assert table.status.tolist() == ["COMPLETED"] * 3 and (table.params > 0).all()
    start = "random" if oracle == "random" else "warm-up"
    assert table.phase.tolist() == [start, start, GUIDED[oracle]]
    assert (out / "best_cell.png").is_file() and (out / "best_model.keras").is_file()
