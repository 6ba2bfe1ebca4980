"""Populations of users: the batched core, the PettingZoo environment and study tools."""

from __future__ import annotations

from recgym.population.core import PerUserFallbackWarning, Population, PopulationConfig

__all__ = ["PerUserFallbackWarning", "Population", "PopulationConfig"]
