"""Logged datasets for offline RL and off-policy evaluation, in SCOPE-RL's or OBP's format.

:func:`collect_logged_dataset` runs a behaviour policy on every user of a
:class:`~recgym.population.PopulationEnv` at once (the array API) and returns, at slate
size 1, the dictionary that SCOPE-RL's ``SyntheticDataset.obtain_episodes`` returns: one
trajectory per user and episode, stored trajectory-major, with the exact probability
(``pscore``) of every logged action. At slate size ``k > 1`` it returns the Open Bandit
Pipeline's slate format (``SyntheticSlateBanditDataset.obtain_batch_bandit_feedback``):
one row per slate and position, with the joint, cascade and item-position propensities
(see :data:`SLATE_DATASET_KEYS`). :func:`save_logged_dataset` and
:func:`load_logged_dataset` write and read either as a ``.npz`` archive without pickle.

Example:
    >>> from recgym.population import PopulationEnv, collect_logged_dataset
    >>> from recgym.population.policies import SoftmaxPolicy
    >>> env = PopulationEnv(n_users=4, n_items=3, step_per_episode=2, random_state=0)
    >>> data = collect_logged_dataset(env, SoftmaxPolicy(temperature=0.5), 6, seed=1)
    >>> data["size"], data["state"].shape, data["done"].tolist()
    (12, (12, 5), [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym._io import ContainerFormat, read_container, write_container
from recgym._validation import (
    check_bool,
    check_memory,
    check_nonnegative_int,
    check_positive_int,
    check_seed,
)
from recgym.population.dataset_checks import check_logged_dataset
from recgym.population.env import PopulationEnv
from recgym.population.policies import Policy
from recgym.population.rollout import BehaviorCallable, Rollout, check_env

__all__ = [
    "LOGGED_DATASET_KEYS",
    "SLATE_DATASET_KEYS",
    "BehaviorCallable",
    "collect_logged_dataset",
    "load_logged_dataset",
    "save_logged_dataset",
]

#: The keys of a logged dataset, in the order of SCOPE-RL's ``obtain_episodes``.
LOGGED_DATASET_KEYS = (
    "size",
    "n_trajectories",
    "step_per_trajectory",
    "action_type",
    "n_actions",
    "action_dim",
    "action_meaning",
    "action_keys",
    "state_dim",
    "state_keys",
    "state",
    "action",
    "reward",
    "done",
    "terminal",
    "info",
    "pscore",
    "behavior_policy",
    "dataset_id",
)

#: The keys of a slate dataset (slate size ``k > 1``): first those of the Open Bandit
#: Pipeline's ``SyntheticSlateBanditDataset.obtain_batch_bandit_feedback`` (with
#: ``len_list``, its estimators' argument; without ``expected_reward_factual``), then
#: recgym's trajectory bookkeeping.
SLATE_DATASET_KEYS = (
    "n_rounds",
    "n_unique_action",
    "len_list",
    "slate_id",
    "context",
    "action_context",
    "action",
    "position",
    "reward",
    "pscore_cascade",
    "pscore",
    "pscore_item_position",
    "n_trajectories",
    "step_per_trajectory",
    "trajectory_id",
    "step",
    "choice",
    "info",
    "behavior_policy",
    "dataset_id",
)

#: The file format of saved logged datasets (see :func:`save_logged_dataset`).
LOGGED_DATASET_FORMAT = ContainerFormat(
    name="recgym.logged_dataset",
    version=1,
    header_entry="__recgym_logged_dataset__",
    description="logged dataset",
)
_INFO_PREFIX = "info/"


# --------------------------------------------------------------------------- collection


def collect_logged_dataset(
    env: PopulationEnv,
    behavior_policy: Policy | str | BehaviorCallable,
    n_trajectories: int,
    *,
    seed: int | None = None,
    chunk_size: int | None = None,
    obtain_info: bool = False,
    behavior_policy_name: str | None = None,
    dataset_id: int = 0,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Run a behaviour policy on a population and log it (SCOPE-RL's format; OBP's for slates).

    Every user of ``env`` is one trajectory per episode: an episode yields
    ``env.n_users`` trajectories of ``step_per_trajectory`` steps, and as many episodes
    run as ``n_trajectories`` needs. The first starts with ``env.reset_batch(seed=seed)``
    and the others with ``env.reset_batch()`` (continuing the environment's random
    streams, as SCOPE-RL seeds its environment once and then resets it per trajectory).
    When ``n_trajectories`` is not a multiple of ``env.n_users``, the last episode still
    simulates every user but only its first rows (users ``0 … r − 1``) are kept; choose
    the population size as a divisor of ``n_trajectories`` to waste nothing.

    The policy acts on the observations through the array API; its propensities are
    checked to lie in ``(0, 1]``. A :class:`~recgym.population.policies.Policy` is reset
    once at the start (bound to ``env.item_features`` and ``env.n_users``, with a
    generator derived from ``seed`` — the same as :func:`~recgym.population.simulate`'s,
    so the first episode is exactly ``simulate(env, policy, seed=seed)``), sees the true
    states if it ``needs_state``, and gets :meth:`~Policy.update` after every step, so a
    learning policy keeps learning across episodes. A callable ``f(observations) ->
    (actions, propensities)`` draws from its own (seeded) generator.

    Slates (``env`` built with ``slate_size=k > 1``): the policy must be a Policy of the
    same slate size, or a callable returning a
    :class:`~recgym.population.policies.Decision` with ``cascade_propensities`` (its
    ``item_position_propensities`` may be None), and the dataset takes the Open Bandit
    Pipeline's slate format, described under Returns.

    Memory: the output arrays are allocated once, at their final size (about
    ``size · (state_dim + 5) · 8`` bytes, plus ``size · (state_dim + 1) · 8`` with
    ``obtain_info``); each step adds ``O(n_users · state_dim)`` temporaries and the
    policy's chunked scoring buffers.

    Args:
        env: The population; it is reset by the collection.
        behavior_policy: A Policy instance, a registered policy name (see
            :data:`~recgym.population.policies.POLICIES`) or a callable mapping
            observations ``(n, state_dim)`` to int actions ``(n,)`` and float
            propensities ``(n,)`` (a ``Decision`` works).
        n_trajectories: Number of trajectories (users × episodes) to log, ``>= 1``.
        seed: Seeds the environment's first reset and the policy's generator. None: the
            environment's own streams (``random_state`` on its first reset) and fresh
            entropy for the policy.
        chunk_size: For a callable policy, the largest number of users per call (bounds
            the memory of a callable that builds ``(n, n_items)`` arrays); None passes
            the whole population. Policies chunk their own scoring.
        obtain_info: Also log ``info["user_id"]`` and ``info["state"]`` (the user's true
            preference after each step, as SCOPE-RL logs the info that ``step`` returns);
            otherwise ``info`` is ``{}``, as SCOPE-RL's default.
        behavior_policy_name: The ``"behavior_policy"`` entry; default the policy's
            ``name`` or the callable's ``__name__``.
        dataset_id: The ``"dataset_id"`` entry, ``>= 0``.
        progress: Print a progress line on stderr; None: on a terminal, for runs of at
            least 10⁷ user-steps.

    Returns:
        dict: SCOPE-RL's logged dataset, keys in :data:`LOGGED_DATASET_KEYS` order.
        With ``size = n_trajectories · step_per_trajectory`` and rows trajectory-major
        (row ``i · step_per_trajectory + t`` is step ``t`` of trajectory ``i``):

        * ``size``, ``n_trajectories``, ``step_per_trajectory``, ``n_actions``
          (``env.n_items``), ``state_dim`` (``env.user_feature_dim``), ``dataset_id``:
          ``int``; ``action_type``: ``"discrete"``; ``behavior_policy``: ``str``;
          ``action_dim``, ``action_meaning``, ``action_keys``, ``state_keys``: None;
        * ``state``: ``(size, state_dim)`` observations the policy acted on, float64
          (float32 if the environment is);
        * ``action``: ``(size,)`` int64;
        * ``reward``: ``(size,)`` float64 (float32 if the environment is);
        * ``done``: ``(size,)`` float64, 1.0 on the last step of each trajectory (or
          where the environment terminated earlier);
        * ``terminal``: ``(size,)`` float64, 1.0 on the last step of each trajectory;
        * ``info``: ``{}``, or ``{"user_id": (size,) int64, "state": (size, state_dim)}``;
        * ``pscore``: ``(size,)`` float64, the probability of each logged action.

        At slate size ``k > 1``, keys in :data:`SLATE_DATASET_KEYS` order: with
        ``n_rounds = n_trajectories · step_per_trajectory`` slates, slate
        ``s = i · step_per_trajectory + t`` being step ``t`` of trajectory ``i``, and
        one row per slate and position (row ``s · k + j`` is position ``j`` of slate
        ``s``):

        * ``n_rounds``, ``n_unique_action`` (``env.n_items``), ``len_list`` (``k``),
          ``n_trajectories``, ``step_per_trajectory``, ``dataset_id``: ``int``;
          ``behavior_policy``: ``str``;
        * ``slate_id``, ``position``, ``action``: int64 ``(n_rounds · k,)``: the slate,
          the position (0 at the top) and the item shown there;
        * ``reward``: ``(n_rounds · k,)`` float64 (float32 if the environment is): the
          step's reward at the position the user consumed, 0 at the other positions
          (all 0 when the user consumed nothing), so a slate's rewards sum to the
          step's reward;
        * ``pscore``: float64 ``(n_rounds · k,)``: the joint probability of the whole
          ordered slate, repeated on its ``k`` rows; ``pscore_cascade``: the
          probability of the slate's first ``j + 1`` items; ``pscore_item_position``:
          the marginal probability of the item at its position, or None when the
          behaviour policy has no closed form for it (softmax, a callable that does not
          give it);
        * ``context``: ``(n_rounds, state_dim)`` the observation each slate was chosen
          on; ``action_context``: ``(n_items, state_dim)`` a copy of
          ``env.item_features``;
        * ``trajectory_id``, ``step``: int64 ``(n_rounds,)`` each slate's trajectory and
          step; ``choice``: int64 ``(n_rounds,)`` the position consumed, −1 for none;
        * ``info``: ``{}``, or ``{"user_id": (n_rounds,) int64, "state":
          (n_rounds, state_dim)}``.

    Raises:
        TypeError: If an argument has the wrong type, or the policy returns one.
        ValueError: If an argument has a wrong value, or the policy returns actions out
            of range or propensities outside ``(0, 1]`` (or, with slates, no cascade
            propensities).
    """
    env = check_env(env)
    n_trajectories = check_positive_int(n_trajectories, "n_trajectories")
    seed = check_seed(seed, "seed")
    dataset_id = check_nonnegative_int(dataset_id, "dataset_id")
    if not isinstance(obtain_info, (bool, np.bool_)):
        raise TypeError(f"`obtain_info` must be a bool, got {obtain_info!r}")
    if behavior_policy_name is not None and not isinstance(behavior_policy_name, str):
        raise TypeError(
            f"`behavior_policy_name` must be a str or None, got {behavior_policy_name!r}"
        )
    run = Rollout(
        env,
        behavior_policy,
        task="collect_logged_dataset",
        trajectories=n_trajectories,
        seed=seed,
        chunk_size=chunk_size,
        progress=progress,
        argument="behavior_policy",
        require_end=True,
    )

    name = run.name if behavior_policy_name is None else behavior_policy_name
    check_memory(
        _dataset_bytes(env, n_trajectories * run.steps, obtain_info),
        "n_trajectories",
        n_trajectories,
        f"a logged dataset of {n_trajectories} trajectories of {run.steps} steps",
    )
    if env.config.slate_size > 1:
        return _collect_slates(run, env, n_trajectories, obtain_info, name, dataset_id)
    horizon, d = run.steps, env.user_feature_dim
    size = n_trajectories * horizon
    state = np.empty((size, d), dtype=env.dtype)
    action = np.empty(size, dtype=np.int64)
    reward = np.empty(size, dtype=env.dtype)
    done = np.empty(size, dtype=np.float64)
    pscore = np.empty(size, dtype=np.float64)
    # Trajectory-major views: [trajectory, t, ...].
    state_3d = state.reshape(n_trajectories, horizon, d)
    action_2d, reward_2d = action.reshape(-1, horizon), reward.reshape(-1, horizon)
    done_2d, pscore_2d = done.reshape(-1, horizon), pscore.reshape(-1, horizon)
    info: dict[str, NDArray[Any]] = {}
    if obtain_info:
        info = {
            "user_id": np.empty(size, dtype=np.int64),
            "state": np.empty((size, d), dtype=env.dtype),
        }
        user_id_2d = info["user_id"].reshape(-1, horizon)
        info_state_3d = info["state"].reshape(n_trajectories, horizon, d)

    for episode in run:
        rows, k = slice(episode.first, episode.first + episode.size), episode.size
        for step in episode:
            t = step.t
            state_3d[rows, t] = step.observations[:k]
            action_2d[rows, t] = step.actions[:k]
            reward_2d[rows, t] = step.rewards[:k]
            done_2d[rows, t] = step.terminations[:k]
            pscore_2d[rows, t] = step.propensities[:k]
            if obtain_info:
                user_id_2d[rows, t] = step.info["user_id"][:k]
                info_state_3d[rows, t] = step.info["state"][:k]
    terminal = np.zeros(size, dtype=np.float64)
    terminal[horizon - 1 :: horizon] = 1.0
    done[horizon - 1 :: horizon] = 1.0  # SCOPE-RL: done = terminal on a trajectory's last step

    return {
        "size": size,
        "n_trajectories": n_trajectories,
        "step_per_trajectory": horizon,
        "action_type": "discrete",
        "n_actions": env.n_items,
        "action_dim": None,
        "action_meaning": None,
        "action_keys": None,
        "state_dim": d,
        "state_keys": None,
        "state": state,
        "action": action,
        "reward": reward,
        "done": done,
        "terminal": terminal,
        "info": info,
        "pscore": pscore,
        "behavior_policy": name,
        "dataset_id": dataset_id,
    }


