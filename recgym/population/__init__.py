"""Populations of users: the PettingZoo environment and the tools of population studies.

:class:`PopulationEnv` is the PettingZoo environment; the tools — :func:`simulate`
and its :class:`History`, the policies, metrics, plots, logged datasets and off-policy
evaluation — live in submodules that are imported on first use, so that
``import recgym.population`` loads no more than the environment needs.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recgym.core import PerUserFallbackWarning, Population, PopulationConfig
    from recgym.population.datasets import (
        collect_logged_dataset,
        load_logged_dataset,
        save_logged_dataset,
    )
    from recgym.population.env import PopulationEnv
    from recgym.population.history import History
    from recgym.population.ope import importance_sampling_estimates, true_policy_value
    from recgym.population.policies import POLICIES, Decision, Policy, make_policy
    from recgym.population.simulation import simulate
    from recgym.population.slate_ope import slate_estimates

#: Public name → the module that defines it (imported on first access).
_EXPORTS = {
    "POLICIES": "recgym.population.policies",
    "Decision": "recgym.population.policies",
    "History": "recgym.population.history",
    "PerUserFallbackWarning": "recgym.core",
    "Policy": "recgym.population.policies",
    "Population": "recgym.core",
    "PopulationConfig": "recgym.core",
    "PopulationEnv": "recgym.population.env",
    "collect_logged_dataset": "recgym.population.datasets",
    "importance_sampling_estimates": "recgym.population.ope",
    "load_logged_dataset": "recgym.population.datasets",
    "make_policy": "recgym.population.policies",
    "save_logged_dataset": "recgym.population.datasets",
    "simulate": "recgym.population.simulation",
    "slate_estimates": "recgym.population.slate_ope",
    "true_policy_value": "recgym.population.ope",
}

__all__ = [
    "POLICIES",
    "Decision",
    "History",
    "PerUserFallbackWarning",
    "Policy",
    "Population",
    "PopulationConfig",
    "PopulationEnv",
    "collect_logged_dataset",
    "importance_sampling_estimates",
    "load_logged_dataset",
    "make_policy",
    "save_logged_dataset",
    "simulate",
    "slate_estimates",
    "true_policy_value",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _RenamedModule(types.ModuleType):
    """``recgym.population.simulate``, the module's name in recgym 0.2 (now ``simulation``).

    ``from recgym.population.simulate import simulate`` keeps working, with a
    ``DeprecationWarning``; ``recgym.population.simulate`` itself is the function.
    """

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # module machinery (__file__, __path__ …): not ours
            raise AttributeError(name)
        warnings.warn(
            "the module recgym.population.simulate was renamed recgym.population.simulation "
            "in recgym 0.3 (recgym.population.simulate is the function)",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module("recgym.population.simulation"), name)


sys.modules.setdefault(f"{__name__}.simulate", _RenamedModule(f"{__name__}.simulate"))
