"""Metrics per user group: :func:`by_group` for per-user arrays, :func:`item_counts_by_group`.

Group labels are a ``(n_users,)`` array (integers, strings, …; no NaN, one sortable type);
results are dicts from each label, as a Python scalar and in sorted order, to the value
on that group's users.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recgym._validation import check_positive_int
from recgym.population.metrics._checks import (
    _check_actions,
    _check_mask,
    _label,
    _unique_groups,
)


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
