"""``n > 1`` on a server that ignores ``n`` (openai_params/emulate_n.py): n requests, merged.

The fake server answers each request with a different completion; the tests
check what it received (n requests, none carrying ``n``) and the merged result,
in the three forms: non-streamed, the iterator, the callbacks; on both clients
(``run``, both_clients.py): ``AsyncOpenAI`` reads with the same code, sending each
next request on the event loop.
"""

import threading
from typing import Any, Dict, List

import pytest

from both_clients import Runner
from fakeserver import FakeServer
from openai_params import OpenAI, OpenAIChatCompletionResult
from openai_params.emulate_n import merge_results
from streamdata import DONE, SSE_HEADERS, chunk, completion, event

USER = {"role": "user", "content": "Hi"}


def make_client(run: Runner, server: FakeServer, profile: str = "llama-cpp-python") -> OpenAI:
    """A client of the kind of ``run``, closed after the test."""
    return run.OpenAI(api_key="sk-x", base_url=server.url + "/v1", profile=profile, max_retries=0, timeout=5)


def answer(text: str, prompt: int, completion_tokens: int) -> Dict[str, Any]:
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
        "completion_tokens_details": {"reasoning_tokens": 1},
    }
    return completion(text, usage=usage)


def stream_of(*words: str, usage: Any = None) -> List[bytes]:
    pieces = [event(chunk("", role="assistant"))] + [event(chunk(word)) for word in words]
    pieces.append(event(chunk(finish="stop")))
    if usage is not None:
        pieces.append(event(dict(chunk(), choices=[], usage=usage)))
    return pieces + [DONE]


def texts(result: OpenAIChatCompletionResult) -> List[Any]:
    return [(choice.index, choice.message.content) for choice in result.choices if choice.message]


def test_non_streamed_n_is_sent_as_n_requests_and_merged(fake_server: FakeServer, run: Runner) -> None:
    fake_server.add(200, json=answer("one", 5, 2))
    fake_server.add(200, json=answer("two", 5, 3))
    fake_server.add(200, json=answer("three", 5, 4))
    client = make_client(run, fake_server)
    result = run(client.chat.completions.create([USER], model="m", n=3, temperature=1))
    assert result.success
    assert texts(result) == [(0, "one"), (1, "two"), (2, "three")]
    assert result.usage == {
        "prompt_tokens": 15,
        "completion_tokens": 9,
        "total_tokens": 24,
        "completion_tokens_details": {"reasoning_tokens": 3},
    }
    bodies = [request.json for request in fake_server.requests]
    assert len(bodies) == 3 and all(body == bodies[0] for body in bodies)
    assert "n" not in bodies[0] and bodies[0]["temperature"] == 1


def test_a_profile_that_honours_n_sends_it_once(fake_server: FakeServer, run: Runner) -> None:
    fake_server.add(200, json=answer("one", 5, 2))
    client = make_client(run, fake_server, "llama.cpp")
    run(client.chat.completions.create([USER], model="m", n=3))
    assert len(fake_server.requests) == 1 and fake_server.requests[0].json["n"] == 3


def test_a_failed_request_ends_the_call_and_keeps_what_came_before(
    fake_server: FakeServer, run: Runner
) -> None:
    fake_server.add(200, json=answer("one", 5, 2))
    fake_server.add(500, json={"error": {"message": "boom", "type": "server_error"}})
    fake_server.add(200, json=answer("never", 5, 2))
    client = make_client(run, fake_server)
    result = run(client.chat.completions.create([USER], model="m", n=3))
    assert not result.success and result.status == 500
    assert result.errors[0].message == "boom"
    assert texts(result) == [(0, "one")]
    assert len(fake_server.requests) == 2


