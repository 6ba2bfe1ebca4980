"""Argument checks shared by every public entry point.

Each check raises ``TypeError`` for the wrong kind of value and ``ValueError`` for a
wrong value, with a message that names the argument in backticks and ends with the
offending value, e.g. ``"`n_items` must be a positive integer, got 0"``.
"""

from __future__ import annotations

import math
import numbers
import operator
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "check_actions",
    "check_array",
    "check_available",
    "check_bool",
    "check_choice",
    "check_consumed",
    "check_dtype",
    "check_float_in_range",
    "check_float_vector",
    "check_generator",
    "check_index",
    "check_indices",
    "check_instance",
    "check_item",
    "check_labels",
    "check_legacy_seed",
    "check_memory",
    "check_model_outputs",
    "check_nonnegative_float",
    "check_nonnegative_int",
    "check_options",
    "check_parameter",
    "check_path",
    "check_per_user",
    "check_positive_float",
    "check_positive_int",
    "check_probability",
    "check_render_mode",
    "check_rows",
    "check_seed",
    "check_single_output",
    "check_slate_size",
    "check_slates",
    "is_item",
    "is_slate",
    "items_from_values",
    "machine_memory",
    "per_user",
]


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_positive_int(value: Any, name: str) -> int:
    """Return ``value`` as a Python ``int`` if it is an integer ``>= 1``.

    Args:
        value: The candidate; a Python or numpy integer (``bool`` is rejected).
        name: The argument name used in error messages.

    Returns:
        int: ``value`` converted to a Python ``int``.

    Raises:
        TypeError: If ``value`` is not an integer.
        ValueError: If ``value < 1``.
    """
    if not _is_int(value):
        raise TypeError(f"`{name}` must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    return int(value)


def check_nonnegative_int(value: Any, name: str) -> int:
    """Return ``value`` as a Python ``int`` if it is an integer ``>= 0`` (not a bool).

    Raises:
        TypeError: If ``value`` is not an integer (None included).
        ValueError: If ``value < 0``.
    """
    if not _is_int(value):
        raise TypeError(f"`{name}` must be a non-negative integer, got {value!r}")
    if value < 0:
        raise ValueError(f"`{name}` must be a non-negative integer, got {value!r}")
    return int(value)


def check_nonnegative_float(value: Any, name: str) -> float:
    """Return ``value`` as a Python ``float`` if it is a finite real number ``>= 0``.

    Integers such as ``0`` are accepted (their meaning is unambiguous); ``bool`` is not.

    Args:
        value: The candidate.
        name: The argument name used in error messages.

    Returns:
        float: ``value`` converted to a Python ``float``.

    Raises:
        TypeError: If ``value`` is not a real number.
        ValueError: If ``value`` is negative, NaN or infinite.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a non-negative float, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative finite float, got {value!r}")
    return value


def _check_real(value: Any, name: str, description: str, accept: Callable[[float], bool]) -> float:
    """Return ``value`` as a float if it is a real number (not a bool) that ``accept`` takes.

    Both errors read ``"`<name>` must be <description>, got <value!r>"``. NaN fails every
    comparison, so a range test in ``accept`` rejects it too.
    """
    message = f"`{name}` must be {description}, got {value!r}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(message)
    if not accept(float(value)):
        raise ValueError(message)
    return float(value)


def check_float_in_range(
    value: Any,
    name: str,
    low: float,
    high: float,
    *,
    include_low: bool = True,
    include_high: bool = True,
) -> float:
    """Return ``value`` as a Python ``float`` if it is a real number in an interval.

    The message names the interval, e.g. ``"`max_share` must be a float in (0, 1], got 0"``
    for ``low=0, high=1, include_low=False``.

    Args:
        value: The candidate; a Python or numpy real number (``bool`` is rejected).
        name: The argument name used in error messages.
        low: Lower end of the interval.
        high: Upper end of the interval.
        include_low: Whether ``low`` itself is accepted (``[``) or not (``(``).
        include_high: Whether ``high`` itself is accepted (``]``) or not (``)``).

    Returns:
        float: ``value`` converted to a Python ``float``.

    Raises:
        TypeError: If ``value`` is not a real number.
        ValueError: If ``value`` is outside the interval or NaN.
    """
    interval = f"{'[' if include_low else '('}{low:g}, {high:g}{']' if include_high else ')'}"

    def inside(x: float) -> bool:
        above = low <= x if include_low else low < x
        below = x <= high if include_high else x < high
        return above and below

    return _check_real(value, name, f"a float in {interval}", inside)


def check_probability(value: Any, name: str) -> float:
    """Return ``value`` as a Python ``float`` if it is a real number in ``[0, 1]``.

    Raises:
        TypeError: If ``value`` is not a real number (``bool`` included).
        ValueError: If ``value`` is outside ``[0, 1]`` or NaN; both errors read
            ``"`<name>` must be a float in [0, 1], got <value!r>"``.
    """
    return check_float_in_range(value, name, 0.0, 1.0)


def check_positive_float(value: Any, name: str) -> float:
    """Return ``value`` as a Python ``float`` if it is a finite real number ``> 0``.

    Raises:
        TypeError: If ``value`` is not a real number (``bool`` included).
        ValueError: If ``value`` is zero, negative, NaN or infinite; both errors read
            ``"`<name>` must be a positive finite float, got <value!r>"``.
    """
    return _check_real(value, name, "a positive finite float", lambda x: 0.0 < x < math.inf)


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``.

    Raises:
        TypeError: If ``value`` is not a string.
        ValueError: If ``value`` is not one of ``choices``.
    """
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be one of {list(choices)}, got {value!r}")
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}, got {value!r}")
    return value


