"""Figures of rollouts (needs the ``plot`` extra: ``pip install "recgym[plot]"``).

Figures are built with :class:`matplotlib.figure.Figure` directly, never through
``pyplot``, so they need no display and leave global matplotlib state alone.

Every figure labels its axes with the quantity and its unit (a metric's registry
``description`` and ``unit``), has one legend for the whole figure (not one per panel),
and draws each policy in its own colour, line style and marker
(:func:`policy_styles`), so that lines which overlap stay distinguishable — also in
grey-scale print.
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from recgym._io import atomic_write
from recgym._validation import check_array, check_positive_int

if TYPE_CHECKING:  # history.py imports this module (History.plot): for typing only
    from recgym.population.history import History


class SummarizedRuns(Protocol):
    """What the plots read of a :class:`~recgym.population.seeds.SeedSummary`."""

    @property
    def policy(self) -> str:
        """The policy's name."""

    @property
    def seeds(self) -> tuple[int, ...]:
        """The seeds."""

    @property
    def steps(self) -> NDArray[np.int64]:
        """The recorded steps."""

    @property
    def mean(self) -> dict[str, NDArray[np.float64]]:
        """Metric → mean over seeds per step."""

    @property
    def low(self) -> dict[str, NDArray[np.float64]]:
        """Metric → lower end of the interval per step."""

    @property
    def high(self) -> dict[str, NDArray[np.float64]]:
        """Metric → upper end of the interval per step."""

    @property
    def confidence(self) -> float:
        """Coverage of the intervals."""

    def final_interval(self, metric: str) -> tuple[float, float, float]:
        """``(mean, low, high)`` over seeds of the final value of ``metric``."""


_HISTORY_ATTRIBUTES = ("policy", "steps", "metrics", "exposure", "initial_states", "final_states")
_SUMMARY_ATTRIBUTES = ("policy", "seeds", "steps", "mean", "low", "high", "final_interval")


def _is_history(value: Any) -> bool:
    return all(hasattr(value, name) for name in _HISTORY_ATTRIBUTES)


def _is_summary(value: Any) -> bool:
    return all(hasattr(value, name) for name in _SUMMARY_ATTRIBUTES)


__all__ = [
    "STEP_LABEL",
    "metric_label",
    "plot_exposure",
    "plot_metric_curves",
    "plot_metric_intervals",
    "plot_preference_scatter",
    "plot_reward_diversity",
    "policy_styles",
    "principal_components",
]

#: The x label of every curve against time.
STEP_LABEL = "step (recommendations per user)"

# matplotlib's "tab10" colours, four line styles and ten filled markers: ten policies get
# ten colours and ten markers, and neighbours in the list never share a line style.
_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
_LINE_STYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def policy_styles(names: Sequence[str]) -> dict[str, dict[str, str]]:
    """The colour, line style and marker of each name, by order of first appearance.

    Args:
        names: Policy names (repeats are ignored).

    Returns:
        dict: Name → ``{"color", "linestyle", "marker"}`` (matplotlib keywords).

    Example:
        >>> policy_styles(["random", "greedy"])["greedy"]
        {'color': '#ff7f0e', 'linestyle': '--', 'marker': 's'}
    """
    unique = list(dict.fromkeys(names))
    return {
        name: {
            "color": _COLOURS[i % len(_COLOURS)],
            "linestyle": _LINE_STYLES[i % len(_LINE_STYLES)],
            "marker": _MARKERS[i % len(_MARKERS)],
        }
        for i, name in enumerate(unique)
    }


def metric_label(name: str, width: int | None = None) -> str:
    """A metric's axis label: its registry description and unit, e.g. ``"… (rad)"``.

    A split ``"name[label]"`` is labelled as ``name``; a name outside
    :data:`~recgym.population.metrics.METRICS` is returned as it is.

    Args:
        name: The metric.
        width: Wrap the label onto lines of at most this many characters (None: one line).

    Example:
        >>> metric_label("drift")
        'mean angle from the initial preference (rad)'
    """
    from recgym.population.metrics import METRICS

    metric = METRICS.get(name.split("[", 1)[0])
    if metric is None:
        label = name
    else:
        label = f"{metric.description} ({metric.unit})" if metric.unit else metric.description
    return label if width is None else textwrap.fill(label, width, break_on_hyphens=False)


