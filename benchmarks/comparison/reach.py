"""Time to a peer's accuracy: when kerasnas' best validation accuracy so far first reaches the
final best validation accuracy of a peer's run on the same seed.

Seconds are the trials' `end_seconds`: since the runner process started (imports included),
the clock of every run's `wall_seconds`, so they compare with the peer's wall time.
"""

# Accuracies on one validation set differ by at least 1 / its size; float32 rounding (Keras)
# against float64 (torch) differs by ~1e-8: within this, equal accuracies count as reached.
TIE = 1e-6


def best_so_far(trials):
    """(end seconds, best validation accuracy so far) at each completed trial, in time order.

    Args:
        trials: Trial rows of a run's result (`status`, `end_seconds`, `val_accuracy`).
    """
    points = sorted((t["end_seconds"], t["val_accuracy"]) for t in trials
                    if t["status"] == "COMPLETED" and t["end_seconds"] is not None
                    and t["val_accuracy"] is not None)
    best, out = float("-inf"), []
    for seconds, accuracy in points:
        best = max(best, accuracy)
        out.append((seconds, best))
    return out


def seconds_to_reach(trials, target):
    """The first end seconds at which the best so far is >= `target` (ties count); None: never."""
    return next((s for s, best in best_so_far(trials) if best >= target - TIE), None)


def time_to_peer(seeds):
    """Mean over seeds of the seconds kerasnas needs to reach the peer's final best.

    Args:
        seeds: One (kerasnas' trial rows, the peer's best validation accuracy, the peer's wall
            seconds) per seed both have finished.

    Returns:
        dict: `seeds` (how many), `reached` (how many reached it), `mean_seconds` (over the seeds
        that reached it; None when none did) and `peer_ratio` (that mean over the peer's mean wall
        seconds on the same seeds; None when none did).
    """
    reached = [(s, wall) for trials, target, wall in seeds
               if (s := seconds_to_reach(trials, target)) is not None]
    if not reached:
        return {"seeds": len(seeds), "reached": 0, "mean_seconds": None, "peer_ratio": None}
    mean = sum(s for s, _ in reached) / len(reached)
    peer_wall = sum(wall for _, wall in reached) / len(reached)
    return {"seeds": len(seeds), "reached": len(reached), "mean_seconds": mean,
            "peer_ratio": mean / peer_wall}


def reach_text(outcome):
    """A table cell: `42 s (2/3 seeds) = 0.35x peer wall`, `not reached (0/3 seeds)`."""
    counted = f"({outcome['reached']}/{outcome['seeds']} seeds)"
    if not outcome["seeds"]:
        return "no matched seeds"
    if outcome["mean_seconds"] is None:
        return f"not reached {counted}"
    return f"{outcome['mean_seconds']:.0f} s {counted} = {outcome['peer_ratio']:.2f}x peer wall"
