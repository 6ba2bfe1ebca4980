"""The base of every population-level policy: :class:`Policy` and its :class:`Decision`.

Also the two small mixins of the built-in policies: :class:`_UniformMarginal` (each
user gets each item with probability ``1 / n_items``) and :class:`_Deterministic` (one
item per user, with probability 1).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, NamedTuple

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_actions, check_array, check_positive_int
from recgym.errors import ResetNeeded

__all__ = ["Decision", "Policy"]


class Decision(NamedTuple):
    """What a policy recommends to every user in one step.

    Attributes:
        actions: int64 array of shape ``(N,)``: the item recommended to each user.
        propensities: float64 array of shape ``(N,)``: the probability with which the
            policy chose ``actions[i]`` for user ``i`` (1.0 for deterministic choices).
    """

    actions: NDArray[np.int64]
    propensities: NDArray[np.float64]


class Policy(ABC):
    """A recommendation policy acting for a whole population of users at once.

    Subclasses implement :meth:`act` and :meth:`probabilities` (or its hook
    :meth:`_propensities`, which receives checked arguments), and :meth:`update` if they
    learn. Built-in policies are registered in
    :data:`~recgym.population.policies.POLICIES` under their :attr:`name`.

    Attributes:
        name: Short registry name, e.g. ``"greedy"``.
        needs_state: True for oracle policies, which must be given the true user states.
    """

    name: ClassVar[str]
    needs_state: ClassVar[bool] = False

    def __init__(self) -> None:
        self._items: NDArray[np.float64] | None = None
        self._n_users = 0
        self._rng: np.random.Generator | None = None

    @property
    def n_items(self) -> int:
        """Number of items of the bound catalogue (0 before :meth:`reset`)."""
        return 0 if self._items is None else len(self._items)

    @property
    def n_users(self) -> int:
        """Number of users of the bound population (0 before :meth:`reset`)."""
        return self._n_users

    def reset(self, item_features: NDArray[Any], *, n_users: int, rng: np.random.Generator) -> None:
        """Bind the policy to a catalogue and a population and clear any learned state.

        Args:
            item_features: Real array of shape ``(n_items, d)``; copied as float64.
            n_users: Number of users ``N`` of the population.
            rng: The generator of every later random draw of this policy (kept, not copied).

        Raises:
            TypeError: If an argument is of the wrong kind.
            ValueError: If ``item_features`` is empty or not finite, or ``n_users < 1``.
        """
        check_array(item_features, "item_features", (None, None))
        if item_features.size == 0:
            raise ValueError(
                f"`item_features` must have at least one item and one feature, "
                f"got shape {item_features.shape}"
            )
        n_users = check_positive_int(n_users, "n_users")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"`rng` must be a numpy.random.Generator, got {rng!r}")
        self._items = np.array(item_features, dtype=np.float64, order="C")
        self._n_users = n_users
        self._rng = rng
        self._on_reset()

    def _on_reset(self) -> None:  # noqa: B027 (an optional hook: most policies keep no state)
        """Clear learned state and check catalogue-dependent parameters (hook)."""

    @abstractmethod
    def act(self, observations: NDArray[Any], *, states: NDArray[Any] | None = None) -> Decision:
        """Recommend one item to every user.

        Args:
            observations: float32 or float64 array of shape ``(N, d)``, one row per user.
            states: True user states, shape ``(N, d)``; used only by oracle policies
                (:attr:`needs_state`), ignored by the others.

        Returns:
            Decision: int64 actions and float64 propensities, both of shape ``(N,)``.

        Raises:
            recgym.errors.ResetNeeded: If called before :meth:`reset` (a ``ValueError``).
            ValueError: If ``observations`` (or ``states``) has the wrong shape.
        """

    def update(self, actions: NDArray[np.integer[Any]], rewards: NDArray[Any]) -> None:
        """Learn from the rewards of the last step (default: nothing to learn).

        The default checks its arguments and learns nothing, so that wrong feedback fails
        the same way for every policy.

        Args:
            actions: Integer array of shape ``(N,)``: the items shown.
            rewards: Real array of shape ``(N,)``: the users' rewards.

        Raises:
            recgym.errors.ResetNeeded: If called before :meth:`reset`.
            TypeError: If an argument is not an array of the right kind.
            ValueError: On a wrong shape, an item out of range, NaN or inf.
        """
        self._check_feedback(actions, rewards)

    def probabilities(
        self,
        observations: NDArray[Any],
        actions: NDArray[np.integer[Any]],
        *,
        states: NDArray[Any] | None = None,
    ) -> NDArray[np.float64]:
        """Probability that the policy, in its current state, picks ``actions[i]`` for user ``i``.

        Draws no random numbers and does not change the policy; equals the propensities
        :meth:`act` returns for the actions it draws.

        Args:
            observations: Array of shape ``(N, d)``, as for :meth:`act`.
            actions: Integer array of shape ``(N,)`` with values in ``[0, n_items)``.
            states: True user states, shape ``(N, d)`` (oracle policies only).

        Returns:
            numpy.ndarray: float64 probabilities of shape ``(N,)``.

        Raises:
            recgym.errors.ResetNeeded: If called before :meth:`reset`.
            TypeError: If an argument is not an array of the right kind.
            ValueError: On a wrong shape, an item out of range, NaN or inf.
            NotImplementedError: If the policy implements neither this method nor
                :meth:`_propensities`, the hook it calls on checked arguments.
        """
        observations = self._check_observations(observations, "probabilities")
        actions = self._check_actions(actions)
        return self._propensities(observations, actions, states)

    def _propensities(
        self, observations: NDArray[Any], actions: NDArray[np.int64], states: NDArray[Any] | None
    ) -> NDArray[np.float64]:
        """:meth:`probabilities` on checked observations and int64 actions (hook)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement `probabilities`")

    # -- uniformly random choices

    def _uniform_propensities(self) -> NDArray[np.float64]:
        """``1 / n_items`` for every user, float64 ``(N,)``."""
        return np.full(self._n_users, 1.0 / self.n_items)

    def _uniform_decision(self) -> Decision:
        """An independent uniformly random item for every user (draws ``N`` integers)."""
        actions = self._generator.integers(self.n_items, size=self._n_users, dtype=np.int64)
        return Decision(actions, self._uniform_propensities())

    # -- checks shared by subclasses

    def _require_reset(self, method: str) -> None:
        if self._items is None:
            raise ResetNeeded(
                f"{type(self).__name__}.{method}() called before reset(): call "
                f"reset(item_features, n_users=..., rng=...) first"
            )

    def _check_observations(
        self, observations: Any, method: str, name: str = "observations"
    ) -> NDArray[Any]:
        self._require_reset(method)
        return check_array(observations, name, (self._n_users, self._item_table.shape[1]))

    def _check_states(self, states: Any) -> NDArray[Any]:
        if states is None:
            raise ValueError(
                f"`states` must be the true user states for {type(self).__name__} "
                f"(needs_state=True), got None"
            )
        return self._check_observations(states, "act", name="states")

    def _check_actions(self, actions: Any) -> NDArray[np.int64]:
        return check_actions(actions, self._n_users, self.n_items)

    def _check_feedback(
        self, actions: Any, rewards: Any
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        self._require_reset("update")
        actions = self._check_actions(actions)
        rewards = check_array(rewards, "rewards", (self._n_users,))
        return actions, rewards.astype(np.float64, copy=False)

    @property
    def _generator(self) -> np.random.Generator:
        assert self._rng is not None, "reset() binds the generator"
        return self._rng

    @property
    def _item_table(self) -> NDArray[np.float64]:
        assert self._items is not None, "reset() binds the catalogue"
        return self._items


class _UniformMarginal(Policy):
    """A policy under which each user gets each item with probability ``1 / n_items``."""

    def _propensities(
        self, observations: NDArray[Any], actions: NDArray[np.int64], states: NDArray[Any] | None
    ) -> NDArray[np.float64]:
        """``1 / n_items`` for every user (the marginal probability)."""
        return self._uniform_propensities()


class _Deterministic(Policy):
    """A policy that picks one item per user with probability 1, given by :meth:`_choose`."""

    @abstractmethod
    def _choose(self, observations: NDArray[Any], states: NDArray[Any] | None) -> NDArray[Any]:
        """The chosen item of every user, int64 ``(N,)``, on checked observations."""

    def act(self, observations: NDArray[Any], *, states: NDArray[Any] | None = None) -> Decision:
        """See :meth:`Policy.act`: propensity 1 for every user."""
        observations = self._check_observations(observations, "act")
        return Decision(self._choose(observations, states), np.ones(self._n_users))

    def _propensities(
        self, observations: NDArray[Any], actions: NDArray[np.int64], states: NDArray[Any] | None
    ) -> NDArray[np.float64]:
        """1 for the chosen item, 0 otherwise."""
        return (actions == self._choose(observations, states)).astype(np.float64)
