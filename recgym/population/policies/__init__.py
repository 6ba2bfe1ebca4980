"""Population-level recommendation policies: one policy recommends to every user at once.

A policy sees the whole population as arrays: observations of shape ``(N, d)`` in, one
item index per user out, together with the probability with which it chose that item
(the *propensity*, needed by off-policy evaluation of logged data). Everything is
vectorised over users; policies that score every item work through the users in chunks,
so that no ``N × n_items`` temporary is larger than ``max_chunk_bytes``.

Every built-in policy takes ``slate_size=k``: at ``k > 1`` it recommends an ordered slate
of ``k`` distinct items per user, ``(N, k)``, with the exact joint, cascade and
item-position probabilities of the slate (:class:`Decision`,
:meth:`Policy.slate_probabilities`), and learns from the item each user consumed
(``update(actions, rewards, consumed=info["item"])``). At ``k = 1`` (the default)
everything is as without slates.

With a changing catalogue (:class:`~recgym.catalogue.CatalogueChange`), ``act``,
``probabilities`` and ``slate_probabilities`` take the step's availability mask,
``available=info["available"]``: every built-in policy then recommends available items
only, with the exact probabilities of that restricted choice (see :class:`Policy`).

The loop a runner drives::

    policy = make_policy("epsilon_greedy", epsilon=0.1)
    policy.reset(item_features, n_users=N, rng=np.random.default_rng(seed))
    for _ in range(horizon):
        decision = policy.act(obs, states=states if policy.needs_state else None)
        obs, rewards, ... = env.step_batch(decision.actions)
        policy.update(decision.actions, rewards)

A policy that ``needs_utilities`` (the ideal recommender) is also given the users' true
utilities, ``utilities=env.utilities`` (:data:`UtilityFunction`); when slots get new
users the runner calls ``policy.forget(rows)`` (see :class:`Policy`).

The recommenders of the feedback-loop papers — popularity by consumption
(``most_popular`` with ``counts="consumption"``), implicit-feedback matrix factorisation
and item-kNN trained on consumption (Chaney et al. 2018; Mansoury et al. 2020), the ideal
recommender, LinUCB and linear Thompson sampling (Jiang et al. 2019) — are registered
with the rest; ``docs/policies.md`` compares them. All but Thompson sampling have exact
propensities (:attr:`Policy.exact_propensities`).

Row ``i`` of every array is always the same user ``i``. Every random draw comes from the
generator given to :meth:`Policy.reset`. Scores are BLAS products, one per chunk, so
for a given ``max_chunk_bytes`` results are deterministic; across different budgets a
score may differ in its last bit (BLAS may sum in a shape-dependent order), which can
change an action only on an exact near-tie.

Every built-in policy is registered in :data:`POLICIES` under its :attr:`Policy.name`,
and its class is that name in CamelCase followed by ``Policy`` (``"oracle_greedy"``:
:class:`OracleGreedyPolicy`). The modules of this package:

- :mod:`.base`: :class:`Policy` and :class:`Decision`;
- :mod:`.slates`: :class:`SlateProbabilities`, uniform ordered slates and the closed-form
  slate probabilities;
- :mod:`.scoring`: the chunked scoring kernels and :data:`DEFAULT_MAX_CHUNK_BYTES`;
- :mod:`.baselines`: ``"random"``, ``"mass_media"``, ``"most_popular"``;
- :mod:`.greedy`: ``"greedy"``, ``"oracle_greedy"``, ``"epsilon_greedy"``;
- :mod:`.softmax`: ``"softmax"``;
- :mod:`.collaborative`: ``"collaborative_filtering"``;
- :mod:`.exposure`: ``"exposure_capped"``;
- :mod:`.ideal`: ``"ideal"``;
- :mod:`.implicit_factorization`: ``"implicit_factorization"``;
- :mod:`.item_knn`: ``"item_knn"``;
- :mod:`.linear_bandits`: ``"linear_ucb"``, ``"linear_thompson"``;
- :mod:`.interactions`, :mod:`.als`, :mod:`.ranking`, :mod:`.retrained`: what the learners
  share — the consumption log and per-user memory, the ALS half-sweep, per-user top-``k``
  rankings that skip consumed items, the retraining schedule.

Former names keep working as aliases: :func:`make_policy` accepts ``"oracle"`` and
``"cf"`` (see :data:`POLICY_ALIASES`), and ``ExposureConstrainedPolicy`` is
:class:`ExposureCappedPolicy`. A policy's :attr:`~Policy.name` is always the registry
name, whichever name built it.

Example:
    >>> import numpy as np
    >>> from recgym.population.policies import make_policy
    >>> policy = make_policy("greedy")
    >>> policy.reset(np.eye(3), n_users=2, rng=np.random.default_rng(0))
    >>> decision = policy.act(np.array([[0.1, 0.9, 0.0], [0.5, 0.2, 0.1]]))
    >>> decision.actions, decision.propensities
    (array([1, 0]), array([1., 1.]))
    >>> make_policy("cf").name  # a former name builds the same policy
    'collaborative_filtering'
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from recgym._validation import check_choice
from recgym.population.policies.base import Decision, Policy, UtilityFunction
from recgym.population.policies.baselines import MassMediaPolicy, MostPopularPolicy, RandomPolicy
from recgym.population.policies.collaborative import CollaborativeFilteringPolicy
from recgym.population.policies.exposure import ExposureCappedPolicy, ExposureConstrainedPolicy
from recgym.population.policies.greedy import (
    EpsilonGreedyPolicy,
    GreedyPolicy,
    OracleGreedyPolicy,
)
from recgym.population.policies.ideal import IdealPolicy
from recgym.population.policies.implicit_factorization import ImplicitFactorizationPolicy
from recgym.population.policies.item_knn import ItemKnnPolicy
from recgym.population.policies.linear_bandits import LinearThompsonPolicy, LinearUcbPolicy
from recgym.population.policies.scoring import DEFAULT_MAX_CHUNK_BYTES
from recgym.population.policies.slates import SlateProbabilities
from recgym.population.policies.softmax import SoftmaxPolicy

__all__ = [
    "DEFAULT_MAX_CHUNK_BYTES",
    "POLICIES",
    "POLICY_ALIASES",
    "CollaborativeFilteringPolicy",
    "Decision",
    "EpsilonGreedyPolicy",
    "ExposureCappedPolicy",
    "ExposureConstrainedPolicy",
    "GreedyPolicy",
    "IdealPolicy",
    "ImplicitFactorizationPolicy",
    "ItemKnnPolicy",
    "LinearThompsonPolicy",
    "LinearUcbPolicy",
    "MassMediaPolicy",
    "MostPopularPolicy",
    "OracleGreedyPolicy",
    "Policy",
    "RandomPolicy",
    "SlateProbabilities",
    "SoftmaxPolicy",
    "UtilityFunction",
    "make_policy",
    "policy_parameters",
]

#: Built-in policies by registry name (canonical names only; see :data:`POLICY_ALIASES`).
POLICIES: dict[str, type[Policy]] = {
    policy.name: policy
    for policy in (
        RandomPolicy,
        GreedyPolicy,
        OracleGreedyPolicy,
        EpsilonGreedyPolicy,
        SoftmaxPolicy,
        MassMediaPolicy,
        MostPopularPolicy,
        CollaborativeFilteringPolicy,
        ExposureCappedPolicy,
        IdealPolicy,
        ImplicitFactorizationPolicy,
        ItemKnnPolicy,
        LinearUcbPolicy,
        LinearThompsonPolicy,
    )
}

#: Former registry names that :func:`make_policy` still accepts, alias → registry name
#: (read-only). The policy built is the same; its :attr:`~Policy.name` is the registry name.
POLICY_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {"oracle": "oracle_greedy", "cf": "collaborative_filtering"}
)


def make_policy(name: str, **kwargs: Any) -> Policy:
    """Build a registered policy by name.

    Args:
        name: A key of :data:`POLICIES`, e.g. ``"epsilon_greedy"``, or a former name
            listed in :data:`POLICY_ALIASES` (``"oracle"``, ``"cf"``).
        **kwargs: Constructor arguments of that policy.

    Returns:
        Policy: A new, unbound policy; call :meth:`Policy.reset` before using it.

    Raises:
        TypeError: If ``name`` is not a string, or a keyword is not accepted.
        ValueError: If ``name`` is neither registered nor an alias (the message lists the
            registry names).
    """
    if isinstance(name, str):
        name = POLICY_ALIASES.get(name, name)
    check_choice(name, "name", tuple(POLICIES))
    return POLICIES[name](**kwargs)


def policy_parameters(policy: str | type[Policy], **overrides: Any) -> dict[str, Any]:
    """Every keyword parameter of a policy's constructor with its default, then ``overrides``.

    What a run's settings record, so that they name everything that defines the policy.

    Args:
        policy: A key of :data:`POLICIES` (or an alias) or a :class:`Policy` subclass.
        **overrides: Values that replace the defaults (the arguments the policy is built with).

    Returns:
        dict: Parameter name → value, in the constructor's order, then new keys of
        ``overrides``.

    Example:
        >>> policy_parameters("epsilon_greedy", epsilon=0.3)["epsilon"]
        0.3
    """
    if isinstance(policy, str):
        policy = POLICIES[
            check_choice(POLICY_ALIASES.get(policy, policy), "policy", tuple(POLICIES))
        ]
    signature = inspect.signature(policy.__init__)
    defaults = {
        key: parameter.default
        for key, parameter in signature.parameters.items()
        if key != "self"
        and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
        and parameter.default is not parameter.empty
    }
    return {**defaults, **overrides}
