"""``PopulationEnv``: a population of users as a PettingZoo ``ParallelEnv``.

The module also exposes the factory trio PettingZoo's registry and test helpers expect:
:func:`parallel_env`, :func:`env` (the AEC form) and :func:`raw_env`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from gymnasium import logger, spaces
from numpy.typing import DTypeLike, NDArray
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec

from recgym._validation import (
    check_array,
    check_indices,
    check_options,
    check_positive_int,
    check_render_mode,
    check_seed,
    check_slates,
    is_item,
    is_slate,
    items_from_values,
)
from recgym.checkpoint import Checkpointable
from recgym.config import EnvArguments, PopulationConfig, signature_with_arguments
from recgym.core import Population
from recgym.errors import ResetNeeded
from recgym.rendering import (
    RENDER_MODES,
    PreferenceCanvas,
    population_dot_radius,
    render_text,
)
from recgym.spaces import Slate, action_space_of

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["PopulationEnv", "env", "parallel_env", "raw_env"]

AgentID = str


class PopulationEnv(Checkpointable, ParallelEnv[AgentID, NDArray[np.floating], np.int64]):
    """A population of users, each an agent, stepped together in one batched numpy step.

    ## Description
    ``n_users`` users ``"user_0"`` … ``"user_{n_users-1}"`` start from their initial
    preferences (the user pool) and are all stepped at once: each agent's action is the
    item recommended to that user, its observation is the user's noisy preference
    ``clip(s + obs_std·ε, -1, 1)`` and its reward is the user's response (see
    :class:`recgym.UserModel`). The same constructor parameters and semantics as
    :class:`recgym.RECEnv`; ``RECEnv`` is the population of one.

    ## Two APIs on one object
    * The PettingZoo dict API, :meth:`reset` / :meth:`step`, for compatibility.
    * The array API, :meth:`reset_batch` / :meth:`step_batch`, for throughput: arrays
      shaped ``(n_users, …)``, row ``i`` is ``"user_i"``. Given the same seed and
      actions both produce exactly the same numbers.

    ## Spaces
    Every agent shares one observation space ``Box(-1, 1, (user_feature_dim,), dtype)``
    and one action space ``Discrete(n_items)`` (the same objects: seeding one seeds all).
    ``state()`` is the matrix of true preferences, in ``state_space`` =
    ``Box(-1, 1, (n_users, user_feature_dim), dtype)``.

    ## Episode End
    All users terminate together after ``step_per_episode`` steps; with ``max_cycles``
    set they are truncated after ``max_cycles`` steps. ``step`` after the end, or before
    the first reset, raises :class:`recgym.errors.ResetNeeded`.

    ## Checkpoints
    :meth:`checkpoint` returns everything the continuation depends on (states, step,
    generator states) as plain data; :meth:`restore` puts this or a new environment
    built with the same arguments back into it, so the run continues bit for bit
    (:meth:`save_checkpoint` / :meth:`load_checkpoint` go through a ``.npz`` file). The
    environment also pickles to the same continuation. See :mod:`recgym.checkpoint`.

    ## Arguments
    The parameters of :class:`recgym.RECEnv`, plus:

    Args:
        dtype: ``numpy.float64`` (default) or ``numpy.float32`` for observations,
            states and rewards; float32 halves memory.
        render_mode: None, ``"human"`` (prints the text of ``"ansi"`` every step),
            ``"ansi"`` (:meth:`render` returns a summary and the first users) or
            ``"rgb_array"`` (:meth:`render` returns one uint8 ``(256, 256, 3)`` frame of
            the whole population over the items; see :mod:`recgym.rendering`).
        max_cycles: Truncate every user after this many steps (PettingZoo's
            convention); None for no truncation.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "name": "recgym_population_v0",
        "render_modes": RENDER_MODES,
        "render_fps": 4,
        "is_parallelizable": True,
    }
    _checkpoint_attributes: ClassVar[dict[str, str]] = {
        "_live": "bool",
        "_last_rewards": "floats",
        "_last_obs": "floats",
    }
    _checkpoint_settings: ClassVar[tuple[str, ...]] = ("max_cycles",)

    def __init__(
        self,
        *,
        dtype: DTypeLike = np.float64,
        render_mode: str | None = None,
        max_cycles: int | None = None,
        **arguments: Unpack[EnvArguments],
    ):
        self.config = PopulationConfig.from_arguments(**arguments)
        self.render_mode = check_render_mode(render_mode, RENDER_MODES)
        self.max_cycles = (
            None if max_cycles is None else check_positive_int(max_cycles, "max_cycles")
        )
        self._population: Population = self._make_population(dtype)
        dtype = self._population.dtype
        shape = (self.config.user_feature_dim,)
        self._observation_space = spaces.Box(-1.0, 1.0, shape=shape, dtype=dtype)
        self._action_space = action_space_of(self.config)
        self._state_space: spaces.Box | None = None
        self._possible_agents: list[AgentID] | None = None
        self._agent_index: dict[AgentID, int] | None = None
        self._agents: list[AgentID] | None = []
        self._live = False
        self._last_rewards: NDArray[Any] | None = None
        self._last_obs: NDArray[Any] | None = None
        self._canvas: PreferenceCanvas | None = None

    def _make_population(self, dtype: DTypeLike) -> Population:
        """The core of ``n_users`` slots (a hook: recgym.distributed shards it)."""
        return Population(self.config, self.config.n_users, dtype=dtype, slots_argument="n_users")

    # --- configuration, under the original names -------------------------------------

    n_users = property(lambda self: self.config.n_users)
    n_items = property(lambda self: self.config.n_items)
    step_per_episode = property(lambda self: self.config.step_per_episode)
    user_feature_dim = property(lambda self: self.config.user_feature_dim)
    item_feature_dim = property(lambda self: self.config.item_feature_dim)
    user_model = property(lambda self: self.config.user_model)
    dtype = property(lambda self: self._population.dtype)

    @property
    def state_space(self) -> spaces.Box:
        """``Box(-1, 1, (n_users, user_feature_dim), dtype)``, the space of :meth:`state`.

        Built on first use: a Box stores full ``low``/``high`` arrays, which at a million
        users weigh more than the population itself.
        """
        if self._state_space is None:
            shape = (self.config.n_users, self.config.user_feature_dim)
            self._state_space = spaces.Box(-1.0, 1.0, shape=shape, dtype=self.dtype)
        return self._state_space

    @property
    def item_features(self) -> NDArray[np.floating]:
        """The normalised item table ``(n_items, item_feature_dim)`` (read-only view)."""
        view = self._population.item_features.view()
        view.flags.writeable = False
        return view

    @property
    def user_features(self) -> NDArray[np.floating]:
        """The users' initial preferences ``(n_users, user_feature_dim)`` (read-only view)."""
        view = self._population.user_features.view()
        view.flags.writeable = False
        return view

    @property
    def t(self) -> int:
        """Steps taken since the last reset."""
        return self._population.t

    # --- agents (built lazily: the array API never needs the names) ------------------

    @property
    def possible_agents(self) -> list[AgentID]:
        """``["user_0", …, "user_{n_users-1}"]`` and the names of returns, built on first use.

        With churn and returns, user ``i``'s ``v``-th return is the agent ``"user_i.v"``
        (PettingZoo never revives a finished agent's name), for ``v`` up to
        ``step_per_episode // 2``, the most returns an episode allows.
        """
        if self._possible_agents is None:
            n = self.config.n_users
            self._possible_agents = [
                _agent_name(i, visit) for visit in range(self._max_visits + 1) for i in range(n)
            ]
        return self._possible_agents

    @property
    def _max_visits(self) -> int:
        churn = self.config.churn
        if churn is None or churn.return_probability == 0.0:
            return 0
        return self.config.step_per_episode // 2

    @property
    def agents(self) -> list[AgentID]:
        """The live agents: the present users during an episode, none before or after."""
        if self._agents is None:
            population = self._population
            if population.active is None or population.visits is None:
                self._agents = [_agent_name(i, 0) for i in range(self.config.n_users)]
            else:
                visits = population.visits
                self._agents = [
                    _agent_name(int(i), int(visits[i])) for i in np.flatnonzero(population.active)
                ]
        return self._agents

    @property
    def num_agents(self) -> int:
        """Number of live agents."""
        return len(self.agents) if self._live else 0

    @property
    def max_num_agents(self) -> int:
        """Number of possible agents."""
        return len(self.possible_agents)

    def _index(self) -> dict[AgentID, int]:
        """Agent name → the user (row) it is."""
        if self._agent_index is None:
            n = self.config.n_users
            self._agent_index = {agent: k % n for k, agent in enumerate(self.possible_agents)}
        return self._agent_index

    def observation_space(self, agent: AgentID) -> spaces.Box:
        """The observation space shared by every agent (one object)."""
        self._check_agent(agent)
        return self._observation_space

    def action_space(self, agent: AgentID) -> spaces.Discrete | Slate:
        """The action space shared by every agent (one object)."""
        self._check_agent(agent)
        return self._action_space

    def _check_agent(self, agent: AgentID) -> None:
        try:
            known = agent in self._index()
        except TypeError:  # unhashable, e.g. a list: not an agent name either
            known = False
        if not known:
            raise KeyError(
                f"unknown agent {agent!r}; agents are 'user_0' … 'user_{self.n_users - 1}'"
            )

    # --- array API ---------------------------------------------------------------------

    def reset_batch(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.floating], dict[str, NDArray[Any]]]:
        """Start an episode for every user; the array form of :meth:`reset`.

        Args:
            seed: Reseeds every random stream (observation and reward noise).
                The first reset without a seed uses ``random_state``; later unseeded
                resets continue the streams.
            options: ``{"states": array (n_users, user_feature_dim)}`` starts the
                users from the given true preferences instead of the pool's; unknown
                keys are ignored.

        Returns:
            tuple: ``(observations (n_users, user_feature_dim), info)`` with ``info``
            ``{"user_id": int64 (n_users,), "state": (n_users, user_feature_dim)}``.
        """
        population = self._population
        seed = check_seed(seed, "seed")
        states = None
        given = check_options(options)
        if given is not None and given.get("states") is not None:
            # Validated before anything changes: a rejected reset leaves the env as it was.
            states = check_array(
                given["states"], "options['states']", population.user_features.shape
            )
        if seed is None and not population.seeded:
            seed = self.config.random_state
        if seed is not None or not population.seeded:
            population.seed(seed)
        obs = population.reset(np.arange(self.config.n_users))
        if states is not None:
            population.set_states(states)
            obs = population.observe()
        self._live, self._agents, self._last_rewards = True, None, None
        self._last_obs = None if self.render_mode is None else obs
        return obs, self._infos()

    def step_batch(
        self, actions: NDArray[np.integer]
    ) -> tuple[
        NDArray[np.floating],
        NDArray[np.floating],
        NDArray[np.bool_],
        NDArray[np.bool_],
        dict[str, NDArray[Any]],
    ]:
        """Recommend one item to every user; the array form of :meth:`step`.

        Args:
            actions: Integer array ``(n_users,)``; ``actions[i]`` is the item shown to
                ``"user_i"``. Validated with vectorised checks.

        Returns:
            tuple: ``(observations (n_users, d), rewards (n_users,), terminations
            (n_users,) bool, truncations (n_users,) bool, infos)``;
            ``infos`` is ``{"user_id": (n_users,), "state": (n_users, d)}``. Every
            array is a snapshot recgym never writes into while anything references it
            (the state and user ids of ``infos`` are read-only); the memory of arrays
            the caller has dropped is reused by later steps (see ``docs/scaling.md``).

        Raises:
            recgym.errors.ResetNeeded: Before the first reset or after the episode ended.
            TypeError: If ``actions`` is not an integer ndarray.
            ValueError: If ``actions`` has the wrong shape or an item out of range.
        """
        self._check_live()
        config = self.config
        actions = check_slates(
            actions,
            config.n_users,
            config.slate_size,
            config.n_items,
            self._population.valid_slates,
        )
        obs, rewards, terminated, truncated = self._step(actions)
        return obs, rewards, terminated, truncated, self._infos()

    def utilities(
        self, items: NDArray[np.integer], rows: NDArray[np.integer] | None = None
    ) -> NDArray[np.floating]:
        """The users' true utilities of some items now, as the choice model will see them.

        For user ``i`` (row ``i``) and item ``j``: ``⟨sᵢ, v_j⟩ + σ·εᵢⱼ − λ⟨bᵢ, v_j⟩``, the
        true preference's affinity plus the fixed idiosyncratic term (``idiosyncratic_std``
        σ) and minus the satiation penalty (strength λ, satiation vector ``bᵢ``), absent
        terms 0 — exactly the utilities of the next step's choice and reward, on the
        current states. It is what the ideal recommender
        (:class:`~recgym.population.policies.IdealPolicy`, ``needs_utilities``) is
        given: the runners pass this method as its ``utilities``. Draws nothing and
        changes nothing; never part of an observation.

        Args:
            items: Integer array ``(m, c)`` of items in ``[0, n_items)`` (any, repeats
                allowed): row ``r`` holds items of the user ``rows[r]``.
            rows: Integer array ``(m,)`` of users in ``[0, n_users)``; None: every user in
                order (then ``m = n_users``).

        Returns:
            numpy.ndarray: New ``(m, c)`` array of the environment's dtype.

        Raises:
            recgym.errors.ResetNeeded: Before the first reset.
            TypeError: If ``items`` or ``rows`` is not an integer array.
            ValueError: On a wrong shape or an index out of range.
        """
        population = self._population
        population.current_states()  # ResetNeeded before the first reset
        items = check_indices(items, "items", self.config.n_items, 2)
        if rows is None:
            if items.shape[0] != self.config.n_users:
                raise ValueError(
                    f"`items` must have one row per user ({self.config.n_users}) when `rows` "
                    f"is None, got shape {items.shape}"
                )
            return population.utilities(items)
        checked = check_indices(rows, "rows", self.config.n_users, 1)
        if len(checked) != len(items):
            raise ValueError(
                f"`rows` must name one user per row of `items` ({len(items)}), got "
                f"{len(checked)}"
            )
        return population.utilities(items, checked)

    def _check_live(self) -> None:
        if not self._live:
            raise ResetNeeded(
                "Cannot call `step` before `reset` or after the episode ended "
                f"(step_per_episode={self.config.step_per_episode}"
                + (f", max_cycles={self.max_cycles}" if self.max_cycles else "")
                + "); call `reset` first"
            )

    def _step(
        self, actions: NDArray[np.int64]
    ) -> tuple[NDArray[Any], NDArray[Any], NDArray[np.bool_], NDArray[np.bool_]]:
        """Step every user on validated actions; per-user termination and truncation.

        A user terminates when the episode ends (everyone) or when they leave (churn).
        """
        population = self._population
        obs, rewards = population.step(actions)
        done = population.done
        ended = self.max_cycles is not None and population.t >= self.max_cycles
        n = self.config.n_users
        terminated = np.full(n, done)
        if population.left is not None and not done:
            terminated = population.left.copy()
        truncated = np.full(n, ended and not done)
        if done or ended:
            self._live, self._agents = False, []
        else:
            self._agents = None  # rebuilt from the present users when asked
        if self.render_mode is not None:  # kept for render() only: no n-sized leftovers
            self._last_rewards, self._last_obs = rewards, obs
            if self.render_mode == "human":
                self.render()
        return obs, rewards, terminated, truncated

    def _on_restore(self) -> None:
        self._agents = None if self._live else []

    def _infos(self) -> dict[str, NDArray[Any]]:
        # The core never writes into these arrays again (every step makes new ones) and
        # they are read-only: sharing them is a snapshot, not an alias, and saves a copy
        # of the whole state matrix per step.
        population = self._population
        infos = {"user_id": population.current_user_ids(), "state": population.current_states()}
        if population.choices is not None and population.consumed_items is not None:
            infos["choice"], infos["item"] = population.choices, population.consumed_items
        if population.active is not None:
            infos["active"] = _frozen_copy(population.active)
            if population.left is not None and population.returned is not None:
                infos["left"], infos["returned"] = population.left, population.returned
        if population.available is not None:
            infos["available"] = _frozen_copy(population.available)
        return infos

    # --- PettingZoo dict API -----------------------------------------------------------

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[AgentID, NDArray[np.floating]], dict[AgentID, dict[str, Any]]]:
        """Start an episode; returns per-agent observations and infos.

        Same arguments as :meth:`reset_batch`.
        """
        obs, infos = self.reset_batch(seed=seed, options=options)
        agents = self.agents
        return dict(zip(agents, obs)), self._agent_infos(agents, infos)

    def step(
        self, actions: dict[AgentID, Any]
    ) -> tuple[
        dict[AgentID, NDArray[np.floating]],
        dict[AgentID, float],
        dict[AgentID, bool],
        dict[AgentID, bool],
        dict[AgentID, dict[str, Any]],
    ]:
        """Recommend one item to every live agent.

        Args:
            actions: One integer item per live agent, keyed by agent name.

        Returns:
            tuple: ``(observations, rewards, terminations, truncations, infos)``, dicts
            keyed by the agents live at the start of the step (Python ``float`` rewards,
            Python ``bool`` flags, a new info dict per agent).

        Raises:
            recgym.errors.ResetNeeded: Before the first reset or after the episode ended.
            ValueError: If live agents are missing, unknown or finished agents are
                given, or an action is out of range.
            TypeError: If an action is not an integer.
        """
        self._check_live()
        agents = self.agents
        given = self._actions_array(actions, agents)
        population = self._population
        if population.active is None:  # every user is an agent, in order
            obs, rewards, terminated, truncated = self._step(given)
            return (
                dict(zip(agents, obs)),
                dict(zip(agents, rewards.tolist())),
                # Every user ends on the same step: one shared Python bool per dict.
                dict.fromkeys(agents, bool(terminated[0])),
                dict.fromkeys(agents, bool(truncated[0])),
                self._agent_infos(agents, self._infos()),
            )
        # Churn: the live agents' users, plus the users who come back in this step under
        # a new name (their first observation, reward 0, not finished).
        index = self._index()
        rows = np.array([index[agent] for agent in agents], dtype=np.intp)
        k = self.config.slate_size
        placeholder = np.arange(k) if k > 1 else np.int64(0)  # absent users' actions are ignored
        full = np.empty((self.config.n_users, *given.shape[1:]), dtype=np.int64)
        full[...] = placeholder
        full[rows] = given
        obs, rewards, terminated, truncated = self._step(full)
        infos = self._infos()
        assert population.returned is not None and population.visits is not None
        # Users who come back when the episode ends have no step left to take part in.
        back = np.flatnonzero(population.returned) if self._live else np.zeros(0, np.intp)
        visits = population.visits
        names = agents + [_agent_name(int(j), int(visits[j])) for j in back]
        users = np.concatenate([rows, back])
        return (
            dict(zip(names, obs[users])),
            dict(zip(names, rewards[users].tolist())),
            dict(zip(names, terminated[users].tolist())),
            dict(zip(names, truncated[users].tolist())),
            self._agent_infos(names, infos, users),
        )

    def _actions_array(self, actions: Any, agents: list[AgentID]) -> NDArray[Any]:
        if not isinstance(actions, dict):
            raise TypeError(
                f"`actions` must be a dict mapping agent names to items, got "
                f"{type(actions).__name__}"
            )
        try:
            # Same length and every live agent present: exactly the live agents.
            if len(actions) != len(agents):
                raise KeyError
            values = list(map(actions.__getitem__, agents))
        except KeyError:
            live = set(agents)
            missing = [agent for agent in agents if agent not in actions]
            foreign = [agent for agent in actions if agent not in live]
            problems = []
            if missing:
                problems.append(f"missing live agents {_sample(missing)}")
            if foreign:
                problems.append(f"unknown or finished agents {_sample(foreign)}")
            raise ValueError(
                f"`actions` must hold one action per live agent: {'; '.join(problems)}"
            ) from None
        config = self.config
        k = config.slate_size
        if not agents:  # nobody present (churn): nothing to recommend
            return np.zeros((0,) if k == 1 else (0, k), dtype=np.int64)
        error_type: type[Exception] = TypeError
        array = items_from_values(values, k)
        if array is not None:
            try:
                return check_slates(array, len(agents), k, config.n_items)
            except ValueError:
                error_type = ValueError
        elif all(_is_integer_kind(value, k) for value in values):
            error_type = ValueError  # integers, too large for any catalogue
        if k == 1:
            bad = [
                f"{agent}: {actions[agent]!r}"
                for agent in agents
                if not is_item(actions[agent], config.n_items)
            ]
            raise error_type(
                f"`actions` values must be integer items in [0, {config.n_items}), "
                f"got {_sample(bad)}"
            )
        bad = [
            f"{agent}: {actions[agent]!r}"
            for agent in agents
            if not is_slate(actions[agent], k, config.n_items)
        ]
        raise error_type(
            f"`actions` values must be slates of {k} distinct integer items in "
            f"[0, {config.n_items}), got {_sample(bad)}"
        )

    @staticmethod
    def _agent_infos(
        agents: list[AgentID],
        infos: dict[str, NDArray[Any]],
        users: NDArray[np.intp] | None = None,
    ) -> dict[AgentID, dict[str, Any]]:
        """One new info dict per agent: its user's entries of the per-user infos.

        ``users`` are the agents' rows (default: agent ``i`` is row ``i``). The
        catalogue's ``"available"`` mask, shared by everyone, is in every dict (one
        read-only array); presence is the agent list itself.
        """
        keys = [key for key in ("user_id", "state", "choice", "item") if key in infos]
        columns = []
        for key in keys:
            column = infos[key] if users is None else infos[key][users]
            columns.append(column if key == "state" else column.tolist())
        shared = {"available": infos["available"]} if "available" in infos else {}
        return {
            agent: {**dict(zip(keys, values)), **shared} for agent, *values in zip(agents, *columns)
        }

    # --- the rest of the ParallelEnv contract ------------------------------------------

    def state(self) -> NDArray[np.floating]:
        """A copy of the true preferences of every user, ``(n_users, user_feature_dim)``."""
        if self._population.states is None:
            raise ResetNeeded("Cannot call `state` before `reset`; call `reset` first")
        return self._population.states.copy()

    def render(self) -> str | NDArray[np.uint8] | None:
        """Render the population.

        Returns:
            ``"ansi"``: a summary and the first users, as text. ``"human"``: None (prints
            that text). ``"rgb_array"``: one uint8 ``(256, 256, 3)`` frame: every present
            user's preference as a dot (coloured by group, or by pool index) over the
            items, on the plane of the item table's first two principal axes, and the
            episode's progress along the bottom edge (before the first reset: the items
            only); see :mod:`recgym.rendering`.
        """
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        if self.render_mode is None:
            logger.warn(
                "You are calling render method without specifying any render mode. "
                "Set `render_mode` at initialization, e.g. PopulationEnv(render_mode='ansi')."
            )
            return None
        population = self._population
        if population.states is None:
            text = "PopulationEnv: not reset yet"
        else:
            rewards = self._last_rewards
            shown = min(5, self.config.n_users)
            header = (
                f"PopulationEnv step {population.t}/{self.config.step_per_episode}: "
                f"{self.config.n_users} users"
                + ("" if rewards is None else f", mean reward {float(rewards.mean()):+.4f}")
            )
            obs = self._last_obs
            text = render_text(
                header,
                [
                    (
                        i,
                        population.current_states()[i],
                        None if obs is None else obs[i],
                        None if rewards is None else rewards[i],
                    )
                    for i in range(shown)
                ],
            )
        if self.render_mode == "ansi":
            return text
        print(text)
        return None

    def _render_rgb(self) -> NDArray[np.uint8]:
        if self._canvas is None:  # the projection is computed once, on first use
            config = self.config
            self._canvas = PreferenceCanvas(
                config.item_features, config.user_features, config.user_groups
            )
        canvas, population = self._canvas, self._population
        if population.states is None:
            return canvas.background.copy()
        users = np.arange(self.config.n_users)
        if population.active is not None:  # churn: the present users only
            users = np.flatnonzero(population.active)
        return canvas.frame(
            canvas.project(population.current_states()[users]),
            canvas.colors(population.current_user_ids()[users]),
            radius=population_dot_radius(self.config.n_users),
            progress=population.t / self.config.step_per_episode,
        )

    def close(self) -> None:
        """Nothing to release; safe to call any number of times."""