def _dataset_bytes(env: PopulationEnv, rows: int, obtain_info: bool) -> int:
    """The bytes of a logged dataset of ``rows`` steps (slates), its arrays added up."""
    itemsize, d, k = np.dtype(env.dtype).itemsize, env.user_feature_dim, env.config.slate_size
    states = d * itemsize * (2 if obtain_info else 1) + (8 if obtain_info else 0)
    if k == 1:  # state, action, reward, done, terminal, pscore (+ info)
        return rows * (states + itemsize + 4 * 8)
    # context, pscore, choice, trajectory_id, step; per position: slate_id, position,
    # action, reward, joint, cascade and item-position propensities (+ info)
    return rows * (states + 4 * 8 + k * (6 * 8 + itemsize))


def _collect_slates(
    run: Rollout,
    env: PopulationEnv,
    n_trajectories: int,
    obtain_info: bool,
    name: str,
    dataset_id: int,
) -> dict[str, Any]:
    """:func:`collect_logged_dataset` at slate size ``k > 1``: the Open Bandit Pipeline's format.

    Slate ``s = i · T + t`` is step ``t`` of trajectory ``i``; its rows are
    ``s · k … s · k + k − 1``, one per position (see :data:`SLATE_DATASET_KEYS`).
    """
    horizon, d, k = run.steps, env.user_feature_dim, env.config.slate_size
    n_rounds = n_trajectories * horizon
    context = np.empty((n_rounds, d), dtype=env.dtype)
    action = np.empty((n_rounds, k), dtype=np.int64)
    reward = np.zeros((n_rounds, k), dtype=env.dtype)
    pscore = np.empty(n_rounds, dtype=np.float64)
    cascade = np.empty((n_rounds, k), dtype=np.float64)
    item_position: NDArray[np.float64] | None = np.empty((n_rounds, k), dtype=np.float64)
    choice = np.empty(n_rounds, dtype=np.int64)
    info: dict[str, NDArray[Any]] = {}
    if obtain_info:
        info = {
            "user_id": np.empty(n_rounds, dtype=np.int64),
            "state": np.empty((n_rounds, d), dtype=env.dtype),
        }
    # Trajectory-major views: [trajectory, t, ...].
    views = {
        "context": context.reshape(n_trajectories, horizon, d),
        "action": action.reshape(n_trajectories, horizon, k),
        "pscore": pscore.reshape(n_trajectories, horizon),
        "cascade": cascade.reshape(n_trajectories, horizon, k),
        "choice": choice.reshape(n_trajectories, horizon),
        **{
            f"info/{key}": value.reshape(n_trajectories, horizon, -1) for key, value in info.items()
        },
    }
    reward_3d = reward.reshape(n_trajectories, horizon, k)
    for episode in run:
        rows, m = slice(episode.first, episode.first + episode.size), episode.size
        for step in episode:
            t = step.t
            if step.cascade_propensities is None:
                raise ValueError(
                    f"the behaviour policy ({run.name}) gave no cascade propensities; a slate "
                    "dataset needs them (return a Decision with cascade_propensities)"
                )
            chosen = step.info["choice"][:m]
            views["context"][rows, t] = step.observations[:m]
            views["action"][rows, t] = step.actions[:m]
            views["pscore"][rows, t] = step.propensities[:m]
            views["cascade"][rows, t] = step.cascade_propensities[:m]
            views["choice"][rows, t] = chosen
            for key in info:
                views[f"info/{key}"][rows, t] = step.info[key][:m].reshape(m, -1)
            consumers = np.flatnonzero(chosen >= 0)
            reward_3d[rows, t][consumers, chosen[consumers]] = step.rewards[:m][consumers]
            if item_position is not None:
                if step.item_position_propensities is None:
                    item_position = None
                else:
                    item_position.reshape(n_trajectories, horizon, k)[rows, t] = (
                        step.item_position_propensities[:m]
                    )
    return {
        "n_rounds": n_rounds,
        "n_unique_action": env.n_items,
        "len_list": k,
        "slate_id": np.repeat(np.arange(n_rounds, dtype=np.int64), k),
        "context": context,
        "action_context": np.array(env.item_features),
        "action": action.reshape(-1),
        "position": np.tile(np.arange(k, dtype=np.int64), n_rounds),
        "reward": reward.reshape(-1),
        "pscore_cascade": cascade.reshape(-1),
        "pscore": np.repeat(pscore, k),
        "pscore_item_position": None if item_position is None else item_position.reshape(-1),
        "n_trajectories": n_trajectories,
        "step_per_trajectory": horizon,
        "trajectory_id": np.repeat(np.arange(n_trajectories, dtype=np.int64), horizon),
        "step": np.tile(np.arange(horizon, dtype=np.int64), n_trajectories),
        "choice": choice,
        "info": info,
        "behavior_policy": name,
        "dataset_id": dataset_id,
    }


