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
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recgym.engagement import Churn
from recgym.population import PopulationEnv
from recgym.population.metrics import (
    DEFAULT_METRICS,
    METRICS,
    STECK_ALPHA,
    Metric,
    Recorder,
    StepData,
    TrackerContext,
    class_shares,
    collapse_steps,
    collapse_time,
    compute_metrics,
    consumed_utility,
    default_metrics,
    gini,
    group_alignment,
    item_counts,
    miscalibration,
    recommended_popularity,
    score_change,
    score_change_per_user,
    top_k_share,
    user_item_matrix,
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


# --------------------------------------------------------------------- 6. class share


def brute_shares(shown: np.ndarray, classes: np.ndarray, mask: np.ndarray) -> dict[Any, float]:
    labels = sorted(set(classes.tolist()))
    users = [np.atleast_1d(shown[u]) for u in range(len(shown)) if mask[u]]
    return {
        c: (float(np.mean([np.mean(classes[s] == c) for s in users])) if users else math.nan)
        for c in labels
    }


@pytest.mark.parametrize("seed", range(20))
def test_class_shares_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_items, k = int(rng.integers(2, 15)), int(rng.integers(1, 4))
    classes = np.array(["news", "sport", "music"])[rng.integers(0, 3, size=n_items)]
    shown = rng.integers(0, n_items, size=(20, k) if k > 1 else 20)
    mask = rng.random(20) < 0.8
    values = class_shares(shown, classes, presented=mask)
    expected = brute_shares(shown, classes, mask)
    assert list(values) == list(expected)
    assert all(close(values[c], expected[c]) for c in expected)
    if mask.any():
        assert close(sum(values.values()), 1.0)


@pytest.mark.parametrize("world", WORLDS)
def test_simulate_records_class_shares_by_default_with_item_classes(spy, world):
    history, steps = rollout(spy, list(default_metrics(env(**world).config)), **world)
    names = [name for name in history.metrics if name.startswith("class_share")]
    assert names[:3] == ["class_share[0]", "class_share[1]", "class_share[2]"]
    assert "class_share[2][1]" in names  # class 2's share of user group 1's feeds
    for t in range(1, HORIZON + 1):
        step = steps[t - 1]
        for suffix, rows in scopes():
            mask = np.zeros(N_USERS, np.bool_)
            mask[rows] = presented(step)[rows]
            expected = brute_shares(slates(step), CLASSES, mask)
            for c, value in expected.items():
                assert close(history.metrics[f"class_share[{c}]{suffix}"][t], value)


def test_the_class_metrics_are_default_only_with_item_classes():
    with_classes = default_metrics(env().config)
    assert with_classes[: len(DEFAULT_METRICS)] == DEFAULT_METRICS
    assert "class_share" in with_classes and "miscalibration" in with_classes
    plain = default_metrics(env(item_groups=None).config)
    assert "class_share" not in plain and "miscalibration" not in plain
    for name in ("class_share", "miscalibration"):
        with pytest.raises(ValueError, match=f"metric '{name}' needs `item_groups`"):
            simulate(env(item_groups=None), "random", seed=0, metrics=[name])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_class_shares_sum_to_one(data):
    n_items = data.draw(st.integers(1, 10))
    classes = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n_items, max_size=n_items)))
    n, k = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 3))
    flat = data.draw(st.lists(st.integers(0, n_items - 1), min_size=n * k, max_size=n * k))
    values = class_shares(np.array(flat).reshape(n, k), classes)
    assert all(0.0 <= v <= 1.0 for v in values.values())
    assert close(sum(values.values()), 1.0)


# ------------------------------------------------------------------ 7. miscalibration


def brute_miscalibration(history: np.ndarray, shown: np.ndarray, classes: np.ndarray,
                         mask: np.ndarray, alpha: float = STECK_ALPHA) -> float:  # fmt: skip
    """Steck's C_KL user by user; ``history``: ``(N, n_items)`` consumption counts."""
    labels = sorted(set(classes.tolist()))
    values = []
    for u in range(len(shown)):
        if not mask[u] or history[u].sum() == 0:
            continue
        feed = np.atleast_1d(shown[u])
        total = 0.0
        for c in labels:
            p = history[u][classes == c].sum() / history[u].sum()
            q = np.mean(classes[feed] == c)
            if p > 0:
                total += p * math.log(p / ((1 - alpha) * q + alpha * p))
        values.append(total)
    return float(np.mean(values)) if values else math.nan