def check_seed(value: Any, name: str) -> int | None:
    """Return ``value`` as a non-negative Python ``int``, or ``None``.

    Raises:
        TypeError: If ``value`` is neither ``None`` nor an integer.
        ValueError: If ``value`` is negative.
    """
    if value is None:
        return None
    if not _is_int(value):
        raise TypeError(f"`{name}` must be a non-negative integer or None, got {value!r}")
    if value < 0:
        raise ValueError(f"`{name}` must be a non-negative integer or None, got {value!r}")
    return int(value)


def check_array(value: Any, name: str, shape: tuple[int | None, ...]) -> NDArray[Any]:
    """Check a user-given real-valued array and return it unchanged.

    Args:
        value: The candidate; must already be a ``numpy.ndarray`` (lists are rejected so
            that a nested list is never silently reinterpreted).
        name: The argument name used in error messages.
        shape: The expected shape; ``None`` entries match any length.

    Returns:
        numpy.ndarray: ``value`` itself.

    Raises:
        TypeError: If ``value`` is not an ndarray of integers or floats.
        ValueError: If its shape differs from ``shape`` or it holds NaN or inf.
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(f"`{name}` must be a numpy array, got {type(value).__name__}")
    _refuse_masked(value, name)
    if (
        value.dtype == np.bool_
        or not np.issubdtype(value.dtype, np.number)
        or (np.issubdtype(value.dtype, np.complexfloating))
    ):
        raise TypeError(f"`{name}` must hold real numbers, got dtype {value.dtype}")
    entries = ["*" if s is None else str(s) for s in shape]
    expected = "(" + ", ".join(entries) + ("," if len(entries) == 1 else "") + ")"
    if value.ndim != len(shape) or any(
        s is not None and s != actual for s, actual in zip(shape, value.shape)
    ):
        raise ValueError(f"`{name}` must have shape {expected}, got {value.shape}")
    if not np.isfinite(value).all():
        raise ValueError(f"`{name}` must hold finite values, got NaN or inf")
    return value


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` as a Python ``bool`` if it is a Python or numpy bool.

    Raises:
        TypeError: If ``value`` is anything else (``0``, ``1``, ``"yes"``, None …).
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool, got {value!r}")
    return bool(value)


def check_options(value: Any, name: str = "options") -> Mapping[str, Any] | None:
    """Return ``value`` if it is None or a mapping (the ``options`` of ``reset``).

    Raises:
        TypeError: If ``value`` is neither None nor a mapping.
    """
    if value is not None and not isinstance(value, Mapping):
        raise TypeError(f"`{name}` must be a dict or None, got {value!r}")
    return value


def check_path(value: Any, name: str = "path") -> str | os.PathLike[str]:
    """Return ``value`` if it is a ``str`` or an ``os.PathLike``.

    Raises:
        TypeError: If ``value`` is anything else (None, an int, bytes …).
    """
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"`{name}` must be a str or os.PathLike, got {type(value).__name__}")
    return value


def check_item(value: Any, name: str, n_items: int) -> int:
    """Return one item index as a Python ``int`` if it is an integer in ``[0, n_items)``.

    Accepts Python and numpy integers and 0-d or shape-``(1,)`` integer arrays.

    Raises:
        TypeError: If ``value`` is not an integer (floats, bools, strings, None, lists
            and other arrays are rejected: a fractional index is never truncated).
        ValueError: If ``value`` lies outside ``[0, n_items)`` (no negative wrap-around).
    """
    item = value
    if isinstance(item, np.ndarray) and item.shape in ((), (1,)):
        if item.dtype == np.bool_ or not np.issubdtype(item.dtype, np.integer):
            raise TypeError(f"`{name}` must be an integer item index, got {value!r}")
        item = item.reshape(())[()]
    if not _is_int(item):
        raise TypeError(f"`{name}` must be an integer item index, got {value!r}")
    if not 0 <= item < n_items:
        raise ValueError(f"`{name}` must lie in [0, {n_items}), got {item!r}")
    return int(item)


def _check_integer_array(value: Any, name: str, shape: tuple[int, ...]) -> NDArray[Any]:
    """Return ``value`` if it is an integer ndarray of ``shape`` (bools refused).

    Raises:
        TypeError: ``"`<name>` must be a numpy integer array of shape (3,), got list"``, or
            ``"`<name>` must hold integers, got dtype float64"``.
        ValueError: ``"`<name>` must have shape (3,), got (4,)"``.
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"`{name}` must be a numpy integer array of shape {shape}, got {type(value).__name__}"
        )
    _refuse_masked(value, name)
    if value.dtype == np.bool_ or not np.issubdtype(value.dtype, np.integer):
        raise TypeError(f"`{name}` must hold integers, got dtype {value.dtype}")
    if value.shape != shape:
        raise ValueError(f"`{name}` must have shape {shape}, got {value.shape}")
    return value


