"""OpenAIMessage, OpenAITool and validate_messages.

Conversations live in tests/data/messages/ (valid.json: accepted unchanged;
invalid.json: the exact error).
"""

import copy
import json
import warnings
from pathlib import Path
from typing import Any, Dict

import pytest

from openai_params.messages import MESSAGE_ROLES, OpenAIMessage, OpenAITool, validate_messages

DATA = Path(__file__).resolve().parent / "data" / "messages"
VALID = json.loads((DATA / "valid.json").read_text(encoding="utf-8"))
INVALID = json.loads((DATA / "invalid.json").read_text(encoding="utf-8"))
ERRORS = {"ValueError": ValueError, "TypeError": TypeError}


# --- validate_messages ----------------------------------------------------------


@pytest.mark.parametrize("case", VALID, ids=[c["name"] for c in VALID])
def test_valid_conversations_are_returned_unchanged(case: Dict[str, Any]) -> None:
    given = copy.deepcopy(case["messages"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checked = validate_messages(given)
    assert checked == case["messages"]
    assert all(type(m) is dict for m in checked)
    assert given == case["messages"]  # the input is not modified
    assert all(a is not b for a, b in zip(checked, given))  # and not shared at the top level
    assert validate_messages(tuple(given)) == case["messages"]


@pytest.mark.parametrize("case", INVALID, ids=[c["name"] for c in INVALID])
def test_invalid_conversations_raise(case: Dict[str, Any]) -> None:
    with pytest.raises(ERRORS[case["error"]]) as info:
        validate_messages(case["messages"])
    assert str(info.value) == case["message"]


def test_messages_may_be_openai_message_objects() -> None:
    checked = validate_messages([OpenAIMessage("system", "Be brief."), {"role": "user", "content": "Hi"}])
    assert checked == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert type(checked[0]) is dict


def test_unknown_keys_are_kept() -> None:
    message = {"role": "user", "content": "Hi", "x_vendor": {"a": 1}}
    assert validate_messages([message]) == [message]


def test_a_generator_is_refused() -> None:
    with pytest.raises(
        TypeError, match=r"^messages must be a list of messages like .* \(got <generator object"
    ):
        validate_messages(m for m in [{"role": "user", "content": "Hi"}])


@pytest.mark.parametrize(
    "role, suggestion", [("User", "user"), ("asistant", "assistant"), ("sytem", "system")]
)
def test_unknown_role_warns_with_the_closest_role(role: str, suggestion: str) -> None:
    with pytest.warns(UserWarning) as record:
        checked = validate_messages([{"role": role, "content": "Hi"}])
    assert checked == [{"role": role, "content": "Hi"}]  # still sent: some servers have their own roles
    assert str(record[0].message) == (
        "messages[0].role %r is not one of the known values (%s) and is sent as given; did you mean %r?"
        % (role, ", ".join(repr(r) for r in MESSAGE_ROLES), suggestion)
    )
    assert record[0].filename == __file__


def test_vendor_role_without_close_match_warns_without_suggestion() -> None:
    with pytest.warns(
        UserWarning, match=r"'ipython' is not one of the known values .* and is sent as given$"
    ):
        validate_messages([{"role": "ipython", "content": "{}"}])


def test_known_roles_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate_messages(
            [{"role": role, "content": "x", "tool_call_id": "c", "name": "n"} for role in MESSAGE_ROLES]
        )


# --- OpenAIMessage ------------------------------------------------------------------


def test_message_constructor_sets_only_given_fields() -> None:
    m = OpenAIMessage("user", "Hello", name="alice", tool_call_id=None)
    assert m.data == {"role": "user", "content": "Hello", "name": "alice"}
    assert m.to_dict() == {"role": "user", "content": "Hello", "name": "alice"}
    assert OpenAIMessage().to_dict() == {}


def test_message_properties() -> None:
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    m = OpenAIMessage.from_dict(
        {
            "role": "assistant",
            "content": None,
            "refusal": "no",
            "tool_calls": calls,
            "function_call": {"name": "f", "arguments": "{}"},
            "audio": {"id": "a1"},
            "annotations": [{"type": "url_citation"}],
            "reasoning_content": "thinking...",
        }
    )
    assert m.role == "assistant"
    assert m.content is None
    assert m.refusal == "no"
    assert m.tool_calls == calls
    assert m.function_call == {"name": "f", "arguments": "{}"}
    assert m.audio == {"id": "a1"}
    assert m.annotations == [{"type": "url_citation"}]
    assert m.name is None and m.tool_call_id is None
    assert m.data["reasoning_content"] == "thinking..."  # unknown keys are kept
    assert m.to_dict()["content"] is None  # an explicit null from the server stays


def test_absent_fields_are_none() -> None:
    m = OpenAIMessage.from_dict({})
    for name in (
        "role",
        "content",
        "name",
        "tool_calls",
        "tool_call_id",
        "refusal",
        "function_call",
        "audio",
        "annotations",
    ):
        assert getattr(m, name) is None, name
    assert m.text == ""


def test_message_setters_write_data() -> None:
    m = OpenAIMessage("user", "a")
    m.content = "b"
    m.name = "bob"
    m.role = "assistant"
    m.tool_calls = []
    m.tool_call_id = "c"
    m.refusal = "r"
    assert m.to_dict() == {
        "role": "assistant",
        "content": "b",
        "name": "bob",
        "tool_calls": [],
        "tool_call_id": "c",
        "refusal": "r",
    }
    m.name = None
    assert "name" not in m.data


@pytest.mark.parametrize(
    "content, text",
    [
        ("Hello", "Hello"),
        ("", ""),
        (None, ""),
        (
            [
                {"type": "text", "text": "Hel"},
                {"type": "image_url", "image_url": {"url": "u"}},
                {"type": "text", "text": "lo"},
            ],
            "Hello",
        ),
        ([{"type": "refusal", "refusal": "no"}], ""),
        ([{"type": "text"}, "junk", {"type": "text", "text": 5}], ""),
        (42, ""),
    ],
)
def test_message_text(content: Any, text: str) -> None:
    assert OpenAIMessage.from_dict({"role": "assistant", "content": content}).text == text


def test_from_dict_copies_and_tolerates() -> None:
    d = {"role": "user", "content": "x", "anything": [1, 2]}
    m = OpenAIMessage.from_dict(d)
    m.content = "y"
    assert d["content"] == "x"
    assert OpenAIMessage.from_dict(m) == m and OpenAIMessage.from_dict(m) is not m
    with pytest.raises(TypeError, match=r"^message must be a dict \(got 'hi', a str\)$"):
        OpenAIMessage.from_dict("hi")  # type: ignore[arg-type]


def test_message_equality_and_repr() -> None:
    assert OpenAIMessage("user", "a") == OpenAIMessage.from_dict({"role": "user", "content": "a"})
    assert OpenAIMessage("user", "a") != OpenAIMessage("user", "b")
    assert OpenAIMessage("user", "a") != {"role": "user", "content": "a"}
    assert repr(OpenAIMessage("user", "hi")) == "OpenAIMessage(role='user', content='hi')"
    assert len(repr(OpenAIMessage("user", "x" * 10000))) < 120


# --- OpenAITool ----------------------------------------------------------------------

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def test_tool_constructor_and_to_dict() -> None:
    tool = OpenAITool("get_weather", "Weather for a city", WEATHER, strict=True)
    assert tool.to_dict() == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": WEATHER,
            "strict": True,
        },
    }
    assert OpenAITool("f").to_dict() == {"type": "function", "function": {"name": "f"}}
    assert tool.type == "function"