def test_iterator_streams_the_requests_one_after_the_other(fake_server: FakeServer, run: Runner) -> None:
    usage = {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
    fake_server.add(200, pieces=stream_of("a", "b", usage=usage), headers=SSE_HEADERS)
    fake_server.add(200, pieces=stream_of("c", usage=usage), headers=SSE_HEADERS)
    client = make_client(run, fake_server)
    with run.stream(client.chat.completions.stream([USER], model="m", n=2)) as stream:
        seen = [(c.choice.index, c.text) for c in stream if c.choice is not None]
        final = stream.result()
    assert seen == [(0, ""), (0, "a"), (0, "b"), (0, ""), (1, ""), (1, "c"), (1, "")]
    assert final.success and texts(final) == [(0, "ab"), (1, "c")]
    assert final.usage == {"prompt_tokens": 8, "completion_tokens": 4, "total_tokens": 12}
    assert [r.json.get("n") for r in fake_server.requests] == [None, None]
    # Each stream was read to its end: its connection carried the next request.
    assert fake_server.connections == 1


def test_iterator_sends_the_next_request_only_when_the_previous_stream_ended(
    fake_server: FakeServer, run: Runner
) -> None:
    hold = threading.Event()
    first = stream_of("a")
    fake_server.add(200, pieces=first[:2] + [hold] + first[2:], headers=SSE_HEADERS)
    fake_server.add(200, pieces=stream_of("b"), headers=SSE_HEADERS)
    client = make_client(run, fake_server)
    with run.stream(client.chat.completions.stream([USER], model="m", n=2)) as stream:
        for c in stream:
            if c.text == "a":
                assert len(fake_server.requests) == 1
                hold.set()
        assert stream.result().success
    assert len(fake_server.requests) == 2


def test_iterator_closed_early_is_cancelled_and_sends_no_more(fake_server: FakeServer, run: Runner) -> None:
    fake_server.add(200, pieces=stream_of("a"), headers=SSE_HEADERS)
    fake_server.add(200, pieces=stream_of("b"), headers=SSE_HEADERS)
    client = make_client(run, fake_server)
    with run.stream(client.chat.completions.stream([USER], model="m", n=2)) as stream:
        for c in stream:
            if c.text == "a":
                break
    final = stream.result()
    assert not final.success and final.errors[0].type == "cancelled"
    assert texts(final) == [(0, "a")]
    assert len(fake_server.requests) == 1


def test_iterator_stops_at_a_failed_request(fake_server: FakeServer, run: Runner) -> None:
    fake_server.add(200, pieces=stream_of("a"), headers=SSE_HEADERS)
    fake_server.add(429, json={"error": {"message": "slow down", "type": "requests"}})
    client = make_client(run, fake_server)
    chunks = list(run.stream(client.chat.completions.stream([USER], model="m", n=3)))
    assert chunks[-1].errors and chunks[-1].errors[0].message == "slow down"
    assert len(fake_server.requests) == 2


def test_callbacks_get_every_chunk_and_the_merged_result(fake_server: FakeServer, run: Runner) -> None:
    fake_server.add(200, pieces=stream_of("a"), headers=SSE_HEADERS)
    fake_server.add(200, pieces=stream_of("b"), headers=SSE_HEADERS)
    fake_server.add(200, json=answer("x", 1, 1))
    fake_server.add(200, json=answer("y", 1, 1))
    seen: List[Any] = []
    ended: List[OpenAIChatCompletionResult] = []
    client = make_client(run, fake_server)
    final = run(
        client.chat.completions.create(
            [USER], model="m", n=2, stream=True, on_data=lambda c: seen.append((c.choice.index, c.text))
        )
    )  # OpenAI: a handle, waited for; AsyncOpenAI: awaited
    whole = run(client.chat.completions.create([USER], model="m", n=2, on_terminate=ended.append))
    assert [item for item in seen if item[1]] == [(0, "a"), (1, "b")]
    assert texts(final) == [(0, "a"), (1, "b")]
    assert texts(whole) == [(0, "x"), (1, "y")] and ended == [whole]
    assert len(fake_server.requests) == 4


def test_cancelling_an_emulated_stream_between_two_requests(fake_server: FakeServer) -> None:
    """AsyncOpenAI: cancelled while the next request is out, the stream ends as cancelled,
    keeps the first part, sends nothing more, and the client stays usable."""
    import asyncio

    from openai_params import AsyncOpenAI
    from test_async import sockets_become

    arrived, release = threading.Event(), threading.Event()
    fake_server.add(200, pieces=stream_of("a"), headers=SSE_HEADERS)

    def second(request: Any) -> Any:
        from fakeserver import Reply

        arrived.set()
        return Reply(200, pieces=stream_of("late"), headers=SSE_HEADERS, hang=True, release=release)

    fake_server.add(second)
    fake_server.add(200, json=answer("next", 1, 1))

    async def scenario() -> Any:
        client = AsyncOpenAI(
            api_key="sk-x",
            base_url=fake_server.url + "/v1",
            profile="llama-cpp-python",
            max_retries=0,
            timeout=5,
        )
        try:
            stream = client.chat.completions.stream([USER], model="m", n=2)

            async def consume() -> None:
                async with stream:
                    async for _ in stream:
                        pass

            task = asyncio.ensure_future(consume())
            await asyncio.get_running_loop().run_in_executor(None, arrived.wait, 10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            after = await sockets_become(fake_server.port, 0)
            release.set()
            final = await stream.result()
            return final, after, await client.chat.completions.create([USER], model="m")
        finally:
            client.close()

    final, after, next_call = asyncio.run(scenario())
    assert not final.success and final.errors[-1].type == "cancelled"
    assert texts(final) == [(0, "a")] and after in (0, None)
    assert next_call.text == "next" and len(fake_server.requests) == 3
    # The first part's connection carried the second request, and was closed by the cancel.
    assert [r.connection for r in fake_server.requests] == [1, 1, 2]


def test_merge_results_numbers_choices_and_sums_nested_usage() -> None:
    one = OpenAIChatCompletionResult(status=200, body=answer("one", 5, 2))
    two = OpenAIChatCompletionResult(status=200, body=answer("two", 6, 3))
    merged = merge_results([one, two])
    assert texts(merged) == [(0, "one"), (1, "two")]
    assert merged.usage == {
        "prompt_tokens": 11,
        "completion_tokens": 5,
        "total_tokens": 16,
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    assert one.body["choices"][0]["index"] == 0 and two.body["choices"][0]["index"] == 0  # not changed


def test_create_many_emulates_n_per_request(fake_server: FakeServer, run: Runner) -> None:
    for text in ("a0", "a1", "b0", "b1"):
        fake_server.add(200, json=answer(text, 1, 1))
    client = make_client(run, fake_server)
    results = run(client.chat.completions.create_many([[USER], [USER]], model="m", n=2, concurrency=1))
    assert [texts(result) for result in results] == [[(0, "a0"), (1, "a1")], [(0, "b0"), (1, "b1")]]
    assert len(fake_server.requests) == 4 and all("n" not in r.json for r in fake_server.requests)
