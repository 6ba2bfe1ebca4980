"""The base of every population-level policy: :class:`Policy` and its :class:`Decision`.

Also the two small mixins of the built-in policies: :class:`_UniformMarginal` (each
user gets a uniformly random item, or ordered slate, as its marginal) and
:class:`_Deterministic` (one item or slate per user, with probability 1), and
:class:`_Inputs`, the checked arguments of one call that the built-in policies' hooks
receive.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple, TypeAlias

import numpy as np
from numpy.typing import NDArray

from recgym._validation import (
    check_array,
    check_available,
    check_consumed,
    check_positive_int,
    check_rows,
    check_slate_size,
    check_slates,
)
from recgym.errors import ResetNeeded
from recgym.population.policies.slates import (
    SlateProbabilities,
    _Candidates,
    _epsilon_slate_probabilities,
    _uniform_slate_probabilities,
)
from recgym.user_model import accepts_keyword

__all__ = ["Decision", "Policy", "SlateProbabilities", "UtilityFunction"]

#: The users' true utilities, as a runner hands them to a policy that ``needs_utilities``:
#: ``utilities(items, rows)`` with int64 ``items`` ``(m, c)`` and the users' rows ``(m,)``
#: returns the true utility of each item for its row's user now, ``(m, c)`` floats (what
#: :meth:`recgym.population.PopulationEnv.utilities` computes).
UtilityFunction: TypeAlias = Callable[[NDArray[np.int64], NDArray[np.intp]], NDArray[np.floating]]


class _Inputs(NamedTuple):
    """The checked arguments of one call of a policy, as its built-in hooks receive them.

    Attributes:
        observations: The checked observations ``(N, d)``.
        states: The true user states as given (checked only by the oracles), or None.
        candidates: The items the call may recommend (see :class:`.slates._Candidates`).
        utilities: The true utilities as given (checked only by the policies that need
            them), or None.
    """

    observations: NDArray[Any]
    states: NDArray[Any] | None
    candidates: _Candidates
    utilities: UtilityFunction | None = None


class Decision(NamedTuple):
    """What a policy recommends to every user in one step.

    At slate size 1 a decision is one item per user and its probability, and the two
    slate fields are None. At slate size ``k > 1`` it is an ordered slate of ``k``
    distinct items per user, with the three probabilities of the Open Bandit Pipeline's
    slate estimators (``pscore``, ``pscore_cascade``, ``pscore_item_position``; see
    :class:`SlateProbabilities`).

    Attributes:
        actions: int64 array: at slate size 1 of shape ``(N,)``, the item recommended to
            each user; at ``k > 1`` of shape ``(N, k)``, each user's slate (distinct
            items, position 0 first).
        propensities: float64 array of shape ``(N,)``: the probability with which the
            policy chose ``actions[i]`` for user ``i``, the whole ordered slate at
            ``k > 1`` (1.0 for deterministic choices); NaN, as the cascade ones, from a
            policy whose probabilities have no closed form
            (:attr:`Policy.exact_propensities` False: linear Thompson sampling).
        cascade_propensities: float64 ``(N, k)`` at ``k > 1``, else None: column ``j`` is
            the probability that the first ``j + 1`` positions are ``actions[i, :j + 1]``,
            the running product of ``P(a_j | a_<j)``; the last column equals
            ``propensities``.
        item_position_propensities: float64 ``(N, k)`` at ``k > 1``, else None: the
            marginal probability of item ``actions[i, j]`` at position ``j``; None also
            where the policy has no closed form for it (softmax).
    """

    actions: NDArray[np.int64]
    propensities: NDArray[np.float64]
    cascade_propensities: NDArray[np.float64] | None = None
    item_position_propensities: NDArray[np.float64] | None = None


class Policy(ABC):
    """A recommendation policy acting for a whole population of users at once.

    Subclasses implement :meth:`act` and :meth:`probabilities` (or its hook
    :meth:`_propensities`, which receives checked arguments), and, if they learn, the hook
    :meth:`_learn` of :meth:`update` (or :meth:`update` itself); at slate sizes ``k > 1``
    also the hook :meth:`_slate_probabilities` of :meth:`slate_probabilities`. Creating a
    policy that overrides neither :meth:`act` nor its internal hook :meth:`_decide` is a
    ``TypeError``. Built-in policies are registered in
    :data:`~recgym.population.policies.POLICIES` under their :attr:`name`; they implement
    :meth:`_decide` and :meth:`_exact`, which receive the checked arguments of a call
    (:class:`_Inputs`), instead of :meth:`act` and the probability hooks.

    *Availability.* With a changing catalogue
    (:class:`~recgym.catalogue.CatalogueChange`) only some items can be recommended at a
    step: the step info's ``"available"``, a bool mask ``(n_items,)``. :meth:`act`,
    :meth:`probabilities` and :meth:`slate_probabilities` take it as ``available=``; the
    runners (``simulate``, ``collect_logged_dataset``) pass it to an ``act`` that accepts
    the keyword. Every built-in policy then recommends available items only, and its
    probabilities are exact for the choice among them: the policy acts as it would on the
    catalogue of the available items (``n_available`` in place of ``n_items``, the same
    tie-breaking by lowest index), and an unavailable item has probability 0.
    ``available=None``, and a mask with every item available, change nothing, bit for
    bit. A subclass's :meth:`_propensities` or :meth:`_slate_probabilities` that takes an
    ``available`` keyword gets the checked mask there when some item is unavailable; a
    hook without it serves only calls with every item available.

    *True utilities.* A policy with :attr:`needs_utilities` (the ideal recommender) must be
    given the users' true utilities as ``utilities=``, a :data:`UtilityFunction`: the
    runners pass :meth:`~recgym.population.PopulationEnv.utilities`; called without them,
    :meth:`act` and the probabilities raise ``ValueError``. Like the true states of the
    oracles, they are never part of a logged dataset, so off-policy evaluation refuses such
    a policy.

    *Users who change.* Row ``i`` is always the user in slot ``i``. When a runner puts a
    new user into some slots (a vector environment's autoreset), it calls :meth:`forget`
    with those rows, and a policy that learns per user drops what it learned about their
    predecessors. In a :class:`~recgym.population.PopulationEnv` a slot always holds the
    same user: one who leaves and returns (churn) is the same person, and the learners keep
    what they learned; an absent user consumes nothing (``consumed = -1``), so nothing is
    learned about them meanwhile.

    Args:
        slate_size: Items recommended to each user per step, ``k >= 1``; at most the
            number of items (checked at :meth:`reset`).

    Attributes:
        name: Short registry name, e.g. ``"greedy"``.
        needs_state: True for oracle policies, which must be given the true user states.
        needs_utilities: True for policies that must be given the users' true utilities
            (``utilities=``, see above).
        slate_size: Items per user and step, ``k``.
    """

    name: ClassVar[str]
    needs_state: ClassVar[bool] = False
    needs_utilities: ClassVar[bool] = False

    def __new__(cls, *args: Any, **kwargs: Any) -> Policy:
        """Refuse to create a policy that has no way to act."""
        if cls.act is Policy.act and cls._decide is Policy._decide:
            raise TypeError(
                f"Can't instantiate policy {cls.__name__}: it must implement `act` (see Policy.act)"
            )
        return super().__new__(cls)

    def __init__(self, *, slate_size: int = 1) -> None:
        self.slate_size = check_slate_size(slate_size)
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
            ValueError: If ``item_features`` is empty or not finite, ``n_users < 1``, or
                :attr:`slate_size` exceeds the number of items.
        """
        check_array(item_features, "item_features", (None, None))
        if item_features.size == 0:
            raise ValueError(
                f"`item_features` must have at least one item and one feature, "
                f"got shape {item_features.shape}"
            )
        check_slate_size(self.slate_size, len(item_features))
        n_users = check_positive_int(n_users, "n_users")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"`rng` must be a numpy.random.Generator, got {rng!r}")
        self._items = np.array(item_features, dtype=np.float64, order="C")
        self._n_users = n_users
        self._rng = rng
        self._on_reset()

    def _on_reset(self) -> None:  # noqa: B027 (an optional hook: most policies keep no state)
        """Clear learned state and check catalogue-dependent parameters (hook)."""

    @property
    def exact_propensities(self) -> bool:
        """Whether the propensities :meth:`act` returns are exact probabilities.

        True for every built-in policy but linear Thompson sampling with a positive
        ``scale``, whose probabilities have no closed form: its propensities are NaN and
        its :meth:`probabilities` raise (a logged dataset cannot be collected with it).
        """
        return True

    def act(
        self,
        observations: NDArray[Any],
        *,
        states: NDArray[Any] | None = None,
        utilities: UtilityFunction | None = None,
        available: NDArray[np.bool_] | None = None,
    ) -> Decision:
        """Recommend one item (a slate of :attr:`slate_size` items) to every user.

        Args:
            observations: float32 or float64 array of shape ``(N, d)``, one row per user.
            states: True user states, shape ``(N, d)``; used only by oracle policies
                (:attr:`needs_state`), ignored by the others.
            utilities: The users' true utilities (a :data:`UtilityFunction`); used only by
                the policies that need them (:attr:`needs_utilities`), ignored by the
                others.
            available: bool ``(n_items,)``, True for the items that may be recommended (a
                step info's ``"available"``), at least :attr:`slate_size` of them; None
                (default): every item. Every recommended item is available, and the
                propensities are those of the choice among the available items.

        Returns:
            Decision: int64 actions ``(N,)`` (slates ``(N, k)`` at ``k > 1``) and float64
            propensities ``(N,)``; at ``k > 1`` also the cascade and item-position
            propensities ``(N, k)``, equal bit for bit to :meth:`slate_probabilities` of
            the actions drawn.

        Raises:
            recgym.errors.ResetNeeded: If called before :meth:`reset` (a ``ValueError``).
            TypeError: If ``available`` is not None or a bool array.
            ValueError: If ``observations`` (or ``states``) has the wrong shape, or
                ``available`` has the wrong shape or fewer than :attr:`slate_size` items;
                if a policy that needs the states or the utilities is not given them.
        """
        observations = self._check_observations(observations, "act")
        return self._decide(
            _Inputs(observations, states, self._candidates(available), utilities)
        )

    def _decide(self, inputs: _Inputs) -> Decision:
        """:meth:`act` on checked arguments: the hook of the built-in policies.

        A policy of your own overrides :meth:`act` instead.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement `act`")

    def update(
        self,
        actions: NDArray[np.integer[Any]],
        rewards: NDArray[Any],
        *,
        consumed: NDArray[np.integer[Any]] | None = None,
    ) -> None:
        """Learn from the rewards of the last step.

        Checks its arguments, then calls the hook :meth:`_learn` (by default nothing to
        learn), so that wrong feedback fails the same way for every policy. Learning
        policies learn from the consumed items only.

        Args:
            actions: Integer array: the items shown, ``(N,)``, or the slates ``(N, k)``.
            rewards: Real array of shape ``(N,)``: the users' rewards (0 for a user who
                consumed nothing).
            consumed: Integer array of shape ``(N,)``: the item each user consumed, -1 for
                none (an environment step's ``info["item"]``); each must be in the user's
                slate. Required at ``k > 1``; at slate size 1 it defaults to ``actions``
                (every user consumed what it was shown).

        Raises:
            recgym.errors.ResetNeeded: If called before :meth:`reset`.
            TypeError: If an argument is not an array of the right kind.
            ValueError: On a wrong shape, an item out of range or not in its slate, NaN
                or inf, or a missing ``consumed`` at ``k > 1``.
        """
        self._require_reset("update")
        actions = self._check_actions(actions)
        rewards = check_array(rewards, "rewards", (self._n_users,))
        consumed = check_consumed(consumed, actions, self.n_items)
        self._learn(rewards.astype(np.float64, copy=False), consumed)

    def _act_on_environment(
        self, observations: NDArray[Any], states: NDArray[Any] | None, **extra: Any
    ) -> Decision:
        """:meth:`act` on an environment's own outputs, which need no checking (the runners).

        ``extra`` holds the ``utilities`` and ``available`` keywords the runner gives. A
        policy that overrides :meth:`act` gets its own :meth:`act`, with every check.
        """
        if type(self).act is not Policy.act:
            return self.act(observations, states=states, **extra)
        self._require_reset("act")
        candidates = self._candidates(extra.get("available"))
        return self._decide(_Inputs(observations, states, candidates, extra.get("utilities")))

    def _update_on_environment(
        self,
        actions: NDArray[np.int64],
        rewards: NDArray[np.floating],
        consumed: NDArray[np.int64] | None,
    ) -> None:
        """:meth:`update` with a step's checked actions and the environment's rewards and items.

        A policy that overrides :meth:`update` gets its own :meth:`update`, with every check.
        """
        if type(self).update is not Policy.update:
            self.update(actions, rewards, consumed=consumed)
            return
        self._require_reset("update")
        self._learn(
            rewards.astype(np.float64, copy=False), actions if consumed is None else consumed
        )

    def forget(self, rows: NDArray[np.integer[Any]]) -> None:
        """Drop what the policy learned about the users in ``rows``: new users took their slots.

        A runner calls it when a slot's user changes (a step info's ``"user_id"`` differs
        from the step before, as after a vector environment's autoreset). Policies that
        learn per user (linear bandits, the factorisation's user factors, the
        neighbourhood's histories, ``exclude_consumed`` memories) restart those users as
        after :meth:`reset`; what they learned from everyone (item factors, similarities,
        popularity counts) stays. Policies without per-user state ignore it.

        Args:
            rows: Integer array ``(m,)`` of distinct rows in ``[0, N)``.

        Raises:
            recgym.errors.ResetNeeded: If called before :meth:`reset`.
            TypeError: If ``rows`` is not an integer array.
            ValueError: If ``rows`` is not 1-D, holds a row out of range or a repeat.
        """
        self._require_reset("forget")
        self._forget(check_rows(rows, self._n_users))

    def _forget(self, rows: NDArray[np.int64]) -> None:  # noqa: B027 (optional hook)
        """:meth:`forget` on checked rows (hook): int64 ``(m,)``, distinct, in ``[0, N)``."""

    def _learn(  # noqa: B027 (an optional hook: most policies learn nothing)
        self, rewards: NDArray[np.float64], consumed: NDArray[np.int64]
    ) -> None:
        """:meth:`update` on checked feedback (hook).

        Args:
            rewards: float64 ``(N,)``.
            consumed: int64 ``(N,)``: each user's consumed item, -1 for none; at slate
                size 1 without ``consumed``, the actions themselves (not a copy).
        """

    def probabilities(
        self,
        observations: NDArray[Any],
        actions: NDArray[np.integer[Any]],
        *,
        states: NDArray[Any] | None = None,
        utilities: UtilityFunction | None = None,
        available: NDArray[np.bool_] | None = None,
    ) -> NDArray[np.float64]:
        """Probability that the policy, in its current state, picks ``actions[i]`` for user ``i``.

        Draws no random numbers and does not change the policy; equals the propensities
        :meth:`act` returns for the actions it draws. At ``k > 1`` it is the joint
        probability of each whole ordered slate (``slate_probabilities(...).propensities``).

        Args:
            observations: Array of shape ``(N, d)``, as for :meth:`act`.
            actions: Integer array of shape ``(N,)`` with values in ``[0, n_items)``; at
                ``k > 1`` slates ``(N, k)`` of distinct items.
            states: True user states, shape ``(N, d)`` (oracle policies only).
            utilities: The users' true utilities (:attr:`needs_utilities` policies only).
            available: bool ``(n_items,)`` availability, as for :meth:`act`; an action
                showing an unavailable item has probability 0.

        Returns:
            numpy.ndarray: float64 probabilities of shape ``(N,)``.

        Raises:
            recgym.errors.ResetNeeded: If called before :meth:`reset`.
            TypeError: If an argument is not an array of the right kind, or a mask with an
                unavailable item is given to a policy whose hook takes no ``available``.
            ValueError: On a wrong shape, an item out of range or repeated in a slate, NaN
                or inf, or fewer than :attr:`slate_size` available items; if a policy
                that needs the states or the utilities is not given them.
            NotImplementedError: If the policy implements neither this method nor
                :meth:`_propensities`, the hook it calls on checked arguments (nor
                :meth:`_slate_probabilities` at ``k > 1``), or its probabilities have no
                closed form (:attr:`exact_propensities` False).
        """
        return self._hook_probabilities(
            observations, actions, states, utilities, available, "probabilities"
        ).propensities

    def slate_probabilities(
        self,
        observations: NDArray[Any],
        actions: NDArray[np.integer[Any]],
        *,
        states: NDArray[Any] | None = None,
        utilities: UtilityFunction | None = None,
        available: NDArray[np.bool_] | None = None,
    ) -> SlateProbabilities:
        """The joint, cascade and item-position probabilities of given slates.

        Draws no random numbers and does not change the policy; for the slates :meth:`act`
        draws, the three equal the :class:`Decision`'s bit for bit. At slate size 1 the
        joint is :meth:`probabilities` and the other two are None, as in a
        :class:`Decision`.

        Args:
            observations: Array of shape ``(N, d)``, as for :meth:`act`.
            actions: Integer slates ``(N, k)`` of distinct items in ``[0, n_items)``
                (single items ``(N,)`` at slate size 1).
            states: True user states, shape ``(N, d)`` (oracle policies only).
            utilities: The users' true utilities (:attr:`needs_utilities` policies only).
            available: bool ``(n_items,)`` availability, as for :meth:`act`; a slate is 0
                from its first unavailable item on (joint and cascade), an item-position
                marginal of an unavailable item is 0.

        Returns:
            SlateProbabilities: float64 joint ``(N,)``; cascade ``(N, k)``;
            item-position ``(N, k)``, or None where the policy has no closed form.

        Raises:
            recgym.errors.ResetNeeded: If called before :meth:`reset`.
            TypeError: On an argument of the wrong kind, or some unavailable item for a
                policy of your own whose hook takes no ``available``.
            ValueError: As for :meth:`probabilities`.
            NotImplementedError: If the policy does not implement the hook it calls on
                checked arguments (:meth:`_propensities` at ``k = 1``,
                :meth:`_slate_probabilities` at ``k > 1``), or its probabilities have no
                closed form (:attr:`exact_propensities` False).
        """
        return self._hook_probabilities(
            observations, actions, states, utilities, available, "slate_probabilities"
        )

    def _hook_probabilities(
        self,
        observations: Any,
        actions: Any,
        states: NDArray[Any] | None,
        utilities: UtilityFunction | None,
        available: Any,
        method: str,
    ) -> SlateProbabilities:
        """Check the arguments of ``method``, then call :meth:`_exact`."""
        observations = self._check_observations(observations, method)
        actions = self._check_actions(actions)
        inputs = _Inputs(observations, states, self._candidates(available), utilities)
        return self._exact(inputs, actions)

    def _exact(self, inputs: _Inputs, actions: NDArray[np.int64]) -> SlateProbabilities:
        """The probabilities of checked actions: the hook of the built-in policies.

        Returns the three of :meth:`slate_probabilities` (the joint alone at slate size
        1). By default it calls the hook of a policy of your own for the slate size,
        :meth:`_propensities` or :meth:`_slate_probabilities`, giving it the mask as
        ``available=`` when some item is unavailable.

        Raises:
            TypeError: If some item is unavailable and the hook takes no ``available``.
        """
        hook = "_propensities" if self.slate_size == 1 else "_slate_probabilities"
        extra: dict[str, Any] = {}
        mask = inputs.candidates.mask
        if mask is not None and getattr(type(self), hook) is not getattr(Policy, hook):
            if not accepts_keyword(type(self), hook, "available"):
                raise TypeError(
                    f"{type(self).__name__}.{hook} takes no `available`, so its "
                    "probabilities cannot be restricted to the available items: add an "
                    f"`available=None` keyword to the hook (see Policy.{hook})"
                )
            extra["available"] = mask
        observations, states = inputs.observations, inputs.states
        if self.slate_size == 1:
            return SlateProbabilities(
                self._propensities(observations, actions, states, **extra), None, None
            )
        return self._slate_probabilities(observations, actions, states, **extra)

    def _propensities(
        self, observations: NDArray[Any], actions: NDArray[np.int64], states: NDArray[Any] | None
    ) -> NDArray[np.float64]:
        """:meth:`probabilities` at slate size 1, on checked observations and actions (hook).

        An override may take an ``available`` keyword: the checked mask, given only when
        some item is unavailable.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement `probabilities`")

    def _slate_probabilities(
        self, observations: NDArray[Any], slates: NDArray[np.int64], states: NDArray[Any] | None
    ) -> SlateProbabilities:
        """:meth:`slate_probabilities` at ``k > 1``, on checked observations and slates (hook).

        An override may take an ``available`` keyword, as for :meth:`_propensities`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement `slate_probabilities` "
            f"(slate_size={self.slate_size})"
        )

    # -- uniformly random choices

    def _uniform_probabilities(
        self, candidates: _Candidates, actions: NDArray[np.int64] | None = None
    ) -> SlateProbabilities:
        """The probabilities of items (slates) drawn uniformly among the ``n`` candidates.

        ``1 / n`` at slate size 1; at ``k > 1`` joint ``(n − k)! / n!``, cascade
        ``Π_{l ≤ j} 1 / (n − l)``, item-position ``1 / n`` (see :mod:`.slates`). With
        ``actions``, 0 where they show an item that is not a candidate.
        """
        if self.slate_size == 1:
            probabilities = SlateProbabilities(
                np.full(self._n_users, 1.0 / candidates.n), None, None
            )
        else:
            probabilities = _uniform_slate_probabilities(
                self._n_users, self.slate_size, candidates.n
            )
        return probabilities if actions is None else candidates.restrict(probabilities, actions)

    def _uniform_decision(self, candidates: _Candidates) -> Decision:
        """An independent uniformly random item, or ordered slate, of candidates for every user.

        Draws ``N`` integers at slate size 1, ``N · k`` at ``k > 1`` (ranks among the
        candidates).
        """
        actions = candidates.uniform_slates(self._generator, self._n_users, self.slate_size)
        return Decision(actions, *self._uniform_probabilities(candidates))

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

    def _check_utilities(self, utilities: Any) -> UtilityFunction:
        if not callable(utilities):
            raise ValueError(
                f"`utilities` must be the users' true utilities for {type(self).__name__} "
                "(needs_utilities=True), a function utilities(items, rows) such as "
                f"PopulationEnv.utilities, got {utilities!r}"
            )
        return utilities

    def _check_actions(self, actions: Any) -> NDArray[np.int64]:
        return check_slates(actions, self._n_users, self.slate_size, self.n_items)

    def _check_available(self, available: Any) -> NDArray[np.bool_] | None:
        """The checked availability mask; None when it is None or every item is available."""
        mask = check_available(available, self.n_items, self.slate_size)
        return None if mask is None or mask.all() else mask

    def _candidates(self, available: Any) -> _Candidates:
        """The candidate items of one :meth:`act` call, from its unchecked ``available``."""
        return _Candidates.of(self._check_available(available), self.n_items)

    @property
    def _generator(self) -> np.random.Generator:
        assert self._rng is not None, "reset() binds the generator"
        return self._rng

    @property
    def _item_table(self) -> NDArray[np.float64]:
        assert self._items is not None, "reset() binds the catalogue"
        return self._items


class _UniformMarginal(Policy):
    """A policy under which each user's marginal is uniform: any item (ordered slate) alike.

    Probabilities: ``1 / n_items`` at slate size 1; at ``k > 1`` joint
    ``(n − k)! / n!``, cascade ``Π_{l ≤ j} 1 / (n − l)``, item-position ``1 / n``. With
    some items unavailable, ``n`` is the number of available items and the probability of
    an unavailable item is 0.
    """

    def _exact(self, inputs: _Inputs, actions: NDArray[np.int64]) -> SlateProbabilities:
        return self._uniform_probabilities(inputs.candidates, actions)


class _Deterministic(Policy):
    """A policy that picks one item (slate) per user with probability 1, given by :meth:`_choose`.

    The probability of given slates is 1 where they are the chosen ones, 0 elsewhere:
    cascade ``1[a_≤j = c_≤j]``, item-position ``1[a_j = c_j]``. The chosen items are always
    available, so an unavailable item has probability 0.
    """

    @abstractmethod
    def _choose(self, inputs: _Inputs) -> NDArray[np.int64]:
        """The chosen item of every user, int64 ``(N,)`` (slates ``(N, k)``), all candidates."""

    def _decide(self, inputs: _Inputs) -> Decision:
        """Propensity 1 for every user."""
        chosen = self._choose(inputs)
        if self.slate_size == 1:
            return Decision(chosen, np.ones(self._n_users))
        # What _exact gives for the chosen slates: 1.0 exactly, everywhere.
        ones = np.ones(chosen.shape)
        return Decision(chosen, np.ones(self._n_users), ones, ones.copy())

    def _exact(self, inputs: _Inputs, actions: NDArray[np.int64]) -> SlateProbabilities:
        """1 for the chosen items, 0 otherwise."""
        chosen = self._choose(inputs)
        if self.slate_size == 1:
            return SlateProbabilities((actions == chosen).astype(np.float64), None, None)
        return _epsilon_slate_probabilities(chosen, actions, 0.0, self.n_items)
