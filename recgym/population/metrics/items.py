"""Item metrics: exposure and consumption counts and how concentrated they are.

**Exposure** counts the items recommended to users, **consumption** the items they
consumed (a positive reward); both are ``(n_items,)`` count vectors from
:func:`item_counts`. :func:`coverage`, :func:`gini`, :func:`entropy` and
:func:`top_k_share` measure their concentration — of the counts so far, or (registry
``gini_step``, ``top10_share_step``) of the last step's exposure alone;
:func:`recommended_popularity` measures how popular the items shown are;
:func:`user_item_matrix` keeps the counts per user, as a sparse matrix.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recgym._validation import check_bool, check_positive_int
from recgym.population.metrics._checks import (
    _check_actions,
    _check_counts,
    _check_mask,
    _check_presented,
    _check_shown,
)
from recgym.population.metrics._metric import LastStepTracker, Metric, StepData, TrackerContext

#: This module's entries of :data:`~recgym.population.metrics.METRICS`, in registry order.
ENTRIES: dict[str, Metric] = {}


def _of_counts(
    function: Callable[[NDArray[Any]], float], description: str, *, unit: str, definition: str
) -> Metric:
    """The entry of a concentration of the counts so far (a number in ``[0, 1]``).

    Every such metric reads ``counts`` alone and is recorded by default.
    """
    return Metric(
        function,
        ("counts",),
        description,
        default=True,
        unit=unit,
        bounds=(0.0, 1.0),
        definition=definition,
    )


def item_counts(
    actions: NDArray[np.integer[Any]], n_items: int, *, mask: NDArray[np.bool_] | None = None
) -> NDArray[np.int64]:
    """How many times each item occurs in an action array.

    Pass the recommended items to count **exposure**, and ``mask=rewards > 0`` (or a
    click indicator) to count **consumption**.

    Args:
        actions: Integer item indices in ``[0, n_items)``, shape ``(n_users,)`` for one
            step or ``(T, n_users)`` for a history (any orientation is counted alike).
        n_items: Number of items in the catalogue.
        mask: Optional boolean array of the shape of ``actions``; only entries where it is
            True are counted.

    Returns:
        numpy.ndarray: int64 array of shape ``(n_items,)``.

    Raises:
        TypeError: If ``actions`` is not an integer array, ``n_items`` not an integer or
            ``mask`` not a boolean array.
        ValueError: On a wrong shape or an index outside ``[0, n_items)``.

    Cost:
        O(T N + n_items) time (``np.bincount``).
    """
    n_items = check_positive_int(n_items, "n_items")
    items = _check_actions(actions, n_items)
    if mask is not None:
        items = items[_check_mask(mask, items.shape)]
    return np.bincount(items.ravel(), minlength=n_items).astype(np.int64, copy=False)


def _consumption_counts(
    items: NDArray[np.integer[Any]], positive: NDArray[np.bool_], n_items: int
) -> NDArray[np.int64]:
    """Per-item counts of one step's consumed items whose reward was positive, ``(n_items,)``.

    ``items`` ``(n,)`` holds each user's consumed item, -1 for none (a step info's
    ``"item"``), ``positive`` ``(n,)`` whether its reward was positive. One weighted pass
    instead of a masked copy (twice as fast at 10⁶ users); -1 is counted on item 0 at
    weight 0.
    """
    weights = positive & (items >= 0)
    counts = np.bincount(np.maximum(items, 0), weights=weights, minlength=n_items)
    return counts.astype(np.int64)


def coverage(counts: NDArray[Any]) -> float:
    """Share of the catalogue that occurs at least once (aggregate diversity).

    ``coverage = |{i : cᵢ > 0}| / n_items`` (Adomavicius & Kwon 2012).

    Args:
        counts: Non-negative item counts, shape ``(n_items,)``.

    Returns:
        float: In ``[0, 1]``; 0 when every count is 0.

    Raises:
        TypeError: If ``counts`` is not a real numpy array.
        ValueError: If it is not 1-D, empty, negative, NaN or inf.

    Cost:
        O(n_items).
    """
    values = _check_counts(counts)
    return float(np.count_nonzero(values) / values.size)


ENTRIES["coverage"] = _of_counts(
    coverage,
    "share of items with a positive count",
    unit="fraction of items",
    definition=(
        "share of the catalogue recommended at least once so far, `|{i : cᵢ > 0}| / n_items`; "
        "range `[0, 1]`."
    ),
)


def gini(counts: NDArray[Any]) -> float:
    """Gini coefficient of the item counts: 0 = equal exposure, large = concentrated.

    The textbook (population) Gini over the ``n = n_items`` items, with counts sorted in
    ascending order ``c₍₁₎ ≤ … ≤ c₍ₙ₎``::

        G = Σᵢ (2i − n − 1) c₍ᵢ₎ / (n Σᵢ cᵢ) = Σᵢ Σⱼ |cᵢ − cⱼ| / (2 n Σᵢ cᵢ)

    (Gini 1912; for sales concentration under recommenders, Fleder & Hosanagar 2009).
    ``G = 0`` for equal counts and ``G = (n − 1)/n`` when all counts fall on one item.
    No ``n/(n − 1)`` small-sample correction is applied, so ``G`` equals the Lorenz-curve
    area ratio; multiply by ``n/(n − 1)`` for a maximum of exactly 1.

    Args:
        counts: Non-negative item counts, shape ``(n_items,)``.

    Returns:
        float: In ``[0, (n − 1)/n]``; ``nan`` when every count is 0.

    Raises:
        TypeError: If ``counts`` is not a real numpy array.
        ValueError: If it is not 1-D, empty, negative, NaN or inf.

    Cost:
        O(n_items log n_items) (a sort).
    """
    values = np.sort(_check_counts(counts))
    total = values.sum()
    if total == 0:
        return math.nan
    n = values.size
    weights = 2.0 * np.arange(1, n + 1) - n - 1
    return float(np.clip(weights @ values / (n * total), 0.0, 1.0))


ENTRIES["gini"] = _of_counts(
    gini,
    "Gini coefficient of item counts",
    unit="unitless, 0–1",
    definition=(
        "Gini coefficient of the cumulative exposure counts, sorted ascending, "
        "`Σᵢ (2i − n − 1) c₍ᵢ₎ / (n Σc)`; range `[0, (n − 1)/n]`: 0 for equal exposure."
    ),
)


def entropy(counts: NDArray[Any], normalized: bool = True) -> float:
    """Shannon entropy of the item distribution ``pᵢ = cᵢ / Σ c``.

    ``H = −Σ_{pᵢ > 0} pᵢ log pᵢ`` in nats (Shannon 1948). With ``normalized=True``
    (default) it is divided by ``log n_items``, Pielou's (1966) evenness: 1 for equal
    counts, 0 when everything falls on one item. A catalogue of one item is perfectly
    even by convention (1.0), matching ``gini = 0`` and ``coverage = 1``.

    Args:
        counts: Non-negative item counts, shape ``(n_items,)``.
        normalized: Divide by ``log n_items``.

    Returns:
        float: In ``[0, 1]`` if normalised, else in ``[0, log n_items]``; ``nan`` when
        every count is 0.

    Raises:
        TypeError: If ``counts`` is not a real numpy array.
        ValueError: If it is not 1-D, empty, negative, NaN or inf.

    Cost:
        O(n_items).
    """
    normalized = check_bool(normalized, "normalized")
    values = _check_counts(counts)
    total = values.sum()
    if total == 0:
        return math.nan
    p = values[values > 0] / total
    h = max(float(-(p @ np.log(p))), 0.0)
    if not normalized:
        return h
    n = values.size
    return 1.0 if n == 1 else min(h / math.log(n), 1.0)


ENTRIES["entropy"] = _of_counts(
    entropy,
    "normalised entropy of item counts",
    unit="fraction of log n_items",
    definition=(
        "Shannon entropy of the exposure shares over its maximum (Pielou's evenness), "
        "`−Σ pᵢ log pᵢ / log n_items`; range `[0, 1]`: 1 for equal exposure."
    ),
)


def top_k_share(counts: NDArray[Any], k: int) -> float:
    """Share of all counts that falls on the ``k`` most frequent items.

    ``CR_k = Σ of the k largest cᵢ / Σᵢ cᵢ``, the concentration ratio of industrial
    economics; Kalimeris et al. (2021) track the exposure mass on the top items. A ``k``
    of at least ``n_items`` gives 1.

    Args:
        counts: Non-negative item counts, shape ``(n_items,)``.
        k: Number of top items, ``>= 1``.

    Returns:
        float: In ``[min(k, n_items)/n_items, 1]``; ``nan`` when every count is 0.

    Raises:
        TypeError: If ``counts`` is not a real numpy array or ``k`` not an integer.
        ValueError: On a bad ``counts`` or ``k < 1``.

    Cost:
        O(n_items) (``np.partition``).
    """
    k = check_positive_int(k, "k")
    values = _check_counts(counts)
    total = values.sum()
    if total == 0:
        return math.nan
    if k >= values.size:
        return 1.0
    top = np.partition(values, values.size - k)[values.size - k :]
    return float(min(top.sum() / total, 1.0))


def _top10_share(counts: NDArray[Any]) -> float:
    return top_k_share(counts, 10)


ENTRIES["top10_share"] = _of_counts(
    _top10_share,
    "share of counts on the top 10 items",
    unit="fraction of counts",
    definition=(
        "share of all recommendations that went to the 10 most recommended items: the "
        "sum of the `k` largest counts / `Σc`, with k = 10; range `[min(k, n)/n, 1]`."
    ),
)


# ------------------------------------------------------- per-step exposure concentration


class _StepCountsTracker(LastStepTracker):
    """The tracker of ``gini_step`` and ``top10_share_step``: the last step's exposure.

    At every step it counts the items shown to the present users (each slate position
    counted, as the cumulative exposure counts do), for everyone and for each group; at a
    record it gives ``statistic`` (:func:`gini`, ``top_k_share(·, 10)``) of the last
    step's counts — NaN before the first step.

    Args:
        context: The run (its number of items and groups).
        statistic: The concentration of a count vector.
        name: The metric's name, for errors.
    """

    def __init__(
        self,
        context: TrackerContext,
        statistic: Callable[[NDArray[Any]], float],
        name: str,
    ):
        super().__init__(context, None)
        self.n_items = context.n_items
        self.statistic = statistic
        self.name = name

    def measure(
        self, step: StepData, rows: Callable[[NDArray[Any]], NDArray[Any]]
    ) -> NDArray[np.int64]:
        """The counts of the items shown to the scope's present users at this step."""
        return np.bincount(rows(step.slates(self.name)).ravel(), minlength=self.n_items)

    def values(self) -> dict[Hashable, float]:
        """The statistic of the last step's counts, per scope (NaN before a step)."""
        return {
            label: math.nan if counts is None else self.statistic(counts)
            for label, counts in self.last.items()
        }


