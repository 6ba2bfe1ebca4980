"""Greedy policies: the best item for each user's observation (or true state), and ε-greedy."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_probability
from recgym.population.policies.base import Decision, _Deterministic, _Inputs
from recgym.population.policies.scoring import (
    _ScoringOptions,
    _ScoringPolicy,
    _top_k_candidates,
)
from recgym.population.policies.slates import (
    SlateProbabilities,
    _Candidates,
    _epsilon_slate_probabilities,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["EpsilonGreedyPolicy", "GreedyPolicy", "OracleGreedyPolicy"]


def _epsilon_probabilities(
    greedy: NDArray[np.int64], actions: NDArray[np.int64], epsilon: float, n: int
) -> SlateProbabilities:
    """Exact ε-greedy probabilities of candidate ``actions``, exploring uniformly among ``n``.

    At slate size 1 (``(N,)`` arrays) ``(1 − ε)·1[a = greedy] + ε / n``, float64 ``(N,)``;
    at ``k > 1`` those of :func:`_epsilon_slate_probabilities`.
    """
    if greedy.ndim == 1:
        return SlateProbabilities(
            np.where(actions == greedy, 1.0 - epsilon, 0.0) + epsilon / n, None, None
        )
    return _epsilon_slate_probabilities(greedy, actions, epsilon, n)


def _epsilon_greedy(
    greedy: NDArray[np.int64], epsilon: float, candidates: _Candidates, rng: np.random.Generator
) -> Decision:
    """Replace each greedy action, with probability ``epsilon``, by a uniformly random one.

    Draws one uniform per user, then one integer per exploring user (``(N,)`` greedy
    items) or ``k`` per exploring user (``(N, k)`` greedy slates, replaced by a uniformly
    random ordered slate), among the candidates; nothing if ε = 0.
    """
    actions = greedy.copy()
    slate_size = 1 if greedy.ndim == 1 else greedy.shape[1]
    if epsilon > 0.0:
        explore = rng.random(len(greedy)) < epsilon
        actions[explore] = candidates.uniform_slates(rng, int(explore.sum()), slate_size)
    return Decision(actions, *_epsilon_probabilities(greedy, actions, epsilon, candidates.n))


class GreedyPolicy(_ScoringPolicy, _Deterministic):
    """Recommend the item of highest estimated affinity ``⟨oᵢ, v⟩``.

    The estimate of a user's preference is the (noisy) observation itself. Ties go to the
    lowest item index. With ``slate_size = k > 1`` the slate is the top ``k`` items by
    affinity, in descending order, ties to the lowest index. Deterministic: propensity 1
    (joint, cascade and item-position alike; for other slates ``1[a_≤j = top_≤j]`` and
    ``1[a_j = top_j]``). *Availability*: the best (top ``k``) available items, ties to
    the lowest index; an unavailable item has probability 0.

    Args:
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one scoring chunk (see :mod:`recgym.population.policies`).
    """

    name = "greedy"

    def _scored(self, inputs: _Inputs) -> NDArray[Any]:
        """The array whose rows are scored (the observations; oracles override)."""
        return inputs.observations

    def _choose(self, inputs: _Inputs) -> NDArray[np.int64]:
        return self._greedy(self._scored(inputs), inputs.candidates)


class OracleGreedyPolicy(GreedyPolicy):
    """Recommend the item of highest *true* affinity ``⟨sᵢ, v⟩`` (needs the true states).

    An upper baseline for myopic reward: it knows every user's current preference
    exactly. ``act`` and ``probabilities`` raise ``ValueError`` when ``states`` is None.
    With ``slate_size = k > 1``: the top ``k`` items by true affinity, descending, ties to
    the lowest index; deterministic (probabilities as :class:`GreedyPolicy`'s). With some
    items unavailable: the best (top ``k``) available items by true affinity.

    Args:
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one scoring chunk (see :mod:`recgym.population.policies`).
    """

    name = "oracle_greedy"
    needs_state = True

    def _scored(self, inputs: _Inputs) -> NDArray[Any]:
        return self._check_states(inputs.states)


class _EpsilonGreedyBase(_ScoringPolicy):
    """ε-greedy on the highest inner products of two tables, or uniform while there are none.

    Subclasses give the tables in :meth:`_greedy_tables`. While the tables are None the
    policy is uniformly random (``N`` integers per step, propensity ``1 / n_items``; at
    ``k > 1`` uniformly random ordered slates); otherwise it is ε-greedy on the top
    :attr:`slate_size` items (see :func:`_epsilon_greedy`), ties to the lowest index.
    With some items unavailable, both the greedy slate and the uniform draws are among the
    ``n`` available items (``n`` in place of ``n_items`` in every probability), and an
    unavailable item has probability 0.

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

    def _greedy_or_none(self, inputs: _Inputs) -> NDArray[np.int64] | None:
        """The greedy item (slate) per user among the candidates; None while uniform.

        Returns:
            numpy.ndarray | None: int64 ``(N,)`` at slate size 1, else ``(N, k)``.
        """
        tables = self._greedy_tables(inputs.observations)
        if tables is None:
            return None
        candidates = inputs.candidates
        # With ε = 1 the greedy slate is irrelevant (its weight 1 − ε is 0): skip scoring.
        if self.epsilon == 1.0:
            first = candidates.items(np.arange(self.slate_size))
            if self.slate_size == 1:
                return np.full(self._n_users, first[0], dtype=np.int64)
            return np.tile(first, (self._n_users, 1))
        rows, items = tables
        return _top_k_candidates(rows, items, self.slate_size, self.max_chunk_bytes, candidates)

    def _decide(self, inputs: _Inputs) -> Decision:
        greedy = self._greedy_or_none(inputs)
        if greedy is None:
            return self._uniform_decision(inputs.candidates)
        return _epsilon_greedy(greedy, self.epsilon, inputs.candidates, self._generator)

    def _exact(self, inputs: _Inputs, actions: NDArray[np.int64]) -> SlateProbabilities:
        """The exact probabilities of checked actions (items or slates), 0 if unavailable."""
        candidates = inputs.candidates
        greedy = self._greedy_or_none(inputs)
        if greedy is None:
            return self._uniform_probabilities(candidates, actions)
        probabilities = _epsilon_probabilities(greedy, actions, self.epsilon, candidates.n)
        return candidates.restrict(probabilities, actions)


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

    *Availability*: greedy on the available items only, exploring uniformly among the
    ``n`` available items: the probabilities above with ``n`` the available count
    (``ε / n`` at slate size 1), and 0 for an unavailable item.

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
