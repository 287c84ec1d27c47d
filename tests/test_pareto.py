"""`kerasnas.pareto`: objectives, constraints, fronts, crowding and hypervolume."""

import itertools
import math
import random

import pytest

from kerasnas.pareto import (METRICS, Constraint, crowding_distance, dominates, hypervolume,
                             non_dominated_sort, pareto_front, parse_constraint, parse_objectives,
                             ranked, violation)

MAX_MIN = ("max", "min")  # accuracy up, parameters down


def test_objectives_are_known_distinct_names():
    assert parse_objectives("accuracy,params") == ("accuracy", "params")
    assert parse_objectives(["accuracy", "latency"]) == ("accuracy", "latency")
    for text, message in [("accuracy,size", r"Unknown objective\(s\) \['size'\]; choose .*"
                                            r"accuracy, params, flops, latency"),
                          ("accuracy,accuracy", r"An objective given twice"),
                          ([], r"No objective")]:
        with pytest.raises(ValueError, match=message):
            parse_objectives(text)


@pytest.mark.parametrize("text, constraint", [
    ("params<=100000", Constraint("params", "<=", 100000.0)),
    (" latency < 1.5 ", Constraint("latency", "<", 1.5)),
    ("accuracy>=0.9", Constraint("accuracy", ">=", 0.9)),
    ("flops<=2e7", Constraint("flops", "<=", 2e7)),
    ("params<=100_000", Constraint("params", "<=", 100000.0)),
])
def test_constraints_parse(text, constraint):
    assert parse_constraint(text) == constraint


@pytest.mark.parametrize("text, message", [
    ("params=100", r"NAME OPERATOR NUMBER, e.g. params<=100000 .* Received: 'params=100'"),
    ("params<=lots", r"NAME OPERATOR NUMBER"),
    ("params<=inf", r"NAME OPERATOR NUMBER"),
    ("size<=10", r"Unknown constraint name 'size'; choose among: accuracy, params"),
])
def test_bad_constraints_name_the_valid_forms(text, message):
    with pytest.raises(ValueError, match=message):
        parse_constraint(text)


def test_a_constraint_is_kept_or_broken_and_nan_never_keeps_it():
    c = parse_constraint("params<=100")
    assert [c.satisfied(v) for v in (99, 100, 101, math.nan)] == [True, True, False, False]
    assert [parse_constraint("latency<1.5").satisfied(v) for v in (1.4, 1.5)] == [True, False]
    assert str(c) == "params<=100"


def test_dominance_follows_each_direction():
    assert dominates((0.9, 100), (0.8, 200), MAX_MIN)
    assert dominates((0.9, 100), (0.9, 200), MAX_MIN)
    assert not dominates((0.9, 100), (0.9, 100), MAX_MIN)  # equal: neither dominates
    assert not dominates((0.9, 300), (0.8, 200), MAX_MIN)  # a trade-off


def test_fronts_on_a_small_set():
    points = [(0.9, 300), (0.8, 100), (0.85, 200), (0.7, 150), (0.6, 400), (0.9, 300)]
    assert non_dominated_sort(points, MAX_MIN) == [[0, 1, 2, 5], [3], [4]]
    assert pareto_front(points, MAX_MIN) == [0, 1, 2, 5]
    assert pareto_front([], MAX_MIN) == []


def test_fronts_match_their_definition_on_random_points():
    rng = random.Random(0)
    points = [(rng.random(), rng.randint(1, 20), rng.random()) for _ in range(60)]
    directions = ("max", "min", "min")
    fronts = non_dominated_sort(points, directions)
    assert sorted(i for f in fronts for i in f) == list(range(60))
    for k, front in enumerate(fronts):
        later = [j for f in fronts[k:] for j in f]
        for i in front:
            assert not any(dominates(points[j], points[i], directions) for j in later)
            if k:
                assert any(dominates(points[j], points[i], directions) for j in fronts[k - 1])


def test_crowding_distance_gives_the_extremes_infinity_and_the_rest_their_neighbours_gap():
    points = [(0.0, 4.0), (1.0, 3.0), (3.0, 1.0), (4.0, 0.0)]
    d = crowding_distance(points, [0, 1, 2, 3])
    assert d[0] == d[3] == math.inf
    assert d[1] == pytest.approx(3 / 4 + 3 / 4) and d[2] == pytest.approx(3 / 4 + 3 / 4)
    assert crowding_distance(points, [1, 2]) == {1: math.inf, 2: math.inf}


