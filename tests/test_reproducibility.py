"""Reproducibility: the same seed gives the same numbers in every process, whatever
``PYTHONHASHSEED`` or the order of an action dict, and the numbers themselves are pinned.

The rollouts and their digests live in tests/reference_rollouts.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from reference_rollouts import POPULATION, all_digests, reference_digests

from recgym.population import PopulationEnv

SCRIPT = Path(__file__).with_name("reference_rollouts.py")

#: sha256 digests of the reference rollouts of tests/reference_rollouts.py (float64 bytes
#: of every observation, reward, state, flag and user id, in order): a PopulationEnv with
#: observation and reward noise over 2 episodes (continuous and binary rewards), one of
#: four blocks of 16 users with slates, MNL choices, churn and returns, a RECEnv over 3
#: episodes, and simulate() Histories of the random and mass-media policies.
#:
#: Recorded again once, when the default mode's random streams were organised in blocks
#: of users (recgym._streams; CHANGELOG "Unreleased"): every per-user draw moved to its
#: block's generator. Legacy mode did not move (tests/test_legacy.py).
#:
#: A change of these digests means a change of recgym's numbers for a given seed. If it is
#: intended (say so in the changelog: users' seeded results change), regenerate them with
#:
#:     python -c "import sys; sys.path.insert(0, 'tests'); import reference_rollouts as r; \
#:         print(r.reference_digests())"
#:
#: What they depend on besides recgym: numpy's PCG64 and the algorithms of its
#: ``random``, ``integers`` and ``standard_normal`` (ziggurat) — the same on every
#: platform, but NEP 19 allows numpy to change a Generator's algorithms in a new
#: version; IEEE float64 arithmetic (``+ - * / sqrt``) and scipy's ``expit``; and
#: numpy's ``np.vecdot``, which computes each row's dot product with BLAS's ``ddot``
#: (numpy's ``DOUBLE_dot``) — a BLAS whose ``ddot`` kernel sums the 6 products in another
#: order could change the last bits. No number goes through a matrix product (the
#: reference policies do not score items) or LAPACK (row normalisation: the spectral
#: norm would take an SVD). Recorded with numpy 2.4.6, scipy-openblas 0.3.31, x86-64.
RECORDED = {
    "population": "33658581f73b955156ba18afd0d5ada6a785e1fe77d15a14d4e29ce3fab4fcd8",
    "population_binary": "cfe63d627d09fbde3ad96320c3787ea9517173b7a60405b70fb45e1cdb00a12d",
    "population_blocks": "daa0879babc3abef2c2f4616e709784b26af0fbff0426baded57eda4c3b346fa",
    "rec_env": "b6a41fb4ff97ed86c3b0a11c89dc49ab572cdad3c98521407899b4e3cb664456",
    "simulate_random": "31e53d2296205f570522900314f2f3f7d0fe437856825dff86f8838d49bd46a0",
    "simulate_mass_media": "c71b55ae84847699b14b1af0d2b2e68feb3240b8f1aec55cffba011656f106a6",
}


def test_reference_rollouts_match_the_recorded_digests():
    assert reference_digests() == RECORDED


#: The environment variables that set the thread counts of BLAS, OpenMP and numba.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


def digests_in_a_new_process(
    hash_seed: str, threads: str | None = None, *arguments: str
) -> dict[str, str]:
    environment = {**os.environ, "PYTHONHASHSEED": hash_seed}
    if threads is not None:
        environment |= dict.fromkeys(THREAD_VARIABLES, threads)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_two_processes_with_different_hash_seeds_give_the_same_numbers():
    # Also stochastic scoring policies (BLAS), the spectral norm (LAPACK), float32, legacy
    # mode, the dict API and a logged dataset: the same machine gives the same bits.
    first = digests_in_a_new_process("0")
    second = digests_in_a_new_process("4242")
    assert first == second
    assert first == all_digests()  # and the same as this process
    assert first["population_dicts"] == first["population"]


def test_thread_counts_do_not_change_the_numbers():
    # Every per-user draw comes from its block's generator and every number of the
    # reference rollouts from per-row arithmetic: one thread or two, the same bits.
    one = digests_in_a_new_process("0", "1", "--reference")
    two = digests_in_a_new_process("0", "2", "--reference")
    assert one == two == RECORDED


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_action_dict_order_has_no_influence(dtype):
    runs = []
    for order in ("sorted", "reversed", "shuffled"):
        env = PopulationEnv(**POPULATION, dtype=dtype)
        actions = np.random.default_rng(0).integers(env.n_items, size=(env.step_per_episode, 64))
        returns = [env.reset(seed=1)]
        for row in actions:
            pairs = list(zip(env.agents, row.tolist()))
            if order == "reversed":
                pairs.reverse()
            elif order == "shuffled":
                pairs = [pairs[i] for i in np.random.default_rng(len(returns)).permutation(64)]
            result = env.step(dict(pairs))
            assert all(list(part) == env.possible_agents for part in result)  # agent order
            returns.append(result)
        runs.append(returns)
    assert data_equivalence(runs[0], runs[1], exact=True)
    assert data_equivalence(runs[0], runs[2], exact=True)
