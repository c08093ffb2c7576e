"""Many chat completions at once, paced: ``create_many`` and ``iter_many``.

    results = client.chat.completions.create_many(
        [[{"role": "user", "content": "Translate: " + line}] for line in lines],
        {"model": "gpt-4o-mini"}, concurrency=16)
    for result in results:                                   # in input order
        print(result.text if result.success else result.errors[0])

    for index, result in client.chat.completions.iter_many(requests, params):
        ...                                                  # as each one finishes

A request is a list of messages, or a dict with ``messages``, any per-request
parameters (merged over ``parameters``) and an optional ``custom_id`` (not
sent). Failures are results (``success`` False, ``errors``), never an exception
that loses the rest: a request that cannot even be built (bad messages, a bad
parameter) is a failed result with type ``invalid_request``, and after an
``insufficient_quota`` 429 every request not yet sent is a failed result with
type ``not_sent``.

Every decision (how many in flight, when to wait, what to retry, when to stop,
what the caller gets) is made by :class:`FanOut`, with the :class:`.pacing.Pacer`'s
rules; it does no I/O and starts no thread. Two drivers run it and only move the
calls: :func:`run_on_threads` here (``OpenAI``: each call on a thread of a
:class:`.background.Workers` made for the run, ``concurrency`` of them at most)
and :func:`.async_fanout.run_on_tasks` (``AsyncOpenAI``: each call an asyncio
task). Each call is sent with no transport retries: a retry goes back through the
pacer, so that every 429 slows the whole run down.
"""

import queue
import threading
import time
from collections import deque
from functools import partial
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Deque,
    Dict,
    Iterable,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Tuple,
)

from ._checks import check_int, is_mapping
from .errors import OpenAIError
from .pacing import DONE, START, WAIT, Pacer, PacingPolicy, estimate_tokens
from .results import OpenAIChatCompletionResult

if TYPE_CHECKING:
    from ._http import HTTPRequest
    from ._interrupt import Stop
    from .background import BackgroundCall, Workers
    from .client import ChatCompletions, ParamsLike
    from .parameters import OpenAIChatCompletionParameters
    from .profiles import Profile

__all__ = ["plan", "FanOut", "Step", "run_on_threads", "in_order"]

Clock = Callable[[], float]
Pairs = Iterator[Tuple[int, OpenAIChatCompletionResult]]

#: Seconds the caller's thread waits for a call at most before it looks again: a signal that
#: the kernel delivered to another thread (or any, on Windows) cannot interrupt its wait.
_LOOK_EVERY = 0.5

#: Seconds a worker thread waits for the next call before it ends (one thread per call would
#: cost more than the call itself at hundreds of calls a second).
_LINGER = 2.0

#: The kind of :class:`Step` that hands a result to the caller (``START``, ``WAIT`` and
#: ``DONE`` are the pacer's).
OUTPUT = "output"


class _Job(NamedTuple):
    """One request, built once and sent as often as the pacer says."""

    request: "HTTPRequest"
    options: "OpenAIChatCompletionParameters"
    cost: float
    max_retries: Optional[int]  # None: the client's
    copies: int  # > 1: the client's profile emulates n by that many requests
    profile: "Profile"  # how the answer is read: the profile of the request's provider


def plan(
    completions: "ChatCompletions",
    requests: Iterable[Any],
    parameters: "ParamsLike" = None,
    *,
    concurrency: int = 8,
    policy: Optional[PacingPolicy] = None,
    clock: Clock = time.monotonic,
) -> "FanOut":
    """The arguments checked (before anything is sent: a bad one raises here), and the
    run's :class:`FanOut`."""
    from .client import _chat_parameters

    check_int("concurrency", concurrency, 1)
    if policy is not None and not isinstance(policy, PacingPolicy):
        raise TypeError("policy must be a PacingPolicy or None (got %s)" % type(policy).__name__)
    shared = _chat_parameters(parameters, {})  # a bad shared parameter is refused now, not per request
    if shared.has_callbacks() or shared.stream:
        raise ValueError(
            "create_many / iter_many send non-streamed calls and take no callbacks: "
            "iterate over iter_many() to handle each result as it finishes"
        )
    pacer = Pacer(concurrency, completions._client.max_retries, policy)
    return FanOut(completions, iter(requests), shared, pacer, clock)


