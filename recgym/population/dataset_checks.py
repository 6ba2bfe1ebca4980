"""Checks of a logged dataset's layout: every entry's type, shape, dtype and range.

:func:`check_logged_dataset` recognises the two layouts :func:`collect_logged_dataset
<recgym.population.datasets.collect_logged_dataset>` writes — SCOPE-RL's (one row per
step, :data:`~recgym.population.datasets.LOGGED_DATASET_KEYS`) and the Open Bandit
Pipeline's slate layout (one row per slate and position,
:data:`~recgym.population.datasets.SLATE_DATASET_KEYS`) — by their keys, and checks the
entries of that layout that the dataset holds. :func:`load_logged_dataset
<recgym.population.datasets.load_logged_dataset>` runs it on every file it reads, so a
damaged or hand-edited file is refused when it is read, not deep inside an estimator.
A dict of another layout (``save_logged_dataset`` stores any dict) passes unchecked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_positive_int

__all__ = ["check_logged_dataset"]


def check_logged_dataset(dataset: Mapping[str, Any]) -> None:
    """Raise unless ``dataset`` is a consistent logged dataset (of the layout its keys say).

    Checked, for the entries present: the counts are positive integers that agree
    (``size = n_trajectories · step_per_trajectory``, ``n_rounds`` likewise); every
    array has its layout's shape and a real dtype; states, contexts and rewards are
    finite; actions are integers in ``[0, n_actions)``; ``done`` and ``terminal`` hold
    0 or 1; behaviour propensities lie in ``(0, 1]``; a slate's positions and ids follow
    the layout; ``choice`` lies in ``[−1, k)``; ``info`` arrays have one row per step
    (per slate).

    Args:
        dataset: A logged dataset dict.

    Raises:
        TypeError: If ``dataset`` is not a mapping, or an entry has the wrong type or dtype.
        ValueError: If an entry has the wrong shape or a value out of range, named with
            its key, e.g. "`dataset['action']` must lie in [0, 5), got 7 at index 3".
    """
    if not isinstance(dataset, Mapping):
        raise TypeError(f"`dataset` must be a logged dataset dict, got {type(dataset).__name__}")
    if "slate_id" in dataset:
        _check_slate_layout(dataset)
    elif "size" in dataset and "n_trajectories" in dataset:
        _check_step_layout(dataset)


def _check_step_layout(dataset: Mapping[str, Any]) -> None:
    """SCOPE-RL's layout: one row per step."""
    from recgym.population.ope import _check_dataset  # the estimators' own checks

    if {"action", "reward", "pscore", "step_per_trajectory"} <= dataset.keys():
        n, horizon = _check_dataset(dataset)
    else:
        n = check_positive_int(dataset["n_trajectories"], "dataset['n_trajectories']")
        horizon = check_positive_int(
            dataset.get("step_per_trajectory", 1), "dataset['step_per_trajectory']"
        )
    size = check_positive_int(dataset["size"], "dataset['size']")
    if size != n * horizon:
        raise ValueError(
            f"`dataset['size']` must equal n_trajectories · step_per_trajectory = "
            f"{n} · {horizon}, got {size}"
        )
    if "state" in dataset:
        dim = dataset.get("state_dim")
        dim = None if dim is None else check_positive_int(dim, "dataset['state_dim']")
        _real(dataset, "state", (size, dim), finite=True)
    if "action" in dataset:
        n_actions = dataset.get("n_actions")
        _actions(dataset, "action", (size,), n_actions, "n_actions")
    for key in ("done", "terminal"):
        if key in dataset:
            values = _real(dataset, key, (size,), finite=True)
            _inside(values, (values == 0) | (values == 1), key, "{0, 1}")
    _check_info(dataset, size)


