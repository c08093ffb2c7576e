"""One test body, both clients: the ``run`` fixture runs a test once with ``OpenAI`` and once
with ``AsyncOpenAI``.

A converted test reads as a test of the synchronous client, with each call wrapped::

    def test_a_call(client, run, fake_server):
        result = run(client.chat.completions.create(MESSAGES, model="m"))
        stream = run.stream(client.chat.completions.stream(MESSAGES, model="m"))
        texts = [chunk.text for chunk in stream]

With ``OpenAI`` (``run.kind == "sync"``) ``run(x)`` is ``x`` (a call with callbacks gives a
handle: its result is waited for) and ``run.stream(s)`` is ``s``. With ``AsyncOpenAI``,
``run(x)`` awaits ``x`` on the test's own event loop (one per test, closed after it, so a
client keeps its pooled connections from one call to the next) and ``run.stream(s)`` opens
the asynchronous stream and gives a blocking view of it: ``with``, ``for``, ``next()``,
``close()`` and ``result()`` each await the matching asynchronous method. The awaiting is
the only difference; everything a test asserts is the same for both.

A test whose behaviour differs on purpose does not ask for ``run`` (or is narrowed with
``@sync_only("why")``), with a line that says why.

``run`` is a fixture of conftest.py. A test that asks for ``run`` and ``client`` gets a
``client`` of its kind (conftest.py's fake-server client); ``run.OpenAI(...)`` makes another
client of that kind, closed after the test. ``run.Transport(...)`` is the transport of that
kind: a ``Transport``, or an ``AsyncTransport`` seen as a blocking one (``send()`` awaited,
a streamed body's bytes awaited as ``iter_bytes()`` asks for them). ``run.cancel_when``
cancels a call in flight, each client's way.
"""

import asyncio
import contextlib
import inspect
import os
import threading
import time
from typing import Any, Callable, Iterator, List, Optional, Tuple, TypeVar

import pytest

from openai_params import AsyncOpenAI, OpenAI
from openai_params._http import HTTPRequest, HTTPResponse
from openai_params.async_client import AsyncChatCompletionStream
from openai_params.async_transport import AsyncTransport, close_body, fetch, read_body
from openai_params.background import CallHandle
from openai_params.transport import Transport

T = TypeVar("T")
KINDS = ("sync", "async")


