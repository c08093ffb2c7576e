"""The stream reader against the fake server: timing, endings, errors, accumulation."""

import json
import socket
import threading
import time
from typing import List, Tuple

import pytest

from both_clients import Runner
from openai_params import (
    APIConnectionError,
    APIUserAbortError,
    MockTransport,
    OpenAI,
    OpenAIChatCompletionParameters,
    OpenAIException,
)
from openai_params._http import HTTPResponse
from streamdata import DONE, SSE_HEADERS, chunk, completion, event, text_stream

MESSAGES = [{"role": "user", "content": "hi"}]


def test_chunks_and_final_result(client, fake_server, run) -> None:
    fake_server.add(200, pieces=text_stream(["Hel", "lo", " wörld"]), headers=SSE_HEADERS)
    with run.stream(client.chat.completions.stream(MESSAGES, model="m", temperature=0)) as stream:
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
    assert sent.headers["authorization"] == "Bearer " + client.api_key


def test_first_chunk_arrives_before_the_server_goes_on(client, fake_server, run) -> None:
    release = threading.Event()
    pieces = [
        event(chunk("first", role="assistant")),
        release,
        event(chunk("second")),
        event(chunk(finish="stop")),
        DONE,
    ]
    fake_server.add(200, pieces=pieces, headers=SSE_HEADERS)
    stream = run.stream(client.chat.completions.stream(MESSAGES))
    first = next(stream)
    # The server is still holding the rest: the chunk came through without waiting.
    assert first.text == "first" and not release.is_set()
    release.set()
    assert [c.text for c in stream] == ["second", ""]
    assert stream.result().text == "firstsecond"


def test_multibyte_character_split_across_pieces(client, fake_server, run) -> None:
    whole = event(chunk("caf\u00e9 \U0001f600", role="assistant"))
    cut = whole.index("\u00e9".encode("utf-8")) + 1
    emoji = whole.index("\U0001f600".encode("utf-8")) + 2
    pieces = [whole[:cut], whole[cut:emoji], whole[emoji:], event(chunk(finish="stop")), DONE]
    fake_server.add(200, pieces=pieces, headers=SSE_HEADERS)
    final = run.stream(client.chat.completions.stream(MESSAGES)).result()
    assert final.success and final.text == "caf\u00e9 \U0001f600"


def test_garbled_utf8_split_across_pieces_is_replaced_and_the_stream_goes_on(
    client, fake_server, run
) -> None:
    # WHATWG event streams are decoded as UTF-8 with replacement: a bad byte is U+FFFD, not an error.
    whole = event(chunk("caf\u00e9", role="assistant")).replace("\u00e9".encode("utf-8"), b"\xc3\x28")
    cut = whole.index(b"\xc3") + 1  # the lead byte in one read, the byte that is no continuation in the next
    pieces = [whole[:cut], whole[cut:], event(chunk(" ok")), event(chunk(finish="stop")), DONE]
    fake_server.add(200, pieces=pieces, headers=SSE_HEADERS)
    stream = run.stream(client.chat.completions.stream(MESSAGES))
    assert [c.text for c in stream] == ["caf\ufffd(", " ok", ""]
    final = stream.result()
    assert final.success and final.text == "caf\ufffd( ok"


def test_usage_only_chunk_has_no_choice(client, fake_server, run) -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    pieces = text_stream(["a"])[:-1] + [event(dict(chunk(), choices=[], usage=usage)), DONE]
    fake_server.add(200, pieces=pieces, headers=SSE_HEADERS)
    stream = run.stream(client.chat.completions.stream(MESSAGES, stream_options={"include_usage": True}))
    chunks = list(stream)
    assert chunks[-1].choice is None and chunks[-1].text == "" and chunks[-1].usage == usage
    assert stream.result().usage == usage
    assert fake_server.requests[0].json["stream_options"] == {"include_usage": True}


FULL = text_stream(["one", " two"])  # role, one, two, finish, DONE


@pytest.mark.parametrize("cut", range(len(FULL)))
def test_stream_cut_at_every_stage(client, fake_server, cut, run) -> None:
    fake_server.add(200, pieces=FULL, cut_after=cut, headers=SSE_HEADERS)
    stream = run.stream(client.chat.completions.stream(MESSAGES))
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


