"""kerasnas.proxies.steer: a proxy picking an oracle's random draws, and a run that steers."""

import json

import pandas as pd
import pytest

from kerasnas.oracles import SuccessiveHalvingOracle, make_oracle
from kerasnas.progress import Reporter
from kerasnas.proxies import PROXIES, ProxyScore, score, steer, steering_proxy
from kerasnas.proxies._prescreen import build, first_images
from kerasnas.run_folder import OBJECTIVE, Run
from kerasnas.search import search
from kerasnas.settings import STEERING, SearchSettings
from kerasnas.spaces import get_space
from kerasnas.spaces.nasbench201 import from_arch_string

TINY_NB201 = {"channels": 4, "cells_per_stage": 1}


def tiny_nb201(data):
    return get_space("nasbench201", **TINY_NB201).for_data(
        input_shape=data.input_shape, num_classes=data.num_classes, mean=data.mean,
        variance=data.variance)


def test_auto_steers_by_the_proxy_a_space_names_and_the_settings_know_every_proxy():
    assert SearchSettings().steer == "none"  # until a steered search is measured to gain
    assert steering_proxy("auto", get_space("nasbench201")) == "naswot"
    assert steering_proxy("auto", get_space("resnet")) is None
    assert steering_proxy("auto", get_space("custom")) is None
    assert steering_proxy("none", get_space("nasbench201")) is None
    assert steering_proxy("synflow", get_space("resnet")) == "synflow"
    with pytest.raises(ValueError, match="Received: steer='zico'; allowed: auto, none, naswot, "):
        steering_proxy("zico", get_space("resnet"))
    assert STEERING == ("auto", "none", *PROXIES)  # the CLI's choices, without importing Keras
    with pytest.raises(ValueError, match="`steer` must be one of"):
        SearchSettings(steer="zico")
    with pytest.raises(ValueError, match="`steer_pool` must be an integer >= 1; got 0"):
        SearchSettings(steer_pool=0)


def test_a_proxy_score_is_the_proxys_score_of_the_seeded_untrained_model(synthetic_splits):
    space = tiny_nb201(synthetic_splits)
    images = first_images(synthetic_splits, 16)
    values = from_arch_string("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+"
                              "|avg_pool_3x3~0|none~1|nor_conv_3x3~2|")
    scorer = ProxyScore(space, "naswot", images, seed=2)
    value = scorer({**values, "tuner/epochs": 1})  # a halving oracle's keys are not the model's
    assert value == score("naswot", build(space, values, seed=2), images)
    assert scorer(values) == value  # a fresh seeded session each time: the same score
    assert ProxyScore(space, "params", images)(values) == score(
        "params", build(space, values), images)
    with pytest.raises(ValueError, match="Received: proxy='zico'"):
        ProxyScore(space, "zico", images)


def test_steer_sets_the_proxy_on_a_halving_oracles_proposer_and_not_on_tpe(synthetic_splits):
    from kerasnas.budget_plan import make_plan

    space = tiny_nb201(synthetic_splits)
    evolution = make_oracle("evolution", objective=OBJECTIVE, max_trials=4, seed=0)
    halving = SuccessiveHalvingOracle(evolution, make_plan(6.0), seed=0)
    assert steer(halving, space, synthetic_splits, proxy="naswot", pool=3) == [evolution]
    assert isinstance(evolution.proxy, ProxyScore) and evolution.proxy_pool == 3
    assert evolution.proxy.images.shape[0] == 128 and evolution.proxy.proxy == "naswot"
    pytest.importorskip("optuna")
    tpe = make_oracle("tpe", objective=OBJECTIVE, max_trials=4, seed=0)
    assert steer(tpe, space, synthetic_splits, proxy="naswot", pool=3) == []
    with pytest.raises(ValueError, match="Received: pool=0; allowed: an int >= 1."):
        steer(evolution, space, synthetic_splits, proxy="naswot", pool=0)


