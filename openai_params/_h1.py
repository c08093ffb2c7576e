"""HTTP/1.1 sans I/O: a request head written, a response read. No sockets here.

    head = request_head("POST", "/v1/chat/completions", host_field("https", host, 443), headers, body)

    reader = ResponseReader("POST")
    reader.feed(data)                  # whatever the socket gave; b"" when it closed
    while True:
        event = reader.next_event()
        if event is NEED_DATA:         # nothing complete yet: read more and feed it
            break
        ...                            # a ResponseHead, body bytes, or a BodyEnd

The events come in this order: one :class:`ResponseHead` (interim 1xx responses are
read and skipped), then the body as ``bytes`` pieces (never empty), then one
:class:`BodyEnd`. After it, :attr:`ResponseReader.reusable` says whether the
connection may carry another request. A response that breaks the rules raises
:class:`ProtocolError` (a server that closes before sending anything:
:class:`RemoteDisconnected`, a ``ConnectionResetError``, as ``http.client`` raises).

Both transports write and read with this module, so both clients speak to a server
alike. The rules are RFC 9112's, quoted beside the code. Where RFC 9112 lets a client
choose, this module chooses what ``http.client`` does (it writes the same head, and
``tests/test_h1.py`` reads the same corpus with both): a bare LF ends a
line, obsolete line folding becomes one space, an unreadable ``Content-Length``
means the body ends at the close. The corpus is read whole, byte by byte and split
at every position.
"""

import re
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

__all__ = [
    "request_head",
    "host_field",
    "connect_head",
    "ResponseReader",
    "ResponseHead",
    "BodyEnd",
    "NEED_DATA",
    "ProtocolError",
    "RemoteDisconnected",
    "MAX_HEAD",
]

#: The most a response head (status line and header fields), or a chunk's size line and
#: trailer section, may buffer before it is complete (h11 caps at 16 KiB; http.client at
#: 64 KiB per line and 100 fields). A server sending more is broken or hostile.
MAX_HEAD = 65536

# RFC 9112, 4:  status-line = HTTP-version SP status-code SP [ reason-phrase ]
#               HTTP-version = "HTTP" "/" DIGIT "." DIGIT
# The SP before an empty reason is optional here: many servers leave it out.
_STATUS_LINE = re.compile(r"HTTP/1\.([0-9]) ([0-9]{3})(?: ([^\r\n]*))?")
# RFC 9110, 5.6.2:  token = 1*tchar
_TCHARS = b"-!#$%&'*+.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# RFC 9112, 7.1:  chunk-size = 1*HEXDIG, then chunk-ext = *( BWS ";" BWS chunk-ext-name ... )
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")
# RFC 9112, 2.2: "a recipient MAY recognize a single LF as a line terminator and ignore
# any preceding CR": a head ends at the first empty line, CRLF or LF.
_HEAD_END = re.compile(rb"\n\r?\n")
_OWS = " \t"
_HEXDIGITS = b"0123456789ABCDEFabcdef"
_COMPACT_AFTER = 16384  # bytes read from the front of the buffer before they are dropped


# -- the request head -----------------------------------------------------------------------------
# Methods that carry a body: without one they still say so (Content-Length: 0), as http.client does.
_BODY_METHODS = ("PATCH", "POST", "PUT")


