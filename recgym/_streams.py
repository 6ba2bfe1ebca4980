"""Random streams organised in fixed blocks of users, so that no split of the work moves a draw.

Every per-user random draw of a :class:`~recgym.core.Population` (the user drawn into a
slot, the observation noise, the reward noise, the choice among a slate, leaving and
returning) comes from a generator that belongs to one **block** of ``block_size``
consecutive slots (:data:`BLOCK_SIZE` by default): the draws of slots
``[b·B, (b+1)·B)`` come from block ``b``'s generator, in slot order. Block ``b`` of
stream ``s`` is seeded by the child ``SeedSequence(entropy, spawn_key=(…, s, b))`` of the
environment's seed — a pure function of the seed, the stream and the block, never of the
number of users, of threads, or of the blocks a process holds. So a population of a
million users gives the same numbers whether its blocks are filled by one thread or
eight, and whether it runs in one process or as block-aligned shards in many.

Draws that are not per user — the catalogue's arrivals and retirements — come from one
generator (stream :data:`CATALOGUE`) that every shard replicates.

This module is pure numpy: the layout of blocks over a range of slots
(:class:`BlockLayout`), the seeding of the streams (:func:`block_generators`) and the
fills of buffers from them (:meth:`BlockLayout.fill`), optionally on threads (numpy's
generators release the GIL while they fill an array).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BLOCK_SIZE",
    "CATALOGUE",
    "CHOICES",
    "ENGAGEMENT",
    "OBSERVATIONS",
    "REWARDS",
    "STREAM_TAGS",
    "USERS",
    "BlockLayout",
    "block_generators",
    "child_sequence",
    "root_sequence",
    "shard_bounds",
]

#: Slots per block: 65,536. Chosen by measurement (docs/scaling.md): a block's fill of
#: observation noise at ``d = 5`` (327,680 normals) takes about 2–6 ms, so the Python
#: cost of a block (a few µs per stream and step) stays below 1 % of its work, while a
#: population of 10⁶ users still has 16 blocks to spread over threads and a shard of a
#: Ray cluster can be as small as one block. Changing it changes the numbers.
BLOCK_SIZE = 2**16

#: The streams' tags, the first spawn-key word of their seed sequences (the order of the
#: six children the population spawned before blocks: users, observations, the user
#: model's ``random_``, choices, engagement, catalogue).
USERS, OBSERVATIONS, REWARDS, CHOICES, ENGAGEMENT, CATALOGUE = range(6)

#: The per-block streams: attribute name → tag.
STREAM_TAGS = {
    "user_rng": USERS,
    "obs_rng": OBSERVATIONS,
    "reward_rng": REWARDS,
    "choice_rng": CHOICES,
    "engagement_rng": ENGAGEMENT,
}

_EXECUTORS: dict[int, ThreadPoolExecutor] = {}


def root_sequence(seed: int | np.random.SeedSequence | None) -> np.random.SeedSequence:
    """The root of a population's streams: ``seed`` itself if a ``SeedSequence``."""
    return seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)


