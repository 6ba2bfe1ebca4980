"""Same-step autoreset over recgym's environments, in numpy: the core of the SB3 adapters.

Stable-Baselines3's ``VecEnv`` contract differs from Gymnasium's ``VectorEnv`` in when a
finished sub-environment restarts:

* **Gymnasium, NEXT_STEP** (:class:`recgym.RECVectorEnv`): the step on which an episode
  ends returns its *terminal* observation with ``terminated``/``truncated`` set; the
  *next* ``step`` ignores that sub-environment's action and returns the new episode's
  first observation with reward 0 and both flags ``False``.
* **SB3, same step**: the step on which an episode ends returns ``done=True`` and, as
  the observation, the *new* episode's first observation; the terminal observation is in
  ``infos[i]["terminal_observation"]`` and ``infos[i]["TimeLimit.truncated"]`` says
  whether the end was a time limit. The agent never sees the autoreset step.

The classes here translate one into the other without stepping anything twice: when
every sub-environment ends on the same step — always the case in recgym's worlds
without churn, where all of them start together and share the horizon — the NEXT_STEP
autoreset step (actions ignored, reward 0, no flags) is taken at once, inside the same
call, and its observations are returned. That is exactly the sequence of numbers of a
manual NEXT_STEP rollout with the autoreset steps removed (``tests/test_wrappers.py``
checks it element by element). Worlds in which sub-environments end one by one (churn:
users who leave) cannot be translated through the public API without stepping the
others, and are refused.

Everything is vectorised; the only per-environment Python is building the list of
``num_envs`` info dicts that SB3 requires (empty dicts on ordinary steps).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium.vector import VectorEnv
from numpy.typing import NDArray

from recgym.population.env import PopulationEnv

__all__ = ["SameStepPopulation", "SameStepVector", "StepResult"]

#: ``(observations, rewards float32 (n,), dones bool (n,), infos list of n dicts)``.
StepResult = tuple[NDArray[Any], NDArray[np.float32], NDArray[np.bool_], list[dict[str, Any]]]


def _unwrapped(env: Any) -> Any:
    """The innermost environment of a Gymnasium (vector) wrapper chain."""
    return getattr(env, "unwrapped", env)


def _refuse_churn(env: Any, name: str) -> None:
    config = getattr(_unwrapped(env), "config", None)
    if config is not None and getattr(config, "churn", None) is not None:
        raise ValueError(
            f"{name} needs sub-environments that end together; with churn users leave "
            "one by one, which SB3's same-step autoreset cannot be given without stepping "
            "the others: drop `churn` or use the Gymnasium/PettingZoo API directly"
        )


def _placeholder_actions(space: Any, n: int) -> NDArray[np.int64]:
    """Valid actions for a step whose actions are ignored: item 0, or slate 0 … k-1."""
    shape: tuple[int, ...] = tuple(getattr(space, "shape", None) or ())
    if len(shape) == 1:  # a slate of k distinct items
        return np.broadcast_to(np.arange(shape[0], dtype=np.int64), (n, shape[0])).copy()
    return np.zeros(n, dtype=np.int64)


def _autoreset_mode_name(env: Any) -> str:
    """The vector env's autoreset mode as a string (gymnasium 1.0 has no key: NextStep)."""
    mode = getattr(env, "metadata", {}).get("autoreset_mode", "NextStep")
    return str(getattr(mode, "value", mode))


def _info_dicts(n: int, info: dict[str, Any], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """``n`` new dicts holding, for each of ``keys``, sub-env ``i``'s entry of ``info``."""
    dicts: list[dict[str, Any]] = [{} for _ in range(n)]
    for key in keys:
        if key not in info:
            continue
        mask = info.get(f"_{key}")
        column = info[key]
        for i in range(n) if mask is None else np.flatnonzero(mask).tolist():
            dicts[i][key] = column[i]
    return dicts


class _SameStep(ABC):
    """The translation both adapters share; subclasses say how to restart and what ended.

    Args:
        env: The environment (checked by the subclass).
        num_envs: Its number of sub-environments (users).
        info_keys: Keys of its infos to copy into each sub-environment's info dict.
        reset: Its reset, ``reset(seed=..., options=...) -> (observations, info)``.
        step: Its step, ``step(actions) -> (obs, rewards, terminated, truncated, info)``.

    Raises:
        ValueError: If ``env`` has churn.
    """

    def __init__(
        self,
        env: Any,
        num_envs: int,
        info_keys: tuple[str, ...] | list[str],
        reset: Callable[..., tuple[NDArray[Any], dict[str, Any]]],
        step: Callable[[NDArray[np.integer]], tuple[Any, ...]],
    ):
        _refuse_churn(env, type(self).__name__)
        self.env = env
        self.num_envs = num_envs
        self.info_keys = tuple(info_keys)
        self._range = range(self.num_envs)
        self._reset = reset
        self._step = step

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[Any], list[dict[str, Any]]]:
        """Reset every sub-environment (a population: ``reset_batch``).

        Returns:
            ``(observations (n, d), n info dicts)``.
        """
        obs, info = self._reset(seed=seed, options=options)
        return obs, _info_dicts(self.num_envs, info, self.info_keys)

    def step(self, actions: NDArray[np.integer]) -> StepResult:
        """One step of every sub-environment (a population: ``step_batch``), SB3's way.

        See the module.

        Args:
            actions: ``(n,)`` items, or ``(n, k)`` slates.

        Returns:
            ``(observations (n, d), rewards float32 (n,), dones bool (n,), infos)``:
            ``dones = terminated | truncated``; on a done step the observations are the
            new episodes' first ones and each info dict holds ``"terminal_observation"``
            (the row of the terminal observations, ``(d,)``) and
            ``"TimeLimit.truncated"`` (``truncated and not terminated``).

        Raises:
            RuntimeError: If some sub-environments end and others do not, or (a vector
                env) the step after an end is not an autoreset step.
        """
        obs, rewards, terminated, truncated, info = self._step(np.asarray(actions))
        dones = terminated | truncated
        if not dones.any():
            infos = (
                [{} for _ in self._range]
                if not self.info_keys
                else _info_dicts(self.num_envs, info, self.info_keys)
            )
            return obs, rewards.astype(np.float32), dones, infos
        if not dones.all():
            raise RuntimeError(self._uneven_ends(dones))
        time_limit = (truncated & ~terminated).tolist()
        infos = [
            {"terminal_observation": row, "TimeLimit.truncated": limit}
            for row, limit in zip(obs, time_limit)
        ]
        if self.info_keys:
            for target, extra in zip(infos, _info_dicts(self.num_envs, info, self.info_keys)):
                target.update(extra)
        return self._restart(), rewards.astype(np.float32), dones, infos

    def render(self) -> Any:
        """The environment's ``render()``: a vector env's tuple of frames or texts.

        A population's is one frame (``rgb_array``) or text; None without a render mode.
        """
        return self.env.render()

    def close(self) -> None:
        """Close the environment."""
        self.env.close()

    @abstractmethod
    def _restart(self) -> NDArray[Any]:
        """Start the new episodes after every sub-environment ended; their first observations."""

    @abstractmethod
    def _uneven_ends(self, dones: NDArray[np.bool_]) -> str:
        """The error message when only some sub-environments ended."""


