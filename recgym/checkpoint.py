"""Checkpoints of recgym environments: a mid-episode snapshot as plain data.

Every environment — :class:`~recgym.population.PopulationEnv`, :class:`~recgym.RECEnv`
(``legacy=True`` included) and :class:`~recgym.RECVectorEnv` — has

* :meth:`Checkpointable.checkpoint`: a dict of plain data (nested dicts of numpy arrays,
  Python ints, floats, bools, strings and None; no object references) holding everything
  the continuation depends on: the true states, the users in the slots, the step counter,
  whether the episode is live (or a vector autoreset is pending), the state of every
  random generator (the user draws, the observation noise, the user model's ``random_``,
  Gymnasium's ``np_random``) and what ``render`` shows;
* :meth:`Checkpointable.restore`: put the environment back into that state. The
  environment may be the one the checkpoint came from or a new one built with the same
  constructor arguments; either way every later ``reset``/``step`` returns exactly the
  numbers an uninterrupted run returns;
* :meth:`Checkpointable.save_checkpoint` / :meth:`Checkpointable.load_checkpoint`: the
  same through a ``.npz`` file (no pickle), written atomically.

The names follow the environments' conventions: PettingZoo's ``state()`` and
``RECEnv.state`` already mean the users' true preferences, so the snapshot is a
*checkpoint*, not a "state".

What a checkpoint does not hold: the constructor arguments (build the environment
again), the spaces' own generators (``action_space.sample()``), Gymnasium wrappers'
counters (checkpoint ``env.unwrapped``), and any state a custom user model keeps besides
its ``random_`` generator. ``pickle`` captures all of an environment; a checkpoint is
smaller, portable and safe to load.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_path

if TYPE_CHECKING:
    from recgym.config import PopulationConfig
    from recgym.core import PopulationCore

__all__ = [
    "CHECKPOINT_FORMAT",
    "Checkpointable",
    "check_core_snapshot",
    "check_entry_array",
    "check_entry_int",
    "check_generator_entries",
    "copy_plain",
    "generator_from_state",
    "generator_state",
    "load_core_snapshot",
    "read_checkpoint",
    "write_checkpoint",
]

#: The ``"format"`` entry of every checkpoint.
CHECKPOINT_FORMAT = "recgym.checkpoint"
_VERSION = 1
_HEADER = "__recgym_checkpoint__"
_ARRAY_REF = "__array__"
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
# The configuration fields a checkpoint must agree on (PopulationConfig's scalars).
_CONFIG_FIELDS = (
    "step_per_episode",
    "n_items",
    "n_users",
    "item_feature_dim",
    "user_feature_dim",
    "reward_type",
    "reward_std",
    "obs_std",
    "feature_normalization",
    "random_state",
)


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


# --- the mixin ---------------------------------------------------------------------------


class Checkpointable:
    """Checkpoint and restore for the environments (mixed into each of them).

    Subclasses name in :attr:`_checkpoint_attributes` their own attributes the
    continuation depends on, each with its kind (``"bool"``, ``"int"``, ``"float"``,
    ``"array"`` or ``"generator"``; all but ``"bool"`` may be None), and in
    :attr:`_checkpoint_settings` the constructor arguments beyond the configuration that
    a checkpoint must match. The population lives in ``self._population`` and the
    configuration in ``self.config``.
    """

    _checkpoint_attributes: ClassVar[dict[str, str]] = {}
    _checkpoint_settings: ClassVar[tuple[str, ...]] = ()
    _population: PopulationCore
    config: PopulationConfig

    def checkpoint(self) -> dict[str, Any]:
        """A snapshot of everything the continuation depends on, as plain data.

        Returns:
            dict: ``{"format", "version", "environment", "settings", "population",
            "environment_state"}``; arrays are copies, so the snapshot does not change
            when the environment moves on. Save it with :func:`write_checkpoint` (or
            :meth:`save_checkpoint`) or with ``numpy.savez`` after flattening.

        Raises:
            TypeError: If the user model's ``random_`` is not a numpy generator.
        """
        return {
            "format": CHECKPOINT_FORMAT,
            "version": _VERSION,
            "environment": type(self).__name__,
            "settings": self._settings(),
            "population": self._population.snapshot(),
            "environment_state": {
                name.lstrip("_"): (
                    generator_state(getattr(self, name))
                    if kind == "generator"
                    else copy_plain(getattr(self, name))
                )
                for name, kind in self._checkpoint_attributes.items()
            },
        }

    def restore(self, checkpoint: Mapping[str, Any]) -> None:
        """Put the environment into the state of ``checkpoint``.

        Everything is checked before anything changes: a rejected checkpoint leaves the
        environment as it was. The checkpoint itself is not modified and can be restored
        any number of times.

        Args:
            checkpoint: A dict from :meth:`checkpoint` (or :func:`read_checkpoint`) of an
                environment of the same class built with the same arguments.

        Raises:
            ValueError: If ``checkpoint`` is not a recgym checkpoint, comes from another
                kind of environment or from different settings (the differing ones are
                named), or holds malformed entries.
        """
        _check_header(checkpoint, type(self).__name__)
        _check_settings(checkpoint["settings"], self._settings())
        population = self._population.check_snapshot(checkpoint["population"])
        attributes = _check_attributes(
            checkpoint.get("environment_state"), self._checkpoint_attributes
        )
        self._population.load_snapshot(population)
        for name, value in attributes.items():
            setattr(self, name, value)
        self._on_restore()

    def save_checkpoint(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`checkpoint` to a ``.npz`` file (no pickle), atomically.

        Returns:
            pathlib.Path: ``path``.

        Raises:
            TypeError: If ``path`` is not a str or os.PathLike.
        """
        return write_checkpoint(self.checkpoint(), path)

    def load_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Restore the checkpoint saved at ``path`` by :meth:`save_checkpoint`.

        Raises:
            TypeError: If ``path`` is not a str or os.PathLike.
            FileNotFoundError: If there is no file at ``path``.
            ValueError: If the file is not a recgym checkpoint or does not match this
                environment (see :meth:`restore`).
        """
        self.restore(read_checkpoint(path))

    def _on_restore(self) -> None:
        """Rebuild what derives from the restored attributes (a hook)."""

    def _settings(self) -> dict[str, Any]:
        config = self.config
        population = self._population
        settings: dict[str, Any] = {name: getattr(config, name) for name in _CONFIG_FIELDS}
        settings["user_model"] = _describe_model(population.user_model)
        settings["dtype"] = np.dtype(population.dtype).name
        settings["slots"] = int(population.n_slots)
        for name in self._checkpoint_settings:
            settings[name] = getattr(self, name)
        settings["features_sha256"] = self._features_sha256()
        return settings

    def _features_sha256(self) -> str:
        # The tables never change: hash them once per environment.
        digest = self.__dict__.get("_checkpoint_features_sha256")
        if digest is None:
            hasher = hashlib.sha256()
            for table in (self.config.user_features, self.config.item_features):
                hasher.update(np.ascontiguousarray(table, dtype=np.float64).tobytes())
            digest = self.__dict__["_checkpoint_features_sha256"] = hasher.hexdigest()
        return digest


def _describe_model(model: Any) -> dict[str, Any]:
    """The user model's class and scalar dataclass fields (what must match)."""
    cls = type(model)
    fields = getattr(model, "__dataclass_fields__", {})
    values = {
        name: getattr(model, name)
        for name in fields
        if isinstance(getattr(model, name, None), (bool, int, float, str, type(None)))
    }
    return {"class": f"{cls.__module__}.{cls.__qualname__}", "fields": values}


