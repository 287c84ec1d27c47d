import json

import pytest

from benchmarks import search_quality


def record(framework, experiment, seed, test, wall=100.0, trials=6, epochs=2):
    return {"framework": framework, "experiment": experiment, "seed": seed, "variant": "",
            "test_accuracy": test, "wall_seconds": wall, "best_architecture": f"{experiment}-{seed}",
            "settings": {"max_trials": trials, "epochs": epochs}}


def test_margins_are_paired_by_seed_and_the_verdict_needs_three_seeds(tmp_path):
    results = [
        # custom: ahead of the 2-epoch CNN on seeds 0 and 2, behind on seed 1.
        record("kerasnas", "custom-evolution", 0, 0.88), record("kerasnas", "custom-evolution", 1, 0.84),
        record("kerasnas", "custom-evolution", 2, 0.89),
        record("kerasnas", "resnet-bayes", 0, 0.80, trials=3),  # one seed only
        *(record("baseline", "plain-cnn", s, a, wall=30.0, trials=1)
          for s, a in ((0, 0.85), (1, 0.86), (2, 0.85))),
        *(record("baseline", "plain-cnn-e12", s, a, trials=1) for s, a in ((0, 0.90), (1, 0.89))),
        record("baseline", "plain-cnn-e6", 0, 0.87, trials=1),
        record("kerasnas", "resnet-tpe", 0, 0.99, trials=3),  # not a default oracle: left out
    ]
    table = {r["experiment"]: r for r in search_quality.rows(results)}
    custom = table["custom-evolution"]
    assert custom["seeds"] == [0, 1, 2] and custom["total_epochs"] == 12
    assert [round(m, 4) for m in custom["margin"]] == [0.03, -0.02, 0.04]
    assert [round(m, 4) for m in custom["matched_margin"]] == [-0.02, -0.05]  # seeds 0, 1 only
    assert search_quality.verdict(custom) == ("**met**: +1.67 points on average, ahead on 2 of 3 "
                                              "seeds (within one std of 0)")
    assert table["resnet-bayes"]["total_epochs"] == 6
    assert [round(m, 4) for m in table["resnet-bayes"]["matched_margin"]] == [-0.07]
    assert search_quality.verdict(table["resnet-bayes"]).startswith("not yet measured (1 of 3")
    assert table["nasbench201-evolution"]["seeds"] == []

    meta = {"date": "d", "command": "c", "data": {"train_size": 10000, "val_size": 2000,
                                                   "test_size": 10000},
            "settings": {"epochs": 2, "scale": "reduced"}, "batch_size": 32, "machine": "m",
            "threads": 2}
    (tmp_path / "results.json").write_text(json.dumps({"meta": meta, "results": results}))
    out = tmp_path / "report.md"
    assert search_quality.main(["--results", str(tmp_path / "results.json"), "--out", str(out)]) == 0
    text = out.read_text()
    assert "| custom-evolution | 0,1,2 | 87.00 ± 2.65 |" in text
    assert "| nasbench201-evolution | 0 | - |" in text and "resnet-tpe" not in text
    assert "## Reading" not in text  # no space has 3 seeds of the same-compute CNN yet
    assert "## Earlier runs" not in text  # no hand-written history beside the report
    (tmp_path / "report_history.md").write_text("# by hand\n")
    assert search_quality.main(["--results", str(tmp_path / "results.json"), "--out", str(out)]) == 0
    assert out.read_text().endswith("[report_history.md](report_history.md) (written by hand, so "
                                    "this report's regeneration keeps it).\n")
    assert (tmp_path / "report_history.md").read_text() == "# by hand\n"
    results.append(record("baseline", "plain-cnn-e12", 2, 0.85, trials=1))
    lines = search_quality.reading(search_quality.rows(results))
    assert "behind on 1 of 1 spaces: custom-evolution -1.00 points (1 of 3 seeds ahead)" in lines[3]


def test_the_study_report_sets_the_compute_matched_cnn_beside_the_search(synthetic_splits, tmp_path):
    from benchmarks import study

    study.matched_baseline(synthetic_splits, 1, 0, str(tmp_path))
    saved = json.loads((tmp_path / "baseline.json").read_text())
    assert (saved["epochs"], saved["batch_size"]) == (1, 32)
    assert 0.1 < saved["test_accuracy"] <= 1.0  # 200 training images, 1 epoch: above chance
    study.matched_baseline(synthetic_splits, 5, 0, str(tmp_path))  # there already: kept, not redone
    assert json.loads((tmp_path / "baseline.json").read_text()) == saved
    cnn = 100 * saved["test_accuracy"]
    row = study.baseline_row(str(tmp_path), cnn + 1.5)
    assert f"| {cnn:.2f} | search ahead: yes (+1.50 points) |" in row
    assert "search ahead: NO (-0.25 points)" in study.baseline_row(str(tmp_path), cnn - 0.25)
    assert "not run" in study.baseline_row(str(tmp_path / "none"), 90.0)


def test_the_study_report_states_how_each_sitting_ran(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from benchmarks import study

    out = str(tmp_path)
    assert study.sharing(SimpleNamespace(note=None), out).endswith("Conditions: not recorded")
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "2")
    study.record_sitting(out, SimpleNamespace(note="alone", resume=False))
    assert study.sharing(SimpleNamespace(note=None), out) == "Threads: TF intra-op 2.\nConditions: alone"
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "1")
    study.record_sitting(out, SimpleNamespace(note=None, resume=True))  # a resumed second process
    lines = study.sharing(SimpleNamespace(note=None), out).split("\n")
    assert lines[0] == "Threads: TF intra-op 1, 2."
    assert lines[1].startswith("Conditions: sitting 1 (") and ": alone; sitting 2 (" in lines[1]
    assert lines[1].endswith(": not recorded")
    assert study.sharing(SimpleNamespace(note="by hand"), out).endswith("\nConditions: by hand")
    study.record_sitting(out, SimpleNamespace(note="fresh", resume=False))  # a new run starts over
    assert study.sharing(SimpleNamespace(note=None), out).endswith("Conditions: fresh")
    assert study.space_options({"space_options": {}}) == "defaults"
    assert study.space_options({"space_options": {"channels": 8}}) == '{"channels": 8}'


@pytest.mark.slow  # three searches
def test_a_study_sitting_is_recorded_in_the_folder_the_search_prepared(tmp_path, synthetic_splits):
    from types import SimpleNamespace

    from benchmarks import study
    from kerasnas.search import search

    out = str(tmp_path / "run")  # new: the search must still accept it as its folder
    tiny = dict(stem_width=8, stages=1, blocks_per_stage=1, kernel_size=3, dropout=0.0)

    def sitting(note, resume):
        lines = []
        search("resnet", "random", synthetic_splits, max_trials=1, epochs=1, batch_size=64, seed=1,
               directory=out, space_options=tiny, overwrite=not resume, resume=resume,
               reporter=study.sitting_reporter(out, SimpleNamespace(note=note, resume=resume),
                                               lines.append))
        assert lines  # still the console reporter
        with open(tmp_path / "run" / "sittings.json") as f:
            return [one["note"] for one in json.load(f)]

    assert sitting("first", resume=False) == ["first"]
    assert sitting("second", resume=True) == ["first", "second"]
    assert sitting("again", resume=False) == ["again"]  # --overwrite emptied the folder
