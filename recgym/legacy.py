"""Bit-for-bit compatibility with RECGym as shipped in SCOPE-RL 0.2.1 (``legacy=True``).

``RECEnv(..., legacy=True)`` runs on :class:`LegacyPopulation` instead of the batched
:class:`~recgym.population.Population`. Given the same arguments and ``random_state``, it
produces the original's numbers exactly — the same feature tables, the same user at every
reset, the same observations and rewards, step after step and across episodes — while
keeping Gymnasium semantics on the outside. ``tests/test_legacy.py`` checks this with
``==`` against values recorded from the original (``tests/fixtures/legacy/``).

What legacy mode reproduces (see ``docs/migration.md``):

* **Two legacy ``numpy.random.RandomState`` streams, seeded with the same integer.** The
  environment's stream draws the user table (``n_users × user_feature_dim`` uniforms on
  [-1, 1), only when not given), then the item table (likewise), then per reset one
  ``randint(0, n_users)`` and ``user_feature_dim`` normals (the observation), and per
  non-final step ``user_feature_dim`` normals. The user model's stream draws one normal
  per step (the reward). Normals are drawn even when ``obs_std`` or ``reward_std`` is 0.
* **The hidden reset at the end of every episode.** The original's ``step`` reset itself
  on the last step (a ``randint`` and ``user_feature_dim`` normals) and returned the next
  user's first observation, which every SCOPE-RL consumer threw away before calling
  ``reset()``. Legacy mode makes the same draws at the last step and throws them away
  too (they are kept in :attr:`LegacyPopulation.auto_reset_user_id` and
  :attr:`LegacyPopulation.auto_reset_observation`), so the next ``reset()`` draws the
  user the original's next ``reset()`` drew.
* **Spectral normalisation** of both tables and the original's arithmetic, operation by
  operation (:class:`LegacyUserModel` is the original ``UserModel``).
* **``reset(seed=s)`` reseeds the environment's stream only**, with
  ``RandomState(s)``, exactly as the original: the reward noise is *not* reseeded, so
  two rollouts after ``reset(seed=s)`` see the same users and observations but different
  reward noise when ``reward_std > 0``. The default mode reseeds everything.

What stays recgym's (the fixes that change no number): Gymnasium's 5-tuple with
``terminated=True`` on the last step and no hidden reset in what is returned (the
terminal observation is the noiseless ``clip(state, -1, 1)``: the original drew no noise
for it), ``step`` after the end raises, actions are validated (no negative wrap-around),
``info`` holds copies, and arguments are validated as in the default mode.

Binary rewards crashed in the original (``RandomState.binominal``). Legacy mode draws
them with ``random_.binomial(1, sigmoid(logit))`` from the user model's stream, the fix
the original's code was evidently meant to have; the numbers cannot be compared with
anything, since the original never produced one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from recgym import _snapshot
from recgym._validation import (
    check_item,
    check_legacy_seed,
    check_nonnegative_float,
    check_positive_int,
    check_single_output,
)
from recgym.config import DEFAULT_ARGUMENTS, PopulationConfig, complete_arguments
from recgym.errors import ResetNeeded
from recgym.types import Action
from recgym.user_model import BaseUserModel, UserModel, check_inner_product_fields

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from recgym.config import EnvArguments

__all__ = ["LegacyPopulation", "LegacyUserModel", "check_legacy_seed"]


def _sigmoid(x: Any) -> Any:
    """The original's ``recgym.utils.sigmoid``."""
    return 1 / (1 + np.exp(-x))


