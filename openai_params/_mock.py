"""A transport without sockets, for tests: :class:`MockTransport` answers with your function."""

import threading
from typing import Callable, List, Optional

from ._http import HTTPRequest, HTTPResponse
from .transport import _check_send_arguments, _stop_if_cancelled

__all__ = ["MockTransport"]


class MockTransport:
    """Answers each request with ``handler(request)``: no socket, no server, no waiting.

    ``handler`` takes the :class:`HTTPRequest` the client built (method, URL,
    headers, body bytes) and returns an :class:`HTTPResponse`, built with
    ``body=`` bytes, or with a list (any iterable) of byte pieces that a stream
    reads one by one. It may also raise an error of this package
    (``APIConnectionError(OpenAIError("refused", type="connection_error"))``)
    to stand for a connection that failed. Every request is kept in
    ``requests``, in order. Pass it as ``OpenAI(transport=MockTransport(handler))``.

    The handler is called once per call: there are no retries (``max_retries``
    is checked, then not used) and no timeouts. ``cancel``, when already set,
    ends the call with ``APIUserAbortError`` as the real transport does.
    """

    def __init__(self, handler: Callable[[HTTPRequest], HTTPResponse]) -> None:
        if not callable(handler):
            raise TypeError(
                "handler must be a function from HTTPRequest to HTTPResponse (got %r)" % (handler,)
            )
        self.handler = handler
        #: every request sent, in order
        self.requests: List[HTTPRequest] = []
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return "<MockTransport %d requests>" % len(self.requests)

    def send(
        self,
        request: HTTPRequest,
        *,
        timeout: float,
        max_retries: int,
        stream: bool = False,
        cancel: Optional[threading.Event] = None,
    ) -> HTTPResponse:
        """``handler(request)``; its body read now unless ``stream`` and a 2xx, as
        :meth:`Transport.send <openai_params.transport.Transport.send>` does."""
        _check_send_arguments(timeout, max_retries)
        if self._closed:
            raise RuntimeError("the transport is closed")
        _stop_if_cancelled(cancel)
        with self._lock:
            self.requests.append(request)
        response = self.handler(request)
        if not isinstance(response, HTTPResponse):
            raise TypeError("the MockTransport handler must return an HTTPResponse (got %r)" % (response,))
        response.url = response.url or request.url
        if not (stream and 200 <= response.status < 300):
            response._buffer()
        return response

    def close(self) -> None:
        """After this, ``send`` raises ``RuntimeError`` (as a closed :class:`Transport` does)."""
        self._closed = True
