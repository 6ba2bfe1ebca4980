"""The metrics the feedback-loop papers report (Chaney et al. 2018, Jiang et al. 2019,
Mansoury et al. 2020, Kalimeris et al. 2021, Steck 2018): each against a brute-force
computation or a hand-computed case, their trackers against their functions, and
``simulate`` recording them."""

from __future__ import annotations

import math
import re
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recgym.engagement import Churn
from recgym.population import PopulationEnv
from recgym.population.metrics import (
    Metric,
    Recorder,
    StepData,
    TrackerContext,
    collapse_steps,
    collapse_time,
    compute_metrics,
    consumed_utility,
    gini,
    group_alignment,
    recommended_popularity,
    score_change,
    score_change_per_user,
    top_k_share,
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


# ---------------------------------------------------------- 1. per-step concentration


def brute_gini(counts: np.ndarray) -> float:
    n, total = len(counts), counts.sum()
    if total == 0:
        return math.nan
    return sum(abs(a - b) for a in counts for b in counts) / (2 * n * total)


def brute_top10(counts: np.ndarray) -> float:
    total = counts.sum()
    return math.nan if total == 0 else sum(sorted(counts, reverse=True)[:10]) / total


def brute_step_counts(shown: np.ndarray, mask: np.ndarray, n_items: int) -> np.ndarray:
    counts = np.zeros(n_items, dtype=np.int64)
    for user in range(len(shown)):
        if mask[user]:
            for item in np.atleast_1d(shown[user]):
                counts[item] += 1
    return counts


@pytest.mark.parametrize("seed", range(20))
def test_step_concentration_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_items, k = int(rng.integers(3, 30)), int(rng.integers(1, 4))
    shown = rng.integers(0, n_items, size=(25, k))
    mask = rng.random(25) < 0.8
    counts = brute_step_counts(shown, mask, n_items)
    values = compute_metrics(["gini_step", "top10_share_step"], step_counts=counts)
    assert close(values["gini_step"], brute_gini(counts))
    assert close(values["top10_share_step"], brute_top10(counts))


@pytest.mark.parametrize("world", WORLDS)
def test_simulate_records_the_last_steps_exposure_concentration(spy, world):
    history, steps = rollout(spy, ["gini_step", "top10_share_step", "gini"], **world)
    assert math.isnan(history.metrics["gini_step"][0])
    for t in range(1, HORIZON + 1):
        step = steps[t - 1]
        for suffix, rows in scopes():
            mask = np.zeros(N_USERS, np.bool_)
            mask[rows] = presented(step)[rows]
            counts = brute_step_counts(slates(step), mask, N_ITEMS)
            assert close(history.metrics[f"gini_step{suffix}"][t], brute_gini(counts))
            assert same(history.metrics[f"gini_step{suffix}"][t], gini(counts))
            assert same(history.metrics[f"top10_share_step{suffix}"][t], top_k_share(counts, 10))
    # After one step the window and the cumulative counts are the same.
    assert history.metrics["gini_step"][1] == history.metrics["gini"][1]


# ---------------------------------------------------- 2. popularity of recommended items


def brute_popularity(shown: np.ndarray, past: np.ndarray, mask: np.ndarray) -> float:
    total = past.sum()
    if total == 0:
        return math.nan
    per_user = [
        np.mean([past[item] / total for item in np.atleast_1d(shown[user])])
        for user in range(len(shown))
        if mask[user]
    ]
    return float(np.mean(per_user)) if per_user else math.nan


@pytest.mark.parametrize("seed", range(20))
def test_recommended_popularity_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_items, k = int(rng.integers(2, 20)), int(rng.integers(1, 4))
    shown = rng.integers(0, n_items, size=(30, k) if k > 1 else 30)
    past = rng.integers(0, 5, size=n_items)
    mask = rng.random(30) < 0.7
    expected = brute_popularity(shown, past, mask)
    assert close(recommended_popularity(shown, past, presented=mask), expected)
    everyone = recommended_popularity(shown, past)
    assert close(everyone, brute_popularity(shown, past, np.ones(30, np.bool_)))


def test_recommended_popularity_hand_cases():
    past = np.array([6, 3, 1, 0])  # popularity 0.6, 0.3, 0.1, 0
    assert close(recommended_popularity(np.array([0, 0, 1]), past), (0.6 + 0.6 + 0.3) / 3)
    slates_ = np.array([[0, 3], [1, 2]])  # users' means 0.3 and 0.2
    assert close(recommended_popularity(slates_, past), 0.25)
    assert math.isnan(recommended_popularity(np.array([0, 1]), np.zeros(4)))
    nobody = np.zeros(2, np.bool_)
    assert math.isnan(recommended_popularity(np.array([0, 1]), past, presented=nobody))


@pytest.mark.parametrize("world", WORLDS)
def test_simulate_records_the_popularity_of_what_was_shown(spy, world):
    history, steps = rollout(spy, ["recommended_popularity"], **world)
    past = np.zeros(N_ITEMS, dtype=np.int64)
    for t in range(1, HORIZON + 1):
        step = steps[t - 1]
        for suffix, rows in scopes():
            mask = np.zeros(N_USERS, np.bool_)
            mask[rows] = presented(step)[rows]
            value = history.metrics[f"recommended_popularity{suffix}"][t]
            assert close(value, brute_popularity(slates(step), past, mask))
            assert same(value, recommended_popularity(slates(step), past, presented=mask))
        consumed = step.items[step.positive]
        past += np.bincount(consumed, minlength=N_ITEMS)
    assert np.array_equal(past, history.consumption)  # the History's consumption counts
    assert math.isnan(history.metrics["recommended_popularity"][1])  # nothing consumed before


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_recommended_popularity_is_a_share(data):
    n_items = data.draw(st.integers(1, 12))
    past = np.array(data.draw(st.lists(st.integers(0, 50), min_size=n_items, max_size=n_items)))
    n = data.draw(st.integers(1, 10))
    shown = np.array(data.draw(st.lists(st.integers(0, n_items - 1), min_size=n, max_size=n)))
    value = recommended_popularity(shown, past)
    assert math.isnan(value) if past.sum() == 0 else 0.0 <= value <= 1.0
    if past.sum() and (past > 0).sum() == 1:  # everything consumed was one item
        assert close(value, float(np.mean(past[shown] > 0)))


# ----------------------------------------------------------------------- 3. utility


def brute_utility(states: np.ndarray, features: np.ndarray, items: np.ndarray) -> float:
    values = [float(states[i] @ features[j]) for i, j in enumerate(items) if j >= 0]
    return float(np.mean(values)) if values else math.nan


@pytest.mark.parametrize("seed", range(20))
def test_consumed_utility_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    states, features = rng.normal(size=(20, 4)), rng.normal(size=(7, 4))
    items = np.where(rng.random(20) < 0.6, rng.integers(0, 7, size=20), -1)
    assert close(consumed_utility(states, features, items), brute_utility(states, features, items))
    assert math.isnan(consumed_utility(states, features, np.full(20, -1)))


@pytest.mark.parametrize("world", WORLDS)
def test_simulate_records_the_utility_of_the_consumed_items(spy, world):
    history, steps = rollout(spy, ["utility"], **world)
    states, features = history.trajectory["states"], env(**world).item_features
    assert math.isnan(history.metrics["utility"][0])
    for t in range(1, HORIZON + 1):
        step = steps[t - 1]
        for suffix, rows in scopes():
            items = np.where(presented(step), step.items, -1)[rows]
            expected = brute_utility(states[t - 1][rows], features, items)
            assert close(history.metrics[f"utility{suffix}"][t], expected)


def test_utility_is_the_mean_reward_without_noise_and_differs_with_it():
    quiet = simulate(env(reward_std=0.0), "epsilon_greedy", seed=1, groups=GROUPS,
                     metrics=["utility", "reward"])  # fmt: skip
    for suffix, _ in scopes():
        assert np.array_equal(quiet.metrics[f"utility{suffix}"], quiet.metrics[f"reward{suffix}"],
                              equal_nan=True)  # fmt: skip
    noisy = simulate(env(reward_std=0.5), "epsilon_greedy", seed=1, metrics=["utility", "reward"])
    assert not np.allclose(noisy.metrics["utility"][1:], noisy.metrics["reward"][1:])
    binary = simulate(env(reward_type="binary"), "random", seed=1, metrics=["utility", "reward"])
    assert (binary.metrics["utility"][1:] < 1).all()  # affinities of unit vectors, not clicks


# --------------------------------------------------------------- 4. group alignment


def brute_alignment(states, initial, groups, active_=None) -> dict[str, float]:
    active_ = np.ones(len(states), np.bool_) if active_ is None else active_
    labels = sorted(set(groups.tolist()))
    out = {}
    for a in labels:
        now = [s / np.linalg.norm(s) for s, g, on in zip(states, groups, active_) if g == a and on]
        for b in labels:
            start = [s / np.linalg.norm(s) for s, g in zip(initial, groups) if g == b]
            m, c = np.mean(now, axis=0) if now else None, np.mean(start, axis=0)
            if m is None:
                out[f"{a}->{b}"] = math.nan
            else:
                out[f"{a}->{b}"] = float(m @ c / (np.linalg.norm(m) * np.linalg.norm(c)))
    return out


@pytest.mark.parametrize("seed", range(15))
def test_group_alignment_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, g = 30, int(rng.integers(1, 5))
    states, initial = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    groups = np.array(["maj", "min", "mid", "odd"])[rng.permutation(np.arange(n) % g)]
    values = group_alignment(states, initial, groups)
    expected = brute_alignment(states, initial, groups)
    assert list(values) == list(expected)  # every ordered pair, sorted: "maj->maj", …
    assert all(close(values[key], expected[key]) for key in expected)


def test_group_alignment_hand_case_a_minority_drifting_to_the_majority():
    e1, e2 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    groups = np.array([0, 0, 0, 1])
    initial = np.array([e1, e1, 2 * e1, e2])
    values = group_alignment(initial, initial, groups)
    assert values == {"0->0": 1.0, "0->1": 0.0, "1->0": 0.0, "1->1": 1.0}
    moved = np.array([e1, e1, e1, e1 + e2])  # the minority half-way to the majority
    values = group_alignment(moved, initial, groups)
    assert close(values["1->0"], math.cos(math.pi / 4)) and close(values["1->1"], values["1->0"])
    opposite = np.array([e1, -e1, e2, e2])  # group 0's mean direction is e2/3: not zero
    assert close(group_alignment(opposite, initial, groups)["0->1"], 1.0)
    cancel = np.array([e1, -e1, e1 - e1, e2])  # sums to zero: no direction, cosine 0
    assert group_alignment(cancel, initial, groups)["0->0"] == 0.0


@pytest.mark.parametrize("world", WORLDS)
def test_simulate_records_group_alignment_for_every_ordered_pair(spy, world):
    history, steps = rollout(spy, ["group_alignment"], **world)
    states, initial = history.trajectory["states"], history.initial_states
    names = [name for name in history.metrics if name.startswith("group_alignment")]
    assert names == [f"group_alignment[{a}->{b}]" for a in range(3) for b in range(3)]
    for t in range(HORIZON + 1):
        on = active(steps[t - 1] if t else None)
        expected = brute_alignment(states[t], initial, GROUPS, on)
        for key, value in expected.items():
            assert close(history.metrics[f"group_alignment[{key}]"][t], value, 1e-10)
        if on.all():
            exact = group_alignment(states[t], initial, GROUPS)
            assert all(history.metrics[f"group_alignment[{k}]"][t] == v for k, v in exact.items())


def test_group_alignment_needs_groups():
    with pytest.raises(ValueError, match="metric 'group_alignment' needs user groups"):
        simulate(env(), "random", seed=0, metrics=["group_alignment"])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 5))
