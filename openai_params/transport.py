"""The transport: the only module that opens sockets. Standard library only (``http.client``).

It moves bytes and nothing else: :meth:`Transport.send` takes an
:class:`HTTPRequest` (method, absolute URL, headers, body bytes) and returns an
:class:`HTTPResponse` (status, headers, and the body read whole or piece by
piece). What the bytes mean is for the modules above it.

What it does for every request:

* **Connection reuse.** One pool of idle keep-alive connections per
  (scheme, host, port, proxy), safe across threads. A pooled connection that
  the server closed while it sat idle is replaced transparently: that does not
  count as a retry.
* **Timeout.** ``timeout`` (seconds) bounds the connect (and the proxy
  tunnel) and *every single wait for bytes*: sending, waiting for the status
  line, and each read of the body. It is not a deadline for the whole call: a
  server that keeps sending a byte every few seconds keeps the call alive (the
  stream reader above adds its own rule for that). Retries and their waits
  come on top.
* **Retries** as :mod:`.retry` decides: connection errors, timeouts before
  any response, 408, 409, 429, 5xx, with the server's ``x-should-retry`` /
  ``retry-after-ms`` / ``Retry-After`` honoured, else exponential backoff with
  jitter. Waits use ``cancel.wait(delay)`` so that a cancel is prompt.
* **Redirects are never followed**: a 3xx comes back as it is (a POST must not
  turn into a GET, and the key must never travel to another host).
* **Proxies** from ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` /
  ``NO_PROXY`` (either case), read once when the transport is made, or given
  as a dict (``{"https": "http://proxy:3128", "no": "localhost"}``; ``{}``
  for none). HTTPS goes through a ``CONNECT`` tunnel, plain HTTP in absolute
  form; ``user:password@`` in the proxy URL becomes ``Proxy-Authorization``.
* **TLS** is always verified: ``ssl.create_default_context()`` (the system
  store), or ``ca_bundle``, or the ``ssl_context`` you pass.
* **Errors**: every socket, TLS and ``http.client`` error is turned into
  :class:`~.errors.APIConnectionError` / :class:`~.errors.APITimeoutError`
  in one place (:class:`_ErrorMap`), ``raise ... from`` the original.
* **Logging** on ``logging.getLogger("openai_params")``: one DEBUG line per
  attempt (method, URL, status, duration, retry decision, headers with
  secrets redacted). Logging is never configured here.

``ssl``, ``http.client`` and ``urllib.request`` are imported on first use, so
``import openai_params`` stays light.

    transport = Transport()
    response = transport.send(HTTPRequest("GET", "https://api.openai.com/v1/models",
                                          {"Authorization": "Bearer sk-..."}),
                              timeout=30, max_retries=2)
    print(response.status, response.read()[:100])
"""

import logging
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Tuple, Type
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from ._redact import is_secret_header, redact, redacted_headers
from .errors import (APIConnectionError, APITimeoutError, APIUserAbortError, OpenAIError,
                     OpenAIException)
from .retry import RetryDecision, RetryPolicy, decide_retry

if TYPE_CHECKING:
    import http.client
    import ssl
    from types import ModuleType, TracebackType

__all__ = ["HTTPRequest", "HTTPResponse", "Transport", "CancelEvent", "RetryPolicy"]

logger = logging.getLogger("openai_params")

_READ_SIZE = 65536  # an upper bound per read, never a size to wait for
_PoolKey = Tuple[str, str, int, Optional[str]]


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


def redact_url(url: str) -> str:
    """``url`` with the values of secret-looking query parameters (``?key=``, ``api_key``) hidden."""
    base, sep, query = url.partition("?")
    if not sep:
        return url
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(is_secret_header(name) for name, _ in pairs):
        return url
    return base + "?" + urlencode([(n, redact(v) if is_secret_header(n) else v) for n, v in pairs])


