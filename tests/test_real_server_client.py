"""The package's own client against the two real servers.

``test_real_server_raw.py`` checks that the bodies the parameters build are
accepted; this file drives the whole client (transport, SSE decoder, stream
reader, accumulator, background calls) against each real server
(llama-cpp-python 0.3.36's Python server and llama.cpp's C++ ``llama-server``,
both serving SmolLM2-135M-Instruct, see docs/compatibility.md) and asserts on
what comes back. What the server *received* cannot be observed here: those
assertions live in the fake-server tests.

Every test runs on both servers. Where they differ, the test reads the
server's row of ``FACTS`` (each fact measured, see docs/compatibility.md)
instead of branching on its name. Facts both servers share:

* with ``seed`` and ``temperature=0`` the same request gets the same text,
  streamed or not, so a streamed result can be compared with a non-streamed
  one field by field.

Answers are capped with ``max_tokens`` (llama-cpp-python ignores
``max_completion_tokens``) so that the file runs in a few seconds.
"""

import json
import re
import threading
from typing import Any, Dict, List, NamedTuple, Type

import pytest

from both_clients import Runner, sync_only
from openai_params import (
    BadRequestError,
    InternalServerError,
    NotFoundError,
    OpenAI,
    OpenAIChatCompletionParameters,
    OpenAIChatCompletionResult,
    OpenAIChatCompletionStreamResult,
    OpenAIException,
    OpenAIParameters,
)
from rawhttp import FORCE_WEATHER, WEATHER_TOOL

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "Say hello and tell me about Paris."}]
# Greedy and seeded: the same request gives the same answer, streamed or not.
GREEDY = {"seed": 7, "temperature": 0, "max_tokens": 12}

WEATHER_MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]

# Rejected by llama-cpp-python's request validation, with status 500.
JSON_SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}}
# A body both servers reject: messages must be a list.
MALFORMED = {"extra_body": {"messages": "not a list"}}

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
COUNTS = ("prompt_tokens", "completion_tokens", "total_tokens")


class Facts(NamedTuple):
    """Where the two servers differ, as measured (docs/compatibility.md)."""

    request_id: bool  # an x-request-id header on every answer, errors too
    not_found: str  # the message of the 404 for an unknown model
    rejected_status: int  # the status of a request it refuses to read (messages not a list)
    rejected_error: Type[OpenAIException]
    rejected_type: str  # error.type of that answer
    rejected_says: str  # a part of its message
    stream_usage: bool  # streams end with usage (without stream_options)
    role_always: bool  # the first chunk of every stream carries delta.role


FACTS = {
    "llama-cpp-python": Facts(
        request_id=True,
        not_found="Not Found",  # {"detail": "Not Found"}
        rejected_status=500,
        rejected_error=InternalServerError,
        rejected_type="internal_server_error",
        rejected_says="valid list",
        stream_usage=False,
        role_always=True,
    ),
    "llama.cpp": Facts(
        request_id=False,
        not_found="File Not Found",
        rejected_status=400,
        rejected_error=BadRequestError,
        rejected_type="invalid_request_error",
        rejected_says="",
        stream_usage=False,
        role_always=False,  # some streams carry no delta.role at all
    ),
}


@pytest.fixture()
def facts(real_server: Any) -> Facts:
    return FACTS[real_server.name]


def _counts(usage: Any) -> Dict[str, int]:
    """The token counts of a usage object (llama.cpp adds cached-token details that vary)."""
    return {key: usage[key] for key in COUNTS}


@pytest.fixture()
def client(real_server: Any, run: Runner) -> OpenAI:
    """``OpenAI`` or ``AsyncOpenAI`` (the ``run`` fixture, both_clients.py): every test runs on both."""
    # The dummy key is sent as a bearer token; this server does not check it.
    return run.OpenAI(api_key="sk-dummy-not-a-real-key", base_url=real_server.base_url)