# -------------------------------------------------------------------------- save / load


def save_logged_dataset(
    dataset: Mapping[str, Any], path: str | os.PathLike[str], *, compress: bool = False
) -> Path:
    """Write a logged dataset to a ``.npz`` archive, losslessly and atomically, without pickle.

    Top-level numpy arrays (and numpy scalars) become archive entries under their key,
    arrays of ``info`` entries ``"info/<key>"``; every other value (ints, strings, None,
    lists, string-keyed dicts) goes, with the key order, into the JSON entry
    ``"__recgym_logged_dataset__"``. Any reader can open the file with
    ``numpy.load(path, allow_pickle=False)``.

    The archive is written to a temporary file in the same directory, flushed to disk
    and renamed over ``path``: an interrupted write leaves no partial file under
    ``path`` (an older file there stays intact).

    Args:
        dataset: A logged dataset, e.g. from :func:`collect_logged_dataset` (any dict of
            this layout, SCOPE-RL's included).
        path: The file to write (written as given; ``.npz`` is the usual suffix).
        compress: Deflate the arrays (smaller, slower).

    Returns:
        pathlib.Path: ``path``.

    Raises:
        TypeError: If ``dataset`` is not a mapping or holds a value that cannot be
            stored exactly (an object array, a tuple, a custom object …), named; or
            ``path`` is not a path.
        ValueError: If a key is reserved by the file format (``"info/…"``,
            ``"__recgym_logged_dataset__"``).
    """
    if not isinstance(dataset, Mapping):
        raise TypeError(f"`dataset` must be a dict, got {type(dataset).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a str or os.PathLike, got {type(path).__name__}")
    compress = check_bool(compress, "compress")
    path = Path(path)
    arrays: dict[str, NDArray[Any]] = {}
    layout: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    for key, value in dataset.items():
        if not isinstance(key, str):
            raise TypeError(f"dataset keys must be strings, got {key!r}")
        if key == LOGGED_DATASET_FORMAT.header_entry or key.startswith(_INFO_PREFIX):
            raise ValueError(f"dataset key {key!r} is reserved by the file format")
        if key == "info" and isinstance(value, Mapping):
            items = []
            for info_key, info_value in value.items():
                if not isinstance(info_key, str):
                    raise TypeError(f"info keys must be strings, got {info_key!r}")
                name = _INFO_PREFIX + info_key
                kind = _store(info_value, name, f"info[{info_key!r}]", arrays, values)
                items.append({"key": info_key, "kind": kind})
            layout.append({"key": key, "kind": "info", "items": items})
        else:
            layout.append({"key": key, "kind": _store(value, key, repr(key), arrays, values)})
    header = {"layout": layout, "values": values}
    return write_container(path, LOGGED_DATASET_FORMAT, header, arrays, compress=compress)


