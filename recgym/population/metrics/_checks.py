"""Input validation shared by the metrics: each check names the argument and shows the bad value.

Every check returns the validated value (converted where the metric computes in another
dtype) or raises ``TypeError`` (wrong kind of value) or ``ValueError`` (wrong shape or
value), so that a metric can be recorded at every step of a rollout and still fail
loudly on malformed input.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import numpy as np
from numpy.typing import NDArray

_STATES_SHAPE = "(n_users, dim)"


# --------------------------------------------------------------------------- validation


def _first_bad(mask: NDArray[np.bool_]) -> int | tuple[int, ...]:
    """Index of the first True entry of ``mask``: an int in 1-D, else a tuple."""
    index = tuple(int(i) for i in np.argwhere(mask)[0])
    return index[0] if len(index) == 1 else index


def _check_none_bad(values: NDArray[Any], bad: NDArray[np.bool_], must: str) -> None:
    """Raise ``ValueError("<must>, got <value> at index <i>")`` for the first ``bad`` entry."""
    if bad.any():
        index = _first_bad(bad)
        raise ValueError(f"{must}, got {values[index].item()!r} at index {index}")


def _check_real(value: Any, name: str, ndim: int, shape_doc: str) -> NDArray[Any]:
    """Check that ``value`` is a finite real ndarray with ``ndim`` dimensions."""
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"`{name}` must be a numpy array of shape {shape_doc}, got {type(value).__name__}"
        )
    if value.dtype == np.bool_ or not (
        np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)
    ):
        raise TypeError(f"`{name}` must hold real numbers, got dtype {value.dtype}")
    if value.ndim != ndim:
        raise ValueError(
            f"`{name}` must be a {ndim}-D array of shape {shape_doc}, got shape {value.shape}"
        )
    finite = np.isfinite(value)
    if not finite.all():
        index = _first_bad(~finite)
        raise ValueError(
            f"`{name}` must hold finite values, got {value[index].item()!r} at index {index}"
        )
    return value


def _check_states(value: Any, name: str = "states") -> NDArray[np.float64]:
    """Return ``value`` as a float64 ``(n_users, dim)`` array with ``dim >= 1``."""
    states = _check_real(value, name, 2, _STATES_SHAPE)
    if states.shape[1] == 0:
        raise ValueError(
            f"`{name}` must be a 2-D array of shape {_STATES_SHAPE} with dim >= 1, "
            f"got shape {states.shape}"
        )
    return states.astype(np.float64, copy=False)


def _check_pair(states: Any, initial_states: Any) -> tuple[NDArray[np.float64], ...]:
    """Validate ``states`` and ``initial_states`` and check that their shapes agree."""
    current = _check_states(states)
    initial = _check_states(initial_states, "initial_states")
    if initial.shape != current.shape:
        raise ValueError(
            f"`initial_states` must have the shape of `states` {current.shape}, got {initial.shape}"
        )
    return current, initial


def _check_counts(value: Any, name: str = "counts") -> NDArray[np.float64]:
    """Return ``value`` as a float64 ``(n_items,)`` array of non-negative counts."""
    counts = _check_real(value, name, 1, "(n_items,)")
    if counts.size == 0:
        raise ValueError(f"`{name}` must hold at least one item, got shape {counts.shape}")
    negative = counts < 0
    if negative.any():
        index = _first_bad(negative)
        raise ValueError(
            f"`{name}` must be non-negative, got {counts[index].item()!r} at index {index}"
        )
    counts = counts.astype(np.float64, copy=False)
    with np.errstate(over="ignore"):
        overflows = not math.isfinite(counts.sum() * counts.size)
    # Every count metric is scale-invariant: rescale counts whose sums would overflow
    # (and only those, so that ordinary counts keep their exact arithmetic).
    return counts / counts.max() if overflows else counts


def _check_integers(value: Any, name: str, shape_doc: str, entries: str) -> None:
    """Raise unless ``value`` is a numpy array of integers (not booleans).

    ``shape_doc`` (e.g. ``" of shape (n_users,)"``) and ``entries`` (e.g. ``"item
    indices"``) describe the expected array in the messages.
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"`{name}` must be a numpy integer array{shape_doc}, got {type(value).__name__}"
        )
    if value.dtype == np.bool_ or not np.issubdtype(value.dtype, np.integer):
        raise TypeError(f"`{name}` must hold integer {entries}, got dtype {value.dtype}")


