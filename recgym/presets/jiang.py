"""Jiang et al. (2019): degenerate feedback loops, and exploration slowing them.

Ray Jiang, Silvia Chiappa, Tor Lattimore, András György and Pushmeet Kohli, "Degenerate
feedback loops in recommender systems" (AIES 2019), follow a user's interest in every
item, ``μ_t``, under a recommender that learns from the user's feedback. They call the
loop *degenerate* when ``‖μ_t − μ_0‖`` grows without bound, show that common recommenders
(an oracle, UCB, Thompson sampling) all end there under self-reinforcing interest
dynamics, only at different speeds, and that more (random) exploration and a larger
candidate pool slow the degeneracy down without stopping it.

In recgym a user's interest in item ``j`` is the affinity ``⟨s_t, v_j⟩``, so
``μ_t = V s_t`` and the degeneracy is the registry's ``degeneracy``,
``(1/N) Σᵢ ‖V(sᵢ,t − sᵢ,₀)‖``. Preferences move by biased assimilation and stay on the
unit sphere, so ``μ_t`` is bounded: it cannot diverge, and degeneracy shows as the user's
interest collapsing onto one item (the registry's ``collapse_time``: the step from which
the top-scored item stays the same). The replication runs the paper's two learners,
linear UCB and linear Thompson sampling (one ridge regression of the reward on the item
features per user, learned from the rewards alone), each at three exploration levels,
on one population, and tests two directions per learner on per-seed differences: its
most exploring level collapses later than its least exploring one, and its degeneracy
stays lower (the mean of ``degeneracy`` over the run).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recgym import UserModel
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
from recgym.presets.replication import Panel, Replication

__all__ = ["PRESET", "jiang_2019"]


#: The learners: registry name → (label, exploration parameter, its symbol).
_LEARNERS = {
    "linear_ucb": ("LinUCB", "alpha", "α"),
    "linear_thompson": ("Thompson", "scale", "σ"),
}


def _label(policy: str, value: float) -> str:
    """``"LinUCB α = 0.3"``: the learner and its exploration level."""
    learner, _, symbol = _LEARNERS[policy]
    return f"{learner} {symbol} = {value:g}"


def _arms(settings: Mapping[str, Any]) -> tuple[Arm, ...]:
    return tuple(
        Arm(_label(policy, value), policy, {_LEARNERS[policy][1]: value})
        for policy, values in settings["exploration"].items()
        for value in values
    )


def _environment(settings: Mapping[str, Any], seed: int) -> PopulationEnv:
    dim = settings["dim"]
    return PopulationEnv(
        n_users=settings["users"],
        n_items=settings["items"],
        user_feature_dim=dim,
        item_feature_dim=dim,
        feature_normalization="row",
        step_per_episode=settings["steps"],
        obs_std=settings["obs_std"],
        reward_std=settings["reward_std"],
        UserModel=UserModel(dim, dim, reward_std=settings["reward_std"], alpha=settings["alpha"]),
        random_state=seed,
    )


def _options(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "metrics": ["degeneracy", "collapse_time", "reward", "mean_reward"],
        "every": settings["every"],
    }


def _analyse(runs: Runs) -> Findings:
    steps = runs.settings["steps"]
    after = f"after {steps} steps"
    tests = []
    for policy, values in runs.settings["exploration"].items():
        least, most = _label(policy, min(values)), _label(policy, max(values))
        name = label_key(_LEARNERS[policy][0]).lower()
        tests += [
            difference(
                f"collapse_time_{name}_most_minus_least_exploring",
                f"collapse time {after}, {most} minus {least}",
                runs.final(most, "collapse_time"),
                runs.final(least, "collapse_time"),
                unit="steps",
                expected="> 0",
            ),
            difference(
                f"mean_degeneracy_{name}_least_minus_most_exploring",
                f"mean degeneracy over the run, {least} minus {most}",
                runs.series(least, "degeneracy").mean(axis=1),
                runs.series(most, "degeneracy").mean(axis=1),
                expected="> 0",
            ),
        ]
    estimates = (
        *tests,
        *per_arm(runs, "collapse_time", f"collapse time {after}", unit="steps"),
        *per_arm(runs, "degeneracy", f"degeneracy {after}"),
        *per_arm(runs, "mean_reward", "mean reward over the run"),
    )
    panels = (
        Panel(
            "degeneracy",
            "degeneracy",
            "mean over users of ‖V(s_t − s_0)‖",
            "",
            (0.0, float("inf")),
        ),
        Panel(
            "collapse_time",
            "collapse onto one item",
            "mean step the top item locks in",
            "steps",
            (0.0, float(steps)),
        ),
        Panel("reward", "reward", "mean reward ⟨s, v⟩ + noise at the step", "", (-1.5, 1.5)),
    )
    curves = tuple(curve for panel in panels for curve in runs.curves(panel.key))
    return Findings(estimates, panels, curves)


def _caption(settings: Mapping[str, Any]) -> str:
    levels = "; ".join(
        f"{_LEARNERS[policy][0]} {_LEARNERS[policy][2]} = {', '.join(f'{v:g}' for v in values)}"
        for policy, values in settings["exploration"].items()
    )
    return (
        f"{settings['users']:,} users and {settings['items']} items uniform in [−1, 1)^"
        f"{settings['dim']} normalised to unit length, biased assimilation "
        f"α = {settings['alpha']:g}, reward noise {settings['reward_std']:g}, learners "
        f"from the rewards alone ({levels}), {settings['steps']} steps"
    )


_SMALL = {
    "users": 1000,
    "items": 100,
    "dim": 8,
    "population": "users and items uniform in [-1, 1)^d, normalised to unit length",
    "alpha": 0.1,
    "obs_std": 0.0,
    "reward_std": 0.1,
    "exploration": {"linear_ucb": [0.3, 1.0, 3.0], "linear_thompson": [0.3, 1.0, 3.0]},
    "steps": 100,
    "every": 2,
}

#: The preset: Jiang, Chiappa, Lattimore, György & Kohli (2019), "Degenerate feedback loops
#: in recommender systems".
PRESET = Preset(
    name="jiang_2019",
    paper=Paper(
        authors="Jiang et al.",
        year=2019,
        title="Degenerate feedback loops in recommender systems",
        venue="AAAI/ACM Conference on AI, Ethics, and Society (AIES '19)",
        full_authors="Jiang, R., Chiappa, S., Lattimore, T., György, A. & Kohli, P.",
    ),
    claim=(
        "Under a recommender's feedback loop users' interests degenerate, collapsing onto "
        "what they are shown, and more exploration slows the degeneracy down."
    ),
    scales={
        "small": _SMALL,
        "paper": {**_SMALL, "users": 10_000, "steps": 200, "every": 5},
    },
    arms=_arms,
    environment=_environment,
    options=_options,
    analyse=_analyse,
    caption=_caption,
    seconds=10.0,
    page="docs/papers/jiang_2019.md",
)


def jiang_2019(
    *,
    seeds: int | None = None,
    scale: str = "small",
    base_seed: int = 0,
    progress: bool | None = None,
) -> Replication:
    """Replicate Jiang et al. (2019): degenerate feedback loops, slowed by exploration.

    Users and items on the unit sphere of ``R^8`` (biased assimilation, ``α = 0.1``) under
    linear UCB (``α = 0.3, 1, 3``) and linear Thompson sampling (``σ = 0.3, 1, 3``), one
    ridge regression per user learned from the rewards. ``scale="small"``: 1,000 users,
    100 items, 100 steps; ``"paper"``: 10,000 users, 100 items, 200 steps. See
    ``docs/papers/jiang_2019.md``.

    Args:
        seeds: How many seeds (default 5); seed ``i`` is ``base_seed + i``.
        scale: ``"small"`` (seconds) or ``"paper"``.
        base_seed: The first seed.
        progress: A progress bar on stderr: True, False, or None (on a terminal, after 2 s).

    Returns:
        Replication: Tests, for each learner, that its most exploring level collapses
        later (``collapse_time_<learner>_most_minus_least_exploring > 0``) and degenerates
        less (``mean_degeneracy_<learner>_least_minus_most_exploring > 0``); figure:
        degeneracy, collapse time and reward against the step.

    Raises:
        TypeError, ValueError: On a bad argument (named in the message).
    """
    return PRESET.run(seeds=seeds, scale=scale, base_seed=base_seed, progress=progress)
