"""The richer worlds in the environments: each mechanism's defining property, on numbers.

Social influence (consensus without recommendations, more opinion clusters under a
tighter confidence bound), churn (bad recommendations lose users faster; absent users
get nothing; returns come back as new PettingZoo agents), satiation, a changing
catalogue (its size follows the arrival and retirement rates), groups from the
builders, and bit-for-bit checkpoints with every stage's state.
"""

from __future__ import annotations

import itertools
import re
import warnings

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

from recgym import RECEnv, RECVectorEnv, UserModel, worlds
from recgym.catalogue import CatalogueChange
from recgym.engagement import Churn, Satiation
from recgym.population import PopulationEnv
from recgym.population.metrics import by_group, homogenization

SEEDS = (0, 1, 2)


def unit_population(n_users, dim=3, seed=0, **kwargs):
    users = worlds.grouped_users([n_users], kappa=0.0, dim=dim, rng=seed)
    items = worlds.balanced_catalogue(dim)
    return PopulationEnv(
        n_users=n_users, n_items=len(items.features), user_feature_dim=dim,
        item_feature_dim=dim, user_feature_vector=np.array(users.features),
        item_feature_vector=np.array(items.features), feature_normalization="row",
        random_state=seed, **kwargs,
    )  # fmt: skip


def run(env, steps, choose, seed=0):
    obs, info = env.reset_batch(seed=seed)
    for _ in range(steps):
        obs, _, _, _, info = env.step_batch(choose(obs, info))
    return info


def greedy(env):
    return lambda obs, info: np.argmax(obs @ env.item_features.T, axis=1)


def worst(env):
    return lambda obs, info: np.argmin(obs @ env.item_features.T, axis=1)


def clusters(states, threshold=0.98):
    """Number of opinion clusters: greedy grouping of directions within a cosine."""
    unit = states / np.linalg.norm(states, axis=1, keepdims=True)
    left, count = np.ones(len(unit), dtype=bool), 0
    while left.any():
        centre = unit[np.flatnonzero(left)[0]]
        left &= ~(unit @ centre >= threshold)
        count += 1
    return count


# ------------------------------------------------------------------------- social


@pytest.mark.parametrize("seed", SEEDS)
def test_social_influence_alone_drives_a_connected_population_to_consensus(seed):
    n = 300
    graph = worlds.barabasi_albert(n, 3, rng=seed)  # connected by construction
    env = unit_population(
        n, seed=seed, step_per_episode=150, social_graph=graph, social_weight=1.0,
        UserModel=UserModel(3, 3, alpha=0.0),
    )  # fmt: skip
    _, info = env.reset_batch(seed=seed)
    before = homogenization(info["state"])
    info = run(env, 150, lambda obs, info: np.zeros(n, dtype=np.int64), seed)
    assert before < 0.2
    assert homogenization(info["state"]) > 0.999  # everyone points the same way
    assert clusters(info["state"]) == 1


@pytest.mark.parametrize("seed", SEEDS)
def test_a_tighter_confidence_bound_leaves_more_opinion_clusters(seed):
    n = 400
    graph = worlds.erdos_renyi(n, 30, rng=seed)
    counts = []
    for bound in (0.0, 0.5, 0.8):
        env = unit_population(
            n, seed=seed, step_per_episode=120, social_graph=graph, social_weight=1.0,
            confidence_bound=bound, UserModel=UserModel(3, 3, alpha=0.0),
        )  # fmt: skip
        info = run(env, 120, lambda obs, info: np.zeros(n, dtype=np.int64), seed)
        counts.append(clusters(info["state"]))
    assert counts[0] < counts[1] < counts[2]


@pytest.mark.parametrize("seed", SEEDS)
def test_recommendations_plus_influence_differ_from_either_alone(seed):
    n = 300
    graph = worlds.erdos_renyi(n, 8, rng=seed)
    items = np.random.default_rng(seed).integers(6, size=15)  # mass media, the same for all

    def final_states(alpha, beta):
        extra = {"social_graph": graph, "social_weight": beta} if beta else {}
        env = unit_population(
            n, seed=seed, step_per_episode=15, UserModel=UserModel(3, 3, alpha=alpha), **extra
        )
        env.reset_batch(seed=seed)
        for item in items:
            _, _, _, _, info = env.step_batch(np.full(n, item))
        return info["state"]

    recommendations, influence = final_states(1.0, 0.0), final_states(0.0, 1.0)
    both = final_states(1.0, 1.0)
    for alone in (recommendations, influence):  # mean angle between the users' end states
        cosines = np.clip(np.sum(both * alone, axis=1), -1.0, 1.0)
        assert np.degrees(np.arccos(cosines)).mean() > 5.0
    assert homogenization(both) != pytest.approx(homogenization(recommendations), abs=0.02)


