"""d3rlpy learns offline from a recgym logged dataset: DiscreteCQL for ten steps.

Marked ``integration``; skipped where d3rlpy is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("d3rlpy")

import d3rlpy
import torch
from d3rlpy.logging import NoopAdapterFactory

from recgym.population import PopulationEnv, collect_logged_dataset
from recgym.wrappers.d3rlpy import to_mdp_dataset

pytestmark = pytest.mark.integration
torch.set_num_threads(1)


def test_discrete_cql_fits_ten_steps_on_every_item():
    env = PopulationEnv(n_users=100, n_items=12, step_per_episode=10, obs_std=0.1, random_state=0)
    dataset = collect_logged_dataset(env, "greedy", 300, seed=0)
    top = int(dataset["action"].max())
    dataset = {**dataset, "action": np.where(dataset["action"] == top, 0, dataset["action"])}
    mdp = to_mdp_dataset(dataset)
    assert mdp.transition_count == dataset["size"] == 3_000
    assert mdp.dataset_info.action_size == 12  # the top logged item was removed: still 12
    cql = d3rlpy.algos.DiscreteCQLConfig(batch_size=32).create(device="cpu:0")
    metrics = cql.fit(
        mdp,
        n_steps=10,
        n_steps_per_epoch=10,
        show_progress=False,
        logger_adapter=NoopAdapterFactory(),
    )
    assert len(metrics) == 1 and np.isfinite(metrics[0][1]["loss"])
    values = cql.predict_value(
        dataset["state"][:4].astype(np.float32), np.full(4, 11, dtype=np.int64)
    )
    assert values.shape == (4,)  # the never-logged item 11 has a Q-value
    actions = cql.predict(dataset["state"][:4].astype(np.float32))
    assert ((actions >= 0) & (actions < 12)).all()
