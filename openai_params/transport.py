"""The transport: the only module that opens sockets. Standard library only (``http.client``).

It moves bytes and nothing else: :meth:`Transport.send` takes an
:class:`HTTPRequest` (method, absolute URL, headers, body bytes) and returns an
:class:`HTTPResponse` (status, headers, and the body read whole or piece by
piece). What the bytes mean is for the modules above it.

This module holds :class:`Transport`: the send loop (one attempt, then retry or
not), opening the connection and reading up to the response head, and the
log line per attempt. Its parts live beside it, and the names you need are
importable from here:

* :mod:`._http`: :class:`HTTPRequest`, :class:`HTTPResponse` (reading the
  body, handing the connection back), ``redact_url``;
* :mod:`._connections`: routes, proxies, making connections, the pool;
* :mod:`._errormap`: ``_ErrorMap``, where low-level errors are translated;
* :mod:`._cancel`: :class:`CancelEvent`.

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
  in one place (:class:`._errormap._ErrorMap`), ``raise ... from`` the original.
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
import threading
import time
from typing import TYPE_CHECKING, Any, Dict, Optional

from ._cancel import CancelEvent, _never, _on_cancel, _shutdown
from ._connections import _Connector, _Pool, _Route
from ._errormap import _ErrorMap
from ._http import HTTPRequest, HTTPResponse, redact_url
from .errors import APIConnectionError, APITimeoutError, APIUserAbortError, OpenAIError, OpenAIException
from .retry import RetryDecision, RetryPolicy, decide_retry

if TYPE_CHECKING:
    import ssl

__all__ = ["HTTPRequest", "HTTPResponse", "Transport", "CancelEvent", "RetryPolicy"]

logger = logging.getLogger("openai_params")


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
        self._connector = _Connector(ssl_context, ca_bundle, proxies)
        self._pool = _Pool(pool_size)
        self._closed = False

    def __repr__(self) -> str:
        return "<Transport proxies=%r>" % sorted(k for k in self._connector.proxies if k != "no")

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the idle connections; responses still being read close theirs when done."""
        self._closed = True
        self._pool.close()

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
        route, target = self._connector.route(request.url)
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
                conn = self._connector.new_connection(route, timeout)
            elif conn.timeout != timeout:
                conn.timeout = timeout
                if conn.sock is not None:
                    conn.sock.settimeout(timeout)
            watched = conn
            unhook = _on_cancel(cancel, lambda: _shutdown(watched.sock))
            errors = _ErrorMap(self._connector.low_level(), "connecting to", route.where, timeout, aborted)
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


def _is_certificate_error(exc: Optional[BaseException]) -> bool:
    """TLS verification failed (by class name, so that ``ssl`` need not be imported here)."""
    return exc is not None and any(
        cls.__name__ in ("SSLCertVerificationError", "CertificateError") for cls in type(exc).__mro__)
