"""The contract of a kerasnas oracle, one named test per clause (needs pytest).

As Optuna's `optuna/testing/pytest_samplers.py`: subclass `OracleContract`,
implement `create_oracle`, and pytest collects every clause for your oracle::

    class TestMyOracle(OracleContract):
        def create_oracle(self, objective, max_trials, seed):
            return MyOracle(objective, max_trials, seed=seed)

The oracle is driven directly with a synthetic objective: no model is trained.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any, Callable, Collection

import keras_tuner
import pytest

from kerasnas import keras_tuner_internals as internals

MAX_TRIALS = 6
FAILED = {1, 4}  # trials reported with an absurdly good score, then FAILED


def register_space(oracle: keras_tuner.Oracle) -> None:
    """A small conditional space: `d` is active only when `c` is True."""
    hp = oracle.hyperparameters
    hp.Choice("a", [0, 1, 2, 3])
    hp.Int("b", 0, 3)
    hp.Boolean("c")
    with hp.conditional_scope("c", [True]):
        hp.Choice("d", [0, 1, 2])


def register_continuous(oracle: keras_tuner.Oracle) -> None:
    """A continuous space, where model-based proposals depend on the oracle's RNG state."""
    hp = oracle.hyperparameters
    hp.Float("x", 0.0, 1.0)
    hp.Float("y", 1e-4, 1e-1, sampling="log")
    hp.Int("z", 0, 10)


def score(values: dict[str, Any]) -> float:
    return values["a"] * 4 + values["b"] + values.get("d", 0) * 0.5


def continuous_score(values: dict[str, Any]) -> float:
    return (values["x"] - 0.3) ** 2 + 0.01 * values["z"]


def drive(oracle: keras_tuner.Oracle, direction: str, until: int | None = None,
          score: Callable[[dict[str, Any]], float] = score,
          failed: Collection[int] = FAILED) -> keras_tuner.engine.trial.Trial | None:
    """Runs trials until STOPPED (or `until` trials exist); returns the last create_trial."""
    while until is None or len(oracle.trials) < until:
        trial = oracle.create_trial("tuner0")
        if trial.status != "RUNNING":
            return trial
        values = trial.hyperparameters.values
        if int(trial.trial_id) in failed:
            oracle.update_trial(trial.trial_id, {"score": 1e9 if direction == "max" else -1e9})
            trial.status = "FAILED"
        else:
            oracle.update_trial(trial.trial_id, {"score": score(values)})
            trial.status = "COMPLETED"
        oracle.end_trial(trial)
    return None


def values_in_start_order(oracle: keras_tuner.Oracle) -> list[dict[str, Any]]:
    return [oracle.trials[i].hyperparameters.values for i in oracle.start_order]


def canonical(state: dict[str, Any]) -> dict[str, Any]:
    state = json.loads(json.dumps(state))
    state["tried_so_far"].sort()  # a set in KerasTuner
    return state


