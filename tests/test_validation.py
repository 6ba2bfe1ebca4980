"""The generic float checks of recgym._validation: accepted values and exact messages."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from recgym._validation import check_float_in_range, check_positive_float, check_probability


@pytest.mark.parametrize(
    ("check", "value", "expected"),
    [
        (lambda v: check_probability(v, "p"), 0, 0.0),
        (lambda v: check_probability(v, "p"), 1, 1.0),
        (lambda v: check_probability(v, "p"), np.float32(0.5), 0.5),
        (lambda v: check_positive_float(v, "t"), 1e-300, 1e-300),
        (lambda v: check_positive_float(v, "t"), np.int64(3), 3.0),
        (lambda v: check_float_in_range(v, "s", 0, 1, include_low=False), 1, 1.0),
        (lambda v: check_float_in_range(v, "s", -1, 2, include_high=False), -1, -1.0),
    ],
)
def test_accepted_values_come_back_as_python_floats(check, value, expected):
    result = check(value)
    assert type(result) is float
    assert result == expected


@pytest.mark.parametrize(
    ("check", "value", "error", "message"),
    [
        (check_probability, 1.5, ValueError, "`x` must be a float in [0, 1], got 1.5"),
        (check_probability, -0.0001, ValueError, "`x` must be a float in [0, 1], got -0.0001"),
        (check_probability, math.nan, ValueError, "`x` must be a float in [0, 1], got nan"),
        (check_probability, True, TypeError, "`x` must be a float in [0, 1], got True"),
        (check_probability, "0.1", TypeError, "`x` must be a float in [0, 1], got '0.1'"),
        (check_positive_float, 0, ValueError, "`x` must be a positive finite float, got 0"),
        (
            check_positive_float,
            math.inf,
            ValueError,
            "`x` must be a positive finite float, got inf",
        ),
        (check_positive_float, None, TypeError, "`x` must be a positive finite float, got None"),
        (
            lambda v, name: check_float_in_range(v, name, 0, 1, include_low=False),
            0.0,
            ValueError,
            "`x` must be a float in (0, 1], got 0.0",
        ),
        (
            lambda v, name: check_float_in_range(v, name, 0.5, 2, include_high=False),
            2,
            ValueError,
            "`x` must be a float in [0.5, 2), got 2",
        ),
        (
            lambda v, name: check_float_in_range(v, name, 0, 1, include_low=False),
            np.bool_(True),
            TypeError,
            "`x` must be a float in (0, 1], got np.True_",
        ),
    ],
)
def test_rejected_values_name_the_argument_and_the_value(check, value, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        check(value, "x")