@pytest.mark.slow
def test_a_steered_search_records_the_proxy_and_proposes_each_draws_best(tmp_path, synthetic_splits):
    """nasbench201 with `steer="auto"`: its warm-up draws are NASWOT's picks, scored as
    results.csv says; the mutations are not scored. Unsteered, nothing is scored."""
    directory = tmp_path / "run"
    result = search("nasbench201", "evolution", synthetic_splits, max_trials=3, epochs=1,
                    batch_size=64, seed=0, steer="auto", steer_pool=3, space_options=TINY_NB201,
                    directory=str(directory), reporter=Reporter())
    assert json.loads((directory / "run.json").read_text())["steering"] == "naswot"
    table = pd.read_csv(directory / "results.csv")
    warmup = table[table.phase == "warm-up"]
    assert len(warmup) == 2 and table.proxy_score[table.phase != "warm-up"].isna().all()
    scorer = ProxyScore(tiny_nb201(synthetic_splits), "naswot",
                        first_images(synthetic_splits, 128), seed=0)
    for _, row in warmup.iterrows():
        values = {k[3:]: v for k, v in row.items() if k.startswith("hp.") and not pd.isna(v)}
        assert row.proxy_score == pytest.approx(scorer(values), rel=1e-6)
    assert result.trials.proxy_score.notna().sum() == 2
    plain = search("nasbench201", "evolution", synthetic_splits, max_trials=2, epochs=1,
                   batch_size=64, seed=0, space_options=TINY_NB201,
                   directory=str(tmp_path / "plain"), reporter=Reporter())
    assert "proxy_score" not in plain.trials
    assert json.loads((tmp_path / "plain" / "run.json").read_text())["steering"] is None


def test_tpe_is_not_steered_by_auto_and_refused_a_named_proxy(tmp_path, synthetic_splits):
    pytest.importorskip("optuna")
    space = tiny_nb201(synthetic_splits)
    with Run(str(tmp_path / "auto"), space, "tpe", SearchSettings(max_trials=2, steer="auto"),
             data=synthetic_splits, reporter=Reporter()) as run:
        assert run.steering is None
    with pytest.raises(ValueError, match="--steer naswot picks among an oracle's random draws, "
                                         "and the tpe oracle does not draw through kerasnas"):
        Run(str(tmp_path / "named"), space, "tpe", SearchSettings(max_trials=2, steer="naswot"),
            data=synthetic_splits, reporter=Reporter())
    assert not (tmp_path / "named" / "run.json").exists()


def test_a_run_begun_before_steering_resumes_without_it(tmp_path, synthetic_splits):
    space = tiny_nb201(synthetic_splits)
    settings = SearchSettings(max_trials=2, steer="auto")

    def open_run(**kw):
        return Run(str(tmp_path), space, "evolution", settings, data=synthetic_splits,
                   reporter=Reporter(), **kw)

    with open_run() as run:
        assert run.steering == "naswot"
        assert "(random draws: the best naswot score of 10)" in run.headline()
    with open_run(resume=True) as run:
        assert run.steering == "naswot"
    # run.json as runs begun before steering wrote it: no steering, no steer settings.
    record = json.loads((tmp_path / "run.json").read_text())
    for key in ("steering", "steer", "steer_pool"):
        del record[key]
    (tmp_path / "run.json").write_text(json.dumps(record))
    with open_run(resume=True) as run:
        assert run.steering is None and "random draws" not in run.headline()
    assert json.loads((tmp_path / "run.json").read_text())["steering"] is None


@pytest.mark.slow
def test_a_budgeted_search_steers_its_proposers_draws(tmp_path, synthetic_splits):
    """The halving oracle's candidates come from its proposer: its random draws are steered,
    the hand-designed start and the promotions are not scored."""
    result = search("nasbench201", "evolution", synthetic_splits, budget_epochs=5, batch_size=64,
                    seed=0, steer="auto", steer_pool=2, space_options=TINY_NB201,
                    directory=str(tmp_path / "run"), reporter=Reporter())
    t = result.trials
    warmup = t[t.phase == "warm-up"]
    assert len(warmup) >= 1 and warmup.proxy_score.notna().all() and (warmup.rung == 0).all()
    assert t.proxy_score[t.phase != "warm-up"].isna().all()  # the start, mutations, promotions
    assert {"start", "warm-up"} <= set(t.phase) and (t.rung > 0).any()
    assert result.summary["budget"]["epochs_used"] <= 5 + 1