class OracleContract:
    """One test per clause of the contract every kerasnas oracle keeps."""

    seed = 3

    def create_oracle(self, objective: keras_tuner.Objective, max_trials: int,
                      seed: int) -> keras_tuner.Oracle:
        """Returns a new oracle; implemented by each subclass."""
        raise NotImplementedError

    def oracle(self, directory: str | pathlib.Path, direction: str = "max",
               seed: int | None = None) -> keras_tuner.Oracle:
        oracle = self.create_oracle(keras_tuner.Objective("score", direction), MAX_TRIALS,
                                    self.seed if seed is None else seed)
        internals.set_project_dir(oracle, str(directory), "p")
        oracle.verbose = 0
        return oracle

    def finished(self, directory: str | pathlib.Path, direction: str = "max") -> keras_tuner.Oracle:
        oracle = self.oracle(directory, direction)
        register_space(oracle)
        drive(oracle, direction)
        return oracle

    def test_it_stops_at_max_trials(self, tmp_path: pathlib.Path) -> None:
        oracle = self.oracle(tmp_path)
        register_space(oracle)
        last = drive(oracle, "max")
        assert last is not None and last.status == "STOPPED"
        assert len(oracle.trials) == MAX_TRIALS  # failed trials count toward the budget

    def test_the_same_seed_gives_the_same_trials(self, tmp_path: pathlib.Path) -> None:
        a, b = self.finished(tmp_path / "a"), self.finished(tmp_path / "b")
        assert values_in_start_order(a) == values_in_start_order(b)

    def test_failed_trials_stay_failed(self, tmp_path: pathlib.Path) -> None:
        oracle = self.finished(tmp_path)
        assert {i for i, t in oracle.trials.items() if t.status == "FAILED"} == {str(i) for i in FAILED}

    @pytest.mark.parametrize("direction", ["max", "min"])
    def test_the_best_trial_is_the_best_completed_one_in_the_objective_direction(
            self, tmp_path: pathlib.Path, direction: str) -> None:
        oracle = self.finished(tmp_path, direction)  # failed ones reported absurdly good scores
        completed = [t.score for t in oracle.trials.values() if t.status == "COMPLETED"]
        assert len(completed) == MAX_TRIALS - len(FAILED)
        best = max(completed) if direction == "max" else min(completed)
        assert oracle.get_best_trials()[0].score == best

    def test_a_failed_trial_is_never_a_parent(self, tmp_path: pathlib.Path) -> None:
        oracle = self.finished(tmp_path)
        parents = {note.get("parent") for note in getattr(oracle, "notes", {}).values()}
        assert not parents & {str(i) for i in FAILED}

    def test_every_trial_is_noted_with_how_it_was_chosen(self, tmp_path: pathlib.Path) -> None:
        oracle = self.finished(tmp_path)
        assert set(oracle.notes) == set(oracle.trials)
        assert all(note["phase"] for note in oracle.notes.values())

    def test_the_state_round_trips_through_json(self, tmp_path: pathlib.Path) -> None:
        text = json.dumps(self.finished(tmp_path / "a").get_state())
        fresh = self.oracle(tmp_path / "fresh")
        fresh.set_state(json.loads(text))  # KerasTuner's from_config edits the dict it reads
        assert canonical(fresh.get_state()) == canonical(json.loads(text))

    def interrupted_and_resumed(self, directory: pathlib.Path,
                                register: Callable[[keras_tuner.Oracle], None] = register_space,
                                **drive_kw: Any) -> keras_tuner.Oracle:
        first = self.oracle(directory, "min")
        register(first)
        drive(first, "min", until=3, **drive_kw)
        resumed = self.oracle(directory, "min")  # as a tuner with overwrite=False
        resumed.reload()
        return resumed

    def test_a_resumed_oracle_does_not_rerun_the_last_finished_trial(self, tmp_path: pathlib.Path) -> None:
        resumed = self.interrupted_and_resumed(tmp_path)
        assert sorted(resumed.trials) == ["0", "1", "2"]
        assert internals.retry_queue(resumed) == []

    def test_a_resumed_oracle_finishes_the_budget_without_repeating_a_trial(
            self, tmp_path: pathlib.Path) -> None:
        resumed = self.interrupted_and_resumed(tmp_path)
        last = drive(resumed, "min")
        assert last is not None and last.status == "STOPPED"
        assert sorted(resumed.trials) == [str(i) for i in range(MAX_TRIALS)]
        values = {json.dumps(v, sort_keys=True) for v in values_in_start_order(resumed)}
        assert len(values) == MAX_TRIALS

    def test_a_resumed_oracle_proposes_what_an_uninterrupted_one_would(self, tmp_path: pathlib.Path) -> None:
        # KerasTuner's GP and Optuna's sampler restart their RNGs at a reload.
        straight = self.oracle(tmp_path / "straight", "min")
        register_continuous(straight)
        drive(straight, "min", score=continuous_score, failed=())
        resumed = self.interrupted_and_resumed(tmp_path / "resumed", register_continuous,
                                               score=continuous_score, failed=())
        drive(resumed, "min", score=continuous_score, failed=())
        got, want = values_in_start_order(resumed), values_in_start_order(straight)
        assert len(want) == MAX_TRIALS and [sorted(v) for v in got] == [sorted(v) for v in want]
        for g, w in zip(got, want):
            # The GP's L-BFGS ends a few 1e-7 apart in some runs; a restarted RNG is far apart.
            assert g == pytest.approx(w, rel=1e-5, abs=1e-9)

    def test_its_config_names_its_settings_and_leaves_out_the_space(self, tmp_path: pathlib.Path) -> None:
        config = self.oracle(tmp_path).get_config()
        json.dumps(config)  # JSON-safe, for run.json
        assert config["seed"] == self.seed and config["max_trials"] == MAX_TRIALS
        assert config["objective"] == {"name": "score", "direction": "max"}
        assert "hyperparameters" not in config


BOUND = 6.0  # the constraint of the multi-objective clauses: params <= BOUND
TIGHT = 3.0  # the screen's clauses: about 4 draws in 10 keep params <= TIGHT


def size(values: dict[str, Any]) -> float:
    """The traded-off metric of the multi-objective clauses: it grows with `score`, as a
    model's parameter count grows with its accuracy."""
    return 1.0 + values["a"] * 2 + values.get("d", 0)


