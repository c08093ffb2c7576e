"""AsyncOpenAI: the same surface as OpenAI; what only asyncio has (event loops, coroutine
callbacks, cancelling the task that iterates a stream).

The behaviour both clients share is tested on both by the test files of each part
(test_client.py, test_stream.py, test_transport.py, test_background.py, test_chathelper.py,
test_cancel.py, ...: the ``run`` fixture of both_clients.py). The few scenarios here that
those files do not have run on both clients too.
"""

import asyncio
import inspect
import json
import socket
import threading
import time
from typing import Any, Awaitable, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar, Union

import pytest

from both_clients import Runner, sockets_to
from conftest_fakeserver import proxy_server, second_server  # noqa: F401
from fakeserver import FakeServer
from openai_params import (
    APITimeoutError,
    AsyncOpenAI,
    MockTransport,
    OpenAI,
    OpenAIChatCompletionParameters,
)
from openai_params._http import HTTPResponse
from openai_params.async_client import AsyncChatCompletionStream
from streamdata import SSE_HEADERS, completion, text_stream
from test_transport import tls_certificate, tls_server  # noqa: F401

KEY = "sk-test-async-key-0123456789"
MESSAGES = [{"role": "user", "content": "Hi"}]
T = TypeVar("T")
AnyClient = Union[OpenAI, AsyncOpenAI]


# -- the same surface ------------------------------------------------------------------------------
def _public(obj: Any) -> Dict[str, Any]:
    return {
        name: inspect.signature(getattr(obj, name))
        for name in dir(obj)
        if not name.startswith("_") and callable(getattr(obj, name))
    }


def _resources(obj: Any, path: str = "") -> Iterator[Tuple[str, Any]]:
    """Every resource under a client (``chat``, ``chat.completions``, ``files``, ...): the
    public attributes that hold an object bound to the client, found by walking them."""
    for name, value in sorted(vars(obj).items()):
        if not name.startswith("_") and hasattr(value, "_client"):
            yield path + name, value
            yield from _resources(value, path + name + ".")


def test_both_clients_have_the_same_constructor_and_resources() -> None:
    assert inspect.signature(AsyncOpenAI) == inspect.signature(OpenAI)
    sync, asynchronous = OpenAI(api_key=KEY), AsyncOpenAI(api_key=KEY)
    try:
        left, right = dict(_resources(sync)), dict(_resources(asynchronous))
        assert sorted(left) == sorted(right)
        for path in left:
            assert _public(left[path]) == _public(right[path]), path
        # What each resource must offer on both (the walk above would miss a resource gone from both).
        expected = {
            "chat": {"create"},
            "chat.completions": {"create", "stream", "create_many", "iter_many", "build_request"}
            | {"retrieve", "update", "delete", "list"},
            "chat.completions.messages": {"list"},
            "models": {"list", "retrieve"},
            "files": {"create", "retrieve", "list", "delete", "content"},
            "batches": {"create", "retrieve", "list", "cancel"},
        }
        for path, names in expected.items():
            assert names <= set(_public(right[path])), path
        extra = set(_public(asynchronous)) - set(_public(sync))
        assert extra == {"aclose"}
        helpers = sync.chat.create(model="m"), asynchronous.chat.create(model="m")
        assert _public(helpers[0]) == _public(helpers[1])
    finally:
        sync.close()
        asynchronous.close()


def test_the_async_resources_only_change_how_a_stream_is_driven() -> None:
    """Nothing written twice: the async chat resource overrides one private method."""
    from openai_params.async_client import AsyncChatCompletions
    from openai_params.client import ChatCompletions

    own = {name for name in vars(AsyncChatCompletions) if not name.startswith("__")}
    assert own == {"_open"}
    assert issubclass(AsyncChatCompletions, ChatCompletions)


# -- on both clients (the ``run`` fixture), what the other test files do not cover ------------------
def test_both_clients_send_the_same_header_fields(fake_server: FakeServer) -> None:
    seen = []
    for kind in ("sync", "async"):
        fake_server.add(200, json=completion("x"))
        run = Runner(kind)
        try:
            client = run.OpenAI(api_key=KEY, base_url=fake_server.url + "/v1")
            run(client.chat.completions.create(MESSAGES, model="m"))
        finally:
            run.close()
        seen.append(fake_server.requests[-1].header_list)
    assert seen[0] == seen[1]
    names = [name.lower() for name, _ in seen[0]]
    assert names[:2] == ["host", "accept-encoding"] and "content-length" in names


