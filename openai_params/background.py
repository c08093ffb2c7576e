"""Background calls: when a callback is set, the call runs on a worker thread.

The guarantees, for every call:

* ``on_data`` gets every chunk, in order, on the worker thread;
* ``on_terminate`` is called exactly once, with the final result, whatever happened;
* exactly one of ``on_response`` (success) / ``on_error`` (failure) is called before it;
* an exception raised inside a callback never hangs the call or kills the worker
  silently: it ends the call with an error (type ``callback_error``) that carries it;
* ``cancel()`` aborts an in-flight stream at once; the call ends as cancelled and
  the callbacks above still run.

The call and its callbacks are written once, as steps (``BackgroundCall._steps``:
start the call, take the next chunk, call a callback, close the stream, take its
result), and these guarantees with them. :meth:`BackgroundCall.run` does each
step with a blocking call, on a worker thread; :meth:`BackgroundCall.arun`
awaits each one (``AsyncOpenAI``, in the awaiting task: an asynchronous stream,
callbacks that may be coroutine functions).

The workers (:class:`Workers`, one per client):

* at most ``max_workers`` calls run at once, each on a daemon thread; threads
  start as calls are accepted and end when nothing is left to run;
* ``close()`` accepts no new call, lets every accepted one (running or still
  waiting) run to its end, then closes the connections (at once if none is left);
* the threads never keep the interpreter alive: when it exits, the calls still
  running or waiting are cancelled (which shuts the socket of an attempt in
  flight) and their callbacks get up to ``EXIT_WAIT`` seconds to run.
"""

import threading
import time
import weakref
from collections import deque
from typing import Any, Callable, Deque, Generator, Iterator, List, Optional, Protocol, Set, Tuple, Union

from ._cancel import CancelEvent
from .errors import OpenAIError
from .results import OpenAIChatCompletionResult, OpenAIResult

__all__ = ["CallHandle", "BackgroundCall", "Workers"]

Callback = Optional[Callable[[Any], Any]]


class Stream(Protocol):
    """What a background call iterates: a ``ChatCompletionStream``, or a chat helper's stream
    of several rounds."""

    @property
    def errors(self) -> List[OpenAIError]: ...

    def __iter__(self) -> Iterator[Any]: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...

    def result(self) -> OpenAIResult: ...


Starter = Callable[[threading.Event], Union[OpenAIResult, Stream]]

# What the steps of a call (BackgroundCall._steps) ask a driver to do: (kind, target, argument).
START = "start"  # target(cancel): the call; a result, or a stream
NEXT = "next"  # the stream's next chunk, or END
CALL = "call"  # target(argument): a callback
CLOSE = "close"  # close the stream
RESULT = "result"  # the stream's final result
END: Any = object()
StepsOf = Generator[Tuple[str, Any, Any], Any, OpenAIResult]

#: Seconds the interpreter's exit waits for cancelled calls to run their callbacks.
EXIT_WAIT = 1.0


