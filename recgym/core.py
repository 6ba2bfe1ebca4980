"""The population core: the arrays of one population and one batched step.

Every environment of recgym (the PettingZoo :class:`~recgym.population.PopulationEnv`,
the Gymnasium :class:`~recgym.RECEnv` and :class:`~recgym.RECVectorEnv`) is a thin
adapter over a :class:`PopulationCore`: the batched :class:`Population`, or in legacy
mode :class:`~recgym.legacy.LegacyPopulation`. The core holds arrays only — user pool,
current true states, item table, step counter, generators — and knows no API
conventions: no dicts, no agent names, no per-user Python.

Two sizes are never confused: the *pool* of ``config.n_users`` users the population
draws from, and the ``n_slots`` users it steps at once (a ``PopulationEnv`` fills one
slot per pool user; a ``RECEnv`` has one slot; a ``RECVectorEnv`` one per
sub-environment).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np
from numpy.typing import DTypeLike, NDArray

from recgym._buffers import Recycler
from recgym._fused import fused_step, load_kernels, resolve_engine
from recgym._idiosyncratic import idiosyncratic_normals
from recgym._snapshot import (
    check_core_snapshot,
    check_entry_array,
    check_entry_int,
    check_generator_entries,
    copy_plain,
    generator_state,
    load_core_snapshot,
)
from recgym._streams import (
    CATALOGUE,
    REWARDS,
    STREAM_TAGS,
    BlockLayout,
    block_generators,
    child_sequence,
)
from recgym._validation import (
    check_actions,
    check_dtype,
    check_memory,
    check_model_outputs,
    check_nonnegative_int,
    check_positive_int,
    check_seed,
)
from recgym.choice import Consume
from recgym.config import PopulationConfig
from recgym.errors import ResetNeeded
from recgym.user_model import BaseUserModel, UserModel, accepts_keyword, accepts_user_ids

__all__ = [
    "PerUserFallbackWarning",
    "Population",
    "PopulationConfig",
    "PopulationCore",
    "check_actions",
]


class PopulationCore(Protocol):
    """What the environments use of a population: the interface of every core.

    Implemented by :class:`Population` and :class:`recgym.legacy.LegacyPopulation`;
    the environments and :mod:`recgym.checkpoint` use nothing else.
    """

    config: PopulationConfig
    n_slots: int
    dtype: np.dtype[Any]
    user_model: BaseUserModel
    user_features: NDArray[Any]
    item_features: NDArray[Any]
    t: int
    user_ids: NDArray[np.int64] | None
    states: NDArray[Any] | None
    seeded: bool
    choices: NDArray[np.int64] | None
    consumed_items: NDArray[np.int64] | None

    def seed(self, seed: Any) -> None:
        """Re-create the random streams from ``seed``."""

    def sample_users(self, slots: NDArray[np.intp] | None = None) -> NDArray[np.int64]:
        """Draw one pool user per slot (or per slot of ``slots``), int64 ``(n_slots,)``."""

    def reset(self, user_ids: NDArray[np.int64]) -> NDArray[Any]:
        """Put ``user_ids`` into the slots; return their observations ``(n_slots, d)``."""

    def current_states(self) -> NDArray[Any]:
        """The true states ``(n_slots, d)``; :class:`~recgym.errors.ResetNeeded` before reset."""

    def current_user_ids(self) -> NDArray[np.int64]:
        """The slots' pool ids ``(n_slots,)``; :class:`~recgym.errors.ResetNeeded` before reset."""

    def observe(self) -> NDArray[Any]:
        """Observations of the current states, ``(n_slots, d)``."""

    def step(self, actions: NDArray[np.int64]) -> tuple[NDArray[Any], NDArray[Any]]:
        """Reward and move every slot; return ``(observations, rewards)``."""

    @property
    def done(self) -> bool:
        """Whether the episode has run ``step_per_episode`` steps."""

    def snapshot(self) -> dict[str, Any]:
        """Everything the continuation depends on, as plain data (copies)."""

    def check_snapshot(self, saved: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a :meth:`snapshot`; return new objects ready for :meth:`load_snapshot`.

        Raises:
            ValueError: On a malformed entry, named in the message.
        """

    def load_snapshot(self, checked: dict[str, Any]) -> None:
        """Apply the result of :meth:`check_snapshot` (which changed nothing)."""


#: Bytes of gathered item features per chunk of :meth:`Population.utilities`.
_UTILITY_CHUNK_BYTES = 1 << 20


class PerUserFallbackWarning(UserWarning):
    """A user model without batched methods runs one Python call per user and step."""


def _frozen(array: NDArray[Any]) -> NDArray[Any]:
    """Mark ``array`` read-only and return it.

    The core never writes into its ``states`` or ``user_ids`` after creating them (each
    step makes new arrays, or reuses one of :attr:`Population.buffers` that nothing
    references any more), so the environments can hand them out as immutable snapshots
    instead of copying them; a user model that tried to modify its input in place fails
    loudly instead of corrupting a snapshot.
    """
    array.flags.writeable = False
    return array


class Population:
    """The arrays of one population of users and one batched ``reset``/``step``.

    ``n_slots`` *slots* hold users drawn from the pool ``config.user_features`` (of
    ``config.n_users`` users). All slots are stepped together through the response
    pipeline, with no per-user Python:

        slate ``(n_slots, k)`` → choice model: the position each user consumes, or none
        → reward of the consumed item (0 for none) → dynamics moved by it and, with a
        social graph, by the neighbours → engagement: satiation, leaving and returning
        → catalogue change → observation

    Every stage is optional. With ``slate_size=1``, the ``"consume"`` choice model and
    nothing else configured (the defaults), a step is one call of the user model's
    ``batch_step`` for everyone — the original RECGym's step, bit for bit.

    Random streams (:mod:`recgym._streams`): :meth:`seed` derives, from one
    ``numpy.random.SeedSequence``, five per-user streams — user draws, observation
    noise, reward noise, choices, engagement (leaving and returning) — each made of one
    generator per **block** of ``config.block_size`` slots, plus one catalogue
    generator and the user model's ``random_``; so one stage's draws never shift
    another's. The draws of slots ``[b·B, (b+1)·B)`` come from block ``b``'s generator
    in slot order, seeded by ``(seed, stream, b)`` alone: the numbers of a slot do not
    depend on the number of users, on threads, or on sharding.

    Shards: a population may be built for a block-aligned range of slots of a larger
    one (:meth:`shard`); its rows are then exactly the rows the whole population
    computes for those slots — user draws, noise, choices, dynamics, churn and
    catalogue — step after step, given the same seed and the same actions for those
    slots. Social influence needs every user and is refused, and so is a user model
    that draws from its own ``random_`` (one generator for all users, consumed in slot
    order) instead of taking the environment's per-block ``reward_draws``.

    Memory: the states and the users in the slots, plus per slot, when configured:
    ``⌈n_items / 8⌉`` bytes of consumption memory, a satiation vector of ``d`` floats,
    and the satisfaction, activity and visit count of churn.

    Args:
        config: The validated configuration.
        n_slots: Number of slots (users stepped at once).
        dtype: float64 (default) or float32 for states, observations and rewards.
        slots_argument: The argument that set ``n_slots`` in the caller (``n_users``,
            ``num_envs``), named when ``n_slots`` cannot fit in memory.
        first_slot: For a shard: the global index of the first of its ``n_slots``
            slots, a multiple of ``config.block_size`` (default 0).
        total_slots: For a shard: the number of slots of the whole population (default
            ``first_slot + n_slots``: the whole population). A shard ends at a multiple
            of ``config.block_size`` or at ``total_slots``.

    Raises:
        TypeError: If an argument is of the wrong kind.
        ValueError: If the slots do not fit in memory, a shard is not block-aligned, or
            a shard is asked of a configuration that cannot be sharded (social
            influence; a user model without ``reward_draws``).

    Attributes:
        choices: After a step, int64 ``(n_slots,)``: the slate position each user
            consumed, -1 for none (read-only); None before the first step of an episode.
        consumed_items: After a step, int64 ``(n_slots,)``: the item each user consumed,
            -1 for none (read-only).
        active: With churn, bool ``(n_slots,)``: who is present (stepped next); else None.
        left: With churn, after a step: bool ``(n_slots,)``, who left in that step.
        returned: With churn, after a step: bool ``(n_slots,)``, who came back in it.
        visits: With churn: int64 ``(n_slots,)``, how many times each user came back.
        available: With a changing catalogue: bool ``(n_items,)``, the items available.
    """

    def __init__(
        self,
        config: PopulationConfig,
        n_slots: int,
        dtype: DTypeLike = np.float64,
        *,
        slots_argument: str = "n_slots",
        first_slot: int = 0,
        total_slots: int | None = None,
    ):
        if not isinstance(config, PopulationConfig):
            raise TypeError(
                "`config` must be a PopulationConfig (see PopulationConfig.from_arguments), "
                f"got {type(config).__name__}"
            )
        n_slots = check_positive_int(n_slots, "n_slots")
        dtype = check_dtype(dtype)
        first_slot = check_nonnegative_int(first_slot, "first_slot")
        stop = first_slot + n_slots
        total = stop if total_slots is None else check_positive_int(total_slots, "total_slots")
        _check_shard(first_slot, stop, total, config.block_size)
        # The states and observations of a step, with their temporaries, and the bits of
        # consumption memory: refused before anything is allocated if they cannot fit.
        per_slot = 4 * config.user_feature_dim * dtype.itemsize + 32
        if not config.repeat_consumption:
            per_slot += -(-config.n_items // 8)
        check_memory(n_slots * per_slot, slots_argument, n_slots, "the users' states")
        largest = float(np.finfo(dtype).max) / 64  # a normal draw stays below 64 in practice
        for noise in ("reward_std", "obs_std"):
            if getattr(config, noise) > largest:
                raise ValueError(
                    f"`{noise}` must be at most {largest:.3g} for {dtype.name} numbers (its "
                    f"noise would overflow to inf), got {getattr(config, noise)!r}"
                )
        self.config = config
        self.n_slots = n_slots
        self.dtype = dtype
        self.user_model = config.user_model
        self.user_features = config.user_features.astype(dtype, copy=False)
        self.item_features = config.item_features.astype(dtype, copy=False)
        self.obs_std = config.obs_std
        self.step_per_episode = config.step_per_episode
        self.slate_size = config.slate_size
        self.choice_model = config.choice_model
        self.t = 0
        self.user_ids: NDArray[np.int64] | None = None
        self.states: NDArray[Any] | None = None
        self.seeded = False
        self.choices: NDArray[np.int64] | None = None
        self.consumed_items: NDArray[np.int64] | None = None
        self.consumed: NDArray[np.uint8] | None = None  # bit set (n_slots, ⌈n_items/8⌉)
        self.satiation: NDArray[Any] | None = None
        self.active: NDArray[np.bool_] | None = None
        self.satisfaction: NDArray[np.float64] | None = None
        self.visits: NDArray[np.int64] | None = None
        self.left: NDArray[np.bool_] | None = None
        self.returned: NDArray[np.bool_] | None = None
        self.available: NDArray[np.bool_] | None = None
        self.next_item = 0
        # The original step: one item shown and consumed, nothing else in the utility.
        self._plain = (
            config.slate_size == 1
            and isinstance(config.choice_model, Consume)
            and config.repeat_consumption
            and config.idiosyncratic_std == 0.0
            and config.satiation is None
            and config.churn is None
            and config.catalogue is None
            and config.social is None
        )
        self._position_zero = _frozen(np.zeros(n_slots, dtype=np.int64))
        self._model_takes_ids = accepts_user_ids(type(self.user_model), "batch_step")
        # Per-block reward noise for models that take it (recgym.UserModel does).
        self._model_takes_draws = accepts_keyword(
            type(self.user_model), "batch_step", "reward_draws"
        )
        self.layout = BlockLayout(first_slot, n_slots, config.block_size)
        self.first_slot, self.total_slots = first_slot, total
        self.user_rng: list[np.random.Generator] = []
        self.obs_rng: list[np.random.Generator] = []
        self.reward_rng: list[np.random.Generator] = []
        self.choice_rng: list[np.random.Generator] = []
        self.engagement_rng: list[np.random.Generator] = []
        self.catalogue_rng: np.random.Generator | None = None
        if n_slots != total:
            _check_shardable(self, first_slot, stop, total)
        #: ``"numpy"`` or ``"numba"``: the engine the step runs on (``config.engine``
        #: resolved; see :func:`recgym._fused.resolve_engine`).
        self.engine = resolve_engine(config, n_slots)
        #: The arrays steps hand out, reused once nothing references them.
        self.buffers = Recycler()
        #: The fused kernels' check of a batch of slates (see ``check_slates``), or None.
        self.valid_slates: Callable[[NDArray[np.int64], int], bool] | None = (
            load_kernels().valid_slates if self.engine == "numba" else None
        )
        if config.social is not None and n_slots != config.n_users:
            raise ValueError(
                "a social graph links the pool's users, so every user needs a slot: "
                f"n_slots must be n_users ({config.n_users}), got {n_slots}"
            )
        if n_slots > 1 and not type(self.user_model).is_batched():
            warnings.warn(
                f"{type(self.user_model).__name__} implements only single-user methods; "
                f"recgym runs it through the per-user fallback ({n_slots} Python calls per "
                "step). Implement `batch_reward_function` and "
                "`batch_user_preference_dynamics` for the batched fast path.",
                PerUserFallbackWarning,
                stacklevel=3,
            )

    @classmethod
    def shard(
        cls,
        config: PopulationConfig,
        total_slots: int,
        start: int,
        stop: int,
        dtype: DTypeLike = np.float64,
    ) -> Population:
        """The slots ``[start, stop)`` of a population of ``total_slots`` slots.

        The shard's row ``i`` is global slot ``start + i``. Reset with the users of its
        slots (a ``PopulationEnv`` of ``n_users`` puts pool user ``k`` in slot ``k``:
        ``shard.reset(np.arange(start, stop))``), seed with the whole population's seed
        and step with the actions of its slots: every step's observations, rewards,
        states, choices and engagement are then exactly rows ``start … stop − 1`` of
        the whole population's (the concatenation of shards covering all slots is the
        whole population, bit for bit). The catalogue's changes are global draws that
        every shard replicates.

        Args:
            config: The whole population's configuration.
            total_slots: Number of slots of the whole population.
            start: First slot, a multiple of ``config.block_size``.
            stop: End of the range, a multiple of ``config.block_size`` or
                ``total_slots``.
            dtype: float64 (default) or float32.

        Returns:
            Population: A population of ``stop − start`` slots.

        Raises:
            TypeError: If a bound is not an integer.
            ValueError: If the range is empty or not block-aligned, or the configuration
                cannot be sharded: social influence (a user's neighbours may live in
                another shard) or a user model that draws from its own ``random_``.
        """
        start = check_nonnegative_int(start, "start")
        stop = check_nonnegative_int(stop, "stop")
        if stop <= start:
            raise ValueError(f"`stop` must be greater than `start` ({start}), got {stop}")
        return cls(config, stop - start, dtype, first_slot=start, total_slots=total_slots)

    def _stream_names(self) -> list[str]:
        """The per-block streams this configuration draws from (see :mod:`recgym._streams`)."""
        names = ["user_rng", "obs_rng"]
        if self._model_takes_draws:
            names.append("reward_rng")
        if not isinstance(self.choice_model, Consume):
            names.append("choice_rng")
        if self.config.churn is not None:
            names.append("engagement_rng")
        return names

    def seed(self, seed: int | np.random.SeedSequence | None) -> None:
        """Re-create every random stream from ``seed`` (None: fresh OS entropy).

        For each per-user stream ``s`` in use, block ``b`` of the population's range gets
        the generator of ``SeedSequence(entropy, spawn_key=(…, s, b))``; the catalogue
        gets the child ``(…, 5)``, and the user model's ``random_`` the seed of the
        reward stream's first block, ``(…, 2, first block)``.

        Raises:
            TypeError: If ``seed`` is not None, an integer or a ``SeedSequence``.
            ValueError: If ``seed`` is a negative integer.
        """
        root = seed if isinstance(seed, np.random.SeedSequence) else None
        if root is None:
            root = np.random.SeedSequence(check_seed(seed, "seed"))
        layout = self.layout
        for name in self._stream_names():
            generators = block_generators(
                root, STREAM_TAGS[name], layout.first_block, layout.n_blocks
            )
            setattr(self, name, generators)
        # Seeded as the first block of the reward stream: a model of one's own that draws
        # one number per consumer in slot order from `random_` gets the built-in model's
        # reward draws while the population holds a single block (RECEnv, small runs).
        first = child_sequence(root, REWARDS, layout.first_block)
        self.user_model.random_ = np.random.default_rng(first)
        self.catalogue_rng = np.random.default_rng(child_sequence(root, CATALOGUE))
        self.seeded = True

    def sample_users(self, slots: NDArray[np.intp] | None = None) -> NDArray[np.int64]:
        """Draw a user uniformly from the pool for every slot, or for the slots ``slots``.

        Args:
            slots: Sorted local slot indices; None for every slot. Each slot's draw comes
                from its block's generator.

        Returns:
            numpy.ndarray: int64 ``(n_slots,)`` or ``(len(slots),)`` pool indices.
        """
        return self.layout.integers(self.user_rng, self.config.n_users, slots)

    def reset(self, user_ids: NDArray[np.int64]) -> NDArray[Any]:
        """Put the given pool users into the slots and return their first observations.

        Every stage starts afresh: no consumption memory, no satiation, everyone present
        with the initial satisfaction, the initial catalogue.

        Args:
            user_ids: int64 array ``(n_slots,)`` of pool indices, already validated.

        Returns:
            numpy.ndarray: New observations, shape ``(n_slots, user_feature_dim)``.
        """
        self.user_ids = _frozen(user_ids)
        self.states = _frozen(self.user_features[user_ids])
        self.t = 0
        self.choices = self.consumed_items = self.left = self.returned = None
        config = self.config
        if not config.repeat_consumption:
            self.consumed = np.zeros((self.n_slots, -(-config.n_items // 8)), np.uint8)
        if config.satiation is not None:
            self.satiation = np.zeros((self.n_slots, config.user_feature_dim), self.dtype)
        if config.churn is not None:
            self.active = np.ones(self.n_slots, dtype=np.bool_)
            self.satisfaction = np.full(self.n_slots, config.churn.initial_satisfaction)
            self.visits = np.zeros(self.n_slots, dtype=np.int64)
        if config.catalogue is not None:
            self.available, self.next_item = config.catalogue.initial(config.n_items)
        return self.observe()

    def reset_slots(self, slots: NDArray[np.intp], user_ids: NDArray[np.int64]) -> None:
        """Start new users in some slots (a vector environment's autoreset), in place.

        The slots' states, consumption memory, satiation and churn state restart; the
        other slots and the step counter are untouched.

        Args:
            slots: Indices of the slots, int ``(m,)``.
            user_ids: Their new users, int64 ``(m,)``, already validated.
        """
        user_ids_now = self.current_user_ids().copy()
        states = self.current_states().copy()
        user_ids_now[slots] = user_ids
        states[slots] = self.user_features[user_ids]
        self.user_ids, self.states = _frozen(user_ids_now), _frozen(states)
        if self.consumed is not None:
            self.consumed[slots] = 0
        if self.satiation is not None:
            self.satiation[slots] = 0.0
        if self.config.churn is not None:
            assert self.active is not None and self.satisfaction is not None
            assert self.visits is not None
            self.active[slots] = True
            self.satisfaction[slots] = self.config.churn.initial_satisfaction
            self.visits[slots] = 0

    def set_states(self, states: NDArray[Any]) -> None:
        """Replace the true states by a frozen copy of ``states`` (validated by the caller)."""
        self.states = _frozen(states.astype(self.dtype, copy=True))

    def current_states(self) -> NDArray[Any]:
        """The true states ``(n_slots, d)`` (read-only).

        Raises:
            recgym.errors.ResetNeeded: Before the first :meth:`reset`.
        """
        if self.states is None:
            raise ResetNeeded("the population has no users before `reset`; call `reset` first")
        return self.states

    def current_user_ids(self) -> NDArray[np.int64]:
        """The pool ids of the users in the slots, int64 ``(n_slots,)`` (read-only).

        Raises:
            recgym.errors.ResetNeeded: Before the first :meth:`reset`.
        """
        if self.user_ids is None:
            raise ResetNeeded("the population has no users before `reset`; call `reset` first")
        return self.user_ids

    def observe(self, slots: NDArray[np.intp] | None = None) -> NDArray[Any]:
        """``clip(states + obs_std·ε, -1, 1)`` as a new array (no draw when obs_std is 0).

        Each slot's ``d`` normals come from its block's generator (in slot order).

        Args:
            slots: Observe only these slots, sorted local indices (``(m, d)``, ``m × d``
                draws); None: all.
        """
        states = self.current_states()
        if slots is not None:
            states = states[slots]
        # The fused engine keeps its arrays between steps; numpy allocates as it goes,
        # which keeps its peak memory lower (two state-sized arrays live at once).
        if self.engine == "numba":
            obs = self.buffers.take(states.shape, self.dtype)
        else:
            obs = np.empty(states.shape, dtype=self.dtype)
        if self.obs_std > 0.0:
            self.layout.fill(self.obs_rng, obs, "normal", slots, self._fill_threads())
            obs *= self.obs_std
            obs += states
            np.maximum(obs, -1.0, out=obs)
        else:
            np.maximum(states, -1.0, out=obs)
        # np.minimum/np.maximum rather than np.clip: same result, a third of the cost.
        return np.minimum(obs, 1.0, out=obs)

    def utilities(
        self, slates: NDArray[np.int64], rows: NDArray[np.intp] | None = None
    ) -> NDArray[Any]:
        """The utility of each item of each slate: ``⟨s_i, v_j⟩ + σ·ε_ij − λ⟨b_i, v_j⟩``.

        ``ε_ij`` is the fixed idiosyncratic term of user ``i`` and item ``j`` (a
        counter-based hash of the environment's key and the two ids, never a stored
        table; see :mod:`recgym._idiosyncratic`), ``σ`` is ``idiosyncratic_std``;
        ``b_i`` is the satiation vector and ``λ`` the satiation strength (see
        :mod:`recgym.engagement`); absent terms are 0.

        Args:
            slates: Validated int64 array ``(m, k)``: the slates of the slots ``rows``.
            rows: The slots of the slates, int ``(m,)``; None: every slot, in order.

        Returns:
            numpy.ndarray: ``(m, k)`` of the states' dtype.
        """
        states = self.current_states()
        utilities = self._plain_utilities(slates, states if rows is None else states[rows])
        extra = self._extra_utilities(slates, rows)
        if extra is not None:
            utilities += extra
        return utilities

    def _extra_utilities(
        self, slates: NDArray[np.int64], rows: NDArray[np.intp] | None
    ) -> NDArray[Any] | None:
        """The utility beyond ``⟨s, v⟩``: ``σ·ε_ij − λ⟨b_i, v_j⟩``, ``(m, k)``; None if 0."""
        config = self.config
        extra = None
        if config.idiosyncratic_std > 0.0:
            user_ids = self.current_user_ids()
            ids = user_ids if rows is None else user_ids[rows]
            noise = idiosyncratic_normals(config.idiosyncratic_key, ids[:, np.newaxis], slates)
            extra = (config.idiosyncratic_std * noise).astype(self.dtype, copy=False)
        if self.satiation is not None and config.satiation is not None:
            satiation = self.satiation if rows is None else self.satiation[rows]
            penalty = np.empty(slates.shape, dtype=self.dtype)
            chunk_rows = max(1, _UTILITY_CHUNK_BYTES // (slates.shape[1] * satiation.shape[1] * 8))
            for start in range(0, len(slates), chunk_rows):
                chunk = slice(start, start + chunk_rows)
                gathered = self.item_features.take(slates[chunk], axis=0)
                penalty[chunk] = config.satiation.penalties(satiation[chunk], gathered)
            extra = -penalty if extra is None else extra - penalty
        return extra

    def check_available(self, actions: NDArray[np.int64]) -> None:
        """Refuse slates of present users holding an item that is not available.

        Raises:
            ValueError: Naming the first such item, its user and position.
        """
        if self.available is None:
            return
        slates = actions.reshape(self.n_slots, self.slate_size)
        unavailable = ~self.available[slates]
        if self.active is not None:
            unavailable &= self.active[:, np.newaxis]
        if unavailable.any():
            user, position = (int(i) for i in np.argwhere(unavailable)[0])
            raise ValueError(
                f"`actions` holds item {int(slates[user, position])} for user {user} at "
                f"position {position}, which is not available (retired or not yet arrived; "
                "see info['available'])"
            )

    def step(self, actions: NDArray[np.int64]) -> tuple[NDArray[Any], NDArray[Any]]:
        """Show every present slot its slate, let it choose, reward and move it, observe.

        Args:
            actions: Validated int64 array: ``(n_slots,)`` at ``slate_size == 1``, else
                slates ``(n_slots, slate_size)`` of distinct items. With churn, the
                actions of absent users are ignored.

        Returns:
            tuple: ``(observations (n_slots, user_feature_dim), rewards (n_slots,))``,
            arrays nothing else references (from :attr:`buffers`: arrays of earlier
            steps that nothing references any more are reused); :attr:`choices` and
            :attr:`consumed_items` describe the step.

        Raises:
            ValueError: If a present user's slate holds an unavailable item (nothing
                changes then).
        """
        current, user_ids = self.current_states(), self.current_user_ids()
        obs = None
        if not self._plain:
            self.check_available(actions)
        if self.engine == "numba":  # one fused pass per user (satiation and memory too)
            obs, rewards, states, choices, items = fused_step(self, actions)
            choices, items = _frozen(choices), _frozen(items)
        elif self._plain:
            choices = self._position_zero
            items = _frozen(np.array(actions, dtype=np.int64))
            rewards, states = self._respond(current, items, user_ids)
        else:
            rewards, states, choices, items = self._pipeline(current, user_ids, actions)
        self.states = _frozen(states)
        self.choices, self.consumed_items = choices, items
        if obs is None and self.satiation is not None and self.config.satiation is not None:
            consumers = np.flatnonzero(items >= 0)
            features = self.item_features.take(items[consumers], axis=0)
            self.config.satiation.update(self.satiation, consumers, features)
        if self.config.churn is not None:
            self._churn(rewards)
        if self.config.catalogue is not None and self.available is not None:
            assert self.catalogue_rng is not None  # seeded before the first reset
            self.next_item = self.config.catalogue.change(
                self.available, self.next_item, self.catalogue_rng, minimum=self.slate_size
            )
        self.t += 1
        return (self.observe() if obs is None else obs), rewards

    def _pipeline(
        self, current: NDArray[Any], user_ids: NDArray[np.int64], actions: NDArray[np.int64]
    ) -> tuple[NDArray[Any], NDArray[Any], NDArray[np.int64], NDArray[np.int64]]:
        """Choice, reward and dynamics of the present slots: rewards, states, choices, items."""
        n = self.n_slots
        slates = actions.reshape(n, self.slate_size)
        rows = None
        if self.active is not None and not self.active.all():
            rows = np.flatnonzero(self.active)
            slates, current_rows, ids = slates[rows], current[rows], user_ids[rows]
        else:
            current_rows, ids = current, user_ids
        m = len(slates)
        available = None if self.consumed is None else ~self._consumed_bits(slates, rows)
        extra = self._extra_utilities(slates, rows)
        if isinstance(self.choice_model, Consume):  # position 0 if available: no utilities
            if available is None:
                choices = np.zeros(m, dtype=np.int64)
            else:
                choices = np.where(available[:, 0], 0, -1).astype(np.int64)
        else:
            utilities = self._plain_utilities(slates, current_rows)
            if extra is not None:
                utilities += extra
            choices = np.empty(m, dtype=np.int64)
            for block, start, stop in self.layout.segments(rows):  # each from its block
                part = slice(start, stop)
                choices[part] = self.choice_model.choose(
                    utilities[part],
                    self.choice_rng[block],
                    available=None if available is None else available[part],
                    user_ids=ids[part],
                )
        chose = choices >= 0
        everyone = bool(chose.all())
        if everyone and self.slate_size == 1:
            items = slates[:, 0].copy()
            position = choices
        else:
            position = np.maximum(choices, 0)
            items = np.where(chose, slates[np.arange(m), position], -1)
        offsets = None if extra is None else extra[np.arange(m), position]
        pull = None
        if self.config.social is not None:
            pull = self.config.social.pull(current)
            if rows is not None:
                pull = pull[rows]
        if everyone:
            rewards, states = self._respond(current_rows, items, ids, offsets, pull, rows)
        else:
            rewards = np.zeros(m, dtype=self.dtype)
            states = current_rows.copy()
            consumers = np.flatnonzero(chose)
            if consumers.size:
                rewards[consumers], states[consumers] = self._respond(
                    current_rows[consumers],
                    items[consumers],
                    ids[consumers],
                    None if offsets is None else offsets[consumers],
                    None if pull is None else pull[consumers],
                    consumers if rows is None else rows[consumers],
                )
            if pull is not None:  # influence alone moves the others
                others = np.flatnonzero(~chose)
                states[others] = _normalised(current_rows[others] + pull[others])
        if self.consumed is not None:
            consumers = np.flatnonzero(chose)
            slots = consumers if rows is None else rows[consumers]
            consumed = items[consumers]
            self.consumed[slots, consumed >> 3] |= (0x80 >> (consumed & 7)).astype(np.uint8)
        if rows is None:
            return rewards, states, _frozen(choices), _frozen(items)
        all_rewards = np.zeros(n, dtype=self.dtype)
        all_states = current.copy()
        all_choices = np.full(n, -1, dtype=np.int64)
        all_items = np.full(n, -1, dtype=np.int64)
        all_rewards[rows], all_states[rows] = rewards, states
        all_choices[rows], all_items[rows] = choices, items
        return all_rewards, all_states, _frozen(all_choices), _frozen(all_items)

    def _plain_utilities(self, slates: NDArray[np.int64], states: NDArray[Any]) -> NDArray[Any]:
        """``⟨s_i, v_j⟩`` for rows of ``states`` and their slates, ``(m, k)``."""
        utilities = np.empty(slates.shape, dtype=self.dtype)
        chunk_rows = max(1, _UTILITY_CHUNK_BYTES // (slates.shape[1] * states.shape[1] * 8))
        for start in range(0, len(slates), chunk_rows):
            chunk = slice(start, start + chunk_rows)
            gathered = self.item_features.take(slates[chunk], axis=0)
            utilities[chunk] = np.vecdot(gathered, states[chunk, np.newaxis, :])
        return utilities

    def _churn(self, rewards: NDArray[Any]) -> None:
        """Update satisfaction, then who leaves and who returns (see recgym.engagement)."""
        churn = self.config.churn
        assert churn is not None and self.active is not None
        assert self.satisfaction is not None and self.visits is not None
        satisfaction = self.satisfaction
        left = np.zeros(self.n_slots, dtype=np.bool_)
        returned = np.zeros(self.n_slots, dtype=np.bool_)
        # One uniform per slot that draws — a present user whose leaving is random, an
        # absent user who may return — from its block's generator, in slot order.
        if self.active.all():  # the same arithmetic without gathering every slot
            satisfaction *= 1.0 - churn.rate
            satisfaction += churn.rate * rewards
            everyone = None
            if churn.draws_to_leave:
                everyone = self.layout.fill(
                    self.engagement_rng, np.empty(self.n_slots), "uniform"
                )
            left[churn.leaving(satisfaction, everyone)] = True
        else:
            present = np.flatnonzero(self.active)
            absent = np.flatnonzero(~self.active)
            satisfaction[present] *= 1.0 - churn.rate
            satisfaction[present] += churn.rate * rewards[present]
            returns = churn.return_probability > 0.0
            drawing = self.active.copy() if churn.draws_to_leave else np.zeros_like(self.active)
            if returns:
                drawing |= ~self.active
            uniforms = np.zeros(self.n_slots)
            rows = np.flatnonzero(drawing)
            if rows.size:
                uniforms[rows] = self.layout.fill(
                    self.engagement_rng, np.empty(rows.size), "uniform", rows
                )
            left[present[churn.leaving(satisfaction[present], uniforms[present])]] = True
            if returns:
                back = absent[uniforms[absent] < churn.return_probability]
                returned[back] = True
                satisfaction[back] = churn.initial_satisfaction
                self.visits[back] += 1
        self.active = (self.active & ~left) | returned
        self.left, self.returned = _frozen(left), _frozen(returned)

    def _consumed_bits(
        self, slates: NDArray[np.int64], rows: NDArray[np.intp] | None
    ) -> NDArray[np.bool_]:
        """Whether each slot already consumed each item of its slate, bool ``(m, k)``."""
        assert self.consumed is not None
        slots = np.arange(self.n_slots) if rows is None else rows
        return (self.consumed[slots[:, np.newaxis], slates >> 3] & (0x80 >> (slates & 7))) != 0

    def _respond(
        self,
        states: NDArray[Any],
        items: NDArray[np.int64],
        user_ids: NDArray[np.int64],
        offsets: NDArray[Any] | None = None,
        pull: NDArray[Any] | None = None,
        slots: NDArray[np.intp] | None = None,
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        """The user model's rewards and new states for consumers, with output checks.

        ``slots`` are the consumers' sorted local slots (None: every slot, in order);
        their reward draws come from their blocks' generators.
        """
        model = self.user_model
        extra: dict[str, Any] = {"user_ids": user_ids} if self._model_takes_ids else {}
        if offsets is not None:
            extra["utility_offsets"] = offsets
        if pull is not None:
            extra["preference_offsets"] = pull
        kind = self._reward_draw_kind()
        if kind is not None:
            draws = np.empty(len(items), dtype=self.dtype)
            extra["reward_draws"] = self.layout.fill(self.reward_rng, draws, kind, slots)
        rewards, new_states = model.batch_step(states, items, self.item_features, **extra)
        if type(model) is UserModel:  # recgym's own arithmetic: nothing to check
            return rewards, new_states
        # What user code returns is checked where it enters (O(n·d)): nothing broadcasts,
        # nothing non-finite or out of the state space passes, the dtype is the env's.
        return check_model_outputs(
            rewards,
            new_states,
            who=f"`{type(model).__name__}.batch_step`",
            shape=states.shape,
            dtype=self.dtype,
            user_ids=user_ids,
        )

    def _fill_threads(self) -> int:
        """Threads that fill random draws: numba's thread count with its engine, else 1."""
        if self.engine != "numba":
            return 1
        return int(load_kernels().threads())

    def _reward_draw_kind(self) -> str | None:
        """What the reward draws per consumer from the per-block streams, if anything."""
        if not self._model_takes_draws:
            return None
        if self.config.reward_type == "binary":
            return "uniform"
        return "normal" if self.config.reward_std > 0.0 else None

    @property
    def done(self) -> bool:
        """Whether ``step_per_episode`` steps have been taken since the last reset."""
        return self.t >= self.step_per_episode

    # --- checkpoints ---------------------------------------------------------------------

    def _state_arrays(self) -> dict[str, tuple[tuple[int, ...], np.dtype[Any]]]:
        """The per-stage state arrays of this configuration: name → (shape, dtype)."""
        config, n = self.config, self.n_slots
        arrays: dict[str, tuple[tuple[int, ...], np.dtype[Any]]] = {}
        if not config.repeat_consumption:
            arrays["consumed"] = ((n, -(-config.n_items // 8)), np.dtype(np.uint8))
        if config.satiation is not None:
            arrays["satiation"] = ((n, config.user_feature_dim), self.dtype)
        if config.churn is not None:
            arrays["active"] = ((n,), np.dtype(np.bool_))
            arrays["satisfaction"] = ((n,), np.dtype(np.float64))
            arrays["visits"] = ((n,), np.dtype(np.int64))
        if config.catalogue is not None:
            arrays["available"] = ((config.n_items,), np.dtype(np.bool_))
        return arrays

    def _generator_names(self) -> list[str]:
        """The generators a snapshot holds once seeded, besides the user model's."""
        names = self._stream_names()
        if self.config.catalogue is not None:
            names.append("catalogue_rng")
        return names

    def snapshot(self) -> dict[str, Any]:
        """Everything the continuation depends on, as plain data (copies).

        Returns:
            dict: ``{"t", "seeded", "blocks", "user_ids", "states", "generators"}``, plus
            the state of each configured stage (``"consumed"`` bits, ``"satiation"``,
            churn's ``"active"``, ``"satisfaction"`` and ``"visits"``, the catalogue's
            ``"available"`` and ``"next_item"``); the generators of the streams in use
            (once seeded: a list of states, one per block, for each per-user stream) and
            ``"user_model"``. ``"blocks"`` is ``{"block_size", "first_slot"}``.
        """
        generators: dict[str, Any] = {}
        if self.seeded:
            for name in self._stream_names():
                generators[name] = [generator_state(block) for block in getattr(self, name)]
            if self.config.catalogue is not None:
                generators["catalogue_rng"] = generator_state(self.catalogue_rng)
        generators["user_model"] = generator_state(getattr(self.user_model, "random_", None))
        snapshot = {
            "t": self.t,
            "seeded": self.seeded,
            "blocks": {"block_size": self.layout.block_size, "first_slot": self.first_slot},
            "user_ids": copy_plain(self.user_ids),
            "states": copy_plain(self.states),
            "generators": generators,
        }
        for name in self._state_arrays():
            snapshot[name] = copy_plain(getattr(self, name))
        if self.config.catalogue is not None:
            snapshot["next_item"] = self.next_item
        return snapshot

    def check_snapshot(self, saved: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a :meth:`snapshot` of a population like this one; change nothing.

        Returns:
            dict: The same entries as new, validated objects.

        Raises:
            ValueError: On a malformed or mismatching entry, named in the message.
        """
        checked = check_core_snapshot(saved, self.n_slots, self.config, self.dtype)
        if checked["states"] is not None and not checked["seeded"]:
            raise ValueError(
                "checkpoint entry population['seeded'] is False, but the population holds "
                "users: a reset seeds it first, so this checkpoint was not taken from one"
            )
        blocks = saved.get("blocks")
        expected = {"block_size": self.layout.block_size, "first_slot": self.first_slot}
        if not (
            isinstance(blocks, Mapping)
            and set(blocks) == set(expected)
            and all(
                type(blocks[key]) in (int, np.int64) and blocks[key] == value
                for key, value in expected.items()
            )
        ):
            raise ValueError(
                f"checkpoint entry population['blocks'] must be {expected} (the blocks of "
                f"this population's random streams), got {blocks!r}"
            )
        wanted = self._generator_names() if checked["seeded"] else []
        n_blocks = dict.fromkeys(self._stream_names(), self.layout.n_blocks)
        checked["generators"] = check_generator_entries(saved.get("generators"), wanted, n_blocks)
        for name, (shape, dtype) in self._state_arrays().items():
            value = saved.get(name)
            if value is not None or checked["states"] is not None:
                value = check_entry_array(value, f"population[{name!r}]", shape, dtype)
            checked[name] = value
        if self.config.catalogue is not None:
            checked["next_item"] = check_entry_int(
                saved.get("next_item"), "population['next_item']", 0, self.config.n_items
            )
        return checked

    def load_snapshot(self, checked: dict[str, Any]) -> None:
        """Apply the result of :meth:`check_snapshot`."""
        load_core_snapshot(self, checked)
        generators = checked["generators"]
        if checked["seeded"]:
            for name in self._generator_names():
                setattr(self, name, generators[name])
        if generators["user_model"] is not None:
            self.user_model.random_ = generators["user_model"]
        for name in self._state_arrays():
            setattr(self, name, checked[name])
        if self.config.catalogue is not None:
            self.next_item = checked["next_item"]
        self.choices = self.consumed_items = self.left = self.returned = None


def _normalised(rows: NDArray[Any]) -> NDArray[Any]:
    """Rows scaled to unit length, zero rows left at zero (a new array)."""
    norms = np.sqrt(np.vecdot(rows, rows))[:, np.newaxis]
    return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)


def _check_shard(first_slot: int, stop: int, total: int, block_size: int) -> None:
    """Refuse a range of slots that is not made of whole blocks of a population.

    Raises:
        ValueError: Naming the range, the population's size and the block size.
    """
    where = f"slots [{first_slot}, {stop}) of a population of {total}"
    if stop > total:
        raise ValueError(f"`total_slots` must be at least {stop} for {where}, got {total}")
    if first_slot % block_size or (stop % block_size and stop != total):
        raise ValueError(
            f"a shard must hold whole blocks of block_size = {block_size} slots: it must "
            f"start at a multiple of {block_size} and end at one or at the last slot, got "
            f"{where}"
        )


def _check_shardable(population: Population, first_slot: int, stop: int, total: int) -> None:
    """Refuse to build part of a population whose numbers would depend on the split.

    Raises:
        ValueError: For social influence and for a user model without ``reward_draws``.
    """
    where = f"slots [{first_slot}, {stop}) of {total}"
    if population.config.social is not None:
        raise ValueError(
            f"a population with a `social_graph` cannot be split into shards ({where}): "
            "each user's preference moves toward their neighbours', who may live in "
            "another shard; run it in one process"
        )
    if not population._model_takes_draws:
        model = type(population.user_model).__name__
        raise ValueError(
            f"{model} cannot be split into shards ({where}): its `batch_step` takes no "
            "`reward_draws`, so its random numbers would come from its own `random_`, one "
            "generator consumed in slot order, and depend on the split. Use "
            "recgym.UserModel, or accept `reward_draws` (the environment's per-block draws; "
            "a model that draws nothing can ignore them)"
        )
