"""Slates from every built-in policy, with exact joint, cascade and item-position probabilities.

At ``slate_size=k > 1`` a policy's ``act`` returns ``(N, k)`` slates of distinct items and
the three probabilities of the Open Bandit Pipeline's slate estimators; the numbers are
checked against enumeration of every ordered slate of a tiny catalogue and against the
frequencies of many draws. At ``k = 1`` nothing changes (``test_policies.py`` runs
unchanged); here only the new fields' values at ``k = 1``.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import softmax
from scipy.stats import chisquare

from recgym.errors import ResetNeeded
from recgym.population import PopulationEnv
from recgym.population.policies import (
    POLICIES,
    CollaborativeFilteringPolicy,
    Decision,
    EpsilonGreedyPolicy,
    ExposureCappedPolicy,
    GreedyPolicy,
    MostPopularPolicy,
    OracleGreedyPolicy,
    Policy,
    RandomPolicy,
    SlateProbabilities,
    SoftmaxPolicy,
    make_policy,
)
from recgym.population.policies.slates import _place_ranks, _uniform_slates

N_USERS, N_ITEMS, DIM = 60, 30, 4

POLICY_KWARGS: dict[str, dict[str, Any]] = {
    "random": {},
    "greedy": {},
    "oracle_greedy": {},
    "epsilon_greedy": {"epsilon": 0.3},
    "softmax": {"temperature": 0.2},
    "mass_media": {},
    "most_popular": {},
    "collaborative_filtering": {"rank": 3, "refit_every": 2, "epsilon": 0.2},
    "exposure_capped": {"max_share": 0.5},
}
#: Policies with a closed-form item-position marginal (all but Plackett–Luce).
FACTORISED = [name for name in POLICY_KWARGS if name != "softmax"]
DETERMINISTIC = ["greedy", "oracle_greedy", "most_popular", "exposure_capped"]


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _distinct_rows(slates: np.ndarray) -> bool:
    ordered = np.sort(slates, axis=1)
    return bool((ordered[:, 1:] != ordered[:, :-1]).all())


class Toy:
    """Fixed preferences, noisy observations; each user consumes its best shown item if
    its affinity is positive, nothing otherwise (reward 0)."""

    def __init__(self, seed: int, n_users: int = N_USERS, n_items: int = N_ITEMS, dim: int = DIM):
        rng = np.random.default_rng(seed)
        self.items = _unit_rows(rng.normal(size=(n_items, dim)))
        self.states = _unit_rows(rng.normal(size=(n_users, dim)))
        self.obs_rng = np.random.default_rng(seed + 1)

    def observe(self) -> np.ndarray:
        noise = 0.3 * self.obs_rng.standard_normal(self.states.shape)
        return np.clip(self.states + noise, -1.0, 1.0)

    def respond(self, slates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(rewards, consumed)`` for ``(N, k)`` slates."""
        affinities = np.einsum("nd,nkd->nk", self.states, self.items[slates])
        best = affinities.argmax(axis=1)
        rows = np.arange(len(slates))
        chose = affinities[rows, best] > 0
        consumed = np.where(chose, slates[rows, best], -1)
        return np.where(chose, affinities[rows, best], 0.0), consumed


def _bound(name: str, toy: Toy, k: int, seed: int = 0, **overrides: Any) -> Policy:
    policy = make_policy(name, slate_size=k, **{**POLICY_KWARGS[name], **overrides})
    policy.reset(toy.items, n_users=len(toy.states), rng=np.random.default_rng(seed))
    return policy


def _run(policy: Policy, toy: Toy, steps: int) -> list[tuple[np.ndarray, Decision]]:
    history = []
    for _ in range(steps):
        obs = toy.observe()
        decision = policy.act(obs, states=toy.states)
        rewards, consumed = toy.respond(decision.actions)
        policy.update(decision.actions, rewards, consumed=consumed)
        history.append((obs, decision))
    return history


def _assert_same(first: SlateProbabilities | Decision, second: SlateProbabilities) -> None:
    """The three probabilities agree bit for bit (None where either is None)."""
    np.testing.assert_array_equal(first[1], second.propensities)
    np.testing.assert_array_equal(first[2], second.cascade_propensities)
    if first[3] is None or second.item_position_propensities is None:
        assert first[3] is None and second.item_position_propensities is None
    else:
        np.testing.assert_array_equal(first[3], second.item_position_propensities)


# ------------------------------------------------------------------- every policy, basics


