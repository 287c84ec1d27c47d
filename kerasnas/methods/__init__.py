"""How a run produces the model it returns: a `SearchMethod` object given to `Run`.

`TrialSearch` is the trial-by-trial search (each trial trains a fresh model,
the best trial's model is returned); `BudgetedSearch` spends one budget of
epochs on successive halving and on the winner's training. The `Run` owns the output folder; the
method owns the loop that spends the budget and chooses the returned model.
"""

from kerasnas.methods.base import ReturnedModel, SearchMethod
from kerasnas.methods.budgeted import BudgetedSearch
from kerasnas.methods.trials import TrialSearch

__all__ = ["BudgetedSearch", "ReturnedModel", "SearchMethod", "TrialSearch"]