def _check_actions(value: Any, n_items: int | None, name: str = "actions") -> NDArray[np.int64]:
    """Return ``value`` as an int64 ``(N,)`` or ``(T, N)`` array of item indices.

    With ``n_items=None`` only non-negativity is checked.
    """
    _check_integers(value, name, " of shape (n_users,) or (T, n_users)", "item indices")
    if value.ndim not in (1, 2):
        raise ValueError(
            f"`{name}` must be a 1-D or 2-D array of shape (n_users,) or (T, n_users), "
            f"got shape {value.shape}"
        )
    out_of_range = value < 0 if n_items is None else (value < 0) | (value >= n_items)
    allowed = ">= 0" if n_items is None else f"in [0, {n_items})"
    _check_none_bad(value, out_of_range, f"`{name}` must hold item indices {allowed}")
    return value.astype(np.int64, copy=False)


def _check_mask(mask: Any, shape: tuple[int, ...]) -> NDArray[np.bool_]:
    """Check an optional boolean ``mask`` with the shape of the actions."""
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        kind = type(mask).__name__ if not isinstance(mask, np.ndarray) else mask.dtype
        raise TypeError(f"`mask` must be a boolean numpy array, got {kind}")
    if mask.shape != shape:
        raise ValueError(f"`mask` must have the shape of `actions` {shape}, got {mask.shape}")
    return mask


def _check_mask_array(
    value: Any, name: str, *, integer: bool = False, shape: tuple[int, ...] | None = None
) -> NDArray[Any]:
    """A 1-D bool array (or, with ``integer``, an integer array) of the given shape.

    Raises:
        TypeError: For another kind of value or dtype.
        ValueError: For another shape.
    """
    kind = "integer" if integer else "boolean"
    if not isinstance(value, np.ndarray):
        raise TypeError(f"`{name}` must be a 1-D numpy {kind} array, got {type(value).__name__}")
    valid = (
        value.dtype != np.bool_ and np.issubdtype(value.dtype, np.integer)
        if integer
        else value.dtype == np.bool_
    )
    if not valid:
        article = "an" if integer else "a"
        raise TypeError(f"`{name}` must be {article} {kind} array, got dtype {value.dtype}")
    expected = (len(value),) if shape is None else shape
    if value.ndim != 1 or value.shape != expected:
        raise ValueError(f"`{name}` must have shape {expected}, got {value.shape}")
    return value


def _unique_groups(
    groups: Any, n: int | None = None, name: str = "groups", what: str = "user-group"
) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """Check ``groups`` (see :func:`_check_groups`); return its sorted labels and inverse."""
    labels = _check_groups(groups, n, name, what)
    try:
        unique, inverse = np.unique(labels, return_inverse=True)
    except TypeError:  # labels that cannot be sorted, e.g. a mix of str and int
        kinds = sorted({type(label).__name__ for label in labels.tolist()})
        raise TypeError(
            f"`{name}` must hold labels of one sortable type, got labels of types {kinds}"
        ) from None
    return unique, inverse.reshape(-1)


def _check_groups(
    groups: Any, n: int | None = None, name: str = "groups", what: str = "user-group"
) -> NDArray[Any]:
    """Check a 1-D label array (of length ``n`` when given) without NaN labels.

    ``name`` is the argument's name and ``what`` the kind of label (``"user-group"``,
    ``"item-class"``) in the messages.
    """
    if not isinstance(groups, np.ndarray):
        raise TypeError(
            f"`{name}` must be a 1-D numpy array of {what} labels, got {type(groups).__name__}"
        )
    if groups.ndim != 1 or (n is not None and groups.shape[0] != n):
        expected = (
            ("(n_users,)" if what == "user-group" else "(n_items,)") if n is None else f"({n},)"
        )
        raise ValueError(f"`{name}` must be a 1-D array of shape {expected}, got {groups.shape}")
    if np.issubdtype(groups.dtype, np.floating) and np.isnan(groups).any():
        index = _first_bad(np.isnan(groups))
        raise ValueError(f"`{name}` must not hold NaN labels, got nan at index {index}")
    return groups


