"""Shared configurations and custom user models of the population tests.

Everything is handed to the tests as fixtures (no test imports this module):

* a test with a ``config_name`` argument runs once per entry of ``CONFIGS``;
* ``population_kwargs(config_name, n_users, **overrides)`` gives the keyword arguments
  of a small seeded :class:`PopulationEnv`;
* ``make_population(**kwargs)`` builds one and asserts the single
  :class:`~recgym.population.PerUserFallbackWarning` that a single-user-only model must
  raise when it is stepped for more than one user;
* ``drift_models`` is ``(DriftModel, SingleUserDriftModel)``: the same custom model,
  natively batched and in the original single-user form;
* ``enumerate_slates(policy, observations, n_items, k, **call)`` gives every ordered
  ``k``-subset of a tiny catalogue and the policy's ``slate_probabilities`` of each, the
  same slate for every user (``call``: ``states=``, ``utilities=``, ``available=``);
* ``check_slate_distribution(slates, enumerated)`` checks that they form one
  distribution per user, with cascade and item-position probabilities that are its
  prefix and position marginals.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from recgym import BaseUserModel
from recgym.population import PerUserFallbackWarning, PopulationEnv


class DriftModel(BaseUserModel):
    """A natively batched custom model: reward ``⟨s, v⟩ + reward_std·ξ``, state drifts 10 %
    of the way toward the recommended item (a convex combination: states stay in [-1, 1])."""

    def __init__(self, user_feature_dim, item_feature_dim, reward_type, reward_std, random_state):
        self.user_feature_dim = user_feature_dim
        self.item_feature_dim = item_feature_dim
        self.reward_type = reward_type
        self.reward_std = reward_std
        self.random_ = np.random.default_rng(random_state)

    def batch_reward_function(self, states, actions, item_feature_vector):
        rewards = np.vecdot(states, item_feature_vector[actions])
        if self.reward_std > 0:
            rewards = rewards + self.reward_std * self.random_.standard_normal(len(states))
        return rewards.astype(states.dtype, copy=False)

    def batch_user_preference_dynamics(self, states, actions, item_feature_vector):
        return 0.9 * states + 0.1 * item_feature_vector[actions]


class SingleUserDriftModel(BaseUserModel):
    """:class:`DriftModel` written only in the original single-user form (per-user fallback)."""

    def __init__(self, user_feature_dim, item_feature_dim, reward_type, reward_std, random_state):
        self.user_feature_dim = user_feature_dim
        self.item_feature_dim = item_feature_dim
        self.reward_type = reward_type
        self.reward_std = reward_std
        self.random_ = np.random.default_rng(random_state)

    def reward_function(self, state, action, item_feature_vector):
        reward = float(np.vecdot(state, item_feature_vector[action]))
        if self.reward_std > 0:
            reward += self.reward_std * self.random_.standard_normal()
        return reward

    def user_preference_dynamics(self, state, action, item_feature_vector, alpha=1.0):
        return 0.9 * state + 0.1 * item_feature_vector[action]


#: Environment configurations (keyword arguments of PopulationEnv besides n_users).
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "noisy": {"obs_std": 0.1, "reward_std": 0.1},
    "binary": {"reward_type": "binary", "obs_std": 0.05},
    "float32": {"dtype": np.float32, "obs_std": 0.1, "reward_std": 0.1},
    "row-normalised": {"feature_normalization": "row", "n_items": 3},
    "batched-model": {"UserModel": DriftModel, "reward_std": 0.1, "obs_std": 0.1},
    "single-user-model": {"UserModel": SingleUserDriftModel, "reward_std": 0.1, "obs_std": 0.1},
}


def _population_kwargs(config_name: str, n_users: int, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments of a small, seeded PopulationEnv for one of ``CONFIGS``."""
    return {"n_users": n_users, "n_items": 10, "random_state": 7, **CONFIGS[config_name]} | (
        overrides
    )


def _falls_back(kwargs: dict[str, Any]) -> bool:
    """Whether an environment built from ``kwargs`` runs the per-user fallback loop."""
    model = kwargs.get("UserModel")
    n_users = kwargs.get("n_users", 100)
    return isinstance(model, type) and not model.is_batched() and n_users > 1


def _make_population(**kwargs: Any) -> PopulationEnv:
    """Build a PopulationEnv, asserting the fallback warning exactly when one is due."""
    if _falls_back(kwargs):
        with pytest.warns(PerUserFallbackWarning) as record:
            env = PopulationEnv(**kwargs)
        assert len(record) == 1, [str(warning.message) for warning in record]
        return env
    return PopulationEnv(**kwargs)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that takes ``config_name`` once per configuration."""
    if "config_name" in metafunc.fixturenames:
        metafunc.parametrize("config_name", list(CONFIGS))


@pytest.fixture
def population_kwargs():
    return _population_kwargs


@pytest.fixture
def make_population():
    return _make_population


@pytest.fixture
def drift_models():
    return DriftModel, SingleUserDriftModel


def _enumerate_slates(
    policy: Any, observations: np.ndarray, n_items: int, k: int, **call: Any
) -> tuple[np.ndarray, list[Any]]:
    """Every ordered ``k``-subset ``(S, k)`` and the probabilities of each, shown to all."""
    slates = np.array(list(itertools.permutations(range(n_items), k)), dtype=np.int64)
    n_users = len(observations)
    enumerated = []
    for slate in slates:
        actions = np.tile(slate, (n_users, 1))
        actions = actions[:, 0] if k == 1 else actions
        enumerated.append(policy.slate_probabilities(observations, actions, **call))
    return slates, enumerated


def _check_slate_distribution(slates: np.ndarray, enumerated: list[Any]) -> np.ndarray:
    """Check the enumerated probabilities of every ordered slate; return the joint ``(S, N)``.

    Args:
        slates: Every ordered ``k``-subset of the catalogue, ``(S, k)``.
        enumerated: The policy's ``SlateProbabilities`` of each slate, shown to every user.
    """
    joint = np.array([p.propensities for p in enumerated])
    np.testing.assert_allclose(joint.sum(axis=0), 1.0, rtol=0, atol=1e-12)
    if slates.shape[1] == 1:
        return joint
    cascade = np.array([p.cascade_propensities for p in enumerated])  # (S, N, k)
    marginals = enumerated[0].item_position_propensities
    for j in range(slates.shape[1]):
        # Column j is the probability of the slate's first j + 1 items.
        same_prefix = (slates[:, None, : j + 1] == slates[None, :, : j + 1]).all(axis=2)
        np.testing.assert_allclose(cascade[:, :, j], same_prefix @ joint, rtol=0, atol=1e-12)
        if marginals is not None:
            item_position = np.array([p.item_position_propensities[:, j] for p in enumerated])
            same_item = slates[:, None, j] == slates[None, :, j]
            np.testing.assert_allclose(item_position, same_item @ joint, rtol=0, atol=1e-12)
    return joint


@pytest.fixture
def check_slate_distribution():
    return _check_slate_distribution


@pytest.fixture
def enumerate_slates():
    return _enumerate_slates