def request_head(method: str, target: str, host: str, headers: Mapping[str, str], body: Any) -> bytes:
    """The request line and header fields, as ``http.client`` writes them: ``host`` (a
    :func:`host_field` line) and ``Accept-Encoding: identity`` unless given, ``Content-Length``
    for a body of bytes (else 0 for a PATCH, POST or PUT: a body in pieces comes with its
    own), then ``headers`` in order.

    Raises ``ValueError`` for a method, target or field that would break the head (a CR, LF
    or NUL, a field name that is not a token, a value that is not Latin-1), before a byte is sent.
    """
    given = {name.lower() for name in headers}
    lines = ["%s %s HTTP/1.1\r\n" % (method, target)]
    if "host" not in given:
        lines.append(host)
    if "accept-encoding" not in given:
        lines.append("Accept-Encoding: identity\r\n")
    if "content-length" not in given and "transfer-encoding" not in given:
        if isinstance(body, bytes):
            lines.append("Content-Length: %d\r\n" % len(body))
        elif method.upper() in _BODY_METHODS:
            lines.append("Content-Length: 0\r\n")
    for item in headers.items():
        lines.append("%s: %s\r\n" % item)
    lines.append("\r\n")
    head = "".join(lines)
    # RFC 9110, 5.5 and 9112, 3: no CR, LF or NUL inside a request line or a field (they
    # would end it and start another: header injection), so the head holds exactly one CR
    # and one LF per line. RFC 9110, 5.1: each field name a token.
    names = "".join(headers)
    if (
        head.count("\n") != len(lines)
        or head.count("\r") != len(lines)
        or "\0" in head
        or "" in headers
        or not names.isascii()
        or names.encode("ascii").translate(None, _TCHARS)
    ):
        raise ValueError("invalid request head: %s" % _first_fault(method, target, headers))
    try:
        return head.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("invalid request head: a header value is not Latin-1 text") from None


def _first_fault(method: str, target: str, headers: Mapping[str, str]) -> str:
    if _breaks_line(method) or _breaks_line(target):
        return "a CR, LF or NUL in the method or the target"
    for name, value in headers.items():
        if not name or not name.isascii() or name.encode("ascii").translate(None, _TCHARS):
            return "the header name %r is not a token" % name
        if _breaks_line(value):
            return "a CR, LF or NUL in the value of the %r header" % name
    return "?"  # (not reached)


def _breaks_line(text: str) -> bool:
    return "\r" in text or "\n" in text or "\0" in text


@lru_cache(maxsize=64)
def host_field(scheme: str, host: str, port: int) -> str:
    """RFC 9112, 3.2: the ``Host`` line, the port left out when it is the scheme's default."""
    default = 443 if scheme == "https" else 80
    host = "[%s]" % host if ":" in host else host
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        host = host.encode("idna").decode("ascii")
    return "Host: %s\r\n" % (host if port == default else "%s:%d" % (host, port))


def connect_head(host: str, port: int, authorization: Optional[str]) -> bytes:
    """RFC 9110, 9.3.6: ``CONNECT host:port``, which asks a proxy for a tunnel to the origin."""
    authority = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    lines = ["CONNECT %s HTTP/1.1" % authority, "Host: %s" % authority]
    if authorization:
        lines.append("Proxy-Authorization: %s" % authorization)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# -- reading the response --------------------------------------------------------------------------
class ProtocolError(Exception):
    """The bytes are not an HTTP/1.1 response this reader can read; the message says why."""


class RemoteDisconnected(ConnectionResetError, ProtocolError):
    """The server closed the connection before a byte of the response (a pooled connection
    it had closed; the request can be sent again on a new one)."""


class ResponseHead:
    """The status line and header fields: ``headers`` is a list of (lower-case name, value)
    pairs in the order received; :meth:`joined` folds repeats into one ``", "`` value."""

    __slots__ = ("version", "status", "reason", "headers", "_joined")

    def __init__(self, version: int, status: int, reason: str, headers: List[Tuple[str, str]]) -> None:
        self.version = version  # the minor version: 1 for HTTP/1.1, 0 for HTTP/1.0
        self.status = status
        self.reason = reason
        self.headers = headers
        self._joined: Optional[Dict[str, str]] = None

    def joined(self) -> Dict[str, str]:
        """RFC 9110, 5.3: repeated fields combine, in order, into one list joined by commas.
        (A copy for the caller to keep.)"""
        return dict(self._folded())

    def values(self, name: str) -> List[str]:
        """The comma-separated elements of every ``name`` field, stripped, lower-case."""
        value = self._folded().get(name)
        if value is None:
            return []
        return [part for part in (part.strip().lower() for part in value.split(",")) if part]

    def _folded(self) -> Dict[str, str]:
        joined = self._joined
        if joined is None:
            joined = self._joined = {}
            for name, value in self.headers:
                joined[name] = joined[name] + ", " + value if name in joined else value
        return joined

    def __repr__(self) -> str:
        return "<ResponseHead HTTP/1.%d %d %s>" % (self.version, self.status, self.reason)


