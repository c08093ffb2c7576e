"""``include_usage`` on a server that sends no usage chunk (openai_params/emulate_usage.py).

llama-cpp-python's profile (``stream_usage`` False) sends a stream that asks for
``stream_options.include_usage`` as one request without ``stream``, and delivers
the whole answer as chunks, the server's usage last. The fake server answers a
whole completion; the tests check what it received (no ``stream``, no
``stream_options``) and what came back (the chunks, the usage) in every form:
the iterator, the callbacks, ``AsyncOpenAI``. The expected chunks are written by
hand from OpenAI's documented stream shape.
"""

import asyncio
import json
import logging
import warnings
from typing import Any, Dict, List, Tuple

import pytest

from fakeserver import FakeServer
from openai_params import AsyncOpenAI, OpenAI, OpenAIChatCompletionResult, cli
from openai_params.emulate_usage import completion_chunks
from openai_params.profiles import PROFILES, Profile, adapt
from streamdata import DONE, SSE_HEADERS, chunk, completion, event

USER = {"role": "user", "content": "Hi"}
USAGE = {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
ASK = {"include_usage": True}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
HEAD = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "fake-model"}


def make_client(server: FakeServer, profile: Any = "llama-cpp-python", kind: Any = OpenAI) -> Any:
    return kind(api_key="sk-x", base_url=server.url + "/v1", profile=profile, max_retries=0, timeout=5)


def answer(text: str = "Hello", usage: Any = USAGE) -> Dict[str, Any]:
    return completion(text, usage=usage)