def test_retries_read_each_answer_whole_and_keep_the_connection(
    run: Runner, client: AnyClient, fake_server: FakeServer
) -> None:
    fake_server.add(429, headers={"retry-after-ms": "20"}, json={"error": {"message": "slow down"}})
    fake_server.add(503, headers={"retry-after-ms": "20"})
    fake_server.add(200, json=completion("third time"))
    fake_server.add(500, headers={"retry-after-ms": "1"})
    fake_server.add(500, headers={"retry-after-ms": "1"})
    ok = run(client.chat.completions.create(MESSAGES, model="m", max_retries=2))
    failed = run(client.chat.completions.create(MESSAGES, model="m", max_retries=1))
    assert ok.success and ok.choice.message.content == "third time"
    assert failed.errors[0].status == 500
    assert len(fake_server.requests) == 5
    assert fake_server.connections == 1  # each retried answer was read whole: the connection is kept


def test_a_silent_server_times_out(run: Runner, client: AnyClient, fake_server: FakeServer) -> None:
    release = threading.Event()
    fake_server.add(200, hang=True, release=release)
    started = time.monotonic()
    try:
        result = run(client.chat.completions.create(MESSAGES, model="m", timeout=0.3))
    finally:
        release.set()
    assert time.monotonic() - started < 3
    [error] = result.errors
    assert error.type == "timeout" and "waiting for the response" in error.message
    with pytest.raises(APITimeoutError):
        result.throw()


def test_each_wait_on_a_kept_connection_times_out_at_its_own_deadline(
    run: Runner, fake_server: FakeServer
) -> None:
    """The asyncio transport keeps one timer per connection and moves it lazily: a wait that
    outlasts the previous wait's deadline must not time out there, and a short timeout after
    a long one must not wait for the long one's deadline."""
    client = run.OpenAI(api_key=KEY, base_url=fake_server.url + "/v1", max_retries=0)
    release = threading.Event()
    fake_server.add(200, json=completion("a"))
    fake_server.add(200, hang=True, release=release)
    fake_server.add(200, json=completion("b"), delay=0.3)
    fake_server.add(200, json=completion("c"), delay=0.8)  # waiting past the deadline of b's wait
    try:
        first = run(client.chat.completions.create(MESSAGES, model="m", timeout=30))
        started = time.monotonic()
        silent = run(client.chat.completions.create(MESSAGES, model="m", timeout=0.3))
        waited = time.monotonic() - started
    finally:
        release.set()
    second = run(client.chat.completions.create(MESSAGES, model="m", timeout=1.0))  # a new connection
    third = run(client.chat.completions.create(MESSAGES, model="m", timeout=1.0))
    assert silent.errors[0].type == "timeout" and waited < 3
    assert [r.choice.message.content for r in (first, second, third)] == ["a", "b", "c"]
    assert fake_server.connections == 2


def test_a_refused_connection_is_a_connection_error(run: Runner) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    client = run.OpenAI(api_key=KEY, base_url="http://127.0.0.1:%d/v1" % port, max_retries=1)
    result = run(client.models.list())
    assert result.errors[0].type == "connection_error"
    assert "connecting to http://127.0.0.1:%d" % port in result.errors[0].message


def test_a_profile_that_emulates_n_and_renames_reasoning(run: Runner, fake_server: FakeServer) -> None:
    """The call's steps (ChatCompletions._completion) run the same under both drivers."""
    for text in ("one", "two"):
        body = completion(text)
        body["choices"][0]["message"]["reasoning"] = "thought " + text
        fake_server.add(200, json=body)
    client = run.OpenAI(api_key=KEY, base_url=fake_server.url + "/v1", max_retries=0, profile="ollama")
    result = run(client.chat.completions.create(MESSAGES, model="m", n=2, temperature=1))
    assert [choice.message.content for choice in result.choices] == ["one", "two"]
    assert [choice.message.reasoning_content for choice in result.choices] == ["thought one", "thought two"]
    assert len(fake_server.requests) == 2 and "n" not in fake_server.requests[0].json


