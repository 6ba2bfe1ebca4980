"""Every built-in policy respects a changing catalogue's availability mask, exactly.

``act``, ``probabilities`` and ``slate_probabilities`` take ``available`` (bool
``(n_items,)``): no policy recommends an unavailable item, the propensities are those of
the choice among the available items (checked by enumerating every ordered slate of a
tiny catalogue and against the frequencies of many draws), an unavailable item has
probability 0, and ``available=None`` or an all-True mask give today's numbers bit for
bit. Then every policy runs through ``simulate`` on an environment whose catalogue
changes, and the pinned messages of a bad mask.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
from scipy.stats import chisquare

from recgym.catalogue import CatalogueChange
from recgym.population import PopulationEnv
from recgym.population.policies import (
    POLICIES,
    Decision,
    Policy,
    SlateProbabilities,
    make_policy,
)
from recgym.population.simulation import simulate

pytestmark = pytest.mark.filterwarnings("error")

N_USERS, N_ITEMS, DIM = 60, 30, 4

POLICY_KWARGS: dict[str, dict[str, Any]] = {
    "random": {},
    "greedy": {},
    "oracle_greedy": {},
    "epsilon_greedy": {"epsilon": 0.3},
    "softmax": {"temperature": 0.2},
    "mass_media": {},
    "most_popular": {},
    "collaborative_filtering": {"rank": 3, "refit_every": 2, "epsilon": 0.2},
    "exposure_capped": {"max_share": 0.5},
}
STOCHASTIC = ["random", "epsilon_greedy", "softmax", "mass_media", "collaborative_filtering"]
SLATE_SIZES = [1, 3]


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


class Toy:
    """Fixed preferences, noisy observations; each user consumes its best shown item if
    its affinity is positive, nothing otherwise (reward 0)."""

    def __init__(self, seed: int, n_users: int = N_USERS, n_items: int = N_ITEMS):
        rng = np.random.default_rng(seed)
        self.items = _unit_rows(rng.normal(size=(n_items, DIM)))
        self.states = _unit_rows(rng.normal(size=(n_users, DIM)))
        self.rng = np.random.default_rng(seed + 1)

    def observe(self) -> np.ndarray:
        noise = 0.3 * self.rng.standard_normal(self.states.shape)
        return np.clip(self.states + noise, -1.0, 1.0)

    def mask(self, minimum: int) -> np.ndarray:
        """A random mask with between ``minimum`` and ``n_items − 1`` available items."""
        n_items = len(self.items)
        count = int(self.rng.integers(minimum, n_items))
        available = np.zeros(n_items, dtype=bool)
        available[self.rng.permutation(n_items)[:count]] = True
        return available

    def respond(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(rewards, consumed)`` for items ``(N,)`` or slates ``(N, k)``."""
        slates = actions.reshape(len(actions), -1)
        affinities = np.einsum("nd,nkd->nk", self.states, self.items[slates])
        rows = np.arange(len(slates))
        best = affinities.argmax(axis=1)
        chose = affinities[rows, best] > 0
        consumed = np.where(chose, slates[rows, best], -1)
        return np.where(chose, affinities[rows, best], 0.0), consumed


def _bound(name: str, toy: Toy, k: int, seed: int = 0, **overrides: Any) -> Policy:
    policy = make_policy(name, slate_size=k, **{**POLICY_KWARGS[name], **overrides})
    policy.reset(toy.items, n_users=len(toy.states), rng=np.random.default_rng(seed))
    return policy


def _learn(policy: Policy, toy: Toy, actions: np.ndarray) -> None:
    rewards, consumed = toy.respond(actions)
    policy.update(actions, rewards, consumed=consumed)


def _assert_same(first: Decision | SlateProbabilities, second: SlateProbabilities) -> None:
    """The three probabilities agree bit for bit (None where either is None)."""
    for mine, theirs in zip(first[-3:], second):
        if mine is None or theirs is None:
            assert mine is None and theirs is None
        else:
            np.testing.assert_array_equal(mine, theirs)


