"""Population-level recommendation policies: one policy recommends to every user at once.

A policy sees the whole population as arrays: observations of shape ``(N, d)`` in, one
item index per user out, together with the probability with which it chose that item
(the *propensity*, needed by off-policy evaluation of logged data). Everything is
vectorised over users; policies that score every item work through the users in chunks,
so that no ``N × n_items`` temporary is larger than ``max_chunk_bytes``.

The loop a runner drives::

    policy = make_policy("epsilon_greedy", epsilon=0.1)
    policy.reset(item_features, n_users=N, rng=np.random.default_rng(seed))
    for _ in range(horizon):
        decision = policy.act(obs, states=states if policy.needs_state else None)
        obs, rewards, ... = env.step_batch(decision.actions)
        policy.update(decision.actions, rewards)

Row ``i`` of every array is always the same user ``i``. Every random draw comes from the
generator given to :meth:`Policy.reset`. Scores are BLAS products, one per chunk, so
for a given ``max_chunk_bytes`` results are deterministic; across different budgets a
score may differ in its last bit (BLAS may sum in a shape-dependent order), which can
change an action only on an exact near-tie.

Example:
    >>> import numpy as np
    >>> from recgym.population.policies import make_policy
    >>> policy = make_policy("greedy")
    >>> policy.reset(np.eye(3), n_users=2, rng=np.random.default_rng(0))
    >>> decision = policy.act(np.array([[0.1, 0.9, 0.0], [0.5, 0.2, 0.1]]))
    >>> decision.actions, decision.propensities
    (array([1, 0]), array([1., 1.]))
"""

from __future__ import annotations

import math
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar, NamedTuple

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recgym._validation import (
    check_actions,
    check_array,
    check_choice,
    check_float_in_range,
    check_positive_float,
    check_positive_int,
    check_probability,
)
from recgym.errors import ResetNeeded

__all__ = [
    "DEFAULT_MAX_CHUNK_BYTES",
    "POLICIES",
    "CollaborativeFilteringPolicy",
    "Decision",
    "EpsilonGreedyPolicy",
    "ExposureConstrainedPolicy",
    "GreedyPolicy",
    "MassMediaPolicy",
    "MostPopularPolicy",
    "OracleGreedyPolicy",
    "Policy",
    "RandomPolicy",
    "SoftmaxPolicy",
    "make_policy",
]

#: Default memory budget (64 MiB) for the ``(chunk, n_items)`` temporaries of scoring policies.
DEFAULT_MAX_CHUNK_BYTES = 64 * 2**20

# Bytes per (user, item) pair a scoring pass needs: two float64 buffers (the scores and a
# scratch array) plus one boolean mask (inverse-CDF sampling).
_BYTES_PER_SCORE = 2 * 8 + 1

#: Chunks of score buffers are kept about this small even under a larger budget: a chunk
#: that stays in the CPU cache between the BLAS product and the argmax or sampling pass
#: is faster (greedy at 10⁵ users × 100 items: 9 ms instead of 15 ms per step).
_CACHE_CHUNK_BYTES = 2 * 2**20


class Decision(NamedTuple):
    """What a policy recommends to every user in one step.

    Attributes:
        actions: int64 array of shape ``(N,)``: the item recommended to each user.
        propensities: float64 array of shape ``(N,)``: the probability with which the
            policy chose ``actions[i]`` for user ``i`` (1.0 for deterministic choices).
    """

    actions: NDArray[np.int64]
    propensities: NDArray[np.float64]


# ---------------------------------------------------------------------- array kernels


def _chunks(n: int, rows: int) -> Iterator[slice]:
    """Yield consecutive slices of at most ``rows`` rows covering ``range(n)``."""
    for start in range(0, n, rows):
        yield slice(start, min(start + rows, n))


