"""The stream reader against the fake server: timing, endings, errors, accumulation."""

import json
import socket
import threading
import time
from typing import Iterator, List

import pytest

from openai_params import APIConnectionError, OpenAI, OpenAIException
from streamdata import DONE, SSE_HEADERS, chunk, completion, event, text_stream

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def client(fake_server) -> Iterator[OpenAI]:
    with OpenAI(api_key="sk-stream-test-key-0000", base_url=fake_server.url + "/v1",
                max_retries=0, timeout=5) as made:
        yield made


def test_chunks_and_final_result(client, fake_server) -> None:
    fake_server.add(200, pieces=text_stream(["Hel", "lo", " wörld"]), headers=SSE_HEADERS)
    with client.chat.completions.stream(MESSAGES, model="m", temperature=0) as stream:
        texts = [c.text for c in stream]
    final = stream.result()
    assert texts == ["", "Hel", "lo", " wörld", ""]
    assert final.success and final.status == 200 and final.request_id == "req_stream"
    assert final.choice.message.content == "Hello wörld"
    assert final.choice.message.role == "assistant"
    assert final.choice.finish_reason == "stop"
    assert final.id == "chatcmpl-s" and final.model == "fake-model"
    sent = fake_server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.json == {"messages": MESSAGES, "model": "m", "temperature": 0, "stream": True}
    assert sent.headers["authorization"] == "Bearer sk-stream-test-key-0000"


def test_first_chunk_arrives_before_the_server_goes_on(client, fake_server) -> None:
    release = threading.Event()
    pieces = [event(chunk("first", role="assistant")), release, event(chunk("second")),
              event(chunk(finish="stop")), DONE]
    fake_server.add(200, pieces=pieces, headers=SSE_HEADERS)
    stream = client.chat.completions.stream(MESSAGES)
    first = next(stream)
    # The server is still holding the rest: the chunk came through without waiting.
    assert first.text == "first" and not release.is_set()
    release.set()
    assert [c.text for c in stream] == ["second", ""]
    assert stream.result().text == "firstsecond"


def test_multibyte_character_split_across_pieces(client, fake_server) -> None:
    whole = event(chunk("caf\u00e9 \U0001F600", role="assistant"))
    cut = whole.index("\u00e9".encode("utf-8")) + 1
    emoji = whole.index("\U0001F600".encode("utf-8")) + 2
    pieces = [whole[:cut], whole[cut:emoji], whole[emoji:], event(chunk(finish="stop")), DONE]
    fake_server.add(200, pieces=pieces, headers=SSE_HEADERS)
    final = client.chat.completions.stream(MESSAGES).result()
    assert final.success and final.text == "caf\u00e9 \U0001F600"


