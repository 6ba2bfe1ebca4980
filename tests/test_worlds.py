"""recgym.worlds: populations, catalogues and social graphs, checked on their defining numbers.

Every random check runs at a fixed seed, so it is deterministic; tolerances are a few
standard errors of the statistic (or a goodness-of-fit p-value above 1e-3).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats
from scipy.integrate import quad
from scipy.special import beta as beta_function
from scipy.special import expit, ive

from recgym import worlds
from recgym.worlds import (
    Catalogue,
    Users,
    as_adjacency,
    balanced_catalogue,
    barabasi_albert,
    erdos_renyi,
    grouped_users,
    item_classes,
    leaning_users,
    majority_minority,
    row_normalize,
    stochastic_block_model,
    von_mises_fisher,
)


def mean_resultant_length(dim: int, kappa: float) -> float:
    """A_d(κ) = I_{d/2}(κ) / I_{d/2-1}(κ) (exponentially scaled Bessel functions)."""
    if kappa == 0:
        return 0.0
    return float(ive(dim / 2, kappa) / ive(dim / 2 - 1, kappa))


def cosine_variance(dim: int, kappa: float) -> float:
    """Var⟨x, μ⟩ under vMF(μ, κ): 1 - A² - (d-1) A / κ (1/d when κ = 0)."""
    if kappa == 0:
        return 1.0 / dim
    a = mean_resultant_length(dim, kappa)
    return 1.0 - a * a - (dim - 1) * a / kappa


def assert_unit_rows(x: np.ndarray) -> None:
    assert x.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=0, atol=1e-14)


def chi_square_pvalue(observed: Counter, probabilities: dict, samples: int) -> float:
    """Goodness of fit of sampled outcomes to exact probabilities (bins < 5 merged)."""
    assert set(observed) <= set(probabilities), "an impossible outcome was sampled"
    keys = sorted(probabilities, key=lambda k: -probabilities[k])
    expected = np.array([probabilities[k] for k in keys]) * samples
    counts = np.array([observed[k] for k in keys], dtype=float)
    small = expected < 5
    if small.any():
        expected = np.append(expected[~small], expected[small].sum())
        counts = np.append(counts[~small], counts[small].sum())
    statistic = float(((counts - expected) ** 2 / expected).sum())
    return float(stats.chi2.sf(statistic, len(expected) - 1))


def edge_set(adjacency: sp.csr_array) -> frozenset:
    coo = adjacency.tocoo()
    return frozenset((int(i), int(j)) for i, j in zip(coo.row, coo.col) if i < j)


def assert_simple_undirected(adjacency, n: int) -> None:
    """Symmetric canonical float64 CSR of 0/1 entries without self loops."""
    assert isinstance(adjacency, sp.csr_array)
    assert adjacency.shape == (n, n)
    assert adjacency.dtype == np.float64
    assert adjacency.has_canonical_format
    assert np.all(adjacency.data == 1.0)
    assert not adjacency.diagonal().any()
    assert (adjacency - adjacency.T).count_nonzero() == 0


def degrees(adjacency) -> np.ndarray:
    return np.diff(adjacency.indptr)


# ------------------------------------------------------------------- module boundaries


def test_module_imports_only_numpy_scipy_and_the_standard_library():
    tree = ast.parse(Path(worlds.__file__).read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            roots.add(node.module.split(".")[0])
    third_party = roots - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party == {"numpy", "scipy", "recgym"}
    assert {"gymnasium", "pettingzoo", "networkx"}.isdisjoint(roots)


def test_all_is_small_and_public():
    assert sorted(worlds.__all__) == sorted(
        [
            "Catalogue",
            "Users",
            "as_adjacency",
            "balanced_catalogue",
            "barabasi_albert",
            "erdos_renyi",
            "grouped_users",
            "item_classes",
            "leaning_users",
            "majority_minority",
            "per_group",
            "row_normalize",
            "stochastic_block_model",
            "von_mises_fisher",
        ]
    )


# ----------------------------------------------------------------------------- rng


RANDOM_BUILDERS = {
    "von_mises_fisher": lambda rng: von_mises_fisher(np.array([1.0, 2.0, 2.0]), 3.0, 50, rng),
    "grouped_users": lambda rng: grouped_users([20, 30], kappa=4.0, dim=3, rng=rng).features,
    "majority_minority": lambda rng: majority_minority(50, 0.3, 3, 4.0, 1.0, rng).features,
    "leaning_users": lambda rng: leaning_users(50, 3, 2, 0.3, rng).features,
    "item_classes": lambda rng: item_classes(20, 2, 3, 4.0, rng, axes=False).features,
    "erdos_renyi": lambda rng: erdos_renyi(200, 5.0, rng).toarray(),
    "stochastic_block_model": lambda rng: stochastic_block_model(
        [100, 100], 0.05, 0.01, rng
    ).toarray(),
    "barabasi_albert": lambda rng: barabasi_albert(200, 3, rng).toarray(),
}


@pytest.mark.parametrize("name", sorted(RANDOM_BUILDERS))
def test_a_seed_determines_the_result_and_the_global_rng_is_untouched(name):
    build = RANDOM_BUILDERS[name]
    np.random.seed(12345)  # noqa: NPY002 - the legacy global state must stay untouched
    state = np.random.get_state()  # noqa: NPY002
    first, again, other = build(7), build(7), build(8)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    # A Generator is used in place (SPEC 7): the same generator gives fresh draws.
    generator = np.random.default_rng(7)
    np.testing.assert_array_equal(build(generator), first)
    assert not np.array_equal(build(generator), first)
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(a, b) for a, b in zip(state, after))
    # None draws fresh entropy and works.
    assert build(None).shape == first.shape


@pytest.mark.parametrize(
    ("rng", "error", "message"),
    [
        (
            "seed",
            TypeError,
            "`rng` must be a numpy.random.Generator, a non-negative integer seed or None, "
            "got 'seed'",
        ),
        (
            True,
            TypeError,
            "`rng` must be a numpy.random.Generator, a non-negative integer seed or None, got True",
        ),
        (
            1.5,
            TypeError,
            "`rng` must be a numpy.random.Generator, a non-negative integer seed or None, got 1.5",
        ),
        (
            -1,
            ValueError,
            "`rng` must be a numpy.random.Generator, a non-negative integer seed or None, got -1",
        ),
    ],
)
def test_bad_rng_is_rejected(rng, error, message):
    with pytest.raises(error, match=re.escape(message)):
        erdos_renyi(10, 2.0, rng)
    with pytest.raises(error, match=re.escape(message)):
        von_mises_fisher(np.array([1.0, 0.0]), 1.0, 3, rng)


def test_numpy_integer_seed_is_accepted():
    np.testing.assert_array_equal(
        von_mises_fisher(np.array([1.0, 0.0]), 1.0, 3, np.int64(3)),
        von_mises_fisher(np.array([1.0, 0.0]), 1.0, 3, 3),
    )


# --------------------------------------------------------------------- von Mises–Fisher


@pytest.mark.parametrize("dim", [2, 3, 5, 16])
@pytest.mark.parametrize("kappa", [0.0, 0.5, 4.0, 50.0])
def test_vmf_mean_direction_and_mean_resultant_length(dim, kappa):
    rng = np.random.default_rng(dim * 1000 + int(kappa * 10))
    mean = rng.standard_normal(dim)
    mean /= np.linalg.norm(mean)
    n = 20_000
    x = von_mises_fisher(mean, kappa, n, rng=1)
    assert x.shape == (n, dim)
    assert_unit_rows(x)
    cosines = x @ mean
    standard_error = math.sqrt(cosine_variance(dim, kappa) / n)
    assert abs(cosines.mean() - mean_resultant_length(dim, kappa)) < 4 * standard_error
    np.testing.assert_allclose(cosines.var(), cosine_variance(dim, kappa), rtol=0.05)
    # The tangent part is isotropic around μ: mean 0, covariance (1 - E w²)/(d-1) (I - μμᵀ).
    tangent = x - np.outer(cosines, mean)
    np.testing.assert_allclose(tangent.mean(axis=0), 0.0, atol=4 / math.sqrt(n))
    projector = np.eye(dim) - np.outer(mean, mean)
    expected = (1 - np.mean(cosines**2)) / (dim - 1) * projector
    np.testing.assert_allclose(tangent.T @ tangent / n, expected, atol=0.02)


@pytest.mark.parametrize(
    "mean",
    [
        np.array([1.0, 0.0, 0.0]),  # e₀ and -e₀: both Householder branches at their limits
        np.array([-1.0, 0.0, 0.0]),
        np.array([0.0, 0.0, 1.0]),
        np.array([3.0, -4.0, 0.0]),  # not unit: scaled to unit length
        np.array([-1e-300, 1e-300, 0.0]),  # tiny but non-zero
    ],
)
def test_vmf_is_centred_on_any_mean_direction(mean):
    unit = mean / np.abs(mean).max()
    unit /= np.linalg.norm(unit)
    x = von_mises_fisher(mean, 20.0, 5000, rng=0)
    assert_unit_rows(x)
    centre = x.mean(axis=0)
    np.testing.assert_allclose(centre / np.linalg.norm(centre), unit, atol=0.01)


def test_vmf_agrees_with_scipy_in_distribution():
    scipy_vmf = getattr(stats, "vonmises_fisher", None)
    if scipy_vmf is None:
        pytest.skip("scipy.stats.vonmises_fisher needs scipy >= 1.11")
    mean = np.array([0.6, 0.0, -0.8, 0.0, 0.0])
    for kappa in (0.3, 5.0, 200.0):
        ours = von_mises_fisher(mean, kappa, 20_000, rng=3) @ mean
        theirs = scipy_vmf(mean, kappa).rvs(20_000, random_state=np.random.default_rng(4)) @ mean
        assert stats.ks_2samp(ours, theirs).pvalue > 1e-3


def test_vmf_kappa_zero_is_uniform():
    x = von_mises_fisher(np.array([0.0, 1.0, 0.0, 0.0]), 0.0, 40_000, rng=0)
    assert_unit_rows(x)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=4 * math.sqrt(1 / 4 / 40_000))
    np.testing.assert_allclose(x.T @ x / 40_000, np.eye(4) / 4, atol=0.01)


def test_vmf_huge_kappa_is_tight_and_still_unit():
    mean = np.array([0.0, 0.6, 0.8])
    x = von_mises_fisher(mean, 1e12, 1000, rng=0)
    assert_unit_rows(x)
    one_minus_w = 1 - x @ mean  # E(1 - w) ≈ (d - 1) / (2κ) for large κ
    assert 0 <= one_minus_w.max() < 1e-10
    # The same for κ beyond float range of κ²: no overflow, every draw at μ.
    np.testing.assert_allclose(von_mises_fisher(mean, 1e300, 10, rng=0), np.tile(mean, (10, 1)))


def test_vmf_in_one_dimension_is_the_two_point_law():
    x = von_mises_fisher(np.array([-2.0]), 0.4, 40_000, rng=0)
    assert set(np.unique(x)) == {-1.0, 1.0}
    p = expit(0.8)  # P(x = μ) = e^κ / (e^κ + e^-κ)
    assert abs((x[:, 0] == -1.0).mean() - p) < 4 * math.sqrt(p * (1 - p) / 40_000)
    np.testing.assert_allclose(-x.mean(), math.tanh(0.4), atol=0.01)  # A_1(κ) = tanh κ


def test_vmf_size_zero():
    assert von_mises_fisher(np.array([1.0, 0.0]), 2.0, 0, rng=0).shape == (0, 2)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"kappa": math.inf}, ValueError, "`kappa` must be a non-negative finite float, got inf"),
        ({"kappa": -1.0}, ValueError, "`kappa` must be a non-negative finite float, got -1.0"),
        ({"kappa": "1"}, TypeError, "`kappa` must be a non-negative float, got '1'"),
        ({"size": -1}, ValueError, "`size` must be a non-negative integer, got -1"),
        ({"size": 2.0}, TypeError, "`size` must be a non-negative integer, got 2.0"),
        (
            {"mean_direction": [1.0, 0.0]},
            TypeError,
            "`mean_direction` must be a numpy array, got list",
        ),
        (
            {"mean_direction": np.zeros(3)},
            ValueError,
            "`mean_direction` must be a non-zero vector, got [0.0, 0.0, 0.0]",
        ),
        (
            {"mean_direction": np.ones((2, 2))},
            ValueError,
            "`mean_direction` must have shape (*,), got (2, 2)",
        ),
        (
            {"mean_direction": np.array([1.0, np.nan])},
            ValueError,
            "`mean_direction` must hold finite values, got NaN or inf",
        ),
    ],
)
def test_vmf_bad_input(kwargs, error, message):
    arguments = {"mean_direction": np.array([1.0, 0.0]), "kappa": 1.0, "size": 3, "rng": 0}
    with pytest.raises(error, match=re.escape(message)):
        von_mises_fisher(**{**arguments, **kwargs})


# ------------------------------------------------------------------------ populations


def test_grouped_users_sizes_labels_and_centres():
    centers = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, -1.0], [1.0, 1.0, 0.0]])
    kappas = [5.0, 30.0, 0.5]
    users = grouped_users([3000, 1000, 6000], centers=centers, kappa=kappas, rng=0)
    assert isinstance(users, Users)
    assert users.features.shape == (10_000, 3)
    assert_unit_rows(users.features)
    assert users.groups.dtype == np.int64
    np.testing.assert_array_equal(users.groups, np.repeat([0, 1, 2], [3000, 1000, 6000]))
    np.testing.assert_array_equal(users.group_sizes, [3000, 1000, 6000])
    unit = centers / np.linalg.norm(centers, axis=1, keepdims=True)
    np.testing.assert_allclose(users.centers, unit)
    for k, kappa in enumerate(kappas):
        members = users.features[users.groups == k]
        cosines = members @ unit[k]
        standard_error = math.sqrt(cosine_variance(3, kappa) / len(members))
        assert abs(cosines.mean() - mean_resultant_length(3, kappa)) < 4 * standard_error
        tangent = members.mean(axis=0) - cosines.mean() * unit[k]
        assert np.linalg.norm(tangent) < 4 * math.sqrt(1 / len(members))


def test_grouped_users_random_centres_are_unit_and_drawn_first():
    users = grouped_users(np.array([5, 5]), kappa=1e9, dim=4, rng=3)
    assert_unit_rows(users.centers)
    assert users.centers.shape == (2, 4)
    np.testing.assert_allclose(users.features, users.centers[users.groups], atol=1e-4)
    assert users.describe()["parameters"]["centers"] is None


def test_grouped_users_dim_must_match_centres():
    users = grouped_users([1, 1], centers=np.eye(2), dim=2, rng=0)
    assert users.features.shape == (2, 2)
    with pytest.raises(ValueError, match=re.escape("`centers` must have shape (2, 3), got (2, 2)")):
        grouped_users([1, 1], centers=np.eye(2), dim=3, rng=0)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"sizes": [3, 0]},
            ValueError,
            "`sizes` must be a non-empty list of positive integers, got [3, 0]",
        ),
        (
            {"sizes": []},
            ValueError,
            "`sizes` must be a non-empty list of positive integers, got []",
        ),
        ({"sizes": 5}, TypeError, "`sizes` must be a non-empty list of positive integers, got 5"),
        (
            {"sizes": [2.0, 3]},
            TypeError,
            "`sizes` must be a non-empty list of positive integers, got [2.0, 3]",
        ),
        (
            {"sizes": [2], "dim": None},
            ValueError,
            "`dim` must be given when `centers` is None, got None",
        ),
        ({"sizes": [2], "dim": 0}, ValueError, "`dim` must be a positive integer, got 0"),
        (
            {"sizes": [2, 2], "centers": np.eye(3), "dim": None},
            ValueError,
            "`centers` must have shape (2, *), got (3, 3)",
        ),
        (
            {"sizes": [2, 2], "centers": np.array([[1.0, 0.0], [0.0, 0.0]])},
            ValueError,
            "`centers` must have non-zero rows, got a zero row at index 1",
        ),
        (
            {"sizes": [2, 2], "kappa": [1.0]},
            ValueError,
            "`kappa` must be a float or a list of 2 floats, got [1.0]",
        ),
        (
            {"sizes": [2, 2], "kappa": [1.0, -2.0]},
            ValueError,
            "`kappa` must be a non-negative finite float, got -2.0",
        ),
    ],
)
def test_grouped_users_bad_input(kwargs, error, message):
    arguments = {"dim": 2, "rng": 0, **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        grouped_users(**arguments)


@pytest.mark.parametrize("angle", [0.0, 0.3, math.pi / 2, 2.0, math.pi])
def test_majority_minority_centres_are_separation_angle_apart(angle):
    users = majority_minority(1000, 0.2, dim=6, kappa=8.0, separation_angle=angle, rng=5)
    assert_unit_rows(users.centers)
    cosine = float(np.clip(users.centers[0] @ users.centers[1], -1, 1))
    assert math.acos(cosine) == pytest.approx(angle, abs=1e-7)
    np.testing.assert_array_equal(users.group_sizes, [800, 200])
    np.testing.assert_array_equal(users.groups, np.repeat([0, 1], [800, 200]))
    assert_unit_rows(users.features)
    for k in (0, 1):
        members = users.features[users.groups == k]
        cosines = members @ users.centers[k]
        standard_error = math.sqrt(cosine_variance(6, 8.0) / len(members))
        assert abs(cosines.mean() - mean_resultant_length(6, 8.0)) < 4 * standard_error


def test_majority_minority_rounds_half_up_and_describes_itself():
    users = majority_minority(10, 0.25, dim=2, rng=0)  # 2.5 users -> 3
    np.testing.assert_array_equal(users.group_sizes, [7, 3])
    description = users.describe()
    json.dumps(description)
    assert description["builder"] == "majority_minority"
    assert description["parameters"] == {
        "n_users": 10,
        "minority_share": 0.25,
        "dim": 2,
        "kappa": 10.0,
        "separation_angle": math.pi / 2,
        "rng": 0,
    }
    assert description["group_sizes"] == [7, 3]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"minority_share": 1.5},
            ValueError,
            "`minority_share` must be a float in (0, 1), got 1.5",
        ),
        ({"minority_share": 0}, ValueError, "`minority_share` must be a float in (0, 1), got 0"),
        (
            {"minority_share": "0.2"},
            TypeError,
            "`minority_share` must be a float in (0, 1), got '0.2'",
        ),
        (
            {"minority_share": 0.01},
            ValueError,
            "`minority_share` * `n_users` must round to a group size in [1, n_users - 1], "
            "got 0.01 * 10 = 0.1",
        ),
        (
            {"minority_share": 0.99},
            ValueError,
            "`minority_share` * `n_users` must round to a group size in [1, n_users - 1], "
            "got 0.99 * 10 = 9.9",
        ),
        ({"dim": 1}, ValueError, "`dim` must be at least 2, got 1"),
        (
            {"separation_angle": 4.0},
            ValueError,
            "`separation_angle` must be a float in [0, 3.14159], got 4.0",
        ),
        (
            {"separation_angle": math.nan},
            ValueError,
            "`separation_angle` must be a float in [0, 3.14159], got nan",
        ),
        ({"n_users": 0}, ValueError, "`n_users` must be a positive integer, got 0"),
    ],
)
def test_majority_minority_bad_input(kwargs, error, message):
    arguments = {"n_users": 10, "minority_share": 0.2, "dim": 3, "rng": 0, **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        majority_minority(**arguments)


def leaning_alignment(dim: int, leaning: float) -> float:
    """E⟨normalise(u + λe), e⟩ for u uniform on S^(d-1): the predicted leaning."""
    density = lambda t: (1 - t * t) ** ((dim - 3) / 2) / beta_function(0.5, (dim - 1) / 2)  # noqa: E731
    value, _ = quad(
        lambda t: (t + leaning) / math.sqrt(1 + 2 * leaning * t + leaning**2) * density(t), -1, 1
    )
    return value


@pytest.mark.parametrize(("dim", "leaning"), [(3, 0.1), (5, 0.3), (8, 0.05), (5, 2.0)])
def test_leaning_users_lean_by_the_predicted_amount(dim, leaning):
    n, n_classes = 30_000, 3
    users = leaning_users(n, dim=dim, n_classes=n_classes, leaning=leaning, rng=2)
    assert_unit_rows(users.features)
    np.testing.assert_array_equal(users.group_sizes, [10_000] * 3)
    np.testing.assert_array_equal(users.centers, np.eye(n_classes, dim))
    predicted = leaning_alignment(dim, leaning)
    if leaning < 0.5:
        assert predicted == pytest.approx(leaning * (dim - 1) / dim, rel=0.1)
    cosines = users.features[:, :n_classes]  # ⟨s_i, e_k⟩
    own = cosines[np.arange(n), users.groups]
    others = cosines[np.arange(n)[:, None], (users.groups[:, None] + [1, 2]) % n_classes]
    standard_error = math.sqrt(1 / dim / n)
    assert abs(own.mean() - predicted) < 5 * standard_error
    assert abs(others.mean()) < 5 * standard_error
    assert abs(own.mean() - others.mean() - predicted) < 6 * standard_error


def test_leaning_users_balanced_contiguous_classes_and_zero_leaning():
    users = leaning_users(10, dim=3, n_classes=3, leaning=0.0, rng=0)
    np.testing.assert_array_equal(users.groups, [0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    uniform = leaning_users(20_000, dim=4, n_classes=2, leaning=0.0, rng=0).features
    np.testing.assert_allclose(uniform.mean(axis=0), 0.0, atol=4 * math.sqrt(1 / 4 / 20_000))


def test_leaning_users_zero_sum_becomes_the_class_axis():
    # d = 1, λ = 1: u = -1 happens with probability 1/2 and u + λ = 0.
    users = leaning_users(200, dim=1, n_classes=1, leaning=1.0, rng=0)
    np.testing.assert_array_equal(users.features, np.ones((200, 1)))


def test_leaning_users_bad_input():
    with pytest.raises(ValueError, match=re.escape("`dim` must be at least 3, got 2")):
        leaning_users(10, dim=2, n_classes=3)
    with pytest.raises(
        ValueError, match=re.escape("`leaning` must be a non-negative finite float, got -0.1")
    ):
        leaning_users(10, leaning=-0.1)
    with pytest.raises(
        TypeError, match=re.escape("`n_classes` must be a positive integer, got 2.0")
    ):
        leaning_users(10, n_classes=2.0)


# ------------------------------------------------------------------------- result types


def test_results_are_frozen_read_only_and_json_describable():
    users = grouped_users([2, 3], dim=3, rng=np.random.default_rng(0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        users.features = np.zeros((5, 3))
    for array in (users.features, users.groups, users.centers):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0
    with pytest.raises(TypeError):
        users.parameters["kappa"] = 1.0
    description = users.describe()
    assert json.loads(json.dumps(description)) == description
    assert description["parameters"]["rng"] == "Generator(PCG64)"
    assert description["n"] == 5 and description["dim"] == 3
    description["parameters"]["sizes"].append(9)  # a fresh copy
    assert users.describe()["parameters"]["sizes"] == [2, 3]
    assert repr(users) == "Users(builder='grouped_users', n=5, dim=3, group_sizes=[2, 3])"
    # Built by hand: read-only views, the caller's arrays stay writable.
    features = np.eye(2)
    by_hand = Users(features, np.array([0, 1]), np.eye(2), {"builder": "by hand"})
    features[0, 0] = 0.5
    assert by_hand.features[0, 0] == 0.5 and not by_hand.features.flags.writeable
    for result in (
        leaning_users(4, 2, 2, 0.1, rng=0),
        item_classes(4, 2, 2, rng=0),
        balanced_catalogue(2),
    ):
        json.dumps(result.describe())


# ------------------------------------------------------------------------- catalogues


def test_item_classes_around_the_axes():
    items = item_classes(10_001, n_classes=4, dim=6, kappa=25.0, rng=0)
    assert isinstance(items, Catalogue)
    assert_unit_rows(items.features)
    np.testing.assert_array_equal(items.group_sizes, [2501, 2500, 2500, 2500])
    np.testing.assert_array_equal(items.groups, np.repeat(np.arange(4), [2501, 2500, 2500, 2500]))
    np.testing.assert_array_equal(items.centers, np.eye(4, 6))
    for k in range(4):
        cosines = items.features[items.groups == k, k]
        standard_error = math.sqrt(cosine_variance(6, 25.0) / len(cosines))
        assert abs(cosines.mean() - mean_resultant_length(6, 25.0)) < 4 * standard_error


def test_item_classes_random_centres():
    items = item_classes(600, n_classes=8, dim=3, kappa=1e8, rng=1, axes=False)
    assert_unit_rows(items.centers)
    assert not np.allclose(np.abs(items.centers).max(axis=1), 1.0)
    np.testing.assert_allclose(items.features, items.centers[items.groups], atol=1e-3)


def test_item_classes_bad_input():
    with pytest.raises(ValueError, match=re.escape("`dim` must be at least 4, got 3")):
        item_classes(10, n_classes=4, dim=3)
    item_classes(10, n_classes=4, dim=3, axes=False)  # random centres need no room
    with pytest.raises(
        ValueError, match=re.escape("`n_items` must be at least `n_classes` = 4, got 3")
    ):
        item_classes(3, n_classes=4, dim=5)
    with pytest.raises(TypeError, match=re.escape("`axes` must be a bool, got 1")):
        item_classes(10, 2, 3, axes=1)


@pytest.mark.parametrize("per_direction", [1, 3])
def test_balanced_catalogue_is_exactly_the_signed_axes(per_direction):
    dim = 4
    items = balanced_catalogue(dim, per_direction)
    signed = np.concatenate([np.eye(dim), -np.eye(dim)])[
        np.ravel(np.column_stack([np.arange(dim), np.arange(dim) + dim]))
    ]
    np.testing.assert_array_equal(items.centers, signed)
    np.testing.assert_array_equal(items.features, np.repeat(signed, per_direction, axis=0))
    assert not np.signbit(items.features[items.features == 0]).any()  # no -0.0
    k = items.groups
    np.testing.assert_array_equal(k, np.repeat(np.arange(2 * dim), per_direction))
    axis, sign = k // 2, 1 - 2 * (k % 2)
    np.testing.assert_array_equal(items.features[np.arange(k.size), axis], sign)
    assert items.features.sum() == 0 and items.describe()["builder"] == "balanced_catalogue"


def test_balanced_catalogue_bad_input():
    with pytest.raises(
        ValueError, match=re.escape("`per_direction` must be a positive integer, got 0")
    ):
        balanced_catalogue(3, 0)
    with pytest.raises(TypeError, match=re.escape("`dim` must be a positive integer, got '3'")):
        balanced_catalogue("3")


# ------------------------------------------------------------------------ Erdős–Rényi


def test_erdos_renyi_degrees_are_binomial():
    n, mean_degree = 20_000, 10.0
    graph = erdos_renyi(n, mean_degree, rng=0)
    assert_simple_undirected(graph, n)
    degree = degrees(graph)
    p = mean_degree / (n - 1)
    # Mean degree: 2M/n with M ~ Binomial(n(n-1)/2, p): standard error √(2 μ (1-p) / n).
    assert abs(degree.mean() - mean_degree) < 4 * math.sqrt(2 * mean_degree * (1 - p) / n)
    assert degree.var() == pytest.approx((n - 1) * p * (1 - p), rel=0.05)
    # Low and high node ids alike (the triangular index decodes uniformly).
    half = n // 2
    assert abs(degree[:half].mean() - degree[half:].mean()) < 4 * math.sqrt(2 * mean_degree / half)
    support = np.arange(degree.max() + 1)
    pmf = stats.binom.pmf(support, n - 1, p)
    observed = Counter(degree.tolist())
    probabilities = dict(zip(support.tolist(), pmf))
    probabilities[-1] = 1 - pmf.sum()  # degrees above the observed maximum
    assert chi_square_pvalue(observed, probabilities, n) > 1e-3


SAMPLES = [1500, pytest.param(20_000, marks=pytest.mark.slow)]


@pytest.mark.parametrize("samples", SAMPLES)
def test_erdos_renyi_small_graphs_have_the_exact_law(samples):
    # n = 4, p = 1/2: each of the 2⁶ graphs has probability 1/64 (both sampling paths:
    # M <= 3 draws the edges, M > 3 draws the non-edges).
    observed = Counter(edge_set(erdos_renyi(4, 1.5, rng=seed)) for seed in range(samples))
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    graphs = [frozenset(p for p, bit in zip(pairs, bits) if bit) for bits in np.ndindex(*[2] * 6)]
    assert chi_square_pvalue(observed, dict.fromkeys(graphs, 1 / 64), samples) > 1e-3


def test_erdos_renyi_edge_cases():
    assert erdos_renyi(1, 0.0, rng=0).shape == (1, 1)
    assert erdos_renyi(50, 0.0, rng=0).nnz == 0
    complete = erdos_renyi(30, 29.0, rng=0)
    assert_simple_undirected(complete, 30)
    assert complete.nnz == 30 * 29
    assert erdos_renyi(30, 29, rng=0).nnz == 30 * 29  # an int mean degree


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"mean_degree": 10.0},
            ValueError,
            "`mean_degree` must be a float in [0, 9], got 10.0",
        ),
        (
            {"mean_degree": -1.0},
            ValueError,
            "`mean_degree` must be a float in [0, 9], got -1.0",
        ),
        (
            {"mean_degree": math.nan},
            ValueError,
            "`mean_degree` must be a float in [0, 9], got nan",
        ),
        (
            {"mean_degree": None},
            TypeError,
            "`mean_degree` must be a float in [0, 9], got None",
        ),
        ({"n": 0}, ValueError, "`n` must be a positive integer, got 0"),
        ({"n": 10.0}, TypeError, "`n` must be a positive integer, got 10.0"),
    ],
)
def test_erdos_renyi_bad_input(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        erdos_renyi(**{"n": 10, "mean_degree": 2.0, "rng": 0, **kwargs})


@pytest.mark.slow
def test_erdos_renyi_at_a_million_nodes():
    n, mean_degree = 10**6, 10.0
    graph = erdos_renyi(n, mean_degree, rng=0)
    assert_simple_undirected(graph, n)
    assert abs(degrees(graph).mean() - mean_degree) < 4 * math.sqrt(2 * mean_degree / n)
    assert graph.indices.dtype == np.int32


# ---------------------------------------------------------------------------- SBM


def test_stochastic_block_model_densities_match_p_in_and_p_out():
    sizes, p_in, p_out = [3000, 1000, 2000], 0.01, 0.001
    graph = stochastic_block_model(sizes, p_in, p_out, rng=0)
    n = sum(sizes)
    assert_simple_undirected(graph, n)
    starts = np.cumsum([0, *sizes])
    for a in range(3):
        for b in range(a, 3):
            block = graph[starts[a] : starts[a + 1], starts[b] : starts[b + 1]]
            if a == b:
                pairs, p, edges = sizes[a] * (sizes[a] - 1) // 2, p_in, block.nnz // 2
            else:
                pairs, p, edges = sizes[a] * sizes[b], p_out, block.nnz
            assert abs(edges - pairs * p) < 4 * math.sqrt(pairs * p * (1 - p)), (a, b)
    # Per-block mean degree within a few standard errors of its target.
    for a in range(3):
        target = p_in * (sizes[a] - 1) + p_out * (n - sizes[a])
        mean = degrees(graph)[starts[a] : starts[a + 1]].mean()
        assert abs(mean - target) < 4 * math.sqrt(2 * target / sizes[a])


@pytest.mark.parametrize("samples", SAMPLES)
def test_stochastic_block_model_small_graphs_have_the_exact_law(samples):
    # Blocks {0, 1} and {2, 3}: 2 pairs inside (p_in), 4 between (p_out).
    p_in, p_out = 0.7, 0.2
    observed = Counter(
        edge_set(stochastic_block_model([2, 2], p_in, p_out, rng=seed)) for seed in range(samples)
    )
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    law = {}
    for bits in np.ndindex(*[2] * 6):
        probability = 1.0
        for (i, j), bit in zip(pairs, bits):
            p = p_in if i // 2 == j // 2 else p_out
            probability *= p if bit else 1 - p
        law[frozenset(pair for pair, bit in zip(pairs, bits) if bit)] = probability
    assert chi_square_pvalue(observed, law, samples) > 1e-3


def test_stochastic_block_model_accepts_labels_in_any_order():
    users = grouped_users([40, 25, 35], dim=3, rng=0)
    order = np.random.default_rng(1).permutation(100)
    labels = users.groups[order]  # shuffled: not contiguous
    from_labels = stochastic_block_model(labels, 0.3, 0.05, rng=4)
    from_sizes = stochastic_block_model([40, 25, 35], 0.3, 0.05, rng=4)
    # The same draws: node k of the label version is the rank of k within its block.
    members = np.argsort(labels, kind="stable")
    assert (from_labels[members][:, members] != from_sizes).nnz == 0
    # Contiguous labels (Users.groups) give the sizes version itself.
    assert (stochastic_block_model(users.groups, 0.3, 0.05, rng=4) != from_sizes).nnz == 0
    communities = stochastic_block_model(labels, 1.0, 0.0, rng=0)
    rows, cols = communities.nonzero()
    assert np.all(labels[rows] == labels[cols])
    assert communities.nnz == sum(s * (s - 1) for s in (40, 25, 35))
    multipartite = stochastic_block_model(labels, 0.0, 1.0, rng=0)
    rows, cols = multipartite.nonzero()
    assert np.all(labels[rows] != labels[cols])
    assert multipartite.nnz == 100 * 99 - sum(s * (s - 1) for s in (40, 25, 35))


def test_one_block_is_erdos_renyi():
    n, p = 1025, 0.01  # n - 1 = 1024: p · (n - 1) / (n - 1) == p exactly
    assert (
        stochastic_block_model([n], p, 0.5, rng=9) != erdos_renyi(n, p * (n - 1), rng=9)
    ).nnz == 0


@pytest.mark.parametrize(
    ("groups", "error", "message"),
    [
        (
            {"a": 1},
            TypeError,
            "`groups` must be a list or tuple of block sizes or a 1-D integer numpy array of "
            "labels, got dict",
        ),
        ([3, 0], ValueError, "`groups` must be a non-empty list of positive integers, got [3, 0]"),
        (
            np.array([500, 500]),
            ValueError,
            "`groups` must use every label 0..500 (labels, one per node; pass block sizes as a "
            "list or tuple), got no node with label 0",
        ),
        (np.array([0, 2, 2]), ValueError, "got no node with label 1"),
        (np.array([0, -1]), ValueError, "`groups` must hold labels >= 0, got -1"),
        (
            np.array([0.0, 1.0]),
            TypeError,
            "`groups` must be a 1-D integer array of labels, got dtype float64 and shape (2,)",
        ),
        (
            np.array([], dtype=int),
            ValueError,
            "`groups` must label at least one node, got an empty array",
        ),
    ],
)
def test_stochastic_block_model_bad_groups(groups, error, message):
    with pytest.raises(error, match=re.escape(message)):
        stochastic_block_model(groups, 0.5, 0.1, rng=0)


def test_stochastic_block_model_bad_probabilities():
    with pytest.raises(ValueError, match=re.escape("`p_in` must be a float in [0, 1], got 1.5")):
        stochastic_block_model([2, 2], 1.5, 0.1)
    with pytest.raises(TypeError, match=re.escape("`p_out` must be a float in [0, 1], got '0.1'")):
        stochastic_block_model([2, 2], 0.5, "0.1")


def test_stochastic_block_model_empty_and_single_nodes():
    assert stochastic_block_model([1, 1, 1], 0.5, 0.0, rng=0).nnz == 0
    assert stochastic_block_model([5, 5], 0.0, 0.0, rng=0).nnz == 0


@pytest.mark.slow
def test_stochastic_block_model_at_a_million_nodes():
    n = 10**6
    graph = stochastic_block_model([n // 2, n // 2], 16 / n, 4 / n, rng=0)
    assert_simple_undirected(graph, n)
    target = 16 / n * (n // 2 - 1) + 4 / n * (n // 2)
    assert abs(degrees(graph).mean() - target) < 4 * math.sqrt(2 * target / n)


# ------------------------------------------------------------------------ Barabási–Albert


def subset_law(weights: dict[int, float], m: int) -> dict[frozenset, float]:
    """Law of the first m distinct values of i.i.d. draws with the given probabilities."""
    law: dict[frozenset, float] = defaultdict(float)

    def extend(chosen: list[int], probability: float, mass: float) -> None:
        if len(chosen) == m:
            law[frozenset(chosen)] += probability
            return
        for node, weight in weights.items():
            if node not in chosen:
                extend([*chosen, node], probability * weight / (1 - mass), mass + weight)

    extend([], 1.0, 0.0)
    return law


def barabasi_albert_law(n: int, m: int) -> dict[frozenset, float]:
    """Exact law of networkx's barabasi_albert_graph(n, m) (star seed), by enumeration."""
    law = {frozenset((0, j) for j in range(1, m + 1)): 1.0}
    for v in range(m + 1, n):
        grown: dict[frozenset, float] = defaultdict(float)
        for graph, probability in law.items():
            degree = Counter(node for edge in graph for node in edge)
            weights = {node: d / (2 * len(graph)) for node, d in degree.items()}
            for targets, q in subset_law(weights, m).items():
                grown[graph | {(t, v) for t in targets}] += probability * q
        law = grown
    return law


