"""Property-based tests (hypothesis) of the invariants every configuration must keep.

* shapes and dtypes of everything ``RECEnv``, ``PopulationEnv`` (array and dict APIs),
  ``RECVectorEnv`` and the policies return, across random configurations;
* states on the unit sphere after a step (float64 and float32, with tolerances),
  observations in ``[-1, 1]``, binary rewards in ``{0, 1}``, noiseless continuous
  rewards within ``|⟨s, v⟩| ≤ ‖s‖‖v‖``;
* metric bounds: Gini, coverage, entropy, top-k share, polarisation and Jaccard in
  ``[0, 1]``, homogenisation in ``[−1, 1]``;
* chunked and unchunked computations agree: policies with a tiny ``max_chunk_bytes``
  against the default (same actions; propensities equal up to the last bits a BLAS
  product may change with the chunk shape), and logged datasets collected with a small
  ``chunk_size`` against one call for all users (exactly).

Configurations are tiny (at most 8 users, 6 items, 4 dimensions, 4 steps) and the
example counts modest, so the file runs in a few seconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from recgym import RECEnv, RECVectorEnv
from recgym.population import PopulationEnv, collect_logged_dataset, simulate
from recgym.population.metrics import (
    coverage,
    entropy,
    gini,
    homogenization,
    jaccard_nearest_neighbors,
    mean_squared_cosine,
    polarization,
    preference_drift,
    top_k_share,
)
from recgym.population.policies import POLICIES, Decision, make_policy

SETTINGS = settings(max_examples=30, deadline=None)

#: Seeds of environments and generators (below 2**32, so legacy mode takes them too).
seeds = st.integers(min_value=0, max_value=2**32 - 1)

#: Unit-norm tolerance of a state after a step, by dtype.
NORM_TOLERANCE = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


@st.composite
def configurations(draw: st.DrawFn, max_users: int = 8) -> dict[str, Any]:
    """Keyword arguments of a tiny environment (any reward type, noise and normalisation)."""
    d = draw(st.integers(1, 4))
    return {
        "n_users": draw(st.integers(1, max_users)),
        "n_items": draw(st.integers(1, 6)),
        "user_feature_dim": d,
        "item_feature_dim": d,
        "step_per_episode": draw(st.integers(1, 4)),
        "reward_type": draw(st.sampled_from(["continuous", "binary"])),
        "reward_std": draw(st.sampled_from([0.0, 0.3])),
        "obs_std": draw(st.sampled_from([0.0, 0.2])),
        "feature_normalization": draw(st.sampled_from(["spectral", "row"])),
        "random_state": draw(seeds),
    }


def assert_unit_rows(states: np.ndarray) -> None:
    """Every non-zero row has Euclidean norm 1 (up to the dtype's rounding)."""
    norms = np.linalg.norm(states.astype(np.float64), axis=1)
    nonzero = norms[norms > 0]
    np.testing.assert_allclose(nonzero, 1.0, rtol=0, atol=NORM_TOLERANCE[states.dtype])


def assert_rewards_valid(
    rewards: np.ndarray, config: dict[str, Any], states: np.ndarray, items: np.ndarray
) -> None:
    """Binary rewards are 0 or 1; noiseless continuous ones obey Cauchy–Schwarz.

    Args:
        rewards: ``(n,)`` rewards of one step.
        config: The environment's configuration.
        states: ``(n, d)`` true states *before* the step (rewards are computed on them).
        items: ``(n, d)`` features of the recommended items.
    """
    if config["reward_type"] == "binary":
        assert set(np.unique(rewards).tolist()) <= {0.0, 1.0}
    elif config["reward_std"] == 0.0:
        bound = np.linalg.norm(states.astype(np.float64), axis=1) * np.linalg.norm(
            items.astype(np.float64), axis=1
        )
        slack = 1e-12 if rewards.dtype == np.float64 else 1e-5
        assert np.all(np.abs(rewards.astype(np.float64)) <= bound * (1 + slack) + slack)


# ------------------------------------------------------------------- environments


@SETTINGS
@given(config=configurations(), legacy=st.booleans(), seed=seeds)
def test_rec_env_returns_the_documented_shapes_and_dtypes(config, legacy, seed):
    if legacy:  # the original's normalisation only
        config = config | {"feature_normalization": "spectral"}
    env = RECEnv(**config, legacy=legacy)
    d, n_items, horizon = config["user_feature_dim"], config["n_items"], config["step_per_episode"]
    items = env.item_feature_vector
    rng = np.random.default_rng(seed)

    obs, info = env.reset(seed=seed)
    assert obs.shape == (d,) and obs.dtype == np.float64
    assert env.observation_space.contains(obs)
    assert type(info["user_id"]) is int and 0 <= info["user_id"] < config["n_users"]
    assert info["state"].shape == (d,) and info["state"].dtype == np.float64
    state = info["state"]
    for t in range(horizon):
        action = int(rng.integers(n_items))
        obs, reward, terminated, truncated, info = env.step(action)
        assert obs.shape == (d,) and obs.dtype == np.float64
        assert env.observation_space.contains(obs)
        assert type(reward) is float and np.isfinite(reward)
        assert terminated is (t == horizon - 1) and truncated is False
        assert type(info["user_id"]) is int and info["state"].shape == (d,)
        assert_unit_rows(info["state"][np.newaxis])
        assert_rewards_valid(np.array([reward]), config, state[np.newaxis], items[[action]])
        state = info["state"]


@SETTINGS
@given(config=configurations(), dtype=st.sampled_from([np.float64, np.float32]), seed=seeds)
def test_population_array_api_shapes_dtypes_unit_states_and_rewards(config, dtype, seed):
    env = PopulationEnv(**config, dtype=dtype)
    n, d = config["n_users"], config["user_feature_dim"]
    n_items, horizon = config["n_items"], config["step_per_episode"]
    items = env.item_features
    assert items.dtype == dtype and items.shape == (n_items, d)
    rng = np.random.default_rng(seed)

    obs, info = env.reset_batch(seed=seed)
    assert obs.shape == (n, d) and obs.dtype == dtype
    assert np.all(np.abs(obs) <= 1)
    assert info["user_id"].dtype == np.int64 and info["user_id"].shape == (n,)
    assert info["state"].shape == (n, d) and info["state"].dtype == dtype
    assert env.state().shape == (n, d) and env.state().dtype == dtype
    states = info["state"]
    for t in range(horizon):
        actions = rng.integers(n_items, size=n)
        obs, rewards, terminations, truncations, info = env.step_batch(actions)
        assert obs.shape == (n, d) and obs.dtype == dtype
        assert env.observation_space("user_0").contains(obs[0])
        assert np.all(np.abs(obs) <= 1)
        assert rewards.shape == (n,) and rewards.dtype == dtype
        assert np.all(np.isfinite(rewards))
        for flags, expected in ((terminations, t == horizon - 1), (truncations, False)):
            assert flags.shape == (n,) and flags.dtype == np.bool_
            assert np.all(flags == expected)
        assert info["state"].shape == (n, d) and info["state"].dtype == dtype
        assert np.array_equal(info["user_id"], np.arange(n))
        assert_unit_rows(info["state"])
        assert_rewards_valid(rewards, config, states, items[actions])
        states = info["state"]


@SETTINGS
@given(config=configurations(), dtype=st.sampled_from([np.float64, np.float32]), seed=seeds)
def test_population_dict_api_shapes_and_types(config, dtype, seed):
    env = PopulationEnv(**config, dtype=dtype)
    d, n_items = config["user_feature_dim"], config["n_items"]
    rng = np.random.default_rng(seed)

    observations, infos = env.reset(seed=seed)
    agents = env.possible_agents
    assert env.agents == agents == [f"user_{i}" for i in range(config["n_users"])]
    assert list(observations) == list(infos) == agents
    for agent in agents:
        assert observations[agent].shape == (d,) and observations[agent].dtype == dtype
        assert env.observation_space(agent).contains(observations[agent])
        assert type(infos[agent]["user_id"]) is int and infos[agent]["state"].shape == (d,)
    while env.agents:
        live = list(env.agents)
        actions = {agent: int(rng.integers(n_items)) for agent in live}
        assert all(env.action_space(agent).contains(a) for agent, a in actions.items())
        observations, rewards, terminations, truncations, infos = env.step(actions)
        for result in (observations, rewards, terminations, truncations, infos):
            assert list(result) == live
        for agent in live:
            assert observations[agent].shape == (d,) and observations[agent].dtype == dtype
            assert type(rewards[agent]) is float and np.isfinite(rewards[agent])
            assert type(terminations[agent]) is bool and truncations[agent] is False
            assert type(infos[agent]["user_id"]) is int
            assert infos[agent]["state"].shape == (d,) and infos[agent]["state"].dtype == dtype
            if config["reward_type"] == "binary":
                assert rewards[agent] in (0.0, 1.0)
        assert_unit_rows(np.stack([infos[agent]["state"] for agent in live]))
    assert all(terminations.values()) and env.agents == []


@SETTINGS
@given(config=configurations(), num_envs=st.integers(1, 5), seed=seeds)
def test_vector_env_shapes_and_dtypes_across_autoreset(config, num_envs, seed):
    env = RECVectorEnv(num_envs=num_envs, **config)
    d, n_items, horizon = config["user_feature_dim"], config["n_items"], config["step_per_episode"]
    rng = np.random.default_rng(seed)

    obs, infos = env.reset(seed=seed)
    assert obs.shape == (num_envs, d) and obs.dtype == np.float64
    assert env.observation_space.contains(obs)
    assert infos["user_id"].shape == (num_envs,) and infos["state"].shape == (num_envs, d)
    assert infos["_user_id"].dtype == np.bool_ and infos["_user_id"].all()
    for t in range(2 * horizon + 1):  # through one autoreset step and beyond
        actions = rng.integers(n_items, size=num_envs)
        assert env.action_space.contains(actions)
        obs, rewards, terminated, truncated, infos = env.step(actions)
        assert obs.shape == (num_envs, d) and obs.dtype == np.float64
        assert env.observation_space.contains(obs)
        assert rewards.shape == (num_envs,) and rewards.dtype == np.float64
        assert np.all(np.isfinite(rewards))
        assert terminated.shape == truncated.shape == (num_envs,)
        assert terminated.dtype == truncated.dtype == np.bool_
        assert not truncated.any()
        assert terminated.all() == (t == horizon - 1 or t == 2 * horizon)
        assert infos["state"].shape == (num_envs, d) and infos["user_id"].dtype == np.int64
        if config["reward_type"] == "binary":
            assert set(np.unique(rewards).tolist()) <= {0.0, 1.0}
        if t != horizon:  # the autoreset step returns initial (pool) states
            assert_unit_rows(infos["state"])


# ------------------------------------------------------------------------ policies


def policy_kwargs(name: str, n_users: int, n_items: int) -> dict[str, Any]:
    """Arguments that make every policy usable on ``n_users`` and ``n_items``."""
    if name == "exposure_capped":  # the smallest cap that still fits every user
        return {"max_share": min(1.0, -(-n_users // n_items) / n_users)}
    if name == "collaborative_filtering":
        return {"rank": 2, "refit_every": 1}
    return {}


#: The policies that score every item, in chunks of users bounded by ``max_chunk_bytes``.
SCORING = [name for name in POLICIES if hasattr(make_policy(name), "max_chunk_bytes")]


@st.composite
def policy_problems(draw: st.DrawFn, names: tuple[str, ...] = tuple(POLICIES)) -> dict[str, Any]:
    """A policy name and a population for it: items, observations, states, a seed."""
    n_users, n_items, d = draw(st.integers(1, 8)), draw(st.integers(1, 6)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(seeds))
    return {
        "name": draw(st.sampled_from(names)),
        "items": rng.normal(size=(n_items, d)),
        "observations": np.clip(rng.normal(scale=0.5, size=(n_users, d)), -1, 1),
        "states": rng.normal(size=(n_users, d)),
        "seed": draw(seeds),
    }


def true_utilities(problem: dict[str, Any]):
    """The utilities of the problem's states, for the policies that need them (ideal)."""
    states, items = problem["states"], problem["items"]

    def utilities(chosen: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.einsum("md,mcd->mc", states[rows], items[chosen])

    return utilities


def bound_policy(problem: dict[str, Any], **kwargs: Any):
    n_users, n_items = len(problem["observations"]), len(problem["items"])
    kwargs = policy_kwargs(problem["name"], n_users, n_items) | kwargs
    policy = make_policy(problem["name"], **kwargs)
    policy.reset(problem["items"], n_users=n_users, rng=np.random.default_rng(problem["seed"]))
    return policy


@SETTINGS
@given(problem=policy_problems(), dtype=st.sampled_from([np.float64, np.float32]))
def test_policies_return_int64_actions_and_float64_propensities(problem, dtype):
    policy = bound_policy(problem)
    observations = problem["observations"].astype(dtype)
    states = problem["states"].astype(dtype)
    n_users, n_items = observations.shape[0], len(problem["items"])
    feedback = np.random.default_rng(problem["seed"])
    given = {"states": states, "utilities": true_utilities(problem)}
    for _ in range(3):  # fitted and unfitted (cf), with and without counts (most_popular)
        decision = policy.act(observations, **given)
        assert isinstance(decision, Decision)
        assert decision.actions.shape == (n_users,) and decision.actions.dtype == np.int64
        assert np.all((decision.actions >= 0) & (decision.actions < n_items))
        propensities = decision.propensities
        assert propensities.shape == (n_users,) and propensities.dtype == np.float64
        if not policy.exact_propensities:  # no closed form (Thompson sampling): NaN
            assert np.isnan(propensities).all()
            policy.update(decision.actions, feedback.normal(size=n_users).astype(dtype))
            continue
        assert np.all((propensities > 0) & (propensities <= 1))
        probabilities = policy.probabilities(observations, decision.actions, **given)
        assert probabilities.shape == (n_users,) and probabilities.dtype == np.float64
        np.testing.assert_allclose(probabilities, propensities, rtol=1e-12)
        policy.update(decision.actions, feedback.normal(size=n_users).astype(dtype))


@SETTINGS
@given(
    problem=policy_problems(tuple(SCORING)),
    max_chunk_bytes=st.integers(1, 400),
    steps=st.integers(1, 3),
)
def test_chunked_scoring_matches_unchunked(problem, max_chunk_bytes, steps):
    chunked = bound_policy(problem, max_chunk_bytes=max_chunk_bytes)  # often 1 user a chunk
    whole = bound_policy(problem)  # the default budget: every user in one chunk
    observations = problem["observations"]
    given = {"states": problem["states"], "utilities": true_utilities(problem)}
    rewards = np.random.default_rng(problem["seed"]).normal(size=(steps, len(observations)))
    for t in range(steps):
        small = chunked.act(observations, **given)
        large = whole.act(observations, **given)
        np.testing.assert_array_equal(small.actions, large.actions)
        np.testing.assert_allclose(small.propensities, large.propensities, rtol=1e-12)
        if whole.exact_propensities:
            np.testing.assert_allclose(
                chunked.probabilities(observations, small.actions, **given),
                whole.probabilities(observations, large.actions, **given),
                rtol=1e-12,
            )
        chunked.update(small.actions, rewards[t])
        whole.update(large.actions, rewards[t])


# --------------------------------------------------------------------- datasets


def epsilon_greedy_behavior(items: np.ndarray, epsilon: float, seed: int):
    """A callable behaviour policy with exact propensities and no BLAS.

    Scores are summed element-wise (the same numbers whatever the number of rows) and
    the two uniforms per user are drawn in row order, so splitting the users into chunks
    draws the same numbers.
    """
    rng = np.random.default_rng(seed)
    n_items = len(items)

    def behavior(observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        greedy = (observations[:, np.newaxis, :] * items[np.newaxis]).sum(axis=-1).argmax(axis=1)
        uniforms = rng.random((len(observations), 2))
        explore = uniforms[:, 0] < epsilon
        actions = np.where(explore, (uniforms[:, 1] * n_items).astype(np.int64), greedy)
        propensities = np.where(actions == greedy, 1 - epsilon, 0.0) + epsilon / n_items
        return actions, propensities

    return behavior


@settings(max_examples=25, deadline=None)
@given(
    config=configurations(),
    n_trajectories=st.integers(1, 20),
    chunk_size=st.integers(1, 7),
    epsilon=st.sampled_from([0.0, 0.3, 1.0]),
    obtain_info=st.booleans(),
    seed=seeds,
)
def test_dataset_collection_is_the_same_in_chunks(
    config, n_trajectories, chunk_size, epsilon, obtain_info, seed
):
    datasets = []
    for size in (chunk_size, None):
        env = PopulationEnv(**config)
        behavior = epsilon_greedy_behavior(np.asarray(env.item_features), epsilon, seed)
        datasets.append(
            collect_logged_dataset(
                env, behavior, n_trajectories, seed=seed, chunk_size=size, obtain_info=obtain_info
            )
        )
    chunked, whole = datasets
    assert list(chunked) == list(whole)
    for key, value in whole.items():
        if isinstance(value, np.ndarray):
            assert value.dtype == chunked[key].dtype
            np.testing.assert_array_equal(chunked[key], value, err_msg=key)
        elif key == "info":
            assert chunked[key].keys() == value.keys()
            for name in value:
                np.testing.assert_array_equal(chunked[key][name], value[name])
        else:
            assert chunked[key] == value, key
    horizon = whole["step_per_trajectory"]
    assert whole["size"] == n_trajectories * horizon
    assert whole["state"].shape == (whole["size"], config["user_feature_dim"])
    assert np.all((whole["pscore"] > 0) & (whole["pscore"] <= 1))


# ----------------------------------------------------------------------- metrics

finite = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False, width=64)
state_matrices = st.integers(1, 4).flatmap(
    lambda d: arrays(np.float64, st.tuples(st.integers(1, 12), st.just(d)), elements=finite)
)
count_vectors = arrays(np.int64, st.integers(1, 15), elements=st.integers(0, 50))


def in_unit_interval_or_nan(value: float) -> bool:
    return np.isnan(value) or 0.0 <= value <= 1.0


@settings(max_examples=50, deadline=None)
@given(states=state_matrices)
def test_preference_metrics_stay_in_their_ranges(states):
    h = homogenization(states)
    assert np.isnan(h) or -1.0 <= h <= 1.0
    assert in_unit_interval_or_nan(polarization(states))
    assert in_unit_interval_or_nan(mean_squared_cosine(states))
    shifted = np.roll(states, 1, axis=0)
    assert 0.0 <= preference_drift(states, shifted) <= np.pi + 1e-12
    assert 0.0 <= preference_drift(states, shifted, kind="cosine") <= 2.0 + 1e-12


@settings(max_examples=50, deadline=None)
@given(counts=count_vectors, k=st.integers(1, 20))
def test_item_metrics_stay_in_the_unit_interval(counts, k):
    assert 0.0 <= coverage(counts) <= 1.0
    for value in (gini(counts), entropy(counts), top_k_share(counts, k)):
        assert in_unit_interval_or_nan(value)
    if counts.sum() == 0:
        assert np.isnan(gini(counts)) and np.isnan(entropy(counts))


@settings(max_examples=40, deadline=None)
@given(states=state_matrices, data=st.data())
def test_jaccard_of_nearest_neighbours_is_in_the_unit_interval(states, data):
    n = len(states)
    n_items = data.draw(st.integers(1, 6))
    steps = data.draw(st.integers(1, 4))
    history = data.draw(arrays(np.int64, (steps, n), elements=st.integers(0, n_items - 1)))
    assert in_unit_interval_or_nan(jaccard_nearest_neighbors(states, history))
    consumed = sp.csr_array(data.draw(arrays(np.int64, (n, n_items), elements=st.integers(0, 3))))
    assert in_unit_interval_or_nan(jaccard_nearest_neighbors(states, consumed))


@settings(max_examples=20, deadline=None)
@given(config=configurations(), name=st.sampled_from(list(POLICIES)), seed=seeds)
def test_metrics_of_simulated_populations_stay_in_their_ranges(config, name, seed):
    env = PopulationEnv(**config)
    kwargs = policy_kwargs(name, config["n_users"], config["n_items"])
    history = simulate(env, make_policy(name, **kwargs), seed=seed)
    for metric in ("gini", "coverage", "entropy", "top10_share", "polarization", "jaccard_nn"):
        assert all(in_unit_interval_or_nan(v) for v in history.metrics[metric]), metric
    assert all(np.isnan(v) or -1.0 <= v <= 1.0 for v in history.metrics["homogenization"])
    assert_unit_rows(history.final_states)