def test_group_alignment_is_a_cosine(seed, n_groups, dim):
    rng = np.random.default_rng(seed)
    states, initial = rng.normal(size=(12, dim)), rng.normal(size=(12, dim))
    states[rng.random(12) < 0.2] = 0.0
    values = group_alignment(states, initial, np.arange(12) % n_groups)
    assert len(values) == n_groups**2 and all(-1.0 <= v <= 1.0 for v in values.values())


# ------------------------------------------------------------ 5. Jiang's degeneracy


@pytest.mark.parametrize("seed", range(20))
def test_score_change_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_items, d = int(rng.integers(1, 12)), int(rng.integers(1, 6))
    states, initial = rng.normal(size=(15, d)), rng.normal(size=(15, d))
    features = rng.normal(size=(n_items, d))
    expected = [np.linalg.norm(features @ (s - s0)) for s, s0 in zip(states, initial)]
    assert np.allclose(score_change_per_user(states, initial, features), expected, rtol=1e-12)
    assert close(score_change(states, initial, features), float(np.mean(expected)), 1e-12)


def test_score_change_hand_case():
    features = np.eye(2)  # the scores are the coordinates themselves
    initial = np.array([[1.0, 0.0], [0.0, 1.0]])
    states = np.array([[0.0, 1.0], [0.0, 1.0]])
    assert score_change_per_user(states, initial, features).tolist() == [math.sqrt(2), 0.0]
    doubled = np.vstack([features, features])  # every score twice: ‖·‖ times √2
    assert close(score_change(states, initial, doubled), 1.0)


