"""Nearest neighbours in preference space and the Jaccard overlap of what they consumed.

:func:`nearest_neighbors` pairs each user with the closest other user by direction (a
k-d tree); :func:`jaccard_nearest_neighbors` averages the Jaccard index of the consumed
item sets of these pairs (Chaney, Stewart & Engelhardt 2018). During a rollout the
consumed sets grow step by step: :class:`_JaccardTracker`, the tracker of the registry's
``jaccard_nn``, keeps them as a bit matrix (or a sparse matrix for large catalogues) and
finds the neighbours once per run.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.spatial import KDTree

from recgym.population.metrics._checks import (
    _check_actions,
    _check_neighbors,
    _check_states,
    _check_users,
)
from recgym.population.metrics._metric import Metric, StepData, TrackerContext
from recgym.population.metrics.items import _sparse_counts
from recgym.population.metrics.preferences import _unit_rows

#: This module's entries of :data:`~recgym.population.metrics.METRICS`, in registry order.
ENTRIES: dict[str, Metric] = {}

#: Largest bit matrix (bytes) of consumed items that the tracker keeps instead of CSR.
_BITS_BUDGET = 1 << 26


def _consumed_indicator(consumed: Any, n_users: int) -> sp.csr_array:
    """``consumed`` as a canonical 0/1 CSR matrix of shape ``(n_users, n_items)``."""
    matrix = _consumed_matrix(consumed, n_users)
    indicator = sp.csr_array(
        ((matrix.data > 0).astype(np.int64), matrix.indices, matrix.indptr), shape=matrix.shape
    )
    indicator.eliminate_zeros()
    return indicator


def _consumed_matrix(consumed: Any, n_users: int) -> sp.csr_array:
    """``consumed`` validated as a CSR matrix of counts ``(n_users, n_items)``.

    A sparse matrix is copied with its duplicates summed (finite, non-negative entries);
    an integer history ``(T, n_users)`` (or ``(n_users,)``) becomes its counts, with
    ``n_items`` one more than its largest item.
    """
    if sp.issparse(consumed):
        matrix = sp.csr_array(consumed, copy=True)
        if matrix.ndim != 2 or matrix.shape[0] != n_users:
            raise ValueError(
                f"`consumed` must have shape (n_users, n_items) with n_users = {n_users}, "
                f"got {matrix.shape}"
            )
        matrix.sum_duplicates()
        data = matrix.data
        if data.dtype != np.bool_ and not (
            np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)
        ):
            raise TypeError(f"`consumed` must hold real counts, got dtype {data.dtype}")
        bad = ~np.isfinite(data) | (data < 0)
        if bad.any():
            raise ValueError(
                f"`consumed` must hold finite non-negative counts, got {data[bad][0].item()!r}"
            )
    elif isinstance(consumed, np.ndarray):
        history = _check_actions(consumed, None, "consumed")
        if history.shape[-1] != n_users:
            raise ValueError(
                "`consumed` must be a scipy.sparse matrix of shape (n_users, n_items) or an "
                f"integer action history of shape (T, n_users) with n_users = {n_users}, "
                f"got shape {history.shape}"
            )
        matrix = _sparse_counts(history, int(history.max()) + 1 if history.size else 1, None)
    else:
        raise TypeError(
            "`consumed` must be a scipy.sparse matrix of shape (n_users, n_items) or a numpy "
            f"integer action history of shape (T, n_users), got {type(consumed).__name__}"
        )
    return matrix


def nearest_neighbors(
    states: NDArray[Any], *, users: NDArray[np.integer[Any]] | None = None
) -> NDArray[np.intp]:
    """Each user's nearest other user by preference direction.

    Nearest means the largest cosine similarity, i.e. the smallest Euclidean distance
    between unit vectors (zero states stay at the origin). The self-match is excluded;
    among equidistant users (e.g. exact duplicates) an arbitrary but deterministic one
    is returned, never the user itself.

    Args:
        states: Real array of shape ``(n_users, dim)`` with ``n_users >= 2``.
        users: Optional integer indices ``(m,)`` of the users to find neighbours for
            (their neighbours are still sought among all users); default all users.

    Returns:
        numpy.ndarray: intp array of shape ``(n_users,)`` (or ``(m,)``); entry ``k`` is
        the neighbour of user ``users[k]`` and never that user itself.

    Raises:
        TypeError: If ``states`` is not a real numpy array.
        ValueError: On a wrong shape, NaN or inf, or fewer than 2 users.

    Cost:
        A k-d tree (``scipy.spatial.KDTree``): O(d N log N) to build and, for small
        ``d``, about O(d N log N) to query; queries degrade towards a scan of the tree as
        ``d`` grows (≳ 10: at N = 10⁵, d = 16 each query costs about 2 ms), which is what
        ``users`` is for: m queries cost O(m) tree searches. Memory O(N d); no ``N × N``
        array.
    """
    units = _unit_rows(_check_states(states))
    n = units.shape[0]
    if n < 2:
        raise ValueError(
            f"`states` must have at least 2 rows (users) to pair neighbours, got shape "
            f"{units.shape}"
        )
    queries = np.arange(n) if users is None else _check_users(users, n)
    _, candidates = KDTree(units).query(units[queries], k=2)
    is_self = candidates[:, 0] == queries
    return np.where(is_self, candidates[:, 1], candidates[:, 0]).astype(np.intp)


def jaccard_nearest_neighbors(
    states: NDArray[Any],
    consumed: Any,
    *,
    neighbors: NDArray[np.integer[Any]] | None = None,
    users: NDArray[np.integer[Any]] | None = None,
) -> float:
    """Chaney-style homogenisation: consumed-item overlap of nearest-neighbour users.

    Each user ``i`` is paired with its nearest neighbour ``j = nn(i)`` in preference
    space (:func:`nearest_neighbors`; Chaney et al. use the *true, initial* preferences,
    so pass ``initial_states``), and the Jaccard index of their consumed-item sets is
    averaged over users::

        J = mean_i |Aᵢ ∩ A_nn(i)| / |Aᵢ ∪ A_nn(i)|

    (Jaccard 1901; Chaney, Stewart & Engelhardt 2018). Pairs in which neither user has
    consumed anything have an undefined index and are left out of the mean.

    Args:
        states: Real array of shape ``(n_users, dim)`` defining the neighbours.
        consumed: Either a ``scipy.sparse`` matrix of shape ``(n_users, n_items)`` whose
            positive entries mark consumed items (counts or indicators), or a numpy
            integer action history of shape ``(T, n_users)`` or ``(n_users,)`` whose
            entries are the consumed items (see :func:`user_item_matrix`, whose ``mask``
            keeps only clicked items). A dense 2-D array is always read as a history.
        neighbors: Optional precomputed :func:`nearest_neighbors` of ``states`` (shape
            ``(n_users,)``, or ``(m,)`` with ``users``), to skip the tree when the
            neighbours do not change.
        users: Optional integer indices ``(m,)``: average over these users only. A
            uniform random sample of users gives an unbiased estimate of the mean over
            everyone (standard error at most ``0.5 / √m``) for m neighbour searches
            instead of ``n_users``.

    Returns:
        float: In ``[0, 1]``; ``nan`` when ``n_users < 2`` or no pair has consumed
        anything.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: On mismatched shapes, NaN, negative counts or bad neighbour indices.

    Cost:
        The neighbour search of :func:`nearest_neighbors` plus O(nnz) for the sparse
        intersections (``nnz`` = stored entries; O(T N) to convert a history).
    """
    valid_states = _check_states(states)
    n = valid_states.shape[0]
    indicator = _consumed_indicator(consumed, n)
    if n < 2:
        return math.nan
    queries = np.arange(n) if users is None else _check_users(users, n)
    if neighbors is None:
        partner = nearest_neighbors(valid_states, users=users)
    else:
        partner = _check_neighbors(neighbors, n, queries)
    return _jaccard(indicator, queries, partner, everyone=users is None)


def _jaccard(
    indicator: sp.csr_array,
    queries: NDArray[np.intp],
    partner: NDArray[np.intp],
    *,
    everyone: bool = False,
) -> float:
    """The body of :func:`jaccard_nearest_neighbors` on validated data.

    ``indicator`` is a canonical 0/1 CSR matrix without stored zeros (as from
    :func:`_consumed_indicator`); only the rows of ``queries`` and ``partner`` are read.
    ``everyone`` says that ``queries`` is ``arange(n_users)``.
    """
    rows = indicator if everyone else indicator[queries]
    intersection = rows.multiply(indicator[partner]).sum(axis=1)
    sizes = np.diff(indicator.indptr)  # the row sums of a 0/1 matrix without stored zeros
    union = sizes[queries] + sizes[partner] - intersection
    defined = union > 0
    if not defined.any():
        return math.nan
    return float(np.mean(intersection[defined] / union[defined]))


def _jaccard_bits(
    bits: NDArray[np.uint8], queries: NDArray[np.intp], partner: NDArray[np.intp]
) -> float:
    """:func:`_jaccard` on a bit-packed 0/1 matrix (rows of users, 8 items a byte).

    The same integer intersections and unions, so bit-identical values.
    """
    first, second = bits[queries], bits[partner]
    intersection = np.bitwise_count(first & second).sum(axis=1, dtype=np.int64)
    sizes_first = np.bitwise_count(first).sum(axis=1, dtype=np.int64)
    union = sizes_first + np.bitwise_count(second).sum(axis=1, dtype=np.int64) - intersection
    defined = union > 0
    if not defined.any():
        return math.nan
    return float(np.mean(intersection[defined] / union[defined]))


class _JaccardTracker:
    """The tracker of ``jaccard_nn``: consumed items so far and the neighbours of the run.

    Neighbours are searched once, in the initial preference space, for everyone and within
    each group (for the context's user sample only, when it has one). The consumed items
    are kept as a 0/1 indicator, and only for the rows ``jaccard_nn`` reads — the queried
    users and their neighbours: a bit matrix updated in place when it fits in
    :data:`_BITS_BUDGET` bytes, otherwise a canonical CSR matrix to which the consumed
    items are added at each record. Both give the values of
    :func:`jaccard_nearest_neighbors` on the consumed items, bit for bit.

    Args:
        context: The run: initial states, items, groups and user sample.
    """

    def __init__(self, context: TrackerContext):
        initial_states = context.initial_states
        n, n_items = context.n_users, context.n_items
        sample = context.sample()
        everyone = np.arange(n)
        scopes: list[tuple[Hashable, NDArray[np.intp]]] = [(None, everyone)]
        scopes += list(context.groups.items())
        self.scopes = scopes
        # label -> (queried users, their neighbours), both within the label's rows; None
        # when the label has fewer than 2 users or no sampled user.
        self.neighbors: dict[Hashable, tuple[NDArray[np.intp] | None, NDArray[np.intp]] | None]
        self.neighbors = {}
        for label, index in scopes:
            queries = None if sample is None else np.flatnonzero(sample[index])
            if len(index) < 2 or (queries is not None and queries.size == 0):
                self.neighbors[label] = None
                continue
            pairs = nearest_neighbors(initial_states[index], users=queries)
            self.neighbors[label] = (queries, pairs)
        # 0/1 indicator of consumed items (canonical CSR), kept only for the rows that
        # jaccard_nn reads: the queried users and their neighbours (None: every row).
        self.consumed = sp.csr_array((n, n_items), dtype=np.int64)
        tracked = np.zeros(n, dtype=np.bool_)
        for label, index in scopes:
            found = self.neighbors[label]
            if found is not None:
                queries, pairs = found
                tracked[index if queries is None else index[queries]] = True
                tracked[index[pairs]] = True
        self.tracked_rows: NDArray[np.bool_] | None = None if tracked.all() else tracked
        self._pending_users: list[NDArray[np.intp]] = []
        self._pending_items: list[NDArray[np.int64]] = []
        # With a small enough catalogue, the indicator is a bit matrix (one bit per user
        # and item) updated in place: no sparse addition per record.
        self.bits: NDArray[np.uint8] | None = None
        # label -> (queried users, their neighbours) as indices of all users.
        self.global_pairs: dict[Hashable, tuple[NDArray[np.intp], NDArray[np.intp]]] = {}
        row_bytes = (n_items + 7) // 8
        if n * row_bytes <= _BITS_BUDGET:
            self.bits = np.zeros((n, row_bytes), dtype=np.uint8)
            for label, index in scopes:
                found = self.neighbors[label]
                if found is not None:
                    queries, pairs = found
                    rows = index if queries is None else index[queries]
                    self.global_pairs[label] = (rows, index[pairs])

    def observe(self, step: StepData) -> None:
        """Add the items consumed at this step (positive reward) to the tracked rows."""
        positive, actions = step.positive, step.items
        tracked = positive if self.tracked_rows is None else positive & self.tracked_rows
        users = np.flatnonzero(tracked)
        if self.bits is not None:
            items = actions[users]
            # One action per user and step: no (user, byte) pair repeats, so a plain
            # fancy-indexed |= is exact.
            self.bits[users, items >> 3] |= (0x80 >> (items & 7)).astype(np.uint8)
        else:
            self._pending_users.append(users)
            self._pending_items.append(actions[users])

    def _flush(self) -> None:
        if self._pending_users:
            users = np.concatenate(self._pending_users)
            items = np.concatenate(self._pending_items)
            update = sp.csr_array(
                (np.ones(users.size, dtype=np.int64), (users, items)), shape=self.consumed.shape
            )
            self.consumed = self.consumed + update  # canonical: sorted, duplicates summed
            self.consumed.data[:] = 1  # every stored count is positive: an indicator
            self._pending_users.clear()
            self._pending_items.clear()

    def values(self) -> dict[Hashable, float]:
        """``jaccard_nn`` now, for everyone (key None) and each group (nan: < 2 users)."""
        self._flush()
        values: dict[Hashable, float] = {}
        for label, index in self.scopes:
            found = self.neighbors[label]
            if found is None:
                values[label] = math.nan  # fewer than 2 users
            elif self.bits is not None:
                values[label] = _jaccard_bits(self.bits, *self.global_pairs[label])
            else:
                queries, pairs = found
                everyone = queries is None
                values[label] = _jaccard(
                    self.consumed if label is None else self.consumed[index],
                    np.arange(len(index)) if queries is None else queries,
                    pairs,
                    everyone=everyone,
                )
        return values


ENTRIES["jaccard_nn"] = Metric(
    jaccard_nearest_neighbors,
    ("initial_states", "consumed"),
    "Jaccard of consumed sets of nearest-neighbour users",
    optional=("neighbors",),
    default=True,
    tracker=_JaccardTracker,
    unit="unitless, 0–1",
    bounds=(0.0, 1.0),
    definition=(
        "overlap of the items consumed (positive reward) by each user and by their nearest "
        "neighbour in initial preference, `J = mean_i |Aᵢ ∩ A_nn(i)| / |Aᵢ ∪ A_nn(i)|` "
        "(Chaney et al. 2018); range `[0, 1]`."
    ),
)