def _without_nulls(message: Dict[str, Any]) -> Dict[str, Any]:
    """A message without its null fields: the accumulator writes ``refusal: null``
    (as OpenAI does), where this server leaves the key out of non-streamed answers."""
    return {k: v for k, v in message.items() if v is not None}


def _stream_all(run: Runner, client: OpenAI, messages: Any, **fields: Any) -> Any:
    with run.stream(client.chat.completions.stream(messages, **fields)) as stream:
        chunks = list(stream)
        final = stream.result()
    return chunks, final, stream


# -- non-streamed calls -----------------------------------------------------------------------


def test_create_returns_a_complete_result(
    client: OpenAI, real_server: Any, facts: Facts, run: Runner
) -> None:
    r = run(client.chat.completions.create(MESSAGES, model=real_server.model, **GREEDY))
    assert isinstance(r, OpenAIChatCompletionResult)
    assert r.success, r.errors
    assert r.errors == [] and r.error is None
    assert r.status == 200
    assert r.terminated
    assert r.headers["content-type"].startswith("application/json")
    if facts.request_id:  # the result exposes the server's request id
        assert REQUEST_ID.match(r.headers["x-request-id"]), r.headers
        assert r.request_id == r.headers["x-request-id"]
    else:
        assert "x-request-id" not in r.headers and r.request_id is None
    assert not r.rate_limit  # no x-ratelimit-* headers from these servers
    assert r.id is not None and r.id.startswith("chatcmpl-")
    assert r.model == real_server.model
    assert isinstance(r.created, int)
    assert len(r.choices) == 1
    choice = r.choice
    assert choice is not None and choice.index == 0
    assert choice.message is not None and choice.message.role == "assistant"
    content = choice.message.content
    assert isinstance(content, str) and content.strip(), content
    assert r.text == content == choice.text
    assert choice.finish_reason in ("stop", "length")
    usage = r.usage
    assert usage is not None
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert isinstance(usage[key], int) and not isinstance(usage[key], bool), usage
    assert usage["prompt_tokens"] > 0
    assert 0 < usage["completion_tokens"] <= GREEDY["max_tokens"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    if choice.finish_reason == "length":
        assert usage["completion_tokens"] == GREEDY["max_tokens"]
    assert r.throw() is r


def test_parameters_as_object_dict_and_kwargs_give_the_same_answer(
    client: OpenAI, real_server: Any, run: Runner
) -> None:
    by_kwargs = run(client.chat.completions.create(MESSAGES, model=real_server.model, **GREEDY))
    by_object = run(
        client.chat.completions.create(
            MESSAGES, OpenAIChatCompletionParameters(model=real_server.model, max_retries=0, **GREEDY)
        )
    )
    by_dict = run(
        client.chat.completions.create(MESSAGES, dict(GREEDY, model=real_server.model, maxRetries=0))
    )  # the seed's camelCase
    for r in (by_kwargs, by_object, by_dict):
        assert r.success, r.errors
    assert by_object.text == by_kwargs.text == by_dict.text
    assert _counts(by_object.usage) == _counts(by_kwargs.usage) == _counts(by_dict.usage)


def test_models_list_names_the_served_model(
    client: OpenAI, real_server: Any, facts: Facts, run: Runner
) -> None:
    r = run(client.models.list())
    assert r.success, r.errors
    assert r.status == 200
    assert r.body["object"] == "list"
    assert real_server.model in [m["id"] for m in r.items], r.body
    assert r.request_id == r.headers.get("x-request-id")
    assert (r.request_id is not None) == facts.request_id


def test_models_retrieve_unknown_model_is_not_found(client: OpenAI, facts: Facts, run: Runner) -> None:
    r = run(client.models.retrieve("no-such-model"))
    assert not r.success
    assert r.status == 404
    assert len(r.errors) == 1
    error = r.errors[0]
    assert error.status == 404 and error.is_not_found_error and not error.is_server_error
    assert error.message == facts.not_found
    if facts.request_id:
        assert REQUEST_ID.match(error.request_id or ""), error
    assert r.request_id == error.request_id
    with pytest.raises(NotFoundError) as raised:
        r.throw()
    assert raised.value.error is error
    assert raised.value.status_code == 404
    with pytest.raises(NotFoundError) as raised:
        run(client.models.retrieve("no-such-model", OpenAIParameters(throw=True)))
    assert raised.value.status_code == 404
    assert raised.value.message == facts.not_found


def test_rejected_request_is_an_error_result(
    client: OpenAI, real_server: Any, facts: Facts, run: Runner
) -> None:
    # max_retries=0: a 500 is retried by default, and this one cannot get better.
    params = dict(MALFORMED, model=real_server.model, max_tokens=4, max_retries=0)
    r = run(client.chat.completions.create(MESSAGES, **params))
    assert not r.success
    assert r.status == facts.rejected_status
    assert r.choice is None and r.text == ""
    error = r.errors[0]
    assert error.status == facts.rejected_status
    assert error.is_server_error == (facts.rejected_status >= 500)
    assert error.type == facts.rejected_type
    assert facts.rejected_says in error.message, error.message
    if facts.request_id:
        assert REQUEST_ID.match(error.request_id or ""), error
    assert isinstance(error.body, dict) and "error" in error.body
    with pytest.raises(facts.rejected_error) as raised:
        r.throw()
    assert raised.value.status_code == facts.rejected_status
    with pytest.raises(facts.rejected_error) as raised:
        run(client.chat.completions.create(MESSAGES, throw=True, **params))
    assert raised.value.status_code == facts.rejected_status
    assert facts.rejected_says in raised.value.message
    assert isinstance(raised.value, OpenAIException)


@pytest.mark.parametrize("real_server", ["llama-cpp-python"], indirect=True)
def test_json_schema_is_a_500_on_llama_cpp_python(client: OpenAI, real_server: Any, run: Runner) -> None:
    # llama-cpp-python's request validation refuses json_schema, and says so with a 500.
    params = dict(model=real_server.model, max_tokens=4, max_retries=0, response_format=JSON_SCHEMA_FORMAT)
    r = run(client.chat.completions.create(MESSAGES, **params))
    assert not r.success and r.status == 500
    error = r.errors[0]
    assert error.is_server_error and error.type == "internal_server_error"
    assert "json_object" in error.message, error.message
    with pytest.raises(InternalServerError):
        run(client.chat.completions.create(MESSAGES, throw=True, **params))


# -- iterator streaming -----------------------------------------------------------------------


def test_stream_chunks_join_to_the_final_content(
    client: OpenAI, real_server: Any, facts: Facts, run: Runner
) -> None:
    chunks, final, stream = _stream_all(run, client, MESSAGES, model=real_server.model, **GREEDY)
    assert len(chunks) >= 2
    for chunk in chunks:
        assert isinstance(chunk, OpenAIChatCompletionStreamResult)
        assert chunk.success and chunk.status == 200 and not chunk.terminated
        assert chunk.id == final.id
        assert chunk.choice is not None  # no usage-only chunks without stream_options
    if facts.role_always:
        assert chunks[0].choice.delta.role == "assistant"
    finishing = [c.choice.finish_reason for c in chunks if c.choice.finish_reason]
    assert len(finishing) == 1 and chunks[-1].choice.finish_reason == finishing[0]

    assert final.success, final.errors
    assert final.terminated and final.status == 200
    assert final.headers["content-type"].startswith("text/event-stream")
    if facts.request_id:
        assert REQUEST_ID.match(final.request_id or ""), final.headers
    assert final.request_id == stream.headers.get("x-request-id")
    content = final.choice.message.content
    assert content and "".join(c.text for c in chunks) == content
    assert final.choice.finish_reason == finishing[0]
    assert final.choice.message.role == "assistant"
    assert final.model == real_server.model


def test_stream_and_create_give_the_same_completion(
    client: OpenAI, real_server: Any, facts: Facts, run: Runner
) -> None:
    # Checked on both servers: with a seed and temperature 0, streamed and
    # non-streamed answers are identical, token for token.
    plain = run(client.chat.completions.create(MESSAGES, model=real_server.model, **GREEDY))
    _chunks, streamed, _ = _stream_all(run, client, MESSAGES, model=real_server.model, **GREEDY)
    assert plain.success and streamed.success, (plain.errors, streamed.errors)
    assert streamed.choice.message.content == plain.choice.message.content
    assert streamed.choice.finish_reason == plain.choice.finish_reason
    assert _without_nulls(streamed.body["choices"][0]["message"]) == _without_nulls(
        plain.body["choices"][0]["message"]
    )
    assert len(streamed.choices) == len(plain.choices) == 1
    assert streamed.body["object"] == plain.body["object"] == "chat.completion"
    assert streamed.model == plain.model
    # Usage in a stream only when the server sends it unasked (stream_options is not sent here).
    assert (streamed.usage is not None) == facts.stream_usage and plain.usage is not None


# llama.cpp's server serves SmolLM2 with tools left out: its chat template has none, so no
# tool call ever comes back (docs/compatibility.md). The tool-call stream is llama-cpp-python's.
@pytest.mark.parametrize("real_server", ["llama-cpp-python"], indirect=True)
def test_streamed_tool_call_merges_to_the_non_streamed_one(
    client: OpenAI, real_server: Any, run: Runner
) -> None:
    fields = dict(
        GREEDY, model=real_server.model, tools=[WEATHER_TOOL], tool_choice=FORCE_WEATHER, max_tokens=24
    )
    plain = run(client.chat.completions.create(WEATHER_MESSAGES, **fields))
    chunks, streamed, _ = _stream_all(run, client, WEATHER_MESSAGES, **fields)
    assert plain.success and streamed.success, (plain.errors, streamed.errors)
    assert plain.choice.finish_reason == streamed.choice.finish_reason == "tool_calls"
    plain_calls = plain.choice.message.tool_calls
    streamed_calls = streamed.choice.message.tool_calls
    assert len(plain_calls) == len(streamed_calls) == 1

    # Each call id is made from its own completion's id ("call__0_get_weather_cmpl-..."),
    # so the ids differ between the two calls; everything else is the same.
    def without_id(call: Dict[str, Any]) -> Dict[str, Any]:
        return {k: v for k, v in call.items() if k != "id"}

    assert [without_id(c) for c in streamed_calls] == [without_id(c) for c in plain_calls]
    assert streamed_calls[0]["function"]["name"] == "get_weather"
    arguments = json.loads(streamed_calls[0]["function"]["arguments"])
    assert arguments == json.loads(plain_calls[0]["function"]["arguments"])
    assert isinstance(arguments["city"], str)

    # This server repeats the id and the name in every delta: merged, they appear once.
    deltas = [call for chunk in chunks for call in chunk.choice.tool_calls]
    assert len(deltas) > 1
    assert {d["id"] for d in deltas} == {streamed_calls[0]["id"]}
    assert plain_calls[0]["id"].startswith("call_") and streamed_calls[0]["id"].startswith("call_")
    assert "".join(d["function"]["arguments"] for d in deltas) == streamed_calls[0]["function"]["arguments"]
    # Both carry the deprecated function_call alongside tool_calls.
    assert (
        _without_nulls(streamed.body["choices"][0]["message"])["function_call"]
        == plain.body["choices"][0]["message"]["function_call"]
    )
    assert streamed.choice.message.content is None and plain.choice.message.content is None


def test_streamed_logprobs_accumulate(client: OpenAI, real_server: Any, run: Runner) -> None:
    fields = dict(GREEDY, model=real_server.model, max_tokens=8, logprobs=True, top_logprobs=2)
    plain = run(client.chat.completions.create(MESSAGES, **fields))
    chunks, streamed, _ = _stream_all(run, client, MESSAGES, **fields)
    assert plain.success and streamed.success, (plain.errors, streamed.errors)
    content = streamed.choice.message.content
    entries = streamed.choice.logprobs["content"]
    # One entry per generated token: this server sends one token per content chunk.
    with_text = [c for c in chunks if c.text]
    assert len(entries) == len(with_text) == plain.usage["completion_tokens"]
    assert [e["token"] for e in entries] == [c.text for c in with_text]
    assert "".join(e["token"] for e in entries) == content
    for entry in entries:
        assert isinstance(entry["logprob"], float) and entry["logprob"] <= 0.0
        # top_logprobs=2, plus the chosen token when it was not among the two.
        assert 2 <= len(entry["top_logprobs"]) <= 3, entry
    plain_entries = plain.choice.logprobs["content"]
    assert [e["token"] for e in entries] == [e["token"] for e in plain_entries]
    assert [e["logprob"] for e in entries] == pytest.approx([e["logprob"] for e in plain_entries])
    assert content == plain.choice.message.content


def test_stream_rejected_at_the_start(client: OpenAI, real_server: Any, facts: Facts, run: Runner) -> None:
    params = dict(MALFORMED, model=real_server.model, max_tokens=4, max_retries=0)
    with run.stream(client.chat.completions.stream(MESSAGES, **params)) as stream:
        chunks = list(stream)
        final = stream.result()
    # throw=False: one last chunk that says what went wrong, and the same in result().
    status = facts.rejected_status
    assert len(chunks) == 1
    assert not chunks[0].success and chunks[0].terminated and chunks[0].choice is None
    assert chunks[0].status == status and chunks[0].errors[0].status == status
    assert not final.success and final.status == status
    assert [e.status for e in final.errors] == [status]
    assert final.errors[0].type == facts.rejected_type
    assert final.choice is None
    with pytest.raises(facts.rejected_error):
        run.stream(client.chat.completions.stream(MESSAGES, throw=True, **params))


# -- callbacks (background calls) -------------------------------------------------------------


def test_callbacks_see_every_chunk_in_order(client: OpenAI, real_server: Any, run: Runner) -> None:
    seen: List[OpenAIChatCompletionStreamResult] = []
    terminated: List[Any] = []
    responded: List[Any] = []
    failed: List[Any] = []
    threads = set()

    def on_data(chunk: OpenAIChatCompletionStreamResult) -> None:
        threads.add(threading.get_ident())
        seen.append(chunk)

    call = client.chat.completions.create(
        MESSAGES,
        model=real_server.model,
        stream=True,
        on_data=on_data,
        on_terminate=terminated.append,
        on_response=responded.append,
        on_error=failed.append,
        **GREEDY,
    )
    final = run(call)
    assert final.success, final.errors
    assert len(terminated) == 1 and terminated[0] is final
    assert len(responded) == 1 and responded[0] is final
    assert failed == []
    if run.is_async:  # the callbacks run in the task that awaits the call
        assert threads == {threading.get_ident()}
    else:  # a handle, and the callbacks run on a worker thread
        assert call.done() and call.cancel() is False  # already finished
        assert threads and threading.get_ident() not in threads
    assert final.terminated
    content = final.choice.message.content
    assert content and "".join(c.text for c in seen) == content
    assert seen[-1].choice.finish_reason == final.choice.finish_reason
    # In order and complete: the same chunks the iterator form yields for the same request.
    chunks, streamed, _ = _stream_all(run, client, MESSAGES, model=real_server.model, **GREEDY)
    assert [c.text for c in seen] == [c.text for c in chunks]
    assert [c.choice.finish_reason for c in seen] == [c.choice.finish_reason for c in chunks]
    assert streamed.choice.message.content == content


def test_callbacks_on_a_non_streamed_call(client: OpenAI, real_server: Any, run: Runner) -> None:
    terminated: List[Any] = []
    responded: List[Any] = []
    final = run(
        client.chat.completions.create(
            MESSAGES,
            model=real_server.model,
            on_terminate=terminated.append,
            on_response=responded.append,
            **GREEDY,
        )
    )
    assert final.success and final.status == 200, final.errors
    assert terminated == [final] and responded == [final]
    plain = run(client.chat.completions.create(MESSAGES, model=real_server.model, **GREEDY))
    assert final.text == plain.text and _counts(final.usage) == _counts(plain.usage)


def test_callbacks_on_a_rejected_stream(client: OpenAI, real_server: Any, facts: Facts, run: Runner) -> None:
    seen: List[OpenAIChatCompletionStreamResult] = []
    terminated: List[Any] = []
    responded: List[Any] = []
    failed: List[Any] = []
    final = run(
        client.chat.completions.create(
            MESSAGES,
            model=real_server.model,
            max_tokens=4,
            max_retries=0,
            stream=True,
            on_data=seen.append,
            on_terminate=terminated.append,
            on_response=responded.append,
            on_error=failed.append,
            **MALFORMED,
        )
    )
    assert not final.success and final.status == facts.rejected_status
    assert [e.status for e in final.errors] == [facts.rejected_status]
    assert terminated == [final] and failed == [final] and responded == []
    # on_data gets the stream's last chunk, which says it failed.
    assert len(seen) == 1 and not seen[0].success


def test_callbacks_on_a_rejected_stream_with_throw(
    client: OpenAI, real_server: Any, facts: Facts, run: Runner
) -> None:
    terminated: List[Any] = []
    failed: List[Any] = []
    with pytest.raises(facts.rejected_error):
        run(
            client.chat.completions.create(
                MESSAGES,
                model=real_server.model,
                max_tokens=4,
                max_retries=0,
                stream=True,
                throw=True,
                on_data=lambda c: None,
                on_terminate=terminated.append,
                on_error=failed.append,
                **MALFORMED,
            )
        )
    assert len(terminated) == 1 and failed == terminated
    final = terminated[0]
    assert not final.success and final.status == facts.rejected_status
    # One failure, reported once (not once by the stream and again by the worker).
    assert [e.status for e in final.errors] == [facts.rejected_status], final.errors


@sync_only("a CallHandle's cancel(); AsyncOpenAI's: test_real_server_async.py, cancelling the task")
def test_cancel_mid_stream_ends_promptly(client: OpenAI, real_server: Any, run: Runner) -> None:
    # Uncancelled, this request streams 400 tokens (about 7 s on a 2-core machine).
    messages = [{"role": "user", "content": "Write a long story about a dragon who learns to bake bread."}]
    first = threading.Event()
    seen: List[OpenAIChatCompletionStreamResult] = []
    terminated: List[Any] = []
    responded: List[Any] = []
    failed: List[Any] = []

    def on_data(chunk: OpenAIChatCompletionStreamResult) -> None:
        seen.append(chunk)
        first.set()

    handle = client.chat.completions.create(
        messages,
        model=real_server.model,
        seed=7,
        temperature=0,
        max_tokens=400,
        stream=True,
        on_data=on_data,
        on_terminate=terminated.append,
        on_response=responded.append,
        on_error=failed.append,
    )
    assert first.wait(30), "no chunk arrived"
    assert handle.cancel() is True
    # Promptly: far less than the rest of the 400-token answer would take.
    final = handle.result(timeout=3)
    assert not final.success
    assert [e.type for e in final.errors] == ["cancelled"], final.errors
    assert final.errors[0].is_cancelled
    assert len(terminated) == 1 and terminated[0] is final
    assert failed == [final] and responded == []
    assert final.terminated
    assert 1 <= len(seen) < 400
    # What arrived before the cancel is kept, and nothing was lost on the way.
    assert final.choice is not None and final.choice.finish_reason is None
    assert "".join(c.text for c in seen) == (final.choice.message.content or "")
    # The server is free again at once: a new call is answered normally.
    after = run(client.chat.completions.create(MESSAGES, model=real_server.model, **GREEDY))
    assert after.success, after.errors
