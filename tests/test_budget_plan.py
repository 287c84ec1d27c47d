"""`make_plan`: successive-halving rungs and the winner's training within one budget."""

import pytest

from kerasnas.budget_plan import Rung, make_plan


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
])
def test_bad_plans_are_refused_naming_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_plan(**kwargs)
