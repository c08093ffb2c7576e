"""The transport: the only module that opens sockets. Standard library only (``socket``, ``ssl``).

It moves bytes and nothing else: :meth:`Transport.send` takes an
:class:`HTTPRequest` (method, absolute URL, headers, body bytes) and returns an
:class:`HTTPResponse` (status, headers, and the body read whole or piece by
piece). What the bytes mean is for the modules above it.

This module holds :class:`Transport`, in the shape httpx uses: ``send`` is
the retry loop only; ``_attempt`` makes one attempt and returns the response
or how it failed (an :class:`~.retry.AttemptFailure`); :mod:`.retry` decides
what happens next, without sockets. Also here: :class:`TransportLike`, what
``OpenAI(transport=...)`` accepts. Its parts live beside it, and the names you
need are importable from here:

* :mod:`._http`: :class:`HTTPRequest`, :class:`HTTPResponse` (reading the
  body, handing the connection back through the ``release`` callable it is
  given);
* :mod:`._connections`: routes, proxies, making connections, the pool;
* :mod:`._socket_connection`: one blocking connection (TCP, tunnel, TLS) and
  the body read from it;
* :mod:`._h1`: the request head written, the response read (sans I/O, shared
  with the asyncio transport);
* :mod:`._errormap`: ``_ErrorMap``, where low-level errors are translated;
* :mod:`._cancel`: :class:`CancelEvent`.

What it does for every request:

* **Connection reuse.** One pool of idle keep-alive connections per
  (scheme, host, port, proxy), safe across threads. A pooled connection that
  the server closed before the request was completely written is replaced at
  once, not counted as a retry; once the request was written, a failure is an
  ordinary attempt (the server may have acted on it: a POST is never sent
  twice for free).
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
  ``NO_PROXY`` (either case), read once at the first request, or given
  as a dict (``{"https": "http://proxy:3128", "no": "localhost"}``; ``{}``
  for none). HTTPS goes through a ``CONNECT`` tunnel, plain HTTP in absolute
  form; ``user:password@`` in the proxy URL becomes ``Proxy-Authorization``.
* **TLS** is always verified: ``ssl.create_default_context()`` (the system
  store), or ``ca_bundle``, or the ``ssl_context`` you pass.
* **Errors**: every socket, TLS and protocol error is turned into
  :class:`~.errors.APIConnectionError` / :class:`~.errors.APITimeoutError`
  in one place (:class:`._errormap._ErrorMap`), ``raise ... from`` the original.
* **Logging** on ``logging.getLogger("openai_params")``: one DEBUG line per
  attempt (method, URL, status, duration, retry decision, headers with
  secrets redacted). Logging is never configured here.

``socket``, ``ssl`` and ``urllib.request`` are imported at the first
request, so ``import openai_params`` and ``OpenAI()`` stay light.

    transport = Transport()
    response = transport.send(HTTPRequest("GET", "https://api.openai.com/v1/models",
                                          {"Authorization": "Bearer sk-..."}),
                              timeout=30, max_retries=2)
    print(response.status, response.read()[:100])
"""

# With the transport (made with the client), not at the first log line: a call cancelled at the
# interpreter's exit must import nothing then (on 3.11 a module that defines a named tuple,
# imported during shutdown, turns Ctrl-C's exit status 130 into 1).
import logging
import threading
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Dict, Optional, Protocol, Union

from ._cancel import CancelEvent, _never, _on_cancel
from ._checks import check_int, check_timeout, wrong_type
from ._connections import _Connector, _Route, _SharedPool
from ._errormap import _ErrorMap
from ._h1 import ResponseHead, ResponseReader, host_field, request_head
from ._http import HTTPRequest, HTTPResponse
from ._redact import redact_url
from ._socket_connection import Connection, SocketBody
from .errors import APIConnectionError, APITimeoutError, APIUserAbortError
from .retry import AttemptFailure, RetryDecision, RetryPolicy, decide_failure, decide_retry

if TYPE_CHECKING:
    import ssl

__all__ = ["Transport", "TransportLike", "HTTPRequest", "HTTPResponse", "CancelEvent", "RetryPolicy"]


