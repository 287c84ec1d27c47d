"""Training-free proxies against trained accuracy: rank correlations per space (issue #27, item 3).

For each space and seed, K architectures are drawn by KerasTuner's random search
(`kerasnas.proxies.sample_values`, seeded by the seed). Each is built once (initial
weights seeded by seed and index), scored at initialisation by every proxy of
`kerasnas.proxies.PROXIES` on the first training images, then trained E epochs as a
search trains a trial (batch 32, the space's own compile recipe, kerasnas' per-trial
warm-up + cosine schedule) on 10k images and scored on 2k validation images. Per space,
proxy and seed: Kendall tau and Spearman between the proxy's scores and the validation
accuracies; mean +- std over the seeds. A proxy is worth steering a search on a space
only where it beats the parameter count there.

Resumable: each (space, seed, architecture) result is appended to OUT/results.jsonl
with a key of the settings it depends on; a rerun skips those present and only reports
(a killed run loses the architecture in flight). Start it in the background:

    nohup nice -n 10 .venv/bin/python -m benchmarks.proxies --note "alone" > runs/proxies.log 2>&1 &

Writes reports/proxies.md (--report) from runs/proxies/results.jsonl (--out).
`--smoke`: 3 architectures, 200 / 100 images, 1 epoch, seed 0, in a temporary folder.
"""

import argparse
import hashlib
import json
import math
import os
import shlex
import sys
import tempfile
import time
import warnings

import numpy as np

from benchmarks.options import SPACES, space_options

RESULTS = "results.jsonl"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", default=",".join(SPACES), help="comma-separated (%(default)s)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated (%(default)s)")
    parser.add_argument("--archs", type=int, default=20, help="architectures per space and seed (20)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-size", type=int, default=10000)
    parser.add_argument("--val-size", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--proxy-images", type=int, default=128,
                        help="minibatch the proxies see (NASWOT's paper: 128)")
    parser.add_argument("--space-option", action="append", default=[], metavar="SPACE:KEY=VALUE",
                        help="pin a knob of one space, e.g. nasbench201:channels=8 (repeatable)")
    parser.add_argument("--out", help="results folder (runs/proxies; --smoke: a temporary folder)")
    parser.add_argument("--report", help="report file (reports/proxies.md; --smoke: OUT/proxies.md)")
    parser.add_argument("--note", default="", help="how the run shared the machine (load)")
    parser.add_argument("--smoke", action="store_true",
                        help="3 architectures, 200 / 100 images, 1 epoch, seed 0")
    args = parser.parse_args(argv)
    if args.smoke:
        args.archs, args.train_size, args.val_size, args.epochs, args.seeds = 3, 200, 100, 1, "0"
    args.spaces = [s for s in args.spaces.split(",") if s]
    unknown = sorted(set(args.spaces) - set(SPACES))
    if unknown:
        parser.error(f"--spaces: unknown {unknown}; allowed: {', '.join(SPACES)}")
    try:
        args.seeds = [int(s) for s in args.seeds.split(",") if s]
    except ValueError:
        parser.error(f"--seeds must be comma-separated integers; got {args.seeds!r}")
    for name in ("archs", "epochs", "train_size", "val_size", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1; got {getattr(args, name)}")
    if args.proxy_images < 2:
        parser.error(f"--proxy-images must be >= 2 (NASWOT compares images); got {args.proxy_images}")
    args.options = space_options(parser, args.space_option)
    if args.out is None:
        args.out = tempfile.mkdtemp(prefix="proxies-smoke-") if args.smoke else os.path.join("runs", "proxies")
    if args.report is None:
        args.report = os.path.join(args.out, "proxies.md") if args.smoke else os.path.join("reports", "proxies.md")
    return args


def settings_key(args, space):
    """What a result depends on besides (space, seed, index): a rerun with other settings retrains."""
    settings = {"space": space, "options": args.options[space], "epochs": args.epochs,
                "train_size": args.train_size, "val_size": args.val_size,
                "batch_size": args.batch_size, "proxy_images": args.proxy_images}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def load_results(path):
    """The records of OUT/results.jsonl by (key, space, seed, index); a torn last line is skipped."""
    records = {}
    if not os.path.exists(path):
        return records
    with open(path) as f:
        for line in f:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue  # killed mid-write
            records[(r["key"], r["space"], r["seed"], r["index"])] = r
    return records


def append_result(path, record):
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())


