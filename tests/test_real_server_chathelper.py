"""OpenAIChatHelper against the real server (llama-cpp-python serving SmolLM2-135M-Instruct).

A helper with a function-built ``get_weather``: the first round, with ``tool_choice``
naming it, calls it (measured: docs/compatibility.md); the handler's answer goes back;
the second round, with ``tool_choice`` left out, answers in text. What the server
received is read from the wire by a recording transport around the real one, and is
exactly what docs/OpenAIChatHelper.md says: the system prompt, the history, the
assistant message as the server wrote it (its ``content`` sent as ``""``, which this
server needs: the ``llama-cpp-python`` profile), and one ``tool`` message per call.
"""

import json
from typing import Any, Dict, List, Tuple

import pytest

from both_clients import Runner
from openai_params import OpenAI
from openai_params.async_transport import AsyncTransport
from openai_params.transport import Transport

# About llama-cpp-python's server: the forced first round names the tool (llama.cpp's server reads a
# tool_choice object as "auto"), and the content "" is that server's profile.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("real_server", ["llama-cpp-python"], indirect=True),
]

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
QUESTION = {"role": "user", "content": "What is the weather in Paris?"}
FORCE_WEATHER = {"type": "function", "function": {"name": "get_weather"}}


class Recording:
    """A transport that keeps the JSON body of every request, then sends it for real."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner if inner is not None else Transport()
        self.bodies: List[Dict[str, Any]] = []

    def send(self, request: Any, **options: Any) -> Any:
        self.bodies.append(json.loads(request.body))
        return self.inner.send(request, **options)

    def close(self) -> None:
        self.inner.close()


class AsyncRecording(Recording):
    """:class:`Recording` around an ``AsyncTransport``, for ``AsyncOpenAI``."""

    def __init__(self) -> None:
        super().__init__(AsyncTransport())

    async def send(self, request: Any, **options: Any) -> Any:  # type: ignore[override]
        self.bodies.append(json.loads(request.body))
        return await self.inner.send(request, **options)


@pytest.fixture()
def recorded(real_server: Any, run: Runner) -> Tuple[OpenAI, Recording]:
    """A client of the kind of ``run`` (both_clients.py), and the bodies it sent."""
    transport = AsyncRecording() if run.is_async else Recording()
    client = run.OpenAI(
        api_key="sk-dummy-not-a-real-key",
        base_url=real_server.base_url,
        profile="llama-cpp-python",
        transport=transport,
    )
    return client, transport


@pytest.mark.parametrize("mode", ["prompt", "stream"])
def test_a_function_tool_round_then_a_text_answer(
    recorded: Any, real_server: Any, mode: str, run: Runner
) -> None:
    client, transport = recorded
    asked: List[str] = []

    def get_weather(city: str) -> str:
        """Current weather for a city.

        Args:
            city: The city's name, like "Paris".
        """
        asked.append(city)
        return "18 C and sunny"

    helper = client.chat.create(
        SYSTEM["content"],
        model=real_server.model,
        tool_choice=FORCE_WEATHER,
        seed=7,
        temperature=0,
        max_tokens=40,
    )
    helper.register_tool(get_weather)
    if mode == "prompt":
        result = run(helper.prompt(QUESTION["content"]))
    else:
        with run.stream(helper.stream(QUESTION["content"])) as stream:
            chunks = list(stream)
        result = stream.result()
        assert [c.choice.finish_reason for c in chunks if c.choice is not None and c.choice.finish_reason][
            0
        ] == ("tool_calls")
    assert result.success, result.errors
    assert helper.last_errors == []

    # Round 1 called the tool; round 2 answered in text.
    assert len(asked) == 1 and asked[0].strip()
    user, called, replied, answered = helper.messages
    assert user.to_dict() == QUESTION
    (call,) = called.tool_calls
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": asked[0]}
    assert replied.to_dict() == {"role": "tool", "content": "18 C and sunny", "tool_call_id": call["id"]}
    assert answered.role == "assistant" and not answered.tool_calls
    assert isinstance(answered.content, str) and answered.content.strip()
    assert result.choice.message.content == answered.content

    # What the server received, request by request.
    first, second = transport.bodies
    assert first["messages"] == [SYSTEM, QUESTION]
    assert first["tool_choice"] == FORCE_WEATHER and "tool_choice" not in second
    tool = first["tools"][0]["function"]
    assert tool["name"] == "get_weather" and tool["description"] == "Current weather for a city."
    assert tool["parameters"]["required"] == ["city"]
    assert second["tools"] == first["tools"]
    assistant_sent = dict(called.to_dict(), content="")  # null in the answer, "" on the wire
    assert second["messages"] == [SYSTEM, QUESTION, assistant_sent, replied.to_dict()]
    assert all(body.get("stream", False) is (mode == "stream") for body in transport.bodies)
