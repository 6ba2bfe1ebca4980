"""Populations of users: the batched core, the PettingZoo environment and study tools."""

from __future__ import annotations

from recgym.population.core import PerUserFallbackWarning, Population, PopulationConfig
from recgym.population.datasets import (
    collect_logged_dataset,
    load_logged_dataset,
    save_logged_dataset,
)
from recgym.population.env import PopulationEnv
from recgym.population.history import History
from recgym.population.ope import importance_sampling_estimates, true_policy_value
from recgym.population.policies import POLICIES, Decision, Policy, make_policy
from recgym.population.simulate import simulate  # the function; the module stays importable

__all__ = [
    "POLICIES",
    "Decision",
    "History",
    "PerUserFallbackWarning",
    "Policy",
    "Population",
    "PopulationConfig",
    "PopulationEnv",
    "collect_logged_dataset",
    "importance_sampling_estimates",
    "load_logged_dataset",
    "make_policy",
    "save_logged_dataset",
    "simulate",
    "true_policy_value",
]