def _check_slate_layout(dataset: Mapping[str, Any]) -> None:
    """The Open Bandit Pipeline's slate layout: one row per slate and position."""
    from recgym.population.slate_ope import _check_slates

    slates = _check_slates(dataset)
    n, k = slates.n_rounds, slates.len_list
    if (
        "n_rounds" in dataset
        and check_positive_int(dataset["n_rounds"], "dataset['n_rounds']") != n
    ):
        raise ValueError(f"`dataset['n_rounds']` must be {n}, the number of slates")
    _actions(dataset, "action", (n * k,), dataset.get("n_unique_action"), "n_unique_action")
    for key in ("pscore", "pscore_cascade", "pscore_item_position"):
        if dataset.get(key) is not None:
            values = _real(dataset, key, (n * k,), finite=True)
            _inside(values, (values > 0) & (values <= 1), key, "(0, 1]")
    dim = None
    if "action_context" in dataset:
        dim = _real(dataset, "action_context", (None, None), finite=True).shape[1]
    if "context" in dataset:
        _real(dataset, "context", (n, dim), finite=True)
    for key in ("trajectory_id", "step"):
        if key in dataset:
            _integers(dataset, key, (n,))
    if "choice" in dataset:
        choice = _integers(dataset, "choice", (n,))
        _inside(choice, (choice >= -1) & (choice < k), "choice", f"[-1, {k})")
    _check_info(dataset, n)


def _check_info(dataset: Mapping[str, Any], rows: int) -> None:
    info = dataset.get("info")
    if info is None:
        return
    if not isinstance(info, Mapping):
        raise TypeError(f"`dataset['info']` must be a dict, got {type(info).__name__}")
    for key, value in info.items():
        if isinstance(value, np.ndarray) and (value.ndim == 0 or len(value) != rows):
            raise ValueError(
                f"`dataset['info'][{key!r}]` must have one row per step ({rows}), "
                f"got shape {value.shape}"
            )


def _array(
    dataset: Mapping[str, Any], key: str, shape: tuple[int | None, ...], kinds: str, what: str
) -> NDArray[Any]:
    """``dataset[key]``, checked to be an array of dtype kind in ``kinds`` and of ``shape``."""
    value = dataset[key]
    if not isinstance(value, np.ndarray):
        raise TypeError(f"`dataset[{key!r}]` must be a numpy array, got {type(value).__name__}")
    if value.dtype.kind not in kinds:
        raise TypeError(f"`dataset[{key!r}]` must hold {what}, got dtype {value.dtype}")
    if value.ndim != len(shape) or any(
        expected is not None and expected != actual for expected, actual in zip(shape, value.shape)
    ):
        wanted = tuple("*" if s is None else s for s in shape)
        raise ValueError(f"`dataset[{key!r}]` must have shape {wanted}, got {value.shape}")
    return value


def _real(
    dataset: Mapping[str, Any], key: str, shape: tuple[int | None, ...], *, finite: bool
) -> NDArray[Any]:
    value = _array(dataset, key, shape, "iuf", "real numbers")
    if finite:
        _inside(value, np.isfinite(value), key, "the finite numbers")
    return value


def _integers(dataset: Mapping[str, Any], key: str, shape: tuple[int | None, ...]) -> NDArray[Any]:
    return _array(dataset, key, shape, "iu", "integers")


def _actions(
    dataset: Mapping[str, Any], key: str, shape: tuple[int, ...], count: Any, count_key: str
) -> None:
    actions = _integers(dataset, key, shape)
    if count is None:
        _inside(actions, actions >= 0, key, "[0, ∞)")
        return
    count = check_positive_int(count, f"dataset[{count_key!r}]")
    _inside(actions, (actions >= 0) & (actions < count), key, f"[0, {count})")


def _inside(values: NDArray[Any], inside: NDArray[np.bool_], key: str, where: str) -> None:
    if not inside.all():
        flat = values.reshape(-1)
        index = int(np.flatnonzero(~inside.reshape(-1))[0])
        raise ValueError(
            f"`dataset[{key!r}]` must lie in {where}, got {flat[index].item()!r} at index {index}"
        )
