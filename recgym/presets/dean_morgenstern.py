"""Dean & Morgenstern (2022): personalised recommendations, polarisation and stationarity.

Sarah Dean and Jamie Morgenstern, "Preference dynamics under personalized
recommendations" (EC 2022), study users whose preferences ``u`` on the unit sphere move
by biased assimilation, ``u ← normalise(u + α⟨u, v⟩v)``: toward an item they like, away
from one they dislike. Without personalisation (*mass media*: everyone shown the same
items) such a population polarises onto two antipodal poles (Hązła et al. 2019; Gaitonde,
Kleinberg & Tardos 2021). Under personalised recommendations, maximising reward is nearly
trivial — a user shown the item they like best turns onto it — and the interesting
objective is *stationarity*: a randomised recommendation with probabilities ``p`` moves a
user in expectation by ``α (Σ pᵢ vᵢvᵢᵀ) u``, so preferences stay (approximately) put
when ``u`` is an eigenvector of that matrix, which some catalogues allow for every ``u``.

The replication runs three recommenders on one population and catalogue:

- ``greedy``: the item of highest observed affinity (reward maximisation);
- ``balanced``: Dean & Morgenstern's stationarity condition on the balanced catalogue
  ``±e₁ … ±e_d`` (:class:`BalancedAxesPolicy`): a uniformly random axis, with the sign
  the user likes, so ``Σ pᵢvᵢvᵢᵀ = I/d`` for every user;
- ``mass_media``: one random item for everybody (the non-personalised baseline).

It tests two directions, on per-seed differences (every arm of a seed starts from the same
users): greedy moves preferences further from where they started than the balanced
policy does (drift, radians), and brings them closer onto an item's axis
(``item_alignment``, the mean over users of ``max_j |cos(u, v_j)|``). Mass media's
polarisation of the population is reported with its interval, not tested: with
``α = 0.1`` and a shared random walk over the items it varies a lot between seeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym import UserModel, worlds
from recgym.population.env import PopulationEnv
from recgym.population.history import History
from recgym.population.policies import Decision, Policy
from recgym.population.policies.base import _Inputs
from recgym.presets.preset import Arm, Findings, Paper, Preset, Runs, difference, per_arm
from recgym.presets.replication import Panel, Replication

__all__ = ["PRESET", "BalancedAxesPolicy", "dean_morgenstern_2022"]


class BalancedAxesPolicy(Policy):
    """A random axis of the balanced catalogue, with the sign the user likes.

    For the catalogue ``±e₁ … ±e_d`` of
    :func:`recgym.worlds.balanced_catalogue` (item ``2i`` is ``+e_i``, item ``2i + 1`` is
    ``−e_i``): each step, every user gets an axis ``i`` drawn uniformly (``N`` integers
    from the policy's generator) and the item ``+e_i`` if their observed preference has
    ``oᵢ ≥ 0``, else ``−e_i``. The expected move of biased assimilation is
    ``α Σ pᵢ⟨u, vᵢ⟩vᵢ = α (Σ pᵢvᵢvᵢᵀ) u = (α/d) u`` whatever the signs, so every
    preference is a fixed direction in expectation (Dean & Morgenstern's stationarity
    condition), while the liked sign keeps the reward positive. Propensity ``1/d``: the
    axis is random, its sign a function of the observation.

    Args:
        slate_size: Must be 1.

    Raises:
        ValueError: At :meth:`reset`, if the catalogue is not ``±e₁ … ±e_d`` in that order.
    """

    name = "balanced_axes"

    def _on_reset(self) -> None:
        items = self._items
        assert items is not None  # reset binds the items before this hook
        dim = items.shape[1]
        expected = np.repeat(np.eye(dim), 2, axis=0) * np.tile([1.0, -1.0], dim)[:, None]
        if (
            self.slate_size != 1
            or items.shape != expected.shape
            or not np.array_equal(items, expected)
        ):
            raise ValueError(
                "`item_features` of balanced_axes must be the balanced catalogue "
                f"±e_1 … ±e_d (recgym.worlds.balanced_catalogue), got shape {items.shape}"
            )

    def _decide(self, inputs: _Inputs) -> Decision:
        """A uniformly random axis per user, with the sign of the user's observed preference.

        Args:
            inputs: The checked observations ``(N, d)`` (the states, utilities and
                availability are not used: the balanced catalogue never changes).

        Returns:
            Decision: int64 items ``(N,)`` and propensities ``1/d``.
        """
        n, dim = inputs.observations.shape
        axes = self._generator.integers(0, dim, size=n)
        negative = inputs.observations[np.arange(n), axes] < 0
        return Decision(2 * axes + negative, np.full(n, 1.0 / dim))


def _arms(settings: Mapping[str, Any]) -> tuple[Arm, ...]:
    return (
        Arm("greedy", "greedy"),
        Arm("balanced", BalancedAxesPolicy),
        Arm("mass media", "mass_media"),
    )


def _environment(settings: Mapping[str, Any], seed: int) -> PopulationEnv:
    dim = settings["dim"]
    users = worlds.grouped_users([settings["users"]], kappa=0.0, dim=dim, rng=seed)
    items = worlds.balanced_catalogue(dim)
    return PopulationEnv(
        n_users=settings["users"],
        n_items=2 * dim,
        user_feature_dim=dim,
        item_feature_dim=dim,
        user_feature_vector=users.features,
        item_feature_vector=items.features,
        feature_normalization="row",
        step_per_episode=settings["steps"],
        obs_std=settings["obs_std"],
        reward_std=settings["reward_std"],
        UserModel=UserModel(dim, dim, reward_std=settings["reward_std"], alpha=settings["alpha"]),
        random_state=seed,
    )


def _options(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "metrics": ["drift", "polarization", "reward", "mean_reward"],
        "every": settings["every"],
        "record": ["states"],
    }


def _measure(
    settings: Mapping[str, Any], history: History, env: PopulationEnv
) -> dict[str, NDArray[np.float64]]:
    """``item_alignment``: the mean over users of ``max_j |cos(u, v_j)|`` at each record.

    1 when every user lies on the axis ``±v`` of an item (Dean & Morgenstern's Result:
    a user shown ``v`` again and again converges to ``±v``); with the balanced
    catalogue it is ``max_i |u_i|``, about 0.73 for users uniform on the sphere of ``R^5``.
    """
    states = history.trajectory["states"][history.steps]  # (K, N, d)
    units = states / np.linalg.norm(states, axis=-1, keepdims=True)
    cosines = np.abs(units @ env.item_features.T)  # (K, N, n_items): 2d items, small
    return {"item_alignment": cosines.max(axis=-1).mean(axis=-1)}


def _analyse(runs: Runs) -> Findings:
    steps = runs.settings["steps"]
    after = f"after {steps} steps"
    estimates = (
        difference(
            "drift_greedy_minus_balanced",
            f"drift {after}, greedy minus balanced",
            runs.final("greedy", "drift"),
            runs.final("balanced", "drift"),
            unit="rad",
            expected="> 0",
        ),
        difference(
            "item_alignment_greedy_minus_balanced",
            f"alignment with an item axis {after}, greedy minus balanced",
            runs.final("greedy", "item_alignment"),
            runs.final("balanced", "item_alignment"),
            expected="> 0",
        ),
        *per_arm(runs, "drift", f"drift {after}", unit="rad"),
        *per_arm(runs, "item_alignment", f"alignment with an item axis {after}"),
        *per_arm(runs, "polarization", f"polarisation {after}"),
        *per_arm(runs, "mean_reward", "mean reward over the run"),
    )
    panels = (
        Panel("drift", "drift", "mean angle from the initial preference", "rad", (0.0, np.pi)),
        Panel(
            "item_alignment",
            "onto an item",
            "mean over users of max_j |cos(u, v_j)|",
            "",
            (0.0, 1.0),
        ),
        Panel("polarization", "polarisation", "polarisation index S·(1 − P²)", "", (0.0, 1.0)),
        Panel("reward", "reward", "mean reward ⟨u, v⟩ + noise at the step", "", (-1.5, 1.5)),
    )
    curves = tuple(curve for panel in panels for curve in runs.curves(panel.key))
    return Findings(estimates, panels, curves)


def _caption(settings: Mapping[str, Any]) -> str:
    return (
        f"{settings['users']:,} users uniform on the unit sphere of R^{settings['dim']}, "
        f"the balanced catalogue ±e_1…±e_{settings['dim']} ({2 * settings['dim']} items), "
        f"biased assimilation α = {settings['alpha']:g}, observation and reward noise "
        f"{settings['obs_std']:g} and {settings['reward_std']:g}, {settings['steps']} steps"
    )


_SMALL = {
    "users": 1000,
    "dim": 5,
    "population": "uniform on the unit sphere",
    "catalogue": "balanced: ±e_1 … ±e_d",
    "alpha": 0.1,
    "obs_std": 0.1,
    "reward_std": 0.1,
    "steps": 200,
    "every": 5,
}

#: The preset: Dean & Morgenstern (2022), "Preference dynamics under personalized
#: recommendations".
PRESET = Preset(
    name="dean_morgenstern_2022",
    paper=Paper(
        authors="Dean & Morgenstern",
        year=2022,
        title="Preference dynamics under personalized recommendations",
        venue="ACM Conference on Economics and Computation (EC '22)",
        full_authors="Dean, S. & Morgenstern, J.",
    ),
    claim=(
        "Under biased assimilation, reward-maximising personalised recommendations turn each "
        "user onto an item, moving preferences further from where they started than a "
        "randomised recommendation meeting Dean & Morgenstern's stationarity condition does."
    ),
    scales={"small": _SMALL, "paper": {**_SMALL, "users": 10_000, "steps": 500, "every": 10}},
    arms=_arms,
    environment=_environment,
    options=_options,
    analyse=_analyse,
    measure=_measure,
    caption=_caption,
    seconds=4.0,
    page="docs/papers/dean_morgenstern_2022.md",
)


def dean_morgenstern_2022(
    *,
    seeds: int | None = None,
    scale: str = "small",
    base_seed: int = 0,
    progress: bool | None = None,
) -> Replication:
    """Replicate Dean & Morgenstern (2022): personalisation, polarisation and stationarity.

    Users uniform on the unit sphere of ``R^5`` move by biased assimilation
    ``u ← normalise(u + α⟨u, v⟩v)`` (``α = 0.1``) in the balanced catalogue ``±e₁ … ±e₅``,
    under three recommenders: greedy (reward maximisation on the observed preference),
    ``balanced`` (:class:`BalancedAxesPolicy`, Dean & Morgenstern's stationarity
    condition) and mass media. ``scale="small"``: 1,000 users, 200 steps;
    ``"paper"``: 10,000 users, 500 steps. See ``docs/papers/dean_morgenstern_2022.md``.

    Args:
        seeds: How many seeds (default 5); seed ``i`` is ``base_seed + i``.
        scale: ``"small"`` (seconds) or ``"paper"``.
        base_seed: The first seed.
        progress: A progress bar on stderr: True, False, or None (on a terminal, after 2 s).

    Returns:
        Replication: Tests ``drift_greedy_minus_balanced > 0`` and
        ``item_alignment_greedy_minus_balanced > 0``; figure: drift, alignment with an
        item axis, polarisation and reward against the step.

    Raises:
        TypeError, ValueError: On a bad argument (named in the message).

    Example:
        >>> from recgym.presets import dean_morgenstern_2022
        >>> result = dean_morgenstern_2022(seeds=3)
        >>> result.verdict, result.estimate("drift_greedy_minus_balanced").text()
        ('holds', '0.359 ± 0.018 rad')
    """
    return PRESET.run(seeds=seeds, scale=scale, base_seed=base_seed, progress=progress)
