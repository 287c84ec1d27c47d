"""`make_plan`: successive-halving rungs and the winner's training within one budget;
`plan_for_seconds`: the same within a time budget at measured speeds."""

import pytest

from kerasnas.budget_plan import QUANTUM, Rung, make_plan, plan_for_seconds


@pytest.mark.parametrize("budget", [5, 6, 12, 18, 30, 100, 12.5])
def test_a_plan_spends_at_most_its_budget_and_nearly_all_of_it(budget):
    plan = make_plan(budget)
    assert plan.total_epochs <= budget
    assert budget - plan.total_epochs < 0.125  # whole eighths of an epoch: less than one lost
    assert plan.selection_epochs <= 0.25 * budget


def test_twelve_epochs_judge_three_candidates_and_train_the_winner_eleven():
    plan = make_plan(12)
    assert plan.rungs == (Rung(3, 0.5), Rung(1, 1.5), Rung(1, 11.0))
    assert (plan.candidates, plan.trials) == (3, 5)
    assert (plan.selection_epochs, plan.final_epochs) == (2.5, 9.5)


def test_a_larger_budget_judges_more_candidates_in_more_rungs():
    plan = make_plan(30)
    assert plan.rungs == (Rung(9, 0.25), Rung(3, 0.75), Rung(1, 2.25), Rung(1, 27.0))
    assert plan.selection_epochs == 9 * 0.25 + 3 * 0.5 + 1 * 1.5


@pytest.mark.parametrize("budget", [6, 12, 18, 30])
def test_raced_slots_sit_above_the_first_rung_and_come_out_of_the_winners_training(budget):
    plain, raced = make_plan(budget), make_plan(budget, raced=1)
    assert [r.size for r in raced.rungs[:-1]] == \
        [plain.rungs[0].size] + [r.size + 1 for r in plain.rungs[1:-1]]
    assert [r.epochs for r in raced.rungs[:-1]] == [r.epochs for r in plain.rungs[:-1]]
    assert budget - 0.125 < raced.total_epochs <= budget
    assert raced.final_epochs == plain.final_epochs - (raced.selection_epochs - plain.selection_epochs)


def test_twelve_epochs_race_the_hand_design_to_one_and_a_half():
    plan = make_plan(12, raced=1)
    assert plan.rungs == (Rung(3, 0.5), Rung(2, 1.5), Rung(1, 10.0))
    assert (plan.raced, plan.trials, plan.selection_epochs) == (1, 6, 3.5)
    assert "the hand design raced to the last selection rung" in plan.describe()


def test_cooldowns_are_a_share_of_each_rungs_epochs_paid_from_the_winners_training():
    raced, cooled = make_plan(12, raced=1), make_plan(12, raced=1, cooldown_fraction=1 / 6)
    # A sixth of 0.5 and of 1.5 epochs, rounded up to eighths: 3 branches of 1/8, 2 of 1/4.
    assert cooled.cooldowns == (0.125, 0.25) and (cooled.cooldown(0), cooled.cooldown(2)) == (0.125, 0)
    assert cooled.rungs == (Rung(3, 0.5), Rung(2, 1.5), Rung(1, 9.125))
    assert (cooled.selection_epochs, cooled.final_epochs) == (3.5 + 0.875, 7.625)
    assert cooled.total_epochs == raced.total_epochs == 12
    assert "judged after cool-downs of 0.125, 0.25 epochs" in cooled.describe()
    assert raced.cooldowns == () and "cool-down" not in raced.describe()


def test_rungs_grow_by_eta_and_shrink_by_eta():
    plan = make_plan(100, eta=2, selection_fraction=0.2)
    selection = plan.rungs[:-1]
    assert all(b.epochs == 2 * a.epochs and a.size == 2 * b.size
               for a, b in zip(selection, selection[1:]))


@pytest.mark.parametrize("kwargs, message", [
    ({"budget_epochs": 1}, r"too small to compare 3 candidates .* give at least 5 epochs"),
    ({"budget_epochs": 0}, r"`budget_epochs` must be > 0. Received: budget_epochs=0"),
    ({"budget_epochs": 12, "eta": 1}, r"`eta` must be an integer >= 2. Received: eta=1"),
    ({"budget_epochs": 12, "selection_fraction": 1.0}, r"Received: selection_fraction=1.0"),
    ({"budget_epochs": 12, "min_epochs": 0.1}, r"`min_epochs` must be >= `quantum`"),
    ({"budget_epochs": 12, "raced": -1}, r"`raced` must be an integer >= 0. Received: raced=-1"),
    ({"budget_epochs": 5, "selection_fraction": 0.9, "raced": 2},
     r"A budget of 5 epochs cannot pay for 2 raced slot\(s\) besides its selection"),
    ({"budget_epochs": 5, "selection_fraction": 0.6, "cooldown_fraction": 0.9},
     r"5 epochs cannot pay for the cool-downs besides its selection .* a lower cooldown_fraction"),
    ({"budget_epochs": 12, "cooldown_fraction": 1.0},
     r"`cooldown_fraction` must be a number in \[0, 1\). Received: cooldown_fraction=1.0"),
    ({"budget_epochs": 12, "cooldown_fraction": -0.1}, r"Received: cooldown_fraction=-0.1"),
])
def test_bad_plans_are_refused_naming_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_plan(**kwargs)


def _seconds(plan, per_epoch, per_trial):
    return plan.total_epochs * per_epoch + plan.trials * per_trial


@pytest.mark.parametrize("seconds, per_epoch, per_trial", [
    (200, 20, 5), (240, 25, 4), (600, 3, 2), (3600, 30, 6), (126, 20, 5)])
def test_a_time_budget_gets_the_largest_plan_whose_estimate_fits(seconds, per_epoch, per_trial):
    plan = plan_for_seconds(seconds, seconds_per_epoch=per_epoch, seconds_per_trial=per_trial)
    assert _seconds(plan, per_epoch, per_trial) <= seconds
    larger = make_plan(plan.budget_epochs + QUANTUM)
    assert _seconds(larger, per_epoch, per_trial) > seconds
    assert plan == make_plan(plan.budget_epochs)  # the same plan an epoch budget would get


def test_a_time_budget_too_short_names_the_time_the_smallest_plan_needs():
    # The smallest plan, 5 epochs (3 x 0.25, 1 x 0.75, the winner to 4.5): 5 x 20 + 5 trials x 5.
    with pytest.raises(ValueError, match=r"120 seconds are too few .* 20.0 s an epoch and 5.0 s a "
                                         r"trial, the smallest plan \(budget 5 epochs.*needs about "
                                         r"125 s"):
        plan_for_seconds(120, seconds_per_epoch=20, seconds_per_trial=5)
    with pytest.raises(ValueError, match=r"seconds_per_epoch=0"):
        plan_for_seconds(120, seconds_per_epoch=0, seconds_per_trial=5)
