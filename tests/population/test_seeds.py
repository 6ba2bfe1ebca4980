"""recgym.population.seeds: Student-t intervals over seeds, on numbers; the runner; the tables."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from recgym.population import PopulationEnv
from recgym.population.history import History
from recgym.population.seeds import (
    FINAL_COLUMNS,
    INTERVAL_COLUMNS,
    derive_seeds,
    run_seeds,
    summarize,
    t_interval,
    write_finals_csv,
)

# Student t quantiles t(0.975, ν) from the tables (Student 1908; e.g. NIST/SEMATECH 1.3.6.7.2).
T_975 = {1: 12.706204736174703, 2: 4.302652729749464, 4: 2.7764451051977987}
# scipy's quantile agrees with them to about 1e-15 today and 2e-11 (relative) in scipy 1.13.1,
# the declared minimum.
QUANTILE_REL = 1e-9


# ------------------------------------------------------------------ the interval, exactly


def test_the_interval_of_three_values_is_mean_plus_minus_t_s_over_root_n():
    mean, low, high = t_interval([1.0, 2.0, 3.0])  # s = 1
    assert float(mean) == 2.0
    half = T_975[2] * 1.0 / math.sqrt(3)  # 2.4841377...
    assert float(high) == pytest.approx(2.0 + half, rel=QUANTILE_REL)
    assert float(low) == pytest.approx(2.0 - half, rel=QUANTILE_REL)
    assert float(high - mean) == pytest.approx(2.4841377, abs=1e-7)


def test_the_interval_of_two_values_uses_twelve_point_seven():
    mean, low, high = t_interval([0.5, 0.7])  # s = 0.1·√2, s/√2 = 0.1
    assert float(mean) == pytest.approx(0.6)
    assert float(high - mean) == pytest.approx(T_975[1] * 0.1, rel=QUANTILE_REL)  # 1.2706…
    assert float(mean - low) == pytest.approx(T_975[1] * 0.1, rel=QUANTILE_REL)


def test_other_confidence_levels_and_axes():
    values = np.array([[1.0, 10.0], [2.0, 10.0], [3.0, 10.0], [4.0, 10.0], [5.0, 10.0]])
    mean, low, high = t_interval(values, 0.95, axis=0)
    np.testing.assert_allclose(mean, [3.0, 10.0])
    np.testing.assert_allclose(high - mean, [T_975[4] * math.sqrt(2.5) / math.sqrt(5), 0.0])
    _, low90, high90 = t_interval(values[:, 0], 0.90)
    assert high90 - low90 < high[0] - low[0]  # a 90 % interval is narrower
    mean_t, _, _ = t_interval(values.T, axis=1)
    np.testing.assert_allclose(mean_t, [3.0, 10.0])


def test_one_value_has_no_interval_and_nan_propagates():
    mean, low, high = t_interval([0.25])
    assert float(mean) == 0.25 and math.isnan(low) and math.isnan(high)
    mean, low, high = t_interval(np.array([[math.nan, 1.0], [math.nan, 2.0]]))
    assert math.isnan(mean[0]) and math.isnan(low[0]) and math.isnan(high[0])
    assert np.isfinite([mean[1], low[1], high[1]]).all()


@pytest.mark.parametrize(
    ("values", "confidence", "message"),
    [
        ([], 0.95, "`values` must hold at least one replication, got none"),
        ([1.0, 2.0], 1.0, "`confidence` must be a float in (0, 1), got 1.0"),
        ([1.0, 2.0], 0, "`confidence` must be a float in (0, 1), got 0"),
        ([1.0, 2.0], True, "`confidence` must be a float in (0, 1), got True"),
    ],
)
def test_bad_intervals_are_refused(values, confidence, message):
    with pytest.raises(ValueError) as info:
        t_interval(values, confidence)
    assert str(info.value) == message


# ---------------------------------------------------------------- the interval, coverage


def test_coverage_is_95_percent_for_normal_values_with_known_mean():
    # 20,000 experiments of 5 seeds each, values N(0.3, 0.1²): the intervals must contain
    # 0.3 in 95 % of them (binomial standard error 0.15 %).
    rng = np.random.default_rng(12345)
    values = rng.normal(0.3, 0.1, size=(5, 20_000))
    _, low, high = t_interval(values)
    coverage = np.mean((low <= 0.3) & (high >= 0.3))
    assert abs(coverage - 0.95) < 0.006, coverage
    # A normal (z) interval with the same s would undercover badly with 5 seeds.
    half_z = 1.959964 * values.std(axis=0, ddof=1) / math.sqrt(5)
    mean = values.mean(axis=0)
    assert np.mean(np.abs(mean - 0.3) <= half_z) < 0.90


def _synthetic_history(policy: str, seed: int, series: np.ndarray) -> History:
    steps = np.arange(len(series), dtype=np.int64)
    return History(
        policy=policy,
        steps=steps,
        metrics={"polarization": series.astype(np.float64)},
        rewards=np.full(max(len(series) - 1, 1), 0.5),
        exposure=np.zeros(3, dtype=np.int64),
        consumption=np.zeros(3, dtype=np.int64),
        initial_states=np.zeros((2, 2)),
        final_states=np.zeros((2, 2)),
        metadata={"seed": seed},
    )


def test_coverage_through_summarize_at_every_step():
    # 1,000 studies of 4 seeds; at step k the metric is N(k / 10, 0.2²) per seed.
    rng = np.random.default_rng(7)
    truth = np.arange(4) / 10
    covered = np.zeros(4)
    for _ in range(1_000):
        runs = [_synthetic_history("p", s, truth + rng.normal(0, 0.2, 4)) for s in range(4)]
        summary = summarize(runs)
        _mean, low, high = summary.interval("polarization")
        covered += (low <= truth) & (truth <= high)
    np.testing.assert_allclose(covered / 1_000, 0.95, atol=0.025)


# ------------------------------------------------------------------------- summarize


def test_summarize_keeps_the_per_seed_values_and_their_final_values():
    runs = [
        _synthetic_history("greedy", 3, np.array([0.0, 0.2, 0.4])),
        _synthetic_history("greedy", 4, np.array([0.0, 0.4, 0.6])),
    ]
    summary = summarize(runs)
    assert summary.policy == "greedy" and summary.seeds == (3, 4) and summary.n_seeds == 2
    np.testing.assert_array_equal(summary.values["polarization"], [[0, 0.2, 0.4], [0, 0.4, 0.6]])
    np.testing.assert_allclose(summary.mean["polarization"], [0.0, 0.3, 0.5])
    np.testing.assert_array_equal(summary.final["polarization"], [0.4, 0.6])
    np.testing.assert_array_equal(summary.final["mean_reward"], [0.5, 0.5])
    mean, _low, high = summary.final_interval("polarization")
    assert mean == pytest.approx(0.5)
    assert high - mean == pytest.approx(T_975[1] * 0.1, rel=QUANTILE_REL)
    # Identical values at step 0: an interval of width 0.
    assert summary.low["polarization"][0] == summary.high["polarization"][0] == 0.0
    assert summary.histories == tuple(runs)


def test_summarize_refuses_runs_that_do_not_belong_together():
    a = _synthetic_history("greedy", 0, np.array([0.0, 0.1]))
    with pytest.raises(ValueError, match=r"^`histories` must be runs of one policy, got 'greedy'"):
        summarize([a, _synthetic_history("random", 1, np.array([0.0, 0.1]))])
    with pytest.raises(ValueError, match=r"^`histories` must be recorded at the same steps"):
        summarize([a, _synthetic_history("greedy", 1, np.array([0.0, 0.1, 0.2]))])
    with pytest.raises(ValueError, match=r"^`histories` must hold at least one History, got none"):
        summarize([])
    with pytest.raises(TypeError, match=r"^`histories` must be a list of History objects"):
        summarize(a)


# ---------------------------------------------------------------------------- run_seeds


def _population(seed: int) -> PopulationEnv:
    return PopulationEnv(
        n_users=80, n_items=6, step_per_episode=6, feature_normalization="row", random_state=seed
    )


def test_seeds_derive_from_one_base_seed():
    assert derive_seeds(0, 3) == (0, 1, 2)
    assert derive_seeds(41, 2) == (41, 42)
    with pytest.raises(ValueError, match=r"^`n` must be a positive integer, got 0$"):
        derive_seeds(0, 0)


def test_run_seeds_runs_one_population_per_seed_reproducibly():
    summary = run_seeds(_population, "greedy", seeds=3, base_seed=5, every=2)
    assert summary.seeds == (5, 6, 7)
    assert [h.metadata["seed"] for h in summary.histories] == [5, 6, 7]
    assert [h.metadata["random_state"] for h in summary.histories] == [5, 6, 7]
    assert summary.steps.tolist() == [0, 2, 4, 6]
    again = run_seeds(_population, "greedy", seeds=[5, 6, 7], every=2)
    for name in summary.values:
        np.testing.assert_array_equal(summary.values[name], again.values[name])
    # The first seed is the plain simulate run of that seed.
    from recgym.population.simulation import simulate

    alone = simulate(_population(5), "greedy", seed=5, every=2)
    np.testing.assert_array_equal(summary.values["drift"][0], alone.metrics["drift"])
    assert summary.final["mean_reward"][0] == alone.final()["mean_reward"]


def test_run_seeds_on_one_environment_keeps_its_population():
    env = _population(0)
    items = env.item_features.copy()
    summary = run_seeds(env, "random", seeds=2, metrics=["drift"])
    assert summary.seeds == (0, 1)
    np.testing.assert_array_equal(env.item_features, items)
    first, second = summary.histories
    np.testing.assert_array_equal(first.initial_states, second.initial_states)
    assert not np.array_equal(first.exposure, second.exposure)  # the policy's draws differ


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"seeds": [1, 1]}, ValueError, "`seeds` must not repeat a seed, got 1 twice"),
        ({"seeds": []}, ValueError, "`seeds` must hold at least one seed, got none"),
        ({"seeds": "3"}, TypeError, "`seeds` must be a count or a sequence of seeds, got '3'"),
        ({"seeds": 0}, ValueError, "`n` must be a positive integer, got 0"),
        ({"seed": 3}, TypeError, "`seed` is set per run by run_seeds; pass `seeds` or `base_seed`"),
        ({"confidence": 2}, ValueError, "`confidence` must be a float in (0, 1), got 2"),
    ],
)
def test_run_seeds_refuses_bad_arguments(kwargs, error, message):
    with pytest.raises(error) as info:
        run_seeds(_population, "random", **kwargs)
    assert str(info.value) == message


def test_run_seeds_refuses_something_that_is_no_environment():
    with pytest.raises(TypeError, match=r"^`env` must be a PopulationEnv or a function seed"):
        run_seeds(42, "random", seeds=1)


# ------------------------------------------------------------------------------ tables


def test_the_tidy_tables_have_one_row_per_metric_and_step_or_seed(tmp_path):
    summary = run_seeds(_population, "random", seeds=2, metrics=["drift", "gini"], every=3)
    rows = summary.rows()
    assert len(rows) == 2 * len(summary.steps)
    assert list(rows[0]) == list(INTERVAL_COLUMNS)
    assert rows[0] == {
        "policy": "random",
        "metric": "drift",
        "step": 0,
        "n_seeds": 2,
        "mean": 0.0,
        "ci_low": 0.0,
        "ci_high": 0.0,
    }
    summary.to_csv(tmp_path / "intervals.csv")
    with open(tmp_path / "intervals.csv", newline="") as handle:
        read = list(csv.DictReader(handle))
    assert len(read) == len(rows)
    last = read[len(summary.steps) - 1]
    mean, _low, high = summary.interval("drift")
    assert float(last["mean"]) == mean[-1] and float(last["ci_high"]) == high[-1]
    write_finals_csv(tmp_path / "finals.csv", [summary])
    with open(tmp_path / "finals.csv", newline="") as handle:
        finals = list(csv.DictReader(handle))
    assert list(finals[0]) == list(FINAL_COLUMNS)
    assert {(row["metric"], row["seed"]) for row in finals} == {
        (metric, seed) for metric in ("drift", "gini", "mean_reward") for seed in ("0", "1")
    }
