"""The two HTTP messages the transport moves: :class:`HTTPRequest` and :class:`HTTPResponse`.

A request is plain data (method, absolute URL, headers, body bytes). A response
is status and headers, plus the body: given whole (``body=``, for tests and mock
transports) or still on the connection that :mod:`.transport` attached, read
with ``read()`` or ``iter_bytes()`` and then handed back to the pool
(:mod:`._connections`). Both ``repr`` s hide credentials (:func:`redact_url`).
"""

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, Optional, Tuple, Type

from ._cancel import _nothing, _on_cancel, _shutdown
from ._errormap import _ErrorMap
from ._redact import redact_url, redacted_headers
from .errors import APIConnectionError, APIUserAbortError, OpenAIError
from .retry import RetryDecision

if TYPE_CHECKING:
    import http.client

    from ._connections import _PoolKey
    from .transport import Transport

__all__ = ["HTTPRequest", "HTTPResponse", "redact_url"]

_READ_SIZE = 65536  # an upper bound per read, never a size to wait for


# -- requests -------------------------------------------------------------------------------------
@dataclass(repr=False)
class HTTPRequest:
    """One HTTP request: ``url`` is absolute, query included; ``body`` is the bytes to send.

    Its ``repr`` redacts credentials (``Authorization: Bearer sk-...wxyz``).
    """

    method: str
    url: str
    headers: Dict[str, str] = field(default_factory=dict)
    body: Optional[bytes] = None

    def redacted_headers(self) -> Dict[str, str]:
        """The headers with credential values hidden: ``Bearer sk-...wxyz``."""
        return redacted_headers(self.headers)

    def __repr__(self) -> str:
        body = "None" if self.body is None else "<%d bytes>" % len(self.body)
        return "HTTPRequest(method=%r, url=%r, headers=%r, body=%s)" % (
            self.method, redact_url(self.url), self.redacted_headers(), body)


# -- responses ------------------------------------------------------------------------------------
class HTTPResponse:
    """Status, headers (lower-case keys, repeated headers joined with ``", "``) and the body.

    ``read()`` returns the whole body (cached); ``iter_bytes()`` yields each piece
    as soon as the socket has it. Either one, once. ``close()`` hands the
    connection back to the pool if the body was read to its end, else drops it.
    Can also be built directly with ``body=`` (for tests and mock transports).
    """

    def __init__(self, status: int, reason: str = "", headers: Optional[Dict[str, str]] = None,
                 url: str = "", *, body: Optional[bytes] = None, attempts: int = 1,
                 elapsed: float = 0.0) -> None:
        self.status = status
        self.reason = reason
        self.headers: Dict[str, str] = dict(headers or {})
        self.url = url
        self.attempts = attempts
        self.elapsed = elapsed
        #: why the transport stopped retrying at this response (None if not from a transport)
        self.retry_decision: Optional[RetryDecision] = None
        self._body = body
        self._raw: "Optional[http.client.HTTPResponse]" = None
        self._conn: "Optional[http.client.HTTPConnection]" = None
        self._transport: Optional["Transport"] = None
        self._pool_key: "Optional[_PoolKey]" = None
        self._where = ""
        self._low_level: Tuple[Type[BaseException], ...] = (OSError,)
        self._timeout: Optional[float] = None
        self._cancel: Optional[threading.Event] = None
        self._unhook: Callable[[], None] = _nothing
        self._lock = threading.Lock()
        self._aborted = False
        self._consumed = False
        self._finished = True

    def _attach(self, transport: "Transport", conn: "http.client.HTTPConnection",
                raw: "http.client.HTTPResponse", key: "_PoolKey", where: str, timeout: float,
                cancel: Optional[threading.Event]) -> None:
        self._transport = transport
        self._low_level = transport._connector.low_level_errors
        self._where = where
        self._conn = conn
        self._raw = raw
        self._pool_key = key
        self._timeout = timeout
        self._cancel = cancel
        self._finished = False
        self._unhook = _on_cancel(cancel, self.abort)

    def __repr__(self) -> str:
        return "<HTTPResponse %d %s %s>" % (self.status, self.reason, redact_url(self.url))

    def __enter__(self) -> "HTTPResponse":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _is_aborted(self) -> bool:
        return self._aborted or (self._cancel is not None and self._cancel.is_set())

    def _errors(self) -> _ErrorMap:
        return _ErrorMap(self._low_level, "reading the response body from", self._where or self.url,
                         self._timeout, self._is_aborted)

    def _raise_if_aborted(self) -> None:
        if self._is_aborted():
            raise APIUserAbortError(OpenAIError("the call was cancelled while reading the response",
                                                type="cancelled"))

    def read(self) -> bytes:
        """The whole body, read once and cached.

        Raises :class:`APIConnectionError` if the connection breaks before the end,
        :class:`APITimeoutError` if no byte comes within the timeout,
        :class:`APIUserAbortError` after :meth:`abort`.
        """
        if self._body is not None:
            return self._body
        raw = self._raw
        if raw is None or self._consumed:
            raise RuntimeError("the body was already consumed by iter_bytes() or closed")
        self._consumed = True
        complete = False
        try:
            with self._errors():
                data = raw.read()  # IncompleteRead when Content-Length or chunking says more
            self._raise_if_aborted()
            complete = True
        finally:
            self._finish(complete)
        self._body = data
        return data

    def iter_bytes(self) -> Iterator[bytes]:
        """Yield the body piece by piece, each as soon as the socket has it.

        Uses ``read1`` (at most one system call per piece; chunked transfer
        decoded), so it never waits to fill a buffer. Raises like :meth:`read`;
        a body that ends before its ``Content-Length`` or its last chunk is an
        :class:`APIConnectionError`. Closing the iterator early drops the connection.
        """
        if self._body is not None:
            if self._body:
                yield self._body
            return
        raw = self._raw
        if raw is None or self._consumed:
            raise RuntimeError("the body was already consumed by read() / iter_bytes() or closed")
        self._consumed = True
        received = 0
        complete = False
        try:
            with self._errors():
                read1 = raw.read1
                while True:
                    piece = read1(_READ_SIZE)
                    if not piece:
                        break
                    received += len(piece)
                    yield piece
            self._raise_if_aborted()
            if not raw.chunked and raw.length:
                raise APIConnectionError(OpenAIError(
                    "the connection closed after %d bytes of the body, %d more were announced "
                    "(Content-Length) from %s" % (received, raw.length, self._where or self.url),
                    type="connection_error"))
            complete = True
        finally:
            self._finish(complete)

    def set_read_timeout(self, seconds: float) -> None:
        """Change how long each further wait for body bytes may last."""
        self._timeout = seconds
        conn = self._conn
        sock = conn.sock if conn is not None else None
        if sock is not None:
            sock.settimeout(seconds)

    def close(self) -> None:
        """Release the connection: back to the pool if the body was read to its end, else closed."""
        self._finish(complete=False)

    def abort(self) -> None:
        """Stop this response from any thread: a read blocked on it returns at once and
        raises :class:`APIUserAbortError`; the connection is not reused."""
        with self._lock:
            self._aborted = True
            conn = self._conn
        if conn is not None:
            _shutdown(conn.sock)

    def _finish(self, complete: bool) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
            conn, self._conn = self._conn, None
            raw, self._raw = self._raw, None
            reusable = complete and not self._aborted
        self._unhook()
        if raw is not None:
            reusable = reusable and not raw.will_close
            raw.close()
        if conn is None:
            return
        transport = self._transport
        if reusable and transport is not None and self._pool_key is not None:
            transport._pool.give(self._pool_key, conn)
        else:
            conn.close()