@pytest.mark.parametrize("k", [2, 5, N_ITEMS], ids=["k2", "k5", "k-all"])
@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_slates_are_distinct_items_with_consistent_probabilities(name, k):
    toy = Toy(seed=1)
    full_share = name == "exposure_capped" and k == N_ITEMS
    policy = _bound(name, toy, k, **({"max_share": 1.0} if full_share else {}))
    for _, decision in _run(policy, toy, steps=5):
        actions, joint, cascade, item_position = decision
        assert actions.dtype == np.int64 and actions.shape == (N_USERS, k)
        assert actions.min() >= 0 and actions.max() < N_ITEMS
        assert _distinct_rows(actions)
        assert joint.dtype == np.float64 and joint.shape == (N_USERS,)
        assert cascade.dtype == np.float64 and cascade.shape == (N_USERS, k)
        np.testing.assert_array_equal(cascade[:, -1], joint)
        assert np.all((cascade > 0) & (cascade <= 1))
        assert np.all(np.diff(cascade, axis=1) <= 0)  # a longer prefix is no more likely
        if name in FACTORISED:
            assert item_position.shape == (N_USERS, k)
            assert np.all((item_position > 0) & (item_position <= 1))
            assert np.all(item_position >= cascade)  # a marginal covers the whole prefix
        else:
            assert item_position is None


@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_slate_probabilities_equal_the_act_propensities_bit_for_bit(name):
    toy = Toy(seed=2)
    policy = _bound(name, toy, 3)
    other = np.argsort(np.random.default_rng(0).random((N_USERS, N_ITEMS)), axis=1)[:, :3]
    for _ in range(5):
        obs = toy.observe()
        decision = policy.act(obs, states=toy.states)
        _assert_same(decision, policy.slate_probabilities(obs, decision.actions, states=toy.states))
        joint = policy.probabilities(obs, decision.actions, states=toy.states)
        np.testing.assert_array_equal(joint, decision.propensities)
        # Other slates: probabilities() is the joint of slate_probabilities().
        given = policy.slate_probabilities(obs, other, states=toy.states)
        np.testing.assert_array_equal(policy.probabilities(obs, other, states=toy.states), given[0])
        np.testing.assert_array_equal(given.cascade_propensities[:, -1], given.propensities)
        rewards, consumed = toy.respond(decision.actions)
        policy.update(decision.actions, rewards, consumed=consumed)


@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_same_seed_gives_same_slates(name):
    runs = [_run(_bound(name, Toy(7), 4, seed=11), Toy(7), 5) for _ in range(2)]
    for (_, first), (_, second) in zip(*runs):
        for a, b in zip(first, second):
            np.testing.assert_array_equal(a, b)


# -------------------------------------------------- exactness: every slate of a tiny catalogue

TINY_ITEMS, TINY_K = 4, 2
TINY_SLATES = np.array(list(itertools.permutations(range(TINY_ITEMS), TINY_K)))  # 12 slates


def _tiny(name: str, n_users: int, seed: int = 0, **overrides: Any) -> tuple[Policy, Toy]:
    """A policy on 4 items and slates of 2, warmed up (CF fitted, most_popular counting)."""
    toy = Toy(seed=30 + seed, n_users=n_users, n_items=TINY_ITEMS, dim=3)
    kwargs = {"max_share": 1.0} if name == "exposure_capped" else {}
    policy = _bound(name, toy, TINY_K, seed=seed, **{**kwargs, **overrides})
    _run(policy, toy, steps=2)
    return policy, toy


def _table(policy: Policy, obs: np.ndarray, states: np.ndarray) -> list[SlateProbabilities]:
    """The probabilities of each of the 12 slates, for every user."""
    return [
        policy.slate_probabilities(obs, np.tile(slate, (len(obs), 1)), states=states)
        for slate in TINY_SLATES
    ]


