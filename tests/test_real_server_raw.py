"""The body that ``OpenAIChatCompletionParameters.body()`` builds, sent with plain urllib.

No client code is involved: each parameter set below becomes
``{"messages": [...], **params.body()}``, is POSTed to the real llama.cpp
server, and the answer must be a well-formed chat completion (or, when
streaming, a well-formed ``text/event-stream`` of ``chat.completion.chunk``
objects ending with ``data: [DONE]``).

Every seed field appears at a non-default value, alone and all together, and
so do the common optional fields. Accepted is all this checks; what the server
then does with each field is measured in ``test_compatibility.py``.
"""

import json
from typing import Any, Dict

import pytest

from openai_params.parameters import OpenAIChatCompletionParameters
from rawhttp import FORCE_WEATHER, WEATHER_TOOL, check_completion, check_stream, post_chat

pytestmark = pytest.mark.integration

MESSAGES = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Say hello, then tell me the weather in Paris."},
]

# Whether a forced tool call comes back: llama.cpp's server leaves tools out of the prompt
# of a model whose chat template has none, as SmolLM2's (docs/compatibility.md).
CALLS_TOOLS = {"llama-cpp-python": True, "llama.cpp": False}

# Every row is capped by max_tokens so the file stays fast on a 2-core machine.
# The cap is also sent with max_completion_tokens because this server ignores
# that field (see docs/compatibility.md) and would otherwise run to the end.
CAP = 8


# (id, fields beyond model and the max_tokens cap)
CASES = [
    # The seed's six fields, each at a non-default value (model: the server's own alias).
    ("model", {}),
    ("stream", {"stream": True}),
    ("max_completion_tokens", {"max_completion_tokens": CAP}),
    ("n", {"n": 2}),
    ("temperature", {"temperature": 0.7}),
    ("store", {"store": True}),
    (
        "all_seed_fields",
        {"stream": True, "max_completion_tokens": CAP, "n": 2, "temperature": 0.5, "store": True},
    ),
    # The common optional fields.
    ("top_p", {"temperature": 1.0, "top_p": 0.9}),
    ("stop", {"stop": ["\n", "!"]}),
    ("seed", {"temperature": 1.0, "seed": 42}),
    ("max_tokens", {"max_tokens": 4}),
    ("presence_penalty", {"presence_penalty": 0.5}),
    ("frequency_penalty", {"frequency_penalty": -0.5}),
    ("logprobs_top_logprobs", {"logprobs": True, "top_logprobs": 2}),
    ("response_format_json_object", {"response_format": {"type": "json_object"}}),
    # A forced call needs a few more tokens than the cap to close its arguments.
    ("tools_tool_choice", {"tools": [WEATHER_TOOL], "tool_choice": FORCE_WEATHER, "max_tokens": 24}),
    (
        "tools_tool_choice_streamed",
        {"tools": [WEATHER_TOOL], "tool_choice": FORCE_WEATHER, "stream": True, "max_tokens": 24},
    ),
    ("user", {"user": "user-1234"}),
    ("metadata", {"metadata": {"purpose": "test", "suite": "raw"}}),
    ("logit_bias", {"logit_bias": {"1000": -100, "1001": 5}}),
    ("stream_options", {"stream": True, "stream_options": {"include_usage": True}}),
]  # type: List[Tuple[str, Dict[str, Any]]]


def _body(model: str, fields: Dict[str, Any]) -> Dict[str, Any]:
    fields = dict(fields)
    fields.setdefault("max_tokens", CAP)
    params = OpenAIChatCompletionParameters(model=model, **fields)
    body = params.body()
    # The parameters object decides what goes on the wire: every field set above
    # must be there, at the value given (tools may be normalised, so only keys).
    for name, value in fields.items():
        assert name in body, "%s missing from body(): %s" % (name, body)
        if name not in ("tools", "tool_choice"):
            assert body[name] == value, (name, body[name], value)
    assert body["model"] == model
    assert "messages" not in body
    return dict({"messages": MESSAGES}, **body)


@pytest.mark.parametrize("fields", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_server_accepts_body(real_server: Any, fields: Dict[str, Any]) -> None:
    body = _body(real_server.model, fields)
    answer = post_chat(real_server.base_url, body)
    forced = fields.get("tool_choice") == FORCE_WEATHER and CALLS_TOOLS[real_server.name]
    if body.get("stream"):
        chunks, _texts = check_stream(answer)
        if forced:
            calls = [
                call
                for chunk in chunks
                for choice in chunk["choices"]
                for call in choice["delta"].get("tool_calls") or []
            ]
            # This server repeats the name (and id) in every delta of a call,
            # where OpenAI sends it once; either way there is one function.
            names = {call["function"]["name"] for call in calls if call["function"].get("name")}
            assert names == {"get_weather"}, names
            arguments = "".join(call["function"].get("arguments") or "" for call in calls)
            # The server constrains the arguments to the tool's schema (city is required).
            assert isinstance(json.loads(arguments).get("city"), str), arguments
    else:
        completion = check_completion(answer)
        assert completion["model"] == real_server.model
        if forced:
            calls = completion["choices"][0]["message"]["tool_calls"]
            assert [c["function"]["name"] for c in calls] == ["get_weather"], calls
            assert isinstance(json.loads(calls[0]["function"]["arguments"]).get("city"), str), calls


def test_body_without_optional_fields_is_accepted(real_server: Any) -> None:
    # The smallest body the package sends: model only (every other field at its
    # "omitted" value), plus the cap.
    params = OpenAIChatCompletionParameters(model=real_server.model)
    body = params.body()
    assert body == {"model": real_server.model}, body
    check_completion(post_chat(real_server.base_url, dict(body, messages=MESSAGES, max_tokens=CAP)))
