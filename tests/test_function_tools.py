"""Tools from Python functions: OpenAITool.from_function, parsed_arguments, call.

The schemas expected here are written out by hand from OpenAI's strict-mode
rules (every property required, a parameter with a default nullable,
``additionalProperties: false``), not taken from the code under test.
"""

import enum
import functools
import json
from dataclasses import dataclass
from typing import Any, List, Literal, Optional

import pytest

from both_clients import Runner
from fakeserver import FakeServer, chat_reply
from openai_params import OpenAI, OpenAIChatCompletionParameters, OpenAIMessage, OpenAITool
from openai_params.tool_calls import FunctionCall, ToolCall

MESSAGES = [{"role": "user", "content": "Weather in Paris?"}]


class Unit(enum.Enum):
    C = "c"
    F = "f"


def get_weather(city: str, unit: Unit = Unit.C, days: int = 1) -> str:
    """Current weather for a city.

    Args:
        city: The city's name.
        unit: Celsius or Fahrenheit.
    """
    return "%s/%s/%d" % (city, unit.value, days)


WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "The city's name."},
        "unit": {
            "anyOf": [{"type": "string", "enum": ["c", "f"]}, {"type": "null"}],
            "description": "Celsius or Fahrenheit.",
        },
        "days": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
    },
    "required": ["city", "unit", "days"],
    "additionalProperties": False,
}


def test_a_function_becomes_a_strict_tool() -> None:
    tool = OpenAITool.from_function(get_weather)
    assert tool.to_dict() == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": WEATHER_PARAMETERS,
            "strict": True,
        },
    }
    assert tool.handler is get_weather


def test_name_and_description_can_be_given() -> None:
    tool = OpenAITool.from_function(get_weather, name="weather", description="The weather.")
    assert (tool.name, tool.description) == ("weather", "The weather.")


def test_not_strict_gives_the_plain_schema() -> None:
    tool = OpenAITool.from_function(get_weather, strict=False)
    parameters = tool.to_dict()["function"]["parameters"]
    assert parameters["required"] == ["city"]
    assert parameters["properties"]["days"] == {"type": "integer", "default": 1}
    assert tool.strict is False


def test_numpy_and_rest_docstrings() -> None:
    def numpy_style(a: int, b: str) -> None:
        """Two things.

        Parameters
        ----------
        a : int
            The first.
        b : str
            The second.
        """

    def rest_style(a: int, b: str) -> None:
        """Two things.

        :param a: The first.
        :param str b: The second.
        """

    for function in (numpy_style, rest_style):
        parameters = OpenAITool.from_function(function).to_dict()["function"]["parameters"]
        assert parameters["properties"] == {
            "a": {"type": "integer", "description": "The first."},
            "b": {"type": "string", "description": "The second."},
        }


def test_no_docstring_no_description() -> None:
    def bare(x: int) -> None:
        pass

    tool = OpenAITool.from_function(bare)
    assert tool.description is None and "description" not in tool.to_dict()["function"]


def test_no_parameters() -> None:
    def now() -> str:
        """The time."""
        return "noon"

    tool = OpenAITool.from_function(now)
    assert tool.to_dict()["function"]["parameters"] == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }
    assert tool.call({"function": {"name": "now", "arguments": "{}"}}) == "noon"
    assert tool.call("") == "noon"  # some servers send "" for no arguments


def _star_args(*cities: str) -> None:
    pass


def _star_kwargs(city: str, **options: str) -> None:
    pass


def _no_hint(city, unit: str = "c") -> None:  # type: ignore[no-untyped-def]
    pass


def _positional_no_hint(city, /) -> None:  # type: ignore[no-untyped-def]
    pass


@pytest.mark.parametrize(
    "function, words",
    [
        (_star_args, r"from_function\(_star_args\): \*cities cannot be a tool parameter"),
        (_star_kwargs, r"from_function\(_star_kwargs\): \*\*options cannot be a tool parameter"),
        (_no_hint, r"from_function\(_no_hint\): parameter 'city' has no type annotation"),
        (
            _positional_no_hint,
            r"from_function\(_positional_no_hint\): parameter 'city' has no type annotation",
        ),
    ],
)
def test_what_cannot_be_a_tool_is_a_type_error_naming_function_and_parameter(
    function: Any, words: str
) -> None:
    with pytest.raises(TypeError, match=words):
        OpenAITool.from_function(function)
    with pytest.raises(TypeError, match=r"^tools\[1\]: .*" + words):
        OpenAIChatCompletionParameters(tools=[get_weather, function])


