"""A small scriptable HTTP/1.1 test server that can misbehave on demand. Standard library only.

It listens on 127.0.0.1 (a free port), answers from a queue of scripted
:class:`Reply` objects (then from ``default`` when the queue is empty),
records every request it receives, and counts the TCP connections it accepts.

    server = FakeServer()                     # or the ``fake_server`` fixture
    server.add(429, headers={"retry-after-ms": "10"},
               json={"error": {"message": "slow down", "type": "requests"}})
    server.add(200, json={"id": "chatcmpl-1"})
    ...                                       # the client under test calls server.url + "/v1/..."
    server.requests[0].headers["authorization"]   # what it received (keys lower-case)
    server.requests[1].json                       # parsed body (None if not JSON)
    server.connections                            # TCP connections accepted so far
    server.wait_closed(1)                         # until the server has closed one of them
    server.close()

What a :class:`Reply` can do (all keyword arguments of ``Reply`` and of ``add``):

* ``status``, ``headers`` (a dict, or a list of pairs to repeat a header),
  ``body`` (bytes or str) or ``json`` (any JSON value; sets the content type).
  A plain body is sent with ``Content-Length``.
* ``pieces=[b"...", b"...", event, b"..."]``: the body is sent piece by piece,
  each written and flushed on its own, with chunked transfer-encoding
  (``chunked=False``: no length, ``Connection: close``, the end is the close).
  A ``threading.Event`` in the list (or ``wait_for={index: event}``) makes the
  server wait for the event before sending the next piece: tests hold the
  server until the client has seen what came before. No sleeps needed.
* ``pace=seconds``: wait that long before each piece after the first (a server
  that trickles bytes, as in keep-alive tests; the wait ends early when the
  server closes).
* ``cut_after=N``: close the connection mid-body: after N bytes of ``body``
  (the ``Content-Length`` still announces the whole), or after N ``pieces``
  (no final chunk).
* ``hang=True``: read the request and answer nothing until ``release`` (an
  Event) is set, then answer normally; without ``release``, until the server
  closes (then the connection is closed without an answer).
* ``hang=True, gone=event``: held until the client closes its side of the connection (then
  ``gone`` is set and nothing is answered) or the server closes: a client that cancels a call
  in flight shuts its socket, and the test learns the moment it did.
* ``delay=seconds``: wait that long before answering (a server busy with the request;
  ``server.in_flight`` / ``server.max_in_flight`` count the requests it holds at once).
* ``drop=True``: read the request and close the connection without a byte (as
  a server that timed out an idle keep-alive connection just as it was reused).
* ``close=True``: send ``Connection: close`` and close after the reply;
  ``close_silently=True``: close after the reply without saying so.
* ``Reply.redirect(location, status=302)``.

``FakeServer(ssl_context=...)`` serves HTTPS (``url`` then starts with https).

A queued item (or ``default``) may also be a function ``(RecordedRequest) ->
Reply`` for answers that depend on the request. Server-side waits on events
give up after ``wait_timeout`` seconds (default 10) so that a broken test fails
instead of hanging; each give-up is listed in ``server.problems``.

The same server is a recording proxy: a request in absolute form
(``GET http://host/path``) is answered from the queue like any other, with
``RecordedRequest.target`` keeping the full URL; a ``CONNECT host:port`` is
recorded too and answered with the queued reply's status (then closed).

``chat_reply(...)`` builds the Reply of a chat completion, whole or streamed:
a structured answer, a refusal, an answer cut by ``length`` / ``content_filter``,
tool calls, several choices (see its docstring).

Scripted conversations with tool calls (a model that calls tools, then answers,
streamed or not): ``tests/conversations.py``'s ``ScriptedModel``, set as ``default``.

Fixtures (``tests/conftest_fakeserver.py``): ``fake_server``, ``second_server``
(e.g. a redirect target that must receive nothing), ``proxy_server``.
"""

import json as _json
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    import ssl

__all__ = ["FakeServer", "Reply", "RecordedRequest"]

Piece = Union[bytes, threading.Event]
HeadersLike = Union[Dict[str, str], Sequence[Tuple[str, str]]]


