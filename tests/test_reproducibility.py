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
#: observation and reward noise over 2 episodes (continuous and binary rewards), a
#: RECEnv over 3 episodes, and simulate() Histories of the random and mass-media policies.
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
    "population": "12f087726146ae44870d8b78cfd90972b67b5cc2721286d5cc43d9fd6f931e86",
    "population_binary": "f4148c6dd98661869d8171fcbbb33d3d86dce8c70d3557affee38d069de08b01",
    "rec_env": "385df2448c1b2c8e009f5f5d4db0a60d1aba0f332cbeb5e5b03c3adbabce4309",
    "simulate_random": "696381a9a7bb9c2139c1a77e1dd31fae7668678534936042827c6d2ffec2de62",
    "simulate_mass_media": "328ecac2f99fd1c69180dee441d9030ee8831b5d89d1c994cc5a64517df0af32",
}


def test_reference_rollouts_match_the_recorded_digests():
    assert reference_digests() == RECORDED


def digests_in_a_new_process(hash_seed: str) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
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
