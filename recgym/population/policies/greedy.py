"""Greedy policies: the best item for each user's observation (or true state), and ε-greedy."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_probability
from recgym.population.policies.base import Decision, _Deterministic
from recgym.population.policies.scoring import (
    _ScoringOptions,
    _ScoringPolicy,
    _top_k_scores,
)
from recgym.population.policies.slates import (
    SlateProbabilities,
    _epsilon_slate_probabilities,
    _uniform_slates,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["EpsilonGreedyPolicy", "GreedyPolicy", "OracleGreedyPolicy"]


def _epsilon_propensities(
    greedy: NDArray[np.int64], actions: NDArray[np.int64], epsilon: float, n_items: int
) -> NDArray[np.float64]:
    """Exact ε-greedy probabilities ``(1 − ε)·1[a = greedy] + ε / n_items``, float64 ``(N,)``."""
    return np.where(actions == greedy, 1.0 - epsilon, 0.0) + epsilon / n_items


def _epsilon_greedy(
    greedy: NDArray[np.int64], epsilon: float, n_items: int, rng: np.random.Generator
) -> Decision:
    """Replace each greedy action, with probability ``epsilon``, by a uniformly random one.

    Draws one uniform per user, then one integer per exploring user (``(N,)`` greedy
    items) or ``k`` per exploring user (``(N, k)`` greedy slates, replaced by a uniformly
    random ordered slate); nothing if ε = 0.
    """
    actions = greedy.copy()
    slate_size = 1 if greedy.ndim == 1 else greedy.shape[1]
    if epsilon > 0.0:
        explore = rng.random(len(greedy)) < epsilon
        actions[explore] = _uniform_slates(rng, int(explore.sum()), slate_size, n_items)
    if slate_size == 1:
        return Decision(actions, _epsilon_propensities(greedy, actions, epsilon, n_items))
    return Decision(actions, *_epsilon_slate_probabilities(greedy, actions, epsilon, n_items))


class GreedyPolicy(_ScoringPolicy, _Deterministic):
    """Recommend the item of highest estimated affinity ``⟨oᵢ, v⟩``.

    The estimate of a user's preference is the (noisy) observation itself. Ties go to the
    lowest item index. With ``slate_size = k > 1`` the slate is the top ``k`` items by
    affinity, in descending order, ties to the lowest index. Deterministic: propensity 1
    (joint, cascade and item-position alike; for other slates ``1[a_≤j = top_≤j]`` and
    ``1[a_j = top_j]``).

    Args:
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one scoring chunk (see :mod:`recgym.population.policies`).
    """

    name = "greedy"

    def _scored(self, observations: NDArray[Any], states: NDArray[Any] | None) -> NDArray[Any]:
        """The array whose rows are scored (the observations; oracles override)."""
        return observations

    def _choose(self, observations: NDArray[Any], states: NDArray[Any] | None) -> NDArray[Any]:
        return self._greedy(self._scored(observations, states))


class OracleGreedyPolicy(GreedyPolicy):
    """Recommend the item of highest *true* affinity ``⟨sᵢ, v⟩`` (needs the true states).

    An upper baseline for myopic reward: it knows every user's current preference
    exactly. ``act`` and ``probabilities`` raise ``ValueError`` when ``states`` is None.
    With ``slate_size = k > 1``: the top ``k`` items by true affinity, descending, ties to
    the lowest index; deterministic (probabilities as :class:`GreedyPolicy`'s).

    Args:
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one scoring chunk (see :mod:`recgym.population.policies`).
    """

    name = "oracle_greedy"
    needs_state = True

    def _scored(self, observations: NDArray[Any], states: NDArray[Any] | None) -> NDArray[Any]:
        return self._check_states(states)


class _EpsilonGreedyBase(_ScoringPolicy):
    """ε-greedy on the highest inner products of two tables, or uniform while there are none.

    Subclasses give the tables in :meth:`_greedy_tables`. While the tables are None the
    policy is uniformly random (``N`` integers per step, propensity ``1 / n_items``; at
    ``k > 1`` uniformly random ordered slates); otherwise it is ε-greedy on the top
    :attr:`slate_size` items (see :func:`_epsilon_greedy`), ties to the lowest index.

    Args:
        epsilon: Exploration probability in ``[0, 1]``.
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one scoring chunk.
    """

    def __init__(self, epsilon: float = 0.1, **options: Unpack[_ScoringOptions]) -> None:
        super().__init__(**options)
        self.epsilon = check_probability(epsilon, "epsilon")

    @abstractmethod
    def _greedy_tables(
        self, observations: NDArray[Any]
    ) -> tuple[NDArray[Any], NDArray[np.float64]] | None:
        """``(rows, items)`` whose highest inner product per row is the greedy item, or None."""

    def _greedy_or_none(self, observations: NDArray[Any]) -> NDArray[np.int64] | None:
        """The greedy item (slate) per user, int64 ``(N,)`` (``(N, k)``); None while uniform."""
        tables = self._greedy_tables(observations)
        if tables is None:
            return None
        # With ε = 1 the greedy slate is irrelevant (its weight 1 − ε is 0): skip scoring.
        if self.epsilon == 1.0:
            if self.slate_size == 1:
                return np.zeros(self._n_users, dtype=np.int64)
            return np.tile(np.arange(self.slate_size), (self._n_users, 1))
        rows, items = tables
        return _top_k_scores(rows, items, self.slate_size, self.max_chunk_bytes)

    def act(self, observations: NDArray[Any], *, states: NDArray[Any] | None = None) -> Decision:
        """See :meth:`Policy.act`."""
        observations = self._check_observations(observations, "act")
        greedy = self._greedy_or_none(observations)
        if greedy is None:
            return self._uniform_decision()
        return _epsilon_greedy(greedy, self.epsilon, self.n_items, self._generator)

    def _propensities(
        self, observations: NDArray[Any], actions: NDArray[np.int64], states: NDArray[Any] | None
    ) -> NDArray[np.float64]:
        greedy = self._greedy_or_none(observations)
        if greedy is None:
            return self._uniform_propensities()
        return _epsilon_propensities(greedy, actions, self.epsilon, self.n_items)

    def _slate_probabilities(
        self, observations: NDArray[Any], slates: NDArray[np.int64], states: NDArray[Any] | None
    ) -> SlateProbabilities:
        greedy = self._greedy_or_none(observations)
        if greedy is None:
            return self._uniform_slate_probabilities()
        return _epsilon_slate_probabilities(greedy, slates, self.epsilon, self.n_items)


class EpsilonGreedyPolicy(_EpsilonGreedyBase):
    """Greedy on the observations, but a uniformly random item with probability ``epsilon``.

    Per step: one uniform per user decides exploration, one integer per exploring user
    picks the item. Propensity ``(1 − ε)·1[a = greedy] + ε / n_items``.

    *Slates* (``slate_size = k > 1``): with probability ``ε`` the whole slate is a
    uniformly random ordered ``k``-subset (``k`` integers per exploring user), else the
    top ``k`` by affinity (descending, ties to the lowest index). With ``n`` items and the
    top-``k`` slate ``g``:

    - joint: ``(1 − ε)·1[a = g] + ε·(n − k)! / n!``;
    - cascade, prefix ``j``: ``(1 − ε)·1[a_≤j = g_≤j] + ε·Π_{l ≤ j} 1 / (n − l)``;
    - item-position ``j``: ``(1 − ε)·1[a_j = g_j] + ε / n``.

    Args:
        epsilon: Exploration probability in ``[0, 1]``.
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one scoring chunk (see :mod:`recgym.population.policies`).
    """

    name = "epsilon_greedy"

    def _greedy_tables(
        self, observations: NDArray[Any]
    ) -> tuple[NDArray[Any], NDArray[np.float64]] | None:
        """Greedy on the observations: never uniform."""
        return observations, self._item_table
