"""Baselines that never look at the observations: random, mass media and most popular."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym.population.policies.base import Decision, _Deterministic, _UniformMarginal

__all__ = ["MassMediaPolicy", "MostPopularPolicy", "RandomPolicy"]


class RandomPolicy(_UniformMarginal):
    """Recommend a uniformly random item to every user, independently.

    Draws ``N`` integers per step; propensity ``1 / n_items``.
    """

    name = "random"

    def act(self, observations: NDArray[Any], *, states: NDArray[Any] | None = None) -> Decision:
        """See :meth:`Policy.act`."""
        self._check_observations(observations, "act")
        return self._uniform_decision()


class MassMediaPolicy(_UniformMarginal):
    """Show every user the same item, drawn uniformly at random anew each step.

    The broadcast baseline of the polarisation results (Hązła et al. 2019; Gaitonde,
    Kleinberg & Tardos 2021; Dean & Morgenstern 2022): under biased assimilation a
    heterogeneous population shown common random items splits into two antipodal poles.
    Draws one integer per step. The propensity ``1 / n_items`` is each user's *marginal*
    probability; the users' actions are perfectly correlated, which off-policy estimators
    treating users as independent should keep in mind.
    """

    name = "mass_media"

    def act(self, observations: NDArray[Any], *, states: NDArray[Any] | None = None) -> Decision:
        """See :meth:`Policy.act`."""
        self._check_observations(observations, "act")
        item = self._generator.integers(self.n_items)
        return Decision(np.full(self._n_users, item, dtype=np.int64), self._uniform_propensities())


class MostPopularPolicy(_Deterministic):
    """Recommend to everyone the item with the most positive feedback so far.

    :meth:`update` counts, per item, the rewards ``> 0`` (a click for binary rewards, a
    positive affinity for continuous ones). Ties, including the all-zero start, go to the
    lowest item index; items a user has already seen are not excluded. Deterministic:
    propensity 1. The rich-get-richer baseline of popularity-bias studies (Mansoury et al.
    2020; Chaney et al. 2018).
    """

    name = "most_popular"

    def _on_reset(self) -> None:
        self._positive_counts = np.zeros(self.n_items, dtype=np.int64)

    @property
    def positive_counts(self) -> NDArray[np.int64]:
        """Copy of the per-item count of positive rewards, int64 ``(n_items,)``."""
        self._require_reset("positive_counts")
        return self._positive_counts.copy()

    def _choose(self, observations: NDArray[Any], states: NDArray[Any] | None) -> NDArray[Any]:
        return np.full(self._n_users, self._positive_counts.argmax(), dtype=np.int64)

    def update(self, actions: NDArray[np.integer[Any]], rewards: NDArray[Any]) -> None:
        """Add one to the count of every item shown with a reward ``> 0``."""
        actions, rewards = self._check_feedback(actions, rewards)
        self._positive_counts += np.bincount(actions[rewards > 0], minlength=self.n_items)