@dataclass
class LegacyUserModel(BaseUserModel):
    """The original RECGym ``UserModel``, operation for operation, on a ``RandomState``.

    Used by ``RECEnv(legacy=True)`` in place of the default :class:`recgym.UserModel`.
    Subclass it to port a model that subclassed the original's ``UserModel``. It has
    only the single-user methods (the batched ones are the per-user fallback).

    * reward, on the state before the transition: ``logit = state @ v``;
      ``random_.normal(loc=logit, scale=reward_std)`` for continuous rewards (one draw
      even at ``reward_std == 0``), ``random_.binomial(1, p=sigmoid(logit))`` for binary
      rewards (the original called the non-existent ``binominal`` and crashed);
    * dynamics: ``state + alpha * (state @ v) * v``, divided by its Euclidean norm.

    Args:
        user_feature_dim: Dimension of user preferences.
        item_feature_dim: Dimension of item features; must equal ``user_feature_dim``.
        reward_type: ``"continuous"`` or ``"binary"``.
        reward_std: Standard deviation of the continuous reward noise.
        random_state: Seed of ``random_ = numpy.random.RandomState(random_state)``.
    """

    user_feature_dim: int
    item_feature_dim: int
    reward_type: str = "continuous"
    reward_std: float = 0.0
    random_state: int | None = None

    def __post_init__(self) -> None:
        check_inner_product_fields(self)
        if self.random_state is not None:
            self.random_state = check_legacy_seed(self.random_state, "random_state")
        self.random_ = np.random.RandomState(self.random_state)

    def user_preference_dynamics(
        self,
        state: NDArray[Any],
        action: Action,
        item_feature_vector: NDArray[Any],
        alpha: float | None = 1.0,
    ) -> NDArray[Any]:
        """The original's dynamics: ``s + α⟨s, v⟩v``, normalised (``alpha=None`` is 1).

        Raises:
            TypeError: If ``action`` is not an integer item index or ``alpha`` not a number.
            ValueError: If ``action`` is outside ``[0, n_items)`` (the original wrapped
                negative indices around) or ``alpha`` is negative or not finite.
        """
        alpha = 1.0 if alpha is None else check_nonnegative_float(alpha, "alpha")
        action = check_item(action, "action", len(item_feature_vector))
        coefficient = state @ item_feature_vector[action]
        state = state + alpha * coefficient * item_feature_vector[action]
        return state / np.linalg.norm(state, ord=2)

    def reward_function(
        self, state: NDArray[Any], action: Action, item_feature_vector: NDArray[Any]
    ) -> float:
        """The original's reward (one draw from ``random_`` per call), as a float.

        Raises:
            TypeError: If ``action`` is not an integer item index.
            ValueError: If ``action`` is outside ``[0, n_items)``.
        """
        action = check_item(action, "action", len(item_feature_vector))
        logit = state @ item_feature_vector[action]
        if self.reward_type == "continuous":
            return float(self.random_.normal(loc=logit, scale=self.reward_std))
        return float(self.random_.binomial(1, p=_sigmoid(logit)))


def _spectral_normalize(table: NDArray[Any]) -> NDArray[np.float64]:
    """``table / ‖table‖₂`` (largest singular value), as the original; zeros stay zero.

    The arithmetic is the original's, in the table's own dtype; float16, which numpy's
    linear algebra does not take (the original crashed on it), is computed in float64
    as the default mode does.
    """
    if table.dtype == np.float16:
        table = table.astype(np.float64)
    scale = np.linalg.norm(table, ord=2)
    if scale == 0:
        return np.zeros(table.shape, dtype=np.float64)
    return np.asarray(table / scale, dtype=np.float64)


def _legacy_user_model(argument: Any, built: Any, random_state: int) -> BaseUserModel:
    """The user model of a legacy environment.

    Args:
        argument: The ``UserModel`` argument the environment was given.
        built: The model :meth:`PopulationConfig.from_arguments` made of it (an
            instance of the class, or a private copy of the instance).
        random_state: The environment's seed.

    Returns:
        BaseUserModel: :class:`LegacyUserModel` in place of :class:`recgym.UserModel`;
        otherwise ``built``, given ``random_ = RandomState(random_state)`` if it has no
        ``random_`` of its own (a model that made one keeps it, as in the original).

    Raises:
        ValueError: For subclasses of :class:`recgym.UserModel`, whose batched arithmetic
            the original never had, and for a :class:`recgym.UserModel` instance that
            cannot be reproduced (no ``random_state``, or ``alpha != 1``).
    """
    model_class = argument if isinstance(argument, type) else type(argument)
    if issubclass(model_class, UserModel) and argument is not UserModel:
        if model_class is not UserModel:
            raise ValueError(
                "`UserModel` cannot be a subclass of recgym.UserModel with legacy=True "
                "(its batched arithmetic is not the original's); subclass "
                f"recgym.legacy.LegacyUserModel instead, got {model_class.__name__}"
            )
        if built.random_state is None or not (
            isinstance(built.alpha, float) and built.alpha == 1.0
        ):
            raise ValueError(
                "a recgym.UserModel instance needs an integer `random_state` and "
                "alpha=1.0 with legacy=True (the original seeded its own RandomState "
                "with it and had no alpha), got "
                f"random_state={built.random_state!r}, alpha={built.alpha!r}"
            )
        random_state = built.random_state
    if issubclass(model_class, UserModel):  # the class itself, or a reproducible instance
        return LegacyUserModel(
            user_feature_dim=built.user_feature_dim,
            item_feature_dim=built.item_feature_dim,
            reward_type=built.reward_type,
            reward_std=built.reward_std,
            random_state=random_state,
        )
    if getattr(built, "random_", None) is None:
        built.random_ = np.random.RandomState(random_state)
    return built