class Reply:
    """One scripted answer; see the module docstring for every option."""

    def __init__(
        self,
        status: int = 200,
        body: Union[bytes, str] = b"",
        *,
        json: Any = None,
        headers: Optional[HeadersLike] = None,
        pieces: Optional[Sequence[Piece]] = None,
        chunked: bool = True,
        wait_for: Optional[Dict[int, threading.Event]] = None,
        pace: float = 0.0,
        cut_after: Optional[int] = None,
        hang: bool = False,
        release: Optional[threading.Event] = None,
        gone: Optional[threading.Event] = None,
        drop: bool = False,
        close: bool = False,
        close_silently: bool = False,
        delay: float = 0.0,
    ) -> None:
        self.status = status
        self.delay = delay
        self.headers: List[Tuple[str, str]] = list(
            headers.items() if isinstance(headers, dict) else (headers or [])
        )
        if json is not None:
            body = _json.dumps(json).encode("utf-8")
            if not self.has_header("content-type"):
                self.headers.append(("Content-Type", "application/json"))
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.pieces = list(pieces) if pieces is not None else None
        self.chunked = chunked
        self.wait_for = dict(wait_for or {})
        self.pace = pace
        self.cut_after = cut_after
        self.hang = hang
        self.release = release
        self.gone = gone
        self.drop = drop
        self.close = close
        self.close_silently = close_silently

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> "Reply":
        return cls(status, headers={"Location": location})

    def has_header(self, name: str) -> bool:
        return any(k.lower() == name.lower() for k, _ in self.headers)


ReplyLike = Union[Reply, Callable[["RecordedRequest"], Reply]]


class RecordedRequest:
    """What the server received: ``method``, ``target`` (as sent: origin or absolute form),
    ``path``, ``query`` (name -> list of values), ``headers`` (lower-case keys, repeats joined
    with ", "), ``header_list`` (as sent), ``body`` bytes, ``json`` (None if not JSON), and
    ``connection``: the number (1, 2, ...) of the TCP connection it came on; ``received_at``:
    ``time.monotonic()`` when it was read."""

    def __init__(
        self, method: str, target: str, header_list: List[Tuple[str, str]], body: bytes, connection: int
    ) -> None:
        self.method = method
        self.target = target
        parts = urlsplit(target)
        self.path = parts.path if target.startswith(("http://", "https://", "/")) else target
        self.query: Dict[str, List[str]] = parse_qs(parts.query, keep_blank_values=True)
        self.header_list = header_list
        self.headers: Dict[str, str] = {}
        for name, value in header_list:
            key = name.lower()
            self.headers[key] = self.headers[key] + ", " + value if key in self.headers else value
        self.body = body
        self.connection = connection
        self.received_at = time.monotonic()
        try:
            self.json: Any = _json.loads(body.decode("utf-8")) if body else None
        except ValueError:
            self.json = None

    def __repr__(self) -> str:
        return "<RecordedRequest %s %s on connection %d>" % (self.method, self.target, self.connection)