# --- checks (nothing changes until everything passed) ----------------------------------


def _check_header(checkpoint: Any, environment: str) -> None:
    if not isinstance(checkpoint, Mapping) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        got = type(checkpoint).__name__
        if isinstance(checkpoint, Mapping):
            got = f"a {got} with format {checkpoint.get('format')!r}"
        raise ValueError(f"`checkpoint` must be a recgym checkpoint, got {got}")
    if checkpoint.get("version") != _VERSION:
        raise ValueError(
            f"`checkpoint` has version {checkpoint.get('version')!r}; this recgym reads "
            f"version {_VERSION}"
        )
    if checkpoint.get("environment") != environment:
        raise ValueError(
            f"`checkpoint` was taken from a {checkpoint.get('environment')!r}, not a "
            f"{environment!r}"
        )
    for key in ("settings", "population"):
        if not isinstance(checkpoint.get(key), Mapping):
            raise ValueError(f"`checkpoint` has no {key!r} dict, got {checkpoint.get(key)!r}")


def _check_settings(saved: Mapping[str, Any], current: dict[str, Any]) -> None:
    differing = [
        f"{key}={saved.get(key, '<missing>')!r} in the checkpoint, {value!r} here"
        for key, value in current.items()
        if saved.get(key, "<missing>") != value
    ]
    differing += [f"{key} is unknown" for key in saved if key not in current]
    if differing:
        raise ValueError(
            "`checkpoint` comes from an environment with different settings: "
            + "; ".join(differing[:3])
            + (f" (and {len(differing) - 3} more)" if len(differing) > 3 else "")
        )


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


