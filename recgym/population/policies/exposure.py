"""Exposure-capped assignment: greedy, but no item reaches more than a share of users a step."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_float_in_range
from recgym.population.policies.base import _Deterministic, _Inputs
from recgym.population.policies.scoring import (
    _iter_scores,
    _ScoringOptions,
    _ScoringPolicy,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

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

    *Slates* (``slate_size = k > 1``): every user gets ``k`` distinct items, and the
    capacity ``c`` counts every slate position (an item may fill at most ``c`` of the
    step's ``N · k`` positions). The slates are filled position by position, each by the
    rounds above, where a user proposes only items not yet in its slate. A valid set of
    slates exists exactly when ``c · n_items ≥ N · k``, checked at :meth:`reset`. The
    rounds alone can leave a user *stuck*: every item with capacity left is already in
    its slate. Then a swap completes it (the stuck users hold every item ``f`` with
    capacity left; for each ``f``, lowest index first, up to its remaining capacity of
    stuck users, lowest index first, are paired with as many donors, the users without
    ``f`` of highest affinity for it, ties to the lowest index): the donor's last item
    ``g`` that the stuck user lacks moves to the stuck user's open position and ``f``
    takes its place in the donor's slate, so ``f`` is used once more and ``g`` as often
    as before. A donor exists because ``f`` has fewer than ``c`` holders, all stuck users
    among them. Deterministic: propensity 1, cascade ``1[a_≤j = c_≤j]``, item-position
    ``1[a_j = c_j]`` for the assigned slates ``c``.

    *Availability*: an unavailable item has no capacity, so only the ``n`` available
    items are assigned, as on a catalogue of those items; an unavailable item has
    probability 0. Feasibility then needs ``c · n ≥ N · k``, checked at every
    :meth:`act` (and :meth:`probabilities`) given a mask.

    Args:
        max_share: Largest share of the population one item may reach per step, in
            ``(0, 1]``.
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one scoring chunk (see :mod:`recgym.population.policies`).
    """

    name = "exposure_capped"

    def __init__(self, max_share: float = 0.05, **options: Unpack[_ScoringOptions]) -> None:
        super().__init__(**options)
        self.max_share = check_float_in_range(max_share, "max_share", 0.0, 1.0, include_low=False)
        self.capacity = 0  # users per item and step, set by reset()

    def _on_reset(self) -> None:
        # Round away float noise first (0.07 * 100 is 7.000000000000001, not 8 users).
        self.capacity = max(1, math.ceil(round(self.max_share * self._n_users, 9)))
        k = self.slate_size
        if self.capacity * self.n_items < self._n_users * k:
            need = math.ceil(self._n_users * k / self.n_items) / self._n_users
            positions = "" if k == 1 else f", fewer than the {self._n_users * k} slate positions"
            raise ValueError(
                f"`max_share` is too small for {self._n_users} users and {self.n_items} "
                f"items: each item may be shown to ceil(max_share * n_users) = "
                f"{self.capacity} users per step, {self.capacity * self.n_items} in all"
                f"{positions}; need max_share >= {need:g}, got {self.max_share!r}"
            )

    def _best_open_items(
        self,
        observations: NDArray[Any],
        is_full: NDArray[np.bool_],
        taken: NDArray[np.int64],
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Best item with capacity left and not in ``taken``, and its score, per row.

        A row whose every item is full or taken gets score −∞.
        """
        best = np.empty(len(observations), dtype=np.int64)
        best_scores = np.empty(len(observations))
        for chunk, scores, _ in _iter_scores(observations, self._item_table, self.max_chunk_bytes):
            scores[:, is_full] = -np.inf
            if taken.shape[1]:
                scores[np.arange(len(scores))[:, np.newaxis], taken[chunk]] = -np.inf
            best[chunk] = scores.argmax(axis=1)
            best_scores[chunk] = scores[np.arange(len(scores)), best[chunk]]
        return best, best_scores

    def _check_feasible(self, n_available: int) -> None:
        """Refuse a step whose available items cannot fill every slate position."""
        k = self.slate_size
        if self.capacity * n_available < self._n_users * k:
            positions = "users" if k == 1 else "slate positions"
            raise ValueError(
                f"`available` leaves too few items for max_share={self.max_share!r}: each "
                f"of the {n_available} available items may be shown to "
                f"ceil(max_share * n_users) = {self.capacity} users per step, "
                f"{self.capacity * n_available} in all, fewer than the "
                f"{self._n_users * k} {positions}; need at least "
                f"{math.ceil(self._n_users * k / self.capacity)} available items"
            )

    def _assign(
        self, observations: NDArray[Any], available: NDArray[np.bool_] | None
    ) -> NDArray[np.int64]:
        """The capacity-constrained slates, int64 ``(N,)`` or ``(N, k)`` (see the class doc).

        An unavailable item (``available`` False) starts with no capacity left.
        """
        slates = np.full((self._n_users, self.slate_size), -1, dtype=np.int64)
        remaining = np.full(self.n_items, self.capacity, dtype=np.int64)
        if available is not None:
            self._check_feasible(int(np.count_nonzero(available)))
            remaining[~available] = 0
        for position in range(self.slate_size):
            held = slates[:, : position + 1]  # a view: the positions filled so far and this one
            stuck = self._fill(observations, held, remaining)
            if len(stuck):
                self._swap_in(observations, held, remaining, stuck)
        return slates.reshape(self._n_users) if self.slate_size == 1 else slates

    def _fill(
        self, observations: NDArray[Any], held: NDArray[np.int64], remaining: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """Fill the last column of ``held`` by proposal rounds, updating ``remaining``.

        Returns:
            numpy.ndarray: int64, ascending: the stuck users, left unassigned because every
            item with capacity left is already in their slates.
        """
        actions = held[:, -1]
        unassigned = np.arange(self._n_users)
        stuck = [unassigned[:0]]
        while len(unassigned):
            proposals, scores = self._best_open_items(
                observations[unassigned], remaining == 0, held[unassigned, :-1]
            )
            blocked = scores == -np.inf
            if blocked.any():
                stuck.append(unassigned[blocked])
                unassigned, proposals, scores = (
                    unassigned[~blocked],
                    proposals[~blocked],
                    scores[~blocked],
                )
            # Group proposers by item; within an item, best score first, then lowest user.
            order = np.lexsort((unassigned, -scores, proposals))
            items = proposals[order]
            rank_in_item = np.arange(len(items)) - np.searchsorted(items, items)
            accepted = rank_in_item < remaining[items]
            actions[unassigned[order[accepted]]] = items[accepted]
            remaining -= np.bincount(items[accepted], minlength=self.n_items)
            unassigned = np.sort(unassigned[order[~accepted]])
        return np.sort(np.concatenate(stuck))

    def _swap_in(
        self,
        observations: NDArray[Any],
        held: NDArray[np.int64],
        remaining: NDArray[np.int64],
        stuck: NDArray[np.int64],
    ) -> None:
        """Complete the last column of ``held`` for the ``stuck`` users by swaps.

        Every stuck user already holds every item ``f`` with capacity left. For each such
        ``f`` (lowest index first), up to ``remaining[f]`` stuck users (lowest index first)
        are paired with as many donors: the users without ``f`` of highest affinity for it
        (ties → lowest index). A donor's last item ``g`` that its stuck user lacks is
        replaced by ``f`` in the donor's slate and placed in the stuck user's open
        position. Capacities stay exact: ``f`` is used once more, ``g`` as often as before.
        """
        position = held.shape[1] - 1
        for item in np.flatnonzero(remaining):
            count = min(int(remaining[item]), len(stuck))
            users, stuck = stuck[:count], stuck[count:]
            lacking = np.flatnonzero(~(held == item).any(axis=1))
            affinity = np.asarray(observations[lacking], dtype=np.float64) @ self._item_table[item]
            donors = lacking[np.lexsort((lacking, -affinity))[:count]]
            # The donor's items its stuck user lacks; take the last (the least preferred).
            gives = ~(held[donors, :, np.newaxis] == held[users, np.newaxis, :position]).any(axis=2)
            slot = position - np.argmax(gives[:, ::-1], axis=1)
            held[users, position] = held[donors, slot]
            held[donors, slot] = item
            remaining[item] -= count
            if not len(stuck):
                return

    def _choose(self, inputs: _Inputs) -> NDArray[np.int64]:
        return self._assign(inputs.observations, inputs.candidates.mask)


#: The former name of :class:`ExposureCappedPolicy`, kept as a plain alias (the same class).
ExposureConstrainedPolicy = ExposureCappedPolicy