@pytest.mark.parametrize("samples", SAMPLES)
@pytest.mark.parametrize(("n", "m"), [(6, 2), (6, 3)])
def test_barabasi_albert_small_graphs_have_the_exact_law(n, m, samples):
    # Early nodes repeat targets often: this exercises the ordered fix-up of repeats and
    # the propagation of redrawn targets to the edges that copied them.
    law = barabasi_albert_law(n, m)
    observed = Counter(edge_set(barabasi_albert(n, m, rng=seed)) for seed in range(samples))
    assert chi_square_pvalue(observed, law, samples) > 1e-3


def test_barabasi_albert_matches_networkx_in_distribution():
    nx = pytest.importorskip("networkx")
    n, m, runs = 300, 3, 200
    ours = [degrees(barabasi_albert(n, m, rng=seed)) for seed in range(runs)]
    theirs = [
        np.array([d for _, d in sorted(nx.barabasi_albert_graph(n, m, seed=seed).degree())])
        for seed in range(runs)
    ]
    for statistic in (
        lambda d: d.max(),
        lambda d: d[0],
        lambda d: d[m + 1],
        lambda d: (d**2).sum(),
    ):
        first = [statistic(d) for d in ours]
        second = [statistic(d) for d in theirs]
        assert stats.mannwhitneyu(first, second).pvalue > 1e-3