def evaluate(space, values, data, images, *, seed, index, args, log):
    """Scores one architecture with every proxy at initialisation, then trains it; one record."""
    import keras
    import keras_tuner

    from kerasnas.proxies import PROXIES, score
    from kerasnas.schedules import make_schedule

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed * 1000 + index)  # independent of what ran before
    hp = keras_tuner.HyperParameters()
    hp.values.update(values)
    model = space.build(hp)
    scores, proxy_seconds = {}, {}
    for name in PROXIES:
        start = time.perf_counter()
        scores[name] = score(name, model, images)
        proxy_seconds[name] = time.perf_counter() - start
    train = data.dataset("train", batch_size=args.batch_size, shuffle=True, seed=seed)
    val = data.dataset("val", batch_size=args.batch_size)
    start = time.perf_counter()
    history = model.fit(train, validation_data=val, epochs=args.epochs, verbose=0, shuffle=False,
                        callbacks=[make_schedule("cosine")])
    seconds = time.perf_counter() - start
    curve = [float(v) for v in history.history["val_accuracy"]]
    arch = space.describe(values)
    log(f"{space.name} seed {seed} #{index}: val acc {curve[-1]:.4f} in {seconds:.0f} s; "
        + ", ".join(f"{k} {v:.4g} ({proxy_seconds[k]:.1f} s)" for k, v in scores.items())
        + (f" | {arch}" if arch else ""))
    return {"space": space.name, "seed": seed, "index": index, "values": values, "arch": arch,
            "scores": scores, "proxy_seconds": proxy_seconds, "val_accuracy": curve[-1],
            "val_accuracy_curve": curve, "train_seconds": seconds, "epochs": args.epochs,
            "train_size": args.train_size, "ended_at": time.time()}


def run(args, log=print):
    """Fills OUT/results.jsonl with every (space, seed, architecture) still missing."""
    from kerasnas.datasets import make_splits
    from kerasnas.proxies import sample_values
    from kerasnas.spaces import get_space

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, RESULTS)
    done = load_results(path)
    for seed in args.seeds:
        data = None
        for name in args.spaces:
            key = settings_key(args, name)
            missing = [i for i in range(args.archs) if (key, name, seed, i) not in done]
            if not missing:
                continue
            if data is None:
                data = make_splits("fashion_mnist", train_size=args.train_size, val_size=args.val_size,
                                   seed=seed)
                images = next(iter(data.dataset("train", batch_size=args.proxy_images)))[0].numpy()
            space = get_space(name, **args.options[name]).for_data(
                input_shape=data.input_shape, num_classes=data.num_classes, mean=data.mean,
                variance=data.variance)
            draws = sample_values(space, args.archs, seed=seed)
            for index in missing:
                if index >= len(draws):
                    break  # the space has fewer distinct architectures
                record = evaluate(space, draws[index], data, images, seed=seed, index=index,
                                  args=args, log=log)
                append_result(path, {"key": key, **record})


def correlations(records, proxies):
    """{proxy: (kendall tau, spearman)} of the proxies' scores against validation accuracy."""
    from scipy import stats

    accuracy = [r["val_accuracy"] for r in records]
    out = {}
    for proxy in proxies:
        scores = [r["scores"][proxy] for r in records]
        with warnings.catch_warnings():  # constant inputs: NaN, shown as n/a
            warnings.simplefilter("ignore")
            tau = stats.kendalltau(scores, accuracy, nan_policy="omit").statistic
            rho = stats.spearmanr(scores, accuracy, nan_policy="omit").statistic
        out[proxy] = (float(tau), float(rho))
    return out


def mean_or_nan(values):
    values = [v for v in values if not math.isnan(v)]
    return float(np.mean(values)) if values else math.nan


def signed(value):
    return "n/a" if math.isnan(value) else f"{value:+.2f}"


def mean_std(values):
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:+.2f}"
    return f"{np.mean(values):+.2f} ± {np.std(values, ddof=1):.2f}"


def summarise(args, records):
    """Per space: {proxy: {"tau": [...], "rho": [...]}} over seeds, and the records used."""
    from kerasnas.proxies import PROXIES

    table = {}
    for space in args.spaces:
        key = settings_key(args, space)
        per_proxy = {p: {"tau": [], "rho": []} for p in PROXIES}
        used = []
        for seed in args.seeds:
            rows = [r for (k, s, sd, _), r in sorted(records.items()) if (k, s, sd) == (key, space, seed)]
            rows = [r for r in rows if r["index"] < args.archs]
            if len(rows) < 3:
                continue  # no correlation from fewer than 3 architectures
            used += rows
            for proxy, (tau, rho) in correlations(rows, PROXIES).items():
                per_proxy[proxy]["tau"].append(tau)
                per_proxy[proxy]["rho"].append(rho)
        table[space] = (per_proxy, used)
    return table


