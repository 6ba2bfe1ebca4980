"""The shards' snapshots joined into the whole population's, and the whole's split again.

A population's snapshot (:meth:`recgym.core.Population.snapshot`) holds per-slot arrays
(``user_ids``, ``states``, the consumption memory, satiation, churn's state), one
generator state per block for each per-user stream, and global entries (the step, the
catalogue and its generator). Shards hold whole blocks, so the whole population's
snapshot is the shards' per-slot arrays and per-block lists concatenated in slot order,
with the global entries of the first shard (every shard replicates them); splitting is
slicing. A sharded environment's checkpoint is thereby exactly a single-process
environment's, and either restores into the other, with any number of shards.

The one entry not kept for every shard is the user model's ``random_``: the first
shard's is the whole population's, and the other shards' are not in the snapshot. A
model that can be sharded takes its random numbers from the per-block ``reward_draws``
(:class:`recgym.UserModel` does), so its ``random_`` is never drawn from.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from recgym._snapshot import copy_plain

__all__ = ["join_snapshots", "split_snapshot"]


def join_snapshots(
    parts: Sequence[Mapping[str, Any]], rows: Sequence[str], streams: Sequence[str]
) -> dict[str, Any]:
    """The whole population's snapshot from its shards', in slot order.

    Args:
        parts: The shards' snapshots, first slot first.
        rows: The per-slot entries (arrays ``(m, …)`` or None).
        streams: The per-block generator lists of ``"generators"``.

    Returns:
        dict: A snapshot of the whole population (``blocks["first_slot"]`` 0).
    """
    # The global entries are the first shard's (copies: what Ray returns is read-only).
    whole = {key: copy_plain(value) for key, value in parts[0].items() if key not in rows}
    whole["blocks"] = {**parts[0]["blocks"], "first_slot": 0}
    for name in rows:
        first = parts[0].get(name)
        whole[name] = None if first is None else np.concatenate([part[name] for part in parts])
    generators = whole["generators"]
    for name in streams:
        if name in generators:
            generators[name] = [
                copy_plain(state) for part in parts for state in part["generators"][name]
            ]
    whole["generators"] = generators
    return whole


def split_snapshot(
    whole: Mapping[str, Any],
    bounds: Sequence[int],
    block_size: int,
    rows: Sequence[str],
    streams: Sequence[str],
) -> list[dict[str, Any]]:
    """The shards' snapshots of a whole population's (validated) snapshot.

    Args:
        whole: A snapshot of the whole population.
        bounds: The shards' slot bounds (:func:`recgym._streams.shard_bounds`).
        block_size: Slots per block.
        rows: The per-slot entries.
        streams: The per-block generator lists of ``"generators"``.

    Returns:
        list[dict]: One snapshot per shard, with its slots, its blocks and the global
        entries.
    """
    parts = []
    generators = whole.get("generators")
    for start, stop in itertools.pairwise(bounds):
        part = dict(whole)
        part["blocks"] = {**whole["blocks"], "first_slot": start}
        for name in rows:
            if whole.get(name) is not None:
                part[name] = whole[name][start:stop]
        if isinstance(generators, Mapping):
            blocks = slice(start // block_size, -(-stop // block_size))
            part["generators"] = {
                name: state[blocks] if name in streams else state
                for name, state in generators.items()
            }
        parts.append(part)
    return parts
