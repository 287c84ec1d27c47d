"""`SuccessiveHalvingOracle`: candidates from any proposer, the best continued rung by rung.

Driven with a synthetic objective (no model trained): a candidate's score grows
with its epochs, so a promotion scores above its parent.
"""

import keras_tuner
import pytest

from kerasnas import keras_tuner_internals as internals
from kerasnas.budget_plan import make_plan
from kerasnas.oracles import make_oracle
from kerasnas.oracles.successive_halving import SuccessiveHalvingOracle, significant_lead
from kerasnas.testing.oracle_contract import register_space, score

OBJECTIVE = keras_tuner.Objective("score", "max")


def halving(directory, proposer="random", budget=30, asynchronous=None, seed=1, raced=0, **kwargs):
    oracle = SuccessiveHalvingOracle(
        make_oracle(proposer, objective=OBJECTIVE, max_trials=100, seed=seed),
        make_plan(budget, raced=raced),
        asynchronous=asynchronous, seed=seed, **kwargs)
    internals.set_project_dir(oracle, str(directory), "p")
    register_space(oracle)
    oracle.verbose = 0
    oracle.proposer.verbose = 0
    return oracle


def end(oracle, trial, failed=False):
    values = trial.hyperparameters.values
    oracle.update_trial(trial.trial_id, {"score": score(values) + values["tuner/epochs"]})
    trial.status = "FAILED" if failed else "COMPLETED"
    oracle.end_trial(trial)


def run(oracle, failed=(), until=None, tuner="tuner0"):
    while until is None or len(oracle.trials) < until:
        trial = oracle.create_trial(tuner)
        if trial.status != "RUNNING":
            return trial
        end(oracle, trial, failed=trial.trial_id in failed)
    return None


def rungs(oracle):
    return [t.hyperparameters.values["tuner/round"] for _, t in sorted(oracle.trials.items())]


def test_a_bracket_judges_every_candidate_then_continues_the_best_to_the_budget(tmp_path):
    oracle = halving(tmp_path)  # 30 epochs: 9 x 0.25, 3 x 0.75, 1 x 2.25, then 1 to 27
    assert run(oracle).status == "STOPPED"
    assert rungs(oracle) == [0] * 9 + [1] * 3 + [2] + [3]
    trials = [t for _, t in sorted(oracle.trials.items())]
    first = sorted(trials[:9], key=lambda t: -t.score)[:3]
    assert [t.hyperparameters.values["tuner/trial_id"] for t in trials[9:12]] == \
        [t.trial_id for t in first]  # the best 3 of all 9, in order
    winner = trials[13].hyperparameters.values
    assert (winner["tuner/initial_epoch"], winner["tuner/epochs"]) == (2.25, 27.0)
    assert winner["tuner/trial_id"] == trials[12].trial_id
    parent = oracle.trials[winner["tuner/trial_id"]].hyperparameters.values
    assert {k: v for k, v in winner.items() if not k.startswith("tuner/")} == \
        {k: v for k, v in parent.items() if not k.startswith("tuner/")}


def test_the_proposer_hears_each_candidate_once_with_its_first_score(tmp_path):
    oracle = halving(tmp_path, proposer="evolution")
    run(oracle)
    proposer = oracle.proposer
    assert len(proposer.trials) == 9 and all(t.status == "COMPLETED" for t in proposer.trials.values())
    first = {oracle.proposer_trial[i]: t.score for i, t in oracle.trials.items() if i in oracle.proposer_trial}
    assert {i: t.score for i, t in proposer.trials.items()} == first


def test_failed_candidates_are_not_promoted_and_the_bracket_still_ends(tmp_path):
    oracle = halving(tmp_path, max_consecutive_failed_trials=10)
    assert run(oracle, failed={"00", "01", "02", "03", "04", "05", "06"}).status == "STOPPED"
    assert rungs(oracle) == [0] * 9 + [1] * 2 + [2] + [3]  # only 2 candidates completed


def test_several_tuners_promote_as_soon_as_a_third_of_a_rung_has_ended(tmp_path):
    oracle = halving(tmp_path)
    running = [oracle.create_trial(f"tuner{i}") for i in range(3)]
    for trial in running:
        end(oracle, trial)
    promoted = oracle.create_trial("tuner0")  # ASHA: 3 ended, the best of them goes on
    assert promoted.hyperparameters.values["tuner/round"] == 1


