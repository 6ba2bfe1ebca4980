"""The population core: the arrays of one population and one batched step.

Every environment of recgym (the PettingZoo :class:`~recgym.population.PopulationEnv`,
the Gymnasium :class:`~recgym.RECEnv` and :class:`~recgym.RECVectorEnv`) is a thin
adapter over :class:`Population`. The core holds arrays only — user pool, current true
states, item table, step counter, generators — and knows no API conventions: no dicts,
no agent names, no per-user Python.
"""

from __future__ import annotations

import copy
import inspect
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from recgym._validation import (
    check_array,
    check_choice,
    check_nonnegative_float,
    check_positive_int,
    check_seed,
)
from recgym.features import FEATURE_NORMALIZATIONS, generate_features, normalize_features
from recgym.user_model import REWARD_TYPES, BaseUserModel, UserModel

__all__ = ["PerUserFallbackWarning", "Population", "PopulationConfig", "check_actions"]


class PerUserFallbackWarning(UserWarning):
    """A user model without batched methods runs one Python call per user and step."""


@dataclass(frozen=True)
class PopulationConfig:
    """The validated constructor arguments shared by every recgym environment.

    Build it with :meth:`from_arguments`, which takes the original RECGym parameters.

    Attributes:
        step_per_episode: Steps per episode.
        n_items: Number of items.
        n_users: Number of users in the pool.
        item_feature_dim: Item feature dimension.
        user_feature_dim: User feature dimension.
        reward_type: ``"continuous"`` or ``"binary"``.
        reward_std: Standard deviation of the continuous reward noise.
        obs_std: Standard deviation of the observation noise.
        feature_normalization: ``"spectral"`` or ``"row"``.
        random_state: Seed of the features and of the first unseeded reset, or None.
        user_features: Normalised user pool, float64 ``(n_users, user_feature_dim)``.
        item_features: Normalised item table, float64 ``(n_items, item_feature_dim)``.
        user_model: The user model (a private copy when an instance was given).
    """

    step_per_episode: int
    n_items: int
    n_users: int
    item_feature_dim: int
    user_feature_dim: int
    reward_type: str
    reward_std: float
    obs_std: float
    feature_normalization: str
    random_state: int | None
    user_features: NDArray[np.float64]
    item_features: NDArray[np.float64]
    user_model: BaseUserModel

    @classmethod
    def from_arguments(
        cls,
        step_per_episode: Any = 10,
        n_items: Any = 5,
        n_users: Any = 100,
        item_feature_dim: Any = 5,
        user_feature_dim: Any = 5,
        item_feature_vector: Any = None,
        user_feature_vector: Any = None,
        reward_type: Any = "continuous",
        reward_std: Any = 0.0,
        obs_std: Any = 0.0,
        UserModel: Any = UserModel,
        random_state: Any = None,
        feature_normalization: Any = "spectral",
    ) -> PopulationConfig:
        """Validate the original RECGym constructor arguments and build the tables.

        Features that are not given are drawn uniform on ``[-1, 1)`` from
        ``numpy.random.default_rng(random_state)`` — users first, then items, as the
        original — and every table, drawn or given, is normalised by
        ``feature_normalization``.

        Raises:
            TypeError: An argument of the wrong kind, named in the message.
            ValueError: An argument with a wrong value, named in the message.
        """
        step_per_episode = check_positive_int(step_per_episode, "step_per_episode")
        n_items = check_positive_int(n_items, "n_items")
        n_users = check_positive_int(n_users, "n_users")
        item_feature_dim = check_positive_int(item_feature_dim, "item_feature_dim")
        user_feature_dim = check_positive_int(user_feature_dim, "user_feature_dim")
        reward_type = check_choice(reward_type, "reward_type", REWARD_TYPES)
        reward_std = check_nonnegative_float(reward_std, "reward_std")
        obs_std = check_nonnegative_float(obs_std, "obs_std")
        feature_normalization = check_choice(
            feature_normalization, "feature_normalization", FEATURE_NORMALIZATIONS
        )
        random_state = check_seed(random_state, "random_state")

        feature_rng = np.random.default_rng(random_state)
        if user_feature_vector is None:
            user_feature_vector = generate_features(feature_rng, n_users, user_feature_dim)
        check_array(user_feature_vector, "user_feature_vector", (n_users, user_feature_dim))
        if item_feature_vector is None:
            item_feature_vector = generate_features(feature_rng, n_items, item_feature_dim)
        check_array(item_feature_vector, "item_feature_vector", (n_items, item_feature_dim))

        user_model = _make_user_model(
            UserModel,
            user_feature_dim=user_feature_dim,
            item_feature_dim=item_feature_dim,
            reward_type=reward_type,
            reward_std=reward_std,
            random_state=random_state,
        )
        return cls(
            step_per_episode=step_per_episode,
            n_items=n_items,
            n_users=n_users,
            item_feature_dim=item_feature_dim,
            user_feature_dim=user_feature_dim,
            reward_type=reward_type,
            reward_std=reward_std,
            obs_std=obs_std,
            feature_normalization=feature_normalization,
            random_state=random_state,
            user_features=normalize_features(
                user_feature_vector, feature_normalization, "user_feature_vector"
            ),
            item_features=normalize_features(
                item_feature_vector, feature_normalization, "item_feature_vector"
            ),
            user_model=user_model,
        )


