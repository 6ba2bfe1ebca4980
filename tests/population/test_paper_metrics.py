"""The metrics the feedback-loop papers report (Chaney et al. 2018, Jiang et al. 2019,
Mansoury et al. 2020, Kalimeris et al. 2021, Steck 2018): each against a brute-force
computation or a hand-computed case, their trackers against their functions, and
``simulate`` recording them."""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pytest

from recgym.engagement import Churn
from recgym.population import PopulationEnv
from recgym.population.metrics import (
    Metric,
    Recorder,
    StepData,
    TrackerContext,
    compute_metrics,
)
from recgym.population.policies import make_policy
from recgym.population.simulation import simulate

N_USERS, N_ITEMS, DIM, HORIZON = 48, 9, 3, 8
CLASSES = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])  # item classes of N_ITEMS items
GROUPS = np.arange(N_USERS) % 3  # user groups


def env(**overrides: Any) -> PopulationEnv:
    kwargs = {
        "n_users": N_USERS,
        "n_items": N_ITEMS,
        "user_feature_dim": DIM,
        "item_feature_dim": DIM,
        "step_per_episode": HORIZON,
        "obs_std": 0.1,
        "reward_std": 0.1,
        "random_state": 3,
        "item_groups": CLASSES,
    }
    return PopulationEnv(**(kwargs | overrides))


def same(a: float, b: float) -> bool:
    """Bit-equal, NaN equal to NaN."""
    return a == b or (math.isnan(a) and math.isnan(b))


def close(a: float, b: float, tol: float = 1e-12) -> bool:
    """Equal to ``tol`` (relative and absolute), NaN equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=tol, abs_tol=tol)


# ------------------------------------------------------------------ a spy on the steps


class Spy:
    """A tracker that keeps a copy of every step (the data every tracker sees)."""

    steps: ClassVar[list[StepData]] = []

    def __init__(self, context: TrackerContext) -> None:
        Spy.steps = []
        self.labels = [None, *context.groups]

    def observe(self, step: StepData) -> None:
        Spy.steps.append(StepData(*(None if field is None else np.array(field) for field in step)))

    def values(self) -> dict[Any, float]:
        return dict.fromkeys(self.labels, 0.0)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> type[Spy]:
    import recgym.population.metrics.registry as registry

    entries = {**registry.METRICS, "spy": Metric(lambda: 0.0, (), "spy", tracker=Spy)}
    monkeypatch.setattr(registry, "METRICS", MappingProxyType(entries))
    return Spy


def rollout(spy: type[Spy], names: list[str], **overrides: Any) -> tuple[Any, list[StepData]]:
    """A simulate run of the ε-greedy policy recording ``names``, and its steps."""
    k = overrides.get("slate_size", 1)
    history = simulate(
        env(**overrides),
        make_policy("epsilon_greedy", slate_size=k),
        seed=1,
        metrics=[*names, "spy"],
        groups=GROUPS,
        record=["states"],
    )
    return history, spy.steps


SLATES = {"slate_size": 3, "choice_model": "mnl"}
CHURN = {"churn": Churn(threshold=0.0, return_probability=0.3)}
WORLDS = [{}, SLATES, CHURN, SLATES | CHURN]


def scopes() -> list[tuple[str, np.ndarray]]:
    """Everyone's suffix and rows, then each group's."""
    return [("", np.arange(N_USERS))] + [
        (f"[{g}]", np.flatnonzero(g == GROUPS)) for g in np.unique(GROUPS)
    ]


def presented(step: StepData) -> np.ndarray:
    return np.ones(N_USERS, np.bool_) if step.present is None else step.present


def active(step: StepData | None) -> np.ndarray:
    if step is None or step.active is None:
        return np.ones(N_USERS, np.bool_)
    return step.active


def slates(step: StepData) -> np.ndarray:
    assert step.shown is not None
    return step.shown.reshape(N_USERS, -1)


# ------------------------------------------------------------- the registry's plumbing


@pytest.mark.parametrize("world", WORLDS)
def test_trackers_see_what_was_shown_the_states_and_who_is_present(spy, world):
    k = world.get("slate_size", 1)
    policy = make_policy("epsilon_greedy", slate_size=k)
    history = simulate(env(**world), policy, seed=1, metrics=["spy"], record=["states", "actions"])
    assert len(spy.steps) == HORIZON
    for t, step in enumerate(spy.steps, start=1):
        assert np.array_equal(step.shown, history.trajectory["actions"][t - 1])
        assert np.array_equal(step.states, history.trajectory["states"][t])
        assert (step.active is None) == ("churn" not in world)
    assert "churn" not in world or not all(step.active.all() for step in spy.steps)


def test_a_family_needs_a_tracker(monkeypatch):
    import recgym.population.metrics.registry as registry

    family = Metric(lambda states: {"a": 1.0}, ("states",), "x", family=True)
    monkeypatch.setattr(registry, "METRICS", MappingProxyType({**registry.METRICS, "f": family}))
    assert compute_metrics(["f"], states=np.ones((2, 2))) == {"f[a]": 1.0}
    with pytest.raises(ValueError, match="metric 'f' is a family of series"):
        Recorder(["f"], np.ones((2, 2)), n_items=3)