def _minimum_available(name: str, k: int, n_users: int = N_USERS) -> int:
    """Fewest available items a test mask may leave (the exposure cap needs room)."""
    if name != "exposure_capped":
        return k
    capacity = math.ceil(POLICY_KWARGS[name]["max_share"] * n_users)
    return max(k, math.ceil(n_users * k / capacity))


# ----------------------------------------------------------------- availability, propensities


@pytest.mark.parametrize("k", SLATE_SIZES)
@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_no_unavailable_item_and_propensities_equal_the_probabilities(name, k):
    toy = Toy(seed=3)
    policy = _bound(name, toy, k)
    for _ in range(6):  # collaborative filtering fits after step 2: both of its phases
        available = toy.mask(_minimum_available(name, k))
        obs = toy.observe()
        decision = policy.act(obs, states=toy.states, available=available)
        assert decision.actions.shape == ((N_USERS,) if k == 1 else (N_USERS, k))
        assert available[decision.actions].all()
        assert ((decision.propensities > 0) & (decision.propensities <= 1)).all()
        again = policy.slate_probabilities(
            obs, decision.actions, states=toy.states, available=available
        )
        _assert_same(decision, again)
        joint = policy.probabilities(obs, decision.actions, states=toy.states, available=available)
        np.testing.assert_array_equal(joint, decision.propensities)
        _learn(policy, toy, decision.actions)
    if name == "collaborative_filtering":
        assert policy.is_fitted


@pytest.mark.parametrize("k", SLATE_SIZES)
@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_an_unavailable_item_has_probability_zero(name, k):
    toy = Toy(seed=5)
    policy = _bound(name, toy, k)
    for _ in range(3):  # learning policies leave their start (CF fits)
        _learn(policy, toy, policy.act(toy.observe(), states=toy.states).actions)
    available = toy.mask(_minimum_available(name, k))
    # Random slates over the whole table: most show some unavailable item.
    order = np.argsort(toy.rng.random((N_USERS, N_ITEMS)), axis=1)[:, :k]
    actions = order[:, 0] if k == 1 else order
    obs = toy.observe()
    got = policy.slate_probabilities(obs, actions, states=toy.states, available=available)
    shown = available[actions].reshape(N_USERS, k)
    assert not shown.all()
    prefixes = np.logical_and.accumulate(shown, axis=1)
    assert (got.propensities[~shown.all(axis=1)] == 0.0).all()
    if k > 1:
        assert (got.cascade_propensities[~prefixes] == 0.0).all()
        np.testing.assert_array_equal(got.cascade_propensities[:, -1], got.propensities)
        if got.item_position_propensities is not None:
            assert (got.item_position_propensities[~shown] == 0.0).all()
    joint = policy.probabilities(obs, actions, states=toy.states, available=available)
    np.testing.assert_array_equal(joint, got.propensities)


# ------------------------------------------------------------- None and all-True: today's numbers


@pytest.mark.parametrize("k", SLATE_SIZES)
@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_none_and_an_all_true_mask_give_the_numbers_of_no_mask(name, k):
    masks = {
        "absent": {},
        "none": {"available": None},
        "all": {"available": np.ones(N_ITEMS, dtype=bool)},
    }
    toys = {label: Toy(seed=7) for label in masks}
    policies = {label: _bound(name, toys[label], k, seed=1) for label in masks}
    for _ in range(5):
        results = {}
        for label, extra in masks.items():
            toy, policy = toys[label], policies[label]
            obs = toy.observe()
            decision = policy.act(obs, states=toy.states, **extra)
            order = np.argsort(toy.rng.random((N_USERS, N_ITEMS)), axis=1)[:, :k]
            others = order[:, 0] if k == 1 else order
            results[label] = (
                decision,
                policy.slate_probabilities(obs, others, states=toy.states, **extra),
                policy.probabilities(obs, others, states=toy.states, **extra),
            )
            _learn(policy, toy, decision.actions)
        reference = results["absent"]
        for label in ("none", "all"):
            decision, others, joint = results[label]
            np.testing.assert_array_equal(decision.actions, reference[0].actions)
            _assert_same(decision, SlateProbabilities(*reference[0][1:]))
            _assert_same(others, reference[1])
            np.testing.assert_array_equal(joint, reference[2])


