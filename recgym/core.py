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
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
from numpy.typing import DTypeLike, NDArray

from recgym._idiosyncratic import idiosyncratic_normals
from recgym._snapshot import (
    check_core_snapshot,
    check_entry_array,
    check_generator_entries,
    copy_plain,
    generator_state,
    load_core_snapshot,
)
from recgym._validation import check_actions, check_dtype, check_positive_int, check_seed
from recgym.choice import Consume
from recgym.config import PopulationConfig
from recgym.errors import ResetNeeded
from recgym.user_model import BaseUserModel, accepts_user_ids

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

    def sample_users(self) -> NDArray[np.int64]:
        """Draw one pool user per slot, int64 ``(n_slots,)``."""

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
    step makes new arrays), so the environments can hand them out as immutable
    snapshots instead of copying them; a user model that tried to modify its input in
    place fails loudly instead of corrupting a snapshot.
    """
    array.flags.writeable = False
    return array


class Population:
    """The arrays of one population of users and one batched ``reset``/``step``.

    ``n_slots`` *slots* hold users drawn from the pool ``config.user_features`` (of
    ``config.n_users`` users). All slots are stepped together through the response
    pipeline, with no per-user Python:

        slate ``(n_slots, k)`` → choice model: the position each user consumes, or none
        → reward of the consumed item (0 for none) → dynamics moved by it → observation

    With ``slate_size=1``, the ``"consume"`` choice model, repeat consumption allowed and
    no idiosyncratic utilities (the defaults), a step is one call of the user model's
    ``batch_step`` for everyone — the original RECGym's step, bit for bit.

    Random streams: :meth:`seed` spawns four independent generators from one
    ``numpy.random.SeedSequence`` — user draws, observation noise, the user model's
    ``random_`` (reward noise) and the choice model's draws — so drawing users never
    shifts the noise. Each stream is consumed in slot order, ``n_slots`` draws (or
    ``n_slots × d``) per call: populations of different sizes share a seed's first
    draws only, not their trajectories.

    Memory: the states, the users in the slots and, with ``repeat_consumption=False``,
    one bit per slot and item of consumption memory (``n_slots · ⌈n_items / 8⌉`` bytes).

    Args:
        config: The validated configuration.
        n_slots: Number of slots (users stepped at once).
        dtype: float64 (default) or float32 for states, observations and rewards.

    Attributes:
        choices: After a step, int64 ``(n_slots,)``: the slate position each user
            consumed, -1 for none (read-only); None before the first step of an episode.
        consumed_items: After a step, int64 ``(n_slots,)``: the item each user consumed,
            -1 for none (read-only).
    """

    def __init__(self, config: PopulationConfig, n_slots: int, dtype: DTypeLike = np.float64):
        if not isinstance(config, PopulationConfig):
            raise TypeError(
                "`config` must be a PopulationConfig (see PopulationConfig.from_arguments), "
                f"got {type(config).__name__}"
            )
        n_slots = check_positive_int(n_slots, "n_slots")
        dtype = check_dtype(dtype)
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
        # The original step: one item shown and consumed, nothing else in the utility.
        self._plain = (
            config.slate_size == 1
            and isinstance(config.choice_model, Consume)
            and config.repeat_consumption
            and config.idiosyncratic_std == 0.0
        )
        self._position_zero = _frozen(np.zeros(n_slots, dtype=np.int64))
        self._model_takes_ids = accepts_user_ids(type(self.user_model), "batch_step")
        if n_slots > 1 and not type(self.user_model).is_batched():
            warnings.warn(
                f"{type(self.user_model).__name__} implements only single-user methods; "
                f"recgym runs it through the per-user fallback ({n_slots} Python calls per "
                "step). Implement `batch_reward_function` and "
                "`batch_user_preference_dynamics` for the batched fast path.",
                PerUserFallbackWarning,
                stacklevel=3,
            )

    def seed(self, seed: int | np.random.SeedSequence | None) -> None:
        """Re-create the four random streams from ``seed`` (None: fresh OS entropy).

        Raises:
            TypeError: If ``seed`` is not None, an integer or a ``SeedSequence``.
            ValueError: If ``seed`` is a negative integer.
        """
        sequence = seed if isinstance(seed, np.random.SeedSequence) else None
        if sequence is None:
            sequence = np.random.SeedSequence(check_seed(seed, "seed"))
        users, observations, model, choice = sequence.spawn(4)
        self.user_rng = np.random.default_rng(users)
        self.obs_rng = np.random.default_rng(observations)
        self.user_model.random_ = np.random.default_rng(model)
        self.choice_rng = np.random.default_rng(choice)
        self.seeded = True

    def sample_users(self) -> NDArray[np.int64]:
        """Draw one user id per slot, uniformly from the pool (``n_slots`` integers)."""
        return self.user_rng.integers(0, self.config.n_users, size=self.n_slots)

    def reset(self, user_ids: NDArray[np.int64]) -> NDArray[Any]:
        """Put the given pool users into the slots and return their first observations.

        Consumption memory starts empty.

        Args:
            user_ids: int64 array ``(n_slots,)`` of pool indices, already validated.

        Returns:
            numpy.ndarray: New observations, shape ``(n_slots, user_feature_dim)``.
        """
        self.user_ids = _frozen(user_ids)
        self.states = _frozen(self.user_features[user_ids])
        self.t = 0
        self.choices = self.consumed_items = None
        if not self.config.repeat_consumption:
            self.consumed = np.zeros((self.n_slots, -(-self.config.n_items // 8)), np.uint8)
        return self.observe()

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

    def observe(self) -> NDArray[Any]:
        """``clip(states + obs_std·ε, -1, 1)`` as a new array (no draw when obs_std is 0)."""
        states = self.current_states()
        if self.obs_std > 0.0:
            obs = self.obs_rng.standard_normal(states.shape, dtype=self.dtype)
            obs *= self.obs_std
            obs += states
            np.maximum(obs, -1.0, out=obs)
        else:
            obs = np.maximum(states, -1.0)
        # np.minimum/np.maximum rather than np.clip: same result, a third of the cost.
        return np.minimum(obs, 1.0, out=obs)

    def utilities(self, slates: NDArray[np.int64]) -> NDArray[Any]:
        """Each slot's utility for each item of its slate: ``⟨s_i, v_j⟩ + σ·ε_ij``.

        ``ε_ij`` is the fixed idiosyncratic term of user ``i`` and item ``j`` (a
        counter-based hash of the environment's key and the two ids, never a stored
        table; see :mod:`recgym._idiosyncratic`), ``σ`` is ``idiosyncratic_std``.

        Args:
            slates: Validated int64 array ``(n_slots, k)``.

        Returns:
            numpy.ndarray: ``(n_slots, k)`` of the states' dtype.
        """
        states = self.current_states()
        utilities = np.empty(slates.shape, dtype=self.dtype)
        rows = max(1, _UTILITY_CHUNK_BYTES // (slates.shape[1] * states.shape[1] * 8))
        for start in range(0, len(slates), rows):  # gathered items stay in the cache
            chunk = slice(start, start + rows)
            gathered = self.item_features.take(slates[chunk], axis=0)  # (rows, k, d)
            utilities[chunk] = np.vecdot(gathered, states[chunk, np.newaxis, :])
        if self.config.idiosyncratic_std > 0.0:
            noise = idiosyncratic_normals(
                self.config.idiosyncratic_key, self.current_user_ids()[:, np.newaxis], slates
            )
            utilities += (self.config.idiosyncratic_std * noise).astype(self.dtype, copy=False)
        return utilities

    def step(self, actions: NDArray[np.int64]) -> tuple[NDArray[Any], NDArray[Any]]:
        """Show every slot its slate, let it choose, reward and move it, observe.

        Args:
            actions: Validated int64 array: ``(n_slots,)`` at ``slate_size == 1``, else
                slates ``(n_slots, slate_size)`` of distinct items.

        Returns:
            tuple: ``(observations (n_slots, user_feature_dim), rewards (n_slots,))``,
            new arrays; :attr:`choices` and :attr:`consumed_items` describe the step.
        """
        current, user_ids = self.current_states(), self.current_user_ids()
        if self._plain:
            choices = self._position_zero
            items = _frozen(np.array(actions, dtype=np.int64))
            rewards, states = self._respond(current, items, user_ids)
        else:
            slates = actions.reshape(self.n_slots, self.slate_size)
            available = None if self.consumed is None else ~self._consumed_bits(slates)
            utilities = (
                self.utilities(slates)
                if not isinstance(self.choice_model, Consume)  # it ignores utilities
                else np.zeros(slates.shape, dtype=self.dtype)
            )
            choices = _frozen(
                self.choice_model.choose(
                    utilities, self.choice_rng, available=available, user_ids=user_ids
                )
            )
            chose = choices >= 0
            rows = np.arange(self.n_slots)
            items = _frozen(np.where(chose, slates[rows, np.maximum(choices, 0)], -1))
            offsets = None
            if self.config.idiosyncratic_std > 0.0:
                offsets = utilities[rows, np.maximum(choices, 0)] - np.vecdot(
                    current, self.item_features.take(np.maximum(items, 0), axis=0)
                )
            if chose.all():
                rewards, states = self._respond(current, items, user_ids, offsets)
            else:
                rewards = np.zeros(self.n_slots, dtype=self.dtype)
                states = current.copy()
                consumers = np.flatnonzero(chose)
                if consumers.size:
                    rewards[consumers], states[consumers] = self._respond(
                        current[consumers],
                        items[consumers],
                        user_ids[consumers],
                        None if offsets is None else offsets[consumers],
                    )
            if self.consumed is not None:
                consumers = np.flatnonzero(chose)
                consumed = items[consumers]
                self.consumed[consumers, consumed >> 3] |= (0x80 >> (consumed & 7)).astype(np.uint8)
        self.states = _frozen(states)
        self.choices, self.consumed_items = choices, items
        self.t += 1
        return self.observe(), rewards

    def _consumed_bits(self, slates: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Whether each slot already consumed each item of its slate, bool ``(n_slots, k)``."""
        assert self.consumed is not None
        rows = np.arange(self.n_slots)[:, np.newaxis]
        return (self.consumed[rows, slates >> 3] & (0x80 >> (slates & 7))) != 0

    def _respond(
        self,
        states: NDArray[Any],
        items: NDArray[np.int64],
        user_ids: NDArray[np.int64],
        offsets: NDArray[Any] | None = None,
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        """The user model's rewards and new states for consumers, with output checks."""
        model = self.user_model
        extra: dict[str, Any] = {"user_ids": user_ids} if self._model_takes_ids else {}
        if offsets is not None:
            extra["utility_offsets"] = offsets
        rewards, new_states = model.batch_step(states, items, self.item_features, **extra)
        # O(1) checks: a custom model's wrong output must not broadcast silently.
        n = len(states)
        arrays = isinstance(rewards, np.ndarray) and isinstance(new_states, np.ndarray)
        if not arrays or rewards.shape != (n,) or new_states.shape != states.shape:
            raise (ValueError if arrays else TypeError)(
                f"`{type(model).__name__}.batch_step` must return numpy arrays of "
                f"shape ({n},) (rewards) and {states.shape} (new states), got "
                f"{_describe_output(rewards)} and {_describe_output(new_states)}"
            )
        return rewards, new_states

    @property
    def done(self) -> bool:
        """Whether ``step_per_episode`` steps have been taken since the last reset."""
        return self.t >= self.step_per_episode

    # --- checkpoints ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything the continuation depends on, as plain data (copies).

        Returns:
            dict: ``{"t", "seeded", "user_ids", "states", "generators"}`` and, with
            ``repeat_consumption=False``, ``"consumed"`` (the bit set); generators
            ``"user_rng"``, ``"obs_rng"`` and, if the choice model draws,
            ``"choice_rng"`` (once seeded), and ``"user_model"``.
        """
        generators: dict[str, Any] = {}
        if self.seeded:
            generators["user_rng"] = generator_state(self.user_rng)
            generators["obs_rng"] = generator_state(self.obs_rng)
            if self.choice_model.draws:
                generators["choice_rng"] = generator_state(self.choice_rng)
        generators["user_model"] = generator_state(getattr(self.user_model, "random_", None))
        snapshot = {
            "t": self.t,
            "seeded": self.seeded,
            "user_ids": copy_plain(self.user_ids),
            "states": copy_plain(self.states),
            "generators": generators,
        }
        if not self.config.repeat_consumption:
            snapshot["consumed"] = copy_plain(self.consumed)
        return snapshot

    def check_snapshot(self, saved: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a :meth:`snapshot` of a population like this one; change nothing.

        Returns:
            dict: The same entries as new, validated objects.

        Raises:
            ValueError: On a malformed or mismatching entry, named in the message.
        """
        checked = check_core_snapshot(saved, self.n_slots, self.config, self.dtype)
        wanted = []
        if checked["seeded"]:
            wanted = ["user_rng", "obs_rng"] + (["choice_rng"] if self.choice_model.draws else [])
        checked["generators"] = check_generator_entries(saved.get("generators"), wanted)
        if not self.config.repeat_consumption:
            consumed = saved.get("consumed")
            if consumed is not None or checked["states"] is not None:
                shape = (self.n_slots, -(-self.config.n_items // 8))
                consumed = check_entry_array(
                    consumed, "population['consumed']", shape, np.dtype(np.uint8)
                )
            checked["consumed"] = consumed
        return checked

    def load_snapshot(self, checked: dict[str, Any]) -> None:
        """Apply the result of :meth:`check_snapshot`."""
        load_core_snapshot(self, checked)
        generators = checked["generators"]
        if checked["seeded"]:
            self.user_rng, self.obs_rng = generators["user_rng"], generators["obs_rng"]
            if self.choice_model.draws:
                self.choice_rng = generators["choice_rng"]
        if generators["user_model"] is not None:
            self.user_model.random_ = generators["user_model"]
        if not self.config.repeat_consumption:
            self.consumed = checked["consumed"]
        self.choices = self.consumed_items = None


def _describe_output(value: Any) -> str:
    return f"shape {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
