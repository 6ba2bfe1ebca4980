"""Baselines that never look at the observations: random, mass media and most popular."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_choice
from recgym.population.policies.base import Decision, _Deterministic, _Inputs, _UniformMarginal
from recgym.population.policies.ranking import _RankingPolicy
from recgym.population.policies.scoring import _top_k

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from recgym.population.policies.scoring import _ScoringOptions

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


class MostPopularPolicy(_RankingPolicy, _Deterministic):
    """Recommend to everyone the items with the most feedback so far: the popularity recommender.

    :meth:`update` counts, per item, how often it was consumed, by anyone, and how often
    with a reward ``> 0`` (a click for binary rewards, a positive affinity for continuous
    ones). With ``counts="positive"`` (the default) the policy ranks items by the second
    count, with ``counts="consumption"`` by the first: the popularity recommender of
    Chaney et al. (2018) and Mansoury et al. (2020), which rank by the number of
    interactions (consumptions) over all users so far, whatever their outcome. Ties,
    including the all-zero start, go to the lowest item index; items a user has already
    seen are not excluded (but see ``exclude_consumed``). Deterministic: propensity 1.
    The rich-get-richer baseline of popularity-bias studies.

    *Slates* (``slate_size = k > 1``): every user gets the ``k`` items with the highest
    count, highest first, ties to the lowest index; deterministic (cascade
    ``1[a_≤j = top_≤j]``, item-position ``1[a_j = top_j]``). :meth:`update` then needs
    ``consumed`` and counts consumed items only (not every item shown); at slate size 1
    ``consumed`` defaults to the items shown.

    *Availability*: the item (the ``k`` items) with the highest count among the available
    ones, ties to the lowest index; the counts go on learning from every consumed item,
    available or not.

    *``exclude_consumed=True``* (the consume-each-item-once setting of Chaney et al., with
    an environment built with ``repeat_consumption=False``): each user gets the most
    popular items it has not consumed yet (remembered from ``consumed``), so slates differ
    between users; ``ValueError`` if fewer than ``k`` remain. :meth:`forget` clears those
    memories (the counts, learned from everyone, stay).

    Args:
        counts: What makes an item popular: ``"positive"`` (consumptions with a reward
            ``> 0``) or ``"consumption"`` (every consumption).
        exclude_consumed: Recommend to each user only items it has not consumed yet.
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one chunk of users' rankings (with
            ``exclude_consumed`` only; otherwise one slate serves everyone).
    """

    name = "most_popular"

    def __init__(
        self,
        counts: str = "positive",
        *,
        exclude_consumed: bool = False,
        **options: Unpack[_ScoringOptions],
    ) -> None:
        super().__init__(exclude_consumed=exclude_consumed, **options)
        self.counts = check_choice(counts, "counts", ("positive", "consumption"))

    def _on_reset(self) -> None:
        super()._on_reset()
        self._positive_counts = np.zeros(self.n_items, dtype=np.int64)
        self._consumption_counts = np.zeros(self.n_items, dtype=np.int64)

    @property
    def positive_counts(self) -> NDArray[np.int64]:
        """Copy of the per-item count of consumptions of reward ``> 0``, int64 ``(n_items,)``."""
        self._require_reset("positive_counts")
        return self._positive_counts.copy()

    @property
    def consumption_counts(self) -> NDArray[np.int64]:
        """Copy of the per-item count of consumptions, int64 ``(n_items,)``."""
        self._require_reset("consumption_counts")
        return self._consumption_counts.copy()

    def _choose(self, inputs: _Inputs) -> NDArray[np.int64]:
        candidates = inputs.candidates
        ranked = self._positive_counts if self.counts == "positive" else self._consumption_counts
        if self._consumed is not None:
            table = ranked.astype(np.float64)

            def score(rows: slice, columns: NDArray[np.int64]) -> NDArray[np.float64]:
                return np.repeat(table[np.newaxis, columns], rows.stop - rows.start, axis=0)

            return self._rank(self._candidate_columns(candidates), score)
        counts = candidates.subset(ranked)
        if self.slate_size == 1:
            return np.full(self._n_users, candidates.items(counts.argmax()), dtype=np.int64)
        top = np.empty((1, self.slate_size), dtype=np.int64)
        _top_k(counts[np.newaxis].astype(np.float64), top)
        return np.repeat(candidates.items(top), self._n_users, axis=0)

    def _learn(self, rewards: NDArray[np.float64], consumed: NDArray[np.int64]) -> None:
        """Count every consumed item, and apart those with a reward ``> 0``."""
        present = consumed >= 0
        positive = consumed[(rewards > 0) & present]
        self._positive_counts += np.bincount(positive, minlength=self.n_items)
        self._consumption_counts += np.bincount(consumed[present], minlength=self.n_items)
        self._remember(consumed)
