"""PettingZoo's own checkers on every PopulationEnv configuration.

Each helper runs under ``warnings.simplefilter("error")``; the only allowed warning is
listed where it is allowed, with the reason. See ../shared/research/api_conventions.md
§1.6 for what each helper checks (and what it misses: our own tests cover that).
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest
from pettingzoo.test import (
    api_test,
    max_cycles_test,
    parallel_api_test,
    parallel_seed_test,
    render_test,
    state_test,
)
from pettingzoo.utils.conversions import parallel_to_aec

from recgym.population import PopulationEnv

HORIZON = 6


@pytest.mark.parametrize("n_users", [1, 8, 64])
def test_pettingzoo_battery(config_name, n_users, population_kwargs, make_population):
    kwargs = population_kwargs(config_name, n_users, step_per_episode=HORIZON)

    def parallel_env(**overrides):
        return make_population(**(kwargs | overrides))

    def aec_env(**overrides):
        return parallel_to_aec(parallel_env(**overrides))

    with warnings.catch_warnings():
        warnings.simplefilter("error")

        env = parallel_env()
        parallel_api_test(env, num_cycles=HORIZON + 3)
        # parallel_api_test assigns `max_cycles = num_cycles` (api_conventions §1.6); a
        # larger value than the horizon lets the episodes end by termination.
        assert env.max_cycles == HORIZON + 3

        api_test(aec_env(), num_cycles=HORIZON + 3)
        parallel_seed_test(parallel_env)
        # max_cycles_test wants a module-like object with `env` (AEC) and `parallel_env`;
        # it truncates at 4 steps, before the horizon.
        max_cycles_test(SimpleNamespace(env=aec_env, parallel_env=parallel_env))
        render_test(aec_env)

        # Allowed: state() is the (n_users, user_feature_dim) matrix of true preferences,
        # which state_test takes for an image because it is 2-D, and preferences are
        # negative in places by design.
        warnings.filterwarnings(
            "ignore",
            message="The state contains negative numbers and is in the shape of a graphical "
            "observation",
            category=UserWarning,
        )
        state_test(aec_env(), parallel_env(), num_cycles=HORIZON + 3)


def test_parallel_api_smoke_with_1000_users():
    env = PopulationEnv(n_users=1000, n_items=100, step_per_episode=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parallel_api_test(env, num_cycles=5)
        parallel_seed_test(
            lambda: PopulationEnv(n_users=1000, n_items=100, step_per_episode=5, random_state=0),
            num_cycles=5,
        )