def test_error_event_midway(client, fake_server, run) -> None:
    pieces = [
        event(chunk("partial", role="assistant")),
        event({"error": {"message": "model overloaded", "type": "server_error", "code": "overloaded"}}),
        event(chunk("never")),
        DONE,
    ]
    fake_server.add(200, pieces=pieces, headers=SSE_HEADERS)
    stream = run.stream(client.chat.completions.stream(MESSAGES))
    chunks = list(stream)
    assert [c.success for c in chunks] == [True, False]
    final = stream.result()
    assert not final.success and final.text == "partial"
    error = final.errors[0]
    assert (error.message, error.type, error.code) == ("model overloaded", "server_error", "overloaded")
    assert error.request_id == "req_stream"


def test_event_error_field(client, fake_server, run) -> None:
    pieces = [b'event: error\ndata: {"message": "quota gone"}\n\n']
    fake_server.add(200, pieces=pieces, headers=SSE_HEADERS)
    final = run.stream(client.chat.completions.stream(MESSAGES)).result()
    assert not final.success and final.errors[0].message == "quota gone"


def test_malformed_event_is_a_stream_error(client, fake_server, run) -> None:
    fake_server.add(200, pieces=[event(chunk("a")), b"data: {not json\n\n"], headers=SSE_HEADERS)
    final = run.stream(client.chat.completions.stream(MESSAGES)).result()
    assert final.errors[0].type == "stream_error" and "not JSON" in final.errors[0].message
    assert final.text == "a"


def test_throw_true_raises_from_the_iterator(client, fake_server, run) -> None:
    fake_server.add(200, pieces=FULL, cut_after=2, headers=SSE_HEADERS)
    stream = run.stream(client.chat.completions.stream(MESSAGES, throw=True))
    with pytest.raises(APIConnectionError) as info:
        for _ in stream:
            pass
    assert info.value.error.type == "stream_error"


def test_status_error_before_the_stream(client, fake_server, run) -> None:
    fake_server.add(
        429,
        json={"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}},
        headers={"x-request-id": "req_429"},
    )
    stream = run.stream(client.chat.completions.stream(MESSAGES))
    chunks = list(stream)
    assert len(chunks) == 1 and not chunks[0].success
    final = stream.result()
    assert final.status == 429 and final.errors[0].is_rate_limit_error
    assert final.request_id == "req_429"
    fake_server.add(401, json={"error": {"message": "bad key", "type": "invalid_request_error"}})
    with pytest.raises(OpenAIException):
        run.stream(client.chat.completions.stream(MESSAGES, throw=True))


def test_interleaved_choices_and_tool_calls(client, fake_server, run) -> None:
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    pieces = [
        event(chunk(role="assistant", index=0, content="")),
        event(chunk(role="assistant", index=1, tool_calls=[call])),
        event(chunk("Sun", index=0)),
        event(chunk(index=1, tool_calls=[{"index": 0, "function": {"arguments": '{"city":'}}])),
        event(chunk("ny", index=0)),
        event(chunk(index=1, tool_calls=[{"index": 0, "function": {"arguments": '"Paris"}'}}])),
        event(chunk(index=0, finish="stop")),
        event(chunk(index=1, finish="tool_calls")),
        DONE,
    ]
    fake_server.add(200, pieces=pieces, headers=SSE_HEADERS)
    final = run.stream(client.chat.completions.stream(MESSAGES, n=2)).result()
    assert final.success and [c.index for c in final.choices] == [0, 1]
    assert final.choices[0].message.content == "Sunny"
    second = final.choices[1]
    assert second.finish_reason == "tool_calls"
    assert second.message.tool_calls == [
        {
            "index": 0,
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
        }
    ] or second.message.tool_calls == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
        }
    ]
    assert json.loads(second.message.tool_calls[0]["function"]["arguments"]) == {"city": "Paris"}


def test_closing_the_stream_drops_the_connection(client, fake_server, run) -> None:
    hold = threading.Event()
    fake_server.add(200, pieces=[event(chunk("a")), hold, event(chunk("b")), DONE], headers=SSE_HEADERS)
    stream = run.stream(client.chat.completions.stream(MESSAGES))
    assert next(stream).text == "a"
    stream.close()
    fake_server.add(200, json=completion("ok"))
    assert run(client.chat.completions.create(MESSAGES)).success
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
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Connection: close\r\n\r\n" + event(chunk("hello", role="assistant"))
            )
            deadline = time.monotonic() + 10
            while not self.stop.wait(0.05) and time.monotonic() < deadline:
                try:
                    conn.sendall(b": ping\n\n")
                except OSError:
                    return
                self.pings += 1