class Step:
    """What a driver does next (:meth:`FanOut.next_step`): ``START`` the call of ``job``
    (then tell :meth:`FanOut.finished` its result, under ``ticket``); ``WAIT`` for a call
    to finish, at most ``delay`` seconds (None: no limit); hand ``(index, result)`` to
    the caller (``OUTPUT``); or stop (``DONE``)."""

    __slots__ = ("kind", "ticket", "job", "delay", "index", "result")

    def __init__(
        self,
        kind: str,
        *,
        ticket: int = 0,
        job: Any = None,
        delay: Optional[float] = None,
        index: int = 0,
        result: Any = None,
    ) -> None:
        self.kind = kind
        self.ticket = ticket
        self.job: _Job = job
        self.delay = delay
        self.index = index
        self.result: OpenAIChatCompletionResult = result

    def __repr__(self) -> str:
        return "<Step %s>" % self.kind


class FanOut:
    """One run's decisions, without threads or I/O: which request starts next, how long to
    wait, what a finished call's result means (the :class:`.pacing.Pacer`'s rules), what
    the caller gets. A driver does what it says and nothing else:

        while True:
            step = fan.next_step()
            if step.kind == START:       # run fan.call(step.job), then
                ...                      #   fan.finished(step.ticket, its result)
            elif step.kind == OUTPUT:    # (step.index, step.result) to the caller
                ...
            elif step.kind == WAIT:      # for a call to finish, at most step.delay s
                ...
            else:                        # DONE
                break
    """

    def __init__(
        self,
        completions: "ChatCompletions",
        requests: Iterator[Any],
        shared: "OpenAIChatCompletionParameters",
        pacer: Pacer,
        clock: Clock,
    ) -> None:
        self.completions = completions
        self.pacer = pacer
        self._clock = clock
        self._shared = shared
        # One attempt per call: a retry goes back through the pacer (see the module docstring).
        self._shared_options = shared.replace(max_retries=0, throw=False)
        self._fresh = enumerate(requests)
        self._more = True
        self._jobs: Dict[int, _Job] = {}
        self._tickets: Dict[int, int] = {}  # ticket -> index, for the calls in flight
        self._out: Deque[Tuple[int, OpenAIChatCompletionResult]] = deque()
        self._ended = False

    @property
    def concurrency(self) -> int:
        """The most calls ever in flight at once."""
        return self.pacer.concurrency

    def next_step(self) -> Step:
        """What to do now (see the class docstring)."""
        while True:
            if self._out:
                done, result = self._out.popleft()
                return Step(OUTPUT, index=done, result=result)
            if self._ended:
                return Step(DONE)
            action = self.pacer.next_action(self._clock(), self._more)
            if action.kind == WAIT:
                return Step(WAIT, delay=action.delay)
            if action.kind == DONE:
                self._end()
                continue
            index = action.index  # a request to send again, or None: the next new one
            if index is None:
                try:
                    fresh, item = next(self._fresh)
                except StopIteration:
                    self._more = False
                    continue
                try:
                    self._jobs[fresh] = _job(self.completions, item, self._shared, self._shared_options)
                except (TypeError, ValueError) as exc:
                    self._out.append((fresh, _failed(fresh, exc)))
                    continue
                index = fresh
            job = self._jobs[index]
            ticket = self.pacer.start(self._clock(), index, job.cost, job.max_retries, job.copies)
            self._tickets[ticket] = index
            return Step(START, ticket=ticket, job=job)

    def call(self, job: "_Job", cancel: "Optional[threading.Event]" = None) -> Any:
        """The call of ``job``, as the client runs it (under ``AsyncOpenAI``, a coroutine)."""
        return self.completions._complete(job.request, job.copies, job.options, cancel, profile=job.profile)

    def finished(self, ticket: int, result: OpenAIChatCompletionResult) -> None:
        """The call started under ``ticket`` ended with ``result``: the pacer says whether it
        is the request's answer (it goes out) or is to be sent again (it starts later)."""
        index = self._tickets.pop(ticket)
        error = result.errors[0] if result.errors else None
        verdict = self.pacer.finish(
            ticket,
            self._clock(),
            status=result.status,
            headers=result.headers,
            error_code=(error.code or error.type) if error is not None else None,
        )
        if verdict.final:
            del self._jobs[index]
            self._out.append((index, result))

    def _end(self) -> None:
        """Nothing is in flight and nothing more starts: after a stop, what was never sent."""
        self._ended = True
        stopped = self.pacer.stopped
        if stopped is not None:
            unsent = self.pacer.pending_retries() + [index for index, _ in self._fresh]
            self._out.extend((index, _not_sent(stopped)) for index in unsent)


