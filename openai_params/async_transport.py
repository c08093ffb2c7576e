"""The asyncio transport: what :class:`~openai_params.AsyncOpenAI` sends requests with.

It does what :mod:`.transport` does, on the event loop instead of blocking
sockets, and shares everything but the waiting with it: the routes, proxies and
TLS settings (:class:`._connections._Connector`), the retry loop and its
decisions (:class:`.transport._Call`, :mod:`.retry`), the error mapping
(:class:`._errormap._ErrorMap`) and the response object
(:class:`._http.HTTPResponse`). Responses are read by the sans-I/O reader of
:mod:`._h1`. Its meaning, point by point:

* **Connections** are ``loop.create_connection`` with this module's protocol
  (:class:`_Connection`: bytes go straight into the response reader), TLS from
  the standard ``ssl`` module, always verified. HTTPS through a proxy is a
  ``CONNECT`` tunnel, then ``loop.start_tls`` on it.
* **A keep-alive pool per event loop**: a client used from two loops never
  shares a socket between them. A pooled connection that the server closed, or
  that received bytes nobody asked for while idle, is not reused.
* **Timeouts** as in the synchronous transport: ``timeout`` bounds the connect
  (and the tunnel, and the TLS handshake) and every single wait for bytes.
* **Retries** with ``asyncio.sleep`` between attempts and the same decisions.
* **Redirects are never followed.**
* **Cancellation is asyncio's**: cancelling the task closes the connection of
  the attempt in flight at once (it never goes back to the pool) and the
  ``CancelledError`` reaches the caller; the transport stays usable.

A streamed body is read as the synchronous code above it asks for bytes: its
:class:`HTTPResponse` yields ``b""`` when nothing has arrived yet, and whoever
drives it (:mod:`.async_client`) then awaits :func:`fetch` and resumes.
"""

import asyncio
import threading
import time
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any, Awaitable, Deque, Dict, Iterator, Optional, Tuple, TypeVar, Union

from ._cancel import _never, _nothing
from ._connections import _Pool, _PoolKey, _ReadCheck, _Route
from ._errormap import _ErrorMap
from ._h1 import NEED_DATA, BodyEnd, Event, ProtocolError, ResponseHead, ResponseReader, connect_head
from ._http import _DRAIN_LIMIT, _DRAIN_WAIT, READING, UNREAD, HTTPRequest, HTTPResponse, _Source
from .errors import APIConnectionError
from .retry import RetryPolicy
from .transport import _CONNECTING, _READING, _SENDING, _WAITING, _Call, _Failed, _TransportBase

if TYPE_CHECKING:
    import ssl

    from .transport import Transport

__all__ = ["AsyncTransport", "fetch", "read_body", "close_body", "settle"]

T = TypeVar("T")

# Reading pauses when this much has arrived and not been read yet (a slow consumer of a
# fast stream must not buffer the whole body), and resumes below it.
_HIGH_WATER = 16384
_READ_SIZE = 16384