def _label(value: Any) -> Hashable:
    """A numpy scalar label as the matching Python scalar (``np.int64(3)`` → ``3``)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_users(users: Any, n: int) -> NDArray[np.intp]:
    """Check a subset of user indices: a non-empty 1-D integer array in ``[0, n)``."""
    _check_integers(users, "users", "", "user indices")
    if users.ndim != 1 or users.size == 0:
        raise ValueError(f"`users` must be a non-empty 1-D array, got shape {users.shape}")
    bad = (users < 0) | (users >= n)
    _check_none_bad(users, bad, f"`users` must hold user indices in [0, {n})")
    return users.astype(np.intp, copy=False)


def _check_neighbors(neighbors: Any, n: int, queries: NDArray[np.intp]) -> NDArray[np.intp]:
    """Check neighbour indices of ``queries``: shape ``(m,)``, in range, never oneself."""
    m = len(queries)
    _check_integers(neighbors, "neighbors", f" of shape ({m},)", "user indices")
    if neighbors.shape != (m,):
        raise ValueError(f"`neighbors` must have shape ({m},), got {neighbors.shape}")
    bad = (neighbors < 0) | (neighbors >= n) | (neighbors == queries)
    _check_none_bad(neighbors, bad, f"`neighbors` must hold indices of other users in [0, {n})")
    return neighbors.astype(np.intp, copy=False)


_REWARDS_SHAPE = "(n_users,) or (T, n_users)"


def _check_rewards(value: Any, name: str = "rewards") -> NDArray[Any]:
    """Check real rewards of shape ``(n_users,)`` (one step) or ``(T, n_users)`` (a history).

    The rewards keep their dtype: a float32 environment's rewards are averaged in float32,
    as :func:`~recgym.population.simulate` averages them.
    """
    ndim = value.ndim if isinstance(value, np.ndarray) else 1
    if ndim not in (1, 2):
        raise ValueError(
            f"`{name}` must be a 1-D or 2-D array of shape {_REWARDS_SHAPE}, "
            f"got shape {value.shape}"
        )
    return _check_real(value, name, ndim, _REWARDS_SHAPE)


# ------------------------------------------------------------ what users were shown


def _check_shown(value: Any, n_items: int, name: str = "shown") -> NDArray[np.int64]:
    """Return the shown items as an int64 ``(n_users, k)`` array (a 1-D array is ``k = 1``).

    ``value`` is an integer array ``(n_users,)`` (one item each) or ``(n_users, k)``
    (slates; users on axis 0), with entries in ``[0, n_items)``.
    """
    _check_integers(value, name, " of shape (n_users,) or (n_users, k)", "item indices")
    if value.ndim not in (1, 2):
        raise ValueError(
            f"`{name}` must be a 1-D or 2-D array of shape (n_users,) or (n_users, k), "
            f"got shape {value.shape}"
        )
    if value.ndim == 2 and value.shape[1] == 0:
        raise ValueError(f"`{name}` must show at least one item per user, got shape {value.shape}")
    out_of_range = (value < 0) | (value >= n_items)
    _check_none_bad(value, out_of_range, f"`{name}` must hold item indices in [0, {n_items})")
    slates = value.astype(np.int64, copy=False)
    return slates.reshape(len(slates), -1)


def _check_presented(value: Any, n: int) -> NDArray[np.bool_] | None:
    """Check an optional ``presented`` mask: None, or a bool array ``(n,)``."""
    return None if value is None else _check_mask_array(value, "presented", shape=(n,))


def _check_consumed_items(value: Any, n: int, n_items: int) -> NDArray[np.int64]:
    """Check ``consumed_items``: int ``(n,)``, each an item in ``[0, n_items)`` or −1 (none)."""
    items = _check_mask_array(value, "consumed_items", integer=True, shape=(n,))
    bad = (items < -1) | (items >= n_items)
    _check_none_bad(
        items, bad, f"`consumed_items` must hold item indices in [0, {n_items}) or -1 for none"
    )
    return items.astype(np.int64, copy=False)


def _check_item_features(value: Any, dim: int | None = None) -> NDArray[np.float64]:
    """Return ``item_features`` as float64 ``(n_items, dim)``: finite, at least one item.

    With ``dim`` given, the feature dimension must be ``dim`` (that of the states).
    """
    features = _check_real(value, "item_features", 2, "(n_items, dim)")
    if features.shape[0] == 0 or (dim is not None and features.shape[1] != dim):
        expected = "dim" if dim is None else str(dim)
        raise ValueError(
            f"`item_features` must have shape (n_items, {expected}) with n_items >= 1, "
            f"got shape {features.shape}"
        )
    return features.astype(np.float64, copy=False)
