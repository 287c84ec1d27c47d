"""benchmarks/pareto.py: rows keyed by backend, and the report's headline, on hand-made rows."""

import argparse
import json

import pytest

from benchmarks.pareto import key, load_results, main, write_report


def _row(seed, backend=None, latency=0.5, cnn_latency=0.8, params=44_000.0):
    member = {"trial_id": "3", "architecture": "basic w24p 2x1 k3", "accuracy": 0.88,
              "params": params, "test_accuracy": 0.875, "model": "front/3.keras",
              "latency_ms": latency, "cnn_latency_ms": cnn_latency}
    row = {"space": "resnet", "oracle": "bayes", "seed": seed, "epochs": 3,
           "objectives": "accuracy,params,latency", "constraints": "params<=120000",
           "front": [member], "hypervolume": 2.0, "cnn_test_accuracy": 0.867,
           "cnn_params": 1_199_882, "trials": 12, "seconds": 100.0, "train_size": 10000,
           "val_size": 2000,
           "smallest_at_cnn_accuracy": member, "retimed": "alone"}
    if backend:
        row["backend"] = backend
    return row


def test_a_row_without_a_backend_was_run_on_tensorflow_and_keeps_its_own_key(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (_row(0), _row(0, "jax"))))
    done = load_results(str(path))
    assert set(done) == {key("resnet", "bayes", 0, 3, "accuracy,params,latency",
                             "params<=120000", b) for b in ("tensorflow", "jax")}
    assert done[key("resnet", "bayes", 0, 3, "accuracy,params,latency", "params<=120000",
                    "tensorflow")]["backend"] == "tensorflow"


def test_the_report_counts_a_seed_only_when_its_model_is_small_and_faster_per_backend(tmp_path):
    rows = [_row(s, "tensorflow", latency=0.9) for s in range(3)]  # slower than the CNN
    rows += [_row(0, "jax"), _row(1, "jax"), _row(2, "jax", params=130_000.0)]  # one too big
    for r in rows:
        r["note"] = ""
    args = argparse.Namespace(spaces="resnet", oracles="bayes", seeds="0,1,2", trials=12,
                              epochs=3, objectives="accuracy,params,latency",
                              constraints="params<=120000", train_size=10000, val_size=2000,
                              out=str(tmp_path / "pareto.md"))
    write_report(args, rows)
    text = (tmp_path / "pareto.md").read_text()
    lines = [line for line in text.splitlines() if line.startswith("| resnet x bayes |")]
    tf_line, jax_line = (next(line for line in lines[:2] if f"| {b} |" in line)
                         for b in ("tensorflow", "jax"))
    assert tf_line.endswith("| 3 of 3 seeds | 0 of 3 seeds |")
    assert jax_line.endswith("| 2 of 3 seeds | 2 of 3 seeds |")
    assert "Rows on jax: run with `KERAS_BACKEND=jax` in front." in text


def test_rows_on_the_full_data_or_at_a_scale_are_their_own_and_reported_apart(tmp_path):
    full = {**_row(0, "tensorflow"), "train_size": 50000, "val_size": 10000, "note": ""}
    small = {**_row(0, "tensorflow"), "note": ""}
    scaled = {**small, "space_options": {"stem_width": 8}}
    scaled["smallest_at_cnn_accuracy"] = {**scaled["smallest_at_cnn_accuracy"],
                                          "faster_rounds": "19 of 21"}
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (small, full, scaled)))
    assert len(load_results(str(path))) == 3
    args = argparse.Namespace(spaces="resnet", oracles="bayes", seeds="0", trials=12, epochs=3,
                              objectives="accuracy,params,latency", constraints="params<=120000",
                              train_size=10000, val_size=2000, out=str(tmp_path / "pareto.md"))
    write_report(args, [small, full, scaled])
    text = (tmp_path / "pareto.md").read_text()
    assert "| resnet x bayes | tensorflow | 10000 / 2000 | default |" in text
    assert "| resnet x bayes | tensorflow | 50000 / 10000 | default |" in text
    assert "| resnet x bayes | tensorflow | 10000 / 2000 | stem_width=8 |" in text
    assert "| 0.500 (0.800) | 19 of 21 | alone |" in text  # the rounds the model was the faster


def test_an_unknown_space_ends_the_harness_naming_the_known_ones(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--spaces", "mobilenet", "--results", str(tmp_path / "r.jsonl"),
              "--out", str(tmp_path / "p.md")])
    assert stop.value.code == 2
    assert "--spaces: unknown mobilenet; choose from resnet, nasbench201, custom, convnet" in \
        capsys.readouterr().err


def test_retime_takes_the_rows_of_this_backend_that_spaces_oracles_and_seeds_select(tmp_path):
    from benchmarks.pareto import to_retime

    rows = [_row(0, "tensorflow"), _row(1, "tensorflow"), _row(0, "jax"),
            {**_row(0, "tensorflow"), "space": "convnet"}, {**_row(2, "tensorflow"), "oracle": "tpe"}]
    args = argparse.Namespace(spaces="resnet", oracles="bayes,tpe", seeds="0,2")
    assert to_retime(args, rows) == [rows[0], rows[4]]  # KERAS_BACKEND is tensorflow here
