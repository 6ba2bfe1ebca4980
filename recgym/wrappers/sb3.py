"""Stable-Baselines3 ``VecEnv`` adapters: recgym's vectorised environments without copies.

SB3's own route, ``make_vec_env("RECEnv-v0", n_envs=n)``, works (a ``DummyVecEnv`` of
``n`` ``RECEnv`` stepped in a Python loop). These adapters skip the loop: one batched
numpy step for every sub-environment.

* :class:`VectorEnvAdapter` — over :class:`recgym.RECVectorEnv`
  (``gymnasium.make_vec("RECEnv-v0", num_envs=n)``): ``n`` independent users.
* :class:`PopulationVecEnv` — over :class:`recgym.population.PopulationEnv`'s array API:
  every user of the population is a sub-environment.

Both follow SB3's ``VecEnv`` contract: ``reset()`` returns the observations only;
``step_async``/``step_wait``; ``dones = terminated | truncated``; a list of info dicts
with ``"terminal_observation"`` and ``"TimeLimit.truncated"`` on the done step; SB3's
same-step autoreset (the observation returned on a done step is the next episode's
first — translated from Gymnasium's NEXT_STEP, see :mod:`recgym.wrappers.autoreset`);
rewards as float32 (as ``DummyVecEnv``); ``seed()`` (the seed of the next reset: the
vector env is reset with ``seed`` as the root of all its streams, not with
``seed + i`` per sub-environment); ``render()`` (``rgb_array``: the frames tiled by
SB3, or the population's one frame); episode statistics through SB3's ``VecMonitor``.

Attributes and methods (``get_attr``, ``set_attr``, ``env_method``) are those of the
one underlying environment, shared by all sub-environments: ``get_attr`` returns its
value once per requested index, ``set_attr`` and ``env_method`` act on it once
(``env_method`` returns the result once per requested index).

Needs ``stable-baselines3`` (``pip install "recgym[sb3]"``; install torch first, see
``docs/rl_libraries.md``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import numpy as np
from gymnasium.vector import VectorEnv
from numpy.typing import NDArray

from recgym.population.env import PopulationEnv
from recgym.wrappers.autoreset import SameStepPopulation, SameStepVector

try:
    from stable_baselines3.common.vec_env import VecEnv
except ImportError as error:  # pragma: no cover - exercised without SB3 installed
    raise ImportError(
        "recgym.wrappers.sb3 needs stable-baselines3: pip install 'recgym[sb3]' "
        "(install torch's CPU wheel first: see docs/rl_libraries.md)"
    ) from error

__all__ = ["PopulationVecEnv", "VectorEnvAdapter"]


class _SameStepVecEnv(VecEnv):
    """The SB3 ``VecEnv`` methods shared by both adapters (over a same-step core)."""

    _core: SameStepVector | SameStepPopulation
    env: Any
    #: Whether the environment renders one frame for all sub-environments (a population).
    _one_frame: ClassVar[bool] = False

    def _start(self, observation_space: Any, action_space: Any) -> None:
        self._actions: NDArray[Any] | None = None
        super().__init__(self._core.num_envs, observation_space, action_space)

    # --- the step ---------------------------------------------------------------------

    def reset(self) -> NDArray[Any]:
        """Reset; the seed and options from ``seed()``/``set_options()`` are used once.

        Returns:
            numpy.ndarray: The first observations ``(num_envs, d)``.
        """
        options = self._options[0] or None
        obs, self.reset_infos = self._core.reset(seed=self._seeds[0], options=options)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: NDArray[Any]) -> None:
        """Remember the actions ``(num_envs,)`` (or ``(num_envs, k)`` slates)."""
        self._actions = actions

    def step_wait(
        self,
    ) -> tuple[NDArray[Any], NDArray[np.float32], NDArray[np.bool_], list[dict[str, Any]]]:
        """Step with the remembered actions.

        Returns:
            tuple: ``(observations (n, d), rewards float32 (n,), dones bool (n,), infos)``
            (see :mod:`recgym.wrappers.autoreset`).
        """
        if self._actions is None:
            raise RuntimeError("call `step_async(actions)` before `step_wait()`")
        actions, self._actions = self._actions, None
        return self._core.step(actions)

    def close(self) -> None:
        """Close the underlying environment."""
        self._core.close()

    def get_images(self) -> Sequence[NDArray[np.uint8] | None]:
        """The RGB frames (``render_mode="rgb_array"``), in a list.

        One frame per sub-environment over a vector env; the population's one frame over
        a ``PopulationEnv``.
        """
        if self.render_mode != "rgb_array":
            warnings.warn(
                f"The render mode is {self.render_mode}, but this method assumes it is "
                "`rgb_array` to obtain images.",
                stacklevel=2,
            )
            return [None] * (1 if self._one_frame else self.num_envs)
        frames = self.env.render()
        return [frames] if self._one_frame else list(frames)

    # --- attributes and methods of the one shared environment ---------------------------

    def _count(self, indices: Any) -> int:
        return len(list(self._get_indices(indices)))

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        """The environment's attribute, once per index (shared by all sub-environments)."""
        return [getattr(self.env, attr_name)] * self._count(indices)

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        """Set the attribute on the one environment (every sub-environment sees it)."""
        setattr(self.env, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any
    ) -> list[Any]:
        """Call the environment's method once; its result is repeated once per index."""
        result = getattr(self.env, method_name)(*method_args, **method_kwargs)
        return [result] * self._count(indices)

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        """Whether a wrapper of ``wrapper_class`` is in the environment's wrapper chain."""
        env, found = self.env, False
        while env is not None and not found:
            found = isinstance(env, wrapper_class)
            env = getattr(env, "env", None)
        return [found] * self._count(indices)

    def _get_indices(self, indices: Any) -> Iterable[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, (int, np.integer)):
            return [int(indices)]
        return indices


