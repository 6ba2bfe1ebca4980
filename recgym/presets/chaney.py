"""Chaney, Stewart & Engelhardt (2018): algorithmic confounding, homogeneity and utility.

Allison Chaney, Brandon Stewart and Barbara Engelhardt, "How algorithmic confounding in
recommendation systems increases homogeneity and decreases utility" (RecSys 2018),
simulate users with fixed latent preferences who consume, one item per step and each
item at most once, what a recommender ranks for them, and recommenders retrained on the
interactions their own recommendations caused (*confounded* data). Against an *ideal*
recommender that knows every true utility, they report that confounded training
homogenises the users' behaviour — the items consumed by similar users overlap more —
without gaining utility.

The replication builds their generative model: ``K = 20`` topics, user preferences
``θᵤ ~ Dir(10·w)`` around a population mean ``w ~ Dir(1)``, nearly single-topic items
``βᵢ ~ Dir(0.1·Dir(100·1))``, and a true utility with mean ``⟨θ, β⟩`` and variance
``σ² = 10⁻⁵``. recgym's rows are unit vectors, so the mean is the cosine
``⟨θ/‖θ‖, β/‖β‖⟩`` and the spread a fixed user × item term of standard deviation
``√10⁻⁵ / 0.40 ≈ 0.008`` (``idiosyncratic_std``; ``0.40`` is the median ``‖θ‖`` under
the prior: the term keeps its size relative to the utilities). The catalogue grows as
in the paper: 10 items at the start and about 10 more at every step
(:class:`~recgym.catalogue.CatalogueChange`, Poisson arrivals), so a ranked list holds at
most the 10 items of the first step. Users, shown a ranked list, consume the item
maximising ``rank^(−0.8) · utility`` among those they have not consumed
(:class:`RankDiscountedChoice`). Preferences never change (``alpha = 0``). Five
recommenders run on the same users and items:

- ``ideal``: the items of highest true utility (the reference);
- ``MF, repeated``: implicit-feedback matrix factorisation of the consumption,
  uniformly random for a start-up period, then refitted after every step;
- ``MF, once``: the same, trained once after a longer random start-up;
- ``popularity``: the items consumed most often;
- ``random``: uniformly random lists.

Every recommender skips the items a user already consumed (``exclude_consumed``).
Recorded: ``jaccard_nn`` (each user's consumed items against those of their nearest
neighbour in true preference, Jaccard), ``utility`` (the true utility of the consumed
items) and the Gini coefficient of the item consumption counts (how concentrated the
whole population's consumption is). The tests, on per-seed differences: the repeatedly
trained factorisation's nearest-neighbour Jaccard exceeds the ideal recommender's, and
its utility falls below it. ``docs/papers/chaney_2018.md`` says why the growing
catalogue matters (in a catalogue given whole at the start, the ideal recommender's
neighbours overlap more than the factorisation's) and what the lists lack: the paper's
replication interleaves the newest items into every list, recgym's do not, so the
factorisation never shows items that arrived after its start-up; with that interleaving
emulated the Jaccard direction holds at ``scale="paper"`` but not at ``"small"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym import UserModel
from recgym._validation import check_nonnegative_float
from recgym.catalogue import CatalogueChange
from recgym.choice import Parameter, _PositionMajor
from recgym.population.env import PopulationEnv
from recgym.presets.preset import (
    Arm,
    Findings,
    Paper,
    Preset,
    Runs,
    difference,
    label_key,
    per_arm,
)
from recgym.presets.replication import Estimate, Panel, Replication

__all__ = ["PRESET", "RankDiscountedChoice", "chaney_2018"]


class RankDiscountedChoice(_PositionMajor):
    """Consume the item maximising ``rank^(−exponent) · utility``: Chaney et al.'s users.

    Shown a ranked list, the user weighs the utility of the item at position ``j``
    (rank ``j + 1``) by ``(j + 1)^(−exponent)`` and consumes the item of largest weighted
    utility among the available positions (items not consumed yet, with consumption
    memory), ties to the top-most; with nothing available, nothing. Deterministic: one
    outcome has probability 1 and no random number is drawn. ``exponent = 0`` is the
    user who finds their best item wherever it is listed; a large exponent is the user who
    takes the first item. Chaney et al. use ``0.8`` (their utilities lie in ``[0, 1]``; on
    negative utilities the rule still takes the largest weighted value, which favours
    low positions).

    Args:
        exponent: The rank discount, a finite float ``>= 0``.

    Raises:
        TypeError, ValueError: If ``exponent`` is not a non-negative finite float.

    Example:
        >>> import numpy as np
        >>> choice = RankDiscountedChoice(0.8)
        >>> choice.probabilities(np.array([[0.3, 0.5, 0.9]]))  # 0.3, 0.287, 0.374
        array([[0., 0., 1., 0.]])
        >>> choice.probabilities(np.array([[0.3, 0.5, 0.5]]))  # 0.3, 0.287, 0.208
        array([[1., 0., 0., 0.]])
    """

    name = "rank_discounted"
    draws = False

    def __init__(self, exponent: float = 0.8) -> None:
        self.exponent = check_nonnegative_float(exponent, "exponent")

    def _fields(self) -> tuple[str, ...]:
        return ("exponent",)

    def _fill(
        self,
        utilities: NDArray[np.floating[Any]],
        available: NDArray[np.bool_] | None,
        parameters: Mapping[str, Parameter],
        out: NDArray[np.float64],
    ) -> None:
        n, k = utilities.shape
        weighted = utilities * np.arange(1, k + 1, dtype=np.float64) ** -self.exponent
        if available is not None:
            weighted = np.where(available, weighted, -np.inf)
        best = np.argmax(weighted, axis=1)
        rows = np.arange(n)
        chosen = np.isfinite(weighted[rows, best])  # False: nothing available
        out.fill(0.0)
        out[best[chosen], rows[chosen]] = 1.0
        out[k, ~chosen] = 1.0

    def choose(
        self,
        utilities: NDArray[np.floating[Any]],
        rng: np.random.Generator,
        *,
        available: NDArray[np.bool_] | None = None,
        user_ids: NDArray[np.integer[Any]] | None = None,
    ) -> NDArray[np.int64]:
        """The position of largest discounted utility per user, ``-1`` for none; draws nothing.

        See :meth:`recgym.choice.ChoiceModel.choose` for the arguments.
        """
        probabilities = self.probabilities(utilities, available=available, user_ids=user_ids)
        k = probabilities.shape[1] - 1
        chosen = np.argmax(probabilities, axis=1)
        return np.where(chosen == k, -1, chosen).astype(np.int64)


def _arms(settings: Mapping[str, Any]) -> tuple[Arm, ...]:
    common = {"slate_size": settings["slate_size"], "exclude_consumed": True}
    factorization = {"rank": settings["rank"], **common}
    return (
        Arm("ideal", "ideal", common),
        Arm(
            "MF, repeated",
            "implicit_factorization",
            {**factorization, "retrain_every": 1, "warmup_steps": settings["startup_repeated"]},
        ),
        Arm(
            "MF, once",
            "implicit_factorization",
            {**factorization, "retrain_every": None, "warmup_steps": settings["startup_once"]},
        ),
        Arm("popularity", "most_popular", {"counts": "consumption", **common}),
        Arm("random", "random", {"slate_size": settings["slate_size"]}),
    )


def _environment(settings: Mapping[str, Any], seed: int) -> PopulationEnv:
    """Chaney et al.'s users and items: Dirichlet preferences, nearly single-topic items."""
    topics, users, items = settings["topics"], settings["users"], settings["items"]
    rng = np.random.default_rng(seed)
    preferences = rng.dirichlet(
        settings["user_concentration"] * rng.dirichlet(np.ones(topics)), users
    )
    attributes = rng.dirichlet(
        settings["item_concentration"] * rng.dirichlet(100.0 * np.ones(topics)), items
    )
    return PopulationEnv(
        n_users=users,
        n_items=items,
        user_feature_dim=topics,
        item_feature_dim=topics,
        user_feature_vector=preferences,
        item_feature_vector=attributes,
        feature_normalization="row",
        step_per_episode=settings["steps"],
        slate_size=settings["slate_size"],
        choice_model=RankDiscountedChoice(settings["rank_exponent"]),
        repeat_consumption=False,
        catalogue=CatalogueChange(
            initial_items=settings["initial_items"], arrival_rate=settings["arrivals_per_step"]
        ),
        idiosyncratic_std=settings["idiosyncratic_std"],
        obs_std=0.0,
        reward_std=0.0,
        UserModel=UserModel(topics, topics, reward_std=0.0, alpha=0.0),
        random_state=seed,
    )


