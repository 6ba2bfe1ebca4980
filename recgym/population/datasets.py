"""Logged datasets for offline RL and off-policy evaluation, in SCOPE-RL's format.

:func:`collect_logged_dataset` runs a behaviour policy on every user of a
:class:`~recgym.population.PopulationEnv` at once (the array API) and returns the
dictionary that SCOPE-RL's ``SyntheticDataset.obtain_episodes`` returns: one trajectory
per user and episode, stored trajectory-major, with the exact probability (``pscore``)
of every logged action. :func:`save_logged_dataset` and :func:`load_logged_dataset`
write and read it as a ``.npz`` archive without pickle.

Example:
    >>> from recgym.population import PopulationEnv, collect_logged_dataset
    >>> from recgym.population.policies import SoftmaxPolicy
    >>> env = PopulationEnv(n_users=4, n_items=3, step_per_episode=2, random_state=0)
    >>> data = collect_logged_dataset(env, SoftmaxPolicy(temperature=0.5), 6, seed=1)
    >>> data["size"], data["state"].shape, data["done"].tolist()
    (12, (12, 5), [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from recgym._io import ContainerFormat, read_container, write_container
from recgym._progress import Progress
from recgym._validation import (
    check_bool,
    check_nonnegative_int,
    check_positive_int,
    check_seed,
)
from recgym.population.env import PopulationEnv
from recgym.population.policies import Policy, make_policy

__all__ = [
    "LOGGED_DATASET_KEYS",
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

#: A behaviour policy given as a function: observations ``(n, d)`` → ``(actions (n,)
#: int, propensities (n,) float)``; a :class:`~recgym.population.policies.Decision` works.
BehaviorCallable = Callable[[NDArray[Any]], tuple[NDArray[np.integer[Any]], NDArray[np.floating]]]

# Tag of the policy's random stream; the same as ``simulate``'s, so the first episode of
# a collection with ``seed=s`` is exactly the run ``simulate(env, policy, seed=s)``.
_POLICY_STREAM = 0x706F6C

#: The file format of saved logged datasets (see :func:`save_logged_dataset`).
LOGGED_DATASET_FORMAT = ContainerFormat(
    name="recgym.logged_dataset",
    version=1,
    header_entry="__recgym_logged_dataset__",
    description="logged dataset",
)
_INFO_PREFIX = "info/"


# ------------------------------------------------------------------------------ rollout


class _Step(NamedTuple):
    """One batched step of a rollout: rows ``first : first + rows`` of the output."""

    first: int
    rows: int
    t: int
    observations: NDArray[np.floating]
    actions: NDArray[np.int64]
    propensities: NDArray[np.float64]
    rewards: NDArray[np.floating]
    terminations: NDArray[np.bool_]
    infos: dict[str, NDArray[Any]]


class _Actor:
    """A Policy, registered policy name or callable behind one ``act``/``update`` interface.

    Args:
        policy: The policy; a Policy instance is reset (bound to the environment's items
            and population, with the generator ``rng``).
        env: The population it acts on.
        rng: The generator of the policy's random draws.
        chunk_size: For callables, the largest number of rows of one call (None: all).
        argument: The argument name used in error messages.
    """

    def __init__(
        self,
        policy: Policy | str | BehaviorCallable,
        env: PopulationEnv,
        rng: np.random.Generator,
        chunk_size: int | None,
        argument: str,
    ):
        if isinstance(policy, str):
            policy = make_policy(policy)
        if isinstance(policy, type) or not (isinstance(policy, Policy) or callable(policy)):
            raise TypeError(
                f"`{argument}` must be a recgym Policy instance, a registered policy name or "
                f"a callable observations -> (actions, propensities), got {policy!r}"
            )
        self.n, self.n_items = env.n_users, env.n_items
        self.argument = argument
        if isinstance(policy, Policy):
            if chunk_size is not None:
                raise ValueError(
                    f"`chunk_size` applies to callable policies only; a Policy scores users "
                    f"in chunks itself (see its `max_chunk_bytes`), got chunk_size={chunk_size!r}"
                )
            policy.reset(env.item_features, n_users=self.n, rng=rng)
            self.policy: Policy | None = policy
            self.function: BehaviorCallable | None = None
            self.name = policy.name
            self.chunk_size = self.n
        else:
            self.policy, self.function = None, policy
            self.name = getattr(policy, "__name__", None) or type(policy).__name__
            self.chunk_size = (
                self.n if chunk_size is None else check_positive_int(chunk_size, "chunk_size")
            )

    def act(
        self, observations: NDArray[np.floating], env: PopulationEnv
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Actions and propensities for every user, checked."""
        if self.policy is not None:
            states = env.state() if self.policy.needs_state else None
            decision = self.policy.act(observations, states=states)
            return self._check(decision.actions, decision.propensities, self.n)
        assert self.function is not None
        if self.chunk_size >= self.n:
            return self._check(*self._call(observations), self.n)
        actions = np.empty(self.n, dtype=np.int64)
        propensities = np.empty(self.n, dtype=np.float64)
        for start in range(0, self.n, self.chunk_size):
            stop = min(start + self.chunk_size, self.n)
            actions[start:stop], propensities[start:stop] = self._check(
                *self._call(observations[start:stop]), stop - start
            )
        return actions, propensities

    def update(self, actions: NDArray[np.int64], rewards: NDArray[np.floating]) -> None:
        """Let a learning Policy see the step's rewards (callables learn nothing here)."""
        if self.policy is not None:
            self.policy.update(actions, rewards)

    def _call(self, observations: NDArray[np.floating]) -> tuple[Any, Any]:
        assert self.function is not None
        result = self.function(observations)
        if not isinstance(result, tuple) or len(result) != 2:
            raise TypeError(
                f"`{self.argument}` must return a pair (actions, propensities), "
                f"got {type(result).__name__}"
            )
        return result

    def _check(
        self, actions: Any, propensities: Any, n: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        who = f"`{self.argument}` ({self.name})"
        if (
            not isinstance(actions, np.ndarray)
            or actions.dtype == np.bool_
            or not np.issubdtype(actions.dtype, np.integer)
        ):
            raise TypeError(
                f"{who} must return actions as a numpy integer array of shape ({n},), "
                f"got {_describe(actions)}"
            )
        if (
            not isinstance(propensities, np.ndarray)
            or propensities.dtype == np.bool_
            or not np.issubdtype(propensities.dtype, np.number)
        ):
            raise TypeError(
                f"{who} must return propensities as a numpy float array of shape ({n},), "
                f"got {_describe(propensities)}"
            )
        if actions.shape != (n,) or propensities.shape != (n,):
            raise ValueError(
                f"{who} must return actions and propensities of shape ({n},), "
                f"got {actions.shape} and {propensities.shape}"
            )
        if n and (actions.min() < 0 or actions.max() >= self.n_items):
            bad = actions[(actions < 0) | (actions >= self.n_items)]
            raise ValueError(
                f"{who} returned actions outside [0, {self.n_items}): {bad[:5].tolist()}"
            )
        # `not (0 < p <= 1)` also catches NaN.
        invalid = ~((propensities > 0) & (propensities <= 1))
        if invalid.any():
            raise ValueError(
                f"{who} returned propensities outside (0, 1]: "
                f"{propensities[invalid][:5].tolist()} (the probability of a chosen action "
                "must be positive)"
            )
        return actions.astype(np.int64, copy=False), propensities.astype(np.float64, copy=False)


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype}"
    return type(value).__name__


