"""Per-user learners and a changing population: ``Policy.forget``, and the runners' use of it.

In a ``PopulationEnv`` slot ``i`` is always user ``i``: one who leaves and returns (churn)
is the same user, so the runners never make a policy forget, and an absent user (who
consumes nothing) teaches nothing. When a world puts new users into slots (here a
``PopulationEnv`` that replaces its leavers from the pool, as a vector environment's
autoreset does), ``Rollout`` calls ``forget`` with exactly the slots whose ``user_id``
changed, and each learner restarts those users and only those. Also the public
``PopulationEnv.utilities`` and the pinned messages of ``forget``'s and its arguments.
"""

from __future__ import annotations

import numpy as np
import pytest

from recgym import RECVectorEnv
from recgym.engagement import Churn
from recgym.population import PopulationEnv, simulate
from recgym.population.policies import (
    CollaborativeFilteringPolicy,
    ImplicitFactorizationPolicy,
    ItemKnnPolicy,
    LinearThompsonPolicy,
    LinearUcbPolicy,
    MostPopularPolicy,
    make_policy,
)

pytestmark = pytest.mark.filterwarnings("error")

CHURN = Churn(threshold=0.0, rate=1.0, return_probability=0.4)


class Spy(LinearUcbPolicy):
    """LinUCB that records its estimates after each update and the rows it forgets, with
    the number of updates so far."""

    name = "linear_ucb"

    def _on_reset(self) -> None:
        super()._on_reset()
        self.forgotten: list[tuple[int, list[int]]] = []
        self.history: list[np.ndarray] = []

    def _forget(self, rows):
        self.forgotten.append((len(self.history), rows.tolist()))
        assert (self._estimates[rows] != 0.0).any()  # it had learned about the leavers
        super()._forget(rows)
        np.testing.assert_array_equal(self._estimates[rows], 0.0)
        assert (self._covariance[rows] == np.eye(5) / self.regularization).all()

    def _learn(self, rewards, consumed):
        super()._learn(rewards, consumed)
        self.history.append(self._estimates.copy())


class ReplacingEnv(PopulationEnv):
    """A world whose leavers are replaced at once by another user of the pool (the next
    one), with the core's slot reset, as ``RECVectorEnv``'s autoreset does."""

    def step_batch(self, actions):
        observations, rewards, terminated, truncated, info = super().step_batch(actions)
        population = self._population
        slots = np.flatnonzero(population.left)
        if slots.size:
            new_users = (population.current_user_ids()[slots] + 1) % self.n_users
            population.reset_slots(slots, new_users)
            info = self._infos()
        return observations, rewards, terminated, truncated, info


def test_returning_users_are_the_same_users_and_absent_users_teach_nothing():
    env = PopulationEnv(n_users=60, n_items=10, step_per_episode=12, churn=CHURN, random_state=0)
    policy = Spy()
    actives = []
    original = env.step_batch

    def recording(actions):
        result = original(actions)
        actives.append(result[-1]["active"].copy())
        return result

    env.step_batch = recording
    simulate(env, policy, seed=1)
    assert policy.forgotten == []
    active = np.array(actives)  # (steps, N): present for the next step
    assert (~active).any() and (active[1:] & ~active[:-1]).any()  # some left, some returned
    estimates = np.array(policy.history)  # (steps, N, d) after each update
    # A user absent during step t (not active after step t − 1) learned nothing at t.
    absent = ~active[:-1]
    np.testing.assert_array_equal(estimates[1:][absent], estimates[:-1][absent])


def test_rollout_makes_the_policy_forget_the_slots_that_got_new_users():
    env = ReplacingEnv(
        n_users=60,
        n_items=10,
        step_per_episode=10,
        churn=Churn(threshold=0.0, rate=1.0),
        random_state=0,
    )
    changed = []
    original = env.step_batch

    def recording(actions):
        before = env._population.current_user_ids().copy()
        result = original(actions)
        changed.append(np.flatnonzero(result[-1]["user_id"] != before).tolist())
        return result

    env.step_batch = recording
    policy = Spy()
    simulate(env, policy, seed=2)
    # Forgotten right after the update of the step in which the slots changed users,
    # exactly those slots (the spy checks that they restarted at the prior).
    expected = [(step + 1, rows) for step, rows in enumerate(changed) if rows]
    assert len(expected) >= 2
    assert policy.forgotten == expected