def _options(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "metrics": ["jaccard_nn", "utility", "gini", "mean_reward"],
        "counts": "consumption",
        "every": settings["every"],
    }


def _analyse(runs: Runs) -> Findings:
    steps = runs.settings["steps"]
    after = f"after {steps} steps"
    ideal, trained = "ideal", "MF, repeated"

    def mean_utility(label: str) -> NDArray[np.float64]:
        return np.nanmean(runs.series(label, "utility"), axis=1)  # NaN at step 0

    estimates = (
        difference(
            "jaccard_nn_mf_minus_ideal",
            f"nearest-neighbour Jaccard {after}, {trained} minus {ideal}",
            runs.final(trained, "jaccard_nn"),
            runs.final(ideal, "jaccard_nn"),
            expected="> 0",
        ),
        difference(
            "utility_ideal_minus_mf",
            f"mean utility of the consumed items over the run, {ideal} minus {trained}",
            mean_utility(ideal),
            mean_utility(trained),
            unit="cosine",
            expected="> 0",
        ),
        difference(
            "consumption_gini_mf_minus_ideal",
            f"Gini of the item consumption counts {after}, {trained} minus {ideal}",
            runs.final(trained, "gini"),
            runs.final(ideal, "gini"),
        ),
        *per_arm(runs, "jaccard_nn", f"nearest-neighbour Jaccard {after}"),
        *(
            Estimate(
                f"utility_{label_key(arm.label)}",
                f"mean utility of the consumed items over the run, {arm.label}",
                tuple(mean_utility(arm.label).tolist()),
                "cosine",
            )
            for arm in runs.arms
        ),
        *per_arm(runs, "gini", f"Gini of the item consumption counts {after}"),
    )
    panels = (
        Panel(
            "jaccard_nn",
            "homogeneity of similar users",
            "Jaccard of the items consumed by nearest neighbours",
            "",
            (0.0, 1.0),
        ),
        Panel(
            "utility",
            "utility",
            "mean true utility of the items consumed at the step",
            "cosine",
            (0.0, 1.0),
        ),
        Panel(
            "gini",
            "concentration of consumption",
            "Gini of the item consumption counts",
            "",
            (0.0, 1.0),
        ),
    )
    curves = tuple(curve for panel in panels for curve in runs.curves(panel.key))
    return Findings(estimates, panels, curves)