class _Connection(asyncio.BufferedProtocol):
    """One connection: the bytes it receives go into the response reader of the request in
    flight. Waiting for them is :meth:`next_event`, bounded by a timeout.

    A buffered protocol, so that each read is at most ``_READ_SIZE`` (asyncio's own reads
    go up to 256 KiB): with reading paused above ``_HIGH_WATER``, what a connection holds
    unread stays small however many streams are open at once. The buffer it reads into is
    its event loop's (``read_buffer``): asyncio fills it and calls :meth:`buffer_updated`,
    which copies the bytes out, before any other read on that loop can begin.

    It belongs to one pool (of its loop), under one key (its route's), for its whole life."""

    def __init__(self, loop: asyncio.AbstractEventLoop, pool: "_LoopPool", key: _PoolKey) -> None:
        self._loop = loop
        self.key = key
        self._read_buffer = pool.read_buffer
        self.transport: Optional[asyncio.Transport] = None
        self._read_check: Optional[_ReadCheck] = None  # asked before each reuse (usable())
        self.reader: Optional[ResponseReader] = None
        self._waiter: Optional[asyncio.Future[None]] = None
        self._deadline = 0.0  # when the wait in progress times out (loop.time())
        self._timer: Optional[asyncio.TimerHandle] = None
        self._error: Optional[BaseException] = None  # how the connection was lost, if not cleanly
        self._eof = False
        self._unasked = False  # bytes arrived while no request was in flight
        self._reading_paused = False
        self._writing_paused = False

    # -- asyncio.Protocol ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - asyncio's contract
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:  # (the TLS of a tunnel runs on this socket too)
            self._read_check = _ReadCheck(sock)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        reader = self.reader
        if reader is None:
            self._unasked = True
            return
        reader.feed(self._read_buffer[:nbytes])  # the reader copies what it keeps
        if not self._reading_paused and reader._available() > _HIGH_WATER and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._ended(None)
        return False  # let the transport close itself

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self._ended(exc)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake()

    def _ended(self, exc: Optional[BaseException]) -> None:
        if self._eof:
            return
        self._eof = True
        if exc is not None:
            self._error = exc
        elif self.reader is not None:
            self.reader.feed(b"")
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():  # not cancelled
                waiter.set_result(None)

    # -- used by the transport ----------------------------------------------------------------
    def usable(self) -> bool:
        """Idle and still open: the server has not closed it nor sent anything since."""
        if self._unasked or not self.is_open():
            return False
        # The loop may not have run since the server closed it: ask the socket itself.
        return self._read_check is None or self._read_check.nothing_to_read()

    def is_open(self) -> bool:
        """Not closed by either side, as far as the event loop knows."""
        transport = self.transport
        return not (self._eof or transport is None or transport.is_closing())

    async def write(self, data: bytes, timeout: float) -> None:
        """Hand ``data`` to the transport; while its buffer is full, wait until it takes more
        (each wait at most ``timeout``), as asyncio streams' ``write()`` and ``drain()``."""
        transport = self.transport
        if transport is None or self._eof:
            raise ConnectionResetError("the connection was closed before the request was sent")
        transport.write(data)
        while self._writing_paused and not self._eof:
            await self.wait(timeout)
        if self._error is not None:
            raise self._error

    def poll(self) -> Event:
        """The reader's next event from the bytes already received, or ``NEED_DATA`` (then
        :meth:`wait`); raises how the connection was lost, once it has nothing more."""
        reader = self.reader
        assert reader is not None  # noqa: S101 - set before the request is sent
        event = reader.next_event()
        if event is NEED_DATA:
            if self._error is not None:
                raise self._error
            if self._reading_paused and self.transport is not None:
                self._reading_paused = False
                self.transport.resume_reading()
        return event

    async def next_event(self, timeout: float) -> Event:
        """The reader's next event, waiting at most ``timeout`` for each arrival of bytes."""
        event = self.poll()
        while event is NEED_DATA:
            await self.wait(timeout)
            event = self.poll()
        return event

    def wait(self, timeout: float) -> "asyncio.Future[None]":
        """A future to await: done when bytes arrive (or the connection ends), failed with
        ``TimeoutError`` after ``timeout`` seconds (0: no limit).

        One timer per connection, moved lazily: a wait sets the deadline; the timer, when
        it fires, ends the wait in progress if its deadline has come, or sets itself again
        for the later deadline of a newer wait. (A timer made and cancelled for every wait
        would cost more than the wait, thousands of times a stream.)"""
        loop = self._loop
        waiter = self._waiter = loop.create_future()
        if timeout:
            self._deadline = deadline = loop.time() + timeout
            timer = self._timer
            if timer is None or timer.when() > deadline:
                if timer is not None:
                    timer.cancel()
                self._timer = loop.call_at(deadline, self._time_is_up)
        else:
            self._deadline = 0.0
        return waiter

    def _time_is_up(self) -> None:
        timer, self._timer = self._timer, None
        waiter, deadline = self._waiter, self._deadline
        if waiter is None or waiter.done() or not deadline or timer is None:
            return
        if deadline > timer.when():  # a newer wait, with a later deadline
            self._timer = self._loop.call_at(deadline, self._time_is_up)
        else:
            self._waiter = None
            waiter.set_exception(TimeoutError("timed out"))

    def close(self) -> None:
        """Close at once (``abort``: nothing more is sent, nothing waits)."""
        self._eof = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        transport = self.transport
        if transport is not None:
            try:
                transport.abort()
            except RuntimeError:
                # Its event loop is closed (a client kept across asyncio.run calls): the
                # socket is released when the transport is collected.
                pass
        self._wake()


