"""simulate(): the History it returns, its agreement with a hand-written loop, and the
filter-bubble results of Dean & Morgenstern (2022) as tests."""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest

from recgym import RECEnv
from recgym.population import PopulationEnv
from recgym.population.metrics import (
    METRICS,
    Metric,
    TrackerContext,
    coverage,
    entropy,
    gini,
    homogenization,
    item_counts,
    jaccard_nearest_neighbors,
    mean_reward,
    mean_squared_cosine,
    polarization,
    preference_drift,
    step_reward,
    top_k_share,
    user_item_matrix,
)
from recgym.population.policies import Decision, Policy, make_policy
from recgym.population.simulation import DEFAULT_METRICS, RECORDABLE, simulate

N_USERS, N_ITEMS, DIM, HORIZON = 60, 8, 3, 12


def small_env(**overrides: Any) -> PopulationEnv:
    """A small noisy population: observation and reward noise exercise every stream."""
    kwargs = {
        "n_users": N_USERS,
        "n_items": N_ITEMS,
        "user_feature_dim": DIM,
        "item_feature_dim": DIM,
        "step_per_episode": HORIZON,
        "obs_std": 0.1,
        "reward_std": 0.1,
        "random_state": 3,
    }
    return PopulationEnv(**(kwargs | overrides))


class ConstantItem(Policy):
    """Shows every user the same fixed item at every step (a user-defined policy)."""

    name = "constant"

    def __init__(self, item: int) -> None:
        super().__init__()
        self.item = item

    def act(self, observations: np.ndarray, *, states: np.ndarray | None = None) -> Decision:
        self._check_observations(observations, "act")
        return Decision(np.full(self.n_users, self.item, dtype=np.int64), np.ones(self.n_users))


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


# ------------------------------------------------------------------------ the History


def test_history_fields_have_the_documented_shapes_and_dtypes():
    env = small_env()
    history = simulate(env, "epsilon_greedy", seed=0, record=RECORDABLE)
    steps = HORIZON
    assert history.policy == "epsilon_greedy"
    assert history.steps.dtype == np.int64
    np.testing.assert_array_equal(history.steps, np.arange(steps + 1))
    assert list(history.metrics) == list(DEFAULT_METRICS)
    for series in history.metrics.values():
        assert series.dtype == np.float64
        assert series.shape == (steps + 1,)
    assert history.rewards.dtype == np.float64
    assert history.rewards.shape == (steps,)
    for counts in (history.exposure, history.consumption):
        assert counts.dtype == np.int64
        assert counts.shape == (N_ITEMS,)
    assert history.exposure.sum() == steps * N_USERS
    assert np.all(history.consumption <= history.exposure)
    for states in (history.initial_states, history.final_states):
        assert states.dtype == np.float64
        assert states.shape == (N_USERS, DIM)
    trajectory = history.trajectory
    assert set(trajectory) == set(RECORDABLE)
    assert trajectory["states"].shape == (steps + 1, N_USERS, DIM)
    assert trajectory["observations"].shape == (steps + 1, N_USERS, DIM)
    assert trajectory["actions"].shape == (steps, N_USERS)
    assert trajectory["actions"].dtype == np.int64
    assert trajectory["rewards"].shape == (steps, N_USERS)
    np.testing.assert_array_equal(history.rewards, trajectory["rewards"].mean(axis=1))
    np.testing.assert_array_equal(trajectory["states"][0], history.initial_states)
    np.testing.assert_array_equal(trajectory["states"][-1], history.final_states)
    np.testing.assert_array_equal(history.exposure, item_counts(trajectory["actions"], N_ITEMS))
    np.testing.assert_array_equal(
        history.consumption,
        item_counts(trajectory["actions"], N_ITEMS, mask=trajectory["rewards"] > 0),
    )
    assert history.initial_states.flags.writeable and history.final_states.flags.writeable
    assert history.metadata["n_users"] == N_USERS
    assert history.metadata["steps"] == steps
    assert history.metadata["seed"] == 0