# The phases of an attempt, as error messages name them; past _WAITING the request was written.
_CONNECTING = "connecting to"
_SENDING = "sending the request to"
_WAITING = "waiting for the response from"
_READING = "reading the response body from"


class TransportLike(Protocol):
    """What ``OpenAI(transport=...)`` accepts: :class:`Transport`, :class:`~openai_params.MockTransport`,
    or any object with these two methods."""

    def send(
        self,
        request: HTTPRequest,
        *,
        timeout: float,
        max_retries: int,
        stream: bool = False,
        cancel: Optional[threading.Event] = None,
    ) -> HTTPResponse:
        """The response to ``request`` (its body read unless ``stream`` and a 2xx)."""

    def close(self) -> None:
        """Release what the transport holds (idle connections)."""


class _Failed:
    """An attempt without a usable response: the error to raise (a timeout too), and how it
    failed, for :func:`.retry.decide_failure`."""

    __slots__ = ("error", "failure")

    def __init__(
        self, error: APIConnectionError, *, written: bool, reused: bool, answered: bool = False
    ) -> None:
        self.error = error
        timed_out = isinstance(error, APITimeoutError)
        self.failure = AttemptFailure(
            error.__cause__, timed_out, written=written, reused=reused, answered=answered
        )


class _Call:
    """One call of ``send``, the same for both transports: the checked arguments, the
    request's route and bytes, and the retry loop as a state machine that each transport
    drives (this one with ``time.sleep``, :mod:`.async_transport` with ``asyncio.sleep``):
    it numbers the attempts, asks :mod:`.retry` what to do after each, logs it, and says
    how long to wait.

        call = _Call(transport, request, timeout, max_retries, stream)
        while True:
            call.begin()
            outcome = ...                  # one attempt: an HTTPResponse or a _Failed
            delay = call.after(outcome)
            if delay is None:
                return call.final(outcome)  # the response, or raises the error
            ...                            # wait ``delay`` seconds
    """

    def __init__(
        self,
        transport: "_TransportBase",
        request: HTTPRequest,
        timeout: float,
        max_retries: int,
        stream: bool,
    ) -> None:
        self.timeout = _check_send_arguments(timeout, max_retries)
        if transport._closed:
            raise RuntimeError("the transport is closed")
        self.request = request
        route, target = transport._connector.route(request.url)
        self.route = route
        host = host_field(route.scheme, route.host, route.port)
        headers = _proxy_headers(route, request.headers)
        body = request.body
        # Raises ValueError for a head that would break (see request_head), before anything is
        # sent. A body of bytes goes in the same write; a body in pieces (an upload, its
        # Content-Length given) follows piece by piece.
        head = request_head(request.method, target, host, headers, body)
        self.data = head + body if isinstance(body, bytes) else head
        self.pieces = body if body is not None and not isinstance(body, bytes) else ()
        self.stream = stream
        self.policy = transport.retry_policy
        self.max_retries = max_retries
        self.number = 1
        self.fresh = False  # the next attempt must use a new connection, not a pooled one
        self.started = self.attempt_started = time.monotonic()

    def begin(self) -> None:
        self.attempt_started = time.monotonic()

    def cancelled(self) -> None:
        self._log(None, None)

    def after(self, outcome: Union[HTTPResponse, _Failed]) -> Optional[float]:
        """None if ``outcome`` is final; else the seconds to wait before the next attempt
        (a response that is retried is closed here)."""
        response: Optional[HTTPResponse] = None
        if isinstance(outcome, _Failed):
            decision = decide_failure(
                self.policy, outcome.failure, attempt=self.number, max_retries=self.max_retries
            )
        else:
            response = outcome
            decision = decide_retry(
                self.policy,
                status=response.status,
                headers=response.headers,
                body=response._body or b"",
                attempt=self.number,
                max_retries=self.max_retries,
            )
        self._log(outcome, decision)
        if not decision.retry:
            if response is not None:
                response.attempts = self.number
                response.elapsed = time.monotonic() - self.started
                response.retry_decision = decision
            return None
        if response is not None:
            response.close()
        self.number += decision.counted
        self.fresh = not decision.counted  # a pooled connection failed: the next one is new
        return decision.delay

    @staticmethod
    def final(outcome: Union[HTTPResponse, _Failed]) -> HTTPResponse:
        if isinstance(outcome, _Failed):
            raise outcome.error
        return outcome

    def _log(self, outcome: Union[HTTPResponse, _Failed, None], decision: Optional[RetryDecision]) -> None:
        """One DEBUG line for an attempt: its ``outcome`` (None: it was cancelled)."""
        logger = _logger()
        if not logger.isEnabledFor(logging.DEBUG):
            return
        if decision is None or decision.reason.endswith(": success"):
            then = ""
        elif decision.retry:
            then = "; retrying in %.3g s (%s)" % (decision.delay, decision.reason)
        else:
            then = "; not retried (%s)" % decision.reason
        if outcome is None:
            what = "cancelled"
        else:
            what = outcome.error.error.message if isinstance(outcome, _Failed) else str(outcome.status)
        request = self.request
        logger.debug(
            "%s %s -> %s in %.1f ms (attempt %d of %d)%s; headers %r",
            request.method,
            redact_url(request.url),
            what,
            (time.monotonic() - self.attempt_started) * 1000.0,
            self.number,
            self.max_retries + 1,
            then,
            request.redacted_headers(),
        )


