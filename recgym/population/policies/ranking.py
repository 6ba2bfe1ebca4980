"""Per-user rankings that may skip what each user already consumed (``exclude_consumed``).

:class:`_RankingPolicy` is the base of the policies whose candidates can differ per user:
the ideal recommender, most popular, the implicit-feedback factorisation and item-kNN.
With ``exclude_consumed=True`` (Chaney et al. 2018's consume-each-item-once setting) a
user's candidates are the available items it has not consumed yet, remembered from
:meth:`~.base.Policy.update` (one bit per user and item, see
:class:`~.interactions._ConsumedItems`); at least ``slate_size`` of them must remain,
else ``act`` and the probabilities raise ``ValueError`` naming the first user short of
items. Two kernels serve them:

- :meth:`_RankingPolicy._rank`: each user's top ``k`` of a score computed chunk by chunk
  of users, ties to the earlier candidate;
- :meth:`_RankingPolicy._uniform_left` and :meth:`_RankingPolicy._uniform_left_exact`: a
  uniformly random ordered slate among each user's own candidates, with its exact
  probabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_bool
from recgym.population.policies.base import Decision
from recgym.population.policies.interactions import _ConsumedItems, _too_few_left
from recgym.population.policies.scoring import (
    _BYTES_PER_SCORE,
    _chunks,
    _rows_per_chunk,
    _ScoringOptions,
    _ScoringPolicy,
    _top_k,
)
from recgym.population.policies.slates import SlateProbabilities, _Candidates, _zero_unshown

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__: list[str] = []

#: ``score(rows, columns)``: the float64 scores ``(len(rows), len(columns))`` of the users
#: of a slice of rows for the items ``columns`` (a new, writable array).
ScoreFunction = Callable[[slice, NDArray[np.int64]], NDArray[np.float64]]


def _uniform_left_probabilities(left: NDArray[np.int64], k: int) -> SlateProbabilities:
    """The probabilities of uniformly random ordered slates among ``left[i]`` items per user.

    Joint ``Π_{l < k} 1 / (left_i − l)``, cascade its running product, item-position
    ``1 / left_i`` (``1 / left_i`` alone at ``k = 1``).
    """
    first = np.divide(1.0, left, dtype=np.float64)
    if k == 1:
        return SlateProbabilities(first, None, None)
    cascade = np.cumprod(np.divide(1.0, left[:, np.newaxis] - np.arange(k)), axis=1)
    item_position = np.repeat(first[:, np.newaxis], k, axis=1)
    return SlateProbabilities(cascade[:, -1].copy(), cascade, item_position)


class _RankingPolicy(_ScoringPolicy):
    """A scoring policy whose candidates may exclude each user's consumed items.

    Args:
        exclude_consumed: Recommend to each user only items it has not consumed yet.
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one chunk of scores.
    """

    def __init__(
        self, *, exclude_consumed: bool = False, **options: Unpack[_ScoringOptions]
    ) -> None:
        super().__init__(**options)
        self.exclude_consumed = check_bool(exclude_consumed, "exclude_consumed")
        self._consumed: _ConsumedItems | None = None

    def _on_reset(self) -> None:
        self._consumed = (
            _ConsumedItems(self._n_users, self.n_items) if self.exclude_consumed else None
        )

    def _remember(self, consumed: NDArray[np.int64]) -> None:
        """Note each user's consumed item (``-1``: none) when excluding consumed items."""
        if self._consumed is not None:
            self._consumed.add(consumed)

    def _forget(self, rows: NDArray[np.int64]) -> None:
        if self._consumed is not None:
            self._consumed.forget(rows)

    def _rank(
        self,
        columns: NDArray[np.int64],
        score: ScoreFunction,
        bytes_per_score: int = _BYTES_PER_SCORE,
    ) -> NDArray[np.int64]:
        """Each user's :attr:`slate_size` highest-scored candidates, best first.

        Ties go to the candidate that comes first in ``columns``; with
        ``exclude_consumed`` a user's consumed items are skipped.

        Args:
            columns: int64 ``(c,)``: the candidate items, in their tie-breaking order.
            score: The scores of a chunk of users for ``columns`` (see :data:`ScoreFunction`).
            bytes_per_score: Bytes one (user, item) score needs while ``score`` runs; chunks
                hold at most ``max_chunk_bytes`` of them.

        Returns:
            numpy.ndarray: int64 items, ``(N,)`` at slate size 1, else ``(N, k)``.

        Raises:
            ValueError: If ``exclude_consumed`` leaves a user fewer than ``k`` candidates.
        """
        k = self.slate_size
        rows = _rows_per_chunk(len(columns) * bytes_per_score, self.max_chunk_bytes)
        top = np.empty((self._n_users, k), dtype=np.int64)
        for chunk in _chunks(self._n_users, rows):
            scores = score(chunk, columns)
            if self._consumed is not None:
                excluded = self._consumed.rows(chunk)[:, columns]
                left = len(columns) - np.count_nonzero(excluded, axis=1)
                short = np.flatnonzero(left < k)
                if short.size:
                    user = int(short[0])
                    raise ValueError(_too_few_left(chunk.start + user, int(left[user]), k))
                scores[excluded] = -np.inf
            _top_k(scores, top[chunk])
        chosen = columns[top]
        return chosen[:, 0].copy() if k == 1 else chosen

    def _uniform_left(self, candidates: _Candidates) -> Decision:
        """A uniformly random item (ordered slate) among each user's own candidates.

        Without ``exclude_consumed`` it is :meth:`~.base.Policy._uniform_decision`. With
        it, user ``i`` has ``n_i`` candidates (available, not consumed); position ``j``
        draws a rank uniform on ``[0, n_i − j)`` (``k`` arrays of ``N`` integers, position
        by position) naming the rank-th smallest candidate not yet in the slate.
        """
        if self._consumed is None:
            return self._uniform_decision(candidates)
        k = self.slate_size
        left = self._consumed.check_left(candidates.mask, k)
        ranks = np.stack([self._generator.integers(left - j) for j in range(k)], axis=1)
        slates = np.empty((self._n_users, k), dtype=np.int64)
        rows = _rows_per_chunk(self.n_items * 9, self.max_chunk_bytes)
        for chunk in _chunks(self._n_users, rows):
            allowed = ~self._consumed.rows(chunk)
            if candidates.mask is not None:
                allowed &= candidates.mask
            users = np.arange(len(allowed))
            for j in range(k):
                rank = ranks[chunk, j, np.newaxis]
                item = np.argmax(np.cumsum(allowed, axis=1) > rank, axis=1)
                slates[chunk, j] = item
                allowed[users, item] = False
        actions = slates[:, 0].copy() if k == 1 else slates
        return Decision(actions, *_uniform_left_probabilities(left, k))

    def _uniform_left_exact(
        self, candidates: _Candidates, actions: NDArray[np.int64]
    ) -> SlateProbabilities:
        """The probabilities of ``actions`` under :meth:`_uniform_left`; 0 for a non-candidate."""
        if self._consumed is None:
            return self._uniform_probabilities(candidates, actions)
        left = self._consumed.check_left(candidates.mask, self.slate_size)
        shown = ~self._consumed.holds(actions)
        if candidates.mask is not None:
            shown &= candidates.mask[actions]
        return _zero_unshown(_uniform_left_probabilities(left, self.slate_size), shown)

    def _candidate_columns(self, candidates: _Candidates) -> NDArray[np.int64]:
        """The candidate items in table order, int64."""
        return np.arange(self.n_items) if candidates.ids is None else candidates.ids