def test_float32_environments_record_float32_arrays_and_float64_metrics():
    history = simulate(small_env(dtype=np.float32), "greedy", seed=0, record=RECORDABLE)
    assert history.final_states.dtype == np.float32
    assert history.trajectory["states"].dtype == np.float32
    assert history.trajectory["rewards"].dtype == np.float32
    assert history.rewards.dtype == np.float64
    assert all(series.dtype == np.float64 for series in history.metrics.values())


@pytest.mark.parametrize(
    ("steps", "every", "expected"),
    [(12, 1, list(range(13))), (12, 3, [0, 3, 6, 9, 12]), (10, 4, [0, 4, 8, 10]), (5, 50, [0, 5])],
)
def test_metrics_are_recorded_after_reset_every_k_steps_and_at_the_last(steps, every, expected):
    history = simulate(small_env(), "random", steps, seed=1, every=every)
    np.testing.assert_array_equal(history.steps, expected)
    assert all(len(series) == len(expected) for series in history.metrics.values())
    assert history.rewards.shape == (steps,)


def test_steps_default_to_the_episode_length_or_max_cycles():
    assert simulate(small_env(), "random", seed=0).metadata["steps"] == HORIZON
    assert simulate(small_env(max_cycles=5), "random", seed=0).metadata["steps"] == 5


def test_item_metrics_are_nan_before_the_first_step_and_preference_metrics_are_not():
    history = simulate(small_env(), "greedy", seed=0)
    first = {name: series[0] for name, series in history.metrics.items()}
    for name in ("coverage", "gini", "entropy", "top10_share", "jaccard_nn"):
        assert math.isnan(first[name]), name
    for name in ("homogenization", "polarization", "mean_squared_cosine"):
        assert math.isfinite(first[name]), name
    assert first["drift"] == 0.0


def test_recorded_metrics_equal_the_metric_functions_on_the_recorded_arrays():
    history = simulate(small_env(), "softmax", seed=4, record=RECORDABLE, every=5)
    states, actions, rewards = (history.trajectory[k] for k in ("states", "actions", "rewards"))
    initial = history.initial_states
    for k, t in enumerate(history.steps.tolist()):
        now = states[t]
        assert history.metrics["homogenization"][k] == homogenization(now)
        assert history.metrics["polarization"][k] == polarization(now)
        assert history.metrics["mean_squared_cosine"][k] == mean_squared_cosine(now)
        assert history.metrics["drift"][k] == preference_drift(now, initial)
        if t == 0:
            continue
        counts = item_counts(actions[:t], N_ITEMS)
        assert history.metrics["coverage"][k] == coverage(counts)
        assert history.metrics["gini"][k] == gini(counts)
        assert history.metrics["entropy"][k] == entropy(counts)
        assert history.metrics["top10_share"][k] == top_k_share(counts, 10)
        consumed = user_item_matrix(actions[:t], N_ITEMS, mask=rewards[:t] > 0)
        assert history.metrics["jaccard_nn"][k] == pytest.approx(
            jaccard_nearest_neighbors(initial, consumed), rel=1e-12
        )


def test_consumption_counts_feed_the_item_metrics_on_request():
    history = simulate(small_env(), "random", seed=2, counts="consumption", record=RECORDABLE)
    actions, rewards = history.trajectory["actions"], history.trajectory["rewards"]
    consumed = item_counts(actions, N_ITEMS, mask=rewards > 0)
    assert not np.array_equal(consumed, item_counts(actions, N_ITEMS))
    assert history.metrics["gini"][-1] == gini(consumed)
    assert history.metadata["counts"] == "consumption"


def test_consumption_counts_only_positive_rewards_of_consumed_items_with_no_choice():
    settings = {"slate_size": 3, "choice_model": "mnl", "reward_std": 0.5}
    policy = make_policy("random", slate_size=3)
    history = simulate(small_env(**settings), policy, seed=4, record=RECORDABLE)
    env = small_env(**settings)
    env.reset_batch(seed=4)
    expected = np.zeros(N_ITEMS, dtype=np.int64)
    saw_none = saw_negative = False
    for actions in history.trajectory["actions"]:
        _, rewards, _, _, info = env.step_batch(actions)
        saw_none |= bool((info["item"] == -1).any())
        saw_negative |= bool(((rewards < 0) & (info["item"] >= 0)).any())
        np.add.at(expected, info["item"][rewards > 0], 1)
    assert saw_none and saw_negative  # both kinds of uncounted consumption occurred
    assert history.consumption.dtype == np.int64
    np.testing.assert_array_equal(history.consumption, expected)