def test_barabasi_albert_edges_degrees_and_heavy_tail():
    n, m = 50_000, 4
    graph = barabasi_albert(n, m, rng=0)
    assert_simple_undirected(graph, n)
    degree = degrees(graph)
    assert graph.nnz // 2 == m * (n - m)
    assert degree[m + 1 :].min() >= m
    assert degree.max() > 20 * degree.mean()
    # P(K >= k) = m(m+1) / (k(k+1)) for the BA degree law P(k) = 2m(m+1) / (k(k+1)(k+2)).
    for k in (4 * m, 10 * m):
        assert (degree >= k).mean() == pytest.approx(m * (m + 1) / (k * (k + 1)), rel=0.15)


def test_barabasi_albert_edge_cases():
    star = barabasi_albert(4, 3, rng=0)
    np.testing.assert_array_equal(degrees(star), [3, 1, 1, 1])
    path = barabasi_albert(2, 1, rng=0)
    assert path.nnz == 2
    tree = barabasi_albert(1000, 1, rng=0)  # m = 1: a tree, no repeats possible
    assert_simple_undirected(tree, 1000)
    assert tree.nnz // 2 == 999


def test_barabasi_albert_bad_input():
    with pytest.raises(ValueError, match=re.escape("`n` must be at least `m` + 1 = 6, got 5")):
        barabasi_albert(5, 5)
    with pytest.raises(ValueError, match=re.escape("`m` must be a positive integer, got 0")):
        barabasi_albert(5, 0)


