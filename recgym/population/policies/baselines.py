"""Baselines that never look at the observations: random, mass media and most popular."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recgym.population.policies.base import Decision, _Deterministic, _Inputs, _UniformMarginal
from recgym.population.policies.scoring import _top_k

__all__ = ["MassMediaPolicy", "MostPopularPolicy", "RandomPolicy"]


class RandomPolicy(_UniformMarginal):
    """Recommend a uniformly random item to every user, independently.

    Draws ``N`` integers per step; propensity ``1 / n_items``.

    *Slates* (``slate_size = k > 1``): a uniformly random ordered ``k``-subset per user,
    ``k`` integers per user (position ``j`` a uniform rank among the ``n − j`` items left,
    no rejection). With ``n`` items: joint ``(n − k)! / n!``, cascade
    ``Π_{l ≤ j} 1 / (n − l)``, item-position ``1 / n``.

    *Availability*: the same draws with ``n`` the number of available items, as ranks
    among them (in table order); ``n`` is that number in every probability, and an
    unavailable item has probability 0.

    Args:
        slate_size: Items per user and step, ``k >= 1``.
    """

    name = "random"

    def _decide(self, inputs: _Inputs) -> Decision:
        return self._uniform_decision(inputs.candidates)


class MassMediaPolicy(_UniformMarginal):
    """Show every user the same item, drawn uniformly at random anew each step.

    The broadcast baseline of the polarisation results (Hązła et al. 2019; Gaitonde,
    Kleinberg & Tardos 2021; Dean & Morgenstern 2022): under biased assimilation a
    heterogeneous population shown common random items splits into two antipodal poles.
    Draws one integer per step. The propensity ``1 / n_items`` is each user's *marginal*
    probability; the users' actions are perfectly correlated, which off-policy estimators
    treating users as independent should keep in mind.

    *Slates* (``slate_size = k > 1``): one uniformly random ordered ``k``-subset, drawn
    as :class:`RandomPolicy` draws one (``k`` integers per step), shown to every user.
    Each user's marginal probabilities are those of a uniform slate: joint
    ``(n − k)! / n!``, cascade ``Π_{l ≤ j} 1 / (n − l)``, item-position ``1 / n``.

    With some items unavailable, the broadcast item (slate) is one of the available items,
    drawn as the random policy draws among them, and the marginals are its.

    Args:
        slate_size: Items per user and step, ``k >= 1``.
    """

    name = "mass_media"

    def _decide(self, inputs: _Inputs) -> Decision:
        candidates = inputs.candidates
        probabilities = self._uniform_probabilities(candidates)
        if self.slate_size == 1:
            item = candidates.items(self._generator.integers(candidates.n))
            return Decision(np.full(self._n_users, item, dtype=np.int64), *probabilities)
        slate = candidates.uniform_slates(self._generator, 1, self.slate_size)
        return Decision(np.repeat(slate, self._n_users, axis=0), *probabilities)


class MostPopularPolicy(_Deterministic):
    """Recommend to everyone the item with the most positive feedback so far.

    :meth:`update` counts, per item, the rewards ``> 0`` (a click for binary rewards, a
    positive affinity for continuous ones). Ties, including the all-zero start, go to the
    lowest item index; items a user has already seen are not excluded. Deterministic:
    propensity 1. The rich-get-richer baseline of popularity-bias studies (Mansoury et al.
    2020; Chaney et al. 2018).

    *Slates* (``slate_size = k > 1``): every user gets the ``k`` items with the most
    positive feedback, most first, ties to the lowest index; deterministic (cascade
    ``1[a_≤j = top_≤j]``, item-position ``1[a_j = top_j]``). :meth:`update` then needs
    ``consumed`` and counts the positive rewards of consumed items only (not of every
    item shown); at slate size 1 ``consumed`` defaults to the items shown.

    *Availability*: the item (the ``k`` items) with the most positive feedback among the
    available ones, ties to the lowest index; the counts go on learning from every
    consumed item, available or not.

    Args:
        slate_size: Items per user and step, ``k >= 1``.
    """

    name = "most_popular"

    def _on_reset(self) -> None:
        self._positive_counts = np.zeros(self.n_items, dtype=np.int64)

    @property
    def positive_counts(self) -> NDArray[np.int64]:
        """Copy of the per-item count of positive rewards, int64 ``(n_items,)``."""
        self._require_reset("positive_counts")
        return self._positive_counts.copy()

    def _choose(self, inputs: _Inputs) -> NDArray[np.int64]:
        candidates = inputs.candidates
        counts = candidates.subset(self._positive_counts)
        if self.slate_size == 1:
            return np.full(self._n_users, candidates.items(counts.argmax()), dtype=np.int64)
        top = np.empty((1, self.slate_size), dtype=np.int64)
        _top_k(counts[np.newaxis].astype(np.float64), top)
        return np.repeat(candidates.items(top), self._n_users, axis=0)

    def _learn(self, rewards: NDArray[np.float64], consumed: NDArray[np.int64]) -> None:
        """Add one to the count of every consumed item with a reward ``> 0``."""
        positive = consumed[(rewards > 0) & (consumed >= 0)]
        self._positive_counts += np.bincount(positive, minlength=self.n_items)
