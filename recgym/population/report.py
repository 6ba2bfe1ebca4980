"""The text of a study report: estimates with their intervals, tables, the glossary.

:func:`format_estimate` prints a mean with the half-width of its confidence interval at
the precision the interval supports; :func:`estimates_table` lays such numbers out for a
terminal or as Markdown; :func:`glossary` explains the metrics from the registry
(:data:`~recgym.population.metrics.METRICS`: description, unit, definition).
``recgym study`` builds ``report.md`` from them (:func:`~recgym.population.study.run_study`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from recgym.population.metrics import METRICS

__all__ = ["decimals_for", "estimates_table", "format_estimate", "glossary"]


def decimals_for(half_width: float, significant: int = 2) -> int:
    """Decimals that show ``half_width`` to ``significant`` significant digits.

    Negative for large widths: ``-1`` rounds to tens.

    Example:
        >>> decimals_for(0.0234), decimals_for(0.5), decimals_for(12.0), decimals_for(350.0)
        (3, 2, 0, -1)
    """
    if not math.isfinite(half_width) or half_width <= 0:
        return 3
    return significant - 1 - math.floor(math.log10(half_width))


def format_estimate(mean: float, low: float, high: float) -> str:
    """``"mean ± half-width"`` of a confidence interval, at the interval's precision.

    The half-width is printed to two significant digits and the mean to the same
    decimal place (so ``0.99612`` with an interval of ``± 0.00234`` is ``0.9961 ±
    0.0023``, and ``0.0121 ± 0.31`` is ``0.01 ± 0.31``): no digit is printed that the
    interval says is noise. Without an interval (one seed: NaN ends) the mean is printed
    to three significant digits; an interval of width 0 (every seed gave the same value)
    prints as ``± 0``; an undefined mean as ``n/a``.

    Args:
        mean: The estimate.
        low: Lower end of its interval (NaN: none).
        high: Upper end of its interval (NaN: none).

    Returns:
        str: The text.

    Example:
        >>> format_estimate(0.99612, 0.99378, 0.99846)
        '0.9961 ± 0.0023'
        >>> format_estimate(0.5, float("nan"), float("nan"))
        '0.5'
        >>> format_estimate(1.0, 1.0, 1.0)
        '1 ± 0'
    """
    if not math.isfinite(mean):
        return "n/a"
    if not (math.isfinite(low) and math.isfinite(high)):
        return _plain(mean)
    half = (high - low) / 2.0
    if half <= abs(mean) * 1e-12:
        return f"{_plain(mean, 4)} ± 0"
    decimals = decimals_for(half)
    value, half = round(mean, decimals), round(half, decimals)
    if value == 0:
        value = 0.0  # no "-0.00"
    shown = max(decimals, 0)
    return f"{value:.{shown}f} ± {half:.{shown}f}"


def _plain(value: float, significant: int = 3) -> str:
    """``value`` to ``significant`` significant digits, without exponent for usual sizes."""
    if value == 0:
        return "0"
    text = f"{value:.{significant}g}"
    if "e" in text and 1e-4 <= abs(value) < 1e6:
        decimals = max(0, significant - 1 - math.floor(math.log10(abs(value))))
        text = f"{value:.{decimals}f}"
    return text


def estimates_table(
    rows: Mapping[str, Mapping[str, tuple[float, float, float]]],
    columns: Sequence[str],
    *,
    markdown: bool = False,
    first: str = "policy",
) -> str:
    """A table of :func:`format_estimate` texts: one row per key of ``rows``.

    Args:
        rows: Row name (a policy) → column → ``(mean, low, high)``.
        columns: The columns, in order; a missing value prints as ``n/a``.
        markdown: A Markdown table (numbers right-aligned) instead of fixed-width text.
        first: Header of the first column.

    Returns:
        str: The table, without a trailing newline.
    """
    nan = (math.nan, math.nan, math.nan)
    cells = [
        [name, *(format_estimate(*values.get(column, nan)) for column in columns)]
        for name, values in rows.items()
    ]
    header = [first, *columns]
    if markdown:
        lines = [
            "| " + " | ".join(header) + " |",
            "|" + "---|" + "---:|" * len(columns),
        ]
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
    widths[0] = max(widths[0], 16)

    def line(row: Sequence[str]) -> str:
        return "  ".join(cell.rjust(width) for cell, width in zip(row, widths))

    text = [line(header), "-" * len(line(header))]
    return "\n".join(text + [line(row) for row in cells])


def glossary(names: Iterable[str]) -> str:
    """Markdown definitions of the metrics ``names``, from the registry.

    Each entry gives the metric's name, its one-line description, its unit and its
    definition (formula and range, as in ``docs/metrics.md``). ``"mean_reward"`` as a
    final value is the run's mean reward. Names outside the registry are skipped.

    Returns:
        str: A Markdown list, one metric per item.
    """
    lines = []
    for name in dict.fromkeys(names):
        metric = METRICS.get(name)
        if metric is None:
            continue
        unit = f" Unit: {metric.unit}." if metric.unit else ""
        definition = f" {_sentence(metric.definition)}" if metric.definition else ""
        lines.append(f"- **`{name}`**: {metric.description}.{unit}{definition}")
    return "\n".join(lines)


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]
