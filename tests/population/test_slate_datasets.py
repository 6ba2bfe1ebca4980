"""Slate datasets in the Open Bandit Pipeline's format, and the slate IPS estimators on numbers.

The estimators are checked against ``true_policy_value`` (on-policy simulation of the
same environment): on a one-step slate problem with the cascade choice model SIPS and
RIPS hold the true value inside their 95 % intervals for every seed tried; IIPS does
where its assumption holds (one position can be consumed) and is measurably biased
where it does not (the cascade), as RIPS is under the multinomial logit. OBP itself is
optional: the comparison tests run where ``obp`` is installed and are skipped otherwise.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.special import expit

from recgym.choice import Cascade, ChoiceModel
from recgym.population import PopulationEnv
from recgym.population.datasets import (
    LOGGED_DATASET_KEYS,
    SLATE_DATASET_KEYS,
    collect_logged_dataset,
    load_logged_dataset,
    save_logged_dataset,
)
from recgym.population.ope import _values, importance_sampling_estimates, true_policy_value
from recgym.population.policies import (
    Decision,
    EpsilonGreedyPolicy,
    OracleGreedyPolicy,
    RandomPolicy,
    SoftmaxPolicy,
)
from recgym.population.rollout import Rollout
from recgym.population.slate_ope import (
    SLATE_ESTIMATORS,
    SlateEstimate,
    evaluation_slate_probabilities,
    slate_estimates,
    slate_trajectory_values,
)

K = 3
SEEDS = range(5)


class GlanceAtOnePosition(ChoiceModel):
    """The user looks at one position drawn uniformly and consumes its item if attracted.

    ``P(j) = sigmoid(u_j) / k``: a position's reward depends on its own item only, so
    IIPS' assumption holds (and RIPS', and SIPS'), with IIPS distinct from RIPS.
    """

    name = "glance"

    def probabilities(self, utilities, *, available=None, user_ids=None):
        n, k = utilities.shape
        result = np.empty((n, k + 1))
        result[:, :k] = expit(utilities) / k
        result[:, k] = 1.0 - result[:, :k].sum(axis=1)
        return result

    def __repr__(self):
        return "GlanceAtOnePosition()"


def slate_env(choice_model="cascade", step_per_episode=1, **overrides) -> PopulationEnv:
    kwargs = {
        "n_users": 500,
        "n_items": 5,
        "slate_size": K,
        "choice_model": choice_model,
        "step_per_episode": step_per_episode,
        "obs_std": 0.1,
        "reward_std": 0.1,
        "feature_normalization": "row",
        "random_state": 7,
    }
    return PopulationEnv(**(kwargs | overrides))


def behaviour() -> EpsilonGreedyPolicy:
    return EpsilonGreedyPolicy(epsilon=0.9, slate_size=K)


EVALUATIONS = {
    "softmax": lambda: SoftmaxPolicy(temperature=0.2, slate_size=K),
    "epsilon_greedy": lambda: EpsilonGreedyPolicy(epsilon=0.3, slate_size=K),
}

_TRUTHS: dict[tuple, float] = {}


def truth(choice_model, evaluation: str, step_per_episode=1, gamma=1.0) -> float:
    """``true_policy_value`` with 300,000 simulated steps (cached for the module)."""
    key = (repr(choice_model), evaluation, step_per_episode, gamma)
    if key not in _TRUTHS:
        env = slate_env(choice_model, step_per_episode)
        _TRUTHS[key] = true_policy_value(
            env, EVALUATIONS[evaluation](), 300_000 // step_per_episode, gamma=gamma, seed=10**6
        )
    return _TRUTHS[key]


def assert_recovered(runs, value):
    """The true value lies inside each estimator's 95 % interval for every seed but at most
    one (such an interval misses one time in twenty) and is never more than 3.3 standard
    errors away (the 99.9 % interval). ``runs``: one ``slate_estimates`` result per seed."""
    for name in runs[0]:
        inside = [run[name].lower <= value <= run[name].upper for run in runs]
        z = [round((run[name].value - value) / run[name].std_error, 2) for run in runs]
        assert sum(inside) >= len(runs) - 1 and max(map(abs, z)) < 3.3, (name, z, value)


def flat(probabilities):
    """A policy's slate probabilities in OBP's flat layout, one value per slate and position."""
    joint, cascade, item_position = probabilities
    return (
        np.repeat(joint, K),
        cascade.reshape(-1),
        None if item_position is None else item_position.reshape(-1),
    )


# ---------------------------------------------------------------------------- the format


def test_a_slate_dataset_has_obps_keys_shapes_and_dtypes():
    env = slate_env(step_per_episode=2)
    data = collect_logged_dataset(env, behaviour(), 1_000, seed=0)
    assert list(data) == list(SLATE_DATASET_KEYS)
    n_rounds = 2_000
    assert (data["n_rounds"], data["n_unique_action"], data["len_list"]) == (n_rounds, 5, K)
    assert (data["n_trajectories"], data["step_per_trajectory"]) == (1_000, 2)
    for key in ("slate_id", "position", "action"):
        assert data[key].dtype == np.int64 and data[key].shape == (n_rounds * K,), key
    for key in ("reward", "pscore", "pscore_cascade", "pscore_item_position"):
        assert data[key].dtype == np.float64 and data[key].shape == (n_rounds * K,), key
    assert data["context"].shape == (n_rounds, env.user_feature_dim)
    assert np.array_equal(data["action_context"], env.item_features)
    assert data["action_context"] is not env.item_features
    for key in ("trajectory_id", "step", "choice"):
        assert data[key].dtype == np.int64 and data[key].shape == (n_rounds,), key
    assert np.array_equal(data["slate_id"], np.repeat(np.arange(n_rounds), K))
    assert np.array_equal(data["position"], np.tile(np.arange(K), n_rounds))
    assert np.array_equal(data["trajectory_id"] * 2 + data["step"], np.arange(n_rounds))
    assert (data["info"], data["behavior_policy"], data["dataset_id"]) == ({}, "epsilon_greedy", 0)


def test_slate_rows_hold_the_rollouts_slates_rewards_and_choices():
    n, horizon = 1_000, 2
    data = collect_logged_dataset(slate_env(step_per_episode=horizon), behaviour(), n, seed=3)
    run = Rollout(
        slate_env(step_per_episode=horizon), behaviour(), task="t", trajectories=n, seed=3
    )
    users = slate_env().n_users
    action = data["action"].reshape(n, horizon, K)
    reward = data["reward"].reshape(n, horizon, K)
    pscore = data["pscore"].reshape(n, horizon, K)
    cascade = data["pscore_cascade"].reshape(n, horizon, K)
    item_position = data["pscore_item_position"].reshape(n, horizon, K)
    context = data["context"].reshape(n, horizon, -1)
    choice = data["choice"].reshape(n, horizon)
    for episode in run:
        rows = slice(episode.first, episode.first + users)
        for step in episode:
            t = step.t
            assert np.array_equal(action[rows, t], step.actions)
            assert np.array_equal(context[rows, t], step.observations)
            assert np.array_equal(choice[rows, t], step.info["choice"])
            assert np.array_equal(pscore[rows, t], np.repeat(step.propensities[:, None], K, 1))
            assert np.array_equal(cascade[rows, t], step.cascade_propensities)
            assert np.array_equal(item_position[rows, t], step.item_position_propensities)
            # The reward sits at the consumed position; the slate's rewards add up to the step's.
            assert np.array_equal(reward[rows, t].sum(axis=1), step.rewards)
            consumed = step.info["choice"] >= 0
            at = np.zeros((users, K), dtype=bool)
            at[consumed, step.info["choice"][consumed]] = True
            assert not reward[rows, t][~at].any()
    assert (choice == -1).any() and (choice > 0).any()  # the cascade passes over items


def test_slate_propensities_are_consistent_with_the_policy():
    data = collect_logged_dataset(slate_env(), behaviour(), 2_000, seed=1)
    pscore = data["pscore"].reshape(-1, K)
    cascade = data["pscore_cascade"].reshape(-1, K)
    assert (pscore == pscore[:, :1]).all()
    assert np.array_equal(cascade[:, -1], pscore[:, 0])
    assert (np.diff(cascade, axis=1) <= 0).all()
    again = evaluation_slate_probabilities(data, behaviour())  # the same policy, recomputed
    assert np.array_equal(np.repeat(again.propensities, K), data["pscore"])
    assert np.array_equal(again.cascade_propensities.reshape(-1), data["pscore_cascade"])
    assert np.array_equal(
        again.item_position_propensities.reshape(-1), data["pscore_item_position"]
    )


def test_a_softmax_behaviour_logs_no_item_position_propensities():
    policy = SoftmaxPolicy(temperature=0.5, slate_size=K)
    data = collect_logged_dataset(slate_env(), policy, 500, seed=0)
    assert data["pscore_item_position"] is None
    assert data["pscore_cascade"].shape == (500 * K,)


def test_obtain_info_logs_each_slates_user_and_state():
    data = collect_logged_dataset(slate_env(n_users=10), behaviour(), 25, seed=0, obtain_info=True)
    assert data["info"]["user_id"].tolist() == [*range(10), *range(10), *range(5)]
    assert data["info"]["state"].shape == (25, 5)


def test_a_slate_dataset_round_trips_through_a_file(tmp_path):
    for policy in (behaviour(), SoftmaxPolicy(slate_size=K)):
        data = collect_logged_dataset(
            slate_env(step_per_episode=2), policy, 30, seed=0, obtain_info=True
        )
        save_logged_dataset(data, tmp_path / "slates.npz")
        loaded = load_logged_dataset(tmp_path / "slates.npz")
        assert list(loaded) == list(data)
        for key, value in data.items():
            if isinstance(value, np.ndarray):
                assert loaded[key].dtype == value.dtype and np.array_equal(loaded[key], value)
            elif key == "info":
                assert all(np.array_equal(loaded[key][k], v) for k, v in value.items())
            else:
                assert loaded[key] == value and type(loaded[key]) is type(value), key


def test_slate_size_one_keeps_scope_rls_format():
    data = collect_logged_dataset(slate_env(slate_size=1), RandomPolicy(), 10, seed=0)
    assert list(data) == list(LOGGED_DATASET_KEYS)


@pytest.mark.parametrize("chunk_size", [None, 7])
def test_a_callable_behaviour_gives_its_slate_propensities(chunk_size):
    env = slate_env(n_users=20)
    policy = RandomPolicy(slate_size=K)
    policy.reset(env.item_features, n_users=20, rng=np.random.default_rng(0))
    sizes = []

    def first_rows(observations):
        m = len(observations)
        sizes.append(m)
        return Decision(*(value[:m] for value in policy.act(np.zeros((20, 5)))))

    data = collect_logged_dataset(env, first_rows, 40, seed=0, chunk_size=chunk_size)
    assert sizes[:3] == ([20, 20] if chunk_size is None else [7, 7, 6])
    assert np.allclose(data["pscore"], 1 / 60) and np.allclose(data["pscore_item_position"], 1 / 5)
    assert np.allclose(data["pscore_cascade"].reshape(-1, K), [1 / 5, 1 / 20, 1 / 60])


def test_a_callable_behaviour_without_cascade_propensities_is_refused():
    env = slate_env(n_users=4)

    def joint_only(observations):
        actions = np.tile(np.arange(K), (len(observations), 1))
        return actions, np.ones(len(observations))

    with pytest.raises(ValueError, match="gave no cascade propensities; a slate dataset needs"):
        collect_logged_dataset(env, joint_only, 4, seed=0)


def test_a_callable_with_bad_slate_propensities_is_refused():
    env = slate_env(n_users=4)

    def bad(observations):
        actions = np.tile(np.arange(K), (len(observations), 1))
        return Decision(actions, np.ones(4), np.zeros((4, K)), None)

    with pytest.raises(ValueError, match=r"returned slate propensities outside \(0, 1\]"):
        collect_logged_dataset(env, bad, 4, seed=0)

    def mixed(observations):
        m = len(observations)
        actions = np.tile(np.arange(K), (m, 1))
        return Decision(actions, np.ones(m), np.ones((m, K)) if m == 3 else None, None)

    with pytest.raises(ValueError, match="for some chunks of users only"):
        collect_logged_dataset(env, mixed, 4, seed=0, chunk_size=3)


# ----------------------------------------------------------------- estimates on numbers


@pytest.mark.parametrize(
    ("choice_model", "evaluation"),
    [("cascade", "softmax"), ("cascade", "epsilon_greedy"), ("pbm", "epsilon_greedy")],
)
def test_sips_and_rips_recover_the_true_value_under_the_cascade(choice_model, evaluation):
    runs = []
    for seed in SEEDS:
        data = collect_logged_dataset(slate_env(choice_model), behaviour(), 10_000, seed=seed)
        policy = EVALUATIONS[evaluation]()
        runs.append(slate_estimates(data, policy, estimators=["sips", "rips"]))
    assert_recovered(runs, truth(choice_model, evaluation))


@pytest.mark.parametrize(
    "choice_model", ["consume", Cascade(continuation=0.0), GlanceAtOnePosition()], ids=repr
)
def test_iips_recovers_the_true_value_where_a_positions_reward_depends_on_its_item(
    choice_model,
):
    """Only position 0 can be consumed (``consume``, a cascade without continuation; there
    IIPS and RIPS coincide), or one position glanced at (IIPS has the narrowest interval)."""
    runs = []
    for seed in SEEDS:
        data = collect_logged_dataset(slate_env(choice_model), behaviour(), 10_000, seed=seed)
        estimates = slate_estimates(data, EVALUATIONS["epsilon_greedy"]())
        assert list(estimates) == list(SLATE_ESTIMATORS)
        errors = [estimates[name].std_error for name in ("iips", "rips", "sips")]
        assert errors == sorted(errors)
        runs.append(estimates)
    assert_recovered(runs, truth(choice_model, "epsilon_greedy"))


@pytest.mark.parametrize(("choice_model", "biased"), [("cascade", "iips"), ("mnl", "rips")])
def test_an_estimator_whose_assumption_fails_is_biased(choice_model, biased):
    """IIPS under the cascade (the topmost attractive item is consumed, so a position's
    reward depends on the items above it); RIPS under the MNL (it depends on every item
    shown). SIPS, which assumes nothing, still holds the true value."""
    value = truth(choice_model, "epsilon_greedy")
    data = collect_logged_dataset(slate_env(choice_model), behaviour(), 200_000, seed=0)
    estimates = slate_estimates(data, EVALUATIONS["epsilon_greedy"]())
    assert estimates["sips"].lower <= value <= estimates["sips"].upper
    z = (estimates[biased].value - value) / estimates[biased].std_error
    assert z > 3, (biased, estimates[biased], value)


def test_slate_estimates_over_several_steps_recover_the_discounted_value():
    for evaluation in EVALUATIONS:
        runs = []
        for seed in SEEDS:
            env = slate_env(step_per_episode=3)
            data = collect_logged_dataset(env, behaviour(), 5_000, seed=seed)
            policy = EVALUATIONS[evaluation]()  # IIPS is biased under the cascade: not asked
            runs.append(slate_estimates(data, policy, estimators=["sips", "rips"], gamma=0.9))
        assert_recovered(runs, truth("cascade", evaluation, step_per_episode=3, gamma=0.9))


def test_sips_over_several_steps_is_per_decision_importance_sampling():
    data = collect_logged_dataset(slate_env(step_per_episode=4), behaviour(), 300, seed=2)
    evaluation = SoftmaxPolicy(temperature=0.5, slate_size=K)
    probabilities = evaluation_slate_probabilities(data, evaluation)
    ratios = (probabilities.propensities / data["pscore"][::K]).reshape(300, 4)
    rewards = data["reward"].reshape(300, 4, K).sum(axis=2)
    expected = _values(ratios, rewards, "pdis", 0.8)
    got = slate_trajectory_values(data, evaluation, "sips", gamma=0.8)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_a_policy_its_probabilities_and_obps_flat_layout_give_the_same_estimates():
    data = collect_logged_dataset(slate_env(step_per_episode=2), behaviour(), 400, seed=0)
    policy = EpsilonGreedyPolicy(epsilon=0.5, slate_size=K)
    probabilities = evaluation_slate_probabilities(data, policy)
    from_policy = slate_estimates(data, policy, gamma=0.9)
    assert slate_estimates(data, probabilities, gamma=0.9) == from_policy
    assert slate_estimates(data, flat(probabilities), gamma=0.9) == from_policy
    chunked = slate_estimates(data, policy, gamma=0.9, chunk_size=7)
    assert chunked == from_policy


def test_the_interval_is_a_student_t_interval_over_trajectories():
    from scipy import stats

    data = collect_logged_dataset(slate_env(step_per_episode=2), behaviour(), 60, seed=0)
    policy = EVALUATIONS["softmax"]()
    terms = slate_trajectory_values(data, policy, "rips", gamma=0.5)
    estimate = slate_estimates(data, policy, gamma=0.5, confidence=0.9)["rips"]
    interval = stats.t.interval(0.9, len(terms) - 1, terms.mean(), stats.sem(terms))
    assert isinstance(estimate, SlateEstimate) and estimate.n == 60
    assert math.isclose(estimate.value, terms.mean(), rel_tol=1e-12)
    assert math.isclose(estimate.std_error, stats.sem(terms), rel_tol=1e-12)
    np.testing.assert_allclose((estimate.lower, estimate.upper), interval, rtol=1e-12)


def test_one_trajectory_has_no_interval():
    data = collect_logged_dataset(slate_env(n_users=1), behaviour(), 1, seed=0)
    estimate = slate_estimates(data, behaviour())["sips"]
    assert estimate.n == 1 and math.isnan(estimate.lower) and math.isnan(estimate.std_error)


@pytest.mark.slow
@pytest.mark.parametrize("evaluation", ["softmax", "epsilon_greedy"])
def test_the_intervals_cover_the_true_value_95_percent_of_the_time(evaluation):
    value = truth("cascade", evaluation)
    covered = dict.fromkeys(("sips", "rips"), 0)
    for seed in range(100, 300):
        data = collect_logged_dataset(slate_env(), behaviour(), 10_000, seed=seed)
        estimates = slate_estimates(data, EVALUATIONS[evaluation](), estimators=list(covered))
        for name, estimate in estimates.items():
            covered[name] += estimate.lower <= value <= estimate.upper
    assert all(180 <= count <= 200 for count in covered.values()), covered


# ------------------------------------------------------------------------------ OBP


def import_obp_slate_estimators():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pytest.importorskip("obp")
        from obp.ope import (
            SlateIndependentIPS,
            SlateOffPolicyEvaluation,
            SlateRewardInteractionIPS,
            SlateStandardIPS,
        )
    return (
        SlateStandardIPS,
        SlateIndependentIPS,
        SlateRewardInteractionIPS,
        SlateOffPolicyEvaluation,
    )


def test_the_estimates_equal_obps_on_a_recgym_dataset():
    sips, iips, rips, meta = import_obp_slate_estimators()
    data = collect_logged_dataset(slate_env(), behaviour(), 3_000, seed=0)
    policy = EVALUATIONS["epsilon_greedy"]()
    joint, cascade, item_position = flat(evaluation_slate_probabilities(data, policy))
    ours = slate_estimates(data, policy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = meta(
            bandit_feedback=data,
            ope_estimators=[sips(len_list=K), iips(len_list=K), rips(len_list=K)],
        ).estimate_policy_values(
            evaluation_policy_pscore=joint,
            evaluation_policy_pscore_item_position=item_position,
            evaluation_policy_pscore_cascade=cascade,
        )
    for name in SLATE_ESTIMATORS:
        assert math.isclose(ours[name].value, theirs[name], rel_tol=1e-12), name


def test_obps_own_feedback_is_estimated_as_obp_does():
    sips, iips, rips, _ = import_obp_slate_estimators()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from obp.dataset import SyntheticSlateBanditDataset, logistic_reward_function

        dataset = SyntheticSlateBanditDataset(
            n_unique_action=6,
            len_list=K,
            dim_context=2,
            base_reward_function=logistic_reward_function,
            click_model="cascade",
            random_state=1,
        )
        feedback = dataset.obtain_batch_bandit_feedback(n_rounds=500)
        evaluation = dataset.generate_evaluation_policy_pscore(
            "optimal", feedback["context"], feedback["action"], epsilon=0.4
        )  # joint, item-position, cascade
        common = {key: feedback[key] for key in ("slate_id", "reward", "position")}
        theirs = {
            "sips": sips(len_list=K).estimate_policy_value(
                **common, pscore=feedback["pscore"], evaluation_policy_pscore=evaluation[0]
            ),
            "iips": iips(len_list=K).estimate_policy_value(
                **common,
                pscore_item_position=feedback["pscore_item_position"],
                evaluation_policy_pscore_item_position=evaluation[1],
            ),
            "rips": rips(len_list=K).estimate_policy_value(
                **common,
                pscore_cascade=feedback["pscore_cascade"],
                evaluation_policy_pscore_cascade=evaluation[2],
            ),
        }
    ours = slate_estimates(feedback, (evaluation[0], evaluation[2], evaluation[1]))
    for name in SLATE_ESTIMATORS:
        assert math.isclose(ours[name].value, theirs[name], rel_tol=1e-12), name


# --------------------------------------------------------------------------- errors


@pytest.fixture(scope="module")
def softmax_data():
    return collect_logged_dataset(slate_env(), SoftmaxPolicy(slate_size=K), 200, seed=0)


def test_iips_without_item_position_propensities_is_refused(softmax_data):
    with pytest.raises(
        ValueError,
        match=r"IIPS needs the behaviour policy's item-position propensities, but `dataset` "
        r"has None for 'pscore_item_position' \(behaviour policy 'softmax'\); use 'sips' or 'rips'",
    ):
        slate_estimates(softmax_data, behaviour(), estimators=["iips"])
    assert list(slate_estimates(softmax_data, behaviour())) == ["sips", "rips"]
    data = collect_logged_dataset(slate_env(), behaviour(), 200, seed=0)
    with pytest.raises(
        ValueError,
        match=r"IIPS needs the evaluation policy's item-position propensities, which were not "
        r"given \(softmax policies have no item-position ones\); use 'sips' or 'rips'",
    ):
        slate_trajectory_values(data, SoftmaxPolicy(slate_size=K), "iips")


def test_missing_entries_are_named(softmax_data):
    data = dict(softmax_data)
    del data["pscore_cascade"]
    with pytest.raises(
        ValueError,
        match=r"RIPS needs the behaviour policy's cascade propensities, but `dataset` lacks the "
        r"entry 'pscore_cascade'",
    ):
        slate_trajectory_values(data, behaviour(), "rips")
    steps = collect_logged_dataset(slate_env(step_per_episode=2), behaviour(), 20, seed=0)
    probabilities = evaluation_slate_probabilities(steps, behaviour())
    with pytest.raises(
        ValueError,
        match=r"RIPS over several steps \(earlier steps weigh whole slates\) needs the evaluation "
        r"policy's joint propensities, which were not given",
    ):
        slate_estimates(steps, probabilities._replace(propensities=None), estimators=["rips"])
    del data["position"], data["reward"]
    with pytest.raises(ValueError, match=r"`dataset` lacks the entries \['position', 'reward'\]$"):
        slate_estimates(data, behaviour())


def test_datasets_of_the_other_kind_are_refused_with_a_pointer(softmax_data):
    single = collect_logged_dataset(slate_env(slate_size=1), RandomPolicy(), 10, seed=0)
    with pytest.raises(
        ValueError,
        match=r"`dataset` lacks the entries \['slate_id', 'position'\] \(a dataset logged at "
        r"slate size 1 is estimated by recgym.population.ope.importance_sampling_estimates\)",
    ):
        slate_estimates(single, RandomPolicy())
    with pytest.raises(
        ValueError,
        match=r"`dataset` holds slates \(it has 'slate_id'\); estimate their value with "
        r"recgym.population.slate_ope.slate_estimates",
    ):
        importance_sampling_estimates(softmax_data, np.ones(600))


def test_wrong_evaluations_are_refused(softmax_data):
    with pytest.raises(ValueError, match=r"recommends slates of 2 items, but the dataset's slates"):
        slate_estimates(softmax_data, RandomPolicy(slate_size=2))
    with pytest.raises(ValueError, match="needs the true states"):
        slate_estimates(softmax_data, OracleGreedyPolicy(slate_size=K))
    with pytest.raises(TypeError, match="must be a recgym Policy or its SlateProbabilities"):
        slate_estimates(softmax_data, np.ones(200))
    joint, cascade = np.full(200, 0.5), np.full((200, K), 0.5)
    with pytest.raises(ValueError, match=r"must have shape \(200,\) or \(600,\)"):
        slate_estimates(softmax_data, (joint[:10], cascade, None), estimators=["sips"])
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\], got 1.5 at index 3"):
        slate_estimates(softmax_data, (joint, np.where(np.arange(600) == 3, 1.5, 0.5), None))
    with pytest.raises(ValueError, match="must be the same on every row of a slate"):
        slate_estimates(softmax_data, (np.linspace(0, 1, 600), cascade, None))
    with pytest.raises(ValueError, match=r"`confidence` must be a float in \(0, 1\), got 1"):
        slate_estimates(softmax_data, (joint, cascade, None), confidence=1)
    with pytest.raises(ValueError, match=r"`estimator` must be one of \['sips', 'iips', 'rips'\]"):
        slate_trajectory_values(softmax_data, (joint, cascade, None), "dr")


def test_a_dataset_out_of_order_is_refused(softmax_data):
    data = dict(softmax_data)
    data["position"] = data["position"][::-1].copy()
    with pytest.raises(ValueError, match="must have one row per slate and position, in order"):
        slate_estimates(data, behaviour())
