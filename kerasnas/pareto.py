"""Several objectives: their names and directions, constraints, Pareto fronts and hypervolume.

The pieces a multi-objective search is made of, with no Keras in them:
`parse_objectives("accuracy,params")`, `parse_constraint("params<=100000")`,
NSGA-II's fast non-dominated sort and crowding distance (Deb et al. 2002),
the front of a set of points, and the hypervolume of two objectives.

Points are sequences of objective values in the order of the objectives;
`directions` says, for each, whether larger ("max") or smaller ("min") is better.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["CONSTRAINT_OPERATORS", "METRICS", "OBJECTIVES", "Constraint", "crowding_distance",
           "dominates", "feasible", "hypervolume", "non_dominated_sort", "pareto_front",
           "parse_constraint", "parse_objectives", "ranked", "violation"]

# Name -> direction. accuracy: validation accuracy; params: trainable parameters; flops:
# multiply-accumulates an image; latency: milliseconds an image at batch 1 on this machine.
OBJECTIVES = {"accuracy": "max", "params": "min", "flops": "min", "latency": "min"}
# Name -> the trial metric that holds it (`kerasnas.tuner.NASTuner` records them).
METRICS = {"accuracy": "val_accuracy", "params": "params", "flops": "flops", "latency": "latency_ms"}
CONSTRAINT_OPERATORS = ("<=", ">=", "<", ">")
SIZES = ("params", "flops")  # known once a model is built, before any training


def parse_objectives(text: str | Sequence[str]) -> tuple[str, ...]:
    """`"accuracy,params"` (or a sequence of names) to a tuple of known, distinct names.

    Raises:
        ValueError: for an unknown or repeated name, or none, naming the valid ones.
    """
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    unknown = [n for n in names if n not in OBJECTIVES]
    if unknown or not names or len(set(names)) != len(names):
        problem = (f"unknown objective(s) {unknown}" if unknown else
                   "no objective" if not names else f"an objective given twice in {names}")
        raise ValueError(f"{problem.capitalize()}; choose distinct names among: "
                         f"{', '.join(OBJECTIVES)}. Received: {text!r}")
    return tuple(names)


@dataclasses.dataclass(frozen=True)
class Constraint:
    """`name operator bound`, e.g. params <= 100000.

    Attributes:
        name: An objective's name (`OBJECTIVES`).
        operator: One of `CONSTRAINT_OPERATORS`.
        bound: The number the value is compared with.
    """

    name: str
    operator: str
    bound: float

    def satisfied(self, value: float) -> bool:
        """Whether `value` keeps the constraint (a NaN never does)."""
        if math.isnan(value):
            return False
        return {"<=": value <= self.bound, ">=": value >= self.bound,
                "<": value < self.bound, ">": value > self.bound}[self.operator]

    def excess(self, value: float) -> float:
        """How far `value` is past the bound, relative to it (0 when kept; a NaN is 1)."""
        if math.isnan(value):
            return 1.0
        if self.satisfied(value):
            return 0.0
        scale = abs(self.bound) or 1.0
        return max(abs(value - self.bound) / scale, 1e-12)  # a strict bound hit exactly: > 0

    def __str__(self) -> str:
        return f"{self.name}{self.operator}{self.bound:g}"


def feasible(trial: Any) -> bool:
    """Whether a KerasTuner trial kept its search's constraints: one that broke a bound was never
    trained and records `feasible` 0 (`kerasnas.tuner.NASTuner`); one without any keeps them."""
    m = trial.metrics
    return not m.exists("feasible") or m.get_last_value("feasible") != 0


def violation(trial: Any, constraints: Sequence[Constraint]) -> float:
    """The sum of how far a trial is past each bound (`Constraint.excess`): 0 when it keeps them.

    A trial that does not record a bounded metric counts as keeping that bound unless it was
    marked infeasible (`feasible` 0), which counts 1.
    """
    m = trial.metrics
    total = 0.0
    for c in constraints:
        name = METRICS[c.name]
        if m.exists(name):
            total += c.excess(float(m.get_last_value(name)))
        elif not feasible(trial):
            total += 1.0
    return total


def ranked(points: Sequence[Sequence[float]], directions: Sequence[str],
           violations: Sequence[float] | None = None) -> list[tuple[float, float, float]]:
    """NSGA-II's order of each point as a sort key (smaller is better).

    Constrained domination (Deb et al. 2002, section VI): a point that keeps the
    constraints beats one that does not, two that do not compare by violation, and
    those that keep them by non-dominated front, then crowding distance (lonelier
    first).

    Returns:
        One `(violation, front, -crowding)` per point.
    """
    violations = [0.0] * len(points) if violations is None else list(violations)
    kept = [i for i, v in enumerate(violations) if v == 0]
    keys: list[tuple[float, float, float]] = [(v, math.inf, 0.0) for v in violations]
    fronts = non_dominated_sort([points[i] for i in kept], directions)
    for rank, front in enumerate(fronts):
        members = [kept[i] for i in front]
        crowding = crowding_distance(points, members)
        for i in members:
            keys[i] = (0.0, float(rank), -crowding[i])
    return keys


_CONSTRAINT = re.compile(r"^\s*([a-z_]+)\s*(<=|>=|<|>)\s*([-+0-9.eE_]+)\s*$")


def parse_constraint(text: str) -> Constraint:
    """`"params<=100000"` or `"latency<=1.5"` to a `Constraint`.

    Raises:
        ValueError: for bad syntax or an unknown name, naming the valid forms and names.
    """
    match = _CONSTRAINT.match(text) if isinstance(text, str) else None
    bound = None
    if match:
        try:
            bound = float(match.group(3).replace("_", ""))
        except ValueError:
            bound = None
    if not match or bound is None or not math.isfinite(bound):
        raise ValueError(f"A constraint reads NAME OPERATOR NUMBER, e.g. params<=100000 or "
                         f"latency<=1.5 (operators: {' '.join(CONSTRAINT_OPERATORS)}). "
                         f"Received: {text!r}")
    if match.group(1) not in OBJECTIVES:
        raise ValueError(f"Unknown constraint name {match.group(1)!r}; choose among: "
                         f"{', '.join(OBJECTIVES)}. Received: {text!r}")
    return Constraint(match.group(1), match.group(2), bound)


def _check(points: Sequence[Sequence[float]], directions: Sequence[str]) -> None:
    bad = [d for d in directions if d not in ("max", "min")]
    if bad:
        raise ValueError(f"Each direction must be 'max' or 'min'. Received: directions={list(directions)!r}")
    for point in points:
        if len(point) != len(directions):
            raise ValueError(f"Each point needs one value per direction ({len(directions)}). "
                             f"Received: point={list(point)!r}")


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[str]) -> bool:
    """Whether `a` is at least as good as `b` in every objective and better in one."""
    better = False
    for x, y, d in zip(a, b, directions):
        if (x < y) if d == "max" else (x > y):
            return False
        better = better or x != y
    return better


def non_dominated_sort(points: Sequence[Sequence[float]],
                       directions: Sequence[str]) -> list[list[int]]:
    """NSGA-II's fast non-dominated sort: the indices of each front, best front first."""
    _check(points, directions)
    n = len(points)
    dominated_by = [0] * n
    dominating: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if dominates(points[i], points[j], directions):
                dominating[i].append(j)
                dominated_by[j] += 1
            elif dominates(points[j], points[i], directions):
                dominating[j].append(i)
                dominated_by[i] += 1
    fronts, current = [], [i for i in range(n) if dominated_by[i] == 0]
    while current:
        fronts.append(current)
        following = []
        for i in current:
            for j in dominating[i]:
                dominated_by[j] -= 1
                if dominated_by[j] == 0:
                    following.append(j)
        current = sorted(following)
    return fronts