class FakeServer:
    """The server; starts listening at once. ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(
        self,
        default: Optional[ReplyLike] = None,
        wait_timeout: float = 10.0,
        ssl_context: "Optional[ssl.SSLContext]" = None,
    ) -> None:
        self.ssl_context = ssl_context
        self.default: ReplyLike = (
            default if default is not None else Reply(200, json={"object": "fake", "ok": True})
        )
        self.wait_timeout = wait_timeout
        self.requests: List[RecordedRequest] = []
        self.problems: List[str] = []
        self.connections = 0
        self.closed_connections = 0
        self.in_flight = 0  # requests read and not yet answered
        self.max_in_flight = 0
        self._closed_changed = threading.Condition()
        self._queue: List[ReplyLike] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sockets: List[socket.socket] = []
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.port: int = self._httpd.server_address[1]
        self.url = "%s://127.0.0.1:%d" % ("https" if ssl_context else "http", self.port)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fakeserver-%d" % self.port,
            daemon=True,
        )
        self._thread.start()

    def __enter__(self) -> "FakeServer":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- scripting -----------------------------------------------------------------------------
    def add(
        self, reply: Union[ReplyLike, int, None] = None, body: Union[bytes, str] = b"", **options: Any
    ) -> "FakeServer":
        """Queue a reply: ``add(Reply(...))``, ``add(func)``, or ``add(status, body, **options)``."""
        if reply is None or isinstance(reply, int):
            reply = Reply(200 if reply is None else reply, body, **options)
        elif body or options:
            raise TypeError("options go with a status, not with a Reply or function")
        with self._lock:
            self._queue.append(reply)
        return self

    @property
    def pending(self) -> int:
        """Replies still queued."""
        with self._lock:
            return len(self._queue)

    def _next(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            item = self._queue.pop(0) if self._queue else self.default
        return item(request) if callable(item) else item

    def _wait(self, event: threading.Event, what: str) -> bool:
        """Wait for ``event``; False (and a problem noted) if the server closes or it takes too long."""
        waited = 0.0
        while not event.is_set() and not self._stopping.is_set() and waited < self.wait_timeout:
            event.wait(0.05)
            waited += 0.05
        if event.is_set():
            return True
        if not self._stopping.is_set():
            self.problems.append("gave up waiting for %s after %.3g s" % (what, self.wait_timeout))
        return False

    # -- lifecycle -----------------------------------------------------------------------------
    def _accepted(self, sock: socket.socket) -> int:
        with self._lock:
            self.connections += 1
            self._sockets.append(sock)
            return self.connections

    def wait_closed(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until the server has closed ``count`` connections (its side); False on timeout."""
        with self._closed_changed:
            return self._closed_changed.wait_for(lambda: self.closed_connections >= count, timeout)

    def _closed(self) -> None:
        with self._closed_changed:
            self.closed_connections += 1
            self._closed_changed.notify_all()

    def close(self) -> None:
        """Stop: release every held reply, close every connection, stop listening."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # many clients connecting at once (fan-out tests)
    owner: FakeServer

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)  # type: ignore[misc]
        self.owner._closed()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-reply is what many tests do on purpose: note it, quietly.
        import sys

        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, socket.timeout, OSError)):
            self.owner.problems.append("handler error: %r" % (exc,))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        self.tls_failed = False
        context = self.server.owner.ssl_context
        if context is not None:
            try:
                self.request = context.wrap_socket(self.request, server_side=True)
            except OSError as exc:  # a client that refused our certificate, say
                self.server.owner.problems.append("TLS handshake failed: %s" % exc)
                self.tls_failed = True
        super().setup()
        # Head and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connection_number = self.server.owner._accepted(self.connection)

    def handle(self) -> None:
        if not self.tls_failed:
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        return None  # quiet

    def _serve(self) -> None:
        owner = self.server.owner
        with owner._lock:
            owner.in_flight += 1
            owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
        self.held = True
        try:
            self._answer(owner)
        finally:
            self._let_go(owner)

    def _let_go(self, owner: FakeServer) -> None:
        """No longer held: called before the answer is written (the client may send its next
        request the moment it has read this one)."""
        if self.held:
            self.held = False
            with owner._lock:
                owner.in_flight -= 1

    def _answer(self, owner: FakeServer) -> None:
        body = self._read_body()
        request = RecordedRequest(
            self.command, self.path, list(self.headers.items()), body, self.connection_number
        )
        reply = owner._next(request)
        if reply.drop:
            self.close_connection = True
            return
        if reply.hang:
            if reply.gone is not None:
                if self._client_gone(owner):
                    reply.gone.set()
                self.close_connection = True
                return
            if reply.release is None:
                owner._stopping.wait()  # held until the server closes
                self.close_connection = True
                return
            if not owner._wait(reply.release, "the release of a hung reply"):
                self.close_connection = True
                return
        if reply.delay and owner._stopping.wait(reply.delay):
            self.close_connection = True
            return
        self._let_go(owner)
        if self.command == "CONNECT":
            self.send_response(reply.status)
            self.end_headers()
            self.close_connection = True
            return
        if reply.pieces is not None:
            self._send_pieces(reply)
        else:
            self._send_body(reply)

    def _client_gone(self, owner: FakeServer) -> bool:
        """Wait until the client closes the connection (True) or the server closes (False)."""
        while not owner._stopping.is_set():
            readable, _, _ = select.select([self.connection], [], [], 0.02)
            if readable:
                try:
                    return self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    return True
        return False

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_CONNECT = _serve

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _head(self, reply: Reply, extra: List[Tuple[str, str]]) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers + extra:
            self.send_header(name, value)
        if reply.close:
            self.send_header("Connection", "close")
        self.end_headers()

    def _send_body(self, reply: Reply) -> None:
        extra = [] if reply.has_header("content-length") else [("Content-Length", str(len(reply.body)))]
        self._head(reply, extra)
        if self.command == "HEAD":
            body = b""
        elif reply.cut_after is not None:
            body = reply.body[: reply.cut_after]
        else:
            body = reply.body
        if body:
            self.wfile.write(body)
        self.close_connection = bool(reply.close or reply.close_silently or reply.cut_after is not None)

    def _send_pieces(self, reply: Reply) -> None:
        owner = self.server.owner
        pieces = reply.pieces or []
        chunked = reply.chunked
        extra = [("Transfer-Encoding", "chunked")] if chunked else [("Connection", "close")]
        self._head(reply, extra)
        if reply.cut_after == 0:
            self.close_connection = True
            return
        sent = 0
        for piece in pieces:
            if isinstance(piece, threading.Event):
                event: Optional[threading.Event] = piece
            else:
                event = reply.wait_for.get(sent)
            if event is not None and not owner._wait(event, "the event before piece %d" % sent):
                if owner._stopping.is_set():
                    self.close_connection = True
                    return
            if isinstance(piece, threading.Event):
                continue
            if reply.pace and sent and owner._stopping.wait(reply.pace):
                self.close_connection = True
                return
            if piece:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += 1
            if reply.cut_after is not None and sent >= reply.cut_after:
                self.close_connection = True  # no final chunk: the body is cut
                return
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.close_connection = bool(reply.close or reply.close_silently or not chunked)


# -- chat answers ------------------------------------------------------------------------------
def chat_reply(
    content: Optional[str] = None,
    *,
    finish_reason: Optional[str] = None,
    refusal: Optional[str] = None,
    tool_calls: Optional[Sequence[Dict[str, Any]]] = None,
    choices: Optional[Sequence[Dict[str, Any]]] = None,
    stream: bool = False,
    split: int = 3,
) -> Reply:
    """A chat completion: one choice from the keywords, or ``choices``, a list of dicts with the
    same keys: ``content``, ``finish_reason`` (``"stop"``, or ``"tool_calls"`` when there are
    some), ``refusal``, ``tool_calls`` (``[{"id", "name", "arguments"}]``). ``stream=True``
    sends it as SSE chunks, each text and each call's arguments cut in ``split`` pieces, as
    servers stream them.

        server.add(chat_reply('{"name": "Ada"}'))
        server.add(chat_reply(refusal="I can't help with that.", stream=True))
        server.add(chat_reply('{"na', finish_reason="length"))
    """
    given = choices or [
        {"content": content, "finish_reason": finish_reason, "refusal": refusal, "tool_calls": tool_calls}
    ]
    made = [_choice(index, spec) for index, spec in enumerate(given)]
    head = {"id": "chatcmpl-fake", "created": 1700000000, "model": "fake-model"}
    if not stream:
        body = dict(head, object="chat.completion", choices=[m for m, _ in made])
        body["usage"] = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
        return Reply(200, json=body, headers={"x-request-id": "req_fake"})
    events: List[Dict[str, Any]] = []
    for index, (message, finish) in enumerate(made):
        delta = [
            {"role": "assistant", "content": "" if message["message"].get("content") is not None else None}
        ]
        for key in ("content", "refusal"):
            delta += [{key: part} for part in _pieces(message["message"].get(key), split)]
        for number, call in enumerate(message["message"].get("tool_calls") or ()):
            first = {"index": number, "id": call["id"], "type": "function"}
            first["function"] = {"name": call["function"]["name"], "arguments": ""}
            delta.append({"tool_calls": [first]})
            delta += [
                {"tool_calls": [{"index": number, "function": {"arguments": part}}]}
                for part in _pieces(call["function"]["arguments"], split)
            ]
        for part in delta:
            events.append({"index": index, "delta": part, "logprobs": None, "finish_reason": None})
        events.append({"index": index, "delta": {}, "logprobs": None, "finish_reason": finish})
    pieces = [
        b"data: "
        + _json.dumps(dict(head, object="chat.completion.chunk", choices=[event])).encode()
        + b"\n\n"
        for event in events
    ]
    return Reply(
        200,
        pieces=pieces + [b"data: [DONE]\n\n"],
        headers={"Content-Type": "text/event-stream", "x-request-id": "req_fake"},
    )


def _choice(index: int, spec: Dict[str, Any]) -> Tuple[Dict[str, Any], str]:
    message: Dict[str, Any] = {"role": "assistant", "content": spec.get("content")}
    if spec.get("refusal") is not None:
        message["refusal"] = spec["refusal"]
    calls = [
        {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": call["arguments"]},
        }
        for call in spec.get("tool_calls") or ()
    ]
    if calls:
        message["tool_calls"] = calls
    finish = spec.get("finish_reason") or ("tool_calls" if calls else "stop")
    return {"index": index, "message": message, "logprobs": None, "finish_reason": finish}, finish


def _pieces(text: Optional[str], split: int) -> List[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // max(1, split)))
    return [text[start : start + size] for start in range(0, len(text), size)]
