"""Slate primitives shared by the policies: uniform ordered subsets and closed-form probabilities.

Also :class:`_Candidates`, the items one call of a policy may recommend: every item, or
those a changing catalogue has available.

A slate is an ordered ``k``-subset of the ``n`` items, one per user (``(N, k)`` int64,
position 0 first). Its probabilities come in the three forms of the Open Bandit
Pipeline's slate estimators, gathered in a :class:`SlateProbabilities`:

- the joint probability of the whole ordered slate (``pscore``), ``(N,)``;
- the *cascade* probabilities (``pscore_cascade``), ``(N, k)``: column ``j`` is the
  probability that the first ``j + 1`` positions are exactly the slate's first ``j + 1``
  items, the running product of ``P(a_j | a_<j)``; its last column is the joint;
- the *item-position* marginals (``pscore_item_position``), ``(N, k)``: the probability of
  item ``a_j`` at position ``j`` whatever the other positions hold, or None where a policy
  has no closed form for it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["SlateProbabilities"]

#: Slates per pass of :func:`_place_ranks`: its ``(k, columns)`` int64 rows stay in the cache.
_RANK_CHUNK_COLUMNS = 2**14


class SlateProbabilities(NamedTuple):
    """The probabilities of given slates under a policy (see :mod:`.slates`).

    Attributes:
        propensities: float64 ``(N,)``: the joint probability of each user's whole slate
            (of its single item at slate size 1).
        cascade_propensities: float64 ``(N, k)``: column ``j`` is the probability that the
            first ``j + 1`` positions are the slate's first ``j + 1`` items; the last
            column equals ``propensities``. None at slate size 1.
        item_position_propensities: float64 ``(N, k)``: the marginal probability of item
            ``a_j`` at position ``j``; None at slate size 1 and for policies without a
            closed form (softmax).
    """

    propensities: NDArray[np.float64]
    cascade_propensities: NDArray[np.float64] | None
    item_position_propensities: NDArray[np.float64] | None


def _uniform_slates(rng: np.random.Generator, m: int, k: int, n: int) -> NDArray[np.int64]:
    """Draw ``m`` independent uniformly random ordered ``k``-subsets of ``range(n)``.

    At ``k = 1`` this is the single draw ``rng.integers(n, size=m, dtype=np.int64)``,
    shape ``(m,)``. At ``k > 1`` one call per position draws the ranks, position-major
    ``(k, m)``: position ``j``'s rank ``r`` is uniform on ``[0, n − j)`` and names the ``r``-th
    smallest item not yet in the user's slate (see :func:`_place_ranks`), so every ordered
    subset has probability ``(n − k)! / n!``, with no rejection and no ``(m, n)`` array.

    Args:
        rng: The generator drawn from.
        m: Number of slates.
        k: Items per slate, ``1 <= k <= n``.
        n: Number of items.

    Returns:
        numpy.ndarray: int64 items, ``(m,)`` at ``k = 1``, else ``(m, k)`` with distinct
        items per row.
    """
    if k == 1:
        return rng.integers(n, size=m, dtype=np.int64)
    ranks = np.empty((k, m), dtype=np.int64)
    for j, row in enumerate(ranks):  # a scalar bound per call: faster than broadcast bounds
        row[...] = rng.integers(n - j, size=m, dtype=np.int64)
    for start in range(0, m, _RANK_CHUNK_COLUMNS):
        _place_ranks(ranks[:, start : start + _RANK_CHUNK_COLUMNS])
    return np.ascontiguousarray(ranks.T)


def _place_ranks(ranks: NDArray[np.int64]) -> None:
    """Turn each slate's ranks among the remaining items into items, in place.

    Row ``j`` holds position ``j``'s ranks, one column per slate: a rank ``r`` in
    ``[0, n − j)`` becomes the ``r``-th smallest item (from 0) not among the slate's
    first ``j`` items, the least fixed point of ``x = r + #{earlier items ≤ x}``. It is
    reached by iterating from ``x = r``: the iterates rise and stop at the first ``x`` not
    among the earlier items; with ``k ≪ n`` a collision is rare, so a few passes over the
    (contiguous) rows suffice.

    Args:
        ranks: int64 ``(k, m)``, position-major, overwritten with the items.
    """
    for j in range(1, len(ranks)):
        rank = ranks[j]
        item = rank.copy()
        while True:
            moved = rank.copy()
            for earlier in ranks[:j]:
                moved += earlier <= item
            if np.array_equal(moved, item):
                break
            item = moved
        rank[...] = item


def _uniform_cascade(k: int, n: int) -> NDArray[np.float64]:
    """``Π_{l ≤ j} 1 / (n − l)`` for ``j < k``: a uniform ordered subset's prefix probabilities."""
    return np.cumprod(1.0 / (n - np.arange(k)), dtype=np.float64)


def _uniform_slate_probabilities(m: int, k: int, n: int) -> SlateProbabilities:
    """The probabilities of any ``m`` slates of ``k`` out of ``n`` items drawn uniformly.

    Joint ``(n − k)! / n!``, cascade ``Π_{l ≤ j} 1 / (n − l)``, item-position ``1 / n``.
    """
    cascade = np.tile(_uniform_cascade(k, n), (m, 1))
    return SlateProbabilities(cascade[:, -1].copy(), cascade, np.full((m, k), 1.0 / n))


