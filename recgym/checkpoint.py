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
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from recgym._io import ContainerFormat, read_container, write_container
from recgym._snapshot import copy_plain, generator_from_state, generator_state
from recgym._validation import check_path

if TYPE_CHECKING:
    from recgym.config import PopulationConfig
    from recgym.core import PopulationCore

__all__ = [
    "CHECKPOINT_FORMAT",
    "Checkpointable",
    "generator_from_state",
    "generator_state",
    "read_checkpoint",
    "write_checkpoint",
]

#: The ``"format"`` entry of every checkpoint.
CHECKPOINT_FORMAT = "recgym.checkpoint"
_VERSION = 1
_CONTAINER = ContainerFormat(
    name=CHECKPOINT_FORMAT,
    version=_VERSION,
    header_entry="__recgym_checkpoint__",
    description="checkpoint file",
)
_ARRAY_REF = "__array__"
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


# --- the mixin ---------------------------------------------------------------------------


class Checkpointable:
    """Checkpoint and restore for the environments (mixed into each of them).

    Subclasses name in :attr:`_checkpoint_attributes` their own attributes the
    continuation depends on, each with its kind (``"bool"``, ``"int"``, ``"float"``,
    ``"floats"``, ``"bools"``, ``"ints"``, ``"paths"`` (a float array whose gaps are NaN)
    or ``"generator"``; all but ``"bool"`` may be None), and in
    :attr:`_checkpoint_settings` the constructor arguments beyond the configuration that
    a checkpoint must match. The population lives in ``self._population`` and the
    configuration in ``self.config``.
    """

    _checkpoint_attributes: ClassVar[dict[str, str]] = {}
    _checkpoint_settings: ClassVar[tuple[str, ...]] = ()
    #: The environment a checkpoint names and a restore requires; None: the class's name.
    #: An environment whose checkpoints are another's (a sharded ``PopulationEnv``) names
    #: that one, so each restores the other's.
    _checkpoint_environment: ClassVar[str | None] = None
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
            "environment": self._checkpoint_environment or type(self).__name__,
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
        _check_header(checkpoint, self._checkpoint_environment or type(self).__name__)
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


#: The array kinds of environment attributes → the numpy dtype kinds they accept.
_ARRAY_KINDS = {"floats": "f", "paths": "f", "bools": "b", "ints": "iu"}


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
        elif (
            kind in _ARRAY_KINDS
            and isinstance(value, np.ndarray)
            and (
                value.dtype.kind in _ARRAY_KINDS[kind]
                and (kind != "floats" or np.isfinite(value).all())
                and (kind != "paths" or not np.isinf(value).any())
            )
        ):
            value = value.copy()
        elif kind == "float" and isinstance(value, (int, float, np.number)):
            value = float(value)
        elif kind == "int" and isinstance(value, (int, np.integer)):
            value = int(value)
        else:
            what = {
                "floats": "finite float array",
                "paths": "float array without infinities",
                "bools": "bool array",
                "ints": "integer array",
            }
            got = (
                f"an array of dtype {value.dtype}" if isinstance(value, np.ndarray) else repr(value)
            )
            raise ValueError(
                f"checkpoint entry {label} must be a {what.get(kind, kind)}, got {got}"
            )
        values[name] = value
    return values


# --- files -------------------------------------------------------------------------------


def write_checkpoint(checkpoint: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Save a checkpoint to a ``.npz`` file without pickle, atomically.

    Arrays are stored as archive entries, everything else as one JSON header (Python
    ints of any size, such as PCG64's 128-bit state, survive exactly); see
    :mod:`recgym._io`.

    Args:
        checkpoint: A dict from :meth:`Checkpointable.checkpoint`.
        path: Destination; conventionally ending in ``.npz``. An interrupted write
            leaves no partial file there.

    Returns:
        pathlib.Path: ``path``.

    Raises:
        TypeError: If ``path`` is not a path, or ``checkpoint`` holds something other
            than dicts with string keys, lists, arrays, numbers, strings and None.
    """
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

    header = flatten(checkpoint)
    return write_container(path, _CONTAINER, header, arrays)


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :func:`write_checkpoint` (no pickle).

    Raises:
        TypeError: If ``path`` is not a str or os.PathLike.
        FileNotFoundError: If there is no file at ``path``.
        ValueError: If the file is not a readable recgym checkpoint:
            ``cannot load a checkpoint file from '<path>': <reason>``.
    """
    header, contents = read_container(path, _CONTAINER)

    def rebuild(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {_ARRAY_REF}:
                return contents[value[_ARRAY_REF]]
            return {key: rebuild(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rebuild(item) for item in value]
        return value

    try:
        checkpoint: dict[str, Any] = rebuild(header)
        return checkpoint
    except (KeyError, TypeError) as error:
        raise ValueError(
            f"cannot load a checkpoint file from '{os.fspath(path)}': damaged ({error!r})"
        ) from None
