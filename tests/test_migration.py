"""The default mode's documented differences from SCOPE-RL's recgym (``docs/migration.md``).

Most differences are pinned by ``test_rec_env.py``; this file holds the others, and checks
that every test the migration guide names exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import recgym
from recgym import RECEnv

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_named_by_the_migration_guide_exists():
    guide = (ROOT / "docs" / "migration.md").read_text(encoding="utf-8")
    rows = [line for line in guide.splitlines() if line.startswith("| ") and "test_" in line]
    named = {name for row in rows for name in re.findall(r"`(test_\w+)`", row.split("|")[-2])}
    assert len(rows) >= 14
    sources = "".join(
        (ROOT / "tests" / name).read_text(encoding="utf-8")
        for name in ("test_rec_env.py", "test_migration.py")
    )
    missing = sorted(name for name in named if f"def {name}(" not in sources)
    assert missing == []


def test_original_names_are_importable():
    from recgym import BaseUserModel, UserModel
    from recgym.types import Action

    assert issubclass(UserModel, BaseUserModel)
    assert isinstance(3, Action)
    assert recgym.RECEnv is RECEnv


def test_terminal_step_returns_the_terminal_state():
    """No hidden reset: the last step reports this user's terminal state, nothing else."""
    env = RECEnv(step_per_episode=4, random_state=3)
    _, info = env.reset(seed=0)
    user, state = info["user_id"], info["state"]
    items = env.item_feature_vector
    for action in (1, 0, 3, 2):
        obs, _, terminated, truncated, info = env.step(action)
        state = env.user_model.user_preference_dynamics(state, action, items)
    assert terminated is True
    assert truncated is False
    assert info["user_id"] == user
    np.testing.assert_array_equal(info["state"], state)
    np.testing.assert_array_equal(obs, np.clip(state, -1.0, 1.0))  # obs_std=0


def test_random_state_instance_is_rejected():
    random_state = np.random.RandomState(0)
    with pytest.raises(TypeError) as caught:
        RECEnv(random_state=random_state)
    assert str(caught.value) == (
        f"`random_state` must be a non-negative integer or None, got {random_state!r}"
    )


def test_user_draws_do_not_shift_the_noise():
    """Users and observation noise come from separate streams of one seed."""
    env = RECEnv(obs_std=0.01, random_state=0)
    noise = []
    for options in (None, {"user_id": 0}, {"user_id": 99}):
        obs, info = env.reset(seed=7, options=options)
        noise.append(obs - info["state"])
    np.testing.assert_allclose(noise[1], noise[0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(noise[2], noise[0], rtol=0, atol=1e-15)
    assert np.abs(noise[0]).max() > 1e-4  # the noise is on


def test_observation_noise_does_not_shift_the_rewards():
    """The reward noise has its own stream: observation noise changes no reward."""
    rewards = []
    for obs_std in (0.0, 0.3):
        env = RECEnv(obs_std=obs_std, reward_std=0.3, random_state=2)
        env.reset(seed=5, options={"user_id": 3})
        rewards.append([env.step(action)[1] for action in (0, 4, 4, 1, 2, 3, 0, 1, 2, 3)])
    assert rewards[0] == rewards[1]


def test_zero_noise_draws_nothing():
    env = RECEnv(random_state=0)
    env.reset(seed=1)
    population = env.unwrapped._population
    before = (
        population.obs_rng[0].bit_generator.state,
        population.reward_rng[0].bit_generator.state,
        env.user_model.random_.bit_generator.state,
    )
    for action in range(10):
        env.step(action % 5)
    after = (
        population.obs_rng[0].bit_generator.state,
        population.reward_rng[0].bit_generator.state,
        env.user_model.random_.bit_generator.state,
    )
    assert after == before


def test_default_features_come_from_default_rng():
    """Same ``random_state``, other numbers than the original's: ``legacy=True`` has those."""
    env = RECEnv(random_state=12345)
    rng = np.random.default_rng(12345)
    users = rng.uniform(-1.0, 1.0, size=(100, 5))
    items = rng.uniform(-1.0, 1.0, size=(5, 5))
    np.testing.assert_array_equal(env.user_feature_vector, users / np.linalg.norm(users, ord=2))
    np.testing.assert_array_equal(env.item_feature_vector, items / np.linalg.norm(items, ord=2))
    original = RECEnv(random_state=12345, legacy=True)
    assert not np.isin(env.user_feature_vector, original.user_feature_vector).any()