@pytest.mark.parametrize("world", WORLDS)
def test_simulate_records_degeneracy(spy, world):
    history, steps = rollout(spy, ["degeneracy"], **world)
    states, initial = history.trajectory["states"], history.initial_states
    features = env(**world).item_features
    for t in range(HORIZON + 1):
        on = active(steps[t - 1] if t else None)
        for suffix, rows in scopes():
            rows = rows[on[rows]]
            expected = np.mean(
                [np.linalg.norm(features @ (states[t][i] - initial[i])) for i in rows]
            )
            assert close(history.metrics[f"degeneracy{suffix}"][t], float(expected), 1e-10)


def brute_collapse(history: np.ndarray, features: np.ndarray) -> np.ndarray:
    tops = [[int(np.argmax(features @ s)) for s in states] for states in history]
    out = []
    for user in range(history.shape[1]):
        last = tops[-1][user]
        tau = len(tops) - 1
        while tau > 0 and tops[tau - 1][user] == last:
            tau -= 1
        out.append(tau)
    return np.array(out)


@pytest.mark.parametrize("seed", range(15))
def test_collapse_steps_equal_brute_force(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n_items, t = int(rng.integers(1, 6)), int(rng.integers(1, 8))
    features = rng.normal(size=(n_items, 2))
    history = np.cumsum(rng.normal(size=(t, 11, 2)), axis=0)
    expected = brute_collapse(history, features)
    assert collapse_steps(history, features).tolist() == expected.tolist()
    assert close(collapse_time(history, features), float(expected.mean()))
    import recgym.population.metrics.scores as scores

    monkeypatch.setattr(scores, "_SCORE_BLOCK", 3)  # blocks of users: the same favourites
    assert collapse_steps(history, features).tolist() == expected.tolist()


def test_collapse_hand_case():
    features = np.array([[1.0, 0.0], [0.0, 1.0]])
    e1, e2 = [1.0, 0.1], [0.1, 1.0]
    history = np.array(
        [
            [e1, e1, e2],  # favourites 0, 0, 1
            [e2, e1, e2],  # 1, 0, 1
            [e1, e1, e2],  # 0, 0, 1
            [e1, e1, e2],
        ]
    )
    assert collapse_steps(history, features).tolist() == [2, 0, 0]
    assert collapse_time(history, features) == 2 / 3
    assert collapse_steps(history[:1], features).tolist() == [0, 0, 0]


@pytest.mark.parametrize("world", [{}, SLATES, CHURN])
def test_simulate_records_collapse_time(spy, world):
    history, steps = rollout(spy, ["collapse_time"], **world)
    states, features = history.trajectory["states"], env(**world).item_features
    assert history.metrics["collapse_time"][0] == 0.0
    for t in range(HORIZON + 1):
        on = active(steps[t - 1] if t else None)
        since = collapse_steps(states[: t + 1], features)
        for suffix, rows in scopes():
            rows = rows[on[rows]]
            assert history.metrics[f"collapse_time{suffix}"][t] == since[rows].mean()
    series = history.metrics["collapse_time"]
    if not world:  # nobody leaves: the mean start of the current runs never decreases
        assert (np.diff(series) >= 0).all()


def test_the_score_metrics_need_item_features():
    initial = np.ones((4, 2))
    for name in ("utility", "degeneracy", "collapse_time"):
        with pytest.raises(ValueError, match=f"metric '{name}' needs `item_features`"):
            Recorder([name], initial, n_items=3)


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


def test_a_runner_that_does_not_give_the_shown_items_or_states_is_told():
    recorder = Recorder(["utility"], np.ones((2, 2)), n_items=3, item_features=np.eye(3, 2))
    with pytest.raises(ValueError, match=re.escape("pass states= to Recorder.observe")):
        recorder.observe(np.array([0, 1]), np.ones(2))