# ------------------------------------------------ the same numbers as a hand-written loop


@pytest.mark.parametrize(
    "policy",
    ["greedy", "epsilon_greedy", "softmax", "collaborative_filtering", "oracle_greedy"],
)
def test_recorded_arrays_equal_a_manual_reset_batch_step_batch_loop(policy):
    history = simulate(small_env(), policy, seed=11, record=RECORDABLE)
    recorded = history.trajectory
    env = small_env()
    obs, info = env.reset_batch(seed=11)
    np.testing.assert_array_equal(recorded["observations"][0], obs)
    np.testing.assert_array_equal(recorded["states"][0], info["state"])
    for t in range(HORIZON):
        obs, rewards, terminated, _, info = env.step_batch(recorded["actions"][t])
        np.testing.assert_array_equal(recorded["observations"][t + 1], obs)
        np.testing.assert_array_equal(recorded["rewards"][t], rewards)
        np.testing.assert_array_equal(recorded["states"][t + 1], info["state"])
    assert terminated.all()


def test_greedy_actions_are_the_greedy_policy_on_the_recorded_observations():
    history = simulate(small_env(), "greedy", seed=5, record=("observations", "actions"))
    policy = make_policy("greedy")
    env = small_env()
    policy.reset(env.item_features, n_users=N_USERS, rng=np.random.default_rng(0))
    for t in range(HORIZON):
        decision = policy.act(history.trajectory["observations"][t])
        np.testing.assert_array_equal(history.trajectory["actions"][t], decision.actions)


def test_recording_nothing_or_everything_gives_the_same_metrics():
    bare = simulate(small_env(), "epsilon_greedy", seed=8)
    full = simulate(small_env(), "epsilon_greedy", seed=8, record=RECORDABLE)
    assert bare.trajectory == {}
    assert bare == type(full)(**{**full.__dict__, "trajectory": {}})


@pytest.mark.parametrize(
    "policy", ["random", "epsilon_greedy", "softmax", "mass_media", "collaborative_filtering"]
)
def test_same_seed_gives_equal_histories_and_other_seeds_differ(policy):
    first = simulate(small_env(), policy, seed=21, record=RECORDABLE)
    again = simulate(small_env(), policy, seed=21, record=RECORDABLE)
    other = simulate(small_env(), policy, seed=22, record=RECORDABLE)
    assert first == again
    assert first != other
    assert not np.array_equal(first.trajectory["actions"], other.trajectory["actions"])


def test_an_env_can_be_simulated_twice_and_gives_the_same_history():
    env = small_env()
    assert simulate(env, "softmax", seed=3) == simulate(env, "softmax", seed=3)


def test_policy_objects_are_accepted_and_reset_by_simulate():
    policy = make_policy("epsilon_greedy", epsilon=0.5)
    assert simulate(small_env(), policy, seed=1) == simulate(small_env(), policy, seed=1)
    assert simulate(small_env(), policy, seed=1).policy == "epsilon_greedy"


def test_reset_options_start_the_users_from_given_states():
    start = _unit(np.random.default_rng(0).standard_normal((N_USERS, DIM)))
    history = simulate(small_env(), "greedy", seed=0, options={"states": start})
    np.testing.assert_array_equal(history.initial_states, start)


