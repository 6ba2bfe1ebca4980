"""``History``: what a rollout recorded, with lossless save/load, CSV export and plots."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym._io import ContainerFormat, read_container, write_container, write_csv

__all__ = ["HISTORY_FORMAT", "History", "write_metrics_csv"]

#: The History file format: its own schema (see :meth:`History.save`), version 1.
HISTORY_FORMAT = ContainerFormat(
    name="recgym.History", version=1, header_entry="header", description="History file"
)


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
        header = {
            "policy": self.policy,
            "metrics": list(self.metrics),
            "trajectory": list(self.trajectory),
            "metadata": self.metadata,
        }
        arrays = {name: getattr(self, name) for name in self._ARRAYS}
        arrays.update({f"metric:{k}": v for k, v in self.metrics.items()})
        arrays.update({f"trajectory:{k}": v for k, v in self.trajectory.items()})
        return write_container(path, HISTORY_FORMAT, header, arrays)

    @classmethod
    @HISTORY_FORMAT.reader
    def load(cls, path: str | os.PathLike[str]) -> History:
        """Load a :class:`History` written by :meth:`save`."""
        header, arrays = read_container(path, HISTORY_FORMAT)
        try:
            history = cls(
                policy=header["policy"],
                metrics={k: arrays[f"metric:{k}"] for k in header["metrics"]},
                trajectory={k: arrays[f"trajectory:{k}"] for k in header["trajectory"]},
                metadata=header["metadata"],
                **{name: arrays[name] for name in cls._ARRAYS},
            )
        except KeyError as error:
            raise ValueError(
                f"cannot load a History file from '{os.fspath(path)}': {error} is missing"
            ) from None
        except TypeError as error:  # a header entry of the wrong type
            raise ValueError(
                f"cannot load a History file from '{os.fspath(path)}': malformed header ({error})"
            ) from None
        problem = _history_problem(history)
        if problem is not None:
            raise ValueError(f"cannot load a History file from '{os.fspath(path)}': {problem}")
        return history

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write the metrics as CSV: one row per recorded step (see :func:`write_metrics_csv`).

        Raises:
            TypeError: If ``path`` is not a str or os.PathLike.
        """
        return write_metrics_csv(path, [self])

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


def _history_problem(history: History) -> str | None:
    """What is wrong with a loaded History's fields (types, shapes, ranges), or None."""
    if not isinstance(history.policy, str):
        return f"`policy` must be a string, got {history.policy!r}"
    if not isinstance(history.metadata, dict):
        return f"`metadata` must be a JSON object, got {type(history.metadata).__name__}"
    kinds = {"steps": "iu", "exposure": "iu", "consumption": "iu", "rewards": "f",
             "initial_states": "f", "final_states": "f"}  # fmt: skip
    for name, kind in kinds.items():
        value = getattr(history, name)
        ndim = 2 if name.endswith("states") else 1
        if value.dtype.kind not in kind or value.ndim != ndim:
            what = "float" if kind == "f" else "integer"
            return (
                f"`{name}` must be a {ndim}-D {what} array, got dtype {value.dtype} and "
                f"shape {value.shape}"
            )
    steps = history.steps
    if (steps < 0).any() or (np.diff(steps) <= 0).any():
        return f"`steps` must increase from 0 or more, got {steps.tolist()[:10]}"
    if history.exposure.shape != history.consumption.shape or (
        (history.exposure < 0).any() or (history.consumption < 0).any()
    ):
        return "`exposure` and `consumption` must be non-negative counts of the same items"
    if history.initial_states.shape != history.final_states.shape:
        return "`initial_states` and `final_states` must have the same shape"
    for name, states in (("initial_states", history.initial_states),
                         ("final_states", history.final_states)):  # fmt: skip
        if not np.isfinite(states).all():
            return f"`{name}` must be finite"
    if np.isinf(history.rewards).any():
        return "`rewards` must be finite (or NaN for a step without users)"
    for name, series in history.metrics.items():
        if series.dtype.kind != "f" or series.shape != steps.shape:
            return (
                f"metric {name!r} must be a float array of shape {steps.shape}, got dtype "
                f"{series.dtype} and shape {series.shape}"
            )
    n, d = history.initial_states.shape
    t = len(history.rewards)
    expected = {"states": ((t + 1, n, d), "f"), "observations": ((t + 1, n, d), "f"),
                "actions": ((t, n), "iu"), "rewards": ((t, n), "f")}  # fmt: skip
    for name, array in history.trajectory.items():
        if name not in expected:
            return f"unknown trajectory entry {name!r}"
        shape, kind = expected[name]
        if array.dtype.kind not in kind or array.shape[: len(shape)] != shape:
            return f"trajectory {name!r} must have shape {shape}, got {array.shape}"
    return None


def write_metrics_csv(
    path: str | os.PathLike[str],
    histories: Sequence[History],
    *,
    metadata_columns: Sequence[str] = (),
) -> Path:
    """Write the recorded metrics of one or more histories as one CSV file, atomically.

    Columns: ``policy``, then one column per name of ``metadata_columns`` (a history's
    ``metadata`` value, e.g. ``"seed"``; empty where it has none), ``step`` and every
    metric recorded by any of the histories, in
    order of first appearance — among them ``reward`` (the population's mean reward at
    that step) and ``mean_reward`` (the mean over users and all steps so far), which
    :func:`~recgym.population.simulate` records by default and which are derived from
    :attr:`History.rewards` for histories that did not record them. One row per history
    and recorded step; a cell is empty where a history lacks a metric, ``nan`` where a
    metric is undefined (e.g. a reward at step 0).

    Returns:
        pathlib.Path: ``path``.

    Raises:
        TypeError: If ``path`` is not a str or os.PathLike.
    """
    columns = list(dict.fromkeys(name for history in histories for name in history.metrics))
    columns += [name for name in _REWARD_SERIES if name not in columns]

    def rows() -> Iterator[list[Any]]:
        for history in histories:
            series = {**_reward_series(history), **history.metrics}
            extra = [history.metadata.get(name) for name in metadata_columns]
            for k, step in enumerate(history.steps.tolist()):
                yield [
                    history.policy,
                    *extra,
                    step,
                    *(series[c][k] if c in series else None for c in columns),
                ]

    return write_csv(path, ["policy", *metadata_columns, "step", *columns], rows())


_REWARD_SERIES = ("reward", "mean_reward")


def _reward_series(history: History) -> dict[str, NDArray[np.float64]]:
    """``reward`` and ``mean_reward`` at the recorded steps, from ``history.rewards``.

    The same values the reward metrics record: the step's mean reward and the running
    mean over the steps so far (NaN at step 0).
    """
    steps = history.steps
    rewards = history.rewards
    reward = np.full(len(steps), math.nan)
    mean = np.full(len(steps), math.nan)
    for k, step in enumerate(steps.tolist()):
        if step >= 1:
            reward[k] = rewards[step - 1]
            mean[k] = rewards[:step].mean()
    return {"reward": reward, "mean_reward": mean}
