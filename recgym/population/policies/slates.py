"""Slate primitives shared by the policies: uniform ordered subsets and closed-form probabilities.

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

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["SlateProbabilities"]

#: Users per pass of :func:`_place_ranks`: its ``(rows, k)`` int64 arrays stay in the cache.
_RANK_CHUNK_ROWS = 2**14


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
    shape ``(m,)``. At ``k > 1`` one call draws the ``(m, k)`` ranks: position ``j``'s rank
    ``r`` is uniform on ``[0, n − j)`` and names the ``r``-th smallest item not yet in the
    user's slate (see :func:`_place_ranks`), so every ordered subset has probability
    ``(n − k)! / n!``, with no rejection.

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
    ranks = rng.integers(0, n - np.arange(k), size=(m, k), dtype=np.int64)
    for start in range(0, m, _RANK_CHUNK_ROWS):
        _place_ranks(ranks[start : start + _RANK_CHUNK_ROWS])
    return ranks


def _place_ranks(ranks: NDArray[np.int64]) -> None:
    """Turn each row's ranks among the remaining items into items, in place.

    Column ``j`` holds a rank ``r`` in ``[0, n − j)``; it becomes the ``r``-th smallest
    item (from 0) that is not among the row's first ``j`` items. Walking those items in
    ascending order, ``x ← x + [x ≥ s]`` skips each one at or below the running ``x``; the
    walked items are kept sorted by inserting each new item where it belongs
    (``O(k²)`` vector operations over the rows in all).

    Args:
        ranks: int64 ``(rows, k)``, overwritten with the items.
    """
    rows, k = ranks.shape
    ordered = np.empty((rows, k), dtype=np.int64)  # the first j items of each row, sorted
    ordered[:, 0] = ranks[:, 0]
    for j in range(1, k):
        item = ranks[:, j].copy()
        for column in ordered[:, :j].T:
            item += item >= column
        # The item skipped ``item − rank`` smaller items: that is where it is inserted.
        position = item - ranks[:, j]
        ranks[:, j] = item
        for column in range(j, -1, -1):  # right to left: each column reads its left one
            if column > 0:
                moved = np.where(column > position, ordered[:, column - 1], ordered[:, column])
            else:
                moved = ordered[:, 0]
            ordered[:, column] = np.where(column == position, item, moved)


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
