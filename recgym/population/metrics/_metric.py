"""What a metric declares: :class:`Metric`, and the :class:`Tracker` of a metric with history.

A metric's entry (a :class:`Metric`) stands next to its function, in the module of its
topic; :mod:`~recgym.population.metrics.registry` gathers the entries into
:data:`~recgym.population.metrics.METRICS`. This module holds only the declarations, so
that every topic module can use them without importing the registry.
"""

from __future__ import annotations

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
    ``initial_states``, ``counts``, ``consumed``, ``neighbors``, ``rewards``).

    Attributes:
        function: The public function. Called with the ``inputs`` as positional
            arguments, in order, and the ``optional`` ones that were given as keyword
            arguments; returns a float.
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
    """

    function: Callable[..., float]
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

    def __call__(self, **data: Any) -> float:
        """Evaluate the metric on the keyword data."""
        missing = [name for name in self.inputs if data.get(name) is None]
        if missing:
            raise ValueError(f"`{missing[0]}` is required by this metric, got None")
        extra = {name: data[name] for name in self.optional if data.get(name) is not None}
        return float(self.function(*(data[name] for name in self.inputs), **extra))


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
    """

    items: NDArray[np.int64]
    rewards: NDArray[np.floating]
    positive: NDArray[np.bool_]
    present: NDArray[np.bool_] | None = None


class Tracker(Protocol):
    """The state a metric of the rollout's history keeps between records.

    A tracker is built once per run by its metric's factory (``Metric.tracker``) with the
    run's :class:`TrackerContext`, sees every step, and gives the metric's value at each
    record, for the whole population and for each user group of the context.
    """

    def observe(self, step: StepData) -> None:
        """Take in one step of the rollout (called after every step)."""

    def values(self) -> Mapping[Hashable, float]:
        """The metric now: ``None`` → everyone's value, each group label → the group's."""


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
    """

    def __init__(
        self,
        initial_states: NDArray[np.floating],
        n_items: int,
        groups: Mapping[Hashable, NDArray[np.intp]],
        sample_users: int,
        sample_rng: np.random.Generator,
    ):
        self.initial_states = initial_states
        self.n_users = len(initial_states)
        self.n_items = n_items
        self.groups = groups
        self.sample_users = sample_users
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
