"""Populations of users: the batched core, the PettingZoo environment and study tools."""

from __future__ import annotations

from recgym.population.core import PerUserFallbackWarning, Population, PopulationConfig
from recgym.population.env import PopulationEnv

__all__ = ["PerUserFallbackWarning", "Population", "PopulationConfig", "PopulationEnv"]