def test_a_stream_then_a_call_on_its_connection(
    run: Runner, client: AnyClient, fake_server: FakeServer
) -> None:
    fake_server.add(200, headers=SSE_HEADERS, pieces=text_stream(["Hel", "lo", "!"]))
    fake_server.add(200, json=completion("after"))
    with run.stream(client.chat.completions.stream(MESSAGES, model="m")) as stream:
        texts = [chunk.text for chunk in stream]
    final = stream.result()
    after = run(client.chat.completions.create(MESSAGES, model="m"))
    assert texts == ["", "Hel", "lo", "!", ""]
    assert final.success and final.choice.message.content == "Hello!"
    assert final.choice.finish_reason == "stop" and final.request_id == "req_stream"
    assert fake_server.requests[0].json["stream"] is True
    assert after.success and fake_server.connections == 1  # the stream's connection was reused


def test_a_stalled_stream_times_out(run: Runner, client: AnyClient, fake_server: FakeServer) -> None:
    hold = threading.Event()
    pieces = text_stream(["a"])
    fake_server.add(200, headers=SSE_HEADERS, pieces=pieces[:2] + [hold] + pieces[2:])
    try:
        stream = run.stream(client.chat.completions.stream(MESSAGES, model="m", timeout=0.3))
        texts = [chunk.text for chunk in stream]
        final = stream.result()
    finally:
        hold.set()
    assert texts[:2] == ["", "a"]
    assert final.errors[0].type == "timeout"


def test_a_server_that_ignores_stream_true(run: Runner, client: AnyClient, fake_server: FakeServer) -> None:
    fake_server.add(200, json=completion("whole"))
    stream = run.stream(client.chat.completions.stream(MESSAGES, model="m"))
    # As a stream would have come: the choice's chunk, then the usage chunk (no text).
    assert [chunk.text for chunk in stream] == ["whole", ""]
    assert stream.result().choice.message.content == "whole"


def test_callbacks_get_every_chunk_then_the_end(
    run: Runner, client: AnyClient, fake_server: FakeServer
) -> None:
    fake_server.add(200, headers=SSE_HEADERS, pieces=text_stream(["x", "y"]))
    fake_server.add(200, json=completion("plain"))
    seen: List[Any] = []
    streamed = run(
        client.chat.completions.create(
            MESSAGES,
            model="m",
            stream=True,
            on_data=lambda chunk: seen.append(chunk.text),
            on_response=lambda r: seen.append("response"),
            on_terminate=lambda r: seen.append("terminate"),
        )
    )
    plain = run(
        client.chat.completions.create(MESSAGES, model="m", on_terminate=lambda r: seen.append("second"))
    )
    assert seen == ["", "x", "y", "", "response", "terminate", "second"]
    assert streamed.choice.message.content == "xy" and plain.choice.message.content == "plain"


# -- proxies ---------------------------------------------------------------------------------------
def test_plain_http_goes_through_the_proxy_of_the_environment(
    run: Runner,
    monkeypatch: pytest.MonkeyPatch,
    fake_server: FakeServer,
    proxy_server: FakeServer,  # noqa: F811
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://user:pw@127.0.0.1:%d" % proxy_server.port)
    proxy_server.add(200, json=completion("via proxy"))
    client = run.OpenAI(api_key=KEY, base_url=fake_server.url + "/v1", max_retries=0)
    result = run(client.chat.completions.create(MESSAGES, model="m"))
    assert result.choice.message.content == "via proxy"
    [got] = proxy_server.requests
    assert got.target == fake_server.url + "/v1/chat/completions"
    assert got.headers["proxy-authorization"] == "Basic dXNlcjpwdw=="
    assert fake_server.requests == []


class TunnelProxy:
    """A CONNECT proxy that pipes bytes both ways; records each CONNECT's head."""

    def __init__(self) -> None:
        self.heads: List[bytes] = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(conn,), daemon=True).start()

    def _tunnel(self, conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = conn.recv(4096)
            if not data:
                conn.close()
                return
            head += data
        self.heads.append(head)
        host, port = head.split(b" ")[1].decode().rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=_pipe, args=(upstream, conn), daemon=True).start()
        _pipe(conn, upstream)

    def close(self) -> None:
        self.listener.close()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def test_https_through_a_proxy_is_a_tunnel_then_tls(
    run: Runner,
    monkeypatch: pytest.MonkeyPatch,
    tls_server: FakeServer,  # noqa: F811
) -> None:
    proxy = TunnelProxy()
    monkeypatch.setenv("HTTPS_PROXY", "http://u:p@127.0.0.1:%d" % proxy.port)
    for _ in range(2):
        tls_server.add(200, json=completion("tunnelled"))
    try:
        client = run.OpenAI(
            api_key=KEY,
            base_url=tls_server.url + "/v1",
            max_retries=0,
            ca_bundle=tls_server.cert_path,  # type: ignore[attr-defined]
        )
        results = [run(client.chat.completions.create(MESSAGES, model="m")) for _ in range(2)]
    finally:
        proxy.close()
    assert [r.choice.message.content for r in results] == ["tunnelled", "tunnelled"]
    assert len(proxy.heads) == 1  # one tunnel, kept for the second call
    assert proxy.heads[0].startswith(b"CONNECT 127.0.0.1:%d HTTP/1." % tls_server.port)  # 1.0 on 3.8
    assert b"Proxy-Authorization: Basic dTpw\r\n" in proxy.heads[0]
    assert tls_server.requests[0].headers["authorization"] == "Bearer " + KEY


