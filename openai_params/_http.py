"""The two HTTP messages the transport moves: :class:`HTTPRequest` and :class:`HTTPResponse`.

A request is plain data (method, absolute URL, headers, body bytes). A response
is status and headers, plus the body: given whole or in pieces (``body=``, for
tests and :class:`~._mock.MockTransport`), or still on the connection that a
transport read the head from (a :class:`_Source` it attaches), read with
``read()`` or ``iter_bytes()`` and then handed back through the ``release``
callable the transport gave it. Both ``repr`` s hide credentials.
"""

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Tuple, Union

from ._cancel import _nothing
from ._redact import redact_url, redacted_headers
from .errors import APIUserAbortError, OpenAIError
from .retry import RetryDecision

__all__ = ["HTTPRequest", "HTTPResponse"]

# Closing a response before its end reads what is left only when it is small and already
# there (or arrives at once): a stream stops at "data: [DONE]", one read before the chunked
# body's terminating zero-length chunk, and its connection should still go back to the pool.
_DRAIN_LIMIT = 65536  # bytes
_DRAIN_WAIT = 0.1  # seconds for the whole drain

#: what a response body may be given as: the whole bytes, or the pieces a stream yields
Body = Union[bytes, Iterable[bytes], None]

#: what a request body may be: the bytes, or pieces sent one by one (an upload read from disk)
RequestBody = Union[bytes, Iterable[bytes]]

#: ``release(connection, reusable)``: hands a response's connection back (to the pool, or closed)
Release = Callable[[Any, bool], None]


# -- requests -------------------------------------------------------------------------------------
@dataclass(repr=False)
class HTTPRequest:
    """One HTTP request: ``url`` is absolute, query included; ``body`` is the bytes to send,
    or (an upload) an iterable of byte pieces that can be iterated again for each attempt,
    its whole length given by the ``Content-Length`` header (see :mod:`.multipart`).

    Its ``repr`` redacts credentials (``Authorization: Bearer sk-...wxyz``).
    """

    method: str
    url: str
    headers: Dict[str, str] = field(default_factory=dict)
    body: Optional[RequestBody] = None

    def redacted_headers(self) -> Dict[str, str]:
        """The headers with credential values hidden: ``Bearer sk-...wxyz``."""
        return redacted_headers(self.headers)

    def __repr__(self) -> str:
        if self.body is None:
            body = "None"
        elif isinstance(self.body, bytes):
            body = "<%d bytes>" % len(self.body)
        else:
            body = "<%s bytes in pieces>" % self.headers.get("Content-Length", "?")
        return "HTTPRequest(method=%r, url=%r, headers=%r, body=%s)" % (
            self.method,
            redact_url(self.url),
            self.redacted_headers(),
            body,
        )


# -- responses ------------------------------------------------------------------------------------
# The life of a response body. It only moves forward: UNREAD -> READING -> DONE or CLOSED, and
# ABORTED (from any thread) -> CLOSED. DONE and CLOSED are final: the connection was released,
# as reusable only in DONE.
UNREAD = "unread"  # nothing read yet
READING = "reading"  # read() or iter_bytes() has begun
ABORTED = "aborted"  # abort() was called; a blocked read raises APIUserAbortError
DONE = "done"  # read to its end
CLOSED = "closed"  # closed, broken or aborted before its end

# RFC 9110, 8.4.1: "identity" (or no Content-Encoding) is the only coding this client reads;
# it asks for nothing else (Accept-Encoding: identity).
_READABLE_CODINGS = ("", "identity")


