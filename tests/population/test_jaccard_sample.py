"""jaccard_nn over a subset of users: the metric's ``users=`` and simulate's sample."""

import re

import numpy as np
import pytest
import scipy.sparse as sp

from recgym.population import PopulationEnv, simulate
from recgym.population.metrics import jaccard_nearest_neighbors, nearest_neighbors


def _brute_force(states, consumed, users):
    units = states / np.linalg.norm(states, axis=1, keepdims=True)
    sets = [set(np.flatnonzero(row)) for row in consumed.toarray()]
    values = []
    for i in users:
        cosines = units @ units[i]
        cosines[i] = -np.inf
        j = int(np.argmax(cosines))
        union = sets[i] | sets[j]
        if union:
            values.append(len(sets[i] & sets[j]) / len(union))
    return float(np.mean(values))


def test_a_subset_of_users_averages_over_those_users_only():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(60, 4))
    consumed = sp.csr_array((rng.random((60, 12)) < 0.3).astype(np.int64))
    users = np.array([3, 17, 42, 59, 0])
    neighbors = nearest_neighbors(states, users=users)
    assert neighbors.shape == (5,)
    assert not np.any(neighbors == users)
    np.testing.assert_array_equal(neighbors, nearest_neighbors(states)[users])
    expected = _brute_force(states, consumed, users)
    assert jaccard_nearest_neighbors(states, consumed, users=users) == pytest.approx(expected)
    assert jaccard_nearest_neighbors(
        states, consumed, users=users, neighbors=neighbors
    ) == pytest.approx(expected)


def test_bad_user_subsets_are_refused():
    states = np.eye(3)
    consumed = sp.csr_array(np.eye(3, dtype=np.int64))
    with pytest.raises(
        ValueError, match=re.escape("`users` must hold user indices in [0, 3), got 3 at index 1")
    ):
        jaccard_nearest_neighbors(states, consumed, users=np.array([0, 3]))
    with pytest.raises(
        TypeError, match=re.escape("`users` must be a numpy integer array, got list")
    ):
        nearest_neighbors(states, users=[0, 1])
    with pytest.raises(ValueError, match=re.escape("`neighbors` must have shape (1,), got (3,)")):
        jaccard_nearest_neighbors(
            states, consumed, users=np.array([1]), neighbors=np.array([1, 0, 1])
        )


def test_simulate_samples_users_for_jaccard_only_above_the_limit():
    env = PopulationEnv(
        n_users=300, n_items=20, step_per_episode=15, feature_normalization="row", random_state=1
    )
    full = simulate(env, "greedy", seed=2, metrics=["jaccard_nn", "homogenization"])
    same = simulate(
        env, "greedy", seed=2, metrics=["jaccard_nn", "homogenization"], jaccard_users=300
    )
    sampled = simulate(
        env, "greedy", seed=2, metrics=["jaccard_nn", "homogenization"], jaccard_users=120
    )
    np.testing.assert_array_equal(full.metrics["jaccard_nn"], same.metrics["jaccard_nn"])
    np.testing.assert_array_equal(full.metrics["homogenization"], sampled.metrics["homogenization"])
    assert not np.array_equal(full.metrics["jaccard_nn"][1:], sampled.metrics["jaccard_nn"][1:])
    # An unbiased estimate of the same mean: close, and reproducible for the same seed.
    assert abs(sampled.metrics["jaccard_nn"][-1] - full.metrics["jaccard_nn"][-1]) < 0.15
    again = simulate(env, "greedy", seed=2, metrics=["jaccard_nn"], jaccard_users=120)
    np.testing.assert_array_equal(again.metrics["jaccard_nn"], sampled.metrics["jaccard_nn"])
    with pytest.raises(
        ValueError, match=re.escape("`jaccard_users` must be a positive integer, got 0")
    ):
        simulate(env, "greedy", seed=2, jaccard_users=0)
