"""The one place where low-level errors are translated: :class:`_ErrorMap`.

Every socket, TLS and protocol error (:class:`._h1.ProtocolError`) raised while a
transport connects, sends, waits for a response or reads a body passes through here and leaves as
:class:`~.errors.APITimeoutError`, :class:`~.errors.APIUserAbortError` or
:class:`~.errors.APIConnectionError`, ``raise ... from`` the original. Used by
both transports, for the head and for the body.
"""

from typing import TYPE_CHECKING, Callable, Optional, Type

from ._h1 import ProtocolError
from .errors import APIConnectionError, APITimeoutError, APIUserAbortError, OpenAIError, _kind_of

if TYPE_CHECKING:
    from types import TracebackType


#: what is translated: the socket's and TLS errors (OSError), and responses that break HTTP/1.1
LOW_LEVEL = (OSError, ProtocolError)


class _ErrorMap:
    """``with _ErrorMap(...)``: socket, TLS and protocol errors raised inside become
    :class:`APITimeoutError` (a timeout), :class:`APIUserAbortError` (after a cancel or
    abort) or :class:`APIConnectionError` (anything else), ``raise ... from`` the original."""

    __slots__ = ("what", "where", "_timeout", "aborted")

    def __init__(
        self,
        what: str,
        where: str,
        timeout: Optional[float],
        aborted: Callable[[], bool],
    ) -> None:
        self.what = what  # the phase ("connecting to"); the message is only built on error
        self.where = where  # the origin (and proxy), never a URL's query or credentials
        self._timeout = timeout
        self.aborted = aborted  # True after a cancel: the error then is APIUserAbortError

    def __enter__(self) -> "_ErrorMap":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: "Optional[TracebackType]",
    ) -> None:
        if exc is None or not isinstance(exc, LOW_LEVEL):
            return
        what = "%s %s" % (self.what, self.where)
        if self.aborted():
            raise APIUserAbortError(
                OpenAIError("the call was cancelled while %s" % what, type="cancelled", cause=exc)
            ) from exc
        if _kind_of(exc) == "timeout":
            limit = " after %.3g s" % self._timeout if self._timeout is not None else ""
            raise APITimeoutError(
                OpenAIError("timed out%s %s" % (limit, what), type="timeout", cause=exc)
            ) from exc
        text = str(exc)
        detail = "%s: %s" % (exc.__class__.__name__, text) if text else exc.__class__.__name__
        raise APIConnectionError(
            OpenAIError("connection error %s (%s)" % (what, detail), type="connection_error", cause=exc)
        ) from exc
