"""Mansoury et al. (2020): the feedback loop amplifies popularity bias, and the minority pays.

Masoud Mansoury, Himan Abdollahpouri, Mykola Pechenizkiy, Bamshad Mobasher and Robin
Burke, "Feedback loop and bias amplification in recommender systems" (CIKM 2020), retrain
recommenders (user- and item-based neighbourhoods, matrix factorisation, most popular)
round after round on MovieLens ratings to which the recommendations the simulated users
accepted are added. They report that the popularity of what is recommended rises over
the rounds (popularity bias amplification), aggregate diversity falls, users' profiles
shift, and that the effect is stronger for a minority group (the women of MovieLens),
whose profiles move toward the majority's.

The replication splits the population into a majority of 72 % and a minority of 28 %
(MovieLens-1M's share of women), two von Mises–Fisher clouds of tastes whose centres are
60° apart: the majority's on the axis of item class 0, the minority's between classes
0 and 1, in a catalogue of item classes (genres) around the coordinate axes
(:func:`recgym.worlds.item_classes`). Each step every user is shown a top-10 list and
accepts at most one item, by multinomial logit with a null option; each item is
consumed at most once; preferences move toward what is consumed (biased assimilation,
``α = 0.1``). Four recommenders run on the same population:

- ``MF``: implicit-feedback matrix factorisation of the consumption;
- ``item-kNN``: item-based nearest neighbours on the consumption;
- ``popularity``: the items consumed most often;
- ``random``: uniformly random lists, the control without feedback.

The trained ones recommend at random for a start-up period (the initial profiles, which
the paper takes from MovieLens) and are then refitted on everything consumed every 5
steps (a feedback round). Recorded: the popularity of the recommended items
(``recommended_popularity``: the mean share of all past consumption of the items shown,
here times the number of items, so that an item of average popularity scores 1), the
minority's alignment with the majority's initial centre (``group_alignment[1->0]``) and
the miscalibration (Steck 2018) of each group. The tests, on per-seed values: the
recommended popularity rises from the first feedback round to the last under MF and
under item-kNN, and the minority turns further toward the majority under MF than under
random lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym import UserModel, worlds
from recgym.choice import MultinomialLogit
from recgym.population.env import PopulationEnv
from recgym.population.history import History
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
from recgym.presets.replication import Curve, Estimate, Panel, Replication

__all__ = ["PRESET", "mansoury_2020"]

#: The arms whose training is a feedback loop (tested), in order.
_TRAINED = ("MF", "item-kNN")


def _arms(settings: Mapping[str, Any]) -> tuple[Arm, ...]:
    common = {"slate_size": settings["slate_size"], "exclude_consumed": True}
    schedule = {"retrain_every": settings["retrain_every"], "warmup_steps": settings["startup"]}
    return (
        Arm("MF", "implicit_factorization", {"rank": settings["rank"], **schedule, **common}),
        Arm("item-kNN", "item_knn", {"n_neighbors": settings["neighbors"], **schedule, **common}),
        Arm("popularity", "most_popular", {"counts": "consumption", **common}),
        Arm("random", "random", {"slate_size": settings["slate_size"]}),
    )


def _centers(settings: Mapping[str, Any]) -> NDArray[np.float64]:
    """The groups' taste centres: the majority's ``e₀``, the minority's at the angle from it.

    ``c₀ = e₀`` (the axis of item class 0) and ``c₁ = cos θ · e₀ + sin θ · e₁``.
    """
    dim, angle = settings["dim"], np.radians(settings["separation_degrees"])
    axes = np.eye(dim)
    return np.stack([axes[0], np.cos(angle) * axes[0] + np.sin(angle) * axes[1]])


def _environment(settings: Mapping[str, Any], seed: int) -> PopulationEnv:
    users, items, dim = settings["users"], settings["items"], settings["dim"]
    rng = np.random.default_rng(seed)
    minority = round(settings["minority_share"] * users)
    population = worlds.grouped_users(
        [users - minority, minority], centers=_centers(settings), kappa=settings["kappa"], rng=rng
    )
    catalogue = worlds.item_classes(
        items, n_classes=settings["classes"], dim=dim, kappa=settings["item_kappa"], rng=rng
    )
    return PopulationEnv(
        n_users=users,
        n_items=items,
        user_feature_dim=dim,
        item_feature_dim=dim,
        user_feature_vector=population.features,
        item_feature_vector=catalogue.features,
        user_groups=population.groups,
        item_groups=catalogue.groups,
        feature_normalization="row",
        step_per_episode=settings["steps"],
        slate_size=settings["slate_size"],
        choice_model=MultinomialLogit(
            temperature=settings["temperature"], no_choice_utility=settings["no_choice_utility"]
        ),
        repeat_consumption=False,
        obs_std=0.0,
        reward_std=0.0,
        UserModel=UserModel(dim, dim, reward_std=0.0, alpha=settings["alpha"]),
        random_state=seed,
    )


def _options(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "metrics": [
            "recommended_popularity",
            "group_alignment",
            "miscalibration",
            "click_through_rate",
            "mean_reward",
        ],
        "every": settings["every"],
    }


def _measure(
    settings: Mapping[str, Any], history: History, env: PopulationEnv
) -> dict[str, NDArray[np.float64]]:
    """The figure's quantities from the recorded metrics.

    ``relative_popularity``: ``recommended_popularity`` times the number of items (1: the
    recommended items are as popular as the average item); ``minority_alignment``:
    ``group_alignment[1->0]``; ``miscalibration_gap``: the minority's miscalibration minus
    the majority's.
    """
    metrics = history.metrics
    return {
        "relative_popularity": metrics["recommended_popularity"] * env.n_items,
        "minority_alignment": np.array(metrics["group_alignment[1->0]"]),
        "miscalibration_gap": metrics["miscalibration[1]"] - metrics["miscalibration[0]"],
    }


def _analyse(runs: Runs) -> Findings:
    steps, startup = runs.settings["steps"], runs.settings["startup"]
    first = int(np.flatnonzero(runs.steps > startup)[0])  # the first record after a fit
    start = int(runs.steps[first])
    control = "random"

    def rise(label: str) -> NDArray[np.float64]:
        popularity = runs.series(label, "relative_popularity")
        return popularity[:, -1] - popularity[:, first]

    def drift(label: str) -> NDArray[np.float64]:
        alignment = runs.series(label, "minority_alignment")
        return alignment[:, -1] - alignment[:, 0]

    # The miscalibration over the last quarter of the run: one step's value is noisy.
    late = runs.steps > 0.75 * steps
    window = f"over steps {runs.steps[late][0]}–{steps}"

    def late_mean(label: str, name: str) -> NDArray[np.float64]:
        return np.nanmean(runs.series(label, name)[:, late], axis=1)

    tests = [
        Estimate(
            f"popularity_rise_{label_key(label)}",
            f"rise of the recommended items' popularity from step {start} to {steps}, {label}",
            tuple(rise(label).tolist()),
            "× average item",
            "> 0",
        )
        for label in _TRAINED
    ]
    tests.append(
        difference(
            "minority_drift_MF_minus_random",
            f"gain in the minority's alignment with the majority centre over {steps} steps, "
            f"MF minus {control}",
            drift("MF"),
            drift(control),
            unit="cosine",
            expected="> 0",
        )
    )
    estimates = (
        *tests,
        *(
            difference(
                f"minority_drift_{label_key(arm.label)}_minus_random",
                f"gain in the minority's alignment with the majority centre over {steps} "
                f"steps, {arm.label} minus {control}",
                drift(arm.label),
                drift(control),
                unit="cosine",
            )
            for arm in runs.arms
            if arm.label not in ("MF", control)
        ),
        Estimate(
            "minority_alignment_initial",
            "minority's alignment with the majority centre at step 0 (every arm)",
            tuple(runs.series("MF", "minority_alignment")[:, 0].tolist()),
            "cosine",
        ),
        *per_arm(
            runs,
            "minority_alignment",
            f"minority's alignment with the majority centre after {steps} steps",
            unit="cosine",
        ),
        *per_arm(
            runs,
            "relative_popularity",
            f"popularity of the recommended items at step {steps}",
            unit="× average item",
        ),
        *(
            Estimate(
                f"miscalibration_{group}_{label_key(arm.label)}",
                f"miscalibration of the {group} {window}, {arm.label}",
                tuple(late_mean(arm.label, f"miscalibration[{g}]").tolist()),
                "nats",
            )
            for arm in runs.arms
            for g, group in enumerate(("majority", "minority"))
        ),
    )
    panels = (
        Panel(
            "minority_alignment",
            "the minority's taste",
            "cosine of the minority's mean taste with the majority's initial centre",
            "",
            (-1.0, 1.0),
        ),
        Panel(
            "relative_popularity",
            "popularity of the recommendations",
            "popularity of the recommended items (1 = average item; popularity arm off scale)",
            "",
            (0.0, float("inf")),
        ),
        Panel(
            "miscalibration_gap",
            "miscalibration, minority − majority",
            "minority's miscalibration minus the majority's",
            "nats",
        ),
    )
    curves: list[Curve] = []
    for panel in panels:
        curves += [
            curve
            for curve in runs.curves(panel.key)
            if not (panel.key == "relative_popularity" and curve.series == "popularity")
        ]
    return Findings(estimates, panels, tuple(curves))


def _caption(settings: Mapping[str, Any]) -> str:
    return (
        f"{settings['users']:,} users in R^{settings['dim']}, a minority of "
        f"{settings['minority_share']:.0%} whose taste centre is "
        f"{settings['separation_degrees']:g}° from the majority's (von Mises–Fisher "
        f"κ = {settings['kappa']:g}), {settings['items']:,} items in {settings['classes']} "
        f"classes; top-{settings['slate_size']} lists, acceptance by logit "
        f"(τ = {settings['temperature']:g}, null utility {settings['no_choice_utility']:g}), "
        f"each item once, biased assimilation α = {settings['alpha']:g}; random for "
        f"{settings['startup']} steps, then refitted every {settings['retrain_every']} "
        f"steps; {settings['steps']} steps"
    )


_SMALL = {
    "users": 800,
    "items": 800,
    "dim": 8,
    "minority_share": 0.28,
    "separation_degrees": 60.0,
    "kappa": 10.0,
    "population": "grouped_users: vMF(kappa) around c0 = e_0 (majority), c1 (minority)",
    "classes": 4,
    "item_kappa": 10.0,
    "catalogue": "item_classes: vMF(item_kappa) around e_0 ... e_3",
    "slate_size": 10,
    "temperature": 0.1,
    "no_choice_utility": 0.0,
    "alpha": 0.1,
    "rank": 10,
    "neighbors": 50,
    "startup": 10,
    "retrain_every": 5,
    "steps": 40,
    "every": 2,
}

#: The preset: Mansoury, Abdollahpouri, Pechenizkiy, Mobasher & Burke (2020), "Feedback
#: loop and bias amplification in recommender systems".
PRESET = Preset(
    name="mansoury_2020",
    paper=Paper(
        authors="Mansoury et al.",
        year=2020,
        title="Feedback loop and bias amplification in recommender systems",
        venue="ACM International Conference on Information and Knowledge Management (CIKM '20)",
        full_authors=("Mansoury, M., Abdollahpouri, H., Pechenizkiy, M., Mobasher, B. & Burke, R."),
    ),
    claim=(
        "Recommenders retrained on the feedback their own recommendations produce "
        "recommend ever more popular items, and a minority whose taste differs from the "
        "majority's drifts toward the majority."
    ),
    scales={
        "small": _SMALL,
        "paper": {**_SMALL, "users": 6040, "items": 3706, "steps": 60, "every": 5},
    },
    arms=_arms,
    environment=_environment,
    options=_options,
    analyse=_analyse,
    measure=_measure,
    caption=_caption,
    seconds=10.0,
    page="docs/papers/mansoury_2020.md",
)


def mansoury_2020(
    *,
    seeds: int | None = None,
    scale: str = "small",
    base_seed: int = 0,
    progress: bool | None = None,
) -> Replication:
    """Replicate Mansoury et al. (2020): popularity bias amplified, the minority drawn in.

    A majority (72 %) and a minority (28 %) with taste centres 60° apart, item classes,
    top-10 lists accepted by logit, each item once, biased assimilation (``α = 0.1``),
    under implicit-feedback matrix factorisation, item-kNN, popularity and random lists.
    ``scale="small"``: 800 users, 800 items, 40 steps; ``"paper"``: 6,040 users and
    3,706 items (MovieLens-1M's sizes), 60 steps. See ``docs/papers/mansoury_2020.md``.

    Args:
        seeds: How many seeds (default 5); seed ``i`` is ``base_seed + i``.
        scale: ``"small"`` (seconds) or ``"paper"``.
        base_seed: The first seed.
        progress: A progress bar on stderr: True, False, or None (on a terminal, after 2 s).

    Returns:
        Replication: Tests ``popularity_rise_MF > 0``, ``popularity_rise_item_kNN > 0``
        and ``minority_drift_MF_minus_random > 0``; figure: the minority's alignment with
        the majority, the popularity of the recommendations and the miscalibration gap
        against the step.

    Raises:
        TypeError, ValueError: On a bad argument (named in the message).
    """
    return PRESET.run(seeds=seeds, scale=scale, base_seed=base_seed, progress=progress)
