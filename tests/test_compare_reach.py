"""Time to a peer's accuracy (benchmarks/comparison/reach.py) on hand-made trial rows."""

from benchmarks.comparison import reach


def trial(end_seconds, val_accuracy, status="COMPLETED"):
    return {"end_seconds": end_seconds, "val_accuracy": val_accuracy, "status": status}


# Best so far: 0.60 at 10 s, 0.60 at 20 s, 0.80 at 30 s, 0.80 at 40 s.
RUN = [trial(20.0, 0.55), trial(10.0, 0.60), trial(40.0, 0.70), trial(30.0, 0.80)]


def test_best_so_far_is_in_time_order_and_skips_trials_without_an_accuracy():
    rows = RUN + [trial(5.0, 0.99, "FAILED"), trial(None, 0.99), trial(50.0, None)]
    assert reach.best_so_far(rows) == [(10.0, 0.60), (20.0, 0.60), (30.0, 0.80), (40.0, 0.80)]
    assert reach.best_so_far([]) == []


def test_reached_on_the_third_trial():
    assert reach.seconds_to_reach(RUN, 0.75) == 30.0


def test_never_reached():
    assert reach.seconds_to_reach(RUN, 0.81) is None
    assert reach.seconds_to_reach([], 0.1) is None  # a run without a completed trial


def test_ties_count_as_reached_float32_rounding_included():
    assert reach.seconds_to_reach(RUN, 0.60) == 10.0
    assert reach.seconds_to_reach(RUN, 0.80) == 30.0
    float32_tie = [trial(7.0, 0.8514999747276306)]  # Keras' float32 of 1703 / 2000
    assert reach.seconds_to_reach(float32_tie, 1703 / 2000) == 7.0
    assert reach.seconds_to_reach(float32_tie, 1704 / 2000) is None  # one image more


def test_mean_over_the_seeds_that_reach_it_with_their_count():
    seeds = [(RUN, 0.75, 100.0),  # 30 s
             (RUN, 0.90, 80.0),  # never: left out of the mean and of the peer's wall
             (RUN, 0.60, 60.0)]  # 10 s
    outcome = reach.time_to_peer(seeds)
    # (30 + 10) / 2 = 20 s against the peer's (100 + 60) / 2 = 80 s on those seeds.
    assert outcome == {"seeds": 3, "reached": 2, "mean_seconds": 20.0, "peer_ratio": 0.25}
    assert reach.reach_text(outcome) == "20 s (2/3 seeds) = 0.25x peer wall"


def test_no_seed_reaches_it_or_none_is_matched():
    outcome = reach.time_to_peer([(RUN, 0.90, 80.0), ([], 0.5, 80.0)])
    assert outcome == {"seeds": 2, "reached": 0, "mean_seconds": None, "peer_ratio": None}
    assert reach.reach_text(outcome) == "not reached (0/2 seeds)"
    assert reach.reach_text(reach.time_to_peer([])) == "no matched seeds"
