"""One blocking HTTP/1.1 connection: a socket (TLS or not) and the reader of the response
in flight. Part of the transport.

:class:`._connections._Connector` makes a :class:`Connection`; :mod:`.transport` opens
it, writes each request (a head from :func:`._h1.request_head`) and reads the response
head; :class:`SocketBody` reads the body for :class:`._http.HTTPResponse`. Bytes are read
by :class:`._h1.ResponseReader`, as the asyncio transport reads them. ``socket`` and
``ssl`` are loaded with the first connection, never with the package.
"""

import time
from typing import TYPE_CHECKING, Any, Iterator, Optional, Tuple

from ._cancel import _shutdown
from ._connections import _ReadCheck
from ._errormap import _ErrorMap
from ._h1 import NEED_DATA, BodyEnd, Event, ProtocolError, ResponseReader, connect_head
from ._http import _DRAIN_LIMIT, _DRAIN_WAIT, _cancelled, _Source

if TYPE_CHECKING:
    import socket
    import ssl

    from ._connections import _Route

_READ_SIZE = 65536  # an upper bound per read, never a size to wait for


class Connection:
    """A connection to one route (its origin, or the proxy in front of it). Nothing is
    opened until :meth:`open`; ``sock`` is None until then and after :meth:`close`."""

    __slots__ = ("sock", "reader", "key", "_route", "_tls", "_timeout")

    def __init__(self, route: "_Route", tls: "Optional[ssl.SSLContext]", timeout: float) -> None:
        self.sock: Optional[socket.socket] = None
        #: the reader of the response to the request in flight
        self.reader: Optional[ResponseReader] = None
        self.key = route.key
        self._route = route
        self._tls = tls
        self._timeout = timeout

    def open(self) -> None:
        """TCP (to the proxy, if there is one), the proxy's tunnel for HTTPS, then TLS.

        ``sock`` names the socket of each step as soon as it exists, so that a cancel
        (:meth:`abort`) reaches the one being waited on, the TLS handshake's included.
        """
        import socket

        route, proxy = self._route, self._route.proxy
        address = (route.host, route.port) if proxy is None else (proxy.host, proxy.port)
        sock = self.sock = socket.create_connection(address, self._timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._tls is None:
            return  # plain HTTP (through a proxy: requests in absolute form)
        if proxy is not None:
            self._tunnel(proxy.authorization)
        tls = self._tls.wrap_socket(sock, server_hostname=route.host, do_handshake_on_connect=False)
        self.sock = tls
        tls.do_handshake()

    def _tunnel(self, authorization: Optional[str]) -> None:
        """RFC 9110, 9.3.6: ``CONNECT host:port``; a 2xx turns the connection into a tunnel."""
        reader = self.reader = ResponseReader("CONNECT")
        self.send(connect_head(self._route.host, self._route.port, authorization))
        self.next_event()  # the head
        reader.check_tunnel()
        self.reader = None

    def usable(self) -> bool:
        """Still open after sitting idle in the pool."""
        return self.sock is not None and _ReadCheck(self.sock).nothing_to_read()

    def set_timeout(self, timeout: float) -> None:
        """Bound each wait for bytes by ``timeout`` (a pooled connection serves a new call)."""
        self._timeout = timeout
        sock = self.sock
        if sock is not None and sock.gettimeout() != timeout:
            sock.settimeout(timeout)

    def send(self, data: bytes) -> None:
        assert self.sock is not None  # noqa: S101 - opened first
        self.sock.sendall(data)

    def receive(self) -> None:
        """One read (at most one system call): what the socket has, fed to the reader;
        ``b""`` when the server closed the connection."""
        assert self.sock is not None and self.reader is not None  # noqa: S101
        self.reader.feed(self.sock.recv(_READ_SIZE))

    def next_event(self) -> Event:
        """The reader's next event, reading as many times as it needs (each read bounded by
        the timeout); raises :class:`._h1.ProtocolError` and the socket's errors."""
        reader = self.reader
        assert reader is not None  # noqa: S101 - set before the request is sent
        event = reader.next_event()
        while event is NEED_DATA:
            self.receive()
            event = reader.next_event()
        return event

    def abort(self) -> None:
        """From any thread: a wait on this connection returns at once."""
        _shutdown(self.sock)

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()


class SocketBody(_Source):
    """A body still on its connection, read event by event (``errors`` translates)."""

    def __init__(self, conn: Connection, errors: _ErrorMap) -> None:
        self._conn = conn
        self._errors = errors
        self._ended = False

    def pieces(self) -> Iterator[bytes]:
        conn = self._conn
        with self._errors:
            event = conn.next_event()
            while not isinstance(event, BodyEnd):
                assert isinstance(event, bytes)  # noqa: S101 - the reader's body events
                yield event
                event = conn.next_event()
        self._ended = True
        if self._errors.aborted():  # a body that ends at the close: the cancel closed it
            raise _cancelled()

    def drain(self) -> bool:
        """Read what is left if it is at most ``_DRAIN_LIMIT`` bytes and all of it comes within
        ``_DRAIN_WAIT`` in all; True if that reached the end of the body (the connection is
        reusable). A bound on the whole drain, not on each read: a stream the caller left while
        the server still sends a token every few milliseconds must not hold ``close()`` up."""
        conn, sock = self._conn, self._conn.sock
        if self._ended:
            return True
        if sock is None or conn.reader is None or self._errors.aborted():
            return False
        timeout = sock.gettimeout()
        left = _DRAIN_LIMIT
        deadline = time.monotonic() + _DRAIN_WAIT
        try:
            while left > 0:
                event = conn.reader.next_event()
                if isinstance(event, BodyEnd):
                    self._ended = True
                    return True
                if isinstance(event, bytes):
                    left -= len(event)
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                sock.settimeout(remaining)
                conn.receive()
            return False
        except (OSError, ProtocolError, ValueError):
            return False
        finally:
            try:
                sock.settimeout(timeout)
            except OSError:
                pass

    def abort(self) -> None:
        self._conn.abort()

    def finish(self) -> Tuple[Any, bool]:
        reader = self._conn.reader
        return self._conn, self._ended and reader is not None and reader.reusable
