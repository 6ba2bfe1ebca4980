"""The engine of a population's step: numpy, or numba's fused kernels.

:func:`resolve_engine` turns the ``engine`` argument into the engine a population runs
on, and :func:`fused_step` runs one step of a :class:`~recgym.core.Population` through
the kernels of :mod:`recgym._kernels` (imported on first use: ``import recgym`` never
imports numba). The kernels cover the built-in user model and choice models; the numpy
stages around them are the random draws (each from its block's generator, exactly the
numpy path's), the idiosyncratic hash, social influence's sparse product, churn and the
catalogue.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from recgym._idiosyncratic import idiosyncratic_normals
from recgym.choice import Cascade, Consume, MultinomialLogit, PositionBased
from recgym.config import AUTO_NUMBA_SLOTS, PopulationConfig
from recgym.user_model import UserModel

if TYPE_CHECKING:
    from recgym.core import Population

__all__ = ["fused_step", "load_kernels", "resolve_engine", "unsupported"]

_KERNELS: ModuleType | None = None
_MISSING: str | None = None  # why numba could not be imported, once tried

#: The kernels' choice model codes (recgym._kernels.CONSUME, MNL, CASCADE, PBM).
_CHOICE_CODES = {Consume: 0, MultinomialLogit: 1, Cascade: 2, PositionBased: 3}


def load_kernels() -> ModuleType:
    """Import :mod:`recgym._kernels` (and numba) once.

    Raises:
        ImportError: If numba cannot be imported, naming the extra that installs it.
    """
    global _KERNELS, _MISSING
    if _KERNELS is None:
        if _MISSING is not None:
            raise ImportError(_MISSING)
        try:
            _KERNELS = importlib.import_module("recgym._kernels")
        except ImportError as error:
            _MISSING = (
                "engine='numba' needs numba, the optional extra recgym[fast]: "
                f"pip install 'recgym[fast]' ({error})"
            )
            raise ImportError(_MISSING) from error
    return _KERNELS


def unsupported(config: PopulationConfig) -> str | None:
    """Why the fused kernels cannot run ``config``, or None if they can."""
    model = config.user_model
    if type(model) is not UserModel:
        return (
            f"the user model is {type(model).__name__}, not recgym.UserModel (models of "
            "one's own run on numpy)"
        )
    choice = config.choice_model
    if type(choice) not in _CHOICE_CODES:
        return (
            f"the choice model is {type(choice).__name__}, not one of recgym's built-in "
            "Consume, MultinomialLogit, Cascade, PositionBased"
        )
    return None


def resolve_engine(config: PopulationConfig, n_slots: int) -> str:
    """The engine a population of ``n_slots`` slots runs on: ``"numpy"`` or ``"numba"``.

    ``"auto"`` is numba when :func:`unsupported` finds nothing, ``n_slots`` is at least
    :data:`~recgym.config.AUTO_NUMBA_SLOTS` and numba imports; numpy otherwise.

    Raises:
        ValueError: ``engine="numba"`` with a configuration the kernels do not cover.
        ImportError: ``engine="numba"`` without numba installed.
    """
    if config.engine == "numpy":
        return "numpy"
    reason = unsupported(config)
    if config.engine == "numba":
        if reason is not None:
            raise ValueError(
                f"`engine` 'numba' covers recgym's built-in models only: {reason}; use "
                "engine='numpy' or 'auto'"
            )
        load_kernels()
        return "numba"
    if reason is not None or n_slots < AUTO_NUMBA_SLOTS:
        return "numpy"
    try:
        load_kernels()
    except ImportError:
        return "numpy"
    return "numba"


def _readonly(array: NDArray[Any]) -> NDArray[Any]:
    """A read-only view (the kernels' inputs always are, so each compiles once per dtype)."""
    if not array.flags.writeable:
        return array
    view = array.view()
    view.flags.writeable = False
    return view


def _parameter(value: Any) -> NDArray[np.float64]:
    """A choice parameter as a read-only float64 array: ``(1,)`` or per user."""
    return _readonly(np.atleast_1d(np.asarray(value, dtype=np.float64)))


class _Stage:
    """The inputs of a fused step that both kernels read, and its two numpy stages."""

    def __init__(self, population: Population, kernels: ModuleType, threads: int):
        self.population, self.kernels, self.threads = population, kernels, threads
        d = population.config.user_feature_dim
        self.user_ids: NDArray[np.int64] = _readonly(population.current_user_ids())
        self.features: NDArray[Any] = _readonly(population.item_features)
        active = population.active
        self.active: NDArray[np.bool_] = _EMPTY_BOOL if active is None else _readonly(active)
        satiation = population.satiation
        self.satiation: NDArray[Any] = (
            np.empty((0, d), population.dtype) if satiation is None else satiation
        )
        consumed = population.consumed
        self.consumed: NDArray[np.uint8] = _EMPTY_BITS if consumed is None else consumed

    def choose(
        self,
        actions: NDArray[np.int64],
        choices: NDArray[np.int64],
        items: NDArray[np.int64],
        offsets: NDArray[Any],
    ) -> None:
        """Run the choice kernel: fills ``choices``, ``items`` and ``offsets``."""
        population = self.population
        config, dtype, k = population.config, population.dtype, population.slate_size
        n = population.n_slots
        slates = _readonly(np.ascontiguousarray(actions.reshape(n, k)))
        choice = config.choice_model
        idiosyncratic = np.empty((0, 0), dtype=dtype)
        if config.idiosyncratic_std > 0.0:
            noise = idiosyncratic_normals(
                config.idiosyncratic_key, self.user_ids[:, np.newaxis], slates
            )
            idiosyncratic = (config.idiosyncratic_std * noise).astype(dtype, copy=False)
        uniforms = _EMPTY_FLOATS
        if choice.draws:  # one uniform per present user, from its block
            uniforms = np.empty(n)
            present = None if population.active is None else np.flatnonzero(population.active)
            if present is None or present.size == n:
                population.layout.fill(
                    population.choice_rng, uniforms, "uniform", threads=self.threads
                )
            elif present.size:
                uniforms[present] = population.layout.fill(
                    population.choice_rng, np.empty(present.size), "uniform", present, self.threads
                )
        if isinstance(choice, MultinomialLogit):
            second, third = choice.no_choice_utility, 1.0
        else:
            second, third = getattr(choice, "bias", 0.0), getattr(choice, "continuation", 1.0)
        examination = (
            choice._examination(k) if isinstance(choice, PositionBased) else np.ones(k)
        )
        satiation = config.satiation
        self.kernels.choose(
            _readonly(population.current_states()),
            slates,
            self.features,
            self.active,
            self.user_ids,
            _readonly(idiosyncratic),
            self.satiation,
            dtype.type(0.0 if satiation is None else satiation.strength),
            self.consumed,
            _CHOICE_CODES[type(choice)],
            _parameter(getattr(choice, "temperature", 1.0)),
            _parameter(second),
            _parameter(third),
            _parameter(examination),
            _readonly(uniforms),
            choices,
            items,
            offsets,
        )

    def reward_draws(self, items: NDArray[np.int64]) -> NDArray[Any]:
        """The rewards buffer, holding each consumer's reward draw (from its block)."""
        population = self.population
        n = population.n_slots
        rewards = population.buffers.take((n,), population.dtype)
        kind = population._reward_draw_kind()
        if kind is None:
            return rewards
        fill = population.layout.fill
        consumers = None if population._plain else np.flatnonzero(items >= 0)
        if consumers is None or consumers.size == n:
            fill(population.reward_rng, rewards, kind, threads=self.threads)
        elif consumers.size:
            draws = np.empty(consumers.size, population.dtype)
            rewards[consumers] = fill(population.reward_rng, draws, kind, consumers, self.threads)
        return rewards


def fused_step(
    population: Population, actions: NDArray[np.int64]
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[np.int64], NDArray[np.int64]]:
    """One step of ``population`` through the fused kernels; changes only in-place stages.

    Updates the satiation and consumption memory in place; the caller installs the rest.

    Args:
        population: A population whose engine is numba.
        actions: Validated int64 actions: ``(n,)`` at slate size 1, else ``(n, k)``.

    Returns:
        tuple: ``(observations (n, d), rewards (n,), new states (n, d), choices (n,),
        items (n,))``, arrays of the population's recycler.
    """
    kernels = load_kernels()
    config = population.config
    dtype = population.dtype
    scalar = dtype.type
    take = population.buffers.take
    threads = kernels.threads()
    current = _readonly(population.current_states())
    n, d = current.shape
    stage = _Stage(population, kernels, threads)
    items = take((n,), np.int64)
    extras = config.idiosyncratic_std > 0.0 or config.satiation is not None
    offsets = take((n,), dtype) if extras else np.empty(0, dtype=dtype)
    consumed_items, copy = items, _EMPTY_ITEMS
    if population._plain:  # the kernel reads the actions and copies them into `items`
        consumed_items, copy = _readonly(np.ascontiguousarray(actions)), items
        choices = population._position_zero
    else:
        choices = take((n,), np.int64)
        stage.choose(actions, choices, items, offsets)
        consumed_items = _readonly(items)
    pull = np.empty((0, d), dtype=dtype)
    if config.social is not None:
        pull = config.social.pull(population.current_states())
    rewards = stage.reward_draws(items)
    obs = take((n, d), dtype)
    if config.obs_std > 0.0:
        population.layout.fill(population.obs_rng, obs, "normal", threads=threads)
    new_states = take((n, d), dtype)
    model = config.user_model
    assert isinstance(model, UserModel)
    alpha = model.alpha
    kernels.respond(
        current,
        consumed_items,
        stage.features,
        stage.active,
        stage.user_ids,
        scalar(1.0 if isinstance(alpha, np.ndarray) else alpha),
        _readonly(alpha) if isinstance(alpha, np.ndarray) else _EMPTY_FLOATS,
        _readonly(offsets),
        _readonly(pull),
        {None: 0, "normal": 1, "uniform": 2}[population._reward_draw_kind()],
        scalar(config.reward_std),
        rewards,
        scalar(config.obs_std),
        obs,
        new_states,
        stage.satiation,
        scalar(0.0 if config.satiation is None else config.satiation.decay),
        stage.consumed,
        copy,
    )
    return obs, rewards, new_states, choices, items


def _empty(shape: tuple[int, ...], dtype: Any, *, writeable: bool = False) -> NDArray[Any]:
    array = np.empty(shape, dtype=dtype)
    array.flags.writeable = writeable
    return array


_EMPTY_BOOL = _empty((0,), np.bool_)
_EMPTY_FLOATS = _empty((0,), np.float64)
_EMPTY_BITS = _empty((0, 0), np.uint8, writeable=True)
_EMPTY_ITEMS = _empty((0,), np.int64, writeable=True)
