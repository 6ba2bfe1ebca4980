"""Idiosyncratic user × item normals from a counter-based hash."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import kstest

import recgym._idiosyncratic
from recgym._idiosyncratic import _mix, idiosyncratic_key, idiosyncratic_normals

KEY = 0x0123456789ABCDEFFEDCBA9876543210


def test_mix_is_splitmix64s_finaliser():
    # SplitMix64 seeded with 0 outputs mix(γ), mix(2γ), mix(3γ): its published first values.
    gamma = 0x9E3779B97F4A7C15
    states = np.array([gamma, 2 * gamma % 2**64, 3 * gamma % 2**64], dtype=np.uint64)
    assert [int(x) for x in _mix(states)] == [
        0xE220A8397B1DCDAF,
        0x6E789E6AA1B965F4,
        0x06C45D188009454F,
    ]


def test_pinned_values():
    # Catches any change of the hash or of the map to normals (rtol allows a last-bit
    # difference of scipy's ndtri between builds).
    users = np.array([0, 1, 2, 2**40, 2**63 - 1])
    items = np.array([0, 1, 7, 2**62])
    expected = [
        [0.5355057885473935, 0.09069595572361085, -0.46521330893441987, -0.8231647566229399],
        [0.9564950006439278, 0.47173752610472947, 0.7129699770760957, 1.1014491868151775],
        [2.4214884396889715, 0.04969713679313762, -0.9752635747022648, 1.442114134050642],
        [0.20395901824752224, -1.3931055130896564, -0.2605207309430977, -0.7918411272512677],
        [-0.9385697719728535, 0.08233383056425997, -0.7895132586480469, -0.8802862297482675],
    ]
    assert_allclose(idiosyncratic_normals(KEY, users[:, None], items), expected, rtol=1e-14)
    assert_allclose(idiosyncratic_normals(0, 0, 0), 0.7157147418741818, rtol=1e-14)


def test_pinned_key():
    assert idiosyncratic_key(np.random.SeedSequence(0)) == 0xABF4641A2C71BA49DB2CD7E7B0F478BE


def test_same_inputs_same_outputs_whatever_the_batch():
    rng = np.random.default_rng(0)
    users = rng.integers(0, 10**9, size=200)
    slates = rng.integers(0, 10**6, size=(200, 5))
    batch = idiosyncratic_normals(KEY, users[:, None], slates)
    assert_array_equal(batch, idiosyncratic_normals(KEY, users[:, None], slates))
    # The same pair gives the same bits alone, in another batch, in another order.
    order = rng.permutation(200)
    assert_array_equal(batch[order], idiosyncratic_normals(KEY, users[order, None], slates[order]))
    for row, column in [(0, 0), (17, 3), (199, 4)]:
        alone = idiosyncratic_normals(KEY, int(users[row]), int(slates[row, column]))
        assert alone.shape == ()
        assert alone == batch[row, column]


def test_broadcasting_and_dtypes():
    users = np.arange(4)
    items = np.arange(6)
    table = idiosyncratic_normals(KEY, users[:, None], items)
    assert table.shape == (4, 6)
    assert table.dtype == np.float64
    assert_array_equal(idiosyncratic_normals(KEY, users, 3), table[:, 3])
    assert_array_equal(idiosyncratic_normals(KEY, 2, items), table[2])
    assert_array_equal(
        idiosyncratic_normals(KEY, users[:, None, None], items[None, :, None]), table[:, :, None]
    )
    # Any integer dtype gives the same values as int64.
    for dtype in (np.int32, np.uint16, np.uint64):
        assert_array_equal(
            idiosyncratic_normals(KEY, users.astype(dtype)[:, None], items.astype(dtype)), table
        )
    assert idiosyncratic_normals(KEY, np.zeros(0, dtype=np.int64), 1).shape == (0,)


def test_users_and_items_are_not_interchangeable():
    table = idiosyncratic_normals(0, np.arange(50)[:, None], np.arange(50))
    assert not np.allclose(table, table.T)


def test_standard_normal_ks():
    users = np.arange(400)[:, None]
    items = np.arange(250)  # 10⁵ pairs
    values = idiosyncratic_normals(KEY, users, items).ravel()
    assert kstest(values, "norm").pvalue > 1e-3
    assert len(np.unique(values)) == len(values)
    assert np.abs(values).max() < 8.3


def test_sparse_ids_are_standard_normal_too():
    rng = np.random.default_rng(1)
    users = rng.integers(0, 2**62, size=(1000, 1))
    items = rng.integers(0, 2**40, size=(1000, 100))
    assert kstest(idiosyncratic_normals(KEY, users, items).ravel(), "norm").pvalue > 1e-3


def _correlation(a, b):
    return np.corrcoef(a.ravel(), b.ravel())[0, 1]


def test_neighbouring_ids_and_keys_are_uncorrelated():
    users = np.arange(501)[:, None]
    items = np.arange(201)
    table = idiosyncratic_normals(KEY, users, items)
    bound = 4 / np.sqrt(500 * 200)  # four standard errors of a correlation of N pairs
    assert abs(_correlation(table[:-1], table[1:])) < bound  # user u vs u + 1
    assert abs(_correlation(table[:, :-1], table[:, 1:])) < bound  # item j vs j + 1
    assert abs(_correlation(table[:-1, :-1], table[1:, 1:])) < bound  # both
    for other_key in (KEY + 1, KEY ^ (1 << 64), 0):
        other = idiosyncratic_normals(other_key, users, items)
        assert abs(_correlation(table, other)) < 4 / np.sqrt(table.size)
    # The product structure of a 2 x 2 block (users u, u + 1 × items j, j + 1) is random.
    interaction = table[:-1, :-1] * table[1:, 1:] - table[:-1, 1:] * table[1:, :-1]
    assert abs(interaction.mean()) < 4 * interaction.std() / np.sqrt(interaction.size)


def test_extreme_ids_and_keys_raise_no_warnings():
    # pytest turns numpy's overflow warnings into errors.
    top = np.array([2**63 - 1, 0], dtype=np.int64)
    for key in (0, 2**64 - 1, 2**128 - 1):
        values = idiosyncratic_normals(key, top[:, None], np.array([2**64 - 1], dtype=np.uint64))
        assert np.isfinite(values).all()


def test_key_from_seed_sequence():
    sequence = np.random.SeedSequence(12345)
    key = idiosyncratic_key(sequence)
    assert isinstance(key, int)
    assert 0 <= key < 2**128
    assert key == idiosyncratic_key(np.random.SeedSequence(12345))
    assert key != idiosyncratic_key(np.random.SeedSequence(12346))
    state = sequence.generate_state(2, np.uint64)
    assert key == int(state[0]) + (int(state[1]) << 64)
    children = sequence.spawn(2)
    assert len({idiosyncratic_key(child) for child in children} | {key}) == 3


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: idiosyncratic_normals(-1, 0, 0),
            ValueError,
            "`key` must be an integer in [0, 2**128), got -1",
        ),
        (
            lambda: idiosyncratic_normals(2**128, 0, 0),
            ValueError,
            f"`key` must be an integer in [0, 2**128), got {2**128}",
        ),
        (
            lambda: idiosyncratic_normals(1.5, 0, 0),
            TypeError,
            "`key` must be an integer in [0, 2**128), got 1.5",
        ),
        (
            lambda: idiosyncratic_normals(True, 0, 0),
            TypeError,
            "`key` must be an integer in [0, 2**128), got True",
        ),
        (
            lambda: idiosyncratic_normals(0, np.array([0.0, 1.0]), 0),
            TypeError,
            "`user_ids` must hold non-negative integers, got dtype float64",
        ),
        (
            lambda: idiosyncratic_normals(0, 0, np.array([3, -2])),
            ValueError,
            "`item_ids` must hold non-negative integers, got -2",
        ),
        (
            lambda: idiosyncratic_normals(0, [0, 1], 0),
            TypeError,
            "`user_ids` must be a numpy integer array, got list",
        ),
        (
            lambda: idiosyncratic_normals(0, 0, True),
            TypeError,
            "`item_ids` must hold non-negative integers, got True",
        ),
        (
            lambda: idiosyncratic_normals(0, np.arange(3), np.arange(4)),
            ValueError,
            "`user_ids` and `item_ids` must broadcast together, got shapes (3,) and (4,)",
        ),
        (
            lambda: idiosyncratic_key(0),
            TypeError,
            "`seed_sequence` must be a numpy.random.SeedSequence, got int",
        ),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_module_imports_neither_gymnasium_nor_pettingzoo():
    tree = ast.parse(Path(recgym._idiosyncratic.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert {name.split(".")[0] for name in imported} <= {"__future__", "typing", "numpy", "scipy"}