class _TransportBase:
    """What both transports hold: how they connect (routes, proxies, TLS), the retry policy,
    and whether they were closed."""

    def __init__(
        self,
        ssl_context: "Optional[ssl.SSLContext]",
        ca_bundle: Optional[str],
        proxies: Optional[Dict[str, str]],
        retry_policy: Optional[RetryPolicy],
        pool_size: int,
    ) -> None:
        check_int("pool_size", pool_size, 0)
        if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
            wrong_type("retry_policy", "a RetryPolicy or None", retry_policy)
        self.retry_policy = retry_policy if retry_policy is not None else RetryPolicy()
        self._connector = _Connector(ssl_context, ca_bundle, proxies)
        self._closed = False

    def __repr__(self) -> str:
        proxies = sorted(k for k in self._connector.proxies if k != "no")
        return "<%s proxies=%r>" % (type(self).__name__, proxies)


class Transport(_TransportBase):
    """Sends :class:`HTTPRequest` objects; owns the connection pool. Safe across threads.

    ``proxies``: None reads the environment once, at the first request; a dict such
    as ``{"http": ..., "https": ..., "no": "localhost,.internal"}`` is used as given.
    ``ssl_context`` / ``ca_bundle``: how TLS certificates are checked (default:
    the system store, always verified). ``pool_size``: idle connections kept per host.
    """

    def __init__(
        self,
        *,
        ssl_context: "Optional[ssl.SSLContext]" = None,
        ca_bundle: Optional[str] = None,
        proxies: Optional[Dict[str, str]] = None,
        retry_policy: Optional[RetryPolicy] = None,
        pool_size: int = 10,
    ) -> None:
        super().__init__(ssl_context, ca_bundle, proxies, retry_policy, pool_size)
        self._pool: _SharedPool[Connection] = _SharedPool(pool_size)

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the idle connections; responses still being read close theirs when done."""
        self._closed = True
        self._pool.close()

    # -- sending -----------------------------------------------------------------------------
    def send(
        self,
        request: HTTPRequest,
        *,
        timeout: float,
        max_retries: int,
        stream: bool = False,
        cancel: Optional[threading.Event] = None,
    ) -> HTTPResponse:
        """Send ``request``; retry as :mod:`.retry` decides; return the response.

        ``stream=False``: the body is read before this returns. ``stream=True``: a
        2xx returns as soon as its headers are in (read the body with
        ``iter_bytes()``); any other status has its body read (retry decisions
        need it). A non-2xx after the last attempt is returned, not raised.

        Raises :class:`APIConnectionError` / :class:`APITimeoutError` when the last
        attempt got no usable response, :class:`APIUserAbortError` when ``cancel``
        is set, ``ValueError`` / ``TypeError`` for a bad URL or arguments.
        """
        call = _Call(self, request, timeout, max_retries, stream)
        while True:
            _stop_if_cancelled(cancel)
            call.begin()
            try:
                outcome = self._attempt(call, cancel)
            except APIUserAbortError:
                call.cancelled()
                raise
            delay = call.after(outcome)
            if delay is None:
                return call.final(outcome)
            _wait(delay, cancel)

    def _attempt(self, call: _Call, cancel: Optional[threading.Event]) -> Union[HTTPResponse, _Failed]:
        """One attempt: the response (its body read, unless it is a streamed 2xx), or how it
        failed. A cancel raises :class:`APIUserAbortError`."""
        route, timeout = call.route, call.timeout
        conn = None if call.fresh else self._pool.take(route.key)
        reused = conn is not None
        if conn is None:
            conn = self._connector.new_connection(route, timeout)
        else:  # every wait on it is bounded by this call's timeout, not the one it was made with
            conn.set_timeout(timeout)
        aborted = cancel.is_set if cancel is not None else _never
        errors = _ErrorMap(_CONNECTING, route.where, timeout, aborted)
        try:
            head = _exchange(conn, call, cancel, errors)
        except APIConnectionError as exc:  # APITimeoutError too
            conn.close()
            return _Failed(exc, written=errors.what == _WAITING, reused=reused)
        except BaseException:
            conn.close()
            raise
        response = HTTPResponse(head.status, head.reason, None, call.request.url)
        response.headers = head.joined()  # lower-case names already
        body_errors = _ErrorMap(_READING, route.where, timeout, lambda: response._is_aborted() or aborted())
        response._attach(
            SocketBody(conn, body_errors), self._pool.release, _on_cancel(cancel, response.abort)
        )
        if call.stream and 200 <= head.status < 300:
            return response
        try:
            response._buffer()
        except APIConnectionError as exc:
            return _Failed(exc, written=True, reused=reused, answered=True)
        return response


def _exchange(
    conn: "Connection", call: _Call, cancel: Optional[threading.Event], errors: _ErrorMap
) -> ResponseHead:
    """Connect if needed, send the request, read the response head; ``errors.what`` tracks
    the phase. A cancel shuts the socket, so that a blocked wait returns at once."""
    unhook = _on_cancel(cancel, conn.abort)
    try:
        with errors:
            if conn.sock is None:
                conn.open()
            _stop_if_cancelled(cancel)
            errors.what = _SENDING
            conn.reader = ResponseReader(call.request.method)
            conn.send(call.data)
            for piece in call.pieces:
                conn.send(piece)
            errors.what = _WAITING
            head = conn.next_event()
    finally:
        unhook()
    assert isinstance(head, ResponseHead)  # noqa: S101 - the reader's first event
    return head


@lru_cache(maxsize=None)
def _logger() -> "logging.Logger":
    """The package's logger, looked up once (``getLogger`` takes the logging lock on each call)."""
    return logging.getLogger("openai_params")


def _proxy_headers(route: _Route, headers: Dict[str, str]) -> Dict[str, str]:
    """Plain HTTP through a proxy carries the proxy's credentials on every request (HTTPS
    carries them on the CONNECT that opens the tunnel)."""
    if route.proxy is not None and route.proxy.authorization and route.scheme == "http":
        return dict(headers, **{"Proxy-Authorization": route.proxy.authorization})
    return headers


def _check_send_arguments(timeout: Any, max_retries: Any) -> float:
    """The checks every transport's ``send`` makes; returns ``timeout`` as a float."""
    check_int("max_retries", max_retries, 0)
    return check_timeout("timeout", timeout)


def _stop_if_cancelled(cancel: Optional[threading.Event]) -> None:
    if cancel is not None and cancel.is_set():
        raise APIUserAbortError("the call was cancelled")


def _wait(delay: float, cancel: Optional[threading.Event]) -> None:
    """The wait before a retry; a cancel during it ends the call at once."""
    if delay <= 0:
        return
    if cancel is None:
        time.sleep(delay)
    elif cancel.wait(delay):
        raise APIUserAbortError("the call was cancelled while waiting %.3g s to retry" % delay)