def child_sequence(root: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """The child of ``root`` at spawn-key suffix ``key``, independent of ``root``'s spawns.

    ``child_sequence(root, s)`` is what ``root.spawn(6)[s]`` returns for a sequence that
    has not spawned yet, and ``child_sequence(root, s, b)`` its ``b``-th child; unlike
    ``spawn``, it does not depend on (or change) how many children ``root`` has spawned.
    """
    return np.random.SeedSequence(
        root.entropy, spawn_key=(*root.spawn_key, *key), pool_size=root.pool_size
    )


def block_generators(
    root: np.random.SeedSequence, tag: int, first_block: int, n_blocks: int
) -> list[np.random.Generator]:
    """The PCG64 generators of blocks ``first_block … first_block + n_blocks − 1`` of a stream."""
    return [
        np.random.default_rng(child_sequence(root, tag, block))
        for block in range(first_block, first_block + n_blocks)
    ]


def shard_bounds(n_slots: int, n_shards: int, block_size: int = BLOCK_SIZE) -> list[int]:
    """Block-aligned bounds that split ``n_slots`` slots into ``n_shards`` near-equal shards.

    Shard ``i`` holds slots ``[bounds[i], bounds[i + 1])``: whole blocks, the last shard
    ending at ``n_slots``; the shards' block counts differ by at most one.

    Args:
        n_slots: Slots of the whole population, ``>= 1``.
        n_shards: Number of shards, ``1 <= n_shards <=`` the number of blocks.
        block_size: Slots per block.

    Returns:
        list[int]: ``n_shards + 1`` increasing bounds from 0 to ``n_slots``.

    Raises:
        ValueError: If there are fewer blocks than shards.

    Example:
        >>> shard_bounds(10, 3, block_size=4)
        [0, 4, 8, 10]
        >>> shard_bounds(20, 2, block_size=4)
        [0, 12, 20]
    """
    n_blocks = -(-n_slots // block_size)
    if not 1 <= n_shards <= n_blocks:
        raise ValueError(
            f"`n_shards` must lie in [1, {n_blocks}] (a shard holds whole blocks of "
            f"{block_size} slots; {n_slots} slots make {n_blocks}), got {n_shards}"
        )
    blocks = [(n_blocks * i) // n_shards for i in range(n_shards + 1)]
    blocks = [n_blocks - blocks[n_shards - i] for i in range(n_shards + 1)]  # larger first
    return [min(block * block_size, n_slots) for block in blocks]


def _executor(threads: int) -> ThreadPoolExecutor:
    if threads not in _EXECUTORS:
        _EXECUTORS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="recgym-fill")
    return _EXECUTORS[threads]


class BlockLayout:
    """The blocks over a block-aligned range of slots ``[first_slot, first_slot + n_slots)``.

    Local slot ``i`` (row ``i`` of the population's arrays) is global slot
    ``first_slot + i`` and belongs to global block ``(first_slot + i) // block_size``,
    local block ``(first_slot + i) // block_size − first_block``.

    Args:
        first_slot: The global index of the first slot, a multiple of ``block_size``.
        n_slots: Number of slots in the range.
        block_size: Slots per block.
    """

    def __init__(self, first_slot: int, n_slots: int, block_size: int):
        self.block_size = block_size
        self.first_slot = first_slot
        self.n_slots = n_slots
        self.first_block = first_slot // block_size
        self.n_blocks = -(-(first_slot + n_slots) // block_size) - self.first_block
        #: Local row where each local block starts, and the end: int64 ``(n_blocks + 1,)``.
        self.bounds = np.minimum(np.arange(self.n_blocks + 1) * block_size, n_slots)

    def segments(self, rows: NDArray[np.integer[Any]] | None = None) -> list[tuple[int, int, int]]:
        """``(local block, start, stop)`` of every block holding some of ``rows``.

        Args:
            rows: Sorted local slot indices; None for every slot.

        Returns:
            list: ``rows[start:stop]`` (or slots ``start … stop − 1`` when ``rows`` is
            None) are the rows of that block, in order; blocks without rows are left out.
        """
        bounds = self.bounds
        if rows is None:
            return [(j, int(bounds[j]), int(bounds[j + 1])) for j in range(self.n_blocks)]
        if self.n_blocks == 1:
            return [(0, 0, len(rows))] if len(rows) else []
        cuts = np.searchsorted(rows, bounds)
        return [
            (j, int(cuts[j]), int(cuts[j + 1]))
            for j in range(self.n_blocks)
            if cuts[j] < cuts[j + 1]
        ]

    def fill(
        self,
        generators: list[np.random.Generator],
        out: NDArray[Any],
        kind: str,
        rows: NDArray[np.integer[Any]] | None = None,
        threads: int = 1,
    ) -> NDArray[Any]:
        """Fill ``out`` with draws of the slots ``rows``, each from its block's generator.

        Row ``r`` of ``out`` (all its ``out.shape[1:]`` values, in C order) holds the
        draws of slot ``rows[r]`` (of slot ``r`` when ``rows`` is None); each block's
        generator fills its rows in one call, so the draws of a block do not depend on
        the other blocks, nor on ``threads``.

        Args:
            generators: The stream's generators, one per local block.
            out: C-contiguous float32 or float64 array ``(len(rows), …)``, overwritten.
            kind: ``"normal"`` (standard normals) or ``"uniform"`` (uniforms in
                ``[0, 1)``), in ``out``'s dtype.
            rows: Sorted local slot indices, or None for every slot.
            threads: Fill the blocks on this many threads (numpy's generators release
                the GIL while filling).

        Returns:
            numpy.ndarray: ``out``.
        """
        dtype = out.dtype

        def normal(generator: np.random.Generator, part: NDArray[Any]) -> None:
            generator.standard_normal(out=part, dtype=dtype)

        def uniform(generator: np.random.Generator, part: NDArray[Any]) -> None:
            generator.random(out=part, dtype=dtype)

        draw: Callable[[np.random.Generator, NDArray[Any]], None] = (
            normal if kind == "normal" else uniform
        )
        segments = self.segments(rows)

        def run(group: list[tuple[int, int, int]]) -> None:
            for block, start, stop in group:
                draw(generators[block], out[start:stop])

        threads = min(threads, len(segments))
        if threads > 1:  # one task per thread: consecutive blocks of about equal size
            ends = np.cumsum([stop - start for _, start, stop in segments])
            cuts = np.searchsorted(ends, ends[-1] * np.arange(1, threads) / threads)
            groups = np.split(np.arange(len(segments)), cuts)
            tasks = [[segments[i] for i in group] for group in groups if len(group)]
            for _ in _executor(threads).map(run, tasks):
                pass
        else:
            run(segments)
        return out

    def integers(
        self,
        generators: list[np.random.Generator],
        high: int,
        rows: NDArray[np.integer[Any]] | None = None,
    ) -> NDArray[np.int64]:
        """Integers in ``[0, high)``, one per slot of ``rows`` (all slots when None), int64."""
        count = self.n_slots if rows is None else len(rows)
        out = np.empty(count, dtype=np.int64)
        for block, start, stop in self.segments(rows):
            out[start:stop] = generators[block].integers(0, high, size=stop - start)
        return out