@pytest.mark.parametrize("seed", range(20))
def test_miscalibration_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_items, k = int(rng.integers(2, 12)), int(rng.integers(1, 4))
    classes = rng.integers(0, 4, size=n_items)
    counts = rng.integers(0, 3, size=(20, n_items)) * (rng.random((20, n_items)) < 0.3)
    shown = rng.integers(0, n_items, size=(20, k))
    mask = rng.random(20) < 0.8
    expected = brute_miscalibration(counts, shown, classes, mask)
    value = miscalibration(sp.csr_array(counts), shown, classes, presented=mask)
    assert close(value, expected)
    alpha = float(rng.uniform(0.001, 1.0))
    value = miscalibration(sp.csr_array(counts), shown, classes, presented=mask, alpha=alpha)
    assert close(value, brute_miscalibration(counts, shown, classes, mask, alpha))


def test_miscalibration_hand_cases():
    classes = np.array(["a", "a", "b"])
    history = np.array([[0, 1]])  # (T=1, N=2): user 0 consumed item 0, user 1 item 1 (class a)
    assert miscalibration(history, np.array([1, 0]), classes) == 0.0  # feeds of class a
    # All of user 0's history in a, the feed all b: q̃(a) = α, C_KL = log(1/α).
    value = miscalibration(history[:, :1], np.array([2]), classes)
    assert close(value, math.log(1 / STECK_ALPHA))
    half = miscalibration(sp.csr_array(np.array([[1, 0, 1]])), np.array([[0, 1]]), classes)
    assert close(half, 0.5 * math.log(0.5 / (0.99 + 0.005)) + 0.5 * math.log(0.5 / 0.005))
    assert math.isnan(miscalibration(sp.csr_array((2, 3)), np.array([0, 1]), classes))


@pytest.mark.parametrize("world", WORLDS)
def test_simulate_records_miscalibration(spy, world):
    history, steps = rollout(spy, ["miscalibration"], **world)
    consumed = np.zeros((N_USERS, N_ITEMS), dtype=np.int64)
    assert math.isnan(history.metrics["miscalibration"][1])  # no history yet
    for t in range(1, HORIZON + 1):
        step = steps[t - 1]
        for suffix, rows in scopes():
            mask = np.zeros(N_USERS, np.bool_)
            mask[rows] = presented(step)[rows]
            expected = brute_miscalibration(consumed, slates(step), CLASSES, mask)
            assert close(history.metrics[f"miscalibration{suffix}"][t], expected)
            exact = miscalibration(sp.csr_array(consumed), slates(step), CLASSES, presented=mask)
            assert same(history.metrics[f"miscalibration{suffix}"][t], exact)
        users = np.flatnonzero(step.positive)
        consumed[users, step.items[users]] += 1


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.001, 1.0))
def test_miscalibration_range(seed, alpha):
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, 3, size=6)
    history = rng.integers(0, 6, size=(3, 10))
    shown = rng.integers(0, 6, size=(10, 2))
    value = miscalibration(history, shown, classes, alpha=alpha)
    assert 0.0 <= value <= math.log(1 / alpha) + 1e-12


# ------------------------------------------------------------- the registry's plumbing


def test_compute_metrics_takes_every_new_input_and_names_family_members():
    rng = np.random.default_rng(0)
    n, d = 12, 3
    states, initial = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    features = rng.normal(size=(N_ITEMS, d))
    shown = rng.integers(0, N_ITEMS, size=(n, 2))
    consumed_items = shown[:, 0]
    history = rng.integers(0, N_ITEMS, size=(3, n))
    values = compute_metrics(
        [name for name in METRICS if name not in DEFAULT_METRICS],
        states=states, initial_states=initial, shown=shown,
        step_counts=item_counts(shown.T, N_ITEMS), past_consumption=item_counts(history, N_ITEMS),
        previous_states=initial, consumed_items=consumed_items, item_features=features,
        user_groups=np.arange(n) % 2, item_groups=CLASSES, consumed=history,
        state_history=np.stack([initial, states]), presented=np.ones(n, np.bool_),
        counts=np.ones(N_ITEMS), rewards=np.ones(n), active=np.ones(n, np.bool_),
    )  # fmt: skip
    assert values["class_share[0]"] == class_shares(shown, CLASSES)[0]
    assert (
        values["group_alignment[1->0]"]
        == group_alignment(states, initial, np.arange(n) % 2)["1->0"]
    )
    assert values["miscalibration"] == miscalibration(history, shown, CLASSES)
    assert values["utility"] == consumed_utility(initial, features, consumed_items)
    assert values["degeneracy"] == score_change(states, initial, features)
    assert values["collapse_time"] == collapse_time(np.stack([initial, states]), features)
    consumed_matrix = user_item_matrix(history, N_ITEMS)
    assert values["miscalibration"] == miscalibration(consumed_matrix, shown, CLASSES)
    assert all(isinstance(value, float) for value in values.values())


