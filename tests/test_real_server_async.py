"""AsyncOpenAI against the real llama.cpp server, side by side with OpenAI.

The facts about the server that these tests rely on are those of
``test_real_server_client.py``: with ``seed`` and ``temperature=0`` it answers the
same text to the same request, streamed or not; it sends ``x-request-id``; a
rejected ``response_format`` is a 500. So the asynchronous client must give, field
by field, what the synchronous one gives.
"""

import asyncio
import json
from typing import Any, Dict, List, Tuple

import pytest

from openai_params import AsyncOpenAI, OpenAI, OpenAIChatCompletionParameters

# The facts above are llama-cpp-python's (llama.cpp's server sends no x-request-id and
# honours json_schema): this file runs on that server only.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("real_server", ["llama-cpp-python"], indirect=True),
]

MESSAGES = [{"role": "user", "content": "Say hello and tell me about Paris."}]
GREEDY = {"seed": 7, "temperature": 0, "max_tokens": 12}
KEY = "sk-dummy-not-a-real-key"
JSON_SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}}


def sync_client(real_server: Any) -> OpenAI:
    return OpenAI(api_key=KEY, base_url=real_server.base_url)


def async_client(real_server: Any) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=KEY, base_url=real_server.base_url)


def test_create_gives_what_the_sync_client_gives(real_server: Any) -> None:
    with sync_client(real_server) as client:
        expected = client.chat.completions.create(MESSAGES, model=real_server.model, **GREEDY)

    async def scenario() -> Any:
        async with async_client(real_server) as client:
            return await client.chat.completions.create(MESSAGES, model=real_server.model, **GREEDY)

    got = asyncio.run(scenario())
    assert got.success and expected.success, (got.errors, expected.errors)
    assert got.text == expected.text and got.text.strip()
    assert got.usage == expected.usage
    assert got.choice.finish_reason == expected.choice.finish_reason
    assert got.request_id and got.request_id != expected.request_id


def test_a_stream_gives_the_non_streamed_completion(real_server: Any) -> None:
    async def scenario() -> Tuple[List[str], Any, Any]:
        async with async_client(real_server) as client:
            whole = await client.chat.completions.create(MESSAGES, model=real_server.model, **GREEDY)
            async with client.chat.completions.stream(MESSAGES, model=real_server.model, **GREEDY) as stream:
                texts = [chunk.text async for chunk in stream]
            return texts, await stream.result(), whole

    texts, final, whole = asyncio.run(scenario())
    assert final.success, final.errors
    assert "".join(texts) == final.text == whole.text
    assert final.choice.finish_reason == whole.choice.finish_reason
    assert final.request_id


def test_many_calls_at_once_on_one_client(real_server: Any) -> None:
    async def scenario() -> List[Any]:
        async with async_client(real_server) as client:
            calls = [
                client.chat.completions.create(MESSAGES, model=real_server.model, **GREEDY) for _ in range(4)
            ]
            return list(await asyncio.gather(*calls, client.models.list()))

    *answers, models = asyncio.run(scenario())
    assert all(r.success for r in answers), [r.errors for r in answers]
    assert len({r.text for r in answers}) == 1  # greedy and seeded: the same text each time
    assert real_server.model in [m["id"] for m in models.items]


def test_a_rejected_request_is_the_same_error(real_server: Any) -> None:
    with sync_client(real_server) as client:
        expected = client.chat.completions.create(
            MESSAGES, model=real_server.model, response_format=JSON_SCHEMA_FORMAT, max_retries=0
        )

    async def scenario() -> Any:
        async with async_client(real_server) as client:
            return await client.chat.completions.create(
                MESSAGES, model=real_server.model, response_format=JSON_SCHEMA_FORMAT, max_retries=0
            )

    got = asyncio.run(scenario())
    assert not got.success and got.errors[0].status == expected.errors[0].status == 500
    assert got.errors[0].message == expected.errors[0].message