def _agent_name(user: int, visit: int) -> AgentID:
    """The agent of ``user`` on their ``visit``-th return (0: the first presence)."""
    return f"user_{user}" if visit == 0 else f"user_{user}.{visit}"


def _is_integer_kind(value: Any, slate_size: int) -> bool:
    """Whether ``value`` has the kind of an action (integer, or integer array), in any range."""
    if isinstance(value, np.ndarray) and not isinstance(value, np.ma.MaskedArray):
        return value.dtype.kind in "iu" and (value.shape == () or slate_size > 1)
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _frozen_copy(array: NDArray[Any]) -> NDArray[Any]:
    copy = array.copy()
    copy.flags.writeable = False
    return copy


def _sample(items: list[Any], limit: int = 5) -> str:
    shown = ", ".join(str(item) if ":" in str(item) else repr(item) for item in items[:limit])
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return f"[{shown}]{more}"


PopulationEnv.__init__.__signature__ = signature_with_arguments(  # type: ignore[attr-defined]
    PopulationEnv.__init__
)


def parallel_env(**kwargs: Any) -> PopulationEnv:
    """Create a :class:`PopulationEnv` (PettingZoo's ``parallel_env`` factory)."""
    return PopulationEnv(**kwargs)


def raw_env(**kwargs: Any) -> AECEnv:
    """The AEC form of :class:`PopulationEnv` (``parallel_to_aec``), unwrapped."""
    return parallel_to_aec(PopulationEnv(**kwargs))


def env(**kwargs: Any) -> AECEnv:
    """The AEC form of :class:`PopulationEnv` (PettingZoo's ``env`` factory)."""
    return raw_env(**kwargs)