def stream_chunks(text: str, usage: Any) -> List[Dict[str, Any]]:
    """What a streaming server sends for one choice with include_usage, by hand."""
    choice = {"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    choice["logprobs"] = None
    return [dict(HEAD, choices=[choice], usage=None), dict(HEAD, choices=[], usage=usage)]


def received(server: FakeServer, index: int = 0) -> Dict[str, Any]:
    found = server.requests[index].json
    assert isinstance(found, dict)
    return found


def quiet_stream(client: OpenAI, **params: Any) -> Tuple[List[Dict[str, Any]], OpenAIChatCompletionResult]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with client.chat.completions.stream([USER], **params) as stream:
            chunks = [c.body for c in stream]
        return chunks, stream.result()


# -- what the server receives and what the caller gets -----------------------------------------------


def test_a_stream_asking_for_usage_is_sent_unstreamed_and_delivered_as_chunks(
    fake_server: FakeServer,
) -> None:
    fake_server.add(200, json=answer("Hello"))
    with make_client(fake_server) as client:
        chunks, final = quiet_stream(
            client, model="m", max_completion_tokens=5, stream_options={"include_usage": True}
        )
    body = received(fake_server)
    assert "stream" not in body and "stream_options" not in body
    assert body == {"messages": [USER], "model": "m", "max_tokens": 5}  # the other rules still apply
    assert chunks == stream_chunks("Hello", USAGE)
    assert final.success and final.usage == USAGE and final.text == "Hello"
    assert (final.body["id"], final.choice.finish_reason) == ("chatcmpl-1", "stop")
    assert len(fake_server.requests) == 1


def test_the_async_client_does_the_same(fake_server: FakeServer) -> None:
    fake_server.add(200, json=answer("Hey"))

    async def scenario() -> Tuple[List[Dict[str, Any]], OpenAIChatCompletionResult]:
        async with make_client(fake_server, kind=AsyncOpenAI) as client:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                stream = client.chat.completions.stream([USER], model="m", stream_options=ASK)
            async with stream as opened:
                chunks = [c.body async for c in opened]
            return chunks, await stream.result()

    chunks, final = asyncio.run(scenario())
    assert "stream" not in received(fake_server) and "stream_options" not in received(fake_server)
    assert chunks == stream_chunks("Hey", USAGE)
    assert final.success and final.usage == USAGE


@pytest.mark.parametrize("kind", [OpenAI, AsyncOpenAI])
def test_callbacks_get_the_chunks_and_the_usage(fake_server: FakeServer, kind: Any) -> None:
    fake_server.add(200, json=answer("Yo"))
    seen: List[Any] = []
    ended: List[Any] = []

    async def scenario() -> Any:
        client = make_client(fake_server, kind=kind)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                call = client.chat.completions.create(
                    [USER],
                    model="m",
                    stream=True,
                    stream_options=ASK,
                    on_data=lambda c: seen.append((c.text, c.usage)),
                    on_terminate=ended.append,
                )
            return await call if kind is AsyncOpenAI else call.result(timeout=10)
        finally:
            client.close()

    final = asyncio.run(scenario())
    assert seen == [("Yo", None), ("", USAGE)]
    assert ended == [final] and final.success and final.usage == USAGE
    assert "stream" not in received(fake_server)


def test_tool_calls_come_as_deltas_numbered_by_index(fake_server: FakeServer) -> None:
    second = dict(CALL, id="call_2")
    body = completion("", usage=USAGE)
    body["choices"][0].update(message={"role": "assistant", "content": None, "tool_calls": [CALL, second]})
    body["choices"][0]["finish_reason"] = "tool_calls"
    fake_server.add(200, json=body)
    with make_client(fake_server) as client:
        chunks, final = quiet_stream(client, model="m", stream_options=ASK, tools=[_tool()])
    delta = chunks[0]["choices"][0]["delta"]
    assert delta == {
        "role": "assistant",
        "content": None,
        "tool_calls": [dict({"index": 0}, **CALL), dict({"index": 1}, **second)],
    }
    assert chunks[0]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[1] == dict(HEAD, choices=[], usage=USAGE)
    assert [call["id"] for call in final.choice.message.tool_calls] == ["call_1", "call_2"]
    assert final.usage == USAGE


def _tool() -> Dict[str, Any]:
    return {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}


def test_n_emulated_too_gives_one_usage_chunk_with_the_usage_summed(fake_server: FakeServer) -> None:
    fake_server.add(200, json=answer("one", {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5}))
    fake_server.add(200, json=answer("two", {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}))
    with make_client(fake_server) as client:
        chunks, final = quiet_stream(client, model="m", n=2, stream_options=ASK)
    assert [(c["choices"][0]["index"], c["choices"][0]["delta"]["content"]) for c in chunks[:2]] == [
        (0, "one"),
        (1, "two"),
    ]
    summed = {"prompt_tokens": 8, "completion_tokens": 3, "total_tokens": 11}
    assert chunks[2:] == [dict(HEAD, choices=[], usage=summed)]
    assert final.usage == summed and [c.message.content for c in final.choices] == ["one", "two"]
    assert [received(fake_server, i) for i in (0, 1)] == [{"messages": [USER], "model": "m"}] * 2


def test_a_server_that_sends_usage_chunks_with_n_emulated_gives_one_summed(fake_server: FakeServer) -> None:
    # Ollama's profile emulates n; its server honours include_usage: two streams, two usage chunks.
    for text, tokens in (("a", 1), ("b", 2)):
        usage = {"prompt_tokens": 4, "completion_tokens": tokens, "total_tokens": 4 + tokens}
        pieces = [event(chunk(text, role="assistant")), event(chunk(finish="stop"))]
        pieces += [event(dict(chunk(), choices=[], usage=usage)), DONE]
        fake_server.add(200, pieces=pieces, headers=SSE_HEADERS)
    with make_client(fake_server, "ollama") as client:
        chunks, final = quiet_stream(client, model="m", n=2, stream_options=ASK)
    assert [c["choices"] == [] for c in chunks] == [False, False, False, False, True]
    summed = {"prompt_tokens": 8, "completion_tokens": 3, "total_tokens": 11}
    assert chunks[-1]["usage"] == summed and final.usage == summed
    assert all(received(fake_server, i)["stream_options"] == ASK for i in (0, 1))


def test_a_failed_request_ends_the_stream_with_the_servers_error(fake_server: FakeServer) -> None:
    fake_server.add(500, json={"error": {"message": "out of memory", "type": "server_error"}})
    with make_client(fake_server) as client:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stream = client.chat.completions.stream([USER], model="m", stream_options=ASK)
        chunks = list(stream)
    assert len(chunks) == 1 and not chunks[0].success
    assert stream.result().errors[0].message == "out of memory" and stream.result().status == 500


# -- when the rule applies, and how it says so ---------------------------------------------------------


@pytest.mark.parametrize(
    "profile, options, streamed",
    [
        ("llama-cpp-python", None, True),  # nothing asked: streamed as built
        ("llama-cpp-python", {"include_usage": False}, True),
        ("llama.cpp", ASK, True),  # a server that sends the usage chunk itself
        ("generic", ASK, True),
    ],
)
def test_a_stream_is_sent_streamed_unless_the_rule_applies(
    fake_server: FakeServer, profile: str, options: Any, streamed: bool
) -> None:
    fake_server.add(
        200, pieces=[event(chunk("a", role="assistant", finish="stop")), DONE], headers=SSE_HEADERS
    )
    params: Dict[str, Any] = {"model": "m"}
    if options is not None:
        params["stream_options"] = options
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with make_client(fake_server, profile) as client:
            assert quiet_stream(client, **params)[1].success
    body = received(fake_server)
    assert body["stream"] is True and body.get("stream_options") == options
    assert not caught


def test_one_warning_per_client_says_the_price(fake_server: FakeServer, caplog: Any) -> None:
    for _ in range(3):
        fake_server.add(200, json=answer())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.DEBUG, logger="openai_params"):
            with make_client(fake_server) as client:
                for _ in range(2):
                    client.chat.completions.stream([USER], model="m", stream_options=ASK).result()
            with make_client(fake_server) as other:
                other.chat.completions.stream([USER], model="m", stream_options=ASK).result()
    texts = [str(w.message) for w in caught]
    assert len(texts) == 2 and texts[0] == texts[1]
    assert "'llama-cpp-python' profile" in texts[0] and "stream_options.include_usage" in texts[0]
    assert "all at once when the whole answer is done" in texts[0]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("profile ")]
    text = "stream with include_usage sent unstreamed and delivered as chunks, the server's usage last"
    assert lines == ["profile llama-cpp-python: " + text] * 3


