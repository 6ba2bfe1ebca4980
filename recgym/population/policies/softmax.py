"""Boltzmann exploration: :class:`SoftmaxPolicy`, its item layout and inverse-CDF sampler."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_positive_float
from recgym.population.policies.base import Decision, _Inputs
from recgym.population.policies.scoring import (
    _chunks,
    _rows_per_chunk,
    _ScoringOptions,
    _ScoringPolicy,
)
from recgym.population.policies.slates import SlateProbabilities, _Candidates

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["SoftmaxPolicy"]

#: Target size (1 MiB) of the item-major weight buffer of one :class:`SoftmaxPolicy` chunk:
#: small enough that the passes over it run in cache (and, measured, that OpenBLAS computes
#: the ``n_items × (d + 1)`` by ``(d + 1) × rows`` product on one thread for 100 items and
#: d = 5), large enough that numpy's per-call overhead stays small.
_SOFTMAX_CHUNK_BYTES = 2**20

#: Largest gap, in units of ``τ``, that the Cauchy–Schwarz shift of :class:`SoftmaxPolicy`
#: may leave between a user's best item and 0: a user with ``2‖o‖·max‖v‖ / τ`` above it is
#: shifted by its exact row maximum instead, so that its best weight, at least
#: ``exp(−600) ≈ 1e-261``, stays a normal float.
_MAX_SHIFT_GAP = 600.0

#: At a later slate position, a user whose remaining total weight is below this
#: (``exp(−600)``) has its remaining weights recomputed with the exact shift by its best
#: remaining score: the items left may all have underflowed.
_MIN_REMAINING = math.exp(-_MAX_SHIFT_GAP)


class _SoftmaxLayout(NamedTuple):
    """The item tables of one :class:`SoftmaxPolicy` pass (see its docstring).

    Attributes:
        block: Items per block of the two-level search.
        n_blocks: Number of blocks; the ``n_blocks · block − n_items`` padding items have
            weight 0.
        items: float64 ``(n_blocks · block, d)``: the item features, zero padding rows.
        augmented: float64 ``(n_blocks · block, d + 1)``: ``[v / τ, −max‖v‖ / τ]`` (zero
            padding rows), all zeros if ``v / τ`` overflows.
        max_norm: Largest observation norm that the Cauchy–Schwarz shift serves (−1 if
            ``v / τ`` overflows: every user then takes the exact row maximum).
    """

    block: int
    n_blocks: int
    items: NDArray[np.float64]
    augmented: NDArray[np.float64]
    max_norm: float


def _softmax_layout(items: NDArray[np.float64], temperature: float) -> _SoftmaxLayout:
    """Lay out ``items`` (``(n_items, d)``) for :class:`SoftmaxPolicy` at ``temperature``."""
    n_items, d = items.shape
    block = math.isqrt(n_items - 1) + 1  # ⌈√n_items⌉: about as many blocks as items in one
    n_blocks = -(-n_items // block)
    padded = np.zeros((n_blocks * block, d))
    padded[:n_items] = items
    augmented = np.zeros((n_blocks * block, d + 1))
    with np.errstate(over="ignore"):  # a huge item or a tiny τ: exact shift for everyone
        scaled = items / temperature
        bound = float(np.sqrt(np.einsum("ij,ij->i", items, items)).max()) / temperature
    if np.isfinite(scaled).all() and math.isfinite(bound):
        augmented[:n_items, :d] = scaled
        augmented[:n_items, d] = -bound
        # Without a bound (all items 0) only an infinite norm needs the exact path.
        max_norm = _MAX_SHIFT_GAP / 2 / bound if bound > 0 else sys.float_info.max
    else:
        max_norm = -1.0
    return _SoftmaxLayout(block, n_blocks, padded, augmented, max_norm)


class SoftmaxPolicy(_ScoringPolicy):
    """Sample items with probability ``p(a) ∝ exp(⟨oᵢ, v_a⟩ / τ)`` (Boltzmann exploration).

    Users are processed in cache-sized chunks with their weights laid out item-major,
    ``(items, users)``, so that every pass runs along contiguous users.

    *Weights.* One BLAS product gives ``(⟨oᵢ, v_a⟩ − ‖oᵢ‖·max‖v‖) / τ`` for every item,
    through an extra column (``‖oᵢ‖`` on the users' side, ``−max‖v‖ / τ`` on the items'):
    by Cauchy–Schwarz it is at most 0 (up to rounding), so ``exp`` cannot overflow whatever
    ``τ``. The best item of a user lies at most ``2‖oᵢ‖·max‖v‖ / τ`` below 0; for the few
    users where that exceeds 600 (its weight could underflow), and for everyone if
    ``v / τ`` overflows, the weights are ``exp((⟨oᵢ, v_a⟩ − maxₐ⟨oᵢ, v_a⟩) / τ)`` instead,
    as in a textbook stable softmax. Which users take that path depends only on their own
    observation.

    *Sampling.* One uniform ``uᵢ`` per user, drawn for the whole population before the
    chunked pass; user ``i`` gets the first item whose cumulative weight exceeds
    ``uᵢ·total``. The items are split into blocks of about ``√n_items``: the search first
    finds the block from the cumulative block totals, then walks that block item by item.
    The cumulative weight at item ``j`` of block ``B`` is computed as (total before ``B``)
    + (sum of ``B``'s items up to ``j``, left to right), the very operations that give the
    cumulative totals, so the walk ends exactly at the next block's start: an item of
    weight 0 (and a padding item) is never chosen. The propensity is the chosen item's
    weight over the total; :meth:`probabilities` computes the same weights and totals, so
    it equals the propensities bit for bit.

    *Slates* (``slate_size = k > 1``): Plackett–Luce sampling without replacement.
    Position 0 is drawn as above; for each later position the chosen items' weights are
    set to 0, the block totals are summed anew and the same search runs with one more
    uniform per user (``k`` uniforms per user in all, drawn for the whole population
    before the chunked pass, position by position). With weights ``w`` and total ``W``:

    - joint: ``Π_j w_{a_j} / (W − Σ_{l<j} w_{a_l})``;
    - cascade, prefix ``j``: the running product of those factors up to ``j``;
    - item-position: None (the marginal of an item at a later position sums over every
      prefix; it has no closed form).

    Each denominator is the sum of the remaining weights, computed anew (a subtraction
    could cancel). A user whose remaining total falls below ``exp(−600)`` (its remaining
    weights may have underflowed, e.g. at a tiny ``τ``) gets its remaining weights
    recomputed as ``exp((⟨oᵢ, v_a⟩ − max_remaining) / τ)``, so that the best remaining
    item has weight 1; the factors are ratios, so this changes no probability beyond
    rounding. :meth:`slate_probabilities` runs the same passes on the given slates, so it
    equals the propensities bit for bit.

    *Availability*: an unavailable item has weight 0, so it is never drawn and its
    probability is 0; the available items keep their weights, so the probabilities are
    the softmax (Plackett–Luce) over the available items alone. The exact-shift path and
    the restoring of depleted users shift by the best *available* (remaining) score.

    The product's rounding depends on the chunk shape, hence on ``max_chunk_bytes``:
    propensities for different budgets differ by rounding only (about 1e-16 times the
    largest ``|score| / τ``, relative); for a given seed and budget results are
    deterministic.

    Args:
        temperature: ``τ > 0``. Affinities of this environment lie in ``[-1, 1]`` (and are
            much smaller with the default spectral feature normalisation), hence the
            default of 0.1; large ``τ`` approaches uniform, small ``τ`` approaches greedy.
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one chunk's buffers (see
            :mod:`recgym.population.policies`); chunks are at most about 1 MiB of weights
            anyway.
    """

    name = "softmax"

    def __init__(self, temperature: float = 0.1, **options: Unpack[_ScoringOptions]) -> None:
        super().__init__(**options)
        self.temperature = check_positive_float(temperature, "temperature")

    def _iter_weights(
        self, observations: NDArray[Any], candidates: _Candidates | None = None
    ) -> Iterator[tuple[slice, NDArray[np.float64], NDArray[np.float64], int]]:
        """Yield ``(rows, weights, cumulative, block)`` per chunk of users.

        ``weights`` is float64 ``(n_blocks · block, len)``, item-major, padding rows and
        the rows of items that are not ``candidates`` (None: every item is one) 0;
        ``cumulative`` is float64 ``(n_blocks + 1, len)``: 0, then the running total
        through each block. Both buffers are reused by the next chunk.
        """
        candidates = _Candidates(self.n_items) if candidates is None else candidates
        hidden = candidates.hidden()
        layout = _softmax_layout(self._item_table, self.temperature)
        n, d = observations.shape
        n_items, padded = self.n_items, len(layout.items)
        # Every buffer of a chunk, the exact-shift path's copies and the k-sized vectors of
        # the search included, fits in the budget.
        bytes_per_row = 8 * (2 * padded + layout.n_blocks + 2 * (d + 1) + 16)
        rows = min(
            n,
            _rows_per_chunk(bytes_per_row, self.max_chunk_bytes),
            max(1, _SOFTMAX_CHUNK_BYTES // (8 * padded)),
        )
        weights_buffer = np.empty(padded * rows)
        cumulative_buffer = np.empty((layout.n_blocks + 1) * rows)
        columns_buffer = np.empty((d + 1) * rows)
        for chunk in _chunks(n, rows):
            k = chunk.stop - chunk.start
            columns = columns_buffer[: (d + 1) * k].reshape(d + 1, k)
            columns[:d] = observations[chunk].T
            norms = columns[d]
            with np.errstate(over="ignore"):  # an infinite norm takes the exact shift
                np.einsum("ij,ij->j", columns[:d], columns[:d], out=norms)
            np.sqrt(norms, out=norms)
            exact = (
                np.flatnonzero(norms > layout.max_norm) if norms.max() > layout.max_norm else None
            )
            if exact is not None:
                observed = columns[:d, exact]  # a copy
                columns[:, exact] = 0.0  # keeps the shared product finite
            weights = weights_buffer[: padded * k].reshape(padded, k)
            np.matmul(layout.augmented, columns, out=weights)
            np.exp(weights, out=weights)
            if exact is not None:
                scores = layout.items @ observed
                scores[hidden] = -np.inf  # the shift is by the best available score
                with np.errstate(over="ignore"):  # a tiny τ sends weights to exp(-inf) = 0
                    scores -= scores[:n_items].max(axis=0)
                    scores /= self.temperature
                weights[:, exact] = np.exp(scores, out=scores)
            weights[n_items:] = 0.0
            weights[hidden] = 0.0
            cumulative = cumulative_buffer[: (layout.n_blocks + 1) * k].reshape(-1, k)
            _block_totals(weights, layout.block, cumulative)
            yield chunk, weights, cumulative, layout.block

    def _decide(self, inputs: _Inputs) -> Decision:
        # Row j holds position j's uniforms; at k = 1 the single draw random(N).
        uniforms = self._generator.random((self.slate_size, self._n_users))
        slates = np.empty((self._n_users, self.slate_size), dtype=np.int64)
        cascade = self._plackett_luce(inputs, slates, uniforms)
        if self.slate_size == 1:
            return Decision(slates.reshape(self._n_users), cascade.reshape(self._n_users))
        return Decision(slates, cascade[:, -1].copy(), cascade, None)

    def _exact(self, inputs: _Inputs, actions: NDArray[np.int64]) -> SlateProbabilities:
        if self.slate_size == 1:
            cascade = self._plackett_luce(inputs, actions.reshape(self._n_users, 1))
            return SlateProbabilities(cascade.reshape(self._n_users), None, None)
        cascade = self._plackett_luce(inputs, actions)
        return SlateProbabilities(cascade[:, -1].copy(), cascade, None)

    def _plackett_luce(
        self,
        inputs: _Inputs,
        slates: NDArray[np.int64],
        uniforms: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """The cascade probabilities of slates, drawing them first if ``uniforms`` is given.

        One pass over the chunks of :meth:`_iter_weights`; in each, position by position:
        draw the item (if sampling), take its factor ``weight / remaining total``, set its
        weight to 0 and sum the block totals anew (see the class docstring).

        Args:
            inputs: The checked observations ``(N, d)`` and the candidate items (the
                others have weight 0).
            slates: int64 ``(N, k)``: the slates to score, or (when sampling) the output
                the drawn slates are written to.
            uniforms: float64 ``(k, N)`` in ``[0, 1)``: draw the slates with these; None
                scores the given ``slates``.

        Returns:
            numpy.ndarray: float64 ``(N, k)`` cascade probabilities, the running products
            of the positions' factors.
        """
        observations, candidates = inputs.observations, inputs.candidates
        k = slates.shape[1]
        cascade = np.empty(slates.shape)
        for chunk, weights, cumulative, block in self._iter_weights(observations, candidates):
            users = np.arange(chunk.stop - chunk.start)
            for position in range(k):
                if position > 0:
                    weights[slates[chunk, position - 1], users] = 0.0
                    _block_totals(weights, block, cumulative)
                    depleted = np.flatnonzero(cumulative[-1] < _MIN_REMAINING)
                    if len(depleted):
                        rows = chunk.start + depleted
                        weights[: self.n_items, depleted] = self._restored_weights(
                            observations[rows], slates[rows, :position], candidates
                        )
                        _block_totals(weights, block, cumulative)
                if uniforms is not None:
                    slates[chunk, position] = _inverse_cdf(
                        weights, cumulative, block, uniforms[position, chunk]
                    )
                factor = _item_weights(weights, slates[chunk, position]) / cumulative[-1]
                if position > 0:
                    factor *= cascade[chunk, position - 1]
                cascade[chunk, position] = factor
        return cascade

    def _restored_weights(
        self, observations: NDArray[Any], prefixes: NDArray[np.int64], candidates: _Candidates
    ) -> NDArray[np.float64]:
        """Some users' remaining weights, shifted by their best remaining score.

        Args:
            observations: The users' observations ``(m, d)``.
            prefixes: int64 ``(m, j)``: the items already in each user's slate.
            candidates: The items that may be drawn.

        Returns:
            numpy.ndarray: float64 ``(n_items, m)``, item-major:
            ``exp((⟨oᵢ, v_a⟩ − max_remaining) / τ)``, 0 for the items already in the slate
            and those that are not candidates.
        """
        scores = self._item_table @ observations.T
        scores[prefixes.T, np.arange(len(prefixes))] = -np.inf
        scores[candidates.hidden()] = -np.inf
        with np.errstate(over="ignore"):  # a tiny τ sends weights to exp(-inf) = 0
            scores -= scores.max(axis=0)
            scores /= self.temperature
        return np.exp(scores, out=scores)


def _block_totals(weights: NDArray[np.float64], block: int, out: NDArray[np.float64]) -> None:
    """Fill ``out`` (``(n_blocks + 1, k)``) with 0 and the running totals of item-major ``weights``.

    Each block's items are summed left to right (as :func:`_inverse_cdf` walks them), then
    the block sums are accumulated: ``out[b + 1] = out[b] + sum of block b``.
    """
    k = weights.shape[1]
    blocks = weights.reshape(-1, block, k)
    sums = out[1:]
    out[0] = 0.0
    if block == 1:
        sums[...] = blocks[:, 0]
    else:
        np.add(blocks[:, 0], blocks[:, 1], out=sums)
        for j in range(2, block):
            sums += blocks[:, j]
    for b in range(1, len(sums)):  # row by row: contiguous, vectorised over users
        sums[b] += sums[b - 1]


def _inverse_cdf(
    weights: NDArray[np.float64],
    cumulative: NDArray[np.float64],
    block: int,
    uniforms: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Per user (column), the first item whose cumulative weight exceeds ``u · total``.

    Args:
        weights: float64 ``(n_blocks · block, k)``, item-major.
        cumulative: float64 ``(n_blocks + 1, k)`` from :func:`_block_totals`.
        block: Items per block.
        uniforms: float64 ``(k,)`` in ``[0, 1)``.

    Returns:
        int64 ``(k,)``: item indices, never of an item of weight 0.
    """
    k = weights.shape[1]
    users = np.arange(k)
    # u·total < total (u < 1), so the target lies before the end of the last block.
    target = uniforms * cumulative[-1]
    # The block: the number of block ends at or below the target (the last end is above).
    chosen_block = np.zeros(k, dtype=np.int64)
    for row in cumulative[1:-1]:
        chosen_block += row <= target
    before = cumulative.reshape(-1)[chosen_block * k + users]  # total before the block: ≤ target
    # Inside the block, item j's cumulative weight is before + (items 0..j, left to right):
    # for the block's last item that is exactly the block's end, which exceeds the target.
    # So the first item above the target has a larger cumulative weight than the one
    # before it, hence a positive weight.
    flat = weights.reshape(-1)
    position = chosen_block * (block * k) + users
    partial = np.zeros(k)
    edge = np.empty(k)
    offset = np.zeros(k, dtype=np.int64)
    for _ in range(block - 1):
        partial += flat[position]
        np.add(before, partial, out=edge)
        offset += edge <= target
        position += k
    return chosen_block * block + offset


def _item_weights(weights: NDArray[np.float64], items: NDArray[np.int64]) -> NDArray[np.float64]:
    """``weights[items[i], i]`` for every user (column) ``i`` of item-major ``weights``."""
    k = weights.shape[1]
    return weights.reshape(-1)[items * k + np.arange(k)]