class HTTPResponse:
    """Status, headers (lower-case keys, repeated headers joined with ``", "``) and the body.

    ``read()`` returns the whole body (cached); ``iter_bytes()`` yields each piece
    as soon as the socket has it. Either one, once. ``close()`` hands the
    connection back to the pool if the body was read to its end (or the little
    that is left is already there), else drops it.

    Build one yourself (for tests and :class:`~openai_params.MockTransport`) with
    ``body=`` the whole bytes, or an iterable of byte pieces that ``iter_bytes()``
    yields one by one, as a stream's pieces would arrive::

        HTTPResponse(200, headers={"content-type": "application/json"}, body=b'{"id": "x"}')
        HTTPResponse(200, headers={"content-type": "text/event-stream"},
                     body=[b'data: {"choices": []}\\n\\n', b"data: [DONE]\\n\\n"])
    """

    def __init__(
        self,
        status: int,
        reason: str = "",
        headers: Optional[Dict[str, str]] = None,
        url: str = "",
        *,
        body: Body = None,
        attempts: int = 1,
        elapsed: float = 0.0,
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers: Dict[str, str] = {k.lower(): v for k, v in headers.items()} if headers else {}
        self.url = url
        self.attempts = attempts
        self.elapsed = elapsed
        #: why the transport stopped retrying at this response (None if not from a transport)
        self.retry_decision: Optional[RetryDecision] = None
        if body is None:
            body = b""
        elif isinstance(body, (bytearray, memoryview)):
            body = bytes(body)
        #: the whole body once read (given bytes are read already)
        self._body: Optional[bytes] = None
        self._source: _Source
        if isinstance(body, bytes):
            self._body, self._source = body, _READ_ALREADY
        else:
            self._source = _Given(body)
        self._release: Release = _keep
        self._state = UNREAD
        self._lock = threading.Lock()
        self._unhook: Callable[[], None] = _nothing

    def __repr__(self) -> str:
        return "<HTTPResponse %d %s %s>" % (self.status, self.reason, redact_url(self.url))

    def __enter__(self) -> "HTTPResponse":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def read(self) -> bytes:
        """The whole body, read once and cached.

        Raises :class:`APIConnectionError` if the connection breaks before the end,
        :class:`APITimeoutError` if no byte comes within the timeout,
        :class:`APIUserAbortError` after :meth:`abort`, and
        :class:`APIResponseValidationError` for a body in a content encoding this
        client does not decode (it asks for none).
        """
        body = self._buffer()
        self._check_encoding()
        return body

    def iter_bytes(self) -> Iterator[bytes]:
        """Yield the body piece by piece, each as soon as the socket has it.

        Each piece is what one read of the connection brought (chunked transfer
        decoded), so it never waits to fill a buffer. Raises like :meth:`read`;
        a body that ends before its ``Content-Length`` or its last chunk is an
        :class:`APIConnectionError`. Closing the iterator early is :meth:`close`.
        """
        self._check_encoding()
        if self._body is not None:
            if self._body:
                yield self._body
            return
        yield from self._consume()

    def close(self) -> None:
        """Release the connection: back to the pool if the body was read to its end, or if
        what is left of it is small and already there; else closed."""
        with self._lock:
            state = self._state
        if state in (UNREAD, READING):
            self._end(DONE if self._source.drain() else CLOSED)
        elif state == ABORTED:
            self._end(CLOSED)

    def abort(self) -> None:
        """Stop this response from any thread: a read blocked on it returns at once and
        raises :class:`APIUserAbortError`; the connection is not reused."""
        with self._lock:
            if self._state in (DONE, CLOSED):
                return
            self._state = ABORTED
        self._source.abort()

    # -- the body's one path ------------------------------------------------------------------
    def _buffer(self) -> bytes:
        """The whole body as bytes (read once), whatever its content encoding."""
        if self._body is None:
            self._body = b"".join(self._consume())
        return self._body

    def _consume(self) -> Iterator[bytes]:
        with self._lock:
            if self._state != UNREAD:
                raise RuntimeError("the body was already read by read() / iter_bytes(), or closed")
            self._state = READING
        outcome = CLOSED
        try:
            for piece in self._source.pieces():
                yield piece
                if self._state != READING:  # abort() or close() between two pieces
                    self._raise_if_aborted()
                    return  # closed: the connection is gone
            self._raise_if_aborted()
            outcome = DONE
        except GeneratorExit:  # the reader stopped early: closing reads what is already there
            outcome = DONE if self._state == READING and self._source.drain() else CLOSED
            raise
        finally:
            self._end(outcome)

    def _end(self, outcome: str) -> None:
        with self._lock:
            if self._state in (DONE, CLOSED):
                return
            reusable = outcome == DONE and self._state != ABORTED
            self._state = DONE if reusable else CLOSED
        self._unhook()
        connection, keep_alive = self._source.finish()
        if connection is not None:
            self._release(connection, reusable and keep_alive)

    def _attach(self, source: "_Source", release: Release, unhook: Callable[[], None]) -> None:
        """A transport's response: its body comes from ``source``, its connection goes back
        through ``release(connection, reusable)``, and ``unhook`` ends its cancel hook."""
        self._body = None
        self._source = source
        self._release = release
        self._unhook = unhook

    def _is_aborted(self) -> bool:
        return self._state == ABORTED

    def _raise_if_aborted(self) -> None:
        if self._is_aborted():
            raise _cancelled()

    def _check_encoding(self) -> None:
        coding = self.headers.get("content-encoding", "").strip().lower()
        if coding not in _READABLE_CODINGS:
            raise OpenAIError(
                "unsupported content encoding %r: the body cannot be read (the request asked "
                "for Accept-Encoding: identity)" % self.headers["content-encoding"],
                status=self.status,
                type="invalid_response",
                headers=self.headers,
            ).exception()


def _keep(connection: Any, reusable: bool) -> None:
    return None


def _cancelled() -> APIUserAbortError:
    return APIUserAbortError(
        OpenAIError("the call was cancelled while reading the response", type="cancelled")
    )


# -- where a body comes from ----------------------------------------------------------------------
class _Source:
    """A response body's bytes: ``pieces()`` once; ``drain()`` the rest on an early close;
    ``abort()`` from another thread; ``finish()`` gives the connection to release (None if
    there is none) and whether the server lets it carry another request."""

    def pieces(self) -> Iterator[bytes]:
        raise NotImplementedError

    def drain(self) -> bool:
        return True

    def abort(self) -> None:
        return None

    def finish(self) -> Tuple[Any, bool]:
        return None, False


class _Given(_Source):
    """Pieces given when the response was built: nothing to wait for, nothing to release."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self._pieces = pieces

    def pieces(self) -> Iterator[bytes]:
        for piece in self._pieces:
            if piece:
                yield bytes(piece)


#: the source of a body given whole: nothing more to read (one for every such response)
_READ_ALREADY = _Given(())