def _of_step_counts(
    name: str,
    statistic: Callable[[NDArray[Any]], float],
    description: str,
    *,
    unit: str,
    definition: str,
) -> Metric:
    """The entry ``name`` of a concentration ``statistic`` of the last step's exposure.

    It reads ``step_counts``, kept by a :class:`_StepCountsTracker` of ``statistic``, and
    lies in ``[0, 1]``.
    """
    return Metric(
        statistic,
        ("step_counts",),
        description,
        tracker=functools.partial(_StepCountsTracker, statistic=statistic, name=name),
        unit=unit,
        definition=definition,
        bounds=(0.0, 1.0),
    )


ENTRIES["gini_step"] = _of_step_counts(
    "gini_step",
    gini,
    "Gini of the items shown at the last step",
    unit="unitless, 0–1",
    definition=(
        "the Gini coefficient of the last step's exposure counts `c_j(t)` alone (how "
        "often each item was shown at the step); NaN at step 0."
    ),
)
ENTRIES["top10_share_step"] = _of_step_counts(
    "top10_share_step",
    _top10_share,
    "share of the last step's exposure on its top 10 items",
    unit="fraction of the step's exposure",
    definition=(
        "the share of the last step's exposure counts `c_j(t)` that falls on its 10 most "
        "shown items; NaN at step 0."
    ),
)