def _store(
    value: Any,
    name: str,
    label: str,
    arrays: dict[str, NDArray[Any]],
    values: dict[str, Any],
) -> str:
    """File ``value`` under ``name`` in ``arrays`` or ``values``; return its kind.

    Kinds: ``"array"`` (an ndarray), ``"scalar"`` (a numpy scalar, stored 0-d) or
    ``"json"`` (a plain Python value).
    """
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError(
                f"dataset entry {label} is an object array, which cannot be saved without pickle"
            )
        arrays[name] = value
        return "array"
    if isinstance(value, np.generic):
        arrays[name] = np.asarray(value)
        return "scalar"
    _check_json(value, label)
    values[name] = value
    return "json"


def _check_json(value: Any, label: str) -> None:
    """Raise unless ``value`` reads back from JSON as an equal value of the same types."""
    if value is None or type(value) in (bool, int, float, str):
        return
    if type(value) is list:
        for item in value:
            _check_json(item, label)
        return
    if type(value) is dict:
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"dataset entry {label} holds a dict with a non-string key {key!r}, "
                    "which JSON cannot store exactly"
                )
            _check_json(item, label)
        return
    hint = " (use a list)" if isinstance(value, tuple) else ""
    raise TypeError(
        f"dataset entry {label} holds a {type(value).__name__}, which cannot be saved "
        f"exactly{hint}; use numpy arrays, numbers, strings, None, lists or dicts"
    )