def test_a_type_without_a_schema_names_the_parameter() -> None:
    import decimal

    def price(amount: decimal.Decimal) -> None:
        pass

    with pytest.raises(TypeError, match=r"price\.amount: .*Decimal.*use float or str"):
        OpenAITool.from_function(price)


def test_a_forward_reference_that_does_not_resolve() -> None:
    def later(x: "NoSuchType") -> None:  # type: ignore[name-defined]  # noqa: F821
        pass

    with pytest.raises(TypeError, match=r"from_function\(later\): cannot read the type hints"):
        OpenAITool.from_function(later)


def test_not_a_function() -> None:
    with pytest.raises(TypeError, match="expected a function"):
        OpenAITool.from_function(42)  # type: ignore[arg-type]


# -- arguments -------------------------------------------------------------------------------------
@dataclass
class Stop:
    city: str
    nights: int


def plan(stops: List[Stop], budget: Optional[float] = None, note: str = "none") -> str:
    """Plan a trip."""
    return "%s %s %s" % ([s.city for s in stops], budget, note)


def test_parsed_arguments_are_typed_and_null_gives_the_default() -> None:
    tool = OpenAITool.from_function(plan)
    values = tool.parse_arguments('{"stops": [{"city": "Oslo", "nights": 2}], "budget": null, "note": null}')
    assert values == {"stops": [Stop("Oslo", 2)], "budget": None, "note": "none"}
    assert tool.parse_arguments({"stops": [], "budget": 9.5, "note": "x"}) == {
        "stops": [],
        "budget": 9.5,
        "note": "x",
    }


@pytest.mark.parametrize(
    "arguments, words",
    [
        (
            '{"stops": [{"city": "Oslo", "nights": "2"}], "budget": null, "note": null}',
            r"\$\.stops\[0\]\.nights",
        ),
        ('{"stops": [], "budget": null, "note": null, "extra": 1}', "extra"),
        ('{"stops": [', "are not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_arguments_that_do_not_fit_name_the_call_and_the_path(arguments: str, words: str) -> None:
    tool = OpenAITool.from_function(plan)
    with pytest.raises(ValueError, match=words) as raised:
        tool.parse_arguments(arguments)
    assert "call to 'plan'" in str(raised.value)


def test_call_takes_a_call_its_function_part_or_the_arguments() -> None:
    tool = OpenAITool.from_function(get_weather)
    arguments = '{"city": "Paris", "unit": "f", "days": null}'
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
    for given in (ToolCall(call), call, call["function"], FunctionCall(call["function"]), arguments):
        assert tool.call(given) == "Paris/f/1"
    assert tool.call({"city": "Rome", "unit": None, "days": 3}) == "Rome/c/3"


def test_call_refuses_a_call_to_another_function_and_a_tool_without_one() -> None:
    tool = OpenAITool.from_function(get_weather)
    with pytest.raises(ValueError, match="the call is to 'other', not to this tool"):
        tool.call({"function": {"name": "other", "arguments": "{}"}})
    plain = OpenAITool("lookup", parameters={"type": "object", "properties": {}})
    with pytest.raises(TypeError, match="has no Python function to run"):
        plain.call("{}")
    assert plain.parse_arguments('{"a": 1}') == {"a": 1}


def _positional(a: int, /, b: int = 2) -> str:
    return "%d-%d" % (a, b)


def test_positional_only_parameters_are_passed_by_position() -> None:
    tool = OpenAITool.from_function(_positional)
    assert tool.to_dict()["function"]["parameters"]["required"] == ["a", "b"]
    assert tool.call('{"a": 1, "b": null}') == "1-2"


def test_partials_and_callable_objects() -> None:
    class Greeter:
        def __call__(self, name: str, polite: bool = True) -> str:
            """Greet someone."""
            return ("Dear " if polite else "") + name

    greet = OpenAITool.from_function(Greeter(), name="greet")
    assert greet.description == "Greet someone."
    assert greet.to_dict()["function"]["parameters"]["required"] == ["name", "polite"]
    assert greet.call('{"name": "Ada", "polite": false}') == "Ada"
    fixed = OpenAITool.from_function(functools.partial(get_weather, days=5))
    assert fixed.description == "Current weather for a city."  # not functools.partial's docstring
    assert (
        fixed.name == "get_weather"
        and fixed.call('{"city": "Oslo", "unit": null, "days": null}') == "Oslo/c/5"
    )


# -- tool calls as objects -------------------------------------------------------------------------
def test_tool_calls_are_the_api_dicts_and_read_as_objects() -> None:
    call = {"id": "call_9", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
    message = OpenAIMessage.from_dict({"role": "assistant", "content": None, "tool_calls": [call]})
    (found,) = message.tool_calls or []
    assert found == call and found["function"]["name"] == "f"
    assert (found.id, found.type, found.function.name, found.function.arguments) == (
        "call_9",
        "function",
        "f",
        '{"x": 1}',
    )
    assert found.function.parsed_arguments == {"x": 1}
    assert message.tool_calls[0] is found  # wrapped once
    assert json.loads(json.dumps(message.to_dict())) == {
        "role": "assistant",
        "content": None,
        "tool_calls": [call],
    }
    assert type(call["function"]) is dict  # what was given is not changed


def test_a_tool_call_without_function_part() -> None:
    custom = ToolCall({"id": "c1", "type": "custom", "custom": {"name": "x", "input": "hi"}})
    assert custom.function.name is None and custom.function.parsed_arguments == {}


# -- on the fake server, on both clients (the run fixture, both_clients.py) --------------------------
WEATHER_CALL = [
    {"id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris", "unit": "f", "days": null}'}
]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("as_tool", [False, True], ids=["function", "OpenAITool"])
def test_a_function_tool_call_end_to_end(
    client: OpenAI, fake_server: FakeServer, stream: bool, as_tool: bool, run: Runner
) -> None:
    fake_server.add(chat_reply(tool_calls=WEATHER_CALL, stream=stream))
    tool = OpenAITool.from_function(get_weather)
    params = OpenAIChatCompletionParameters(
        tools=[tool if as_tool else get_weather],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        throw=True,
    )
    if stream:
        with run.stream(client.chat.completions.stream(MESSAGES, params)) as chunks:
            for _ in chunks:
                pass
        result = chunks.result()
    else:
        result = run(client.chat.completions.create(MESSAGES, params))
    sent = fake_server.requests[0].json
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "parameters": WEATHER_PARAMETERS,
                "strict": True,
            },
        }
    ]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    (call,) = result.choice.message.tool_calls
    assert call.function.parsed_arguments == {"city": "Paris", "unit": Unit.F, "days": 1}
    assert tool.call(call) == "Paris/f/1"

    # The assistant message goes back as it came, with the tool's answer after it.
    fake_server.add(chat_reply("It is sunny."))
    answer = {"role": "tool", "tool_call_id": call.id, "content": tool.call(call)}
    run(client.chat.completions.create(MESSAGES + [result.choice.message, answer], model="m"))
    history = fake_server.requests[1].json["messages"]
    assert history[1]["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": WEATHER_CALL[0]["arguments"]},
        }
    ]
    assert history[2] == answer