def _caption(settings: Mapping[str, Any]) -> str:
    return (
        f"{settings['users']:,} users and up to {settings['items']:,} items over "
        f"{settings['topics']} topics (Dirichlet preferences and nearly single-topic items), "
        f"{settings['initial_items']} items at the start and "
        f"{settings['arrivals_per_step']:g} arriving per step, fixed preferences, "
        f"idiosyncratic utility σ = {settings['idiosyncratic_std']:g}, "
        f"ranked lists of {settings['slate_size']} unconsumed items, users consume the "
        f"item maximising rank^−{settings['rank_exponent']:g}·utility, each item once; "
        f"MF rank {settings['rank']}, repeated: random for {settings['startup_repeated']} "
        f"steps then refitted every step, once: trained after {settings['startup_once']} "
        f"random steps; {settings['steps']} steps"
    )


_PAPER = {
    "users": 100,
    "items": 1000,
    "topics": 20,
    "population": (
        "theta_u ~ Dir(user_concentration * w), w ~ Dir(1); "
        "beta_i ~ Dir(item_concentration * Dir(100))"
    ),
    "user_concentration": 10.0,
    "item_concentration": 0.1,
    # The paper's utility variance 1e-5 on the inner-product scale: a standard deviation
    # of sqrt(1e-5) = 0.0032, divided by 0.40 (the median length of theta under the
    # prior) on the cosine scale of recgym's unit rows.
    "utility_variance": 1e-5,
    "idiosyncratic_std": 0.008,
    # The catalogue grows by about 10 items per step from 10 at the start (as in the
    # paper); a ranked list cannot be longer than the catalogue of the first step.
    "catalogue": "CatalogueChange: initial_items at reset, Poisson(arrivals_per_step) after",
    "initial_items": 10,
    "arrivals_per_step": 10.0,
    "rank_exponent": 0.8,
    "slate_size": 10,
    "rank": 20,
    "startup_repeated": 10,
    "startup_once": 50,
    "steps": 100,
    "every": 5,
}