# -- asyncio only: loops, mock transport, coroutine callbacks ------------------------------------------
def test_a_client_used_from_two_loops_never_shares_a_socket(fake_server: FakeServer) -> None:
    client = AsyncOpenAI(api_key=KEY, base_url=fake_server.url + "/v1", proxies={})
    for _ in range(4):
        fake_server.add(200, json=completion("x"))

    async def twice() -> None:
        for _ in range(2):
            assert (await client.models.list()).success

    def in_thread() -> None:
        asyncio.run(twice())

    try:
        thread = threading.Thread(target=in_thread)
        thread.start()
        thread.join(10)
        asyncio.run(twice())
    finally:
        client.close()
    assert len(fake_server.requests) == 4
    assert fake_server.connections == 2  # one per loop, each reused by its second call


def test_coroutine_callbacks_are_awaited(fake_server: FakeServer) -> None:
    fake_server.add(200, headers=SSE_HEADERS, pieces=text_stream(["p", "q"]))
    seen: List[str] = []

    async def on_data(chunk: Any) -> None:
        await asyncio.sleep(0)
        seen.append(chunk.text)

    async def on_terminate(result: Any) -> None:
        seen.append("end:" + result.choice.message.content)

    async def scenario() -> Any:
        async with AsyncOpenAI(api_key=KEY, base_url=fake_server.url + "/v1", proxies={}) as client:
            params = OpenAIChatCompletionParameters(
                model="m", stream=True, on_data=on_data, on_terminate=on_terminate
            )
            return await client.chat.completions.create(MESSAGES, params)

    result = asyncio.run(scenario())
    assert result.success and seen == ["", "p", "q", "", "end:pq"]


def test_a_coroutine_callback_that_raises_ends_the_call_with_its_error(fake_server: FakeServer) -> None:
    """The runner's steps are BackgroundCall's on both clients: on_data raising stops the stream
    (its connection closed), one on_error then one on_terminate, each awaited."""
    fake_server.add(200, headers=SSE_HEADERS, pieces=text_stream(["p", "q", "r"]))
    fake_server.add(200, json=completion("next"))
    seen: List[str] = []

    async def on_data(chunk: Any) -> None:
        await asyncio.sleep(0)
        seen.append(chunk.text)
        if chunk.text == "q":
            raise ValueError("no q here")

    async def on_error(result: Any) -> None:
        seen.append("error:" + result.errors[0].type)

    async def on_terminate(result: Any) -> None:
        seen.append("end")

    async def scenario() -> Any:
        async with AsyncOpenAI(api_key=KEY, base_url=fake_server.url + "/v1", proxies={}) as client:
            params = OpenAIChatCompletionParameters(
                model="m", stream=True, on_data=on_data, on_error=on_error, on_terminate=on_terminate
            )
            result = await client.chat.completions.create(MESSAGES, params)
            return result, await client.chat.completions.create(MESSAGES, model="m")

    result, next_call = asyncio.run(scenario())
    assert seen == ["", "p", "q", "error:callback_error", "end"]
    assert [e.type for e in result.errors] == ["callback_error"] and "no q here" in result.errors[0].message
    assert result.choice.message.content == "pq" and result.terminated
    assert next_call.text == "next"


