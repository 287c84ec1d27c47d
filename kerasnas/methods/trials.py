"""`TrialSearch`: trial by trial, each trial a fresh model; the best trial's model is returned."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable

from kerasnas.methods.base import ReturnedModel, SearchMethod

if TYPE_CHECKING:
    import keras_tuner

    from kerasnas.run_folder import Run
    from kerasnas.settings import SearchSettings


class TrialSearch(SearchMethod):
    """The oracle proposes, each trial trains a new model for `settings.epochs`.

    Each trial checkpoints once an epoch: a killed run resumed goes on from the
    killed trial's last epoch, with the batches and weights it would have had.

    In chief/worker mode the chief serves the oracle (`kerasnas.distributed`)
    and the workers train. The returned model is the best finished trial's
    (`kerasnas.early_stopping.best_finished`: a trial stopped early is never
    returned), as trained in its trial.
    """

    def prepare(self, run: Run) -> keras_tuner.Tuner:
        from kerasnas.strategy import make_strategy
        from kerasnas.tuner import NASTuner

        s = run.settings
        tuner = NASTuner(
            run.oracle, run.hypermodel, seed=s.seed, worker_timeout=s.worker_timeout,
            lr_schedule=s.lr_schedule, precision=s.precision, early_stopping=s.early_stopping,
            constraints=s.parsed_constraints(), objectives=s.objectives,
            tensorboard_dir=os.path.join(run.directory, "tensorboard") if s.tensorboard else None,
            listener=run, directory=run.directory, project_name=run.project, checkpoint_epochs=True,
            overwrite=False, distribution_strategy=make_strategy(s.strategy))
        tuner.oracle.max_trials = s.max_trials  # KerasTuner does not save it: ours wins
        return tuner

    def search(self, run: Run) -> None:
        s = run.settings

        # Made by each trial after it seeds (NASTuner): a shared dataset's shuffle
        # order depended on the global seed and on how many trials ran before.
        def train():
            return run.data.dataset("train", batch_size=s.batch_size, shuffle=True, seed=s.seed)

        self.loop(run, train, epochs=s.epochs)

    def loop(self, run: Run, train: Callable, **fit: Any) -> None:
        """The tuner's search on `train` (called by each trial), scored on the validation split;
        in chief/worker mode the chief serves the oracle and the workers train."""
        from kerasnas import distributed

        s = run.settings

        def val():
            return run.data.dataset("val", batch_size=s.batch_size)

        fit["verbose"] = int(s.verbose)
        if run.role == "chief":  # KerasTuner's own chief hangs when a worker dies; ours does not
            run.tuner.save()
            run.oracle.verbose = 0
            with distributed.quiet_debug_print():
                distributed.serve(run.oracle, worker_timeout=s.worker_timeout,
                                  log=run.reporter.on_message, on_trial_end=run.record_trial)
        elif run.role == "worker":
            with distributed.quiet_debug_print():
                run.tuner.search(train, val, **fit)
        else:
            run.tuner.search(train, val, **fit)

    def returned_model(self, run: Run) -> ReturnedModel | None:
        from kerasnas.early_stopping import best_finished
        from kerasnas.tuner import MODEL_FILE

        best = best_finished(run.oracle)
        if best is None:
            return None
        in_memory = run.tuner.best_in_memory
        model = in_memory[2] if in_memory is not None and in_memory[0] == best.trial_id else None
        return ReturnedModel(best, os.path.join(run.tuner.get_trial_dir(best.trial_id), MODEL_FILE),
                             model)

    def describe(self, settings: SearchSettings) -> str:
        return f"{settings.max_trials} trials x {settings.epochs} epochs"