def pareto_front(points: Sequence[Sequence[float]], directions: Sequence[str]) -> list[int]:
    """The indices of the points no other point dominates (equal points all stay)."""
    return non_dominated_sort(points, directions)[0] if len(points) else []


def crowding_distance(points: Sequence[Sequence[float]], front: Sequence[int]) -> dict[int, float]:
    """NSGA-II's crowding distance of each index of `front`: larger is lonelier (the extremes of
    each objective are infinite)."""
    distance = {i: 0.0 for i in front}
    if len(front) <= 2:
        return {i: math.inf for i in front}
    for k in range(len(points[front[0]])):
        ordered = sorted(front, key=lambda i: points[i][k])
        low, high = points[ordered[0]][k], points[ordered[-1]][k]
        distance[ordered[0]] = distance[ordered[-1]] = math.inf
        if high == low:
            continue
        for before, i, after in zip(ordered, ordered[1:], ordered[2:]):
            distance[i] += (points[after][k] - points[before][k]) / (high - low)
    return distance


def hypervolume(points: Sequence[Sequence[float]], reference: Sequence[float],
                directions: Sequence[str]) -> float:
    """The area two objectives' points dominate up to `reference` (a point every good point
    beats); points that do not beat it add nothing.

    Raises:
        ValueError: for other than two objectives (not implemented: a 2-D sweep).
    """
    _check([*points, reference], directions)
    if len(directions) != 2:
        raise ValueError("hypervolume is computed for two objectives only. Received "
                         f"{len(directions)} directions: {list(directions)!r}")
    # As minimisation: a maximised objective is negated.
    sign = [-1.0 if d == "max" else 1.0 for d in directions]
    ref = [r * s for r, s in zip(reference, sign)]
    flipped = [[v * s for v, s in zip(p, sign)] for p in points]
    inside = sorted((p for p in flipped if p[0] < ref[0] and p[1] < ref[1]), key=lambda p: p[0])
    area, best_second = 0.0, ref[1]
    for first, second in inside:  # sweep along the first objective
        if second < best_second:
            area += (ref[0] - first) * (best_second - second)
            best_second = second
    return area
