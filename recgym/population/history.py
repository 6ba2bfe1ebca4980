"""``History``: what a rollout recorded, with lossless save/load, CSV export and plots."""

from __future__ import annotations

import csv
import json
import math
import os
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_path

__all__ = ["History", "atomic_write"]

_FORMAT = "recgym.History"
_VERSION = 1


def atomic_write(path: str | os.PathLike[str], write: Any, *, suffix: str = "") -> Path:
    """Write a file atomically: ``write(tmp_path)`` then ``os.replace`` onto ``path``.

    An interrupted write leaves no half-written file under the final name (the
    temporary file lives in the same folder, so the rename is atomic on POSIX). The
    writer creates the temporary file itself, so the file gets the usual permissions
    (``0o666`` minus the umask), not the owner-only mode of :func:`tempfile.mkstemp`.

    Args:
        path: Final path.
        write: Called with the temporary path; must create the file there.
        suffix: Suffix of the temporary file (some writers append one if it is missing).

    Returns:
        pathlib.Path: ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = str(path.parent / f".{path.name}.{uuid.uuid4().hex}{suffix}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@dataclass(eq=False)
class History:
    """Metrics and (optionally) full trajectories recorded by :func:`~recgym.population.simulate`.

    Attributes:
        policy: Name of the policy that acted.
        steps: int64 ``(K,)``: the steps at which metrics were recorded (0 = after reset).
        metrics: Name → float64 ``(K,)``. Group-split metrics are named
            ``"name[label]"``.
        rewards: float64 ``(T,)``: mean reward of the population at each step.
        exposure: int64 ``(n_items,)``: how often each item was recommended.
        consumption: int64 ``(n_items,)``: how often each item got a positive reward.
        initial_states: ``(N, d)`` true preferences after reset.
        final_states: ``(N, d)`` true preferences at the end.
        trajectory: Recorded arrays on request: ``"states"`` ``(T + 1, N, d)``,
            ``"observations"`` ``(T + 1, N, d)``, ``"actions"`` int64 ``(T, N)``,
            ``"rewards"`` ``(T, N)``.
        metadata: JSON-serialisable description of the run (environment, seed, …).
    """

    policy: str
    steps: NDArray[np.int64]
    metrics: dict[str, NDArray[np.float64]]
    rewards: NDArray[np.float64]
    exposure: NDArray[np.int64]
    consumption: NDArray[np.int64]
    initial_states: NDArray[np.floating]
    final_states: NDArray[np.floating]
    trajectory: dict[str, NDArray[Any]] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    _ARRAYS = ("steps", "rewards", "exposure", "consumption", "initial_states", "final_states")

    def final(self) -> dict[str, float]:
        """The last recorded value of every metric, plus the mean reward over the run."""
        values = {name: float(series[-1]) for name, series in self.metrics.items()}
        values["mean_reward"] = float(self.rewards.mean()) if self.rewards.size else math.nan
        return values

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, History):
            return NotImplemented
        if (self.policy, self.metadata) != (other.policy, other.metadata):
            return False
        if self.metrics.keys() != other.metrics.keys():
            return False
        if self.trajectory.keys() != other.trajectory.keys():
            return False
        pairs = [(getattr(self, name), getattr(other, name)) for name in self._ARRAYS]
        pairs += [(self.metrics[k], other.metrics[k]) for k in self.metrics]
        pairs += [(self.trajectory[k], other.trajectory[k]) for k in self.trajectory]
        return all(
            a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
            for a, b in pairs
        )

    __hash__ = None  # type: ignore[assignment]

    # --- files -------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save to a ``.npz`` file (no pickle), atomically.

        Args:
            path: Destination; conventionally ending in ``.npz``.

        Returns:
            pathlib.Path: ``path``.

        Raises:
            TypeError: If ``path`` is not a str or os.PathLike.
        """
        check_path(path)
        header = {
            "format": _FORMAT,
            "version": _VERSION,
            "policy": self.policy,
            "metrics": list(self.metrics),
            "trajectory": list(self.trajectory),
            "metadata": self.metadata,
        }
        arrays = {name: getattr(self, name) for name in self._ARRAYS}
        arrays.update({f"metric:{k}": v for k, v in self.metrics.items()})
        arrays.update({f"trajectory:{k}": v for k, v in self.trajectory.items()})
        arrays["header"] = np.array(json.dumps(header))

        def write(tmp: str) -> None:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)

        return atomic_write(path, write)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> History:
        """Load a :class:`History` written by :meth:`save`.

        Raises:
            TypeError: If ``path`` is not a str or os.PathLike.
            FileNotFoundError: If there is no file at ``path``.
            ValueError: If the file is truncated, not an ``.npz`` file, or not a History.
        """
        if not Path(check_path(path)).is_file():
            raise FileNotFoundError(f"No History file at {os.fspath(path)!r}")
        try:
            # Our own handle: closed even when numpy fails on a damaged archive.
            with open(path, "rb") as handle:
                if handle.read(4) != b"PK\x03\x04":  # np.load would try pickle, .npy, …
                    raise ValueError("not an .npz (zip) archive")
                handle.seek(0)
                with np.load(handle, allow_pickle=False) as data:
                    contents = {name: data[name] for name in data.files}
            header = json.loads(str(contents.pop("header", "{}")))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(
                f"{os.fspath(path)!r} is not a readable recgym History file: {error}"
            ) from None
        if not isinstance(header, dict):
            header = {}
        if header.get("format") != _FORMAT or header.get("version") != _VERSION:
            raise ValueError(
                f"{os.fspath(path)!r} is not a recgym History file (format "
                f"{header.get('format')!r}, version {header.get('version')!r})"
            )
        try:
            return cls(
                policy=header["policy"],
                metrics={k: contents[f"metric:{k}"] for k in header["metrics"]},
                trajectory={k: contents[f"trajectory:{k}"] for k in header["trajectory"]},
                metadata=header["metadata"],
                **{name: contents[name] for name in cls._ARRAYS},
            )
        except KeyError as error:
            raise ValueError(
                f"{os.fspath(path)!r} is an incomplete History file: missing {error}"
            ) from None
        except TypeError as error:  # a header entry of the wrong type
            raise ValueError(f"{os.fspath(path)!r} is a malformed History file: {error}") from None

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write the metrics as CSV: one row per recorded step, columns ``step``, metrics.

        Also writes a ``mean_reward`` column: the mean reward of the step (empty at 0).

        Raises:
            TypeError: If ``path`` is not a str or os.PathLike.
        """
        check_path(path)
        rewards = {int(t): self.rewards[t - 1] for t in self.steps if t >= 1}

        def write(tmp: str) -> None:
            with open(tmp, "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["policy", "step", *self.metrics, "mean_reward"])
                for k, step in enumerate(self.steps.tolist()):
                    reward = rewards.get(step)
                    writer.writerow(
                        [self.policy, step]
                        + [repr(float(series[k])) for series in self.metrics.values()]
                        + ["" if reward is None else repr(float(reward))]
                    )

        return atomic_write(path, write)

    def plot(
        self, metrics: list[str] | None = None, *, path: str | os.PathLike[str] | None = None
    ) -> Any:
        """Plot metric curves (needs the ``plot`` extra: matplotlib).

        Args:
            metrics: Names to plot; default all ungrouped metrics.
            path: If given, save the figure there (PNG by extension).

        Returns:
            matplotlib.figure.Figure: The figure.
        """
        from recgym.population.plots import plot_metric_curves

        return plot_metric_curves([self], metrics, path=path)
