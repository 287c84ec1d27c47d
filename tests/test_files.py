"""Atomic file writes: whole files, no temporary left behind, safe with concurrent writers."""

import json
import os
import threading

import keras_tuner
import pandas as pd
import pytest

from kerasnas import keras_tuner_internals as internals
from kerasnas.files import write_csv, write_json
from kerasnas.oracles import make_oracle


def test_write_json_writes_the_text_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("old")
    text = write_json(str(path), {"b": [1, 2]}, indent=1)
    assert text == json.dumps({"b": [1, 2]}, indent=1)
    assert path.read_text() == text
    assert os.listdir(tmp_path) == ["a.json"]


def test_write_csv_writes_the_frame_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "t.csv"
    write_csv(str(path), pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}))
    assert path.read_bytes() == b"x,y\n1,a\n2,b\n"
    assert os.listdir(tmp_path) == ["t.csv"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    path = tmp_path / "a.json"
    write_json(str(path), {"old": True})
    with pytest.raises(TypeError):
        write_json(str(path), {"new": object()})  # not JSON: fails before any file is made

    class Broken:
        def to_csv(self, f, index):
            f.write("half a ")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_csv(str(tmp_path / "t.csv"), Broken())
    assert json.loads(path.read_text()) == {"old": True}
    assert os.listdir(tmp_path) == ["a.json"]


def test_concurrent_writers_of_one_file_never_crash(tmp_path):
    path, errors = str(tmp_path / "a.json"), []

    def write(k):
        try:
            for i in range(50):
                write_json(path, {"writer": k, "i": i})
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert json.loads(open(path).read())["i"] == 49
    assert os.listdir(tmp_path) == ["a.json"]


def test_five_oracles_saving_into_one_folder_at_once_never_crash(tmp_path):
    # Was: 35 of 50 create_trial calls raised FileNotFoundError (one fixed PATH.tmp name).
    kinds = ["evolution", "bayes", "random", "evolution", "bayes"]
    oracles = []
    for k, kind in enumerate(kinds):
        oracle = make_oracle(kind, objective=keras_tuner.Objective("score", "max"), max_trials=10,
                             seed=k)
        internals.set_project_dir(oracle, str(tmp_path), "p")
        oracle.verbose = 0
        oracle.hyperparameters.Choice("a", list(range(8)))
        oracle.hyperparameters.Int("b", 0, 9)
        oracles.append(oracle)
    errors, created, start = [], [], threading.Barrier(len(oracles))

    def create(oracle):
        start.wait()
        for i in range(10):
            try:
                created.append(oracle.create_trial(f"tuner{i}").status)
            except Exception as error:  # noqa: BLE001 - collected for the assertion
                errors.append(error)

    threads = [threading.Thread(target=create, args=(o,)) for o in oracles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert created == ["RUNNING"] * 50
    project = tmp_path / "p"
    assert sorted(os.listdir(project)) == ["oracle.json"] + [f"trial_{i:02d}" for i in range(10)]
    assert all(os.listdir(project / f"trial_{i:02d}") == ["trial.json"] for i in range(10))


def test_write_text_creates_the_folder_and_replaces_a_file_whole(tmp_path):
    from kerasnas.files import write_text

    path = tmp_path / "reports" / "r.md"
    write_text(str(path), "first")
    write_text(str(path), "second")
    assert path.read_text() == "second" and [p.name for p in path.parent.iterdir()] == ["r.md"]
