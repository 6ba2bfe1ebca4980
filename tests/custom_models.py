"""Custom user models at module level, so that environments holding them can be pickled.

Imported by tests/test_checkpoint.py and tests/test_reproducibility.py (pytest puts
``tests/`` on ``sys.path``; the subprocess scripts add it themselves).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from recgym import BaseUserModel


@dataclass
class DampedModel(BaseUserModel):
    """Natively batched: noisy inner-product reward, states move a fraction toward the item."""

    user_feature_dim: int
    item_feature_dim: int
    reward_type: str = "continuous"
    reward_std: float = 0.0
    random_state: int | None = None
    rate: float = 0.2

    def __post_init__(self):
        self.random_ = np.random.default_rng(self.random_state)

    def batch_reward_function(self, states, actions, item_feature_vector):
        affinity = np.vecdot(states, item_feature_vector[actions])
        if self.reward_type == "binary":
            uniform = self.random_.random(len(states), dtype=states.dtype)
            return (uniform < expit(affinity)).astype(states.dtype)
        noise = self.random_.standard_normal(len(states), dtype=states.dtype)
        return affinity + self.reward_std * noise

    def batch_user_preference_dynamics(self, states, actions, item_feature_vector):
        moved = (1 - self.rate) * states + self.rate * item_feature_vector[actions]
        return moved.astype(states.dtype, copy=False)


@dataclass
class SingleUserModel(BaseUserModel):
    """The original single-user form only: runs through the per-user fallback."""

    user_feature_dim: int
    item_feature_dim: int
    reward_type: str = "continuous"
    reward_std: float = 0.0
    random_state: int | None = None

    def __post_init__(self):
        self.random_ = np.random.default_rng(self.random_state)

    def reward_function(self, state, action, item_feature_vector):
        logit = state @ item_feature_vector[action]
        if self.reward_type == "continuous":
            return logit + self.random_.normal(loc=0.0, scale=self.reward_std)
        return float(self.random_.binomial(1, p=expit(logit)))

    def user_preference_dynamics(self, state, action, item_feature_vector, alpha=1.0):
        state = state + alpha * (state @ item_feature_vector[action]) * item_feature_vector[action]
        return state / np.linalg.norm(state, ord=2)


class FatigueModel(BaseUserModel):
    """Keeps state of its own besides ``random_``: rewards fade with an item's exposure.

    A checkpoint does not capture ``shown``; pickling the environment does.
    """

    def __init__(self, user_feature_dim, item_feature_dim, reward_type, reward_std, random_state):
        self.user_feature_dim = user_feature_dim
        self.item_feature_dim = item_feature_dim
        self.reward_type = reward_type
        self.reward_std = reward_std
        self.random_ = np.random.default_rng(random_state)
        self.shown = None

    def batch_reward_function(self, states, actions, item_feature_vector):
        if self.shown is None:
            self.shown = np.zeros(len(item_feature_vector), dtype=np.int64)
        fatigue = 1.0 / (1.0 + 0.01 * self.shown[actions])
        self.shown += np.bincount(actions, minlength=len(self.shown))
        noise = self.reward_std * self.random_.standard_normal(len(states))
        return (fatigue * np.vecdot(states, item_feature_vector[actions]) + noise).astype(
            states.dtype
        )

    def batch_user_preference_dynamics(self, states, actions, item_feature_vector):
        return 0.9 * states + 0.1 * item_feature_vector[actions]