def check_actions(actions: Any, n: int, n_items: int) -> NDArray[np.int64]:
    """Validate a batch of actions with vectorised checks and return them as int64.

    Args:
        actions: Integer array of shape ``(n,)``.
        n: Expected number of actions.
        n_items: Number of items; every action must lie in ``[0, n_items)``.

    Returns:
        numpy.ndarray: ``actions`` as an int64 array (the same object if it already was).

    Raises:
        TypeError: If ``actions`` is not an integer ndarray.
        ValueError: If its shape is not ``(n,)`` or an action is out of range.
    """
    _check_integer_array(actions, "actions", (n,))
    if n and (actions.min() < 0 or actions.max() >= n_items):
        bad = np.flatnonzero((actions < 0) | (actions >= n_items))
        raise ValueError(
            f"`actions` must lie in [0, {n_items}), got {actions[bad[:5]].tolist()} "
            f"at positions {bad[:5].tolist()}" + (" (first 5 shown)" if len(bad) > 5 else "")
        )
    return actions.astype(np.int64, copy=False)


def check_dtype(value: Any, name: str = "dtype") -> np.dtype[Any]:
    """Return ``value`` as a numpy dtype if it is float32 or float64.

    Raises:
        ValueError: For anything else.
    """
    try:
        resolved = None if value is None else np.dtype(value)  # np.dtype(None) is float64
    except TypeError:
        resolved = None
    if resolved not in (np.float32, np.float64):
        raise ValueError(f"`{name}` must be numpy.float32 or numpy.float64, got {value!r}")
    return resolved


#: Seeds of ``numpy.random.RandomState`` lie in ``[0, 2**32)``.
_SEED_BOUND = 2**32