def in_order(pairs: Iterable[Tuple[int, OpenAIChatCompletionResult]]) -> List[OpenAIChatCompletionResult]:
    """The results of a run, in input order (each index comes once, from 0 to n-1)."""
    found = dict(pairs)
    return [found[index] for index in range(len(found))]


def run_on_threads(fan: FanOut, stop: "Optional[Stop]" = None) -> Pairs:
    """The synchronous driver: each call on a thread of a :class:`.background.Workers` made
    for the run; finished calls come back through a queue. Closing the iterator (leaving
    the loop) cancels the calls in flight, and so does ``stop`` (a :class:`._interrupt.Stop`:
    Ctrl-C in the ``batch`` command) once set: the iteration then ends."""
    from ._cancel import _nothing
    from .background import BackgroundCall, Workers

    workers = Workers(fan.concurrency, on_drained=_nothing, linger=_LINGER)
    # A SimpleQueue, not a Queue: its get() is C code that a KeyboardInterrupt cannot leave
    # holding a lock (Queue's Condition can: see _interrupt.py), and its put() never waits.
    # None in it is a wake-up from ``stop``.
    finished: queue.SimpleQueue[Optional[Tuple[int, OpenAIChatCompletionResult]]] = queue.SimpleQueue()
    if stop is not None:
        stop.wake(finished)
    running: Dict[int, BackgroundCall] = {}
    try:
        while True:
            if stop is not None and stop.requested:
                return
            step = fan.next_step()
            if step.kind == START:
                call = BackgroundCall(
                    partial(fan.call, step.job), on_terminate=partial(_put, finished, step.ticket)
                )
                running[step.ticket] = call
                workers.submit(call)
            elif step.kind == OUTPUT:
                yield step.index, step.result
            elif step.kind == WAIT:
                delay = _LOOK_EVERY if step.delay is None else min(step.delay, _LOOK_EVERY)
                try:
                    done = finished.get(timeout=delay)
                except queue.Empty:
                    continue
                if done is None:
                    continue
                ticket, result = done
                del running[ticket]
                fan.finished(ticket, result)
            else:
                return
    finally:
        # The cancels run on a thread of their own: they take the calls' locks, which a second
        # Ctrl-C landing here could leave held, and the interpreter's exit takes them again
        # (see _interrupt.py). Thread.start() waits until the thread runs: a bare
        # _thread.start_new_thread() would race the exit, fatal to a thread started too late.
        try:
            threading.Thread(target=_cancel_all, args=(running, workers), daemon=True).start()
        except RuntimeError:  # no new thread while the interpreter exits
            _cancel_all(running, workers)


def _job(
    completions: "ChatCompletions",
    item: Any,
    shared: "OpenAIChatCompletionParameters",
    shared_options: "OpenAIChatCompletionParameters",
) -> _Job:
    from .client import _chat_parameters

    if is_mapping(item):
        values = dict(item)
        values.pop("custom_id", None)
        if "messages" not in values:
            raise ValueError("a request given as a dict needs its messages under 'messages'")
        messages = values.pop("messages")
        params = _chat_parameters(shared, values) if values else shared
    else:
        messages = item
        params = shared
    if params.has_callbacks() or params.stream:
        raise ValueError("a request of create_many cannot set stream or callbacks")
    request, copies, profile = completions._request(messages, params, stream=False)
    cost = estimate_tokens(request.body if isinstance(request.body, bytes) else b"") * copies
    # One attempt per call: a retry goes back through the pacer (see the module docstring).
    options = shared_options if params is shared else params.replace(max_retries=0, throw=False)
    return _Job(request, options, cost, params.max_retries, copies, profile)


def _put(
    finished: "queue.SimpleQueue[Optional[Tuple[int, OpenAIChatCompletionResult]]]", ticket: int, result: Any
) -> None:
    finished.put((ticket, result))


def _cancel_all(running: "Dict[int, BackgroundCall]", workers: "Workers") -> None:
    """Cancel the calls in flight and let the run's threads end."""
    for call in running.values():
        call.cancel()
    workers.close()


def _failed(index: int, exc: Exception) -> OpenAIChatCompletionResult:
    error = OpenAIError.from_exception(
        exc, type="invalid_request", message="request %d cannot be sent: %s" % (index, exc)
    )
    return OpenAIChatCompletionResult(errors=[error])


def _not_sent(why: str) -> OpenAIChatCompletionResult:
    return OpenAIChatCompletionResult(errors=[OpenAIError("not sent: " + why, type="not_sent")])