@pytest.mark.parametrize(
    "given",
    [
        {"name": "get_weather", "description": "Weather for a city", "parameters": WEATHER},
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": WEATHER,
        },
        {
            "type": "function",
            "function": {"name": "get_weather", "description": "Weather for a city", "parameters": WEATHER},
        },
    ],
    ids=["short", "flat", "api"],
)
def test_tool_forms_normalise_to_the_api_form(given: Dict[str, Any]) -> None:
    tool = OpenAITool.from_dict(given)
    assert tool == OpenAITool("get_weather", "Weather for a city", WEATHER)
    assert tool.to_dict() == {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather for a city", "parameters": WEATHER},
    }


def test_tool_api_form_keeps_unknown_keys() -> None:
    given = {"type": "function", "function": {"name": "f", "x_fn": 1}, "cache_control": {"type": "ephemeral"}}
    assert OpenAITool.from_dict(given).to_dict() == given


def test_tool_from_dict_returns_a_tool_as_is() -> None:
    tool = OpenAITool("f")
    assert OpenAITool.from_dict(tool) is tool


@pytest.mark.parametrize(
    "given, error, message",
    [
        (
            {"name": "get weather"},
            ValueError,
            "tool.function.name must be 1 to 64 characters from a-z, A-Z, 0-9, _ and - (got 'get weather')",
        ),
        (
            {"name": ""},
            ValueError,
            "tool.function.name must be 1 to 64 characters from a-z, A-Z, 0-9, _ and - (got '')",
        ),
        (
            {"name": "a.b"},
            ValueError,
            "tool.function.name must be 1 to 64 characters from a-z, A-Z, 0-9, _ and - (got 'a.b')",
        ),
        (
            {"name": "x" * 65},
            ValueError,
            "tool.function.name must be 1 to 64 characters from a-z, A-Z, 0-9, _ and - (got '%s...)"
            % ("x" * 56),
        ),
        (
            {"name": 5},
            TypeError,
            "tool.function.name must be a string of 1 to 64 characters from a-z, A-Z, 0-9, _ and - (got 5, an int)",
        ),
        ({"description": "d"}, ValueError, "tool.name is required"),
        ({"type": "function", "function": {}}, ValueError, "tool.function.name is required"),
        ({"type": "function", "function": "f"}, TypeError, "tool.function must be a dict (got 'f', a str)"),
        (
            {"type": "custom", "custom": {"name": "f"}},
            ValueError,
            "tool.type must be 'function' for an OpenAITool (got 'custom')",
        ),
        (
            {"name": "f", "descripton": "d"},
            ValueError,
            "tool has an unknown key 'descripton'; did you mean 'description'? "
            "(a short-form tool has name, description, parameters, strict)",
        ),
        (
            {"name": "f", "description": 3},
            TypeError,
            "tool.function.description must be a string (got 3, an int)",
        ),
        (
            {"name": "f", "parameters": []},
            TypeError,
            "tool.function.parameters must be a dict (got [], a list)",
        ),
        (
            {"name": "f", "strict": "true"},
            TypeError,
            "tool.function.strict must be True or False (or None to leave it out) (got 'true', a str)",
        ),
        (
            "f",
            TypeError,
            'tool must be a tool dict like {"name": ..., "description": ..., "parameters": {...}} (got \'f\', a str)',
        ),
    ],
)
def test_tool_errors(given: Any, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        OpenAITool.from_dict(given)
    assert str(info.value) == message


def test_tool_name_limits() -> None:
    assert OpenAITool("a" * 64).name == "a" * 64
    assert OpenAITool("A-z_0-9").name == "A-z_0-9"
    with pytest.raises(ValueError, match=r"^tool\.function\.name must be"):
        OpenAITool("café")


def test_tool_errors_name_the_path() -> None:
    with pytest.raises(ValueError, match=r"^tools\[3\]\.function\.name must be"):
        OpenAITool.from_dict({"name": "a b"}, path="tools[3]")


def test_tool_repr() -> None:
    assert repr(OpenAITool("f", "d", strict=False)) == "OpenAITool(name='f', description='d', strict=False)"