# ------------------------------------------------------------------------------ groups


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["left", "middle", "right"]),
        np.array([3, 7]),
    ],
    ids=["strings", "integers"],
)
def test_group_series_equal_the_metrics_on_each_groups_users(labels):
    groups = labels[np.random.default_rng(0).integers(len(labels), size=N_USERS)]
    history = simulate(small_env(), "softmax", seed=6, groups=groups, record=RECORDABLE, every=4)
    states, actions, rewards = (history.trajectory[k] for k in ("states", "actions", "rewards"))
    expected_names = list(DEFAULT_METRICS) + [
        f"{name}[{label}]" for label in sorted(labels.tolist()) for name in DEFAULT_METRICS
    ]
    assert sorted(history.metrics) == sorted(expected_names)
    for label in labels.tolist():
        users = np.flatnonzero(groups == label)
        initial = history.initial_states[users]
        for k, t in enumerate(history.steps.tolist()):
            series = {name: history.metrics[f"{name}[{label}]"][k] for name in DEFAULT_METRICS}
            now = states[t][users]
            assert series["homogenization"] == homogenization(now)
            assert series["polarization"] == polarization(now)
            assert series["mean_squared_cosine"] == mean_squared_cosine(now)
            assert series["drift"] == preference_drift(now, initial)
            if t == 0:
                continue
            counts = item_counts(actions[:t, users], N_ITEMS)
            assert series["coverage"] == coverage(counts)
            assert series["gini"] == gini(counts)
            assert series["entropy"] == entropy(counts)
            assert series["top10_share"] == top_k_share(counts, 10)
            consumed = user_item_matrix(actions[:t, users], N_ITEMS, mask=rewards[:t, users] > 0)
            assert series["jaccard_nn"] == pytest.approx(
                jaccard_nearest_neighbors(initial, consumed), rel=1e-12
            )


def test_group_item_metrics_follow_the_counts_option():
    groups = np.repeat([0, 1], N_USERS // 2)
    history = simulate(
        small_env(), "random", seed=2, groups=groups, counts="consumption", record=RECORDABLE
    )
    actions, rewards = history.trajectory["actions"], history.trajectory["rewards"]
    for label in (0, 1):
        users = groups == label
        consumed = item_counts(actions[:, users], N_ITEMS, mask=rewards[:, users] > 0)
        assert history.metrics[f"gini[{label}]"][-1] == gini(consumed)
        assert history.metrics[f"coverage[{label}]"][-1] == coverage(consumed)


def test_a_group_of_one_user_has_nan_pairwise_metrics():
    groups = np.zeros(N_USERS, dtype=np.int64)
    groups[0] = 1
    history = simulate(small_env(), "greedy", seed=0, groups=groups)
    assert np.isnan(history.metrics["homogenization[1]"]).all()
    assert np.isnan(history.metrics["jaccard_nn[1]"]).all()
    assert np.isfinite(history.metrics["drift[1]"]).all()


# ----------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"steps": HORIZON + 1},
            ValueError,
            f"`steps` must be at most the episode length ({HORIZON}; raise `step_per_episode`), "
            f"got {HORIZON + 1}",
        ),
        ({"steps": 0}, ValueError, "`steps` must be a positive integer, got 0"),
        ({"steps": 2.5}, TypeError, "`steps` must be a positive integer, got 2.5"),
        ({"every": 0}, ValueError, "`every` must be a positive integer, got 0"),
        ({"seed": -1}, ValueError, "`seed` must be a non-negative integer or None, got -1"),
        ({"metrics": ["gini", "nope"]}, ValueError, "`metrics` must hold names from ["),
        ({"metrics": ["nope"]}, ValueError, "got 'nope'"),
        (
            {"metrics": "gini"},
            TypeError,
            "`metrics` must be an iterable of metric names, got 'gini'",
        ),
        (
            {"record": ("states", "clicks")},
            ValueError,
            "`record` must hold names from ['states', 'observations', 'actions', 'rewards'], "
            "got 'clicks'",
        ),
        (
            {"counts": "clicks"},
            ValueError,
            "`counts` must be one of ['exposure', 'consumption'], got 'clicks'",
        ),
        (
            {"groups": np.zeros(N_USERS - 1)},
            ValueError,
            f"`groups` must have shape ({N_USERS},), got ({N_USERS - 1},)",
        ),
        (
            {"groups": np.zeros((N_USERS, 1))},
            ValueError,
            f"`groups` must have shape ({N_USERS},), got ({N_USERS}, 1)",
        ),
        (
            {"groups": [0] * N_USERS},
            TypeError,
            f"`groups` must be a numpy array of shape ({N_USERS},), got list",
        ),
    ],
)
def test_bad_arguments_are_rejected_with_pinned_messages(kwargs, error, message):
    with pytest.raises(error) as info:
        simulate(small_env(), "random", **kwargs)
    assert message in str(info.value)


