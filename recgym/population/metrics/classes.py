"""Metrics of item classes: each class's share of the feeds, and miscalibration.

With item-class labels (the environment's ``item_groups``, e.g. the topics of
:func:`recgym.worlds.item_classes`), :func:`class_shares` gives each class's share of
what users were shown (Kalimeris, Bhagat, Kalyanaraman & Weinsberg 2021 follow the share
of a class in users' feeds) and :func:`miscalibration` how far the class mix of what a
user is shown departs from that of what they consumed before (Steck 2018).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recgym._validation import check_float_in_range, check_memory
from recgym.population.metrics._checks import (
    _check_presented,
    _check_shown,
    _label,
    _unique_groups,
)
from recgym.population.metrics._metric import LastStepTracker, Metric, StepData, TrackerContext
from recgym.population.metrics.neighbors import _consumed_matrix

#: This module's entries of :data:`~recgym.population.metrics.METRICS`, in registry order.
ENTRIES: dict[str, Metric] = {}

#: Steck's smoothing of the recommended distribution toward the history's, ``α``.
STECK_ALPHA = 0.01


def _classes(item_groups: Any, n_items: int | None = None) -> tuple[list[Hashable], NDArray[Any]]:
    """The sorted class labels (Python scalars) and each item's class index ``(n_items,)``."""
    labels, inverse = _unique_groups(item_groups, n_items, "item_groups", "item-class")
    return [_label(label) for label in labels], inverse.astype(np.int64, copy=False)


def _class_counts(
    slates: NDArray[np.int64], item_class: NDArray[np.int64], n_classes: int
) -> NDArray[np.int64]:
    """``(m, n_classes)``: how many items of each class each row of ``slates`` holds."""
    m = slates.shape[0]
    keys = np.arange(m).repeat(slates.shape[1]) * n_classes + item_class[slates].ravel()
    return np.bincount(keys, minlength=m * n_classes).reshape(m, n_classes)


# --------------------------------------------------------------------- class share


def class_shares(
    shown: NDArray[np.integer[Any]],
    item_groups: NDArray[Any],
    *,
    presented: NDArray[np.bool_] | None = None,
) -> dict[Hashable, float]:
    """Each item class's share of what users were shown, averaged over users.

    With ``k`` items shown to each user ``u`` of the users ``U`` shown something and
    ``n_u(c)`` of them in class ``c``::

        share(c) = (1/|U|) Σ_{u∈U} n_u(c) / k

    (every feed holds ``k`` items, so this is also the class's share of all the items
    shown). The shares of all classes sum to 1.

    Args:
        shown: Integer items ``(n_users,)`` or slates ``(n_users, k)`` (users on axis 0),
            entries in ``[0, n_items)``.
        item_groups: Item-class labels ``(n_items,)`` (integers, strings, …; no NaN).
        presented: Optional bool ``(n_users,)``: who was shown a slate (default
            everyone); the other rows are left out.

    Returns:
        dict: Class label (a Python scalar, sorted) → share in ``[0, 1]``; every share
        ``nan`` if nobody was shown anything.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: On a wrong shape or an item outside ``[0, n_items)``.

    Cost:
        O(N k + n_items log n_items) (the labels are sorted once).
    """
    labels, item_class = _classes(item_groups)
    slates = _check_shown(shown, item_class.size)
    mask = _check_presented(presented, slates.shape[0])
    return dict(
        zip(labels, _shares(slates if mask is None else slates[mask], item_class, len(labels)))
    )


def _shares(
    slates: NDArray[np.int64], item_class: NDArray[np.int64], n_classes: int
) -> list[float]:
    """The body of :func:`class_shares` on the present users' slates ``(m, k)``."""
    if slates.size == 0:
        return [math.nan] * n_classes
    counts = np.bincount(item_class[slates].ravel(), minlength=n_classes)
    return [float(count / slates.size) for count in counts]