@pytest.mark.slow
def test_barabasi_albert_at_a_million_nodes():
    n, m = 10**6, 5
    graph = barabasi_albert(n, m, rng=0)
    assert_simple_undirected(graph, n)
    assert graph.nnz // 2 == m * (n - m)
    assert degrees(graph)[m + 1 :].min() >= m


# -------------------------------------------------------------------------- as_adjacency


WEIGHTED = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 0.5], [0.0, 0.0, 0.0]])


@pytest.mark.parametrize(
    "convert",
    [
        sp.csr_array,
        sp.csr_matrix,
        sp.coo_array,
        sp.csc_array,
        sp.csc_matrix,
        sp.lil_array,
        sp.dok_array,
    ],
)
def test_as_adjacency_accepts_every_scipy_format_and_keeps_direction(convert):
    source = convert(WEIGHTED)
    adjacency = as_adjacency(source, 3)
    assert isinstance(adjacency, sp.csr_array)
    assert adjacency.dtype == np.float64 and adjacency.has_canonical_format
    np.testing.assert_array_equal(adjacency.toarray(), WEIGHTED)  # directed stays directed
    assert adjacency is not source


def test_as_adjacency_sums_duplicates_drops_zeros_and_copies():
    coo = sp.coo_array(([1, 2, 0], ([0, 0, 1], [1, 1, 0])), shape=(2, 2))
    adjacency = as_adjacency(coo, 2)
    np.testing.assert_array_equal(adjacency.toarray(), [[0, 3], [0, 0]])
    assert adjacency.nnz == 1
    source = sp.csr_array(WEIGHTED)
    adjacency = as_adjacency(source, 3)
    source.data[:] = 7.0
    assert adjacency.toarray().max() == 2.0
    boolean = as_adjacency(sp.csr_array(np.array([[False, True], [True, False]])), 2)
    assert boolean.dtype == np.float64