def test_keepalive_comments_do_not_keep_a_stalled_stream_alive(run) -> None:
    server = PingServer()
    try:
        client = run.OpenAI(
            api_key="k", base_url="http://127.0.0.1:%d/v1" % server.port, max_retries=0, timeout=0.5
        )
        started = time.monotonic()
        stream = run.stream(client.chat.completions.stream(MESSAGES))
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


# -- the idle timer: only complete data events count (issue: split keep-alives) -----------------
def test_keepalive_comments_split_across_writes_do_not_keep_a_stream_alive(fake_server, run) -> None:
    # One data event, then ": keep" and "-alive\n\n" in separate writes, 0.1 s apart, for
    # 8 s: a half-received comment is not progress, so timeout=1 ends the stream in ~1 s.
    pieces = [event(chunk("hello", role="assistant"))] + [b": keep", b"-alive\n\n"] * 40
    fake_server.add(200, pieces=pieces, pace=0.1, headers=SSE_HEADERS)
    client = run.OpenAI(api_key="k", base_url=fake_server.url + "/v1", max_retries=0, timeout=1)
    started = time.monotonic()
    stream = run.stream(client.chat.completions.stream(MESSAGES))
    chunks = list(stream)
    elapsed = time.monotonic() - started
    final = stream.result()
    assert [c.text for c in chunks[:1]] == ["hello"]
    assert not final.success and final.errors[0].type == "timeout", final.errors
    assert "no data event for 1 s" in final.errors[0].message
    assert final.text == "hello"
    assert 0.9 < elapsed < 4, elapsed
    client.close()


def test_a_data_event_counts_as_progress_only_once_it_is_complete(fake_server, run) -> None:
    # A data event trickled out over ~3 s in 30 pieces: with timeout=1 nothing completed
    # for a second, so the stream times out, though bytes kept arriving.
    whole = event(chunk("x" * 60, role="assistant"))
    step = len(whole) // 30 + 1
    slow = [whole[i : i + step] for i in range(0, len(whole), step)]
    fake_server.add(
        200, pieces=[event(chunk("a", role="assistant"))] + slow + [DONE], pace=0.1, headers=SSE_HEADERS
    )
    client = run.OpenAI(api_key="k", base_url=fake_server.url + "/v1", max_retries=0, timeout=1)
    final = run.stream(client.chat.completions.stream(MESSAGES)).result()
    assert not final.success and final.errors[0].type == "timeout", final.errors
    assert final.text == "a"
    # The same event in three pieces, complete well within the timeout: progress.
    fake_server.add(
        200,
        pieces=[whole[:10], whole[10:40], whole[40:], event(chunk(finish="stop")), DONE],
        pace=0.05,
        headers=SSE_HEADERS,
    )
    final = run.stream(client.chat.completions.stream(MESSAGES)).result()
    assert final.success and final.text == "x" * 60
    client.close()


# -- result() of a stream closed before its end ---------------------------------------------------
LONG = text_stream(["w%d " % i for i in range(10)])


def _assert_closed_early(final, text: str) -> None:
    assert not final.success
    error = final.errors[0]
    assert error.type == "cancelled" and error.is_cancelled
    assert "closed before its end" in error.message
    assert final.text == text  # what arrived is kept


def test_result_after_break_inside_with_is_not_a_success(client, fake_server, run) -> None:
    hold = threading.Event()
    fake_server.add(200, pieces=LONG[:4] + [hold] + LONG[4:], headers=SSE_HEADERS)
    with run.stream(client.chat.completions.stream(MESSAGES)) as stream:
        for count, _ in enumerate(stream, 1):
            if count == 3:
                break
    final = stream.result()
    _assert_closed_early(final, "w0 w1 ")
    assert final.choice is not None and final.choice.finish_reason is None
    assert "3 chunks received" in final.errors[0].message
    assert stream.result().errors == final.errors  # asked again: the same answer, once
    # The client goes on, on a new connection: the one left mid-stream was closed, not pooled.
    fake_server.add(200, json=completion("next"))
    assert run(client.chat.completions.create(MESSAGES)).text == "next"
    assert fake_server.connections == 2
    hold.set()


def test_result_after_an_exception_inside_with_is_not_a_success(client, fake_server, run) -> None:
    hold = threading.Event()
    fake_server.add(200, pieces=LONG[:2] + [hold] + LONG[2:], headers=SSE_HEADERS)
    with pytest.raises(KeyError):
        with run.stream(client.chat.completions.stream(MESSAGES)) as stream:
            for chunk_ in stream:
                if chunk_.text:
                    raise KeyError("the caller's own error")
    _assert_closed_early(stream.result(), "w0 ")
    hold.set()