class Runner:
    """The few lines where using the two clients differs; see the module docstring."""

    def __init__(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError("kind must be one of %s (got %r)" % (", ".join(KINDS), kind))
        self.kind = kind
        self.is_async = kind == "async"
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._made: List[Any] = []  # clients and transports, closed after the test

    def __repr__(self) -> str:
        return "<Runner %s>" % self.kind

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The test's event loop (made on first use)."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop

    def __call__(self, value: Any) -> Any:
        """A call's outcome: ``value`` awaited if it is awaitable, a handle's result waited for."""
        if inspect.isawaitable(value):
            return self.loop.run_until_complete(_awaited(value))
        if isinstance(value, CallHandle):  # create() with callbacks, on OpenAI
            return value.result(timeout=30)
        return value

    def stream(self, stream: Any) -> Any:
        """``stream`` as a synchronous stream (see the module docstring). A client's
        asynchronous stream is opened here, as ``OpenAI``'s ``stream()`` sends its request at
        once (``AsyncOpenAI``'s sends it when the stream is entered or first iterated); a chat
        helper's starts when it is first read, in both forms."""
        if not self.is_async:
            return stream
        if isinstance(stream, AsyncChatCompletionStream):
            self(stream.__aenter__())
        return _Blocking(self, stream)

    def cancel_when(self, start: Callable[[], Any], ready: threading.Event) -> Tuple[float, Any]:
        """Start a call, cancel it once ``ready`` is set (by the fake server, a callback or a
        log record, from any thread), and wait for its end; returns the seconds from the
        cancel to the end, and the outcome. ``start()`` makes a call with a callback, so that
        ``OpenAI`` gives a handle: its ``cancel()`` ends the call, and the outcome is its
        result. ``AsyncOpenAI``'s call runs as a task: ``task.cancel()`` ends it, and the
        outcome is the ``CancelledError`` it raised (asyncio's way)."""
        if not self.is_async:
            handle = start()
            if not ready.wait(10):
                raise AssertionError("the call never reached the point where it is cancelled")
            cancelled = time.monotonic()
            handle.cancel()
            outcome = handle.result(timeout=10)
            return time.monotonic() - cancelled, outcome

        async def cancelled_task() -> Tuple[float, Any]:
            task = asyncio.ensure_future(start())
            if not await asyncio.get_running_loop().run_in_executor(None, ready.wait, 10):
                raise AssertionError("the call never reached the point where it is cancelled")
            cancelled = time.monotonic()
            task.cancel()
            try:
                outcome = await task
            except asyncio.CancelledError as exc:
                outcome = exc
            return time.monotonic() - cancelled, outcome

        ended: Tuple[float, Any] = self(cancelled_task())
        return ended

    def sockets_become(self, port: int, expected: int) -> Optional[int]:
        """The count of this process's sockets to ``port`` (:func:`sockets_to`) once it is
        ``expected``, or after 5 s what it is then. The loop runs meanwhile: a socket that
        asyncio closes is released by a callback of the loop."""
        deadline = time.monotonic() + 5
        count = sockets_to(port)
        while count is not None and count != expected and time.monotonic() < deadline:
            if self.is_async:
                self(asyncio.sleep(0.01))
            else:
                time.sleep(0.01)  # polling /proc for a close another thread makes
            count = sockets_to(port)
        return count

    def OpenAI(self, **settings: Any) -> OpenAI:  # noqa: N802 - it stands for the class
        """A client of this runner's kind, closed after the test."""
        made = (AsyncOpenAI if self.is_async else OpenAI)(**settings)
        self._made.append(made)
        return made

    def Transport(self, **settings: Any) -> Any:  # noqa: N802 - it stands for the class
        """A ``Transport``, or a blocking view of an ``AsyncTransport`` (:class:`_BlockingTransport`),
        with ``settings``; closed after the test."""
        if not self.is_async:
            made: Any = Transport(**settings)
        else:
            made = _BlockingTransport(self, AsyncTransport(**settings))
        self._made.append(made)
        return made

    def close(self) -> None:
        for made in self._made:
            made.close()
        loop = self._loop
        if loop is not None:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


async def _awaited(value: Any) -> Any:
    return await value


class _Blocking:
    """An :class:`AsyncChatCompletionStream` (or a chat helper's asynchronous stream) used
    the way a synchronous stream is: each step awaited on the runner's loop."""

    def __init__(self, run: Runner, stream: Any) -> None:
        self._run = run
        self._stream = stream

    def __enter__(self) -> "_Blocking":
        self._run(self._stream.__aenter__())
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._run(self._stream.__aexit__(*exc_info))

    def __iter__(self) -> "_Blocking":
        return self

    def __next__(self) -> Any:
        try:
            return self._run(self._stream.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        self._run(self._stream.aclose())

    def result(self) -> Any:
        return self._run(self._stream.result())

    def __getattr__(self, name: str) -> Any:  # status, headers, errors, abort, ...
        return getattr(self._stream, name)


class _BlockingTransport:
    """An :class:`AsyncTransport` used the way a :class:`Transport` is: ``send()`` awaited on the
    runner's loop, and its response a :class:`_BlockingResponse`. ``cancel`` may only be an
    event that records the waits asked of it (a ``waits`` list, never set): the waits before
    retries are recorded there instead of slept, as a synchronous transport records them."""

    def __init__(self, run: Runner, transport: AsyncTransport) -> None:
        self._run = run
        self.transport = transport

    def send(self, request: HTTPRequest, *, cancel: Any = None, **options: Any) -> "_BlockingResponse":
        waits = getattr(cancel, "waits", None)
        if cancel is not None and waits is None:
            raise ValueError("an AsyncTransport takes no cancel event: its calls are cancelled as tasks")
        with _sleeps_recorded(waits):
            response = self._run(self.transport.send(request, **options))
        return _BlockingResponse(self._run, response)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> "_BlockingTransport":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class _BlockingResponse:
    """A response of :class:`AsyncTransport` read the way one of :class:`Transport` is: where
    its body has nothing yet, the next bytes are awaited (:func:`fetch`)."""

    def __init__(self, run: Runner, response: HTTPResponse) -> None:
        self._run = run
        self._response = response

    def iter_bytes(self) -> Iterator[bytes]:
        for piece in self._response.iter_bytes():
            if piece:
                yield piece
            else:
                self._run(fetch(self._response))

    def read(self) -> bytes:
        self._run(read_body(self._response))
        return self._response.read()

    def close(self) -> None:
        self._run(close_body(self._response))

    def __getattr__(self, name: str) -> Any:  # status, headers, attempts, retry_decision, abort, ...
        return getattr(self._response, name)


class _RecordingAsyncio:
    """The ``asyncio`` module as :mod:`.async_transport` sees it while :func:`_sleeps_recorded`
    lasts: ``sleep(delay)`` records ``delay`` and does not wait."""

    def __init__(self, waits: List[float]) -> None:
        self._waits = waits

    async def sleep(self, delay: float, result: Any = None) -> Any:
        self._waits.append(delay)
        return await asyncio.sleep(0, result)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


@contextlib.contextmanager
def _sleeps_recorded(waits: Optional[List[float]]) -> Iterator[None]:
    if waits is None:
        yield
        return
    from openai_params import async_transport

    async_transport.asyncio = _RecordingAsyncio(waits)  # type: ignore[assignment]
    try:
        yield
    finally:
        async_transport.asyncio = asyncio


@pytest.fixture(params=KINDS)
def run(request: pytest.FixtureRequest) -> Iterator[Runner]:
    """The test runs once per client: ``OpenAI`` ("sync") and ``AsyncOpenAI`` ("async")."""
    made = Runner(request.param)
    try:
        yield made
    finally:
        made.close()


def sync_only(reason: str) -> Callable[[T], T]:
    """Run a test with ``OpenAI`` only; ``reason`` says why the asynchronous client differs."""
    if not reason:
        raise ValueError("sync_only needs a reason")
    mark: Callable[[T], T] = pytest.mark.parametrize("run", ["sync"], indirect=True)
    return mark


def sockets_to(port: int) -> Optional[int]:
    """How many of this process's open descriptors are TCP sockets connected to ``port`` on
    127.0.0.1 (the client's ends; the server's are on its own port), from ``/proc``; None
    where there is no ``/proc`` (the tests then check the rest)."""
    try:
        inodes = set()
        for fd in os.listdir("/proc/self/fd"):
            try:
                link = os.readlink("/proc/self/fd/" + fd)
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        with open("/proc/net/tcp") as table:
            rows = [line.split() for line in table.readlines()[1:]]
    except OSError:
        return None
    # Columns: sl local_address rem_address st ... inode (the 10th); addresses in hex.
    return sum(1 for row in rows if int(row[2].split(":")[1], 16) == port and row[9] in inodes)
