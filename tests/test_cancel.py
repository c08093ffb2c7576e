"""Cancelling a call in each phase, on both clients: while connecting, while waiting for the
status line, mid-stream, during a retry wait. Each cancel ends the call promptly, leaves no
socket open (the process's descriptors are counted, from /proc), and the next call on the
same client works.

``OpenAI`` cancels a call through its handle (``create()`` with a callback), ``AsyncOpenAI``
by cancelling the task that awaits it (``Runner.cancel_when`` in both_clients.py). The
outcome is each client's own: the handle's result is a ``cancelled`` one, the task raises
``CancelledError``; in both, the ending callbacks get the cancelled result, once.
"""

import asyncio
import logging
import socket
import threading
from typing import Any, Iterator, List, Optional

import pytest

from both_clients import Runner, sockets_to
from fakeserver import FakeServer, RecordedRequest, Reply
from openai_params import OpenAI, OpenAIChatCompletionResult
from streamdata import SSE_HEADERS, completion, text_stream

MESSAGES = [{"role": "user", "content": "Hi"}]
PROMPTLY = 1.0  # seconds from the cancel to the end of the call


class Ended:
    """The ending callbacks of one call: what they got, in order."""

    def __init__(self) -> None:
        self.calls: List[str] = []
        self.results: List[Any] = []

    def callbacks(self) -> Any:
        return dict(on_error=self._record("error"), on_terminate=self._record("terminate"))

    def _record(self, name: str) -> Any:
        def callback(result: Any) -> None:
            self.calls.append(name)
            self.results.append(result)

        return callback


def cancelled(run: Runner, outcome: Any, ended: Ended) -> OpenAIChatCompletionResult:
    """The cancelled result the ending callbacks got, checked against the call's outcome."""
    assert ended.calls == ["error", "terminate"], ended.calls
    final = ended.results[0]
    assert ended.results == [final, final]
    if run.is_async:
        assert isinstance(outcome, asyncio.CancelledError), outcome
    else:
        assert outcome is final
    assert [e.type for e in final.errors] == ["cancelled"], final.errors
    assert final.terminated and not final.success
    return final


class SilentListener:
    """Accepts connections and never says a word: a TLS handshake to it waits for ever."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self.during: Optional[int] = None  # the client's sockets to it, once one was accepted
        self.conns: List[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        self.conns.append(conn)
        self.during = sockets_to(self.port)
        self.accepted.set()

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture
def silent() -> Iterator[SilentListener]:
    listener = SilentListener()
    try:
        yield listener
    finally:
        listener.close()


def test_cancel_while_connecting(
    client: OpenAI,
    run: Runner,
    fake_server: FakeServer,
    silent: SilentListener,
) -> None:
    ended = Ended()
    client.base_url = "https://127.0.0.1:%d/v1" % silent.port
    took, outcome = run.cancel_when(
        lambda: client.chat.completions.create(MESSAGES, model="m", timeout=2, **ended.callbacks()),
        silent.accepted,
    )
    assert took < PROMPTLY
    cancelled(run, outcome, ended)
    assert silent.during in (1, None)
    assert run.sockets_become(silent.port, 0) in (0, None)  # the half-made connection is closed
    client.base_url = fake_server.url + "/v1"
    fake_server.add(200, json=completion("next"))
    assert run(client.chat.completions.create(MESSAGES, model="m")).text == "next"


def arrival(port: int, reply: Reply) -> Any:
    """A reply that, when its request arrives, counts the client's sockets and says so."""

    def answer(request: RecordedRequest) -> Reply:
        answer.during = sockets_to(port)  # type: ignore[attr-defined]
        answer.arrived.set()  # type: ignore[attr-defined]
        return reply

    answer.arrived = threading.Event()  # type: ignore[attr-defined]
    answer.during = None  # type: ignore[attr-defined]
    return answer