def _horizon(env: PopulationEnv) -> int:
    """Steps per trajectory: the episode length, or ``max_cycles`` if shorter."""
    if env.max_cycles is None:
        return env.step_per_episode
    return min(env.step_per_episode, env.max_cycles)


def _check_env(env: Any) -> PopulationEnv:
    if not isinstance(env, PopulationEnv):
        raise TypeError(
            f"`env` must be a recgym.population.PopulationEnv, got {type(env).__name__}"
        )
    return env


def _check_progress(progress: Any, work: int) -> bool:
    """Resolve ``progress``: None means on for large runs (≥ 10⁷ user-steps) on a terminal."""
    if progress is None:
        return sys.stderr.isatty() and work >= 10**7
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"`progress` must be a bool or None, got {progress!r}")
    return bool(progress)


def _rollout(
    env: PopulationEnv,
    actor: _Actor,
    n_trajectories: int,
    seed: int | None,
    progress: Progress,
) -> Iterator[_Step]:
    """Run ``ceil(n_trajectories / n_users)`` episodes and yield every batched step.

    The first episode starts with ``env.reset_batch(seed=seed)``, the next ones with
    ``env.reset_batch()``, which continues the environment's random streams (SCOPE-RL's
    ``obtain_episodes`` seeds its environment once in the same way). Episode ``e`` fills
    trajectories ``e·N … e·N + N − 1``; the last one keeps only the rows still needed.

    Raises:
        RuntimeError: If the environment does not end every episode after ``_horizon``.
    """
    n, horizon = env.n_users, _horizon(env)
    n_episodes = math.ceil(n_trajectories / n)
    for episode in range(n_episodes):
        first = episode * n
        rows = min(n, n_trajectories - first)
        observations, _ = env.reset_batch(seed=seed if episode == 0 else None)
        for t in range(horizon):
            actions, propensities = actor.act(observations, env)
            next_observations, rewards, terminations, truncations, infos = env.step_batch(actions)
            actor.update(actions, rewards)
            yield _Step(
                first, rows, t, observations, actions, propensities, rewards, terminations, infos
            )
            observations = next_observations
            progress.update(episode * horizon + t + 1)
        if not (terminations | truncations).all():
            raise RuntimeError(
                f"the environment did not end its episode after {horizon} steps; "
                "collect_logged_dataset needs every user to finish together"
            )


