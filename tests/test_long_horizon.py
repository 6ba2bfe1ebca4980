"""Numerical soundness over long horizons.

A small population is stepped for many steps in every combination of reward type, noise,
dtype and feature normalisation. At every step everything stays finite (no overflow, no
division by zero: any floating-point warning is an error in this suite), observations stay
in [-1, 1], binary rewards in {0, 1}, and every non-zero state on the unit sphere. The
population holds the edge cases on purpose:

* a user whose feature row is zero (stays exactly zero),
* a user orthogonal to the item it is always shown (stays where it is),
* users opposite and parallel to the item they are always shown (fixed points),
* a user always shown an item whose feature row is zero (its direction does not change).

The CI version runs ``CI_STEPS`` steps per configuration (a few seconds in all). The
``slow`` version runs 100,000; slow tests are deselected by default (pyproject's
``addopts``) — run them with::

    python -m pytest -m slow tests/test_long_horizon.py
"""

from __future__ import annotations

import numpy as np
import pytest

from recgym import UserModel
from recgym.population import PopulationEnv

CI_STEPS = 3_000
SLOW_STEPS = 100_000
#: Largest allowed | ‖s‖ − 1 | and distance of a fixed point from where it should be.
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}

DIM = 4
ZERO_USER, ORTHOGONAL_USER, OPPOSITE_USER, PARALLEL_USER, ZERO_ITEM_USER = range(5)
N_USERS = 16
ZERO_ITEM, AXIS_ITEM, FIXED_ITEM = 0, 1, 2
N_ITEMS = 6


def tables():
    """User and item tables with the edge cases in the first rows (unnormalised)."""
    rng = np.random.default_rng(0)
    items = rng.uniform(-1, 1, size=(N_ITEMS, DIM))
    items[ZERO_ITEM] = 0.0
    items[AXIS_ITEM] = np.eye(DIM)[1]
    users = rng.uniform(-1, 1, size=(N_USERS, DIM))
    users[ZERO_USER] = 0.0
    users[ORTHOGONAL_USER] = np.eye(DIM)[0]  # exactly orthogonal to AXIS_ITEM
    users[OPPOSITE_USER] = -0.7 * items[FIXED_ITEM]
    users[PARALLEL_USER] = 0.4 * items[FIXED_ITEM]
    return users, items


def fixed_actions():
    """The item each edge-case user is always shown (-1: a random item every step)."""
    actions = np.full(N_USERS, -1)
    actions[[ZERO_USER, ORTHOGONAL_USER, OPPOSITE_USER, PARALLEL_USER, ZERO_ITEM_USER]] = [
        FIXED_ITEM,
        AXIS_ITEM,
        FIXED_ITEM,
        FIXED_ITEM,
        ZERO_ITEM,
    ]
    return actions


CONFIGS = [
    pytest.param(
        reward_type,
        noise,
        dtype,
        normalization,
        id=f"{reward_type}-{noise}-{dtype.__name__}-{normalization}",
    )
    for reward_type in ("continuous", "binary")
    for noise in ("noiseless", "noisy")
    for dtype in (np.float64, np.float32)
    for normalization in ("spectral", "row")
]