def test_a_mock_transport_drives_the_async_client_too() -> None:
    def handler(request: Any) -> HTTPResponse:
        if request.body and json.loads(request.body).get("stream"):
            return HTTPResponse(200, headers=SSE_HEADERS, body=text_stream(["m", "ock"]))
        return HTTPResponse(200, body=b'{"object": "list", "data": []}')

    mock = MockTransport(handler)

    async def scenario() -> Any:
        async with AsyncOpenAI(api_key=KEY, transport=mock) as client:
            listed = await client.models.list()
            async with client.chat.completions.stream(MESSAGES, model="m") as stream:
                texts = [chunk.text async for chunk in stream]
            return listed, texts, await stream.result()

    listed, texts, final = asyncio.run(scenario())
    assert listed.success and texts == ["", "m", "ock", ""]
    assert final.choice.message.content == "mock" and len(mock.requests) == 2


def test_a_closed_client_refuses_new_calls(fake_server: FakeServer) -> None:
    async def scenario() -> None:
        async with AsyncOpenAI(api_key=KEY, base_url=fake_server.url + "/v1", proxies={}) as client:
            pass
        with pytest.raises(RuntimeError, match="closed"):
            await client.models.list()

    asyncio.run(scenario())
    assert fake_server.requests == []


def test_the_sync_form_of_a_call_is_refused_with_a_reason() -> None:
    client = AsyncOpenAI(api_key=KEY)
    try:
        with pytest.raises(RuntimeError, match="event loop"):
            client._send(client.build_request("GET", "/models"), None)
    finally:
        client.close()


def test_the_stream_object_is_an_async_iterator(fake_server: FakeServer) -> None:
    client = AsyncOpenAI(api_key=KEY, base_url=fake_server.url + "/v1", proxies={})
    try:
        stream = client.chat.completions.stream(MESSAGES, model="m")
        assert isinstance(stream, AsyncChatCompletionStream)
        assert fake_server.requests == []  # sent when the stream is entered or iterated
    finally:
        client.close()


# -- cancelling the task that iterates a stream (each phase, on both clients: test_cancel.py) --------
async def sockets_become(port: int, expected: int) -> Optional[int]:
    """The count of sockets to ``port`` once it is ``expected`` (a socket closed by an abort
    is released when the loop runs its callbacks), or after 5 s what it is then."""
    deadline = time.monotonic() + 5
    count = sockets_to(port)
    while count is not None and count != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
        count = sockets_to(port)
    return count


async def cancel_when(task: "asyncio.Task[Any]", ready: Callable[[], Awaitable[Any]]) -> float:
    """Cancel ``task`` once ``ready`` returns; the seconds until the task ended."""
    await ready()
    cancelled = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return time.monotonic() - cancelled


@pytest.fixture
def async_client(fake_server: FakeServer) -> Iterator[AsyncOpenAI]:
    client = AsyncOpenAI(api_key=KEY, base_url=fake_server.url + "/v1", proxies={}, max_retries=0, timeout=10)
    try:
        yield client
    finally:
        client.close()


def test_cancel_mid_stream(fake_server: FakeServer, async_client: AsyncOpenAI) -> None:
    hold = threading.Event()
    pieces = text_stream(["one", "two"])
    fake_server.add(200, headers=SSE_HEADERS, pieces=pieces[:2] + [hold] + pieces[2:])
    fake_server.add(200, json=completion("next"))
    seen: List[str] = []

    async def scenario() -> Tuple[float, Optional[int], Optional[int], Any, Any]:
        first = asyncio.Event()
        stream = async_client.chat.completions.stream(MESSAGES, model="m")

        async def consume() -> None:
            async with stream:
                async for chunk in stream:
                    seen.append(chunk.text)
                    if chunk.text == "one":
                        first.set()

        task = asyncio.ensure_future(consume())
        await first.wait()
        during = sockets_to(fake_server.port)
        took = await cancel_when(task, lambda: asyncio.sleep(0))
        after = await sockets_become(fake_server.port, 0)
        hold.set()
        final = await stream.result()
        return took, during, after, final, await async_client.chat.completions.create(MESSAGES, model="m")

    took, during, after, final, next_call = asyncio.run(scenario())
    assert took < 1.0
    assert during in (1, None) and after in (0, None)  # the stream's socket is gone
    assert seen == ["", "one"]
    assert final.errors[0].type == "cancelled" and final.choice.message.content == "one"
    assert next_call.choice.message.content == "next" and fake_server.connections == 2
