"""Greedy policies: the best item for each user's observation (or true state), and ε-greedy."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_probability
from recgym.population.policies.base import Decision, _Deterministic
from recgym.population.policies.scoring import (
    DEFAULT_MAX_CHUNK_BYTES,
    _argmax_scores,
    _ScoringPolicy,
)

__all__ = ["EpsilonGreedyPolicy", "GreedyPolicy", "OracleGreedyPolicy"]


def _epsilon_propensities(
    greedy: NDArray[np.int64], actions: NDArray[np.int64], epsilon: float, n_items: int
) -> NDArray[np.float64]:
    """Exact ε-greedy probabilities ``(1 − ε)·1[a = greedy] + ε / n_items``, float64 ``(N,)``."""
    return np.where(actions == greedy, 1.0 - epsilon, 0.0) + epsilon / n_items


def _epsilon_greedy(
    greedy: NDArray[np.int64], epsilon: float, n_items: int, rng: np.random.Generator
) -> Decision:
    """Replace each greedy action, with probability ``epsilon``, by a uniformly random item.

    Draws one uniform per user and one integer per exploring user (nothing if ε = 0).
    """
    actions = greedy.copy()
    if epsilon > 0.0:
        explore = rng.random(len(greedy)) < epsilon
        actions[explore] = rng.integers(n_items, size=np.count_nonzero(explore))
    return Decision(actions, _epsilon_propensities(greedy, actions, epsilon, n_items))


class GreedyPolicy(_ScoringPolicy, _Deterministic):
    """Recommend the item of highest estimated affinity ``⟨oᵢ, v⟩``.

    The estimate of a user's preference is the (noisy) observation itself. Ties go to the
    lowest item index. Deterministic: propensity 1.

    Args:
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

    Args:
        max_chunk_bytes: Memory budget of one scoring chunk (see :mod:`recgym.population.policies`).
    """

    name = "oracle_greedy"
    needs_state = True

    def _scored(self, observations: NDArray[Any], states: NDArray[Any] | None) -> NDArray[Any]:
        return self._check_states(states)


class _EpsilonGreedyBase(_ScoringPolicy):
    """ε-greedy on the highest inner product of two tables, or uniform while there are none.

    Subclasses give the tables in :meth:`_greedy_tables`. While the tables are None the
    policy is uniformly random (``N`` integers per step, propensity ``1 / n_items``);
    otherwise it is ε-greedy (see :func:`_epsilon_greedy`), ties to the lowest index.

    Args:
        epsilon: Exploration probability in ``[0, 1]``.
        max_chunk_bytes: Memory budget of one scoring chunk.
    """

    def __init__(
        self, epsilon: float = 0.1, *, max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES
    ) -> None:
        super().__init__(max_chunk_bytes=max_chunk_bytes)
        self.epsilon = check_probability(epsilon, "epsilon")

    @abstractmethod
    def _greedy_tables(
        self, observations: NDArray[Any]
    ) -> tuple[NDArray[Any], NDArray[np.float64]] | None:
        """``(rows, items)`` whose highest inner product per row is the greedy item, or None."""

    def _greedy_or_none(self, observations: NDArray[Any]) -> NDArray[np.int64] | None:
        """The greedy item per user, int64 ``(N,)``; None while the policy is uniform."""
        tables = self._greedy_tables(observations)
        if tables is None:
            return None
        # With ε = 1 the greedy item is irrelevant; skip the scoring pass.
        if self.epsilon == 1.0:
            return np.zeros(self._n_users, dtype=np.int64)
        rows, items = tables
        return _argmax_scores(rows, items, self.max_chunk_bytes)

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


class EpsilonGreedyPolicy(_EpsilonGreedyBase):
    """Greedy on the observations, but a uniformly random item with probability ``epsilon``.

    Per step: one uniform per user decides exploration, one integer per exploring user
    picks the item. Propensity ``(1 − ε)·1[a = greedy] + ε / n_items``.

    Args:
        epsilon: Exploration probability in ``[0, 1]``.
        max_chunk_bytes: Memory budget of one scoring chunk (see :mod:`recgym.population.policies`).
    """

    name = "epsilon_greedy"

    def _greedy_tables(
        self, observations: NDArray[Any]
    ) -> tuple[NDArray[Any], NDArray[np.float64]] | None:
        """Greedy on the observations: never uniform."""
        return observations, self._item_table