def check_legacy_seed(value: Any, name: str) -> int:
    """Return ``value`` as a Python ``int`` if it can seed a legacy ``RandomState``.

    Args:
        value: The candidate: a Python or numpy integer in ``[0, 2**32)`` (``bool`` and
            ``None`` are rejected: the original required an integer ``random_state``).
        name: The argument name used in error messages.

    Returns:
        int: ``value`` as a Python ``int``.

    Raises:
        TypeError: If ``value`` is not an integer.
        ValueError: If ``value`` is outside ``[0, 2**32)``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"`{name}` must be an integer in [0, 2**32) with legacy=True (the original "
            f"seeded numpy.random.RandomState with it), got {value!r}"
        )
    if not 0 <= value < _SEED_BOUND:
        raise ValueError(
            f"`{name}` must be an integer in [0, 2**32) with legacy=True, got {value!r}"
        )
    return int(value)


def check_index(value: Any, name: str, size: int) -> int:
    """Return ``value`` as a Python ``int`` if it is an integer in ``[0, size)``.

    Raises:
        TypeError: If ``value`` is not an integer (``bool`` included).
        ValueError: If ``value`` lies outside ``[0, size)``.
    """
    if not _is_int(value):
        raise TypeError(f"`{name}` must be an integer, got {value!r}")
    if not 0 <= value < size:
        raise ValueError(f"`{name}` must lie in [0, {size}), got {value!r}")
    return int(value)


def is_item(value: Any, n_items: int) -> bool:
    """Whether ``value`` is one valid item index: an integer (or 0-d integer array) in range."""
    if isinstance(value, np.ma.MaskedArray):
        return False
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    return _is_int(value) and bool(0 <= value < n_items)


def check_per_user(value: Any, name: str, n_users: int) -> None:
    """Check that a per-user parameter array has one value per pool user.

    Raises:
        ValueError: If ``value`` is an array whose length is not ``n_users``.
    """
    if isinstance(value, np.ndarray) and value.shape != (n_users,):
        raise ValueError(
            f"`{name}` must have one value per user of the pool, shape ({n_users},), "
            f"got shape {value.shape}"
        )


def per_user(value: Any, name: str, user_ids: NDArray[np.int64] | None) -> Any:
    """The value of a parameter for the users ``user_ids``: itself, or its entries.

    Raises:
        ValueError: If ``value`` is a per-user array and ``user_ids`` is None.
    """
    if not isinstance(value, np.ndarray):
        return value
    if user_ids is None:
        raise ValueError(
            f"`{name}` holds one value per user, so the batched methods need `user_ids` "
            "(the environments pass them; in a direct call pass user_ids=...)"
        )
    return value[user_ids]


def check_slates(
    actions: Any,
    n: int,
    slate_size: int,
    n_items: int,
    valid: Callable[[NDArray[np.int64], int], bool] | None = None,
) -> NDArray[np.int64]:
    """Validate a batch of slates with vectorised checks and return them as int64.

    At ``slate_size == 1`` this is :func:`check_actions`: one item per user, shape ``(n,)``.

    Args:
        actions: Integer array of shape ``(n, slate_size)`` (``(n,)`` at size 1).
        n: Number of users.
        slate_size: Items per slate.
        n_items: Number of items; every item must lie in ``[0, n_items)``.
        valid: Optional fast check of a C-contiguous int64 ``(n, slate_size)`` array at
            ``slate_size > 1``, true when every item is in range and no slate repeats
            one (the fused kernels' :func:`recgym._kernels.valid_slates`); when it says
            false, or is not given, the vectorised checks run and name the first error.

    Returns:
        numpy.ndarray: ``actions`` as int64 (the same object if it already was).

    Raises:
        TypeError: If ``actions`` is not an integer ndarray.
        ValueError: On a wrong shape, an item out of range or an item repeated within a
            slate, naming the user and the position.
    """
    if slate_size == 1:  # two numpy reductions: as fast as a kernel
        return check_actions(actions, n, n_items)
    shape = (n, slate_size)
    if not isinstance(actions, np.ndarray):
        raise TypeError(
            f"`actions` must be a numpy integer array of shape {shape} (one slate per "
            f"user), got {type(actions).__name__}"
        )
    if actions.dtype == np.bool_ or not np.issubdtype(actions.dtype, np.integer):
        raise TypeError(f"`actions` must hold integers, got dtype {actions.dtype}")
    if actions.shape != shape:
        raise ValueError(
            f"`actions` must have shape {shape} (one slate of {slate_size} items per user), "
            f"got {actions.shape}"
        )
    if n == 0:
        return actions.astype(np.int64, copy=False)
    if valid is not None and _fast_checkable(actions, shape) and valid(actions, n_items):
        return actions
    outside = (actions < 0) | (actions >= n_items)
    if outside.any():
        user, position = (int(i) for i in np.argwhere(outside)[0])
        raise ValueError(
            f"`actions` must lie in [0, {n_items}), got {actions[user, position].item()!r} "
            f"for user {user} at position {position}"
        )
    ordered = np.sort(actions, axis=1)
    repeated = ordered[:, 1:] == ordered[:, :-1]
    if repeated.any():
        user, index = (int(i) for i in np.argwhere(repeated)[0])
        item = ordered[user, index]
        first, second = np.flatnonzero(actions[user] == item)[:2].tolist()
        raise ValueError(
            f"`actions` must not repeat an item within a slate: user {user} has item {item} "
            f"at positions {first} and {second}"
        )
    return actions.astype(np.int64, copy=False)


def _fast_checkable(actions: Any, shape: tuple[int, ...]) -> bool:
    """Whether ``actions`` is a plain C-contiguous int64 array of ``shape``, with rows."""
    return (
        type(actions) is np.ndarray
        and actions.dtype == np.int64
        and actions.shape == shape
        and shape[0] > 0
        and actions.flags.c_contiguous
    )


def is_slate(value: Any, slate_size: int, n_items: int) -> bool:
    """Whether ``value`` is a valid slate: an integer array ``(slate_size,)`` of distinct items."""
    if not isinstance(value, np.ndarray) or value.shape != (slate_size,):
        return False
    if isinstance(value, np.ma.MaskedArray):
        return False
    if value.dtype == np.bool_ or not np.issubdtype(value.dtype, np.integer):
        return False
    return bool(((value >= 0) & (value < n_items)).all() and np.unique(value).size == slate_size)


def items_from_values(values: list[Any], slate_size: int) -> NDArray[np.int64] | None:
    """The actions of a dict API step as one int64 array, or None if one is not an action.

    Every value must be an integer item (a Python or numpy integer, or a 0-d integer
    array) — or, with slates, an integer array ``(slate_size,)`` — and fit in int64;
    bools, floats, masked arrays, strings and objects make it None (the caller then
    names the offending agents). Ranges and repeats are checked by the caller.
    """
    if slate_size == 1:
        types = set(map(type, values))
        if all(t is int or issubclass(t, np.integer) for t in types):  # np.bool_ is not one
            try:
                return np.fromiter(map(operator.index, values), dtype=np.int64, count=len(values))
            except OverflowError:  # beyond int64: out of range anyway
                return None
        return (
            None
            if not all(is_item(v, 2**62) for v in values)
            else np.array([int(np.asarray(v).reshape(())) for v in values], dtype=np.int64)
        )
    rows = []
    for value in values:
        if (
            not isinstance(value, np.ndarray)
            or isinstance(value, np.ma.MaskedArray)
            or value.shape != (slate_size,)
            or value.dtype == np.bool_
            or not np.issubdtype(value.dtype, np.integer)
            or (value.size and (value.min() < 0 or value.max() > 2**62))
        ):
            return None
        rows.append(value)
    return np.array(rows, dtype=np.int64)


def _refuse_masked(value: NDArray[Any], name: str) -> None:
    """A masked array's hidden entries would be used as data: refuse it."""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(
            f"`{name}` must be a plain numpy array, got a masked array (fill it first: "
            "`.filled(...)`)"
        )


