"""A budgeted search in its own process, for the kill -9 / resume test.

usage: _budget_script.py DIR ORACLE BUDGET_EPOCHS [COOLDOWN_FRACTION or "auto" (the default)
                        [FINAL_IMAGES: "train" (the default) or "train+val"]]
"""

import sys

from kerasnas.datasets import make_splits
from kerasnas.methods import BudgetedSearch
from kerasnas.progress import ConsoleReporter
from kerasnas.search import search
from kerasnas.spaces import ResNetSpace

directory, oracle, budget = sys.argv[1:4]
cooldown = sys.argv[4] if len(sys.argv) > 4 else "auto"
final_images = sys.argv[5] if len(sys.argv) > 5 else "train"
space = ResNetSpace(stem_width=8, stages=1, kernel_size=3, optimizer="adam")
data = make_splits(train_size=400, val_size=100, seed=0)
data.x_test, data.y_test = data.x_test[:100], data.y_test[:100]
# "auto": the budget as the command line gives it (the run makes its method, cooled).
budgeted = ({"budget_epochs": float(budget)} if (cooldown, final_images) == ("auto", "train") else
            {"method": BudgetedSearch(budget_epochs=float(budget), final_images=final_images,
                                      cooldown_fraction=cooldown if cooldown == "auto"
                                      else float(cooldown))})
search(space, oracle, data, **budgeted, batch_size=25, directory=directory, seed=0, resume=True,
       reporter=ConsoleReporter(lambda line: print(line, flush=True)))
print("DONE", flush=True)
