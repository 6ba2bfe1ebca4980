"""What the papers' recommenders learn, on numbers.

LinUCB's and Thompson sampling's ridge estimates approach each user's true preference
direction on a static population (three seeds), their Sherman–Morrison updates equal the
direct inverse, and more exploration shows more distinct items; Thompson's draws follow
``N(θ̂, σ²A⁻¹)``. The implicit-feedback factorisation, trained on consumption alone,
recovers a planted block structure and solves Hu et al.'s normal equations; item-kNN's
similarities equal a brute-force cosine and its scores a brute-force ``H Sᵀ``; the ideal
recommender is the brute-force top of the environment's utilities, idiosyncratic terms
and satiation included; popularity by consumption counts every consumption.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from recgym._idiosyncratic import idiosyncratic_normals
from recgym.engagement import Satiation
from recgym.population import PopulationEnv, simulate
from recgym.population.policies import (
    ImplicitFactorizationPolicy,
    ItemKnnPolicy,
    LinearThompsonPolicy,
    LinearUcbPolicy,
    MostPopularPolicy,
    make_policy,
)

pytestmark = pytest.mark.filterwarnings("error")


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _static_run(policy, seed: int, steps: int, n_users: int = 200, n_items: int = 30, dim: int = 5):
    """Run ``policy`` on fixed unit preferences; reward ``⟨s, v⟩ + 0.1·ξ`` of the shown item.

    Returns the states, the items and the actions ``(steps, N)``.
    """
    rng = np.random.default_rng(seed)
    items = _unit(rng.normal(size=(n_items, dim)))
    states = _unit(rng.normal(size=(n_users, dim)))
    policy.reset(items, n_users=n_users, rng=np.random.default_rng(seed + 100))
    shown = []
    for _ in range(steps):
        actions = policy.act(states).actions
        rewards = np.vecdot(states, items[actions]) + 0.1 * rng.standard_normal(n_users)
        policy.update(actions, rewards)
        shown.append(actions)
    return states, items, np.array(shown)


# ------------------------------------------------------------------------ linear bandits


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "make",
    [lambda: LinearUcbPolicy(), lambda: LinearThompsonPolicy(scale=0.3)],
    ids=["ucb", "thompson"],
)
def test_the_estimates_approach_each_users_preference_direction(make, seed):
    # Three steps in, the estimates are rough (mean cosine about 0.7); a hundred steps in,
    # close to every user's direction (measured: 0.97-0.98 for both, every seed).
    cosines = []
    for steps in (3, 100):
        policy = make()
        states, _, _ = _static_run(policy, seed, steps=steps)
        cosines.append(np.vecdot(_unit(policy.estimates), states))
    assert np.mean(cosines[0]) < 0.8
    assert np.median(cosines[1]) > 0.95
    assert np.mean(cosines[1]) > 0.93


@pytest.mark.parametrize("n_items", [12, 40], ids=["flattened", "triangle"])
def test_sherman_morrison_equals_the_direct_ridge_solution(n_items):
    # Beyond 2d² = 18 items the widths use the upper triangle of A⁻¹: both paths checked.
    rng = np.random.default_rng(4)
    items = rng.normal(size=(n_items, 3))
    policy = LinearUcbPolicy(regularization=0.7, slate_size=2)
    policy.reset(items, n_users=5, rng=np.random.default_rng(0))
    gram = np.tile(0.7 * np.eye(3), (5, 1, 1))
    targets = np.zeros((5, 3))
    for _ in range(40):
        slates = policy.act(np.zeros((5, 3))).actions
        consumed = np.where(rng.random(5) < 0.7, slates[np.arange(5), rng.integers(2, size=5)], -1)
        rewards = np.where(consumed >= 0, rng.normal(size=5), 0.0)
        policy.update(slates, rewards, consumed=consumed)
        for user in np.flatnonzero(consumed >= 0):
            v = items[consumed[user]]
            gram[user] += np.outer(v, v)
            targets[user] += rewards[user] * v
    np.testing.assert_allclose(policy.inverse_gram, np.linalg.inv(gram), rtol=1e-10, atol=1e-12)
    direct = np.linalg.solve(gram, targets[:, :, None])[..., 0]
    np.testing.assert_allclose(policy.estimates, direct, rtol=1e-9, atol=1e-12)
    bounds = policy.upper_bounds(np.zeros((5, 3)))
    widths = np.sqrt(np.einsum("jd,nde,je->nj", items, np.linalg.inv(gram), items))
    np.testing.assert_allclose(bounds, direct @ items.T + 1.0 * widths, rtol=1e-10, atol=1e-12)


def test_the_observation_prior_centres_the_ridge_on_the_observation():
    items = np.eye(3)
    policy = LinearUcbPolicy(alpha=0.0, regularization=2.0, observation_prior=True)
    policy.reset(items, n_users=2, rng=np.random.default_rng(0))
    observations = np.array([[0.1, 0.9, 0.0], [0.8, 0.0, 0.3]])
    # No feedback yet: θ̂ = A⁻¹(λo) = o, greedy on the observation.
    np.testing.assert_array_equal(policy.act(observations).actions, [1, 0])
    policy.update(np.array([1, 0]), np.array([-1.0, -1.0]))  # both disliked their item
    expected = np.array([[0.1, (2 * 0.9 - 1) / 3, 0.0], [(2 * 0.8 - 1) / 3, 0.0, 0.3]])
    np.testing.assert_allclose(policy.upper_bounds(observations), expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("cls", "parameter", "low", "high"),
    [(LinearUcbPolicy, "alpha", 0.0, 2.0), (LinearThompsonPolicy, "scale", 0.0, 1.0)],
    ids=["ucb", "thompson"],
)
def test_more_exploration_shows_each_user_more_distinct_items(cls, parameter, low, high):
    for seed in range(3):
        distinct = []
        for value in (low, high):
            _, _, shown = _static_run(cls(**{parameter: value}), seed, steps=40, n_users=100)
            distinct.append(np.mean([len(np.unique(column)) for column in shown.T]))
        assert distinct[1] > distinct[0] + 1.0


def test_thompson_draws_follow_the_posterior():
    # With the items the basis vectors, the drawn item is the argmax coordinate of θ̃: its
    # frequencies must match those of draws made directly from N(θ̂, σ²A⁻¹).
    rng = np.random.default_rng(8)
    policy = LinearThompsonPolicy(scale=0.6)
    policy.reset(np.eye(3), n_users=2, rng=np.random.default_rng(1))
    for _ in range(5):
        actions = rng.integers(3, size=2)
        policy.update(actions, rng.normal(0.3, 0.5, size=2))
    draws = np.array([policy.act(np.zeros((2, 3))).actions for _ in range(3000)])
    for user in range(2):
        direct = rng.multivariate_normal(
            policy.estimates[user], 0.36 * policy.inverse_gram[user], size=3000
        ).argmax(axis=1)
        table = np.array(
            [np.bincount(draws[:, user], minlength=3), np.bincount(direct, minlength=3)]
        )
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] > 1:
            assert chi2_contingency(table).pvalue > 1e-3


# ------------------------------------------------------------- implicit factorisation


def _planted_consumption(seed: int, n_users: int = 90, n_items: int = 30, steps: int = 6):
    """Three groups of users, three blocks of items: each user consumes, every step, a
    random item of its own block (so at most ``steps`` of its ``block`` items)."""
    rng = np.random.default_rng(seed)
    groups = np.arange(n_users) % 3
    block = n_items // 3
    history = [groups * block + rng.integers(block, size=n_users) for _ in range(steps)]
    return groups, block, history


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_factorisation_recovers_a_planted_block_structure(seed):
    groups, block, history = _planted_consumption(seed)
    n_users, n_items = len(groups), 3 * block
    policy = ImplicitFactorizationPolicy(
        rank=3, retrain_every=None, warmup_steps=len(history), exclude_consumed=True, slate_size=3
    )
    policy.reset(np.eye(n_items), n_users=n_users, rng=np.random.default_rng(seed))
    for consumed in history:
        slates = (consumed[:, None] + np.arange(3)) % n_items  # shown: 3 items, the first consumed
        policy.update(slates, np.zeros(n_users), consumed=consumed)
    scores = policy.predicted_preferences()
    own = (np.arange(n_items) // block)[None, :] == groups[:, None]
    # Every item of the user's own block, consumed by the user or not (only by others of
    # its group), scores above every item of the other blocks.
    lowest_own = scores[own].reshape(n_users, block).min(axis=1)
    assert (lowest_own > scores[~own].reshape(n_users, -1).max(axis=1)).all()
    # So its recommendations, which skip what it consumed, are new items of its own block.
    slates = policy.act(np.zeros((n_users, n_items))).actions
    assert (slates // block == groups[:, None]).all()
    consumed = np.zeros((n_users, n_items), dtype=bool)
    for step in history:
        consumed[np.arange(n_users), step] = True
    assert not consumed[np.arange(n_users)[:, None], slates].any()


def test_the_factorisation_solves_the_weighted_normal_equations():
    rng = np.random.default_rng(6)
    n_users, n_items, alpha, regularization = 12, 8, 3.0, 0.5
    policy = ImplicitFactorizationPolicy(
        rank=2, alpha=alpha, regularization=regularization, als_iterations=3, retrain_every=4
    )
    policy.reset(np.eye(n_items), n_users=n_users, rng=np.random.default_rng(0))
    counts = np.zeros((n_users, n_items))
    for _ in range(4):
        consumed = np.where(rng.random(n_users) < 0.8, rng.integers(n_items, size=n_users), -1)
        policy.update(consumed.clip(0), np.zeros(n_users), consumed=consumed)
        chose = consumed >= 0
        np.add.at(counts, (np.flatnonzero(chose), consumed[chose]), 1.0)
    users, items = policy.user_factors, policy.item_factors
    confidence = 1.0 + alpha * counts
    preference = (counts > 0).astype(float)
    # The last half-sweep solved the items given the users: (Xᵀ C_i X + λI) y_i = Xᵀ C_i p_i.
    for item in range(n_items):
        weighted = users.T * confidence[:, item]
        left = weighted @ users + regularization * np.eye(2)
        np.testing.assert_allclose(left @ items[item], weighted @ preference[:, item], atol=1e-10)
    np.testing.assert_allclose(policy.predicted_preferences(), users @ items.T)


def test_a_user_the_factorisation_knows_nothing_about_gets_the_most_consumed_items():
    policy = ImplicitFactorizationPolicy(rank=2, retrain_every=1, slate_size=2)
    policy.reset(np.eye(5), n_users=4, rng=np.random.default_rng(0))
    policy.update(
        np.array([[3, 1], [3, 2], [4, 0], [0, 1]]), np.zeros(4), consumed=np.array([3, 3, 4, -1])
    )
    np.testing.assert_array_equal(policy.user_factors[3], 0.0)
    np.testing.assert_array_equal(policy.act(np.zeros((4, 5))).actions[3], [3, 4])


# ------------------------------------------------------------------------------ item-kNN


@pytest.mark.parametrize("n_neighbors", [1, 3, 50])
def test_item_knn_similarities_are_the_brute_force_cosine_top_neighbors(n_neighbors):
    rng = np.random.default_rng(9)
    n_users, n_items = 60, 10
    policy = ItemKnnPolicy(n_neighbors=n_neighbors, retrain_every=4, max_chunk_bytes=2000)
    policy.reset(np.eye(n_items), n_users=n_users, rng=np.random.default_rng(0))
    consumed_matrix = np.zeros((n_users, n_items), dtype=bool)
    for _ in range(4):
        consumed = rng.integers(n_items, size=n_users) * (rng.random(n_users) < 0.9)
        consumed = np.where(rng.random(n_users) < 0.1, -1, consumed)
        policy.update(consumed.clip(0), np.zeros(n_users), consumed=consumed)
        chose = consumed >= 0
        consumed_matrix[np.flatnonzero(chose), consumed[chose]] = True
    h = consumed_matrix.astype(float)
    norms = np.sqrt(h.sum(axis=0))
    cosine = (h.T @ h) / np.outer(norms, norms)
    np.fill_diagonal(cosine, 0.0)
    expected = np.zeros_like(cosine)
    for item in range(n_items):
        nearest = np.argsort(-cosine[item], kind="stable")[: min(n_neighbors, n_items - 1)]
        expected[item, nearest] = cosine[item, nearest]
    np.testing.assert_allclose(policy.similarities(), expected, rtol=1e-14, atol=0)
    # Scores: the summed similarity to the consumed neighbours, H Sᵀ; ties to the most
    # consumed item, then the lowest index.
    scores = h @ expected.T
    popularity = np.zeros(n_items)
    for item in range(n_items):
        popularity[item] = consumed_matrix[:, item].sum()
    tie_order = np.lexsort((np.arange(n_items), -popularity))
    chosen = policy.act(np.zeros((n_users, n_items))).actions
    best = tie_order[np.argmax(scores[:, tie_order], axis=1)]
    np.testing.assert_array_equal(chosen, best)


# ---------------------------------------------------------------------------- ideal


@pytest.mark.parametrize("k", [1, 3])
def test_the_ideal_recommender_is_the_brute_force_top_of_the_true_utilities(k):
    env = PopulationEnv(
        n_users=30,
        n_items=12,
        step_per_episode=5,
        slate_size=k,
        choice_model="mnl" if k > 1 else "consume",
        idiosyncratic_std=0.8,
        satiation=Satiation(strength=0.5, decay=0.8),
        random_state=3,
    )
    policy = make_policy("ideal", slate_size=k)
    policy.reset(env.item_features, n_users=30, rng=np.random.default_rng(0))
    observations, info = env.reset_batch(seed=2)
    population = env._population
    items = np.arange(12)
    differs_from_affinity = False
    for _ in range(5):
        # The utility from its definition: ⟨s, v⟩ + σ·ε − λ⟨b, v⟩.
        affinity = info["state"] @ env.item_features.T
        noise = idiosyncratic_normals(env.config.idiosyncratic_key, info["user_id"][:, None], items)
        utility = affinity + 0.8 * noise - 0.5 * population.satiation @ env.item_features.T
        np.testing.assert_allclose(env.utilities(np.tile(items, (30, 1))), utility, atol=1e-12)
        expected = np.argsort(-utility, axis=1, kind="stable")[:, :k]
        decision = policy.act(observations, utilities=env.utilities)
        np.testing.assert_array_equal(decision.actions.reshape(30, k), expected)
        differs_from_affinity |= not np.array_equal(
            expected, np.argsort(-affinity, axis=1, kind="stable")[:, :k]
        )
        observations, rewards, _, _, info = env.step_batch(decision.actions)
        policy.update(decision.actions, rewards, consumed=info["item"])
    assert differs_from_affinity  # the idiosyncratic and satiation terms mattered


def test_without_extra_utility_terms_the_ideal_recommender_is_the_oracle():
    env = PopulationEnv(n_users=40, n_items=15, step_per_episode=6, random_state=0, obs_std=0.2)
    ideal, oracle = (
        simulate(env, name, seed=1, record=["actions"]) for name in ("ideal", "oracle_greedy")
    )
    np.testing.assert_array_equal(ideal.trajectory["actions"], oracle.trajectory["actions"])


# ------------------------------------------------------------------------ popularity


def test_popularity_by_consumption_counts_every_consumption():
    policy = MostPopularPolicy(counts="consumption", slate_size=2)
    policy.reset(np.eye(4), n_users=4, rng=np.random.default_rng(0))
    slates = np.array([[0, 1], [2, 1], [2, 3], [1, 0]])
    rewards = np.array([1.0, -0.5, -0.2, 0.0])
    policy.update(slates, rewards, consumed=np.array([0, 2, 2, -1]))
    np.testing.assert_array_equal(policy.consumption_counts, [1, 0, 2, 0])
    np.testing.assert_array_equal(policy.positive_counts, [1, 0, 0, 0])
    np.testing.assert_array_equal(policy.act(np.zeros((4, 4))).actions, [[2, 0]] * 4)
    positive = MostPopularPolicy(slate_size=2)
    positive.reset(np.eye(4), n_users=4, rng=np.random.default_rng(0))
    positive.update(slates, rewards, consumed=np.array([0, 2, 2, -1]))
    np.testing.assert_array_equal(positive.act(np.zeros((4, 4))).actions, [[0, 1]] * 4)