class BodyEnd:
    """The body is complete. ``trailers``: the trailer fields of a chunked body, if any."""

    __slots__ = ("trailers",)

    def __init__(self, trailers: Optional[List[Tuple[str, str]]] = None) -> None:
        self.trailers = trailers or []


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


#: returned by :meth:`ResponseReader.next_event` when it needs more bytes (or the close)
NEED_DATA = _NeedData()

Event = Union[ResponseHead, bytes, BodyEnd, _NeedData]

# Where the reader is. Each state has one reader method (_STATE_READERS, below).
_HEAD = "head"  # the status line and header fields
_LENGTH = "length"  # a body of Content-Length bytes
_CHUNK_SIZE_LINE = "chunk size"  # chunked: the line giving the next chunk's size
_CHUNK_DATA = "chunk data"
_CHUNK_END = "chunk end"  # the CRLF after a chunk's data
_TRAILERS = "trailers"  # after the last chunk: trailer fields, then an empty line
_UNTIL_CLOSE = "until close"  # no framing: the body ends when the connection closes
_END = "end"  # BodyEnd is next
_DONE = "done"  # BodyEnd was returned
_FAILED = "failed"  # an error was raised; nothing more can be read


class ResponseReader:
    """Reads one response to a request made with ``method``; see the module docstring.

    ``max_head`` caps what an unfinished head, chunk size line or trailer section may
    buffer (:data:`MAX_HEAD`).
    """

    def __init__(self, method: str = "GET", *, max_head: int = MAX_HEAD) -> None:
        self._method = method.upper()
        self._max_head = max_head
        self._buffer = bytearray()
        self._start = 0  # where the unread bytes of _buffer begin
        self._searched = 0  # how far the head's end was searched for, not to search again
        self._closed = False  # the connection closed (feed(b""))
        self._state = _HEAD
        self._left = 0  # bytes still to come: of the body (_LENGTH) or of the chunk (_CHUNK_DATA)
        self._received = 0  # body bytes so far, for error messages
        self._trailers: List[Tuple[str, str]] = []
        self.head: Optional[ResponseHead] = None
        #: whether the server keeps the connection open after this response (from the head)
        self.keep_alive = False

    # -- input --------------------------------------------------------------------------------
    def feed(self, data: Union[bytes, memoryview]) -> None:
        """Add bytes read from the connection (copied); ``b""`` means it closed (nothing
        comes after)."""
        if not data:
            self._closed = True
        elif self._closed:
            raise ProtocolError("bytes fed after the connection closed")
        else:
            start = self._start
            if start and (start == len(self._buffer) or start >= _COMPACT_AFTER):
                # What was read is dropped before more is added: a stream whose every read
                # ends inside a chunk would otherwise keep its whole body here.
                self._compact()
            self._buffer += data

    def _compact(self) -> None:
        start = self._start
        del self._buffer[:start]
        self._start = 0
        self._searched = max(self._searched - start, 0)

    @property
    def leftover(self) -> bytes:
        """Bytes received and not part of the response (after :class:`BodyEnd`: bytes the
        server sent unasked; after a ``CONNECT`` head: the tunnel's first bytes)."""
        return bytes(self._buffer[self._start :])

    @property
    def reusable(self) -> bool:
        """After :class:`BodyEnd`: the connection may carry another request (the server keeps
        it open, the body had its own end, and nothing came after it)."""
        return (
            self._state == _DONE and self.keep_alive and not self._closed and self._start == len(self._buffer)
        )

    def check_tunnel(self) -> None:
        """RFC 9110, 9.3.6: once the head of the answer to ``CONNECT`` is read, a 200 has turned
        the connection into a tunnel; any other status raises ``OSError`` in ``http.client``'s
        words, so that both transports report a refused tunnel alike. Bytes of the proxy's own
        after the head raise :class:`ProtocolError`."""
        head = self.head
        assert head is not None  # noqa: S101 - called after the head
        if head.status != 200:
            raise OSError("Tunnel connection failed: %d %s" % (head.status, head.reason))
        if self.leftover:
            raise ProtocolError("the proxy sent bytes of its own after opening the tunnel")

    # -- output -------------------------------------------------------------------------------
    def next_event(self) -> Event:
        """The next event, or :data:`NEED_DATA`. Raises :class:`ProtocolError`."""
        try:
            event = _STATE_READERS[self._state](self)
        except ProtocolError:
            self._state = _FAILED
            raise
        if event is NEED_DATA and self._start:
            # Waiting for bytes, the reader holds only what it has not read yet (a hundred
            # streams at once must not each keep their last read).
            self._compact()
        return event

    def _take(self, size: int) -> bytes:
        start = self._start
        piece = bytes(self._buffer[start : start + size])
        self._start = start + len(piece)
        return piece

    def _available(self) -> int:
        return len(self._buffer) - self._start

    # -- the head -----------------------------------------------------------------------------
    def _read_head(self) -> Event:
        while True:
            buffer, start = self._buffer, self._start
            found = _HEAD_END.search(buffer, max(start, self._searched - 2))
            if found is None:
                self._searched = len(buffer)
                if len(buffer) - start > self._max_head:
                    raise ProtocolError("the response head is longer than %d bytes" % self._max_head)
                if self._closed:
                    if len(buffer) == start:
                        raise RemoteDisconnected("the server closed the connection without a response")
                    raise ProtocolError(
                        "the connection closed in the middle of the response head (%d bytes received)"
                        % (len(buffer) - start)
                    )
                return NEED_DATA
            if found.start() - start > self._max_head:
                raise ProtocolError("the response head is longer than %d bytes" % self._max_head)
            text = buffer[start : found.start()].decode("latin-1")
            self._start = self._searched = found.end()
            head = _parse_head(text)
            # RFC 9110, 15.2: a client MUST be able to parse one or more 1xx responses
            # received prior to a final response, even if the client does not expect one.
            # 101 switches protocols: this client never asks for that.
            if head.status == 101:
                raise ProtocolError("the server switched protocols (101), which this client never asks for")
            if head.status >= 200:
                self.head = head
                self._frame(head)
                return head

    def _frame(self, head: ResponseHead) -> None:
        """RFC 9112, 6.3: how the length of the body is determined, rule by rule."""
        fields = head._folded()
        self.keep_alive = _keep_alive(head, fields)
        status = head.status
        # 1. No body after a HEAD request, nor in a 1xx, 204 or 304 response.
        if self._method == "HEAD" or status in (204, 304):
            self._state = _END
            return
        # 2. A 2xx to CONNECT: the connection becomes a tunnel right after the head.
        if self._method == "CONNECT" and 200 <= status < 300:
            self._state = _END
            self.keep_alive = False
            return
        # 3. Transfer-Encoding overrides Content-Length; chunked as the final coding frames
        #    the body; "If a Transfer-Encoding header field is present in a response and
        #    the chunked transfer coding is not the final encoding, the message body length
        #    is determined by reading the connection until it is closed by the server."
        codings = head.values("transfer-encoding") if "transfer-encoding" in fields else None
        if codings:
            self._state = _CHUNK_SIZE_LINE if codings[-1] == "chunked" else _UNTIL_CLOSE
        else:
            # 5. Content-Length; a list of the same value repeated counts as that value
            #    (RFC 9110, 8.6). An invalid one is a broken framing that RFC 9112 tells a
            #    client to stop at; like http.client, the body is read to the close
            #    instead, and the connection is not reused.
            length = fields.get("content-length", "").strip()
            if "," in length:  # a list (or the field repeated)
                lengths = set(head.values("content-length"))
                length = lengths.pop() if len(lengths) == 1 else ""
            if length.isdigit() and length.isascii():
                self._left = int(length)
                self._state = _LENGTH if self._left else _END
            else:
                # 7. Otherwise the body is what comes until the server closes.
                self._state = _UNTIL_CLOSE
        if self._state == _UNTIL_CLOSE:
            self.keep_alive = False

    # -- bodies -------------------------------------------------------------------------------
    def _read_length(self) -> Event:
        available = self._available()
        if not available:
            if self._closed:
                raise ProtocolError(
                    "the connection closed after %d bytes of the body, %d more were announced "
                    "(Content-Length)" % (self._received, self._left)
                )
            return NEED_DATA
        piece = self._take(self._left)
        self._left -= len(piece)
        self._received += len(piece)
        if not self._left:
            self._state = _END
        return piece

    def _read_until_close(self) -> Event:
        if self._available():
            piece = self._take(self._available())
            self._received += len(piece)
            return piece
        if self._closed:
            return self._read_end()
        return NEED_DATA

    def _read_chunked(self) -> Event:
        """As many whole or partial chunks as the buffer holds, as one piece: a server
        that writes one SSE event per chunk gives many chunks per read.

        RFC 9112, 7.1:  chunked-body = *chunk last-chunk trailer-section CRLF
                        chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
        """
        spans: List[Tuple[int, int]] = []  # where the data of each chunk is in the buffer
        buffer = self._buffer
        while True:
            state = self._state
            if state == _CHUNK_DATA:
                start = self._start
                end = min(start + self._left, len(buffer))
                if end == start:
                    break
                spans.append((start, end))
                self._start = end
                self._left -= end - start
                if not self._left:
                    self._state = _CHUNK_END
            elif state == _CHUNK_END:
                line = self._line()
                if line is None:
                    break
                if line:
                    raise ProtocolError("a chunk is longer than its size line said: %r" % line[:40])
                self._state = _CHUNK_SIZE_LINE
            elif state == _CHUNK_SIZE_LINE:
                line = self._line()
                if line is None:
                    break
                if line and len(line) <= 16 and not line.translate(None, _HEXDIGITS):
                    self._left = int(line, 16)  # the usual line: the size alone
                else:
                    match = _CHUNK_SIZE.fullmatch(line)
                    if match is None:
                        raise ProtocolError("invalid chunk size line: %r" % line[:40])
                    self._left = int(match.group(1), 16)
                self._state = _CHUNK_DATA if self._left else _TRAILERS
            else:
                break
        if spans:
            # One copy of the chunks' data, out of the buffer, into the piece.
            with memoryview(buffer) as view:
                piece = b"".join([view[start:end] for start, end in spans])
            self._received += len(piece)
            return piece
        if self._state == _TRAILERS:
            return self._read_trailers()
        if self._closed:
            raise ProtocolError(
                "the connection closed after %d bytes of the chunked body, before its last chunk"
                % self._received
            )
        return NEED_DATA

    def _line(self) -> Optional[bytes]:
        """The next line without its CRLF or LF, or None until it is complete."""
        buffer, start = self._buffer, self._start
        end = buffer.find(b"\n", start)
        if end < 0:
            if len(buffer) - start > self._max_head:
                raise ProtocolError("a chunk size line is longer than %d bytes" % self._max_head)
            return None
        self._start = end + 1
        if end > start and buffer[end - 1] == 13:  # CR
            end -= 1
        return bytes(buffer[start:end])

    def _read_trailers(self) -> Event:
        # RFC 9112, 7.1.2: trailer-section = *( field-line CRLF ); then the final CRLF.
        while True:
            if len(self._buffer) - self._start > self._max_head and self._buffer.find(b"\n", self._start) < 0:
                raise ProtocolError("the trailer section is longer than %d bytes" % self._max_head)
            line = self._line()
            if line is None:
                if self._closed:
                    raise ProtocolError("the connection closed in the trailer section of the chunked body")
                return NEED_DATA
            if not line:
                self._state = _END
                return self._read_end()
            if len(self._trailers) > 100:
                raise ProtocolError("more than 100 trailer fields")
            text = line.decode("latin-1")
            self._trailers.extend(_parse_fields([text], "\r" in text or "\0" in text))

    def _read_end(self) -> Event:
        self._state = _DONE
        return BodyEnd(self._trailers)

    def _read_nothing(self) -> Event:
        raise ProtocolError("the response was read to its end; a new request needs a new reader")

    def _read_failed(self) -> Event:
        raise ProtocolError("the response could not be read (an error was raised before)")


