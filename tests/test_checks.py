"""The shared argument checks: one message form, TypeError for a wrong type, ValueError otherwise."""

import math
import sys
from typing import Any

import pytest

from openai_params._checks import MAX_TIMEOUT, check_timeout


@pytest.mark.parametrize("value", [0.001, 1, 2.5, 600, MAX_TIMEOUT])
def test_check_timeout_accepts_seconds_up_to_a_day(value: Any) -> None:
    result = check_timeout("timeout", value)
    assert result == value and type(result) is float


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 0, 0.0, -1, MAX_TIMEOUT + 0.5,
                                   sys.maxsize, 1e10, 10 ** 400])
def test_check_timeout_refuses_values_outside_the_range(value: Any) -> None:
    with pytest.raises(ValueError) as caught:
        check_timeout("timeout", value)
    assert str(caught.value).startswith("timeout must be a number of seconds > 0 and at most 86400")


def test_check_timeout_message_quotes_the_value() -> None:
    with pytest.raises(ValueError, match=r"\(got inf\)$"):
        check_timeout("timeout", math.inf)


@pytest.mark.parametrize("value", [True, False, "5", None, b"5", [5]])
def test_check_timeout_refuses_other_types(value: Any) -> None:
    with pytest.raises(TypeError, match="^timeout must be a number of seconds"):
        check_timeout("timeout", value)