def test_a_resumed_oracle_goes_on_with_the_same_trials(tmp_path):
    whole = halving(tmp_path / "a", proposer="evolution")
    run(whole)
    cut = halving(tmp_path / "b", proposer="evolution")
    run(cut, until=6)
    cut.create_trial("tuner0")  # running when the process is killed
    resumed = halving(tmp_path / "b", proposer="evolution")
    resumed.reload()
    run(resumed)
    assert [t.hyperparameters.values for _, t in sorted(resumed.trials.items())] == \
        [t.hyperparameters.values for _, t in sorted(whole.trials.items())]


@pytest.mark.parametrize("proposer", ["random", "bayes", "tpe", "evolution"])
def test_every_kerasnas_oracle_proposes_the_candidates(tmp_path, proposer):
    oracle = halving(tmp_path, proposer=proposer)
    assert run(oracle).status == "STOPPED"
    assert len(oracle.trials) == 14
    assert len({internals.values_key(oracle, t.hyperparameters.values)
                for i, t in oracle.trials.items() if i in oracle.proposer_trial}) == 9


def test_a_proposer_that_is_not_an_oracle_is_refused():
    with pytest.raises(ValueError, match=r"`proposer` must be a keras_tuner.Oracle. "
                                         r"Received: proposer=str"):
        SuccessiveHalvingOracle("random", make_plan(12))


def test_a_cost_divides_each_rungs_epochs_and_a_final_end_sizes_the_last_rung(tmp_path):
    # 30 epochs: 9 x 0.25, 3 x 0.75, 1 x 2.25, then the winner; a candidate with a = 2 costs
    # twice the plan's epoch (half the epochs a rung, whole eighths), the others half of it.
    def cost(values):
        return 2.0 if values["a"] == 2 else 0.5

    oracle = halving(tmp_path, cost=cost, final_end=lambda parent: 40.0)
    assert run(oracle).status == "STOPPED"
    for trial in oracle.trials.values():
        v = trial.hyperparameters.values
        parent = oracle.trials[v["tuner/trial_id"]] if v["tuner/trial_id"] else None
        start = parent.hyperparameters.values["tuner/epochs"] if parent else 0.0
        assert v["tuner/initial_epoch"] == start  # continued exactly where its parent ended
        segment = (0.25, 0.5, 1.5)[v["tuner/round"]] if v["tuner/round"] < 3 else None
        if segment is None:
            assert v["tuner/epochs"] == 40.0
        else:
            assert v["tuner/epochs"] - start == segment / cost(v)


START = {"a": 0, "b": 0, "c": False}


def run_scored(oracle, first_scores, continued):
    """Runs the bracket with accuracies: the i-th candidate scores first_scores[i]; a
    promotion scores `continued(parent_score, from_start)`. Returns the trials in order."""
    while (trial := oracle.create_trial("tuner0")).status == "RUNNING":
        values = trial.hyperparameters.values
        if values["tuner/trial_id"]:
            parent = oracle.trials[values["tuner/trial_id"]]
            accuracy = continued(parent.score, oracle._from_start(parent))
        else:
            accuracy = first_scores[sum(1 for r in oracle.rung_of.values() if r == 0) - 1]
        oracle.update_trial(trial.trial_id, {"score": accuracy})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    return [t for _, t in sorted(oracle.trials.items())]


def lineage(oracle, trial):
    ids = [trial.trial_id]
    while parent := oracle.trials[ids[-1]].hyperparameters.values["tuner/trial_id"]:
        ids.append(parent)
    return ids[::-1]


@pytest.mark.parametrize("images, best_proposal, winner", [
    (2000, 0.76, 0),    # a lead of 1 point on 2,000 images is noise (0.0225 needed): the start
    (None, 0.76, 1),    # without the rule any lead does
    (2000, 0.80, 1),    # 5 points is a significant lead
])
def test_a_proposal_displaces_a_start_only_with_a_significant_lead(tmp_path, images, best_proposal,
                                                                   winner):
    oracle = halving(tmp_path, budget=12, starts=[START], validation_images=images)
    trials = run_scored(oracle, [0.75, best_proposal, 0.60], lambda score, _: score + 0.05)
    assert [t.hyperparameters.values["tuner/round"] for t in trials] == [0, 0, 0, 1, 2]
    assert lineage(oracle, trials[-1])[0] == trials[winner].trial_id


