"""`SearchMethod`: the run is given how a best model is produced, and records it."""

import json

import pytest

from kerasnas.methods import ReturnedModel, SearchMethod, TrialSearch
from kerasnas.progress import Reporter
from kerasnas.run_folder import Run
from kerasnas.settings import SearchSettings
from kerasnas.spaces import ResNetSpace

SETTINGS = SearchSettings(max_trials=2, batch_size=64, seed=1)


class LastTrial(TrialSearch):
    """Returns the last completed trial's model, whatever its score."""

    def __init__(self, *, tag="a"):
        self.tag = tag

    def get_config(self):
        return {"tag": self.tag}

    def returned_model(self, run):
        last = max((t for t in run.oracle.trials.values() if t.status == "COMPLETED"),
                   key=lambda t: int(t.trial_id))
        return ReturnedModel(last, f"{run.tuner.get_trial_dir(last.trial_id)}/model.keras")


def small_space():
    return ResNetSpace(stem_width=8, stem_pool=True, stages=1, blocks_per_stage=1, kernel_size=3)


def test_the_run_returns_the_model_its_method_chooses(tmp_path, synthetic_splits):
    with Run(str(tmp_path), small_space(), "random", SETTINGS, data=synthetic_splits,
             reporter=Reporter(), method=LastTrial()) as run:
        result = run.search()
    assert result.summary["best_trial"] == "1"  # not necessarily the best: the method's choice
    assert result.summary["method"] == "2 trials x 1 epochs"
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["method_class"].endswith("test_methods.LastTrial")
    assert record["method_config"] == {"tag": "a"}


def test_resuming_with_another_method_configuration_is_refused(tmp_path, synthetic_splits):
    with Run(str(tmp_path), small_space(), "random", SETTINGS, data=synthetic_splits,
             reporter=Reporter(), method=LastTrial(tag="a")):
        pass
    with pytest.raises(ValueError, match=r"method_config\.tag: 'a' then, 'b' now"):
        Run(str(tmp_path), small_space(), "random", SETTINGS, data=synthetic_splits,
            reporter=Reporter(), method=LastTrial(tag="b"), resume=True)


def test_a_method_that_is_not_a_search_method_is_refused(tmp_path, synthetic_splits):
    with pytest.raises(ValueError, match=r"`method` must be a kerasnas.methods.SearchMethod .*"
                                         r"got str"):
        Run(str(tmp_path), small_space(), "random", SETTINGS, data=synthetic_splits,
            reporter=Reporter(), method="trials")
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_the_default_method_is_the_trial_by_trial_search(tmp_path, synthetic_splits):
    with Run(str(tmp_path), small_space(), "random", SETTINGS, data=synthetic_splits,
             reporter=Reporter()) as run:
        assert isinstance(run.method, TrialSearch) and isinstance(run.method, SearchMethod)
