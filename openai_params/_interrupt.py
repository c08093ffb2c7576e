"""Ctrl-C as a request to stop, for a command that must end in order (``batch``).

A ``KeyboardInterrupt`` lands between any two bytecodes of the main thread,
Python's own threading code included: just after ``Condition.__enter__`` has
taken its lock (so the ``with`` that would release it never starts), or between
``Condition.wait`` giving its lock back and the ``try`` that takes it again.
A lock left held so hangs whoever takes it next (the interpreter's exit, when it
cancels what is left); a lock released twice raises ``RuntimeError`` in another
thread. Worse, a second Ctrl-C lands in the handler of the first.

So while such a command runs, SIGINT does not raise. The first one sets a
:class:`Stop`: a flag, and a wake-up put on the queues a run waits on
(``queue.SimpleQueue.put`` is reentrant: it is safe in a signal handler, and it
takes no lock that the interrupted code may hold). The run sees it, stops
starting calls, cancels those in flight and ends as usual. A second Ctrl-C calls
the command's ``again``, which ends the process at once.
"""

import queue
import signal
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List

__all__ = ["Stop", "ctrl_c"]


class Stop:
    """A request to stop, safe to make from a signal handler. A run that waits on a
    ``queue.SimpleQueue`` hands it to :meth:`wake` and treats ``None`` from it as a
    wake-up: look at :attr:`requested`."""

    def __init__(self) -> None:
        self.requested = False
        self._queues: List[queue.SimpleQueue[Any]] = []
        self._sleeping: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.wake(self._sleeping)

    def wake(self, waiting: "queue.SimpleQueue[Any]") -> None:
        """Put ``None`` on ``waiting`` when the stop is requested (at once if it was)."""
        self._queues.append(waiting)
        if self.requested:
            waiting.put(None)

    def set(self) -> None:
        """Request the stop: nothing here takes a lock."""
        self.requested = True
        for waiting in list(self._queues):
            waiting.put(None)

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` or until the stop is requested; True if it was."""
        if not self.requested:
            try:
                self._sleeping.get(timeout=seconds)
            except queue.Empty:
                pass
        return self.requested


@contextmanager
def ctrl_c(again: Callable[[], None]) -> Iterator[Stop]:
    """While the block runs, the first SIGINT sets the :class:`Stop` given and the next ones
    call ``again`` (which should end the process); the previous handler is back after it.

    Nothing is installed when SIGINT is not Python's default (ignored, as in a background
    job, or the embedding program's own handler) or off the main thread (where a handler
    cannot be set and no ``KeyboardInterrupt`` arrives): a ``KeyboardInterrupt`` may then
    still come, and the caller treats it as the first Ctrl-C.
    """
    stop = Stop()
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield stop
        return

    def handle(signum: int, frame: Any) -> None:
        if stop.requested:
            again()
        else:
            stop.set()

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