def test_a_single_record_name_may_be_given_as_a_string():
    history = simulate(small_env(), "random", seed=0, record="actions")
    assert list(history.trajectory) == ["actions"]


def test_non_environments_and_non_policies_are_rejected():
    with pytest.raises(
        TypeError, match=r"^`env` must be a recgym.population.PopulationEnv, got RECEnv$"
    ):
        simulate(RECEnv(), "random")
    with pytest.raises(TypeError, match=r"`env` must be .*, got dict$"):
        simulate({}, "random")
    with pytest.raises(
        TypeError,
        match=r"^`policy` must be a recgym.population.policies.Policy or a policy name, got int$",
    ):
        simulate(small_env(), 3)
    with pytest.raises(ValueError, match="nope"):
        simulate(small_env(), "nope")


# ------------------------------------------- Dean & Morgenstern (2022), qualitatively


def polarization_run(policy: str, seed: int) -> tuple[float, float]:
    """(start, end) of the polarisation index: 500 users, 50 items, d = 4, 100 steps."""
    env = PopulationEnv(
        n_users=500,
        n_items=50,
        user_feature_dim=4,
        item_feature_dim=4,
        step_per_episode=100,
        feature_normalization="row",
        random_state=seed,
    )
    history = simulate(env, policy, seed=seed, metrics=("polarization",), every=100)
    start, end = history.metrics["polarization"]
    return float(start), float(end)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_mass_media_polarises_and_uniform_random_personalisation_much_less(seed):
    # Under biased assimilation, a common random item per step drives a heterogeneous
    # population onto two antipodal poles (Hązła et al. 2019; Gaitonde, Kleinberg &
    # Tardos 2021; the mass-media baseline of Dean & Morgenstern 2022). Independent
    # random items per user also pull users toward the top eigenvector of the items'
    # second-moment matrix (Dean & Morgenstern's stationarity analysis), but only part
    # of the way: over 20 seeds the end values were 0.89-1.00 against 0.15-0.50.
    mass_start, mass_end = polarization_run("mass_media", seed)
    random_start, random_end = polarization_run("random", seed)
    assert mass_start == random_start < 0.1
    assert mass_end > 0.8
    assert mass_end - mass_start > 0.7
    assert random_end < 0.6
    assert mass_end - random_end > 0.3


def test_mass_media_splits_the_population_into_two_antipodal_poles():
    env = PopulationEnv(
        n_users=500,
        n_items=50,
        user_feature_dim=4,
        item_feature_dim=4,
        step_per_episode=100,
        feature_normalization="row",
        random_state=1,
    )
    history = simulate(env, "mass_media", seed=1)
    final = history.final()
    assert final["mean_squared_cosine"] > 0.95  # everyone on one axis …
    assert abs(final["homogenization"]) < 0.05  # … but not one pole: two, of equal mass
    assert final["polarization"] > 0.95
    states = _unit(history.final_states)
    axis = np.linalg.eigh(states.T @ states)[1][:, -1]
    position = states @ axis
    assert np.mean(np.abs(position) > 0.99) > 0.95
    assert 0.3 < np.mean(position > 0) < 0.7


@pytest.mark.parametrize("item", [0, 7])
def test_showing_one_item_repeatedly_drives_each_user_to_plus_or_minus_that_item(item):
    # Dean & Morgenstern (2022): u_t → sign(⟨u_0, v⟩) · v under repeated exposure to v.
    env = PopulationEnv(
        n_users=500,
        n_items=10,
        user_feature_dim=5,
        item_feature_dim=5,
        step_per_episode=100,
        feature_normalization="row",
        random_state=4,
    )
    history = simulate(env, ConstantItem(item), seed=0, metrics=("polarization",))
    v = env.item_features[item]
    before = _unit(history.initial_states) @ v
    after = _unit(history.final_states) @ v
    np.testing.assert_array_equal(np.sign(after), np.sign(before))
    np.testing.assert_allclose(np.abs(after), 1.0, atol=1e-9)
    assert np.all(history.exposure[np.arange(10) != item] == 0)
    assert history.metrics["polarization"][-1] > 0.99