class _ClassShareTracker(LastStepTracker):
    """The tracker of ``class_share``: each class's share of the last step's feeds.

    Args:
        context: The run: its item classes and groups.

    Raises:
        ValueError: If the run has no item classes.
    """

    def __init__(self, context: TrackerContext):
        labels, self.item_class = _classes(
            context.require("item_groups", "class_share"), context.n_items
        )
        super().__init__(context, dict.fromkeys(labels, math.nan))
        self.labels = labels

    def measure(
        self, step: StepData, rows: Callable[[NDArray[Any]], NDArray[Any]]
    ) -> dict[Hashable, float]:
        """Each class's share of what the scope's present users were shown."""
        slates = rows(step.slates("class_share"))
        return dict(zip(self.labels, _shares(slates, self.item_class, len(self.labels))))


def _has_item_classes(config: Any) -> bool:
    return getattr(config, "item_groups", None) is not None


#: What both metrics of item classes declare: who was shown a slate (optional data), and
#: recorded by default in the environments with item classes.
_CLASS_METRIC: dict[str, Any] = {"optional": ("presented",), "default_when": _has_item_classes}

ENTRIES["class_share"] = Metric(
    class_shares,
    ("shown", "item_groups"),
    "share of an item class in what users were shown",
    tracker=_ClassShareTracker,
    family=True,
    **_CLASS_METRIC,
    unit="fraction of the feed",
    definition=(
        "an item class's share of the feed at the step, `share_t(c) = (1/|U|) Σ_{u∈U} "
        "n_u(c) / k`, over the users shown something; NaN at step 0."
    ),
    bounds=(0.0, 1.0),
)


# ------------------------------------------------------------------ miscalibration


def miscalibration(
    consumed: Any,
    shown: NDArray[np.integer[Any]],
    item_groups: NDArray[Any],
    *,
    presented: NDArray[np.bool_] | None = None,
    alpha: float = STECK_ALPHA,
) -> float:
    """Steck's (2018) miscalibration: KL from a user's history's class mix to their feed's.

    For user ``u``, ``p(c|u)`` is the share of class ``c`` in what ``u`` consumed before
    (each consumption counted: an item consumed twice weighs twice) and ``q(c|u)`` its
    share in what ``u`` is shown now (each shown item alike). Steck's ``C_KL``, with the
    shown mix smoothed toward the history's so that it is finite::

        C_KL(u) = Σ_c p(c|u) log(p(c|u) / q̃(c|u)),   q̃ = (1 − α) q + α p,  α = 0.01

    averaged over the users shown something who have a history (Steck, "Calibrated
    recommendations", RecSys 2018; Mansoury et al. 2020 follow it over feedback loops).

    Args:
        consumed: The consumption *before* the step: a ``scipy.sparse`` matrix
            ``(n_users, n_items)`` of counts (positive entries = consumed, weighted by
            the count), or an integer history ``(T, n_users)`` of consumed items.
        shown: Integer items ``(n_users,)`` or slates ``(n_users, k)``.
        item_groups: Item-class labels ``(n_items,)``.
        presented: Optional bool ``(n_users,)``: who was shown a slate (default everyone).
        alpha: Steck's smoothing ``α`` in ``(0, 1]``.

    Returns:
        float: In ``[0, log(1/α)]`` (0: every feed has its user's history's mix); ``nan``
        if no user shown something has consumed anything.

    Raises:
        TypeError: If an argument has the wrong type (``alpha`` not a real number).
        ValueError: On mismatched shapes, negative or non-finite counts, an item outside
            ``[0, n_items)``, or ``alpha`` outside ``(0, 1]``.

    Cost:
        O(nnz + N k + N C) for ``C`` classes (an ``N × C`` table).
    """
    labels, item_class = _classes(item_groups)
    n_items, n_classes = item_class.size, len(labels)
    slates = _check_shown(shown, n_items)
    n = slates.shape[0]
    mask = _check_presented(presented, n)
    alpha = check_float_in_range(alpha, "alpha", 0.0, 1.0, include_low=False)
    counts = _consumed_matrix(consumed, n)
    if counts.shape[1] > n_items:
        raise ValueError(
            f"`consumed` must have at most n_items = {n_items} item columns (items of "
            f"`item_groups`), got {counts.shape[1]}"
        )
    onehot = sp.csr_array(
        (np.ones(counts.shape[1]), (np.arange(counts.shape[1]), item_class[: counts.shape[1]])),
        shape=(counts.shape[1], n_classes),
    )
    history = (counts @ onehot).toarray()
    if mask is not None:
        history, slates = history[mask], slates[mask]
    return _mean_kl(history, _class_counts(slates, item_class, n_classes), alpha)


