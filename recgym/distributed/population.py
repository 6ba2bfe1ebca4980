"""``ShardedPopulation``: a population whose slots live in Ray actors, one shard each.

The driver holds a :class:`ShardedPopulation`: a :class:`~recgym.core.Population` of the
whole population's slots whose arithmetic runs in the actors. Its shards are
:meth:`~recgym.core.Population.shard` s of block-aligned slot ranges
(:func:`~recgym._streams.shard_bounds`), each in one actor
(:class:`~recgym.distributed._worker.ShardWorker`). A call is:

* **scatter**: the driver validates the input (actions, states, as the single-process
  population does) and passes each shard its rows: Ray puts them into its object store
  once (small ones travel with the call), and the actor reads them zero-copy on its
  node; a node receives only its shards' rows;
* **compute**: every shard steps its rows, in parallel;
* **gather**: the driver fetches the shards' results (zero-copy views of the object
  store) shard by shard, first slot first, and concatenates them into the arrays the
  environment returns. It keeps what the environment reads (states, choices, churn's
  presence, the catalogue) as mirrors, exactly the whole population's.

Observations without observation noise are the clipped states: the driver computes
them from the gathered states (no draw is involved) rather than moving them twice.

Because every per-user random draw comes from its block's stream
(:mod:`recgym._streams`), the gathered arrays are bit for bit those of one process.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import ray
from numpy.typing import DTypeLike, NDArray
from ray.exceptions import RayError, RayTaskError

from recgym._snapshot import load_core_snapshot
from recgym._streams import root_sequence, shard_bounds
from recgym._validation import check_positive_int, check_seed
from recgym.config import PopulationConfig
from recgym.core import Population
from recgym.distributed._snapshots import join_snapshots, split_snapshot
from recgym.distributed._worker import ShardResult, ShardWorker
from recgym.user_model import accepts_keyword

__all__ = ["ShardedPopulation", "check_actor_options", "check_shardable"]

#: The actor class of a shard.
RemoteShard = ray.remote(ShardWorker)

#: Seconds :meth:`ShardedPopulation.close` waits for the actors to exit before killing them.
CLOSE_TIMEOUT = 30.0

#: The configuration's objects a shard receives, by the argument that set them.
_ARGUMENTS = {
    "user_model": "UserModel",
    "choice_model": "choice_model",
    "satiation": "satiation",
    "churn": "churn",
    "catalogue": "catalogue",
}


def check_shardable(config: PopulationConfig) -> None:
    """Refuse a configuration whose numbers would depend on how it is sharded.

    Raises:
        ValueError: For a ``social_graph`` (a user's neighbours may live in another
            shard) and for a ``UserModel`` whose ``batch_step`` takes no
            ``reward_draws`` (its draws would come from one generator consumed in slot
            order).
    """
    if config.social is not None:
        raise ValueError(
            "`social_graph` cannot be sharded: each user's preference moves toward their "
            "neighbours', who may live in another shard; run this population in one "
            "process (recgym.population.PopulationEnv), got a social graph of "
            f"{config.n_users} users"
        )
    model = type(config.user_model)
    if not accepts_keyword(model, "batch_step", "reward_draws"):
        raise ValueError(
            f"`UserModel` cannot be sharded: {model.__name__}.batch_step takes no "
            "`reward_draws`, so its random numbers would come from its own `random_`, one "
            "generator consumed in slot order, and depend on the split; use "
            "recgym.UserModel, or accept `reward_draws` (the environment's per-block "
            f"draws; a model that draws nothing can ignore them), got {model.__name__}"
        )


def check_actor_options(options: Any) -> dict[str, Any]:
    """``options`` as a dict of Ray actor options (``num_cpus``, ``resources``, …).

    Raises:
        TypeError: If ``options`` is not None or a mapping with string keys.
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping) or not all(isinstance(key, str) for key in options):
        raise TypeError(
            "`actor_options` must be None or a dict of Ray actor options (e.g. "
            f"{{'num_cpus': 1}}), got {options!r}"
        )
    return dict(options)


def _put(config: PopulationConfig) -> ray.ObjectRef:
    """``config`` in the object store, or a TypeError naming what does not serialise."""
    try:
        return ray.put(config)
    except Exception as error:  # Ray's serialiser raises several kinds
        for name, argument in _ARGUMENTS.items():
            value = getattr(config, name)
            try:
                ray.cloudpickle.dumps(value)
            except Exception as cause:
                raise TypeError(
                    f"`{argument}` cannot be sent to the Ray actors: "
                    f"{type(value).__name__} does not pickle ({type(cause).__name__}: "
                    f"{cause}); keep only picklable state in it (numbers, numpy arrays, "
                    f"numpy generators), got {value!r}"
                ) from cause
        raise TypeError(f"the configuration cannot be sent to the Ray actors: {error}") from error


