"""Every registry metric declares its unit, definition and range, and docs/metrics.md agrees."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from recgym.population import PopulationEnv
from recgym.population.metrics import METRICS
from recgym.population.simulation import simulate

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


@pytest.mark.parametrize("name", list(METRICS))
def test_every_metric_declares_a_unit_and_a_definition(name):
    metric = METRICS[name]
    assert metric.unit and metric.definition, name
    assert "`" in metric.definition, f"{name}: the definition gives no formula"


@pytest.mark.parametrize("name", list(METRICS))
def test_every_formula_of_a_definition_is_written_so_in_docs_metrics_md(name):
    text = " ".join(DOCS.read_text(encoding="utf-8").split())
    for formula in re.findall(r"`([^`]+)`", METRICS[name].definition):
        assert " ".join(formula.split()) in text, f"{name}: {formula!r} is not in docs/metrics.md"


def test_recorded_values_lie_within_the_declared_bounds():
    env = PopulationEnv(
        n_users=300,
        n_items=20,
        step_per_episode=12,
        feature_normalization="row",
        user_groups=np.arange(300) % 2,
        item_groups=np.arange(20) % 3,
        random_state=1,
    )
    for policy in ("random", "greedy", "mass_media"):
        history = simulate(env, policy, seed=1, metrics=[*METRICS])
        assert {name.split("[")[0] for name in history.metrics} == set(METRICS)
        for name, values in history.metrics.items():
            bounds = METRICS[name.split("[")[0]].bounds
            if bounds is None:
                continue
            finite = values[np.isfinite(values)]
            assert np.all((finite >= bounds[0] - 1e-12) & (finite <= bounds[1] + 1e-12)), name


def test_bounds_are_ordered_pairs_or_none():
    for name, metric in METRICS.items():
        if metric.bounds is not None:
            low, high = metric.bounds
            assert low < high and math.isfinite(low) and math.isfinite(high), name
    assert METRICS["reward"].bounds is None  # rewards carry unbounded noise
    assert METRICS["drift"].bounds == (0.0, math.pi) and METRICS["drift"].unit == "rad"