def test_as_adjacency_accepts_networkx_graphs():
    nx = pytest.importorskip("networkx")
    undirected = nx.Graph([(0, 1), (1, 2)])
    undirected.add_node(3)
    adjacency = as_adjacency(undirected, 4)
    np.testing.assert_array_equal(
        adjacency.toarray(), [[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    )
    directed = nx.DiGraph()
    directed.add_weighted_edges_from([(0, 1, 2.0), (1, 0, 0.5), (2, 1, 1.0)])
    np.testing.assert_array_equal(
        as_adjacency(directed, 3).toarray(), [[0, 2, 0], [0.5, 0, 0], [0, 1, 0]]
    )
    multi = nx.MultiGraph([(0, 1), (0, 1)])
    np.testing.assert_array_equal(as_adjacency(multi, 2).toarray(), [[0, 2], [2, 0]])
    shuffled = nx.Graph()
    shuffled.add_edges_from([(2, 0), (1, 2)])  # node order 2, 0, 1: rows still by node id
    np.testing.assert_array_equal(
        as_adjacency(shuffled, 3).toarray(), [[0, 0, 1], [0, 0, 1], [1, 1, 0]]
    )
    generated = nx.barabasi_albert_graph(50, 2, seed=0)
    assert_simple_undirected(as_adjacency(generated, 50), 50)


def test_as_adjacency_rejects_networkx_graphs_with_other_nodes():
    nx = pytest.importorskip("networkx")
    with pytest.raises(
        ValueError,
        match=re.escape("`graph` must have the nodes 0 .. 1 (one per user), got node 'a'"),
    ):
        as_adjacency(nx.Graph([("a", 0)]), 2)
    with pytest.raises(
        ValueError, match=re.escape("`graph` must have the nodes 0 .. 1 (one per user), got node 5")
    ):
        as_adjacency(nx.Graph([(0, 5)]), 2)
    with pytest.raises(
        ValueError, match=re.escape("`graph` must have shape (2, 2) for `n_users` = 2, got (0, 0)")
    ):
        as_adjacency(nx.Graph(), 2)
    with pytest.raises(
        ValueError, match=re.escape("`graph` must have no self loops, got 1 (the first at node 1)")
    ):
        as_adjacency(nx.Graph([(0, 1), (1, 1)]), 2)


@pytest.mark.parametrize(
    ("graph", "error", "message"),
    [
        (
            WEIGHTED,
            TypeError,
            "`graph` must be a scipy.sparse array or matrix or a networkx graph, got ndarray",
        ),
        (
            WEIGHTED.tolist(),
            TypeError,
            "`graph` must be a scipy.sparse array or matrix or a networkx graph, got list",
        ),
        (
            None,
            TypeError,
            "`graph` must be a scipy.sparse array or matrix or a networkx graph, got NoneType",
        ),
        (
            sp.csr_array(WEIGHTED.astype(complex)),
            TypeError,
            "`graph` must hold real weights, got dtype complex128",
        ),
        (
            sp.csr_array(np.ones((3, 2))),
            ValueError,
            "`graph` must have shape (3, 3) for `n_users` = 3, got (3, 2)",
        ),
        (
            sp.csr_array(np.eye(4)[:, ::-1]),
            ValueError,
            "`graph` must have shape (3, 3) for `n_users` = 3, got (4, 4)",
        ),
        (
            sp.csr_array(-WEIGHTED),
            ValueError,
            "`graph` must hold non-negative finite weights, got -2.0 at (0, 1)",
        ),
        (
            sp.csr_array(np.where(WEIGHTED == 0.5, np.nan, WEIGHTED)),
            ValueError,
            "`graph` must hold non-negative finite weights, got nan at (1, 2)",
        ),
        (
            sp.csr_array(np.where(WEIGHTED == 0.5, np.inf, WEIGHTED)),
            ValueError,
            "`graph` must hold non-negative finite weights, got inf at (1, 2)",
        ),
        (
            sp.csr_array(WEIGHTED + np.diag([0, 1, 1])),
            ValueError,
            "`graph` must have no self loops, got 2 (the first at node 1)",
        ),
        (sp.coo_array(np.ones(3)), ValueError, "`graph` must be 2-D, got shape (3,)"),
    ],
)
def test_as_adjacency_bad_input(graph, error, message):
    with pytest.raises(error, match=re.escape(message)):
        as_adjacency(graph, 3)


def test_as_adjacency_bad_n_users():
    with pytest.raises(ValueError, match=re.escape("`n_users` must be a positive integer, got 0")):
        as_adjacency(sp.csr_array((0, 0)), 0)


def test_a_generated_graph_is_its_own_canonical_form():
    graph = stochastic_block_model([30, 20], 0.2, 0.05, rng=0)
    again = as_adjacency(graph, 50)
    np.testing.assert_array_equal(again.indptr, graph.indptr)
    np.testing.assert_array_equal(again.indices, graph.indices)
    np.testing.assert_array_equal(again.data, graph.data)


# ------------------------------------------------------------------------- row_normalize


def test_row_normalize_makes_rows_distributions_and_keeps_isolated_rows_zero():
    adjacency = sp.coo_array(
        np.array(
            [
                [0.0, 1.0, 3.0, 0.0],
                [0.0, 0.0, 0.0, 0.0],  # isolated
                [2.0, 2.0, 1.0, 0.0],  # a self loop is allowed here
                [0.0, 0.0, 0.0, 0.0],  # isolated last row
            ]
        )
    )
    normalized = row_normalize(adjacency)
    assert isinstance(normalized, sp.csr_array) and normalized.dtype == np.float64
    np.testing.assert_allclose(normalized.sum(axis=1), [1.0, 0.0, 1.0, 0.0])
    np.testing.assert_allclose(normalized.toarray()[0], [0, 0.25, 0.75, 0])
    np.testing.assert_allclose(normalized.toarray()[2], [0.4, 0.4, 0.2, 0])
    assert normalized.nnz == 5


def test_row_normalize_of_a_generated_graph():
    graph = erdos_renyi(2000, 5.0, rng=0)
    normalized = row_normalize(graph)
    degree = degrees(graph)
    np.testing.assert_allclose(normalized.sum(axis=1), (degree > 0).astype(float), atol=1e-12)
    np.testing.assert_array_equal(normalized.indices, graph.indices)
    assert graph.data.max() == 1.0  # the input is not changed


def test_row_normalize_bad_input():
    with pytest.raises(
        TypeError,
        match=re.escape("`adjacency` must be a scipy.sparse array or matrix, got ndarray"),
    ):
        row_normalize(np.eye(2))
    with pytest.raises(ValueError, match=re.escape("`adjacency` must be square, got shape (2, 3)")):
        row_normalize(sp.csr_array(np.ones((2, 3))))
    with pytest.raises(
        ValueError,
        match=re.escape("`adjacency` must hold non-negative finite weights, got -1.0 at (1, 0)"),
    ):
        row_normalize(sp.csr_array(np.array([[0.0, 1.0], [-1.0, 0.0]])))
