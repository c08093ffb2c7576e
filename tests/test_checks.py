"""The shared argument checks: one message form, TypeError for a wrong type, ValueError otherwise."""

import math
import sys
from typing import Any

import pytest

from openai_params import OpenAIChatCompletionParameters
from openai_params._checks import MAX_TIMEOUT, check_headers, check_number, check_str, check_timeout


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({}, "f must be a string (got 1, an int)"),
        ({"non_empty": True}, "f must be a non-empty string (got 1, an int)"),
        ({"max_length": 3}, "f must be a string of at most 3 characters (got 1, an int)"),
        (
            {"non_empty": True, "max_length": 3},
            "f must be a non-empty string of at most 3 characters (got 1, an int)",
        ),
    ],
)
def test_check_str_words_what_it_allows(rule: Any, message: str) -> None:
    with pytest.raises(TypeError) as caught:
        check_str("f", 1, **rule)
    assert str(caught.value) == message


@pytest.mark.parametrize("value", [0.001, 1, 2.5, 600, MAX_TIMEOUT])
def test_check_timeout_accepts_seconds_up_to_a_day(value: Any) -> None:
    result = check_timeout("timeout", value)
    assert result == value and type(result) is float


@pytest.mark.parametrize(
    "value", [math.inf, -math.inf, math.nan, 0, 0.0, -1, MAX_TIMEOUT + 0.5, sys.maxsize, 1e10, 10**400]
)
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


@pytest.mark.parametrize("value", [10**400, -(10**400)], ids=["huge", "-huge"])
def test_an_int_too_large_for_a_float_is_out_of_range_not_an_overflow(value: int) -> None:
    with pytest.raises(ValueError, match=r"^temperature must be a number between 0 and 2 \(got "):
        check_number("temperature", value, 0, 2)
    with pytest.raises(ValueError, match=r"^presence_penalty must be .* \(got -?1000"):
        OpenAIChatCompletionParameters(presence_penalty=value)
    check_number("n", 10**400)  # no bounds: any int is a finite number


# -- headers: the one check for everything that reaches the wire ---------------------------------


@pytest.mark.parametrize("value", ["plain", "a\tb", "café", "x" * 1000, "", "\xff"])
def test_header_values_that_can_be_sent(value: str) -> None:
    check_headers("h", {"X-A": value, "X-Removed": None})


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\x00b", "a\x7fb", "a\x1bb", "\u2028", "☕"])
def test_header_values_that_cannot_be_sent(value: str) -> None:
    with pytest.raises(ValueError, match=r"^h\['X-A'\] must be a header value of Latin-1 characters"):
        check_headers("h", {"X-A": value})


@pytest.mark.parametrize("name", ["", "X A", "X-A:", "X\nA", "Ä", "X(A)"])
def test_header_names_must_be_tokens(name: str) -> None:
    with pytest.raises(ValueError, match="^h header names must be non-empty HTTP tokens"):
        check_headers("h", {name: "1"})


def test_a_secret_header_value_is_never_quoted() -> None:
    secret = "sk-abcdefghijklmnop\nqrstuvwxyz"
    for name in ("Authorization", "api-key", "X-Auth-Token"):
        with pytest.raises(ValueError) as caught:
            check_headers("h", {name: secret})
        text = str(caught.value)
        assert "abcdefghijklmnop" not in text and "qrstuvwxyz" not in text
        assert text.endswith(
            "(got 30 characters with '\\n' at position 19; the value is a credential and is not shown)"
        )
    with pytest.raises(TypeError, match=r"^h\['api-key'\] must be a string \(got a bytes\)$"):
        check_headers("h", {"api-key": secret.encode()})
