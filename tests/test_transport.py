"""The transport against the fake server (openai_params/transport.py).

Every test asserts on what the server received, not only on what came back.
"""

import base64
import email.utils
import logging
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from both_clients import Runner
from fakeserver import FakeServer, RecordedRequest, Reply
from openai_params.errors import (
    APIConnectionError,
    APITimeoutError,
    APIUserAbortError,
    BadRequestError,
    OpenAIError,
)
from openai_params.retry import RetryPolicy
from openai_params.transport import CancelEvent, HTTPRequest, HTTPResponse, Transport

KEY = "sk-test-SECRETSECRETSECRET9876"
AUTH = {"Authorization": "Bearer " + KEY, "Content-Type": "application/json"}
FAST = RetryPolicy(initial_delay=0.001, max_delay=0.004)


class RecordingEvent(threading.Event):
    """A cancel event that records the waits asked of it instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: List[Optional[float]] = []

    def wait(self, timeout: Optional[float] = None) -> bool:
        self.waits.append(timeout)
        return self.is_set()


@pytest.fixture
def transport(request: pytest.FixtureRequest) -> Iterator[Transport]:
    """A ``Transport``; in a test that also asks for ``run`` (both_clients.py), of that run's kind:
    an ``AsyncTransport`` seen through ``run.Transport``'s blocking view."""
    if "run" in request.fixturenames:
        yield request.getfixturevalue("run").Transport(proxies={}, retry_policy=FAST)
        return
    t = Transport(proxies={}, retry_policy=FAST)
    try:
        yield t
    finally:
        t.close()


def post(
    server: FakeServer,
    path: str = "/v1/chat/completions",
    body: bytes = b'{"model":"m"}',
    headers: Optional[Dict[str, str]] = None,
) -> HTTPRequest:
    return HTTPRequest("POST", server.url + path, dict(AUTH if headers is None else headers), body)


def error_body(**fields: Any) -> Dict[str, Any]:
    return {"error": fields}


