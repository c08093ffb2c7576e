"""The ``llama-cpp-python`` profile against the real test server (integration).

The same requests go out once with the ``generic`` profile (what the server does
with the body as built: docs/compatibility.md) and once with the server's own
profile, which must turn each of those rows into an honoured one:
``max_completion_tokens``, ``n``, a ``json_schema`` response format,
``tool_choice: "required"`` with one tool, an assistant tool-call message
whose content is null (HTTP 500 as sent), and ``stream_options.include_usage``.
"""

import json
import warnings
from typing import Any, Dict, Iterator

import pytest

from openai_params import OpenAI
from rawhttp import WEATHER_TOOL

# llama-cpp-python's own profile, against that server only (llama.cpp's: test_compatibility.py).
pytestmark = pytest.mark.parametrize("real_server", ["llama-cpp-python"], indirect=True)

MESSAGES = [{"role": "user", "content": "Name three colours."}]
SCHEMA_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "colours",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"colour": {"type": "string", "enum": ["red", "green", "blue"]}},
            "required": ["colour"],
            "additionalProperties": False,
        },
    },
}
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}
TOOL_TURN = [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 C"},
]


def _client(real_server: Any, profile: str) -> OpenAI:
    return OpenAI(api_key="sk-dummy", base_url=real_server.base_url, profile=profile, max_retries=0)


@pytest.fixture()
def adapted(real_server: Any) -> Iterator[OpenAI]:
    with _client(real_server, "llama-cpp-python") as client:
        yield client


@pytest.fixture()
def generic(real_server: Any) -> Iterator[OpenAI]:
    with _client(real_server, "generic") as client:
        yield client


def _fields(real_server: Any, **more: Any) -> Dict[str, Any]:
    return dict(model=real_server.model, temperature=0, seed=1, **more)


def test_max_completion_tokens_is_honoured(generic: OpenAI, adapted: OpenAI, real_server: Any) -> None:
    fields = _fields(real_server, max_completion_tokens=3)
    ignored = generic.chat.completions.create(MESSAGES, **fields)
    honoured = adapted.chat.completions.create(MESSAGES, **fields)
    assert ignored.success and honoured.success, (ignored.errors, honoured.errors)
    assert ignored.usage["completion_tokens"] > 3
    assert honoured.usage["completion_tokens"] <= 3
    assert honoured.choice.finish_reason == "length"


def test_n_is_honoured_by_emulation(generic: OpenAI, adapted: OpenAI, real_server: Any) -> None:
    one = generic.chat.completions.create(MESSAGES, **_fields(real_server, max_tokens=8, n=3))
    three = adapted.chat.completions.create(MESSAGES, **_fields(real_server, max_completion_tokens=8, n=3))
    assert one.success and three.success, (one.errors, three.errors)
    assert len(one.choices) == 1
    assert [choice.index for choice in three.choices] == [0, 1, 2]
    assert three.usage["prompt_tokens"] == 3 * one.usage["prompt_tokens"]


def test_n_streamed_by_emulation(adapted: OpenAI, real_server: Any) -> None:
    with adapted.chat.completions.stream(
        MESSAGES, **_fields(real_server, max_completion_tokens=5, n=2)
    ) as stream:
        indexes = [chunk.choice.index for chunk in stream if chunk.choice is not None]
        final = stream.result()
    assert final.success, final.errors
    assert sorted(set(indexes)) == [0, 1] and indexes == sorted(indexes)
    assert [choice.index for choice in final.choices] == [0, 1]


def test_json_schema_is_honoured(generic: OpenAI, adapted: OpenAI, real_server: Any) -> None:
    fields = _fields(real_server, max_completion_tokens=60, response_format=SCHEMA_FORMAT)
    rejected = generic.chat.completions.create(MESSAGES, **fields)
    assert rejected.status == 500
    honoured = adapted.chat.completions.create(MESSAGES, **fields)
    assert honoured.success, honoured.errors
    answer = json.loads(honoured.text)
    assert isinstance(answer, dict) and answer.get("colour") in ("red", "green", "blue"), answer


def test_tool_call_message_with_null_content_is_accepted(
    generic: OpenAI, adapted: OpenAI, real_server: Any
) -> None:
    fields = _fields(real_server, max_completion_tokens=8)
    rejected = generic.chat.completions.create(TOOL_TURN, **fields)
    assert rejected.status == 500
    accepted = adapted.chat.completions.create(TOOL_TURN, **fields)
    assert accepted.success, accepted.errors


def test_required_tool_choice_is_honoured_with_one_tool(
    generic: OpenAI, adapted: OpenAI, real_server: Any
) -> None:
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    fields = _fields(real_server, max_completion_tokens=40, tools=[WEATHER_TOOL], tool_choice="required")
    ignored = generic.chat.completions.create(messages, **fields)
    assert ignored.success and not ignored.choice.message.tool_calls
    honoured = adapted.chat.completions.create(messages, **fields)
    assert honoured.success, honoured.errors
    assert honoured.choice.message.tool_calls[0]["function"]["name"] == "get_weather"


def test_include_usage_is_honoured_with_the_servers_own_usage(
    generic: OpenAI, adapted: OpenAI, real_server: Any
) -> None:
    fields = _fields(real_server, max_completion_tokens=6, stream_options={"include_usage": True})
    with generic.chat.completions.stream(MESSAGES, **fields) as stream:
        ignored = [chunk for chunk in stream if chunk.usage is not None]
    assert stream.result().success and ignored == []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with adapted.chat.completions.stream(MESSAGES, **fields) as stream:
            chunks = list(stream)
    assert any("include_usage" in str(warning.message) for warning in caught)
    final = stream.result()
    assert final.success, final.errors
    assert chunks[-1].choice is None and chunks[-1].usage == final.usage
    assert "".join(chunk.text for chunk in chunks) == final.text
    # The server's own count: the same greedy request unstreamed reports the same usage.
    whole = adapted.chat.completions.create(MESSAGES, **_fields(real_server, max_completion_tokens=6))
    assert whole.success and final.usage == whole.usage and final.text == whole.text