def test_a_model_continued_from_a_start_keeps_the_benefit_of_the_doubt(tmp_path):
    # 30 epochs: 9 x 0.25, 3 x 0.75, 1 x 2.25, then the winner. The start (0.70) enters rung 1
    # first (0.70 + 0.0237 > 0.72); there its continuation (0.80) still outranks a proposal's
    # (0.81), so it reaches rung 2 and the end.
    oracle = halving(tmp_path, starts=[START], validation_images=2000)
    firsts = [0.70, 0.72, 0.71, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    trials = run_scored(oracle, firsts, lambda score, from_start: 0.80 if from_start
                        else score + 0.09)
    rung1 = [t for t in trials if t.hyperparameters.values["tuner/round"] == 1]
    assert [lineage(oracle, t)[0] for t in rung1] == [trials[i].trial_id for i in (0, 1, 2)]
    assert lineage(oracle, trials[-1])[:2] == [trials[0].trial_id, rung1[0].trial_id]


@pytest.mark.parametrize("continued_start, winner", [
    (0.86, 0),  # it caught up on the longer rung: the proposal's lead is within the noise
    (0.80, 1),  # still 5 points behind: the proposal wins
])
def test_a_raced_start_ranked_last_is_judged_again_on_the_last_selection_rung(
        tmp_path, continued_start, winner):
    # 12 epochs, raced: 3 x 0.5, then the start and the best proposal to 1.5, then the winner.
    oracle = halving(tmp_path, budget=12, raced=1, starts=[START], validation_images=2000)
    trials = run_scored(oracle, [0.70, 0.76, 0.74], lambda score, from_start: continued_start
                        if from_start else score + 0.09)
    rung1 = [t for t in trials if t.hyperparameters.values["tuner/round"] == 1]
    assert [lineage(oracle, t)[0] for t in rung1] == [trials[0].trial_id, trials[1].trial_id]
    assert [t.hyperparameters.values["tuner/round"] for t in trials] == [0, 0, 0, 1, 1, 2]
    assert trials[-1].hyperparameters.values["tuner/epochs"] == 10.0
    assert lineage(oracle, trials[-1])[0] == trials[winner].trial_id


def test_asynchronous_promotion_races_a_start_as_soon_as_it_ends(tmp_path):
    oracle = halving(tmp_path, budget=30, raced=1, starts=[START], validation_images=2000)
    first = [oracle.create_trial(f"tuner{i}") for i in range(2)]  # the start, a proposal
    for trial in first:
        end(oracle, trial)
    promoted = oracle.create_trial("tuner0")  # 2 ended: no proposal is in the top third yet
    assert promoted.hyperparameters.values["tuner/round"] == 1
    assert promoted.hyperparameters.values["tuner/trial_id"] == first[0].trial_id


def test_the_lead_a_proposal_needs_is_a_one_sided_z_test_over_the_validation_images():
    assert significant_lead(0.75, 2000, 0.95) == pytest.approx(
        1.6448536269514722 * (2 * 0.75 * 0.25 / 2000) ** 0.5)
    assert significant_lead(1.0, 2000, 0.95) == 0.0  # no noise at the bounds
    with pytest.raises(ValueError, match=r"`confidence` must be in \(0.5, 1\). "
                                         r"Received: confidence=0.3"):
        halving("unused", confidence=0.3)
    with pytest.raises(ValueError, match="`validation_images` must be a positive integer or "
                                         "None. Received: validation_images=0"):
        halving("unused", validation_images=0)


def test_a_knob_a_start_leaves_out_takes_its_default_not_a_random_draw(tmp_path):
    oracle = halving(tmp_path, starts=[{"a": 2, "c": True}])
    first = oracle.create_trial("tuner0").hyperparameters.values
    assert {k: v for k, v in first.items() if not k.startswith("tuner/")} == \
        {"a": 2, "b": 0, "c": True, "d": 0}  # b and the now active d at their defaults
