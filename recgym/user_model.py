"""User models: how a recommended item rewards a user and moves their preference.

The primary interface is *batched*: given true preference states of shape
``(n, user_feature_dim)``, integer actions of shape ``(n,)`` and the item table of
shape ``(n_items, item_feature_dim)``, a model returns rewards ``(n,)`` and new states
``(n, user_feature_dim)``. The single-user methods of the original RECGym,
:meth:`BaseUserModel.reward_function` and :meth:`BaseUserModel.user_preference_dynamics`,
keep working: a model written only in that form runs everywhere through a per-user
fallback, and the built-in :class:`UserModel` answers them by calling its batched code
with ``n = 1``.

This module is pure numpy; it knows nothing of Gymnasium or PettingZoo.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym._validation import (
    check_array,
    check_choice,
    check_item,
    check_nonnegative_float,
    check_parameter,
    check_per_user,
    check_positive_int,
    check_seed,
    check_single_output,
    per_user,
)
from recgym.types import Action

__all__ = [
    "REWARD_TYPES",
    "BaseUserModel",
    "UserModel",
    "accepts_keyword",
    "accepts_user_ids",
    "check_inner_product_fields",
]

#: The reward types understood by :class:`UserModel` and the environments.
REWARD_TYPES = ("continuous", "binary")

_SINGLE_USER = ("reward_function", "user_preference_dynamics")
_BATCHED = ("batch_reward_function", "batch_user_preference_dynamics")


def _overrides(cls: type, name: str) -> bool:
    return getattr(cls, name) is not getattr(BaseUserModel, name)


def check_inner_product_fields(model: Any) -> None:
    """Validate, in place, the fields of an inner-product model (:class:`UserModel` and kin).

    ``user_feature_dim`` and ``item_feature_dim`` become positive ints that must agree,
    ``reward_type`` one of :data:`REWARD_TYPES`, ``reward_std`` a non-negative float.

    Raises:
        TypeError: A field of the wrong kind, named in the message.
        ValueError: A field with a wrong value, or dimensions that differ.
    """
    model.user_feature_dim = check_positive_int(model.user_feature_dim, "user_feature_dim")
    model.item_feature_dim = check_positive_int(model.item_feature_dim, "item_feature_dim")
    if model.item_feature_dim != model.user_feature_dim:
        raise ValueError(
            "`item_feature_dim` must equal `user_feature_dim` for the inner-product "
            f"{type(model).__name__}, got item_feature_dim={model.item_feature_dim} "
            f"and user_feature_dim={model.user_feature_dim}"
        )
    model.reward_type = check_choice(model.reward_type, "reward_type", REWARD_TYPES)
    model.reward_std = check_nonnegative_float(model.reward_std, "reward_std")


_ACCEPTS: dict[tuple[type, str, str], bool] = {}


def accepts_keyword(cls: type, name: str, keyword: str) -> bool:
    """Whether method ``name`` of ``cls`` takes the keyword argument ``keyword`` (cached)."""
    key = (cls, name, keyword)
    if key not in _ACCEPTS:
        try:
            parameters = inspect.signature(getattr(cls, name)).parameters
        except (TypeError, ValueError):  # no signature to read: pass nothing new
            _ACCEPTS[key] = False
        else:
            _ACCEPTS[key] = keyword in parameters or any(
                p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
            )
    return _ACCEPTS[key]


def accepts_user_ids(cls: type, name: str) -> bool:
    """Whether method ``name`` of ``cls`` takes a ``user_ids`` keyword (a user-aware model)."""
    return accepts_keyword(cls, name, "user_ids")


def _ids(cls: type, name: str, user_ids: NDArray[np.int64] | None) -> dict[str, Any]:
    return {"user_ids": user_ids} if user_ids is not None and accepts_user_ids(cls, name) else {}


def _nonnegative(values: Any) -> Any:
    return np.isfinite(values) & (values >= 0.0)


class BaseUserModel:
    """Base class of user models.

    A subclass implements, for the reward and for the preference dynamics each, either
    the single-user method or the batched one (or both):

    ============================================  =========================================
    single user (the original RECGym interface)   batched (fast path)
    ============================================  =========================================
    ``reward_function(state, action, item_feature_vector) -> float``
                                                  ``batch_reward_function(states, actions,
                                                  item_feature_vector) -> (n,)``
    ``user_preference_dynamics(state, action, item_feature_vector, alpha=1.0) -> (d,)``
                                                  ``batch_user_preference_dynamics(states,
                                                  actions, item_feature_vector) -> (n, d)``
    ============================================  =========================================

    A missing batched method falls back to calling the single-user one once per user (a
    Python loop: correct, documented, slower); a missing single-user method calls the
    batched one with ``n = 1``. Instantiating a class that implements neither form of
    either method raises ``TypeError``.

    Randomness: the environment gives the model a seeded ``numpy.random.Generator`` in
    the attribute ``random_`` at every seeded reset; draw from ``self.random_`` only.
    That one generator serves all users in slot order, so the numbers of a model that
    draws from it depend on how the population is split: a population split into
    shards (:meth:`recgym.core.Population.shard`) refuses such a model. A model whose
    ``batch_step`` takes a ``reward_draws`` keyword instead receives its random numbers
    from the environment's per-block streams (as :class:`UserModel` does) and may be
    sharded; a model that draws nothing can accept and ignore it.
    """

    random_: np.random.Generator | np.random.RandomState

    def __new__(cls, *args: Any, **kwargs: Any) -> BaseUserModel:
        """Refuse to create a model that lacks a reward or a dynamics method."""
        missing = [
            f"`{single}` or `{batched}`"
            for single, batched in zip(_SINGLE_USER, _BATCHED)
            if not (_overrides(cls, single) or _overrides(cls, batched))
        ]
        if missing:
            raise TypeError(
                f"Can't instantiate user model {cls.__name__}: it must implement "
                + " and ".join(missing)
            )
        return super().__new__(cls)

    @classmethod
    def is_batched(cls) -> bool:
        """Whether both batched methods are implemented natively (no per-user loop)."""
        return all(_overrides(cls, name) for name in _BATCHED)

    def check_pool(self, n_users: int) -> None:
        """Check the model's per-user parameters against the pool of ``n_users`` users.

        Called once when an environment is built. The default has nothing to check; a
        model with a parameter per user overrides it.

        Raises:
            ValueError: If a per-user parameter does not have one value per pool user.
        """

    def reward_function(
        self, state: NDArray[Any], action: Action, item_feature_vector: NDArray[Any]
    ) -> float:
        """Reward of one user for one recommended item.

        Args:
            state: The user's true preference, float array of shape ``(user_feature_dim,)``.
            action: The recommended item index.
            item_feature_vector: Item table, float array ``(n_items, item_feature_dim)``.

        Returns:
            float: The reward.

        Raises:
            TypeError: If an argument has the wrong type (e.g. a fractional ``action``).
            ValueError: If ``action`` is out of range or ``state`` has the wrong shape
                or holds NaN or inf.
        """
        states, actions = self._single_user(state, action, item_feature_vector)
        return float(self.batch_reward_function(states, actions, item_feature_vector)[0])

    def user_preference_dynamics(
        self,
        state: NDArray[Any],
        action: Action,
        item_feature_vector: NDArray[Any],
        alpha: float | None = None,
    ) -> NDArray[Any]:
        """New preference of one user after being shown one item.

        Args:
            state: The user's true preference, float array of shape ``(user_feature_dim,)``.
            action: The recommended item index.
            item_feature_vector: Item table, float array ``(n_items, item_feature_dim)``.
            alpha: Step size; ``None`` (the default) uses the model's own ``alpha``.
                Models without an ``alpha`` field ignore it.

        Returns:
            numpy.ndarray: The new state, shape ``(user_feature_dim,)``.

        Raises:
            TypeError: If an argument has the wrong type (e.g. a fractional ``action``).
            ValueError: If ``action`` is out of range, ``alpha`` is negative or not
                finite, or ``state`` has the wrong shape or holds NaN or inf.
        """
        states, actions = self._single_user(state, action, item_feature_vector)
        if alpha is not None:
            alpha = check_nonnegative_float(alpha, "alpha")
        if alpha is None or not hasattr(self, "alpha"):
            return self.batch_user_preference_dynamics(states, actions, item_feature_vector)[0]
        model: Any = self  # a model with an `alpha` field (checked above)
        saved, model.alpha = model.alpha, alpha
        try:
            return self.batch_user_preference_dynamics(states, actions, item_feature_vector)[0]
        finally:
            model.alpha = saved

    def _single_user(
        self, state: Any, action: Any, item_feature_vector: Any
    ) -> tuple[NDArray[Any], NDArray[np.int64]]:
        """Check one user's arguments; return them as a batch of one: ``(1, d)``, ``(1,)``."""
        items = check_array(item_feature_vector, "item_feature_vector", (None, None))
        dim = getattr(self, "user_feature_dim", None)
        state = check_array(np.asarray(state), "state", (dim if isinstance(dim, int) else None,))
        actions = np.array([check_item(action, "action", len(items))], dtype=np.int64)
        return state[np.newaxis], actions

    def batch_reward_function(
        self,
        states: NDArray[Any],
        actions: NDArray[np.int64],
        item_feature_vector: NDArray[Any],
        user_ids: NDArray[np.int64] | None = None,
    ) -> NDArray[Any]:
        """Rewards of ``n`` users, computed on their states *before* the transition.

        The base implementation is the per-user fallback: it calls
        :meth:`reward_function` once per user, in user order, and checks each answer (a
        real number; a string, None or an object is a ``TypeError`` naming the user).

        Args:
            states: True preferences, float array ``(n, user_feature_dim)``.
            actions: Recommended items, int64 array ``(n,)``, already validated.
            item_feature_vector: Item table, float array ``(n_items, item_feature_dim)``.
            user_ids: Pool ids of the users, to name one in errors (default: rows).

        Returns:
            numpy.ndarray: Rewards, array ``(n,)`` of the states' dtype.
        """
        who = f"`{type(self).__name__}.reward_function`"
        ids = range(len(states)) if user_ids is None else user_ids.tolist()
        rewards = [
            check_single_output(
                self.reward_function(
                    state.copy(), int(action), item_feature_vector=item_feature_vector
                ),
                who=who,
                user=user,
                kind="reward",
                dim=len(state),
            )
            for state, action, user in zip(states, actions, ids)
        ]
        return np.asarray(rewards, dtype=states.dtype).reshape(len(states))

    def batch_user_preference_dynamics(
        self,
        states: NDArray[Any],
        actions: NDArray[np.int64],
        item_feature_vector: NDArray[Any],
        user_ids: NDArray[np.int64] | None = None,
    ) -> NDArray[Any]:
        """New preferences of ``n`` users after each was shown one item.

        The base implementation is the per-user fallback: it calls
        :meth:`user_preference_dynamics` once per user (without ``alpha``, as the
        original environment did).

        Args:
            states: True preferences, float array ``(n, user_feature_dim)``.
            actions: Recommended items, int64 array ``(n,)``, already validated.
            item_feature_vector: Item table, float array ``(n_items, item_feature_dim)``.
            user_ids: Pool ids of the users, to name one in errors (default: rows).

        Returns:
            numpy.ndarray: New states, a new array ``(n, user_feature_dim)`` of the
            states' dtype.

        Raises:
            TypeError: If :meth:`user_preference_dynamics` returns None (a forgotten
                ``return``) or anything but a numpy array of real numbers.
            ValueError: If it returns a state of the wrong shape.
        """
        who = f"`{type(self).__name__}.user_preference_dynamics`"
        new_states = np.empty_like(states)
        ids = range(len(states)) if user_ids is None else user_ids.tolist()
        for i, (state, action, user) in enumerate(zip(states, actions, ids)):
            new_states[i] = check_single_output(
                self.user_preference_dynamics(
                    state.copy(), int(action), item_feature_vector=item_feature_vector
                ),
                who=who,
                user=user,
                kind="state",
                dim=states.shape[1],
            )
        return new_states

    def batch_step(
        self,
        states: NDArray[Any],
        actions: NDArray[np.int64],
        item_feature_vector: NDArray[Any],
        user_ids: NDArray[np.int64] | None = None,
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        """Rewards on the current states, then the transition: one environment step.

        Args:
            states: True preferences, float array ``(n, user_feature_dim)``; not modified.
            actions: Consumed items, int64 array ``(n,)``, already validated.
            item_feature_vector: Item table, float array ``(n_items, item_feature_dim)``.
            user_ids: Pool ids of the ``n`` users, int64 ``(n,)``; passed on to the
                batched methods that accept a ``user_ids`` keyword (user-aware models,
                e.g. with a parameter per user), ignored otherwise.

        Returns:
            tuple: ``(rewards (n,), new_states (n, user_feature_dim))``.
        """
        cls = type(self)
        reward_ids = _ids(cls, "batch_reward_function", user_ids)
        dynamics_ids = _ids(cls, "batch_user_preference_dynamics", user_ids)
        rewards = self.batch_reward_function(states, actions, item_feature_vector, **reward_ids)
        new_states = self.batch_user_preference_dynamics(
            states, actions, item_feature_vector, **dynamics_ids
        )
        return rewards, new_states


@dataclass
class UserModel(BaseUserModel):
    """The default, natively batched user model (inner-product affinity).

    With ``s`` a user's true preference and ``v`` the recommended item's feature vector:

    * reward, computed on the state *before* the transition:
      ``⟨s, v⟩ + reward_std·ξ`` (``ξ ~ N(0, 1)``) if ``reward_type == "continuous"``,
      ``Bernoulli(sigmoid(⟨s, v⟩))`` if ``reward_type == "binary"``;
    * preference dynamics (biased assimilation, Dean & Morgenstern 2022):
      ``s ← (s + α⟨s, v⟩v) / ‖s + α⟨s, v⟩v‖``, left unnormalised where that vector is 0.

    Random draws: ``n`` standard normals per step for continuous rewards with
    ``reward_std > 0`` (none at ``reward_std == 0``), ``n`` uniforms per step for binary
    rewards; from ``self.random_`` when called directly, from the environment's per-block
    streams (the ``reward_draws`` of :meth:`batch_step`) inside an environment.

    Args:
        user_feature_dim: Dimension of user preferences.
        item_feature_dim: Dimension of item features; must equal ``user_feature_dim``.
        reward_type: ``"continuous"`` or ``"binary"``.
        reward_std: Standard deviation of the continuous reward noise (ignored for
            binary rewards).
        random_state: Seed of ``random_`` until an environment reseeds it.
        alpha: Step size of the preference dynamics, ``>= 0``: a float for everyone, or
            a float array ``(n_users,)`` over the environment's user pool (a step size
            per user; then the batched methods need ``user_ids``, which the
            environments pass).
    """

    user_feature_dim: int
    item_feature_dim: int
    reward_type: str = "continuous"
    reward_std: float = 0.0
    random_state: int | None = None
    alpha: float | NDArray[np.float64] = 1.0

    def __post_init__(self) -> None:
        check_inner_product_fields(self)
        self.random_state = check_seed(self.random_state, "random_state")
        if isinstance(self.alpha, np.ndarray):  # one step size per user of the pool
            self.alpha = check_parameter(self.alpha, "alpha", "a non-negative float", _nonnegative)
        else:
            self.alpha = check_nonnegative_float(self.alpha, "alpha")
        self.random_: np.random.Generator = np.random.default_rng(self.random_state)

    def check_pool(self, n_users: int) -> None:
        """Check the per-user parameters against the user pool (``alpha``'s length).

        Raises:
            ValueError: If ``alpha`` is an array whose length is not ``n_users``.
        """
        check_per_user(self.alpha, "alpha", n_users)

    def batch_step(
        self,
        states: NDArray[Any],
        actions: NDArray[np.int64],
        item_feature_vector: NDArray[Any],
        user_ids: NDArray[np.int64] | None = None,
        utility_offsets: NDArray[Any] | None = None,
        preference_offsets: NDArray[Any] | None = None,
        reward_draws: NDArray[Any] | None = None,
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        """One step for ``n`` users, sharing the affinity ``⟨s, v⟩`` between reward and dynamics.

        Args:
            states: True preferences, float array ``(n, d)``; not modified.
            actions: Consumed items, int64 array ``(n,)``, already validated.
            item_feature_vector: Item table, float array ``(n_items, d)``.
            user_ids: Pool ids of the users, int64 ``(n,)``; needed with a per-user
                ``alpha``.
            utility_offsets: Optional ``(n,)`` terms added to the affinity of the reward
                only (the environment's fixed idiosyncratic utilities): the reward is
                ``⟨s, v⟩ + offset`` (plus noise), or ``Bernoulli(sigmoid(⟨s, v⟩ +
                offset))``; the dynamics use ``⟨s, v⟩``.
            preference_offsets: Optional ``(n, d)`` terms added to the moved preference
                before it is normalised (the environment's social influence):
                ``s ← normalise(s + α⟨s, v⟩v + offset)``.
            reward_draws: Optional ``(n,)`` random numbers of the reward, of the states'
                dtype, used instead of drawing from ``random_``: standard normals ``ξ``
                for continuous rewards with ``reward_std > 0``, uniforms in ``[0, 1)`` for
                binary rewards (the reward is ``u < sigmoid(⟨s, v⟩)``); ignored when the
                reward draws nothing. The environments pass them from their per-block
                streams (:mod:`recgym._streams`), so a user's reward noise does not depend
                on the other users stepped with them.

        Returns:
            tuple: ``(rewards (n,), new_states (n, d))``, new arrays of the states' dtype.
        """
        items = item_feature_vector.take(actions, axis=0)
        affinity = np.vecdot(states, items)
        alpha = per_user(self.alpha, "alpha", user_ids)
        utility = affinity if utility_offsets is None else affinity + utility_offsets
        moved = self._transition(states, items, affinity, alpha, preference_offsets)
        return self._reward(utility, reward_draws), moved

    def batch_reward_function(
        self,
        states: NDArray[Any],
        actions: NDArray[np.int64],
        item_feature_vector: NDArray[Any],
        user_ids: NDArray[np.int64] | None = None,
    ) -> NDArray[Any]:
        """Rewards of ``n`` users; see the class docstring. Returns an array ``(n,)``."""
        items = item_feature_vector.take(actions, axis=0)
        return self._reward(np.vecdot(states, items))

    def batch_user_preference_dynamics(
        self,
        states: NDArray[Any],
        actions: NDArray[np.int64],
        item_feature_vector: NDArray[Any],
        user_ids: NDArray[np.int64] | None = None,
    ) -> NDArray[Any]:
        """New preferences of ``n`` users; see the class docstring. Returns ``(n, d)``."""
        items = item_feature_vector.take(actions, axis=0)
        alpha = per_user(self.alpha, "alpha", user_ids)
        return self._transition(states, items, np.vecdot(states, items), alpha)

    @property
    def reward_draw_kind(self) -> str | None:
        """What one reward draws per user: ``"uniform"``, ``"normal"`` or None (nothing)."""
        if self.reward_type == "binary":
            return "uniform"
        return "normal" if self.reward_std > 0.0 else None

    def _reward(self, affinity: NDArray[Any], draws: NDArray[Any] | None = None) -> NDArray[Any]:
        if self.reward_type == "binary":
            from scipy.special import expit  # imported on first use: 0.15 s

            uniform = (
                self.random_.random(affinity.shape[0], dtype=affinity.dtype)
                if draws is None
                else draws
            )
            return (uniform < expit(affinity)).astype(affinity.dtype)
        if self.reward_std > 0.0:
            noise = (
                self.random_.standard_normal(affinity.shape[0], dtype=affinity.dtype)
                if draws is None
                else draws
            )
            return affinity + self.reward_std * noise
        return affinity

    def _transition(
        self,
        states: NDArray[Any],
        items: NDArray[Any],
        affinity: NDArray[Any],
        alpha: float | NDArray[np.float64],
        offsets: NDArray[Any] | None = None,
    ) -> NDArray[Any]:
        # 1.0 * x == x exactly: skip that pass (and its n-float temporary) at the default alpha.
        if isinstance(alpha, np.ndarray):
            scale = (alpha * affinity).astype(affinity.dtype, copy=False)
        else:
            scale = affinity if alpha == 1.0 else alpha * affinity
        moved = np.multiply(items, scale[:, np.newaxis], out=items)
        moved += states
        if offsets is not None:
            moved += offsets
        squared = np.vecdot(moved, moved)
        norms = np.sqrt(squared, out=squared)[:, np.newaxis]
        norms[norms == 0.0] = 1.0  # a zero vector has no direction: leave it at zero
        moved /= norms
        return moved