def _epsilon_slate_probabilities(
    greedy: NDArray[np.int64], slates: NDArray[np.int64], epsilon: float, n: int
) -> SlateProbabilities:
    """The exact probabilities of ``slates`` under ε-greedy on the slates ``greedy``.

    With probability ``ε`` the whole slate is a uniformly random ordered subset, else it
    is ``greedy``:

    - cascade ``j``: ``(1 − ε)·1[a_≤j = g_≤j] + ε·Π_{l ≤ j} 1 / (n − l)``;
    - joint: the last cascade column, ``(1 − ε)·1[a = g] + ε·(n − k)! / n!``;
    - item-position ``j``: ``(1 − ε)·1[a_j = g_j] + ε / n``.

    With ``ε = 0`` these are a deterministic policy's 0s and 1s.

    Args:
        greedy: int64 ``(m, k)``: the slate chosen when not exploring.
        slates: int64 ``(m, k)``: the slates whose probabilities are wanted.
        epsilon: Exploration probability in ``[0, 1]``.
        n: Number of items.

    Returns:
        SlateProbabilities: joint ``(m,)``, cascade and item-position ``(m, k)``.
    """
    matches = slates == greedy
    exploit = 1.0 - epsilon
    prefixes = np.logical_and.accumulate(matches, axis=1)
    cascade = np.where(prefixes, exploit, 0.0) + epsilon * _uniform_cascade(slates.shape[1], n)
    # ε·(1 / n), as the cascade's first column: the two agree bit for bit at position 0.
    item_position = np.where(matches, exploit, 0.0) + epsilon * (1.0 / n)
    return SlateProbabilities(cascade[:, -1].copy(), cascade, item_position)


class _Candidates(NamedTuple):
    """The items one call of a policy may recommend: every item, or the available ones.

    A policy restricted to the available items works on their *positions* ``0 … n − 1``
    among the candidates (draws, scores of the candidates' rows) and maps the positions
    back to items with :meth:`items`; with every item a candidate both maps are the
    identity, so nothing changes, not even a rounding.

    Attributes:
        n: Number of candidate items (``n_items``, or the available count).
        ids: int64 ``(n,)``: the candidate items, ascending; None when every item is one.
        mask: bool ``(n_items,)``: the availability; None when every item is a candidate.
    """

    n: int
    ids: NDArray[np.int64] | None = None
    mask: NDArray[np.bool_] | None = None

    @classmethod
    def of(cls, available: NDArray[np.bool_] | None, n_items: int) -> _Candidates:
        """The candidates of a checked mask: the available items; every item for None."""
        if available is None:
            return cls(n_items)
        ids = np.flatnonzero(available)
        return cls(len(ids), ids, available)

    def items(self, positions: Any) -> Any:
        """The items at ``positions`` among the candidates: an int64 array of any shape."""
        return positions if self.ids is None else self.ids[positions]

    def subset(self, table: NDArray[Any]) -> NDArray[Any]:
        """The rows of the candidate items of an item-indexed array (itself for every item)."""
        return table if self.ids is None else table[self.ids]

    def hidden(self) -> NDArray[np.int64]:
        """The items that are not candidates, int64, ascending (empty for every item)."""
        if self.mask is None:
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(~self.mask)

    def uniform_slates(self, rng: np.random.Generator, m: int, k: int) -> NDArray[np.int64]:
        """:func:`_uniform_slates` among the candidates: ``(m,)`` at ``k = 1``, else ``(m, k)``.

        Draws exactly what :func:`_uniform_slates` draws for ``n`` items (ranks among the
        candidates), then maps them to items.
        """
        return self.items(_uniform_slates(rng, m, k, self.n))

    def restrict(
        self, probabilities: SlateProbabilities, actions: NDArray[np.int64]
    ) -> SlateProbabilities:
        """Probabilities of ``actions`` with 0 wherever they show an item that is not a candidate.

        Each probability is kept as it is (bit for bit) where the actions are candidates:
        a joint or cascade prefix becomes 0 from the first non-candidate position on, an
        item-position marginal where its item is not a candidate.

        Args:
            probabilities: Computed for candidate actions: joint ``(N,)``; cascade and
                item-position ``(N, k)`` at ``k > 1`` (item-position possibly None).
            actions: int64 items ``(N,)`` or slates ``(N, k)``.
        """
        if self.mask is None:
            return probabilities
        return _zero_unshown(probabilities, self.mask[actions])


def _zero_unshown(
    probabilities: SlateProbabilities, shown: NDArray[np.bool_]
) -> SlateProbabilities:
    """Probabilities with 0 wherever an action shows an item the policy cannot show.

    Each probability is kept as it is (bit for bit) elsewhere: a joint or cascade prefix
    becomes 0 from the first position whose ``shown`` is False on, an item-position
    marginal where its own ``shown`` is False.

    Args:
        probabilities: Joint ``(N,)``; cascade and item-position ``(N, k)`` at ``k > 1``
            (item-position possibly None).
        shown: bool, the shape of the actions (``(N,)`` or ``(N, k)``): whether the policy
            can show each action's item.
    """
    if probabilities.cascade_propensities is None:
        return SlateProbabilities(np.where(shown, probabilities.propensities, 0.0), None, None)
    prefixes = np.logical_and.accumulate(shown, axis=1)
    cascade = np.where(prefixes, probabilities.cascade_propensities, 0.0)
    marginals = probabilities.item_position_propensities
    item_position = None if marginals is None else np.where(shown, marginals, 0.0)
    return SlateProbabilities(cascade[:, -1].copy(), cascade, item_position)