def check_parameter(
    value: Any, name: str, description: str, accept: Callable[[Any], Any]
) -> float | NDArray[np.float64]:
    """Return a model parameter as a float, or a read-only float64 array over the user pool.

    Model parameters that may differ by user (a choice model's temperature, a user
    model's ``alpha``) are one number for everyone or a 1-D array with one value per
    pool user (:func:`check_per_user` checks its length against the pool).

    Args:
        value: A real number (not a bool) or a 1-D numpy array of real numbers.
        name: The argument name used in error messages.
        description: What a valid scalar is, e.g. ``"a positive finite float"``.
        accept: Vectorised test of valid values (a float or an array in, bool(s) out);
            NaN must fail it.

    Raises:
        TypeError: If ``value`` is neither a real number nor a real-valued ndarray.
        ValueError: If a value fails ``accept`` or the array is not 1-D and non-empty.
    """
    if isinstance(value, np.ndarray):
        return check_float_vector(
            value,
            name,
            f"{description} or a 1-D float array of them (one per user)",
            accept,
            f"{description} for every user",
        )
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be {description}, got {value!r}")
    if not accept(float(value)):
        raise ValueError(f"`{name}` must be {description}, got {value!r}")
    return float(value)


def check_float_vector(
    value: NDArray[Any], name: str, description: str, accept: Callable[[Any], Any], entries: str
) -> NDArray[np.float64]:
    """Return a non-empty 1-D real array as a read-only float64 copy if ``accept`` takes it.

    Args:
        value: The array.
        name: The argument name used in error messages.
        description: What the argument must be, e.g. ``"a 1-D array of probabilities"``.
        accept: Vectorised test of valid values (True where valid; NaN must fail).
        entries: What every entry must be, e.g. ``"probabilities in [0, 1]"``.

    Raises:
        TypeError: If the array does not hold real numbers.
        ValueError: If it is not 1-D and non-empty, or an entry fails ``accept`` (its
            value and index are named).
    """
    if value.dtype == np.bool_ or not (
        np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)
    ):
        raise TypeError(f"`{name}` must be {description}, got an array of dtype {value.dtype}")
    if value.ndim != 1 or len(value) == 0:
        raise ValueError(f"`{name}` must be {description}, got an array of shape {value.shape}")
    array = np.array(value, dtype=np.float64)
    bad = np.flatnonzero(~accept(array))
    if len(bad):
        raise ValueError(
            f"`{name}` must hold {entries}, got {float(array[bad[0]])!r} at index {bad[0]}"
        )
    array.flags.writeable = False
    return array


def check_generator(value: Any, name: str = "rng") -> np.random.Generator:
    """Return ``value`` if it is a ``numpy.random.Generator``.

    Raises:
        TypeError: If it is anything else (a seed, a legacy ``RandomState`` …).
    """
    if not isinstance(value, np.random.Generator):
        raise TypeError(f"`{name}` must be a numpy.random.Generator, got {type(value).__name__}")
    return value