def _policy_rng(seed: int | None) -> np.random.Generator:
    """The behaviour policy's generator: ``simulate``'s stream for the same seed."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_POLICY_STREAM,)))


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
    """Run a behaviour policy on a population and log it in SCOPE-RL's dataset format.

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

    Raises:
        TypeError: If an argument has the wrong type, or the policy returns one.
        ValueError: If an argument has a wrong value, or the policy returns actions out
            of range or propensities outside ``(0, 1]``.
    """
    env = _check_env(env)
    n_trajectories = check_positive_int(n_trajectories, "n_trajectories")
    seed = check_seed(seed, "seed")
    dataset_id = check_nonnegative_int(dataset_id, "dataset_id")
    if not isinstance(obtain_info, (bool, np.bool_)):
        raise TypeError(f"`obtain_info` must be a bool, got {obtain_info!r}")
    if behavior_policy_name is not None and not isinstance(behavior_policy_name, str):
        raise TypeError(
            f"`behavior_policy_name` must be a str or None, got {behavior_policy_name!r}"
        )
    actor = _Actor(behavior_policy, env, _policy_rng(seed), chunk_size, "behavior_policy")

    horizon, d = _horizon(env), env.user_feature_dim
    size = n_trajectories * horizon
    n_episodes = math.ceil(n_trajectories / env.n_users)
    bar = Progress(
        n_episodes * horizon,
        f"collect_logged_dataset {actor.name}",
        enabled=_check_progress(progress, n_episodes * horizon * env.n_users),
    )
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

    for step in _rollout(env, actor, n_trajectories, seed, bar):
        rows, k, t = slice(step.first, step.first + step.rows), step.rows, step.t
        state_3d[rows, t] = step.observations[:k]
        action_2d[rows, t] = step.actions[:k]
        reward_2d[rows, t] = step.rewards[:k]
        done_2d[rows, t] = step.terminations[:k]
        pscore_2d[rows, t] = step.propensities[:k]
        if obtain_info:
            user_id_2d[rows, t] = step.infos["user_id"][:k]
            info_state_3d[rows, t] = step.infos["state"][:k]
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
        "behavior_policy": actor.name if behavior_policy_name is None else behavior_policy_name,
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
        ValueError: If the file is truncated, damaged, not an ``.npz`` archive, or not a
            recgym logged dataset:
            ``cannot load a logged dataset from '<path>': <reason>``.
    """
    header, arrays = read_container(path, LOGGED_DATASET_FORMAT)
    try:
        return _rebuild(arrays, header)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"cannot load a logged dataset from '{os.fspath(path)}': "
            f"damaged ({type(error).__name__}: {error})"
        ) from None


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