# ------------------------------------------------------- tiny catalogue: enumeration, frequencies

TINY_USERS, TINY_ITEMS = 3, 5
TINY_AVAILABLE = np.array([True, False, True, True, False])
TINY_OVERRIDES: dict[str, dict[str, Any]] = {
    "softmax": {"temperature": 1.0},  # moderate weights: every slate is drawn often enough
    "epsilon_greedy": {"epsilon": 0.5},
}
#: (policy, steps of learning before the check): CF before and after its first fit.
TINY_CASES = [(name, 4) for name in POLICY_KWARGS] + [("collaborative_filtering", 0)]


def _tiny(name: str, k: int, learn: int) -> tuple[Policy, Toy, np.ndarray]:
    """A policy bound to 3 users and 5 items that has learned ``learn`` steps on the full
    catalogue (most popular may then prefer an item that is unavailable later), and the
    observations it is checked on."""
    toy = Toy(seed=11, n_users=TINY_USERS, n_items=TINY_ITEMS)
    policy = _bound(name, toy, k, seed=2, **TINY_OVERRIDES.get(name, {}))
    for _ in range(learn):
        _learn(policy, toy, policy.act(toy.observe(), states=toy.states).actions)
    return policy, toy, toy.observe()


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize(("name", "learn"), TINY_CASES)
def test_enumerated_probabilities_are_a_distribution_over_available_slates(
    name, learn, k, enumerate_slates, check_slate_distribution
):
    policy, toy, obs = _tiny(name, k, learn)
    call = {"states": toy.states, "available": TINY_AVAILABLE}
    slates, enumerated = enumerate_slates(policy, obs, TINY_ITEMS, k, **call)
    joint = check_slate_distribution(slates, enumerated)  # (S, N)
    shown = TINY_AVAILABLE[slates].all(axis=1)
    assert (joint[~shown] == 0.0).all()


def _chi_square_p(observed: np.ndarray, expected: np.ndarray) -> float:
    """Pearson's test on the bins expected at least 5 times, the others pooled."""
    large = expected >= 5
    observed_bins = np.append(observed[large], observed[~large].sum())
    expected_bins = np.append(expected[large], expected[~large].sum())
    keep = expected_bins > 0
    return float(chisquare(observed_bins[keep], expected_bins[keep]).pvalue)


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize(("name", "learn"), [case for case in TINY_CASES if case[0] in STOCHASTIC])
def test_draws_among_available_slates_match_the_enumerated_probabilities(
    name, learn, k, enumerate_slates
):
    policy, toy, obs = _tiny(name, k, learn)
    call = {"states": toy.states, "available": TINY_AVAILABLE}
    slates, enumerated = enumerate_slates(policy, obs, TINY_ITEMS, k, **call)
    joint = np.array([p.propensities for p in enumerated])  # (S, N)
    index = {tuple(slate): s for s, slate in enumerate(slates.tolist())}
    draws = 3000
    counts = np.zeros_like(joint)
    for _ in range(draws):  # act draws from the generator but never changes the policy
        decision = policy.act(obs, states=toy.states, available=TINY_AVAILABLE)
        drawn = decision.actions.reshape(TINY_USERS, k)
        assert TINY_AVAILABLE[drawn].all()
        rows = [index[tuple(slate)] for slate in drawn.tolist()]
        counts[rows, np.arange(TINY_USERS)] += 1
        np.testing.assert_array_equal(decision.propensities, joint[rows, np.arange(TINY_USERS)])
    assert (counts[joint == 0.0] == 0).all()
    for user in range(TINY_USERS):
        assert _chi_square_p(counts[:, user], draws * joint[:, user]) > 1e-3