def check_render_mode(value: Any, modes: Sequence[str]) -> str | None:
    """Return ``value`` if it is None or one of the environment's render ``modes``.

    Raises:
        ValueError: For anything else (a mode of another environment, a typo …). Only a
            ``ValueError``, deliberately not also a ``TypeError``: Stable-Baselines3
            retries ``gymnasium.make`` without ``render_mode`` on a ``TypeError`` and would
            silently build an environment that cannot render (see ``docs/errors.md``).
    """
    if value is not None and value not in modes:
        raise ValueError(f"`render_mode` must be one of {list(modes)} or None, got {value!r}")
    return value


def check_instance(value: Any, name: str, cls: type) -> Any:
    """Return ``value`` if it is None or an instance of ``cls``.

    Raises:
        TypeError: Otherwise, e.g. "`churn` must be a Churn or None, got 0.1".
    """
    if value is not None and not isinstance(value, cls):
        raise TypeError(f"`{name}` must be a {cls.__name__} or None, got {value!r}")
    return value


def check_labels(value: Any, name: str, n: int) -> NDArray[Any] | None:
    """Return group labels as a read-only copy: None, or an integer or string array ``(n,)``.

    Raises:
        TypeError: If ``value`` is not None or such an array.
        ValueError: If its shape is not ``(n,)``.
    """
    if value is None:
        return None
    if (
        not isinstance(value, np.ndarray)
        or not (np.issubdtype(value.dtype, np.integer) or value.dtype.kind in "US")
        or value.dtype == np.bool_
    ):
        raise TypeError(
            f"`{name}` must be an integer or string numpy array of labels, got "
            + (f"dtype {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__)
        )
    if value.shape != (n,):
        raise ValueError(f"`{name}` must have shape ({n},), one label each, got {value.shape}")
    labels = value.copy()
    labels.flags.writeable = False
    return labels


def check_slate_size(value: Any, n_items: int | None = None) -> int:
    """Return a slate size ``k`` as a Python ``int``: a positive integer, at most ``n_items``.

    Args:
        value: The candidate ``slate_size``.
        n_items: Number of items of the catalogue, once known; None checks only ``k >= 1``.

    Returns:
        int: ``value`` as a Python ``int``.

    Raises:
        TypeError: If ``value`` is not an integer (``bool`` included).
        ValueError: If ``value < 1``, or ``value > n_items``
            (``"`slate_size` must be at most n_items (5), got 6"``).
    """
    slate_size = check_positive_int(value, "slate_size")
    if n_items is not None and slate_size > n_items:
        raise ValueError(f"`slate_size` must be at most n_items ({n_items}), got {slate_size}")
    return slate_size


def check_available(value: Any, n_items: int, slate_size: int) -> NDArray[np.bool_] | None:
    """Check the availability mask of a changing catalogue (a step info's ``"available"``).

    Args:
        value: None (every item available) or a bool ndarray of shape ``(n_items,)``,
            True where the item can be recommended.
        n_items: Number of items of the table.
        slate_size: Items per slate ``k``; at least ``k`` items must be available.

    Returns:
        numpy.ndarray | None: ``value`` itself (not a copy), or None.

    Raises:
        TypeError: If ``value`` is not None or a bool ndarray
            (``"`available` must be a boolean numpy array of shape (5,), got list"``,
            ``"`available` must hold booleans, got dtype int64"``).
        ValueError: On a wrong shape
            (``"`available` must have shape (5,), one flag per item, got (4,)"``), or with
            fewer than ``slate_size`` items available
            (``"`available` must leave at least slate_size (2) items available, got 1"``).
    """
    if value is None:
        return None
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"`available` must be a boolean numpy array of shape ({n_items},), "
            f"got {type(value).__name__}"
        )
    if value.dtype != np.bool_:
        raise TypeError(f"`available` must hold booleans, got dtype {value.dtype}")
    if value.shape != (n_items,):
        raise ValueError(
            f"`available` must have shape ({n_items},), one flag per item, got {value.shape}"
        )
    count = int(np.count_nonzero(value))
    if count < slate_size:
        raise ValueError(
            f"`available` must leave at least slate_size ({slate_size}) items available, "
            f"got {count}"
        )
    return value