def drive_pareto(oracle: keras_tuner.Oracle, until: int | None = None,
                 failed: Collection[int] = FAILED, bound: float = BOUND
                 ) -> keras_tuner.engine.trial.Trial | None:
    """`drive` reporting `score` and `params`; a trial past `bound` is reported as the tuner
    reports one it did not train (score 0, feasible 0)."""
    while until is None or len(oracle.trials) < until:
        trial = oracle.create_trial("tuner0")
        if trial.status != "RUNNING":
            return trial
        values = trial.hyperparameters.values
        kept = size(values) <= bound
        metrics = {"score": score(values) if kept else 0.0, "params": size(values),
                   "feasible": float(kept)}
        if int(trial.trial_id) in failed:
            metrics["score"] = 1e9
        oracle.update_trial(trial.trial_id, metrics)
        trial.status = "FAILED" if int(trial.trial_id) in failed else "COMPLETED"
        oracle.end_trial(trial)
    return None


class MultiObjectiveContract:
    """The clauses an oracle that trades objectives off keeps: it takes `trade_off` (names or
    `keras_tuner.Objective`s) and `constraints` ("params<=6"), and searches with them as it
    does with one objective. Subclass it and implement `create_oracle`."""

    seed = 3

    def create_oracle(self, objective: keras_tuner.Objective, max_trials: int, seed: int, *,
                      trade_off: Any, constraints: Any) -> keras_tuner.Oracle:
        """Returns a new oracle; implemented by each subclass."""
        raise NotImplementedError

    def oracle(self, directory: str | pathlib.Path, constraints: bool = True,
               bound: float = BOUND) -> keras_tuner.Oracle:
        oracle = self.create_oracle(keras_tuner.Objective("score", "max"), MAX_TRIALS, self.seed,
                                    trade_off=["params"],
                                    constraints=[f"params<={bound:g}"] if constraints else [])
        internals.set_project_dir(oracle, str(directory), "p")
        oracle.verbose = 0
        register_space(oracle)
        return oracle

    def screened(self, directory: str | pathlib.Path, seen: list) -> keras_tuner.Oracle:
        """An oracle bounded by params <= TIGHT whose `screen` (as the tuner's: the sizes of
        the model values build) records what it was asked."""
        def screen(values: dict[str, Any]) -> dict[str, float]:
            seen.append(dict(values))
            return {"params": size(values), "flops": 0.0}

        oracle = self.oracle(directory, bound=TIGHT)
        oracle.screen = screen
        return oracle

    def test_with_a_screen_no_model_that_breaks_a_size_bound_uses_up_a_trial(
            self, tmp_path: pathlib.Path) -> None:
        seen: list = []
        oracle = self.screened(tmp_path, seen)
        last = drive_pareto(oracle, bound=TIGHT)
        assert last is not None and last.status == "STOPPED"
        assert [size(v) <= TIGHT for v in values_in_start_order(oracle)] == [True] * MAX_TRIALS
        assert any(size(v) > TIGHT for v in seen)  # it screened some out

    def test_with_no_model_within_a_bound_it_still_proposes_and_the_tuner_tells(
            self, tmp_path: pathlib.Path) -> None:
        oracle = self.oracle(tmp_path, bound=TIGHT)
        oracle.screen = lambda values: {"params": 1e9, "flops": 0.0}
        last = drive_pareto(oracle, bound=TIGHT)
        assert last is not None and last.status == "STOPPED" and len(oracle.trials) == MAX_TRIALS

    def test_a_resumed_screening_oracle_proposes_what_an_uninterrupted_one_would(
            self, tmp_path: pathlib.Path) -> None:
        straight = self.screened(tmp_path / "straight", [])
        drive_pareto(straight, bound=TIGHT)
        drive_pareto(self.screened(tmp_path / "resumed", []), until=3, bound=TIGHT)
        resumed = self.screened(tmp_path / "resumed", [])
        resumed.reload()
        drive_pareto(resumed, bound=TIGHT)
        assert values_in_start_order(resumed) == values_in_start_order(straight)

    @pytest.mark.parametrize("constraints", [False, True])
    def test_it_spends_the_budget_without_repeating_a_trial(self, tmp_path: pathlib.Path,
                                                           constraints: bool) -> None:
        oracle = self.oracle(tmp_path, constraints)
        last = drive_pareto(oracle)
        assert last is not None and last.status == "STOPPED"
        values = {json.dumps(v, sort_keys=True) for v in values_in_start_order(oracle)}
        assert len(oracle.trials) == len(values) == MAX_TRIALS

    def test_the_same_seed_gives_the_same_trials(self, tmp_path: pathlib.Path) -> None:
        runs = []
        for name in ("a", "b"):
            oracle = self.oracle(tmp_path / name)
            drive_pareto(oracle)
            runs.append(values_in_start_order(oracle))
        assert runs[0] == runs[1]

    def test_a_resumed_oracle_proposes_what_an_uninterrupted_one_would(
            self, tmp_path: pathlib.Path) -> None:
        straight = self.oracle(tmp_path / "straight")
        drive_pareto(straight)
        first = self.oracle(tmp_path / "resumed")
        drive_pareto(first, until=3)
        resumed = self.oracle(tmp_path / "resumed")
        resumed.reload()
        drive_pareto(resumed)
        assert values_in_start_order(resumed) == values_in_start_order(straight)

    def test_its_config_names_what_it_trades_off_and_its_bounds(self, tmp_path: pathlib.Path) -> None:
        config = json.loads(json.dumps(self.oracle(tmp_path).get_config(), default=str))
        assert config["trade_off"] == [{"name": "params", "direction": "min"}]
        assert config["constraints"] == [f"params<={BOUND:g}"]

    @pytest.mark.parametrize("bad", ["accuracy_", "size", 3])
    def test_an_unknown_trade_off_is_refused_naming_the_valid_ones(self, bad: Any) -> None:
        with pytest.raises(ValueError, match="params, flops, latency"):
            self.create_oracle(keras_tuner.Objective("score", "max"), MAX_TRIALS, self.seed,
                               trade_off=[bad], constraints=[])


