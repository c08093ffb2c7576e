"""Cancellation: :class:`CancelEvent`, and how a cancel reaches a socket that another
thread is blocked on. Part of the transport (:mod:`.transport`); no sockets are opened here.

A plain :class:`threading.Event` is checked between attempts and during retry
waits; a :class:`CancelEvent` also runs hooks when it is set, which the
transport uses to shut the socket of the attempt in flight (:func:`_shutdown`).
"""

import threading
from typing import TYPE_CHECKING, Callable, Dict, Optional

if TYPE_CHECKING:
    import socket

__all__ = ["CancelEvent"]


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
        self._hooks: Dict[object, Callable[[], None]] = {}  # by a token made for each
        self._hooks_lock = threading.Lock()

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
                token = object()
                self._hooks[token] = hook
                return lambda: self._remove_hook(token)
        hook()
        return _nothing

    def _remove_hook(self, token: object) -> None:
        with self._hooks_lock:
            self._hooks.pop(token, None)


def _nothing() -> None:
    return None


def _never() -> bool:
    return False


def _on_cancel(cancel: Optional[threading.Event], hook: Callable[[], None]) -> Callable[[], None]:
    if isinstance(cancel, CancelEvent):
        return cancel.add_hook(hook)
    return _nothing


def _shutdown(sock: "Optional[socket.socket]") -> None:
    """Make a read blocked on ``sock`` in another thread return now.

    ``socket.socket.shutdown`` (not the TLS wrapper's) acts on the descriptor only;
    the descriptor itself is closed later by the thread that owns it, so it cannot
    be reused under that thread's feet.
    """
    if sock is None:
        return
    import socket  # there is a socket: the module is loaded already

    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass
