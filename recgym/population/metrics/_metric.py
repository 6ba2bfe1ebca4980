"""What a metric declares: :class:`Metric`, and the :class:`Tracker` of a metric with history.

A metric's entry (a :class:`Metric`) stands next to its function, in the module of its
topic; :mod:`~recgym.population.metrics.registry` gathers the entries into
:data:`~recgym.population.metrics.METRICS`. This module holds only the declarations, so
that every topic module can use them without importing the registry.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Metric:
    """One entry of :data:`~recgym.population.metrics.METRICS`: a metric of named data.

    Call it with keyword data; it takes the inputs it needs and ignores the rest:
    ``METRICS["drift"](states=s, initial_states=s0, counts=c)``. The names of the data
    are those of :func:`~recgym.population.metrics.compute_metrics`' keywords (``states``,
    ``initial_states``, ``counts``, ``consumed``, ``neighbors``, ``rewards``, …).

    Attributes:
        function: The public function. Called with the ``inputs`` as positional
            arguments, in order, and the ``optional`` ones that were given as keyword
            arguments; returns a float (a dict member → float for a ``family``).
        inputs: Names of the required data.
        description: One line for tables and plot labels (the y axis of
            :func:`~recgym.population.plots.plot_metric_curves`).
        optional: Names of optional data.
        kernel: Optional fast path on shared data, giving exactly the value of
            ``function``: called with the *shared form* of each input, in order — a
            validated, normalised ``_Preferences`` for ``states`` and ``initial_states``
            (built once per evaluation and shared by every kernel), the value itself for
            the other inputs. Always used instead of ``function`` by the registry's
            evaluations, so a metric with a kernel takes no ``optional`` data.
        default: Recorded by :func:`~recgym.population.simulate` unless told otherwise
            (:data:`~recgym.population.metrics.DEFAULT_METRICS`, in registry order).
        tracker: For a metric of the rollout's history that the runner's per-record data
            (states, item counts, the last step's rewards) does not determine: a factory
            ``tracker(context)`` of a small stateful :class:`Tracker` that sees every step
            and gives the value at each record. The runner then uses the tracker instead
            of ``function``; the two must agree (up to floating-point rounding).
        default_when: For a metric that is only informative in some environments (the
            click-through rate with a choice model, retention with churn): recorded by
            default when ``default_when(env.config)`` is true (see
            :func:`~recgym.population.metrics.default_metrics`).
        unit: The unit of its values, for axis labels and report tables (``"rad"``,
            ``"fraction of items"``, ``"unitless, 0–1"``, …).
        definition: One or two sentences for the report's glossary: the formula and the
            range, each formula in backticks as written in ``docs/metrics.md`` (a test
            checks that every backticked part appears there).
        bounds: ``(low, high)``, the range every value lies in, or None if unbounded:
            plots clip confidence bands to it (the mean of values in a range lies in it).
        family: For a metric that is a family of series, one per *member* (an item
            class, an ordered pair of user groups): ``function`` returns a dict member →
            float and the tracker's value of a scope is such a dict; each member is
            recorded as ``"name[member]"`` (``"name[member][label]"`` per user group).
            A family needs a tracker to be recorded by a :class:`Recorder`.
    """

    function: Callable[..., float | Mapping[Any, float]]
    inputs: tuple[str, ...]
    description: str
    optional: tuple[str, ...] = ()
    kernel: Callable[..., float] | None = None
    default: bool = False
    tracker: Callable[[TrackerContext], Tracker] | None = None
    default_when: Callable[[Any], bool] | None = None
    unit: str = ""
    definition: str = ""
    bounds: tuple[float, float] | None = None
    family: bool = False

    def __call__(self, **data: Any) -> float | dict[Hashable, float]:
        """Evaluate the metric on the keyword data (a dict member → float for a family)."""
        missing = [name for name in self.inputs if data.get(name) is None]
        if missing:
            raise ValueError(f"`{missing[0]}` is required by this metric, got None")
        extra = {name: data[name] for name in self.optional if data.get(name) is not None}
        value = self.function(*(data[name] for name in self.inputs), **extra)
        if isinstance(value, Mapping):  # a family
            return {member: float(member_value) for member, member_value in value.items()}
        return float(value)


class StepData(NamedTuple):
    """One step of a rollout as a :class:`Tracker` sees it.

    Attributes:
        items: int64 ``(n_users,)``: the item each user consumed, −1 for none (with a
            slate of one item and the default choice model, the recommended item).
        rewards: ``(n_users,)`` float64 (float32 in a float32 environment); 0 for a user
            who consumed nothing or was absent.
        positive: bool ``(n_users,)``: ``rewards > 0`` — the items consumed with a
            positive reward (the consumption that the item metrics and ``jaccard_nn``
            count).
        present: bool ``(n_users,)``: who was shown a slate at this step (False for users
            who had left), or None when everyone was.
        shown: int64 ``(n_users,)`` or ``(n_users, k)``: the item or slate each user was
            shown (rows of users not ``present`` were not shown), or None if the runner
            did not say.
        states: The true preferences after the step ``(n_users, dim)``, or None if the
            runner did not say. Read-only to trackers; a tracker may keep a reference
            until the next step (a runner must not write into it).
        active: bool ``(n_users,)``: who is present after the step, or None when everyone
            is.
    """

    items: NDArray[np.int64]
    rewards: NDArray[np.floating]
    positive: NDArray[np.bool_]
    present: NDArray[np.bool_] | None = None
    shown: NDArray[np.int64] | None = None
    states: NDArray[np.floating] | None = None
    active: NDArray[np.bool_] | None = None

    def slates(self, metric: str) -> NDArray[np.int64]:
        """``shown`` as ``(n_users, k)``; a runner that did not give it is told (``metric``)."""
        if self.shown is None:
            raise ValueError(
                f"metric {metric!r} needs the items shown at each step: pass them to "
                "Recorder.observe (`actions`)"
            )
        return self.shown.reshape(len(self.shown), -1)

    def after(self, metric: str) -> NDArray[np.floating]:
        """``states``; a runner that did not give them is told (``metric``)."""
        if self.states is None:
            raise ValueError(
                f"metric {metric!r} needs the states after each step: pass states= to "
                "Recorder.observe"
            )
        return self.states


class Tracker(Protocol):
    """The state a metric of the rollout's history keeps between records.

    A tracker is built once per run by its metric's factory (``Metric.tracker``) with the
    run's :class:`TrackerContext`, sees every step, and gives the metric's value at each
    record, for the whole population and for each user group of the context.
    """

    def observe(self, step: StepData) -> None:
        """Take in one step of the rollout (called after every step)."""

    def values(self) -> Mapping[Hashable, float | Mapping[Any, float]]:
        """The metric now: ``None`` → everyone's value, each group label → the group's.

        A scope left out is not recorded (``group_alignment`` has no per-group value);
        a family (``Metric.family``) gives each scope a dict member → value.
        """


class TrackerContext:
    """What a :class:`Tracker` is told about the run it tracks.

    Args:
        initial_states: The users' initial true preferences ``(n_users, dim)``.
        n_items: Number of items.
        groups: Group label → int index array of the group's users (sorted); empty
            without groups.
        sample_users: Largest number of users a sampling metric averages over; above
            it, :meth:`sample` draws a fixed uniform sample of this many users.
        sample_rng: The generator of that sample (the run's sample stream).
        item_features: The item table ``(n_items, dim)`` the rewards use, or None (for
            the metrics of true affinities and scores).
        item_groups: Item-class labels ``(n_items,)`` (the environment's
            ``item_groups``), or None (for the metrics of item classes).
    """

    def __init__(
        self,
        initial_states: NDArray[np.floating],
        n_items: int,
        groups: Mapping[Hashable, NDArray[np.intp]],
        sample_users: int,
        sample_rng: np.random.Generator,
        *,
        item_features: NDArray[np.floating] | None = None,
        item_groups: NDArray[Any] | None = None,
    ):
        self.initial_states = initial_states
        self.n_users = len(initial_states)
        self.n_items = n_items
        self.groups = groups
        self.sample_users = sample_users
        self.item_features = item_features
        self.item_groups = item_groups
        self._sample_rng = sample_rng
        self._sample: NDArray[np.bool_] | None = None
        self._drawn = False

    def sample(self) -> NDArray[np.bool_] | None:
        """The users a sampling metric averages over: bool ``(n_users,)``, None for everyone.

        Drawn once per run, on the first call, and shared by every metric that samples:
        ``sample_users`` users without replacement when there are more users than that.
        """
        if not self._drawn:
            self._drawn = True
            if self.n_users > self.sample_users:
                chosen = self._sample_rng.choice(
                    self.n_users, size=self.sample_users, replace=False
                )
                self._sample = np.zeros(self.n_users, dtype=np.bool_)
                self._sample[chosen] = True
        return self._sample

    def scopes(self) -> list[tuple[Hashable, NDArray[np.intp] | None]]:
        """``(None, None)`` for everyone, then ``(label, users)`` for each group."""
        return [(None, None), *self.groups.items()]

    def require(self, name: str, metric: str) -> Any:
        """The context's ``name`` (``"item_features"``, ``"item_groups"``), which ``metric`` needs.

        Raises:
            ValueError: If the run has none, naming the metric and what to pass.
        """
        value = getattr(self, name)
        if value is None:
            where = (
                " (simulate passes the environment's `item_groups`: create it with item_groups=)"
                if name == "item_groups"
                else ""
            )
            raise ValueError(
                f"metric {metric!r} needs `{name}`: pass {name}= to the Recorder{where}"
            )
        return value


def scope_rows(
    values: NDArray[Any], index: NDArray[np.intp] | None, mask: NDArray[np.bool_] | None
) -> NDArray[Any]:
    """The rows of ``values`` of one scope's users (``index``; None: everyone) where ``mask``.

    Args:
        values: Per-user array, users on axis 0.
        index: The scope's users, or None for everyone.
        mask: bool ``(n_users,)`` over all users (e.g. who was shown a slate), or None.

    Returns:
        numpy.ndarray: ``values[index][mask[index]]`` (without copies where it can).
    """
    rows = values if index is None else values[index]
    if mask is None:
        return rows
    return rows[mask if index is None else mask[index]]


class LastStepTracker:
    """Base of the trackers whose value is a statistic of the last step, per scope.

    :meth:`observe` measures every scope (:meth:`measure`), then takes in what the next
    steps need (:meth:`update`); :meth:`values` gives the last measures — ``before``
    until the first step.

    Args:
        context: The run (its groups are the scopes).
        before: The value of every scope before the first step (NaN; for a family, a
            dict member → NaN).
    """

    def __init__(self, context: TrackerContext, before: Any = math.nan):
        self.scopes = context.scopes()
        self.last: dict[Hashable, Any] = {label: before for label, _ in self.scopes}

    def measure(self, step: StepData, rows: Callable[[NDArray[Any]], NDArray[Any]]) -> Any:
        """The statistic of ``step`` over one scope's users present.

        Args:
            step: The step.
            rows: Selects, from a per-user array (users on axis 0), the rows of the
                scope's users who were shown a slate at the step (:func:`scope_rows`).
        """
        raise NotImplementedError

    def update(self, step: StepData) -> None:
        """Take in ``step`` after it was measured (default: nothing)."""

    def observe(self, step: StepData) -> None:
        """Measure every scope on this step, then :meth:`update`."""
        self.last = {
            label: self.measure(step, functools.partial(scope_rows, index=index, mask=step.present))
            for label, index in self.scopes
        }
        self.update(step)

    def values(self) -> dict[Hashable, Any]:
        """The last step's measure of each scope (``before`` until the first step)."""
        return dict(self.last)