def test_a_with_block_that_never_iterates_is_not_a_success(client, fake_server, run) -> None:
    fake_server.add(200, pieces=LONG, headers=SSE_HEADERS)
    with run.stream(client.chat.completions.stream(MESSAGES)) as stream:
        pass
    final = stream.result()
    _assert_closed_early(final, "")
    assert "0 chunks received" in final.errors[0].message
    # The README's pattern reads the choice only on success; a failed result has none.
    assert final.choice is None
    assert (final.choice.finish_reason if final.success else final.error.type) == "cancelled"


def test_close_before_the_end_then_result(client, fake_server, run) -> None:
    hold = threading.Event()
    fake_server.add(200, pieces=LONG[:3] + [hold] + LONG[3:], headers=SSE_HEADERS)
    stream = run.stream(client.chat.completions.stream(MESSAGES))
    next(stream)
    stream.close()
    _assert_closed_early(stream.result(), "")
    hold.set()


def test_result_on_an_open_stream_reads_the_rest(client, fake_server, run) -> None:
    fake_server.add(200, pieces=LONG, headers=SSE_HEADERS)
    stream = run.stream(client.chat.completions.stream(MESSAGES))
    for _ in stream:
        break  # the stream is still open: result() reads what is left
    final = stream.result()
    assert final.success and final.choice.finish_reason == "stop"
    assert final.text == "".join("w%d " % i for i in range(10))
    stream.close()
    assert stream.result().success  # closing a stream that ended changes nothing


def test_a_stream_read_to_its_end_inside_with_succeeds(client, fake_server, run) -> None:
    fake_server.add(200, pieces=LONG, headers=SSE_HEADERS)
    with run.stream(client.chat.completions.stream(MESSAGES)) as stream:
        count = sum(1 for _ in stream)
    final = stream.result()
    assert count == 12 and final.success and final.choice.finish_reason == "stop"


def test_throw_true_result_reports_a_stream_closed_early_without_raising(client, fake_server, run) -> None:
    # The caller closed it: result() says so; throw=True raises only for failures met
    # while reading (the iterator's), not again for what the caller already knows.
    fake_server.add(200, pieces=LONG, headers=SSE_HEADERS)
    with run.stream(client.chat.completions.stream(MESSAGES, throw=True)) as stream:
        next(stream)
    _assert_closed_early(stream.result(), "")
    with pytest.raises(APIUserAbortError):
        stream.result().throw()


# -- a server that ignores stream=true (reading logic only: MockTransport, no socket) ----------
def _mock_client(run: Runner, *replies: HTTPResponse) -> Tuple[OpenAI, MockTransport]:
    queue = list(replies)
    transport = MockTransport(lambda request: queue.pop(0))
    return run.OpenAI(api_key="k", base_url="http://mock.invalid/v1", transport=transport), transport


def _json_reply(body: object, **headers: str) -> HTTPResponse:
    return HTTPResponse(
        200, headers=dict({"content-type": "application/json"}, **headers), body=json.dumps(body).encode()
    )


def test_a_whole_json_completion_is_delivered_as_the_chunks_of_a_stream(run) -> None:
    client, transport = _mock_client(
        run, _json_reply(completion("Hello there"), **{"x-request-id": "req_json"})
    )
    with run.stream(client.chat.completions.stream(MESSAGES)) as stream:
        chunks = list(stream)
    assert [chunk.body for chunk in chunks] == [
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "fake-model",
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": "Hello there"},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": None,
        },
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "fake-model",
            "choices": [],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
        },
    ]
    assert all(chunk.success for chunk in chunks) and chunks[0].text == "Hello there"
    final = stream.result()
    assert final.success and final.text == "Hello there", final.errors
    assert final.choice.finish_reason == "stop" and final.usage["total_tokens"] == 7
    assert final.request_id == "req_json" and final.body["object"] == "chat.completion"
    assert json.loads(transport.requests[0].body)["stream"] is True


def test_a_whole_json_completion_reaches_on_data(run) -> None:
    client, _ = _mock_client(run, _json_reply(completion("Hi")))
    seen: List[str] = []
    final = run(client.chat.completions.create(MESSAGES, stream=True, on_data=lambda c: seen.append(c.text)))
    assert seen == ["Hi", ""] and final.success and final.text == "Hi"


