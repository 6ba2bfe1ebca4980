"""Shared fixtures of the test suite (keep it small: each fixture is used by several files)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scipy.special import expit as sigmoid

from recgym import BaseUserModel


@dataclass
class CustomizedUserModel(BaseUserModel):
    """README.md's custom user model: single-user methods only (the per-user fallback)."""

    user_feature_dim: int
    item_feature_dim: int
    reward_type: str = "continuous"
    reward_std: float = 0.0
    random_state: int | None = None

    def __post_init__(self):
        self.random_ = np.random.default_rng(self.random_state)

    def user_preference_dynamics(self, state, action, item_feature_vector, alpha=1.0):
        coefficient = state @ item_feature_vector[action]
        state = state + alpha * coefficient * item_feature_vector[action]
        return state / np.linalg.norm(state, ord=2)

    def reward_function(self, state, action, item_feature_vector):
        logit = state @ item_feature_vector[action]
        if self.reward_type == "continuous":
            return logit + self.random_.normal(loc=0.0, scale=self.reward_std)
        return float(self.random_.binomial(1, p=sigmoid(logit)))


@pytest.fixture
def customized_user_model() -> type[BaseUserModel]:
    """The README's single-user ``CustomizedUserModel`` class."""
    return CustomizedUserModel
