"""``AsyncOpenAI``: the same client on asyncio, driving the same description of every call.

    async with AsyncOpenAI(base_url="http://127.0.0.1:8080/v1") as client:
        r = await client.chat.completions.create([{"role": "user", "content": "Hi"}], model="m")
        async with client.chat.completions.stream(messages, model="m") as stream:
            async for chunk in stream:
                print(chunk.text, end="")
        final = await stream.result()

Nothing here says what a call sends or how its answer is read: the resources of
:mod:`.client` build the request, check the arguments and read the result, for
both clients. :class:`AsyncOpenAI` is an :class:`~openai_params.OpenAI` whose
driver is asynchronous: where the synchronous client sends a request and
blocks, this one returns a coroutine that awaits the response on the event
loop (:mod:`.async_transport`), then hands it to the same synchronous reading
code: a call's (``client._call_result``), or a stream's
(``ChatCompletions._open_stream``, which finds it already there:
:meth:`AsyncOpenAI._send`). A stream's reading code is one
generator (:mod:`.stream`); when it needs bytes that have not arrived, it
yields :data:`.stream.WAITING` and :class:`AsyncChatCompletionStream` awaits
them, then resumes it. A call written as steps (``client.Steps``: an emulated
``n``, the chat helper's rounds, a download) is run by :meth:`AsyncOpenAI._drive`,
which awaits each request and each other step (:mod:`.steps`); a fan-out's
decisions (:class:`.fanout.FanOut`) are run on asyncio tasks (:mod:`.async_fanout`).

Callbacks (``on_data``, ``on_terminate``, ``on_response``, ``on_error``) may be
plain functions or coroutine functions; ``create()`` with callbacks runs the call
in the awaiting task (no thread) and returns the final result: the steps of a
:class:`.background.BackgroundCall`, awaited (``arun``).
"""

import asyncio
import inspect
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Type, Union

from ._http import HTTPRequest, HTTPResponse
from .background import BackgroundCall, _cancelled
from .client import ChatCompletions, OpenAI, _call_result
from .errors import OpenAIError, OpenAIException
from .parameters import OpenAIChatCompletionParameters, OpenAIParameters
from .results import OpenAIChatCompletionResult, OpenAIChatCompletionStreamResult, OpenAIResult
from .stream import WAITING, ChatCompletionStream, _is_json

if TYPE_CHECKING:
    import threading

    from .client import Steps
    from .fanout import FanOut

__all__ = ["AsyncOpenAI", "AsyncChatCompletionStream"]

Outcome = Union[HTTPResponse, OpenAIException]