def test_cancel_while_waiting_for_the_status_line(
    client: OpenAI, run: Runner, fake_server: FakeServer
) -> None:
    release = threading.Event()
    held = arrival(fake_server.port, Reply(200, hang=True, release=release, json=completion("late")))
    fake_server.add(held)
    fake_server.add(200, json=completion("next"))
    ended = Ended()
    try:
        took, outcome = run.cancel_when(
            lambda: client.chat.completions.create(MESSAGES, model="m", **ended.callbacks()), held.arrived
        )
        assert took < PROMPTLY
        cancelled(run, outcome, ended)
        assert held.during in (1, None)
        assert run.sockets_become(fake_server.port, 0) in (0, None)
    finally:
        release.set()
    assert run(client.chat.completions.create(MESSAGES, model="m")).text == "next"
    assert fake_server.connections == 2  # the cancelled call's connection was closed, not pooled


def test_cancel_mid_stream(client: OpenAI, run: Runner, fake_server: FakeServer) -> None:
    hold = threading.Event()
    pieces = text_stream(["one", "two"])
    fake_server.add(200, headers=SSE_HEADERS, pieces=pieces[:2] + [hold] + pieces[2:])
    fake_server.add(200, json=completion("next"))
    first = threading.Event()
    seen: List[str] = []
    counts: List[Optional[int]] = []
    ended = Ended()

    def on_data(chunk: Any) -> None:
        seen.append(chunk.text)
        if chunk.text == "one":
            counts.append(sockets_to(fake_server.port))
            first.set()

    try:
        took, outcome = run.cancel_when(
            lambda: client.chat.completions.create(
                MESSAGES, model="m", stream=True, on_data=on_data, **ended.callbacks()
            ),
            first,
        )
        assert took < PROMPTLY
        final = cancelled(run, outcome, ended)
        assert [text for text in seen if text] == ["one"]  # OpenAI's last chunk says it ended
        assert final.text == "one"  # what arrived is kept
        assert counts == [1] or counts == [None]
        assert run.sockets_become(fake_server.port, 0) in (0, None)  # the stream's socket is gone
    finally:
        hold.set()
    assert run(client.chat.completions.create(MESSAGES, model="m")).text == "next"
    assert fake_server.connections == 2


@pytest.fixture
def retry_waits() -> Iterator[threading.Event]:
    """Set when the transport logs that it waits before a retry."""
    waiting = threading.Event()

    class Waiting(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "retrying in" in record.getMessage():
                waiting.set()

    handler = Waiting()
    logger = logging.getLogger("openai_params")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield waiting
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_cancel_during_a_retry_wait(
    client: OpenAI, run: Runner, fake_server: FakeServer, retry_waits: threading.Event
) -> None:
    fake_server.add(429, headers={"retry-after-ms": "30000"})
    fake_server.add(200, json=completion("next"))
    ended = Ended()
    took, outcome = run.cancel_when(
        lambda: client.chat.completions.create(MESSAGES, model="m", max_retries=1, **ended.callbacks()),
        retry_waits,
    )
    assert took < PROMPTLY
    cancelled(run, outcome, ended)
    # The 429 was read whole: its connection waits in the pool, and carries the next call.
    assert sockets_to(fake_server.port) in (1, None)
    assert run(client.chat.completions.create(MESSAGES, model="m")).text == "next"
    assert len(fake_server.requests) == 2  # the 429 was not retried after the cancel
    assert fake_server.connections == 1


def test_a_timeout_closes_its_connection(client: OpenAI, run: Runner, fake_server: FakeServer) -> None:
    release = threading.Event()
    fake_server.add(200, hang=True, release=release)
    fake_server.add(200, json=completion("next"))
    try:
        result = run(client.chat.completions.create(MESSAGES, model="m", timeout=0.2))
        assert result.errors[0].type == "timeout"
        assert run.sockets_become(fake_server.port, 0) in (0, None)
    finally:
        release.set()
    assert run(client.chat.completions.create(MESSAGES, model="m")).text == "next"