def test_coroutine_callbacks_see_every_chunk(real_server: Any) -> None:
    seen: List[str] = []
    ends: List[Any] = []

    async def on_data(chunk: Any) -> None:
        seen.append(chunk.text)

    async def scenario() -> Any:
        async with async_client(real_server) as client:
            params = OpenAIChatCompletionParameters(
                model=real_server.model, stream=True, on_data=on_data, on_terminate=ends.append, **GREEDY
            )
            return await client.chat.completions.create(MESSAGES, params)

    final = asyncio.run(scenario())
    assert final.success, final.errors
    assert "".join(seen) == final.text and ends == [final]


def test_cancelling_a_stream_leaves_the_client_usable(real_server: Any) -> None:
    async def scenario() -> Tuple[List[str], Any, Any]:
        texts: List[str] = []
        async with async_client(real_server) as client:
            fields: Dict[str, Any] = dict(GREEDY, max_tokens=200)
            stream = client.chat.completions.stream(MESSAGES, model=real_server.model, **fields)

            async def consume() -> None:
                async with stream:
                    async for chunk in stream:
                        texts.append(chunk.text)
                        if len(texts) == 3:
                            task.cancel()

            task = asyncio.ensure_future(consume())
            with pytest.raises(asyncio.CancelledError):
                await task
            final = await stream.result()
            after = await client.chat.completions.create(MESSAGES, model=real_server.model, **GREEDY)
            return texts, final, after

    texts, final, after = asyncio.run(scenario())
    assert len(texts) >= 3  # the cancel lands at the next wait for bytes
    assert final.errors[0].type == "cancelled"
    assert after.success, after.errors


def test_the_request_body_is_the_sync_clients(real_server: Any) -> None:
    """Both clients build one request: the same bytes go out."""
    with sync_client(real_server) as client:
        expected = client.chat.completions.build_request(MESSAGES, model=real_server.model, **GREEDY)
    made = async_client(real_server)
    try:
        got = made.chat.completions.build_request(MESSAGES, model=real_server.model, **GREEDY)
    finally:
        made.close()
    assert json.loads(got.body or b"") == json.loads(expected.body or b"")
    assert got.url == expected.url and got.headers == expected.headers


def test_create_many_gives_what_the_sync_client_gives(real_server: Any) -> None:
    """The fan-out on asyncio tasks and on threads: the same answers, in input order."""
    requests = [
        [{"role": "user", "content": "Name one colour. Answer with one word."}],
        MESSAGES,
        {"messages": [{"role": "user", "content": "Count from 1 to 3."}], "custom_id": "count"},
    ]
    with sync_client(real_server) as client:
        expected = client.chat.completions.create_many(
            requests, model=real_server.model, concurrency=2, **GREEDY
        )

    async def scenario() -> List[Any]:
        async with async_client(real_server) as client:
            made: List[Any] = await client.chat.completions.create_many(
                requests, model=real_server.model, concurrency=2, **GREEDY
            )
            return made

    got = asyncio.run(scenario())
    assert all(r.success for r in got + expected), [r.errors for r in got + expected]
    assert [r.text for r in got] == [r.text for r in expected]
    assert all(r.text.strip() for r in got)


def test_an_emulated_n_stream_gives_what_the_sync_client_gives(real_server: Any) -> None:
    """This server answers one choice whatever ``n`` says: its profile sends the request ``n``
    times; AsyncOpenAI streams them one after the other, as OpenAI does."""
    params = dict(GREEDY, n=2)
    with OpenAI(api_key=KEY, base_url=real_server.base_url, profile=real_server.profile) as client:
        expected = client.chat.completions.create(MESSAGES, model=real_server.model, **params)

    async def scenario() -> Tuple[List[int], Any]:
        async with AsyncOpenAI(
            api_key=KEY, base_url=real_server.base_url, profile=real_server.profile
        ) as client:
            async with client.chat.completions.stream(MESSAGES, model=real_server.model, **params) as stream:
                indexes = [chunk.choice.index async for chunk in stream if chunk.choice is not None]
            return indexes, await stream.result()

    indexes, got = asyncio.run(scenario())
    assert got.success and expected.success, (got.errors, expected.errors)
    assert len(got.choices) == len(expected.choices) == 2
    assert [c.message.content for c in got.choices] == [c.message.content for c in expected.choices]
    assert sorted(set(indexes)) == [0, 1] and indexes == sorted(indexes)  # request 0, then request 1