class BackgroundCall:
    """One call's work and callbacks; ``run()`` executes on a worker thread."""

    def __init__(
        self,
        start: Starter,
        *,
        on_data: Callback = None,
        on_terminate: Callback = None,
        on_response: Callback = None,
        on_error: Callback = None,
    ) -> None:
        self._start = start
        self._on_data = on_data
        self._on_terminate = on_terminate
        self._on_response = on_response
        self._on_error = on_error
        # Setting a CancelEvent also shuts the socket of the attempt in flight.
        self.cancel_event = CancelEvent()
        self._lock = threading.Lock()
        self._stream: Optional[Stream] = None
        self._done = threading.Event()
        self._result: Optional[OpenAIResult] = None
        self._raised: Optional[BaseException] = None
        #: the last steps (the ending callbacks) have begun
        self.ended = False

    @classmethod
    def for_options(cls, start: Starter, options: Any) -> "BackgroundCall":
        """The call with the callbacks a parameters object names (``data_callback``,
        ``terminate_callback``, ``on_response``, ``on_error``)."""
        return cls(
            start,
            on_data=options.data_callback,
            on_terminate=options.terminate_callback,
            on_response=options.on_response,
            on_error=options.on_error,
        )

    def cancel(self) -> None:
        self.cancel_event.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.abort()

    def run(self) -> None:
        """Run the call and its callbacks; :meth:`outcome` then has the result. Never raises."""
        try:
            self._result = self._run()
        except BaseException as exc:  # noqa: BLE001 - SystemExit in a callback, say: outcome() raises it
            self._raised = exc
        finally:
            self._done.set()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """True once :meth:`run` has finished (callbacks included)."""
        return self._done.wait(timeout)

    def outcome(self) -> OpenAIResult:
        """The final result of a finished call."""
        if self._raised is not None:
            raise self._raised
        if self._result is None:
            raise RuntimeError("the call has not finished yet")
        return self._result

    # -- the two drivers of the steps below --------------------------------------------------------
    def _run(self) -> OpenAIResult:
        """The steps, each done with a blocking call (on a worker thread)."""
        steps = self._steps()
        value: Any = None
        error: Optional[Exception] = None
        try:
            while True:
                kind, target, argument = steps.send(value) if error is None else steps.throw(error)
                value = error = None
                try:
                    if kind == NEXT:
                        value = next(target, END)
                    elif kind == RESULT:
                        value = target.result()
                    elif kind == CLOSE:
                        target.close()
                    else:  # START, CALL: a function of one argument
                        value = target(self.cancel_event if kind == START else argument)
                except Exception as exc:  # noqa: BLE001 - the steps decide what it means
                    error = exc
        except StopIteration as done:
            result: OpenAIResult = done.value
            return result
        except BaseException:  # SystemExit in a callback, say: the stream is closed on the way out
            if self._stream is not None:
                self._stream.close()
            raise

    async def arun(self, steps: Optional[StepsOf] = None) -> OpenAIResult:
        """The steps (by default the whole call's), each awaited (on ``AsyncOpenAI``: in the
        awaiting task): callbacks may be coroutine functions, the stream is asynchronous."""
        import inspect

        steps = self._steps() if steps is None else steps
        value: Any = None
        error: Optional[Exception] = None
        while True:
            try:
                kind, target, argument = steps.send(value) if error is None else steps.throw(error)
            except StopIteration as done:
                result: OpenAIResult = done.value
                return result
            value = error = None
            try:
                if kind == NEXT:
                    try:
                        value = await target.__anext__()
                    except StopAsyncIteration:
                        value = END
                elif kind == RESULT:
                    value = await target.result()
                elif kind == CLOSE:
                    await target.aclose()
                else:  # START, CALL: a function of one argument; a coroutine's result is awaited
                    value = target(None if kind == START else argument)
                    if inspect.isawaitable(value):
                        value = await value
            except Exception as exc:  # noqa: BLE001 - the steps decide what it means
                error = exc

    # -- the call and its callbacks, as steps that either driver runs ------------------------------
    def _steps(self) -> StepsOf:
        callback_errors: List[OpenAIError] = []
        result = yield from self._execute(callback_errors)
        result.errors.extend(callback_errors)
        return (yield from self.ending(result))

    def ending(self, result: OpenAIResult) -> StepsOf:
        """The last steps: one of ``on_response`` / ``on_error``, then ``on_terminate``."""
        self.ended = True
        result.terminated = True
        if result.success:
            yield from self._call(self._on_response, result, "on_response")
        else:
            yield from self._call(self._on_error, result, "on_error")
        yield from self._call(self._on_terminate, result, "on_terminate")
        return result

    def _execute(self, callback_errors: List[OpenAIError]) -> StepsOf:
        if self.cancel_event.is_set():
            return _cancelled()
        try:
            started = yield START, self._start, None
        except Exception as exc:  # noqa: BLE001 - a failure must become a result, not a dead worker
            return OpenAIChatCompletionResult(errors=[OpenAIError.from_exception(exc)])
        if isinstance(started, OpenAIResult):
            if self.cancel_event.is_set() and not any(e.is_cancelled for e in started.errors):
                started.errors.append(_cancel_error())
            return started
        with self._lock:
            self._stream = started
        if self.cancel_event.is_set():
            started.abort()
        try:
            while True:
                chunk = yield NEXT, started, None
                if chunk is END:
                    break
                if self._on_data is None:
                    continue
                try:
                    yield CALL, self._on_data, chunk
                except Exception as exc:  # noqa: BLE001
                    callback_errors.append(_callback_error("on_data", exc))
                    started.abort()
                    break
        except Exception as exc:  # noqa: BLE001 - a failure must become a result, not a dead worker
            error = OpenAIError.from_exception(exc)
            if all(error is not known for known in started.errors):
                callback_errors.append(error)
        yield CLOSE, started, None
        final: OpenAIResult = yield RESULT, started, None
        if callback_errors and any(e.is_cancelled for e in final.errors):
            # The abort was ours, after a callback raised: the callback's error is the story.
            final.errors = [e for e in final.errors if not e.is_cancelled]
        return final

    def _call(self, callback: Callback, result: OpenAIResult, name: str) -> StepsOf:
        if callback is None:
            return result
        try:
            yield CALL, callback, result
        except Exception as exc:  # noqa: BLE001
            result.errors.append(_callback_error(name, exc))
        return result

    @property
    def stream(self) -> Optional[Stream]:
        """The call's stream once it started (None for a call that is not streamed)."""
        return self._stream