def _bounds(name: str) -> tuple[float, float]:
    """The range of metric ``name``'s values (``(-inf, inf)`` if unknown or unbounded)."""
    from recgym.population.metrics import METRICS

    metric = METRICS.get(name.split("[", 1)[0])
    if metric is None or metric.bounds is None:
        return -math.inf, math.inf
    return metric.bounds


def _figure(
    n_panels: int, *, columns: int = 3, size: float = 3.6, height: float | None = None
) -> tuple[Any, list[Any]]:
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - exercised by a test that hides matplotlib
        raise ModuleNotFoundError(
            "Plotting needs matplotlib, which is not installed; install the plot extra: "
            "pip install 'recgym[plot]'"
        ) from None
    columns = min(columns, n_panels)
    rows = -(-n_panels // columns)
    height = size if height is None else height
    figure = Figure(figsize=(size * columns + 0.5, height * rows + 0.6), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel().tolist()
    for extra in axes[n_panels:]:
        extra.set_visible(False)
    return figure, axes[:n_panels]


def _legend(figure: Any, axes: Sequence[Any], *, title: str | None = None) -> None:
    """One legend for the whole figure, below the panels, from every panel's labels."""
    handles: dict[str, Any] = {}
    for axis in axes:
        for handle, label in zip(*axis.get_legend_handles_labels()):
            if not label.startswith("_"):
                handles.setdefault(label, handle)
    if handles:
        figure.legend(
            list(handles.values()),
            list(handles),
            loc="outside lower center",
            ncols=min(len(handles), 5),
            fontsize="small",
            title=title,
            title_fontsize="small",
            frameon=False,
        )


def _check_histories(histories: Any) -> list[History]:
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


def _check_summaries(summaries: Any) -> list[SummarizedRuns]:
    """``summaries`` as a non-empty list of SeedSummary objects (a History is summarised)."""
    if _is_summary(summaries) or _is_history(summaries) or not isinstance(summaries, Sequence):
        raise TypeError(
            f"`summaries` must be a list of SeedSummary objects, got {type(summaries).__name__}"
        )
    if not summaries:
        raise ValueError("`summaries` must hold at least one SeedSummary, got an empty list")
    checked: list[SummarizedRuns] = []
    for summary in summaries:
        if _is_history(summary):
            checked.append(_OneRun(summary))
        elif _is_summary(summary):
            checked.append(summary)
        else:
            raise TypeError(
                "`summaries` must hold SeedSummary (or History) objects, got "
                f"{type(summary).__name__}"
            )
    return checked


class _OneRun:
    """One :class:`History` seen as a summary of one seed: its values, no interval."""

    confidence = 0.95

    def __init__(self, history: Any) -> None:
        self.policy: str = history.policy
        self.seeds: tuple[int, ...] = (int(history.metadata.get("seed", -1)),)
        self.steps: NDArray[np.int64] = history.steps
        self.mean: dict[str, NDArray[np.float64]] = dict(history.metrics)
        self.low = {name: np.full(len(values), math.nan) for name, values in self.mean.items()}
        self.high = {name: values.copy() for name, values in self.low.items()}
        self._final: dict[str, float] = history.final()

    def final_interval(self, metric: str) -> tuple[float, float, float]:
        """``(final value, nan, nan)``."""
        return self._final[metric], math.nan, math.nan


def _check_metrics(metrics: Any, runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """``metrics`` as a list of names recorded in ``runs`` (each a name → series mapping).

    None: every ungrouped metric (no ``[`` in its name) of the first run.
    """
    recorded = [name for run in runs for name in run]
    if metrics is None:
        metrics = [name for name in runs[0] if "[" not in name]
    elif isinstance(metrics, str) or not isinstance(metrics, Sequence):
        raise TypeError(f"`metrics` must be a list of metric names or None, got {metrics!r}")
    unknown = [name for name in metrics if name not in recorded]
    if unknown or not metrics:
        raise ValueError(
            f"`metrics` must name metrics recorded in the histories {sorted(set(recorded))}, "
            "got " + (repr(unknown[0]) if unknown else "none")
        )
    return list(metrics)


def _save(figure: Any, path: str | os.PathLike[str] | None) -> Any:
    if path is not None:
        atomic_write(path, lambda tmp: _write_png(figure, tmp))
    return figure


def _write_png(figure: Any, path: str) -> None:
    """Save ``figure`` as an RGB PNG at 110 dpi.

    The same pixels as matplotlib's own RGBA file (the background is opaque), about a
    tenth smaller.
    """
    from PIL import Image  # matplotlib's own dependency

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    buffer.seek(0)
    with Image.open(buffer) as image:
        image.convert("RGB").save(path, format="png", optimize=True)


def _marks(n_points: int, index: int, n_lines: int) -> tuple[int, int] | None:
    """``markevery`` for line ``index`` of ``n_lines``: about six markers per line.

    Staggered between lines, so that markers of overlapping lines do not hide each other.
    """
    if n_points < 2:
        return None
    stride = max(1, n_points // 6)
    return (index * stride // max(n_lines, 1)) % stride, stride


#: One metric's curve: ``(mean, low, high)``, the band's edges None where there is none.
_Curve = tuple[Any, Any, Any]
_Run = TypeVar("_Run", "History", SummarizedRuns)


def _plot_curves(
    runs: Sequence[_Run],
    curves: Callable[[_Run], Mapping[str, _Curve]],
    metrics: Any,
    title: str | None,
    path: str | os.PathLike[str] | None,
) -> Any:
    """The figure of :func:`plot_metric_curves` and :func:`plot_metric_intervals`.

    ``curves(run)`` gives a run's curve of every metric it recorded, in its order;
    ``metrics`` is checked against those names.
    """
    series = [(run.policy, run.steps, curves(run)) for run in runs]
    names = _check_metrics(metrics, [values for _, _, values in series])
    return _save(_curve_panels(series, names, title), path)


def _history_curves(history: History) -> dict[str, _Curve]:
    """A history's recorded series, without bands."""
    return {name: (values, None, None) for name, values in history.metrics.items()}


def _summary_curves(summary: SummarizedRuns) -> dict[str, _Curve]:
    """A summary's means with their intervals as bands."""
    return {
        name: (summary.mean[name], summary.low[name], summary.high[name]) for name in summary.mean
    }


def _curve_panels(
    series: Sequence[tuple[str, NDArray[Any], Mapping[str, _Curve]]],
    metrics: Sequence[str],
    title: str | None,
) -> Any:
    """One panel per metric, one line per ``(policy, steps, {metric: (mean, low, high)})``.

    A band from ``low`` to ``high`` where they are given, clipped to the metric's bounds.
    """
    styles = policy_styles([policy for policy, _, _ in series])
    figure, axes = _figure(len(metrics))
    for axis, name in zip(axes, metrics):
        for index, (policy, steps, values) in enumerate(series):
            if name not in values:
                continue
            mean, low, high = values[name]
            style = styles[policy]
            axis.plot(
                steps,
                mean,
                label=policy,
                color=style["color"],
                linestyle=style["linestyle"],
                marker=style["marker"],
                markevery=_marks(len(steps), index, len(series)),
                markersize=4,
                linewidth=1.3,
            )
            if low is not None and np.isfinite(low).any():
                # The mean of values in the metric's range lies in it: clip the band there.
                bottom, top = _bounds(name)
                axis.fill_between(
                    steps,
                    np.clip(low, bottom, top),
                    np.clip(high, bottom, top),
                    color=style["color"],
                    alpha=0.18,
                    linewidth=0,
                )
        axis.set_title(name)
        axis.set_xlabel(STEP_LABEL, fontsize="small")
        axis.set_ylabel(metric_label(name, 40), fontsize="small")
        axis.ticklabel_format(axis="y", useOffset=False)
    _legend(figure, axes)
    if title:
        figure.suptitle(title, fontsize="medium")
    return figure


def plot_metric_curves(
    histories: Sequence[History],
    metrics: Sequence[str] | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
) -> Any:
    """One panel per metric, one line per history (policy), metric value against step.

    Each panel is titled with the metric's name; its y axis is labelled with the metric's
    description and unit (:func:`metric_label`), its x axis with the step. One legend
    below the panels names the policies.

    Args:
        histories: Rollouts to compare.
        metrics: Metric names; default every ungrouped metric of the first history.
        path: If given, save the figure there as PNG.

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    return _plot_curves(_check_histories(histories), _history_curves, metrics, None, path)


def plot_metric_intervals(
    summaries: Sequence[SummarizedRuns],
    metrics: Sequence[str] | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
) -> Any:
    """Mean metric curves over seeds, with a band for the confidence interval.

    As :func:`plot_metric_curves`, for :class:`~recgym.population.seeds.SeedSummary`
    objects: the line is the mean over seeds at each recorded step and the shaded band
    the confidence interval of the mean (none with one seed). The figure's title says
    how many seeds and which interval.

    Args:
        summaries: One summary per policy (a History counts as one seed).
        metrics: Metric names; default every ungrouped metric of the first summary.
        path: If given, save the figure there as PNG.

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    summaries = _check_summaries(summaries)
    counts = sorted({len(summary.seeds) for summary in summaries})
    seeds = "/".join(str(count) for count in counts)
    if counts == [1]:
        title = "one seed: no interval"
    else:
        confidence = summaries[0].confidence
        title = (
            f"mean over {seeds} seeds; bands: {confidence * 100:.0f} % Student-t interval of "
            "the mean (clipped to the metric's range)"
        )
    return _plot_curves(summaries, _summary_curves, metrics, title, path)


def principal_components(states: NDArray[Any], k: int = 2) -> NDArray[np.float64]:
    """Project ``(N, d)`` states on their top-``k`` principal axes: ``(N, k)``, O(N d²)."""
    check_array(states, "states", (None, None))
    k = check_positive_int(k, "k")
    centre, basis, _ = _principal_axes(np.asarray(states, dtype=np.float64), k)
    return (states - centre) @ basis


def _principal_axes(
    states: NDArray[np.float64], k: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """``(centre (d,), basis (d, k), explained (k,))`` of the principal axes.

    The mean, the top-``k`` principal axes (zero columns beyond ``d``) and the share of
    the variance along each.
    """
    centre = states.mean(axis=0)
    centred = states - centre
    values, vectors = np.linalg.eigh(centred.T @ centred)
    values, vectors = values[::-1], vectors[:, ::-1]
    total = float(values.sum())
    basis = np.zeros((states.shape[1], k))
    explained = np.zeros(k)
    kept = min(k, states.shape[1])
    basis[:, :kept] = vectors[:, :kept]
    if total > 0:
        explained[:kept] = np.clip(values[:kept], 0.0, None) / total
    return centre, basis, explained


def plot_preference_scatter(
    histories: Sequence[History],
    *,
    max_points: int = 3000,
    path: str | os.PathLike[str] | None = None,
) -> Any:
    """Preferences at the start and at the end of each run, in one shared 2-D projection.

    One principal-component analysis is fitted on every panel's states together (the
    initial states of the first history and the final states of all), and every panel
    is drawn in that projection with the same axis limits: a cluster in one panel sits
    where the same preferences would sit in any other. Users at the same spot (within
    0.1 % of the axis range) are drawn as one marker whose area grows with their number
    (``3·√count`` points²), so a collapsed population stays visible.

    Args:
        histories: Rollouts from the same initial population.
        max_points: Users drawn (evenly spaced) per panel, to keep files small.
        path: If given, save the figure there as PNG.

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    histories = _check_histories(histories)
    max_points = check_positive_int(max_points, "max_points")
    panels = [("start", histories[0].initial_states)]
    panels += [(f"end: {h.policy}", h.final_states) for h in histories]
    shown = [
        np.asarray(states[:: max(1, len(states) // max_points)], dtype=np.float64)
        for _, states in panels
    ]
    centre, basis, explained = _principal_axes(np.concatenate(shown), 2)
    points = [(states - centre) @ basis for states in shown]
    reach = max(float(np.abs(p).max()) for p in points if p.size) if points else 1.0
    reach = 1.05 * reach if reach > 0 else 1.0
    figure, axes = _figure(len(panels), columns=4, size=3.0, height=3.1)
    for axis, (title, _), projected in zip(axes, panels, points):
        # Users at the same spot (a collapsed population) are one marker whose area grows
        # with their number: thousands of users on two points must not look like two users.
        spots, counts = np.unique(np.round(projected / (reach * 2e-3)), axis=0, return_counts=True)
        axis.scatter(
            spots[:, 0] * reach * 2e-3,
            spots[:, 1] * reach * 2e-3,
            s=3 * np.sqrt(counts),
            alpha=0.35,
            color=_COLOURS[0],
            linewidths=0,
        )
        axis.set_title(title, fontsize="medium")
        axis.set_xlim(-reach, reach)
        axis.set_ylim(-reach, reach)
        axis.set_aspect("equal")
        axis.set_xlabel(f"PC 1 ({explained[0]:.0%} of variance; unitless)", fontsize="small")
        axis.set_ylabel(f"PC 2 ({explained[1]:.0%} of variance; unitless)", fontsize="small")
    figure.suptitle(
        "preference directions on the two principal axes of all panels together\n"
        "(one shared projection); marker area grows with the number of users at one spot",
        fontsize="medium",
    )
    return _save(figure, path)


def plot_exposure(
    histories: Sequence[History], *, path: str | os.PathLike[str] | None = None
) -> Any:
    """Item-exposure distribution per policy: share of recommendations by item rank.

    Histories of the same policy (several seeds) are averaged: each seed's shares are
    sorted by that seed's own ranking, then the mean over seeds is drawn.

    Args:
        histories: Rollouts to compare.
        path: If given, save the figure there as PNG.

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    histories = _check_histories(histories)
    by_policy: dict[str, list[NDArray[np.float64]]] = {}
    for history in histories:
        counts = np.sort(history.exposure.astype(np.float64))[::-1]
        total = counts.sum()
        if total > 0:
            by_policy.setdefault(history.policy, []).append(counts / total)
    styles = policy_styles([history.policy for history in histories])
    figure, (rank_axis, lorenz_axis) = _figure(2, columns=2, size=4.6, height=4.0)
    for index, (policy, shares) in enumerate(by_policy.items()):
        if len({len(share) for share in shares}) > 1:  # different catalogues: no mean
            shares = shares[:1]
        share = np.mean(shares, axis=0)
        style = {**styles[policy], "markersize": 4, "linewidth": 1.3, "label": policy}
        shown = np.where(share > 0, share, np.nan)  # a log scale has no 0: unexposed items
        drawn = int(np.isfinite(shown).sum())
        marks = _marks(share.size, index, len(by_policy)) if drawn > 1 else None
        rank_axis.plot(np.arange(1, share.size + 1), shown, markevery=marks, **style)
        cumulative = np.concatenate([[0.0], np.cumsum(share[::-1])])
        lorenz_axis.plot(
            np.linspace(0, 1, cumulative.size),
            cumulative,
            markevery=_marks(cumulative.size, index, len(by_policy)),
            **style,
        )
    rank_axis.set_yscale("log")
    rank_axis.set_xlabel("item rank (1 = most recommended)", fontsize="small")
    rank_axis.set_ylabel("share of all recommendations (fraction, log scale)", fontsize="small")
    rank_axis.set_title("exposure by item rank (items never shown: not drawn)", fontsize="medium")
    lorenz_axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="_equal")
    lorenz_axis.set_xlabel("share of items, least exposed first (fraction)", fontsize="small")
    lorenz_axis.set_ylabel("cumulative share of recommendations (fraction)", fontsize="small")
    lorenz_axis.set_title("Lorenz curve of exposure (dotted: equal exposure)", fontsize="medium")
    _legend(figure, [rank_axis, lorenz_axis])
    return _save(figure, path)


def plot_reward_diversity(
    summaries: Sequence[SummarizedRuns],
    *,
    diversity: Sequence[str] = ("polarization", "gini"),
    path: str | os.PathLike[str] | None = None,
) -> Any:
    """The trade-off: mean reward against each diversity metric, one point per policy.

    One panel per metric of ``diversity``: x is the metric's final value, y the run's
    mean reward (``mean_reward``), both the mean over seeds with error bars for their
    confidence intervals (none with one seed).

    Args:
        summaries: One :class:`~recgym.population.seeds.SeedSummary` per policy (a
            History counts as one seed).
        diversity: Metrics for the x axes, among the summaries' final values.
        path: If given, save the figure there as PNG.

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    summaries = _check_summaries(summaries)
    if isinstance(diversity, str) or not isinstance(diversity, Sequence) or not diversity:
        raise TypeError(f"`diversity` must be a non-empty list of metric names, got {diversity!r}")
    styles = policy_styles([summary.policy for summary in summaries])
    figure, axes = _figure(len(diversity), columns=2, size=5.2, height=4.6)
    for axis, name in zip(axes, diversity):
        points = []
        for summary in summaries:
            x, x_low, x_high = summary.final_interval(name)
            y, y_low, y_high = summary.final_interval("mean_reward")
            style = styles[summary.policy]
            axis.errorbar(
                x,
                y,
                xerr=_error_bar(x, x_low, x_high, _bounds(name)),
                yerr=_error_bar(y, y_low, y_high, _bounds("mean_reward")),
                color=style["color"],
                marker=style["marker"],
                markersize=7,
                linestyle="none",
                capsize=3,
                elinewidth=1,
                label=summary.policy,
                alpha=0.85,
            )
            ends = [end for end in (x_low, x_high) if math.isfinite(end)]
            bottom, top = _bounds(name)
            points.append(
                (
                    summary.policy,
                    x,
                    y,
                    max(min(ends, default=x), bottom),
                    min(max(ends, default=x), top),
                )
            )
        axis.margins(x=0.22, y=0.12)  # room for the labels
        axis.autoscale_view()
        bottom, top = _bounds(name)
        low, high = axis.get_xlim()
        span = high - low
        # No room beyond the metric's range: a Gini below 0 or above 1 does not exist.
        axis.set_xlim(max(low, bottom - 0.04 * span), min(high, top + 0.04 * span))
        _label_points(axis, points)  # last: labels are placed in the final axes
        axis.set_xlabel(f"{metric_label(name)}, at the last step", fontsize="small")
        axis.set_ylabel(
            f"mean reward over users and steps ({_unit('mean_reward')})", fontsize="small"
        )
        axis.set_title(f"reward against {name}", fontsize="medium")
        axis.grid(alpha=0.3)
    counts = sorted({len(summary.seeds) for summary in summaries})
    if counts == [1]:
        title = "one seed: no error bars"
    else:
        title = (
            f"mean over {'/'.join(map(str, counts))} seeds; error bars: "
            f"{summaries[0].confidence * 100:.0f} % Student-t intervals (clipped to the "
            "metric's range)"
        )
    _legend(figure, axes)
    figure.suptitle(title, fontsize="medium")
    return _save(figure, path)


def _error_bar(
    mean: float, low: float, high: float, bounds: tuple[float, float]
) -> list[list[float]] | None:
    """``[[mean − low], [high − mean]]`` for ``errorbar``; None without an interval.

    The ends are clipped to ``bounds``, the metric's range.
    """
    if math.isnan(low) or math.isnan(high) or math.isnan(mean):
        return None
    low, high = max(low, bounds[0]), min(high, bounds[1])
    return [[max(mean - low, 0.0)], [max(high - mean, 0.0)]]


def _unit(name: str) -> str:
    from recgym.population.metrics import METRICS

    return METRICS[name].unit


def _label_points(axis: Any, points: Sequence[tuple[str, float, float, float, float]]) -> None:
    """Write each point's name next to it, moving labels apart where points crowd.

    ``points`` are ``(name, x, y, x_low, x_high)``: a label goes right of the point's x
    error bar (left of it near the right edge), at the point's height if that space is
    free (of other labels and of markers), else at the nearest free height above or below;
    a thin line joins a moved label to its point. Positions are in axes coordinates,
    label widths estimated from their length.
    """
    finite = [point for point in points if math.isfinite(point[1]) and math.isfinite(point[2])]
    if not finite:
        return
    transform = axis.transData + axis.transAxes.inverted()
    line = 0.045
    # (left, right, y) of what a label must not cover: the markers, then each label placed.
    boxes = [
        (px - 0.012, px + 0.012, py)
        for px, py in (transform.transform((x, y)) for _, x, y, _, _ in finite)
    ]
    for name, x, y, x_low, x_high in sorted(finite, key=lambda point: (-point[2], point[1])):
        px, py = transform.transform((x, y))
        start = max(transform.transform((x_high, y))[0], px) + 0.02
        end = min(transform.transform((x_low, y))[0], px) - 0.02
        width = 0.0125 * len(name)
        left = start if start + width < 0.99 else end - width
        right = left + width
        for k in range(40):
            ly = py + line * ((k + 1) // 2) * (1 if k % 2 else -1)
            if not any(
                abs(ly - oy) < line and left < o_right and o_left < right
                for o_left, o_right, oy in boxes
            ):
                break
        boxes.append((left, right, ly))
        moved = abs(ly - py) > 1e-9
        axis.annotate(
            name,
            xy=(px, py),
            xycoords="axes fraction",
            xytext=(left, ly),
            textcoords="axes fraction",
            fontsize="x-small",
            va="center",
            ha="left",
            arrowprops={"arrowstyle": "-", "linewidth": 0.5, "color": "grey"} if moved else None,
        )
