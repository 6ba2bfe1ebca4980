"""``RECVectorEnv``: a native Gymnasium vector environment of independent users."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from gymnasium import logger, spaces
from gymnasium.vector import VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from recgym._validation import (
    check_options,
    check_positive_int,
    check_render_mode,
    check_seed,
    check_slates,
)
from recgym.checkpoint import Checkpointable
from recgym.config import (
    EnvArguments,
    PopulationConfig,
    refuse_social_graph,
    signature_with_arguments,
)
from recgym.core import Population
from recgym.errors import ResetNeeded
from recgym.rendering import PreferenceCanvas, render_text
from recgym.spaces import action_space_of

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["RECVectorEnv"]

try:  # Gymnasium >= 1.1 reads metadata["autoreset_mode"] and requires the enum member
    from gymnasium.vector import AutoresetMode

    _NEXT_STEP: Any = AutoresetMode.NEXT_STEP
except ImportError:  # Gymnasium 1.0 has no modes: next-step is its only autoreset, no key is read
    _NEXT_STEP = "NextStep"  # AutoresetMode.NEXT_STEP.value on Gymnasium >= 1.1


class RECVectorEnv(Checkpointable, VectorEnv[NDArray[np.float64], NDArray[np.int64], NDArray[Any]]):
    """``num_envs`` independent copies of :class:`recgym.RECEnv`, stepped as one array.

    ``gymnasium.make_vec("RECEnv-v0", num_envs=n)`` returns this class. Sub-environment
    ``i`` holds one user drawn from the pool; all sub-environments run the population
    core in one batched numpy step.

    Honest only while users do not influence each other: a ``VectorEnv`` promises
    independent sub-environments, which holds for recgym's user models (each user's
    reward and transition depend on that user's state and item only). For populations
    whose users interact, use :class:`recgym.population.PopulationEnv`.

    ## Autoreset
    ``NEXT_STEP`` (Gymnasium's default; ``metadata["autoreset_mode"]`` is
    ``gymnasium.vector.AutoresetMode.NEXT_STEP``, or the string ``"NextStep"`` on
    Gymnasium 1.0, which has neither the enum nor the key and autoresets only this
    way): the step on which a sub-environment ends
    returns its terminal observation with ``terminated[i]`` (or ``truncated[i]``) set;
    the next ``step`` ignores its action, draws a new user and returns that user's first
    observation with reward 0 and both flags ``False``. All sub-environments start
    together and have the same horizon, so they end and restart on the same steps.

    ## Checkpoints
    ``checkpoint()`` / ``restore(checkpoint)`` (and ``save_checkpoint(path)`` /
    ``load_checkpoint(path)``) snapshot and restore every sub-environment mid-episode,
    a pending autoreset and every generator included; see :mod:`recgym.checkpoint`.

    ## Infos
    ``{"user_id": int64 (n,), "state": float64 (n, d)}`` with Gymnasium's boolean masks
    ``"_user_id"`` and ``"_state"``.

    Args:
        num_envs: Number of sub-environments (users stepped at once).
        max_episode_steps: Truncate after this many steps (``make_vec`` passes the
            spec's value); None for no truncation.
        render_mode: None, ``"ansi"`` or ``"rgb_array"``: :meth:`render` returns one
            text or one uint8 ``(256, 256, 3)`` frame per sub-environment (Gymnasium's
            vector convention, a tuple); see :mod:`recgym.rendering`.
        **arguments: The environment arguments
            (:class:`~recgym.config.EnvArguments`): those of :class:`recgym.RECEnv`
            (``step_per_episode``, ``n_items``, ``n_users``, …, ``random_state``,
            ``feature_normalization``).
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 - an instance attribute in VectorEnv
        "render_modes": ["ansi", "rgb_array"],
        "render_fps": 4,
        "autoreset_mode": _NEXT_STEP,
    }
    _checkpoint_attributes: ClassVar[dict[str, str]] = {
        "_autoreset": "bools",
        "_episode_steps": "ints",
        "_last_rewards": "floats",
        "_last_obs": "floats",
        "_trail": "paths",
        "_np_random": "generator",
        "_np_random_seed": "int",
    }
    _checkpoint_settings: ClassVar[tuple[str, ...]] = ("num_envs", "max_episode_steps")

    def __init__(
        self,
        num_envs: int = 1,
        *,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        **arguments: Unpack[EnvArguments],
    ):
        self.num_envs = check_positive_int(num_envs, "num_envs")
        self.config = PopulationConfig.from_arguments(**arguments)
        refuse_social_graph(self.config, "RECVectorEnv")
        self.max_episode_steps = (
            None
            if max_episode_steps is None
            else check_positive_int(max_episode_steps, "max_episode_steps")
        )
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self._population: Population = Population(
            self.config, self.num_envs, slots_argument="num_envs"
        )
        self.single_observation_space = spaces.Box(
            -1.0, 1.0, shape=(self.config.user_feature_dim,), dtype=np.float64
        )
        self.single_action_space = action_space_of(self.config)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._autoreset = np.zeros(self.num_envs, dtype=np.bool_)
        self._episode_steps = np.zeros(self.num_envs, dtype=np.int64)
        self._last_rewards: NDArray[np.float64] | None = None
        self._last_obs: NDArray[np.float64] | None = None
        self._canvas: PreferenceCanvas | None = None
        # rgb_array: each sub-env's path on the plane (num_envs, step_per_episode + 1, 2).
        self._trail: NDArray[np.float64] | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float64], dict[str, Any]]:
        """Draw one user per sub-environment; returns observations ``(n, d)`` and infos.

        Args:
            seed: Reseeds every random stream. The first reset without a seed uses
                ``random_state``; later unseeded resets continue the streams.
            options: Ignored (accepted for API compatibility).
        """
        population = self._population
        seed = check_seed(seed, "seed")
        check_options(options)
        if seed is None and not population.seeded:
            seed = self.config.random_state
        super().reset(seed=seed)
        if seed is not None or not population.seeded:
            sequence = self.np_random.bit_generator.seed_seq
            assert isinstance(sequence, np.random.SeedSequence)
            population.seed(sequence)
        self._autoreset = np.zeros(self.num_envs, dtype=np.bool_)
        self._episode_steps = np.zeros(self.num_envs, dtype=np.int64)
        obs = population.reset(population.sample_users())
        self._last_rewards, self._last_obs = None, self._for_render(obs)
        return obs, self._infos()

    def step(
        self, actions: NDArray[np.integer]
    ) -> tuple[
        NDArray[np.float64],
        NDArray[np.float64],
        NDArray[np.bool_],
        NDArray[np.bool_],
        dict[str, Any],
    ]:
        """Recommend one item per sub-environment (NEXT_STEP autoreset; see the class)."""
        population = self._population
        n = self.num_envs
        if population.states is None:
            raise ResetNeeded("Cannot call `step` before `reset`; call `reset` first")
        actions = check_slates(
            actions, n, self.config.slate_size, self.config.n_items, population.valid_slates
        )
        resetting = self._autoreset
        terminated = np.zeros(n, dtype=np.bool_)
        truncated = np.zeros(n, dtype=np.bool_)
        if resetting.all():  # every sub-environment ended on the same step
            obs = population.reset(population.sample_users())
            rewards = np.zeros(n, dtype=population.dtype)
            self._episode_steps[:] = 0
        else:
            slots = np.flatnonzero(resetting)
            if slots.size:  # only with churn: the ended ones sit this step out
                assert population.active is not None
                population.active[slots] = False
            obs, rewards = population.step(actions)
            self._episode_steps += 1
            if slots.size:
                population.reset_slots(slots, population.sample_users(slots))
                obs[slots] = population.observe(slots)
                rewards[slots] = 0.0
                self._episode_steps[slots] = 0
            stepped = ~resetting
            terminated = stepped & (self._episode_steps >= self.config.step_per_episode)
            if population.left is not None:  # a user who leaves ends their sub-episode
                terminated |= stepped & population.left
            if self.max_episode_steps is not None:
                truncated = stepped & ~terminated & (self._episode_steps >= self.max_episode_steps)
        self._autoreset = terminated | truncated
        self._last_rewards, self._last_obs = rewards, self._for_render(obs)
        infos = self._infos(None if resetting.all() else ~resetting)
        return obs, np.asarray(rewards, dtype=np.float64), terminated, truncated, infos

    def _for_render(self, obs: NDArray[np.float64]) -> NDArray[np.float64] | None:
        """A private copy of the observations when rendering (the caller owns ``obs``).

        With ``rgb_array`` it also adds the current states to the paths drawn (a new path
        for every sub-environment at its first step).
        """
        if self.render_mode == "rgb_array":
            self._record_trail()
        return None if self.render_mode is None else obs.copy()

    def _preference_canvas(self) -> PreferenceCanvas:
        """The RGB canvas, built on first use (the projection is computed once)."""
        if self._canvas is None:
            config = self.config
            self._canvas = PreferenceCanvas(
                config.item_features, config.user_features, config.user_groups
            )
        return self._canvas

    def _record_trail(self) -> None:
        horizon = self.config.step_per_episode
        if self._trail is None:
            self._trail = np.full((self.num_envs, horizon + 1, 2), np.nan)
        steps = np.minimum(self._episode_steps, horizon)
        self._trail[steps == 0] = np.nan  # a new episode: a new path
        points = self._preference_canvas().project(self._population.current_states())
        self._trail[np.arange(self.num_envs), steps] = points

    def _infos(self, stepped: NDArray[np.bool_] | None = None) -> dict[str, Any]:
        """Gymnasium's vector infos, with their ``_key`` masks.

        ``stepped`` marks the sub-environments that stepped (the others autoreset): only
        their ``choice`` and ``item`` are meaningful.
        """
        population = self._population
        mask = np.ones(self.num_envs, dtype=np.bool_)
        infos = {
            "user_id": population.current_user_ids().copy(),
            "_user_id": mask,
            "state": population.current_states().copy(),
            "_state": mask.copy(),
        }
        if population.choices is not None and population.consumed_items is not None:
            shown = mask.copy() if stepped is None else stepped.copy()
            infos["choice"], infos["_choice"] = population.choices.copy(), shown
            infos["item"], infos["_item"] = population.consumed_items.copy(), shown.copy()
        if population.available is not None:  # the catalogue, shared by every sub-env
            available = np.broadcast_to(population.available.copy(), (self.num_envs,
                                        len(population.available)))  # fmt: skip
            infos["available"], infos["_available"] = available, mask.copy()
        return infos

    def render(self) -> tuple[str, ...] | tuple[NDArray[np.uint8], ...] | None:
        """One frame per sub-environment, a tuple (Gymnasium's vector convention).

        Returns:
            ``"ansi"``: one text per sub-environment. ``"rgb_array"``: one uint8
            ``(256, 256, 3)`` frame per sub-environment: its user's preference over the
            items on the plane of the item table's first two principal axes, the
            user's path since the episode began and the episode's progress (see
            :mod:`recgym.rendering`). None without a render mode (with a warning).

        Raises:
            recgym.errors.ResetNeeded: Before the first ``reset``.
        """
        if self.render_mode is None:
            logger.warn("You are calling render method without specifying any render mode.")
            return None
        population = self._population
        if population.states is None or self._last_obs is None:
            raise ResetNeeded("Cannot call `render` before `reset`; call `reset` first")
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        rewards, obs = self._last_rewards, self._last_obs
        user_ids, states = population.current_user_ids(), population.current_states()
        return tuple(
            render_text(
                f"RECVectorEnv[{i}] step {population.t}/{self.config.step_per_episode}",
                [
                    (
                        int(user_ids[i]),
                        states[i],
                        obs[i],
                        None if rewards is None else rewards[i],
                    )
                ],
            )
            for i in range(self.num_envs)
        )

    def _render_rgb(self) -> tuple[NDArray[np.uint8], ...]:
        canvas = self._preference_canvas()
        if self._trail is None:  # restored from a checkpoint of an environment without it
            self._record_trail()
        assert self._trail is not None
        trail = self._trail
        colors = canvas.colors(self._population.current_user_ids())
        progress = self._episode_steps / self.config.step_per_episode
        frames = []
        for i in range(self.num_envs):
            path = trail[i][~np.isnan(trail[i, :, 0])]
            frames.append(
                canvas.frame(
                    path[-1:], colors[i], radius=4, trail=path, progress=float(progress[i])
                )
            )
        return tuple(frames)


RECVectorEnv.__init__.__signature__ = signature_with_arguments(  # type: ignore[attr-defined]
    RECVectorEnv.__init__
)
