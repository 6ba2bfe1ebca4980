"""The headline figure of a replication (needs matplotlib, the ``plot`` extra).

Drawn with :class:`matplotlib.figure.Figure` directly, as every recgym figure
(:mod:`recgym.population.plots`): one panel per quantity, one line per arm in the arm's
own colour, line style and marker, the mean over seeds with a shaded band for its 95 %
Student-t interval (clipped to the quantity's range), axes labelled with the quantity and
its unit, one legend for the figure, the paper as title and the settings as caption.
"""

from __future__ import annotations

import os
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np

from recgym.population.plots import STEP_LABEL, _figure, _marks, _save, policy_styles

if TYPE_CHECKING:
    from recgym.presets.replication import Replication

__all__ = ["draw"]


def draw(replication: Replication, path: str | os.PathLike[str] | None = None) -> Any:
    """Draw ``replication``'s figure; save it as PNG at ``path`` if given.

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    panels = replication.panels
    series = list(dict.fromkeys(curve.series for curve in replication.curves))
    styles = policy_styles(series)
    columns = 2 if len(panels) == 4 else 3  # four panels: two rows of two
    height = 3.0 if len(panels) > columns else 3.4
    figure, axes = _figure(len(panels), columns=columns, size=3.6, height=height)
    for axis, panel in zip(axes, panels):
        curves = [curve for curve in replication.curves if curve.panel == panel.key]
        for index, curve in enumerate(curves):
            style = styles[curve.series]
            axis.plot(
                curve.steps,
                curve.mean,
                label=curve.series,
                color=style["color"],
                linestyle=style["linestyle"],
                marker=style["marker"],
                markevery=_marks(len(curve.steps), index, len(curves)),
                markersize=4,
                linewidth=1.3,
            )
            if np.isfinite(curve.low).any():
                bottom, top = panel.bounds if panel.bounds is not None else (-np.inf, np.inf)
                axis.fill_between(
                    curve.steps,
                    np.clip(curve.low, bottom, top),
                    np.clip(curve.high, bottom, top),
                    color=style["color"],
                    alpha=0.18,
                    linewidth=0,
                )
        axis.set_title(panel.title, fontsize="medium")
        axis.set_xlabel(STEP_LABEL, fontsize="small")
        axis.set_ylabel(textwrap.fill(panel.label, 40), fontsize="small")
        axis.ticklabel_format(axis="y", useOffset=False)
    n = len(replication.seeds)
    bands = (
        f"lines: mean over {n} seeds; bands: 95 % Student-t interval of the mean"
        if n > 1
        else "one seed: no interval"
    )
    # The title is the legend's, so that constrained layout places both without overlap.
    handles, labels = axes[0].get_legend_handles_labels()
    columns = len(labels) if len(labels) <= 5 else -(-len(labels) // 2)
    if columns < len(labels):  # two rows, in the arms' order along each row
        order = [
            r * columns + c for c in range(columns) for r in (0, 1) if r * columns + c < len(labels)
        ]
        handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    legend = figure.legend(
        handles,
        labels,
        loc="outside upper center",
        ncols=columns,
        fontsize="small",
        frameon=False,
        title=f"{replication.citation}, replicated\n({bands})",
        title_fontsize="medium",
    )
    legend.get_title().set_multialignment("center")
    width = int(figure.get_figwidth() * 17)
    figure.supxlabel(textwrap.fill(replication.caption, width), fontsize="x-small")
    return _save(figure, path)
