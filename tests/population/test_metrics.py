"""Tests of recgym.population.metrics against brute-force and textbook references."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recgym.population.metrics import (
    METRICS,
    bimodality_coefficient,
    by_group,
    compute_metrics,
    coverage,
    entropy,
    gini,
    homogenization,
    item_counts,
    item_counts_by_group,
    jaccard_nearest_neighbors,
    mean_reward,
    mean_squared_cosine,
    nearest_neighbors,
    polarization,
    preference_drift,
    preference_drift_per_user,
    step_reward,
    top_k_share,
    user_item_matrix,
)

# --------------------------------------------------------------------------- references


def brute_cosines(states):
    """All pairwise cosines by a double loop; a zero vector has cosine 0 with anything."""
    n = len(states)
    cos = np.zeros((n, n))
    for i, j in itertools.product(range(n), repeat=2):
        ni, nj = np.linalg.norm(states[i]), np.linalg.norm(states[j])
        if ni > 0 and nj > 0:
            cos[i, j] = states[i] @ states[j] / (ni * nj)
    return cos


def brute_off_diagonal_mean(matrix):
    n = len(matrix)
    return sum(matrix[i, j] for i in range(n) for j in range(n) if i != j) / (n * (n - 1))


def brute_gini(counts):
    counts = np.asarray(counts, dtype=float)
    n = len(counts)
    diffs = sum(abs(a - b) for a in counts for b in counts)
    return diffs / (2 * n * counts.sum())


def unit(v):
    return v / np.linalg.norm(v)


def poles(n_plus, n_minus, dim=3, seed=0):
    """Users on two antipodal poles ±e with a random axis e and random positive lengths."""
    rng = np.random.default_rng(seed)
    axis = unit(rng.normal(size=dim))
    lengths = rng.uniform(0.5, 2.0, size=n_plus + n_minus)
    signs = np.r_[np.ones(n_plus), -np.ones(n_minus)]
    return (signs * lengths)[:, None] * axis


def isotropic(n, dim, seed=0):
    return np.random.default_rng(seed).normal(size=(n, dim))


integer_states = hnp.arrays(
    np.float64,
    st.tuples(st.integers(2, 8), st.integers(1, 4)),
    elements=st.integers(-3, 3).map(float),
)
count_vectors = hnp.arrays(np.int64, st.integers(1, 30), elements=st.integers(0, 50))


# ------------------------------------------------------------------------ homogenization


@pytest.mark.parametrize("seed", range(5))
def test_homogenization_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    states = rng.normal(size=(int(rng.integers(2, 12)), int(rng.integers(1, 6))))
    states[0] = 0.0  # a user without a direction
    assert homogenization(states) == pytest.approx(
        brute_off_diagonal_mean(brute_cosines(states)), abs=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(integer_states)
def test_homogenization_and_squared_cosine_match_brute_force_property(states):
    cos = brute_cosines(states)
    assert homogenization(states) == pytest.approx(brute_off_diagonal_mean(cos), abs=1e-12)
    assert mean_squared_cosine(states) == pytest.approx(brute_off_diagonal_mean(cos**2), abs=1e-12)


def test_homogenization_of_identical_users_is_one():
    states = np.tile([0.3, -1.2, 2.0], (7, 1))
    assert homogenization(states) == pytest.approx(1.0)


@pytest.mark.parametrize("n_per_pole", [1, 2, 5, 50])
def test_homogenization_of_two_equal_antipodal_poles_is_minus_one_over_n_minus_one(n_per_pole):
    # Within-pole pairs: 2·k(k−1) with cos +1; across: 2k² with cos −1; total −2k over N(N−1).
    n = 2 * n_per_pole
    assert homogenization(poles(n_per_pole, n_per_pole)) == pytest.approx(-1 / (n - 1))


def test_homogenization_of_isotropic_population_is_near_zero():
    assert abs(homogenization(isotropic(20_000, 3))) < 0.01


def test_homogenization_zero_rows_count_as_orthogonal():
    # Only the ordered pairs (0, 2) and (2, 0) have cosine 1; 6 ordered pairs in all.
    states = np.array([[1.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    assert homogenization(states) == pytest.approx(2 / 6)
    assert mean_squared_cosine(states) == pytest.approx(2 / 6)


def test_pairwise_metrics_are_nan_below_two_users():
    for states in (np.zeros((0, 3)), np.ones((1, 3))):
        assert math.isnan(homogenization(states))
        assert math.isnan(mean_squared_cosine(states))


def test_homogenization_ignores_vector_lengths_and_accepts_float32_and_ints():
    states = isotropic(30, 4, seed=3)
    scaled = states * np.random.default_rng(4).uniform(0.1, 10, size=(30, 1))
    assert homogenization(scaled) == pytest.approx(homogenization(states))
    assert homogenization(states.astype(np.float32)) == pytest.approx(
        homogenization(states), abs=1e-6
    )
    ints = np.array([[1, 0], [0, 1], [1, 1]])
    assert homogenization(ints) == pytest.approx(homogenization(ints.astype(float)))


# ------------------------------------------------------------------- mean squared cosine


def test_mean_squared_cosine_is_one_for_consensus_and_for_antipodal_poles():
    assert mean_squared_cosine(poles(6, 0)) == pytest.approx(1.0)
    assert mean_squared_cosine(poles(6, 6)) == pytest.approx(1.0)


@pytest.mark.parametrize("dim", [2, 3, 8])
def test_mean_squared_cosine_of_isotropic_population_is_one_over_dim(dim):
    assert mean_squared_cosine(isotropic(20_000, dim)) == pytest.approx(1 / dim, abs=0.01)


# --------------------------------------------------------------------------- polarization


def reference_polarization(states):
    """S·(1 − P²) from an SVD of the non-zero unit rows (an independent route to λ₁)."""
    norms = np.linalg.norm(states, axis=1)
    units = states[norms > 0] / norms[norms > 0, None]
    m, d = units.shape
    largest = np.linalg.svd(units, compute_uv=False)[0] ** 2 / m
    axial = 1.0 if d == 1 else (d * largest - 1) / (d - 1)
    mean = units.mean(axis=0)
    return axial * (1 - mean @ mean)


@pytest.mark.parametrize("seed", range(5))
def test_polarization_matches_reference(seed):
    rng = np.random.default_rng(seed)
    states = rng.normal(size=(int(rng.integers(2, 40)), int(rng.integers(1, 6))))
    states[1] = 0.0
    assert polarization(states) == pytest.approx(reference_polarization(states), abs=1e-12)


def test_polarization_of_two_equal_antipodal_poles_is_one():
    assert polarization(poles(25, 25)) == pytest.approx(1.0)


def test_polarization_of_a_consensus_is_zero():
    assert polarization(poles(40, 0)) == pytest.approx(0.0, abs=1e-12)
    assert polarization(np.tile([1.0, 2.0, 3.0], (10, 1))) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("n_plus", "n_minus"), [(8, 2), (7, 3), (1, 9)])
def test_polarization_of_unequal_poles_is_four_q_one_minus_q(n_plus, n_minus):
    q = n_plus / (n_plus + n_minus)
    assert polarization(poles(n_plus, n_minus)) == pytest.approx(4 * q * (1 - q))


def test_polarization_of_isotropic_population_is_near_zero():
    assert polarization(isotropic(20_000, 3)) < 0.05


def test_polarization_of_a_spread_single_cluster_is_low_and_below_split_cluster():
    rng = np.random.default_rng(5)
    cluster = np.array([1.0, 0.0, 0.0]) + 0.2 * rng.normal(size=(500, 3))
    split = cluster * np.where(np.arange(500) % 2 == 0, 1.0, -1.0)[:, None]
    assert polarization(cluster) < 0.1
    assert polarization(split) > 0.8


def test_polarization_in_one_dimension_and_with_zero_states():
    states = np.array([[1.0], [2.0], [-0.5], [0.0]])  # the zero user has no direction
    q = 2 / 3
    assert polarization(states) == pytest.approx(4 * q * (1 - q))
    assert math.isnan(polarization(np.zeros((3, 2))))


@settings(max_examples=60, deadline=None)
@given(integer_states)
def test_polarization_is_in_unit_interval_and_rotation_invariant(states):
    value = polarization(states)
    if not np.any(states):
        assert math.isnan(value)
        return
    assert 0.0 <= value <= 1.0
    rotation = np.linalg.qr(np.random.default_rng(0).normal(size=(states.shape[1],) * 2))[0]
    assert polarization(states @ rotation) == pytest.approx(value, abs=1e-9)


# ------------------------------------------------------------------ bimodality coefficient


@pytest.mark.parametrize("seed", range(4))
def test_bimodality_coefficient_matches_scipy_moments_on_principal_axis(seed):
    states = isotropic(60, 3, seed) + np.array([2.0, 0.0, 0.0]) * (np.arange(60) % 3 == 0)[:, None]
    units = states / np.linalg.norm(states, axis=1, keepdims=True)
    centred = units - units.mean(axis=0)
    projection = centred @ np.linalg.svd(centred)[2][0]
    n = len(projection)
    skew = scipy.stats.skew(projection, bias=False)
    kurt = scipy.stats.kurtosis(projection, bias=False)
    expected = (skew**2 + 1) / (kurt + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3)))
    assert bimodality_coefficient(states) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("m", [4, 10, 100])
def test_bimodality_coefficient_of_two_equal_point_masses(m):
    expected = (m - 2) * (m - 3) / ((m - 1) * (m + 1))
    assert bimodality_coefficient(poles(m // 2, m - m // 2)) == pytest.approx(expected)


def test_bimodality_coefficient_is_below_five_ninths_for_one_gaussian_cluster():
    rng = np.random.default_rng(0)
    cluster = np.array([1.0, 0.0, 0.0, 0.0]) + 0.1 * rng.normal(size=(5000, 4))
    assert bimodality_coefficient(cluster) < 5 / 9


def test_bimodality_coefficient_is_nan_when_undefined():
    assert math.isnan(bimodality_coefficient(np.tile([1.0, 2.0], (10, 1))))  # consensus
    assert math.isnan(bimodality_coefficient(isotropic(3, 2)))  # fewer than 4 users


# ------------------------------------------------------------------------------- drift


def test_preference_drift_per_user_matches_brute_force():
    rng = np.random.default_rng(0)
    states, initial = rng.normal(size=(20, 4)), rng.normal(size=(20, 4))
    cos = np.array([unit(a) @ unit(b) for a, b in zip(states, initial)])
    angle = np.arccos(np.clip(cos, -1, 1))
    chord = np.array([np.linalg.norm(unit(a) - unit(b)) for a, b in zip(states, initial)])
    np.testing.assert_allclose(preference_drift_per_user(states, initial), angle, atol=1e-12)
    np.testing.assert_allclose(
        preference_drift_per_user(states, initial, kind="cosine"), 1 - cos, atol=1e-12
    )
    np.testing.assert_allclose(
        preference_drift_per_user(states, initial, kind="euclidean"), chord, atol=1e-12
    )
    assert preference_drift(states, initial) == pytest.approx(angle.mean())


def test_preference_drift_known_values():
    initial = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    states = np.array([[3.0, 0.0], [0.0, 2.0], [-1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(
        preference_drift_per_user(states, initial),
        [0.0, np.pi / 2, np.pi, np.pi / 2, np.pi / 2],
        atol=1e-15,
    )
    np.testing.assert_allclose(
        preference_drift_per_user(states, initial, kind="cosine"), [0, 1, 2, 1, 1]
    )
    np.testing.assert_allclose(
        preference_drift_per_user(states, initial, kind="euclidean"),
        [0, np.sqrt(2), 2, 1, 0],
    )


def test_preference_drift_of_tiny_rotation_is_accurate():
    eps = 1e-9
    initial = np.array([[1.0, 0.0]])
    states = np.array([[np.cos(eps), np.sin(eps)]])
    assert preference_drift(states, initial) == pytest.approx(eps, rel=1e-6)
    assert math.isnan(preference_drift(np.zeros((0, 2)), np.zeros((0, 2))))


# ------------------------------------------------------------------ item counts and friends


def test_item_counts_matches_brute_force_for_one_step_and_history():
    rng = np.random.default_rng(0)
    history = rng.integers(0, 7, size=(5, 11))
    expected = [int((history == i).sum()) for i in range(9)]
    np.testing.assert_array_equal(item_counts(history, 9), expected)
    np.testing.assert_array_equal(item_counts(history[0], 9), np.bincount(history[0], minlength=9))
    assert item_counts(history, 9).dtype == np.int64


def test_item_counts_with_mask_counts_only_consumed_items():
    actions = np.array([[0, 1, 1], [2, 1, 0]])
    rewards = np.array([[1.0, -1.0, 0.5], [0.0, 2.0, 3.0]])
    np.testing.assert_array_equal(item_counts(actions, 3, mask=rewards > 0), [2, 2, 0])


def test_item_counts_by_group_equals_counts_of_each_group_own_actions():
    rng = np.random.default_rng(1)
    history = rng.integers(0, 6, size=(4, 15))
    groups = np.array(list("abc") * 5)
    mask = rng.random(size=history.shape) > 0.3
    split = item_counts_by_group(history, groups, 6, mask=mask)
    assert list(split) == ["a", "b", "c"]
    for label, counts in split.items():
        members = groups == label
        expected = item_counts(history[:, members], 6, mask=mask[:, members])
        np.testing.assert_array_equal(counts, expected)
    in_a = groups == "a"
    assert gini(split["a"]) == pytest.approx(
        gini(item_counts(history[:, in_a], 6, mask=mask[:, in_a]))
    )


def test_uniform_exposure():
    counts = np.full(8, 5)
    assert gini(counts) == 0.0
    assert entropy(counts) == pytest.approx(1.0)
    assert coverage(counts) == 1.0
    assert top_k_share(counts, 2) == pytest.approx(2 / 8)


@pytest.mark.parametrize("n", [1, 2, 10, 1000])
def test_all_exposure_on_one_item(n):
    counts = np.zeros(n)
    counts[n // 2] = 17
    assert gini(counts) == pytest.approx((n - 1) / n)
    assert coverage(counts) == pytest.approx(1 / n)
    assert top_k_share(counts, 1) == 1.0
    assert entropy(counts, normalized=False) == 0.0
    assert entropy(counts) == (1.0 if n == 1 else 0.0)


def test_gini_known_value():
    # Sorted (0, 1, 2, 3): Σ(2i − n − 1)c = 0·(−3) + 1·(−1) + 2·1 + 3·3 = 10; n·Σc = 24.
    assert gini(np.array([3, 0, 2, 1])) == pytest.approx(10 / 24)


def test_entropy_matches_scipy():
    counts = np.array([1, 0, 4, 7, 2])
    h = scipy.stats.entropy(counts)
    assert entropy(counts, normalized=False) == pytest.approx(h)
    assert entropy(counts) == pytest.approx(h / np.log(5))


def test_top_k_share_known_values():
    counts = np.array([5, 1, 0, 3, 1])
    assert top_k_share(counts, 1) == pytest.approx(5 / 10)
    assert top_k_share(counts, 2) == pytest.approx(8 / 10)
    assert top_k_share(counts, 5) == 1.0
    assert top_k_share(counts, 50) == 1.0


def test_count_metrics_of_all_zero_counts():
    zeros = np.zeros(4, dtype=np.int64)
    assert coverage(zeros) == 0.0
    assert math.isnan(gini(zeros))
    assert math.isnan(entropy(zeros))
    assert math.isnan(top_k_share(zeros, 2))


@settings(max_examples=100, deadline=None)
@given(count_vectors, st.integers(1, 40))
def test_count_metrics_bounds_and_references(counts, k):
    n = counts.size
    assert 0.0 <= coverage(counts) <= 1.0
    if counts.sum() == 0:
        assert math.isnan(gini(counts))
        return
    g = gini(counts)
    assert 0.0 <= g <= (n - 1) / n + 1e-12
    assert g == pytest.approx(brute_gini(counts), abs=1e-12)
    assert 0.0 <= entropy(counts) <= 1.0
    assert entropy(counts, normalized=False) == pytest.approx(scipy.stats.entropy(counts))
    expected_share = np.sort(counts)[::-1][:k].sum() / counts.sum()
    assert top_k_share(counts, k) == pytest.approx(expected_share)
    assert min(k, n) / n - 1e-12 <= top_k_share(counts, k) <= 1.0


# ----------------------------------------------------------------- nearest-neighbour Jaccard


def test_jaccard_nearest_neighbors_known_sets():
    # Neighbour pairs by direction: 0 ↔ 1 (close to e₁) and 2 ↔ 3 (close to e₂).
    states = np.array([[1.0, 0.05], [1.0, -0.05], [0.05, 1.0], [-0.05, 1.0]])
    consumed = sp.csr_array(
        np.array(
            [
                [1, 1, 0, 0, 0],  # {0, 1}
                [0, 3, 1, 0, 0],  # {1, 2}: Jaccard with user 0 = 1/3
                [0, 0, 0, 1, 1],  # {3, 4}
                [0, 0, 0, 2, 1],  # {3, 4}: Jaccard with user 2 = 1
            ]
        )
    )
    np.testing.assert_array_equal(nearest_neighbors(states), [1, 0, 3, 2])
    assert jaccard_nearest_neighbors(states, consumed) == pytest.approx((1 / 3 + 1 / 3 + 1 + 1) / 4)


def test_jaccard_nearest_neighbors_history_equals_sparse_matrix():
    rng = np.random.default_rng(2)
    states = rng.normal(size=(30, 3))
    history = rng.integers(0, 12, size=(6, 30))
    from_history = jaccard_nearest_neighbors(states, history)
    assert from_history == pytest.approx(
        jaccard_nearest_neighbors(states, user_item_matrix(history, 12))
    )
    assert from_history == pytest.approx(
        jaccard_nearest_neighbors(states, sp.csr_matrix(user_item_matrix(history, 12)))
    )


@pytest.mark.parametrize("seed", range(4))
def test_jaccard_nearest_neighbors_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, n_items = 25, 15
    states = rng.normal(size=(n, 4))
    history = rng.integers(0, n_items, size=(5, n))
    mask = rng.random(size=history.shape) < 0.6
    cos = brute_cosines(states)
    np.fill_diagonal(cos, -np.inf)
    sets = [set(history[mask[:, u], u].tolist()) for u in range(n)]
    scores = []
    for user in range(n):
        a, b = sets[user], sets[int(np.argmax(cos[user]))]
        if a | b:
            scores.append(len(a & b) / len(a | b))
    consumed = user_item_matrix(history, n_items, mask=mask)
    assert jaccard_nearest_neighbors(states, consumed) == pytest.approx(np.mean(scores))


def test_jaccard_pairs_without_consumption_are_left_out():
    states = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    consumed = sp.csr_array(np.array([[1, 0], [1, 1], [0, 0], [0, 0]]))
    assert jaccard_nearest_neighbors(states, consumed) == pytest.approx(0.5)
    assert math.isnan(jaccard_nearest_neighbors(states, sp.csr_array((4, 3))))
    assert math.isnan(jaccard_nearest_neighbors(np.ones((1, 2)), np.array([[0]])))


def test_nearest_neighbors_never_returns_self_for_duplicates():
    states = np.array([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 2 + [[-1.0, 0.0]])
    neighbours = nearest_neighbors(states)
    assert np.all(neighbours != np.arange(6))
    assert set(neighbours[:3]) <= {0, 1, 2}
    np.testing.assert_array_equal(neighbours[3:5], [4, 3])


def test_jaccard_with_precomputed_neighbors_equals_tree_search():
    rng = np.random.default_rng(3)
    states, history = rng.normal(size=(20, 3)), rng.integers(0, 8, size=(4, 20))
    assert jaccard_nearest_neighbors(
        states, history, neighbors=nearest_neighbors(states)
    ) == pytest.approx(jaccard_nearest_neighbors(states, history))


# ---------------------------------------------------------------------------- groups


def test_by_group_equals_metric_on_each_subset():
    rng = np.random.default_rng(4)
    states, initial = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
    groups = rng.integers(0, 3, size=40) * 10
    consumed = user_item_matrix(rng.integers(0, 9, size=(5, 40)), 9)
    split = by_group(homogenization, groups, states)
    assert list(split) == [0, 10, 20]
    assert all(type(label) is int for label in split)
    for label in split:
        rows = groups == label
        assert split[label] == pytest.approx(homogenization(states[rows]))
        drift = by_group(preference_drift, groups, states, initial, kind="cosine")[label]
        assert drift == pytest.approx(preference_drift(states[rows], initial[rows], kind="cosine"))
        jaccard = by_group(jaccard_nearest_neighbors, groups, initial, consumed)[label]
        expected = jaccard_nearest_neighbors(initial[rows], sp.csr_array(consumed)[rows])
        assert jaccard == pytest.approx(expected)


def test_by_group_with_string_labels_and_per_user_arrays():
    groups = np.array(["b", "a", "b", "a", "b"])
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert by_group(np.mean, groups, values) == {"a": 3.0, "b": 3.0}


def test_by_group_rejects_arrays_whose_first_axis_is_not_users():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "`arrays[1]` must have len(groups) = 4 rows along axis 0 (users first), "
            "got shape (3, 4)"
        ),
    ):
        by_group(preference_drift, np.zeros(4), np.ones((4, 2)), np.ones((3, 4)))
    with pytest.raises(TypeError, match=re.escape("`arrays[0]` must be a numpy array")):
        by_group(homogenization, np.zeros(2), [[1.0], [2.0]])
    with pytest.raises(ValueError, match=re.escape("`groups` must not hold NaN labels")):
        by_group(homogenization, np.array([0.0, np.nan]), np.ones((2, 2)))


# -------------------------------------------------------------------------- registry


def test_compute_metrics_selects_computable_metrics_and_matches_direct_calls():
    rng = np.random.default_rng(5)
    states, initial = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    history = rng.integers(0, 20, size=(4, 30))
    counts = item_counts(history, 20)
    only_states = compute_metrics(states=states)
    assert list(only_states) == [
        "homogenization",
        "polarization",
        "mean_squared_cosine",
        "bimodality",
    ]
    rewards = rng.normal(size=(4, 30))
    consumed_items = np.where(rng.random(30) < 0.7, rng.integers(0, 20, size=30), -1)
    presented, active = rng.random(30) < 0.9, rng.random(30) < 0.8
    everything = compute_metrics(
        states=states, initial_states=initial, counts=counts, consumed=history, rewards=rewards,
        consumed_items=consumed_items, presented=presented, active=active,
    )  # fmt: skip
    given = {"states", "initial_states", "counts", "consumed", "rewards", "consumed_items",
             "presented", "active"}  # fmt: skip
    assert list(everything) == [name for name, m in METRICS.items() if set(m.inputs) <= given]
    shown = consumed_items[presented]
    assert everything["click_through_rate"] == np.mean(shown >= 0)
    assert everything["no_choice_rate"] == 1 - np.mean(shown >= 0)
    assert everything["retention"] == active.mean()
    assert everything["polarization"] == polarization(states)
    assert everything["drift"] == preference_drift(states, initial)
    assert everything["gini"] == gini(counts)
    assert everything["top10_share"] == top_k_share(counts, 10)
    assert everything["jaccard_nn"] == jaccard_nearest_neighbors(initial, history)
    assert everything["reward"] == rewards[-1].mean()
    assert everything["mean_reward"] == rewards.mean(axis=1).mean()
    assert all(isinstance(value, float) for value in everything.values())
    chosen = compute_metrics(
        ["jaccard_nn", "entropy"],
        initial_states=initial,
        counts=counts,
        consumed=history,
        neighbors=nearest_neighbors(initial),
    )
    assert chosen == {"jaccard_nn": everything["jaccard_nn"], "entropy": everything["entropy"]}


def test_metric_entries_ignore_unused_data():
    states = isotropic(10, 2)
    assert METRICS["homogenization"](states=states, counts=np.ones(3)) == homogenization(states)


def test_compute_metrics_errors():
    with pytest.raises(ValueError, match=re.escape("`names` must hold names from")):
        compute_metrics(["gini", "nope"], counts=np.ones(3))
    with pytest.raises(
        ValueError, match=re.escape("`initial_states` is required by metric 'drift', got None")
    ):
        compute_metrics(["drift"], states=np.ones((3, 2)))
    with pytest.raises(TypeError, match=re.escape("`names` must be an iterable of metric names")):
        compute_metrics("gini", counts=np.ones(3))
    with pytest.raises(ValueError, match=re.escape("`counts` is required by this metric")):
        METRICS["gini"](states=np.ones((3, 2)))


# ------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (
            np.ones(3),
            ValueError,
            "`states` must be a 2-D array of shape (n_users, dim), got shape (3,)",
        ),
        (
            [[1.0, 0.0]],
            TypeError,
            "`states` must be a numpy array of shape (n_users, dim), got list",
        ),
        (np.array([["a"]]), TypeError, "`states` must hold real numbers, got dtype <U1"),
        (np.ones((2, 2), dtype=bool), TypeError, "`states` must hold real numbers, got dtype bool"),
        (
            np.array([[1.0, 0.0], [np.nan, 1.0]]),
            ValueError,
            "`states` must hold finite values, got nan at index (1, 0)",
        ),
        (
            np.ones((3, 0)),
            ValueError,
            "`states` must be a 2-D array of shape (n_users, dim) with dim >= 1, got shape (3, 0)",
        ),
    ],
)
@pytest.mark.parametrize(
    "metric",
    [homogenization, mean_squared_cosine, polarization, bimodality_coefficient, nearest_neighbors],
)
def test_states_validation_messages(metric, value, error, message):
    with pytest.raises(error, match=re.escape(message)):
        metric(value)


def test_drift_validation_messages():
    with pytest.raises(
        ValueError,
        match=re.escape("`initial_states` must have the shape of `states` (3, 2), got (2, 2)"),
    ):
        preference_drift(np.ones((3, 2)), np.ones((2, 2)))
    with pytest.raises(
        ValueError,
        match=re.escape("`kind` must be one of ['angle', 'cosine', 'euclidean'], got 'cos'"),
    ):
        preference_drift(np.ones((3, 2)), np.ones((3, 2)), kind="cos")


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (
            np.ones((2, 3)),
            ValueError,
            "`counts` must be a 1-D array of shape (n_items,), got shape (2, 3)",
        ),
        (np.array([1, -2, 3]), ValueError, "`counts` must be non-negative, got -2 at index 1"),
        (
            np.array([1.0, np.inf]),
            ValueError,
            "`counts` must hold finite values, got inf at index 1",
        ),
        (
            np.array([], dtype=int),
            ValueError,
            "`counts` must hold at least one item, got shape (0,)",
        ),
        ((1, 2), TypeError, "`counts` must be a numpy array of shape (n_items,), got tuple"),
    ],
)
@pytest.mark.parametrize("metric", [coverage, gini, entropy, lambda c: top_k_share(c, 2)])
def test_counts_validation_messages(metric, value, error, message):
    with pytest.raises(error, match=re.escape(message)):
        metric(value)


def test_action_validation_messages():
    with pytest.raises(
        ValueError,
        match=re.escape("`actions` must hold item indices in [0, 3), got 3 at index (1, 0)"),
    ):
        item_counts(np.array([[0, 1], [3, 0]]), 3)
    with pytest.raises(
        TypeError, match=re.escape("`actions` must hold integer item indices, got dtype float64")
    ):
        item_counts(np.array([0.0, 1.0]), 3)
    with pytest.raises(ValueError, match=re.escape("`n_items` must be a positive integer, got 0")):
        item_counts(np.array([0]), 0)
    with pytest.raises(
        ValueError, match=re.escape("`mask` must have the shape of `actions` (2,), got (3,)")
    ):
        item_counts(np.array([0, 1]), 3, mask=np.ones(3, dtype=bool))
    with pytest.raises(
        TypeError, match=re.escape("`mask` must be a boolean numpy array, got float64")
    ):
        user_item_matrix(np.array([0, 1]), 3, mask=np.ones(2))
    with pytest.raises(
        ValueError, match=re.escape("`groups` must be a 1-D array of shape (2,), got (3,)")
    ):
        item_counts_by_group(np.array([0, 1]), np.zeros(3), 3)
    with pytest.raises(ValueError, match=re.escape("`k` must be a positive integer, got 0")):
        top_k_share(np.ones(3), 0)


def test_jaccard_validation_messages():
    states = np.ones((3, 2))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "`consumed` must be a scipy.sparse matrix of shape (n_users, n_items) or an integer "
            "action history of shape (T, n_users) with n_users = 3, got shape (4, 2)"
        ),
    ):
        jaccard_nearest_neighbors(states, np.zeros((4, 2), dtype=int))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "`consumed` must have shape (n_users, n_items) with n_users = 3, got (2, 5)"
        ),
    ):
        jaccard_nearest_neighbors(states, sp.csr_array((2, 5)))
    with pytest.raises(
        ValueError, match=re.escape("`consumed` must hold finite non-negative counts, got -1")
    ):
        jaccard_nearest_neighbors(states, sp.csr_array(np.array([[1], [-1], [0]])))
    with pytest.raises(
        ValueError, match=re.escape("`consumed` must hold item indices >= 0, got -1 at index 2")
    ):
        jaccard_nearest_neighbors(states, np.array([0, 1, -1]))
    with pytest.raises(TypeError, match=re.escape("`consumed` must be a scipy.sparse matrix")):
        jaccard_nearest_neighbors(states, [[0, 1, 2]])
    with pytest.raises(
        ValueError,
        match=re.escape("`neighbors` must hold indices of other users in [0, 3), got 1 at index 1"),
    ):
        jaccard_nearest_neighbors(states, np.array([0, 1, 2]), neighbors=np.array([1, 1, 0]))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "`states` must have at least 2 rows (users) to pair neighbours, got shape (1, 2)"
        ),
    ):
        nearest_neighbors(np.ones((1, 2)))


# ----------------------------------------------------------------------------- rewards


def test_reward_metrics_of_one_step_and_of_a_history():
    rewards = np.array([[1.0, 0.0, 2.0], [0.5, 0.5, -1.0]])
    assert step_reward(rewards) == 0.0
    assert step_reward(rewards[0]) == 1.0
    assert mean_reward(rewards) == 0.5
    assert mean_reward(rewards[0]) == step_reward(rewards[0])
    assert step_reward(np.array([1, 2])) == 1.5  # integer rewards
    float32 = rewards.astype(np.float32)
    assert mean_reward(float32) == np.mean([row.mean() for row in float32])
    for empty in (np.zeros(0), np.zeros((0, 3)), np.zeros((2, 0))):
        assert math.isnan(step_reward(empty)) and math.isnan(mean_reward(empty))


@pytest.mark.parametrize("function", [step_reward, mean_reward])
def test_reward_metrics_reject_malformed_rewards(function):
    with pytest.raises(TypeError, match="`rewards` must be a numpy array"):
        function([1.0, 2.0])
    with pytest.raises(TypeError, match="`rewards` must hold real numbers, got dtype bool"):
        function(np.array([True]))
    with pytest.raises(ValueError, match=r"`rewards` must be a 1-D or 2-D array .* got shape \(\)"):
        function(np.array(1.0))
    with pytest.raises(ValueError, match="`rewards` must hold finite values, got nan at index 1"):
        function(np.array([0.0, np.nan]))
