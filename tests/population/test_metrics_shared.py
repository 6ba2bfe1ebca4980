"""compute_metrics shares one validation and normalisation among the preference metrics:
its values must be exactly those of the public functions called one by one."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recgym.population.metrics import (
    DRIFT_KINDS,
    METRICS,
    compute_metrics,
    jaccard_nearest_neighbors,
    preference_drift_per_user,
)
from recgym.population.metrics.neighbors import _jaccard
from recgym.population.metrics.preferences import _Preferences, _row_norms, _unit_rows
from recgym.population.metrics.registry import _evaluate

PREFERENCE = ["homogenization", "mean_squared_cosine", "polarization", "bimodality", "drift"]


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def population(seed: int, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(0, 40)), int(rng.integers(1, 7))
    states, initial = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    if n and seed % 2:
        states[rng.random(n) < 0.3] = 0.0  # zero rows: no direction
    if n and seed % 3 == 1:
        initial[rng.random(n) < 0.3] = 0.0
    if n and seed % 5 == 0:
        states[:] = states[0]  # consensus
    if seed % 7 == 0:
        states *= 1e-160  # the careful normalisation path
    scale = 10.0 if np.issubdtype(dtype, np.integer) else 1.0
    return (states * scale).astype(dtype), (initial * scale).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
@pytest.mark.parametrize("seed", range(40))
def test_compute_metrics_equals_each_public_function_exactly(seed, dtype):
    states, initial = population(seed, dtype)
    counts = np.random.default_rng(seed).integers(0, 4, 12)
    together = compute_metrics(None, states=states, initial_states=initial, counts=counts)
    for name, value in together.items():
        alone = METRICS[name](states=states, initial_states=initial, counts=counts)
        assert same(value, alone), name
    reordered = compute_metrics(PREFERENCE[::-1], states=states, initial_states=initial)
    assert all(same(reordered[name], together[name]) for name in PREFERENCE)


@pytest.mark.parametrize("seed", range(20))
def test_precomputed_initial_preferences_give_the_same_values(seed):
    states, initial = population(seed, np.float64)
    data = {"states": states, "initial_states": initial}
    cached = _Preferences.check(initial, "initial_states")
    assert all(
        same(a, b)
        for a, b in zip(
            _evaluate(PREFERENCE, data, {"initial_states": cached}).values(),
            compute_metrics(PREFERENCE, **data).values(),
        )
    )


def test_shared_evaluation_raises_the_errors_of_the_metrics():
    good = np.ones((5, 3))
    with pytest.raises(ValueError, match="`states` must hold finite values"):
        compute_metrics(PREFERENCE, states=np.full((5, 3), np.nan), initial_states=good)
    with pytest.raises(ValueError, match="`initial_states` must hold finite values"):
        compute_metrics(["drift"], states=good, initial_states=np.full((5, 3), np.inf))
    with pytest.raises(ValueError, match="`initial_states` must have the shape of `states`"):
        compute_metrics(["homogenization", "drift"], states=good, initial_states=np.ones((4, 3)))


@pytest.mark.parametrize("d", range(1, 12))
def test_row_norms_are_numpys_bit_for_bit(d):
    rows = np.random.default_rng(d).standard_normal((1000, d))
    assert np.array_equal(_row_norms(rows), np.linalg.norm(rows, axis=1))
    assert _row_norms(rows[:0]).shape == (0,)


@pytest.mark.parametrize("seed", range(10))
def test_drift_kinds_match_a_direct_computation(seed):
    states, initial = population(seed, np.float64)
    for kind in DRIFT_KINDS:
        drift = preference_drift_per_user(states, initial, kind=kind)
        assert drift.shape == (len(states),) and np.all(np.isfinite(drift))


def test_jaccard_kernel_on_an_indicator_matches_the_public_function():
    rng = np.random.default_rng(0)
    n, n_items = 50, 8
    counts = sp.csr_array(rng.integers(0, 3, (n, n_items)) * (rng.random((n, n_items)) < 0.3))
    states = rng.standard_normal((n, 3))
    users = rng.choice(n, 20, replace=False)
    partner = (users + 1) % n
    indicator = sp.csr_array(counts, copy=True)
    indicator.eliminate_zeros()
    indicator.data[:] = 1
    expected = jaccard_nearest_neighbors(states, counts, neighbors=partner, users=users)
    assert _jaccard(indicator, users, partner) == expected
    everyone = (np.arange(n) + 1) % n
    expected = jaccard_nearest_neighbors(states, counts, neighbors=everyone)
    assert _jaccard(indicator, np.arange(n), everyone, everyone=True) == expected


@pytest.mark.parametrize("jaccard_users", [40, 10_000])
def test_simulate_jaccard_is_the_same_from_bits_and_from_a_sparse_matrix(
    monkeypatch, jaccard_users
):
    import recgym.population.metrics.neighbors as module
    from recgym.population import PopulationEnv
    from recgym.population.simulation import simulate

    def run() -> dict[str, np.ndarray]:
        env = PopulationEnv(
            n_users=200, n_items=13, user_feature_dim=3, item_feature_dim=3,
            step_per_episode=8, obs_std=0.1, reward_std=0.1, random_state=3,
        )  # fmt: skip
        groups = np.arange(200) % 3
        history = simulate(
            env, "epsilon_greedy", seed=1, groups=groups, jaccard_users=jaccard_users
        )
        return history.metrics

    bits = run()
    monkeypatch.setattr(module, "_BITS_BUDGET", 0)
    sparse = run()
    assert list(bits) == list(sparse)
    for name in bits:
        assert np.array_equal(bits[name], sparse[name], equal_nan=True), name
    assert np.isfinite(bits["jaccard_nn"][1:]).all()


@pytest.mark.parametrize("kind", DRIFT_KINDS)
def test_drift_in_row_blocks_equals_the_whole_array_formula(kind):
    rng = np.random.default_rng(7)
    states, initial = rng.standard_normal((20_001, 5)), rng.standard_normal((20_001, 5))
    states[::7] = 0.0
    initial[::11] = 0.0
    now, then = _unit_rows(states), _unit_rows(initial)
    if kind == "cosine":
        expected = np.clip(1.0 - np.einsum("ij,ij->i", now, then), 0.0, 2.0)
    else:
        expected = np.linalg.norm(now - then, axis=1)
        if kind == "angle":
            expected = 2.0 * np.arctan2(expected, np.linalg.norm(now + then, axis=1))
            both_zero = ~now.any(axis=1) & ~then.any(axis=1)
            expected = np.where(both_zero, np.pi / 2, expected)
    assert np.array_equal(preference_drift_per_user(states, initial, kind=kind), expected)