# -- what is sent ------------------------------------------------------------------------------------
def test_method_path_query_headers_and_body_arrive(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(200, json={"id": "x"})
    request = HTTPRequest(
        "POST",
        fake_server.url + "/v1/chat/completions?api-version=2024&x=1",
        {
            "Authorization": "Bearer " + KEY,
            "OpenAI-Project": "proj_1",
            "User-Agent": "openai_params/test",
            "Content-Type": "application/json",
        },
        b'{"model":"m","messages":[]}',
    )
    response = transport.send(request, timeout=5, max_retries=0)
    assert response.status == 200 and response.read() == b'{"id": "x"}'
    assert response.headers["content-type"] == "application/json"
    assert response.attempts == 1 and response.url == request.url
    [got] = fake_server.requests
    assert got.method == "POST" and got.path == "/v1/chat/completions"
    assert got.query == {"api-version": ["2024"], "x": ["1"]}
    assert got.headers["authorization"] == "Bearer " + KEY
    assert got.headers["openai-project"] == "proj_1"
    assert got.headers["user-agent"] == "openai_params/test"
    assert got.headers["content-length"] == str(len(request.body or b""))
    assert got.headers["host"] == "127.0.0.1:%d" % fake_server.port
    assert got.json == {"model": "m", "messages": []}


def test_get_without_body(fake_server: FakeServer, transport: Transport, run: Runner) -> None:
    transport.send(HTTPRequest("GET", fake_server.url + "/v1/models", {}), timeout=5, max_retries=0)
    [got] = fake_server.requests
    assert got.method == "GET" and got.body == b"" and "content-length" not in got.headers


def test_repeated_response_headers_are_joined(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(200, headers=[("X-Thing", "a"), ("X-Thing", "b")])
    response = transport.send(post(fake_server), timeout=5, max_retries=0)
    assert response.headers["x-thing"] == "a, b"


# -- retries -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers, wait",
    [
        ({"retry-after-ms": "40"}, 0.04),
        ({"Retry-After": "2"}, 2.0),
    ],
)
def test_rate_limit_honours_the_retry_header(
    fake_server: FakeServer, transport: Transport, headers: Dict[str, str], wait: float, run: Runner
) -> None:
    fake_server.add(429, headers=headers, json=error_body(message="Rate limit", type="requests"))
    fake_server.add(200, json={"ok": True})
    cancel = RecordingEvent()
    response = transport.send(post(fake_server), timeout=5, max_retries=2, cancel=cancel)
    assert response.status == 200 and response.attempts == 2
    assert cancel.waits == [wait]
    assert len(fake_server.requests) == 2
    assert fake_server.requests[0].body == fake_server.requests[1].body


def test_rate_limit_with_an_http_date(fake_server: FakeServer, transport: Transport, run: Runner) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    fake_server.add(429, headers={"Retry-After": when})
    fake_server.add(200)
    cancel = RecordingEvent()
    assert transport.send(post(fake_server), timeout=5, max_retries=1, cancel=cancel).status == 200
    [wait] = cancel.waits
    assert wait is not None and 25 <= wait <= 31


def test_x_should_retry_false_stops_a_500(fake_server: FakeServer, transport: Transport, run: Runner) -> None:
    fake_server.add(500, headers={"x-should-retry": "false"}, json=error_body(message="no"))
    response = transport.send(post(fake_server), timeout=5, max_retries=3)
    assert response.status == 500 and len(fake_server.requests) == 1
    assert response.retry_decision is not None and "x-should-retry" in response.retry_decision.reason


def test_x_should_retry_true_retries_a_400(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(400, headers={"x-should-retry": "true"})
    fake_server.add(200)
    assert transport.send(post(fake_server), timeout=5, max_retries=1).status == 200
    assert len(fake_server.requests) == 2


def test_5xx_then_success_with_backoff(fake_server: FakeServer, transport: Transport, run: Runner) -> None:
    fake_server.add(500, json=error_body(message="oops"))
    fake_server.add(503, body="<html>busy</html>", headers={"Content-Type": "text/html"})
    fake_server.add(200, json={"id": "done"})
    cancel = RecordingEvent()
    response = transport.send(post(fake_server), timeout=5, max_retries=2, cancel=cancel)
    assert response.status == 200 and response.attempts == 3
    assert len(cancel.waits) == 2
    assert all(w is not None and 0 < w <= FAST.max_delay for w in cancel.waits)
    assert len(fake_server.requests) == 3


def test_last_failure_is_returned_after_max_retries(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    for _ in range(3):
        fake_server.add(503, json=error_body(message="down"))
    response = transport.send(post(fake_server), timeout=5, max_retries=2)
    assert response.status == 503 and response.attempts == 3
    assert len(fake_server.requests) == 3 and fake_server.pending == 0
    assert response.retry_decision is not None and "no retries left" in response.retry_decision.reason


def test_400_with_an_openai_error_body_is_not_retried(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(
        400,
        headers={"x-request-id": "req_1"},
        json=error_body(
            message="Invalid 'temperature'",
            type="invalid_request_error",
            param="temperature",
            code="invalid_value",
        ),
    )
    response = transport.send(post(fake_server), timeout=5, max_retries=3)
    assert response.status == 400 and len(fake_server.requests) == 1
    error = OpenAIError.from_response(response.status, response.headers, response.read())
    assert (error.message, error.param, error.request_id) == ("Invalid 'temperature'", "temperature", "req_1")
    assert isinstance(error.exception(), BadRequestError)


def test_insufficient_quota_is_not_retried(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(
        429,
        json=error_body(
            message="You exceeded your current quota", type="insufficient_quota", code="insufficient_quota"
        ),
    )
    response = transport.send(post(fake_server), timeout=5, max_retries=3)
    assert response.status == 429 and len(fake_server.requests) == 1


def test_a_wait_longer_than_the_cap_is_not_retried_and_reported(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(429, headers={"Retry-After": "120"}, json=error_body(message="later"))
    cancel = RecordingEvent()
    response = transport.send(post(fake_server), timeout=5, max_retries=3, cancel=cancel)
    assert response.status == 429 and len(fake_server.requests) == 1 and cancel.waits == []
    assert response.retry_decision is not None and response.retry_decision.retry_after == 120.0
    assert OpenAIError.from_response(429, response.headers, response.read()).retry_after == 120.0


def test_html_502_comes_back_as_a_response(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    fake_server.add(502, page, headers={"Content-Type": "text/html"})
    response = transport.send(post(fake_server), timeout=5, max_retries=0)
    assert response.status == 502 and response.read() == page
    error = OpenAIError.from_response(response.status, response.headers, response.read())
    assert "502 Bad Gateway" in error.message and "text/html" in error.message


def test_invalid_json_body_is_returned_as_is(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(200, b'{"id": "chatcmpl', headers={"Content-Type": "application/json"})
    response = transport.send(post(fake_server), timeout=5, max_retries=2)
    assert response.read() == b'{"id": "chatcmpl' and len(fake_server.requests) == 1
    error = OpenAIError.from_response(200, response.headers, response.read())
    assert error.type == "invalid_response" and "not JSON" in error.message


# -- timeouts ----------------------------------------------------------------------------------------
def test_a_response_that_never_comes_times_out(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(hang=True)
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        transport.send(post(fake_server), timeout=0.3, max_retries=0)
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 1.5
    assert "timed out after 0.3 s waiting for the response" in info.value.error.message
    assert isinstance(info.value.__cause__, (socket.timeout, TimeoutError))
    assert info.value.error.is_timeout_error
    assert len(fake_server.requests) == 1


def test_a_connect_that_never_completes_times_out(transport: Transport, run: Runner) -> None:
    from test_cancel import SilentListener  # accepts, then never says a word

    silent = SilentListener()
    url = "https://127.0.0.1:%d/v1/models" % silent.port  # the TLS handshake waits for ever
    started = time.monotonic()
    try:
        with pytest.raises(APITimeoutError) as info:
            transport.send(HTTPRequest("GET", url), timeout=0.3, max_retries=1)
    finally:
        silent.close()
    assert 0.55 <= time.monotonic() - started < 2.5  # two attempts of 0.3 s each (a connect is retried)
    assert (
        info.value.error.message == "timed out after 0.3 s connecting to https://127.0.0.1:%d" % silent.port
    )
    assert isinstance(info.value.__cause__, (socket.timeout, TimeoutError))


def test_a_timeout_before_any_response_is_retried(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(hang=True)
    fake_server.add(200, json={"ok": 1})
    response = transport.send(post(fake_server), timeout=0.3, max_retries=1)
    assert response.status == 200 and response.attempts == 2
    assert len(fake_server.requests) == 2
    assert [r.connection for r in fake_server.requests] == [1, 2]  # the timed-out one was dropped


def test_a_timeout_in_the_middle_of_the_body_is_not_retried(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    never = threading.Event()
    fake_server.add(200, pieces=[b'{"id":', never, b'"x"}'])
    with pytest.raises(APITimeoutError) as info:
        transport.send(post(fake_server), timeout=0.3, max_retries=2)
    assert "reading the response body" in info.value.error.message
    assert len(fake_server.requests) == 1


# -- redirects ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_not_followed(
    fake_server: FakeServer, second_server: FakeServer, transport: Transport, status: int, run: Runner
) -> None:
    location = second_server.url + "/v1/chat/completions"
    fake_server.add(Reply.redirect(location, status))
    response = transport.send(post(fake_server), timeout=5, max_retries=3)
    assert response.status == status and response.headers["location"] == location
    assert second_server.requests == [] and second_server.connections == 0
    assert len(fake_server.requests) == 1
    assert fake_server.requests[0].headers["authorization"] == "Bearer " + KEY
    error = OpenAIError.from_response(status, response.headers, response.read())
    assert error.message.endswith(" to " + location) and str(status) in error.message


# -- broken connections ------------------------------------------------------------------------------
def test_connection_cut_mid_body_raises_when_no_retry_is_left(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(200, b'{"id": "chatcmpl-123", "choices": []}', cut_after=10)
    with pytest.raises(APIConnectionError) as info:
        transport.send(post(fake_server), timeout=5, max_retries=0)
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.__cause__ is not None
    assert info.value.error.type == "connection_error"


def test_connection_cut_mid_body_is_retried(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(200, b'{"id": "chatcmpl-123", "choices": []}', cut_after=10)
    fake_server.add(200, json={"id": "second"})
    response = transport.send(post(fake_server), timeout=5, max_retries=1)
    assert response.read() == b'{"id": "second"}' and len(fake_server.requests) == 2


def test_streamed_body_cut_mid_way(fake_server: FakeServer, transport: Transport, run: Runner) -> None:
    fake_server.add(200, pieces=[b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"], cut_after=1)
    response = transport.send(post(fake_server), timeout=5, max_retries=2, stream=True)
    pieces = []
    with pytest.raises(APIConnectionError):
        for piece in response.iter_bytes():
            pieces.append(piece)
    assert b"".join(pieces) == b"data: 1\n\n"
    assert len(fake_server.requests) == 1  # a stream is never retried once it has begun


def test_streamed_body_shorter_than_its_content_length(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(200, b"0123456789" * 10, cut_after=30)
    response = transport.send(post(fake_server), timeout=5, max_retries=0, stream=True)
    received = b""
    with pytest.raises(APIConnectionError) as info:
        for piece in response.iter_bytes():
            received += piece
    assert received == (b"0123456789" * 10)[:30]
    assert "70 more were announced" in info.value.error.message


def test_connection_refused(transport: Transport, caplog: pytest.LogCaptureFixture, run: Runner) -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    caplog.set_level(logging.DEBUG, logger="openai_params")
    with pytest.raises(APIConnectionError) as info:
        transport.send(HTTPRequest("GET", "http://127.0.0.1:%d/v1/models" % port), timeout=5, max_retries=2)
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    assert "connecting to http://127.0.0.1:%d" % port in info.value.error.message
    attempts = [r for r in caplog.records if "GET http://127.0.0.1" in r.getMessage()]
    assert len(attempts) == 3  # connection errors are retried


# -- keep-alive --------------------------------------------------------------------------------------
def test_300_sequential_requests_use_one_connection(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    for i in range(300):
        response = transport.send(post(fake_server, body=b'{"i":%d}' % i), timeout=5, max_retries=0)
        assert response.status == 200
    assert fake_server.connections == 1
    assert len(fake_server.requests) == 300
    assert [r.json for r in fake_server.requests[:3]] == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_streamed_responses_read_to_the_end_give_their_connection_back(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    for _ in range(5):
        fake_server.add(200, pieces=[b"a", b"b"])
    for _ in range(5):
        response = transport.send(post(fake_server), timeout=5, max_retries=0, stream=True)
        assert b"".join(response.iter_bytes()) == b"ab"
        response.close()
    assert fake_server.connections == 1


def test_the_pool_keeps_pool_size_connections_and_none_once_closed(
    fake_server: FakeServer, run: Runner
) -> None:
    transport = run.Transport(proxies={}, retry_policy=FAST, pool_size=1)

    def two_at_once() -> None:
        fake_server.add(200, pieces=[b"a"])
        fake_server.add(200, pieces=[b"b"])
        first = transport.send(post(fake_server), timeout=5, max_retries=0, stream=True)
        second = transport.send(post(fake_server), timeout=5, max_retries=0, stream=True)
        assert b"".join(first.iter_bytes()) + b"".join(second.iter_bytes()) == b"ab"
        first.close()
        second.close()

    two_at_once()
    assert fake_server.connections == 2 and fake_server.wait_closed(1)  # one kept, one closed
    two_at_once()
    assert fake_server.connections == 3 and fake_server.wait_closed(2)  # the kept one and a new one
    fake_server.add(200, pieces=[b"c"])
    last = transport.send(post(fake_server), timeout=5, max_retries=0, stream=True)
    transport.close()
    assert b"".join(last.iter_bytes()) == b"c"
    last.close()  # read to its end, but the transport is closed: its connection is too
    assert fake_server.wait_closed(3, timeout=5)


def test_a_response_closed_before_its_end_drops_the_connection(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    release = threading.Event()
    fake_server.add(200, pieces=[b"a", release, b"b"])
    response = transport.send(post(fake_server), timeout=5, max_retries=0, stream=True)
    assert next(response.iter_bytes()) == b"a"
    response.close()
    release.set()
    transport.send(post(fake_server), timeout=5, max_retries=0)
    assert fake_server.connections == 2


def test_a_post_the_server_read_is_never_sent_again_for_free(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    # Issue 9.4: the server reads the POST on a reused connection, then drops the connection.
    # It may have acted on it (billed it, stored it): with max_retries=0 it gets it once.
    fake_server.add(200, json={"n": 1})
    fake_server.add(drop=True)
    assert transport.send(post(fake_server), timeout=5, max_retries=0).read() == b'{"n": 1}'
    with pytest.raises(APIConnectionError) as info:
        transport.send(post(fake_server, body=b'{"second":1}'), timeout=5, max_retries=0)
    assert isinstance(info.value.__cause__, ConnectionError)
    assert [(r.connection, r.body) for r in fake_server.requests] == [
        (1, b'{"model":"m"}'),
        (1, b'{"second":1}'),
    ]
    assert fake_server.connections == 1


def test_after_the_request_was_written_a_failure_counts_as_an_attempt(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(200, json={"n": 1})
    fake_server.add(drop=True)
    fake_server.add(200, json={"n": 2})
    transport.send(post(fake_server), timeout=5, max_retries=0).read()
    response = transport.send(post(fake_server), timeout=5, max_retries=1)
    assert response.read() == b'{"n": 2}' and response.attempts == 2
    assert [r.connection for r in fake_server.requests] == [1, 1, 2]


@pytest.mark.parametrize("error", [BrokenPipeError, ConnectionAbortedError, ConnectionResetError])
def test_a_pooled_connection_that_fails_while_sending_is_replaced_free(
    fake_server: FakeServer, transport: Transport, monkeypatch: pytest.MonkeyPatch, error: type
) -> None:
    # Issue 9.18a: the request never got out whole, so the server cannot have acted on it: it
    # goes again at once on a new connection, without using up a retry (max_retries=0).
    from openai_params._socket_connection import Connection

    transport.send(post(fake_server), timeout=5, max_retries=0).read()
    original = Connection.send
    failures: List[int] = []

    def send_fails_once(self: Connection, data: bytes) -> None:
        if not failures:
            failures.append(1)
            raise error("the server closed this idle connection")
        original(self, data)

    monkeypatch.setattr(Connection, "send", send_fails_once)
    response = transport.send(post(fake_server, body=b'{"again":1}'), timeout=5, max_retries=0)
    assert response.status == 200 and response.attempts == 1 and failures == [1]
    assert [(r.connection, r.body) for r in fake_server.requests] == [
        (1, b'{"model":"m"}'),
        (2, b'{"again":1}'),
    ]


@pytest.mark.parametrize("error", [BrokenPipeError, ConnectionAbortedError])
def test_a_new_connection_that_fails_while_sending_is_a_real_failure(
    fake_server: FakeServer, transport: Transport, monkeypatch: pytest.MonkeyPatch, error: type
) -> None:
    from openai_params._socket_connection import Connection

    def send_fails(self: Connection, data: bytes) -> None:
        raise error("refused mid-way")

    monkeypatch.setattr(Connection, "send", send_fails)
    with pytest.raises(APIConnectionError) as info:
        transport.send(post(fake_server), timeout=5, max_retries=0)
    assert isinstance(info.value.__cause__, error)
    assert fake_server.requests == []


def test_a_reused_connection_waits_with_the_current_calls_timeout(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    # Issue 9.18b: the connection was made with timeout=10; the next call says 0.5.
    fake_server.add(200, json={"n": 1})
    fake_server.add(hang=True)
    transport.send(post(fake_server), timeout=10, max_retries=0).read()
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        transport.send(post(fake_server), timeout=0.5, max_retries=0)
    assert time.monotonic() - started < 3
    assert "after 0.5 s" in info.value.error.message
    assert [r.connection for r in fake_server.requests] == [1, 1]


def test_a_pooled_connection_closed_while_idle_is_replaced(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(200, json={"n": 1}, close_silently=True)
    fake_server.add(200, json={"n": 2})
    transport.send(post(fake_server), timeout=5, max_retries=0)
    assert fake_server.wait_closed(1)  # closed while idle in the pool: found before it is used
    response = transport.send(post(fake_server), timeout=5, max_retries=0)
    assert response.read() == b'{"n": 2}'
    assert fake_server.connections == 2


def test_a_fresh_connection_that_breaks_is_a_real_failure(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(drop=True)
    with pytest.raises(APIConnectionError) as info:
        transport.send(post(fake_server), timeout=5, max_retries=0)
    assert isinstance(info.value.__cause__, ConnectionError)
    assert fake_server.connections == 1


def test_the_pool_is_safe_across_threads(fake_server: FakeServer, transport: Transport) -> None:
    failures: List[BaseException] = []

    def work() -> None:
        try:
            for _ in range(25):
                assert transport.send(post(fake_server), timeout=5, max_retries=0).status == 200
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert len(fake_server.requests) == 200
    assert fake_server.connections <= 8


# -- streaming ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("chunked", [True, False])
def test_iter_bytes_yields_a_piece_before_the_next_is_released(
    fake_server: FakeServer, transport: Transport, chunked: bool, run: Runner
) -> None:
    second, third = threading.Event(), threading.Event()
    fake_server.add(
        200,
        pieces=[b"data: first\n\n", b"data: second\n\n", b"data: third\n\n"],
        wait_for={1: second, 2: third},
        chunked=chunked,
    )
    response = transport.send(post(fake_server), timeout=5, max_retries=0, stream=True)
    assert response.status == 200
    pieces = response.iter_bytes()
    assert next(pieces) == b"data: first\n\n"  # would block until the server gives up if buffered
    second.set()
    assert next(pieces) == b"data: second\n\n"
    third.set()
    assert list(pieces) == [b"data: third\n\n"]
    assert fake_server.problems == []


def test_stream_with_an_error_status_has_its_body_read(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(401, json=error_body(message="Incorrect API key"))
    response = transport.send(post(fake_server), timeout=5, max_retries=0, stream=True)
    assert response.status == 401
    assert response.read() == b'{"error": {"message": "Incorrect API key"}}'
    assert list(response.iter_bytes()) == [response.read()]


def test_read_after_iter_bytes_is_an_error(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(200, pieces=[b"x"])
    response = transport.send(post(fake_server), timeout=5, max_retries=0, stream=True)
    assert list(response.iter_bytes()) == [b"x"]
    with pytest.raises(RuntimeError):
        response.read()


def test_abort_from_another_thread_ends_a_blocked_read(fake_server: FakeServer, transport: Transport) -> None:
    never = threading.Event()
    fake_server.add(200, pieces=[b"a", never, b"b"])
    response = transport.send(post(fake_server), timeout=30, max_retries=0, stream=True)
    pieces = response.iter_bytes()
    assert next(pieces) == b"a"
    outcome: List[BaseException] = []

    def reader() -> None:
        try:
            next(pieces)
        except BaseException as exc:  # noqa: BLE001 - checked below
            outcome.append(exc)

    thread = threading.Thread(target=reader)
    started = time.monotonic()
    thread.start()
    response.abort()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert len(outcome) == 1 and isinstance(outcome[0], APIUserAbortError)


# -- cancel ------------------------------------------------------------------------------------------
def _cancel_once_asked(
    fake_server: FakeServer,
    transport: Transport,
    asked: threading.Event,
    cancel: threading.Event,
    timeout: float,
) -> None:
    """Send on a thread, set ``cancel`` once the server has the request: the call must end
    at once with APIUserAbortError, after that one request."""
    outcome: List[BaseException] = []

    def call() -> None:
        try:
            transport.send(post(fake_server), timeout=timeout, max_retries=2, cancel=cancel)
        except BaseException as exc:  # noqa: BLE001 - checked below
            outcome.append(exc)

    thread = threading.Thread(target=call)
    started = time.monotonic()
    thread.start()
    assert asked.wait(5)
    cancel.set()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert len(outcome) == 1 and isinstance(outcome[0], APIUserAbortError)
    assert len(fake_server.requests) == 1


def test_cancel_during_the_backoff_wait(fake_server: FakeServer, transport: Transport) -> None:
    asked = threading.Event()

    def slow_down(request: RecordedRequest) -> Reply:
        asked.set()
        return Reply(503, headers={"Retry-After": "30"})

    fake_server.add(slow_down)
    _cancel_once_asked(fake_server, transport, asked, threading.Event(), timeout=5)


def test_cancel_event_aborts_a_wait_for_the_response(fake_server: FakeServer, transport: Transport) -> None:
    asked = threading.Event()

    def hang(request: RecordedRequest) -> Reply:
        asked.set()
        return Reply(hang=True)

    fake_server.add(hang)
    _cancel_once_asked(fake_server, transport, asked, CancelEvent(), timeout=30)


def test_cancel_set_before_sending(fake_server: FakeServer, transport: Transport) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(APIUserAbortError):
        transport.send(post(fake_server), timeout=5, max_retries=0, cancel=cancel)
    assert fake_server.requests == [] and fake_server.connections == 0


# -- proxies -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy"])
def test_http_through_a_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    proxy_server: FakeServer,
    second_server: FakeServer,
    variable: str,
    run: Runner,
) -> None:
    monkeypatch.setenv(variable, "http://user:p%%40ss@127.0.0.1:%d" % proxy_server.port)
    with run.Transport(retry_policy=FAST) as transport:
        response = transport.send(post(second_server, path="/v1/models?limit=2"), timeout=5, max_retries=0)
    assert response.status == 200
    [got] = proxy_server.requests
    assert got.target == "http://127.0.0.1:%d/v1/models?limit=2" % second_server.port
    assert got.headers["host"] == "127.0.0.1:%d" % second_server.port
    assert got.headers["proxy-authorization"] == "Basic " + base64.b64encode(b"user:p@ss").decode()
    assert second_server.requests == [] and second_server.connections == 0


def test_no_proxy_bypasses_the_proxy(
    monkeypatch: pytest.MonkeyPatch, proxy_server: FakeServer, second_server: FakeServer, run: Runner
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:%d" % proxy_server.port)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    with run.Transport(retry_policy=FAST) as transport:
        transport.send(post(second_server), timeout=5, max_retries=0)
    assert len(second_server.requests) == 1
    assert "proxy-authorization" not in second_server.requests[0].headers
    assert proxy_server.requests == [] and proxy_server.connections == 0


def test_https_through_a_proxy_uses_connect_and_keeps_the_key_inside(
    monkeypatch: pytest.MonkeyPatch, proxy_server: FakeServer, run: Runner
) -> None:
    monkeypatch.setenv("https_proxy", "http://user:pw@127.0.0.1:%d" % proxy_server.port)
    proxy_server.add(403)  # the proxy refuses the tunnel
    with run.Transport(retry_policy=FAST) as transport:
        with pytest.raises(APIConnectionError) as info:
            transport.send(
                HTTPRequest("POST", "https://api.example.test:8443/v1/chat/completions", dict(AUTH), b"{}"),
                timeout=5,
                max_retries=0,
            )
    assert "403" in info.value.error.message
    [got] = proxy_server.requests
    assert got.method == "CONNECT" and got.target == "api.example.test:8443"
    assert got.headers["proxy-authorization"] == "Basic " + base64.b64encode(b"user:pw").decode()
    assert "authorization" not in got.headers and got.body == b""


def test_an_explicit_empty_proxies_dict_ignores_the_environment(
    monkeypatch: pytest.MonkeyPatch, proxy_server: FakeServer, fake_server: FakeServer, run: Runner
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:%d" % proxy_server.port)
    with run.Transport(proxies={}) as transport:
        transport.send(post(fake_server), timeout=5, max_retries=0)
    assert proxy_server.connections == 0 and len(fake_server.requests) == 1


# -- TLS ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> Tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and its key (made once: RSA key generation is slow)."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return str(cert), str(key)


@pytest.fixture
def tls_server(tls_certificate: Tuple[str, str]) -> Iterator[FakeServer]:
    import ssl

    cert, key = tls_certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = FakeServer(ssl_context=context)
    server.cert_path = cert  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.close()


def test_tls_is_verified_by_default(tls_server: FakeServer, run: Runner) -> None:
    with run.Transport(proxies={}) as transport:
        with pytest.raises(APIConnectionError) as info:
            transport.send(post(tls_server), timeout=5, max_retries=0)
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value) or "certificate" in str(info.value)
    assert tls_server.requests == []


def test_a_failed_certificate_check_is_not_retried(tls_server: FakeServer, caplog: Any, run: Runner) -> None:
    caplog.set_level(logging.DEBUG, logger="openai_params")
    with run.Transport(proxies={}) as transport:
        with pytest.raises(APIConnectionError):
            transport.send(post(tls_server), timeout=5, max_retries=3)
    # One attempt, one log line: the same certificate would fail again.
    assert len([r for r in caplog.records if r.name == "openai_params"]) == 1


def test_tls_with_a_ca_bundle(tls_server: FakeServer, run: Runner) -> None:
    with run.Transport(proxies={}, ca_bundle=tls_server.cert_path) as transport:  # type: ignore[attr-defined]
        for _ in range(3):
            assert transport.send(post(tls_server), timeout=5, max_retries=0).status == 200
    assert len(tls_server.requests) == 3 and tls_server.connections == 1
    assert tls_server.requests[0].headers["authorization"] == "Bearer " + KEY


def test_https_to_a_plain_http_server_is_a_connection_error(fake_server: FakeServer, run: Runner) -> None:
    url = fake_server.url.replace("http://", "https://") + "/v1/models"
    with run.Transport(proxies={}) as transport:
        with pytest.raises(APIConnectionError) as info:
            transport.send(HTTPRequest("GET", url), timeout=5, max_retries=0)
    assert info.value.__cause__ is not None


# -- logging and secrets -----------------------------------------------------------------------------
def test_one_debug_line_per_attempt_with_the_key_redacted(
    fake_server: FakeServer, transport: Transport, caplog: pytest.LogCaptureFixture, run: Runner
) -> None:
    fake_server.add(429, headers={"retry-after-ms": "1"})
    fake_server.add(200)
    caplog.set_level(logging.DEBUG, logger="openai_params")
    transport.send(post(fake_server, path="/v1/chat/completions?api_key=" + KEY), timeout=5, max_retries=2)
    lines = [r.getMessage() for r in caplog.records if r.name == "openai_params"]
    assert len(lines) == 2
    assert lines[0].startswith("POST %s/v1/chat/completions" % fake_server.url)
    assert "-> 429 in " in lines[0] and " ms (attempt 1 of 3)" in lines[0]
    assert "retrying in 0.001 s (429 Too Many Requests: retry-after-ms 1)" in lines[0]
    assert "-> 200 in " in lines[1] and "(attempt 2 of 3)" in lines[1]
    assert "Bearer sk-...9876" in lines[0]
    for record in caplog.records:
        assert KEY not in record.getMessage() and "SECRETSECRET" not in record.getMessage()


def test_request_repr_redacts() -> None:
    request = HTTPRequest(
        "POST", "https://x.test/v1?key=" + KEY, {"Authorization": "Bearer " + KEY, "api-key": KEY}, b"{}"
    )
    assert KEY not in repr(request) and "SECRETSECRET" not in repr(request)
    assert request.redacted_headers() == {"Authorization": "Bearer sk-...9876", "api-key": "sk-...9876"}
    assert request.headers["Authorization"] == "Bearer " + KEY  # the request itself is intact


def test_errors_never_carry_the_key(fake_server: FakeServer, transport: Transport, run: Runner) -> None:
    fake_server.add(hang=True)
    with pytest.raises(APITimeoutError) as info:
        transport.send(post(fake_server), timeout=0.2, max_retries=0)
    assert KEY not in str(info.value) and KEY not in repr(info.value.error)


# -- arguments and the module itself -----------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"timeout": 0, "max_retries": 0}, ValueError),
        ({"timeout": float("inf"), "max_retries": 0}, ValueError),
        ({"timeout": float("nan"), "max_retries": 0}, ValueError),
        ({"timeout": 1e10, "max_retries": 0}, ValueError),
        ({"timeout": sys.maxsize, "max_retries": 0}, ValueError),
        ({"timeout": True, "max_retries": 0}, TypeError),
        ({"timeout": "5", "max_retries": 0}, TypeError),
        ({"timeout": 5, "max_retries": -1}, ValueError),
        ({"timeout": 5, "max_retries": 1.5}, TypeError),
    ],
)
def test_bad_arguments(transport: Transport, kwargs: Dict[str, Any], error: type, run: Runner) -> None:
    # Refused with the package's message (field, value, what is allowed), before any socket:
    # never an OverflowError from the socket layer (issue 9.13).
    name = "timeout" if kwargs["max_retries"] == 0 else "max_retries"
    with pytest.raises(error, match=r"^%s must be .* \(got " % name):
        transport.send(HTTPRequest("GET", "http://127.0.0.1:1/"), **kwargs)


@pytest.mark.parametrize(
    "kwargs", [{"pool_size": -1}, {"pool_size": "3"}, {"retry_policy": {"initial_delay": 1}}]
)
def test_bad_constructor_arguments(kwargs: Dict[str, Any], run: Runner) -> None:
    with pytest.raises((TypeError, ValueError), match=r"must be .* \(got "):
        run.Transport(**kwargs)


def test_bad_urls(transport: Transport, run: Runner) -> None:
    for url in ("ftp://x/y", "127.0.0.1:8080/v1", "http:///v1", "http://h:port/"):
        with pytest.raises(ValueError):
            transport.send(HTTPRequest("GET", url), timeout=5, max_retries=0)


@pytest.mark.parametrize(
    "headers", [{"X-A": "v\r\nX-Injected: 1"}, {"X-Injected: 1\r\nX-A": "v"}, {"Bad Name": "v"}]
)
def test_a_header_that_would_break_the_head_is_refused_before_anything_is_sent(
    fake_server: FakeServer, transport: Transport, headers: Dict[str, str], run: Runner
) -> None:
    # The client checks its headers when it builds a request; the transport checks again what
    # it writes, for a request built by hand (header injection never reaches the wire).
    with pytest.raises(ValueError, match="^invalid request head: "):
        transport.send(post(fake_server, headers=headers), timeout=5, max_retries=0)
    assert fake_server.connections == 0 and fake_server.requests == []


def test_a_closed_transport_refuses_to_send(fake_server: FakeServer, run: Runner) -> None:
    transport = run.Transport(proxies={})
    transport.close()
    with pytest.raises(RuntimeError):
        transport.send(post(fake_server), timeout=5, max_retries=0)
    assert fake_server.connections == 0


def test_a_response_built_from_bytes() -> None:
    response = HTTPResponse(200, "OK", {"content-type": "application/json"}, "http://x/", body=b"{}")
    assert response.read() == b"{}" and list(response.iter_bytes()) == [b"{}"]
    response.close()
    response.abort()


def test_importing_the_package_stays_light() -> None:
    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys; import openai_params; "
        "print(sorted(m for m in ('ssl', 'http.client', 'urllib.request', 'email') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=str(root), check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    assert out.strip() == "[]"


# -- MockTransport -----------------------------------------------------------------------------------
def test_mock_transport_answers_with_the_handler_without_sockets() -> None:
    from openai_params import MockTransport

    seen: List[HTTPRequest] = []

    def handler(request: HTTPRequest) -> HTTPResponse:
        seen.append(request)
        return HTTPResponse(
            200, headers={"Content-Type": "text/event-stream"}, body=[b"data: 1\n\n", b"", b"data: 2\n\n"]
        )

    mock = MockTransport(handler)
    request = HTTPRequest("POST", "http://nowhere.test/v1/chat/completions", {}, b"{}")
    response = mock.send(request, timeout=5, max_retries=0, stream=True)
    assert seen == [request] and mock.requests == [request] and response.url == request.url
    assert response.headers["content-type"] == "text/event-stream"  # names lower-cased
    assert list(response.iter_bytes()) == [b"data: 1\n\n", b"data: 2\n\n"]  # one by one
    with pytest.raises(RuntimeError):
        response.read()
    # Not streamed: the body is read before send returns, as Transport.send does.
    assert mock.send(request, timeout=5, max_retries=0).read() == b"data: 1\n\ndata: 2\n\n"


def test_mock_transport_checks_like_the_real_one() -> None:
    from openai_params import MockTransport

    mock = MockTransport(lambda request: HTTPResponse(204))
    request = HTTPRequest("GET", "http://nowhere.test/v1/models")
    with pytest.raises(ValueError, match="timeout"):
        mock.send(request, timeout=float("inf"), max_retries=0)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(APIUserAbortError):
        mock.send(request, timeout=5, max_retries=0, cancel=cancel)
    assert mock.requests == []
    with pytest.raises(TypeError, match="must return an HTTPResponse"):
        MockTransport(lambda request: b"{}").send(request, timeout=5, max_retries=0)  # type: ignore
    with pytest.raises(TypeError, match="handler"):
        MockTransport("not a function")  # type: ignore[arg-type]
    mock.close()
    with pytest.raises(RuntimeError):
        mock.send(request, timeout=5, max_retries=0)


def test_mock_transport_handler_errors_reach_the_caller() -> None:
    from openai_params import MockTransport, OpenAI

    def refused(request: HTTPRequest) -> HTTPResponse:
        raise APIConnectionError(OpenAIError("refused", type="connection_error"))

    with OpenAI(api_key="sk-x", transport=MockTransport(refused)) as client:
        result = client.models.list()
    assert not result.success and result.errors[0].type == "connection_error"


# -- through the client: streams and connections -----------------------------------------------------
MESSAGES = [{"role": "user", "content": "hi"}]


def test_streams_read_to_done_give_their_connection_back(
    fake_server: FakeServer, client: Any, run: Runner
) -> None:
    # Issue 9.9: the stream stops at "data: [DONE]", before the terminating zero-length chunk.
    from streamdata import SSE_HEADERS, text_stream

    for _ in range(8):
        fake_server.add(200, pieces=text_stream(["a", "b"]), headers=SSE_HEADERS)
    for _ in range(8):
        with run.stream(client.chat.completions.stream(MESSAGES, model="m")) as stream:
            assert [c.text for c in stream] == ["", "a", "b", ""]
        assert stream.result().success
    assert len(fake_server.requests) == 8
    assert fake_server.connections == 1


def test_a_stream_left_mid_way_does_not_give_its_connection_back(
    fake_server: FakeServer, client: Any, run: Runner
) -> None:
    from streamdata import SSE_HEADERS, text_stream

    held = threading.Event()
    pieces = text_stream(["a", "b", "c"])
    fake_server.add(200, pieces=pieces[:2] + [held] + pieces[2:], headers=SSE_HEADERS)
    with run.stream(client.chat.completions.stream(MESSAGES, model="m")) as stream:
        assert [next(stream).text, next(stream).text] == ["", "a"]
    held.set()  # the rest comes only after the stream was closed
    assert run(client.models.list()).status == 200
    assert [r.connection for r in fake_server.requests] == [1, 2]


def test_leaving_a_stream_the_server_still_feeds_returns_at_once(
    fake_server: FakeServer, client: Any, run: Runner
) -> None:
    # A caller breaks out while tokens keep coming every few milliseconds: close() may read
    # what is already there, but only for a short while in all, never the whole rest.
    from streamdata import SSE_HEADERS, text_stream

    fake_server.add(200, pieces=text_stream(["token"] * 5000), headers=SSE_HEADERS, pace=0.005)
    stream = run.stream(client.chat.completions.stream(MESSAGES, model="m"))
    assert [next(stream).text, next(stream).text] == ["", "token"]
    started = time.monotonic()
    stream.close()
    assert time.monotonic() - started < 0.5  # the old per-read bound took about 1.5 s here
    assert not stream.result().success


def test_a_stream_answered_insufficient_quota_is_sent_once(
    fake_server: FakeServer, client: Any, run: Runner
) -> None:
    # Issue 9.18c: the 429's body must be read before the retry decision.
    fake_server.add(
        429,
        json=error_body(
            message="You exceeded your current quota", type="insufficient_quota", code="insufficient_quota"
        ),
    )
    fake_server.add(200)
    stream = run.stream(client.chat.completions.stream(MESSAGES, model="m", max_retries=2))
    final = stream.result()
    assert not final.success and final.status == 429
    assert final.errors[0].code == "insufficient_quota"
    assert len(fake_server.requests) == 1


@pytest.mark.parametrize("coding", ["gzip", "br", "deflate, gzip"])
def test_a_compressed_body_is_an_unsupported_encoding_not_bad_utf8(
    fake_server: FakeServer, client: Any, coding: str, run: Runner
) -> None:
    # Issue 9.11: the client asks for Accept-Encoding: identity; a server that compresses anyway.
    import gzip

    from streamdata import SSE_HEADERS, completion, text_stream

    body = gzip.compress(b'{"id": "x"}')
    fake_server.add(200, body, headers={"Content-Type": "application/json", "Content-Encoding": coding})
    fake_server.add(
        200,
        pieces=[gzip.compress(b"".join(text_stream(["a"])))],
        headers=dict(SSE_HEADERS, **{"Content-Encoding": coding}),
    )
    result = run(client.chat.completions.create(MESSAGES, model="m"))
    stream = run.stream(client.chat.completions.stream(MESSAGES, model="m"))
    final = stream.result()
    for failed in (result, final):
        assert not failed.success and failed.status == 200
        message = failed.errors[0].message
        assert "unsupported content encoding %r" % coding in message, message
        assert "UTF-8" not in message
    assert result.errors[0].type == "invalid_response"
    assert fake_server.requests[0].headers["accept-encoding"] == "identity"
    assert completion  # the helpers module is the one the other stream tests use


def test_making_a_client_loads_no_network_module(fake_server: FakeServer) -> None:
    # Issue 9.17: OpenAI() alone loads no ssl, http.client, email or urllib.request (the proxy
    # environment is read at the first request); the first request does load them.
    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys\n"
        "from openai_params import OpenAI\n"
        "names = ('ssl', 'http.client', 'email', 'urllib.request')\n"
        "client = OpenAI(api_key='sk-x', base_url=sys.argv[1])\n"
        "print(sorted(m for m in names if m in sys.modules))\n"
        "client.models.list()\n"
        "print(sorted(m for m in names if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, fake_server.url + "/v1"],
        cwd=str(root),
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        env={"PATH": "", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "*"},
    ).stdout
    before, after = out.split("\n")[:2]
    assert before == "[]"
    assert "http.client" in after and "urllib.request" in after
    assert len(fake_server.requests) == 1  # NO_PROXY=* read at the first request: direct


def test_no_function_of_the_transport_is_longer_than_50_lines() -> None:
    import ast

    root = Path(__file__).resolve().parent.parent / "openai_params"
    for name in ("transport.py", "_connections.py"):
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = getattr(node, "end_lineno", node.lineno) - node.lineno + 1
                assert length <= 50, "%s: %s has %d lines" % (name, node.name, length)


def test_a_stream_closed_between_two_pieces_reads_nothing_more(
    fake_server: FakeServer, transport: Transport, run: Runner
) -> None:
    fake_server.add(200, pieces=[b"a", b"b", b"c"])
    response = transport.send(post(fake_server), timeout=5, max_retries=0, stream=True)
    pieces = response.iter_bytes()
    first = next(pieces)  # what has arrived: "a", or more of it when the pieces came together
    assert first and b"abc".startswith(first)
    response.close()  # the rest is small and already there: the connection goes back
    assert list(pieces) == []  # and the iterator no longer reads from it
    fake_server.add(200, json={"n": 2})
    assert transport.send(post(fake_server), timeout=5, max_retries=0).read() == b'{"n": 2}'
    assert [r.connection for r in fake_server.requests] == [1, 1]


def test_abort_stops_a_given_body_between_two_pieces() -> None:
    response = HTTPResponse(200, body=[b"a", b"b", b"c"])
    pieces = response.iter_bytes()
    assert next(pieces) == b"a"
    response.abort()
    with pytest.raises(APIUserAbortError):
        next(pieces)