def check_consumed(consumed: Any, slates: NDArray[np.int64], n_items: int) -> NDArray[np.int64]:
    """Validate the items users consumed from their slates, with ``O(n · k)`` vectorised checks.

    Args:
        consumed: Integer array of shape ``(n,)``: the item each user consumed, ``-1`` for
            none (an environment step's ``info["item"]``). None is accepted only for
            single-item actions (``slates`` of shape ``(n,)``), where each user consumed
            what it was shown.
        slates: Validated int64 actions: ``(n,)`` single items or ``(n, k)`` slates.
        n_items: Number of items.

    Returns:
        numpy.ndarray: ``consumed`` as int64 (``slates`` itself if ``consumed`` is None).

    Raises:
        TypeError: If ``consumed`` is not an integer ndarray.
        ValueError: If it is None with slates of ``k > 1`` items, has the wrong shape, lies
            outside ``[-1, n_items)``, or names an item that is not in the user's slate
            (the messages name the first such user).
    """
    n = slates.shape[0]
    if consumed is None:
        if slates.ndim == 1:
            return slates
        raise ValueError(
            f"`consumed` is required with slates of {slates.shape[1]} items: pass the item "
            'each user consumed, -1 for none (the step info\'s "item"), got None'
        )
    consumed = _check_integer_array(consumed, "consumed", (n,)).astype(np.int64, copy=False)
    outside = (consumed < -1) | (consumed >= n_items)
    if outside.any():
        user = int(np.argmax(outside))
        raise ValueError(
            f"`consumed` must lie in [-1, {n_items}) (-1: nothing consumed), "
            f"got {consumed[user].item()!r} for user {user}"
        )
    shown = slates.reshape(n, -1)
    valid = (shown == consumed[:, np.newaxis]).any(axis=1) | (consumed == -1)
    if not valid.all():
        user = int(np.argmin(valid))
        raise ValueError(
            f"`consumed` must be an item of the user's slate or -1, got item "
            f"{consumed[user].item()!r} for user {user}, shown {shown[user].tolist()}"
        )
    return consumed


def check_indices(value: Any, name: str, n: int, ndim: int) -> NDArray[np.int64]:
    """Validate an integer array of ``ndim`` dimensions whose entries index ``range(n)``.

    Args:
        value: The candidate.
        name: The argument name used in error messages.
        n: The number of things indexed; every entry must lie in ``[0, n)``.
        ndim: The number of dimensions ``value`` must have.

    Returns:
        numpy.ndarray: ``value`` as int64 (the same object if it already was).

    Raises:
        TypeError: If ``value`` is not an integer ndarray
            (``"`rows` must be a numpy integer array, got list"``,
            ``"`rows` must hold integers, got dtype float64"``).
        ValueError: On another number of dimensions
            (``"`rows` must be a 1-D array, got shape (2, 2)"``), or an entry out of range
            (``"`rows` must lie in [0, 4), got 7 at index (1,)"``).
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(f"`{name}` must be a numpy integer array, got {type(value).__name__}")
    _refuse_masked(value, name)
    if value.dtype == np.bool_ or not np.issubdtype(value.dtype, np.integer):
        raise TypeError(f"`{name}` must hold integers, got dtype {value.dtype}")
    if value.ndim != ndim:
        raise ValueError(f"`{name}` must be a {ndim}-D array, got shape {value.shape}")
    if value.size and (value.min() < 0 or value.max() >= n):
        index = np.unravel_index(int(np.argmax((value < 0) | (value >= n))), value.shape)
        raise ValueError(
            f"`{name}` must lie in [0, {n}), got {value[index].item()!r} at index "
            f"{tuple(int(i) for i in index)}"
        )
    return value.astype(np.int64, copy=False)


def check_rows(value: Any, n: int, name: str = "rows") -> NDArray[np.int64]:
    """Validate distinct row indices in ``[0, n)``: a 1-D integer array (see :func:`check_indices`).

    Raises:
        TypeError: If ``value`` is not an integer ndarray.
        ValueError: If it is not 1-D, an entry is out of range, or a row is repeated
            (``"`rows` must not repeat a row, got 2 twice"``).
    """
    rows = check_indices(value, name, n, 1)
    ordered = np.sort(rows)
    repeated = np.flatnonzero(ordered[1:] == ordered[:-1])
    if repeated.size:
        row = ordered[repeated[0]].item()
        raise ValueError(f"`{name}` must not repeat a row, got {row!r} twice")
    return rows


#: How far a returned state may stray outside [-1, 1] by rounding (a normalised vector's
#: coordinate can be 1 + 2⁻⁵²).
_STATE_BOUND_SLACK = 1e-12


def check_model_outputs(
    rewards: Any,
    states: Any,
    *,
    who: str,
    shape: tuple[int, int],
    dtype: np.dtype[Any],
    user_ids: NDArray[np.int64],
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Check what a user model returned for ``n`` users; return it in the environment's dtype.

    O(n·d) vectorised checks: numpy arrays of real numbers (not objects or strings), the
    right shapes, finite values, states inside the state space ``[-1, 1]^d``. The arrays
    are then cast to ``dtype`` (a float64 model in a float32 environment is fine).

    Args:
        rewards: The returned rewards; must be ``(n,)``.
        states: The returned states; must be ``(n, d)``.
        who: The model and method, e.g. ``"`MyModel.batch_step`"``.
        shape: ``(n, d)``.
        dtype: The environment's float dtype.
        user_ids: The pool ids of the ``n`` users, to name the offending one.

    Raises:
        TypeError: If an output is not a numpy array of real numbers.
        ValueError: On a wrong shape, NaN or inf, or a state outside ``[-1, 1]``, naming
            the user and the value.
    """
    n, d = shape
    for name, value, expected in (("rewards", rewards, (n,)), ("new states", states, shape)):
        if not isinstance(value, np.ndarray) or isinstance(value, np.ma.MaskedArray):
            raise TypeError(
                f"{who} must return numpy arrays of shape ({n},) (rewards) and {shape} (new "
                f"states), got {_describe(rewards)} and {_describe(states)}"
            )
        if value.dtype.kind not in "biuf":
            raise TypeError(f"{who} must return {name} of real numbers, got dtype {value.dtype}")
        if value.shape != expected:
            raise ValueError(
                f"{who} must return numpy arrays of shape ({n},) (rewards) and {shape} (new "
                f"states), got {_describe(rewards)} and {_describe(states)}"
            )
    if not np.isfinite(rewards).all():
        user = int(np.flatnonzero(~np.isfinite(rewards))[0])
        raise ValueError(
            f"{who} returned a reward that is not finite for user {int(user_ids[user])}: "
            f"{rewards[user]!r}"
        )
    magnitude = np.abs(states).max(axis=1) if d else np.zeros(n)
    outside = ~(magnitude <= 1.0 + _STATE_BOUND_SLACK)  # NaN fails too
    if outside.any():
        user = int(np.flatnonzero(outside)[0])
        problem = "not finite" if not np.isfinite(states[user]).all() else "outside [-1, 1]"
        raise ValueError(
            f"{who} returned a state {problem} for user {int(user_ids[user])}: "
            f"{states[user].tolist()}"
        )
    return rewards.astype(dtype, copy=False), states.astype(dtype, copy=False)


