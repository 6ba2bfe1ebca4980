"""The constructor arguments shared by every recgym environment, declared once.

:class:`EnvArguments` names and types them — the original RECGym's
(:class:`OriginalArguments`) and recgym's additions (:class:`ExtensionArguments`) — and
:data:`DEFAULT_ARGUMENTS` gives their defaults; :class:`PopulationConfig` is what they
become once validated (with the feature tables drawn and normalised and the user model
built). :class:`~recgym.RECEnv` keeps the original RECGym signature spelled out (its
defaults are these) and takes recgym's additions as keywords; every other environment
takes ``**arguments: Unpack[EnvArguments]``.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
from numpy.typing import NDArray

from recgym._idiosyncratic import idiosyncratic_key
from recgym._streams import BLOCK_SIZE
from recgym._validation import (
    check_array,
    check_bool,
    check_choice,
    check_instance,
    check_labels,
    check_memory,
    check_nonnegative_float,
    check_positive_int,
    check_seed,
)
from recgym.catalogue import CatalogueChange
from recgym.choice import ChoiceModel, Consume, make_choice_model
from recgym.engagement import Churn, Satiation
from recgym.features import FEATURE_NORMALIZATIONS, generate_features, normalize_features
from recgym.user_model import REWARD_TYPES, BaseUserModel, UserModel, accepts_keyword

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from recgym.social import SocialInfluence

#: The engines of the step (the ``engine`` argument): numba's fused kernels cover the
#: built-in user model (``recgym.UserModel`` itself) and choice models; anything else
#: runs on numpy.
ENGINES = ("auto", "numpy", "numba")

#: ``engine="auto"`` takes numba from this many slots on: below it the numpy step is as
#: fast (measured in docs/scaling.md) and no compiled kernel needs loading.
AUTO_NUMBA_SLOTS = 4096

# Tag of the idiosyncratic key's seed sequence (a child of `random_state`).
_IDIOSYNCRATIC_STREAM = 0x6964696F

__all__ = [
    "AUTO_NUMBA_SLOTS",
    "DEFAULT_ARGUMENTS",
    "ENGINES",
    "EnvArguments",
    "ExtensionArguments",
    "OriginalArguments",
    "PopulationConfig",
    "complete_arguments",
    "make_user_model",
    "refuse_social_graph",
    "signature_with_arguments",
]


class OriginalArguments(TypedDict, total=False):
    """The original RECGym's constructor arguments, in its order (all optional).

    See :class:`recgym.RECEnv` for what each means.
    """

    step_per_episode: int
    n_items: int
    n_users: int
    item_feature_dim: int
    user_feature_dim: int
    item_feature_vector: NDArray[Any] | None
    user_feature_vector: NDArray[Any] | None
    reward_type: str
    reward_std: float
    obs_std: float
    UserModel: type[BaseUserModel] | BaseUserModel
    random_state: int | None


class ExtensionArguments(TypedDict, total=False):
    """recgym's constructor arguments beyond the original's (all optional, keyword-only).

    Attributes:
        feature_normalization: ``"spectral"`` (the original's) or ``"row"``.
        slate_size: Items shown to each user per step, ``k`` (default 1); at ``k > 1``
            an action is a slate of ``k`` distinct items.
        choice_model: Which shown item a user consumes, or none: a name of
            :data:`recgym.choice.CHOICE_MODELS` (``"consume"``, the default: the item
            at position 0; ``"mnl"``, ``"cascade"``, ``"pbm"``) or a
            :class:`~recgym.choice.ChoiceModel`.
        repeat_consumption: Whether a user may consume an item again (default True);
            with False, an item a user consumed is unavailable to that user's choice for
            the rest of the episode (Chaney et al. 2018's setting).
        idiosyncratic_std: Standard deviation ``σ`` of a fixed user × item utility term
            ``σ·ε_ij`` (default 0): a deterministic function of the environment's seed
            and the two ids, added to the utility the choice model sees and to the
            utility behind the reward of a consumed item (``⟨s, v⟩ + σε`` plus noise for
            continuous rewards, ``Bernoulli(sigmoid(⟨s, v⟩ + σε))`` for binary ones).
        user_groups: Optional labels of the pool's users, an integer or string array
            ``(n_users,)`` (e.g. :attr:`recgym.worlds.Users.groups`): ``simulate``
            splits every metric by them, and the study report too.
        item_groups: Optional labels of the items, ``(n_items,)`` (item classes).
        satiation: A :class:`recgym.engagement.Satiation`: recently consumed similar
            items lose utility. None (default): no satiation.
        churn: A :class:`recgym.engagement.Churn`: users leave when their satisfaction
            falls, and may return. None (default): nobody leaves.
        catalogue: A :class:`recgym.catalogue.CatalogueChange`: items arrive and retire
            within the table of ``n_items``. None (default): every item always available.
        social_graph: A sparse ``(n_users, n_users)`` adjacency or a networkx graph:
            users' preferences also move toward their neighbours' (see
            :mod:`recgym.social`). Only :class:`~recgym.population.PopulationEnv`, whose
            users are the graph's nodes, takes one.
        social_weight: ``β ≥ 0``, the weight of the neighbours' pull.
        confidence_bound: ``ε ∈ [-1, 1]``: only neighbours within this cosine count
            (bounded confidence); None (default): all do.
        block_size: Users per block of the random streams (default
            :data:`recgym._streams.BLOCK_SIZE`, 65,536): every per-user draw comes from
            the generator of its block of slots, so the numbers do not depend on threads
            or shards (see ``docs/reproducibility.md``). Changing it changes the numbers;
            small blocks serve tests of sharding.
        engine: How the step is computed: ``"auto"`` (default), ``"numpy"`` or
            ``"numba"`` (the fused kernels of :mod:`recgym._kernels`, from the extra
            ``recgym[fast]``). ``"auto"`` takes numba when it is installed, the
            configuration is built-in (see :data:`ENGINES`) and the population has at
            least :data:`AUTO_NUMBA_SLOTS` slots; numpy otherwise. The two agree to
            rounding, each deterministic for a seed (see ``docs/scaling.md``).
    """

    feature_normalization: str
    slate_size: int
    choice_model: str | ChoiceModel
    repeat_consumption: bool
    idiosyncratic_std: float
    user_groups: NDArray[Any] | None
    item_groups: NDArray[Any] | None
    satiation: Satiation | None
    churn: Churn | None
    catalogue: CatalogueChange | None
    social_graph: Any
    social_weight: float
    confidence_bound: float | None
    block_size: int
    engine: str


class EnvArguments(OriginalArguments, ExtensionArguments, total=False):
    """Every constructor argument shared by the environments (all optional)."""


#: The defaults of :class:`EnvArguments` (the original's, plus recgym's additions).
DEFAULT_ARGUMENTS: Mapping[str, Any] = MappingProxyType(
    {
        "step_per_episode": 10,
        "n_items": 5,
        "n_users": 100,
        "item_feature_dim": 5,
        "user_feature_dim": 5,
        "item_feature_vector": None,
        "user_feature_vector": None,
        "reward_type": "continuous",
        "reward_std": 0.0,
        "obs_std": 0.0,
        "UserModel": UserModel,
        "random_state": None,
        "feature_normalization": "spectral",
        "slate_size": 1,
        "choice_model": "consume",
        "repeat_consumption": True,
        "idiosyncratic_std": 0.0,
        "user_groups": None,
        "item_groups": None,
        "satiation": None,
        "churn": None,
        "catalogue": None,
        "social_graph": None,
        "social_weight": 0.0,
        "confidence_bound": None,
        "block_size": BLOCK_SIZE,
        "engine": "auto",
    }
)


def complete_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """``arguments`` with every missing one set to its default.

    Raises:
        TypeError: If a keyword is not one of :class:`EnvArguments`.
    """
    unknown = [name for name in arguments if name not in DEFAULT_ARGUMENTS]
    if unknown:
        raise TypeError(
            f"unexpected keyword argument `{unknown[0]}`; the environment arguments are "
            + ", ".join(DEFAULT_ARGUMENTS)
        )
    return {**DEFAULT_ARGUMENTS, **arguments}


def signature_with_arguments(function: Any) -> inspect.Signature:
    """The signature of ``function`` with its ``**arguments`` spelled out as keywords.

    Lets ``help()`` and ``inspect.signature`` show every environment argument and its
    default although the code declares them once, in :class:`EnvArguments`.
    """
    signature = inspect.signature(function)
    kept = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        for name, default in DEFAULT_ARGUMENTS.items()
        if name not in signature.parameters
    ]
    return signature.replace(parameters=[*kept, *shared])


@dataclass(frozen=True)
class PopulationConfig:
    """The validated constructor arguments shared by every recgym environment.

    Build it with :meth:`from_arguments`, which takes :class:`EnvArguments`.

    Attributes:
        step_per_episode: Steps per episode.
        n_items: Number of items.
        n_users: Number of users in the pool.
        item_feature_dim: Item feature dimension.
        user_feature_dim: User feature dimension.
        reward_type: ``"continuous"`` or ``"binary"``.
        reward_std: Standard deviation of the continuous reward noise.
        obs_std: Standard deviation of the observation noise.
        feature_normalization: ``"spectral"`` or ``"row"``.
        random_state: Seed of the features and of the first unseeded reset, or None.
        user_features: Normalised user pool, float64 ``(n_users, user_feature_dim)``.
        item_features: Normalised item table, float64 ``(n_items, item_feature_dim)``.
        user_model: The user model (a private copy when an instance was given).
        slate_size: Items shown per user and step.
        choice_model: The choice model.
        repeat_consumption: Whether consumed items stay choosable.
        idiosyncratic_std: Scale of the fixed user × item utility term.
        idiosyncratic_key: The 128-bit key of that term's hash (0 when unused).
        user_groups: Read-only labels of the pool's users ``(n_users,)``, or None.
        item_groups: Read-only labels of the items ``(n_items,)``, or None.
        satiation: The satiation stage, or None.
        churn: The churn stage, or None.
        catalogue: The catalogue change, or None.
        social: The social influence (graph, ``β``, ``ε``), or None.
        block_size: Slots per block of the per-user random streams.
        engine: ``"auto"``, ``"numpy"`` or ``"numba"``, as requested.
    """

    step_per_episode: int
    n_items: int
    n_users: int
    item_feature_dim: int
    user_feature_dim: int
    reward_type: str
    reward_std: float
    obs_std: float
    feature_normalization: str
    random_state: int | None
    user_features: NDArray[np.float64]
    item_features: NDArray[np.float64]
    user_model: BaseUserModel
    slate_size: int = 1
    choice_model: ChoiceModel = field(default_factory=Consume)
    repeat_consumption: bool = True
    idiosyncratic_std: float = 0.0
    idiosyncratic_key: int = 0
    user_groups: NDArray[Any] | None = None
    item_groups: NDArray[Any] | None = None
    satiation: Satiation | None = None
    churn: Churn | None = None
    catalogue: CatalogueChange | None = None
    social: SocialInfluence | None = None
    block_size: int = BLOCK_SIZE
    engine: str = "auto"

    @classmethod
    def from_arguments(cls, **arguments: Unpack[EnvArguments]) -> PopulationConfig:
        """Validate the environment arguments and build the tables.

        Features that are not given are drawn uniform on ``[-1, 1)`` from
        ``numpy.random.default_rng(random_state)`` — users first, then items, as the
        original — and every table, drawn or given, is normalised by
        ``feature_normalization``.

        Raises:
            TypeError: An argument of the wrong kind, or an unknown keyword, named in
                the message.
            ValueError: An argument with a wrong value, named in the message.
        """
        given = complete_arguments(arguments)
        values = {name: check(given[name], name) for name, check in _CHECKS.items()}
        n_users, n_items = values["n_users"], values["n_items"]
        for count, dim, table in (
            ("n_users", "user_feature_dim", "the user pool"),
            ("n_items", "item_feature_dim", "the item table"),
        ):  # drawn, then normalised: two float64 copies, before anything is allocated
            check_memory(16 * values[count] * values[dim], count, values[count], table)
        if values["slate_size"] > n_items:
            raise ValueError(
                f"`slate_size` must be at most n_items ({n_items}), got {values['slate_size']}"
            )
        values["choice_model"].check(values["slate_size"], n_users)
        values["user_groups"] = check_labels(given["user_groups"], "user_groups", n_users)
        values["item_groups"] = check_labels(given["item_groups"], "item_groups", n_items)
        if values["catalogue"] is not None:
            values["catalogue"].check(n_items, values["slate_size"])
        social = None
        graph = given["social_graph"]
        if graph is not None:
            from recgym.social import SocialInfluence  # scipy.sparse: only when asked

            social = SocialInfluence(
                graph, n_users, given["social_weight"], given["confidence_bound"]
            )
        elif given["social_weight"] != DEFAULT_ARGUMENTS["social_weight"] or (
            given["confidence_bound"] is not None
        ):
            raise ValueError(
                "`social_weight` and `confidence_bound` need a `social_graph`, got "
                f"social_weight={given['social_weight']!r}, "
                f"confidence_bound={given['confidence_bound']!r} without one"
            )

        feature_rng = np.random.default_rng(values["random_state"])
        tables = {}
        specs: tuple[tuple[str, int, int], ...] = (
            ("user_feature_vector", n_users, values["user_feature_dim"]),
            ("item_feature_vector", n_items, values["item_feature_dim"]),
        )
        for table, rows, columns in specs:  # users first, then items: the original's draws
            given_table = given[table]
            if given_table is None:
                given_table = generate_features(feature_rng, rows, columns)
            check_array(given_table, table, (rows, columns))
            tables[table] = normalize_features(given_table, values["feature_normalization"], table)

        fields = ("user_feature_dim", "item_feature_dim", "reward_type", "reward_std")
        user_model = make_user_model(
            given["UserModel"],
            **{name: values[name] for name in fields},
            random_state=values["random_state"],
        )
        user_model.check_pool(n_users)
        for stage, keyword in (
            (values["satiation"], "utility_offsets"),
            (social, "preference_offsets"),
        ):
            if stage is not None and not accepts_keyword(type(user_model), "batch_step", keyword):
                raise ValueError(
                    f"{type(stage).__name__} needs a user model whose `batch_step` takes "
                    f"`{keyword}` (recgym.UserModel does), got {type(user_model).__name__}"
                )
        key = 0
        if values["idiosyncratic_std"] > 0.0:
            if not accepts_keyword(type(user_model), "batch_step", "utility_offsets"):
                raise ValueError(
                    "`idiosyncratic_std` > 0 needs a user model whose `batch_step` takes "
                    f"`utility_offsets` (recgym.UserModel does), got {type(user_model).__name__}"
                )
            key = idiosyncratic_key(
                np.random.SeedSequence(values["random_state"], spawn_key=(_IDIOSYNCRATIC_STREAM,))
            )
        return cls(
            **values,
            user_features=tables["user_feature_vector"],
            item_features=tables["item_feature_vector"],
            user_model=user_model,
            idiosyncratic_key=key,
            social=social,
        )


#: The check of every argument that is a plain value (not a table or the user model), in
#: the order they are checked; each takes ``(value, name)`` and returns the valid value.
_CHECKS: Mapping[str, Callable[[Any, str], Any]] = MappingProxyType(
    {
        "step_per_episode": check_positive_int,
        "n_items": check_positive_int,
        "n_users": check_positive_int,
        "item_feature_dim": check_positive_int,
        "user_feature_dim": check_positive_int,
        "reward_type": lambda value, name: check_choice(value, name, REWARD_TYPES),
        "reward_std": check_nonnegative_float,
        "obs_std": check_nonnegative_float,
        "feature_normalization": lambda value, name: check_choice(
            value, name, FEATURE_NORMALIZATIONS
        ),
        "random_state": check_seed,
        "slate_size": check_positive_int,
        "choice_model": lambda value, name: make_choice_model(value),
        "repeat_consumption": check_bool,
        "idiosyncratic_std": check_nonnegative_float,
        "satiation": lambda value, name: check_instance(value, name, Satiation),
        "churn": lambda value, name: check_instance(value, name, Churn),
        "catalogue": lambda value, name: check_instance(value, name, CatalogueChange),
        "block_size": check_positive_int,
        "engine": lambda value, name: check_choice(value, name, ENGINES),
    }
)


def make_user_model(model: Any, **fields: Any) -> BaseUserModel:
    """Instantiate a user-model class, or check and copy a user-model instance.

    Args:
        model: A :class:`~recgym.BaseUserModel` subclass (instantiated with ``fields``)
            or instance (its matching fields are checked, and a deep copy returned).
        **fields: ``user_feature_dim``, ``item_feature_dim``, ``reward_type``,
            ``reward_std`` and ``random_state``.

    Raises:
        TypeError: If ``model`` is neither a subclass nor an instance of BaseUserModel.
        ValueError: If an instance's field disagrees with the environment's.
    """
    if inspect.isclass(model):
        if not issubclass(model, BaseUserModel):
            raise TypeError(
                "`UserModel` must be a subclass or an instance of "
                f"recgym.BaseUserModel, got {model!r}"
            )
        return model(**fields)
    if not isinstance(model, BaseUserModel):
        raise TypeError(
            f"`UserModel` must be a subclass or an instance of recgym.BaseUserModel, got {model!r}"
        )
    for name in ("user_feature_dim", "item_feature_dim", "reward_type", "reward_std"):
        if hasattr(model, name) and getattr(model, name) != fields[name]:
            raise ValueError(
                f"`UserModel.{name}` ({getattr(model, name)!r}) does not match the "
                f"environment's `{name}` ({fields[name]!r})"
            )
    return copy.deepcopy(model)


def refuse_social_graph(config: PopulationConfig, environment: str) -> None:
    """Refuse a social graph in an environment of independent users.

    Raises:
        ValueError: If ``config`` has one, naming ``environment``.
    """
    if config.social is not None:
        raise ValueError(
            f"`social_graph` needs a PopulationEnv: the users of a {environment} are drawn "
            "independently, one per episode or sub-environment, so they have no neighbours "
            "to influence them"
        )
