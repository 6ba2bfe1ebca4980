"""The one rollout loop, shared by ``simulate``, the dataset collector and ``ope``.

:func:`~recgym.population.simulate`, :func:`~recgym.population.collect_logged_dataset`
and the on-policy values of :mod:`~recgym.population.ope` all run it.
:class:`Rollout` runs a policy on every user of a
:class:`~recgym.population.PopulationEnv` at once, through the array API: episodes of
batched steps (``act`` → ``step_batch`` → ``update``), each :class:`Episode` giving its
reset's observations and info, then one :class:`Step` of per-user arrays per step.
:class:`Actor` puts a :class:`~recgym.population.policies.Policy`, a registered policy
name or a callable behind one ``act``/``update`` interface and checks what it returns.

The random streams of a run are children of its ``seed`` tagged here once:
:data:`POLICY_STREAM` for the policy's generator (so the first episode of
``collect_logged_dataset(env, policy, n, seed=s)`` is exactly
``simulate(env, policy, seed=s)``) and :data:`SAMPLE_STREAM` for the user sample of the
metrics that sample users (``jaccard_nn``); both are distinct from the environment's
spawned children.

Example:
    >>> from recgym.population import PopulationEnv
    >>> from recgym.population.rollout import Rollout
    >>> env = PopulationEnv(n_users=4, n_items=3, step_per_episode=2, random_state=0)
    >>> run = Rollout(env, "random", task="example", trajectories=8, seed=1)
    >>> [(episode.index, [step.t for step in episode]) for episode in run]
    [(0, [0, 1]), (1, [0, 1])]
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, TypeAlias

import numpy as np
from numpy.typing import NDArray

from recgym._progress import Progress
from recgym._validation import check_positive_int
from recgym.population.env import PopulationEnv
from recgym.population.policies import Decision, Policy, make_policy
from recgym.user_model import accepts_keyword

__all__ = [
    "POLICY_STREAM",
    "SAMPLE_STREAM",
    "Actor",
    "BehaviorCallable",
    "Episode",
    "PolicyLike",
    "Rollout",
    "Step",
    "check_env",
    "check_progress",
    "horizon",
    "stream_rng",
]

#: Tag of the policy's random stream (a child of the run's seed).
POLICY_STREAM = 0x706F6C
#: Tag of the stream of the user sample of the metrics that sample users.
SAMPLE_STREAM = 0x6A6163

#: A behaviour policy given as a function: observations ``(n, d)`` → ``(actions (n,)
#: int, propensities (n,) float)``; a :class:`~recgym.population.policies.Decision` works
#: (at slate size ``k > 1``, with slates ``(n, k)``, its cascade and item-position
#: propensities are kept).
BehaviorCallable: TypeAlias = Callable[
    [NDArray[Any]], tuple[NDArray[np.integer[Any]], NDArray[np.floating]]
]

#: What a rollout accepts as its policy.
PolicyLike: TypeAlias = Policy | str | BehaviorCallable


def stream_rng(seed: int | None, tag: int) -> np.random.Generator:
    """The generator of the run's random stream ``tag`` (``POLICY_STREAM``, …) for ``seed``.

    Args:
        seed: The run's seed; None: fresh entropy.
        tag: The stream's tag, the spawn key of the child of ``seed``.

    Returns:
        numpy.random.Generator: ``default_rng(SeedSequence(seed, spawn_key=(tag,)))``.
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(tag,)))


def horizon(env: PopulationEnv) -> int:
    """Steps per episode: the episode length, or ``max_cycles`` if shorter."""
    if env.max_cycles is None:
        return env.step_per_episode
    return min(env.step_per_episode, env.max_cycles)


def check_env(env: Any) -> PopulationEnv:
    """``env`` if it is a :class:`~recgym.population.PopulationEnv`, else a ``TypeError``."""
    if not isinstance(env, PopulationEnv):
        raise TypeError(
            f"`env` must be a recgym.population.PopulationEnv, got {type(env).__name__}"
        )
    return env


def check_progress(progress: Any, work: int) -> bool:
    """Resolve ``progress``: None means on for large runs (≥ 10⁷ user-steps) on a terminal.

    Args:
        progress: True, False or None.
        work: The run's user-steps.

    Returns:
        bool: Whether to show a progress bar.

    Raises:
        TypeError: If ``progress`` is not a bool or None.
    """
    if progress is None:
        return sys.stderr.isatty() and work >= 10**7
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"`progress` must be a bool or None, got {progress!r}")
    return bool(progress)


# --------------------------------------------------------------------------------- actor


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype}"
    return type(value).__name__


