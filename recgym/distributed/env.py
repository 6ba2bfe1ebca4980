"""``ShardedPopulationEnv``: a ``PopulationEnv`` whose users are stepped in Ray actors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import DTypeLike

from recgym._validation import check_positive_int
from recgym.config import EnvArguments, signature_with_arguments
from recgym.core import Population
from recgym.distributed.population import ShardedPopulation, check_actor_options
from recgym.population.env import PopulationEnv

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["ShardedPopulationEnv"]


class ShardedPopulationEnv(PopulationEnv):
    """A :class:`~recgym.population.PopulationEnv` whose users live in ``n_shards`` Ray actors.

    ## Description
    The same environment as ``PopulationEnv(**arguments)`` — the same spaces, agents,
    dict and array APIs, infos, episode ends, render modes and checkpoints — with its
    users split into ``n_shards`` block-aligned ranges of slots, each stepped by one Ray
    actor. For the same seed and actions every observation, reward, flag and info is
    **bit for bit** the single-process environment's, whatever ``n_shards``: every
    per-user random draw comes from the stream of its block of ``block_size`` users
    (see ``docs/reproducibility.md``), and a shard holds whole blocks.

    ## How a step runs
    ``step_batch(actions)`` validates the actions on the driver (the same checks and
    messages as ``PopulationEnv``), puts each shard's rows into Ray's object store,
    lets every actor step its users in parallel, then gathers and concatenates the
    shards' results. Policies, metrics and the rollout tools (``simulate``,
    ``run_seeds``, ``collect_logged_dataset``) run on the driver, over the gathered
    arrays, unchanged: a policy that needs global statistics (most popular,
    collaborative filtering, mass media, exposure caps) sees every user as in one
    process. See ``docs/scaling.md`` for when sharding pays and for clusters.

    ## What cannot be sharded
    A ``social_graph`` (a user's neighbours may live in another shard) and a
    ``UserModel`` whose ``batch_step`` takes no ``reward_draws`` (its draws would come
    from one generator consumed in slot order) are refused with a ``ValueError``;
    user, choice and engagement models must pickle, to be sent to the actors
    (``TypeError`` otherwise). Both are checked at construction, before any actor
    starts.

    ## Errors
    Bad input is refused on the driver before any shard moves, with the messages of
    ``PopulationEnv``. An exception raised inside an actor (a custom user model's
    invalid output) is raised on the driver as itself — same type, same message —
    chained to Ray's ``RayTaskError`` that carries the actor's traceback; the shards
    may then disagree on the step reached, so ``reset`` before going on.

    ## Checkpoints and pickling
    :meth:`checkpoint` gathers the shards' snapshots into exactly the checkpoint of a
    ``PopulationEnv``: it restores into a ``PopulationEnv`` built with the same
    arguments, or into a ``ShardedPopulationEnv`` with any number of shards, and
    either's checkpoint restores here. The environment does not pickle (its users live
    in actors): checkpoint it instead.

    ## Lifetime
    The actors start at construction (in the Ray session of ``ray.init``; Ray starts a
    local one with its defaults if none is running) and stop at :meth:`close`, or
    when the environment is garbage-collected.

    ## Arguments
    The arguments of :class:`~recgym.population.PopulationEnv`, plus:

    Args:
        n_shards: Number of actors, from 1 to the number of blocks of ``block_size``
            users (``ceil(n_users / block_size)``).
        actor_options: Ray options of every actor, as ``ray.remote(...).options``
            takes them (e.g. ``{"num_cpus": 1}`` to reserve a CPU for each, or a
            ``scheduling_strategy``); None: Ray's defaults (1 CPU to be placed, none
            held while running, so more actors than CPUs can run).
        dtype: ``numpy.float64`` (default) or ``numpy.float32``.
        render_mode: As ``PopulationEnv``'s.
        max_cycles: As ``PopulationEnv``'s.

    Raises:
        TypeError: A wrong kind of argument, or a model that does not pickle.
        ValueError: A wrong value, ``n_shards`` out of range, or a configuration that
            cannot be sharded.
    """

    metadata: ClassVar[dict[str, Any]] = {
        **PopulationEnv.metadata,
        "name": "recgym_sharded_population_v0",
    }
    # Its checkpoints are a PopulationEnv's: each restores the other's.
    _checkpoint_environment: ClassVar[str | None] = "PopulationEnv"

    def __init__(
        self,
        *,
        n_shards: int,
        actor_options: Mapping[str, Any] | None = None,
        dtype: DTypeLike = np.float64,
        render_mode: str | None = None,
        max_cycles: int | None = None,
        **arguments: Unpack[EnvArguments],
    ):
        self.n_shards = check_positive_int(n_shards, "n_shards")
        self.actor_options = check_actor_options(actor_options)
        self._shards: ShardedPopulation | None = None
        super().__init__(dtype=dtype, render_mode=render_mode, max_cycles=max_cycles, **arguments)

    def _make_population(self, dtype: DTypeLike) -> Population:
        self._shards = ShardedPopulation(
            self.config, dtype, n_shards=self.n_shards, actor_options=self.actor_options
        )
        return self._shards

    @property
    def shard_bounds(self) -> list[int]:
        """Shard ``i`` holds users ``[shard_bounds[i], shard_bounds[i + 1])``."""
        assert self._shards is not None
        return list(self._shards.bounds)

    def close(self) -> None:
        """Stop the actors and release their memory; safe to call any number of times.

        After ``close``, ``reset`` and ``step`` raise a ``RuntimeError``.
        """
        if self._shards is not None:
            self._shards.close()

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError(
            "a ShardedPopulationEnv cannot be pickled: its users live in Ray actors; take "
            "`env.checkpoint()` and `restore` it into a new environment (sharded or not) "
            "instead"
        )


ShardedPopulationEnv.__init__.__signature__ = signature_with_arguments(  # type: ignore[attr-defined]
    ShardedPopulationEnv.__init__
)
