"""The frame of every preset: a paper, its settings per scale, its arms, one run over seeds.

A :class:`Preset` declares what one paper's replication needs, and :meth:`Preset.run`
does the rest the same way for every paper: it checks the arguments, derives the seeds,
builds the population of each seed once, runs every arm (a recommender, :class:`Arm`) on
it with :func:`~recgym.population.simulate` — so within a seed every arm starts from the
same users and items, and differences between arms are paired — shows a progress bar,
hands the histories to the paper's analysis and returns a
:class:`~recgym.presets.Replication` with the settings, timing and recgym version.

Adding a paper is one module that defines its settings, arms, population and analysis,
and a ``PRESET = Preset(...)`` plus a public function that calls :meth:`Preset.run`
(see ``docs/papers/index.md``); then one line in the registry
(:data:`recgym.presets.PRESETS`).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym import __version__
from recgym._progress import Progress
from recgym._validation import check_choice, check_nonnegative_int, check_positive_int
from recgym.population.env import PopulationEnv
from recgym.population.history import History
from recgym.population.policies import Policy, make_policy, policy_parameters
from recgym.population.seeds import derive_seeds
from recgym.population.simulation import simulate
from recgym.presets.replication import Curve, Estimate, Panel, Replication

__all__ = [
    "SCALES",
    "Arm",
    "Findings",
    "Paper",
    "Preset",
    "Runs",
    "difference",
    "label_key",
    "per_arm",
]

#: The scales of every preset: ``"small"`` runs in seconds, ``"paper"`` near the paper's sizes.
SCALES = ("small", "paper")


@dataclass(frozen=True)
class Paper:
    """A paper, for citations.

    Attributes:
        authors: As cited in the text (``"Dean & Morgenstern"``, ``"Jiang et al."``).
        year: Year of publication.
        title: The title.
        venue: Where it appeared (``"EC 2022"``).
        full_authors: Every author, as in the reference list.
    """

    authors: str
    year: int
    title: str
    venue: str
    full_authors: str

    @property
    def citation(self) -> str:
        """``"Dean & Morgenstern (2022)"``."""
        return f"{self.authors} ({self.year})"

    @property
    def reference(self) -> str:
        """The full reference: authors (year). Title. Venue."""
        return f"{self.full_authors} ({self.year}). {self.title}. {self.venue}."


@dataclass(frozen=True)
class Arm:
    """One recommender of a replication: a label and the policy it runs.

    Attributes:
        label: The legend entry and the key of its histories (``"ε = 0.1"``).
        policy: A registered policy name (see
            :data:`~recgym.population.policies.POLICIES`) or a
            :class:`~recgym.population.policies.Policy` subclass.
        parameters: Keyword arguments of the policy's constructor.
    """

    label: str
    policy: str | type[Policy]
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @property
    def policy_name(self) -> str:
        """The policy's registry name (a class's :attr:`~Policy.name`)."""
        return self.policy if isinstance(self.policy, str) else self.policy.name

    def make(self) -> Policy:
        """A new policy, as this arm runs it."""
        if isinstance(self.policy, str):
            return make_policy(self.policy, **self.parameters)
        return self.policy(**self.parameters)

    def describe(self) -> dict[str, Any]:
        """``{"label", "policy", "parameters"}``: the policy's every constructor parameter.

        The defaults of the policy's constructor, overridden by :attr:`parameters`, so
        that the settings name everything that defines the run.
        """
        return {
            "label": self.label,
            "policy": self.policy_name,
            "parameters": policy_parameters(self.policy, **self.parameters),
        }


@dataclass(frozen=True, eq=False)
class Runs:
    """The histories of one replication, for its analysis.

    Attributes:
        settings: The scale's settings.
        seeds: The seeds, in order.
        arms: The arms, in order.
        histories: Arm label → one :class:`~recgym.population.History` per seed (without
            their trajectories, which the preset's ``measure`` read and released).
        measures: Arm label → per seed, what the preset's ``measure`` computed: quantity →
            float64 ``(K,)`` at the recorded steps (empty without a ``measure``).
        environments: The population of each seed (reset by the runs; its tables —
            ``item_features``, ``config.user_groups`` … — are the seed's world).
    """

    settings: Mapping[str, Any]
    seeds: tuple[int, ...]
    arms: tuple[Arm, ...]
    histories: Mapping[str, tuple[History, ...]]
    measures: Mapping[str, tuple[Mapping[str, NDArray[np.float64]], ...]]
    environments: tuple[PopulationEnv, ...]

    @property
    def steps(self) -> NDArray[np.int64]:
        """The recorded steps (the same for every run)."""
        return self.histories[self.arms[0].label][0].steps

    def series(self, label: str, name: str) -> NDArray[np.float64]:
        """Quantity ``name`` of arm ``label`` at every recorded step: ``(n_seeds, K)``.

        A quantity of the preset's ``measure`` if it computed one of that name, else the
        recorded metric (``"drift"``, ``"class_share[0][0]"`` …).
        """
        measured = self.measures.get(label, ())
        if measured and name in measured[0]:
            return np.array([values[name] for values in measured], dtype=np.float64)
        return np.array([h.metrics[name] for h in self.histories[label]], dtype=np.float64)

    def final(self, label: str, name: str) -> NDArray[np.float64]:
        """The last recorded value of ``name`` for arm ``label``: float64 ``(n_seeds,)``."""
        return self.series(label, name)[:, -1]

    def curves(self, panel: str, name: str | None = None) -> tuple[Curve, ...]:
        """One :class:`~recgym.presets.replication.Curve` per arm of quantity ``name``.

        Args:
            panel: The panel's key.
            name: The quantity (:meth:`series`; default ``panel``).
        """
        name = panel if name is None else name
        return tuple(
            Curve(panel, arm.label, self.steps, self.series(arm.label, name)) for arm in self.arms
        )


@dataclass(frozen=True)
class Findings:
    """What a paper's analysis makes of its runs.

    Attributes:
        estimates: The headline numbers (tests of the claim carry an expected sign).
        panels: The panels of the headline figure.
        curves: The curves drawn in them.
    """

    estimates: tuple[Estimate, ...]
    panels: tuple[Panel, ...]
    curves: tuple[Curve, ...]


@dataclass(frozen=True)
class Preset:
    """One paper's replication: its settings per scale, population, arms and analysis.

    Attributes:
        name: The registry name, ``<first author>_<year>`` (``"jiang_2019"``).
        paper: The paper.
        claim: The claim tested, in one sentence.
        scales: ``"small"`` and ``"paper"`` → the settings at that scale (JSON values).
        arms: Settings → the arms, in the figure's order.
        environment: ``(settings, seed)`` → the population of that seed.
        options: Settings → keyword arguments of
            :func:`~recgym.population.simulate` (``metrics``, ``every``, ``record`` …).
        analyse: ``(Runs)`` → :class:`Findings`.
        measure: Optional ``(settings, history, env)`` → quantity → float64 ``(K,)``: what
            to compute from one run before its recorded trajectory is released (for
            quantities no registry metric gives, from ``record=["states"]``).
        caption: Settings → the settings in one sentence (figure caption).
        seconds: Typical wall-clock seconds of ``recgym replicate NAME`` (the whole command:
            ``scale="small"``, the default seeds, the report written).
        default_seeds: Seeds when none are given.
        page: The preset's page in the documentation (``"docs/papers/jiang_2019.md"``).
    """

    name: str
    paper: Paper
    claim: str
    scales: Mapping[str, Mapping[str, Any]]
    arms: Callable[[Mapping[str, Any]], Sequence[Arm]]
    environment: Callable[[Mapping[str, Any], int], PopulationEnv]
    options: Callable[[Mapping[str, Any]], Mapping[str, Any]]
    analyse: Callable[[Runs], Findings]
    caption: Callable[[Mapping[str, Any]], str]
    seconds: float
    measure: (
        Callable[[Mapping[str, Any], History, PopulationEnv], Mapping[str, NDArray[np.float64]]]
        | None
    ) = None
    default_seeds: int = 5
    page: str = ""

    def __post_init__(self) -> None:
        if set(self.scales) != set(SCALES):
            raise ValueError(f"`scales` must give the settings of {list(SCALES)}")
        object.__setattr__(
            self,
            "scales",
            MappingProxyType(
                {scale: MappingProxyType(dict(self.scales[scale])) for scale in SCALES}
            ),
        )

    def settings(self, scale: str = "small") -> dict[str, Any]:
        """The settings of ``scale`` with the arms described, as JSON values.

        Raises:
            TypeError, ValueError: If ``scale`` is not one of :data:`SCALES`.
        """
        scale = check_choice(scale, "scale", SCALES)
        settings = dict(self.scales[scale])
        return {**settings, "arms": [arm.describe() for arm in self.arms(settings)]}

    def run(
        self,
        *,
        seeds: int | None = None,
        scale: str = "small",
        base_seed: int = 0,
        progress: bool | None = None,
    ) -> Replication:
        """Run every arm for every seed at ``scale`` and analyse the runs.

        Args:
            seeds: How many seeds (default :attr:`default_seeds`); seed ``i`` is
                ``base_seed + i``. Each seed draws its own population, catalogue, noise
                and policy randomness; every arm of a seed starts from the same population.
            scale: ``"small"`` (seconds) or ``"paper"`` (close to the paper's sizes).
            base_seed: The first seed, a non-negative integer.
            progress: A progress bar over the runs on stderr: True, False, or None for a
                bar on a terminal once the replication has run two seconds.

        Returns:
            Replication: Claim, settings, estimates with intervals, verdict, curves.

        Raises:
            TypeError: If an argument has the wrong type.
            ValueError: If an argument has a wrong value.
        """
        chosen = self.seed_list(seeds, base_seed)
        scale = check_choice(scale, "scale", SCALES)
        if progress is not None and not isinstance(progress, (bool, np.bool_)):
            raise TypeError(f"`progress` must be a bool or None, got {progress!r}")
        start = time.perf_counter()
        settings = self.scales[scale]
        arms = tuple(self.arms(settings))
        options = dict(self.options(settings))
        show = sys.stderr.isatty() if progress is None else bool(progress)
        bar = Progress(
            len(chosen) * len(arms),
            f"recgym replicate {self.name}",
            enabled=show,
            unit="run",
            delay=2.0 if progress is None else 0.0,
        )
        histories: dict[str, list[History]] = {arm.label: [] for arm in arms}
        measures: dict[str, list[Mapping[str, NDArray[np.float64]]]] = {
            arm.label: [] for arm in arms
        }
        environments = []
        with bar:
            for index, seed in enumerate(chosen):
                env = self.environment(settings, seed)
                environments.append(env)
                for number, arm in enumerate(arms, start=1):
                    history = simulate(env, arm.make(), seed=seed, progress=progress, **options)
                    if self.measure is not None:
                        measures[arm.label].append(dict(self.measure(settings, history, env)))
                        history.trajectory.clear()  # measured: release its memory
                    histories[arm.label].append(history)
                    bar.update(index * len(arms) + number)
        runs = Runs(
            settings=settings,
            seeds=chosen,
            arms=arms,
            histories={label: tuple(runs) for label, runs in histories.items()},
            measures={label: tuple(values) for label, values in measures.items()},
            environments=tuple(environments),
        )
        findings = self.analyse(runs)
        return Replication(
            name=self.name,
            citation=self.paper.citation,
            reference=self.paper.reference,
            claim=self.claim,
            settings={
                "scale": scale,
                "seeds": list(chosen),
                "base_seed": chosen[0],
                **self.settings(scale),
            },
            estimates=findings.estimates,
            panels=findings.panels,
            curves=findings.curves,
            seeds=chosen,
            scale=scale,
            base_seed=chosen[0],
            seconds=time.perf_counter() - start,
            version=__version__,
            caption=self.caption(settings) + f"; {_seed_text(chosen)}",
        )

    def seed_list(self, seeds: Any, base_seed: Any) -> tuple[int, ...]:
        """The seeds of a run: ``base_seed, base_seed + 1, …`` (``seeds`` of them).

        Raises:
            TypeError: If ``seeds`` is not an integer or None, or ``base_seed`` not an integer.
            ValueError: If ``seeds`` is below 1 or ``base_seed`` negative.
        """
        count = self.default_seeds if seeds is None else check_positive_int(seeds, "seeds")
        return derive_seeds(check_nonnegative_int(base_seed, "base_seed"), count)


def _seed_text(seeds: Sequence[int]) -> str:
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    shown = f"{seeds[0]}–{seeds[-1]}" if len(seeds) > 2 else ", ".join(map(str, seeds))
    return f"{len(seeds)} seeds ({shown})"


def difference(
    name: str,
    description: str,
    first: np.ndarray,
    second: np.ndarray,
    *,
    unit: str = "",
    expected: str | None = None,
) -> Estimate:
    """The per-seed difference ``first − second`` as an :class:`Estimate`.

    Args:
        name: The estimate's name.
        description: What it is, in words.
        first: float ``(n_seeds,)``.
        second: float ``(n_seeds,)``, the same seeds in the same order (paired).
        unit: The unit of both.
        expected: The sign the claim predicts (``"> 0"``, ``"< 0"``) or None.
    """
    values = np.asarray(first, dtype=np.float64) - np.asarray(second, dtype=np.float64)
    return Estimate(name, description, tuple(values.tolist()), unit, expected)


def per_arm(runs: Runs, name: str, description: str, *, unit: str = "") -> tuple[Estimate, ...]:
    """One reported (not tested) estimate per arm: the last recorded value of ``name``.

    Named ``<name>_<arm label>`` (spaces and signs as underscores), described as
    ``"<description>, <arm label>"``.
    """
    return tuple(
        Estimate(
            f"{name}_{label_key(arm.label)}",
            f"{description}, {arm.label}",
            tuple(runs.final(arm.label, name).tolist()),
            unit,
        )
        for arm in runs.arms
    )


def label_key(label: str) -> str:
    """``label`` as part of a name, in ASCII (``"ε = 0.1"`` → ``"eps_0.1"``)."""
    text = label.replace("ε", "eps").replace("α", "alpha").replace("σ", "sigma")
    return re.sub(r"[^0-9A-Za-z.]+", "_", text).strip("_")
