"""Without Ray: recgym works, and recgym.distributed says which extra installs it."""

from __future__ import annotations

import subprocess
import sys


def test_importing_recgym_distributed_without_ray_names_the_extra():
    code = (
        "import sys\n"
        "sys.modules['ray'] = None  # as if Ray were not installed\n"
        "import recgym\n"
        "from recgym.population import PopulationEnv\n"
        "PopulationEnv(n_users=3).reset_batch(seed=0)\n"
        "try:\n"
        "    import recgym.distributed\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith(
        "recgym.distributed needs Ray, the optional extra recgym[ray]: pip install 'recgym[ray]'"
    )
