"""Kalimeris et al. (2021): a slight leaning amplified by a feedback-trained recommender.

Dimitris Kalimeris, Smriti Bhagat, Shankar Kalyanaraman and Udi Weinsberg, "Preference
amplification in recommender systems" (KDD 2021), model a matrix-factorisation
recommender that learns from users' feedback and users who drift slightly toward what
they are recommended and like (and away from the rest). They study when the loop
*amplifies* preferences — the recommender and the user push each other further in the
direction of the user's initial inclination — validate it in simulation, and evaluate
mitigations in a production video recommender.

The replication starts users with a slight leaning toward one of two item classes
(:func:`recgym.worlds.leaning_users`: uniform on the sphere, pushed by ``λ = 0.1`` toward
the class axis ``e_c``) in a catalogue of two classes of items around ``e₀`` and ``e₁``
(:func:`recgym.worlds.item_classes`). Preferences move by biased assimilation, Kalimeris
et al.'s drift toward liked recommendations and away from disliked ones. Three recommenders
run on the same population:

- ``collaborative filtering``: matrix factorisation refitted on its own log of rewards
  (``collaborative_filtering``: random until its first fit, then ε-greedy on the fit),
  the feedback-trained recommender. Like the paper's, it learns from the feedback on
  every item it shows (explicit feedback); ``implicit_factorization`` learns only what
  users consumed, which at slate size 1 is everything shown, so it would learn nothing
  about preferences (``docs/papers/kalimeris_2021.md`` shows what happens with a choice
  model instead);
- ``random``: a uniformly random item, the control without feedback, which separates
  what the recommender does from what the catalogue's geometry does;
- ``greedy (no learning)``: the best item for the user's observed preference, a
  personalised recommender that learns nothing from feedback (reported, not tested: it
  shows how much of the amplification personalisation alone brings).

Two quantities follow each user's own class ``c``: their *affinity* for it,
``⟨ŝ_t, e_c⟩`` (the leaning itself), and its *share of their feed* (``class_share[c]``
split by the users' classes). The tests, on per-seed differences: the affinity grows
more under collaborative filtering than under random exposure, and the own class's share
of the feed over the last quarter of the run is larger under collaborative filtering than
under random.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym import UserModel, worlds
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
from recgym.presets.replication import Estimate, Panel, Replication

__all__ = ["PRESET", "kalimeris_2021"]


def _arms(settings: Mapping[str, Any]) -> tuple[Arm, ...]:
    return (
        Arm("collaborative filtering", "collaborative_filtering", dict(settings["recommender"])),
        Arm("random", "random"),
        Arm("greedy (no learning)", "greedy"),
    )


def _environment(settings: Mapping[str, Any], seed: int) -> PopulationEnv:
    dim, classes = settings["dim"], settings["classes"]
    rng = np.random.default_rng(seed)
    users = worlds.leaning_users(
        settings["users"], dim=dim, n_classes=classes, leaning=settings["leaning"], rng=rng
    )
    items = worlds.item_classes(
        settings["items"], n_classes=classes, dim=dim, kappa=settings["kappa"], rng=rng
    )
    return PopulationEnv(
        n_users=settings["users"],
        n_items=settings["items"],
        user_feature_dim=dim,
        item_feature_dim=dim,
        user_feature_vector=users.features,
        item_feature_vector=items.features,
        user_groups=users.groups,
        item_groups=items.groups,
        feature_normalization="row",
        step_per_episode=settings["steps"],
        obs_std=settings["obs_std"],
        reward_std=settings["reward_std"],
        UserModel=UserModel(dim, dim, reward_std=settings["reward_std"], alpha=settings["alpha"]),
        random_state=seed,
    )


def _options(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "metrics": ["class_share", "reward", "mean_reward"],
        "every": settings["every"],
        "record": ["states"],
    }


def _measure(
    settings: Mapping[str, Any], history: History, env: PopulationEnv
) -> dict[str, NDArray[np.float64]]:
    """Each user's affinity and feed share for their own class, averaged over users.

    ``class_affinity``: ``(1/N) Σᵢ ⟨ŝᵢ,t, e_cᵢ⟩`` with ``cᵢ`` the class user ``i`` leans
    toward (the axis of :func:`~recgym.worlds.leaning_users`); ``own_class_share``: the
    share of the user's own class in their feed, ``Σ_c (N_c/N) class_share[c][c]``.
    """
    groups = np.asarray(env.config.user_groups)
    states = history.trajectory["states"][history.steps]  # (K, N, d)
    norms = np.linalg.norm(states, axis=-1)
    affinity = states[:, np.arange(groups.size), groups] / norms
    sizes = np.bincount(groups) / groups.size
    share = sum(
        size * history.metrics[f"class_share[{c}][{c}]"] for c, size in enumerate(sizes.tolist())
    )
    return {"class_affinity": affinity.mean(axis=1), "own_class_share": np.asarray(share)}


def _analyse(runs: Runs) -> Findings:
    trained, control = runs.arms[0].label, runs.arms[1].label
    steps = runs.settings["steps"]
    after = f"after {steps} steps"

    def gain(label: str) -> NDArray[np.float64]:
        affinity = runs.series(label, "class_affinity")
        return affinity[:, -1] - affinity[:, 0]

    # The feed's share over the last quarter of the run: one step's share of N feeds has
    # a sampling noise of about 0.5/√N, which the window averages out.
    tail = runs.steps > 0.75 * steps
    first = int(np.flatnonzero(tail)[0])

    def late_share(label: str) -> NDArray[np.float64]:
        return runs.series(label, "own_class_share")[:, tail].mean(axis=1)

    window = f"over steps {runs.steps[first]}–{steps}"

    estimates = (
        difference(
            "affinity_gain_trained_minus_random",
            f"gain in affinity for the own class over {steps} steps, {trained} minus {control}",
            gain(trained),
            gain(control),
            expected="> 0",
        ),
        difference(
            "own_class_share_trained_minus_random",
            f"own class's share of the feed {window}, {trained} minus {control}",
            late_share(trained),
            late_share(control),
            expected="> 0",
        ),
        Estimate(
            "class_affinity_initial",
            "affinity for the own class at step 0 (every arm)",
            tuple(runs.series(trained, "class_affinity")[:, 0].tolist()),
        ),
        *per_arm(runs, "class_affinity", f"affinity for the own class {after}"),
        *(
            Estimate(
                f"own_class_share_late_{label_key(arm.label)}",
                f"own class's share of the feed {window}, {arm.label}",
                tuple(late_share(arm.label).tolist()),
            )
            for arm in runs.arms
        ),
        *per_arm(runs, "mean_reward", "mean reward over the run"),
    )
    panels = (
        Panel(
            "class_affinity",
            "preference",
            "mean affinity ⟨ŝ, e_c⟩ for the own class",
            "cosine",
            (-1.0, 1.0),
        ),
        Panel(
            "own_class_share",
            "feed",
            "own class's share of the feed",
            "fraction",
            (0.0, 1.0),
        ),
        Panel("reward", "reward", "mean reward ⟨s, v⟩ + noise at the step", "", (-1.5, 1.5)),
    )
    curves = tuple(curve for panel in panels for curve in runs.curves(panel.key))
    return Findings(estimates, panels, curves)


def _caption(settings: Mapping[str, Any]) -> str:
    fit = settings["recommender"]
    return (
        f"{settings['users']:,} users in R^{settings['dim']} leaning λ = {settings['leaning']:g} "
        f"toward one of {settings['classes']} item classes, {settings['items']} items "
        f"(von Mises–Fisher κ = {settings['kappa']:g} around each class axis), biased "
        f"assimilation α = {settings['alpha']:g}, observation and reward noise "
        f"{settings['obs_std']:g} and {settings['reward_std']:g}, collaborative filtering "
        f"refitted every {fit['refit_every']} steps with ε = {fit['epsilon']:g}, "
        f"{settings['steps']} steps"
    )


_SMALL = {
    "users": 1000,
    "items": 100,
    "dim": 5,
    "classes": 2,
    "leaning": 0.1,
    "kappa": 10.0,
    "population": "leaning_users: uniform on the sphere, pushed by `leaning` toward e_c",
    "catalogue": "item_classes: von Mises-Fisher(kappa) around e_0 and e_1",
    "alpha": 0.1,
    "obs_std": 0.1,
    "reward_std": 0.1,
    "recommender": {"rank": 6, "refit_every": 10, "epsilon": 0.1},
    "steps": 100,
    "every": 2,
}

#: The preset: Kalimeris, Bhagat, Kalyanaraman & Weinsberg (2021), "Preference
#: amplification in recommender systems".
PRESET = Preset(
    name="kalimeris_2021",
    paper=Paper(
        authors="Kalimeris et al.",
        year=2021,
        title="Preference amplification in recommender systems",
        venue="ACM SIGKDD Conference on Knowledge Discovery and Data Mining (KDD '21)",
        full_authors="Kalimeris, D., Bhagat, S., Kalyanaraman, S. & Weinsberg, U.",
    ),
    claim=(
        "Users with a slight initial leaning toward an item class see it amplified by a "
        "feedback-trained recommender: their preference and their feed move further toward "
        "that class than under recommendations that do not learn from them."
    ),
    scales={
        "small": _SMALL,
        "paper": {**_SMALL, "users": 10_000, "items": 200, "steps": 300, "every": 5},
    },
    arms=_arms,
    environment=_environment,
    options=_options,
    analyse=_analyse,
    measure=_measure,
    caption=_caption,
    seconds=5.0,
    page="docs/papers/kalimeris_2021.md",
)


def kalimeris_2021(
    *,
    seeds: int | None = None,
    scale: str = "small",
    base_seed: int = 0,
    progress: bool | None = None,
) -> Replication:
    """Replicate Kalimeris et al. (2021): a slight leaning amplified by the feedback loop.

    Users leaning slightly (``λ = 0.1``) toward one of two item classes in ``R^5``, under
    collaborative filtering trained on its own log and under random recommendations.
    ``scale="small"``: 1,000 users, 100 items, 100 steps; ``"paper"``: 10,000 users, 200
    items, 300 steps. See ``docs/papers/kalimeris_2021.md``.

    Args:
        seeds: How many seeds (default 5); seed ``i`` is ``base_seed + i``.
        scale: ``"small"`` (seconds) or ``"paper"``.
        base_seed: The first seed.
        progress: A progress bar on stderr: True, False, or None (on a terminal, after 2 s).

    Returns:
        Replication: Tests ``affinity_gain_trained_minus_random > 0`` and
        ``own_class_share_trained_minus_random > 0``; figure: affinity for the own class,
        the own class's share of the feed and reward against the step.

    Raises:
        TypeError, ValueError: On a bad argument (named in the message).
    """
    return PRESET.run(seeds=seeds, scale=scale, base_seed=base_seed, progress=progress)