class AsyncOpenAI(OpenAI):
    """The client on asyncio: the constructor, resources and results of :class:`OpenAI`,
    with every call awaited. See docs/async.md.

    ``transport``: an :class:`~openai_params.async_transport.AsyncTransport`, or a
    :class:`~openai_params.MockTransport` (it does no I/O); by default an
    ``AsyncTransport`` with ``ssl_context``, ``ca_bundle`` and ``proxies``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from .async_transport import AsyncTransport
        from .transport import Transport

        given = self._transport
        self._aio: Any = AsyncTransport.sharing(given) if isinstance(given, Transport) else given
        self._aio_awaits = asyncio.iscoroutinefunction(self._aio.send)  # False: a MockTransport
        # The response each request got, from its await until the reading code takes it.
        self._fetched: Dict[int, Outcome] = {}
        self._aclosed = False
        self.chat.completions = AsyncChatCompletions(self)

    def __repr__(self) -> str:
        return "Async" + super().__repr__()

    async def __aenter__(self) -> "AsyncOpenAI":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Refuse new calls and close the idle connections (calls in flight keep theirs
        until they end)."""
        self._aclosed = True
        self._aio.close()

    async def aclose(self) -> None:
        self.close()

    # -- the asynchronous driver --------------------------------------------------------------
    async def _fetch(
        self, request: HTTPRequest, options: Optional[OpenAIParameters], stream: bool
    ) -> Outcome:
        """Send ``request`` on the event loop: its response, or the error that ended it
        (a stream keeps it in ``_fetched`` for :meth:`_send`, where the synchronous
        reading code asks for it)."""
        if self._aclosed:
            raise RuntimeError("the client is closed: make a new AsyncOpenAI() for new calls")
        timeout, retries = self._limits(options)
        send = self._aio.send
        try:
            if self._aio_awaits:
                response: HTTPResponse = await send(
                    request, timeout=timeout, max_retries=retries, stream=stream
                )
            else:  # MockTransport: no I/O to wait for
                response = send(request, timeout=timeout, max_retries=retries, stream=stream)
            if stream and _is_json(response.headers):
                # A server that ignored stream=true: the reading code reads it whole.
                from .async_transport import read_body

                await read_body(response)
        except OpenAIException as exc:
            return exc
        return response

    def _send(
        self,
        request: HTTPRequest,
        options: Optional[OpenAIParameters],
        *,
        stream: bool = False,
        cancel: "Optional[threading.Event]" = None,
    ) -> HTTPResponse:
        """The response :meth:`_fetch` got for ``request`` (or its error, raised)."""
        outcome = self._fetched.pop(id(request), None)
        if outcome is None:
            raise RuntimeError(
                "AsyncOpenAI sends its requests on the event loop, and this call has no "
                "asynchronous form: use OpenAI for it"
            )
        if isinstance(outcome, OpenAIException):
            raise outcome
        return outcome

    # _call, _drive and _background override OpenAI's synchronous methods with coroutine
    # functions: where OpenAI's callers get the value, these get a coroutine for the user to await.
    async def _call(  # type: ignore[override]
        self,
        request: HTTPRequest,
        result_type: Type[Any],
        options: Optional[OpenAIParameters] = None,
        cancel: "Optional[threading.Event]" = None,
    ) -> Any:
        """The response awaited, then read as :meth:`OpenAI._call` reads it."""
        return _call_result(await self._fetch(request, options, stream=False), result_type, options)

    async def _drive(  # type: ignore[override]
        self, steps: "Steps", options: Optional[OpenAIParameters], cancel: Any
    ) -> Any:
        """The call's steps run, each request's result and each other step awaited (as
        :meth:`OpenAI._drive` runs them)."""
        try:
            step = next(steps)
            while True:
                if isinstance(step, HTTPRequest):
                    value = await self._call(step, OpenAIChatCompletionResult, options)
                else:
                    value = await step.arun(self, options)
                step = steps.send(value)
        except StopIteration as done:
            return done.value
        finally:
            steps.close()  # cancelled: the steps' own cleanup runs now

    def _fan_out(self, fan: "FanOut", *, ordered: bool) -> Any:
        """A fan-out on asyncio tasks (:mod:`.async_fanout`): a coroutine of the results in
        input order, or an asynchronous iterator of ``(index, result)``."""
        from .async_fanout import in_order, run_on_tasks

        if self._aclosed:
            raise RuntimeError("the client is closed: make a new AsyncOpenAI() for new calls")
        pairs = run_on_tasks(fan)
        return in_order(pairs) if ordered else pairs

    async def _background(  # type: ignore[override]
        self, start: Callable[[Any], Any], options: OpenAIChatCompletionParameters
    ) -> Any:
        """With callbacks: the call and its callbacks run in the awaiting task with the
        guarantees of :mod:`.background`: the same steps (:class:`.background.BackgroundCall`),
        each awaited; callbacks may be coroutine functions. A cancelled task still runs the
        last callbacks, with the cancelled result, as a cancelled ``CallHandle`` does; then
        ``CancelledError`` goes on. Returns the final result."""
        call = BackgroundCall.for_options(start, options)
        try:
            result = await call.arun()
        except asyncio.CancelledError:
            if not call.ended:
                await call.arun(call.ending(_cancelled_result(call.stream)))
            raise
        if options.throw:
            result.throw()
        return result


class AsyncChatCompletions(ChatCompletions):
    """``client.chat.completions`` of :class:`AsyncOpenAI`: the same methods; a stream is an
    :class:`AsyncChatCompletionStream`."""

    def _open(
        self,
        request: HTTPRequest,
        count: int,
        params: OpenAIChatCompletionParameters,
        cancel: "Optional[threading.Event]",
        profile: Any,
        *,
        ahead: bool = False,
    ) -> Any:
        return AsyncChatCompletionStream(self, request, count, params, profile)