# -- cancellation ---------------------------------------------------------------------------------
class CancelEvent(threading.Event):
    """A :class:`threading.Event` that also aborts the I/O of the calls it was given to.

    With a plain ``Event``, :meth:`Transport.send` notices a cancel between
    attempts and during retry waits; with a ``CancelEvent`` its ``set()``
    also shuts the socket of the attempt in flight (waiting for the status
    line or reading a streamed body), so the call ends at once with
    :class:`~.errors.APIUserAbortError`.
    """

    def __init__(self) -> None:
        super().__init__()
        self._hooks: Dict[int, Callable[[], None]] = {}
        self._hooks_lock = threading.Lock()
        self._next_hook = 0

    def set(self) -> None:
        super().set()
        with self._hooks_lock:
            hooks = list(self._hooks.values())
            self._hooks.clear()
        for hook in hooks:
            hook()

    def add_hook(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Run ``hook`` when the event is set (at once if it already is); returns a remover."""
        with self._hooks_lock:
            if not self.is_set():
                number = self._next_hook
                self._next_hook += 1
                self._hooks[number] = hook
                return lambda: self._remove_hook(number)
        hook()
        return _nothing

    def _remove_hook(self, number: int) -> None:
        with self._hooks_lock:
            self._hooks.pop(number, None)


def _nothing() -> None:
    return None


def _never() -> bool:
    return False


def _on_cancel(cancel: Optional[threading.Event], hook: Callable[[], None]) -> Callable[[], None]:
    if isinstance(cancel, CancelEvent):
        return cancel.add_hook(hook)
    return _nothing


def _shutdown(sock: Optional[socket.socket]) -> None:
    """Make a read blocked on ``sock`` in another thread return now.

    ``socket.socket.shutdown`` (not the TLS wrapper's) acts on the descriptor only;
    the descriptor itself is closed later by the thread that owns it, so it cannot
    be reused under that thread's feet.
    """
    if sock is None:
        return
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


# -- the one place where low-level errors are translated ------------------------------------------
class _ErrorMap:
    """``with _ErrorMap(...)``: socket, TLS and ``http.client`` errors raised inside become
    :class:`APITimeoutError` (a timeout), :class:`APIUserAbortError` (after a cancel or
    abort) or :class:`APIConnectionError` (anything else), ``raise ... from`` the original."""

    __slots__ = ("_low_level", "what", "_where", "_timeout", "_aborted")

    def __init__(self, low_level: Tuple[Type[BaseException], ...], what: str, where: str,
                 timeout: Optional[float], aborted: Callable[[], bool]) -> None:
        self._low_level = low_level
        self.what = what  # the phase ("connecting to"); the message is only built on error
        self._where = where
        self._timeout = timeout
        self._aborted = aborted

    def __enter__(self) -> "_ErrorMap":
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: "Optional[TracebackType]") -> None:
        if exc is None or not isinstance(exc, self._low_level):
            return
        what = "%s %s" % (self.what, self._where)
        if self._aborted():
            raise APIUserAbortError(OpenAIError("the call was cancelled while %s" % what,
                                                type="cancelled", cause=exc)) from exc
        if isinstance(exc, (socket.timeout, TimeoutError)):
            limit = " after %.3g s" % self._timeout if self._timeout is not None else ""
            raise APITimeoutError(OpenAIError("timed out%s %s" % (limit, what),
                                              type="timeout", cause=exc)) from exc
        text = str(exc)
        detail = "%s: %s" % (exc.__class__.__name__, text) if text else exc.__class__.__name__
        raise APIConnectionError(OpenAIError("connection error %s (%s)" % (what, detail),
                                             type="connection_error", cause=exc)) from exc


def _is_certificate_error(exc: Optional[BaseException]) -> bool:
    """TLS verification failed (by class name, so that ``ssl`` need not be imported here)."""
    return exc is not None and any(
        cls.__name__ in ("SSLCertVerificationError", "CertificateError") for cls in type(exc).__mro__)


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
        self._pool_key: Optional[_PoolKey] = None
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
                raw: "http.client.HTTPResponse", key: _PoolKey, where: str, timeout: float,
                cancel: Optional[threading.Event]) -> None:
        self._transport = transport
        self._low_level = transport._low_level_errors
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


# -- the pool ---------------------------------------------------------------------------------------
class _Pool:
    """Idle keep-alive connections per (scheme, host, port, proxy); safe across threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._idle: Dict[_PoolKey, List["http.client.HTTPConnection"]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def take(self, key: _PoolKey) -> "Optional[http.client.HTTPConnection]":
        while True:
            with self._lock:
                idle = self._idle.get(key)
                if not idle:
                    return None
                conn = idle.pop()
            if _still_open(conn):
                return conn
            conn.close()

    def give(self, key: _PoolKey, conn: "http.client.HTTPConnection") -> None:
        with self._lock:
            if not self._closed:
                idle = self._idle.setdefault(key, [])
                if len(idle) < self._size:
                    idle.append(conn)
                    return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns = [conn for idle in self._idle.values() for conn in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()


def _still_open(conn: "http.client.HTTPConnection") -> bool:
    """An idle connection must have nothing to read: readable means the server closed it
    (or sent bytes nobody asked for); either way it cannot carry another request."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return not poller.poll(0)
        return not select.select([sock], [], [], 0)[0]
    except (OSError, ValueError):
        return False


# -- routes and proxies -------------------------------------------------------------------------------
class _Proxy:
    __slots__ = ("host", "port", "authorization", "label")

    def __init__(self, url: str) -> None:
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme.lower() != "http":
            raise ValueError("only http:// proxies are supported (got a %s:// proxy)" % parts.scheme)
        if not parts.hostname:
            raise ValueError("the proxy URL has no host")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.authorization: Optional[str] = None
        if parts.username is not None:
            import base64

            userinfo = "%s:%s" % (unquote(parts.username), unquote(parts.password or ""))
            self.authorization = "Basic " + base64.b64encode(userinfo.encode("utf-8")).decode("ascii")
        self.label = "http://%s:%d" % (self.host, self.port)  # never the credentials


class _Route:
    """Where the bytes of requests to one origin go: directly or through a proxy."""

    __slots__ = ("scheme", "host", "port", "proxy", "key", "where")

    def __init__(self, scheme: str, host: str, port: int, proxy: Optional[_Proxy]) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.proxy = proxy
        self.key: _PoolKey = (scheme, host, port, proxy.label if proxy is not None else None)
        origin = "%s://%s:%d" % (scheme, host, port)
        self.where = origin if proxy is None else "%s via proxy %s" % (origin, proxy.label)


# -- the transport ------------------------------------------------------------------------------------
class Transport:
    """Sends :class:`HTTPRequest` objects; owns the connection pool. Safe across threads.

    ``proxies``: None reads the environment once, here; a dict such as
    ``{"http": ..., "https": ..., "no": "localhost,.internal"}`` is used as given.
    ``ssl_context`` / ``ca_bundle``: how TLS certificates are checked (default:
    the system store, always verified). ``pool_size``: idle connections kept per host.
    """

    def __init__(self, *, ssl_context: "Optional[ssl.SSLContext]" = None,
                 ca_bundle: Optional[str] = None, proxies: Optional[Dict[str, str]] = None,
                 retry_policy: Optional[RetryPolicy] = None, pool_size: int = 10) -> None:
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 0:
            raise ValueError("pool_size must be an int >= 0 (got %r)" % (pool_size,))
        self.retry_policy = retry_policy if retry_policy is not None else RetryPolicy()
        if ssl_context is None and ca_bundle is not None:
            import ssl

            # Made now so that a wrong path fails here, not on the first request.
            ssl_context = ssl.create_default_context(cafile=ca_bundle)
        self._ssl_context = ssl_context
        if proxies is None:
            import urllib.request

            proxies = urllib.request.getproxies_environment()
        self._proxies: Dict[str, str] = {k.lower(): v for k, v in proxies.items() if v}
        self._pool = _Pool(pool_size)
        self._routes: Dict[str, _Route] = {}
        self._targets: Dict[str, Tuple[_Route, str]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._http_client: "Optional[ModuleType]" = None
        self._low_level_errors: Tuple[Type[BaseException], ...] = (OSError,)

    def __repr__(self) -> str:
        return "<Transport proxies=%r>" % sorted(k for k in self._proxies if k != "no")

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the idle connections; responses still being read close theirs when done."""
        self._closed = True
        self._pool.close()

    # -- lazily imported pieces --------------------------------------------------------------
    def _http(self) -> "ModuleType":
        module = self._http_client
        if module is None:
            import http.client

            module = self._http_client = http.client
            self._low_level_errors = (OSError, http.client.HTTPException)
        return module

    def _low_level(self) -> Tuple[Type[BaseException], ...]:
        self._http()
        return self._low_level_errors

    def _ssl(self) -> "ssl.SSLContext":
        context = self._ssl_context
        if context is None:
            with self._lock:
                if self._ssl_context is None:
                    import ssl

                    # Verified against the system store, hostname checked.
                    self._ssl_context = ssl.create_default_context()
                context = self._ssl_context
        return context

    # -- routing -----------------------------------------------------------------------------
    def _route(self, url: str) -> Tuple[_Route, str]:
        """(route, request-target) for an absolute URL; remembered for the same URL."""
        found = self._targets.get(url)
        if found is None:
            found = self._find_route(url)
            with self._lock:
                if len(self._targets) >= 512:  # bounded: URLs with ids in them vary
                    self._targets.clear()
                self._targets[url] = found
        return found

    def _find_route(self, url: str) -> Tuple[_Route, str]:
        scheme, rest = url.split("://", 1) if "://" in url else ("", url)
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError("the URL must start with http:// or https:// (got %r)" % redact_url(url))
        slash = [i for i in (rest.find("/"), rest.find("?")) if i >= 0]
        cut = min(slash) if slash else len(rest)
        netloc, path = rest[:cut], rest[cut:].split("#", 1)[0]
        if not path.startswith("/"):
            path = "/" + path
        route = self._routes.get(scheme + "://" + netloc)
        if route is None:
            route = self._new_route(scheme, netloc)
            with self._lock:
                self._routes[scheme + "://" + netloc] = route
        if route.proxy is not None and scheme == "http":
            # RFC 9112, 3.2.2: a request to a proxy uses the absolute-form target.
            return route, "http://%s%s" % (netloc.rpartition("@")[2], path)
        return route, path

    def _new_route(self, scheme: str, netloc: str) -> _Route:
        parts = urlsplit(scheme + "://" + netloc)
        host = parts.hostname
        if not host:
            raise ValueError("the URL has no host (got %r)" % netloc)
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise ValueError("the URL has an invalid port (got %r)" % netloc) from exc
        proxy_url = self._proxies.get(scheme) or self._proxies.get("all")
        proxy = None
        if proxy_url and not self._bypass(host, port):
            proxy = _Proxy(proxy_url)
        return _Route(scheme, host, port, proxy)

    def _bypass(self, host: str, port: int) -> bool:
        if "no" not in self._proxies:
            return False
        import urllib.request

        hostport = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
        # Documented in urllib.request's source, not in its typing stubs.
        bypass: Callable[[str, Dict[str, str]], Any] = getattr(urllib.request,
                                                               "proxy_bypass_environment")
        return bool(bypass(hostport, self._proxies))

    def _new_connection(self, route: _Route, timeout: float) -> "http.client.HTTPConnection":
        """A connection object; nothing is opened until it is used."""
        hc = self._http()
        proxy = route.proxy
        conn: "http.client.HTTPConnection"
        if proxy is None:
            if route.scheme == "https":
                conn = hc.HTTPSConnection(route.host, route.port, timeout=timeout,
                                          context=self._ssl())
            else:
                conn = hc.HTTPConnection(route.host, route.port, timeout=timeout)
        elif route.scheme == "https":
            conn = hc.HTTPSConnection(proxy.host, proxy.port, timeout=timeout, context=self._ssl())
            tunnel_headers = {"Proxy-Authorization": proxy.authorization} if proxy.authorization else None
            conn.set_tunnel(route.host, route.port, headers=tunnel_headers)
        else:
            conn = hc.HTTPConnection(proxy.host, proxy.port, timeout=timeout)
        return conn

    # -- sending -----------------------------------------------------------------------------
    def send(self, request: HTTPRequest, *, timeout: float, max_retries: int, stream: bool = False,
             cancel: Optional[threading.Event] = None) -> HTTPResponse:
        """Send ``request``; retry as :mod:`.retry` decides; return the response.

        ``stream=False``: the body is read before this returns. ``stream=True``: a
        2xx returns as soon as its headers are in (read the body with
        ``iter_bytes()``); any other status has its body read (retry decisions
        need it). A non-2xx after the last attempt is returned, not raised.

        Raises :class:`APIConnectionError` / :class:`APITimeoutError` when the last
        attempt got no usable response, :class:`APIUserAbortError` when ``cancel``
        is set, ``ValueError`` for a bad URL or arguments.
        """
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError("timeout must be a number of seconds > 0 (got %r)" % (timeout,))
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError("max_retries must be an int >= 0 (got %r)" % (max_retries,))
        if self._closed:
            raise RuntimeError("the transport is closed")
        route, target = self._route(request.url)
        headers = request.headers
        if route.proxy is not None and route.proxy.authorization and route.scheme == "http":
            headers = dict(headers)
            headers["Proxy-Authorization"] = route.proxy.authorization
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            if cancel is not None and cancel.is_set():
                raise APIUserAbortError(OpenAIError("the call was cancelled", type="cancelled"))
            attempt_started = time.monotonic()
            response: Optional[HTTPResponse] = None
            failure: Optional[OpenAIException] = None
            try:
                response = self._exchange(request, route, target, headers, timeout, cancel)
                if not stream or not 200 <= response.status < 300:
                    response.read()
            except APIUserAbortError:
                self._log(request, attempt, max_retries, attempt_started, None, "cancelled", None)
                raise
            except APITimeoutError as exc:
                if response is not None:  # the response had begun: not retried
                    self._log(request, attempt, max_retries, attempt_started, response.status,
                              "timeout reading the body", None)
                    raise
                failure = exc
            except APIConnectionError as exc:
                failure = exc
            if failure is not None:
                cause = failure.__cause__
                if _is_certificate_error(cause):
                    # A certificate that failed verification will fail again: no retry.
                    decision = RetryDecision(False, 0.0, "TLS certificate verification failed")
                else:
                    decision = decide_retry(
                        self.retry_policy, status=None, headers={}, body=b"", attempt=attempt,
                        max_retries=max_retries,
                        error=cause.__class__.__name__ if cause is not None else "connection error")
                self._log(request, attempt, max_retries, attempt_started, None,
                          failure.error.message, decision)
                if not decision.retry:
                    raise failure
            elif response is not None:
                if 200 <= response.status < 300:
                    decision = _SUCCESS  # the common case, without the policy's bookkeeping
                else:
                    decision = decide_retry(self.retry_policy, status=response.status,
                                            headers=response.headers, body=response._body or b"",
                                            attempt=attempt, max_retries=max_retries)
                self._log(request, attempt, max_retries, attempt_started, response.status, None,
                          decision)
                if not decision.retry:
                    response.attempts = attempt
                    response.elapsed = time.monotonic() - started
                    response.retry_decision = decision
                    return response
                response.close()
            if decision.delay > 0:
                if cancel is None:
                    time.sleep(decision.delay)
                elif cancel.wait(decision.delay):
                    raise APIUserAbortError(OpenAIError(
                        "the call was cancelled while waiting %.3g s to retry" % decision.delay,
                        type="cancelled"))

    def _exchange(self, request: HTTPRequest, route: _Route, target: str,
                  headers: Dict[str, str], timeout: float,
                  cancel: Optional[threading.Event]) -> HTTPResponse:
        """One attempt up to the end of the response head."""
        aborted = cancel.is_set if cancel is not None else _never
        for fresh in (False, True):
            conn = None if fresh else self._pool.take(route.key)
            reused = conn is not None
            if conn is None:
                conn = self._new_connection(route, timeout)
            elif conn.timeout != timeout:
                conn.timeout = timeout
                if conn.sock is not None:
                    conn.sock.settimeout(timeout)
            watched = conn
            unhook = _on_cancel(cancel, lambda: _shutdown(watched.sock))
            errors = _ErrorMap(self._low_level(), "connecting to", route.where, timeout, aborted)
            try:
                with errors:
                    if conn.sock is None:
                        conn.connect()
                    if aborted():
                        raise APIUserAbortError(OpenAIError("the call was cancelled",
                                                            type="cancelled"))
                    errors.what = "sending the request to"
                    conn.request(request.method, target, request.body, headers)
                    errors.what = "waiting for the response from"
                    raw = conn.getresponse()
            except APIConnectionError as exc:
                conn.close()
                if reused and not isinstance(exc, APITimeoutError) and _is_stale(exc.__cause__):
                    # RFC 9112, 9.3.1: a server may close an idle connection at any time; the
                    # request never reached it, so a new connection is tried without a retry.
                    logger.debug("%s %s: the pooled connection was closed by the server (%s); "
                                 "reconnecting", request.method, redact_url(request.url),
                                 exc.__cause__.__class__.__name__)
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            finally:
                unhook()
            response_headers: Dict[str, str] = {}
            # raw_items(): the (name, value) pairs as parsed; getheaders() would run each one
            # through the email package's policy again, for nothing (http.client decodes
            # header bytes as Latin-1, so there is nothing to sanitize).
            for name, value in raw.msg.raw_items():
                name = name.lower()
                response_headers[name] = (response_headers[name] + ", " + value
                                          if name in response_headers else value)
            response = HTTPResponse(raw.status, raw.reason, response_headers, request.url)
            response._attach(self, conn, raw, route.key, route.where, timeout, cancel)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _log(self, request: HTTPRequest, attempt: int, max_retries: int, started: float,
             status: Optional[int], error: Optional[str], decision: Optional[RetryDecision]) -> None:
        if not logger.isEnabledFor(logging.DEBUG):
            return
        outcome = str(status) if error is None else ("%s: %s" % (status, error) if status else error)
        if decision is None:
            then = ""
        elif decision.retry:
            then = "; retrying in %.3g s (%s)" % (decision.delay, decision.reason)
        elif status is not None and 200 <= status < 300:
            then = ""
        else:
            then = "; not retried (%s)" % decision.reason
        logger.debug("%s %s -> %s in %.1f ms (attempt %d of %d)%s; headers %r",
                     request.method, redact_url(request.url), outcome,
                     (time.monotonic() - started) * 1000.0, attempt, max_retries + 1, then,
                     request.redacted_headers())


_SUCCESS = RetryDecision(False, 0.0, "success")


def _is_stale(cause: Optional[BaseException]) -> bool:
    """A reused connection failing like this got no byte of an answer: the server had
    closed it (RemoteDisconnected is a ConnectionResetError; BrokenPipe, reset, TLS EOF)."""
    if isinstance(cause, ConnectionError):
        return True
    return cause is not None and cause.__class__.__name__ == "SSLEOFError"