def test_new_metrics_are_opt_in_and_leave_the_defaults_unchanged():
    plain = env(item_groups=None)
    assert default_metrics(plain.config) == DEFAULT_METRICS
    new = ["gini_step", "top10_share_step", "recommended_popularity", "utility", "group_alignment",
           "degeneracy", "collapse_time", "class_share", "miscalibration"]  # fmt: skip
    assert not any(METRICS[name].default for name in new)
    before = simulate(env(), "epsilon_greedy", seed=4, groups=GROUPS, metrics=DEFAULT_METRICS)
    after = simulate(
        env(), "epsilon_greedy", seed=4, groups=GROUPS, metrics=[*DEFAULT_METRICS, *new]
    )
    for name, series in before.metrics.items():
        assert np.array_equal(series, after.metrics[name], equal_nan=True), name


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


# ----------------------------------------------------------------------- bad input

SHOWN = np.array([[0, 1], [2, 0]])
BAD_INPUT = [
    (lambda: recommended_popularity(SHOWN.astype(float), np.ones(3)), TypeError,
     "`shown` must hold integer item indices, got dtype float64"),
    (lambda: recommended_popularity(np.array([0, 3]), np.ones(3)), ValueError,
     "`shown` must hold item indices in [0, 3), got 3 at index 1"),
    (lambda: recommended_popularity(np.zeros((2, 0), int), np.ones(3)), ValueError,
     "`shown` must show at least one item per user, got shape (2, 0)"),
    (lambda: recommended_popularity(SHOWN, -np.ones(3)), ValueError,
     "`past_consumption` must be non-negative, got -1.0 at index 0"),
    (lambda: recommended_popularity(SHOWN, np.ones(3), presented=np.ones(3, bool)), ValueError,
     "`presented` must have shape (2,), got (3,)"),
    (lambda: consumed_utility(np.ones((2, 2)), np.ones((3, 4)), np.array([0, 1])), ValueError,
     "`item_features` must have shape (n_items, 2) with n_items >= 1, got shape (3, 4)"),
    (lambda: consumed_utility(np.ones((2, 2)), np.ones((3, 2)), np.array([0, -2])), ValueError,
     "`consumed_items` must hold item indices in [0, 3) or -1 for none, got -2 at index 1"),
    (lambda: consumed_utility(np.ones((2, 2)), np.ones((3, 2)), np.array([0.0, 1.0])), TypeError,
     "`consumed_items` must be an integer array, got dtype float64"),
    (lambda: group_alignment(np.ones((2, 2)), np.ones((3, 2)), np.array([0, 1])), ValueError,
     "`initial_states` must have the shape of `states` (2, 2), got (3, 2)"),
    (lambda: group_alignment(np.ones((2, 2)), np.ones((2, 2)), [0, 1]), TypeError,
     "`groups` must be a 1-D numpy array of user-group labels, got list"),
    (lambda: score_change(np.ones((2, 2)), np.ones((2, 2)), np.array([[1.0, np.nan]])), ValueError,
     "`item_features` must hold finite values, got nan at index (0, 1)"),
    (lambda: collapse_steps(np.ones((2, 2)), np.eye(2)), ValueError,
     "`state_history` must be a 3-D array of shape (T + 1, n_users, dim), got shape (2, 2)"),
    (lambda: collapse_steps(np.ones((0, 2, 2)), np.eye(2)), ValueError,
     "`state_history` must hold at least the initial step, got shape (0, 2, 2)"),
    (lambda: class_shares(SHOWN, [0, 1, 2]), TypeError,
     "`item_groups` must be a 1-D numpy array of item-class labels, got list"),
    (lambda: class_shares(SHOWN, np.array([0.0, np.nan, 1.0])), ValueError,
     "`item_groups` must not hold NaN labels, got nan at index 1"),
    (lambda: miscalibration(np.array([[0, 1]]), SHOWN, np.arange(3), alpha=0.0), ValueError,
     "`alpha` must be a float in (0, 1], got 0.0"),
    (lambda: miscalibration(np.array([[0, 1]]), SHOWN, np.arange(3), alpha="x"), TypeError,
     "`alpha` must be a float in (0, 1], got 'x'"),
    (lambda: miscalibration(sp.csr_array((2, 5)), SHOWN, np.arange(3)), ValueError,
     "`consumed` must have at most n_items = 3 item columns"),
    (lambda: miscalibration(sp.csr_array((3, 3)), SHOWN, np.arange(3)), ValueError,
     "`consumed` must have shape (n_users, n_items) with n_users = 2, got (3, 3)"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "error", "message"), BAD_INPUT)
def test_bad_input_is_refused_with_a_message_naming_the_argument(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