def test_the_best_available_items_when_the_best_are_unavailable():
    toy = Toy(seed=13, n_users=4, n_items=6)
    available = np.array([False, True, True, False, True, True])
    greedy = _bound("greedy", toy, 2)
    scores = toy.states @ toy.items.T
    decision = greedy.act(toy.states, available=available)
    masked = np.where(available, scores, -np.inf)
    np.testing.assert_array_equal(
        decision.actions, np.argsort(-masked, axis=1, kind="stable")[:, :2]
    )
    popular = _bound("most_popular", toy, 2)
    popular.update(
        np.array([[0, 3], [3, 0], [0, 2], [5, 0]]), np.ones(4), consumed=np.array([0, 3, 0, 5])
    )
    # Counts: item 0 twice, 3 and 5 once; 0 and 3 are unavailable: 5, then 1 (lowest index).
    chosen = popular.act(toy.states, available=available).actions
    np.testing.assert_array_equal(chosen, np.tile([5, 1], (4, 1)))
    np.testing.assert_array_equal(popular.positive_counts, [2, 0, 0, 1, 0, 1])


# ------------------------------------------------------------------ simulate, changing catalogue


class RecordingEnv(PopulationEnv):
    """A PopulationEnv that keeps every step's availability and checks each slate shown
    against the availability of the step before (the reset's for the first)."""

    def reset_batch(self, seed=None, options=None):
        observations, info = super().reset_batch(seed=seed, options=options)
        self.masks = [info["available"]]
        self.shown: list[np.ndarray] = []
        return observations, info

    def step_batch(self, actions):
        assert self.masks[-1][actions].all(), "an unavailable item was recommended"
        self.shown.append(np.array(actions))
        result = super().step_batch(actions)
        self.masks.append(result[-1]["available"])
        return result


@pytest.mark.parametrize("k", SLATE_SIZES)
@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_every_policy_runs_on_a_changing_catalogue(name, k):
    change = CatalogueChange(initial_items=12, arrival_rate=1.5, retirement_rate=0.15)
    env = RecordingEnv(
        n_users=40,
        n_items=30,
        slate_size=k,
        step_per_episode=8,
        choice_model="mnl" if k > 1 else "consume",
        catalogue=change,
        random_state=0,
    )
    policy = make_policy(name, slate_size=k, **POLICY_KWARGS[name])
    history = simulate(env, policy, seed=1, record=["actions"])
    assert len(env.shown) == 8
    for before, actions, recorded in zip(env.masks, env.shown, history.trajectory["actions"]):
        np.testing.assert_array_equal(recorded, actions)
        assert before[actions].all()
    # The catalogue did change: items retired and arrived, never all of the table at once.
    assert len({mask.tobytes() for mask in env.masks}) > 2
    assert not any(mask.all() for mask in env.masks)


# ------------------------------------------------------------------------------ errors


def _bound_small(name: str = "random", k: int = 2) -> Policy:
    policy = make_policy(name, slate_size=k, **POLICY_KWARGS[name])
    policy.reset(np.eye(5), n_users=3, rng=np.random.default_rng(0))
    return policy


SHAPE = "`available` must have shape (5,), one flag per item, got"
BAD_MASKS = [
    ([True] * 5, TypeError, "`available` must be a boolean numpy array of shape (5,), got list"),
    (np.ones(5, dtype=np.int64), TypeError, "`available` must hold booleans, got dtype int64"),
    (np.ones(4, dtype=bool), ValueError, f"{SHAPE} (4,)"),
    (np.ones((1, 5), dtype=bool), ValueError, f"{SHAPE} (1, 5)"),
    (
        np.array([True, False, False, False, False]),
        ValueError,
        "`available` must leave at least slate_size (2) items available, got 1",
    ),
]


