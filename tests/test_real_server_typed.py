"""Typed outputs and function tools against the real server (SmolLM2-135M-Instruct).

The model is tiny, so what is asserted is what constrained generation
guarantees, not what a good model would answer: the server turns the schema
into a grammar, so the answer always fits the type, and ``parsed`` is an
instance of it. llama-cpp-python's server answers ``response_format``
``json_schema`` with HTTP 500 and takes the same schema as ``{"type":
"json_object", "schema": ...}``; its profile (``profile="llama-cpp-python"``)
sends that form. A server fixture that names its own profile
(``real_server.profile``) is used with it.

Greedy (``temperature=0``, a seed) so that a run is repeatable, and capped
with ``max_tokens`` (this server ignores ``max_completion_tokens``), high
enough for the whole object.
"""

import enum
from dataclasses import dataclass
from typing import Any

import pytest

from both_clients import Runner
from openai_params import OpenAI, OpenAITool

pytestmark = pytest.mark.integration

GREEDY = {"seed": 7, "temperature": 0}


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


@dataclass
class Cat:
    """A cat."""

    name: str
    age: int
    color: Color


CAT_MESSAGES = [
    {"role": "system", "content": "You answer with JSON only."},
    {"role": "user", "content": "Describe a cat named Tom, aged 3, whose fur is blue."},
]


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


def get_weather(city: str, unit: Unit) -> str:
    """Current weather for a city.

    Args:
        city: The city's name, such as Paris.
        unit: The temperature unit.
    """
    return "sunny in %s (%s)" % (city, unit.value)


WEATHER_MESSAGES = [{"role": "user", "content": "What is the weather in Paris, in celsius?"}]


@pytest.fixture()
def client(real_server: Any, run: Runner) -> OpenAI:
    """``OpenAI`` or ``AsyncOpenAI`` (the ``run`` fixture, both_clients.py): every test runs on both."""
    profile = getattr(real_server, "profile", None) or "llama-cpp-python"
    # The dummy key is sent as a bearer token; this server does not check it.
    return run.OpenAI(api_key="sk-dummy-not-a-real-key", base_url=real_server.base_url, profile=profile)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_dataclass_answer(client: OpenAI, real_server: Any, stream: bool, run: Runner) -> None:
    fields = dict(GREEDY, model=real_server.model, response_format=Cat, max_tokens=120)
    if stream:
        with run.stream(client.chat.completions.stream(CAT_MESSAGES, **fields)) as chunks:
            text = "".join(chunk.text for chunk in chunks)
        result = chunks.result()
        assert text == result.choice.message.content
    else:
        result = run(client.chat.completions.create(CAT_MESSAGES, **fields))
    assert result.success, result.errors
    cat = result.parsed
    assert isinstance(cat, Cat), result.choice.message.content
    assert isinstance(cat.name, str) and isinstance(cat.age, int) and isinstance(cat.color, Color)
    assert result.choice.message.parsed is cat


def test_the_same_answer_streamed_or_not(client: OpenAI, real_server: Any, run: Runner) -> None:
    fields = dict(GREEDY, model=real_server.model, response_format=Cat, max_tokens=120)
    plain = run(client.chat.completions.create(CAT_MESSAGES, **fields))
    with run.stream(client.chat.completions.stream(CAT_MESSAGES, **fields)) as chunks:
        for _ in chunks:
            pass
    streamed = chunks.result()
    assert plain.success and streamed.success, (plain.errors, streamed.errors)
    assert streamed.parsed == plain.parsed


# llama.cpp's server reads a tool_choice object as "auto" (docs/compatibility.md).
@pytest.mark.parametrize("real_server", ["llama-cpp-python"], indirect=True)
def test_a_function_tool_call_with_typed_arguments(client: OpenAI, real_server: Any, run: Runner) -> None:
    tool = OpenAITool.from_function(get_weather)
    result = run(
        client.chat.completions.create(
            WEATHER_MESSAGES,
            GREEDY,
            model=real_server.model,
            tools=[get_weather],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            max_tokens=60,
        )
    )
    assert result.success, result.errors
    (call,) = result.choice.message.tool_calls
    assert call.function.name == "get_weather"
    arguments = call.function.parsed_arguments
    assert set(arguments) == {"city", "unit"}
    assert isinstance(arguments["city"], str) and isinstance(arguments["unit"], Unit)
    assert tool.call(call) == "sunny in %s (%s)" % (arguments["city"], arguments["unit"].value)