async def _within(awaitable: Awaitable[T], timeout: float) -> T:
    """``awaitable`` bounded by ``timeout``; the builtin TimeoutError when it runs out (on
    Python < 3.11 asyncio's is another class, which the error map would not read as one)."""
    try:
        return await asyncio.wait_for(awaitable, timeout or None)
    except asyncio.TimeoutError:
        raise TimeoutError("timed out") from None


# -- the pools ----------------------------------------------------------------------------------------
class _LoopPool(_Pool[_Connection]):
    """The idle connections of one event loop, and the buffer all of them read into (see
    :class:`_Connection`)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.read_buffer = memoryview(bytearray(_READ_SIZE))


# -- the transport ------------------------------------------------------------------------------------
class AsyncTransport(_TransportBase):
    """Sends :class:`HTTPRequest` objects on the running event loop; see the module docstring.

    Takes the arguments of :class:`~openai_params.transport.Transport`; ``pool_size`` (idle
    connections kept per host and event loop) is 100 by default. ``await send(...)``
    returns an :class:`HTTPResponse`; ``close()`` (or ``await aclose()``) closes the idle
    connections of every loop.
    """

    def __init__(
        self,
        *,
        ssl_context: "Optional[ssl.SSLContext]" = None,
        ca_bundle: Optional[str] = None,
        proxies: Optional[Dict[str, str]] = None,
        retry_policy: Optional[RetryPolicy] = None,
        pool_size: int = 100,
    ) -> None:
        super().__init__(ssl_context, ca_bundle, proxies, retry_policy, pool_size)
        self._pool_size = pool_size
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPool] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    @classmethod
    def sharing(cls, transport: "Transport") -> "AsyncTransport":
        """An asyncio transport with the routes, proxies, TLS settings and retry policy of a
        synchronous one (not its connections, nor its pool size: a loop runs many more
        calls at once than a few worker threads)."""
        made = cls(retry_policy=transport.retry_policy)
        made._connector = transport._connector
        return made

    def close(self) -> None:
        """Refuse new requests and close the idle connections (of every loop)."""
        self._closed = True
        with self._lock:
            pools = list(self._pools.items())
            self._pools.clear()
        try:
            running: Optional[asyncio.AbstractEventLoop] = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for loop, pool in pools:
            if loop is running or loop.is_closed() or not loop.is_running():
                pool.close()
            else:
                loop.call_soon_threadsafe(pool.close)

    async def aclose(self) -> None:
        self.close()

    def _pool(self) -> _LoopPool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            with self._lock:
                pool = self._pools.setdefault(loop, _LoopPool(self._pool_size))
        return pool

    # -- sending -----------------------------------------------------------------------------
    async def send(
        self, request: HTTPRequest, *, timeout: float, max_retries: int, stream: bool = False
    ) -> HTTPResponse:
        """As :meth:`Transport.send <openai_params.transport.Transport.send>`, awaited. A
        streamed 2xx comes back as soon as its head is in; read its body with
        :func:`fetch` (or :func:`read_body` for all of it)."""
        call = _Call(self, request, timeout, max_retries, stream)
        while True:
            call.begin()
            try:
                outcome = await self._attempt(call)
            except asyncio.CancelledError:
                call.cancelled()
                raise
            delay = call.after(outcome)
            if delay is None:
                return call.final(outcome)
            if delay > 0:
                await asyncio.sleep(delay)

    async def _attempt(self, call: _Call) -> Union[HTTPResponse, _Failed]:
        request, route, timeout = call.request, call.route, call.timeout
        pool = self._pool()
        conn = None if call.fresh else pool.take(route.key)
        reused = conn is not None
        errors = _ErrorMap(_CONNECTING, route.where, timeout, _never)
        try:
            with errors:
                if conn is None:
                    conn = await self._open(route, timeout, pool)
                errors.what = _SENDING
                conn.reader = ResponseReader(request.method)
                await conn.write(call.data, timeout)
                for piece in call.pieces:
                    await conn.write(piece, timeout)
                errors.what = _WAITING
                head = await conn.next_event(timeout)
        except APIConnectionError as exc:  # APITimeoutError too
            if conn is not None:
                conn.close()
            return _Failed(exc, written=errors.what == _WAITING, reused=reused)
        except BaseException:  # a cancel: the connection is closed at once, never pooled
            if conn is not None:
                conn.close()
            raise
        assert isinstance(head, ResponseHead)  # noqa: S101 - the reader's first event
        response = HTTPResponse(head.status, head.reason, None, request.url)
        response.headers = head.joined()  # lower-case names already
        errors.what = _READING
        response._attach(_AsyncBody(conn, errors, timeout), pool.release, _nothing)
        if call.stream and 200 <= head.status < 300:
            return response
        try:
            await read_body(response)
            response._buffer()
        except APIConnectionError as exc:
            return _Failed(exc, written=True, reused=reused, answered=True)
        except BaseException:
            conn.close()
            raise
        return response

    async def _open(self, route: _Route, timeout: float, pool: _LoopPool) -> _Connection:
        loop = asyncio.get_running_loop()
        conn = _Connection(loop, pool, route.key)
        tls = self._connector._ssl() if route.scheme == "https" else None
        proxy = route.proxy
        try:
            if proxy is None:
                await _within(
                    loop.create_connection(
                        lambda: conn,
                        route.host,
                        route.port,
                        ssl=tls,
                        server_hostname=route.host if tls else None,
                    ),
                    timeout,
                )
            else:
                await _within(loop.create_connection(lambda: conn, proxy.host, proxy.port), timeout)
                if tls is not None:  # (plain HTTP: absolute-form requests to the proxy)
                    await _tunnel(conn, route, timeout)
                    assert conn.transport is not None  # noqa: S101
                    tunnelled = await _within(
                        loop.start_tls(conn.transport, conn, tls, server_hostname=route.host), timeout
                    )
                    if tunnelled is None:
                        raise ConnectionResetError("the proxy closed the tunnel during the TLS handshake")
                    conn.transport = tunnelled
        except BaseException:
            conn.close()
            raise
        return conn


async def _tunnel(conn: _Connection, route: _Route, timeout: float) -> None:
    """RFC 9110, 9.3.6: ``CONNECT host:port``; a 200 turns the connection into a tunnel."""
    proxy = route.proxy
    assert proxy is not None  # noqa: S101
    reader = conn.reader = ResponseReader("CONNECT")
    await conn.write(connect_head(route.host, route.port, proxy.authorization), timeout)
    await conn.next_event(timeout)  # the head
    reader.check_tunnel()
    conn.reader = None


# -- bodies -------------------------------------------------------------------------------------------
class _AsyncBody(_Source):
    """A body still on its connection, read by awaiting :meth:`fetch`; :meth:`pieces` (the
    synchronous side) yields what has arrived, ``b""`` when it needs the next fetch."""

    def __init__(self, conn: _Connection, errors: _ErrorMap, timeout: float) -> None:
        self._conn = conn
        self._errors = errors
        self._timeout = timeout
        self._pending: Deque[bytes] = deque()
        self._failure: Optional[APIConnectionError] = None
        self.ended = False
        self.settled = False  # close() must not defer the connection to settle() any more
        self._deferred = False  # close() left the connection for settle()

    def pieces(self) -> Iterator[bytes]:
        pending = self._pending
        while True:
            while pending:
                yield pending.popleft()
            if self._failure is not None:
                raise self._failure
            if self.ended:
                return
            yield b""

    async def fetch(self) -> None:
        """Take the bytes of the body that have arrived (and its end, if it came), first
        waiting for some if none has; a failure is raised by :meth:`pieces`, where the
        synchronous reader handles it."""
        if self.ended or self._failure is not None:
            return
        conn = self._conn
        try:
            with self._errors:
                event = conn.poll()
                while event is NEED_DATA:
                    await conn.wait(self._timeout)
                    event = conn.poll()
                while event is not NEED_DATA:
                    if isinstance(event, BodyEnd):
                        self.ended = True
                        return
                    assert isinstance(event, bytes)  # noqa: S101 - the reader's body events
                    self._pending.append(event)
                    event = conn.poll()
        except APIConnectionError as exc:
            self._failure = exc

    def drain(self) -> bool:
        """Closing without awaiting (the synchronous reader closes the response the moment it
        has read ``data: [DONE]``): take what has arrived already; if the body has not ended,
        leave the connection to :func:`settle`, which awaits the rest a little."""
        if not (self.ended or self._failure is not None or self.settled):
            self._take_arrived()
            if not self.ended and self._conn.is_open():
                self._deferred = True
                return True
        return self.ended

    def _take_arrived(self) -> None:
        reader = self._conn.reader
        left = _DRAIN_LIMIT
        try:
            while reader is not None and left > 0:
                event = reader.next_event()
                if isinstance(event, bytes):
                    left -= len(event)
                elif isinstance(event, BodyEnd):
                    self.ended = True
                    return
                else:
                    return
        except ProtocolError:
            return

    async def adrain(self) -> bool:
        """Read what is left if it is small and comes at once (as the synchronous transport's
        drain does); True if that reached the end of the body."""
        left = _DRAIN_LIMIT
        deadline = time.monotonic() + _DRAIN_WAIT
        try:
            while not self.ended and self._failure is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or left <= 0:
                    return False
                event = await self._conn.next_event(remaining)
                if isinstance(event, bytes):
                    left -= len(event)
                elif isinstance(event, BodyEnd):
                    self.ended = True
        except (OSError, ProtocolError):
            return False
        self._pending.clear()
        return self.ended

    def abort(self) -> None:
        self._conn.close()

    def finish(self) -> Tuple[Any, bool]:
        if self._deferred:
            return None, False  # settle() releases it
        return self._conn, self._reusable()

    def _reusable(self) -> bool:
        reader = self._conn.reader
        return self.ended and reader is not None and reader.reusable


async def fetch(response: HTTPResponse) -> None:
    """Await the next bytes of a body from :class:`AsyncTransport` (nothing for any other)."""
    source = response._source
    if isinstance(source, _AsyncBody):
        await source.fetch()


async def read_body(response: HTTPResponse) -> None:
    """Await the rest of a body from :class:`AsyncTransport`; then ``read()`` has it all."""
    source = response._source
    if isinstance(source, _AsyncBody):
        while not source.ended and source._failure is None:
            await source.fetch()


async def close_body(response: HTTPResponse) -> None:
    """Close ``response``; first read the rest of its body if that is small and comes at
    once, so that the connection goes back to the pool (a stream the caller leaves after
    ``[DONE]``, one read before the chunked body's end)."""
    source = response._source
    if isinstance(source, _AsyncBody):
        if not source.ended and response._state in (UNREAD, READING):
            await source.adrain()
        source.settled = True
    response.close()
    await settle(response)


async def settle(response: HTTPResponse) -> None:
    """Release the connection that closing ``response`` left for an awaited drain."""
    source = response._source
    if isinstance(source, _AsyncBody) and source._deferred:
        source._deferred = False
        source.settled = True
        await source.adrain()
        response._release(source._conn, source._reusable())
