"""recgym.population.report: numbers at the precision of their interval, tables, the glossary."""

from __future__ import annotations

import math

import pytest

from recgym.population.metrics import METRICS
from recgym.population.report import decimals_for, estimates_table, format_estimate, glossary

NAN = math.nan


@pytest.mark.parametrize(
    ("mean", "low", "high", "text"),
    [
        (0.99612, 0.99378, 0.99846, "0.9961 ± 0.0023"),  # half-width 0.00234
        (0.0121, -0.2979, 0.3221, "0.01 ± 0.31"),
        (1.4865, 1.4165, 1.5565, "1.486 ± 0.070"),  # a trailing zero is a digit
        (12.34, 2.34, 22.34, "12 ± 10"),
        (1234.5, 1134.5, 1334.5, "1230 ± 100"),  # rounded to tens
        (0.5, 0.2, 0.8, "0.50 ± 0.30"),
        (-0.0011, -0.0031, 0.0009, "-0.0011 ± 0.0020"),
        (-0.0004, -0.05, 0.05, "0.000 ± 0.050"),  # no "-0.000"
        (1.0, 1.0, 1.0, "1 ± 0"),  # every seed gave the same value
        (0.9666666, 0.9666666, 0.9666666, "0.9667 ± 0"),
        (0.5, NAN, NAN, "0.5"),  # one seed: three significant digits
        (0.123456, NAN, NAN, "0.123"),
        (0.000123456, NAN, NAN, "0.000123"),
        (NAN, NAN, NAN, "n/a"),
    ],
)
def test_format_estimate_prints_the_digits_the_interval_supports(mean, low, high, text):
    assert format_estimate(mean, low, high) == text


def test_decimals_for_two_significant_digits_of_the_half_width():
    widths = (0.0234, 0.099, 0.1, 0.5, 1.0, 12.0, 350.0)
    assert [decimals_for(h) for h in widths] == [3, 3, 2, 2, 1, 0, -1]
    assert decimals_for(NAN) == 3 and decimals_for(0.0) == 3


def test_estimates_tables_in_text_and_markdown():
    rows = {
        "greedy": {"reward": (0.99612, 0.99378, 0.99846), "gini": (0.16, 0.15, 0.17)},
        "random": {"reward": (0.0, -0.001, 0.001)},
    }
    text = estimates_table(rows, ["reward", "gini"]).splitlines()
    assert text[0].split() == ["policy", "reward", "gini"]
    assert set(text[1]) == {"-"} and len({len(line) for line in text}) == 1
    assert text[2].split() == ["greedy", "0.9961", "±", "0.0023", "0.160", "±", "0.010"]
    assert text[3].split()[-1] == "n/a"
    markdown = estimates_table(rows, ["reward", "gini"], markdown=True).splitlines()
    assert markdown[:2] == ["| policy | reward | gini |", "|---|---:|---:|"]
    assert markdown[2] == "| greedy | 0.9961 ± 0.0023 | 0.160 ± 0.010 |"
    assert markdown[3] == "| random | 0.0000 ± 0.0010 | n/a |"


def test_the_glossary_gives_description_unit_and_definition_of_each_metric():
    text = glossary(["drift", "gini", "not_a_metric", "drift"]).splitlines()
    assert len(text) == 2
    assert text[0] == (
        f"- **`drift`**: {METRICS['drift'].description}. Unit: rad. Mean over users of the "
        "great-circle angle between the current and the initial preference, "
        "`2·atan2(‖û − û⁰‖, ‖û + û⁰‖)`; range `[0, π]`: 0 at the start, ≈ π/2 when nothing "
        "of the start is left (in high dimension)."
    )
    assert text[1].startswith("- **`gini`**: Gini coefficient of item counts. Unit: unitless")