_STATE_READERS = {
    _HEAD: ResponseReader._read_head,
    _LENGTH: ResponseReader._read_length,
    _CHUNK_SIZE_LINE: ResponseReader._read_chunked,
    _CHUNK_DATA: ResponseReader._read_chunked,
    _CHUNK_END: ResponseReader._read_chunked,
    _TRAILERS: ResponseReader._read_chunked,
    _UNTIL_CLOSE: ResponseReader._read_until_close,
    _END: ResponseReader._read_end,
    _DONE: ResponseReader._read_nothing,
    _FAILED: ResponseReader._read_failed,
}


def _parse_head(text: str) -> ResponseHead:
    """The head up to the LF of its last line, decoded as Latin-1 (a character per byte)."""
    # RFC 9112, 2.2: a bare LF ends a line too; a CR elsewhere is read below.
    if text.endswith("\r"):
        text = text[:-1]
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    match = _STATUS_LINE.fullmatch(lines[0])
    if match is None:
        raise ProtocolError("invalid status line: %r" % lines[0][:80])
    minor, status, reason = match.groups("")
    fields = _parse_fields(lines[1:], "\r" in text or "\0" in text) if len(lines) > 1 else []
    return ResponseHead(int(minor), int(status), reason.strip(), fields)


def _parse_fields(lines: List[str], odd: bool) -> List[Tuple[str, str]]:
    """RFC 9112, 5:  field-line = field-name ":" OWS field-value OWS

    ``lines`` decoded as Latin-1 (RFC 9110, 5.5: octets beyond ASCII in a value are
    obs-text), without their line ends; ``odd``: a CR or NUL is somewhere in them."""
    fields: List[Tuple[str, str]] = []
    for line in lines:
        if line[0] in _OWS:
            # RFC 9112, 5.2: "A user agent that receives an obs-fold in a response message
            # ... MUST replace each received obs-fold with one or more SP octets".
            if not fields:
                # RFC 9112, 2.2: whitespace before the first field line: reject (or ignore).
                raise ProtocolError("a header line starts with white space: %r" % line[:80])
            last, folded = fields[-1]
            fields[-1] = (last, (folded + " " + line.strip(_OWS)).strip(_OWS))
            continue
        name, colon, value = line.partition(":")
        if not colon or not name:
            raise ProtocolError("invalid header line: %r" % line[:80])
        fields.append((name.lower(), value.strip(_OWS)))
    # RFC 9112, 5.1: the name is a token, "No whitespace is allowed between the field name
    # and colon." All names checked at once: any octet left after removing the tchars.
    if "".join([name for name, _ in fields]).encode("latin-1").translate(None, _TCHARS):
        bad = next(
            line for line in lines if line.partition(":")[0].encode("latin-1").translate(None, _TCHARS)
        )
        raise ProtocolError("invalid header line: %r" % bad[:80])
    if odd:
        # RFC 9110, 5.5: "a recipient of CR, LF, or NUL within a field value MUST either
        # reject the message or replace each of those characters with SP".
        fields = [(name, value.replace("\0", " ").replace("\r", " ")) for name, value in fields]
    return fields


def _keep_alive(head: ResponseHead, fields: Dict[str, str]) -> bool:
    """RFC 9112, 9.3: HTTP/1.1 persists unless ``Connection: close``; HTTP/1.0 only with the
    ``keep-alive`` option (or, as http.client reads it, a ``Keep-Alive`` field)."""
    options = head.values("connection") if "connection" in fields else []
    if "close" in options:
        return False
    if head.version >= 1:
        return True
    return "keep-alive" in options or any(name == "keep-alive" for name, _ in head.headers)
