"""The run report: exact contents on hand-made runs, and one real tiny evolution run."""

import json
import re

import pandas as pd

from kerasnas import report
from kerasnas.report import main, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fake_run(path, rows, oracle="evolution", summary=True, **extra):
    """A run folder made by hand: run.json, results.csv and (optionally) summary.json."""
    path.mkdir()
    settings = {"space": "custom", "oracle": oracle, "seed": 0, "epochs": 1, "batch_size": 64,
                "max_trials": len(rows), "train_size": 300, "val_size": 100,
                "space_options": {"stem_width": 8}, "oracle_options": {}}
    (path / "run.json").write_text(json.dumps(settings))
    table = pd.DataFrame(rows)
    table.to_csv(path / "results.csv", index=False)
    if summary:
        best = table.loc[table.val_accuracy.idxmax()]
        (path / "summary.json").write_text(json.dumps({
            **settings, "best_trial": best.trial_id, "best_values": {"lr": 0.01},
            "best_architecture": best.arch, "best_val_accuracy": best.val_accuracy,
            "test_accuracy": 0.5, "wall_seconds": 90.0, **extra}))
    return path


def row(trial_id, phase, val_accuracy, parent=None, mutation=None, status="COMPLETED", message=None,
        arch=None):
    return {"trial_id": trial_id, "status": status, "phase": phase, "parent": parent,
            "mutation": mutation, "arch": arch or f"arch{trial_id}", "val_accuracy": val_accuracy,
            "val_loss": 1.0, "params": 1234.0, "train_seconds": 2.5,
            "end_seconds": 10.0 * (int(trial_id) + 1), "message": message, "hp.lr": 0.01}


def table_rows(text):
    """The data rows of the last Markdown table (the trials table)."""
    lines = text.rstrip().split("\n")
    rows = []
    for line in reversed(lines):
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows[::-1][2:]  # drop the header and the separator


def is_png(path):
    return path.read_bytes()[:8] == PNG_MAGIC


EVOLUTION = [row("00", "warm-up", 0.5), row("01", "warm-up", 0.6),
             row("02", "mutation", 0.7, parent="01", mutation="lr: 0.01 -> 0.02"),
             row("03", "mutation", None, parent="02", mutation="lr: 0.02 -> 0.05",
                 status="FAILED", message="loss became NaN at batch 3 | of epoch 1"),
             row("04", "mutation", 0.65, parent="02", mutation="lr: 0.02 -> 0.005")]


def test_evolution_report_has_every_section_trial_and_arrow(tmp_path, monkeypatch):
    arrows = []
    real = report.plot_lineage

    def spy(table, path):
        arrows.extend((p, c) for p, c in zip(table.parent, table.trial_id) if isinstance(p, str))
        return real(table, path)

    monkeypatch.setattr(report, "plot_lineage", spy)
    d = fake_run(tmp_path / "run", EVOLUTION, final_test_accuracy=0.875, final_epochs=30)
    path = write_report(str(d))
    assert path == str(d / "report.md")
    text = (d / "report.md").read_text()
    headings = re.findall(r"^#+ .*$", text, flags=re.M)
    assert headings == ["# kerasnas run: custom x evolution", "## Settings", "## Best architecture",
                        "## Progress", "## Lineage", "## Failed trials", "## Trials"]
    assert "- best validation accuracy: **0.7000** (trial 2)" in text
    assert "- test accuracy of that trial's model: **0.5000**" in text
    assert "retraining it on all training images (30 epochs): **0.8750**" in text
    assert "- wall time: 1.5 min" in text
    assert "3 of 5 trials were proposed by the strategy" in text
    assert "still in its random phase" not in text
    assert "3 trials are mutations of an earlier trial" in text
    # The failed trial's message, its `|` escaped inside the table.
    assert "- trial 3 (FAILED): loss became NaN at batch 3 | of epoch 1" in text
    rows = table_rows(text)
    assert len(rows) == 5
    assert rows[2] == ("| 2 | COMPLETED | mutation | 1 | lr: 0.01 -> 0.02 | arch02 | lr=0.01 | "
                       "0.7000 | 1,234 | 2.5 | 0.50 |  |")
    assert "loss became NaN at batch 3 \\| of epoch 1" in rows[3]
    assert arrows == [("01", "02"), ("02", "03"), ("02", "04")]
    for png in ("report_progress.png", "report_lineage.png"):
        assert f"]({png})" in text and is_png(d / png)
    assert "best_cell.png" not in text  # not drawn for this run


def test_a_run_in_its_random_phase_says_so_and_has_no_lineage(tmp_path):
    # A space without an architecture text (ResNet) describes a trial by its values.
    rows = [row(str(i), "warm-up", 0.4 - i / 10, arch="lr=0.01") for i in range(2)]
    d = fake_run(tmp_path / "run", rows, oracle="bayes")
    text = open(write_report(str(d))).read()
    assert ("| trial | status | phase | architecture | val acc | params | train s | end min | "
            "message |") in text  # no parent, mutation or repeated values
    assert ("**This run is still in its random phase**: none of its 2 trials was proposed by the "
            "bayes strategy yet") in text
    assert "## Lineage" not in text and not (d / "report_lineage.png").exists()
    assert len(table_rows(text)) == 2 and is_png(d / "report_progress.png")


def test_random_search_and_a_run_without_summary(tmp_path):
    rows = [row("0", "random", None, status="FAILED", message="OOM")]
    d = fake_run(tmp_path / "run", rows, oracle="random", summary=False)
    text = open(write_report(str(d))).read()
    assert "Random search: all 1 trials were drawn at random." in text
    assert "- no summary.json: the search stopped before a trial completed" in text
    assert "- trial 0 (FAILED): OOM" in text and "## Best architecture" not in text


def test_cli_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main([str(tmp_path)]) == 1
    assert "is not a finished kerasnas run" in capsys.readouterr().err
    d = fake_run(tmp_path / "run", EVOLUTION[:2])
    assert main([str(d)]) == 0
    assert capsys.readouterr().out == f"wrote {d / 'report.md'}\n"


def test_to_markdown_aligns_numbers_and_escapes_pipes():
    frame = pd.DataFrame({"a": [1, 2], "b": ["x|y", None]})
    assert report.to_markdown(frame) == "| a | b |\n|---:|---|\n| 1 | x\\|y |\n| 2 |  |"


def test_report_of_a_real_evolution_run(tmp_path, synthetic_splits):
    from kerasnas.progress import Reporter
    from kerasnas.search import search

    options = dict(stem_width=4, cells_per_stage=1, reductions=0, dropout=0.0, nodes=1)
    result = search("custom", "evolution", synthetic_splits, max_trials=3, epochs=1, batch_size=64,
                    directory=str(tmp_path / "run"), seed=0, space_options=options,
                    oracle_options={"population_size": 2, "sample_size": 2}, reporter=Reporter())
    text = open(write_report(result.directory)).read()
    assert len(table_rows(text)) == 3
    assert "1 of 3 trials were proposed by the strategy" in text
    assert "![best cell](best_cell.png)" in text
    for png in ("best_cell.png", "report_progress.png", "report_lineage.png"):
        assert is_png(tmp_path / "run" / png)
