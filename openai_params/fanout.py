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

This module is the synchronous driver only: every decision (how many in
flight, when to wait, what to retry, when to stop) is the :class:`.pacing.Pacer`'s.
The calls run on threads of a :class:`.background.Workers` made for the run
(``concurrency`` of them at most), each sent with no transport retries: a retry
goes back through the pacer, so that every 429 slows the whole run down.
"""

import queue
import sys
import time
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from ._checks import check_int, is_mapping
from .errors import OpenAIError
from .pacing import DONE, START, Pacer, PacingPolicy, estimate_tokens
from .results import OpenAIChatCompletionResult

if TYPE_CHECKING:
    from ._http import HTTPRequest
    from .client import ChatCompletions, ParamsLike
    from .parameters import OpenAIChatCompletionParameters
    from .profiles import Profile

__all__ = ["create_many", "iter_many"]

Clock = Callable[[], float]

#: Seconds a worker thread waits for the next call before it ends (one thread per call would
#: cost more than the call itself at hundreds of calls a second).
_LINGER = 2.0


class _Job:
    """One request, built once and sent as often as the pacer says."""

    __slots__ = ("request", "options", "cost", "max_retries", "copies", "profile")

    def __init__(
        self,
        request: "HTTPRequest",
        options: "OpenAIChatCompletionParameters",
        cost: float,
        max_retries: int,
        copies: int = 1,
        profile: "Optional[Profile]" = None,
    ) -> None:
        self.request = request
        self.profile = profile  # how the answer is read: the profile of the request's provider
        self.copies = copies  # > 1: the client's profile emulates n by that many requests
        self.options = options
        self.cost = cost
        self.max_retries = max_retries


def create_many(
    completions: "ChatCompletions",
    requests: Iterable[Any],
    parameters: "ParamsLike" = None,
    *,
    concurrency: int = 8,
    policy: Optional[PacingPolicy] = None,
) -> List[OpenAIChatCompletionResult]:
    """Every request's result, in input order (see the module docstring)."""
    found: Dict[int, OpenAIChatCompletionResult] = {}
    for index, result in iter_many(completions, requests, parameters, concurrency=concurrency, policy=policy):
        found[index] = result
    return [found[index] for index in range(len(found))]


def iter_many(
    completions: "ChatCompletions",
    requests: Iterable[Any],
    parameters: "ParamsLike" = None,
    *,
    concurrency: int = 8,
    policy: Optional[PacingPolicy] = None,
    clock: Clock = time.monotonic,
) -> Iterator[Tuple[int, OpenAIChatCompletionResult]]:
    """``(index, result)`` for every request, as each one finishes. ``requests`` is read
    lazily, as calls start. Leaving the loop early cancels the calls still in flight."""
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
    client = completions._client
    if _is_async(client):
        # Its calls are coroutines, which these worker threads cannot await.
        raise TypeError(
            "create_many / iter_many drive their calls on threads: use an OpenAI client for them "
            "(AsyncOpenAI has no asynchronous form of them yet)"
        )
    if client._workers.closed:
        raise RuntimeError("the client is closed: make a new OpenAI() for new calls")
    pacer = Pacer(concurrency, client.max_retries, policy)
    return _drive(completions, iter(requests), shared, pacer, clock)


def _drive(
    completions: "ChatCompletions",
    requests: Iterator[Any],
    shared: "OpenAIChatCompletionParameters",
    pacer: Pacer,
    clock: Clock,
) -> Iterator[Tuple[int, OpenAIChatCompletionResult]]:
    from .background import BackgroundCall, Workers

    client = completions._client
    shared_options = shared.replace(max_retries=0, throw=False)
    workers = Workers(pacer.concurrency, on_drained=_nothing, linger=_LINGER)
    finished: queue.Queue[Tuple[int, OpenAIChatCompletionResult]] = queue.Queue()
    jobs: Dict[int, _Job] = {}
    running: Dict[int, Tuple[int, BackgroundCall]] = {}  # ticket -> (index, call)
    fresh = enumerate(requests)
    more = True
    try:
        while True:
            action = pacer.next_action(clock(), more)
            if action.kind == START:
                index = action.index
                if index is None:
                    try:
                        index, item = next(fresh)
                    except StopIteration:
                        more = False
                        continue
                    try:
                        jobs[index] = _job(completions, item, shared, shared_options, client.max_retries)
                    except (TypeError, ValueError) as exc:
                        yield index, _failed(index, exc)
                        continue
                job = jobs[index]
                ticket = pacer.start(clock(), index, job.cost, job.max_retries, job.copies)
                call = BackgroundCall(
                    partial(completions._complete, job.request, job.copies, job.options, profile=job.profile),
                    on_terminate=partial(_put, finished, ticket),
                )
                running[ticket] = (index, call)
                workers.submit(call)
            elif action.kind == DONE:
                break
            else:
                try:
                    ticket, result = finished.get(timeout=action.delay)
                except queue.Empty:
                    continue
                index, _ = running.pop(ticket)
                error = result.errors[0] if result.errors else None
                verdict = pacer.finish(
                    ticket,
                    clock(),
                    status=result.status,
                    headers=result.headers,
                    error_code=(error.code or error.type) if error is not None else None,
                )
                if verdict.final:
                    del jobs[index]
                    yield index, result
        if pacer.stopped is not None:
            for index in pacer.pending_retries():
                yield index, _not_sent(pacer.stopped)
            for index, _ in fresh:
                yield index, _not_sent(pacer.stopped)
    finally:
        for _, call in running.values():
            call.cancel()
        workers.close()


def _is_async(client: Any) -> bool:
    """``client`` is an AsyncOpenAI (looked up only if its module was loaded: nothing is imported)."""
    module = sys.modules.get(__name__.rpartition(".")[0] + ".async_client")
    return module is not None and isinstance(client, module.AsyncOpenAI)


def _job(
    completions: "ChatCompletions",
    item: Any,
    shared: "OpenAIChatCompletionParameters",
    shared_options: "OpenAIChatCompletionParameters",
    default_retries: int,
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
    retries = params.max_retries if params.max_retries is not None else default_retries
    # One attempt per call: a retry goes back through the pacer (see the module docstring).
    options = shared_options if params is shared else params.replace(max_retries=0, throw=False)
    return _Job(request, options, cost, retries, copies, profile)


def _put(finished: "queue.Queue[Tuple[int, OpenAIChatCompletionResult]]", ticket: int, result: Any) -> None:
    finished.put((ticket, result))


def _nothing() -> None:
    return None


def _failed(index: int, exc: Exception) -> OpenAIChatCompletionResult:
    error = OpenAIError.from_exception(
        exc, type="invalid_request", message="request %d cannot be sent: %s" % (index, exc)
    )
    return OpenAIChatCompletionResult(errors=[error])


def _not_sent(why: str) -> OpenAIChatCompletionResult:
    return OpenAIChatCompletionResult(errors=[OpenAIError("not sent: " + why, type="not_sent")])
