"""Tests of the population-level policies in recgym.population.policies."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import softmax

from recgym.errors import ResetNeeded
from recgym.population.policies import (
    POLICIES,
    POLICY_ALIASES,
    CollaborativeFilteringPolicy,
    Decision,
    EpsilonGreedyPolicy,
    ExposureCappedPolicy,
    ExposureConstrainedPolicy,
    GreedyPolicy,
    MostPopularPolicy,
    OracleGreedyPolicy,
    Policy,
    RandomPolicy,
    SoftmaxPolicy,
    make_policy,
)
from recgym.population.policies.scoring import _iter_scores
from recgym.population.policies.softmax import _block_totals, _inverse_cdf

N_USERS, N_ITEMS, DIM = 60, 30, 4

#: Constructor arguments used by the tests that run every policy; ``cf`` refits every two
#: steps so that the multi-step tests cover it fitted as well as unfitted.
POLICY_KWARGS: dict[str, dict[str, Any]] = {
    "random": {},
    "greedy": {},
    "oracle_greedy": {},
    "epsilon_greedy": {"epsilon": 0.3},
    "softmax": {"temperature": 0.2},
    "mass_media": {},
    "most_popular": {},
    "collaborative_filtering": {"rank": 3, "refit_every": 2, "epsilon": 0.2},
    "exposure_capped": {"max_share": 0.05},
}
SCORING = [
    "greedy",
    "oracle_greedy",
    "epsilon_greedy",
    "softmax",
    "collaborative_filtering",
    "exposure_capped",
]
STOCHASTIC = ["random", "epsilon_greedy", "softmax", "mass_media", "collaborative_filtering"]


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


class FixedPreferences:
    """A toy population whose preferences never move: reward ⟨sᵢ, v_a⟩, noisy observations."""

    def __init__(self, seed: int, n_users: int = N_USERS, n_items: int = N_ITEMS, dim: int = DIM):
        rng = np.random.default_rng(seed)
        self.items = _unit_rows(rng.normal(size=(n_items, dim)))
        self.states = _unit_rows(rng.normal(size=(n_users, dim)))
        self.obs_rng = np.random.default_rng(seed + 1)

    def observe(self) -> np.ndarray:
        noise = 0.3 * self.obs_rng.standard_normal(self.states.shape)
        return np.clip(self.states + noise, -1.0, 1.0)

    def rewards(self, actions: np.ndarray) -> np.ndarray:
        return np.einsum("nd,nd->n", self.states, self.items[actions])


def _bound(name: str, toy: FixedPreferences, seed: int = 0, **overrides: Any) -> Policy:
    policy = make_policy(name, **{**POLICY_KWARGS[name], **overrides})
    policy.reset(toy.items, n_users=len(toy.states), rng=np.random.default_rng(seed))
    return policy


def _run(policy: Policy, toy: FixedPreferences, steps: int) -> list[tuple[np.ndarray, Decision]]:
    """Drive ``policy`` on ``toy`` for ``steps`` steps; return the observations and decisions."""
    history = []
    for _ in range(steps):
        obs = toy.observe()
        decision = policy.act(obs, states=toy.states)
        policy.update(decision.actions, toy.rewards(decision.actions))
        history.append((obs, decision))
    return history


def _all_probabilities(policy: Policy, obs: np.ndarray, states: np.ndarray) -> np.ndarray:
    """The policy's full (N, n_items) table of action probabilities, one item at a time."""
    n_users, n_items = len(obs), policy.n_items
    return np.stack(
        [
            policy.probabilities(obs, np.full(n_users, item, dtype=np.int64), states=states)
            for item in range(n_items)
        ],
        axis=1,
    )


# ----------------------------------------------------------------------------- registry


#: The recommenders of the filter-bubble papers, tested in test_paper_policies*.py.
PAPER_POLICIES = {"ideal", "implicit_factorization", "item_knn", "linear_ucb", "linear_thompson"}


def test_registry_holds_every_policy_under_its_name():
    assert set(POLICIES) == set(POLICY_KWARGS) | PAPER_POLICIES
    for name, cls in POLICIES.items():
        assert cls.name == name
        assert isinstance(make_policy(name), cls)
    assert [name for name, cls in POLICIES.items() if cls.needs_state] == ["oracle_greedy"]


def test_class_names_are_the_registry_names_in_camel_case():
    for name, cls in POLICIES.items():
        assert cls.__name__ == "".join(part.capitalize() for part in name.split("_")) + "Policy"