def run_long(reward_type, noise, dtype, normalization, steps, alpha=1.0, chunk=1_000):
    """Step the population ``steps`` times and check every step (in chunks of ``chunk``
    steps, vectorised); returns the largest deviation of a state from the unit sphere."""
    users, items = tables()
    std = 0.5 if noise == "noisy" else 0.0
    model = UserModel(DIM, DIM, reward_type=reward_type, reward_std=std, alpha=alpha)
    env = PopulationEnv(
        n_users=N_USERS,
        n_items=N_ITEMS,
        user_feature_dim=DIM,
        item_feature_dim=DIM,
        user_feature_vector=users,
        item_feature_vector=items,
        reward_type=reward_type,
        reward_std=std,
        obs_std=std,
        UserModel=model,
        step_per_episode=steps,
        feature_normalization=normalization,
        dtype=dtype,
    )
    # The fixed points of the edge-case users hold up to rounding. With a small step size
    # they attract weakly (by a factor ~1 - α per step) while rounding s + α⟨s, v⟩v pushes
    # the same way every step, so they settle ~ε/α away (float32, α = 1e-3: 2e-5, stable).
    tolerance = TOLERANCE[dtype]
    fixed_tolerance = max(tolerance, np.finfo(dtype).eps / alpha) if alpha > 0 else tolerance
    actions = np.random.default_rng(1).integers(N_ITEMS, size=(steps, N_USERS))
    fixed = fixed_actions()
    actions[:, fixed >= 0] = fixed[fixed >= 0]
    _, info = env.reset_batch(seed=2)
    start = info["state"].copy()
    direction = env.item_features[FIXED_ITEM] / np.linalg.norm(env.item_features[FIXED_ITEM])
    buffers = {
        "states": np.empty((chunk, N_USERS, DIM), dtype=dtype),
        "obs": np.empty((chunk, N_USERS, DIM), dtype=dtype),
        "rewards": np.empty((chunk, N_USERS), dtype=dtype),
    }
    worst = 0.0
    for first in range(0, steps, chunk):
        size = min(chunk, steps - first)
        for i in range(size):
            obs, rewards, _, _, info = env.step_batch(actions[first + i])
            buffers["states"][i], buffers["obs"][i], buffers["rewards"][i] = (
                info["state"],
                obs,
                rewards,
            )
        states, obs, rewards = (buffers[name][:size] for name in ("states", "obs", "rewards"))
        assert np.isfinite(states).all() and np.isfinite(obs).all() and np.isfinite(rewards).all()
        assert (np.abs(obs) <= 1).all()
        if reward_type == "binary":
            assert ((rewards == 0) | (rewards == 1)).all()
        assert not states[:, ZERO_USER].any()  # exactly zero, forever
        alive = states[:, ZERO_USER + 1 :].astype(np.float64)
        worst = max(worst, float(np.abs(np.sqrt(np.vecdot(alive, alive)) - 1).max()))
        assert worst <= tolerance, worst
        for user, target in (
            (ORTHOGONAL_USER, np.eye(DIM)[0]),
            (OPPOSITE_USER, -direction),
            (PARALLEL_USER, direction),
            (ZERO_ITEM_USER, start[ZERO_ITEM_USER] / np.linalg.norm(start[ZERO_ITEM_USER])),
        ):
            distance = np.abs(states[:, user] - target).max()
            assert distance <= fixed_tolerance, (user, distance)
    assert obs.dtype == rewards.dtype == info["state"].dtype == dtype
    return worst


@pytest.mark.parametrize(("reward_type", "noise", "dtype", "normalization"), CONFIGS)
def test_long_horizon_stays_finite_and_on_the_sphere(reward_type, noise, dtype, normalization):
    run_long(reward_type, noise, dtype, normalization, CI_STEPS)


@pytest.mark.slow
@pytest.mark.parametrize(("reward_type", "noise", "dtype", "normalization"), CONFIGS)
def test_100k_steps_stay_finite_and_on_the_sphere(reward_type, noise, dtype, normalization):
    run_long(reward_type, noise, dtype, normalization, SLOW_STEPS)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("alpha", [0.0, 1e-3, 1.0, 100.0])
def test_extreme_step_sizes_stay_sound(alpha, dtype):
    run_long("binary", "noisy", dtype, "row", 500, alpha=alpha)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_of_large_affinities_does_not_overflow(dtype):
    # The environment keeps |⟨s, v⟩| <= 1, but a user model may be handed anything finite.
    model = UserModel(2, 2, reward_type="binary", random_state=0)
    items = np.array([[1.0, 0.0], [-1.0, 0.0]], dtype=dtype)
    states = np.array([[1e4, 0.0], [1e4, 0.0], [0.0, 0.0]], dtype=dtype)
    rewards = model.batch_reward_function(states, np.array([0, 1, 0]), items)
    assert rewards.tolist() == [1.0, 0.0, rewards[2]]
    assert rewards[2] in (0.0, 1.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_zero_state_and_a_zero_item_leave_the_transition_defined(dtype):
    model = UserModel(3, 3)
    items = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=dtype)
    states = np.array([[0.0, 0.0, 0.0], [0.6, 0.8, 0.0], [1.0, 0.0, 0.0]], dtype=dtype)
    rewards, new = model.batch_step(states, np.array([1, 0, 1]), items)
    np.testing.assert_array_equal(rewards, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(new[0], [0.0, 0.0, 0.0])  # zero stays zero
    np.testing.assert_allclose(new[1], states[1], rtol=0, atol=TOLERANCE[dtype])  # zero item
    np.testing.assert_array_equal(new[2], states[2])  # orthogonal: unchanged
