"""What a replication returns: the paper's claim, our numbers with intervals, the verdict.

A :class:`Replication` holds everything one run of a preset produced: the paper and its
claim in one sentence, every setting, the headline numbers as :class:`Estimate` objects
(per-seed values, mean and 95 % Student-t interval over seeds, unit), whether the claim's
direction holds, the per-step :class:`Curve` summaries behind the figure, the run time
and the recgym version. It draws the headline figure (:meth:`Replication.figure`), writes
itself as Markdown, CSV and a report folder (:meth:`Replication.save`).

**The verdict** (:attr:`Replication.holds`). Some estimates are *tests* of the claim: a
difference between two arms of the experiment, taken per seed (every arm of a seed starts
from the same population), with the sign the claim predicts (:attr:`Estimate.expected`,
``"> 0"`` or ``"< 0"``). The claim's direction holds when the 95 % Student-t interval
over seeds of every test lies entirely on the predicted side of 0; it does not hold when
one interval reaches 0 or beyond. With one seed there is no interval and the verdict is
undetermined (``None``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym._io import write_csv
from recgym.population.report import format_estimate
from recgym.population.seeds import t_interval

__all__ = ["CSV_COLUMNS", "RULE", "Curve", "Estimate", "Panel", "Replication"]

#: The rule that turns the numbers into :attr:`Replication.holds`, as the reports state it.
RULE = (
    "The claim's direction holds when the 95 % Student-t interval over seeds of every "
    "test (a per-seed difference between two arms, marked with the sign the claim "
    "predicts) lies entirely on the predicted side of 0; it does not hold when one "
    "interval reaches 0. With one seed there is no interval and the verdict is undetermined."
)

#: The fixed columns of :meth:`Replication.rows`; one ``seed_<s>`` column per seed follows.
CSV_COLUMNS = (
    "kind",
    "quantity",
    "series",
    "step",
    "unit",
    "expected",
    "n_seeds",
    "mean",
    "ci_low",
    "ci_high",
)

_EXPECTED = ("> 0", "< 0")


@dataclass(frozen=True)
class Estimate:
    """One headline number over seeds: per-seed values, mean and confidence interval.

    Attributes:
        name: Machine name, unique in a replication (``"drift_greedy_minus_balanced"``).
        description: What it is, in words, for the reports.
        values: The value of each seed, in the order of the replication's seeds.
        unit: Unit of the values (``"rad"``, ``"steps"``; ``""`` for a pure number).
        expected: ``"> 0"`` or ``"< 0"`` if the estimate tests the claim (the sign the
            claim predicts), None if it is only reported.
        confidence: Coverage of the interval.
        mean: The mean over seeds.
        low: Lower end of the Student-t interval of the mean (NaN with one seed).
        high: Upper end of the interval (NaN with one seed).
    """

    name: str
    description: str
    values: tuple[float, ...]
    unit: str = ""
    expected: str | None = None
    confidence: float = 0.95
    mean: float = field(init=False)
    low: float = field(init=False)
    high: float = field(init=False)

    def __post_init__(self) -> None:
        if self.expected is not None and self.expected not in _EXPECTED:
            raise ValueError(
                f"`expected` must be one of {list(_EXPECTED)} or None, got {self.expected!r}"
            )
        values = tuple(float(value) for value in np.asarray(self.values, dtype=np.float64))
        if not values:
            raise ValueError(f"`values` of {self.name!r} must hold one value per seed, got none")
        object.__setattr__(self, "values", values)
        mean, low, high = t_interval(values, self.confidence)
        object.__setattr__(self, "mean", float(mean))
        object.__setattr__(self, "low", float(low))
        object.__setattr__(self, "high", float(high))

    @property
    def interval(self) -> tuple[float, float]:
        """``(low, high)``: the confidence interval of the mean."""
        return self.low, self.high

    @property
    def holds(self) -> bool | None:
        """Whether the interval lies on the expected side of 0 (None: no test, or no interval)."""
        if self.expected is None or not (math.isfinite(self.low) and math.isfinite(self.high)):
            return None
        return self.low > 0 if self.expected == "> 0" else self.high < 0

    def text(self) -> str:
        """``"mean ± half-width unit"`` at the precision the interval supports."""
        number = format_estimate(self.mean, self.low, self.high)
        return f"{number} {self.unit}" if self.unit else number


@dataclass(frozen=True)
class Panel:
    """One panel of the headline figure: a quantity against the step.

    Attributes:
        key: The quantity's name, shared by its curves (``"drift"``).
        title: The panel's title, a few words (``"drift"``).
        description: What it measures (the y-axis label, with the unit).
        unit: Its unit (``""``: none).
        bounds: The quantity's range; the bands are clipped to it (None: unbounded).
    """

    key: str
    title: str
    description: str
    unit: str = ""
    bounds: tuple[float, float] | None = None

    @property
    def label(self) -> str:
        """The y-axis label: the description and the unit in parentheses."""
        return f"{self.description} ({self.unit})" if self.unit else self.description


@dataclass(frozen=True, eq=False)
class Curve:
    """One line of the figure: a quantity of one arm at every recorded step, over seeds.

    Attributes:
        panel: The :attr:`Panel.key` of the panel it belongs to.
        series: The arm's label (the legend entry).
        steps: int64 ``(K,)``: the recorded steps.
        values: float64 ``(n_seeds, K)``: each seed's value at each step.
        confidence: Coverage of the intervals.
        mean: float64 ``(K,)``: the mean over seeds.
        low: float64 ``(K,)``: lower end of the Student-t interval (NaN with one seed).
        high: float64 ``(K,)``: upper end.
    """

    panel: str
    series: str
    steps: NDArray[np.int64]
    values: NDArray[np.float64]
    confidence: float = 0.95
    mean: NDArray[np.float64] = field(init=False)
    low: NDArray[np.float64] = field(init=False)
    high: NDArray[np.float64] = field(init=False)

    def __post_init__(self) -> None:
        steps = np.array(self.steps, dtype=np.int64)
        values = np.array(self.values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != steps.shape[0]:
            raise ValueError(
                f"`values` of curve {self.panel!r}/{self.series!r} must have shape "
                f"(n_seeds, {steps.shape[0]}), got {values.shape}"
            )
        steps.flags.writeable = False
        values.flags.writeable = False
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "values", values)
        mean, low, high = t_interval(values, self.confidence)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)


@dataclass(frozen=True, eq=False)
class Replication:
    """The result of a preset: claim, settings, numbers with intervals, verdict, figure.

    Build it with :func:`recgym.presets.replicate` or a preset's function
    (:func:`recgym.presets.dean_morgenstern_2022`, …).

    Attributes:
        name: The preset's registry name (``"jiang_2019"``).
        citation: The paper, short (``"Jiang et al. (2019)"``).
        reference: The paper's full reference.
        claim: The claim tested, in one sentence.
        settings: Everything that defines the run, as JSON values: the population,
            catalogue, user and choice model, the arms (recommenders and parameters),
            horizon, scale, seeds.
        estimates: The headline numbers; those with :attr:`Estimate.expected` test the claim.
        panels: The panels of the headline figure.
        curves: The per-step summaries behind the figure, one per panel and arm.
        seeds: The seeds, in order.
        scale: ``"small"`` or ``"paper"``.
        base_seed: The first seed (seed ``i`` is ``base_seed + i``).
        seconds: Wall-clock seconds the runs and the analysis took.
        version: The recgym version that computed it.
        caption: The settings in one sentence, for the figure's caption.
        confidence: Coverage of every interval (0.95).
    """

    name: str
    citation: str
    reference: str
    claim: str
    settings: Mapping[str, Any]
    estimates: tuple[Estimate, ...]
    panels: tuple[Panel, ...]
    curves: tuple[Curve, ...]
    seeds: tuple[int, ...]
    scale: str
    base_seed: int
    seconds: float
    version: str
    caption: str
    confidence: float = 0.95

    @property
    def rule(self) -> str:
        """How :attr:`holds` is decided from the numbers (:data:`RULE`)."""
        return RULE

    @property
    def tests(self) -> tuple[Estimate, ...]:
        """The estimates that test the claim (those with an expected sign)."""
        return tuple(estimate for estimate in self.estimates if estimate.expected is not None)

    @property
    def holds(self) -> bool | None:
        """Whether the claim's direction holds (see :data:`RULE`); None with one seed.

        True when every test's interval lies on its predicted side of 0, False when one
        does not, None when an interval is undefined (one seed) and none is False.
        """
        verdicts = [estimate.holds for estimate in self.tests]
        if any(verdict is False for verdict in verdicts):
            return False
        if not verdicts or any(verdict is None for verdict in verdicts):
            return None
        return True

    @property
    def verdict(self) -> str:
        """:attr:`holds` in words: ``"holds"``, ``"does not hold"`` or ``"undetermined …"``."""
        holds = self.holds
        if holds is None:
            return "undetermined (one seed: no interval)"
        return "holds" if holds else "does not hold"

    @property
    def command(self) -> str:
        """The ``recgym replicate`` command line that computes this replication again."""
        return (
            f"recgym replicate {self.name} --scale {self.scale} --seeds {len(self.seeds)} "
            f"--base-seed {self.base_seed}"
        )

    def estimate(self, name: str) -> Estimate:
        """The estimate called ``name``.

        Raises:
            KeyError: If there is none (the message lists the names).
        """
        for estimate in self.estimates:
            if estimate.name == name:
                return estimate
        raise KeyError(
            f"no estimate {name!r} in {self.name}; estimates: "
            f"{[estimate.name for estimate in self.estimates]}"
        )

    def curve(self, panel: str, series: str) -> Curve:
        """The curve of ``panel`` for arm ``series``.

        Raises:
            KeyError: If there is none.
        """
        for curve in self.curves:
            if (curve.panel, curve.series) == (panel, series):
                return curve
        raise KeyError(f"no curve {panel!r} for {series!r} in {self.name}")

    # ------------------------------------------------------------------------ outputs

    def figure(self, path: str | os.PathLike[str] | None = None) -> Any:
        """The headline figure: one panel per quantity, one line per arm, bands for intervals.

        Needs matplotlib (the ``plot`` extra). Each line is the mean over seeds at each
        recorded step and its shaded band the 95 % Student-t interval of that mean; the
        axes are labelled with the quantity and its unit, one legend names the arms, and
        the caption below gives the settings.

        Args:
            path: If given, save the figure there as PNG (atomically).

        Returns:
            matplotlib.figure.Figure: The figure.
        """
        from recgym.presets.figure import draw

        return draw(self, path)

    def rows(self) -> list[dict[str, Any]]:
        """The tidy table: one row per estimate, then one per curve and recorded step.

        Returns:
            list: Dicts with the keys :data:`CSV_COLUMNS` and ``seed_<s>`` for every seed:
            ``kind`` (``"estimate"`` or ``"curve"``), ``quantity`` (the estimate's name or
            the curve's panel key), ``series`` (the curve's arm; empty for estimates),
            ``step`` (None for estimates), ``unit``, ``expected`` (the predicted sign of a
            test, else None), ``n_seeds``, ``mean``, ``ci_low``, ``ci_high`` and each
            seed's value.
        """
        seed_columns = [f"seed_{seed}" for seed in self.seeds]
        units = {panel.key: panel.unit for panel in self.panels}
        rows: list[dict[str, Any]] = [
            {
                "kind": "estimate",
                "quantity": estimate.name,
                "series": "",
                "step": None,
                "unit": estimate.unit,
                "expected": estimate.expected,
                "n_seeds": len(self.seeds),
                "mean": estimate.mean,
                "ci_low": estimate.low,
                "ci_high": estimate.high,
                **dict(zip(seed_columns, estimate.values)),
            }
            for estimate in self.estimates
        ]
        for curve in self.curves:
            for k, step in enumerate(curve.steps.tolist()):
                rows.append(
                    {
                        "kind": "curve",
                        "quantity": curve.panel,
                        "series": curve.series,
                        "step": step,
                        "unit": units.get(curve.panel, ""),
                        "expected": None,
                        "n_seeds": len(self.seeds),
                        "mean": float(curve.mean[k]),
                        "ci_low": float(curve.low[k]),
                        "ci_high": float(curve.high[k]),
                        **{
                            column: float(curve.values[i, k])
                            for i, column in enumerate(seed_columns)
                        },
                    }
                )
        return rows

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`rows` as CSV, atomically; ``nan`` where undefined, empty for None.

        Returns:
            pathlib.Path: ``path``.
        """
        columns = [*CSV_COLUMNS, *(f"seed_{seed}" for seed in self.seeds)]
        return write_csv(path, columns, ([row[c] for c in columns] for row in self.rows()))

    def to_markdown(self, figure: str | None = None) -> str:
        """The report as Markdown: claim, verdict, numbers with intervals, settings, provenance.

        Args:
            figure: File name of the figure to embed (``"figure.png"``), or None.

        Returns:
            str: The text of ``report.md``.
        """
        from recgym.presets.report import markdown

        return markdown(self, figure)

    def summary(self) -> dict[str, Any]:
        """The replication as JSON values (NaN as None): what ``replication.json`` holds."""
        from recgym.presets.report import summary

        return summary(self)

    def save(self, out: str | os.PathLike[str]) -> dict[str, Path]:
        """Write the report folder: ``report.md``, ``results.csv``, ``figure.png``, manifest.

        The folder receives ``report.md`` (the figure embedded, the numbers with their
        intervals, the verdict and its rule, every setting, the recgym version and the
        command that computes it again), ``results.csv`` (:meth:`rows`), ``figure.png``
        (:meth:`figure`; skipped, with a note in the report, without matplotlib) and
        ``replication.json`` (:meth:`summary`: the folder's manifest). Every file is
        written atomically. A folder is the replication's own: an existing folder must
        be empty or hold a replication of the same preset, scale, seeds and recgym
        version (which is replaced); anything else is refused and left untouched.

        Args:
            out: The folder (created if missing).

        Returns:
            dict: ``{"report": path, "csv": path, "figure": path, "manifest": path}``
            (no ``"figure"`` without matplotlib).

        Raises:
            TypeError: If ``out`` is not a path.
            ValueError: If ``out`` is empty.
            ReplicationFolderError: (a ValueError) If ``out`` holds anything else.
            OSError: If a file cannot be written.
        """
        from recgym.presets.folder import save

        return save(self, out)
