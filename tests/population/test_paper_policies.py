"""The recommenders of the filter-bubble papers, as population policies: their contract.

``ideal``, ``implicit_factorization``, ``item_knn``, ``linear_ucb``, ``linear_thompson``
and ``most_popular``'s new options: exact propensities equal to ``probabilities`` and
``slate_probabilities`` bit for bit in every phase (uniform start, fitted), with
availability masks and ``exclude_consumed``; the enumerated probabilities of a tiny
catalogue form a distribution that the draws follow; no unavailable (or, excluding,
consumed) item is ever recommended; each runs through ``simulate`` on a changing
catalogue and reproduces itself from its seed; Thompson sampling says honestly that its
propensities have no closed form; every bad argument has a pinned message. What the
learners learn is in ``test_paper_policies_learning.py``, changing users in
``test_policy_users.py``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from scipy.stats import chisquare

from recgym.catalogue import CatalogueChange
from recgym.population import PopulationEnv, collect_logged_dataset, simulate
from recgym.population.ope import evaluation_probabilities
from recgym.population.policies import (
    POLICIES,
    IdealPolicy,
    ImplicitFactorizationPolicy,
    ItemKnnPolicy,
    LinearThompsonPolicy,
    LinearUcbPolicy,
    Policy,
    make_policy,
)

pytestmark = pytest.mark.filterwarnings("error")

#: (label, registry name, constructor arguments): every policy and option under test;
#: the learners fit after their second update, so six steps cover both phases.
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("ideal", "ideal", {}),
    ("ideal-excluding", "ideal", {"exclude_consumed": True}),
    ("factorization", "implicit_factorization", {"rank": 3, "retrain_every": 2}),
    (
        "factorization-once-excluding",
        "implicit_factorization",
        {"rank": 3, "retrain_every": None, "warmup_steps": 3, "exclude_consumed": True},
    ),
    ("knn", "item_knn", {"n_neighbors": 4, "retrain_every": 2}),
    ("knn-excluding", "item_knn", {"n_neighbors": 4, "retrain_every": 2, "exclude_consumed": True}),
    ("ucb", "linear_ucb", {"alpha": 0.5}),
    ("ucb-prior-excluding", "linear_ucb", {"observation_prior": True, "exclude_consumed": True}),
    ("thompson-greedy", "linear_thompson", {"scale": 0.0}),
    ("popular-consumption", "most_popular", {"counts": "consumption"}),
    ("popular-excluding", "most_popular", {"exclude_consumed": True}),
]
IDS = [label for label, _, _ in CASES]
N_USERS, N_ITEMS, DIM = 40, 14, 4


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


class World:
    """Fixed preferences and a fixed per-pair utility term; noisy observations. Each user
    consumes its best shown item by utility if that utility is positive (reward: the
    utility), nothing otherwise."""

    def __init__(self, seed: int, n_users: int = N_USERS, n_items: int = N_ITEMS):
        rng = np.random.default_rng(seed)
        self.items = _unit(rng.normal(size=(n_items, DIM)))
        self.states = _unit(rng.normal(size=(n_users, DIM)))
        self.extra = 0.2 * rng.normal(size=(n_users, n_items))
        self.rng = np.random.default_rng(seed + 1)

    def observe(self) -> np.ndarray:
        return np.clip(self.states + 0.2 * self.rng.standard_normal(self.states.shape), -1, 1)

    def utilities(self, items: np.ndarray, rows: np.ndarray) -> np.ndarray:
        values = np.einsum("md,mcd->mc", self.states[rows], self.items[items])
        return values + self.extra[rows[:, None], items]

    def respond(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        slates = actions.reshape(len(actions), -1)
        users = np.arange(len(slates))
        utility = self.utilities(slates, users)
        best = utility.argmax(axis=1)
        chose = utility[users, best] > 0
        return np.where(chose, utility[users, best], 0.0), np.where(chose, slates[users, best], -1)

    def mask(self, minimum: int) -> np.ndarray:
        available = np.zeros(len(self.items), dtype=bool)
        count = int(self.rng.integers(max(minimum, len(self.items) - 4), len(self.items)))
        available[self.rng.permutation(len(self.items))[:count]] = True
        return available


def _bound(name: str, kwargs: dict[str, Any], world: World, k: int, seed: int = 0) -> Policy:
    policy = make_policy(name, slate_size=k, **kwargs)
    policy.reset(world.items, n_users=len(world.states), rng=np.random.default_rng(seed))
    return policy


def _same(first: Any, second: Any) -> None:
    """Two (joint, cascade, item-position) triples agree bit for bit (None with None)."""
    for mine, theirs in zip(first[-3:], second[-3:]):
        if mine is None or theirs is None:
            assert mine is None and theirs is None
        else:
            np.testing.assert_array_equal(mine, theirs)


# ---------------------------------------------------------------------------- registry


def test_the_papers_recommenders_are_registered_under_their_names():
    classes = {
        "ideal": IdealPolicy,
        "implicit_factorization": ImplicitFactorizationPolicy,
        "item_knn": ItemKnnPolicy,
        "linear_ucb": LinearUcbPolicy,
        "linear_thompson": LinearThompsonPolicy,
    }
    for name, cls in classes.items():
        assert POLICIES[name] is cls
        assert cls.__name__ == "".join(part.capitalize() for part in name.split("_")) + "Policy"
    assert [name for name, cls in POLICIES.items() if cls.needs_utilities] == ["ideal"]
    assert not IdealPolicy.needs_state
    assert [name for name in POLICIES if not make_policy(name).exact_propensities] == [
        "linear_thompson"
    ]
    assert LinearThompsonPolicy(scale=0.0).exact_propensities


# ------------------------------------------------------------ propensities, availability


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize(("label", "name", "kwargs"), CASES, ids=IDS)
def test_propensities_are_the_exact_probabilities_and_masks_are_respected(label, name, kwargs, k):
    world = World(seed=3)
    policy = _bound(name, kwargs, world, k)
    consumed_so_far = np.zeros((N_USERS, N_ITEMS), dtype=bool)
    excluding = kwargs.get("exclude_consumed", False)
    for step in range(6):
        available = world.mask(k) if step % 2 else None
        obs = world.observe()
        call = {"states": world.states, "utilities": world.utilities, "available": available}
        decision = policy.act(obs, **call)
        slates = decision.actions.reshape(N_USERS, k)
        assert decision.actions.shape == ((N_USERS,) if k == 1 else (N_USERS, k))
        assert (np.sort(slates, axis=1)[:, 1:] != np.sort(slates, axis=1)[:, :-1]).all()
        if available is not None:
            assert available[slates].all()
        if excluding:
            assert not consumed_so_far[np.arange(N_USERS)[:, None], slates].any()
        assert ((decision.propensities > 0) & (decision.propensities <= 1)).all()
        _same(decision, policy.slate_probabilities(obs, decision.actions, **call))
        joint = policy.probabilities(obs, decision.actions, **call)
        np.testing.assert_array_equal(joint, decision.propensities)
        rewards, consumed = world.respond(decision.actions)
        policy.update(decision.actions, rewards, consumed=consumed)
        chose = consumed >= 0
        consumed_so_far[np.flatnonzero(chose), consumed[chose]] = True
    if hasattr(policy, "is_fitted"):
        assert policy.is_fitted


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize(("label", "name", "kwargs"), CASES, ids=IDS)
def test_items_the_policy_cannot_show_have_probability_zero(label, name, kwargs, k):
    world = World(seed=5)
    policy = _bound(name, kwargs, world, k)
    for _ in range(3):
        decision = policy.act(world.observe(), utilities=world.utilities)
        rewards, consumed = world.respond(decision.actions)
        policy.update(decision.actions, rewards, consumed=consumed)
    available = world.mask(k)
    order = np.argsort(world.rng.random((N_USERS, N_ITEMS)), axis=1)[:, :k]
    actions = order[:, 0] if k == 1 else order
    obs = world.observe()
    got = policy.slate_probabilities(obs, actions, utilities=world.utilities, available=available)
    shown = available[actions].reshape(N_USERS, k)
    assert not shown.all()
    assert (got.propensities[~shown.all(axis=1)] == 0.0).all()
    if k > 1:
        prefixes = np.logical_and.accumulate(shown, axis=1)
        assert (got.cascade_propensities[~prefixes] == 0.0).all()
        assert (got.item_position_propensities[~shown] == 0.0).all()


@pytest.mark.parametrize(("label", "name", "kwargs"), CASES, ids=IDS)
def test_no_mask_and_an_all_true_mask_give_the_same_numbers(label, name, kwargs):
    worlds = [World(seed=7), World(seed=7)]
    policies = [_bound(name, kwargs, world, 2, seed=1) for world in worlds]
    masks = [None, np.ones(N_ITEMS, dtype=bool)]
    for _ in range(5):
        decisions = []
        for world, policy, available in zip(worlds, policies, masks):
            decision = policy.act(world.observe(), utilities=world.utilities, available=available)
            rewards, consumed = world.respond(decision.actions)
            policy.update(decision.actions, rewards, consumed=consumed)
            decisions.append(decision)
        np.testing.assert_array_equal(decisions[0].actions, decisions[1].actions)
        _same(decisions[0], decisions[1])


# ------------------------------------------------------------------ a tiny catalogue

TINY_USERS, TINY_ITEMS = 3, 5
TINY_AVAILABLE = np.array([True, True, False, True, True])
#: Stochastic phases: the uniform start of the retrained learners, with and without
#: excluding what each user consumed (users 0 and 1 consumed items 0 and 4 before).
TINY_CASES = [
    ("factorization-start", "implicit_factorization", {"retrain_every": None, "warmup_steps": 50}),
    (
        "factorization-start-excluding",
        "implicit_factorization",
        {"retrain_every": None, "warmup_steps": 50, "exclude_consumed": True},
    ),
    ("knn-start-excluding", "item_knn", {"retrain_every": 50, "exclude_consumed": True}),
    ("knn-fitted-excluding", "item_knn", {"retrain_every": 1, "exclude_consumed": True}),
    ("ideal-excluding", "ideal", {"exclude_consumed": True}),
    ("ucb-excluding", "linear_ucb", {"exclude_consumed": True}),
]


def _tiny(name: str, kwargs: dict[str, Any], k: int) -> tuple[Policy, World, np.ndarray]:
    world = World(seed=11, n_users=TINY_USERS, n_items=TINY_ITEMS)
    policy = _bound(name, kwargs, world, k, seed=2)
    slates = np.array([[0, 1], [4, 3], [1, 3]])[:, :k].reshape(TINY_USERS, k)
    actions = slates[:, 0] if k == 1 else slates
    policy.update(actions, np.ones(TINY_USERS), consumed=np.array([0, 4, -1]))
    return policy, world, world.observe()


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize(("label", "name", "kwargs"), TINY_CASES, ids=[c[0] for c in TINY_CASES])
def test_enumerated_probabilities_are_a_distribution_and_the_draws_follow_it(
    label, name, kwargs, k, enumerate_slates, check_slate_distribution
):
    policy, world, obs = _tiny(name, kwargs, k)
    call = {"utilities": world.utilities, "available": TINY_AVAILABLE}
    slates, results = enumerate_slates(policy, obs, TINY_ITEMS, k, **call)
    assert all(p.item_position_propensities is not None for p in results[: k > 1])
    joint = check_slate_distribution(slates, results)  # (S, N)
    shown = TINY_AVAILABLE[slates].all(axis=1)
    assert (joint[~shown] == 0.0).all()
    if kwargs.get("exclude_consumed"):
        assert (joint[(slates == 0).any(axis=1), 0] == 0.0).all()  # user 0 consumed item 0
        assert (joint[(slates == 4).any(axis=1), 1] == 0.0).all()  # user 1 consumed item 4
    index = {tuple(slate): s for s, slate in enumerate(slates.tolist())}
    draws = 2000
    counts = np.zeros_like(joint)
    for _ in range(draws):
        decision = policy.act(obs, utilities=world.utilities, available=TINY_AVAILABLE)
        rows = [index[tuple(slate)] for slate in decision.actions.reshape(TINY_USERS, k).tolist()]
        np.testing.assert_array_equal(decision.propensities, joint[rows, np.arange(TINY_USERS)])
        counts[rows, np.arange(TINY_USERS)] += 1
    assert (counts[joint == 0.0] == 0).all()
    for user in range(TINY_USERS):
        expected = draws * joint[:, user]
        keep = expected > 0
        if keep.sum() > 1:
            assert chisquare(counts[keep, user], expected[keep]).pvalue > 1e-3


# --------------------------------------------------------------------- through simulate


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize(("label", "name", "kwargs"), CASES, ids=IDS)
def test_each_runs_through_simulate_on_a_changing_catalogue_and_reproduces_itself(
    label, name, kwargs, k
):
    # The environment refuses a slate with an unavailable item: a run that finishes
    # recommended available items only.
    env = PopulationEnv(
        n_users=50,
        n_items=40,
        slate_size=k,
        step_per_episode=6,
        choice_model="mnl" if k > 1 else "consume",
        repeat_consumption=not kwargs.get("exclude_consumed", False),
        idiosyncratic_std=0.3,
        catalogue=CatalogueChange(initial_items=25, arrival_rate=1.0, retirement_rate=0.05),
        random_state=0,
    )
    runs = [
        simulate(env, make_policy(name, slate_size=k, **kwargs), seed=4, record=["actions"])
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].trajectory["actions"], runs[1].trajectory["actions"])
    np.testing.assert_array_equal(runs[0].rewards, runs[1].rewards)
    assert runs[0].policy == name


@pytest.mark.parametrize("name", ["linear_thompson", "implicit_factorization", "item_knn"])
def test_another_seed_gives_another_run(name):
    env = PopulationEnv(n_users=60, n_items=20, step_per_episode=6, random_state=0)
    kwargs = {"retrain_every": 3} if name != "linear_thompson" else {}
    first, second = (
        simulate(env, make_policy(name, **kwargs), seed=seed, record=["actions"]) for seed in (1, 2)
    )
    assert not np.array_equal(first.trajectory["actions"], second.trajectory["actions"])


def test_the_ideal_recommender_is_logged_with_its_exact_propensities():
    env = PopulationEnv(
        n_users=20,
        n_items=10,
        step_per_episode=3,
        slate_size=2,
        choice_model="mnl",
        idiosyncratic_std=0.5,
        random_state=1,
    )
    dataset = collect_logged_dataset(env, make_policy("ideal", slate_size=2), 40, seed=0)
    assert (dataset["pscore"] == 1.0).all()
    assert (dataset["pscore_cascade"] == 1.0).all()


# ---------------------------------------------------------------- Thompson propensities

THOMPSON_NO_CLOSED_FORM = (
    "LinearThompsonPolicy has no closed-form probabilities with scale=0.5: the probability "
    "that a Gaussian sample ranks a slate first is an integral without closed form, so its "
    "propensities are NaN; estimate them with estimate_probabilities(...), or use scale=0 "
    "(deterministic)"
)


@pytest.mark.parametrize("k", [1, 3])
def test_thompson_sampling_reports_unknown_propensities_and_refuses_probabilities(k):
    world = World(seed=2)
    policy = _bound("linear_thompson", {"scale": 0.5}, world, k)
    decision = policy.act(world.observe())
    assert np.isnan(decision.propensities).all()
    if k > 1:
        assert np.isnan(decision.cascade_propensities).all()
        assert decision.item_position_propensities is None
    for method in ("probabilities", "slate_probabilities"):
        with pytest.raises(NotImplementedError, match=re.escape(THOMPSON_NO_CLOSED_FORM)):
            getattr(policy, method)(world.observe(), decision.actions)


def test_thompson_sampling_runs_through_simulate_but_cannot_log_a_dataset():
    env = PopulationEnv(n_users=30, n_items=10, step_per_episode=4, random_state=0)
    history = simulate(env, "linear_thompson", seed=0)
    assert np.isfinite(history.rewards).all()
    # Refused where exact propensities are needed (messages pinned in test_bad_input.py).
    with pytest.raises(ValueError, match="has no closed-form propensities"):
        collect_logged_dataset(env, "linear_thompson", 30, seed=0)
    dataset = collect_logged_dataset(env, "random", 30, seed=0)
    for name in ("linear_thompson", "ideal"):
        with pytest.raises(ValueError, match=r"pass .*probabilities as an array instead"):
            evaluation_probabilities(dataset, make_policy(name), env.item_features)


def test_thompson_estimates_agree_with_the_closed_form_of_one_dimension():
    # d = 1: θ̃ ~ N(θ̂, σ²/A); the item of largest feature wins iff θ̃ > 0, with probability
    # Φ(θ̂ √A / σ). The estimate, and the frequencies of act's own draws, must find it.
    from scipy.stats import norm

    items = np.array([[-1.0], [0.3], [1.0]])
    policy = LinearThompsonPolicy(scale=0.8)
    policy.reset(items, n_users=4, rng=np.random.default_rng(0))
    rewards = np.array([0.4, -0.2, 0.05, 0.0])
    for _ in range(3):
        policy.update(np.full(4, 2), rewards)
    a = 1.0 + 3.0
    exact = norm.cdf(policy.estimates[:, 0] * np.sqrt(a) / 0.8)
    obs = np.zeros((4, 1))
    estimate, error = policy.estimate_probabilities(obs, np.full(4, 2), samples=4000, seed=3)
    assert (np.abs(estimate - exact) < 4 * np.maximum(error, 1e-3)).all()
    draws = np.array([policy.act(obs).actions for _ in range(4000)])
    frequency = (draws == 2).mean(axis=0)
    assert (np.abs(frequency - exact) < 4 * np.sqrt(exact * (1 - exact) / 4000) + 1e-3).all()
    assert set(np.unique(draws)) <= {0, 2}  # the middle item never wins a linear score
    again = policy.estimate_probabilities(obs, np.full(4, 2), samples=4000, seed=3)
    np.testing.assert_array_equal(again[0], estimate)  # its own generator, from its seed


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "name", ["ideal", "implicit_factorization", "item_knn", "linear_ucb", "most_popular"]
)
def test_excluding_consumed_items_refuses_a_user_left_with_too_few(name):
    policy = make_policy(
        name,
        slate_size=2,
        exclude_consumed=True,
        **({"retrain_every": 1} if name in ("implicit_factorization", "item_knn") else {}),
    )
    policy.reset(np.eye(4), n_users=3, rng=np.random.default_rng(0))
    policy.update(np.array([[0, 1], [0, 1], [2, 3]]), np.ones(3), consumed=np.array([0, 1, 2]))
    policy.update(np.array([[1, 2], [0, 2], [0, 3]]), np.ones(3), consumed=np.array([1, 2, 3]))
    available = np.array([True, True, True, False])  # user 0 is left with item 2 alone
    message = "`exclude_consumed` leaves user 0 1 item(s)"  # in full in test_bad_input.py

    def utilities(items, rows):
        return np.zeros(items.shape)

    with pytest.raises(ValueError, match=re.escape(message)):
        policy.act(np.zeros((3, 4)), utilities=utilities, available=available)
    with pytest.raises(ValueError, match=re.escape(message)):
        policy.probabilities(
            np.zeros((3, 4)), np.array([[2, 3]] * 3), utilities=utilities, available=available
        )
    assert policy.act(np.zeros((3, 4)), utilities=utilities).actions.shape == (3, 2)


def test_the_retrained_learners_are_unfitted_until_someone_consumed_something():
    factorization = ImplicitFactorizationPolicy(retrain_every=3)
    factorization.reset(np.eye(3), n_users=2, rng=np.random.default_rng(0))
    for inspect in (lambda: factorization.user_factors, lambda: factorization.item_factors):
        with pytest.raises(ValueError, match="has not been fitted yet"):
            inspect()
    knn = ItemKnnPolicy(retrain_every=1)
    knn.reset(np.eye(3), n_users=2, rng=np.random.default_rng(0))
    knn.update(np.array([0, 1]), np.zeros(2), consumed=np.array([-1, -1]))  # nothing consumed
    assert not knn.is_fitted and knn.steps == 1
    with pytest.raises(ValueError, match=re.escape("got 1 update() calls since reset()")):
        knn.similarities()
    knn.update(np.array([0, 1]), np.zeros(2), consumed=np.array([-1, 1]))
    assert knn.is_fitted
    np.testing.assert_array_equal(knn.similarities(), np.zeros((3, 3)))


# ---------------------------------------------------------------------- chunked scoring


THOMPSON = ("thompson", "linear_thompson", {"scale": 0.5})


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize(("label", "name", "kwargs"), [*CASES, THOMPSON], ids=[*IDS, "thompson"])
def test_the_memory_budget_changes_no_decision(label, name, kwargs, k):
    # One user per chunk (a budget of 1 byte) against the default: the same decisions on
    # these tie-free scores, every step, both phases.
    worlds = [World(seed=13), World(seed=13)]
    policies = [
        _bound(name, {**kwargs, "max_chunk_bytes": budget}, world, k)
        for world, budget in zip(worlds, (1, 64 * 2**20))
    ]
    for _ in range(5):
        decisions = []
        for world, policy in zip(worlds, policies):
            decision = policy.act(world.observe(), utilities=world.utilities)
            rewards, consumed = world.respond(decision.actions)
            policy.update(decision.actions, rewards, consumed=consumed)
            decisions.append(decision)
        np.testing.assert_array_equal(decisions[0].actions, decisions[1].actions)
        _same(decisions[0], decisions[1])