@pytest.mark.parametrize(
    "build",
    [
        lambda: LinearUcbPolicy(),
        lambda: LinearThompsonPolicy(),
        lambda: ImplicitFactorizationPolicy(rank=2, retrain_every=1, exclude_consumed=True),
        lambda: ItemKnnPolicy(retrain_every=1, exclude_consumed=True),
        lambda: MostPopularPolicy(exclude_consumed=True),
        lambda: CollaborativeFilteringPolicy(rank=2, refit_every=1, epsilon=0.0),
    ],
    ids=["ucb", "thompson", "factorization", "knn", "popular", "collaborative"],
)
def test_forget_restarts_the_given_users_and_only_them(build):
    rng = np.random.default_rng(3)
    items = rng.normal(size=(8, 3))
    policy, fresh = build(), build()
    policy.reset(items, n_users=6, rng=np.random.default_rng(0))
    fresh.reset(items, n_users=6, rng=np.random.default_rng(0))
    for _ in range(3):
        consumed = rng.integers(8, size=6)
        policy.update(consumed, rng.normal(size=6))
    before = policy.act(np.zeros((6, 3)), available=None)
    policy.forget(np.array([1, 4]))
    after = policy.act(np.zeros((6, 3)))
    kept = [0, 2, 3, 5]
    if not isinstance(policy, LinearThompsonPolicy):  # Thompson draws anew each step
        np.testing.assert_array_equal(after.actions[kept], before.actions[kept])
    if isinstance(policy, (LinearUcbPolicy, LinearThompsonPolicy)):
        np.testing.assert_array_equal(policy.estimates[[1, 4]], 0.0)
        np.testing.assert_array_equal(policy.inverse_gram[[1, 4]], fresh.inverse_gram[[1, 4]])
        assert (policy.estimates[kept] != 0.0).any(axis=1).all()
    if isinstance(policy, ImplicitFactorizationPolicy):
        np.testing.assert_array_equal(policy.user_factors[[1, 4]], 0.0)
    if getattr(policy, "exclude_consumed", False):
        assert policy._consumed is not None
        assert not policy._consumed.bits[[1, 4]].any() and policy._consumed.bits[kept].any()
    log = getattr(policy, "_log", None)
    if log is not None:
        assert log.counts[[1, 4]].nnz == 0 and log.counts[kept].nnz > 0


def test_a_vector_environment_loop_forgets_at_each_autoreset():
    env = RECVectorEnv(num_envs=8, n_users=50, n_items=6, step_per_episode=3, random_state=0)
    policy = LinearUcbPolicy()
    policy.reset(env.config.item_features, n_users=8, rng=np.random.default_rng(0))
    observations, infos = env.reset(seed=0)
    ended = np.zeros(8, dtype=bool)
    restarted = 0
    for _ in range(10):
        actions = policy.act(observations).actions
        observations, rewards, terminated, truncated, infos = env.step(actions)
        if ended.any():  # these slots autoreset in this step: new users, nothing consumed
            policy.forget(np.flatnonzero(ended))
            np.testing.assert_array_equal(policy.estimates[ended], 0.0)
            restarted += 1
        if "item" in infos:  # absent when every sub-environment autoreset at once
            consumed = np.where(infos["_item"], infos["item"], -1)
        else:
            consumed = np.full(8, -1)
        policy.update(actions, rewards, consumed=consumed)
        ended = terminated | truncated
    assert restarted >= 2


# ------------------------------------------------------------------------------ errors


def test_environment_utilities_are_the_true_utilities_of_the_items_asked():
    # Its argument checks are pinned in test_bad_input.py.
    env = PopulationEnv(n_users=4, n_items=5, step_per_episode=2, random_state=0)
    env.reset_batch(seed=0)
    some = env.utilities(np.array([[0, 4, 4]]), np.array([2]))
    everyone = env.utilities(np.tile(np.arange(5), (4, 1)))
    np.testing.assert_array_equal(some, everyone[[2]][:, [0, 4, 4]])
    np.testing.assert_allclose(everyone, env.state() @ env.item_features.T, atol=1e-15)
    policy = make_policy("linear_ucb")
    policy.reset(np.eye(3), n_users=4, rng=np.random.default_rng(0))
    policy.forget(np.array([], dtype=np.int64))  # nothing to forget
