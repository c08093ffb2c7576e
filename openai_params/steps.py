"""What a call written as steps may ask for besides a request, and how each driver does it.

A call that is more than one request and its answer (a profile's emulated ``n``,
the chat helper's rounds of tools, a download) is written once, as a generator
(``Steps``, see client.py): it yields each thing to do and is given what came
of it. A :class:`~._http.HTTPRequest` is the common step: sent, and read as a
chat completion. Every other step is one of the classes below, each with a
synchronous :meth:`run` (``OpenAI._drive``) and an asynchronous :meth:`arun`
(``AsyncOpenAI._drive``): the only place where the two clients differ, and
each form is a few lines.

* :class:`Open`: send a request and hand back its response with the body unread
  (or the ``OpenAIException`` that ended it);
* :class:`Read`: a body has no bytes ready (only a body from the asyncio
  transport says so, with an empty piece): wait for the next;
* :class:`ToolRound`: run one round's tool handlers; under ``AsyncOpenAI`` a
  handler that is a coroutine function (``async def``) is awaited.
"""

import inspect
from typing import TYPE_CHECKING, Any, List, Optional, Protocol, Sequence, Union

from .errors import OpenAIException
from .toolloop import ToolJob, ToolOutcome

if TYPE_CHECKING:
    import threading

    from ._http import HTTPRequest, HTTPResponse
    from .client import OpenAI
    from .parameters import OpenAIParameters

__all__ = ["Step", "Open", "Read", "ToolRound", "run_jobs"]


class Step(Protocol):
    """A step other than a request: what each driver runs."""

    def run(
        self, client: "OpenAI", options: "Optional[OpenAIParameters]", cancel: "Optional[threading.Event]"
    ) -> Any: ...

    async def arun(self, client: Any, options: "Optional[OpenAIParameters]") -> Any: ...


class Open:
    """Send ``request``; its response comes back with the body unread, or the
    ``OpenAIException`` that ended it (given, not raised)."""

    def __init__(self, request: "HTTPRequest") -> None:
        self.request = request

    def run(
        self, client: "OpenAI", options: "Optional[OpenAIParameters]", cancel: "Optional[threading.Event]"
    ) -> "Union[HTTPResponse, OpenAIException]":
        try:
            return client._send(self.request, options, stream=True, cancel=cancel)
        except OpenAIException as exc:
            return exc

    async def arun(self, client: Any, options: "Optional[OpenAIParameters]") -> Any:
        return await client._fetch(self.request, options, stream=True)  # (given, not raised)


class Read:
    """``response``'s body has no bytes ready: wait for the next (or its end)."""

    def __init__(self, response: "HTTPResponse") -> None:
        self.response = response

    def run(self, client: Any, options: Any, cancel: Any) -> None:
        return None  # a body read by a blocking transport never waits this way

    async def arun(self, client: Any, options: Any) -> None:
        from .async_transport import fetch

        try:
            await fetch(self.response)
        except BaseException:  # a cancel: the connection closes now, never pooled
            self.response.abort()
            raise


class ToolRound:
    """Run one round's handlers (:func:`run_jobs`); their outcomes, in the jobs' order."""

    def __init__(self, jobs: Sequence[ToolJob], workers: int) -> None:
        self.jobs = list(jobs)
        self.workers = workers

    def run(self, client: Any, options: Any, cancel: Any) -> List[ToolOutcome]:
        return [_not_awaited(outcome) for outcome in run_jobs(self.jobs, self.workers)]

    async def arun(self, client: Any, options: Any) -> List[ToolOutcome]:
        """The same, and each value a coroutine function returned awaited, at most
        ``workers`` at once (one after the other by default, in the model's order)."""
        import asyncio

        outcomes = run_jobs(self.jobs, self.workers)
        slots = asyncio.Semaphore(self.workers)

        async def settle(outcome: ToolOutcome) -> ToolOutcome:
            if not inspect.isawaitable(outcome.value):
                return outcome
            async with slots:
                try:
                    value = await outcome.value
                except Exception as exc:  # noqa: BLE001 - a failure goes back to the model
                    return ToolOutcome(outcome.job, exception=exc)
            return ToolOutcome(outcome.job, value=value)

        return list(await asyncio.gather(*(settle(outcome) for outcome in outcomes)))


def run_jobs(jobs: Sequence[ToolJob], workers: int) -> List[ToolOutcome]:
    """Call one round's handlers: in order, or on up to ``workers`` threads."""
    busy = min(workers, sum(1 for job in jobs if job.error is None))
    if busy <= 1:
        return [job.run() for job in jobs]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(busy, thread_name_prefix="openai_params-tool") as pool:
        return list(pool.map(ToolJob.run, jobs))


def _not_awaited(outcome: ToolOutcome) -> ToolOutcome:
    """Under ``OpenAI`` nothing awaits: a handler that returned a coroutine is a tool error."""
    value = outcome.value
    if not inspect.isawaitable(value):
        return outcome
    close = getattr(value, "close", None)
    if close is not None:
        close()  # never run: no "coroutine was never awaited" warning
    job = outcome.job
    return ToolOutcome(
        job,
        exception=TypeError(
            "%s is a coroutine function (async def): OpenAI does not await it; "
            "use AsyncOpenAI, or register a plain function" % job.name
        ),
    )
