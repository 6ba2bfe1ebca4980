"""``run_study``: compare recommendation policies on one population over several seeds.

This is ``recgym study``. Every policy runs on the same population for each seed
(seed ``i`` is ``seed + i``, see :func:`~recgym.population.seeds.derive_seeds`); each
run is saved as a :class:`~recgym.population.History` that records its whole
configuration, and the runs are summarised per policy as means over seeds with 95 %
Student-t intervals (:mod:`recgym.population.seeds`). The output folder receives a
report one can publish from: ``report.md`` (every setting, the provenance, a table of
means with intervals, the figures with captions and a metric glossary), the tables as
CSV, ``summary.json`` and the figures.

**Resuming.** An output folder belongs to one configuration, written in its
``study.json`` when the study starts. Rerunning into it reuses every saved run whose own
recorded configuration (settings, policy and parameters, seed, recgym version) is the one
asked for, so an interrupted study resumes where it stopped, and more policies or seeds
can be added later. A folder of other settings (another base seed included) is refused,
as is a non-empty folder that holds no study: results of different configurations are
never mixed, and nothing is silently replaced. A saved run that is damaged or holds
another run (another policy's file copied over this one's) is recomputed, with a note in
the log. A file that cannot be read for lack of permission is reported as an error,
never treated as damage. Temporary files left by a killed write are removed.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import re
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from recgym import __version__
from recgym._io import atomic_write
from recgym._progress import Progress
from recgym._validation import (
    check_choice,
    check_nonnegative_float,
    check_nonnegative_int,
    check_path,
    check_positive_int,
)
from recgym.population.env import PopulationEnv
from recgym.population.history import History, write_metrics_csv
from recgym.population.policies import POLICIES, POLICY_ALIASES, Policy, make_policy
from recgym.population.report import estimates_table, glossary
from recgym.population.seeds import (
    SeedSummary,
    derive_seeds,
    summarize,
    write_finals_csv,
    write_intervals_csv,
)
from recgym.population.simulation import DEFAULT_METRICS, simulate
from recgym.user_model import UserModel

__all__ = [
    "CONFIDENCE",
    "MANIFEST",
    "SUMMARY_COLUMNS",
    "StudyConfig",
    "StudyFolderError",
    "run_study",
    "summary_table",
]

#: Columns of the printed summary table and of the report's results table, in order.
SUMMARY_COLUMNS = (
    "mean_reward",
    "homogenization",
    "polarization",
    "drift",
    "gini",
    "coverage",
    "jaccard_nn",
)

#: The file that says which configuration an output folder holds.
MANIFEST = "study.json"
_MANIFEST_FORMAT = "recgym.study"
_LOCK = ".recgym-study.lock"
#: Temporary files of :func:`recgym._io.atomic_write`: ``.<name>.<uuid4 hex>[suffix].tmp``.
_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{32}(\.[A-Za-z0-9]+)?\.tmp$")
#: The confidence of the report's intervals.
CONFIDENCE = 0.95
PERCENT = f"{CONFIDENCE * 100:.0f} %"


class StudyFolderError(ValueError):
    """The output folder of a study holds something the study must not touch.

    Another configuration's results, files that are not a study's, a damaged
    ``study.json``, or another study running in it. The message says what was found
    and what to do.
    """


@dataclass(frozen=True)
class StudyConfig:
    """The population and runs of a study; the defaults are ``recgym study``'s.

    Attributes:
        users: Number of users.
        items: Number of items.
        dim: Feature dimension of users and items.
        steps: Steps per run (the horizon).
        policies: Policy names (see :data:`~recgym.population.policies.POLICIES`); the
            former names of :data:`~recgym.population.policies.POLICY_ALIASES` (``"cf"``,
            ``"oracle"``) are replaced by the registry names.
        seed: The base seed; the runs use seeds ``seed, seed + 1, …``. Each seed draws
            its own features, users, noise and policy randomness; all policies of one
            seed start from the same population.
        seeds: How many seeds (at least 2 for confidence intervals).
        alpha: Step size ``α`` of the preference dynamics
            ``s ← normalise(s + α⟨s, v⟩v)``.
        feature_normalization: ``"row"`` (every user and item vector on the unit sphere,
            Dean & Morgenstern's setting) or ``"spectral"`` (the original RECGym's).
        obs_std: Observation noise: policies see ``clip(s + obs_std·ε, -1, 1)``.
        reward_std: Continuous reward noise: the reward is ``⟨s, v⟩ + reward_std·ξ``.
        every: Record the metrics every this many steps (and at the last step).
    """

    users: int = 10_000
    items: int = 200
    dim: int = 8
    steps: int = 100
    policies: tuple[str, ...] = tuple(POLICIES)
    seed: int = 0
    seeds: int = 3
    alpha: float = 1.0
    feature_normalization: str = "row"
    obs_std: float = 0.1
    reward_std: float = 0.1
    every: int = 2

    def __post_init__(self) -> None:
        for name in ("users", "items", "dim", "steps", "seeds", "every"):
            check_positive_int(getattr(self, name), name)
        # An integer: a study resumes from saved histories only if it is reproducible.
        check_nonnegative_int(self.seed, "seed")
        for name in ("alpha", "obs_std", "reward_std"):
            object.__setattr__(self, name, check_nonnegative_float(getattr(self, name), name))
        check_choice(self.feature_normalization, "feature_normalization", ("row", "spectral"))
        policies = self.policies
        if isinstance(policies, str) or not isinstance(policies, Sequence):
            raise TypeError(f"`policies` must be a tuple of policy names, got {policies!r}")
        if not policies:
            raise ValueError("`policies` must name at least one policy, got none")
        for name in policies:
            if not isinstance(name, str):
                raise TypeError(f"`policies` must hold names from {sorted(POLICIES)}, got {name!r}")
        unknown = [name for name in policies if name not in POLICIES and name not in POLICY_ALIASES]
        if unknown:
            raise ValueError(
                f"`policies` must hold names from {sorted(POLICIES)}, got {unknown[0]!r}"
            )
        policies = tuple(POLICY_ALIASES.get(name, name) for name in policies)
        repeated = [name for i, name in enumerate(policies) if name in policies[:i]]
        if repeated:
            raise ValueError(f"`policies` must name each policy once, got {repeated[0]!r} twice")
        object.__setattr__(self, "policies", tuple(policies))  # frozen: one canonical type

    @property
    def seed_list(self) -> tuple[int, ...]:
        """The seeds of the runs: ``seed, seed + 1, …, seed + seeds − 1``."""
        return derive_seeds(self.seed, self.seeds)

    def policy_arguments(self, name: str) -> dict[str, Any]:
        """The keyword arguments the study gives policy ``name`` (beyond its defaults).

        The exposure cap lets each item reach at most 25 % more than its fair share of
        users per step (``max_share = 1.25 / items``). It binds: at the default size it
        lowers the exposure Gini from greedy's 0.16 to 0.12 at the same mean reward (a
        cap of twice the fair share barely binds there and is indistinguishable from
        greedy).
        """
        if name == "exposure_capped":
            return {"max_share": min(1.0, 1.25 / self.items)}
        return {}

    def policy_parameters(self, name: str) -> dict[str, Any]:
        """Every constructor parameter of policy ``name`` in this study, defaults included.

        What the report lists and each saved run records: the defaults of the policy's
        constructor, overridden by :meth:`policy_arguments`.
        """
        import inspect

        signature = inspect.signature(POLICIES[name].__init__)
        parameters = {
            key: parameter.default
            for key, parameter in signature.parameters.items()
            if key != "self"
            and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
            and parameter.default is not parameter.empty
        }
        return {**parameters, **self.policy_arguments(name)}

    def make_policy(self, name: str) -> Policy:
        """Policy ``name`` as this study runs it."""
        return make_policy(name, **self.policy_arguments(name))

    def make_env(self, seed: int | None = None) -> PopulationEnv:
        """The study's population for ``seed`` (default: the base seed).

        The features, the users' initial preferences and the noise are drawn from
        ``seed``; ``reward_type`` is continuous.
        """
        seed = self.seed if seed is None else check_nonnegative_int(seed, "seed")
        return PopulationEnv(
            n_users=self.users,
            n_items=self.items,
            user_feature_dim=self.dim,
            item_feature_dim=self.dim,
            step_per_episode=self.steps,
            obs_std=self.obs_std,
            reward_std=self.reward_std,
            feature_normalization=self.feature_normalization,
            UserModel=UserModel(
                user_feature_dim=self.dim,
                item_feature_dim=self.dim,
                reward_std=self.reward_std,
                alpha=self.alpha,
            ),
            random_state=seed,
        )

    def settings(self) -> dict[str, Any]:
        """Every field, as JSON types (the policies as a list)."""
        return {**asdict(self), "policies": list(self.policies)}

    def identity(self) -> dict[str, Any]:
        """What defines the results of an output folder, and is recorded in each run.

        Every setting but the policies and the number of seeds (which a rerun may
        change), and the recgym version.
        """
        settings = self.settings()
        del settings["policies"], settings["seeds"]
        return {**settings, "recgym_version": __version__}

    def command(self) -> str:
        """The ``recgym study`` command line that runs this study."""
        return (
            f"recgym study --users {self.users} --items {self.items} --dim {self.dim} "
            f"--steps {self.steps} --alpha {self.alpha:g} "
            f"--normalization {self.feature_normalization} --obs-std {self.obs_std:g} "
            f"--reward-std {self.reward_std:g} --every {self.every} --seed {self.seed} "
            f"--seeds {self.seeds} --policies {','.join(self.policies)}"
        )


# ------------------------------------------------------------------------------ run


def run_study(
    config: StudyConfig,
    out: str | os.PathLike[str],
    *,
    log: TextIO | None = None,
    progress: bool | None = None,
) -> dict[str, SeedSummary]:
    """Run every policy of ``config`` for every seed and write a report folder.

    The folder receives ``report.md`` (settings, provenance, results with 95 %
    intervals, figures with captions, glossary), ``metrics.csv`` (every recorded metric
    of every run: one row per policy, seed and step), ``intervals.csv`` (the tidy table
    of means and intervals per policy, metric and step), ``finals.csv`` (final values per
    policy, metric and seed), ``summary.json`` (the same provenance, settings and
    results; undefined values are ``null``), ``study.json`` (the folder's
    configuration), ``histories/<policy>/seed-<seed>.npz`` (each run, loadable with
    :meth:`History.load`) and, with matplotlib, ``metrics.png``,
    ``reward_diversity.png``, ``preferences.png`` and ``exposure.png``. Every file is
    written atomically. See the module's documentation for how a rerun resumes.

    Args:
        config: The study.
        out: Output folder (created if missing).
        log: Where to print progress lines and the summary table (None: silent).
        progress: A progress bar over the runs on stderr: True, False, or None (the
            default) for a bar on a terminal once the study has run two seconds. Passed
            on to :func:`~recgym.population.simulate` for per-run bars.

    Returns:
        dict: Policy name → its :class:`~recgym.population.seeds.SeedSummary` (with the
        histories of every seed).

    Raises:
        TypeError: If ``config`` is not a :class:`StudyConfig`, ``out`` not a path,
            ``log`` not a text stream or ``progress`` not a bool or None.
        ValueError: If ``out`` is empty.
        StudyFolderError: (a ValueError) If ``out`` holds another configuration's study,
            files that are not a study's, a damaged ``study.json``, or a running study.
        OSError: If a file cannot be read or written (``PermissionError`` included).
    """
    if not isinstance(config, StudyConfig):
        raise TypeError(f"`config` must be a StudyConfig, got {type(config).__name__}")
    if log is not None and not callable(getattr(log, "write", None)):
        raise TypeError(f"`log` must be a text stream (with a write method) or None, got {log!r}")
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"`progress` must be a bool or None, got {progress!r}")
    out = Path(_check_out(out))
    identity = config.identity()
    runs = [(seed, name) for seed in config.seed_list for name in config.policies]
    show = sys.stderr.isatty() if progress is None else bool(progress)
    bar = Progress(
        len(runs), "recgym study", enabled=show, unit="run", delay=2.0 if progress is None else 0
    )
    say = _Printer(log, bar)
    with _open_folder(out, identity, say), bar:
        histories: dict[str, list[History]] = {name: [] for name in config.policies}
        seconds: dict[str, list[float]] = {name: [] for name in config.policies}
        width = _name_width(config.policies)
        env: PopulationEnv | None = None
        for done, (seed, name) in enumerate(runs, start=1):
            label = f"{name:>{width}} seed {seed}"
            path = out / "histories" / name / f"seed-{seed}.npz"
            parameters = config.policy_parameters(name)
            history = _load_run(path, name, seed, parameters, identity, label, say)
            if history is None:
                if env is None or env.config.random_state != seed:
                    env = config.make_env(seed)
                start = time.perf_counter()
                history = simulate(
                    env,
                    config.make_policy(name),
                    seed=seed,
                    metrics=DEFAULT_METRICS,
                    every=config.every,
                    progress=progress,
                )
                elapsed = time.perf_counter() - start
                history.metadata.update(
                    study=identity,
                    policy_parameters=parameters,
                    recgym_version=__version__,
                    seconds=elapsed,
                )
                history.save(path)
                say(f"{label}: {config.steps} steps in {elapsed:.2f}s")
            histories[name].append(history)
            seconds[name].append(float(history.metadata.get("seconds", math.nan)))
            bar.update(done)
        summaries = {name: summarize(runs_, CONFIDENCE) for name, runs_ in histories.items()}
        _write_outputs(out, config, summaries, seconds, say)
    say(summary_table(summaries))
    return summaries


def _check_out(out: Any) -> str | os.PathLike[str]:
    check_path(out, "out")
    if not os.fspath(out).strip():
        raise ValueError(
            f"`out` must name a folder, got {os.fspath(out)!r} (an empty path would write "
            "into the current folder)"
        )
    return out


class _Printer:
    """Print log lines to ``log`` (None: nowhere) without tearing the progress bar."""

    def __init__(self, log: TextIO | None, bar: Progress) -> None:
        self.log, self.bar = log, bar

    def __call__(self, text: str) -> None:
        if self.log is not None:
            self.bar.write(text, self.log)


# ---------------------------------------------------------------------- the folder


@contextlib.contextmanager
def _open_folder(out: Path, identity: Mapping[str, Any], say: _Printer) -> Iterator[None]:
    """Check that ``out`` may receive this study, hold its lock, clean it, mark it.

    Read-only checks come first, so a refused folder is left exactly as it was.
    """
    manifest = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise StudyFolderError(
            f"output folder '{out}' is a file, not a folder: choose another --out"
        )
    if out.is_dir():
        if manifest.is_file():
            _check_manifest(manifest, out, identity)
        else:
            foreign = sorted(
                path.name
                for path in out.iterdir()
                if path.name != _LOCK and not _TEMPORARY.match(path.name)
            )
            if foreign and {"summary.json", "histories"} & set(foreign):
                raise StudyFolderError(
                    f"output folder '{out}' holds a study written by an earlier recgym "
                    f"(no {MANIFEST}), whose settings cannot be checked: choose another "
                    "--out, or delete the folder to start over"
                )
            if foreign:
                shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
                raise StudyFolderError(
                    f"output folder '{out}' is not empty ({shown}) and holds no recgym study "
                    f"(no {MANIFEST}): choose a new or empty folder with --out"
                )
    out.mkdir(parents=True, exist_ok=True)
    with _lock(out):
        removed = _remove_temporary(out)
        if removed:
            say(
                f"removed {len(removed)} temporary file(s) of an interrupted write: "
                + ", ".join(str(path.relative_to(out)) for path in removed)
            )
        if not manifest.is_file():
            text = json.dumps(
                {"format": _MANIFEST_FORMAT, "version": 1, "identity": dict(identity)}, indent=2
            )
            atomic_write(manifest, lambda tmp: Path(tmp).write_text(text + "\n"))
        yield


def _check_manifest(manifest: Path, out: Path, identity: Mapping[str, Any]) -> None:
    text = manifest.read_text()  # a PermissionError is reported as such by the caller
    try:
        found = json.loads(text)
        if found.get("format") != _MANIFEST_FORMAT or not isinstance(found.get("identity"), dict):
            raise ValueError("not a recgym study manifest")
    except (ValueError, AttributeError) as error:
        raise StudyFolderError(
            f"output folder '{out}' has a damaged {MANIFEST} ({error}); recgym cannot tell "
            "which configuration its results belong to: choose another --out, or delete "
            "the folder to start over"
        ) from None
    differences = _differences(found["identity"], identity)
    if differences:
        raise StudyFolderError(
            f"output folder '{out}' holds a study of other settings ("
            + "; ".join(f"{key}: {there} there, {here} here" for key, there, here in differences)
            + "); recgym never mixes results of different settings: choose another --out, "
            "or delete the folder to start over"
        )


def _differences(
    found: Mapping[str, Any], expected: Mapping[str, Any]
) -> list[tuple[str, Any, Any]]:
    """``(key, found value, expected value)`` for every key where the two differ."""
    missing = object()
    keys = list(dict.fromkeys([*expected, *found]))
    return [
        (key, _shown(found.get(key, missing)), _shown(expected.get(key, missing)))
        for key in keys
        if found.get(key, missing) != expected.get(key, missing)
    ]


def _shown(value: Any) -> str:
    return (
        "(none)"
        if not isinstance(value, (str, int, float, dict, list, type(None)))
        else (repr(value) if isinstance(value, str) else json.dumps(value))
    )


@contextlib.contextmanager
def _lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out`` (POSIX): two studies never write one folder."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    descriptor = os.open(out / _LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StudyFolderError(
                f"output folder '{out}' is in use by another recgym study: wait for it to "
                "finish, or choose another --out"
            ) from None
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _remove_temporary(out: Path) -> list[Path]:
    """Delete the temporary files of interrupted writes in ``out`` and its histories."""
    folders = [out]
    histories = out / "histories"
    if histories.is_dir():
        folders += [histories, *(path for path in histories.iterdir() if path.is_dir())]
    removed = []
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.is_file() and _TEMPORARY.match(path.name):
                path.unlink()
                removed.append(path)
    return removed


def _load_run(
    path: Path,
    name: str,
    seed: int,
    parameters: Mapping[str, Any],
    identity: Mapping[str, Any],
    label: str,
    say: _Printer,
) -> History | None:
    """The saved run at ``path`` if it is exactly this run, else None (with a note).

    A missing file is None; a damaged or foreign file, or a run of another
    configuration, is None with the reason printed. An ``OSError`` other than a missing
    file (a ``PermissionError``) propagates: it is reported, never overwritten.
    """
    if not path.exists():
        return None
    try:
        history = History.load(path)
    except ValueError as error:
        say(f"{label}: recomputing: {error}")
        return None
    # The run's own keys have names that no setting has (the settings' "seed" is the base).
    found = {
        "policy": history.policy,
        "run seed": history.metadata.get("seed"),
        "policy parameters": history.metadata.get("policy_parameters"),
        **(history.metadata.get("study") or {}),
    }
    expected = {
        "policy": name,
        "run seed": seed,
        "policy parameters": dict(parameters),
        **identity,
    }
    differences = _differences(found, expected)
    if differences:
        say(
            f"{label}: recomputing: {path} holds another run ("
            + "; ".join(f"{key} {there}, not {here}" for key, there, here in differences)
            + ")"
        )
        return None
    say(f"{label}: reused {path}")
    return history


# --------------------------------------------------------------------------- outputs


def _write_outputs(
    out: Path,
    config: StudyConfig,
    summaries: Mapping[str, SeedSummary],
    seconds: Mapping[str, list[float]],
    say: _Printer,
) -> None:
    """Every file of the report but the histories."""
    every_run = [history for summary in summaries.values() for history in summary.histories]
    write_metrics_csv(out / "metrics.csv", every_run, metadata_columns=("seed",))
    write_intervals_csv(out / "intervals.csv", list(summaries.values()))
    write_finals_csv(out / "finals.csv", list(summaries.values()))
    provenance = _provenance()
    figures, skipped = _write_figures(out, config, summaries)
    if skipped:
        say(f"figures skipped: {skipped}")
    summary = {
        "format": "recgym.study.summary",
        "version": 2,
        "provenance": provenance,
        "command": config.command(),
        "config": config.settings(),
        "seeds": list(config.seed_list),
        "policy_parameters": {name: config.policy_parameters(name) for name in summaries},
        "confidence": CONFIDENCE,
        "interval": "Student t over seeds: mean ± t((1 + confidence)/2, n − 1) · s / √n",
        "final": {
            name: {
                metric: dict(
                    zip(("mean", "ci_low", "ci_high"), summary.final_interval(metric)),
                    per_seed=summary.final[metric].tolist(),
                )
                for metric in summary.final
            }
            for name, summary in summaries.items()
        },
        "seconds": dict(seconds),
        "files": {
            "report": "report.md",
            "metrics": "metrics.csv",
            "intervals": "intervals.csv",
            "finals": "finals.csv",
            "figures": [file for file, _, _ in figures],
        },
    }
    text = json.dumps(_json_safe(summary), indent=2, ensure_ascii=False)
    atomic_write(out / "summary.json", lambda tmp: Path(tmp).write_text(text + "\n"))
    report = _report(config, summaries, provenance, figures, skipped, seconds)
    atomic_write(out / "report.md", lambda tmp: Path(tmp).write_text(report, encoding="utf-8"))


def _provenance() -> dict[str, str]:
    return {
        "recgym_version": __version__,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(terse=True),
    }


def _json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (strict JSON: null)."""
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _settings_sentence(config: StudyConfig) -> str:
    """The settings in one sentence, for the captions."""
    seeds = config.seed_list
    return (
        f"{config.users:,} users, {config.items} items, d = {config.dim}, α = {config.alpha:g}, "
        f"{config.feature_normalization}-normalised features, observation noise "
        f"{config.obs_std:g}, reward noise {config.reward_std:g}, {config.steps} steps, "
        f"metrics every {config.every} steps, "
        + (f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds ({_seed_range(seeds)})")
    )


def _seed_range(seeds: Sequence[int]) -> str:
    return f"{seeds[0]}–{seeds[-1]}" if len(seeds) > 2 else ", ".join(map(str, seeds))


def _write_figures(
    out: Path, config: StudyConfig, summaries: Mapping[str, SeedSummary]
) -> tuple[list[tuple[str, str, str]], str | None]:
    """Draw the figures: ``([(file, alt text, caption)], None)`` or ``([], why skipped)``."""
    try:
        from recgym.population.plots import (
            plot_exposure,
            plot_metric_intervals,
            plot_preference_scatter,
            plot_reward_diversity,
        )

        values = list(summaries.values())
        first = [summary.histories[0] for summary in values]
        every_run = [history for summary in values for history in summary.histories]
        plot_metric_intervals(values, list(DEFAULT_METRICS), path=out / "metrics.png")
        plot_reward_diversity(values, path=out / "reward_diversity.png")
        plot_preference_scatter(first, path=out / "preferences.png")
        plot_exposure(every_run, path=out / "exposure.png")
    except ModuleNotFoundError as error:
        return [], str(error)
    settings = _settings_sentence(config)
    n = config.seeds
    band = (
        f"Lines: mean over the {n} seeds; shaded bands: {PERCENT} Student-t "
        "intervals of the mean, clipped to the metric's range."
        if n > 1
        else "One seed: no intervals."
    )
    first_seed = config.seed_list[0]
    return [
        (
            "metrics.png",
            "Every recorded metric against the step, one line per policy",
            f"Every recorded metric against the step. {band} Item metrics count the "
            f"cumulative exposure since step 0. Settings: {settings}.",
        ),
        (
            "reward_diversity.png",
            "Mean reward against final polarisation and against final exposure Gini, "
            "one point per policy",
            "The trade-off between reward and diversity: each policy's mean reward over the "
            "run against its polarisation (left) and its exposure Gini (right) at the last "
            "step. "
            + (
                f"Points: means over the {n} seeds; error bars: {PERCENT} Student-t intervals."
                if n > 1
                else "One seed: no error bars."
            )
            + f" Settings: {settings}.",
        ),
        (
            "preferences.png",
            "Preference directions at the start and at the end of each policy's run, "
            "on two shared principal axes",
            f"The users' preference directions (up to 3,000 users per panel) at the start "
            f"and after {config.steps} steps of each policy, seed {first_seed}. One "
            "principal-component projection is fitted on all panels together, so positions "
            f"compare across panels. Settings: {settings}.",
        ),
        (
            "exposure.png",
            "Share of recommendations by item rank and Lorenz curves of exposure, "
            "one line per policy",
            "How recommendations spread over the catalogue during the whole run: the share "
            "of all recommendations per item, items ranked by exposure (left, log scale), "
            "and the Lorenz curve of exposure (right; the dotted diagonal is equal "
            "exposure). "
            + (f"Mean over the {n} seeds. " if n > 1 else "")
            + f"Settings: {settings}.",
        ),
    ], None


def _report(
    config: StudyConfig,
    summaries: Mapping[str, SeedSummary],
    provenance: Mapping[str, str],
    figures: Sequence[tuple[str, str, str]],
    skipped: str | None,
    seconds: Mapping[str, list[float]],
) -> str:
    """The text of ``report.md``."""
    seeds = config.seed_list
    n = len(seeds)
    date = provenance["date"].replace("T", " ").replace("+00:00", " UTC")
    lines = [
        f"# recgym study: {len(config.policies)} policies, {config.users:,} users",
        "",
        f"Generated on {date} by recgym {provenance['recgym_version']} (Python "
        f"{provenance['python']}, numpy {provenance['numpy']}, {provenance['platform']}). "
        "The same command rebuilds every number below:",
        "",
        f"    {config.command()}",
        "",
        "## Settings",
        "",
        "| setting | value |",
        "|---|---|",
        f"| users | {config.users:,} |",
        f"| items | {config.items:,} |",
        f"| feature dimension d | {config.dim} |",
        "| preference dynamics | biased assimilation, `s ← normalise(s + α⟨s, v⟩v)` |",
        f"| assimilation step α | {config.alpha:g} |",
        f"| feature normalisation | {_NORMALISATION[config.feature_normalization]} |",
        f"| observation noise (`obs_std`) | {config.obs_std:g}: policies see "
        f"`clip(s + {config.obs_std:g}·ε, −1, 1)`, ε ~ N(0, I); the oracle sees `s` |",
        f"| reward | continuous, `⟨s, v⟩ + {config.reward_std:g}·ξ`, ξ ~ N(0, 1) "
        f"(`reward_std` = {config.reward_std:g}) |",
        f"| horizon | {config.steps} steps (one recommendation per user per step) |",
        f"| record interval | metrics every {config.every} steps, and at the last step |",
        f"| seeds | {n}: {', '.join(map(str, seeds))} (base seed {config.seed}; seed i = "
        "base + i). Each seed draws its own items, users, noise and policy randomness; "
        "within a seed every policy starts from the same population. |",
        f"| intervals | {PERCENT} Student t over seeds: mean ± t(0.975, n − 1) · s / √n, "
        "s the standard deviation over seeds (ddof = 1) |",
        "",
        "## Policies",
        "",
        "| policy | what it does | parameters |",
        "|---|---|---|",
    ]
    for name in config.policies:
        parameters = ", ".join(
            f"`{key}={_parameter(value)}`" for key, value in config.policy_parameters(name).items()
        )
        lines.append(f"| `{name}` | {_summary_line(POLICIES[name])} | {parameters or '—'} |")
    lines += [
        "",
        "## Results",
        "",
        (
            f"Final values after {config.steps} steps: mean over {n} seeds ± the half-width "
            f"of the {PERCENT} Student-t interval of the mean. Each value is printed "
            "to the decimal of the interval's second significant digit; `± 0`: every seed "
            "gave the same value. `mean_reward` is the mean reward over users and all steps."
            if n > 1
            else f"Final values after {config.steps} steps, one seed: no interval (rerun with "
            "`--seeds 3` or more for confidence intervals); three significant digits."
        ),
        "",
        estimates_table(
            _final_estimates(summaries, SUMMARY_COLUMNS), SUMMARY_COLUMNS, markdown=True
        ),
        "",
        "Every other recorded metric, the same way:",
        "",
    ]
    others = [name for name in next(iter(summaries.values())).final if name not in SUMMARY_COLUMNS]
    lines += [
        estimates_table(_final_estimates(summaries, others), others, markdown=True),
        "",
        "Per-step means and intervals: `intervals.csv`; final values per seed: `finals.csv`; "
        "every recorded value of every run: `metrics.csv`; the runs: `histories/`.",
        "",
        "## Figures",
        "",
    ]
    if skipped:
        lines += [f"Figures skipped: {skipped}", ""]
    for number, (file, alt, caption) in enumerate(figures, start=1):
        lines += [f"![{alt}]({file})", "", f"*Figure {number}.* {caption}", ""]
    lines += [
        "## Metric glossary",
        "",
        "From recgym's metric registry; `docs/metrics.md` gives every definition with its "
        "source and cost. `u`: a user's preference vector, `û` its direction, `N` users, `d` "
        "dimensions, `c` the cumulative exposure counts of the `n` items.",
        "",
        glossary([*SUMMARY_COLUMNS, *others]),
        "",
        "## Run times",
        "",
        "Seconds per run (reused runs keep the time of the run that made them): "
        + "; ".join(
            f"`{name}` {', '.join(f'{t:.2f}' for t in times)}" for name, times in seconds.items()
        )
        + ".",
        "",
    ]
    return "\n".join(lines)


_NORMALISATION = {
    "row": "`row`: every user and item vector has unit length (Dean & Morgenstern's setting)",
    "spectral": "`spectral`: the feature tables are scaled by their spectral norm (the original "
    "RECGym's)",
}


def _parameter(value: Any) -> str:
    """A parameter's value for the report (floats to six significant digits)."""
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


def _summary_line(cls: type) -> str:
    """The first sentence of a class docstring."""
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(doc.split()).replace("``", "`").replace("|", "\\|")


def _final_estimates(
    summaries: Mapping[str, SeedSummary], columns: Iterable[str]
) -> dict[str, dict[str, tuple[float, float, float]]]:
    return {
        name: {
            column: summary.final_interval(column) for column in columns if column in summary.final
        }
        for name, summary in summaries.items()
    }


def summary_table(summaries: Mapping[str, SeedSummary]) -> str:
    """The final value of the headline metrics per policy, mean ± 95 % interval, as text.

    Args:
        summaries: Policy name → :class:`~recgym.population.seeds.SeedSummary`.

    Returns:
        str: A fixed-width table, one row per policy (see
        :func:`~recgym.population.report.format_estimate` for the numbers).
    """
    n = sorted({summary.n_seeds for summary in summaries.values()})
    table = estimates_table(_final_estimates(summaries, SUMMARY_COLUMNS), SUMMARY_COLUMNS)
    if n == [1]:
        note = "final values, one seed (no interval)"
    else:
        note = (
            f"final values: mean ± {PERCENT} Student-t interval over {'/'.join(map(str, n))} seeds"
        )
    return f"{note}\n{table}"


def _name_width(names: Iterable[str]) -> int:
    """Width of the right-aligned policy-name column: 16, or the longest name if longer."""
    return max([16, *(len(name) for name in names)])
