"""Every private KerasTuner name kerasnas relies on still exists, with the parameters kerasnas uses."""

import os
import re
import subprocess

import keras_tuner
import pytest

import kerasnas
from kerasnas import keras_tuner_internals as internals
from kerasnas.methods.continuing_tuner import ContinuingTuner
from kerasnas.oracles import ORACLES
from kerasnas.oracles.successive_halving import SuccessiveHalvingOracle
from kerasnas.tuner import NASTuner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("entry", internals.PRIVATE_NAMES, ids=lambda e: e.id)
def test_the_private_name_is_there_as_kerasnas_uses_it(entry):
    internals.check(entry)


def test_entries_are_unique():
    ids = [e.id for e in internals.PRIVATE_NAMES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("entry, problem", [
    (internals.PrivateName("keras_tuner.Oracle", "_gone", "call", ()), "does not define it"),
    (internals.PrivateName("keras_tuner.Oracle", "_get_trial_dir", "call", ("trial_id", "x")),
     r"takes \(trial_id\)"),
    (internals.PrivateName("keras_tuner.Oracle", "_save_trial", "override", ()),
     r"takes \(trial\)"),
    (internals.PrivateName("keras_tuner.Oracle", "_retry_queue", "attribute", value_type=dict),
     "makes it a list, not a dict"),
    (internals.PrivateName("keras_tuner.src.gone", "x", "call", ()), "has no keras_tuner.src.gone"),
])
def test_a_changed_name_fails_naming_it_and_the_version(entry, problem):
    with pytest.raises(internals.KerasTunerInternalsError) as error:
        internals.check(entry)
    message = str(error.value)
    assert message.startswith(entry.id)
    assert re.search(problem, message)
    assert f"keras-tuner {keras_tuner.__version__}" in message
    assert "kerasnas/keras_tuner_internals.py" in message


def test_an_override_taking_other_parameters_than_keras_tuner_fails(monkeypatch):
    monkeypatch.setattr(NASTuner, "_build_hypermodel", lambda self, hp, extra: None)
    entry = next(e for e in internals.PRIVATE_NAMES if e.by == "kerasnas.tuner.NASTuner")
    with pytest.raises(internals.KerasTunerInternalsError, match=r"overridden by .*\(hp, extra\)"):
        internals.check(entry)


def _kerasnas_subclasses():
    from kerasnas import distributed

    servicer = distributed._make_servicer(keras_tuner.Oracle(objective="val_loss", max_trials=1), None)
    return [*ORACLES.values(), kerasnas.AgingEvolution, kerasnas.GaussianProcessSearch, NASTuner,
            ContinuingTuner, SuccessiveHalvingOracle, type(servicer)]


@pytest.mark.parametrize("cls", _kerasnas_subclasses(), ids=lambda c: c.__name__)
def test_every_override_of_a_private_method_is_declared(cls):
    assert internals.undeclared_overrides(cls) == []


def test_an_undeclared_override_is_found(monkeypatch):
    monkeypatch.setattr(ORACLES["evolution"], "_retry", lambda self, trial: False, raising=False)
    assert internals.undeclared_overrides(ORACLES["evolution"]) == ["AgingEvolutionOracle._retry"]


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_no_oracle_sets_a_private_attribute_of_keras_tuner_on_its_own(name):
    assert internals.undeclared_attributes(ORACLES[name]) == []


def test_an_oracle_setting_a_keras_tuner_attribute_is_found(tmp_path, monkeypatch):
    import importlib
    import sys

    (tmp_path / "kerasnas_clobber.py").write_text(
        "import keras_tuner\n\n\nclass Clobber(keras_tuner.Oracle):\n"
        "    def populate_space(self, trial_id):\n        self._tried_so_far = set()\n"
        "        self._run_times = {}\n        self._mine = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("kerasnas_clobber")
    try:
        assert internals.undeclared_attributes(module.Clobber) == ["_run_times"]
    finally:
        sys.modules.pop("kerasnas_clobber")


def test_only_the_internals_module_names_keras_tuner_private_modules():
    found = subprocess.run(["grep", "-rlE", "--include=*.py", r"keras_tuner\.src|maybe_distribute", "kerasnas"],
                           cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert found == ["kerasnas/keras_tuner_internals.py"]