#: The preset: Chaney, Stewart & Engelhardt (2018), "How algorithmic confounding in
#: recommendation systems increases homogeneity and decreases utility".
PRESET = Preset(
    name="chaney_2018",
    paper=Paper(
        authors="Chaney et al.",
        year=2018,
        title=(
            "How algorithmic confounding in recommendation systems increases homogeneity "
            "and decreases utility"
        ),
        venue="ACM Conference on Recommender Systems (RecSys '18)",
        full_authors="Chaney, A. J. B., Stewart, B. M. & Engelhardt, B. E.",
    ),
    claim=(
        "A recommender trained on the interactions its own recommendations caused "
        "homogenises behaviour — users consume more of the same items as their nearest "
        "neighbours than under the ideal recommender that knows the true utilities — "
        "while the users get less utility."
    ),
    scales={
        "small": {
            **_PAPER,
            "items": 500,
            "startup_repeated": 5,
            "startup_once": 25,
            "steps": 50,
            "every": 5,
        },
        "paper": _PAPER,
    },
    arms=_arms,
    environment=_environment,
    options=_options,
    analyse=_analyse,
    caption=_caption,
    seconds=10.0,
    page="docs/papers/chaney_2018.md",
)


def chaney_2018(
    *,
    seeds: int | None = None,
    scale: str = "small",
    base_seed: int = 0,
    progress: bool | None = None,
) -> Replication:
    """Replicate Chaney et al. (2018): confounded training, homogeneity and utility.

    Users with fixed Dirichlet preferences over 20 topics consume, one per step and each
    once, what an ideal recommender, implicit-feedback matrix factorisation (refitted
    every step, or trained once after a random start-up), popularity or random
    recommendations rank for them (:class:`RankDiscountedChoice`, exponent 0.8), from
    a catalogue that grows by about 10 items per step. ``scale="small"``: 100 users, 50
    steps, up to 500 items; ``"paper"``: 100 users, 100 steps, up to 1,000 items
    (Chaney et al.'s sizes). See ``docs/papers/chaney_2018.md``.

    Args:
        seeds: How many seeds (default 5); seed ``i`` is ``base_seed + i``.
        scale: ``"small"`` (seconds) or ``"paper"``.
        base_seed: The first seed.
        progress: A progress bar on stderr: True, False, or None (on a terminal, after 2 s).

    Returns:
        Replication: Tests ``jaccard_nn_mf_minus_ideal > 0`` and
        ``utility_ideal_minus_mf > 0``; figure: nearest-neighbour Jaccard, utility and
        the Gini of consumption against the step.

    Raises:
        TypeError, ValueError: On a bad argument (named in the message).
    """
    return PRESET.run(seeds=seeds, scale=scale, base_seed=base_seed, progress=progress)