def test_former_names_are_aliases_of_the_registry_names():
    assert dict(POLICY_ALIASES) == {"oracle": "oracle_greedy", "cf": "collaborative_filtering"}
    assert not set(POLICY_ALIASES) & set(POLICIES)
    assert set(POLICY_ALIASES.values()) <= set(POLICIES)
    with pytest.raises(TypeError):
        POLICY_ALIASES["greedy_too"] = "greedy"  # type: ignore[index]
    oracle = make_policy("oracle")
    assert type(oracle) is OracleGreedyPolicy
    assert oracle.name == "oracle_greedy"
    cf = make_policy("cf", rank=3, epsilon=0.2)
    assert type(cf) is CollaborativeFilteringPolicy
    assert (cf.name, cf.rank, cf.epsilon) == ("collaborative_filtering", 3, 0.2)
    assert ExposureConstrainedPolicy is ExposureCappedPolicy
    assert ExposureConstrainedPolicy(max_share=0.5).name == "exposure_capped"


@pytest.mark.parametrize(("alias", "name"), list(POLICY_ALIASES.items()))
def test_an_alias_builds_the_same_policy_as_its_registry_name(alias, name):
    toy_a, toy_b = FixedPreferences(seed=22), FixedPreferences(seed=22)
    policy = make_policy(alias, **POLICY_KWARGS[name])
    policy.reset(toy_a.items, n_users=N_USERS, rng=np.random.default_rng(4))
    for (_, by_alias), (_, by_name) in zip(
        _run(policy, toy_a, steps=5), _run(_bound(name, toy_b, seed=4), toy_b, steps=5)
    ):
        np.testing.assert_array_equal(by_alias.actions, by_name.actions)
        np.testing.assert_array_equal(by_alias.propensities, by_name.propensities)


def test_make_policy_passes_keyword_arguments():
    policy = make_policy("epsilon_greedy", epsilon=0.25, max_chunk_bytes=1024)
    assert isinstance(policy, EpsilonGreedyPolicy)
    assert (policy.epsilon, policy.max_chunk_bytes) == (0.25, 1024)


def test_make_policy_rejects_unknown_names():
    valid = list(POLICIES)
    with pytest.raises(ValueError, match=re.escape(f"`name` must be one of {valid}, got 'nope'")):
        make_policy("nope")
    with pytest.raises(TypeError, match=re.escape(f"`name` must be one of {valid}, got 3")):
        make_policy(3)  # type: ignore[arg-type]


# ------------------------------------------------------------------- every policy, basics


@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_actions_are_int64_item_indices_with_valid_propensities(name):
    toy = FixedPreferences(seed=1)
    policy = _bound(name, toy)
    for _, decision in _run(policy, toy, steps=6):
        assert isinstance(decision, Decision)
        assert decision.actions.dtype == np.int64
        assert decision.actions.shape == (N_USERS,)
        assert decision.actions.min() >= 0
        assert decision.actions.max() < N_ITEMS
        assert decision.propensities.dtype == np.float64
        assert decision.propensities.shape == (N_USERS,)
        assert np.all((decision.propensities > 0) & (decision.propensities <= 1))


@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_probabilities_equal_act_propensities_and_sum_to_one(name):
    toy = FixedPreferences(seed=2)
    policy = _bound(name, toy)
    for _ in range(5):
        obs = toy.observe()
        decision = policy.act(obs, states=toy.states)
        probabilities = policy.probabilities(obs, decision.actions, states=toy.states)
        np.testing.assert_array_equal(probabilities, decision.propensities)
        table = _all_probabilities(policy, obs, toy.states)
        np.testing.assert_allclose(table.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        policy.update(decision.actions, toy.rewards(decision.actions))


@pytest.mark.parametrize("name", [name for name in POLICY_KWARGS if name != "mass_media"])
def test_action_frequencies_agree_with_probabilities(name):
    # Warm up (cf gets fitted, most_popular gets counts), then draw many decisions from
    # the same policy state and observations. Users act independently, so the number of
    # times item j is chosen over all users and draws has mean R·Σᵢ Pᵢⱼ and variance
    # R·Σᵢ Pᵢⱼ(1 − Pᵢⱼ); deterministic policies must match exactly.
    toy = FixedPreferences(seed=3)
    policy = _bound(name, toy)
    _run(policy, toy, steps=4)
    obs = toy.observe()
    table = _all_probabilities(policy, obs, toy.states)
    draws = 300
    counts = np.zeros(N_ITEMS)
    for _ in range(draws):
        counts += np.bincount(policy.act(obs, states=toy.states).actions, minlength=N_ITEMS)
    mean = draws * table.sum(axis=0)
    std = np.sqrt(draws * (table * (1 - table)).sum(axis=0))
    assert np.all(np.abs(counts - mean) <= 6 * std + 1e-9), (counts, mean, std)


def test_mass_media_shows_one_uniform_item_to_everyone():
    toy = FixedPreferences(seed=4, n_users=5)
    policy = _bound("mass_media", toy)
    obs = toy.observe()
    draws = 3000
    counts = np.zeros(N_ITEMS)
    for _ in range(draws):
        decision = policy.act(obs)
        assert np.all(decision.actions == decision.actions[0])
        np.testing.assert_array_equal(decision.propensities, 1 / N_ITEMS)
        counts[decision.actions[0]] += 1
    p = 1 / N_ITEMS
    assert np.all(np.abs(counts - draws * p) <= 6 * math.sqrt(draws * p * (1 - p)))


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (RandomPolicy(), lambda scores: np.full(5, 0.2)),
        (
            EpsilonGreedyPolicy(epsilon=0.3),
            lambda scores: 0.7 * (np.arange(5) == scores.argmax()) + 0.3 / 5,
        ),
        (SoftmaxPolicy(temperature=0.5), lambda scores: softmax(scores / 0.5)),
    ],
    ids=["random", "epsilon_greedy", "softmax"],
)
def test_identical_users_choose_with_the_closed_form_probabilities(policy, expected):
    n_users = 20_000
    items = _unit_rows(np.random.default_rng(5).normal(size=(5, 3)))
    observation = np.array([0.6, -0.3, 0.5])
    p = expected(items @ observation)
    policy.reset(items, n_users=n_users, rng=np.random.default_rng(6))
    obs = np.tile(observation, (n_users, 1))
    decision = policy.act(obs)
    np.testing.assert_allclose(decision.propensities, p[decision.actions], rtol=1e-12)
    counts = np.bincount(decision.actions, minlength=5)
    assert np.all(np.abs(counts - n_users * p) <= 6 * np.sqrt(n_users * p * (1 - p)))


