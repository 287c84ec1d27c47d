"""The study's three experiments at its budgets, on the full data; writes reports/study-*.md.

    python benchmarks/study.py resnet-bayes      # study: 3 trials x 3 epochs, 83.96 %, 15,497 s
    python benchmarks/study.py custom-evolution  # study: 6 x 3, 91.34 %, 11,940 s
    python benchmarks/study.py nasbench201-evolution [--space-option channels=8 ...]

Each calls the same `kerasnas.search()` as the CLI, on the 50k / 10k split of the
training images, and tests the best model once on the 10k test images.
"""

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# The study's figures (../shared/seed/summary.md): trials, epochs, seconds, accuracy (%).
STUDY = {
    "custom-evolution": ("custom", "evolution", 6, 3, 11940, 91.34),
    "nasbench201-evolution": ("nasbench201", "evolution", 6, 3, 15882, 88.96),
    "resnet-bayes": ("resnet", "bayes", 3, 3, 15497, 83.96),
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("experiment", choices=sorted(STUDY))
    p.add_argument("--space-option", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--final-epochs", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-size", type=int, default=50000,
                   help="the study's budget is the full 50k; smaller is a documented cheaper setting")
    p.add_argument("--val-size", type=int, default=10000)
    p.add_argument("--output-dir", default=None)
    p.add_argument("--report", default=None, help="default: reports/study-EXPERIMENT.md")
    args = p.parse_args()
    from kerasnas.data import make_splits
    from kerasnas.report import to_markdown
    from kerasnas.run import parse_options
    from kerasnas.search import search

    space, oracle, trials, epochs, study_seconds, study_acc = STUDY[args.experiment]
    options = parse_options(args.space_option)
    out = args.output_dir or os.path.join(ROOT, "runs", f"study-{args.experiment}")
    data = make_splits(train_size=args.train_size, val_size=args.val_size, seed=args.seed)
    full = args.train_size == 50000 and args.val_size == 10000
    start = time.time()
    r = search(space, oracle, data, max_trials=trials, epochs=epochs, directory=out, seed=args.seed,
               overwrite=True, space_options=options, final_epochs=args.final_epochs,
               log=lambda line: print(line, flush=True))
    wall = time.time() - start
    s = r.summary
    acc = 100 * r.test_accuracy
    goal_acc = 90.0 if args.experiment == "resnet-bayes" else study_acc + 1
    cols = [c for c in ("trial_id", "status", "phase", "parent", "mutation", "arch", "val_accuracy",
                        "params", "train_seconds") if c in r.trials]
    table = to_markdown(r.trials[cols])
    cmd = " ".join(["python benchmarks/study.py", args.experiment]
                   + [f"--space-option {o}" for o in args.space_option]
                   + ([] if full else [f"--train-size {args.train_size} --val-size {args.val_size}"])
                   + ([f"--final-epochs {args.final_epochs}"] if args.final_epochs else []))
    final = ""
    if "final_test_accuracy" in s:
        final = (f"\nFinal retraining of the best architecture ({s['final_epochs']} epochs on all 60k, "
                 f"augmentation, cosine decay): **{100 * s['final_test_accuracy']:.2f} %** test "
                 f"accuracy in {s['final_seconds']:.0f} s (goal 94.0 %: "
                 f"{'met' if s['final_test_accuracy'] >= 0.94 else 'MISSED'}).\n")
    caveat = "" if full else (
        f"\n**Not the study's data budget:** trials train on {args.train_size:,} images (the study: "
        "the full training set), so accuracy and time are not comparable to the study's; the "
        "full-data run did not fit this session's machine time.\n")
    text = f"""# Study experiment: {space} x {oracle}, {trials} trials x {epochs} epochs
{caveat}
Command: `{cmd}`
Machine: {s['machine']}
Date: {s['date']}
Versions: {json.dumps(s['versions'])}
Threads: TF intra-op {os.environ.get('TF_NUM_INTRAOP_THREADS', 'all cores')}; load average at the end
{os.getloadavg()[0]:.1f} (other runs shared the machine when it is above the thread count).
Space options: {json.dumps(options) or 'defaults'}; seed {args.seed}; data: {s['data_source']},
{args.train_size:,} train / {args.val_size:,} validation (stratified, from the training set), 10,000 test.

| | study (NNI) | kerasnas | goal |
|---|---|---|---|
| best model test accuracy (%) | {study_acc:.2f} | **{acc:.2f}** | >= {goal_acc:.2f}: {'met' if acc >= goal_acc else 'MISSED'} |
| best validation accuracy (%) | - | {100 * s['best_val_accuracy']:.2f} | |
| total run time (s) | {study_seconds:,} | **{wall:,.0f}** | < study: {'met' if wall < study_seconds else 'MISSED'} |
| mean time per trial (s) | {study_seconds / trials:,.0f} | {wall / trials:,.0f} | |
| trials completed / failed | {trials} / - | {s['trials_completed']} / {s['trials_failed']} | |
{final}
Best: trial {s['best_trial']}, `{s['best_architecture']}`.

{table}
"""
    path = args.report or os.path.join(ROOT, "reports", f"study-{args.experiment}.md")
    with open(path, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
