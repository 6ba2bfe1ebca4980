"""The single-user Gymnasium environment ``RECEnv`` (``"RECEnv-v0"``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from recgym._validation import (
    check_index,
    check_item,
    check_options,
    check_render_mode,
    check_seed,
    check_slates,
)
from recgym.checkpoint import Checkpointable
from recgym.config import (
    ExtensionArguments,
    OriginalArguments,
    PopulationConfig,
    refuse_social_graph,
)
from recgym.core import Population
from recgym.errors import ResetNeeded
from recgym.legacy import LegacyPopulation
from recgym.rendering import RENDER_MODES, PreferenceCanvas, _CanvasOwner, render_text
from recgym.spaces import action_space_of
from recgym.user_model import BaseUserModel, UserModel

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from recgym.core import PopulationCore

__all__ = ["RECEnv"]


class RECEnv(Checkpointable, _CanvasOwner, gym.Env[NDArray[np.float64], Any]):
    """A recommender system with one user per episode (RECGym, rebuilt).

    ## Description
    A user, drawn from a pool of ``n_users`` at every reset, holds a hidden preference
    vector ``s``. At each step the agent recommends one of ``n_items`` items with feature
    vector ``v``; the user returns a reward computed on ``s`` and then moves it
    (``s ← normalise(s + α⟨s, v⟩v)`` with the default :class:`~recgym.UserModel`).
    This is the population core of :mod:`recgym.population` with a population of one.

    ## Action Space
    ``Discrete(n_items)``: the recommended item. Python or numpy integers, or 0-d /
    shape-``(1,)`` integer arrays; anything else raises ``TypeError``/``ValueError``.

    ## Observation Space
    ``Box(-1, 1, (user_feature_dim,), float64)``: ``clip(s + obs_std·ε, -1, 1)``.

    ## Rewards
    Continuous: ``⟨s, v⟩ + reward_std·ξ``. Binary: ``Bernoulli(sigmoid(⟨s, v⟩))``.
    Computed on the state before the transition.

    ## Starting State
    A user drawn uniformly from the pool (``options={"user_id": k}`` picks user ``k``),
    with their initial features as the state.

    ## Episode End
    ``terminated=True`` after ``step_per_episode`` steps; there is no hidden reset
    inside ``step``, and ``step`` after the end (or before the first reset) raises
    :class:`recgym.errors.ResetNeeded`.

    ## Seeding
    ``reset(seed=s)`` makes everything that follows reproducible: user draws,
    observation noise and reward noise come from generators spawned from ``s``. The
    first reset without a seed uses ``random_state`` (so an environment built with a
    ``random_state`` is reproducible as in the original); later unseeded resets continue
    the streams.

    ## Checkpoints
    ``checkpoint()`` / ``restore(checkpoint)`` (and ``save_checkpoint(path)`` /
    ``load_checkpoint(path)``) snapshot and restore the episode mid-way — user, state,
    step, every generator (the legacy ``RandomState`` streams in legacy mode) — so the
    continuation is bit for bit the uninterrupted one; see :mod:`recgym.checkpoint`.
    Through ``gymnasium.make``, call them on ``env.unwrapped``.

    ## Arguments
    ```python
    import gymnasium as gym
    import recgym  # registers "RECEnv-v0"

    env = gym.make("RECEnv-v0", n_items=100, obs_std=0.1)
    ```

    Args:
        step_per_episode: Steps per episode (default 10).
        n_items: Number of items (default 5, as the original's code).
        n_users: Number of users in the pool (default 100).
        item_feature_dim: Item feature dimension (default 5).
        user_feature_dim: User feature dimension (default 5).
        item_feature_vector: Item table ``(n_items, item_feature_dim)``; drawn if None.
        user_feature_vector: User pool ``(n_users, user_feature_dim)``; drawn if None.
        reward_type: ``"continuous"`` (default) or ``"binary"``.
        reward_std: Continuous reward noise (default 0).
        obs_std: Observation noise (default 0).
        UserModel: A :class:`~recgym.BaseUserModel` subclass, instantiated with the
            dims, reward type, reward noise and ``random_state``; or an instance (a
            private copy is used).
        random_state: Seed of the features and of the first unseeded reset, or None.
        feature_normalization: ``"spectral"`` (default, the original's) or ``"row"``.
        render_mode: None, ``"human"`` (prints the text of ``"ansi"`` every step),
            ``"ansi"`` (:meth:`render` returns text) or ``"rgb_array"`` (:meth:`render`
            returns a uint8 ``(256, 256, 3)`` frame: the user and their path since the
            reset over the items, see :mod:`recgym.rendering`).
        legacy: Reproduce SCOPE-RL 0.2.1's RECEnv bit for bit (its two legacy
            ``RandomState`` streams, draw order and arithmetic; ``random_state``
            required; ``reset(seed=s)`` reseeds only the environment's stream, not the
            reward noise). See :mod:`recgym.legacy` and ``docs/migration.md``.

    ## Version History
    * v0: the SCOPE-RL RECGym interface on Gymnasium 1.x, with its bugs fixed.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 - an instance attribute in gymnasium.Env
        "render_modes": RENDER_MODES,
        "render_fps": 4,
    }
    _checkpoint_attributes: ClassVar[dict[str, str]] = {
        "_obs": "floats",
        "_last_reward": "float",
        "_needs_reset": "bool",
        "_np_random": "generator",
        "_np_random_seed": "int",
        "_trail": "paths",
    }
    _checkpoint_settings: ClassVar[tuple[str, ...]] = ("legacy",)

    def __init__(
        self,
        step_per_episode: int = 10,
        n_items: int = 5,
        n_users: int = 100,
        item_feature_dim: int = 5,
        user_feature_dim: int = 5,
        item_feature_vector: NDArray[Any] | None = None,
        user_feature_vector: NDArray[Any] | None = None,
        reward_type: str = "continuous",
        reward_std: float = 0.0,
        obs_std: float = 0.0,
        UserModel: type[BaseUserModel] | BaseUserModel = UserModel,
        random_state: int | None = None,
        *,
        render_mode: str | None = None,
        legacy: bool = False,
        **extensions: Unpack[ExtensionArguments],
    ):
        given = locals()
        arguments = {name: given[name] for name in OriginalArguments.__annotations__}
        if not isinstance(legacy, (bool, np.bool_)):
            raise TypeError(f"`legacy` must be a bool, got {legacy!r}")
        self.legacy = bool(legacy)
        population: PopulationCore
        if legacy:
            population = LegacyPopulation.from_arguments(**arguments, **extensions)
        else:
            config = PopulationConfig.from_arguments(**arguments, **extensions)
            refuse_social_graph(config, "RECEnv")
            population = Population(config, 1)
        self.config = population.config
        self.render_mode = check_render_mode(render_mode, RENDER_MODES)
        self._population = population
        self.observation_space = spaces.Box(
            -1.0, 1.0, shape=(self.config.user_feature_dim,), dtype=np.float64
        )
        self.action_space = action_space_of(self.config)
        self.reward_range = (0.0, 1.0) if reward_type == "binary" else (-np.inf, np.inf)
        self._n_items = self.config.n_items
        self._obs: NDArray[np.float64] | None = None
        self._last_reward: float | None = None
        self._needs_reset = True
        self._canvas: PreferenceCanvas | None = None
        # rgb_array: the path's plane coordinates (step_per_episode + 1, 2), NaN ahead.
        self._trail: NDArray[np.float64] | None = None

    # Original attribute names, read-only views of the configuration.
    step_per_episode = property(lambda self: self.config.step_per_episode)
    n_items = property(lambda self: self.config.n_items)
    n_users = property(lambda self: self.config.n_users)
    user_feature_dim = property(lambda self: self.config.user_feature_dim)
    item_feature_dim = property(lambda self: self.config.item_feature_dim)
    reward_type = property(lambda self: self.config.reward_type)
    reward_std = property(lambda self: self.config.reward_std)
    obs_std = property(lambda self: self.config.obs_std)
    random_state = property(lambda self: self.config.random_state)
    user_model = property(lambda self: self.config.user_model)
    user_feature_vector = property(lambda self: self.config.user_features)
    item_feature_vector = property(lambda self: self.config.item_features)

    @property
    def user_id(self) -> int:
        """Pool index of the current user (:class:`~recgym.errors.ResetNeeded` before reset)."""
        self._check_reset("user_id")
        return int(self._population.current_user_ids()[0])

    @property
    def state(self) -> NDArray[np.float64]:
        """A copy of the current user's true preference, shape ``(user_feature_dim,)``."""
        self._check_reset("state")
        return self._population.current_states()[0].copy()

    def _check_reset(self, name: str) -> None:
        if self._population.states is None:
            raise ResetNeeded(f"Cannot read `{name}` before `reset`; call `reset` first")

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float64], dict[str, Any]]:
        """Draw a user and return the first observation and ``{"user_id", "state"}``.

        Args:
            seed: Reseeds every random stream of the environment.
            options: ``{"user_id": k}`` starts the episode with pool user ``k``;
                unknown keys are ignored.

        Returns:
            tuple: ``(observation (user_feature_dim,) float64, info)``.
        """
        population = self._population
        # Validated before anything changes: a rejected reset leaves the env as it was.
        user_id = None
        given = check_options(options)
        if given is not None and given.get("user_id") is not None:
            user_id = check_index(given["user_id"], "options['user_id']", self.config.n_users)
        if self.legacy:  # as the original: reseed only the env stream, and only if asked
            if seed is not None:
                population.seed(seed)  # validates: an integer in [0, 2**32)
                seed = int(seed)
            super().reset(seed=seed)
        else:
            seed = check_seed(seed, "seed")
            if seed is None and not population.seeded:
                seed = self.config.random_state
            super().reset(seed=seed)
            if seed is not None or not population.seeded:
                population.seed(self.np_random.bit_generator.seed_seq)
        if user_id is None or self.legacy:  # the original drew a user at every reset
            user_ids = population.sample_users()
        if user_id is not None:
            user_ids = np.array([user_id])
        obs = population.reset(user_ids)[0]
        self._last_reward, self._needs_reset = None, False
        self._obs = None if self.render_mode is None else obs.copy()  # the caller owns obs
        if self.render_mode == "rgb_array":
            self._trail = None  # a new path
            self._record_trail()
        return obs, self._info()

    def step(
        self, action: Any
    ) -> tuple[NDArray[np.float64], SupportsFloat, bool, bool, dict[str, Any]]:
        """Recommend one item; returns ``(obs, reward, terminated, truncated, info)``."""
        if self._needs_reset:
            raise ResetNeeded(
                "Cannot call `step` before `reset` or after the episode ended "
                f"(step_per_episode={self.config.step_per_episode}); call `reset` first"
            )
        population = self._population
        observations, rewards = population.step(self._check_action(action))
        obs, self._last_reward = observations[0], float(rewards[0])
        left = getattr(population, "left", None)
        terminated = population.done or (left is not None and bool(left[0]))  # user left
        self._needs_reset = terminated
        if self.render_mode is not None:
            self._obs = obs.copy()  # what render() shows; the caller owns obs
            if self.render_mode == "rgb_array":
                self._record_trail()
            if self.render_mode == "human":
                self.render()
        return obs, self._last_reward, terminated, False, self._info()

    def _check_action(self, action: Any) -> NDArray[np.int64]:
        """One item, or a slate of distinct items, as the core's array ``(1,)`` or ``(1, k)``."""
        k = self.config.slate_size
        if k == 1:
            return np.array([check_item(action, "action", self._n_items)], dtype=np.int64)
        if not isinstance(action, np.ndarray) or action.shape != (k,):
            raise (TypeError if not isinstance(action, np.ndarray) else ValueError)(
                f"`action` must be a numpy integer array of shape ({k},) (a slate of {k} "
                f"distinct items), got "
                + (f"shape {action.shape}" if isinstance(action, np.ndarray) else repr(action))
            )
        return check_slates(action[np.newaxis], 1, k, self._n_items)

    def _info(self) -> dict[str, Any]:
        population = self._population
        info = {
            "user_id": int(population.current_user_ids()[0]),
            "state": population.current_states()[0].copy(),
        }
        choices, items = population.choices, population.consumed_items
        if choices is not None and items is not None:
            info["choice"], info["item"] = int(choices[0]), int(items[0])
        available = getattr(population, "available", None)
        if available is not None:
            info["available"] = available.copy()
        return info

    def _record_trail(self) -> None:
        """Add the current state to the path drawn by ``rgb_array`` frames."""
        population = self._population
        if self._trail is None:  # restored from a checkpoint of an environment without it
            self._trail = np.full((self.config.step_per_episode + 1, 2), np.nan)
        step = min(population.t, len(self._trail) - 1)
        self._trail[step] = self._preference_canvas().project(population.current_states()[0])

    def render(self) -> str | NDArray[np.uint8] | None:
        """Render the current user.

        Returns:
            ``"ansi"``: the text. ``"human"``: None (prints the text). ``"rgb_array"``: a
            uint8 ``(256, 256, 3)`` frame: the user's preference as a dot on the plane of
            the item table's first two principal axes, the items as grey marks, the
            user's path since the reset and the episode's progress along the bottom
            edge (before the first reset: the items only); see
            :mod:`recgym.rendering`.
        """
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        if self.render_mode is None:
            gym.logger.warn(
                "You are calling render method without specifying any render mode. "
                "Set `render_mode` at initialization, e.g. RECEnv(render_mode='ansi')."
            )
            return None
        population = self._population
        if population.states is None:
            text = "RECEnv: not reset yet"
        else:
            text = render_text(
                f"RECEnv step {population.t}/{self.config.step_per_episode}",
                [(self.user_id, population.current_states()[0], self._obs, self._last_reward)],
            )
        if self.render_mode == "ansi":
            return text
        print(text)
        return None

    def _render_rgb(self) -> NDArray[np.uint8]:
        canvas = self._preference_canvas()
        population = self._population
        if population.states is None or self._trail is None:
            return canvas.background.copy()
        trail = self._trail[~np.isnan(self._trail[:, 0])]
        return canvas.frame(
            canvas.project(population.current_states()[:1]),
            canvas.colors(population.current_user_ids()[:1]),
            radius=4,
            trail=trail,
            progress=population.t / self.config.step_per_episode,
        )

    def close(self) -> None:
        """Nothing to release; safe to call any number of times."""