@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_same_seed_gives_same_decisions(name):
    runs = [_run(_bound(name, FixedPreferences(seed=7), seed=11), FixedPreferences(7), 6)]
    runs.append(_run(_bound(name, FixedPreferences(seed=7), seed=11), FixedPreferences(7), 6))
    for (_, first), (_, second) in zip(*runs):
        np.testing.assert_array_equal(first.actions, second.actions)
        np.testing.assert_array_equal(first.propensities, second.propensities)


@pytest.mark.parametrize("name", STOCHASTIC)
def test_random_draws_come_from_the_given_generator(name):
    # The legacy global generator must be left alone.
    np.random.seed(0)  # noqa: NPY002
    global_state = np.random.get_state()[1].copy()  # noqa: NPY002
    toy = FixedPreferences(seed=8)
    first = [d.actions for _, d in _run(_bound(name, toy, seed=1), FixedPreferences(8), 6)]
    second = [d.actions for _, d in _run(_bound(name, toy, seed=2), FixedPreferences(8), 6)]
    assert not all(np.array_equal(a, b) for a, b in zip(first, second))
    np.testing.assert_array_equal(np.random.get_state()[1], global_state)  # noqa: NPY002


# ------------------------------------------------------------------------------ chunking


@pytest.mark.parametrize("name", SCORING)
@pytest.mark.parametrize("budget", [1, 3 * 17 * N_ITEMS + 5], ids=["one-row", "three-rows"])
def test_chunked_scoring_equals_unchunked(name, budget):
    toy_a, toy_b = FixedPreferences(seed=9), FixedPreferences(seed=9)
    unchunked = _bound(name, toy_a, seed=3)
    chunked = _bound(name, toy_b, seed=3, max_chunk_bytes=budget)
    for _ in range(6):
        obs = toy_a.observe()
        np.testing.assert_array_equal(obs, toy_b.observe())
        big = unchunked.act(obs, states=toy_a.states)
        small = chunked.act(obs, states=toy_b.states)
        # BLAS may round the scores of different chunk shapes differently in the last
        # bit: actions agree exactly on these random inputs, probabilities to 1e-12.
        np.testing.assert_array_equal(small.actions, big.actions)
        np.testing.assert_allclose(small.propensities, big.propensities, rtol=1e-12, atol=0)
        np.testing.assert_allclose(
            chunked.probabilities(obs, big.actions, states=toy_b.states),
            big.propensities,
            rtol=1e-12,
            atol=0,
        )
        unchunked.update(big.actions, toy_a.rewards(big.actions))
        chunked.update(small.actions, toy_b.rewards(small.actions))


def test_score_chunks_respect_the_budget_and_compute_inner_products():
    rng = np.random.default_rng(10)
    x, items = rng.normal(size=(23, 4)), rng.normal(size=(11, 4))
    budget = 7 * 17 * 11  # seven rows per chunk
    seen = []
    for rows, scores, scratch in _iter_scores(x, items, budget):
        assert scores.nbytes + scratch.nbytes + scores.size <= budget
        np.testing.assert_allclose(scores, x[rows] @ items.T, rtol=1e-12, atol=1e-12)
        seen.append((rows.start, rows.stop))
    assert seen == [(0, 7), (7, 14), (14, 21), (21, 23)]


# ------------------------------------------------------------------------ greedy family