@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_enumerated_slates_sum_to_one_and_give_the_marginals(name):
    policy, toy = _tiny(name, n_users=40)
    obs = toy.observe()
    table = _table(policy, obs, toy.states)
    joint = np.stack([row.propensities for row in table], axis=1)  # (N, 12)
    np.testing.assert_allclose(joint.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    for s, (first, second) in enumerate(TINY_SLATES):
        # Cascade prefix 1: the sum of the joints of the slates starting with `first`.
        starting = TINY_SLATES[:, 0] == first
        cascade = table[s].cascade_propensities
        np.testing.assert_allclose(cascade[:, 0], joint[:, starting].sum(axis=1), rtol=1e-12)
        np.testing.assert_array_equal(cascade[:, 1], joint[:, s])
        if name not in FACTORISED:
            assert table[s].item_position_propensities is None
            continue
        # Item-position: the sum over the slates with that item at that position.
        at_second = TINY_SLATES[:, 1] == second
        item_position = table[s].item_position_propensities
        np.testing.assert_allclose(item_position[:, 0], joint[:, starting].sum(axis=1), rtol=1e-12)
        np.testing.assert_allclose(item_position[:, 1], joint[:, at_second].sum(axis=1), rtol=1e-12)


@pytest.mark.parametrize("name", ["random", "epsilon_greedy", "softmax"])
def test_slate_frequencies_follow_the_enumerated_probabilities(name):
    # Identical users: every user draws from one distribution over the 12 slates.
    n_users = 30_000
    toy = Toy(seed=33, n_users=1, n_items=TINY_ITEMS, dim=3)
    obs = np.tile(toy.observe()[0], (n_users, 1))
    policy = make_policy(name, slate_size=TINY_K, **POLICY_KWARGS[name])
    policy.reset(toy.items, n_users=n_users, rng=np.random.default_rng(4))
    decision = policy.act(obs)
    expected = np.array([row.propensities[0] for row in _table(policy, obs, obs)])
    np.testing.assert_allclose(expected.sum(), 1.0, rtol=0, atol=1e-12)
    codes = decision.actions[:, 0] * TINY_ITEMS + decision.actions[:, 1]
    counts = np.bincount(codes, minlength=TINY_ITEMS**2)[TINY_SLATES @ [TINY_ITEMS, 1]]
    assert counts.sum() == n_users
    assert chisquare(counts, n_users * expected).pvalue > 1e-3
    # And each drawn slate's propensity is its enumerated probability.
    index = {tuple(slate): s for s, slate in enumerate(TINY_SLATES.tolist())}
    drawn = np.array([index[tuple(slate)] for slate in decision.actions[:200].tolist()])
    np.testing.assert_allclose(decision.propensities[:200], expected[drawn], rtol=1e-12)


def test_mass_media_shows_one_uniform_slate_to_everyone():
    toy = Toy(seed=5, n_users=3, n_items=TINY_ITEMS, dim=3)
    policy = _bound("mass_media", toy, TINY_K)
    index = {tuple(slate): s for s, slate in enumerate(TINY_SLATES.tolist())}
    counts = np.zeros(len(TINY_SLATES))
    for _ in range(6000):
        decision = policy.act(toy.observe())
        assert (decision.actions == decision.actions[0]).all()
        counts[index[tuple(decision.actions[0].tolist())]] += 1
    np.testing.assert_array_equal(decision.propensities, 1 / 12)
    np.testing.assert_array_equal(decision.cascade_propensities, [[1 / 4, 1 / 12]] * 3)
    np.testing.assert_array_equal(decision.item_position_propensities, 1 / 4)
    assert chisquare(counts).pvalue > 1e-3


def test_random_slates_of_every_item_are_uniform_permutations():
    policy = RandomPolicy(slate_size=4)
    policy.reset(np.eye(4), n_users=24_000, rng=np.random.default_rng(6))
    decision = policy.act(np.zeros((24_000, 4)))
    np.testing.assert_array_equal(decision.propensities, 1 / 24)
    np.testing.assert_allclose(decision.cascade_propensities[0], [1 / 4, 1 / 12, 1 / 24, 1 / 24])
    codes = decision.actions @ (4 ** np.arange(4))
    _, counts = np.unique(codes, return_counts=True)
    assert len(counts) == 24 and chisquare(counts).pvalue > 1e-3


def test_uniform_ranks_name_the_remaining_items_in_order():
    # Every rank tuple of 6 items and slates of 4: rank r at position j is the r-th
    # smallest item not yet in the slate.
    n, k = 6, 4
    ranks = np.array(list(itertools.product(*[range(n - j) for j in range(k)])))
    items = ranks.T.copy()  # position-major
    _place_ranks(items)
    for rank, slate in zip(ranks.tolist(), items.T.tolist()):
        remaining = list(range(n))
        assert slate == [remaining.pop(r) for r in rank]


def test_uniform_slates_of_one_item_are_one_integer_draw():
    draws = _uniform_slates(np.random.default_rng(3), 1000, 1, 17)
    expected = np.random.default_rng(3).integers(17, size=1000, dtype=np.int64)
    np.testing.assert_array_equal(draws, expected)


# --------------------------------------------------------------------- closed forms per policy


def test_epsilon_greedy_slate_probabilities_have_the_closed_form():
    items = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0], [0.6, -0.8]])
    n, k, epsilon = 5, 3, 0.3
    policy = EpsilonGreedyPolicy(epsilon=epsilon, slate_size=k)
    policy.reset(items, n_users=3, rng=np.random.default_rng(0))
    obs = np.tile([1.0, 0.1], (3, 1))  # top 3: items 0, 1, 4 (scores 1, 0.86, 0.52)
    slates = np.array([[0, 1, 4], [0, 1, 2], [3, 1, 4]])
    result = policy.slate_probabilities(obs, slates)
    uniform = np.cumprod([1 / 5, 1 / 4, 1 / 3])
    exploit = 1 - epsilon
    np.testing.assert_allclose(
        result.cascade_propensities,
        [exploit * np.array([1, 1, 1]) + epsilon * uniform,
         exploit * np.array([1, 1, 0]) + epsilon * uniform,
         epsilon * uniform],
        rtol=1e-15,
    )  # fmt: skip
    np.testing.assert_allclose(
        result.item_position_propensities,
        exploit * np.array([[1, 1, 1], [1, 1, 0], [0, 1, 1]]) + epsilon / n,
        rtol=1e-15,
    )
    np.testing.assert_array_equal(result.propensities, result.cascade_propensities[:, -1])
    assert math.isclose(result.propensities[0], exploit + epsilon * math.factorial(2) / 120)


