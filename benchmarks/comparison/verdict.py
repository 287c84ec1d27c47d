"""The opening of reports/compare.md: who wins what, by how much, at what cost.

Computed from the aggregate table (mean over seeds) and the per-seed rows;
issue #13's goals are stated hit or miss: kerasnas' test accuracy >= each
peer's on each shared space, kerasnas' wall time <= 0.8x NNI's on the same
space, and every search beside the plain CNN given the same compute. Beside
the wall-time ratio: the seconds kerasnas needs to reach each peer's final best
validation accuracy, seed by seed (benchmarks/comparison/reach.py).
"""

import pandas as pd

from benchmarks.comparison import reach, stats

WALL_GOAL = 0.8  # kerasnas' wall time over NNI's on the same space
# kerasnas' headline experiment per space: the study's strategy (others are shown too).
HEADLINE = {"custom": "custom-evolution", "nasbench201": "nasbench201-evolution",
            "resnet": "resnet-bayes"}


def _points(a, b):
    return f"{100 * (a - b):+.2f}"


def _p(df, a, b):
    """Paired t p on matched seeds, or why there is none."""
    row = stats.paired_tests(df, [(a, b)])
    if not len(row):
        return "no matched seeds"
    row = row.iloc[0]
    seeds = row["matched seeds"]
    return f"{row['paired t p']} ({seeds} seeds)" if row["paired t p"] else f"{seeds} seed(s)"


def _time_to_peer(results, exp, peer):
    """`reach.time_to_peer` of kerasnas' `exp` against `peer` (framework, experiment) on the
    seeds both have finished (a peer run without a validation accuracy has nothing to reach)."""
    runs = {(r["framework"], r["experiment"], r["seed"]): r for r in results}
    seeds = []
    for seed in sorted({seed for _, _, seed in runs}):
        ours, theirs = runs.get(("kerasnas", exp, seed)), runs.get((*peer, seed))
        if ours and theirs and theirs.get("best_val_accuracy") is not None:
            seeds.append((ours.get("trials", []), theirs["best_val_accuracy"],
                          theirs["wall_seconds"]))
    return reach.time_to_peer(seeds)


def peers_table(agg, df, loc, results):
    """kerasnas' headline experiment per shared space against each peer experiment there.

    Args:
        agg: `stats.aggregate` of the per-seed rows `df`.
        df: Per-seed rows (`report.summary`).
        loc: Lines of code per framework and space (`report.loc_table`).
        results: The finished records, each with its `seed` and trial rows.
    """
    rows = []
    for space, exp in HEADLINE.items():
        ours = agg[(agg.framework == "kerasnas") & (agg.experiment == exp)]
        peers = agg[(agg.space == space) & ~agg.framework.isin(["kerasnas", "baseline"])]
        if not len(ours) or not len(peers):
            continue
        k = ours.iloc[0]
        written = dict(zip(loc[loc.space == space].framework, loc[loc.space == space].harness))
        for p in peers.itertuples():
            acc_ok = k.test_accuracy >= p.test_accuracy
            ratio = k.wall_seconds / p.wall_seconds
            rows.append({
                "space": space, "kerasnas": f"{exp} {k.test_accuracy:.4f} ({k.seeds})",
                "peer": f"{p.framework}/{p.experiment} {p.test_accuracy:.4f} ({p.seeds})",
                "test margin (points)": _points(k.test_accuracy, p.test_accuracy),
                "paired t p": _p(df, ("kerasnas", exp), (p.framework, p.experiment)),
                "kerasnas >= peer": "met" if acc_ok else "MISSED",
                "wall kerasnas / peer": f"{k.wall_seconds:.0f} / {p.wall_seconds:.0f} s = "
                                        f"{ratio:.2f}x",
                "kerasnas to peer's best val": reach.reach_text(
                    _time_to_peer(results, exp, (p.framework, p.experiment))),
                f"wall <= {WALL_GOAL}x NNI": ("met" if ratio <= WALL_GOAL else "MISSED")
                if p.framework == "nni" else "n/a",
                "overhead/trial (s)": f"{k.overhead_per_trial:.1f} / {p.overhead_per_trial:.1f}",
                "lines written": f"{written.get('kerasnas', '—')} / {written.get(p.framework, '—')}",
            })
    return pd.DataFrame(rows)


def baseline_table(agg, df, matched_epochs):
    """Every search beside the plain CNN trained for the search's trials x epochs."""
    rows = []
    base = agg[agg.framework == "baseline"].set_index("experiment")
    per = df.drop_duplicates(["framework", "experiment"]).set_index(["framework", "experiment"])
    for r in agg[agg.framework != "baseline"].itertuples():
        spec = per.loc[(r.framework, r.experiment)]
        total = int(spec.max_trials * spec.epochs) if spec.max_trials == spec.max_trials else None
        name = f"plain-cnn-e{total}" if total in matched_epochs else None
        if name not in base.index:
            continue
        b = base.loc[name]
        rows.append({"search": f"{r.framework}/{r.experiment}", "seeds": r.seeds,
                     "test": f"{r.test_accuracy:.4f}",
                     "plain CNN, same epochs": f"{name} {b.test_accuracy:.4f}",
                     "margin (points)": _points(r.test_accuracy, b.test_accuracy),
                     "paired t p": _p(df, (r.framework, r.experiment), ("baseline", name)),
                     "search wins": "yes" if r.test_accuracy > b.test_accuracy else "no",
                     "wall search / CNN": f"{r.wall_seconds:.0f} / {b.wall_seconds:.0f} s"})
    return pd.DataFrame(rows)


def lines(agg, df, loc, matched_epochs, md_table, results):
    """The section's markdown lines (empty when nothing comparable has finished)."""
    peers = peers_table(agg, df, loc, results)
    base = baseline_table(agg, df, matched_epochs)
    out = ["## Who wins what", ""]
    if len(peers):
        met = (peers["kerasnas >= peer"] == "met").sum()
        nni = peers[peers[f"wall <= {WALL_GOAL}x NNI"] != "n/a"]
        fast = (nni[f"wall <= {WALL_GOAL}x NNI"] == "met").sum()
        out += [f"- Accuracy (mean test over seeds, kerasnas' study strategy per space): kerasnas "
                f">= the peer in {met} of {len(peers)} pairings on a shared space.",
                f"- Wall time: kerasnas <= {WALL_GOAL}x NNI's in {fast} of {len(nni)} shared "
                "spaces.",
                "- Time to the peer's accuracy: seconds (from the run's process start, the wall "
                "time's clock) until kerasnas' best validation accuracy so far reaches the peer's "
                "final best on the same seed; mean over the seeds that reach it, their count, and "
                "that mean over the peer's wall time on those seeds.", "", md_table(peers), ""]
    else:
        out += ["- no shared space has finished runs of kerasnas and a peer yet", ""]
    if len(base):
        wins = (base["search wins"] == "yes").sum()
        out += [f"- Given the same compute (the plain CNN trained for the search's trials x "
                f"epochs), {wins} of {len(base)} searches beat the hand-made CNN.", "",
                md_table(base), ""]
    return out
