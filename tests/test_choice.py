"""Choice models: exact probabilities, sampling that matches them, per-user parameters, errors."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import chi2, chisquare

import recgym.choice
from recgym.choice import (
    CHOICE_MODELS,
    Cascade,
    ChoiceModel,
    Consume,
    MultinomialLogit,
    PositionBased,
    make_choice_model,
)

MODELS = {
    "consume": Consume(),
    "mnl": MultinomialLogit(),
    "mnl-tuned": MultinomialLogit(temperature=0.3, no_choice_utility=1.0),
    "mnl-no-null": MultinomialLogit(no_choice_utility=-math.inf),
    "cascade": Cascade(),
    "cascade-tuned": Cascade(temperature=2.0, bias=0.5, continuation=0.7),
    "pbm": PositionBased(),
    "pbm-tuned": PositionBased(examination=[0.9, 0.6, 0.3, 0.2, 0.1, 0.05], temperature=0.5),
}
PARAMETRIZE_MODELS = pytest.mark.parametrize("model", MODELS.values(), ids=MODELS.keys())
P_THRESHOLD = 1e-3


def outcome_columns(chosen: np.ndarray, k: int) -> np.ndarray:
    """Chosen positions as probability columns: -1 (none) becomes column k."""
    return np.where(chosen < 0, k, chosen)


def assert_frequencies_match(probabilities, chosen, groups):
    """Chi-square goodness of fit of the choices, over all groups of identical rows at once.

    Each group contributes its Pearson statistic over its possible outcomes; the sum is
    compared with the chi-square law of the summed degrees of freedom (one test per
    call, so that the false-alarm rate is the threshold, not the threshold times the
    number of groups).
    """
    n, width = probabilities.shape
    columns = outcome_columns(chosen, width - 1)
    assert (probabilities[np.arange(n), columns] > 0).all()  # never a 0-probability outcome
    statistic, dof = 0.0, 0
    for group in np.unique(groups):
        rows = np.flatnonzero(groups == group)
        expected = probabilities[rows[0]]
        assert_allclose(probabilities[rows], np.broadcast_to(expected, (len(rows), width)))
        counts = np.bincount(columns[rows], minlength=width)
        possible = expected > 0
        assert counts[~possible].sum() == 0
        if possible.sum() == 1:
            continue  # a certain outcome: nothing to test beyond the line above
        f_exp = expected[possible] * len(rows)
        f_exp *= counts[possible].sum() / f_exp.sum()  # sums equal to rounding
        statistic += chisquare(counts[possible], f_exp).statistic
        dof += possible.sum() - 1
    if dof:
        assert chi2.sf(statistic, dof) > P_THRESHOLD, (statistic, dof)


def inverse_cdf_reference(probabilities, uniforms):
    """Straightforward inverse CDF over the rows of ``probabilities`` (n, k + 1)."""
    k = probabilities.shape[1] - 1
    cumulative = np.cumsum(probabilities, axis=1)
    target = uniforms * cumulative[:, -1]
    chosen = (cumulative[:, :k] <= target[:, None]).sum(axis=1)
    return np.where(chosen == k, -1, chosen)


# ----------------------------------------------------------------------- probabilities


@PARAMETRIZE_MODELS
def test_rows_are_distributions_with_zeros_on_unavailable_positions(model):
    rng = np.random.default_rng(1)
    utilities = rng.normal(scale=3.0, size=(500, 6))
    available = rng.random((500, 6)) < 0.6
    for mask in (None, available):
        probabilities = model.probabilities(utilities, available=mask)
        assert probabilities.shape == (500, 7)
        assert probabilities.dtype == np.float64
        assert probabilities.flags.c_contiguous
        assert (probabilities >= 0).all()
        assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (probabilities[:, :6][~available] == 0).all()


def test_mnl_closed_form():
    half = np.log(2.0)
    assert_allclose(
        MultinomialLogit().probabilities(np.array([[0.0, half]])), [[1 / 4, 1 / 2, 1 / 4]]
    )
    # τ = 2 halves the utilities: exp(u / τ) = [1, 2] against the null item's exp(0) = 1.
    assert_allclose(
        MultinomialLogit(temperature=2.0).probabilities(np.array([[0.0, 2 * half]])),
        [[1 / 4, 1 / 2, 1 / 4]],
    )
    # u₀ = ln 2: the null item weighs 2 against [1, 1].
    assert_allclose(
        MultinomialLogit(no_choice_utility=half).probabilities(np.zeros((1, 2))),
        [[1 / 4, 1 / 4, 1 / 2]],
    )
    no_null = MultinomialLogit(no_choice_utility=-np.inf)
    assert_allclose(no_null.probabilities(np.array([[0.0, half]])), [[1 / 3, 2 / 3, 0.0]])
    assert no_null.probabilities(np.array([[0.0, half]]))[0, 2] == 0.0
    mask = np.array([[True, False]])
    assert_allclose(
        MultinomialLogit().probabilities(np.array([[0.0, half]]), available=mask),
        [[1 / 2, 0.0, 1 / 2]],
    )


def test_mnl_with_nothing_available_and_no_null_item_chooses_none():
    model = MultinomialLogit(no_choice_utility=-np.inf)
    utilities = np.array([[1.0, 2.0], [1.0, 2.0]])
    available = np.array([[False, False], [False, True]])
    assert_array_equal(
        model.probabilities(utilities, available=available), [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    )
    assert_array_equal(
        model.choose(utilities, np.random.default_rng(0), available=available), [-1, 1]
    )


def test_mnl_is_stable_for_extreme_utilities_and_temperatures():
    # pytest turns numpy's overflow and invalid-value warnings into errors.
    utilities = np.array([[1e308, -1e308, 0.0], [-1e308, -1e308, -1e308], [700.0, 710.0, 0.0]])
    for temperature in (1e-300, 1e-3, 1.0, 1e300):
        for null in (0.0, -np.inf, 1e308):
            probabilities = MultinomialLogit(temperature, null).probabilities(utilities)
            assert np.isfinite(probabilities).all()
            assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # A tiny temperature picks the best item; a huge one is uniform over the 4 outcomes.
    assert_array_equal(
        MultinomialLogit(temperature=1e-3).probabilities(utilities[2:]), [[0, 1, 0, 0]]
    )
    assert_allclose(MultinomialLogit(temperature=1e300).probabilities(utilities[2:]), [[1 / 4] * 4])


def test_cascade_closed_form():
    zeros = np.zeros((1, 3))  # every attraction sigmoid(0) = 1/2
    assert_allclose(Cascade().probabilities(zeros), [[1 / 2, 1 / 4, 1 / 8, 1 / 8]])
    # Continuation 1/2: P(j) = (1/2)(1/2)^j (1/2)^j.
    assert_allclose(
        Cascade(continuation=0.5).probabilities(zeros), [[1 / 2, 1 / 8, 1 / 32, 11 / 32]]
    )
    # An unavailable position is skipped: it costs no continuation.
    middle_gone = np.array([[True, False, True]])
    assert_allclose(
        Cascade(continuation=0.5).probabilities(zeros, available=middle_gone),
        [[1 / 2, 0.0, 1 / 8, 3 / 8]],
    )
    # sigmoid(ln 3) = 3/4; a bias and a temperature rescale the same number.
    log3 = np.log(3.0)
    three_quarters = [[3 / 4, 3 / 16, 1 / 16]]
    assert_allclose(Cascade().probabilities(np.array([[log3, log3]])), three_quarters)
    assert_allclose(
        Cascade(bias=1.0).probabilities(np.array([[1 + log3, 1 + log3]])), three_quarters
    )
    assert_allclose(
        Cascade(temperature=2.0).probabilities(np.array([[2 * log3, 2 * log3]])), three_quarters
    )
    # Continuation 0: only the first available position is looked at.
    assert_allclose(
        Cascade(continuation=0.0).probabilities(zeros, available=np.array([[False, True, True]])),
        [[0.0, 1 / 2, 0.0, 1 / 2]],
    )


def test_pbm_closed_form():
    zeros = np.zeros((1, 3))  # a = 1/2; default examination [1, 1/2, 1/3]
    # P = [1/2, (1/4)(1/2), (1/6)(1/2)(3/4)], none = (1/2)(3/4)(5/6).
    assert_allclose(PositionBased().probabilities(zeros), [[1 / 2, 1 / 8, 1 / 16, 5 / 16]])
    model = PositionBased(examination=np.array([1.0, 0.5, 0.25, 0.1, 0.1]))
    # e a = [1/2, 1/4, 1/8]: P = [1/2, (1/4)(1/2), (1/8)(1/2)(3/4)].
    assert_allclose(model.probabilities(zeros), [[1 / 2, 1 / 8, 3 / 64, 21 / 64]])
    # Examination stays attached to positions: with position 0 gone, position 1 keeps e = 1/2.
    assert_allclose(
        model.probabilities(zeros, available=np.array([[False, True, True]])),
        [[0.0, 1 / 4, 3 / 32, 21 / 32]],
    )
    # With examination 1 everywhere the PBM is the classic cascade.
    utilities = np.random.default_rng(2).normal(size=(20, 4))
    assert_allclose(
        PositionBased(examination=np.ones(4)).probabilities(utilities),
        Cascade().probabilities(utilities),
        rtol=1e-15,
    )


def test_consume_takes_position_zero_when_available():
    utilities = np.zeros((3, 2))
    assert_array_equal(Consume().probabilities(utilities), [[1, 0, 0]] * 3)
    available = np.array([[True, True], [False, True], [True, False]])
    assert_array_equal(
        Consume().probabilities(utilities, available=available),
        [[1, 0, 0], [0, 0, 1], [1, 0, 0]],
    )
    assert_array_equal(
        Consume().choose(utilities, np.random.default_rng(0), available=available), [0, -1, 0]
    )
    assert Consume().choose(np.zeros((4, 1)), np.random.default_rng(0)).dtype == np.int64


@PARAMETRIZE_MODELS
def test_float32_utilities_give_the_float64_probabilities(model):
    utilities = np.random.default_rng(3).normal(size=(50, 4)).astype(np.float32)
    assert_array_equal(
        model.probabilities(utilities), model.probabilities(utilities.astype(np.float64))
    )


@PARAMETRIZE_MODELS
def test_rows_do_not_depend_on_the_other_rows(model):
    # Large enough for several of the kernels' chunks of users.
    rng = np.random.default_rng(4)
    utilities = rng.normal(size=(20_000, 6))
    available = rng.random((20_000, 6)) < 0.7
    probabilities = model.probabilities(utilities, available=available)
    rows = rng.choice(20_000, size=50, replace=False)
    assert_array_equal(
        probabilities[rows], model.probabilities(utilities[rows], available=available[rows])
    )


@PARAMETRIZE_MODELS
def test_no_users(model):
    utilities = np.zeros((0, 3))
    assert model.probabilities(utilities).shape == (0, 4)
    chosen = model.choose(utilities, np.random.default_rng(0))
    assert chosen.shape == (0,)
    assert chosen.dtype == np.int64


# --------------------------------------------------------------------------- sampling


@PARAMETRIZE_MODELS
def test_choice_frequencies_match_probabilities(model):
    n = 200_000
    utilities = np.tile([0.5, -0.2, 1.0, 0.0], (n, 1))
    probabilities = model.probabilities(utilities)
    chosen = model.choose(utilities, np.random.default_rng(5))
    assert_frequencies_match(probabilities, chosen, np.zeros(n))


@PARAMETRIZE_MODELS
def test_choice_frequencies_match_probabilities_with_availability(model):
    patterns = np.array(
        [
            [True, True, True, True],
            [False, True, False, True],
            [True, False, False, False],
            [False, False, False, True],
        ]
    )
    rows = np.array([[1.0, 0.0, -1.0, 2.0], [0.3, 0.3, 0.3, 0.3], [-2.0, 1.0, 0.0, 0.5]])
    groups = np.arange(240_000) % 12  # every (pattern, utilities) pair, 20 000 rows each
    available = patterns[groups % 4]
    utilities = rows[groups // 4]
    probabilities = model.probabilities(utilities, available=available)
    chosen = model.choose(utilities, np.random.default_rng(6), available=available)
    assert available[np.flatnonzero(chosen >= 0), chosen[chosen >= 0]].all()
    assert_frequencies_match(probabilities, chosen, groups)


PER_USER_MODELS = {
    "mnl": MultinomialLogit(
        temperature=np.array([0.5, 1.0, 2.0, 4.0]),
        no_choice_utility=np.array([0.0, -np.inf, 1.0, -1.0]),
    ),
    "cascade": Cascade(
        temperature=np.array([0.5, 1.0, 2.0, 4.0]),
        bias=np.array([0.0, 1.0, -1.0, 0.5]),
        continuation=np.array([1.0, 0.5, 0.9, 0.0]),
    ),
    "pbm": PositionBased(
        examination=np.array([0.9, 0.5, 0.4]),
        temperature=np.array([0.5, 1.0, 2.0, 4.0]),
        bias=np.array([0.0, 1.0, -1.0, 0.5]),
    ),
}


@pytest.mark.parametrize("model", PER_USER_MODELS.values(), ids=PER_USER_MODELS.keys())
def test_choice_frequencies_match_probabilities_with_per_user_parameters(model):
    n = 160_000
    user_ids = np.arange(n) % 4
    utilities = np.tile([0.2, 1.0, -0.5], (n, 1))
    available = np.ones((n, 3), dtype=bool)
    available[n // 2 :, 1] = False
    groups = user_ids + 4 * (np.arange(n) >= n // 2)
    probabilities = model.probabilities(utilities, available=available, user_ids=user_ids)
    chosen = model.choose(
        utilities, np.random.default_rng(7), available=available, user_ids=user_ids
    )
    assert_frequencies_match(probabilities, chosen, groups)


@pytest.mark.parametrize("model", PER_USER_MODELS.values(), ids=PER_USER_MODELS.keys())
def test_per_user_parameters_give_each_row_its_users_probabilities(model):
    utilities = np.random.default_rng(8).normal(size=(6, 3))
    user_ids = np.array([3, 0, 2, 1, 1, 3])
    probabilities = model.probabilities(utilities, user_ids=user_ids)
    for row, user in enumerate(user_ids):
        scalars = {
            field: float(value[user])
            if isinstance(value, np.ndarray) and field != "examination"
            else value
            for field, value in vars(model).items()
        }
        alone = type(model)(**scalars)
        assert_allclose(probabilities[row], alone.probabilities(utilities[row : row + 1])[0])


def test_rows_with_different_temperatures_get_their_own_probabilities():
    model = MultinomialLogit(temperature=np.array([1.0, 2.0]))
    half = np.log(2.0)
    utilities = np.array([[0.0, 2 * half]] * 2)
    assert_allclose(
        model.probabilities(utilities, user_ids=np.array([0, 1])),
        [[1 / 6, 4 / 6, 1 / 6], [1 / 4, 1 / 2, 1 / 4]],
    )


@pytest.mark.parametrize(
    "model", [m for m in MODELS.values() if m.draws], ids=[k for k, m in MODELS.items() if m.draws]
)
def test_choose_is_the_inverse_cdf_of_probabilities_with_one_uniform_per_user(model):
    rng = np.random.default_rng(9)
    utilities = rng.normal(size=(30_000, 5))
    available = rng.random((30_000, 5)) < 0.8
    generator = np.random.default_rng(10)
    chosen = model.choose(utilities, generator, available=available)
    reference = np.random.default_rng(10)
    uniforms = reference.random(30_000)
    assert generator.bit_generator.state == reference.bit_generator.state
    expected = inverse_cdf_reference(model.probabilities(utilities, available=available), uniforms)
    assert_array_equal(chosen, expected)


def test_consume_draws_nothing():
    generator = np.random.default_rng(11)
    state = generator.bit_generator.state
    Consume().choose(np.zeros((100, 3)), generator, available=np.ones((100, 3), dtype=bool))
    assert generator.bit_generator.state == state
    assert Consume.draws is False
    assert all(model.draws for name, model in CHOICE_MODELS.items() if name != "consume")


def test_none_is_chosen_only_when_its_probability_is_positive():
    rng = np.random.default_rng(12)
    utilities = rng.normal(size=(50_000, 4))
    available = rng.random((50_000, 4)) < 0.5
    available[:, 2] = True
    no_null = MultinomialLogit(no_choice_utility=-np.inf)
    assert (no_null.probabilities(utilities, available=available)[:, 4] == 0).all()
    assert (no_null.choose(utilities, rng, available=available) >= 0).all()
    # An attraction of exactly 1 at the top: the cascade never reaches "none".
    utilities[:, 0] = 800.0
    assert (Cascade().probabilities(utilities)[:, 4] == 0).all()
    assert_array_equal(Cascade().choose(utilities, rng), 0)


def test_zero_probability_positions_are_never_chosen_despite_rounding():
    # Position 1 is available but has weight exp(-1e4) = 0 exactly; the uniforms near 1
    # push the target to the very end of the row, where rounding would bite.
    utilities = np.tile([0.0, -1e4, 0.0], (100_000, 1))
    model = MultinomialLogit(no_choice_utility=-np.inf)
    probabilities = model.probabilities(utilities)
    assert (probabilities[:, 1] == 0).all() and (probabilities[:, 3] == 0).all()
    chosen = model.choose(utilities, np.random.default_rng(13))
    assert set(np.unique(chosen)) == {0, 2}


class _Uniform(ChoiceModel):
    """A custom model that only implements probabilities (the base class samples)."""

    name = "uniform"

    def probabilities(self, utilities, *, available=None, user_ids=None):
        n, k = utilities.shape
        weights = np.ones((n, k + 1)) if available is None else np.c_[available, np.ones(n)]
        return weights / weights.sum(axis=1, keepdims=True)


class _Broken(ChoiceModel):
    name = "broken"

    def probabilities(self, utilities, *, available=None, user_ids=None):
        return np.zeros((len(utilities), utilities.shape[1]))


def test_custom_model_samples_through_the_base_class():
    utilities = np.zeros((120_000, 3))
    available = np.arange(120_000)[:, None] % 2 == np.array([[0, 1, 0]])
    model = _Uniform()
    model.check(slate_size=3, n_users=5)
    probabilities = model.probabilities(utilities, available=available)
    chosen = model.choose(utilities, np.random.default_rng(14), available=available)
    assert_frequencies_match(probabilities, chosen, np.arange(120_000) % 2)
    assert make_choice_model(model) is model
    assert repr(model) == "_Uniform()"
    with pytest.raises(
        ValueError,
        match=re.escape("`_Broken.probabilities` must return an array of shape (2, 4), got (2, 3)"),
    ):
        _Broken().choose(np.zeros((2, 3)), np.random.default_rng(0))


def test_choice_model_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        ChoiceModel()


# --------------------------------------------------------------------------- property


MODEL_STRATEGY = st.one_of(
    st.just(Consume()),
    st.builds(
        MultinomialLogit,
        temperature=st.floats(1e-3, 1e3),
        no_choice_utility=st.one_of(st.floats(-50, 50), st.just(-math.inf)),
    ),
    st.builds(
        Cascade,
        temperature=st.floats(1e-3, 1e3),
        bias=st.floats(-50, 50),
        continuation=st.floats(0.0, 1.0),
    ),
    st.builds(
        PositionBased,
        examination=st.lists(st.floats(0.0, 1.0), min_size=8, max_size=8),
        temperature=st.floats(1e-3, 1e3),
        bias=st.floats(-50, 50),
    ),
)


@st.composite
def choice_problems(draw):
    n = draw(st.integers(1, 8))
    k = draw(st.integers(1, 8))
    utilities = draw(arrays(np.float64, (n, k), elements=st.floats(-1e3, 1e3)))
    available = draw(st.one_of(st.none(), arrays(np.bool_, (n, k))))
    return utilities, available


@settings(max_examples=200, deadline=None)
@given(model=MODEL_STRATEGY, problem=choice_problems(), seed=st.integers(0, 2**32 - 1))
def test_property_choices_are_valid(model, problem, seed):
    utilities, available = problem
    n, k = utilities.shape
    probabilities = model.probabilities(utilities, available=available)
    assert probabilities.shape == (n, k + 1)
    assert (probabilities >= 0).all()
    assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    chosen = model.choose(utilities, np.random.default_rng(seed), available=available)
    assert chosen.shape == (n,)
    assert chosen.dtype == np.int64
    assert ((chosen >= -1) & (chosen < k)).all()
    assert (probabilities[np.arange(n), outcome_columns(chosen, k)] > 0).all()
    if available is not None:
        assert (probabilities[:, :k][~available] == 0).all()
        taken = chosen >= 0
        assert available[np.flatnonzero(taken), chosen[taken]].all()


# ----------------------------------------------------------------- registry and check


def test_registry():
    assert dict(CHOICE_MODELS) == {
        "consume": Consume,
        "mnl": MultinomialLogit,
        "cascade": Cascade,
        "pbm": PositionBased,
    }
    for name, cls in CHOICE_MODELS.items():
        model = make_choice_model(name)
        assert type(model) is cls
        assert model.name == name
    with pytest.raises(TypeError):
        CHOICE_MODELS["mine"] = _Uniform  # type: ignore[index]
    model = Cascade(continuation=0.5)
    assert make_choice_model(model) is model


def test_repr():
    assert repr(MultinomialLogit()) == "MultinomialLogit(temperature=1.0, no_choice_utility=0.0)"
    assert repr(Cascade(0.5, 1.0, 0.9)) == "Cascade(temperature=0.5, bias=1.0, continuation=0.9)"
    assert repr(PositionBased()) == "PositionBased(examination=None, temperature=1.0, bias=0.0)"
    assert repr(Consume()) == "Consume()"


def test_parameter_arrays_are_read_only_copies():
    temperature = np.array([1.0, 2.0])
    model = MultinomialLogit(temperature=temperature)
    temperature[0] = 5.0
    assert model.temperature[0] == 1.0
    assert not model.temperature.flags.writeable
    assert model.temperature.dtype == np.float64


def test_check_accepts_matching_parameters():
    MultinomialLogit(temperature=np.ones(5)).check(slate_size=3, n_users=5)
    PositionBased(examination=[1.0, 0.5, 0.2]).check(slate_size=3, n_users=1)
    Consume().check(slate_size=10, n_users=1)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: MultinomialLogit(temperature=np.ones(3)).check(4, 5),
            ValueError,
            "`temperature` must have one entry per user, shape (5,), got (3,)",
        ),
        (
            lambda: Cascade(continuation=np.ones(6)).check(4, 5),
            ValueError,
            "`continuation` must have one entry per user, shape (5,), got (6,)",
        ),
        (
            lambda: PositionBased(examination=[1.0, 0.5, 0.2]).check(5, 10),
            ValueError,
            "`examination` must have at least slate_size = 5 entries, got 3",
        ),
        (
            lambda: Consume().check(0, 10),
            ValueError,
            "`slate_size` must be a positive integer, got 0",
        ),
        (
            lambda: Consume().check(3, 2.5),
            TypeError,
            "`n_users` must be a positive integer, got 2.5",
        ),
    ],
)
def test_check_errors(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda: MultinomialLogit(temperature=-1.0),
            ValueError,
            "`temperature` must be a positive finite float, got -1.0",
        ),
        (
            lambda: MultinomialLogit(temperature=0),
            ValueError,
            "`temperature` must be a positive finite float, got 0",
        ),
        (
            lambda: MultinomialLogit(temperature=math.inf),
            ValueError,
            "`temperature` must be a positive finite float, got inf",
        ),
        (
            lambda: MultinomialLogit(temperature="1"),
            TypeError,
            "`temperature` must be a positive finite float, got '1'",
        ),
        (
            lambda: MultinomialLogit(temperature=True),
            TypeError,
            "`temperature` must be a positive finite float, got True",
        ),
        (
            lambda: MultinomialLogit(temperature=[1.0, 2.0]),
            TypeError,
            "`temperature` must be a positive finite float, got [1.0, 2.0]",
        ),
        (
            lambda: MultinomialLogit(temperature=np.array([1.0, -2.0])),
            ValueError,
            "`temperature` must hold a positive finite float for every user, got -2.0 at index 1",
        ),
        (
            lambda: MultinomialLogit(temperature=np.ones((2, 2))),
            ValueError,
            "`temperature` must be a positive finite float or a 1-D float array of them "
            "(one per user), got an array of shape (2, 2)",
        ),
        (
            lambda: MultinomialLogit(temperature=np.array(["a"])),
            TypeError,
            "`temperature` must be a positive finite float or a 1-D float array of them "
            "(one per user), got an array of dtype <U1",
        ),
        (
            lambda: MultinomialLogit(no_choice_utility=math.inf),
            ValueError,
            "`no_choice_utility` must be a finite float or -inf, got inf",
        ),
        (
            lambda: MultinomialLogit(no_choice_utility=math.nan),
            ValueError,
            "`no_choice_utility` must be a finite float or -inf, got nan",
        ),
        (
            lambda: Cascade(continuation=1.5),
            ValueError,
            "`continuation` must be a float in [0, 1], got 1.5",
        ),
        (
            lambda: Cascade(bias=math.nan),
            ValueError,
            "`bias` must be a finite float, got nan",
        ),
        (
            lambda: Cascade(bias=None),
            TypeError,
            "`bias` must be a finite float, got None",
        ),
        (
            lambda: PositionBased(examination=[1.0, 1.2]),
            ValueError,
            "`examination` must hold probabilities in [0, 1], got 1.2 at index 1",
        ),
        (
            lambda: PositionBased(examination=np.ones((2, 2))),
            ValueError,
            "`examination` must be None or a 1-D array of probabilities in [0, 1], "
            "got an array of shape (2, 2)",
        ),
        (
            lambda: PositionBased(examination=[]),
            ValueError,
            "`examination` must be None or a 1-D array of probabilities in [0, 1], got an array "
            "of shape (0,)",
        ),
        (
            lambda: PositionBased(examination="front"),
            TypeError,
            "`examination` must be None or a 1-D array of probabilities in [0, 1], got 'front'",
        ),
        (
            lambda: PositionBased(examination=[1.0, True]),
            TypeError,
            "`examination` must be None or a 1-D array of probabilities in [0, 1], got [1.0, True]",
        ),
    ],
)
def test_constructor_errors(build, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build()


UTILITIES = np.zeros((4, 3))


@pytest.mark.parametrize("method", ["probabilities", "choose"])
@pytest.mark.parametrize(
    ("model", "kwargs", "error", "message"),
    [
        (
            MultinomialLogit(),
            {"utilities": [[0.0, 1.0]]},
            TypeError,
            "`utilities` must be a numpy array, got list",
        ),
        (
            MultinomialLogit(),
            {"utilities": np.zeros((4, 3), dtype=np.int64)},
            TypeError,
            "`utilities` must be a float32 or float64 array, got dtype int64",
        ),
        (
            Cascade(),
            {"utilities": np.zeros(3)},
            ValueError,
            "`utilities` must have shape (n, k) with k >= 1, got (3,)",
        ),
        (
            Cascade(),
            {"utilities": np.zeros((4, 0))},
            ValueError,
            "`utilities` must have shape (n, k) with k >= 1, got (4, 0)",
        ),
        (
            PositionBased(),
            {"utilities": np.array([[0.0, np.nan]])},
            ValueError,
            "`utilities` must hold finite values, got NaN or inf",
        ),
        (
            Consume(),
            {"utilities": np.array([[0.0, -np.inf]])},
            ValueError,
            "`utilities` must hold finite values, got NaN or inf",
        ),
        (
            MultinomialLogit(),
            {"available": [[True] * 3] * 4},
            TypeError,
            "`available` must be a boolean numpy array or None, got list",
        ),
        (
            MultinomialLogit(),
            {"available": np.ones((4, 3), dtype=np.int8)},
            TypeError,
            "`available` must be a boolean array, got dtype int8",
        ),
        (
            Consume(),
            {"available": np.ones((4, 2), dtype=bool)},
            ValueError,
            "`available` must have the shape of `utilities` (4, 3), got (4, 2)",
        ),
        (
            MultinomialLogit(),
            {"user_ids": np.zeros(4)},
            TypeError,
            "`user_ids` must be an integer array, got dtype float64",
        ),
        (
            MultinomialLogit(),
            {"user_ids": [0, 1, 2, 3]},
            TypeError,
            "`user_ids` must be an integer numpy array or None, got list",
        ),
        (
            Cascade(),
            {"user_ids": np.arange(3)},
            ValueError,
            "`user_ids` must have shape (4,), one per row, got (3,)",
        ),
        (
            MultinomialLogit(temperature=np.ones(10)),
            {},
            ValueError,
            "`user_ids` must be given when `temperature` is a per-user array",
        ),
        (
            Cascade(continuation=np.ones(10)),
            {},
            ValueError,
            "`user_ids` must be given when `continuation` is a per-user array",
        ),
        (
            PositionBased(bias=np.zeros(10)),
            {"user_ids": np.array([0, 3, 10, 2])},
            ValueError,
            "`user_ids` must lie in [0, 10) (the length of `bias`), got 10",
        ),
        (
            MultinomialLogit(no_choice_utility=np.zeros(10)),
            {"user_ids": np.array([0, -1, 5, 2])},
            ValueError,
            "`user_ids` must lie in [0, 10) (the length of `no_choice_utility`), got -1",
        ),
        (
            PositionBased(examination=[1.0, 0.5]),
            {},
            ValueError,
            "`examination` must have at least slate_size = 3 entries, got 2",
        ),
    ],
)
def test_call_errors(method, model, kwargs, error, message):
    arguments = {"utilities": UTILITIES, **kwargs}
    utilities = arguments.pop("utilities")
    generator = np.random.default_rng(0)
    state = generator.bit_generator.state
    with pytest.raises(error, match=re.escape(message)):
        if method == "probabilities":
            model.probabilities(utilities, **arguments)
        else:
            model.choose(utilities, generator, **arguments)
    assert generator.bit_generator.state == state  # a rejected call draws nothing


@pytest.mark.parametrize("model", MODELS.values(), ids=MODELS.keys())
def test_choose_requires_a_generator(model):
    with pytest.raises(
        TypeError, match=re.escape("`rng` must be a numpy.random.Generator, got int")
    ):
        model.choose(UTILITIES, 0)


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        (
            "logit",
            ValueError,
            "`choice_model` must be a ChoiceModel or one of "
            "['consume', 'mnl', 'cascade', 'pbm'], got 'logit'",
        ),
        (
            3,
            TypeError,
            "`choice_model` must be a ChoiceModel or one of "
            "['consume', 'mnl', 'cascade', 'pbm'], got 3",
        ),
        (
            MultinomialLogit,
            TypeError,
            "`choice_model` must be a ChoiceModel or one of "
            "['consume', 'mnl', 'cascade', 'pbm'], got <class 'recgym.choice.MultinomialLogit'>",
        ),
    ],
)
def test_make_choice_model_errors(spec, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make_choice_model(spec)


def test_module_imports_neither_gymnasium_nor_pettingzoo():
    tree = ast.parse(Path(recgym.choice.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    roots = {name.split(".")[0] for name in imported}
    assert roots <= {
        "__future__",
        "abc",
        "collections",
        "numbers",
        "types",
        "typing",
        "numpy",
        "scipy",
        "recgym",
    }
    assert {name for name in imported if name.startswith("recgym")} == {"recgym._validation"}
