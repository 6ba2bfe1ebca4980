"""The Ray session of the distributed tests: one for the package, on two CPUs, shut down after.

Starting Ray costs seconds and every actor a process, so the tests share this session
and keep their populations small (blocks of 8 users). The actors run with warnings
turned into errors, as the rest of the suite (``PYTHONWARNINGS=error`` in their
environment).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="package")
def ray_session():
    """``ray``, initialised with ``num_cpus=2`` for the package's tests."""
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONWARNINGS": "error"}},
    )
    yield ray
    ray.shutdown()
