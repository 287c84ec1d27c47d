"""Paired check: the same architecture trained in Keras (kerasnas) and in PyTorch (NNI).

The study's best custom cell and its best NAS-Bench-201 cell, at the compare
harness' middle scale, each trained by both frameworks on the same split
(10k / 2k, 10k test), batch, epochs and optimizer, over seeds; optional Keras
variants move one Keras default to PyTorch's (benchmarks/comparison/frameworks/paired_models.py).
Reports test accuracy (mean +- std, paired t-test on seeds), seconds per epoch
(the first epoch apart: it includes graph tracing) and trainable parameters
(equal when both sides build the same network).

Run: .venv/bin/python -m benchmarks.paired --seeds 0,1,2 [--variants bn-eps,all] [--lr-schedule cosine]
Each training runs in its own process, alone, with --threads threads; results
are kept in runs/paired/ and a rerun reuses them. Writes reports/paired.md.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone

from benchmarks.comparison.frameworks.paired_models import ARCHS, VARIANTS
from benchmarks.launch import ROOT, child_env, command_text, module_command
from kerasnas.settings import SCHEDULES

SCHEDULE_TEXT = {"constant": "constant (the rate as given)",
                 "cosine": "kerasnas' per-trial schedule (linear warm-up over 10 % of the steps, "
                           "cosine to 0), the same factor per step in both frameworks"}


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", default="custom,nasbench201")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--variants", default="", help=f"Keras variants besides the plain run: {VARIANTS[1:]}")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr-schedule", default="constant", choices=SCHEDULES,
                   help="constant, or kerasnas' per-trial warm-up + cosine (cosine), in both frameworks")
    p.add_argument("--train-size", type=int, default=10000)
    p.add_argument("--val-size", type=int, default=2000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--work", default=os.path.join(ROOT, "runs", "paired"))
    p.add_argument("--out", default=None, help="default: reports/paired.md (constant) or "
                   "reports/paired-cosine.md")
    p.add_argument("--note", default="", help="run conditions for the report (what else ran)")
    p.add_argument("--one", nargs=4, metavar=("ARCH", "FRAMEWORK", "VARIANT", "SEED"),
                   help=argparse.SUPPRESS)  # internal: one training, in a child process
    args = p.parse_args(argv)
    suffix = "" if args.lr_schedule == "constant" else f"-{args.lr_schedule}"
    args.out = args.out or os.path.join(ROOT, "reports", f"paired{suffix}.md")
    args.archs = [a for a in args.archs.split(",") if a]
    args.variants = [v for v in args.variants.split(",") if v]
    try:
        args.seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        p.error(f"--seeds must be comma-separated integers, e.g. 0,1,2; got {args.seeds!r}")
    for name, given, allowed in (("--archs", args.archs, ARCHS), ("--variants", args.variants, VARIANTS[1:])):
        bad = [v for v in given if v not in allowed]
        if bad:
            p.error(f"{name}: unknown {bad}; choose from {sorted(allowed)}")
    return args


def one(args):
    """Trains one (arch, framework, variant, seed) and prints its result as JSON."""
    arch, framework, variant, seed = args.one
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(args.threads)
    from benchmarks.comparison.frameworks import paired_models
    from kerasnas.datasets import make_splits

    data = make_splits(train_size=args.train_size, val_size=args.val_size, seed=0)
    kwargs = {"seed": int(seed), "epochs": args.epochs, "batch_size": args.batch_size,
              "lr_schedule": args.lr_schedule}
    if framework == "keras":
        result = paired_models.train_keras(arch, data, variant=variant if variant != "-" else "", **kwargs)
    else:
        result = paired_models.train_torch(arch, data, threads=args.threads, **kwargs)
    print("RESULT " + json.dumps(result), flush=True)


def runs(args):
    for arch in args.archs:
        for seed in args.seeds:
            for framework, variant in [("torch", "-"), ("keras", "-"), *(("keras", v) for v in args.variants)]:
                yield arch, framework, variant, seed


def run_all(args):
    """Every planned training, each in a child process; cached in --work by its settings."""
    os.makedirs(args.work, exist_ok=True)
    rows = []
    for arch, framework, variant, seed in runs(args):
        key = f"{arch}__{framework}__{variant}__s{seed}__e{args.epochs}b{args.batch_size}" \
              f"n{args.train_size}v{args.val_size}t{args.threads}" + \
              ("" if args.lr_schedule == "constant" else f"-{args.lr_schedule}")
        path = os.path.join(args.work, key + ".json")
        if not os.path.isfile(path):
            cmd = module_command("benchmarks.paired", "--one", arch, framework, variant, seed,
                                 *(f"--{k.replace('_', '-')}={getattr(args, k)}" for k in
                                   ("epochs", "batch_size", "train_size", "val_size", "threads",
                                    "lr_schedule")))
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=child_env())
            lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
            if proc.returncode or not lines:
                sys.exit(f"paired: {arch} {framework} {variant} seed {seed} failed "
                         f"(exit {proc.returncode}):\n{proc.stderr[-3000:]}")
            with open(path + ".tmp", "w") as f:
                f.write(lines[-1][len("RESULT "):])
            os.replace(path + ".tmp", path)  # a killed run leaves no half-written result
        with open(path) as f:
            result = json.load(f)
        label = "PyTorch (NNI space)" if framework == "torch" else \
            "Keras (kerasnas)" + ("" if variant == "-" else f" + {variant}")
        rows.append({"arch": arch, "run": label, "seed": seed, **result})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def verdict_line(diff, p):
    """Whether PyTorch trains the architecture better than plain Keras, in one sentence."""
    if len(diff) < 3 or p != p:
        return f"Verdict: {len(diff)} paired seed(s), too few for a test (3 needed)."
    lead = "PyTorch" if diff.mean() < 0 else "Keras"
    if p < 0.05:
        return f"Verdict: {lead} trains it better ({100 * abs(diff.mean()):.2f} points, paired t p {p:.3f})."
    return (f"Verdict: no significant difference ({lead} ahead by {100 * abs(diff.mean()):.2f} points "
            f"on the mean, paired t p {p:.3f}; Keras ahead on {int((diff > 0).sum())} of {len(diff)} seeds).")


def report(args, rows):
    import pandas as pd
    from scipy import stats

    from kerasnas.provenance import versions
    from kerasnas.report import to_markdown

    df = pd.DataFrame(rows)
    df["later_epoch_s"] = [sum(t[1:]) / max(1, len(t) - 1) for t in df.epoch_seconds]
    df["first_epoch_s"] = [t[0] for t in df.epoch_seconds]
    lines = []
    for arch in args.archs:
        spec = ARCHS[arch]
        sub = df[df.arch == arch]
        base = sub[sub.run.str.startswith("PyTorch")].set_index("seed").test_accuracy
        lines += [f"## {arch}: `{spec['label']}`", "",
                  f"Source: {spec['source']}. Knobs: {spec['knobs']}; recipe: {spec['recipe']}.", "",
                  "| run | test accuracy | vs PyTorch (paired t p) | val accuracy | s / epoch (first, later) "
                  "| trainable params |", "|---|---|---|---|---|---|"]
        verdict = ""
        for label, g in sub.groupby("run", sort=False):
            acc = g.set_index("seed").test_accuracy
            diff = (acc - base).dropna()
            p = stats.ttest_rel(acc[diff.index], base[diff.index]).pvalue if len(diff) >= 3 and \
                not label.startswith("PyTorch") and diff.std() > 0 else float("nan")
            vs = "" if label.startswith("PyTorch") else \
                f"{100 * diff.mean():+.2f} points ({'n/a' if p != p else f'{p:.3f}'})"
            lines.append(
                f"| {label} | {100 * acc.mean():.2f} ± {100 * acc.std():.2f} % | {vs} | "
                f"{100 * g.val_accuracy.mean():.2f} % | {g.first_epoch_s.mean():.1f}, "
                f"{g.later_epoch_s.mean():.1f} | {g.trainable_params.iloc[0]:,} |")
            if label == "Keras (kerasnas)":
                verdict = verdict_line(diff, p)
        lines += ["", verdict, ""]
    per_seed = to_markdown(df[["arch", "run", "seed", "test_accuracy", "val_accuracy", "first_epoch_s",
                               "later_epoch_s"]].round(4))
    text = f"""# Paired check: the same architecture in Keras and in PyTorch

{__doc__.split(chr(10), 2)[2].split("Run:")[0].strip()}

Setting: {args.train_size:,} / {args.val_size:,} images (split seed 0), the 10,000 test images,
{args.epochs} epochs, batch {args.batch_size}, {args.threads} threads, seeds {args.seeds};
learning-rate schedule: {SCHEDULE_TEXT[args.lr_schedule]}.

{chr(10).join(lines)}
Per seed:

{per_seed}

- Command: `{command_text('benchmarks.paired', sys.argv[1:])}`
- Machine: {platform.platform()}, {os.cpu_count()} CPUs{"; " + args.note if args.note else ""}
- Date: {datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")} (runs kept in `{os.path.relpath(args.work, ROOT)}`; a rerun reuses them)
- Versions: {versions()}
"""
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


def main(argv=None):
    args = parse(argv)
    if args.one:
        return one(args)
    report(args, run_all(args))


if __name__ == "__main__":
    main()