def _check_attributes(saved: Any, kinds: Mapping[str, str]) -> dict[str, Any]:
    """Attribute name → validated new value, for the environment's own attributes."""
    if not isinstance(saved, Mapping):
        raise ValueError(
            f"`checkpoint` has no 'environment_state' dict, got {type(saved).__name__}"
        )
    values = {}
    for name, kind in kinds.items():
        key = name.lstrip("_")
        if key not in saved:
            raise ValueError(f"checkpoint entry environment_state[{key!r}] is missing")
        value = saved[key]
        label = f"environment_state[{key!r}]"
        if kind == "generator":
            value = generator_from_state(value, label)
        elif value is None and kind != "bool":
            pass
        elif kind == "bool" and isinstance(value, (bool, np.bool_)):
            value = bool(value)
        elif kind == "array" and isinstance(value, np.ndarray) and not value.dtype.hasobject:
            value = value.copy()
        elif kind == "float" and isinstance(value, (int, float, np.number)):
            value = float(value)
        elif kind == "int" and isinstance(value, (int, np.integer)):
            value = int(value)
        else:
            raise ValueError(f"checkpoint entry {label} must be a {kind}, got {value!r}")
        values[name] = value
    return values


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


def check_generator_entries(generators: Any, wanted: list[str]) -> dict[str, Any]:
    """New generators from a snapshot's ``generators`` entry.

    It must hold exactly the generators ``wanted`` and ``"user_model"``.

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
    return {
        name: generator_from_state(value, f"population['generators'][{name!r}]")
        for name, value in generators.items()
    }


def load_core_snapshot(population: Any, checked: dict[str, Any]) -> None:
    """Apply the entries :func:`check_core_snapshot` validated to ``population``."""
    for name in ("states", "user_ids"):  # as the core's own: never written into again
        if checked[name] is not None:
            checked[name].flags.writeable = False
    population.t = checked["t"]
    population.seeded = checked["seeded"]
    population.states = checked["states"]
    population.user_ids = checked["user_ids"]


# --- files -------------------------------------------------------------------------------


def write_checkpoint(checkpoint: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Save a checkpoint to a ``.npz`` file without pickle, atomically.

    Arrays are stored as archive entries, everything else as one JSON header (Python
    ints of any size, such as PCG64's 128-bit state, survive exactly).

    Args:
        checkpoint: A dict from :meth:`Checkpointable.checkpoint`.
        path: Destination; conventionally ending in ``.npz``. An interrupted write
            leaves no partial file there (see :func:`recgym.population.history.atomic_write`).

    Returns:
        pathlib.Path: ``path``.

    Raises:
        TypeError: If ``path`` is not a path, or ``checkpoint`` holds something other
            than dicts with string keys, lists, arrays, numbers, strings and None.
    """
    from recgym.population.history import atomic_write  # avoids an import cycle

    check_path(path)
    arrays: dict[str, NDArray[Any]] = {}

    def flatten(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise TypeError("a checkpoint cannot hold object arrays")
            key = f"a{len(arrays)}"
            arrays[key] = value
            return {_ARRAY_REF: key}
        if isinstance(value, Mapping):
            if not all(isinstance(key, str) for key in value):
                raise TypeError(f"checkpoint dict keys must be strings, got {list(value)!r}")
            return {key: flatten(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [flatten(item) for item in value]
        if isinstance(value, np.generic):
            return value.item()
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"a checkpoint cannot hold a {type(value).__name__}: {value!r}")

    arrays[_HEADER] = np.array(json.dumps(flatten(checkpoint)))

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    return atomic_write(path, write)


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :func:`write_checkpoint` (no pickle).

    Raises:
        TypeError: If ``path`` is not a str or os.PathLike.
        FileNotFoundError: If there is no file at ``path``.
        ValueError: If the file is not a readable recgym checkpoint.
    """
    check_path(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"No checkpoint file at {os.fspath(path)!r}")
    try:
        with open(path, "rb") as handle:
            if handle.read(4) != b"PK\x03\x04":  # np.load would try pickle, .npy, …
                raise ValueError("not an .npz (zip) archive")
            handle.seek(0)
            with np.load(handle, allow_pickle=False) as data:
                contents = {name: data[name] for name in data.files}
        header = json.loads(str(contents.pop(_HEADER)))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"{os.fspath(path)!r} is not a readable recgym checkpoint: {error!r}"
        ) from None

    def rebuild(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {_ARRAY_REF}:
                return contents[value[_ARRAY_REF]]
            return {key: rebuild(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rebuild(item) for item in value]
        return value

    try:
        checkpoint = rebuild(header)
    except (KeyError, TypeError) as error:
        raise ValueError(f"{os.fspath(path)!r} is a damaged recgym checkpoint: {error!r}") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{os.fspath(path)!r} is not a recgym checkpoint")
    return checkpoint
