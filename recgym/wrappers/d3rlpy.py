"""A logged dataset as a d3rlpy ``MDPDataset``: every step, every action.

``recgym.population.collect_logged_dataset`` writes SCOPE-RL's format: flat,
trajectory-major arrays (row ``i · step_per_trajectory + t`` is step ``t`` of
trajectory ``i``). d3rlpy 2.x's ``MDPDataset(observations, actions, rewards, terminals,
timeouts=None, ..., action_size=None)`` takes the same layout and splits it into
episodes at every row where ``terminals`` or ``timeouts`` is 1 (that row included).
Two details decide what survives (d3rlpy 2.8.1, ``d3rlpy/dataset/components.py`` and
``episode_generator.py``):

* **A terminal row** ends an episode that *terminated*: the episode keeps all its
  steps as transitions; the last one has ``terminal = 1`` (no bootstrap past it) and
  a zero next observation. Nothing is lost.
* **A timeout row** ends an episode that was *cut off*: the next observation after its
  last step is unknown, so d3rlpy keeps ``size − 1`` transitions — **the last step of
  every trajectory, and its reward, are dropped** (the reward is stored but appears in
  no transition).
* Rows after the last flag are dropped silently; and without ``action_size``, d3rlpy
  infers it as ``max(actions) + 1``, so an item the behaviour policy never logged (the
  top item, say) falls out of the Q-function's output.

:func:`to_mdp_dataset` therefore marks the last step of every trajectory as
``terminals`` (recgym's episodes do end there: ``terminated=True`` after
``step_per_episode`` steps, and the format's ``done`` says so), never leaves a row after
the last flag, and passes ``action_size = n_actions`` and a discrete action space:
``size`` rows become ``n_trajectories`` episodes and exactly ``size`` transitions, and
the Q-function has one output per item. ``timeouts=True`` gives the time-limit reading
instead (bootstrap past the horizon), with the dropped last steps that come with it.

:func:`mdp_arrays` returns the same arrays without importing d3rlpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["mdp_arrays", "to_mdp_dataset"]


def mdp_arrays(
    dataset: Mapping[str, Any], *, timeouts: bool = False, action_size: int | None = None
) -> dict[str, Any]:
    """The ``MDPDataset`` arguments of a logged dataset, as numpy arrays (no d3rlpy needed).

    Args:
        dataset: A logged dataset (``collect_logged_dataset``'s dict, or
            ``load_logged_dataset``'s), with ``size``, ``n_trajectories``,
            ``step_per_trajectory``, ``n_actions``, ``state``, ``action``, ``reward`` and
            ``done``.
        timeouts: False (default): the last step of each trajectory (and any other row
            with ``done = 1``) is a terminal, every step is kept. True: those rows are
            timeouts and ``terminals`` is all zeros; d3rlpy then drops each trajectory's
            last step (see the module).
        action_size: The number of discrete actions; default ``dataset["n_actions"]``.

    Returns:
        dict: ``observations`` float32 ``(size, state_dim)``, ``actions`` int64
        ``(size,)``, ``rewards`` float32 ``(size,)``, ``terminals`` float32 ``(size,)``,
        ``timeouts`` float32 ``(size,)`` or None, ``action_size`` int.

    Raises:
        KeyError: If a key is missing.
        ValueError: If the arrays do not have ``size`` rows, ``size`` is not
            ``n_trajectories · step_per_trajectory``, the actions are not one item per
            row, or an action is not in ``[0, action_size)``.
    """
    size = int(dataset["size"])
    n_trajectories = int(dataset["n_trajectories"])
    horizon = int(dataset["step_per_trajectory"])
    if size != n_trajectories * horizon:
        raise ValueError(
            f"`dataset` must hold n_trajectories · step_per_trajectory = "
            f"{n_trajectories} · {horizon} rows, got size={size}"
        )
    observations = np.asarray(dataset["state"], dtype=np.float32)
    actions = np.asarray(dataset["action"])
    rewards = np.asarray(dataset["reward"], dtype=np.float32)
    done = np.asarray(dataset["done"], dtype=np.float32)
    for name, array in (
        ("state", observations),
        ("action", actions),
        ("reward", rewards),
        ("done", done),
    ):
        if len(array) != size:
            raise ValueError(f"`dataset[{name!r}]` must have size={size} rows, got {len(array)}")
    if actions.ndim != 1 or not np.issubdtype(actions.dtype, np.integer):
        raise ValueError(
            f"`dataset['action']` must be one integer item per row (size,), got "
            f"{actions.dtype} {actions.shape}"
        )
    size_of_actions = int(dataset["n_actions"] if action_size is None else action_size)
    if size and (actions.min() < 0 or actions.max() >= size_of_actions):
        raise ValueError(
            f"`dataset['action']` must lie in [0, {size_of_actions}), got "
            f"[{actions.min()}, {actions.max()}]"
        )
    ends = done.copy()
    ends[horizon - 1 :: horizon] = 1.0  # every trajectory ends at its last row
    zeros = np.zeros(size, dtype=np.float32)
    return {
        "observations": observations,
        "actions": actions.astype(np.int64, copy=False),
        "rewards": rewards,
        "terminals": zeros if timeouts else ends,
        "timeouts": ends if timeouts else None,
        "action_size": size_of_actions,
    }


def to_mdp_dataset(
    dataset: Mapping[str, Any], *, timeouts: bool = False, action_size: int | None = None
) -> Any:
    """A logged dataset as a d3rlpy ``MDPDataset`` with every step and every action.

    ```python
    # requires: d3rlpy
    from recgym.population import PopulationEnv, collect_logged_dataset
    from recgym.wrappers.d3rlpy import to_mdp_dataset

    env = PopulationEnv(n_users=50, n_items=10, step_per_episode=5, random_state=0)
    dataset = collect_logged_dataset(env, "softmax", 100, seed=0)
    mdp = to_mdp_dataset(dataset)  # 100 episodes, 500 transitions, action_size 10
    ```

    Args:
        dataset: A logged dataset (see :func:`mdp_arrays`).
        timeouts: False (default): trajectories end in terminals, and d3rlpy keeps all
            ``size`` transitions. True: they end in timeouts, and d3rlpy keeps
            ``size − n_trajectories`` (each trajectory's last step is dropped).
        action_size: The number of discrete actions; default ``dataset["n_actions"]``
            (d3rlpy's own default, ``max(actions) + 1``, forgets unlogged items).

    Returns:
        d3rlpy.dataset.MDPDataset: With a discrete action space and ``action_size``.

    Raises:
        ImportError: If d3rlpy is not installed.
        KeyError, ValueError: As :func:`mdp_arrays`.
    """
    arrays = mdp_arrays(dataset, timeouts=timeouts, action_size=action_size)
    try:
        from d3rlpy.constants import ActionSpace
        from d3rlpy.dataset import MDPDataset
    except ImportError as error:
        raise ImportError(
            "to_mdp_dataset needs d3rlpy: pip install 'recgym[d3rlpy]' (install torch "
            "first; recgym.wrappers.d3rlpy.mdp_arrays needs no d3rlpy)"
        ) from error
    return MDPDataset(
        observations=arrays["observations"],
        actions=arrays["actions"],
        rewards=arrays["rewards"],
        terminals=arrays["terminals"],
        timeouts=arrays["timeouts"],
        action_space=ActionSpace.DISCRETE,
        action_size=arrays["action_size"],
    )
