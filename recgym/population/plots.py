"""Figures of rollouts (needs the ``plot`` extra: ``pip install "recgym[plot]"``).

Figures are built with :class:`matplotlib.figure.Figure` directly, never through
``pyplot``, so they need no display and leave global matplotlib state alone.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from recgym._io import atomic_write
from recgym._validation import check_array, check_positive_int


class RecordedRun(Protocol):
    """What the plots read of a :class:`~recgym.population.History`."""

    policy: str
    steps: NDArray[np.int64]
    metrics: dict[str, NDArray[np.float64]]
    exposure: NDArray[np.int64]
    consumption: NDArray[np.int64]
    initial_states: NDArray[np.floating]
    final_states: NDArray[np.floating]


_HISTORY_ATTRIBUTES = ("policy", "steps", "metrics", "exposure", "initial_states", "final_states")


def _is_history(value: Any) -> bool:
    return all(hasattr(value, name) for name in _HISTORY_ATTRIBUTES)


__all__ = [
    "plot_exposure",
    "plot_metric_curves",
    "plot_preference_scatter",
    "principal_components",
]


def _figure(n_panels: int, *, columns: int = 3, size: float = 3.6) -> tuple[Any, list[Any]]:
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - exercised by a test that hides matplotlib
        raise ModuleNotFoundError(
            "Plotting needs matplotlib, which is not installed; install the plot extra: "
            "pip install 'recgym[plot]'"
        ) from None
    columns = min(columns, n_panels)
    rows = -(-n_panels // columns)
    figure = Figure(figsize=(size * columns + 0.5, size * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel().tolist()
    for extra in axes[n_panels:]:
        extra.set_visible(False)
    return figure, axes[:n_panels]


def _check_histories(histories: Any) -> list[RecordedRun]:
    """``histories`` as a non-empty list of :class:`History` objects."""
    if _is_history(histories) or not isinstance(histories, Sequence):
        raise TypeError(
            f"`histories` must be a list of History objects, got {type(histories).__name__}"
        )
    if not histories:
        raise ValueError("`histories` must hold at least one History, got an empty list")
    for history in histories:
        if not _is_history(history):
            raise TypeError(f"`histories` must hold History objects, got {type(history).__name__}")
    return list(histories)


def _save(figure: Any, path: str | os.PathLike[str] | None) -> Any:
    if path is not None:
        atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=110))
    return figure


def plot_metric_curves(
    histories: Sequence[RecordedRun],
    metrics: Sequence[str] | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
) -> Any:
    """One panel per metric, one line per history (policy), metric value against step.

    Each panel is titled with the metric's name and, for a metric of
    :data:`~recgym.population.metrics.METRICS` (or its split ``"name[label]"`` by group),
    its y axis is labelled with the metric's description.

    Args:
        histories: Rollouts to compare.
        metrics: Metric names; default every ungrouped metric of the first history.
        path: If given, save the figure there as PNG.

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    from recgym.population.metrics import METRICS

    histories = _check_histories(histories)
    if metrics is None:
        metrics = [name for name in histories[0].metrics if "[" not in name]
    elif isinstance(metrics, str) or not isinstance(metrics, Sequence):
        raise TypeError(f"`metrics` must be a list of metric names or None, got {metrics!r}")
    recorded = {name for history in histories for name in history.metrics}
    unknown = [name for name in metrics if name not in recorded]
    if unknown or not metrics:
        raise ValueError(
            f"`metrics` must name metrics recorded in the histories {sorted(recorded)}, got "
            + (repr(unknown[0]) if unknown else "none")
        )
    figure, axes = _figure(len(metrics))
    for axis, name in zip(axes, metrics):
        for history in histories:
            if name in history.metrics:
                axis.plot(history.steps, history.metrics[name], label=history.policy)
        axis.set_title(name)
        axis.set_xlabel("step")
        metric = METRICS.get(name.split("[", 1)[0])
        if metric is not None:
            axis.set_ylabel(metric.description, fontsize="small")
    axes[0].legend(fontsize="small")
    return _save(figure, path)


def principal_components(states: NDArray[Any], k: int = 2) -> NDArray[np.float64]:
    """Project ``(N, d)`` states on their top-``k`` principal axes: ``(N, k)``, O(N d²)."""
    check_array(states, "states", (None, None))
    k = check_positive_int(k, "k")
    centred = states - states.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    basis = vectors[:, ::-1][:, :k]
    projection = centred @ basis
    if projection.shape[1] < k:
        projection = np.pad(projection, ((0, 0), (0, k - projection.shape[1])))
    return projection


def plot_preference_scatter(
    histories: Sequence[RecordedRun],
    *,
    max_points: int = 3000,
    path: str | os.PathLike[str] | None = None,
) -> Any:
    """Preferences on their top two principal components, at the start and per policy at the end.

    Args:
        histories: Rollouts from the same initial population.
        max_points: Users drawn (evenly spaced) per panel, to keep files small.
        path: If given, save the figure there as PNG.

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    histories = _check_histories(histories)
    max_points = check_positive_int(max_points, "max_points")
    figure, axes = _figure(len(histories) + 1, columns=4, size=3.0)
    panels = [("start", histories[0].initial_states)]
    panels += [(f"end: {h.policy}", h.final_states) for h in histories]
    for axis, (title, states) in zip(axes, panels):
        shown = states[:: max(1, len(states) // max_points)]
        points = principal_components(np.asarray(shown, dtype=np.float64))
        axis.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4)
        axis.set_title(title, fontsize="medium")
        axis.set_xlabel("PC 1")
        axis.set_ylabel("PC 2")
    return _save(figure, path)


def plot_exposure(
    histories: Sequence[RecordedRun], *, path: str | os.PathLike[str] | None = None
) -> Any:
    """Item-exposure distribution per policy: share of recommendations by item rank.

    Args:
        histories: Rollouts to compare.
        path: If given, save the figure there as PNG.

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    histories = _check_histories(histories)
    figure, (rank_axis, lorenz_axis) = _figure(2, columns=2, size=4.2)
    for history in histories:
        counts = np.sort(history.exposure.astype(np.float64))[::-1]
        total = counts.sum()
        if total == 0:
            continue
        rank_axis.plot(np.arange(1, counts.size + 1), counts / total, label=history.policy)
        cumulative = np.concatenate([[0.0], np.cumsum(counts[::-1]) / total])
        lorenz_axis.plot(np.linspace(0, 1, cumulative.size), cumulative, label=history.policy)
    rank_axis.set_yscale("log")
    rank_axis.set_xlabel("item rank")
    rank_axis.set_ylabel("share of recommendations")
    rank_axis.set_title("exposure by item rank")
    lorenz_axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    lorenz_axis.set_xlabel("share of items (least exposed first)")
    lorenz_axis.set_ylabel("share of recommendations")
    lorenz_axis.set_title("Lorenz curve of exposure")
    rank_axis.legend(fontsize="small")
    return _save(figure, path)
