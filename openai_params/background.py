"""Background calls: when a callback is set, the call runs on a worker thread.

The guarantees, for every call:

* ``on_data`` gets every chunk, in order, on the worker thread;
* ``on_terminate`` is called exactly once, with the final result, whatever happened;
* exactly one of ``on_response`` (success) / ``on_error`` (failure) is called before it;
* an exception raised inside a callback never hangs the call or kills the worker
  silently: it ends the call with an error (type ``callback_error``) that carries it;
* ``cancel()`` aborts an in-flight stream at once; the call ends as cancelled and
  the callbacks above still run.
"""

import threading
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Union

from .errors import OpenAIError
from .results import OpenAIChatCompletionResult, OpenAIResult
from .stream import ChatCompletionStream
from ._cancel import CancelEvent

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["CallHandle", "BackgroundCall"]

Callback = Optional[Callable[[Any], Any]]
Starter = Callable[[threading.Event], Union[OpenAIResult, ChatCompletionStream]]


class BackgroundCall:
    """One call's work and callbacks; ``run()`` executes on a worker thread."""

    def __init__(self, start: Starter, *, on_data: Callback = None, on_terminate: Callback = None,
                 on_response: Callback = None, on_error: Callback = None) -> None:
        self._start = start
        self._on_data = on_data
        self._on_terminate = on_terminate
        self._on_response = on_response
        self._on_error = on_error
        # Setting a CancelEvent also shuts the socket of the attempt in flight.
        self.cancel_event = CancelEvent()
        self._lock = threading.Lock()
        self._stream: Optional[ChatCompletionStream] = None

    def cancel(self) -> None:
        self.cancel_event.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.abort()

    def run(self) -> OpenAIResult:
        callback_errors: List[OpenAIError] = []
        result = self._execute(callback_errors)
        result.errors.extend(callback_errors)
        result.terminated = True
        chosen = self._on_response if result.success else self._on_error
        self._call(chosen, result, "on_response" if result.success else "on_error")
        self._call(self._on_terminate, result, "on_terminate")
        return result

    def _execute(self, callback_errors: List[OpenAIError]) -> OpenAIResult:
        if self.cancel_event.is_set():
            return _cancelled()
        try:
            started = self._start(self.cancel_event)
        except Exception as exc:  # noqa: BLE001 - a failure must become a result, not a dead worker
            return OpenAIChatCompletionResult(errors=[OpenAIError.from_exception(exc)])
        if not isinstance(started, ChatCompletionStream):
            if self.cancel_event.is_set() and not any(e.is_cancelled for e in started.errors):
                started.errors.append(_cancel_error())
            return started
        with self._lock:
            self._stream = started
        if self.cancel_event.is_set():
            started.abort()
        try:
            for chunk in started:
                if self._on_data is None:
                    continue
                try:
                    self._on_data(chunk)
                except Exception as exc:  # noqa: BLE001
                    callback_errors.append(_callback_error("on_data", exc))
                    started.abort()
                    break
        except Exception as exc:  # noqa: BLE001 - a failure must become a result, not a dead worker
            error = OpenAIError.from_exception(exc)
            if all(error is not known for known in started.errors):
                callback_errors.append(error)
        finally:
            started.close()
        final = started.result()
        if callback_errors and any(e.is_cancelled for e in final.errors):
            # The abort was ours, after a callback raised: the callback's error is the story.
            final.errors = [e for e in final.errors if not e.is_cancelled]
        return final

    def _call(self, callback: Callback, result: OpenAIResult, name: str) -> None:
        if callback is None:
            return
        try:
            callback(result)
        except Exception as exc:  # noqa: BLE001
            result.errors.append(_callback_error(name, exc))


def _callback_error(name: str, exc: BaseException) -> OpenAIError:
    return OpenAIError.from_exception(
        exc, type="callback_error",
        message="%s raised %s: %s" % (name, type(exc).__name__, exc))


def _cancel_error() -> OpenAIError:
    return OpenAIError(message="the call was cancelled", type="cancelled")


def _cancelled() -> OpenAIChatCompletionResult:
    return OpenAIChatCompletionResult(errors=[_cancel_error()])


class CallHandle:
    """What ``create()`` returns when a callback is set: the call runs in the background.

        handle = client.chat.completions.create(messages, on_terminate=print)
        final = handle.result(timeout=30)   # waits; raises TimeoutError if not done by then
        handle.done()                       # True once the call and its callbacks finished
        handle.cancel()                     # abort; the callbacks still run, with a cancelled result
    """

    def __init__(self, call: BackgroundCall, future: "Future[OpenAIResult]", throw: bool = False) -> None:
        self._call = call
        self._future = future
        self._throw = throw

    def result(self, timeout: Optional[float] = None) -> Any:
        """Wait for the final result (``OpenAIChatCompletionResult`` for chat calls).

        Raises ``TimeoutError`` when ``timeout`` seconds pass first; with ``throw=True``
        a failed call raises its exception here.
        """
        import concurrent.futures

        try:
            result = self._future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError("the call did not finish within %s s" % timeout) from None
        if self._throw:
            result.throw()
        return result

    def done(self) -> bool:
        return self._future.done()

    def cancel(self) -> bool:
        """Abort the call; returns False when it had already finished."""
        if self._future.done():
            return False
        self._call.cancel()
        return True

    def __repr__(self) -> str:
        return "<CallHandle %s>" % ("done" if self.done() else "running")