def _callback_error(name: str, exc: BaseException) -> OpenAIError:
    return OpenAIError.from_exception(
        exc, type="callback_error", message="%s raised %s: %s" % (name, type(exc).__name__, exc)
    )


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

    def __init__(self, call: BackgroundCall, throw: bool = False) -> None:
        self._call = call
        self._throw = throw

    def result(self, timeout: Optional[float] = None) -> Any:
        """Wait for the final result (``OpenAIChatCompletionResult`` for chat calls).

        Raises ``TimeoutError`` when ``timeout`` seconds pass first; with ``throw=True``
        a failed call raises its exception here.
        """
        if not self._call.wait(timeout):
            raise TimeoutError("the call did not finish within %s s" % timeout)
        result = self._call.outcome()
        if self._throw:
            result.throw()
        return result

    def done(self) -> bool:
        return self._call.wait(0)

    def cancel(self) -> bool:
        """Abort the call; returns False when it had already finished."""
        if self.done():
            return False
        self._call.cancel()
        return True

    def __repr__(self) -> str:
        return "<CallHandle %s>" % ("done" if self.done() else "running")


class Workers:
    """Runs a client's background calls: at most ``size`` at once, on daemon threads.

    ``close()`` refuses new calls and calls ``on_drained`` (which closes the
    client's connections) once the last accepted call has finished. ``linger``:
    seconds a worker with nothing to do waits for a new call before it ends (a
    fan-out submits its calls one by one, and starting a thread costs more than
    a small call).
    """

    def __init__(self, size: int, on_drained: Callable[[], None], linger: float = 0.0) -> None:
        self._size = size
        self._on_drained = on_drained
        self._linger = linger
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._busy = 0  # threads running a call (the others are starting or lingering)
        self._waiting: Deque[BackgroundCall] = deque()
        self._calls: Set[BackgroundCall] = set()  # accepted, not finished: waiting or running
        self._threads = 0
        self.closed = False
        # weakref.finalize runs at the interpreter's exit, after the main thread has ended and
        # before daemon threads are stopped; its arguments must not hold self.
        self._at_exit = weakref.finalize(self, _cancel_at_exit, self._lock, self._calls)

    def submit(self, call: BackgroundCall) -> None:
        """Run ``call`` on a worker thread; ``RuntimeError`` after :meth:`close`."""
        with self._lock:
            if self.closed:
                raise RuntimeError("the client is closed: make a new OpenAI() for new calls")
            self._waiting.append(call)
            self._calls.add(call)
            if self._threads - self._busy >= len(self._waiting):
                self._wakeup.notify()  # an idle worker takes it
                return
            if self._threads >= self._size:
                return  # a busy worker takes it when it is free
            thread = threading.Thread(target=self._work, name="openai_params-worker", daemon=True)
            try:
                thread.start()
            except BaseException:
                self._waiting.pop()
                self._finished(call)
                raise
            self._threads += 1

    def close(self) -> None:
        """Accept no new call; close the connections once every accepted call has finished."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            drained = not self._calls
            self._wakeup.notify_all()  # lingering workers end now
        if drained:
            self._drained()

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._waiting and self._linger and not self.closed:
                    self._wakeup.wait(self._linger)
                if not self._waiting:
                    self._threads -= 1
                    return
                call = self._waiting.popleft()
                self._busy += 1
            call.run()
            with self._lock:
                self._busy -= 1
                drained = self._finished(call)
            if drained:
                self._drained()

    def _finished(self, call: BackgroundCall) -> bool:
        """Forget ``call`` (lock held); True when it was the last one after close()."""
        self._calls.discard(call)
        return self.closed and not self._calls

    def _drained(self) -> None:
        self._at_exit.detach()
        self._on_drained()


def _cancel_at_exit(lock: threading.Lock, calls: Set[BackgroundCall]) -> None:
    """At the interpreter's exit: cancel what is left, give the callbacks a moment, and go.

    The moment is polled, not waited for on an ``Event``: ``Event.wait(timeout)`` first
    takes the event's own lock, with no timeout, and a ``KeyboardInterrupt`` that landed in
    the main thread just after ``submit()`` took that lock (in ``Event.clear``) left it held
    for good: the exit hung there (see _interrupt.py)."""
    with lock:
        left = list(calls)
    for call in left:
        call.cancel()
    deadline = time.monotonic() + EXIT_WAIT
    while calls and time.monotonic() < deadline:
        time.sleep(0.005)