def test_epsilon_zero_is_greedy_and_epsilon_one_is_random():
    toy = Toy(seed=8)
    greedy = _bound("greedy", toy, 4)
    exploiting = _bound("epsilon_greedy", toy, 4, epsilon=0.0)
    random = _bound("random", toy, 4)
    exploring = _bound("epsilon_greedy", toy, 4, seed=5, epsilon=1.0)
    obs = toy.observe()
    for first, second in zip(exploiting.act(obs), greedy.act(obs)):
        np.testing.assert_array_equal(first, second)
    # ε = 1: one uniform per user decides to explore, then a uniform slate for each.
    rng = np.random.default_rng(5)
    rng.random(N_USERS)
    explored = exploring.act(obs)
    np.testing.assert_array_equal(explored.actions, _uniform_slates(rng, N_USERS, 4, N_ITEMS))
    _assert_same(explored, random.slate_probabilities(obs, explored.actions))


def test_softmax_slates_are_plackett_luce():
    # Identical users: P(a, b) = p_a · p_b / (1 − p_a) with p the softmax of the scores.
    items = _unit_rows(np.random.default_rng(5).normal(size=(5, 3)))
    observation, temperature = np.array([0.6, -0.3, 0.5]), 0.5
    p = softmax(items @ observation / temperature)
    policy = SoftmaxPolicy(temperature=temperature, slate_size=3)
    policy.reset(items, n_users=60, rng=np.random.default_rng(6))
    slates = np.array(list(itertools.permutations(range(5), 3)))  # 60 slates
    result = policy.slate_probabilities(np.tile(observation, (60, 1)), slates)
    a, b, c = slates.T
    first = p[a]
    second = first * p[b] / (1 - p[a])
    third = second * p[c] / (1 - p[a] - p[b])
    np.testing.assert_allclose(result.cascade_propensities, np.stack([first, second, third], 1),
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(result.propensities.sum(), 1.0, rtol=0, atol=1e-12)
    assert result.item_position_propensities is None


@pytest.mark.parametrize("temperature", [1e-6, 1e-320], ids=["tiny", "items-over-tau-overflows"])
def test_softmax_slates_stay_exact_when_later_weights_underflow(temperature):
    # After the best item, every other weight is exp(-huge) = 0: the remaining weights are
    # recomputed with the best remaining score as the shift.
    items = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    policy = SoftmaxPolicy(temperature=temperature, slate_size=3)
    policy.reset(items, n_users=3, rng=np.random.default_rng(0))
    obs = np.array([[1.0, 0.0], [0.1, 0.9], [0.0, 0.0]])
    decision = policy.act(obs)
    np.testing.assert_array_equal(decision.actions[:2], [[0, 2, 1], [1, 2, 0]])
    np.testing.assert_array_equal(decision.cascade_propensities[:2], 1.0)
    np.testing.assert_allclose(decision.cascade_propensities[2], [1 / 3, 1 / 6, 1 / 6], rtol=1e-15)
    _assert_same(decision, policy.slate_probabilities(obs, decision.actions))
    other = policy.slate_probabilities(obs, np.array([[2, 0, 1], [1, 0, 2], [2, 1, 0]]))
    np.testing.assert_array_equal(other.cascade_propensities[0], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(other.cascade_propensities[1], [1.0, 0.0, 0.0])


def test_softmax_slates_keep_the_closed_form_where_some_users_underflow():
    # Mixed chunks: half the users are far from every item but one (their later weights
    # underflow), half are moderate; every user's slate probabilities keep the closed form.
    items = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    temperature = 0.002
    far, near = np.array([1.0, 0.0]), np.array([0.002, 0.001])
    obs = np.where((np.arange(40) % 2 == 0)[:, None], far, near)
    for budget in [1, 500, 10**9]:
        policy = SoftmaxPolicy(temperature=temperature, slate_size=4, max_chunk_bytes=budget)
        policy.reset(items, n_users=40, rng=np.random.default_rng(1))
        decision = policy.act(obs)
        _assert_same(decision, policy.slate_probabilities(obs, decision.actions))
        for user in (0, 1):
            p = softmax(items @ obs[user] / temperature)
            slate = decision.actions[user]
            left = 1 - np.concatenate([[0], np.cumsum(p[slate])[:-1]])
            with np.errstate(divide="ignore", invalid="ignore"):
                exact = np.cumprod(p[slate] / left)
            if user == 0:  # 1, then items 1 and 3 tie, then 2
                np.testing.assert_array_equal(slate[[0, 3]], [0, 2])
                np.testing.assert_allclose(decision.cascade_propensities[0], [1, 0.5, 0.5, 0.5])
            else:
                np.testing.assert_allclose(decision.cascade_propensities[user], exact, rtol=1e-12)


# ---------------------------------------------------------------------------- deterministic


def test_greedy_slates_are_the_top_k_descending_with_ties_to_the_lowest_index():
    items = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.6, 0.6]])
    policy = GreedyPolicy(slate_size=3)
    policy.reset(items, n_users=3, rng=np.random.default_rng(0))
    obs = np.array([[1.0, 0.0], [0.0, 0.5], [0.5, 0.5]], dtype=np.float32)
    decision = policy.act(obs)
    np.testing.assert_array_equal(decision.actions, [[1, 2, 3], [0, 3, 1], [3, 0, 1]])
    for probabilities in decision[1:]:
        np.testing.assert_array_equal(probabilities, 1.0)
    other = policy.slate_probabilities(obs, np.array([[1, 3, 2], [3, 0, 1], [3, 0, 1]]))
    np.testing.assert_array_equal(other.propensities, [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(other.cascade_propensities, [[1, 0, 0], [0, 0, 0], [1, 1, 1]])
    np.testing.assert_array_equal(
        other.item_position_propensities, [[1, 0, 0], [0, 0, 1], [1, 1, 1]]
    )


def test_oracle_slates_rank_the_true_states():
    items = np.eye(3)
    states = np.array([[0.1, 0.9, 0.5], [0.9, 0.1, 0.5]])
    policy = OracleGreedyPolicy(slate_size=2)
    policy.reset(items, n_users=2, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(policy.act(states[::-1], states=states).actions, [[1, 2], [0, 2]])


def test_most_popular_slates_rank_the_counts_of_consumed_items():
    policy = MostPopularPolicy(slate_size=3)
    policy.reset(np.eye(4), n_users=3, rng=np.random.default_rng(0))
    obs = np.zeros((3, 4))
    np.testing.assert_array_equal(policy.act(obs).actions, [[0, 1, 2]] * 3)  # all-zero tie
    slates = np.array([[3, 2, 1], [2, 3, 0], [1, 3, 2]])
    # Only consumed items count, and only with a positive reward: 3 (once), 2 (twice).
    policy.update(slates, np.array([0.5, 1.0, 2.0]), consumed=np.array([3, 2, 2]))
    policy.update(slates, np.array([0.0, -1.0, 0.0]), consumed=np.array([-1, 0, -1]))
    np.testing.assert_array_equal(policy.positive_counts, [0, 0, 2, 1])
    decision = policy.act(obs)
    np.testing.assert_array_equal(decision.actions, [[2, 3, 0]] * 3)  # 0 and 1 tie: 0 first
    np.testing.assert_array_equal(decision.propensities, 1.0)


# -------------------------------------------------------------------------- exposure cap


def _check_capped(decision: Decision, n_items: int, capacity: int) -> None:
    slates = decision.actions
    assert slates.min() >= 0 and slates.max() < n_items
    assert _distinct_rows(slates)
    assert np.bincount(slates.ravel(), minlength=n_items).max() <= capacity
    for probabilities in decision[1:]:
        np.testing.assert_array_equal(probabilities, 1.0)


@settings(max_examples=80, deadline=None)
@given(
    n_users=st.integers(1, 60),
    n_items=st.integers(2, 10),
    data=st.data(),
    seed=st.integers(0, 2**16),
)
def test_exposure_cap_counts_every_position_and_serves_everyone(n_users, n_items, data, seed):
    k = data.draw(st.integers(2, n_items))
    slack = data.draw(st.integers(0, 2))
    capacity = min(n_users, math.ceil(n_users * k / n_items) + slack)
    policy = ExposureCappedPolicy(max_share=capacity / n_users, slate_size=k, max_chunk_bytes=200)
    rng = np.random.default_rng(seed)
    policy.reset(_unit_rows(rng.normal(size=(n_items, 3))), n_users=n_users, rng=rng)
    assert policy.capacity == capacity
    # Coarse observations make score ties between users and between items common.
    obs = np.round(rng.normal(size=(n_users, 3)), 1)
    _check_capped(policy.act(obs), n_items, capacity)


def test_exposure_cap_swaps_in_an_item_for_a_user_left_with_its_own_items():
    # 3 users, 3 items, slates of 2, capacity 2 (tight: 6 positions). Position 0: users 0
    # and 1 take item 0, user 2 item 1. Position 1: users 0 and 1 fill item 2 (they like it
    # more than user 2 does); item 0 is full, so user 2 is left with item 1, its own.
    items = np.eye(3)
    obs = np.array([[0.9, 0.0, 0.8], [0.9, 0.0, 0.7], [0.1, 0.9, 0.2]])
    policy = ExposureCappedPolicy(max_share=2 / 3, slate_size=2)
    policy.reset(items, n_users=3, rng=np.random.default_rng(0))
    decision = policy.act(obs)
    _check_capped(decision, 3, 2)
    # The donor is the user without item 1 who likes it most (user 0, ties to the lowest
    # index): it gives item 2 to user 2 and takes item 1.
    np.testing.assert_array_equal(decision.actions, [[0, 1], [0, 2], [1, 2]])


def test_exposure_cap_with_full_share_equals_greedy_top_k():
    toy = Toy(seed=16)
    capped, greedy = _bound("exposure_capped", toy, 4, max_share=1.0), _bound("greedy", toy, 4)
    obs = toy.observe()
    np.testing.assert_array_equal(capped.act(obs).actions, greedy.act(obs).actions)


def test_exposure_cap_too_small_for_the_slates_is_rejected_at_reset():
    policy = ExposureCappedPolicy(max_share=0.3, slate_size=2)
    message = (
        "`max_share` is too small for 100 users and 5 items: each item may be shown to "
        "ceil(max_share * n_users) = 30 users per step, 150 in all, fewer than the 200 "
        "slate positions; need max_share >= 0.4, got 0.3"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        policy.reset(np.eye(5), n_users=100, rng=np.random.default_rng(0))
    policy.max_share = 0.4
    ExposureCappedPolicy(max_share=0.4, slate_size=2).reset(
        np.eye(5), n_users=100, rng=np.random.default_rng(0)
    )


# ----------------------------------------------------------------------- learning and feedback


def test_collaborative_filtering_logs_consumed_items_only():
    policy = CollaborativeFilteringPolicy(rank=2, refit_every=1, slate_size=2)
    policy.reset(np.eye(4), n_users=4, rng=np.random.default_rng(0))
    assert policy.act(np.zeros((4, 4))).propensities[0] == 1 / 12  # uniform before a fit
    slates = np.array([[0, 1], [2, 3], [1, 2], [3, 0]])
    policy.update(slates, np.array([1.0, 0.0, 0.5, -1.0]), consumed=np.array([1, -1, 2, 0]))
    assert policy.is_fitted
    np.testing.assert_array_equal(
        policy._log.counts.toarray(), [[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]]
    )
    sums = policy._log.sums.toarray()
    np.testing.assert_array_equal(sums[[0, 2, 3], [1, 2, 0]], [1.0, 0.5, -1.0])
    decision = policy.act(np.zeros((4, 4)))
    top = np.argsort(-policy.predicted_rewards(), axis=1, kind="stable")[:, :2]
    _assert_same(decision, policy.slate_probabilities(np.zeros((4, 4)), decision.actions))
    exploit = policy.slate_probabilities(np.zeros((4, 4)), top)
    np.testing.assert_allclose(exploit.propensities, 0.9 + 0.1 / 12, rtol=1e-15)


def test_collaborative_filtering_waits_for_a_consumption_before_its_first_fit():
    policy = CollaborativeFilteringPolicy(rank=2, refit_every=1, slate_size=2)
    policy.reset(np.eye(4), n_users=2, rng=np.random.default_rng(0))
    slates = np.array([[0, 1], [2, 3]])
    policy.update(slates, np.zeros(2), consumed=np.array([-1, -1]))
    assert not policy.is_fitted
    policy.update(slates, np.array([0.0, 1.0]), consumed=np.array([-1, 3]))
    assert policy.is_fitted


@pytest.mark.parametrize("name", ["most_popular", "collaborative_filtering"])
def test_consumed_at_slate_size_one_defaults_to_the_actions(name):
    toy = Toy(seed=9)
    kwargs = {"refit_every": 1} if name == "collaborative_filtering" else {}
    implicit, explicit = _bound(name, toy, 1, **kwargs), _bound(name, toy, 1, **kwargs)
    for _ in range(3):
        obs = toy.observe()
        decision = implicit.act(obs)
        np.testing.assert_array_equal(explicit.act(obs).actions, decision.actions)
        rewards = toy.items[decision.actions] @ np.ones(DIM)
        implicit.update(decision.actions, rewards)
        explicit.update(decision.actions, rewards, consumed=decision.actions)
    final = toy.observe()
    np.testing.assert_array_equal(implicit.act(final).actions, explicit.act(final).actions)


def test_consumed_at_slate_size_one_can_say_nothing_was_consumed():
    policy = MostPopularPolicy()
    policy.reset(np.eye(3), n_users=3, rng=np.random.default_rng(0))
    policy.update(np.array([2, 2, 1]), np.array([1.0, 0.0, 1.0]), consumed=np.array([2, -1, -1]))
    np.testing.assert_array_equal(policy.positive_counts, [0, 0, 1])


CONSUMED_ERRORS = [
    (None, ValueError,
     "`consumed` is required with slates of 2 items: pass the item each user consumed, -1 "
     "for none (the step info's \"item\"), got None"),
    ([0, 1, 2], TypeError, "`consumed` must be a numpy integer array of shape (3,), got list"),
    (np.zeros(3), TypeError, "`consumed` must hold integers, got dtype float64"),
    (np.zeros(4, dtype=np.int64), ValueError, "`consumed` must have shape (3,), got (4,)"),
    (np.array([0, -2, 1]), ValueError,
     "`consumed` must lie in [-1, 5) (-1: nothing consumed), got -2 for user 1"),
    (np.array([0, 2, 5]), ValueError,
     "`consumed` must lie in [-1, 5) (-1: nothing consumed), got 5 for user 2"),
    (np.array([0, -1, 4]), ValueError,
     "`consumed` must be an item of the user's slate or -1, got item 4 for user 2, shown [3, 2]"),
]  # fmt: skip


@pytest.mark.parametrize("name", list(POLICY_KWARGS))
@pytest.mark.parametrize(("consumed", "error", "message"), CONSUMED_ERRORS)
def test_bad_consumed_items_are_rejected_by_every_policy(name, consumed, error, message):
    policy = make_policy(name, slate_size=2, **POLICY_KWARGS[name])
    policy.reset(np.eye(5), n_users=3, rng=np.random.default_rng(0))
    slates = np.array([[0, 1], [1, 2], [3, 2]])
    with pytest.raises(error, match=re.escape(message)):
        policy.update(slates, np.zeros(3), consumed=consumed)


def test_slate_feedback_checks_the_slates_and_the_call_order():
    policy = MostPopularPolicy(slate_size=2)
    with pytest.raises(ResetNeeded, match=re.escape("MostPopularPolicy.update() called before")):
        policy.update(np.zeros((3, 2), dtype=np.int64), np.zeros(3), consumed=np.zeros(3))
    policy.reset(np.eye(5), n_users=3, rng=np.random.default_rng(0))
    message = "`actions` must not repeat an item within a slate: user 1 has item 2 at positions"
    with pytest.raises(ValueError, match=re.escape(message)):
        policy.update(np.array([[0, 1], [2, 2], [3, 4]]), np.zeros(3), consumed=np.zeros(3))
    message = "`actions` must have shape (3, 2) (one slate of 2 items per user), got (3,)"
    with pytest.raises(ValueError, match=re.escape(message)):
        policy.update(np.zeros(3, dtype=np.int64), np.zeros(3), consumed=np.zeros(3))


# ------------------------------------------------------------------ slate_size, k = 1, errors


@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_slate_size_one_decisions_have_no_slate_fields(name):
    toy = Toy(seed=10)
    default, explicit = _bound(name, toy, 1), make_policy(name, **POLICY_KWARGS[name])
    explicit.reset(toy.items, n_users=N_USERS, rng=np.random.default_rng(0))
    assert default.slate_size == explicit.slate_size == 1
    obs = toy.observe()
    decision = default.act(obs, states=toy.states)
    assert decision.actions.shape == (N_USERS,)
    assert decision.cascade_propensities is None
    assert decision.item_position_propensities is None
    np.testing.assert_array_equal(explicit.act(obs, states=toy.states).actions, decision.actions)
    result = default.slate_probabilities(obs, decision.actions, states=toy.states)
    assert result.cascade_propensities is None and result.item_position_propensities is None
    np.testing.assert_array_equal(
        result.propensities, default.probabilities(obs, decision.actions, states=toy.states)
    )


def test_a_decision_is_still_built_from_actions_and_propensities():
    decision = Decision(np.zeros(2, dtype=np.int64), np.ones(2))
    assert decision.cascade_propensities is None and decision.item_position_propensities is None
    assert decision._fields[:2] == ("actions", "propensities")


@pytest.mark.parametrize("name", list(POLICY_KWARGS))
@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (0, ValueError, "`slate_size` must be a positive integer, got 0"),
        (-2, ValueError, "`slate_size` must be a positive integer, got -2"),
        (2.0, TypeError, "`slate_size` must be a positive integer, got 2.0"),
        (True, TypeError, "`slate_size` must be a positive integer, got True"),
    ],
)
def test_bad_slate_sizes_are_rejected_by_every_constructor(name, value, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make_policy(name, slate_size=value)


@pytest.mark.parametrize("cls", list(POLICIES.values()))
def test_slates_larger_than_the_catalogue_are_rejected_at_reset(cls):
    policy = cls(slate_size=4)
    message = "`slate_size` must be at most n_items (3), got 4"
    with pytest.raises(ValueError, match=re.escape(message)):
        policy.reset(np.eye(3), n_users=2, rng=np.random.default_rng(0))
    assert policy.n_items == 0  # nothing was bound


class _FirstItems(Policy):
    """A user-defined policy that draws slates but implements no probabilities."""

    name = "first_items"

    def act(self, observations, *, states=None):
        self._check_observations(observations, "act")
        return Decision(np.tile(np.arange(2), (self.n_users, 1)), np.ones(self.n_users))


def test_user_policies_without_the_hook_say_so():
    policy = _FirstItems(slate_size=2)
    policy.reset(np.eye(3), n_users=2, rng=np.random.default_rng(0))
    slates = np.array([[0, 1], [1, 2]])
    message = "_FirstItems does not implement `slate_probabilities` (slate_size=2)"
    for method in (policy.slate_probabilities, policy.probabilities):
        with pytest.raises(NotImplementedError, match=re.escape(message)):
            method(np.zeros((2, 3)), slates)
    with pytest.raises(ResetNeeded, match=re.escape("_FirstItems.slate_probabilities() called")):
        _FirstItems(slate_size=2).slate_probabilities(np.zeros((2, 3)), slates)


@pytest.mark.parametrize("name", ["greedy", "epsilon_greedy", "softmax", "exposure_capped"])
@pytest.mark.parametrize("budget", [1, 3 * 17 * N_ITEMS + 5], ids=["one-row", "three-rows"])
def test_chunked_slates_equal_unchunked(name, budget):
    toy_a, toy_b = Toy(seed=11), Toy(seed=11)
    unchunked = _bound(name, toy_a, 4, seed=3)
    chunked = _bound(name, toy_b, 4, seed=3, max_chunk_bytes=budget)
    for (_, big), (_, small) in zip(_run(unchunked, toy_a, 4), _run(chunked, toy_b, 4)):
        np.testing.assert_array_equal(small.actions, big.actions)
        np.testing.assert_allclose(small.propensities, big.propensities, rtol=1e-12, atol=0)
        np.testing.assert_allclose(
            small.cascade_propensities, big.cascade_propensities, rtol=1e-12, atol=0
        )


# ------------------------------------------------------------------------- in the environment


@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_every_policy_drives_a_slate_environment(name):
    k = 3
    env = PopulationEnv(
        n_users=40, n_items=10, slate_size=k, choice_model="mnl", step_per_episode=6,
        random_state=0,
    )  # fmt: skip
    kwargs = {**POLICY_KWARGS[name], "slate_size": k}
    if name == "exposure_capped":
        kwargs["max_share"] = 0.3
    policy = make_policy(name, **kwargs)
    obs, _ = env.reset_batch(seed=1)
    policy.reset(env.item_features, n_users=env.n_users, rng=np.random.default_rng(2))
    consumed_any = False
    for _ in range(6):
        decision = policy.act(obs, states=env.state() if policy.needs_state else None)
        assert isinstance(decision, Decision) and decision.actions.shape == (40, k)
        obs, rewards, terminations, _, info = env.step_batch(decision.actions)
        policy.update(decision.actions, rewards, consumed=info["item"])
        consumed_any |= bool((info["item"] >= 0).any())
    assert terminations.all() and consumed_any
    if name == "most_popular":
        assert policy.positive_counts.sum() > 0
    if name == "collaborative_filtering":
        assert policy.is_fitted