def test_arguments_that_do_not_fit_fail_when_read_not_the_call(
    client: OpenAI, fake_server: FakeServer, run: Runner
) -> None:
    bad = [{"id": "call_1", "name": "get_weather", "arguments": '{"city": 3, "unit": null, "days": null}'}]
    fake_server.add(chat_reply(tool_calls=bad))
    result = run(client.chat.completions.create(MESSAGES, tools=[get_weather]))
    assert result.success
    call = result.choice.message.tool_calls[0]
    with pytest.raises(ValueError, match=r"call to 'get_weather' do not fit: \$\.city: expected a string"):
        _ = call.function.parsed_arguments


def test_dict_tools_give_dict_arguments(client: OpenAI, fake_server: FakeServer, run: Runner) -> None:
    fake_server.add(chat_reply(tool_calls=[{"id": "c", "name": "lookup", "arguments": '{"word": "x"}'}]))
    tool = {"name": "lookup", "parameters": {"type": "object", "properties": {"word": {"type": "string"}}}}
    result = run(client.chat.completions.create(MESSAGES, tools=[tool, get_weather]))
    assert result.choice.message.tool_calls[0].function.parsed_arguments == {"word": "x"}
    assert result.choice.message.tool_calls[0].function.tool is None


def test_literal_parameters() -> None:
    def pick(mode: Literal["fast", "slow"]) -> str:
        return mode

    tool = OpenAITool.from_function(pick)
    assert tool.to_dict()["function"]["parameters"]["properties"]["mode"] == {
        "type": "string",
        "enum": ["fast", "slow"],
    }
    with pytest.raises(ValueError, match=r"\$\.mode"):
        tool.call('{"mode": "medium"}')
