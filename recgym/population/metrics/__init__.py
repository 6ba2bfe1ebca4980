"""Filter-bubble metrics: homogenisation, polarisation, drift, exposure concentration.

Pure numpy/scipy functions over arrays, cheap enough to call at every step of a rollout.
None is quadratic in the number of users: pairwise averages go through identities on
sums and ``d × d`` moment matrices, item statistics through ``np.bincount`` and sorting,
nearest neighbours through a k-d tree, set overlaps through sparse matrices. No function
builds a dense ``n_users × n_items`` array.

Conventions shared by every function:

* **Shapes.** ``states`` and ``initial_states`` are real arrays of shape
  ``(n_users, dim)`` (``n_users`` is written ``N`` and ``dim`` is written ``d`` in the
  costs); item ``counts`` have shape ``(n_items,)``; action arrays are integer item
  indices of shape ``(N,)`` (one step) or ``(T, N)`` (a history, users on the last axis).
* **Directions only.** Preference metrics use the unit vectors ``ûᵢ = uᵢ / ‖uᵢ‖``; they
  do not depend on the length of a state. A zero state has no direction: it stays the
  zero vector, so **any cosine involving a zero vector is 0**. Axis-based metrics
  (:func:`polarization`, :func:`bimodality_coefficient`) leave zero states out.
* **Undefined → NaN.** A value that is undefined for the data (a pairwise mean over
  fewer than two users, the Gini of an all-zero count vector, …) is ``math.nan``, never
  an exception, so a runner can record it at every step. Malformed *input* raises a
  ``TypeError`` or ``ValueError`` naming the argument and showing the bad value.
* **Groups.** Every metric is split by a user-group label array with :func:`by_group`
  (per-user arrays, users on axis 0) or, for item statistics, with
  :func:`item_counts_by_group`.
* **Runner.** :data:`METRICS` maps names to :class:`Metric` objects with one keyword
  calling convention and :func:`compute_metrics` evaluates several at once.

Modules: ``preferences`` (homogenisation, mean squared cosine, polarisation,
bimodality, drift), ``items`` (item counts and their concentration, cumulative and per
step; the popularity of recommended items), ``neighbors`` (nearest neighbours, Jaccard
and its rollout tracker), ``rewards`` (the step's and the running mean reward; the true
utility of consumed items), ``responses`` (click-through, no choice, retention),
``groups`` (:func:`by_group`, :func:`item_counts_by_group`, :func:`group_alignment`),
``scores`` (Jiang et al.'s degeneracy and the collapse onto one item), ``classes``
(item classes' share of the feeds, Steck's miscalibration), ``registry``
(:data:`METRICS`, :func:`compute_metrics`, the rollout :class:`Recorder`) and
``_checks`` (input validation). Every public name is importable from here.
"""

from __future__ import annotations

from recgym.population.metrics._metric import Metric, StepData, Tracker, TrackerContext
from recgym.population.metrics.classes import STECK_ALPHA, class_shares, miscalibration
from recgym.population.metrics.groups import by_group, group_alignment, item_counts_by_group
from recgym.population.metrics.items import (
    coverage,
    entropy,
    gini,
    item_counts,
    recommended_popularity,
    top_k_share,
    user_item_matrix,
)
from recgym.population.metrics.neighbors import jaccard_nearest_neighbors, nearest_neighbors
from recgym.population.metrics.preferences import (
    DRIFT_KINDS,
    bimodality_coefficient,
    homogenization,
    mean_squared_cosine,
    polarization,
    preference_drift,
    preference_drift_per_user,
)
from recgym.population.metrics.registry import (
    DEFAULT_METRICS,
    METRICS,
    Recorder,
    compute_metrics,
    default_metrics,
)
from recgym.population.metrics.responses import click_through_rate, no_choice_rate, retention
from recgym.population.metrics.rewards import consumed_utility, mean_reward, step_reward
from recgym.population.metrics.scores import (
    collapse_steps,
    collapse_time,
    score_change,
    score_change_per_user,
)

__all__ = [
    "DEFAULT_METRICS",
    "DRIFT_KINDS",
    "METRICS",
    "STECK_ALPHA",
    "Metric",
    "Recorder",
    "StepData",
    "Tracker",
    "TrackerContext",
    "bimodality_coefficient",
    "by_group",
    "class_shares",
    "click_through_rate",
    "collapse_steps",
    "collapse_time",
    "compute_metrics",
    "consumed_utility",
    "coverage",
    "default_metrics",
    "entropy",
    "gini",
    "group_alignment",
    "homogenization",
    "item_counts",
    "item_counts_by_group",
    "jaccard_nearest_neighbors",
    "mean_reward",
    "mean_squared_cosine",
    "miscalibration",
    "nearest_neighbors",
    "no_choice_rate",
    "polarization",
    "preference_drift",
    "preference_drift_per_user",
    "recommended_popularity",
    "retention",
    "score_change",
    "score_change_per_user",
    "step_reward",
    "top_k_share",
    "user_item_matrix",
]
