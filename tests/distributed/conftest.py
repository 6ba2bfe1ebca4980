"""The Ray session of the distributed tests: one per test module, on two CPUs, shut down after.

Starting Ray costs seconds and every actor a process, so a module's tests share this
session and keep their populations small (blocks of 8 users). Module scope, not package:
this folder is no Python package, where pytest keeps a "package" fixture to the end of the
session — and the docs' Ray blocks that run later start a Ray of their own. The actors
run with warnings turned into errors, as the rest of the suite (``PYTHONWARNINGS=error``
in their environment).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def ray_session():
    """``ray``, initialised with ``num_cpus=2`` for the module's tests."""
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONWARNINGS": "error"}},
    )
    yield ray
    ray.shutdown()
