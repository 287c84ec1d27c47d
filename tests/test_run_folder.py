"""`Run`: the folder it owns, its lock, and the resume check over the whole configuration."""

import json
import os
import re
import subprocess
import sys
import time

import pandas as pd
import pytest

from kerasnas.lock import LOCK_FILE, FolderBusy
from kerasnas.oracles import AgingEvolutionOracle
from kerasnas.progress import Reporter
from kerasnas.run_folder import OBJECTIVE, Run
from kerasnas.settings import SearchSettings
from kerasnas.spaces import ResNetSpace
from tests.test_lock import hold_in_child

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETTINGS = SearchSettings(max_trials=2, batch_size=64, seed=1)


def open_run(directory, space, oracle="random", **kw):
    return Run(str(directory), space, oracle, SETTINGS, data=kw.pop("data"), reporter=Reporter(),
               **kw)


def test_resuming_with_a_space_of_another_configuration_is_refused(tmp_path, synthetic_splits):
    with open_run(tmp_path, ResNetSpace(stem_width=8), data=synthetic_splits):
        pass
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["space_config"]["stem_width"] == 8
    assert record["space_class"] == "kerasnas.spaces.resnet.ResNetSpace"
    with pytest.raises(ValueError, match=r"Cannot resume .*space_config\.stem_width: 8 then, "
                                         r"16 now\)\. Use the same ones or a new --output-dir"):
        open_run(tmp_path, ResNetSpace(stem_width=16), data=synthetic_splits, resume=True)
    with open_run(tmp_path, ResNetSpace(stem_width=8), data=synthetic_splits, resume=True):
        pass  # the same configuration resumes
    assert not (tmp_path / LOCK_FILE).exists()  # closed: released


def test_a_budgeted_run_begun_before_racing_and_cooling_resumes_so_and_a_new_one_does_both(
        tmp_path, synthetic_splits):
    budget = SearchSettings(budget_epochs=5, batch_size=64, seed=1)

    def open_budgeted(**kw):
        return Run(str(tmp_path), ResNetSpace(stem_width=8), "random", budget,
                   data=synthetic_splits, reporter=Reporter(), **kw)

    def options(method):
        return method.incumbent_race, method.cooldown_fraction, method.incumbent_confidence

    with open_budgeted() as run:
        assert options(run.method) == (True, 1 / 6, None)  # a new run races and cools down
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["method_config"]["incumbent_race"] is True
    with open_budgeted(resume=True) as run:
        assert options(run.method) == (True, 1 / 6, None)
    # run.json as runs begun before cooling was the default wrote it: racing, no cool-down.
    del record["method_config"]["cooldown_fraction"]
    record["method_config"]["incumbent_confidence"] = 0.95
    (tmp_path / "run.json").write_text(json.dumps(record))
    with open_budgeted(resume=True) as run:  # goes on as it began, not refused
        assert options(run.method) == (True, 0.0, 0.95)
    # ... and before racing was: the option not named either.
    del record["method_config"]["incumbent_race"]
    (tmp_path / "run.json").write_text(json.dumps(record))
    with open_budgeted(resume=True) as run:
        assert options(run.method) == (False, 0.0, 0.95)


def test_final_images_reaches_the_budgeted_search_and_a_resume_keeps_it(tmp_path, synthetic_splits):
    def open_budgeted(final_images, **kw):
        settings = SearchSettings(budget_epochs=5, batch_size=64, final_images=final_images)
        return Run(str(tmp_path), ResNetSpace(stem_width=8), "random", settings,
                   data=synthetic_splits, reporter=Reporter(), **kw)

    with open_budgeted("train+val") as run:
        assert run.method.final_images == "train+val"
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["method_config"]["final_images"] == "train+val"
    with pytest.raises(ValueError, match=re.escape(
            "final_images: 'train+val' then, 'train' now")):
        open_budgeted("train", resume=True)
    with open_budgeted("train+val", resume=True) as run:
        assert run.method.final_images == "train+val"


def test_resuming_with_an_oracle_of_another_configuration_is_refused(tmp_path, synthetic_splits):
    def oracle(p):
        return AgingEvolutionOracle(OBJECTIVE, 6, population_size=p, seed=0)

    with open_run(tmp_path, ResNetSpace(), oracle(2), data=synthetic_splits):
        pass
    with pytest.raises(ValueError, match=r"oracle_config\.population_size: 2 then, 3 now"):
        open_run(tmp_path, ResNetSpace(), oracle(3), data=synthetic_splits, resume=True)


@pytest.mark.parametrize("flags", [{}, {"resume": True}, {"overwrite": True}])
def test_a_folder_held_by_a_live_process_is_refused_and_left_unchanged(tmp_path, synthetic_splits, flags):
    with open_run(tmp_path, ResNetSpace(), data=synthetic_splits):
        pass
    child = hold_in_child(tmp_path)
    try:
        before = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir())
        with pytest.raises(FolderBusy, match=f"in use by process {child.pid} on .* since "):
            open_run(tmp_path, ResNetSpace(), data=synthetic_splits, **flags)
        assert sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir()) == before
    finally:
        child.kill()
        child.wait()


def test_an_interrupted_run_is_named_as_such_without_resume(tmp_path, synthetic_splits):
    with open_run(tmp_path, ResNetSpace(), data=synthetic_splits):
        pass
    child = hold_in_child(tmp_path)  # then killed: a stale lock, as after kill -9
    child.kill()
    child.wait()
    with pytest.raises(ValueError, match=rf"holds an earlier search \(it was interrupted: process "
                                         rf"{child.pid} .*\); pass --resume"):
        open_run(tmp_path, ResNetSpace(), data=synthetic_splits)


def _cli(*args, **kw):
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, "-m", "kerasnas.run", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.slow
def test_a_second_process_on_a_running_search_refuses_at_once(tmp_path):
    out = str(tmp_path / "run")
    args = ["--space", "resnet", "--oracle", "evolution", "--max-trials", "3", "--epochs", "1",
            "--train-size", "300", "--val-size", "100", "--batch-size", "50",
            "--space-option", "stem_width=4", "--output-dir", out]
    first = _cli(*args)
    try:
        deadline = time.time() + 120
        while not os.path.isfile(os.path.join(out, LOCK_FILE)) and time.time() < deadline:
            assert first.poll() is None, first.communicate()
            time.sleep(0.2)
        for extra in ([], ["--resume"]):
            start = time.time()
            second = _cli(*args, *extra)
            _, err = second.communicate(timeout=60)
            assert time.time() - start < 10  # before TensorFlow is even imported
            assert second.returncode == 1
            assert f"in use by process {first.pid} on " in err and "since" in err, err
            assert "Traceback" not in err
        _, err = first.communicate(timeout=400)
        assert first.returncode == 0, err[-3000:]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    table = pd.read_csv(os.path.join(out, "results.csv"))
    assert table.trial_id.tolist() == [0, 1, 2] and set(table.status) == {"COMPLETED"}
    assert not os.path.exists(os.path.join(out, LOCK_FILE))  # released at the end
