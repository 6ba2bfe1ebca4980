"""Snapshots of populations as plain data: generator states and validated entries.

The low level of checkpoints (:mod:`recgym.checkpoint`): the state of a numpy generator
as plain data and back, deep copies of plain data, and the checks every population core
(:class:`~recgym.core.PopulationCore`) applies to the entries of its own snapshot before
anything changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from recgym.config import PopulationConfig

__all__ = [
    "check_core_snapshot",
    "check_entry_array",
    "check_entry_int",
    "check_generator_entries",
    "copy_plain",
    "generator_from_state",
    "generator_state",
    "load_core_snapshot",
]

_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


# --- generators --------------------------------------------------------------------------


def generator_state(generator: Any) -> dict[str, Any] | None:
    """The state of a numpy generator as plain data (None for None).

    Args:
        generator: A ``numpy.random.Generator`` (any of numpy's bit generators), a
            legacy ``numpy.random.RandomState`` or None.

    Returns:
        dict: ``{"kind": "Generator" | "RandomState", "state": ...}`` with numpy's own
        state dict (``bit_generator.state`` or ``RandomState.get_state(legacy=False)``),
        arrays copied.

    Raises:
        TypeError: For any other kind of generator.
    """
    if generator is None:
        return None
    if isinstance(generator, np.random.Generator):
        return {"kind": "Generator", "state": copy_plain(generator.bit_generator.state)}
    if isinstance(generator, np.random.RandomState):
        return {"kind": "RandomState", "state": copy_plain(generator.get_state(legacy=False))}
    raise TypeError(
        "only numpy.random.Generator and numpy.random.RandomState can be checkpointed, got "
        f"{type(generator).__name__} (pickle the environment instead)"
    )


def generator_from_state(data: Any, name: str = "generator") -> Any:
    """A new generator in the state :func:`generator_state` recorded (None for None).

    Raises:
        ValueError: If ``data`` is not such a state; ``name`` says which.
    """
    if data is None:
        return None
    try:
        kind, state = data["kind"], data["state"]
        if kind == "Generator" and state["bit_generator"] in _BIT_GENERATORS:
            bit_generator = getattr(np.random, state["bit_generator"])(0)
            bit_generator.state = state
            return np.random.Generator(bit_generator)
        if kind == "RandomState" and state["bit_generator"] == "MT19937":
            generator = np.random.RandomState(0)
            generator.set_state(state)
            return generator
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"checkpoint entry {name} is not a generator state: {error!r}") from None
    raise ValueError(
        f"checkpoint entry {name} is not a generator state: unknown kind or bit generator"
    )


def copy_plain(value: Any) -> Any:
    """A deep copy of nested dicts, lists and arrays (arrays copied, scalars as Python)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {key: copy_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [copy_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def check_entry_array(
    value: Any, label: str, shape: tuple[int, ...], dtype: np.dtype[Any]
) -> NDArray[Any]:
    """A copy of the checkpoint entry ``label`` if it is an array of ``shape`` and ``dtype``.

    Raises:
        ValueError: Otherwise, naming ``label``.
    """
    if not isinstance(value, np.ndarray) or value.shape != shape or value.dtype != dtype:
        got = (
            f"shape {value.shape} and dtype {value.dtype}"
            if isinstance(value, np.ndarray)
            else type(value).__name__
        )
        raise ValueError(
            f"checkpoint entry {label} must be an array of shape {shape} and "
            f"dtype {dtype}, got {got}"
        )
    return value.copy()


def check_entry_int(value: Any, label: str, low: int, high: int) -> int:
    """The checkpoint entry ``label`` as an int if it is an integer in ``[low, high]``.

    Raises:
        ValueError: Otherwise, naming ``label``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"checkpoint entry {label} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"checkpoint entry {label} must lie in [{low}, {high}], got {value!r}")
    return int(value)


def check_core_snapshot(
    saved: Mapping[str, Any], n_slots: int, config: PopulationConfig, dtype: np.dtype[Any]
) -> dict[str, Any]:
    """Validate the entries every core's snapshot has: ``t``, ``seeded``, ``states``, ``user_ids``.

    Returns:
        dict: Those entries as new, validated objects (arrays copied).

    Raises:
        ValueError: On a malformed or mismatching entry, named in the message.
    """
    t = check_entry_int(saved.get("t"), "population['t']", 0, config.step_per_episode)
    seeded = saved.get("seeded")
    if not isinstance(seeded, (bool, np.bool_)):
        raise ValueError(f"checkpoint entry population['seeded'] must be a bool, got {seeded!r}")
    states, user_ids = saved.get("states"), saved.get("user_ids")
    if (states is None) != (user_ids is None):
        raise ValueError(
            "checkpoint entries population['states'] and population['user_ids'] must be "
            "both arrays or both None"
        )
    if states is not None:
        d = config.user_feature_dim
        states = check_entry_array(states, "population['states']", (n_slots, d), dtype)
        if not np.isfinite(states).all():
            raise ValueError("checkpoint entry population['states'] holds NaN or inf")
        user_ids = check_entry_array(
            user_ids, "population['user_ids']", (n_slots,), np.dtype(np.int64)
        )
        if user_ids.min() < 0 or user_ids.max() >= config.n_users:
            raise ValueError(
                f"checkpoint entry population['user_ids'] must lie in [0, {config.n_users})"
            )
    return {"t": t, "seeded": bool(seeded), "states": states, "user_ids": user_ids}


def check_generator_entries(
    generators: Any, wanted: list[str], blocks: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """New generators from a snapshot's ``generators`` entry.

    It must hold exactly the generators ``wanted`` and ``"user_model"``. A name in
    ``blocks`` is a stream organised in blocks of users (:mod:`recgym._streams`): its
    entry is a list of exactly ``blocks[name]`` generator states, one per block, and
    becomes a list of generators.

    Raises:
        ValueError: Otherwise, or on a malformed generator state.
    """
    if not isinstance(generators, Mapping):
        raise ValueError(
            f"checkpoint entry population['generators'] must be a dict, got {generators!r}"
        )
    names = [name for name in generators if name != "user_model"]
    if sorted(names) != sorted(wanted) or "user_model" not in generators:
        raise ValueError(
            "checkpoint entry population['generators'] must hold "
            f"{[*wanted, 'user_model']}, got {list(generators)}"
        )
    blocks = blocks or {}
    checked: dict[str, Any] = {}
    for name, value in generators.items():
        label = f"population['generators'][{name!r}]"
        if name not in blocks:
            checked[name] = generator_from_state(value, label)
            continue
        if not isinstance(value, (list, tuple)) or len(value) != blocks[name]:
            got = f"{len(value)} entries" if isinstance(value, (list, tuple)) else repr(value)
            raise ValueError(
                f"checkpoint entry {label} must be a list of {blocks[name]} generator states "
                f"(one per block of users), got {got}"
            )
        if not value or any(state is None for state in value):
            raise ValueError(f"checkpoint entry {label} must hold a generator state per block")
        streams = [
            generator_from_state(state, f"{label}[{block}]") for block, state in enumerate(value)
        ]
        if not all(isinstance(stream, np.random.Generator) for stream in streams):
            raise ValueError(
                f"checkpoint entry {label} must hold numpy.random.Generator states, got a "
                "RandomState"
            )
        checked[name] = streams
    return checked


def load_core_snapshot(population: Any, checked: dict[str, Any]) -> None:
    """Apply the entries :func:`check_core_snapshot` validated to ``population``."""
    for name in ("states", "user_ids"):  # as the core's own: never written into again
        if checked[name] is not None:
            checked[name].flags.writeable = False
    population.t = checked["t"]
    population.seeded = checked["seeded"]
    population.states = checked["states"]
    population.user_ids = checked["user_ids"]