# ------------------------------------------------------ popularity of recommended items


def recommended_popularity(
    shown: NDArray[np.integer[Any]],
    past_consumption: NDArray[Any],
    *,
    presented: NDArray[np.bool_] | None = None,
) -> float:
    """Mean popularity of the items users were shown, popularity = share of past consumption.

    With ``c`` the consumption counts *before* the step (``cⱼ``: how many times item ``j``
    was consumed, with a positive reward, in the steps before) and ``pⱼ = cⱼ / Σₗ cₗ``
    its popularity, each user ``u`` shown a slate ``S_u`` of ``k`` items has the mean
    popularity ``(1/k) Σ_{j∈S_u} pⱼ``, averaged over the users shown something::

        POP = (1/|U|) Σ_{u∈U} (1/k) Σ_{j∈S_u} pⱼ

    (the popularity of recommended items over feedback iterations of Mansoury et al.
    2020, who take an item's share of the *users* who rated it; see
    ``docs/metrics.md``). A recommender indifferent to popularity scores ``1/n_items`` in
    expectation; one that shows only the most consumed item scores ``max pⱼ``.

    Args:
        shown: Integer items ``(n_users,)`` or slates ``(n_users, k)`` (users on axis 0),
            entries in ``[0, n_items)``.
        past_consumption: Non-negative consumption counts ``(n_items,)`` of the steps
            before this one.
        presented: Optional bool ``(n_users,)``: who was shown a slate (default
            everyone); the other rows are left out.

    Returns:
        float: In ``[0, 1]``; ``nan`` if nothing was consumed before or nobody was shown
        anything.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: On a wrong shape, negative or non-finite counts, or an item outside
            ``[0, n_items)``.

    Cost:
        O(N k + n_items).
    """
    counts = _check_counts(past_consumption, "past_consumption")
    slates = _check_shown(shown, counts.size)
    mask = _check_presented(presented, slates.shape[0])
    return _mean_popularity(slates if mask is None else slates[mask], counts)