def _rows_per_chunk(bytes_per_row: int, max_chunk_bytes: int) -> int:
    """Rows that fit in ``max_chunk_bytes`` (at least one)."""
    return max(1, max_chunk_bytes // max(1, bytes_per_row))


def _iter_scores(
    x: NDArray[Any], items: NDArray[np.float64], max_chunk_bytes: int
) -> Iterator[tuple[slice, NDArray[np.float64], NDArray[np.float64]]]:
    """Yield the inner products ``x @ items.T`` chunk by chunk of rows.

    Each chunk is one BLAS matrix product into a reused buffer. A BLAS product may sum the
    ``d`` terms of an entry in an order that depends on the matrix shape, so scores of
    different chunk sizes can differ in the last bit (about 1e-16 relative); for a given
    budget the results are deterministic. Element-wise accumulation would make them
    bit-identical across budgets but is 5-10 times slower.

    Args:
        x: Array of shape ``(N, d)`` (any real dtype; computed in float64).
        items: float64 array of shape ``(n_items, d)``.
        max_chunk_bytes: Budget for the ``(rows, n_items)`` buffers of one chunk
            (:data:`_BYTES_PER_SCORE` bytes per entry).

    Yields:
        ``(rows, scores, scratch)``: the slice of ``x`` covered, its float64 scores of
        shape ``(len, n_items)``, and a scratch buffer of the same shape that the caller
        may overwrite. Both buffers are reused by the next chunk.
    """
    n = x.shape[0]
    n_items = items.shape[0]
    columns = np.ascontiguousarray(items.T)  # (d, n_items)
    budget = min(max_chunk_bytes, _CACHE_CHUNK_BYTES)
    rows = min(n, _rows_per_chunk(n_items * _BYTES_PER_SCORE, budget))
    scores_buffer = np.empty((rows, n_items))
    scratch_buffer = np.empty((rows, n_items))
    for chunk in _chunks(n, rows):
        x_chunk = np.asarray(x[chunk], dtype=np.float64)
        scores = scores_buffer[: len(x_chunk)]
        scratch = scratch_buffer[: len(x_chunk)]
        np.matmul(x_chunk, columns, out=scores)
        yield chunk, scores, scratch


def _argmax_scores(
    x: NDArray[Any], items: NDArray[np.float64], max_chunk_bytes: int
) -> NDArray[np.int64]:
    """Per row of ``x``, the item of highest inner product (ties → lowest index), int64 ``(N,)``."""
    best = np.empty(len(x), dtype=np.int64)
    for chunk, scores, _ in _iter_scores(x, items, max_chunk_bytes):
        best[chunk] = scores.argmax(axis=1)
    return best


def _epsilon_propensities(
    greedy: NDArray[np.int64], actions: NDArray[np.int64], epsilon: float, n_items: int
) -> NDArray[np.float64]:
    """Exact ε-greedy probabilities ``(1 − ε)·1[a = greedy] + ε / n_items``, float64 ``(N,)``."""
    return np.where(actions == greedy, 1.0 - epsilon, 0.0) + epsilon / n_items


def _epsilon_greedy(
    greedy: NDArray[np.int64], epsilon: float, n_items: int, rng: np.random.Generator
) -> Decision:
    """Replace each greedy action, with probability ``epsilon``, by a uniformly random item.

    Draws one uniform per user and one integer per exploring user (nothing if ε = 0).
    """
    actions = greedy.copy()
    if epsilon > 0.0:
        explore = rng.random(len(greedy)) < epsilon
        actions[explore] = rng.integers(n_items, size=np.count_nonzero(explore))
    return Decision(actions, _epsilon_propensities(greedy, actions, epsilon, n_items))


# ------------------------------------------------------------------------------ base


class Policy(ABC):
    """A recommendation policy acting for a whole population of users at once.

    Subclasses implement :meth:`act` and :meth:`probabilities`, and :meth:`update` if
    they learn. Built-in policies are registered in :data:`POLICIES` under their
    :attr:`name`.

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
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement `probabilities`")

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


class _ScoringPolicy(Policy):
    """Base of the policies that score every item, chunk by chunk of users.

    Args:
        max_chunk_bytes: Memory budget of the ``(chunk, n_items)`` temporaries of one
            scoring pass; at least one user is scored at a time whatever the budget.
    """

    def __init__(self, *, max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES) -> None:
        super().__init__()
        self.max_chunk_bytes = check_positive_int(max_chunk_bytes, "max_chunk_bytes")

    def _greedy(self, x: NDArray[Any]) -> NDArray[np.int64]:
        return _argmax_scores(x, self._item_table, self.max_chunk_bytes)


# ---------------------------------------------------------------------------- policies


class _UniformMarginal(Policy):
    """A policy under which each user gets each item with probability ``1 / n_items``."""

    def probabilities(
        self,
        observations: NDArray[Any],
        actions: NDArray[np.integer[Any]],
        *,
        states: NDArray[Any] | None = None,
    ) -> NDArray[np.float64]:
        """See :meth:`Policy.probabilities`: ``1 / n_items`` for every user (marginal)."""
        self._check_observations(observations, "probabilities")
        self._check_actions(actions)
        return np.full(self._n_users, 1.0 / self.n_items)


class _Deterministic(Policy):
    """A policy that picks one item per user with probability 1, given by :meth:`_choose`."""

    @abstractmethod
    def _choose(self, observations: NDArray[Any], states: NDArray[Any] | None) -> NDArray[Any]:
        """The chosen item of every user, int64 ``(N,)``, on checked observations."""

    def act(self, observations: NDArray[Any], *, states: NDArray[Any] | None = None) -> Decision:
        """See :meth:`Policy.act`: propensity 1 for every user."""
        observations = self._check_observations(observations, "act")
        return Decision(self._choose(observations, states), np.ones(self._n_users))

    def probabilities(
        self,
        observations: NDArray[Any],
        actions: NDArray[np.integer[Any]],
        *,
        states: NDArray[Any] | None = None,
    ) -> NDArray[np.float64]:
        """See :meth:`Policy.probabilities`: 1 for the chosen item, 0 otherwise."""
        observations = self._check_observations(observations, "probabilities")
        actions = self._check_actions(actions)
        return (actions == self._choose(observations, states)).astype(np.float64)


class RandomPolicy(_UniformMarginal):
    """Recommend a uniformly random item to every user, independently.

    Draws ``N`` integers per step; propensity ``1 / n_items``.
    """

    name = "random"

    def act(self, observations: NDArray[Any], *, states: NDArray[Any] | None = None) -> Decision:
        """See :meth:`Policy.act`."""
        self._check_observations(observations, "act")
        actions = self._generator.integers(self.n_items, size=self._n_users, dtype=np.int64)
        return Decision(actions, np.full(self._n_users, 1.0 / self.n_items))


class GreedyPolicy(_ScoringPolicy, _Deterministic):
    """Recommend the item of highest estimated affinity ``⟨oᵢ, v⟩``.

    The estimate of a user's preference is the (noisy) observation itself. Ties go to the
    lowest item index. Deterministic: propensity 1.

    Args:
        max_chunk_bytes: Memory budget of one scoring chunk (see module docstring).
    """

    name = "greedy"

    def _scored(self, observations: NDArray[Any], states: NDArray[Any] | None) -> NDArray[Any]:
        """The array whose rows are scored (the observations; oracles override)."""
        return observations

    def _choose(self, observations: NDArray[Any], states: NDArray[Any] | None) -> NDArray[Any]:
        return self._greedy(self._scored(observations, states))


class OracleGreedyPolicy(GreedyPolicy):
    """Recommend the item of highest *true* affinity ``⟨sᵢ, v⟩`` (needs the true states).

    An upper baseline for myopic reward: it knows every user's current preference
    exactly. ``act`` and ``probabilities`` raise ``ValueError`` when ``states`` is None.

    Args:
        max_chunk_bytes: Memory budget of one scoring chunk (see module docstring).
    """

    name = "oracle"
    needs_state = True

    def _scored(self, observations: NDArray[Any], states: NDArray[Any] | None) -> NDArray[Any]:
        return self._check_states(states)


class EpsilonGreedyPolicy(_ScoringPolicy):
    """Greedy on the observations, but a uniformly random item with probability ``epsilon``.

    Per step: one uniform per user decides exploration, one integer per exploring user
    picks the item. Propensity ``(1 − ε)·1[a = greedy] + ε / n_items``.

    Args:
        epsilon: Exploration probability in ``[0, 1]``.
        max_chunk_bytes: Memory budget of one scoring chunk (see module docstring).
    """

    name = "epsilon_greedy"

    def __init__(
        self, epsilon: float = 0.1, *, max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES
    ) -> None:
        super().__init__(max_chunk_bytes=max_chunk_bytes)
        self.epsilon = check_probability(epsilon, "epsilon")

    def _greedy_or_zeros(self, observations: NDArray[Any]) -> NDArray[np.int64]:
        # With ε = 1 the greedy item is irrelevant; skip the scoring pass.
        if self.epsilon == 1.0:
            return np.zeros(self._n_users, dtype=np.int64)
        return self._greedy(observations)

    def act(self, observations: NDArray[Any], *, states: NDArray[Any] | None = None) -> Decision:
        """See :meth:`Policy.act`."""
        observations = self._check_observations(observations, "act")
        greedy = self._greedy_or_zeros(observations)
        return _epsilon_greedy(greedy, self.epsilon, self.n_items, self._generator)

    def probabilities(
        self,
        observations: NDArray[Any],
        actions: NDArray[np.integer[Any]],
        *,
        states: NDArray[Any] | None = None,
    ) -> NDArray[np.float64]:
        """See :meth:`Policy.probabilities`."""
        observations = self._check_observations(observations, "probabilities")
        actions = self._check_actions(actions)
        greedy = self._greedy_or_zeros(observations)
        return _epsilon_propensities(greedy, actions, self.epsilon, self.n_items)


#: Target size (1 MiB) of the item-major weight buffer of one :class:`SoftmaxPolicy` chunk:
#: small enough that the passes over it run in cache (and, measured, that OpenBLAS computes
#: the ``n_items × (d + 1)`` by ``(d + 1) × rows`` product on one thread for 100 items and
#: d = 5), large enough that numpy's per-call overhead stays small.
_SOFTMAX_CHUNK_BYTES = 2**20

#: Largest gap, in units of ``τ``, that the Cauchy–Schwarz shift of :class:`SoftmaxPolicy`
#: may leave between a user's best item and 0: a user with ``2‖o‖·max‖v‖ / τ`` above it is
#: shifted by its exact row maximum instead, so that its best weight, at least
#: ``exp(−600) ≈ 1e-261``, stays a normal float.
_MAX_SHIFT_GAP = 600.0


class _SoftmaxLayout(NamedTuple):
    """The item tables of one :class:`SoftmaxPolicy` pass (see its docstring).

    Attributes:
        block: Items per block of the two-level search.
        n_blocks: Number of blocks; the ``n_blocks · block − n_items`` padding items have
            weight 0.
        items: float64 ``(n_blocks · block, d)``: the item features, zero padding rows.
        augmented: float64 ``(n_blocks · block, d + 1)``: ``[v / τ, −max‖v‖ / τ]`` (zero
            padding rows), all zeros if ``v / τ`` overflows.
        max_norm: Largest observation norm that the Cauchy–Schwarz shift serves (−1 if
            ``v / τ`` overflows: every user then takes the exact row maximum).
    """

    block: int
    n_blocks: int
    items: NDArray[np.float64]
    augmented: NDArray[np.float64]
    max_norm: float


def _softmax_layout(items: NDArray[np.float64], temperature: float) -> _SoftmaxLayout:
    """Lay out ``items`` (``(n_items, d)``) for :class:`SoftmaxPolicy` at ``temperature``."""
    n_items, d = items.shape
    block = math.isqrt(n_items - 1) + 1  # ⌈√n_items⌉: about as many blocks as items in one
    n_blocks = -(-n_items // block)
    padded = np.zeros((n_blocks * block, d))
    padded[:n_items] = items
    augmented = np.zeros((n_blocks * block, d + 1))
    with np.errstate(over="ignore"):  # a huge item or a tiny τ: exact shift for everyone
        scaled = items / temperature
        bound = float(np.sqrt(np.einsum("ij,ij->i", items, items)).max()) / temperature
    if np.isfinite(scaled).all() and math.isfinite(bound):
        augmented[:n_items, :d] = scaled
        augmented[:n_items, d] = -bound
        # Without a bound (all items 0) only an infinite norm needs the exact path.
        max_norm = _MAX_SHIFT_GAP / 2 / bound if bound > 0 else sys.float_info.max
    else:
        max_norm = -1.0
    return _SoftmaxLayout(block, n_blocks, padded, augmented, max_norm)


class SoftmaxPolicy(_ScoringPolicy):
    """Sample items with probability ``p(a) ∝ exp(⟨oᵢ, v_a⟩ / τ)`` (Boltzmann exploration).

    Users are processed in cache-sized chunks with their weights laid out item-major,
    ``(items, users)``, so that every pass runs along contiguous users.

    *Weights.* One BLAS product gives ``(⟨oᵢ, v_a⟩ − ‖oᵢ‖·max‖v‖) / τ`` for every item,
    through an extra column (``‖oᵢ‖`` on the users' side, ``−max‖v‖ / τ`` on the items'):
    by Cauchy–Schwarz it is at most 0 (up to rounding), so ``exp`` cannot overflow whatever
    ``τ``. The best item of a user lies at most ``2‖oᵢ‖·max‖v‖ / τ`` below 0; for the few
    users where that exceeds 600 (its weight could underflow), and for everyone if
    ``v / τ`` overflows, the weights are ``exp((⟨oᵢ, v_a⟩ − maxₐ⟨oᵢ, v_a⟩) / τ)`` instead,
    as in a textbook stable softmax. Which users take that path depends only on their own
    observation.

    *Sampling.* One uniform ``uᵢ`` per user, drawn for the whole population before the
    chunked pass; user ``i`` gets the first item whose cumulative weight exceeds
    ``uᵢ·total``. The items are split into blocks of about ``√n_items``: the search first
    finds the block from the cumulative block totals, then walks that block item by item.
    The cumulative weight at item ``j`` of block ``B`` is computed as (total before ``B``)
    + (sum of ``B``'s items up to ``j``, left to right), the very operations that give the
    cumulative totals, so the walk ends exactly at the next block's start: an item of
    weight 0 (and a padding item) is never chosen. The propensity is the chosen item's
    weight over the total; :meth:`probabilities` computes the same weights and totals, so
    it equals the propensities bit for bit.

    The product's rounding depends on the chunk shape, hence on ``max_chunk_bytes``:
    propensities for different budgets differ by rounding only (about 1e-16 times the
    largest ``|score| / τ``, relative); for a given seed and budget results are
    deterministic.

    Args:
        temperature: ``τ > 0``. Affinities of this environment lie in ``[-1, 1]`` (and are
            much smaller with the default spectral feature normalisation), hence the
            default of 0.1; large ``τ`` approaches uniform, small ``τ`` approaches greedy.
        max_chunk_bytes: Memory budget of one chunk's buffers (see module docstring);
            chunks are at most about 1 MiB of weights anyway.
    """

    name = "softmax"

    def __init__(
        self, temperature: float = 0.1, *, max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES
    ) -> None:
        super().__init__(max_chunk_bytes=max_chunk_bytes)
        self.temperature = check_positive_float(temperature, "temperature")

    def _iter_weights(
        self, observations: NDArray[Any]
    ) -> Iterator[tuple[slice, NDArray[np.float64], NDArray[np.float64], int]]:
        """Yield ``(rows, weights, cumulative, block)`` per chunk of users.

        ``weights`` is float64 ``(n_blocks · block, len)``, item-major, padding rows 0;
        ``cumulative`` is float64 ``(n_blocks + 1, len)``: 0, then the running total
        through each block. Both buffers are reused by the next chunk.
        """
        layout = _softmax_layout(self._item_table, self.temperature)
        n, d = observations.shape
        n_items, padded = self.n_items, len(layout.items)
        # Every buffer of a chunk, the exact-shift path's copies and the k-sized vectors of
        # the search included, fits in the budget.
        bytes_per_row = 8 * (2 * padded + layout.n_blocks + 2 * (d + 1) + 16)
        rows = min(
            n,
            _rows_per_chunk(bytes_per_row, self.max_chunk_bytes),
            max(1, _SOFTMAX_CHUNK_BYTES // (8 * padded)),
        )
        weights_buffer = np.empty(padded * rows)
        cumulative_buffer = np.empty((layout.n_blocks + 1) * rows)
        columns_buffer = np.empty((d + 1) * rows)
        for chunk in _chunks(n, rows):
            k = chunk.stop - chunk.start
            columns = columns_buffer[: (d + 1) * k].reshape(d + 1, k)
            columns[:d] = observations[chunk].T
            norms = columns[d]
            with np.errstate(over="ignore"):  # an infinite norm takes the exact shift
                np.einsum("ij,ij->j", columns[:d], columns[:d], out=norms)
            np.sqrt(norms, out=norms)
            exact = (
                np.flatnonzero(norms > layout.max_norm) if norms.max() > layout.max_norm else None
            )
            if exact is not None:
                observed = columns[:d, exact]  # a copy
                columns[:, exact] = 0.0  # keeps the shared product finite
            weights = weights_buffer[: padded * k].reshape(padded, k)
            np.matmul(layout.augmented, columns, out=weights)
            np.exp(weights, out=weights)
            if exact is not None:
                scores = layout.items @ observed
                with np.errstate(over="ignore"):  # a tiny τ sends weights to exp(-inf) = 0
                    scores -= scores[:n_items].max(axis=0)
                    scores /= self.temperature
                weights[:, exact] = np.exp(scores, out=scores)
            weights[n_items:] = 0.0
            cumulative = cumulative_buffer[: (layout.n_blocks + 1) * k].reshape(-1, k)
            _block_totals(weights, layout.block, cumulative)
            yield chunk, weights, cumulative, layout.block

    def act(self, observations: NDArray[Any], *, states: NDArray[Any] | None = None) -> Decision:
        """See :meth:`Policy.act`."""
        observations = self._check_observations(observations, "act")
        uniforms = self._generator.random(self._n_users)
        actions = np.empty(self._n_users, dtype=np.int64)
        propensities = np.empty(self._n_users)
        for chunk, weights, cumulative, block in self._iter_weights(observations):
            chosen = _inverse_cdf(weights, cumulative, block, uniforms[chunk])
            actions[chunk] = chosen
            propensities[chunk] = _item_weights(weights, chosen) / cumulative[-1]
        return Decision(actions, propensities)

    def probabilities(
        self,
        observations: NDArray[Any],
        actions: NDArray[np.integer[Any]],
        *,
        states: NDArray[Any] | None = None,
    ) -> NDArray[np.float64]:
        """See :meth:`Policy.probabilities`."""
        observations = self._check_observations(observations, "probabilities")
        actions = self._check_actions(actions)
        propensities = np.empty(self._n_users)
        for chunk, weights, cumulative, _ in self._iter_weights(observations):
            propensities[chunk] = _item_weights(weights, actions[chunk]) / cumulative[-1]
        return propensities


def _block_totals(weights: NDArray[np.float64], block: int, out: NDArray[np.float64]) -> None:
    """Fill ``out`` (``(n_blocks + 1, k)``) with 0 and the running totals of item-major ``weights``.

    Each block's items are summed left to right (as :func:`_inverse_cdf` walks them), then
    the block sums are accumulated: ``out[b + 1] = out[b] + sum of block b``.
    """
    k = weights.shape[1]
    blocks = weights.reshape(-1, block, k)
    sums = out[1:]
    out[0] = 0.0
    if block == 1:
        sums[...] = blocks[:, 0]
    else:
        np.add(blocks[:, 0], blocks[:, 1], out=sums)
        for j in range(2, block):
            sums += blocks[:, j]
    for b in range(1, len(sums)):  # row by row: contiguous, vectorised over users
        sums[b] += sums[b - 1]


def _inverse_cdf(
    weights: NDArray[np.float64],
    cumulative: NDArray[np.float64],
    block: int,
    uniforms: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Per user (column), the first item whose cumulative weight exceeds ``u · total``.

    Args:
        weights: float64 ``(n_blocks · block, k)``, item-major.
        cumulative: float64 ``(n_blocks + 1, k)`` from :func:`_block_totals`.
        block: Items per block.
        uniforms: float64 ``(k,)`` in ``[0, 1)``.

    Returns:
        int64 ``(k,)``: item indices, never of an item of weight 0.
    """
    k = weights.shape[1]
    users = np.arange(k)
    # u·total < total (u < 1), so the target lies before the end of the last block.
    target = uniforms * cumulative[-1]
    # The block: the number of block ends at or below the target (the last end is above).
    chosen_block = np.zeros(k, dtype=np.int64)
    for row in cumulative[1:-1]:
        chosen_block += row <= target
    before = cumulative.reshape(-1)[chosen_block * k + users]  # total before the block: ≤ target
    # Inside the block, item j's cumulative weight is before + (items 0..j, left to right):
    # for the block's last item that is exactly the block's end, which exceeds the target.
    # So the first item above the target has a larger cumulative weight than the one
    # before it, hence a positive weight.
    flat = weights.reshape(-1)
    position = chosen_block * (block * k) + users
    partial = np.zeros(k)
    edge = np.empty(k)
    offset = np.zeros(k, dtype=np.int64)
    for _ in range(block - 1):
        partial += flat[position]
        np.add(before, partial, out=edge)
        offset += edge <= target
        position += k
    return chosen_block * block + offset


def _item_weights(weights: NDArray[np.float64], items: NDArray[np.int64]) -> NDArray[np.float64]:
    """``weights[items[i], i]`` for every user (column) ``i`` of item-major ``weights``."""
    k = weights.shape[1]
    return weights.reshape(-1)[items * k + np.arange(k)]


class MassMediaPolicy(_UniformMarginal):
    """Show every user the same item, drawn uniformly at random anew each step.

    The broadcast baseline of the polarisation results (Hązła et al. 2019; Gaitonde,
    Kleinberg & Tardos 2021; Dean & Morgenstern 2022): under biased assimilation a
    heterogeneous population shown common random items splits into two antipodal poles.
    Draws one integer per step. The propensity ``1 / n_items`` is each user's *marginal*
    probability; the users' actions are perfectly correlated, which off-policy estimators
    treating users as independent should keep in mind.
    """

    name = "mass_media"

    def act(self, observations: NDArray[Any], *, states: NDArray[Any] | None = None) -> Decision:
        """See :meth:`Policy.act`."""
        self._check_observations(observations, "act")
        item = self._generator.integers(self.n_items)
        return Decision(
            np.full(self._n_users, item, dtype=np.int64), np.full(self._n_users, 1.0 / self.n_items)
        )


class MostPopularPolicy(_Deterministic):
    """Recommend to everyone the item with the most positive feedback so far.

    :meth:`update` counts, per item, the rewards ``> 0`` (a click for binary rewards, a
    positive affinity for continuous ones). Ties, including the all-zero start, go to the
    lowest item index; items a user has already seen are not excluded. Deterministic:
    propensity 1. The rich-get-richer baseline of popularity-bias studies (Mansoury et al.
    2020; Chaney et al. 2018).
    """

    name = "most_popular"

    def _on_reset(self) -> None:
        self._positive_counts = np.zeros(self.n_items, dtype=np.int64)

    @property
    def positive_counts(self) -> NDArray[np.int64]:
        """Copy of the per-item count of positive rewards, int64 ``(n_items,)``."""
        self._require_reset("positive_counts")
        return self._positive_counts.copy()

    def _choose(self, observations: NDArray[Any], states: NDArray[Any] | None) -> NDArray[Any]:
        return np.full(self._n_users, self._positive_counts.argmax(), dtype=np.int64)

    def update(self, actions: NDArray[np.integer[Any]], rewards: NDArray[Any]) -> None:
        """Add one to the count of every item shown with a reward ``> 0``."""
        actions, rewards = self._check_feedback(actions, rewards)
        self._positive_counts += np.bincount(actions[rewards > 0], minlength=self.n_items)


class CollaborativeFilteringPolicy(_ScoringPolicy):
    """Matrix factorisation learned online from the population's own interaction log.

    The policy never looks at the observations: like a production recommender it learns
    only from which user was shown which item and what reward followed.

    **Log.** :meth:`update` buffers each step's ``(user, item, reward)`` triples; at every
    refit they are merged into two ``scipy.sparse`` CSR matrices of shape
    ``(N, n_items)``: the count ``C`` of observations and the sum ``S`` of rewards of each
    (user, item) pair. Only pairs that were shown are stored.

    **Model.** Scores ``r̂ᵤⱼ = μ + pᵤ·qⱼ`` with ``μ`` the mean observed reward and rank-``k``
    factors ``P (N, k)``, ``Q (n_items, k)``, fitted by alternating least squares on the
    observed rewards only (unobserved pairs are missing, not zero)::

        min Σ_observations (r − μ − pᵤ·qⱼ)² + λ (‖P‖² + ‖Q‖²)

    Each half-sweep solves one ``k × k`` ridge system per user (resp. item) — batched
    ``numpy.linalg.solve``, with the Gram matrices ``Σⱼ Cᵤⱼ qⱼqⱼᵀ`` built by sparse
    products. ``Q`` starts from ``N(0, 0.1²)`` drawn at the first fit and is warm-started
    at later fits. Centring by ``μ`` costs one dimension: rewards ``⟨s, v⟩`` with
    ``d``-dimensional states need ``rank ≥ d + 1`` (with ``rank = d`` the fit is visibly
    worse).

    **Schedule.** The model is refitted in :meth:`update` after every ``refit_every``-th
    step, so :meth:`act` and :meth:`probabilities` never change it. Before the first fit
    the policy is uniformly random (propensity ``1 / n_items``); afterwards it is
    ε-greedy on ``r̂`` (propensity ``(1 − ε)·1[a = argmax r̂ᵤ] + ε / n_items``), ties to
    the lowest index. Because it is trained on data its own recommendations produced, it
    exhibits the algorithmic confounding of Chaney et al. (2018).

    **Cost.** A refit takes ``O(als_iterations · (nnz · k² + (N + n_items) · k³))``; the
    user-side systems are solved in chunks within ``max_chunk_bytes``, and scoring is
    chunked as in every scoring policy. The log holds at most one entry per distinct
    (user, item) pair.

    Args:
        rank: Number of latent factors ``k``.
        refit_every: Steps between refits (the first fit follows step ``refit_every``).
        epsilon: Exploration probability in ``[0, 1]`` once fitted.
        regularization: Ridge penalty ``λ > 0``.
        als_iterations: Alternating sweeps (users then items) per refit.
        max_chunk_bytes: Memory budget of one scoring or solving chunk.
    """

    name = "cf"

    def __init__(
        self,
        rank: int = 5,
        refit_every: int = 10,
        epsilon: float = 0.1,
        regularization: float = 0.1,
        als_iterations: int = 10,
        *,
        max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES,
    ) -> None:
        super().__init__(max_chunk_bytes=max_chunk_bytes)
        self.rank = check_positive_int(rank, "rank")
        self.refit_every = check_positive_int(refit_every, "refit_every")
        self.epsilon = check_probability(epsilon, "epsilon")
        self.regularization = check_positive_float(regularization, "regularization")
        self.als_iterations = check_positive_int(als_iterations, "als_iterations")
        self._user_factors: NDArray[np.float64] | None = None
        self._item_factors: NDArray[np.float64] | None = None

    def _on_reset(self) -> None:
        shape = (self._n_users, self.n_items)
        self._steps = 0
        self._mean = 0.0
        self._pending: list[tuple[NDArray[np.int64], NDArray[np.float64]]] = []
        self._counts = sp.csr_array(shape, dtype=np.float64)
        self._sums = sp.csr_array(shape, dtype=np.float64)
        self._user_factors = None
        self._item_factors = None

    @property
    def is_fitted(self) -> bool:
        """Whether the model has been fitted at least once since :meth:`reset`."""
        return self._user_factors is not None

    def predicted_rewards(self) -> NDArray[np.float64]:
        """The model's reward prediction ``μ + P Qᵀ`` for every (user, item), ``(N, n_items)``.

        For inspection on small problems: the array is not chunked.

        Raises:
            recgym.errors.ResetNeeded: If called before :meth:`reset`.
            ValueError: If the model has not been fitted yet.
        """
        self._require_reset("predicted_rewards")
        if self._user_factors is None or self._item_factors is None:
            raise ValueError(
                "CollaborativeFilteringPolicy has not been fitted yet: it fits after every "
                f"`refit_every` = {self.refit_every} calls of update(), got "
                f"{self._steps} since reset()"
            )
        return self._mean + self._user_factors @ self._item_factors.T

    def update(self, actions: NDArray[np.integer[Any]], rewards: NDArray[Any]) -> None:
        """Log the step's rewards; refit after every ``refit_every``-th step."""
        actions, rewards = self._check_feedback(actions, rewards)
        self._pending.append((actions.copy(), rewards.copy()))
        self._steps += 1
        if self._steps % self.refit_every == 0:
            self._fit()

    def _merge_pending(self) -> None:
        """Add the buffered steps to the sparse count and sum matrices."""
        users = np.tile(np.arange(self._n_users), len(self._pending))
        items = np.concatenate([actions for actions, _ in self._pending])
        rewards = np.concatenate([rewards for _, rewards in self._pending])
        shape = (self._n_users, self.n_items)
        self._counts += sp.coo_array((np.ones(len(items)), (users, items)), shape=shape).tocsr()
        self._sums += sp.coo_array((rewards, (users, items)), shape=shape).tocsr()
        self._pending.clear()

    def _fit(self) -> None:
        self._merge_pending()
        self._mean = float(self._sums.sum() / self._counts.sum())
        counts_t, sums_t = self._counts.T.tocsr(), self._sums.T.tocsr()
        if self._item_factors is None:
            self._item_factors = self._generator.normal(scale=0.1, size=(self.n_items, self.rank))
        items = self._item_factors
        for _ in range(self.als_iterations):
            users = self._ridge_solve(self._counts, self._sums, items)
            items = self._ridge_solve(counts_t, sums_t, users)
        self._user_factors, self._item_factors = users, items

    def _ridge_solve(
        self, counts: sp.csr_array, sums: sp.csr_array, fixed: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """One ALS half-sweep: the factors of every row given the factors of the columns.

        Row ``r`` solves ``(Σⱼ Cᵣⱼ fⱼfⱼᵀ + λI) xᵣ = Σⱼ (Sᵣⱼ − μCᵣⱼ) fⱼ``.

        Args:
            counts: CSR ``(R, M)`` observation counts.
            sums: CSR ``(R, M)`` reward sums.
            fixed: float64 ``(M, k)`` factors of the columns.

        Returns:
            numpy.ndarray: float64 factors of the rows, shape ``(R, k)``.
        """
        k = self.rank
        rhs = sums @ fixed - self._mean * (counts @ fixed)
        pairs = [(a, b) for a in range(k) for b in range(a, k)]
        solved = np.empty((counts.shape[0], k))
        rows = _rows_per_chunk(8 * k * (k + 1) * 3, self.max_chunk_bytes)
        ridge = self.regularization * np.eye(k)
        for chunk in _chunks(counts.shape[0], rows):
            counts_chunk = counts[chunk]
            gram = np.empty((counts_chunk.shape[0], k, k))
            for a, b in pairs:
                gram[:, a, b] = gram[:, b, a] = counts_chunk @ (fixed[:, a] * fixed[:, b])
            solved[chunk] = np.linalg.solve(gram + ridge, rhs[chunk, :, None])[..., 0]
        return solved

    def _greedy_or_none(self) -> NDArray[np.int64] | None:
        """Argmax of the predicted rewards per user, or None before the first fit."""
        if self._user_factors is None or self._item_factors is None:
            return None
        if self.epsilon == 1.0:
            return np.zeros(self._n_users, dtype=np.int64)
        return _argmax_scores(self._user_factors, self._item_factors, self.max_chunk_bytes)

    def act(self, observations: NDArray[Any], *, states: NDArray[Any] | None = None) -> Decision:
        """See :meth:`Policy.act`."""
        self._check_observations(observations, "act")
        greedy = self._greedy_or_none()
        if greedy is None:
            actions = self._generator.integers(self.n_items, size=self._n_users, dtype=np.int64)
            return Decision(actions, np.full(self._n_users, 1.0 / self.n_items))
        return _epsilon_greedy(greedy, self.epsilon, self.n_items, self._generator)

    def probabilities(
        self,
        observations: NDArray[Any],
        actions: NDArray[np.integer[Any]],
        *,
        states: NDArray[Any] | None = None,
    ) -> NDArray[np.float64]:
        """See :meth:`Policy.probabilities`."""
        self._check_observations(observations, "probabilities")
        actions = self._check_actions(actions)
        greedy = self._greedy_or_none()
        if greedy is None:
            return np.full(self._n_users, 1.0 / self.n_items)
        return _epsilon_propensities(greedy, actions, self.epsilon, self.n_items)


class ExposureConstrainedPolicy(_ScoringPolicy, _Deterministic):
    """Greedy on the observations, but no item is shown to more than a share of users per step.

    Each item has a per-step capacity ``c = ⌈max_share · N⌉``. The assignment runs in
    rounds: every unassigned user proposes its best item among those with capacity left
    (ties → lowest index); each item accepts, up to its remaining capacity, the proposers
    with the highest affinity (ties → lowest user index), and acceptances are final; the
    rest propose again next round. Each round either assigns every proposer or fills an
    item, so at most ``n_items`` rounds run, each re-scoring only the unassigned users in
    chunks. A valid assignment exists exactly when ``c · n_items ≥ N``, checked at
    :meth:`reset`. Deterministic: propensity 1. With ``max_share = 1`` it is
    :class:`GreedyPolicy`.

    Args:
        max_share: Largest share of the population one item may reach per step, in
            ``(0, 1]``.
        max_chunk_bytes: Memory budget of one scoring chunk (see module docstring).
    """

    name = "exposure_capped"

    def __init__(
        self, max_share: float = 0.05, *, max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES
    ) -> None:
        super().__init__(max_chunk_bytes=max_chunk_bytes)
        self.max_share = check_float_in_range(max_share, "max_share", 0.0, 1.0, include_low=False)
        self.capacity = 0  # users per item and step, set by reset()

    def _on_reset(self) -> None:
        # Round away float noise first (0.07 * 100 is 7.000000000000001, not 8 users).
        self.capacity = max(1, math.ceil(round(self.max_share * self._n_users, 9)))
        if self.capacity * self.n_items < self._n_users:
            raise ValueError(
                f"`max_share` is too small for {self._n_users} users and {self.n_items} "
                f"items: each item may be shown to ceil(max_share * n_users) = "
                f"{self.capacity} users per step, {self.capacity * self.n_items} in all; "
                f"need max_share >= {math.ceil(self._n_users / self.n_items) / self._n_users:g}, "
                f"got {self.max_share!r}"
            )

    def _best_open_items(
        self, observations: NDArray[Any], is_full: NDArray[np.bool_]
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Best item with capacity left and its score, per row of ``observations``."""
        best = np.empty(len(observations), dtype=np.int64)
        best_scores = np.empty(len(observations))
        for chunk, scores, _ in _iter_scores(observations, self._item_table, self.max_chunk_bytes):
            scores[:, is_full] = -np.inf
            best[chunk] = scores.argmax(axis=1)
            best_scores[chunk] = scores[np.arange(len(scores)), best[chunk]]
        return best, best_scores

    def _assign(self, observations: NDArray[Any]) -> NDArray[np.int64]:
        """The capacity-constrained assignment, int64 ``(N,)`` (see the class docstring)."""
        actions = np.full(self._n_users, -1, dtype=np.int64)
        remaining = np.full(self.n_items, self.capacity, dtype=np.int64)
        unassigned = np.arange(self._n_users)
        while len(unassigned):
            proposals, scores = self._best_open_items(observations[unassigned], remaining == 0)
            # Group proposers by item; within an item, best score first, then lowest user.
            order = np.lexsort((unassigned, -scores, proposals))
            items = proposals[order]
            rank_in_item = np.arange(len(items)) - np.searchsorted(items, items)
            accepted = rank_in_item < remaining[items]
            actions[unassigned[order[accepted]]] = items[accepted]
            remaining -= np.bincount(items[accepted], minlength=self.n_items)
            unassigned = np.sort(unassigned[order[~accepted]])
        return actions

    def _choose(self, observations: NDArray[Any], states: NDArray[Any] | None) -> NDArray[Any]:
        return self._assign(observations)


# ---------------------------------------------------------------------------- registry

#: Built-in policies by registry name.
POLICIES: dict[str, type[Policy]] = {
    policy.name: policy
    for policy in (
        RandomPolicy,
        GreedyPolicy,
        OracleGreedyPolicy,
        EpsilonGreedyPolicy,
        SoftmaxPolicy,
        MassMediaPolicy,
        MostPopularPolicy,
        CollaborativeFilteringPolicy,
        ExposureConstrainedPolicy,
    )
}


def make_policy(name: str, **kwargs: Any) -> Policy:
    """Build a registered policy by name.

    Args:
        name: A key of :data:`POLICIES`, e.g. ``"epsilon_greedy"``.
        **kwargs: Constructor arguments of that policy.

    Returns:
        Policy: A new, unbound policy; call :meth:`Policy.reset` before using it.

    Raises:
        TypeError: If ``name`` is not a string, or a keyword is not accepted.
        ValueError: If ``name`` is not registered (the message lists the valid names).
    """
    check_choice(name, "name", tuple(POLICIES))
    return POLICIES[name](**kwargs)
