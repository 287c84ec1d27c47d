"""Do a rung's checkpoints rank as longer training does once they cool down? (issue #27)

For trials of a finished budgeted run (their saved `model.keras`, a selection rung's end),
validation accuracy as saved, at the held learning rate, and after a cool-down branch of
each length in --cooldowns: the model, reloaded from its file each time, trains that many
epochs of the run's training split (reshuffled as the run's stream, from its first batch)
while the rate decays linearly from the saved rate to 0. Compare the ranks with the run's
end (or another run's) to see whether a snapshot or a cooled model predicts it: the case
for `BudgetedSearch(cooldown_fraction=...)`.

    python -m benchmarks.cooldown_probe runs/budget/nasbench201-B12-s0-raced --trials 3,4

Appends one JSON line per trial to --out (reports/cooldown_probe.jsonl). The run folders
are not kept in the repository: a row names its run and trial.
"""

import argparse
import json
import os
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a finished budgeted run's folder")
    parser.add_argument("--trials", required=True, help="comma-separated trial ids")
    parser.add_argument("--cooldowns", default="0.125,0.25,0.5", help="epochs (%(default)s)")
    parser.add_argument("--out", default=os.path.join("reports", "cooldown_probe.jsonl"))
    args = parser.parse_args(argv)
    args.trials = [t for t in args.trials.split(",") if t]
    try:
        args.cooldowns = [float(c) for c in args.cooldowns.split(",") if c]
    except ValueError:
        parser.error(f"--cooldowns must be comma-separated numbers; got {args.cooldowns!r}")
    if not args.cooldowns or min(args.cooldowns) <= 0:
        parser.error(f"--cooldowns must be numbers > 0; got {args.cooldowns}")
    record = os.path.join(args.run, "run.json")
    if not os.path.isfile(record):
        parser.error(f"{args.run} is not a kerasnas run folder (no run.json): give a run's folder")
    with open(record) as f:
        args.record = json.load(f)
    for trial in args.trials:
        if not os.path.isfile(model_path(args.run, trial)):
            parser.error(f"trial {trial} of {args.run} has no saved model ({model_path(args.run, trial)})")
    return args


def model_path(run, trial):
    return os.path.join(run, "search", f"trial_{trial}", "model.keras")


def probe(args, log=print):
    import keras

    from kerasnas.datasets import make_splits

    r = args.record
    data = make_splits(r["dataset"]["name"], train_size=r["train_size"], val_size=r["val_size"],
                       seed=r["seed"])
    val = data.dataset("val", batch_size=r["batch_size"])
    steps_per_epoch = r["train_size"] / r["batch_size"]

    class Linear(keras.callbacks.Callback):
        def __init__(self, peak, steps):
            super().__init__()
            self.peak, self.steps = peak, steps

        def on_train_batch_begin(self, batch, logs=None):
            self.model.optimizer.learning_rate = self.peak * (1 - batch / self.steps)

    for trial in args.trials:
        model = keras.models.load_model(model_path(args.run, trial))
        row = {"run": os.path.basename(os.path.normpath(args.run)), "trial": trial,
               "as_saved": float(model.evaluate(val, verbose=0, return_dict=True)["accuracy"]),
               "rate": float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))}
        for cooldown in args.cooldowns:
            model = keras.models.load_model(model_path(args.run, trial))
            steps = max(1, round(cooldown * steps_per_epoch))
            stream = data.stream("train", batch_size=r["batch_size"], seed=r["seed"])
            start = time.time()
            model.fit(stream, steps_per_epoch=steps, epochs=1, verbose=0,
                      callbacks=[Linear(row["rate"], steps)])
            row[f"cooled {cooldown:g}"] = float(model.evaluate(val, verbose=0,
                                                               return_dict=True)["accuracy"])
            row[f"seconds {cooldown:g}"] = time.time() - start
        log(json.dumps(row))
        yield row


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    for row in probe(args):
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