@pytest.mark.parametrize(
    "reply, kind",
    [
        ({"status": "ok"}, "invalid_response"),
        ({"error": {"message": "no model loaded", "type": "server_error"}}, "server_error"),
    ],
)
def test_a_json_answer_to_a_stream_that_is_not_a_completion(reply, kind, run) -> None:
    client, _ = _mock_client(run, _json_reply(reply), _json_reply(reply))
    stream = run.stream(client.chat.completions.stream(MESSAGES))
    chunks = list(stream)
    final = stream.result()
    assert len(chunks) == 1 and not chunks[0].success
    assert not final.success and final.errors[0].type == kind
    with pytest.raises(OpenAIException):
        list(run.stream(client.chat.completions.stream(MESSAGES, throw=True)))


# -- callbacks in the iterator form, and throw=True ---------------------------------------------
@pytest.mark.parametrize("callback", ["on_data", "on_terminate", "on_response", "on_error", "formula"])
def test_stream_refuses_callbacks(client, fake_server, callback, run) -> None:
    with pytest.raises(ValueError, match=r"%s.*create\(\)" % callback):
        run.stream(client.chat.completions.stream(MESSAGES, throw=True, **{callback: print}))
    params = OpenAIChatCompletionParameters(**{callback: print})
    with pytest.raises(ValueError, match="create"):
        run.stream(client.chat.completions.stream(MESSAGES, params))
    assert fake_server.requests == []  # refused before anything was sent


def test_throw_true_raises_on_iteration_of_a_truncated_stream(client, fake_server, run) -> None:
    fake_server.add(200, pieces=FULL[:2], headers=SSE_HEADERS)  # no finish, no [DONE]
    stream = run.stream(client.chat.completions.stream(MESSAGES, throw=True))
    seen: List[str] = []
    with pytest.raises(APIConnectionError, match="broke"):
        for chunk_ in stream:
            seen.append(chunk_.text)
    assert seen == ["", "one"]
    final = stream.result()  # after the raise: the same failure, reported, not raised again
    assert not final.success and final.errors[0].type == "stream_error" and final.text == "one"


# -- [DONE] ends the stream, whatever follows -----------------------------------------------------
@pytest.mark.parametrize("together", [True, False])
def test_data_after_done_is_ignored(together, run) -> None:
    after = event(chunk(" late")) + event(chunk(finish="length"))
    head = text_stream(["one"])
    pieces = head[:-1] + [head[-1] + after] if together else head + [after]
    client, _ = _mock_client(run, HTTPResponse(200, headers=SSE_HEADERS, body=pieces))
    with run.stream(client.chat.completions.stream(MESSAGES)) as stream:
        texts = [c.text for c in stream]
    final = stream.result()
    assert texts == ["", "one", ""]
    assert final.success and final.text == "one" and final.choice.finish_reason == "stop"


@pytest.mark.parametrize("pieces, count", [([DONE], 0), ([event(dict(chunk(), choices=[])), DONE], 1)])
def test_a_stream_without_a_single_choice_is_invalid(pieces, count, run) -> None:
    client, _ = _mock_client(run, HTTPResponse(200, headers=SSE_HEADERS, body=pieces))
    final = run.stream(client.chat.completions.stream(MESSAGES)).result()
    assert not final.success and final.choice is None
    assert final.errors[0].type == "invalid_response"
    assert "without a choice (%d chunks received)" % count in final.errors[0].message


# -- each event's data is read exactly as json.loads reads it -------------------------------------
_ONE = json.dumps(chunk("one", finish="stop"))


@pytest.mark.parametrize(
    "data",
    [
        _ONE,
        " " + _ONE,  # "data:  {...}": the field's one space is dropped, the second kept
        "\t" + _ONE + " \t",
        _ONE + "\n",  # a last "data:" line that is empty
        "\n\n" + _ONE,  # empty "data:" lines first
        _ONE + "x",
        _ONE + " " + _ONE,
        "\ufeff" + _ONE,  # json.loads refuses a BOM in a str
        _ONE + "\x0c",  # form feed: whitespace to str.strip, not to JSON
        "\xa0" + _ONE,
        " ",
        "",
    ],
)
def test_event_data_is_read_as_json_loads_reads_it(data, run) -> None:
    lines = b"".join(b"data: " + line.encode("utf-8") + b"\n" for line in data.split("\n"))
    client, _ = _mock_client(run, HTTPResponse(200, headers=SSE_HEADERS, body=[lines + b"\n", DONE]))
    with run.stream(client.chat.completions.stream(MESSAGES)) as stream:
        bodies = [c.body for c in stream]
    final = stream.result()
    try:
        expected = json.loads(data)
    except ValueError:
        assert final.errors[0].type == "stream_error" and "not JSON" in final.errors[0].message
    else:
        assert bodies == [expected] and final.success and final.text == "one"
