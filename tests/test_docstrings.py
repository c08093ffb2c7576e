"""The docstring reader behind OpenAITool.from_function: tests/data/docstrings/cases.json.

Each case is a docstring as written in a function (indented continuation lines),
with the summary and the parameter descriptions a reader expects from it.
"""

import json
from pathlib import Path
from typing import Any, Dict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openai_params._docstrings import parse_docstring

CASES = json.loads((Path(__file__).parent / "data" / "docstrings" / "cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case(case: Dict[str, Any]) -> None:
    assert parse_docstring(case["docstring"]) == (case["summary"], case["parameters"])


def test_none_gives_nothing() -> None:
    assert parse_docstring(None) == (None, {})


def test_a_function_docstring_through_inspect() -> None:
    import inspect

    def f(city: str) -> None:
        """Weather.

        Args:
            city: The city.
        """

    assert parse_docstring(inspect.getdoc(f)) == ("Weather.", {"city": "The city."})


@settings(max_examples=60, deadline=None)
@given(st.text())
def test_any_text_is_read_without_error(text: str) -> None:
    summary, parameters = parse_docstring(text)
    assert summary is None or summary == summary.strip()
    assert all(isinstance(k, str) and v for k, v in parameters.items())