def load_logged_dataset(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a logged dataset written by :func:`save_logged_dataset` (no pickle).

    Args:
        path: The ``.npz`` file.

    Returns:
        dict: The dataset, equal to the one saved: same keys in the same order, arrays
        with the same dtypes, shapes and values, the same Python values.

    Raises:
        TypeError: If ``path`` is not a path.
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is truncated, damaged, not an ``.npz`` archive, not a
            recgym logged dataset, or a dataset whose entries disagree with its layout
            (:func:`~recgym.population.dataset_checks.check_logged_dataset`):
            ``cannot load a logged dataset from '<path>': <reason>``.
    """
    header, arrays = read_container(path, LOGGED_DATASET_FORMAT)
    try:
        dataset = _rebuild(arrays, header)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"cannot load a logged dataset from '{os.fspath(path)}': "
            f"damaged ({type(error).__name__}: {error})"
        ) from None
    try:
        check_logged_dataset(dataset)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"cannot load a logged dataset from '{os.fspath(path)}': inconsistent ({error})"
        ) from None
    return dataset


def _rebuild(arrays: dict[str, NDArray[Any]], metadata: dict[str, Any]) -> dict[str, Any]:
    """The dataset described by ``metadata``, using every array of ``arrays``."""
    values = metadata["values"]
    expected: set[str] = set()
    dataset: dict[str, Any] = {}
    for entry in metadata["layout"]:
        key, kind = entry["key"], entry["kind"]
        if kind == "info":
            dataset[key] = {
                item["key"]: _read(
                    arrays, _INFO_PREFIX + item["key"], item["kind"], values, expected
                )
                for item in entry["items"]
            }
        else:
            dataset[key] = _read(arrays, key, kind, values, expected)
    extra = sorted(set(arrays) - expected)
    if extra:
        raise ValueError(f"unexpected entries {extra}")
    return dataset


def _read(
    arrays: dict[str, NDArray[Any]], name: str, kind: str, values: dict[str, Any], seen: set[str]
) -> Any:
    if kind == "json":
        return values[name]
    if kind not in ("array", "scalar"):
        raise ValueError(f"unknown entry kind {kind!r}")
    seen.add(name)
    array = arrays[name]
    return array[()] if kind == "scalar" else array