class Actor:
    """A Policy, registered policy name or callable behind one ``act``/``update`` interface.

    Args:
        policy: The policy; a Policy instance is reset (bound to the environment's items
            and population, with the generator ``rng``).
        env: The population it acts on.
        rng: The generator of the policy's random draws.
        chunk_size: For callables, the largest number of rows of one call (None: all).
        argument: The argument name used in error messages.

    Attributes:
        name: The policy's ``name``, or the callable's ``__name__``.

    Raises:
        TypeError: If ``policy`` is none of these.
        ValueError: If ``chunk_size`` is given with a Policy, or is not positive.
    """

    def __init__(
        self,
        policy: PolicyLike,
        env: PopulationEnv,
        rng: np.random.Generator,
        chunk_size: int | None = None,
        argument: str = "policy",
    ):
        if isinstance(policy, str):
            policy = make_policy(policy)
        if isinstance(policy, type) or not (isinstance(policy, Policy) or callable(policy)):
            raise TypeError(
                f"`{argument}` must be a recgym Policy instance, a registered policy name or "
                f"a callable observations -> (actions, propensities), got {policy!r}"
            )
        self.n, self.n_items = env.n_users, env.n_items
        self.slate_size = env.config.slate_size
        self.argument = argument
        if isinstance(policy, Policy):
            if policy.slate_size != self.slate_size:
                raise ValueError(
                    f"`{argument}` ({policy.name}) recommends slates of {policy.slate_size} "
                    f"items, but the environment shows slate_size={self.slate_size}; build "
                    f"the policy with slate_size={self.slate_size}"
                )
            if chunk_size is not None:
                raise ValueError(
                    f"`chunk_size` applies to callable policies only; a Policy scores users "
                    f"in chunks itself (see its `max_chunk_bytes`), got chunk_size={chunk_size!r}"
                )
            policy.reset(env.item_features, n_users=self.n, rng=rng)
            self.policy: Policy | None = policy
            self.utilities = env.utilities if policy.needs_utilities else None
            self.takes_available = accepts_keyword(type(policy), "act", "available")
            self.function: BehaviorCallable | None = None
            self.name = policy.name
            self.chunk_size = self.n
        else:
            self.policy, self.function = None, policy
            self.takes_available = False
            self.utilities = None
            self.name = getattr(policy, "__name__", None) or type(policy).__name__
            self.chunk_size = (
                self.n if chunk_size is None else check_positive_int(chunk_size, "chunk_size")
            )

    def act(
        self,
        observations: NDArray[np.floating],
        states: NDArray[np.floating],
        available: NDArray[np.bool_] | None = None,
    ) -> Decision:
        """The policy's decision for every user, checked.

        Args:
            observations: ``(n_users, dim)`` what the policy sees.
            states: ``(n_users, dim)`` the true preferences (a read-only snapshot), given
                to a Policy that ``needs_state``. A Policy that ``needs_utilities`` is given
                the environment's :meth:`~recgym.population.PopulationEnv.utilities`.
            available: The items available now (a changing catalogue), bool
                ``(n_items,)``, given to a Policy whose ``act`` takes ``available``.

        Returns:
            Decision: int64 actions ``(n_users,)`` (slates ``(n_users, k)``) and float64
            propensities ``(n_users,)``, with the slate propensities when the policy
            gives them.

        Raises:
            TypeError: If the policy returns arrays of the wrong type.
            ValueError: If it returns actions out of range, slates that repeat an item,
                or propensities outside ``(0, 1]`` (slate propensities of a callable
                included); NaN propensities are accepted from a Policy whose
                ``exact_propensities`` is False (they have no closed form).
        """
        if self.policy is not None:
            extra: dict[str, Any] = {}
            if available is not None and self.takes_available:
                extra["available"] = available
            if self.utilities is not None:
                extra["utilities"] = self.utilities
            decision = self.policy._act_on_environment(
                observations, states if self.policy.needs_state else None, **extra
            )
            actions, propensities = self._check(decision.actions, decision.propensities, self.n)
            return Decision(
                actions,
                propensities,
                decision.cascade_propensities,
                decision.item_position_propensities,
            )
        if self.chunk_size >= self.n:
            return self._call(observations, self.n)
        k = self.slate_size
        actions = np.empty((self.n,) if k == 1 else (self.n, k), dtype=np.int64)
        propensities = np.empty(self.n, dtype=np.float64)
        extras: list[list[NDArray[np.float64] | None]] = [[], []]
        for start in range(0, self.n, self.chunk_size):
            stop = min(start + self.chunk_size, self.n)
            part = self._call(observations[start:stop], stop - start)
            actions[start:stop], propensities[start:stop] = part.actions, part.propensities
            extras[0].append(part.cascade_propensities)
            extras[1].append(part.item_position_propensities)
        cascade, item_position = (self._join(parts) for parts in extras)
        return Decision(actions, propensities, cascade, item_position)

    def update(
        self,
        actions: NDArray[np.int64],
        rewards: NDArray[np.floating],
        consumed: NDArray[np.int64] | None = None,
    ) -> None:
        """Let a learning Policy see the step's rewards (callables learn nothing here).

        Args:
            actions: What was shown, as :meth:`act` returned it.
            rewards: ``(n_users,)``.
            consumed: The item each user consumed, −1 for none (the step info's
                ``"item"``); needed with slates.
        """
        if self.policy is not None:
            self.policy._update_on_environment(actions, rewards, consumed)

    def forget(self, rows: NDArray[np.intp]) -> None:
        """New users took the slots ``rows``: a Policy forgets their predecessors."""
        if self.policy is not None:
            self.policy.forget(rows)

    def _call(self, observations: NDArray[np.floating], n: int) -> Decision:
        """The callable's checked decision for ``n`` rows of observations.

        At ``k > 1`` a callable may return a :class:`Decision` (or a longer tuple) whose
        third and fourth entries are the cascade and item-position propensities
        ``(n, k)``; they are checked (floats in ``(0, 1]``) and kept, None if absent.
        """
        assert self.function is not None
        result = self.function(observations)
        if not isinstance(result, tuple) or len(result) < 2:
            raise TypeError(
                f"`{self.argument}` must return a pair (actions, propensities) or a "
                f"Decision, got {type(result).__name__}"
            )
        actions, propensities = self._check(result[0], result[1], n)
        if self.slate_size == 1:
            return Decision(actions, propensities)
        cascade, item_position = (
            self._check_slate_propensities(result[index] if len(result) > index else None, n)
            for index in (2, 3)
        )
        return Decision(actions, propensities, cascade, item_position)

    def _check_slate_propensities(self, value: Any, n: int) -> NDArray[np.float64] | None:
        """None, or ``value`` checked as float propensities ``(n, k)`` in ``(0, 1]``."""
        if value is None:
            return None
        shape = (n, self.slate_size)
        who = f"`{self.argument}` ({self.name})"
        if (
            not isinstance(value, np.ndarray)
            or value.dtype == np.bool_
            or not np.issubdtype(value.dtype, np.number)
        ):
            raise TypeError(
                f"{who} must return slate propensities as a numpy float array of shape "
                f"{shape} or None, got {_describe(value)}"
            )
        if value.shape != shape:
            raise ValueError(
                f"{who} must return slate propensities of shape {shape}, got {value.shape}"
            )
        invalid = ~((value > 0) & (value <= 1))
        if invalid.any():
            raise ValueError(
                f"{who} returned slate propensities outside (0, 1]: {value[invalid][:5].tolist()}"
            )
        return value.astype(np.float64, copy=False)

    def _join(self, parts: list[NDArray[np.float64] | None]) -> NDArray[np.float64] | None:
        """The chunks' slate propensities stacked, None if no chunk gave them."""
        given = [part for part in parts if part is not None]
        if not given:
            return None
        if len(given) < len(parts):
            raise ValueError(
                f"`{self.argument}` ({self.name}) returned slate propensities for some "
                "chunks of users only"
            )
        return np.concatenate(given)

    def _check_kind(self, value: Any, kind: type[Any], what: str, n: int) -> None:
        """Raise unless ``value`` is a numpy array of ``kind`` (never bool)."""
        if (
            not isinstance(value, np.ndarray)
            or value.dtype == np.bool_
            or not np.issubdtype(value.dtype, kind)
        ):
            raise TypeError(
                f"`{self.argument}` ({self.name}) must return {what} array of shape ({n},), "
                f"got {_describe(value)}"
            )

    def _check(
        self, actions: Any, propensities: Any, n: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        who = f"`{self.argument}` ({self.name})"
        k = self.slate_size
        shape = (n,) if k == 1 else (n, k)
        self._check_kind(actions, np.integer, "actions as a numpy integer", n)
        self._check_kind(propensities, np.number, "propensities as a numpy float", n)
        if actions.shape != shape or propensities.shape != (n,):
            expected = (
                f"actions and propensities of shape ({n},)"
                if k == 1
                else f"actions of shape {shape} (slates) and propensities of shape ({n},)"
            )
            raise ValueError(
                f"{who} must return {expected}, got {actions.shape} and {propensities.shape}"
            )
        if n and (actions.min() < 0 or actions.max() >= self.n_items):
            bad = actions[(actions < 0) | (actions >= self.n_items)]
            raise ValueError(
                f"{who} returned actions outside [0, {self.n_items}): {bad[:5].tolist()}"
            )
        if k > 1 and n:
            ordered = np.sort(actions, axis=1)
            repeats = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
            if repeats.size:
                raise ValueError(
                    f"{who} returned a slate that repeats an item for user {repeats[0]}: "
                    f"{actions[repeats[0]].tolist()}"
                )
        # `not (0 < p <= 1)` also catches NaN, which only a policy without closed-form
        # propensities may return (as its honest "unknown").
        invalid = ~((propensities > 0) & (propensities <= 1))
        if self.policy is not None and not self.policy.exact_propensities:
            invalid &= ~np.isnan(propensities)
        if invalid.any():
            raise ValueError(
                f"{who} returned propensities outside (0, 1]: "
                f"{propensities[invalid][:5].tolist()} (the probability of a chosen action "
                "must be positive)"
            )
        return actions.astype(np.int64, copy=False), propensities.astype(np.float64, copy=False)


# ------------------------------------------------------------------------------- rollout


class Step(NamedTuple):
    """One batched step of a rollout: per-user arrays, users in the environment's order.

    Attributes:
        episode: The episode's index (0-based).
        t: The step's index within its episode (0-based).
        observations: ``(n_users, dim)`` what the policy acted on.
        actions: int64 ``(n_users,)`` the recommended items, or ``(n_users, k)`` slates.
        propensities: float64 ``(n_users,)`` the probability of each action (of the
            whole ordered slate).
        rewards: ``(n_users,)`` float64 (float32 in a float32 environment).
        next_observations: ``(n_users, dim)`` the observations after the step.
        terminations: bool ``(n_users,)``.
        truncations: bool ``(n_users,)``.
        info: ``step_batch``'s info: ``"user_id"`` ``(n_users,)`` and ``"state"``
            ``(n_users, dim)``, the true preferences after the step (a read-only
            snapshot, never written again), and the rest of the step's info.
        cascade_propensities: With slates, float64 ``(n_users, k)``: the probability of
            each slate's first ``j + 1`` items (None at ``k = 1``).
        item_position_propensities: With slates, float64 ``(n_users, k)``: the marginal
            probability of each item at its position, where the policy gives it.
    """

    episode: int
    t: int
    observations: NDArray[np.floating]
    actions: NDArray[np.int64]
    propensities: NDArray[np.float64]
    rewards: NDArray[np.floating]
    next_observations: NDArray[np.floating]
    terminations: NDArray[np.bool_]
    truncations: NDArray[np.bool_]
    info: dict[str, NDArray[Any]]
    cascade_propensities: NDArray[np.float64] | None = None
    item_position_propensities: NDArray[np.float64] | None = None


class Episode:
    """One episode of a :class:`Rollout`: its reset, then its steps when iterated.

    Attributes:
        index: The episode's index (0-based).
        first: Index of the trajectory of user 0 in this episode (``index · n_users``).
        size: How many of its trajectories (users ``0 … size − 1``) the run keeps:
            ``n_users``, or fewer in the last episode of a run of ``trajectories``.
        observations: ``(n_users, dim)`` the observations after the reset.
        info: ``reset_batch``'s info: ``"user_id"`` and ``"state"`` (the initial true
            preferences, a read-only snapshot).
    """

    def __init__(
        self,
        index: int,
        first: int,
        size: int,
        observations: NDArray[np.floating],
        info: dict[str, NDArray[Any]],
        steps: Iterator[Step],
    ):
        self.index, self.first, self.size = index, first, size
        self.observations, self.info = observations, info
        self._steps = steps

    def __iter__(self) -> Iterator[Step]:
        return self._steps


class Rollout:
    """Episodes of batched steps of one policy on every user of a population.

    Iterating resets the environment once per episode — the first reset with
    ``seed``, the next ones without (continuing the environment's random streams, as
    SCOPE-RL seeds its environment once) — and yields each :class:`Episode`, whose
    steps run when it is iterated: ``actor.act`` → ``env.step_batch`` →
    ``actor.update``, then the step is yielded. After every reset and step, slots whose
    ``info["user_id"]`` changed get :meth:`Actor.forget` (never in a
    :class:`~recgym.population.PopulationEnv`, whose slot ``i`` is always user ``i``).
    Every user is one trajectory per episode; episode ``e`` holds trajectories
    ``e·N … e·N + N − 1`` (``N = env.n_users``).

    Args:
        env: The population; it is reset.
        policy: A Policy (reset here with the :data:`POLICY_STREAM` generator of
            ``seed``), a registered policy name or a callable ``observations ->
            (actions, propensities)``.
        task: Names the run in the progress line (``"<task> <policy name>"``) and in the
            error of an environment that does not end its episodes.
        trajectories: Run ``ceil(trajectories / n_users)`` episodes (None: one).
        steps: Steps per episode; default :func:`horizon`.
        seed: Seeds the first reset and the policy's generator.
        options: Passed to every ``env.reset_batch``.
        chunk_size: For a callable policy, the largest number of users per call.
        progress: Print a progress line on stderr; None: on a terminal, for runs of at
            least 10⁷ user-steps.
        argument: The policy's argument name in error messages.
        require_end: Check that every user's episode has ended after the last step.

    Attributes:
        actor: The :class:`Actor` of the policy.
        name: The policy's name.
        n_episodes: Episodes the run has.
        steps: Steps per episode.

    Raises:
        TypeError: If the policy or ``progress`` has the wrong type.
        ValueError: On a bad ``chunk_size``.
        RuntimeError: (while iterating, with ``require_end``) if the environment does
            not end an episode after its ``steps``.
    """

    def __init__(
        self,
        env: PopulationEnv,
        policy: PolicyLike,
        *,
        task: str,
        trajectories: int | None = None,
        steps: int | None = None,
        seed: int | None = None,
        options: dict[str, Any] | None = None,
        chunk_size: int | None = None,
        progress: bool | None = None,
        argument: str = "policy",
        require_end: bool = False,
    ):
        self.env = env
        self.actor = Actor(policy, env, stream_rng(seed, POLICY_STREAM), chunk_size, argument)
        self.name = self.actor.name
        n = env.n_users
        self.trajectories = n if trajectories is None else trajectories
        self.n_episodes = math.ceil(self.trajectories / n)
        self.steps = horizon(env) if steps is None else steps
        total = self.n_episodes * self.steps
        self.progress = Progress(
            total, f"{task} {self.name}", enabled=check_progress(progress, total * n)
        )
        self.task, self.seed, self.options = task, seed, options
        self.require_end = require_end
        self._available: NDArray[np.bool_] | None = None
        self._user_ids: NDArray[np.int64] | None = None

    def __iter__(self) -> Iterator[Episode]:
        n = self.env.n_users
        for index in range(self.n_episodes):
            observations, info = self.env.reset_batch(
                seed=self.seed if index == 0 else None, options=self.options
            )
            first = index * n
            self._available = info.get("available")
            self._follow_users(info["user_id"])
            steps = self._steps(index, observations, info["state"])
            yield Episode(
                index, first, min(n, self.trajectories - first), observations, info, steps
            )

    def _follow_users(self, user_ids: NDArray[np.int64]) -> None:
        """Tell the policy which slots got a new user since the last reset or step.

        A :class:`~recgym.population.PopulationEnv` keeps user ``i`` in slot ``i`` (a
        user who leaves and returns is the same user), so this compares the same
        read-only array with itself; a world whose slots change users makes the policy
        :meth:`~recgym.population.policies.Policy.forget` the slots that changed.
        """
        known = self._user_ids
        self._user_ids = user_ids
        if known is None or user_ids is known:
            return
        changed = np.flatnonzero(user_ids != known)
        if changed.size:
            self.actor.forget(changed)

    def _steps(
        self, episode: int, observations: NDArray[np.floating], states: NDArray[np.floating]
    ) -> Iterator[Step]:
        env, actor, steps = self.env, self.actor, self.steps
        available = self._available
        for t in range(steps):
            decision = actor.act(observations, states, available)
            actions = decision.actions
            next_observations, rewards, terminations, truncations, info = env.step_batch(actions)
            actor.update(actions, rewards, info.get("item"))
            self._follow_users(info["user_id"])
            yield Step(
                episode,
                t,
                observations,
                actions,
                decision.propensities,
                rewards,
                next_observations,
                terminations,
                truncations,
                info,
                decision.cascade_propensities,
                decision.item_position_propensities,
            )
            observations, states = next_observations, info["state"]
            available = info.get("available")
            self.progress.update(episode * steps + t + 1)
        if self.require_end and not (terminations | truncations).all():
            raise RuntimeError(
                f"the environment did not end its episode after {steps} steps; "
                f"{self.task} needs every user to finish together"
            )