def _make_user_model(model: Any, **fields: Any) -> BaseUserModel:
    """Instantiate a user-model class, or check and copy a user-model instance."""
    if inspect.isclass(model):
        if not issubclass(model, BaseUserModel):
            raise TypeError(
                "`UserModel` must be a subclass or an instance of "
                f"recgym.BaseUserModel, got {model!r}"
            )
        return model(**fields)
    if not isinstance(model, BaseUserModel):
        raise TypeError(
            f"`UserModel` must be a subclass or an instance of recgym.BaseUserModel, got {model!r}"
        )
    for name in ("user_feature_dim", "item_feature_dim", "reward_type", "reward_std"):
        if hasattr(model, name) and getattr(model, name) != fields[name]:
            raise ValueError(
                f"`UserModel.{name}` ({getattr(model, name)!r}) does not match the "
                f"environment's `{name}` ({fields[name]!r})"
            )
    return copy.deepcopy(model)


def check_actions(actions: Any, n: int, n_items: int) -> NDArray[np.int64]:
    """Validate a batch of actions with vectorised checks and return them as int64.

    Args:
        actions: Integer array of shape ``(n,)``.
        n: Expected number of actions.
        n_items: Number of items; every action must lie in ``[0, n_items)``.

    Returns:
        numpy.ndarray: ``actions`` as an int64 array (the same object if it already was).

    Raises:
        TypeError: If ``actions`` is not an integer ndarray.
        ValueError: If its shape is not ``(n,)`` or an action is out of range.
    """
    if not isinstance(actions, np.ndarray):
        raise TypeError(
            f"`actions` must be a numpy integer array of shape ({n},), got {type(actions).__name__}"
        )
    if actions.dtype == np.bool_ or not np.issubdtype(actions.dtype, np.integer):
        raise TypeError(f"`actions` must hold integers, got dtype {actions.dtype}")
    if actions.shape != (n,):
        raise ValueError(f"`actions` must have shape ({n},), got {actions.shape}")
    if n and (actions.min() < 0 or actions.max() >= n_items):
        bad = np.flatnonzero((actions < 0) | (actions >= n_items))
        raise ValueError(
            f"`actions` must lie in [0, {n_items}), got {actions[bad[:5]].tolist()} "
            f"at positions {bad[:5].tolist()}" + (" (first 5 shown)" if len(bad) > 5 else "")
        )
    return actions.astype(np.int64, copy=False)


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

    ``n`` *slots* hold users drawn from the pool ``config.user_features``. All slots are
    stepped together: one call of the user model's ``batch_step`` for everyone.

    Random streams: :meth:`seed` spawns three independent generators from one
    ``numpy.random.SeedSequence`` — user draws, observation noise and the user model's
    ``random_`` (reward noise) — so drawing users never shifts the noise. Each stream
    is consumed in slot order, ``n`` draws (or ``n × d``) per call: populations of
    different sizes share a seed's first draws only, not their trajectories.

    Args:
        config: The validated configuration.
        n: Number of slots (users stepped at once).
        dtype: float64 (default) or float32 for states, observations and rewards.
    """

    def __init__(self, config: PopulationConfig, n: int, dtype: DTypeLike = np.float64):
        if not isinstance(config, PopulationConfig):
            raise TypeError(
                "`config` must be a PopulationConfig (see PopulationConfig.from_arguments), "
                f"got {type(config).__name__}"
            )
        n = check_positive_int(n, "n")
        try:
            resolved = np.dtype(dtype)
        except TypeError:
            resolved = None
        if resolved not in (np.float32, np.float64):
            raise ValueError(f"`dtype` must be numpy.float32 or numpy.float64, got {dtype!r}")
        dtype = resolved
        self.config = config
        self.n = n
        self.dtype = dtype
        self.user_model = config.user_model
        self.user_features = config.user_features.astype(dtype, copy=False)
        self.item_features = config.item_features.astype(dtype, copy=False)
        self.obs_std = config.obs_std
        self.step_per_episode = config.step_per_episode
        self.t = 0
        self.user_ids: NDArray[np.int64] | None = None
        self.states: NDArray[Any] | None = None
        self.seeded = False
        if n > 1 and not type(self.user_model).is_batched():
            warnings.warn(
                f"{type(self.user_model).__name__} implements only single-user methods; "
                f"recgym runs it through the per-user fallback ({n} Python calls per "
                "step). Implement `batch_reward_function` and "
                "`batch_user_preference_dynamics` for the batched fast path.",
                PerUserFallbackWarning,
                stacklevel=3,
            )

    def seed(self, seed: int | np.random.SeedSequence | None) -> None:
        """Re-create the three random streams from ``seed`` (None: fresh OS entropy).

        Raises:
            TypeError: If ``seed`` is not None, an integer or a ``SeedSequence``.
            ValueError: If ``seed`` is a negative integer.
        """
        sequence = seed if isinstance(seed, np.random.SeedSequence) else None
        if sequence is None:
            sequence = np.random.SeedSequence(check_seed(seed, "seed"))
        users, observations, model = sequence.spawn(3)
        self.user_rng = np.random.default_rng(users)
        self.obs_rng = np.random.default_rng(observations)
        self.user_model.random_ = np.random.default_rng(model)
        self.seeded = True

    def sample_users(self) -> NDArray[np.int64]:
        """Draw one user id per slot, uniformly from the pool (``n`` integers)."""
        return self.user_rng.integers(0, self.config.n_users, size=self.n)

    def reset(self, user_ids: NDArray[np.int64]) -> NDArray[Any]:
        """Put the given pool users into the slots and return their first observations.

        Args:
            user_ids: int64 array ``(n,)`` of pool indices, already validated.

        Returns:
            numpy.ndarray: New observations, shape ``(n, user_feature_dim)``.
        """
        self.user_ids = _frozen(user_ids)
        self.states = _frozen(self.user_features[user_ids])
        self.t = 0
        return self.observe()

    def set_states(self, states: NDArray[Any]) -> None:
        """Replace the true states by a frozen copy of ``states`` (validated by the caller)."""
        self.states = _frozen(states.astype(self.dtype, copy=True))

    def observe(self) -> NDArray[Any]:
        """``clip(states + obs_std·ε, -1, 1)`` as a new array (no draw when obs_std is 0)."""
        if self.obs_std > 0.0:
            obs = self.obs_rng.standard_normal(self.states.shape, dtype=self.dtype)
            obs *= self.obs_std
            obs += self.states
            np.maximum(obs, -1.0, out=obs)
        else:
            obs = np.maximum(self.states, -1.0)
        # np.minimum/np.maximum rather than np.clip: same result, a third of the cost.
        return np.minimum(obs, 1.0, out=obs)

    def step(self, actions: NDArray[np.int64]) -> tuple[NDArray[Any], NDArray[Any]]:
        """Reward every slot on its current state, move the states, observe.

        Args:
            actions: Validated int64 array ``(n,)``.

        Returns:
            tuple: ``(observations (n, user_feature_dim), rewards (n,))``, new arrays.
        """
        rewards, states = self.user_model.batch_step(self.states, actions, self.item_features)
        # O(1) checks: a custom model's wrong output must not broadcast silently.
        arrays = isinstance(rewards, np.ndarray) and isinstance(states, np.ndarray)
        if not arrays or rewards.shape != (self.n,) or states.shape != self.states.shape:
            raise (ValueError if arrays else TypeError)(
                f"`{type(self.user_model).__name__}.batch_step` must return numpy arrays of "
                f"shape ({self.n},) (rewards) and {self.states.shape} (new states), got "
                f"{_describe_output(rewards)} and {_describe_output(states)}"
            )
        self.states = _frozen(states)
        self.t += 1
        return self.observe(), rewards

    @property
    def done(self) -> bool:
        """Whether ``step_per_episode`` steps have been taken since the last reset."""
        return self.t >= self.step_per_episode


def _describe_output(value: Any) -> str:
    return f"shape {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
