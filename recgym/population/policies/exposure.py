"""Exposure-capped assignment: greedy, but no item reaches more than a share of users a step."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_float_in_range
from recgym.population.policies.base import _Deterministic
from recgym.population.policies.scoring import (
    DEFAULT_MAX_CHUNK_BYTES,
    _iter_scores,
    _ScoringPolicy,
)

__all__ = ["ExposureCappedPolicy", "ExposureConstrainedPolicy"]


class ExposureCappedPolicy(_ScoringPolicy, _Deterministic):
    """Greedy on the observations, but no item is shown to more than a share of users per step.

    Each item has a per-step capacity ``c = ⌈max_share · N⌉``. The assignment runs in
    rounds: every unassigned user proposes its best item among those with capacity left
    (ties → lowest index); each item accepts, up to its remaining capacity, the proposers
    with the highest affinity (ties → lowest user index), and acceptances are final; the
    rest propose again next round. Each round either assigns every proposer or fills an
    item, so at most ``n_items`` rounds run, each re-scoring only the unassigned users in
    chunks. A valid assignment exists exactly when ``c · n_items ≥ N``, checked at
    :meth:`reset`. Deterministic: propensity 1. With ``max_share = 1`` it is
    :class:`GreedyPolicy`.

    Args:
        max_share: Largest share of the population one item may reach per step, in
            ``(0, 1]``.
        max_chunk_bytes: Memory budget of one scoring chunk (see :mod:`recgym.population.policies`).
    """

    name = "exposure_capped"

    def __init__(
        self, max_share: float = 0.05, *, max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES
    ) -> None:
        super().__init__(max_chunk_bytes=max_chunk_bytes)
        self.max_share = check_float_in_range(max_share, "max_share", 0.0, 1.0, include_low=False)
        self.capacity = 0  # users per item and step, set by reset()

    def _on_reset(self) -> None:
        # Round away float noise first (0.07 * 100 is 7.000000000000001, not 8 users).
        self.capacity = max(1, math.ceil(round(self.max_share * self._n_users, 9)))
        if self.capacity * self.n_items < self._n_users:
            raise ValueError(
                f"`max_share` is too small for {self._n_users} users and {self.n_items} "
                f"items: each item may be shown to ceil(max_share * n_users) = "
                f"{self.capacity} users per step, {self.capacity * self.n_items} in all; "
                f"need max_share >= {math.ceil(self._n_users / self.n_items) / self._n_users:g}, "
                f"got {self.max_share!r}"
            )

    def _best_open_items(
        self, observations: NDArray[Any], is_full: NDArray[np.bool_]
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Best item with capacity left and its score, per row of ``observations``."""
        best = np.empty(len(observations), dtype=np.int64)
        best_scores = np.empty(len(observations))
        for chunk, scores, _ in _iter_scores(observations, self._item_table, self.max_chunk_bytes):
            scores[:, is_full] = -np.inf
            best[chunk] = scores.argmax(axis=1)
            best_scores[chunk] = scores[np.arange(len(scores)), best[chunk]]
        return best, best_scores

    def _assign(self, observations: NDArray[Any]) -> NDArray[np.int64]:
        """The capacity-constrained assignment, int64 ``(N,)`` (see the class docstring)."""
        actions = np.full(self._n_users, -1, dtype=np.int64)
        remaining = np.full(self.n_items, self.capacity, dtype=np.int64)
        unassigned = np.arange(self._n_users)
        while len(unassigned):
            proposals, scores = self._best_open_items(observations[unassigned], remaining == 0)
            # Group proposers by item; within an item, best score first, then lowest user.
            order = np.lexsort((unassigned, -scores, proposals))
            items = proposals[order]
            rank_in_item = np.arange(len(items)) - np.searchsorted(items, items)
            accepted = rank_in_item < remaining[items]
            actions[unassigned[order[accepted]]] = items[accepted]
            remaining -= np.bincount(items[accepted], minlength=self.n_items)
            unassigned = np.sort(unassigned[order[~accepted]])
        return actions

    def _choose(self, observations: NDArray[Any], states: NDArray[Any] | None) -> NDArray[Any]:
        return self._assign(observations)


#: The former name of :class:`ExposureCappedPolicy`, kept as a plain alias (the same class).
ExposureConstrainedPolicy = ExposureCappedPolicy