def check_single_output(value: Any, *, who: str, user: int, kind: str, dim: int) -> Any:
    """Check one user's output of a single-user model method (the per-user fallback).

    Args:
        value: What the method returned.
        who: The model and method, e.g. ``"`MyModel.reward_function`"``.
        user: The user's pool id.
        kind: ``"reward"`` (a real number) or ``"state"`` (a real array ``(dim,)``).
        dim: The state dimension.

    Returns:
        The value: a float, or an array ``(dim,)``.

    Raises:
        TypeError: For None (a forgotten ``return``), a string, an object …
        ValueError: For a state of the wrong shape.
    """
    if value is None:
        raise TypeError(f"{who} returned None for user {user} (a missing `return`?)")
    if kind == "reward":
        if isinstance(value, np.ndarray) and value.shape in ((), (1,)):
            value = value.reshape(())[()]
        if not isinstance(value, (numbers.Real, np.bool_)):
            raise TypeError(f"{who} must return a real number, got {value!r} for user {user}")
        return float(value)
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        got = f"dtype {value.dtype}" if isinstance(value, np.ndarray) else repr(value)
        raise TypeError(
            f"{who} must return the new state as a numpy array of real numbers, got "
            f"{got} for user {user}"
        )
    if value.shape != (dim,):
        raise ValueError(
            f"{who} must return a state of shape ({dim},), got shape {value.shape} for user {user}"
        )
    return value


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"shape {value.shape}"
    return type(value).__name__


def machine_memory() -> int | None:
    """The machine's physical memory in bytes, or None where the system does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(nbytes: int, argument: str, value: Any, what: str) -> None:
    """Refuse, before allocating anything, a request larger than the machine's memory.

    Args:
        nbytes: The bytes the request needs.
        argument: The argument that sets the size (named in the message).
        value: Its value.
        what: What would be allocated, e.g. ``"the user pool and states"``.

    Raises:
        ValueError: If ``nbytes`` exceeds the machine's physical memory, e.g.
            "`n_users` = 1000000000000 needs 80,000 GB for the user pool and states; this
            machine has 24.0 GB".
    """
    memory = machine_memory()
    if memory is not None and nbytes > memory:
        raise ValueError(
            f"`{argument}` = {value!r} needs {nbytes / 1e9:,.1f} GB for {what}; this machine "
            f"has {memory / 1e9:,.1f} GB"
        )