def beats_params(rho, params_rho):
    """Whether a proxy beats the parameter count, from their Spearman per seed (same seeds):
    "yes" only for a higher mean and a higher value on every seed (ZiCo, ICLR 2023: few
    proxies beat it consistently), "no", or "n/a" (a NaN). The seeds it is ahead on, in
    brackets."""
    pairs = list(zip(rho, params_rho))
    if not pairs or any(math.isnan(a) or math.isnan(b) for a, b in pairs):
        return "n/a"
    ahead = sum(a > b for a, b in pairs)
    verdict = "yes" if np.mean(rho) > np.mean(params_rho) and ahead == len(pairs) else "no"
    return f"{verdict} ({ahead}/{len(pairs)} seeds)"


def render(args, table, argv):
    from kerasnas.provenance import machine, versions

    command = "python -m benchmarks.proxies " + " ".join(shlex.quote(a) for a in argv)
    lines = [
        "# Training-free proxies against trained accuracy",
        "",
        f"Command: `{command}`  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  ",
        f"Machine: {machine()}  ",
        f"Versions: {', '.join(f'{k} {v}' for k, v in versions().items())}  ",
        f"Note: {args.note or '(none given)'}",
        "",
        f"Per space and seed: {args.archs} architectures drawn by KerasTuner's random search, each "
        f"scored at initialisation by every proxy (first {args.proxy_images} training images), then "
        f"trained {args.epochs} epoch(s) on {args.train_size} Fashion-MNIST images (batch "
        f"{args.batch_size}, the space's compile recipe, per-trial warm-up + cosine) and scored on "
        f"{args.val_size} validation images. Seeds {', '.join(map(str, args.seeds))}: each its own "
        "split, architectures and initial weights. Space options: "
        + (", ".join(f"{s} {o}" for s, o in args.options.items() if o) or "none (the defaults)") + ".",
        "",
        "Rank correlation of each proxy's score with validation accuracy, mean ± std over seeds "
        "(higher: the proxy ranks architectures as training does). `params` and `flops` are the "
        "controls; a proxy beats `params` on a space with a higher mean Spearman and a higher one on "
        "every seed (ZiCo, ICLR 2023: few proxies beat the parameter count consistently), and "
        "only there may it steer a search (`steer=\"auto\"`).",
        "",
        "| space | proxy | Kendall tau | Spearman | Spearman per seed | proxy s / arch | beats params |",
        "|---|---|---|---|---|---|---|",
    ]
    verdicts, costs = [], []
    for space, (per_proxy, used) in table.items():
        if not used:
            lines.append(f"| {space} | (fewer than 3 architectures done) | | | | | |")
            continue
        params_rho = mean_or_nan(per_proxy["params"]["rho"])
        winners = []
        for proxy, corr in per_proxy.items():
            beats = "" if proxy in ("params", "flops") else beats_params(
                corr["rho"], per_proxy["params"]["rho"])
            if beats.startswith("yes"):
                winners.append(proxy)
            seconds = np.mean([r["proxy_seconds"][proxy] for r in used])
            per_seed = ", ".join(map(signed, corr["rho"]))
            lines.append(f"| {space} | {proxy} | {mean_std(corr['tau'])} | {mean_std(corr['rho'])} | "
                         f"{per_seed} | {seconds:.2f} | {beats} |")
        verdicts.append(f"- {space}: " + (", ".join(winners) if winners else "none") + " (above "
                        f"`params`' mean Spearman {signed(params_rho)} and on every seed)")
        accuracy = [r["val_accuracy"] for r in used]
        epoch_seconds = np.mean([r["train_seconds"] / r["epochs"] for r in used])
        costs.append(f"- {space}: {len(used)} architectures, validation accuracy {min(accuracy):.4f} to "
                     f"{max(accuracy):.4f}; {epoch_seconds:.0f} s per training epoch on average, "
                     "against the proxies' seconds above")
    lines += ["", "Proxies that beat the parameter count (may steer the search there):", "", *verdicts,
              "", "Cost and spread:", "", *costs, ""]
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    started = time.time()
    run(args, log=lambda line: print(f"[{time.time() - started:6.0f} s] {line}", flush=True))
    table = summarise(args, load_results(os.path.join(args.out, RESULTS)))
    os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
    with open(args.report, "w") as f:
        f.write(render(args, table, argv))
    print(f"wrote {args.report} (results in {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
