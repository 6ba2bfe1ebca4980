"""Populations of users: the batched core, the PettingZoo environment and study tools."""

from __future__ import annotations

from recgym.population.core import PerUserFallbackWarning, Population, PopulationConfig
from recgym.population.datasets import (
    collect_logged_dataset,
    load_logged_dataset,
    save_logged_dataset,
)
from recgym.population.env import PopulationEnv
from recgym.population.ope import importance_sampling_estimates, true_policy_value

__all__ = [
    "PerUserFallbackWarning",
    "Population",
    "PopulationConfig",
    "PopulationEnv",
    "collect_logged_dataset",
    "importance_sampling_estimates",
    "load_logged_dataset",
    "save_logged_dataset",
    "true_policy_value",
]