def _union_area(boxes):
    """Inclusion-exclusion over axis-aligned boxes ((x0, x1), (y0, y1))."""
    area = 0.0
    for r in range(1, len(boxes) + 1):
        for subset in itertools.combinations(boxes, r):
            x = min(b[0][1] for b in subset) - max(b[0][0] for b in subset)
            y = min(b[1][1] for b in subset) - max(b[1][0] for b in subset)
            area += (-1) ** (r + 1) * max(0.0, x) * max(0.0, y)
    return area


def test_hypervolume_of_two_objectives():
    # accuracy up, params down, reference (0, 200): boxes of 0.9 x 100 and 0.8 x 150 overlap
    # in 0.8 x 100.
    assert hypervolume([(0.9, 100), (0.8, 50)], (0.0, 200), MAX_MIN) == pytest.approx(130)
    assert hypervolume([(0.9, 100), (0.8, 150)], (0.0, 200), MAX_MIN) == pytest.approx(90)
    assert hypervolume([(0.9, 250)], (0.0, 200), MAX_MIN) == 0.0  # beyond the reference
    rng = random.Random(1)
    for _ in range(20):
        points = [(rng.random(), rng.uniform(0, 10)) for _ in range(rng.randint(1, 7))]
        boxes = [((0.0, a), (p, 10.0)) for a, p in points]  # each point's dominated box
        assert hypervolume(points, (0.0, 10.0), MAX_MIN) == pytest.approx(_union_area(boxes))
    with pytest.raises(ValueError, match="two objectives only"):
        hypervolume([(1, 2, 3)], (0, 0, 0), ("max", "min", "min"))
    with pytest.raises(ValueError, match="'max' or 'min'"):
        hypervolume([(1, 2)], (0, 0), ("up", "min"))


class _Metrics:
    def __init__(self, values):
        self.values = values

    def exists(self, name):
        return name in self.values

    def get_last_value(self, name):
        return self.values[name]


class _Trial:
    def __init__(self, **metrics):
        self.metrics = _Metrics(metrics)


def test_a_constraints_excess_is_relative_to_its_bound_and_zero_when_kept():
    bound = Constraint("params", "<=", 1000.0)
    assert bound.excess(1000.0) == 0.0 and bound.excess(999.0) == 0.0
    assert bound.excess(1500.0) == pytest.approx(0.5)
    assert Constraint("latency", ">=", 2.0).excess(1.0) == pytest.approx(0.5)
    assert 0 < Constraint("params", "<", 1000.0).excess(1000.0) < 1e-9  # a strict bound, hit
    assert bound.excess(math.nan) == 1.0


def test_a_trials_violation_sums_its_excess_over_the_bounds_it_records():
    bounds = [Constraint("params", "<=", 100.0), Constraint("latency", "<=", 2.0)]
    assert violation(_Trial(params=150.0, latency_ms=3.0), bounds) == pytest.approx(1.0)
    assert violation(_Trial(params=50.0, latency_ms=1.0), bounds) == 0.0
    # Not recorded: kept, unless the trial was marked infeasible.
    assert violation(_Trial(params=50.0), bounds) == 0.0
    assert violation(_Trial(params=50.0, feasible=0.0), bounds) == 1.0
    assert METRICS["latency"] == "latency_ms" and METRICS["accuracy"] == "val_accuracy"


def test_ranked_orders_by_feasibility_then_front_then_crowding():
    points = [(0.9, 100), (0.8, 50), (0.85, 80), (0.7, 60), (0.95, 500), (0.99, 10)]
    violations = [0, 0, 0, 0, 0, 0.3]  # the last dominates all but breaks a bound
    keys = ranked(points, MAX_MIN, violations)
    order = sorted(range(len(points)), key=keys.__getitem__)
    # Front 0: 0, 1, 2, 4 (extremes 1 and 4 infinitely crowded, then 0 and 2); front 1: 3.
    assert [keys[i][:2] for i in order] == [(0, 0)] * 4 + [(0, 1), (0.3, math.inf)]
    assert set(order[:2]) == {1, 4} and order[4:] == [3, 5]
    inner = {i: -keys[i][2] for i in (0, 2)}
    assert inner == pytest.approx({0: (0.95 - 0.85) / 0.15 + (500 - 80) / 450,
                                   2: (0.9 - 0.8) / 0.15 + (100 - 50) / 450})
    assert order[2:4] == sorted((0, 2), key=lambda i: -inner[i])
    assert ranked(points, MAX_MIN) == ranked(points, MAX_MIN, [0] * 6)


def test_infeasible_points_compare_by_how_far_they_break_the_bounds():
    keys = ranked([(0.9, 10), (0.1, 10), (0.5, 10)], MAX_MIN, [0.5, 0.1, 0.0])
    assert sorted(range(3), key=keys.__getitem__) == [2, 1, 0]