def _gather(refs: Sequence[ray.ObjectRef]) -> list[Any]:
    """The results of ``refs``, first shard first; an actor's exception as itself.

    An exception raised inside an actor reaches the driver as a ``RayTaskError``; it is
    raised here as the original exception (same type, same message), chained to the
    ``RayTaskError`` that holds the actor's traceback. When several shards fail, the
    first shard's exception is raised — the one the single-process population meets
    first, in slot order.
    """
    try:
        return list(ray.get(list(refs)))  # one round trip to the object store
    except RayTaskError:  # find the first shard that failed
        return [_get(ref) for ref in refs]


def _get(ref: ray.ObjectRef) -> Any:
    """``ray.get(ref)``, raising an actor's exception as the original one (see ``_gather``)."""
    try:
        return ray.get(ref)
    except RayTaskError as error:
        cause = error.cause
        if isinstance(cause, Exception) and not isinstance(cause, RayError):
            raise cause from error
        raise


def _frozen(array: NDArray[Any]) -> NDArray[Any]:
    array.flags.writeable = False
    return array


class ShardedPopulation(Population):
    """A :class:`~recgym.core.Population` of ``config.n_users`` slots, sharded over Ray actors.

    Every method of a population works and returns exactly what one process returns
    for the same seed and the same calls; the arithmetic runs in the actors. Its
    attributes ``states``, ``user_ids``, ``choices``, ``consumed_items``, ``active``,
    ``left``, ``returned``, ``visits``, ``available`` and ``t`` are the driver's
    mirrors of the whole population's, refreshed by every call; the per-user state the
    driver never reads (consumption memory, satiation, satisfaction) stays in the
    shards (None here; :meth:`snapshot` gathers it).

    Args:
        config: The validated configuration.
        dtype: float64 (default) or float32.
        n_shards: Number of shards (actors), at most the number of blocks of
            ``config.block_size`` slots.
        actor_options: Options of every actor (``ray.remote(...).options(**actor_options)``),
            e.g. ``{"num_cpus": 1}``; None: Ray's defaults.
        slots_argument: The argument that set the number of slots, for messages.

    Raises:
        TypeError: If an argument is of the wrong kind, or a part of the configuration
            does not pickle (named by its argument).
        ValueError: If ``n_shards`` is out of range, or the configuration cannot be
            sharded (see :func:`check_shardable`).
    """

    def __init__(
        self,
        config: PopulationConfig,
        dtype: DTypeLike = np.float64,
        *,
        n_shards: int,
        actor_options: Mapping[str, Any] | None = None,
        slots_argument: str = "n_users",
    ):
        n_shards = check_positive_int(n_shards, "n_shards")
        options = check_actor_options(actor_options)
        check_shardable(config)
        super().__init__(config, config.n_users, dtype, slots_argument=slots_argument)
        #: The shards' slot bounds: shard ``i`` holds slots ``[bounds[i], bounds[i + 1])``.
        self.bounds = shard_bounds(self.n_slots, n_shards, config.block_size)
        # The shards run on the whole population's engine, not on one of their own size.
        reference = _put(dataclasses.replace(config, engine=self.engine))
        actor = RemoteShard.options(**options) if options else RemoteShard
        self.workers: list[Any] = [
            actor.remote(reference, self.n_slots, start, stop, self.dtype)
            for start, stop in itertools.pairwise(self.bounds)
        ]
        self._call("ready")  # the actors are built (or their errors raised) here

    @property
    def n_shards(self) -> int:
        """Number of shards."""
        return len(self.bounds) - 1

    # --- scatter and gather -------------------------------------------------------------

    def _check_open(self) -> None:
        if not self.workers:
            raise RuntimeError(
                "the sharded population is closed: its Ray actors were released by "
                "`close()`; build a new environment"
            )

    def _call(self, method: str, *arguments: Sequence[Any]) -> list[Any]:
        """``method`` on every shard, shard ``i`` with the ``i``-th of each argument list."""
        self._check_open()
        per_shard = zip(*arguments) if arguments else itertools.repeat(())
        refs = [
            getattr(worker, method).remote(*args) for worker, args in zip(self.workers, per_shard)
        ]
        return _gather(refs)

    def _scatter(self, array: NDArray[Any]) -> list[NDArray[Any]]:
        """Each shard's rows of ``array`` ``(n_slots, …)``, as the arguments of its call.

        Ray sends a small argument (under 100 KiB) with the call and puts a larger one
        into the object store once, where the actor reads it zero-copy; each shard gets
        its own rows only (a node receives the rows of its shards, not the whole array).
        Measured against putting the whole array once and slicing in the actors, and
        against an explicit ``ray.put`` per shard: the same at 10⁶ users and more, 1–2 ms
        faster per step at 10⁴ (see docs/scaling.md).
        """
        return [array[start:stop] for start, stop in itertools.pairwise(self.bounds)]

    def _split_rows(self, rows: NDArray[np.intp]) -> list[tuple[slice, NDArray[np.intp]]]:
        """For each shard: the part of the sorted slots ``rows`` in it, as local slots."""
        cuts = np.searchsorted(rows, self.bounds)
        return [
            (slice(int(a), int(b)), rows[a:b] - start)
            for a, b, start in zip(cuts[:-1], cuts[1:], self.bounds[:-1])
        ]

    def _join(self, parts: Sequence[NDArray[Any]]) -> NDArray[Any]:
        """The shards' arrays concatenated in slot order, into an array nobody else holds.

        The array comes from the population's recycler (:mod:`recgym._buffers`): an
        earlier one that nothing references any more, else a new one; reusing it spares
        the page faults of a fresh allocation, half the cost of the copy.
        """
        rows = sum(len(part) for part in parts)
        out = self.buffers.take((rows, *parts[0].shape[1:]), parts[0].dtype)
        return np.concatenate(parts, out=out)

    def _joined(
        self, results: Sequence[ShardResult], field: str, frozen: bool = True
    ) -> NDArray[Any] | None:
        """A field of the shards' results, joined (read-only if ``frozen``); None if absent."""
        parts = [getattr(result, field) for result in results]
        if parts[0] is None:
            return None
        joined = self._join(parts)
        return _frozen(joined) if frozen else joined

    def _mirror(self, results: Sequence[ShardResult]) -> None:
        """Refresh the driver's mirrors of states, presence and catalogue."""
        states = self._joined(results, "states")
        assert states is not None
        self.states = states
        if self.config.churn is not None:
            self.active = self._joined(results, "active", frozen=False)
            self.visits = self._joined(results, "visits", frozen=False)
            self.left = self._joined(results, "left")
            self.returned = self._joined(results, "returned")
        if self.config.catalogue is not None:
            available = results[0].available
            assert available is not None
            self.available = available.copy()
            self.next_item = results[0].next_item

    def _observations(self, results: Sequence[ShardResult]) -> NDArray[Any]:
        """The observations of every slot: gathered, or the clipped states without noise."""
        if self.obs_std == 0.0:
            return super().observe()
        return self._join([r.observations for r in results if r.observations is not None])

    # --- the population's interface ----------------------------------------------------

    def seed(self, seed: int | np.random.SeedSequence | None) -> None:
        """Seed every shard from one root sequence (None: fresh OS entropy, drawn once here).

        Raises:
            TypeError: If ``seed`` is not None, an integer or a ``SeedSequence``.
            ValueError: If ``seed`` is a negative integer.
        """
        if not isinstance(seed, np.random.SeedSequence):
            seed = check_seed(seed, "seed")
        root = root_sequence(seed)
        self._call("seed", [root] * self.n_shards)
        self.seeded = True

    def sample_users(self, slots: NDArray[np.intp] | None = None) -> NDArray[np.int64]:
        """One pool user per slot (or per slot of the sorted ``slots``), drawn by the shards."""
        if slots is None:
            return self._join(self._call("sample_users"))
        parts = self._split_rows(np.asarray(slots))
        return self._join(self._call("sample_users", [local for _, local in parts]))

    def reset(self, user_ids: NDArray[np.int64]) -> NDArray[Any]:
        """Put the given pool users into the slots; return their first observations."""
        results: list[ShardResult] = self._call("reset", self._scatter(user_ids))
        self.user_ids = _frozen(user_ids)
        self.t = 0
        self.choices = self.consumed_items = self.left = self.returned = None
        self._mirror(results)
        return self._observations(results)

    def reset_slots(self, slots: NDArray[np.intp], user_ids: NDArray[np.int64]) -> None:
        """Start new users in the sorted ``slots``; the other slots are untouched."""
        slots = np.asarray(slots)
        user_ids = np.asarray(user_ids, dtype=np.int64)
        parts = self._split_rows(slots)
        results: list[ShardResult] = self._call(
            "reset_slots", [local for _, local in parts], [user_ids[part] for part, _ in parts]
        )
        ids = self.current_user_ids().copy()
        ids[slots] = user_ids
        self.user_ids = _frozen(ids)
        left, returned = self.left, self.returned
        self._mirror(results)
        self.left, self.returned = left, returned

    def set_states(self, states: NDArray[Any]) -> None:
        """Replace the true states by ``states`` ``(n_slots, d)`` (validated by the caller)."""
        copy = states.astype(self.dtype, copy=True)
        self._call("set_states", self._scatter(copy))
        self.states = _frozen(copy)

    def observe(self, slots: NDArray[np.intp] | None = None) -> NDArray[Any]:
        """Observations of every slot (or of the sorted ``slots``), ``(m, d)``.

        With observation noise the shards draw it, each slot from its block's stream;
        without, the driver clips its mirror of the states.
        """
        if self.obs_std == 0.0:
            return super().observe(slots)
        if slots is None:
            return self._join(self._call("observe"))
        parts = self._split_rows(np.asarray(slots))
        return self._join(self._call("observe", [local for _, local in parts]))

    def utilities(
        self, slates: NDArray[np.int64], rows: NDArray[np.intp] | None = None
    ) -> NDArray[Any]:
        """The utility of each item of each slate, computed by the shards, ``(m, k)``."""
        if rows is None:
            return self._join(
                self._call("utilities", self._scatter(slates), [None] * self.n_shards)
            )
        parts = self._split_rows(np.asarray(rows))
        return self._join(
            self._call(
                "utilities", [slates[part] for part, _ in parts], [local for _, local in parts]
            )
        )

    def step(self, actions: NDArray[np.int64]) -> tuple[NDArray[Any], NDArray[Any]]:
        """Step every shard on its rows of the actions; the whole population's results.

        Args:
            actions: Validated int64 actions ``(n_slots,)`` or slates ``(n_slots, k)``.

        Returns:
            tuple: ``(observations (n_slots, d), rewards (n_slots,))``, new arrays.

        Raises:
            ValueError: If a present user's slate holds an unavailable item (checked
                here, before any shard moves), or an actor raises one (a user model's
                invalid output): the actor's own exception, as one process raises it.
        """
        if not self._plain:
            self.check_available(actions)
        results: list[ShardResult] = self._call("step", self._scatter(actions))
        rewards = self._join([result.rewards for result in results if result.rewards is not None])
        self._mirror(results)
        if self._plain:  # the shards did not send what the driver knows
            self.choices = self._position_zero
            self.consumed_items = _frozen(np.array(actions, dtype=np.int64))
        else:
            self.choices = self._joined(results, "choices")
            self.consumed_items = self._joined(results, "items")
        self.t += 1
        return self._observations(results), rewards

    # --- checkpoints ---------------------------------------------------------------------

    def _row_entries(self) -> list[str]:
        """The snapshot's per-slot entries."""
        per_slot = [name for name in self._state_arrays() if name != "available"]
        return ["user_ids", "states", *per_slot]

    def snapshot(self) -> dict[str, Any]:
        """The whole population's snapshot, joined from the shards' (see ``Population``)."""
        parts = self._call("snapshot")
        return join_snapshots(parts, self._row_entries(), self._stream_names())

    def check_snapshot(self, saved: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a whole population's snapshot and split it for the shards; change nothing.

        Raises:
            ValueError: On a malformed or mismatching entry, named in the message.
        """
        checked = super().check_snapshot(saved)
        checked["shards"] = split_snapshot(
            saved, self.bounds, self.config.block_size, self._row_entries(), self._stream_names()
        )
        return checked

    def load_snapshot(self, checked: dict[str, Any]) -> None:
        """Load the result of :meth:`check_snapshot` into the shards and the mirrors."""
        self._call("restore", checked["shards"])
        load_core_snapshot(self, checked)
        self.active, self.visits = checked.get("active"), checked.get("visits")
        self.available = checked.get("available")
        self.next_item = checked.get("next_item", 0)
        self.choices = self.consumed_items = self.left = self.returned = None

    # --- lifetime ------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the actors and wait until they have stopped; safe to call any number of times.

        Each actor finishes what it was asked, then exits (releasing its memory); one
        still running after :data:`CLOSE_TIMEOUT` seconds is killed. Nothing is left to
        stop once Ray has shut down.
        """
        workers, self.workers = self.workers, []
        if not workers or not ray.is_initialized():
            return
        ends = [worker.__ray_terminate__.remote() for worker in workers]
        ray.wait(ends, num_returns=len(ends), timeout=CLOSE_TIMEOUT)
        for worker in workers:  # a no-op for the actors that have exited
            ray.kill(worker)

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError(
            "a sharded population cannot be pickled: its users live in Ray actors; take a "
            "`checkpoint()` of the environment and `restore` it into a new one (sharded or "
            "not) instead"
        )