def test_greedy_breaks_ties_to_the_lowest_index_and_accepts_float32():
    items = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.6, 0.6]])
    policy = GreedyPolicy()
    policy.reset(items, n_users=3, rng=np.random.default_rng(0))
    obs = np.array([[1.0, 0.0], [0.0, 0.5], [0.5, 0.5]], dtype=np.float32)
    decision = policy.act(obs)
    np.testing.assert_array_equal(decision.actions, [1, 0, 3])
    np.testing.assert_array_equal(decision.propensities, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(policy.probabilities(obs, np.array([1, 1, 3])), [1.0, 0.0, 1.0])


def test_oracle_scores_the_true_states_not_the_observations():
    items = np.eye(2)
    states = np.array([[1.0, 0.0], [0.0, 1.0]])
    misleading = states[::-1].copy()
    oracle, greedy = OracleGreedyPolicy(), GreedyPolicy()
    for policy in (oracle, greedy):
        policy.reset(items, n_users=2, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(oracle.act(misleading, states=states).actions, [0, 1])
    np.testing.assert_array_equal(greedy.act(misleading, states=states).actions, [1, 0])


def test_epsilon_zero_is_greedy_and_draws_nothing():
    toy = FixedPreferences(seed=12)
    rng = np.random.default_rng(0)
    policy, greedy = EpsilonGreedyPolicy(epsilon=0.0), GreedyPolicy()
    policy.reset(toy.items, n_users=N_USERS, rng=rng)
    greedy.reset(toy.items, n_users=N_USERS, rng=np.random.default_rng(0))
    obs = toy.observe()
    decision = policy.act(obs)
    np.testing.assert_array_equal(decision.actions, greedy.act(obs).actions)
    np.testing.assert_array_equal(decision.propensities, 1.0)
    assert rng.random() == np.random.default_rng(0).random()


@pytest.mark.parametrize("temperature", [1e-6, 1e-320], ids=["tiny", "items-over-tau-overflows"])
def test_softmax_is_stable_for_tiny_temperatures(temperature):
    items = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    policy = SoftmaxPolicy(temperature=temperature)
    policy.reset(items, n_users=3, rng=np.random.default_rng(0))
    obs = np.array([[1.0, 0.0], [0.1, 0.9], [0.0, 0.0]])
    decision = policy.act(obs)
    np.testing.assert_array_equal(decision.actions[:2], [0, 1])
    np.testing.assert_array_equal(decision.propensities, [1.0, 1.0, 1 / 3])
    table = _all_probabilities(policy, obs, obs)
    np.testing.assert_array_equal(table[:2], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(table[2], 1 / 3, rtol=1e-15)


@pytest.mark.parametrize("budget", [None, 1, 5000], ids=["default", "one-row", "small"])
def test_softmax_takes_the_exact_max_shift_where_the_bound_would_underflow(budget):
    # Items span the first two axes; every other user has a huge third component. Their
    # scores stay moderate, but the Cauchy–Schwarz shift ‖o‖·max‖v‖/τ would push all their
    # weights below exp(-1000) = 0: they must take the exact row maximum, and chunks that
    # mix both kinds of users must give each its closed-form probabilities.
    n_users, temperature = 20_000, 0.5
    items = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.6, 0.8, 0.0], [-1.0, 0.0, 0.0]])
    regular, far = np.array([0.6, -0.3, 0.5]), np.array([0.3, 0.2, 1000.0])
    obs = np.where((np.arange(n_users) % 2 == 0)[:, None], regular, far)
    kwargs = {} if budget is None else {"max_chunk_bytes": budget}
    policy = SoftmaxPolicy(temperature=temperature, **kwargs)
    policy.reset(items, n_users=n_users, rng=np.random.default_rng(1))
    decision = policy.act(obs)
    np.testing.assert_array_equal(
        policy.probabilities(obs, decision.actions), decision.propensities
    )
    table = _all_probabilities(policy, obs, obs)
    np.testing.assert_allclose(table.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    for parity, observation in enumerate([regular, far]):
        users = slice(parity, None, 2)
        p = softmax(items @ observation / temperature)
        np.testing.assert_allclose(table[users], np.tile(p, (n_users // 2, 1)), rtol=1e-12)
        counts = np.bincount(decision.actions[users], minlength=len(items))
        expected = n_users // 2 * p
        assert np.all(np.abs(counts - expected) <= 6 * np.sqrt(expected * (1 - p))), counts


def test_softmax_takes_huge_observations_and_all_zero_items():
    # A norm that overflows must not reach the shared product (inf·0 would be NaN).
    policy = SoftmaxPolicy(temperature=0.3)
    policy.reset(np.array([[1.0, 0.0], [0.0, 1.0]]), n_users=2, rng=np.random.default_rng(0))
    obs = np.array([[1e200, 0.0], [0.2, 0.5]])
    decision = policy.act(obs)
    assert decision.actions[0] == 0
    assert decision.propensities[0] == 1.0
    np.testing.assert_allclose(
        decision.propensities[1], softmax([0.2 / 0.3, 0.5 / 0.3])[decision.actions[1]]
    )
    policy.reset(np.zeros((4, 2)), n_users=2, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(policy.act(obs).propensities, 0.25)


def test_softmax_chunks_stay_within_the_budget():
    toy = FixedPreferences(seed=22, n_users=50, n_items=11)  # 3 blocks of 4: one padding item
    obs = toy.observe()
    reference = softmax(obs @ toy.items.T / POLICY_KWARGS["softmax"]["temperature"], axis=1)
    for budget in [1, 3000, 10**9]:
        policy = _bound("softmax", toy, max_chunk_bytes=budget)
        covered = []
        for rows, weights, cumulative, block in policy._iter_weights(obs):
            k = rows.stop - rows.start
            assert (block, weights.shape, cumulative.shape) == (4, (12, k), (4, k))
            assert weights.nbytes + cumulative.nbytes <= max(budget, 8 * (12 + 4))
            np.testing.assert_array_equal(weights[11:], 0.0)
            np.testing.assert_allclose((weights[:11] / cumulative[-1]).T, reference[rows])
            covered.extend(range(rows.start, rows.stop))
        assert covered == list(range(50))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), block=st.sampled_from([1, 2, 3, 4, 6, 12]))
def test_softmax_inverse_cdf_never_picks_a_zero_weight(data, block):
    # Weights of very different magnitudes with zeros (ends of blocks, whole blocks) and
    # uniforms on the edges; with integer weights the sums are exact and the two-level
    # search must agree with a flat search of the cumulative sum.
    weight = st.just(0.0) | st.integers(1, 3).map(float) | st.floats(1e-30, 1e30)
    rows = st.lists(weight, min_size=12, max_size=12).filter(any)
    weights = np.array(data.draw(st.lists(rows, min_size=1, max_size=20))).T  # item-major
    n_users = weights.shape[1]
    uniform = st.sampled_from([0.0, 0.25, 0.5, 1 - 2**-53]) | st.floats(0, 1, exclude_max=True)
    uniforms = np.array(data.draw(st.lists(uniform, min_size=n_users, max_size=n_users)))
    cumulative = np.empty((12 // block + 1, n_users))
    _block_totals(weights, block, cumulative)
    chosen = _inverse_cdf(weights, cumulative, block, uniforms)
    assert np.all(weights[chosen, np.arange(n_users)] > 0)
    flat = np.cumsum(weights, axis=0)
    exact = np.all(weights == np.round(weights), axis=0) & (flat[-1] < 2**53)
    expected = np.count_nonzero(flat <= uniforms * flat[-1], axis=0)
    np.testing.assert_array_equal(chosen[exact], expected[exact])


def test_softmax_inverse_cdf_on_a_rounding_edge():
    # Blocks [c, 0] and [1.5, 0] with c = 1.5 ulp(1.5): the total 1.5 + 2 ulp is rounded up,
    # the target is 1.5 + 1 ulp, and target − c rounds up to 1.5, the whole second block.
    # Walking the block with that remainder would step onto the item of weight 0 after it.
    weights = np.array([[1.5 * 2.0**-52, 0.0, 1.5, 0.0]]).T
    cumulative = np.empty((3, 1))
    _block_totals(weights, 2, cumulative)
    uniforms = np.array([1 - 2.0**-53])
    assert (uniforms * cumulative[-1])[0] == 1.5 + 2.0**-52 < cumulative[-1, 0]
    np.testing.assert_array_equal(_inverse_cdf(weights, cumulative, 2, uniforms), [2])


# ---------------------------------------------------------------------------- popularity


def test_most_popular_counts_positive_feedback_only():
    policy = MostPopularPolicy()
    policy.reset(np.eye(3), n_users=4, rng=np.random.default_rng(0))
    obs = np.zeros((4, 3))
    np.testing.assert_array_equal(policy.act(obs).actions, [0, 0, 0, 0])  # all-zero tie
    policy.update(np.array([2, 2, 1, 0]), np.array([0.5, 0.1, 1.0, -3.0]))
    np.testing.assert_array_equal(policy.positive_counts, [0, 1, 2])
    np.testing.assert_array_equal(policy.act(obs).actions, [2, 2, 2, 2])
    policy.update(np.array([1, 1, 2, 0]), np.array([1, 0, 0, 1]))  # binary rewards
    np.testing.assert_array_equal(policy.positive_counts, [1, 2, 2])
    decision = policy.act(obs)  # tie between 1 and 2 -> lowest index
    np.testing.assert_array_equal(decision.actions, [1, 1, 1, 1])
    np.testing.assert_array_equal(decision.propensities, 1.0)
    policy.reset(np.eye(3), n_users=4, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(policy.positive_counts, [0, 0, 0])


# -------------------------------------------------------------------------------- CF


def test_cf_is_uniform_until_its_first_fit_then_epsilon_greedy():
    toy = FixedPreferences(seed=13)
    policy = _bound("collaborative_filtering", toy, refit_every=3, epsilon=0.0)
    history = _run(policy, toy, steps=2)
    assert not policy.is_fitted
    for _, decision in history:
        np.testing.assert_array_equal(decision.propensities, 1 / N_ITEMS)
    _run(policy, toy, steps=1)
    assert policy.is_fitted
    decision = policy.act(toy.observe())
    np.testing.assert_array_equal(decision.propensities, 1.0)
    np.testing.assert_array_equal(decision.actions, policy.predicted_rewards().argmax(axis=1))
    policy.reset(toy.items, n_users=N_USERS, rng=np.random.default_rng(0))
    assert not policy.is_fitted


def test_cf_learns_to_beat_random_recommendations():
    # Fixed preferences, noiseless rewards; CF sees only its own (user, item, reward) log.
    def mean_late_reward(policy: Policy) -> float:
        toy = FixedPreferences(seed=14, n_users=400, n_items=40, dim=3)
        policy.reset(toy.items, n_users=400, rng=np.random.default_rng(15))
        rewards = []
        for _ in range(60):
            actions = policy.act(toy.observe(), states=toy.states).actions
            rewards.append(toy.rewards(actions))
            policy.update(actions, rewards[-1])
        return float(np.mean(rewards[-20:]))

    # Affinities ⟨s, v⟩ in 3 dimensions, centred by the mean reward: rank 3 + 1 suffices.
    cf = mean_late_reward(CollaborativeFilteringPolicy(rank=4, refit_every=5, epsilon=0.1))
    random = mean_late_reward(RandomPolicy())
    oracle = mean_late_reward(OracleGreedyPolicy())
    # With ε = 0.1 the ceiling is about 0.9 of the way from random to the oracle.
    assert cf > random + 0.75 * (oracle - random), (cf, random, oracle)


# -------------------------------------------------------------------------- exposure cap


@settings(max_examples=60, deadline=None)
@given(
    n_users=st.integers(1, 80),
    n_items=st.integers(1, 12),
    slack=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_exposure_cap_is_respected_and_everyone_is_served(n_users, n_items, slack, seed):
    capacity = min(n_users, math.ceil(n_users / n_items) + slack)
    policy = ExposureCappedPolicy(max_share=capacity / n_users, max_chunk_bytes=200)
    rng = np.random.default_rng(seed)
    items = _unit_rows(rng.normal(size=(n_items, 3)))
    policy.reset(items, n_users=n_users, rng=rng)
    assert policy.capacity == capacity
    # Coarse observations make score ties between users and between items common.
    obs = np.round(rng.normal(size=(n_users, 3)), 1)
    decision = policy.act(obs)
    assert decision.actions.min() >= 0
    assert decision.actions.max() < n_items
    assert np.bincount(decision.actions, minlength=n_items).max() <= capacity
    np.testing.assert_array_equal(decision.propensities, 1.0)


def test_exposure_cap_gives_a_contested_item_to_its_strongest_fans():
    items = np.eye(3)
    # Everyone prefers item 0 (capacity 2); users 1 and 3 like it most, so user 0 loses it
    # despite its lower index.
    obs = np.array(
        [[0.5, 0.4, 0.0], [0.9, 0.0, 0.1], [0.3, 0.0, 0.2], [0.9, 0.2, 0.0], [0.7, 0.1, 0.0]]
    )
    policy = ExposureCappedPolicy(max_share=0.4)  # capacity 2
    policy.reset(items, n_users=5, rng=np.random.default_rng(0))
    # Round 2: users 0 and 4 propose item 1 (both accepted), user 2 proposes item 2.
    np.testing.assert_array_equal(policy.act(obs).actions, [1, 0, 2, 0, 1])
    # Equal scores: lower users first, and items 1 and 2 tie for everyone -> item 1 first.
    tie = np.array([[1.0, 0.0, 0.0]] * 5)
    np.testing.assert_array_equal(policy.act(tie).actions, [0, 0, 1, 1, 2])


def test_exposure_cap_with_full_share_equals_greedy():
    toy = FixedPreferences(seed=16)
    capped, greedy = ExposureCappedPolicy(max_share=1.0), GreedyPolicy()
    for policy in (capped, greedy):
        policy.reset(toy.items, n_users=N_USERS, rng=np.random.default_rng(0))
    obs = toy.observe()
    np.testing.assert_array_equal(capped.act(obs).actions, greedy.act(obs).actions)


def test_exposure_cap_spreads_a_unanimous_population_evenly():
    toy = FixedPreferences(seed=17)
    policy = ExposureCappedPolicy(max_share=1 / N_ITEMS)  # capacity 2, 60 = 2·30 users
    policy.reset(toy.items, n_users=N_USERS, rng=np.random.default_rng(0))
    obs = np.tile(toy.states[0], (N_USERS, 1))
    np.testing.assert_array_equal(np.bincount(policy.act(obs).actions, minlength=N_ITEMS), 2)


def test_exposure_capacity_rounds_away_float_noise():
    policy = ExposureCappedPolicy(max_share=0.07)
    policy.reset(np.eye(20), n_users=100, rng=np.random.default_rng(0))
    assert policy.capacity == 7


def test_exposure_cap_too_small_is_rejected_at_reset():
    policy = ExposureCappedPolicy(max_share=0.01)
    message = (
        "`max_share` is too small for 100 users and 5 items: each item may be shown to "
        "ceil(max_share * n_users) = 1 users per step, 5 in all; need max_share >= 0.2, "
        "got 0.01"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        policy.reset(np.eye(5), n_users=100, rng=np.random.default_rng(0))


# ---------------------------------------------------------------------------- errors


UNIT = "a float in [0, 1]"
SHARE = "a float in (0, 1]"
POSITIVE_FLOAT = "a positive finite float"
POSITIVE_INT = "a positive integer"


@pytest.mark.parametrize(
    ("cls", "argument", "value", "error", "description"),
    [
        (EpsilonGreedyPolicy, "epsilon", 1.5, ValueError, UNIT),
        (EpsilonGreedyPolicy, "epsilon", -0.1, ValueError, UNIT),
        (EpsilonGreedyPolicy, "epsilon", math.nan, ValueError, UNIT),
        (EpsilonGreedyPolicy, "epsilon", "0.1", TypeError, UNIT),
        (EpsilonGreedyPolicy, "epsilon", True, TypeError, UNIT),
        (SoftmaxPolicy, "temperature", 0, ValueError, POSITIVE_FLOAT),
        (SoftmaxPolicy, "temperature", -1.0, ValueError, POSITIVE_FLOAT),
        (SoftmaxPolicy, "temperature", math.nan, ValueError, POSITIVE_FLOAT),
        (SoftmaxPolicy, "temperature", math.inf, ValueError, POSITIVE_FLOAT),
        (SoftmaxPolicy, "temperature", None, TypeError, POSITIVE_FLOAT),
        (ExposureCappedPolicy, "max_share", 0, ValueError, SHARE),
        (ExposureCappedPolicy, "max_share", 1.5, ValueError, SHARE),
        (ExposureCappedPolicy, "max_share", False, TypeError, SHARE),
        (CollaborativeFilteringPolicy, "refit_every", "3", TypeError, POSITIVE_INT),
        (CollaborativeFilteringPolicy, "refit_every", True, TypeError, POSITIVE_INT),
        (CollaborativeFilteringPolicy, "refit_every", 2.0, TypeError, POSITIVE_INT),
        (CollaborativeFilteringPolicy, "rank", 0, ValueError, POSITIVE_INT),
        (CollaborativeFilteringPolicy, "als_iterations", -1, ValueError, POSITIVE_INT),
        (CollaborativeFilteringPolicy, "epsilon", 2, ValueError, UNIT),
        (CollaborativeFilteringPolicy, "regularization", 0.0, ValueError, POSITIVE_FLOAT),
        (GreedyPolicy, "max_chunk_bytes", 0, ValueError, POSITIVE_INT),
        (SoftmaxPolicy, "max_chunk_bytes", 1.5, TypeError, POSITIVE_INT),
    ],
)
def test_bad_parameters_are_rejected_with_their_name_and_value(
    cls, argument, value, error, description
):
    message = f"`{argument}` must be {description}, got {value!r}"
    with pytest.raises(error, match=re.escape(message)):
        cls(**{argument: value})


def test_bad_parameter_message_reads_as_documented():
    with pytest.raises(ValueError, match=re.escape("`epsilon` must be a float in [0, 1], got 1.5")):
        EpsilonGreedyPolicy(epsilon=1.5)


@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_using_a_policy_before_reset_is_an_error(name):
    policy = make_policy(name)
    cls = type(policy).__name__
    obs, actions = np.zeros((2, 2)), np.zeros(2, dtype=np.int64)
    for method, call in [
        ("act", lambda: policy.act(obs, states=obs)),
        ("probabilities", lambda: policy.probabilities(obs, actions, states=obs)),
    ]:
        message = (
            f"{cls}.{method}() called before reset(): call "
            "reset(item_features, n_users=..., rng=...) first"
        )
        with pytest.raises(ResetNeeded, match=re.escape(message)):
            call()


class _AlwaysFirst(Policy):
    """A user-defined policy: item 0 for everyone, with or without ``_propensities``."""

    name = "always_first"

    def act(self, observations, *, states=None):
        self._check_observations(observations, "act")
        return Decision(np.zeros(self.n_users, dtype=np.int64), np.ones(self.n_users))


class _AlwaysFirstWithPropensities(_AlwaysFirst):
    def _propensities(self, observations, actions, states):
        return (actions == 0).astype(np.float64)


def test_user_policies_get_checked_probabilities_through_the_propensities_hook():
    items = np.eye(3)
    obs = np.zeros((2, 3))
    without, with_hook = _AlwaysFirst(), _AlwaysFirstWithPropensities()
    for policy in (without, with_hook):
        policy.reset(items, n_users=2, rng=np.random.default_rng(0))
    message = "_AlwaysFirst does not implement `probabilities`"
    with pytest.raises(NotImplementedError, match=re.escape(message)):
        without.probabilities(obs, np.zeros(2, dtype=np.int64))
    np.testing.assert_array_equal(with_hook.probabilities(obs, np.array([0, 2])), [1.0, 0.0])
    with pytest.raises(ValueError, match=re.escape("`actions` must lie in [0, 3)")):
        with_hook.probabilities(obs, np.array([0, 3]))


@pytest.mark.parametrize("name", ["most_popular", "collaborative_filtering"])
def test_learning_policies_reject_feedback_before_reset(name):
    message = f"{type(make_policy(name)).__name__}.update() called before reset()"
    with pytest.raises(ResetNeeded, match=re.escape(message)):
        make_policy(name).update(np.zeros(2, dtype=np.int64), np.zeros(2))


SHAPE = f"`observations` must have shape ({N_USERS}, {DIM}), got"


@pytest.mark.parametrize("name", list(POLICY_KWARGS))
@pytest.mark.parametrize(
    ("obs", "error", "message"),
    [
        (np.zeros((N_USERS, DIM + 1)), ValueError, f"{SHAPE} ({N_USERS}, {DIM + 1})"),
        (np.zeros(DIM), ValueError, f"{SHAPE} ({DIM},)"),
        (np.zeros((N_USERS - 1, DIM)), ValueError, f"{SHAPE} ({N_USERS - 1}, {DIM})"),
        (np.full((N_USERS, DIM), np.nan), ValueError, "`observations` must hold finite values"),
        ([[0.0] * DIM] * N_USERS, TypeError, "`observations` must be a numpy array, got list"),
    ],
    ids=["wrong-dim", "1-d", "wrong-n", "nan", "list"],
)
def test_bad_observations_are_rejected(name, obs, error, message):
    toy = FixedPreferences(seed=18)
    policy = _bound(name, toy)
    actions = np.zeros(N_USERS, dtype=np.int64)
    with pytest.raises(error, match=re.escape(message)):
        policy.act(obs, states=toy.states)
    with pytest.raises(error, match=re.escape(message)):
        policy.probabilities(obs, actions, states=toy.states)


def test_oracle_requires_the_true_states():
    toy = FixedPreferences(seed=19)
    policy = _bound("oracle_greedy", toy)
    obs = toy.observe()
    message = (
        "`states` must be the true user states for OracleGreedyPolicy (needs_state=True), got None"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        policy.act(obs)
    with pytest.raises(ValueError, match=re.escape(message)):
        policy.probabilities(obs, np.zeros(N_USERS, dtype=np.int64))
    shape_message = "`states` must have shape (60, 4), got (60, 3)"
    with pytest.raises(ValueError, match=re.escape(shape_message)):
        policy.act(obs, states=toy.states[:, :3])


EMPTY = "`item_features` must have at least one item and one feature, got shape (0, 3)"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_users": 0}, ValueError, "`n_users` must be a positive integer, got 0"),
        ({"n_users": 3.0}, TypeError, "`n_users` must be a positive integer, got 3.0"),
        ({"rng": 0}, TypeError, "`rng` must be a numpy.random.Generator, got 0"),
        ({"item_features": np.eye(3)[0]}, ValueError, "`item_features` must have shape (*, *)"),
        ({"item_features": np.zeros((0, 3))}, ValueError, EMPTY),
    ],
)
def test_bad_reset_arguments_are_rejected(kwargs, error, message):
    arguments = {"item_features": np.eye(3), "n_users": 2, "rng": np.random.default_rng(0)}
    with pytest.raises(error, match=re.escape(message)):
        GreedyPolicy().reset(**{**arguments, **kwargs})


@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_out_of_range_actions_are_rejected(name):
    toy = FixedPreferences(seed=20)
    policy = _bound(name, toy)
    actions = np.zeros(N_USERS, dtype=np.int64)
    actions[4] = N_ITEMS
    with pytest.raises(ValueError, match=re.escape(f"`actions` must lie in [0, {N_ITEMS})")):
        policy.probabilities(toy.observe(), actions, states=toy.states)


@pytest.mark.parametrize("name", ["most_popular", "collaborative_filtering"])
def test_bad_feedback_is_rejected(name):
    toy = FixedPreferences(seed=21)
    policy = _bound(name, toy)
    actions = np.zeros(N_USERS, dtype=np.int64)
    shape_message = re.escape(f"`rewards` must have shape ({N_USERS}") + r",?\), got \(61,\)"
    with pytest.raises(ValueError, match=shape_message):
        policy.update(actions, np.zeros(N_USERS + 1))
    dtype_message = "`actions` must hold integers, got dtype float64"
    with pytest.raises(TypeError, match=re.escape(dtype_message)):
        policy.update(actions.astype(float), np.zeros(N_USERS))