class VectorEnvAdapter(_SameStepVecEnv):
    """An SB3 ``VecEnv`` over a NEXT_STEP Gymnasium vector env, :class:`recgym.RECVectorEnv`.

    ```python
    # requires: stable_baselines3
    import gymnasium as gym
    import recgym
    from recgym.wrappers.sb3 import VectorEnvAdapter

    venv = VectorEnvAdapter(gym.make_vec("RECEnv-v0", num_envs=8))
    ```

    Args:
        env: ``gymnasium.make_vec("RECEnv-v0", num_envs=n)`` (any Gymnasium ``VectorEnv``
            with NEXT_STEP autoreset whose sub-environments end together; no churn).
        info_keys: Keys of the vector env's infos to copy into each info dict (e.g.
            ``("user_id",)``); none by default, which keeps the step vectorised.

    Attributes:
        env: The Gymnasium vector env.

    Raises:
        TypeError: If ``env`` is not a Gymnasium ``VectorEnv``.
        ValueError: If it does not autoreset in NEXT_STEP mode, or has churn.
    """

    def __init__(self, env: VectorEnv, info_keys: Sequence[str] = ()):
        self._core = SameStepVector(env, tuple(info_keys))
        self.env = env
        self._start(env.single_observation_space, env.single_action_space)


class PopulationVecEnv(_SameStepVecEnv):
    """An SB3 ``VecEnv`` over a :class:`~recgym.population.PopulationEnv`: one sub-env per user.

    ```python
    # requires: stable_baselines3
    from recgym.population import PopulationEnv
    from recgym.wrappers.sb3 import PopulationVecEnv

    venv = PopulationVecEnv(PopulationEnv(n_users=256, n_items=20))
    ```

    ``render()`` in ``rgb_array`` mode returns the population's one frame (every user in
    one picture), not one frame per user.

    Args:
        env: A ``PopulationEnv`` without churn (users who leave end one by one).
        info_keys: Keys of ``step_batch``'s infos to copy into each user's info dict.

    Attributes:
        env: The ``PopulationEnv``.

    Raises:
        TypeError: If ``env`` is not a ``PopulationEnv``.
        ValueError: If it has churn.
    """

    _one_frame = True

    def __init__(self, env: PopulationEnv, info_keys: Sequence[str] = ()):
        self._core = SameStepPopulation(env, tuple(info_keys))
        self.env = env
        space = env.observation_space("user_0")
        self._start(space, env.action_space("user_0"))
