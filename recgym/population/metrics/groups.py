"""Metrics per user group, and between groups: :func:`by_group`, :func:`group_alignment`.

:func:`by_group` splits a metric of per-user arrays, :func:`item_counts_by_group` item
counts, and :func:`group_alignment` compares each group's mean direction with each
group's initial centre. Group labels are a ``(n_users,)`` array (integers, strings, …;
no NaN, one sortable type); results are dicts from each label, as a Python scalar and in
sorted order, to the value on that group's users.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recgym._validation import check_positive_int
from recgym.population.metrics._checks import (
    _check_actions,
    _check_mask,
    _check_pair,
    _label,
    _unique_groups,
)
from recgym.population.metrics._metric import Metric, StepData, TrackerContext
from recgym.population.metrics.preferences import _unit_rows

#: This module's entries of :data:`~recgym.population.metrics.METRICS`, in registry order.
ENTRIES: dict[str, Metric] = {}


def by_group(
    metric: Callable[..., Any], groups: NDArray[Any], *arrays: Any, **kwargs: Any
) -> dict[Hashable, Any]:
    """Apply ``metric`` to each user group's rows.

    Calls ``metric(*(a[rows_g] for a in arrays), **kwargs)`` for every label ``g``.
    **Convention:** every positional array is per user with **users on axis 0** —
    states ``(N, d)``, per-user values ``(N,)``, sparse ``(N, n_items)`` matrices (from
    :func:`user_item_matrix`). Keyword arguments are passed unchanged to every call, so
    they must not be per-user data (e.g. do not pass ``neighbors``). Action histories
    ``(T, N)`` have users on the last axis: turn them into a sparse matrix with
    :func:`user_item_matrix`, or count items per group with :func:`item_counts_by_group`.
    Examples: ``by_group(homogenization, g, states)``,
    ``by_group(preference_drift, g, states, initial_states, kind="cosine")``,
    ``by_group(jaccard_nearest_neighbors, g, initial_states, consumed_matrix)``.

    Args:
        metric: Any function of per-user arrays, e.g. one of this module.
        groups: Labels of shape ``(N,)`` (integers, strings, …; no NaN).
        *arrays: Per-user numpy arrays or scipy.sparse matrices, users on axis 0.
        **kwargs: Passed unchanged to ``metric``.

    Returns:
        dict: Label (as a Python scalar, in sorted order) → the metric's value on that
        group's users.

    Raises:
        TypeError: If ``groups`` or an array has the wrong type.
        ValueError: If an array's first axis does not have the length of ``groups``.

    Cost:
        O(N log N) to sort the labels, one row gather per array and group (O(N d) in
        total), plus one call of ``metric`` per group on that group's rows.
    """
    if not callable(metric):
        raise TypeError(f"`metric` must be a function of per-user arrays, got {metric!r}")
    unique, inverse = _unique_groups(groups)
    n = inverse.shape[0]
    rows: list[Any] = []
    for position, array in enumerate(arrays):
        if sp.issparse(array):
            array = sp.csr_array(array)
        elif not isinstance(array, np.ndarray):
            raise TypeError(
                f"`arrays[{position}]` must be a numpy array or a scipy.sparse matrix, "
                f"got {type(array).__name__}"
            )
        if array.ndim == 0 or array.shape[0] != n:
            raise ValueError(
                f"`arrays[{position}]` must have len(groups) = {n} rows along axis 0 "
                f"(users first), got shape {array.shape}"
            )
        rows.append(array)
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse, minlength=len(unique)))[:-1]
    return {
        _label(label): metric(*(array[index] for array in rows), **kwargs)
        for label, index in zip(unique, np.split(order, bounds))
    }


def item_counts_by_group(
    actions: NDArray[np.integer[Any]],
    groups: NDArray[Any],
    n_items: int,
    *,
    mask: NDArray[np.bool_] | None = None,
) -> dict[Hashable, NDArray[np.int64]]:
    """Item counts of each user group's own actions, in one pass.

    ``{g: gini(c) for g, c in item_counts_by_group(history, groups, n_items).items()}``
    splits any item-count metric by group.

    Args:
        actions: Integer item indices, shape ``(n_users,)`` or ``(T, n_users)``: users on
            the **last** axis.
        groups: Labels of shape ``(n_users,)`` (integers, strings, …; no NaN).
        n_items: Number of items in the catalogue.
        mask: Optional boolean array of the shape of ``actions`` (see :func:`item_counts`).

    Returns:
        dict: Label (as a Python scalar, in sorted order) → int64 counts ``(n_items,)``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: On a wrong shape or an index outside ``[0, n_items)``.

    Cost:
        O(T N + G n_items) time for G groups, plus O(N log N) to sort the labels.
    """
    n_items = check_positive_int(n_items, "n_items")
    items = _check_actions(actions, n_items)
    labels, inverse = _unique_groups(groups, items.shape[-1])
    keys = np.broadcast_to(inverse.reshape(-1).astype(np.int64), items.shape) * n_items + items
    if mask is not None:
        keys = keys[_check_mask(mask, items.shape)]
    table = np.bincount(keys.ravel(), minlength=len(labels) * n_items)
    table = table.reshape(len(labels), n_items).astype(np.int64, copy=False)
    return {_label(label): table[g] for g, label in enumerate(labels)}


def _group_rows(groups: Any, n: int) -> dict[Hashable, NDArray[np.intp]]:
    """Each label of ``groups`` (shape ``(n,)``, or None: no groups) → its users' indices.

    The labels are Python scalars in sorted order; the indices are sorted.
    """
    if groups is None:
        return {}
    if not isinstance(groups, np.ndarray):
        raise TypeError(
            f"`groups` must be a numpy array of shape ({n},), got {type(groups).__name__}"
        )
    if groups.shape != (n,):
        raise ValueError(f"`groups` must have shape ({n},), got {groups.shape}")
    labels, inverse = _unique_groups(groups, n)  # no NaN, one sortable type
    return {label.item(): np.flatnonzero(inverse == g) for g, label in enumerate(labels)}


# ------------------------------------------------------------------ group alignment


def group_alignment(
    states: NDArray[Any], initial_states: NDArray[Any], groups: NDArray[Any]
) -> dict[str, float]:
    """How far each group's mean direction points toward each group's *initial* centre.

    For user groups ``A`` and ``B``, with ``m_A = Σ_{i∈A} ûᵢ`` the (unnormalised) mean
    direction of ``A``'s current states and ``c_B = Σ_{j∈B} û⁰ⱼ`` that of ``B``'s
    initial states::

        align(A→B) = cos(m_A, c_B) = ⟨m_A, c_B⟩ / (‖m_A‖ ‖c_B‖)

    for every ordered pair ``(A, B)``, ``A = B`` included (how far a group stays at its
    own starting centre). A minority drifting toward the majority (Mansoury et al. 2020)
    shows as ``align(minority→majority)`` rising toward 1 while
    ``align(minority→minority)`` falls. A zero mean direction has no direction: its
    cosines are 0.

    Args:
        states: Current states ``(n_users, dim)``.
        initial_states: Initial states ``(n_users, dim)``.
        groups: User-group labels ``(n_users,)`` (integers, strings, …; no NaN).

    Returns:
        dict: ``"A->B"`` → the cosine, in ``[−1, 1]``, for every ordered pair of labels
        (sorted: ``A`` first, then ``B``); ``A`` and ``B`` written as ``str(label)``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: On mismatched shapes, NaN or inf.

    Cost:
        O(N d + G² d) for ``G`` groups.
    """
    current, initial = _check_pair(states, initial_states)
    labels, inverse = _unique_groups(groups, current.shape[0])
    n_groups = len(labels)
    return _alignment(
        _group_sums(_unit_rows(current), inverse, n_groups),
        _group_sums(_unit_rows(initial), inverse, n_groups),
        [_label(label) for label in labels],
    )


def _group_sums(
    units: NDArray[np.float64], inverse: NDArray[np.intp], n_groups: int
) -> NDArray[np.float64]:
    """``(n_groups, d)``: the sum of each group's rows (``inverse``: each row's group)."""
    columns = [
        np.bincount(inverse, weights=units[:, j], minlength=n_groups) for j in range(units.shape[1])
    ]
    return np.stack(columns, axis=1)


def _alignment(
    now: NDArray[np.float64], start: NDArray[np.float64], labels: Sequence[Hashable]
) -> dict[str, float]:
    """The cosines of every row of ``now`` with every row of ``start`` (0 for a zero row)."""
    unit_now, unit_start = _unit_rows(now), _unit_rows(start)
    cosines = np.clip(unit_now @ unit_start.T, -1.0, 1.0)
    return {
        f"{a}->{b}": float(cosines[i, j])
        for i, a in enumerate(labels)
        for j, b in enumerate(labels)
    }


class _GroupAlignmentTracker:
    """The tracker of ``group_alignment``: each group's initial centre, and the last states.

    The initial centres ``c_B`` are fixed at the start (over all of ``B``'s users); at a
    record, ``m_A`` is taken over ``A``'s users present. Only everyone's scope has a value
    (the metric is *between* groups): ``group_alignment[A->B]``.

    Args:
        context: The run: initial states and groups.

    Raises:
        ValueError: If the run has no user groups.
    """

    def __init__(self, context: TrackerContext):
        if not context.groups:
            raise ValueError(
                "metric 'group_alignment' needs user groups: give simulate groups= (or the "
                "environment user_groups=)"
            )
        self.labels = list(context.groups)
        self.inverse = np.full(context.n_users, -1, dtype=np.intp)
        for g, index in enumerate(context.groups.values()):
            self.inverse[index] = g
        self.grouped = self.inverse >= 0
        units = _unit_rows(context.initial_states.astype(np.float64, copy=False))
        self.start = _group_sums(units[self.grouped], self.inverse[self.grouped], len(self.labels))
        self.states: NDArray[Any] = context.initial_states
        self.active: NDArray[np.bool_] | None = None

    def observe(self, step: StepData) -> None:
        """Keep the states after the step and who is present."""
        self.states, self.active = step.after("group_alignment"), step.active

    def values(self) -> dict[Hashable, Mapping[str, float]]:
        """``{None: {"A->B": cosine, …}}``; NaN from a group without users present."""
        rows = self.grouped if self.active is None else self.grouped & self.active
        units = _unit_rows(self.states[rows].astype(np.float64, copy=False))
        n_groups = len(self.labels)
        now = _group_sums(units, self.inverse[rows], n_groups)
        values = _alignment(now, self.start, self.labels)
        present = np.bincount(self.inverse[rows], minlength=n_groups)
        for g in np.flatnonzero(present == 0):
            for b in self.labels:
                values[f"{self.labels[g]}->{b}"] = math.nan
        return {None: values}


ENTRIES["group_alignment"] = Metric(
    group_alignment,
    ("states", "initial_states", "user_groups"),
    "cosine of a group's mean direction with a group's initial centre",
    tracker=_GroupAlignmentTracker,
    family=True,
    unit="cosine, unitless, −1–1",
    definition=(
        "for an ordered pair of user groups, `align(A→B)_t = cos(m_A(t), c_B) = ⟨m_A, "
        "c_B⟩ / (‖m_A‖ ‖c_B‖)`: the cosine of group A's current mean direction with group "
        "B's initial centre."
    ),
    bounds=(-1.0, 1.0),
)