POOL = 4  # draws a steering proxy compares in the steering clauses


def proxy_score(values: dict[str, Any]) -> float:
    """The steering clauses' proxy: at odds with `score`, so that steering shows in the picks."""
    return float(-score(values) - 0.1 * values.get("d", 0))


class SteeringContract:
    """The clauses an oracle keeps whose random draws a training-free proxy can steer
    (`steerable`, `kerasnas.proxies.steer`): each random proposal is the best-scoring of
    `proxy_pool` draws. Subclass it and implement `create_oracle`."""

    seed = 5

    def create_oracle(self, objective: keras_tuner.Objective, max_trials: int,
                      seed: int) -> keras_tuner.Oracle:
        """Returns a new oracle; implemented by each subclass."""
        raise NotImplementedError

    def steered(self, directory: str | pathlib.Path, asked: list, pool: int = POOL
                ) -> keras_tuner.Oracle:
        """An oracle steered by `proxy_score`, recording the draws it is asked to score."""
        def proxy(values: dict[str, Any]) -> float:
            asked.append(dict(values))
            return proxy_score(values)

        oracle = self.create_oracle(keras_tuner.Objective("score", "max"), MAX_TRIALS, self.seed)
        internals.set_project_dir(oracle, str(directory), "p")
        oracle.verbose = 0
        register_space(oracle)
        oracle.proxy, oracle.proxy_pool = proxy, pool
        return oracle

    def test_it_is_steerable(self, tmp_path: pathlib.Path) -> None:
        assert self.steered(tmp_path, []).steerable is True

    def test_each_random_proposal_is_the_best_scoring_of_its_pool(self, tmp_path: pathlib.Path
                                                                 ) -> None:
        asked: list = []
        oracle = self.steered(tmp_path, asked)
        steered = 0
        while True:
            before = len(asked)
            trial = oracle.create_trial("tuner0")
            if trial.status != "RUNNING":
                break
            pool, values = asked[before:], trial.hyperparameters.values
            note = oracle.notes[trial.trial_id]
            if "proxy_score" in note:  # a random draw: the pool's best (ties: the first)
                steered += 1
                assert len(pool) == POOL
                assert values == max(pool, key=proxy_score)
                assert note["proxy_score"] == proxy_score(values)
            else:  # from a model or a mutation: not steered, nothing scored
                assert pool == []
            oracle.update_trial(trial.trial_id, {"score": score(values)})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
        assert steered >= 1 and len(oracle.trials) == MAX_TRIALS

    def test_a_pool_of_one_never_asks_the_proxy_and_proposes_as_unsteered(
            self, tmp_path: pathlib.Path) -> None:
        asked: list = []
        one = self.steered(tmp_path / "one", asked, pool=1)
        drive(one, "max", failed=())
        plain = self.steered(tmp_path / "plain", [])
        plain.proxy = None
        drive(plain, "max", failed=())
        assert asked == []
        assert values_in_start_order(one) == values_in_start_order(plain)
        assert not any("proxy_score" in note for note in one.notes.values())

    def test_a_resumed_steered_oracle_proposes_what_an_uninterrupted_one_would(
            self, tmp_path: pathlib.Path) -> None:
        straight = self.steered(tmp_path / "straight", [])
        drive(straight, "max")
        drive(self.steered(tmp_path / "resumed", []), "max", until=3)
        resumed = self.steered(tmp_path / "resumed", [])
        resumed.reload()
        drive(resumed, "max")
        assert values_in_start_order(resumed) == values_in_start_order(straight)
        assert values_in_start_order(straight) != values_in_start_order(
            self._unsteered(tmp_path / "unsteered"))

    def _unsteered(self, directory: pathlib.Path) -> keras_tuner.Oracle:
        oracle = self.steered(directory, [])
        oracle.proxy = None
        drive(oracle, "max")
        return oracle
