"""Seeds in the comparison: mean +- std per framework x experiment and paired tests.

Pairs are matched on the seed (the same split, seed-driven search and
initialisation in both runs). With fewer than 3 matched seeds no test is made;
with 3-5 seeds the two-sided Wilcoxon signed-rank test cannot reach p < 0.05
(its smallest p is 2 / 2**n), so the paired t-test is shown beside it.
"""

import pandas as pd

MIN_SEEDS = 3


def per_seed(df):
    """framework/experiment rows x seed columns of test accuracy (NaN: missing or failed)."""
    table = df.pivot_table(index=["framework", "experiment"], columns="seed",
                           values="test_accuracy", aggfunc="first", dropna=False)
    # dropna=False keeps failed runs' NaN but also makes every framework x experiment: keep the runs
    present = pd.MultiIndex.from_frame(df[["framework", "experiment"]].drop_duplicates())
    return table.reindex(present)


def aggregate(df, planned_seeds):
    """Mean and std over seeds of the numeric columns, plus `seeds` = finished / planned."""
    numeric = ["best_val_accuracy", "test_accuracy", "completed", "failed", "wall_seconds",
               "mean_trial_seconds", "overhead_per_trial"]
    g = df.groupby(["framework", "experiment"], sort=False)
    means = g[numeric].mean().reset_index()
    stds = g[["best_val_accuracy", "test_accuracy"]].std(ddof=1).reset_index()
    first = g[["space", "strategy"]].first().reset_index()
    out = first.merge(means, on=["framework", "experiment"])
    out["seeds"] = [f"{n}/{planned_seeds}" for n in g.test_accuracy.count().values]
    for c in ("best_val_accuracy", "test_accuracy"):
        out[c + "_std"] = stds[c].values
    return out


def mean_std(mean, std):
    if mean != mean:
        return ""
    return f"{mean:.4f}" + ("" if std != std else f" ± {std:.4f}")


def paired_tests(df, pairs):
    """One row per (a, b) pair of (framework, experiment) on matched seeds' test accuracy.

    Args:
        df: Per-seed rows (framework, experiment, seed, test_accuracy).
        pairs: ((framework, experiment), (framework, experiment)) to compare.
    """
    from scipy import stats

    table = per_seed(df)
    rows = []
    for a, b in pairs:
        if a not in table.index or b not in table.index:
            continue
        both = pd.concat([table.loc[a], table.loc[b]], axis=1, keys=["a", "b"]).dropna()
        diff = both.a - both.b
        row = {"a": "/".join(a), "b": "/".join(b), "matched seeds": len(both),
               "mean a - b": float(diff.mean()) if len(both) else float("nan"),
               "wilcoxon p": "", "paired t p": ""}
        if len(both) >= MIN_SEEDS:
            if (diff != 0).any():
                row["wilcoxon p"] = f"{stats.wilcoxon(both.a, both.b).pvalue:.3f}"
                row["paired t p"] = f"{stats.ttest_rel(both.a, both.b).pvalue:.3f}"
            else:
                row["wilcoxon p"] = row["paired t p"] = "identical"
        else:
            row["wilcoxon p"] = f"needs >= {MIN_SEEDS} seeds"
        rows.append(row)
    return pd.DataFrame(rows, columns=["a", "b", "matched seeds", "mean a - b", "wilcoxon p",
                                       "paired t p"])


def comparison_pairs(df, matched_epochs):
    """kerasnas vs every other framework on the same space, and each search vs the plain CNN
    matched to its compute (trials x epochs), else the plain CNN of the same epochs."""
    rows = df.drop_duplicates(["framework", "experiment"])
    ours = rows[rows.framework == "kerasnas"]
    pairs = []
    for r in rows[~rows.framework.isin(["kerasnas", "baseline"])].itertuples():
        pairs += [((o.framework, o.experiment), (r.framework, r.experiment))
                  for o in ours.itertuples() if o.space == r.space]
    base = set(rows[rows.framework == "baseline"].experiment)
    for r in rows[rows.framework != "baseline"].itertuples():
        total = r.max_trials * r.epochs if r.max_trials == r.max_trials else None
        name = f"plain-cnn-e{int(total)}" if total else None
        target = name if name in base and int(total) in matched_epochs else "plain-cnn"
        if target in base:
            pairs.append(((r.framework, r.experiment), ("baseline", target)))
    return pairs