class SameStepVector(_SameStep):
    """A NEXT_STEP Gymnasium vector env stepped with SB3's same-step autoreset.

    Args:
        env: A Gymnasium ``VectorEnv`` with NEXT_STEP autoreset whose sub-environments
            end together: :class:`recgym.RECVectorEnv` (``gymnasium.make_vec
            ("RECEnv-v0", num_envs=n)``, without churn), possibly wrapped in Gymnasium
            vector wrappers, or a ``SyncVectorEnv`` of ``RECEnv``.
        info_keys: Keys of the vector env's infos to copy into each sub-environment's
            info dict (e.g. ``("user_id",)``); empty by default, which keeps the step
            free of per-environment Python.

    Raises:
        TypeError: If ``env`` is not a Gymnasium ``VectorEnv``.
        ValueError: If its autoreset mode is not NEXT_STEP, or it has churn.
    """

    def __init__(self, env: VectorEnv, info_keys: tuple[str, ...] | list[str] = ()):
        if not isinstance(env, VectorEnv):
            raise TypeError(
                f"`env` must be a gymnasium VectorEnv (e.g. gymnasium.make_vec"
                f"('RECEnv-v0', num_envs=n)), got {type(env).__name__}"
            )
        mode = _autoreset_mode_name(env)
        if mode != "NextStep":
            raise ValueError(f"`env` must autoreset in NEXT_STEP mode, got {mode!r}")
        super().__init__(env, int(env.num_envs), info_keys, env.reset, env.step)
        self._placeholder = _placeholder_actions(env.single_action_space, self.num_envs)

    def _restart(self) -> NDArray[Any]:
        """The NEXT_STEP autoreset step, taken at once (placeholder actions, ignored)."""
        next_obs, zero, again, again_truncated, _ = self._step(self._placeholder)
        if zero.any() or again.any() or again_truncated.any():
            raise RuntimeError(
                "the step after every sub-environment ended was not a NEXT_STEP autoreset "
                "step (reward 0, no flags)"
            )
        return next_obs

    def _uneven_ends(self, dones: NDArray[np.bool_]) -> str:
        return (
            f"sub-environments {np.flatnonzero(dones)[:5].tolist()} ended but "
            f"{np.flatnonzero(~dones)[:5].tolist()} did not; the same-step "
            "translation needs sub-environments that end together"
        )


class SameStepPopulation(_SameStep):
    """:class:`~recgym.population.PopulationEnv`'s array API, one sub-env per user, SB3's way.

    Every user ``i`` is sub-environment ``i``. All users end together (after
    ``step_per_episode`` steps, or ``max_cycles``); on that step the population is reset
    at once (``reset_batch()`` without a seed: the streams continue) and its first
    observations are returned, the terminal ones going to the info dicts.

    Args:
        env: A :class:`~recgym.population.PopulationEnv` without churn.
        info_keys: Keys of ``step_batch``'s infos to copy into each user's info dict
            (e.g. ``("user_id",)``); empty by default.

    Raises:
        TypeError: If ``env`` is not a ``PopulationEnv``.
        ValueError: If it has churn.
    """

    def __init__(self, env: PopulationEnv, info_keys: tuple[str, ...] | list[str] = ()):
        if not isinstance(env, PopulationEnv):
            raise TypeError(f"`env` must be a PopulationEnv, got {type(env).__name__}")
        super().__init__(env, int(env.n_users), info_keys, env.reset_batch, env.step_batch)

    def _restart(self) -> NDArray[Any]:
        """``reset_batch()`` without a seed: the streams continue."""
        obs, _ = self.env.reset_batch()
        return obs

    def _uneven_ends(self, dones: NDArray[np.bool_]) -> str:
        return (
            "some users ended and others did not; the same-step translation needs "
            "users that end together"
        )