def _mean_popularity(slates: NDArray[np.int64], counts: NDArray[np.float64]) -> float:
    """The body of :func:`recommended_popularity`: the present users' slates ``(m, k)``."""
    total = counts.sum()
    if total == 0 or slates.size == 0:
        return math.nan
    return float(min(counts[slates].mean() / total, 1.0))


class _PopularityTracker(LastStepTracker):
    """The tracker of ``recommended_popularity``: the consumption counts of the run so far.

    At each step, the popularity is taken from the counts of the steps before (the whole
    population's: one popularity for everyone), averaged over each scope's present
    users, and then the step's consumption (positive rewards) is added.

    Args:
        context: The run (its number of items and groups).
    """

    def __init__(self, context: TrackerContext):
        super().__init__(context)
        self.counts = np.zeros(context.n_items, dtype=np.int64)
        self.popularity = self.counts.astype(np.float64)  # the counts, as the function reads

    def measure(self, step: StepData, rows: Callable[[NDArray[Any]], NDArray[Any]]) -> float:
        """The mean popularity of what the scope's present users were shown."""
        return _mean_popularity(rows(step.slates("recommended_popularity")), self.popularity)

    def update(self, step: StepData) -> None:
        """Count this step's consumption (positive rewards)."""
        self.counts += _consumption_counts(step.items, step.positive, self.counts.size)
        self.popularity = self.counts.astype(np.float64)


ENTRIES["recommended_popularity"] = Metric(
    recommended_popularity,
    ("shown", "past_consumption"),
    "mean share of past consumption of the items shown",
    tracker=_PopularityTracker,
    optional=("presented",),
    unit="share of past consumption",
    definition=(
        "the mean popularity of the items shown, `POP_t = (1/|U|) Σ_{u∈U} (1/k) Σ_{j∈S_u} "
        "p_j`, with `p_j` item j's share of the consumption before the step; NaN until "
        "something was consumed."
    ),
    bounds=(0.0, 1.0),
)


def user_item_matrix(
    actions: NDArray[np.integer[Any]], n_items: int, *, mask: NDArray[np.bool_] | None = None
) -> sp.csr_array:
    """Sparse ``(n_users, n_items)`` matrix of how often each user got each item.

    Args:
        actions: Integer item indices, shape ``(n_users,)`` or ``(T, n_users)``: users on
            the **last** axis.
        n_items: Number of items in the catalogue.
        mask: Optional boolean array of the shape of ``actions``; only entries where it is
            True are counted (e.g. ``rewards > 0`` for consumed items).

    Returns:
        scipy.sparse.csr_array: int64 counts of shape ``(n_users, n_items)``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: On a wrong shape or an index outside ``[0, n_items)``.

    Cost:
        O(T N) time and memory (one COO → CSR conversion).
    """
    n_items = check_positive_int(n_items, "n_items")
    items = _check_actions(actions, n_items)
    if mask is not None:
        mask = _check_mask(mask, items.shape)
    return _sparse_counts(items, n_items, mask)


def _sparse_counts(
    items: NDArray[np.int64], n_items: int, mask: NDArray[np.bool_] | None
) -> sp.csr_array:
    """The body of :func:`user_item_matrix`, on validated arguments."""
    n_users = items.shape[-1]
    users = np.broadcast_to(np.arange(n_users), items.shape)
    if mask is not None:
        items, users = items[mask], users[mask]
    ones = np.ones(items.size, dtype=np.int64)
    return sp.csr_array((ones, (users.ravel(), items.ravel())), shape=(n_users, n_items))