class LegacyPopulation:
    """A population of one that reproduces the original ``RECEnv`` draw for draw.

    It implements :class:`recgym.core.PopulationCore`, the interface the environments
    use of the batched core, with the original's random streams and arithmetic; see
    the module docstring. Build it with :meth:`from_arguments`.

    Args:
        config: The validated configuration, with spectrally normalised tables and the
            legacy user model.
        random_: The environment's stream (the original's ``env.random_``), positioned
            after the feature draws.

    Attributes:
        random_: The environment's ``RandomState``.
        auto_reset_user_id: After the last step of an episode, the user the original's
            hidden reset drew (and its consumers threw away); None otherwise.
        auto_reset_observation: The observation that hidden reset drew, ``(1, d)``.
    """

    n_slots = 1
    dtype = np.dtype(np.float64)

    def __init__(self, config: PopulationConfig, random_: np.random.RandomState):
        self.config = config
        self.user_model = config.user_model
        self.user_features = config.user_features
        self.item_features = config.item_features
        self.obs_std = config.obs_std
        self.step_per_episode = config.step_per_episode
        self.random_ = random_
        self.t = 0
        self.user_ids: NDArray[np.int64] | None = None
        self.states: NDArray[np.float64] | None = None
        self.seeded = True
        self.auto_reset_user_id: int | None = None
        self.auto_reset_observation: NDArray[np.float64] | None = None
        self.choices: NDArray[np.int64] | None = None
        self.consumed_items: NDArray[np.int64] | None = None

    @classmethod
    def from_arguments(cls, **arguments: Unpack[EnvArguments]) -> LegacyPopulation:
        """Validate the original constructor arguments and draw what the original drew.

        Takes the parameters of :class:`recgym.RECEnv`. Missing feature tables are drawn
        from ``RandomState(random_state)`` — users, then items — and every table is
        divided by its spectral norm; the same stream then serves the resets and steps.

        Raises:
            TypeError: An argument of the wrong kind, named in the message.
            ValueError: An argument with a wrong value; also ``random_state=None`` and
                ``feature_normalization="row"``, which legacy mode cannot reproduce.
        """
        given = complete_arguments(arguments)
        for name in (
            "slate_size",
            "choice_model",
            "repeat_consumption",
            "idiosyncratic_std",
            "satiation",
            "churn",
            "catalogue",
            "social_graph",
            "social_weight",
            "confidence_bound",
            "block_size",
        ):
            value, default = given[name], DEFAULT_ARGUMENTS[name]
            if not (type(value) is type(default) and value == default):
                raise ValueError(
                    f"`{name}` must keep its default ({DEFAULT_ARGUMENTS[name]!r}) with "
                    "legacy=True (the original showed one item, always consumed, and "
                    "drew from one stream), "
                    f"got {value!r}"
                )
        if given["engine"] == "numba":
            raise ValueError(
                "`engine` must be 'auto' or 'numpy' with legacy=True (the original's "
                "arithmetic runs one user at a time in numpy), got 'numba'"
            )
        random_state = given["random_state"]
        if random_state is None:
            raise ValueError(
                "`random_state` must be given with legacy=True (the original required "
                "it: `random_state must be given`), got None"
            )
        random_state = check_legacy_seed(random_state, "random_state")
        if given["feature_normalization"] != "spectral":
            raise ValueError(
                "`feature_normalization` must be 'spectral' with legacy=True (the "
                f"original's normalisation), got {given['feature_normalization']!r}"
            )
        n_users = check_positive_int(given["n_users"], "n_users")
        n_items = check_positive_int(given["n_items"], "n_items")
        user_feature_dim = check_positive_int(given["user_feature_dim"], "user_feature_dim")
        item_feature_dim = check_positive_int(given["item_feature_dim"], "item_feature_dim")

        random_ = np.random.RandomState(random_state)
        user_feature_vector = given["user_feature_vector"]
        if user_feature_vector is None:
            user_feature_vector = random_.uniform(
                low=-1.0, high=1.0, size=(n_users, user_feature_dim)
            )
        item_feature_vector = given["item_feature_vector"]
        if item_feature_vector is None:
            item_feature_vector = random_.uniform(
                low=-1.0, high=1.0, size=(n_items, item_feature_dim)
            )
        config = PopulationConfig.from_arguments(
            **{
                **given,
                "item_feature_vector": item_feature_vector,
                "user_feature_vector": user_feature_vector,
                "random_state": random_state,
            }
        )
        config = dataclasses.replace(
            config,
            user_features=_spectral_normalize(user_feature_vector),
            item_features=_spectral_normalize(item_feature_vector),
            user_model=_legacy_user_model(given["UserModel"], config.user_model, random_state),
        )
        return cls(config, random_)

    def seed(self, seed: Any) -> None:
        """Replace the environment's stream by ``RandomState(seed)`` (not the model's).

        Raises:
            TypeError: If ``seed`` is not an integer.
            ValueError: If ``seed`` is outside ``[0, 2**32)``.
        """
        self.random_ = np.random.RandomState(check_legacy_seed(seed, "seed"))

    def sample_users(self, slots: NDArray[np.intp] | None = None) -> NDArray[np.int64]:
        """Draw the episode's user: one ``randint(0, n_users)``, as an array ``(1,)``.

        ``slots`` is accepted for the :class:`~recgym.core.PopulationCore` interface; the
        legacy population has one slot, which is always drawn for.
        """
        return np.array([self.random_.randint(0, self.config.n_users)], dtype=np.int64)

    def reset(self, user_ids: NDArray[np.int64]) -> NDArray[np.float64]:
        """Start an episode with the given user; returns the observation ``(1, d)``."""
        self.user_ids = np.asarray(user_ids, dtype=np.int64)
        self.states = self.user_features[self.user_ids]
        self.t = 0
        self.auto_reset_user_id = self.auto_reset_observation = None
        self.choices = self.consumed_items = None
        return self.observe()

    def current_states(self) -> NDArray[np.float64]:
        """The true state ``(1, d)``; :class:`~recgym.errors.ResetNeeded` before reset."""
        if self.states is None:
            raise ResetNeeded("the population has no user before `reset`; call `reset` first")
        return self.states

    def current_user_ids(self) -> NDArray[np.int64]:
        """The user's pool id ``(1,)``; :class:`~recgym.errors.ResetNeeded` before reset."""
        if self.user_ids is None:
            raise ResetNeeded("the population has no user before `reset`; call `reset` first")
        return self.user_ids

    def observe(self) -> NDArray[np.float64]:
        """``clip(normal(loc=state, scale=obs_std), -1, 1)``, shape ``(1, d)``."""
        obs = self.random_.normal(loc=self.current_states()[0], scale=self.obs_std)
        return np.clip(obs, -1.0, 1.0)[np.newaxis]

    def step(self, actions: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Reward, then transition, then observe (or, at the end, the hidden reset's draws).

        Args:
            actions: Validated int64 array ``(1,)``.

        Returns:
            tuple: ``(observations (1, d), rewards (1,))``. The last step of an episode
            returns the noiseless ``clip(state, -1, 1)``.
        """
        action = int(actions[0])
        state = self.current_states()[0]
        user = int(self.current_user_ids()[0])
        reward = self._ask_model("reward_function", "reward", state, action, user)
        state = self._ask_model("user_preference_dynamics", "state", state, action, user)
        self.states = np.asarray(state, dtype=np.float64).reshape(1, -1)
        self.choices = np.zeros(1, dtype=np.int64)  # the item shown is consumed
        self.consumed_items = np.array([action], dtype=np.int64)
        self.t += 1
        if self.done:
            # The original's step called reset() here: draw what it drew, return nothing of it.
            self.auto_reset_user_id = int(self.random_.randint(0, self.config.n_users))
            self.auto_reset_observation = np.clip(
                self.random_.normal(
                    loc=self.user_features[self.auto_reset_user_id], scale=self.obs_std
                ),
                -1.0,
                1.0,
            )[np.newaxis]
            obs = np.clip(self.states, -1.0, 1.0)
        else:
            obs = self.observe()
        return obs, np.asarray(reward, dtype=np.float64).reshape(1)

    def _ask_model(
        self, method: str, kind: str, state: NDArray[np.float64], action: int, user: int
    ) -> Any:
        """The user model's single-user ``method`` on ``(state, action)``, checked as ``kind``.

        Called as the original called it (the state itself, the whole item table); the
        output is checked by :func:`~recgym._validation.check_single_output`.
        """
        model = self.user_model
        return check_single_output(
            getattr(model, method)(state, action, item_feature_vector=self.item_features),
            who=f"`{type(model).__name__}.{method}`",
            user=user,
            kind=kind,
            dim=len(state),
        )

    @property
    def done(self) -> bool:
        """Whether ``step_per_episode`` steps have been taken since the last reset."""
        return self.t >= self.step_per_episode

    # --- checkpoints ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything the continuation depends on, as plain data (copies).

        Returns:
            dict: ``{"t", "seeded", "user_ids", "states", "generators",
            "auto_reset_user_id", "auto_reset_observation"}``; generators ``"random_"``
            (the environment's stream) and ``"user_model"``.
        """
        return {
            "t": self.t,
            "seeded": self.seeded,
            "user_ids": _snapshot.copy_plain(self.user_ids),
            "states": _snapshot.copy_plain(self.states),
            "generators": {
                "random_": _snapshot.generator_state(self.random_),
                "user_model": _snapshot.generator_state(getattr(self.user_model, "random_", None)),
            },
            "auto_reset_user_id": self.auto_reset_user_id,
            "auto_reset_observation": _snapshot.copy_plain(self.auto_reset_observation),
        }

    def check_snapshot(self, saved: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a :meth:`snapshot`; change nothing. Returns new, validated objects.

        Raises:
            ValueError: On a malformed or mismatching entry, named in the message.
        """
        checked = _snapshot.check_core_snapshot(saved, 1, self.config, self.dtype)
        checked["generators"] = _snapshot.check_generator_entries(
            saved.get("generators"), ["random_"]
        )
        n_users = self.config.n_users
        auto_id = saved.get("auto_reset_user_id")
        if auto_id is not None and (
            isinstance(auto_id, (bool, np.bool_))
            or not isinstance(auto_id, (int, np.integer))
            or not 0 <= auto_id < n_users
        ):
            raise ValueError(
                "checkpoint entry population['auto_reset_user_id'] must be None or an "
                f"integer in [0, {n_users}), got {auto_id!r}"
            )
        observation = saved.get("auto_reset_observation")
        if observation is not None:
            observation = _snapshot.check_entry_array(
                observation,
                "population['auto_reset_observation']",
                (1, self.config.user_feature_dim),
                np.dtype(np.float64),
            )
        checked["auto_reset_user_id"] = None if auto_id is None else int(auto_id)
        checked["auto_reset_observation"] = observation
        return checked

    def load_snapshot(self, checked: dict[str, Any]) -> None:
        """Apply the result of :meth:`check_snapshot`."""
        _snapshot.load_core_snapshot(self, checked)
        generators = checked["generators"]
        self.random_ = generators["random_"]
        if generators["user_model"] is not None:
            self.user_model.random_ = generators["user_model"]
        self.auto_reset_user_id = checked["auto_reset_user_id"]
        self.auto_reset_observation = checked["auto_reset_observation"]
        self.choices = self.consumed_items = None