def test_social_influence_is_a_sparse_product_with_row_normalised_weights():
    n = 5
    graph = worlds.erdos_renyi(n, 3, rng=0)
    env = unit_population(
        n, step_per_episode=2, social_graph=graph, social_weight=0.5,
        UserModel=UserModel(3, 3, alpha=0.0),
    )  # fmt: skip
    _, info = env.reset_batch(seed=0)
    states = info["state"].copy()
    weights = worlds.row_normalize(graph).toarray()
    expected = states + 0.5 * weights @ states
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    _, _, _, _, info = env.step_batch(np.zeros(n, dtype=np.int64))
    assert np.allclose(info["state"], expected, atol=1e-12)


# ------------------------------------------------------------------------- groups


def test_groups_from_the_builders_plug_into_the_environment_and_by_group_separates_them():
    users = worlds.majority_minority(600, minority_share=0.2, dim=4, kappa=30.0, rng=3)
    env = PopulationEnv(
        n_users=600, n_items=8, user_feature_dim=4, item_feature_dim=4,
        user_feature_vector=np.array(users.features), user_groups=users.groups,
        feature_normalization="row", random_state=3,
    )  # fmt: skip
    assert np.array_equal(env.config.user_groups, users.groups)
    assert np.bincount(env.config.user_groups).tolist() == [480, 120]
    within = by_group(homogenization, env.config.user_groups, env.user_features)
    assert min(within.values()) > 0.9 > homogenization(env.user_features)


# -------------------------------------------------------------------- engagement


