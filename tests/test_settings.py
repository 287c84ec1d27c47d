"""SearchSettings: choices checked from the fields' metadata, objects recorded by class and config."""

import dataclasses
import os
import re
import subprocess
import sys

import pytest

from kerasnas import settings, strategy
from kerasnas.settings import SearchSettings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHOICE_FIELDS = [f for f in dataclasses.fields(SearchSettings) if "choices" in f.metadata]


def test_the_fields_with_choices_are_the_named_options():
    assert [f.name for f in CHOICE_FIELDS] == ["final_images", "lr_schedule", "precision",
                                               "early_stopping", "strategy", "backend", "steer",
                                               "engine"]


@pytest.mark.parametrize("field", CHOICE_FIELDS, ids=lambda f: f.name)
def test_a_value_outside_the_choices_is_refused_naming_field_value_and_choices(field):
    choices = field.metadata["choices"]
    budget = {"budget_epochs": 4} if field.name == "final_images" else {}  # a budgeted run's
    with pytest.raises(ValueError, match=re.escape(f"`{field.name}` must be one of {choices}")
                       + ".*; got 'bogus'"):
        SearchSettings(**{field.name: "bogus"}, **budget)
    for value in choices:
        assert getattr(SearchSettings(**{field.name: value}, **budget), field.name) == value


def test_final_images_without_a_budget_is_refused_naming_the_flags():
    with pytest.raises(ValueError, match=re.escape(
            "`final_images` (--final-images) applies to a budgeted run: give --budget-epochs or "
            "--budget-minutes with it (a trial-by-trial search retrains on train + validation "
            "images with --final-epochs); got final_images='train+val' without a budget.")):
        SearchSettings(final_images="train+val")
    assert SearchSettings(final_images="train+val", budget_minutes=2).final_images == "train+val"


def test_stoppers_and_schedules_are_taken_as_objects_and_recorded_by_class_and_config():
    from kerasnas.early_stopping import MedianStopping
    from kerasnas.schedules import Cosine

    s = SearchSettings(early_stopping=MedianStopping(min_trials=4),
                       lr_schedule=Cosine(warmup_fraction=0.2))
    record = s.to_dict()
    assert record["early_stopping"] == {"class": "kerasnas.early_stopping.MedianStopping",
                                        "config": {"min_trials": 4}}
    assert record["lr_schedule"] == {"class": "kerasnas.schedules.Cosine",
                                     "config": {"warmup_fraction": 0.2}}
    assert SearchSettings().to_dict()["early_stopping"] == "none"  # names stay names
    with pytest.raises(ValueError, match=re.escape(
            "`early_stopping` must be one of ('none', 'median') or a "
            "kerasnas.early_stopping.Stopper; got Cosine(warmup_fraction=0.1).")):
        SearchSettings(early_stopping=Cosine())


def test_strategies_are_listed_once():
    assert strategy.STRATEGIES is settings.STRATEGIES


def test_settings_validate_without_importing_keras():
    code = ("import sys; from kerasnas.settings import SearchSettings; "
            "SearchSettings(early_stopping='median').to_dict(); "
            "print(sorted(m for m in ('keras', 'tensorflow', 'keras_tuner') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": ROOT}).stdout
    assert out.strip() == "[]"