def test_build_request_and_dry_run_show_the_unstreamed_request(capsys: Any) -> None:
    client = OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", profile="llama-cpp-python")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        request = client.chat.completions.build_request([USER], model="m", stream=True, stream_options=ASK)
    assert json.loads(request.body) == {"messages": [USER], "model": "m"}
    argv = ["--dry-run", "--base-url", "http://127.0.0.1:9/v1", "--profile", "llama-cpp-python"]
    argv += ["--stream", "--param", 'stream_options={"include_usage": true}', "Hi"]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    assert '"stream"' not in out and "stream_options" not in out
    assert "stream_options.include_usage" in err and "all at once" in err


def test_adapt_names_the_rule_and_leaves_its_input_alone() -> None:
    body = {
        "messages": [USER],
        "model": "m",
        "stream": True,
        "stream_options": dict(ASK, include_obfuscation=True),
    }
    before = json.dumps(body, sort_keys=True)
    adapted, applied = adapt(PROFILES["llama-cpp-python"], body)
    assert adapted == {"messages": [USER], "model": "m"}
    assert [(rule.kind, rule.field) for rule in applied] == [("stream_usage", "stream_options.include_usage")]
    assert json.dumps(body, sort_keys=True) == before


def test_a_profile_of_your_own_can_ask_for_it() -> None:
    mine = Profile.from_dict({"name": "mine", "extends": "mistral", "stream_usage": False})
    assert not mine.stream_usage and not mine.is_generic
    body = {"messages": [USER], "model": "m", "stream": True, "stream_options": ASK}
    # Mistral's profile drops stream_options; the rule saw the ask first.
    assert [rule.kind for rule in adapt(mine, body)[1]] == ["stream_usage"]
    assert Profile.from_dict({"stream_usage": False}).is_generic is False
    with pytest.raises(TypeError, match="profile.stream_usage must be True or False"):
        Profile.from_dict({"stream_usage": "no"})


# -- the pure function ---------------------------------------------------------------------------------


def test_completion_chunks_one_per_choice_then_usage() -> None:
    whole = completion("a", usage=USAGE)
    whole["system_fingerprint"] = "fp_9"
    whole["choices"].append(
        {"index": 1, "message": {"role": "assistant", "content": "b"}, "finish_reason": "length"}
    )
    before = json.dumps(whole, sort_keys=True)
    chunks = completion_chunks(whole)
    head = dict(HEAD, system_fingerprint="fp_9")
    assert chunks == [
        dict(
            head,
            choices=[
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": "a"},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            usage=None,
        ),
        dict(
            head,
            choices=[{"index": 1, "delta": {"role": "assistant", "content": "b"}, "finish_reason": "length"}],
            usage=None,
        ),
        dict(head, choices=[], usage=USAGE),
    ]
    assert json.dumps(whole, sort_keys=True) == before


def test_completion_chunks_without_usage_have_no_usage_key() -> None:
    whole = completion("a")
    del whole["usage"]
    chunks = completion_chunks(whole)
    assert len(chunks) == 1 and "usage" not in chunks[0]
    assert completion_chunks({"choices": "junk"}) == []


def test_the_docstring_example() -> None:
    import doctest

    import openai_params.emulate_usage

    result = doctest.testmod(openai_params.emulate_usage)
    assert result.attempted > 0 and result.failed == 0