CHURN = Churn(threshold=0.0, rate=0.5, initial_satisfaction=0.3, return_probability=0.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_recommending_disliked_items_loses_users_faster_than_greedy(seed):
    retention = {}
    for name, policy in (("greedy", greedy), ("worst", worst)):
        env = unit_population(300, seed=seed, step_per_episode=20, churn=CHURN)
        info = run(env, 20, policy(env), seed)
        retention[name] = info["active"].mean()
    assert retention["worst"] < 0.2 < 0.8 < retention["greedy"]


def test_absent_users_get_no_reward_and_do_not_move_until_they_return():
    churn = Churn(threshold=0.0, rate=1.0, return_probability=0.3)
    env = unit_population(200, step_per_episode=30, churn=churn)
    obs, info = env.reset_batch(seed=4)
    choose = worst(env)
    returns = 0
    for _ in range(30):
        present = info.get("active", np.ones(200, dtype=bool))
        before = info["state"].copy()
        obs, rewards, terminated, _, info = env.step_batch(choose(obs, info))
        absent = ~present
        assert (rewards[absent] == 0).all() and (info["item"][absent] == -1).all()
        assert np.array_equal(info["state"][absent], before[absent])
        assert np.array_equal(terminated, info["left"] | (terminated & ~info["left"]))
        assert not (info["left"] & ~present).any()  # only present users leave
        assert not (info["returned"] & present).any()  # only absent users return
        returns += info["returned"].sum()
    assert returns > 10


def test_the_dict_api_removes_leavers_and_readds_them_under_a_new_name():
    churn = Churn(threshold=0.0, rate=1.0, return_probability=0.4)
    env = unit_population(30, step_per_episode=12, churn=churn)
    env.reset(seed=2)
    gone: set[str] = set()
    comebacks = 0
    for _ in range(12):  # users may come back while nobody is present: step on
        live = list(env.agents)
        assert not gone & set(live)  # a finished agent never comes back by its name
        states = env.state()
        worst_items = np.argmin(states @ env.item_features.T, axis=1)
        actions = {agent: int(worst_items[env._index()[agent]]) for agent in live}
        obs, rewards, terminated, truncated, infos = env.step(actions)
        new = [agent for agent in obs if agent not in live]
        for agent in new:  # a returning user: a fresh name, the same user
            assert infos[agent]["user_id"] == env._index()[agent] and rewards[agent] == 0.0
            assert agent in env.possible_agents and not terminated[agent]
            comebacks += 1
        gone |= {agent for agent in obs if terminated[agent] or truncated[agent]}
        assert set(env.agents) == set(obs) - gone
    assert not env.agents and comebacks > 3


@pytest.mark.parametrize("n_users", [1, 8, 40])
def test_pettingzoo_battery_with_agents_leaving_and_returning(n_users):
    churn = Churn(threshold=0.05, rate=0.7, steepness=20.0, return_probability=0.5)

    def make():
        return PopulationEnv(n_users=n_users, n_items=6, step_per_episode=40,
                             random_state=1, churn=churn, satiation=Satiation())  # fmt: skip

    with warnings.catch_warnings():
        # possible_agents lists the names of every return an episode allows (PettingZoo
        # never revives a finished name), and returns are random: when nobody is present
        # some of those names were never used, which PettingZoo reports as a warning.
        warnings.filterwarnings(
            "ignore", "No agents present but not all possible_agents", UserWarning
        )
        parallel_api_test(make(), num_cycles=40)
    parallel_seed_test(make)


def test_satiation_lowers_the_reward_of_repeating_the_same_item():
    plain = unit_population(50, step_per_episode=6)
    bored = unit_population(50, step_per_episode=6, satiation=Satiation(strength=0.5, decay=0.9))
    for env in (plain, bored):
        env.reset_batch(seed=0)
    same = np.zeros(50, dtype=np.int64)
    gaps = []
    for _ in range(6):
        _, r_plain, *_ = plain.step_batch(same)
        _, r_bored, *_ = bored.step_batch(same)
        gaps.append(float(np.mean(r_plain - r_bored)))
    assert gaps[0] == 0.0  # nothing consumed yet
    assert all(later > earlier for earlier, later in itertools.pairwise(gaps[1:]))


def test_a_user_who_leaves_ends_the_rec_env_episode_and_the_vector_sub_episode():
    single = RECEnv(n_items=4, step_per_episode=50, random_state=0, churn=Churn(threshold=10.0))
    single.reset(seed=0)
    _, _, terminated, _, _ = single.step(0)
    assert terminated  # satisfaction below an unreachable threshold: the user leaves
    churn = Churn(threshold=-0.02, rate=1.0)
    vector = RECVectorEnv(16, n_items=6, step_per_episode=8, random_state=0, churn=churn)
    vector.reset(seed=0)
    ended_alone = False
    for _ in range(8):
        _, _, terminated, _, _ = vector.step(vector.action_space.sample())
        ended_alone |= bool(terminated.any() and not terminated.all())
    assert ended_alone  # sub-environments end at different steps


# --------------------------------------------------------------------- catalogue


@pytest.mark.parametrize("seed", SEEDS)
def test_catalogue_size_follows_the_arrival_and_retirement_rates(seed):
    arrival, retirement, initial, steps, runs = 3.0, 0.1, 10, 60, 40
    change = CatalogueChange(
        initial_items=initial, arrival_rate=arrival, retirement_rate=retirement
    )
    sizes = np.zeros((runs, steps))
    for run_seed in range(runs):
        env = PopulationEnv(n_users=1, n_items=400, step_per_episode=steps,
                            random_state=seed, catalogue=change)  # fmt: skip
        _, info = env.reset_batch(seed=1000 * seed + run_seed)
        for t in range(steps):
            item = np.flatnonzero(info["available"])[:1]
            _, _, _, _, info = env.step_batch(item)
            sizes[run_seed, t] = info["available"].sum()
    expected = np.empty(steps)
    size = float(initial)
    for t in range(steps):  # retirements, then arrivals
        size = size * (1 - retirement) + arrival
        expected[t] = size
    # Around the steady state λ / r the count's variance is about its mean (a Poisson
    # count): 5 standard errors of the mean over the runs.
    tolerance = 5 * np.sqrt(expected / runs)
    assert (np.abs(sizes.mean(axis=0) - expected) < tolerance).all()
    assert abs(sizes[:, -20:].mean() - arrival / retirement) < 1.5


def test_recommending_an_unavailable_item_names_it():
    env = PopulationEnv(n_users=3, n_items=10, catalogue=CatalogueChange(initial_items=4))
    env.reset_batch(seed=0)
    message = ("`actions` holds item 7 for user 1 at position 0, which is not available "
               "(retired or not yet arrived; see info['available'])")  # fmt: skip
    with pytest.raises(ValueError, match=re.escape(message)):
        env.step_batch(np.array([0, 7, 1]))


# ------------------------------------------------------------------- checkpoints


def test_checkpoints_continue_bit_for_bit_with_every_stage():
    graph = worlds.barabasi_albert(60, 2, rng=0)
    kwargs = {
        "satiation": Satiation(),
        "churn": Churn(threshold=0.0, steepness=5.0, return_probability=0.3),
        "catalogue": CatalogueChange(initial_items=4, arrival_rate=0.5, retirement_rate=0.1),
        "social_graph": graph, "social_weight": 0.3, "confidence_bound": 0.1,
        "slate_size": 3, "choice_model": "mnl", "repeat_consumption": False,
        "idiosyncratic_std": 0.2,
    }  # fmt: skip
    env = unit_population(60, step_per_episode=20, **kwargs)
    _, info = env.reset_batch(seed=5)
    rng = np.random.default_rng(0)

    def slates(info):
        available = np.flatnonzero(info.get("available"))
        return np.stack([rng.permutation(available)[:3] for _ in range(60)])

    for _ in range(5):
        *_, info = env.step_batch(slates(info))
    checkpoint = env.checkpoint()
    population = checkpoint["population"]
    for name in ("satiation", "active", "satisfaction", "visits", "available", "consumed"):
        assert name in population, name
    twin = unit_population(60, step_per_episode=20, **kwargs)
    twin.restore(checkpoint)
    for _ in range(8):
        actions = slates(info)
        a, b = env.step_batch(actions), twin.step_batch(actions)
        for x, y in zip(a[:4], b[:4]):
            assert np.array_equal(x, y)
        for key in a[4]:
            assert np.array_equal(a[4][key], b[4][key]), key
        info = a[4]


# ------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: RECVectorEnv(2, n_users=4, social_graph=worlds.erdos_renyi(4, 2, rng=0)),
         ValueError, "`social_graph` needs a PopulationEnv: the users of a RECVectorEnv are "
         "drawn independently"),
        (lambda: RECEnv(n_users=4, social_graph=worlds.erdos_renyi(4, 2, rng=0)),
         ValueError, "`social_graph` needs a PopulationEnv: the users of a RECEnv"),
        (lambda: PopulationEnv(n_users=4, social_weight=0.5), ValueError,
         "`social_weight` and `confidence_bound` need a `social_graph`"),
        (lambda: PopulationEnv(n_users=5, social_graph=worlds.erdos_renyi(4, 2, rng=0)),
         ValueError, "`social_graph` must have shape (5, 5) for `n_users` = 5, got (4, 4)"),
        (lambda: PopulationEnv(churn=0.5), TypeError, "`churn` must be a Churn or None, got 0.5"),
        (lambda: PopulationEnv(user_groups=np.zeros(3, dtype=int)), ValueError,
         "`user_groups` must have shape (100,), one label each, got (3,)"),
        (lambda: PopulationEnv(n_items=5, catalogue=CatalogueChange(initial_items=6)),
         ValueError, "`initial_items` must be at most n_items (5), got 6"),
        (lambda: Churn(threshold=0.0, rate=0.0), ValueError,
         "`rate` must be a float in (0, 1], got 0.0"),
        (lambda: Satiation(decay=1.0), ValueError, "`decay` must be a float in [0, 1), got 1.0"),
        (lambda: RECEnv(random_state=0, legacy=True, churn=Churn(threshold=0.0)), ValueError,
         "`churn` must keep its default (None) with legacy=True"),
    ],
    ids=["vector-social", "recenv-social", "weight-without-graph", "graph-shape",
         "churn-type", "groups-shape", "catalogue-too-large", "churn-rate", "satiation-decay",
         "legacy-churn"],
)  # fmt: skip
def test_bad_world_arguments_are_named(make, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make()