def test_usage_only_chunk_has_no_choice(client, fake_server) -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    pieces = text_stream(["a"])[:-1] + [event(dict(chunk(), choices=[], usage=usage)), DONE]
    fake_server.add(200, pieces=pieces, headers=SSE_HEADERS)
    stream = client.chat.completions.stream(MESSAGES, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[-1].choice is None and chunks[-1].text == "" and chunks[-1].usage == usage
    assert stream.result().usage == usage
    assert fake_server.requests[0].json["stream_options"] == {"include_usage": True}


FULL = text_stream(["one", " two"])  # role, one, two, finish, DONE


@pytest.mark.parametrize("cut", range(len(FULL)))
def test_stream_cut_at_every_stage(client, fake_server, cut) -> None:
    fake_server.add(200, pieces=FULL, cut_after=cut, headers=SSE_HEADERS)
    stream = client.chat.completions.stream(MESSAGES)
    chunks = list(stream)
    final = stream.result()
    if cut >= 4:  # the finish chunk arrived: only [DONE] is missing, which is fine
        assert final.success, final.errors
        assert chunks[-1].success
    else:
        assert not final.success
        assert chunks[-1].success is False and chunks[-1].terminated
        assert final.errors[0].type == "stream_error"
        assert "broke" in final.errors[0].message
        # Nothing that arrived is lost.
        assert final.text == "".join(c.text for c in chunks[:-1]) if cut > 1 else True


def test_error_event_midway(client, fake_server) -> None:
    pieces = [event(chunk("partial", role="assistant")),
              event({"error": {"message": "model overloaded", "type": "server_error",
                               "code": "overloaded"}}),
              event(chunk("never")), DONE]
    fake_server.add(200, pieces=pieces, headers=SSE_HEADERS)
    stream = client.chat.completions.stream(MESSAGES)
    chunks = list(stream)
    assert [c.success for c in chunks] == [True, False]
    final = stream.result()
    assert not final.success and final.text == "partial"
    error = final.errors[0]
    assert (error.message, error.type, error.code) == ("model overloaded", "server_error", "overloaded")
    assert error.request_id == "req_stream"


def test_event_error_field(client, fake_server) -> None:
    pieces = [b'event: error\ndata: {"message": "quota gone"}\n\n']
    fake_server.add(200, pieces=pieces, headers=SSE_HEADERS)
    final = client.chat.completions.stream(MESSAGES).result()
    assert not final.success and final.errors[0].message == "quota gone"


def test_malformed_event_is_a_stream_error(client, fake_server) -> None:
    fake_server.add(200, pieces=[event(chunk("a")), b"data: {not json\n\n"], headers=SSE_HEADERS)
    final = client.chat.completions.stream(MESSAGES).result()
    assert final.errors[0].type == "stream_error" and "not JSON" in final.errors[0].message
    assert final.text == "a"


def test_throw_true_raises_from_the_iterator(client, fake_server) -> None:
    fake_server.add(200, pieces=FULL, cut_after=2, headers=SSE_HEADERS)
    stream = client.chat.completions.stream(MESSAGES, throw=True)
    with pytest.raises(APIConnectionError) as info:
        for _ in stream:
            pass
    assert info.value.error.type == "stream_error"


def test_status_error_before_the_stream(client, fake_server) -> None:
    fake_server.add(429, json={"error": {"message": "slow down", "type": "requests",
                                         "code": "rate_limit_exceeded"}},
                    headers={"x-request-id": "req_429"})
    stream = client.chat.completions.stream(MESSAGES)
    chunks = list(stream)
    assert len(chunks) == 1 and not chunks[0].success
    final = stream.result()
    assert final.status == 429 and final.errors[0].is_rate_limit_error
    assert final.request_id == "req_429"
    fake_server.add(401, json={"error": {"message": "bad key", "type": "invalid_request_error"}})
    with pytest.raises(OpenAIException):
        client.chat.completions.stream(MESSAGES, throw=True)


def test_interleaved_choices_and_tool_calls(client, fake_server) -> None:
    call = {"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": ""}}
    pieces = [
        event(chunk(role="assistant", index=0, content="")),
        event(chunk(role="assistant", index=1, tool_calls=[call])),
        event(chunk("Sun", index=0)),
        event(chunk(index=1, tool_calls=[{"index": 0, "function": {"arguments": '{"city":'}}])),
        event(chunk("ny", index=0)),
        event(chunk(index=1, tool_calls=[{"index": 0, "function": {"arguments": '"Paris"}'}}])),
        event(chunk(index=0, finish="stop")),
        event(chunk(index=1, finish="tool_calls")),
        DONE]
    fake_server.add(200, pieces=pieces, headers=SSE_HEADERS)
    final = client.chat.completions.stream(MESSAGES, n=2).result()
    assert final.success and [c.index for c in final.choices] == [0, 1]
    assert final.choices[0].message.content == "Sunny"
    second = final.choices[1]
    assert second.finish_reason == "tool_calls"
    assert second.message.tool_calls == [{"index": 0, "id": "call_1", "type": "function",
                                          "function": {"name": "get_weather",
                                                       "arguments": '{"city":"Paris"}'}}] or \
        second.message.tool_calls == [{"id": "call_1", "type": "function",
                                       "function": {"name": "get_weather",
                                                    "arguments": '{"city":"Paris"}'}}]
    assert json.loads(second.message.tool_calls[0]["function"]["arguments"]) == {"city": "Paris"}


def test_closing_the_stream_drops_the_connection(client, fake_server) -> None:
    hold = threading.Event()
    fake_server.add(200, pieces=[event(chunk("a")), hold, event(chunk("b")), DONE],
                    headers=SSE_HEADERS)
    stream = client.chat.completions.stream(MESSAGES)
    assert next(stream).text == "a"
    stream.close()
    fake_server.add(200, json=completion("ok"))
    assert client.chat.completions.create(MESSAGES).success
    # The half-read stream's connection was not put back into the pool.
    assert fake_server.connections == 2
    hold.set()


class PingServer:
    """Sends one chunk, then only keep-alive comments, every 50 ms, for up to 10 s."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.pings = 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                         b"Connection: close\r\n\r\n" + event(chunk("hello", role="assistant")))
            deadline = time.monotonic() + 10
            while not self.stop.wait(0.05) and time.monotonic() < deadline:
                try:
                    conn.sendall(b": ping\n\n")
                except OSError:
                    return
                self.pings += 1


def test_keepalive_comments_do_not_keep_a_stalled_stream_alive() -> None:
    server = PingServer()
    try:
        client = OpenAI(api_key="k", base_url="http://127.0.0.1:%d/v1" % server.port,
                        max_retries=0, timeout=0.5)
        started = time.monotonic()
        stream = client.chat.completions.stream(MESSAGES)
        chunks: List = list(stream)
        elapsed = time.monotonic() - started
        final = stream.result()
        assert chunks[0].text == "hello"
        assert not final.success and final.errors[0].type == "timeout"
        assert final.text == "hello"
        assert server.pings >= 3  # the server kept the socket busy the whole time
        assert elapsed < 5  # well before the server would have stopped pinging
    finally:
        server.stop.set()
