"""The asyncio driver of a fan-out: ``create_many`` / ``iter_many`` on ``AsyncOpenAI``.

    results = await client.chat.completions.create_many(requests, params, concurrency=16)
    async for index, result in client.chat.completions.iter_many(requests, params):
        ...

Every decision is the :class:`.fanout.FanOut`'s, as under ``OpenAI``: which
request starts, how long to wait, what a 429 does to the run, what the caller
gets. This driver only moves the calls: each is an asyncio task (at most
``concurrency`` at once), a wait is ``asyncio.wait`` on the tasks in flight (or
``asyncio.sleep`` when none is), and a finished task's result goes back to the
``FanOut``.

Cancelling the task that awaits ``create_many`` (or iterates ``iter_many``)
cancels every call in flight, each closing its connection as a cancelled call
does, and waits for them to end before ``CancelledError`` goes on: no task is
left behind and the client stays usable. Leaving an ``async for`` early does the
same when the iterator is closed (``await it.aclose()``, or when it is
garbage-collected).
"""

import asyncio
from typing import TYPE_CHECKING, AsyncIterator, Dict, List, Tuple

from . import fanout
from .errors import OpenAIError
from .pacing import START, WAIT
from .results import OpenAIChatCompletionResult

if TYPE_CHECKING:
    from .fanout import FanOut, _Job

__all__ = ["run_on_tasks", "in_order"]

Pairs = AsyncIterator[Tuple[int, OpenAIChatCompletionResult]]


async def run_on_tasks(fan: "FanOut") -> Pairs:
    """``(index, result)`` as each request gets its answer (see the module docstring)."""
    running: Dict[asyncio.Task[OpenAIChatCompletionResult], int] = {}  # task -> ticket
    try:
        while True:
            step = fan.next_step()
            if step.kind == START:
                running[asyncio.ensure_future(_call(fan, step.job))] = step.ticket
            elif step.kind == fanout.OUTPUT:
                yield step.index, step.result
            elif step.kind == WAIT:
                if not running:  # a shared wait after a 429, or a retry's: nothing to watch
                    await asyncio.sleep(step.delay or 0.0)
                    continue
                done, _ = await asyncio.wait(
                    list(running), timeout=step.delay, return_when=asyncio.FIRST_COMPLETED
                )
                for task in sorted(done, key=running.__getitem__):
                    fan.finished(running.pop(task), task.result())
            else:
                return
    finally:
        if running:
            for task in running:
                task.cancel()
            await asyncio.wait(list(running))


async def _call(fan: "FanOut", job: "_Job") -> OpenAIChatCompletionResult:
    """One call; a failure is a result, as on a worker thread (:class:`.background.BackgroundCall`)."""
    try:
        result: OpenAIChatCompletionResult = await fan.call(job)
    except Exception as exc:  # noqa: BLE001 - a failure must become a result, not a lost run
        return OpenAIChatCompletionResult(errors=[OpenAIError.from_exception(exc)])
    return result


async def in_order(pairs: Pairs) -> List[OpenAIChatCompletionResult]:
    """The results of :func:`run_on_tasks`, in input order."""
    found = [pair async for pair in pairs]
    return fanout.in_order(found)