class AsyncChatCompletionStream:
    """An asynchronous iterator of :class:`OpenAIChatCompletionStreamResult`, one per chunk.

        async with client.chat.completions.stream(messages, model="m") as stream:
            async for chunk in stream:
                print(chunk.text, end="", flush=True)
        final = await stream.result()

    The request is sent when the ``async with`` block (or the first ``async for``) begins.
    Cancelling the task that iterates closes the connection at once and raises
    ``CancelledError``; the stream then ends as ``cancelled``.

    The reading code is the synchronous client's (``ChatCompletions._open``: one
    :class:`~.stream.ChatCompletionStream`, or the :class:`~.emulate_n.MergedStream` of a
    profile that emulates ``n``); when it yields :data:`.stream.WAITING`, what it waits for
    (``_awaiting()``: the bytes of a response, or the next request of an emulated ``n``)
    is awaited here, then it is resumed.
    """

    def __init__(
        self,
        completions: ChatCompletions,
        request: HTTPRequest,
        count: int,
        params: OpenAIChatCompletionParameters,
        profile: Any,
    ) -> None:
        self._completions = completions
        self._request = request
        self._count = count  # > 1: the profile emulates n, by that many requests in turn
        self._params = params
        self._profile = profile  # how the answer is read (ChatCompletions._request)
        self._stream: Optional[ChatCompletionStream] = None
        self._responses: List[HTTPResponse] = []  # every response read so far, to settle

    async def _send(self) -> None:
        """Send the request on the event loop; the reading code then finds its response."""
        client = self._completions._client
        assert isinstance(client, AsyncOpenAI)  # noqa: S101 - made by AsyncChatCompletions
        outcome = await client._fetch(self._request, self._params, stream=True)
        client._fetched[id(self._request)] = outcome
        if isinstance(outcome, HTTPResponse):
            self._responses.append(outcome)

    async def _open(self) -> ChatCompletionStream:
        stream = self._stream
        if stream is None:
            await self._send()
            try:
                stream = ChatCompletions._open(
                    self._completions,
                    self._request,
                    self._count,
                    self._params,
                    None,
                    self._profile,
                    ahead=True,
                )
            finally:
                self._completions._client._fetched.pop(id(self._request), None)  # type: ignore[attr-defined]
            self._stream = stream
        return stream

    async def __aenter__(self) -> "AsyncChatCompletionStream":
        await self._open()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    def __aiter__(self) -> "AsyncChatCompletionStream":
        return self

    async def __anext__(self) -> OpenAIChatCompletionStreamResult:
        stream = self._stream or await self._open()
        iterator = stream._iterator
        while True:
            try:
                item = next(iterator)
            except StopIteration:
                await self._settle()
                raise StopAsyncIteration from None
            if item is not WAITING:
                return item
            # What the reading code waits for: the next bytes of a response, or (an emulated
            # n) the next request, sent here; then it is resumed.
            awaited = stream._awaiting()
            try:
                if isinstance(awaited, HTTPRequest):
                    await self._settle()  # the previous one's connection back to the pool first
                    await self._send()
                elif awaited is not None:
                    from .async_transport import fetch

                    await fetch(awaited)
            except BaseException:  # a cancel: the connection closes now, never pooled
                stream.abort()
                raise

    async def _settle(self) -> None:
        from .async_transport import settle

        for response in self._responses:
            await settle(response)

    async def aclose(self) -> None:
        """Stop reading and close the connection. Safe to call more than once."""
        stream = self._stream
        if stream is None:
            return
        from .async_transport import close_body

        for response in self._responses:
            await close_body(response)
        stream.close()
        await self._settle()

    def abort(self) -> None:
        """Close the connection now; the stream ends as cancelled."""
        if self._stream is not None:
            self._stream.abort()

    async def result(self) -> OpenAIChatCompletionResult:
        """The accumulated final result (reads what is left first), as
        :meth:`ChatCompletionStream.result`."""
        stream = self._stream or await self._open()
        async for _ in self:
            pass
        return stream.result()

    @property
    def status(self) -> Optional[int]:
        return self._stream.status if self._stream is not None else None

    @property
    def headers(self) -> Dict[str, str]:
        return self._stream.headers if self._stream is not None else {}

    @property
    def errors(self) -> List[OpenAIError]:
        return self._stream.errors if self._stream is not None else []


def _cancelled_result(started: Any) -> OpenAIResult:
    """A cancelled call's result: what its stream had received (read no further), ended as
    ``cancelled``."""
    stream = getattr(started, "_stream", None)
    if not isinstance(stream, ChatCompletionStream):
        return _cancelled()
    stream.abort()
    result = stream.result()
    if not any(error.is_cancelled for error in result.errors):
        result.errors.append(_cancelled().errors[0])
    return result


# inspect.signature(AsyncOpenAI) is OpenAI's: the constructor is OpenAI's.
AsyncOpenAI.__init__.__signature__ = inspect.signature(OpenAI.__init__)  # type: ignore[attr-defined]
