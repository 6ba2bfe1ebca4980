"""The registry: :data:`METRICS`, :func:`compute_metrics` and the rollout :class:`Recorder`.

Each metric's entry (a :class:`~recgym.population.metrics.Metric`) is declared next to its
function, in the module of its topic (``ENTRIES[name] = Metric(...)``); :data:`METRICS`
gathers them, in module order. A runner knows no metric by name: it builds a
:class:`Recorder` from the registry, which asks each metric for its inputs, its fast
kernel on shared data and, for a metric of the rollout's history, its tracker.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym.population.metrics import (
    classes,
    groups,
    items,
    neighbors,
    preferences,
    responses,
    rewards,
    scores,
)
from recgym.population.metrics._metric import Metric, StepData, Tracker, TrackerContext
from recgym.population.metrics.preferences import _check_initial, _Preferences

__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "Metric",
    "Recorder",
    "compute_metrics",
    "default_metrics",
]

#: The metrics a rollout runner can record, by name. Read-only. Inputs:
#: ``states``/``initial_states`` ``(N, d)``; ``counts`` ``(n_items,)`` exposure *or*
#: consumption counts; ``consumed`` sparse ``(N, n_items)`` or ``(T, N)`` history;
#: optional ``neighbors`` (``nearest_neighbors(initial_states)``); ``rewards`` ``(N,)``
#: (one step) or ``(T, N)`` (the steps so far); ``consumed_items`` int ``(N,)`` (the item
#: each user consumed at the step, −1 for none), ``presented`` bool ``(N,)`` (who was
#: shown a slate) and ``active`` bool ``(N,)`` (who is present); ``shown`` int ``(N,)`` or
#: ``(N, k)`` (what each user was shown at the step), ``step_counts`` ``(n_items,)`` (its
#: counts), ``past_consumption`` ``(n_items,)`` (the consumption counts before the step),
#: ``previous_states`` ``(N, d)`` (the states before the step), ``state_history``
#: ``(T + 1, N, d)``, ``item_features`` ``(n_items, d)``, ``item_groups`` ``(n_items,)`` and
#: ``user_groups`` ``(N,)`` (labels).
METRICS: Mapping[str, Metric] = MappingProxyType(
    {
        **preferences.ENTRIES,
        **items.ENTRIES,
        **neighbors.ENTRIES,
        **rewards.ENTRIES,
        **responses.ENTRIES,
        **groups.ENTRIES,
        **scores.ENTRIES,
        **classes.ENTRIES,
    }
)

#: The metrics :func:`~recgym.population.simulate` records by default: those of
#: :data:`METRICS` declared ``default=True``, in registry order.
DEFAULT_METRICS: tuple[str, ...] = tuple(name for name, m in METRICS.items() if m.default)

#: The data a :class:`Recorder` gives the metrics at a record; a metric that reads other
#: data (``consumed``, …) needs a tracker.
RECORDED_INPUTS = (
    "states",
    "initial_states",
    "counts",
    "rewards",
    "consumed_items",
    "presented",
    "active",
    "item_features",
)


def default_metrics(config: Any = None) -> tuple[str, ...]:
    """The metrics :func:`~recgym.population.simulate` records by default in an environment.

    Args:
        config: The environment's :class:`~recgym.config.PopulationConfig` (``env.config``),
            or None.

    Returns:
        tuple: :data:`DEFAULT_METRICS`, then the metrics whose ``default_when`` holds for
        ``config`` (e.g. the click-through rate with a choice model, retention with
        churn), in registry order.
    """
    extra = tuple(
        name
        for name, metric in METRICS.items()
        if config is not None and metric.default_when is not None and metric.default_when(config)
    )
    return DEFAULT_METRICS + extra


def _metric_names(names: Any, argument: str, kinds: str = "") -> list[str]:
    """``names`` as a list of names of :data:`METRICS`; ``argument`` names it in errors."""
    message = f"`{argument}` must be an iterable of metric names{kinds}"
    if isinstance(names, str):
        raise TypeError(f"{message}, got {names!r}")
    try:
        chosen = list(names)
    except TypeError:
        raise TypeError(f"{message}, got {names!r}") from None
    for name in chosen:
        if not isinstance(name, str):
            raise TypeError(f"`{argument}` must hold names from {sorted(METRICS)}, got {name!r}")
        if name not in METRICS:
            raise ValueError(f"`{argument}` must hold names from {sorted(METRICS)}, got {name!r}")
    return chosen


def compute_metrics(
    names: Iterable[str] | None = None,
    *,
    states: NDArray[Any] | None = None,
    initial_states: NDArray[Any] | None = None,
    counts: NDArray[Any] | None = None,
    consumed: Any = None,
    neighbors: NDArray[np.integer[Any]] | None = None,
    rewards: NDArray[Any] | None = None,
    consumed_items: NDArray[np.integer[Any]] | None = None,
    presented: NDArray[np.bool_] | None = None,
    active: NDArray[np.bool_] | None = None,
    shown: NDArray[np.integer[Any]] | None = None,
    step_counts: NDArray[Any] | None = None,
    past_consumption: NDArray[Any] | None = None,
    previous_states: NDArray[Any] | None = None,
    state_history: NDArray[Any] | None = None,
    item_features: NDArray[Any] | None = None,
    item_groups: NDArray[Any] | None = None,
    user_groups: NDArray[Any] | None = None,
) -> dict[str, float]:
    """Evaluate several :data:`METRICS` on one snapshot of a population.

    The runner's calling convention: pass whatever data it has as keywords; with
    ``names=None`` every metric whose inputs are all given is computed. Item metrics
    (``coverage``, ``gini``, ``entropy``, ``top10_share``) read ``counts``: pass the
    exposure counts (recommended items, e.g. a running ``item_counts(actions, n_items)``
    sum) or the consumption counts (items with positive reward,
    ``item_counts(actions, n_items, mask=rewards > 0)``), and call twice to record both.

    Args:
        names: Metric names from :data:`METRICS`, or None for all computable ones.
        states: Current states ``(N, d)``.
        initial_states: Initial states ``(N, d)`` (for ``drift`` and ``jaccard_nn``, whose
            neighbours are taken in the initial preference space).
        counts: Item counts ``(n_items,)``.
        consumed: Consumed items: sparse ``(N, n_items)`` or a ``(T, N)`` history.
        neighbors: Optional ``nearest_neighbors(initial_states)``, computed once per
            rollout so that ``jaccard_nn`` does not rebuild the tree every step.
        rewards: Rewards of the steps so far ``(T, N)``, or of one step ``(N,)`` (for
            ``reward``, the last step's mean, and ``mean_reward``, the mean over steps).
        consumed_items: The item each user consumed at a step, −1 for none ``(N,)``
            (for the click-through and no-choice rates).
        presented: Who was shown a slate at that step, bool ``(N,)``.
        active: Who is present, bool ``(N,)`` (for ``retention``).
        shown: What each user was shown at the step: items ``(N,)`` or slates
            ``(N, k)`` (for ``recommended_popularity``, ``class_share``,
            ``miscalibration``).
        step_counts: The counts ``(n_items,)`` of the items shown at one step (for
            ``gini_step`` and ``top10_share_step``).
        past_consumption: The consumption counts ``(n_items,)`` *before* the step of
            ``shown`` (for ``recommended_popularity``).
        previous_states: The states ``(N, d)`` *before* the step of ``consumed_items``
            (for ``utility``).
        state_history: The states of steps ``0 … T``, ``(T + 1, N, d)`` (for
            ``collapse_time``).
        item_features: The item table ``(n_items, d)`` (for ``utility``, ``degeneracy``
            and ``collapse_time``).
        item_groups: Item-class labels ``(n_items,)`` (for ``class_share`` and
            ``miscalibration``, which reads ``consumed`` as the consumption *before* the
            step of ``shown``).
        user_groups: User-group labels ``(N,)`` (for ``group_alignment``).

    Returns:
        dict: Name → float, in the order of ``names`` (or of :data:`METRICS`); a family
        (``class_share``, ``group_alignment``) gives one entry per member,
        ``"name[member]"``.

    Raises:
        TypeError: If ``names`` is a string or an input has the wrong type.
        ValueError: On an unknown name, a missing input or malformed data.

    Cost:
        The sum of the chosen metrics' costs: per step O(N d² + d³) for the preference
        metrics, O(n_items log n_items) for the item metrics, O(nnz) plus the neighbour
        search (unless ``neighbors`` is given) for ``jaccard_nn``, O(T N) for the reward
        metrics.
    """
    data = {
        key: value
        for key, value in {
            "states": states,
            "initial_states": initial_states,
            "counts": counts,
            "consumed": consumed,
            "neighbors": neighbors,
            "rewards": rewards,
            "consumed_items": consumed_items,
            "presented": presented,
            "active": active,
            "shown": shown,
            "step_counts": step_counts,
            "past_consumption": past_consumption,
            "previous_states": previous_states,
            "state_history": state_history,
            "item_features": item_features,
            "item_groups": item_groups,
            "user_groups": user_groups,
        }.items()
        if value is not None
    }
    if names is None:
        chosen = [name for name, m in METRICS.items() if all(k in data for k in m.inputs)]
    else:
        chosen = _metric_names(names, "names", " or None")
    for name in chosen:
        missing = [key for key in METRICS[name].inputs if key not in data]
        if missing:
            raise ValueError(f"`{missing[0]}` is required by metric {name!r}, got None")
    return _evaluate(chosen, data)


# ------------------------------------------------------------------------- shared data


class _SharedData:
    """The shared form of each input of one evaluation, built on first use.

    Args:
        data: The inputs by name.
        fixed: Shared forms of inputs that stay the same across evaluations (a runner's
            ``initial_states``), read and filled in here; None: none kept.
    """

    def __init__(self, data: Mapping[str, Any], fixed: dict[str, Any] | None = None):
        self.data = data
        self.fixed: dict[str, Any] = {} if fixed is None else fixed
        self._forms: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._forms:
            share = _SHARE.get(name)
            self._forms[name] = self.data[name] if share is None else share(self, name)
        return self._forms[name]


def _share_states(shared: _SharedData, name: str) -> _Preferences:
    return _Preferences.check(shared.data[name], name)


def _share_initial_states(shared: _SharedData, name: str) -> _Preferences:
    # ``states`` first: the order in which the metrics check them (the same error first).
    current = shared["states"] if "states" in shared.data else None
    initial = shared.fixed.get(name)
    if initial is None:
        initial = shared.fixed[name] = _Preferences.check(shared.data[name], name)
    if current is not None:
        _check_initial(current, initial)
    return initial


#: How an input is shared among kernels (inputs not listed are passed as they are).
_SHARE: Mapping[str, Callable[[_SharedData, str], Any]] = MappingProxyType(
    {"states": _share_states, "initial_states": _share_initial_states}
)


def _evaluate(
    chosen: Iterable[str], data: Mapping[str, Any], fixed: dict[str, Any] | None = None
) -> dict[str, float]:
    """Evaluate the metrics ``chosen`` (checked names whose inputs are all in ``data``).

    A metric with a kernel gets the shared forms of its inputs: ``states`` and
    ``initial_states`` are validated and normalised once, when the first kernel needs
    them, in the order the metrics would check them themselves (so the same error is
    raised first). ``fixed`` keeps the shared forms of inputs that do not change between
    calls (a runner's ``initial_states``). Values are bit-identical to calling each
    metric of :data:`METRICS` separately.
    """
    shared = _SharedData(data, fixed)
    values: dict[str, float] = {}
    for name in chosen:
        metric = METRICS[name]
        if metric.kernel is not None:
            values[name] = float(metric.kernel(*(shared[key] for key in metric.inputs)))
            continue
        value = metric(**data)
        if isinstance(value, dict):  # a family: one entry per member
            values.update({f"{name}[{member}]": v for member, v in value.items()})
        else:
            values[name] = value
    return values


# ---------------------------------------------------------------------------- recorder


class Recorder:
    """Records metrics of :data:`METRICS` during a rollout, for everyone and per user group.

    The runner calls :meth:`observe` after every step and :meth:`record` at each step it
    records (including step 0, after the reset). At a record, a metric with a tracker
    takes its tracker's value; any other metric is evaluated on the record's data —
    ``states`` and ``initial_states``, the item ``counts`` (when given) and the rewards of
    the last observed step (from step 1 on) — through :func:`compute_metrics`' shared
    kernels; a metric whose data is missing (item counts or rewards at step 0) is NaN.
    Each group's metrics are computed on that group's users: their states, their own
    item counts and rewards, and (for trackers) their neighbours within the group.

    Args:
        names: Metric names from :data:`METRICS`.
        initial_states: The users' initial true preferences ``(n_users, dim)``; read,
            never written.
        n_items: Number of items.
        groups: Group label → int indices of its users; None or empty: no groups.
        counts: What the per-group item counts count: ``"exposure"`` (every
            recommended item) or ``"consumption"`` (items with a positive reward) — the
            same as the ``counts`` given to :meth:`record`.
        sample_users: Largest number of users a sampling metric (``jaccard_nn``) averages
            over; above it, a fixed uniform sample of this many users.
        sample_rng: The generator of that sample; default fresh entropy.
        item_features: The item table ``(n_items, dim)``, for the metrics of affinities
            and scores (``utility``, ``degeneracy``, ``collapse_time``); read, never
            written.
        item_groups: Item-class labels ``(n_items,)``, for the metrics of item classes
            (``class_share``, ``miscalibration``).

    Attributes:
        steps: The recorded steps, in order.

    Raises:
        TypeError: If ``names`` is not an iterable of names.
        ValueError: On an unknown name, a metric without a tracker that reads data
            other than :data:`RECORDED_INPUTS` (or a family without a tracker), or a
            metric that needs ``item_features`` or ``item_groups`` when none was given.
    """

    def __init__(
        self,
        names: Iterable[str],
        initial_states: NDArray[np.floating],
        *,
        n_items: int,
        groups: Mapping[Hashable, NDArray[np.intp]] | None = None,
        counts: str = "exposure",
        sample_users: int = 10_000,
        sample_rng: np.random.Generator | None = None,
        item_features: NDArray[np.floating] | None = None,
        item_groups: NDArray[Any] | None = None,
    ):
        self.names = _metric_names(names, "names")
        groups = {} if groups is None else groups
        context = TrackerContext(
            initial_states,
            n_items,
            groups,
            sample_users,
            np.random.default_rng() if sample_rng is None else sample_rng,
            item_features=item_features,
            item_groups=item_groups,
        )
        self.trackers: dict[str, Tracker] = {}
        self.plain: list[str] = []
        for name in self.names:
            metric = METRICS[name]
            if metric.tracker is not None:
                self.trackers[name] = metric.tracker(context)
                continue
            unknown = [key for key in metric.inputs if key not in RECORDED_INPUTS]
            if unknown or metric.family:
                what = f"reads `{unknown[0]}`" if unknown else "is a family of series"
                raise ValueError(
                    f"metric {name!r} {what}, which a Recorder does not have "
                    f"(it has {list(RECORDED_INPUTS)}); give the metric a tracker"
                )
            if "item_features" in metric.inputs:
                context.require("item_features", name)
            self.plain.append(name)
        needs = {key for name in self.plain for key in METRICS[name].inputs}
        self.n_items = n_items
        self.count_consumption = counts == "consumption"
        # (label, users): None for everyone, then each group.
        self.scopes: list[tuple[Hashable, NDArray[np.intp] | None]] = [(None, None)]
        self.scopes += list(groups.items())
        self.item_features = item_features
        self.initial_states = {
            label: initial_states if index is None else initial_states[index]
            for label, index in self.scopes
        }
        # The shared forms of each scope's initial states, built once per run.
        self.fixed: dict[Hashable, dict[str, Any]] = {label: {} for label, _ in self.scopes}
        self.group_counts = (
            {label: np.zeros(n_items, dtype=np.int64) for label in groups}
            if "counts" in needs
            else {}
        )
        self.keep_step = bool(needs & {"rewards", "consumed_items", "presented"})
        self.last: dict[str, Any] = {}
        self.active: NDArray[np.bool_] | None = None
        self.steps: list[int] = []
        self.values: dict[str, list[float]] = {}

    def observe(
        self,
        actions: NDArray[np.int64],
        rewards: NDArray[np.floating],
        *,
        consumed: NDArray[np.int64] | None = None,
        present: NDArray[np.bool_] | None = None,
        active: NDArray[np.bool_] | None = None,
        states: NDArray[np.floating] | None = None,
    ) -> None:
        """Take in one step.

        Args:
            actions: What each user was shown: items ``(n_users,)`` or slates
                ``(n_users, k)``.
            rewards: ``(n_users,)``.
            consumed: The item each user consumed, −1 for none ``(n_users,)``; default
                ``actions`` (one item, always consumed).
            present: Who was shown a slate (bool ``(n_users,)``); default everyone.
            active: Who is present after the step (bool ``(n_users,)``); default everyone.
            states: The true preferences after the step ``(n_users, dim)``, for the
                trackers that follow them (``utility``, ``group_alignment``,
                ``collapse_time``); they may keep it until the next step, so it must not
                be written into afterwards (``simulate`` passes the environment's
                read-only snapshot).
        """
        items = actions if consumed is None else consumed
        positive = rewards > 0
        if self.trackers:
            step = StepData(items, rewards, positive, present, actions, states, active)
            for tracker in self.trackers.values():
                tracker.observe(step)
        for label, index in self.scopes[1:]:
            if label in self.group_counts:
                if self.count_consumption:
                    counted = items[index][positive[index]]
                else:
                    shown = actions[index] if present is None else actions[index][present[index]]
                    counted = shown.reshape(-1)
                self.group_counts[label] += np.bincount(counted, minlength=self.n_items)
        if self.keep_step:
            self.last = {
                "rewards": rewards,
                "consumed_items": items,
                "presented": np.ones(len(rewards), np.bool_) if present is None else present,
            }
        self.active = active

    def record(
        self, t: int, states: NDArray[np.floating], counts: NDArray[np.int64] | None = None
    ) -> None:
        """Record every metric at step ``t``.

        Args:
            t: The step (0: after the reset).
            states: The current true preferences ``(n_users, dim)``.
            counts: The whole population's item counts ``(n_items,)`` so far (exposure or
                consumption, as ``counts`` of the constructor); None before the first step.
        """
        self.steps.append(t)
        tracked = {name: tracker.values() for name, tracker in self.trackers.items()}
        active = self.active
        everyone_present = active is None or bool(active.all())
        for label, index in self.scopes:
            rows = index
            if not everyone_present:  # preference metrics over the users present
                assert active is not None
                rows = np.flatnonzero(active) if index is None else index[active[index]]
            data: dict[str, Any] = {
                "states": states if rows is None else states[rows],
                "initial_states": (
                    self.initial_states[label]
                    if everyone_present
                    else self.initial_states[None][rows]
                ),
                "active": (
                    np.ones(len(states) if index is None else len(index), np.bool_)
                    if active is None
                    else (active if index is None else active[index])
                ),
            }
            if counts is not None:
                data["counts"] = counts if index is None else self.group_counts.get(label)
            if self.item_features is not None:
                data["item_features"] = self.item_features
            if self.last:
                last = self.last
                presented = last["presented"] if index is None else last["presented"][index]
                rewards = last["rewards"] if index is None else last["rewards"][index]
                data["rewards"] = rewards[presented] if not presented.all() else rewards
                data["consumed_items"] = (
                    last["consumed_items"] if index is None else last["consumed_items"][index]
                )
                data["presented"] = presented
            computable = [
                name
                for name in self.plain
                if all(data.get(key) is not None for key in METRICS[name].inputs)
            ]
            fixed = self.fixed[label] if everyone_present else {}
            values = _evaluate(computable, data, fixed) if computable else {}
            suffix = "" if label is None else f"[{label}]"
            for name in self.names:
                if name not in tracked:
                    # nan: no item counts or rewards before the first step
                    self._append(name + suffix, values.get(name, math.nan))
                elif label in tracked[name]:  # a tracker may leave a scope out
                    value = tracked[name][label]
                    if isinstance(value, Mapping):  # a family: "name[member]" (+ suffix)
                        for member, member_value in value.items():
                            self._append(f"{name}[{member}]{suffix}", member_value)
                    else:
                        self._append(name + suffix, value)

    def _append(self, series: str, value: float) -> None:
        self.values.setdefault(series, []).append(value)

    def series(self) -> dict[str, NDArray[np.float64]]:
        """Every recorded series: name (``"name[label]"`` per group) → float64 ``(records,)``."""
        return {name: np.asarray(values, dtype=np.float64) for name, values in self.values.items()}