@pytest.mark.parametrize(
    ("available", "error", "message"), BAD_MASKS, ids=["list", "int", "short", "2-d", "too-few"]
)
@pytest.mark.parametrize("method", ["act", "probabilities", "slate_probabilities"])
@pytest.mark.parametrize("name", list(POLICY_KWARGS))
def test_a_bad_mask_is_refused_with_a_pinned_message(name, method, available, error, message):
    policy = _bound_small(name)
    obs = np.zeros((3, 5))
    call = (
        (lambda: policy.act(obs, states=obs, available=available))
        if method == "act"
        else lambda: getattr(policy, method)(
            obs, np.array([[0, 1]] * 3), states=obs, available=available
        )
    )
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_exposure_cap_refuses_too_few_available_items_at_act():
    policy = make_policy("exposure_capped", max_share=0.25, slate_size=2)
    policy.reset(np.eye(8), n_users=8, rng=np.random.default_rng(0))
    available = np.array([True, True, True, False, False, False, False, False])
    message = (
        "`available` leaves too few items for max_share=0.25: each of the 3 available items "
        "may be shown to ceil(max_share * n_users) = 2 users per step, 6 in all, fewer than "
        "the 16 slate positions; need at least 8 available items"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        policy.act(np.zeros((8, 8)), available=available)
    with pytest.raises(ValueError, match=re.escape(message)):
        policy.probabilities(np.zeros((8, 8)), np.tile([0, 1], (8, 1)), available=available)
    assert policy.act(np.zeros((8, 8)), available=np.ones(8, dtype=bool)).actions.shape == (8, 2)


# ----------------------------------------------------------------------- policies of your own


class _FirstAvailable(Policy):
    """A user-defined policy: the first available item, with an `available`-aware hook."""

    name = "first_available"

    def act(self, observations, *, states=None, available=None):
        self._check_observations(observations, "act")
        first = 0 if available is None else int(np.flatnonzero(available)[0])
        return Decision(np.full(self.n_users, first, dtype=np.int64), np.ones(self.n_users))

    def _propensities(self, observations, actions, states, available=None):
        first = 0 if available is None else int(np.flatnonzero(available)[0])
        return (actions == first).astype(np.float64)


class _AlwaysFirst(Policy):
    """A user-defined policy written before availability: its hook takes no `available`."""

    name = "always_first"

    def act(self, observations, *, states=None):
        self._check_observations(observations, "act")
        return Decision(np.zeros(self.n_users, dtype=np.int64), np.ones(self.n_users))

    def _propensities(self, observations, actions, states):
        return (actions == 0).astype(np.float64)


def test_policies_of_your_own_get_the_mask_in_a_hook_that_takes_it():
    obs, available = np.zeros((2, 3)), np.array([False, True, True])
    mine = _FirstAvailable()
    mine.reset(np.eye(3), n_users=2, rng=np.random.default_rng(0))
    assert mine.act(obs, available=available).actions.tolist() == [1, 1]
    np.testing.assert_array_equal(
        mine.probabilities(obs, np.array([1, 2]), available=available), [1.0, 0.0]
    )
    older = _AlwaysFirst()
    older.reset(np.eye(3), n_users=2, rng=np.random.default_rng(0))
    every = np.ones(3, dtype=bool)
    np.testing.assert_array_equal(
        older.probabilities(obs, np.array([0, 2]), available=every), [1.0, 0.0]
    )
    message = (
        "_AlwaysFirst._propensities takes no `available`, so its probabilities cannot be "
        "restricted to the available items: add an `available=None` keyword to the hook "
        "(see Policy._propensities)"
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        older.probabilities(obs, np.array([0, 2]), available=available)


def test_a_policy_of_your_own_must_implement_act():
    class Idle(Policy):
        name = "idle"

    message = "Can't instantiate policy Idle: it must implement `act` (see Policy.act)"
    with pytest.raises(TypeError, match=re.escape(message)):
        Idle()
    with pytest.raises(TypeError, match=re.escape("Can't instantiate policy Policy")):
        Policy()


def test_every_registered_policy_takes_available_in_act_and_probabilities():
    import inspect

    for cls in POLICIES.values():
        for method in ("act", "probabilities", "slate_probabilities"):
            parameter = inspect.signature(getattr(cls, method)).parameters["available"]
            assert parameter.default is None and parameter.kind is parameter.KEYWORD_ONLY