def test_progress_bar_reports_on_stderr_when_asked(capsys):
    simulate(small_env(), "random", seed=0, progress=True)
    err = capsys.readouterr().err
    assert "simulate random: 100%" in err and f"{HORIZON}/{HORIZON}" in err  # tqdm's bar
    assert err.endswith("\n")
    simulate(small_env(), "random", seed=0)  # short runs, not a terminal: silent
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------------- reward metrics


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_reward_metrics_are_the_step_mean_and_the_running_mean_of_the_rewards(dtype):
    history = simulate(small_env(dtype=dtype), "softmax", seed=9, record=RECORDABLE, every=5)
    rewards = history.trajectory["rewards"]
    reward, running = history.metrics["reward"], history.metrics["mean_reward"]
    assert math.isnan(reward[0]) and math.isnan(running[0])  # no reward before a step
    for k, t in enumerate(history.steps.tolist()[1:], start=1):
        assert reward[k] == history.rewards[t - 1] == step_reward(rewards[:t])
        assert running[k] == history.rewards[:t].mean() == mean_reward(rewards[:t])
    # The run's mean reward (History.final) is the last value of the running mean.
    assert running[-1] == history.final()["mean_reward"] == history.rewards.mean()


def test_reward_metrics_per_group_are_the_groups_own_means():
    groups = np.repeat(["a", "b"], N_USERS // 2)
    history = simulate(small_env(), "epsilon_greedy", seed=3, groups=groups, record=RECORDABLE)
    rewards = history.trajectory["rewards"]
    for label in ("a", "b"):
        own = rewards[:, groups == label]
        for k, t in enumerate(history.steps.tolist()[1:], start=1):
            assert history.metrics[f"reward[{label}]"][k] == step_reward(own[:t])
            assert history.metrics[f"mean_reward[{label}]"][k] == mean_reward(own[:t])


def test_the_reward_metrics_are_recorded_by_default_after_the_others():
    assert DEFAULT_METRICS[:-2] == (
        "homogenization",
        "polarization",
        "mean_squared_cosine",
        "drift",
        "coverage",
        "gini",
        "entropy",
        "top10_share",
        "jaccard_nn",
    )
    assert DEFAULT_METRICS[-2:] == ("reward", "mean_reward")
    assert tuple(name for name, m in METRICS.items() if m.default) == DEFAULT_METRICS


def test_a_metric_is_added_by_its_registry_entry_alone(monkeypatch):
    # The runner knows no metric by name: a new entry (here with a tracker) is recorded.
    import recgym.population.metrics.registry as registry

    class StepsSeen:
        def __init__(self, context: TrackerContext) -> None:
            self.labels = [None, *context.groups]
            self.seen = 0

        def observe(self, step: Any) -> None:
            self.seen += 1

        def values(self) -> dict[Any, float]:
            return dict.fromkeys(self.labels, float(self.seen))

    def max_state(states: np.ndarray) -> float:
        return float(np.max(states))

    entries = {
        **registry.METRICS,
        "steps_seen": Metric(lambda rewards: math.nan, ("rewards",), "steps", tracker=StepsSeen),
        "max_state": Metric(max_state, ("states",), "largest preference coordinate"),
    }
    monkeypatch.setattr(registry, "METRICS", MappingProxyType(entries))
    groups = np.arange(N_USERS) % 2
    history = simulate(
        small_env(), "random", seed=0, metrics=["steps_seen", "max_state"], every=4, groups=groups
    )
    assert history.metrics["steps_seen"].tolist() == [0.0, 4.0, 8.0, 12.0]
    assert history.metrics["steps_seen[1]"].tolist() == [0.0, 4.0, 8.0, 12.0]
    assert history.metrics["max_state"][-1] == np.max(history.final_states)


def test_a_metric_that_needs_history_without_a_tracker_is_refused(monkeypatch):
    import recgym.population.metrics.registry as registry

    entries = {**registry.METRICS, "overlap": Metric(lambda consumed: 0.0, ("consumed",), "x")}
    monkeypatch.setattr(registry, "METRICS", MappingProxyType(entries))
    with pytest.raises(ValueError, match=r"metric 'overlap' reads `consumed`, which a Recorder"):
        simulate(small_env(), "random", seed=0, metrics=["overlap"])