def _mean_kl(history: NDArray[Any], feed: NDArray[np.int64], alpha: float) -> float:
    """The mean ``C_KL`` over the rows with a history (``history``, ``feed``: ``(m, C)``)."""
    totals = history.sum(axis=1)
    has = totals > 0
    if not has.any():
        return math.nan
    p = history[has] / totals[has, np.newaxis]
    shown = feed[has]
    q = shown / shown.sum(axis=1, keepdims=True)  # every feed holds k >= 1 items
    smoothed = (1.0 - alpha) * q + alpha * p  # >= alpha p > 0 wherever p > 0
    ratio = np.divide(p, smoothed, out=np.ones_like(p), where=p > 0)
    kl = (p * np.log(ratio)).sum(axis=1)  # terms with p = 0 are 0 · log 1
    return float(max(kl.mean(), 0.0))


class _MiscalibrationTracker(LastStepTracker):
    """The tracker of ``miscalibration``: each user's consumption per class so far.

    Keeps an ``n_users × C`` table of consumption counts per item class; at each step
    it compares the present users' feeds with their counts *before* the step, then adds
    the step's consumption (positive rewards).

    Args:
        context: The run: its item classes and groups.

    Raises:
        ValueError: If the run has no item classes, or the table would not fit in memory.
    """

    def __init__(self, context: TrackerContext):
        super().__init__(context)
        labels, self.item_class = _classes(
            context.require("item_groups", "miscalibration"), context.n_items
        )
        self.n_classes = len(labels)
        check_memory(
            8 * context.n_users * self.n_classes,
            "n_users",
            context.n_users,
            "the consumption per user and item class of `miscalibration`",
        )
        self.history = np.zeros((context.n_users, self.n_classes), dtype=np.int64)

    def measure(self, step: StepData, rows: Callable[[NDArray[Any]], NDArray[Any]]) -> float:
        """The mean miscalibration of the scope's present users' feeds."""
        feed = _class_counts(rows(step.slates("miscalibration")), self.item_class, self.n_classes)
        return _mean_kl(rows(self.history), feed, STECK_ALPHA)

    def update(self, step: StepData) -> None:
        """Count this step's consumption (positive rewards) per user and class."""
        users = np.flatnonzero(step.positive & (step.items >= 0))
        # One consumed item per user and step: no (user, class) pair repeats.
        self.history[users, self.item_class[step.items[users]]] += 1


ENTRIES["miscalibration"] = Metric(
    miscalibration,
    ("consumed", "shown", "item_groups"),
    "Steck's KL miscalibration of the feeds against users' consumed classes",
    tracker=_MiscalibrationTracker,
    **_CLASS_METRIC,
    unit="nats",
    definition=(
        "Steck's miscalibration of the feeds against the classes users consumed before, "
        "`C_KL(u) = Σ_c p(c|u) log( p(c|u) / q̃(c|u) ),   q̃ = (1 − α) q + α p,  α = "
        "0.01`, averaged over users; in [0, log(1/α)]."
    ),
    bounds=(0.0, 4.605170185988092),
)
