"""OpenAIChatHelper: a conversation with a system prompt, a bounded history, and tools that run.

    helper = client.chat.create("You are terse.", model="gpt-4o-mini")
    helper.register_tool(get_weather, handler)   # or register_tool(get_weather) for a function
    result = helper.prompt("Weather in Paris?")   # tools run, their replies go back, the model answers
    print(result.choice.message.content)

The rules (what each request sends, the rounds of tool calls, their replies and errors,
when to stop, how the history is trimmed) are pure code in ``toolloop.py``, the same for
an asynchronous client; this module is the synchronous driver: it sends the requests,
runs the handlers, and keeps the conversation's state between prompts.
"""

from __future__ import annotations  # unevaluated: some names are imported for type checkers only

from typing import (
    TYPE_CHECKING,
    Any,
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Dict,
    Generator,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Union,
)

from ._checks import check_bool, check_int, is_mapping, wrong_type
from .errors import OpenAIError
from .messages import OpenAIMessage, OpenAITool, validate_messages
from .parameters import CALLBACKS, OpenAIChatCompletionParameters
from .results import OpenAIChatCompletionResult, OpenAIChatCompletionStreamResult
from .steps import ToolRound
from .toolloop import Ask, Done, RunTools, Step, ToolEntry, ToolLoop

if TYPE_CHECKING:
    import threading

    from .client import OpenAI, Steps
    from .stream import ChatCompletionStream

__all__ = ["OpenAIChatHelper", "ChatHelperStream", "AsyncChatHelperStream"]

PromptLike = Union[str, OpenAIMessage, Mapping[str, Any]]

# The fields of the user's parameters that the helper runs itself, for the whole exchange:
# callbacks fire once per prompt (on_data for every round's chunks), and throw applies to
# the final result, so that every round's answer reaches the loop.
_PER_EXCHANGE = dict({name: None for name in CALLBACKS}, throw=False)


def _tool_name(tool: Any) -> Optional[str]:
    if isinstance(tool, OpenAITool):
        return tool.name
    if is_mapping(tool):
        function = tool.get("function")
        found = function.get("name") if is_mapping(function) else tool.get("name")
        return found if isinstance(found, str) else None
    return None


class OpenAIChatHelper:
    """A conversation: the system prompt, the history, the parameters and the tools of a chat.

    Made by ``client.chat.create(system_prompt, parameters, **fields)`` or
    ``OpenAIChatHelper(client, system_prompt, parameters, **fields)``; ``fields`` are
    parameter fields (``model="m"``) or the helper's own settings below.

    ``prompt(text)`` sends the system prompt, the history and the new message, appends the
    answer, runs the tool calls it makes (their replies go back and the model is asked
    again, at most ``max_tool_rounds`` rounds), and returns the final result. One prompt
    at a time: with callbacks, wait for the handle's result before the next prompt.
    """

    def __init__(
        self,
        client: OpenAI,
        system_prompt: Union[str, OpenAIMessage, Mapping[str, Any], None] = None,
        parameters: Union[OpenAIChatCompletionParameters, Mapping[str, Any], None] = None,
        *,
        number_of_messages: int = 15,
        max_tool_rounds: int = 10,
        auto_handle_tool_calls: bool = True,
        tool_workers: int = 1,
        **fields: Any,
    ) -> None:
        from .client import _chat_parameters

        self.client = client
        self.system_prompt = system_prompt
        params = _chat_parameters(parameters, fields)
        self.number_of_messages = number_of_messages
        self.max_tool_rounds = max_tool_rounds
        self.auto_handle_tool_calls = auto_handle_tool_calls
        self.tool_workers = tool_workers
        self.last_errors: List[OpenAIError] = []
        self._messages: List[OpenAIMessage] = []
        self._tools: Dict[str, ToolEntry] = {}
        self.parameters = params

    # -- properties ----------------------------------------------------------------------------
    @property
    def system_prompt(self) -> Optional[OpenAIMessage]:
        """The system message sent first in every request (not part of ``messages``), or None.

        Set it to a text (a ``system`` message), an ``OpenAIMessage`` or a message dict.
        """
        return self._system_prompt

    @system_prompt.setter
    def system_prompt(self, value: Union[str, OpenAIMessage, Mapping[str, Any], None]) -> None:
        if value is None or isinstance(value, OpenAIMessage):
            self._system_prompt = value
        elif isinstance(value, str):
            self._system_prompt = OpenAIMessage("system", value)
        elif is_mapping(value):
            self._system_prompt = OpenAIMessage.from_dict(value)
        else:
            wrong_type("system_prompt", "a text, an OpenAIMessage or a message dict, or None", value)

    @property
    def parameters(self) -> OpenAIChatCompletionParameters:
        """The parameters of every request (the registered tools are added to ``tools``)."""
        return self._parameters

    @parameters.setter
    def parameters(self, value: Union[OpenAIChatCompletionParameters, Mapping[str, Any], None]) -> None:
        from .client import _chat_parameters

        params = _chat_parameters(value, {})
        # Functions in the tools, and tools that carry their function (OpenAITool.from_function),
        # are registered; the other tools stay in the parameters and are sent as they are.
        kept = []
        for tool in params.tools or ():
            handler = getattr(tool, "handler", None)
            if isinstance(tool, OpenAITool) and callable(handler):
                self.register_tool(tool, handler)
            elif callable(tool) and not isinstance(tool, (OpenAITool, Mapping)):
                self.register_tool(tool)
            else:
                kept.append(tool)
        self._parameters = (
            params.replace(tools=kept or None) if len(kept) != len(params.tools or ()) else params
        )

    @property
    def messages(self) -> List[OpenAIMessage]:
        """The history, without the system prompt: the list itself, oldest first."""
        return self._messages

    @messages.setter
    def messages(self, value: Sequence[Union[OpenAIMessage, Mapping[str, Any]]]) -> None:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            wrong_type("messages", "a list of messages", value)
        self._messages = [OpenAIMessage.from_dict(message) for message in value]

    @property
    def number_of_messages(self) -> int:
        """How many messages the history keeps (15); 0 keeps them all. See :func:`trim_history`."""
        return self._number_of_messages

    @number_of_messages.setter
    def number_of_messages(self, value: int) -> None:
        check_int("number_of_messages", value, 0)
        self._number_of_messages = value

    @property
    def max_tool_rounds(self) -> int:
        """Rounds of tool calls one prompt may run (10); then the result is a failure of type
        ``tool_rounds_exceeded``."""
        return self._max_tool_rounds

    @max_tool_rounds.setter
    def max_tool_rounds(self, value: int) -> None:
        check_int("max_tool_rounds", value, 1)
        self._max_tool_rounds = value

    @property
    def auto_handle_tool_calls(self) -> bool:
        """Run the tool calls with the registered handlers (True); False returns them to the caller."""
        return self._auto_handle_tool_calls

    @auto_handle_tool_calls.setter
    def auto_handle_tool_calls(self, value: bool) -> None:
        check_bool("auto_handle_tool_calls", value)
        self._auto_handle_tool_calls = value

    @property
    def tool_workers(self) -> int:
        """How many handlers of one round may run at once, on threads (1: one after the other)."""
        return self._tool_workers

    @tool_workers.setter
    def tool_workers(self, value: int) -> None:
        check_int("tool_workers", value, 1)
        self._tool_workers = value

    @property
    def tools(self) -> List[OpenAITool]:
        """The registered tools, in the order they were registered."""
        return [entry.tool for entry in self._tools.values()]

    # -- tools ---------------------------------------------------------------------------------
    def register_tool(self, tool: Any, handler: Optional[Callable[..., Any]] = None) -> OpenAITool:
        """Register a tool and the function that answers it; returns the tool.

        ``register_tool(function)`` builds the tool from the function
        (``OpenAITool.from_function``); ``register_tool(tool, handler)`` takes a tool
        (``OpenAITool`` or dict) and any callable. The handler is called with the call's
        arguments as keyword arguments. A name registered again is replaced, in place.
        """
        if handler is None:
            if isinstance(tool, (OpenAITool, Mapping)) or not callable(tool):
                raise TypeError(
                    "register_tool(tool) needs a handler: register_tool(tool, handler), "
                    "or register_tool(function) to build the tool from a function"
                )
            handler = tool
            tool = OpenAITool.from_function(tool)
        elif not callable(handler):
            wrong_type("handler", "a callable", handler)
        made = OpenAITool.from_dict(tool, path="tool")
        self._tools[made.name] = ToolEntry(made, handler)
        return made

    def register_tools(self, tools: Any) -> List[OpenAITool]:
        """Register several tools: a list of functions or ``(tool, handler)`` pairs, or a mapping
        of name to a function or a ``(tool, handler)`` pair (the key names the tool)."""
        if isinstance(tools, (list, tuple)):
            return [
                self.register_tool(*item) if isinstance(item, tuple) else self.register_tool(item)
                for item in tools
            ]
        if not is_mapping(tools):
            wrong_type(
                "tools", "a list of functions or (tool, handler) pairs, or a dict of them by name", tools
            )
        registered = []
        for name, item in tools.items():
            if isinstance(item, tuple):
                tool, handler = item
                if is_mapping(tool) and _tool_name(tool) is None:
                    tool = dict(tool, name=name)  # the short form, named by its key
                made = OpenAITool.from_dict(tool, path="tools[%r]" % name)
                if made.name != name:
                    raise ValueError(
                        "tools[%r] is a tool named %r: the key and the name must agree" % (name, made.name)
                    )
                registered.append(self.register_tool(made, handler))
            else:
                made = OpenAITool.from_function(item)
                made.name = name
                made.validate("tools[%r]" % name)
                registered.append(self.register_tool(made, item))
        return registered

    def unregister_tool(self, name: str) -> bool:
        """Forget a tool by name; False when there was none."""
        return self._tools.pop(name, None) is not None

    def unregister_tools(self) -> None:
        """Forget every registered tool."""
        self._tools.clear()

    def reset(self) -> None:
        """Start a new conversation: clears the history and ``last_errors``; the system prompt,
        the parameters and the tools stay (4D AIKit also unregisters the tools; see the docs)."""
        self._messages = []
        self.last_errors = []

    # -- prompting -----------------------------------------------------------------------------
    def prompt(self, prompt: PromptLike) -> Any:
        """Send a message (a text is a ``user`` message) and return the final result.

        When the parameters carry callbacks, returns a ``CallHandle`` at once and runs the
        whole exchange on a worker thread: ``on_data`` gets every round's chunks (with
        ``stream=True``), ``on_terminate`` the final result, once.
        """
        params = self._parameters
        if params.stream and not params.has_callbacks():
            raise ValueError(
                "stream=True needs a callback (on_data or formula) with prompt(); "
                "to iterate over the chunks use helper.stream(prompt)"
            )
        loop = self._loop(prompt, stream=params.stream)
        client = self.client
        if params.has_callbacks():
            if params.stream:
                return client._background(lambda cancel: self._streamed(loop, cancel), params)
            return client._background(
                lambda cancel: client._drive(self._exchange(loop, cancel), loop.parameters, cancel), params
            )
        # The client drives the steps: OpenAI runs them here and returns the result;
        # AsyncOpenAI returns a coroutine (await helper.prompt(...)).
        return client._drive(self._exchange(loop, None, throw=params.throw), loop.parameters, None)

    def stream(self, prompt: PromptLike) -> Union[ChatHelperStream, AsyncChatHelperStream]:
        """Like :meth:`prompt`, streamed: an iterator over the chunks of every round.

        with helper.stream("Weather in Paris?") as stream:
            for chunk in stream:
                print(chunk.text, end="", flush=True)
        final = stream.result()
        """
        if self._parameters.has_callbacks():
            given = ", ".join(name for name in CALLBACKS if getattr(self._parameters, name, None) is not None)
            raise ValueError(
                "stream() does not take callbacks (got %s): iterate over the stream instead, or "
                "call prompt() with stream=True and the callbacks" % given
            )
        return self._streamed(self._loop(prompt, stream=True), None, throw=self._parameters.throw)

    def _streamed(
        self, loop: ToolLoop, cancel: Optional[threading.Event], *, throw: bool = False
    ) -> Union[ChatHelperStream, AsyncChatHelperStream]:
        if hasattr(type(self.client), "__aenter__"):  # AsyncOpenAI: the same rounds, awaited
            return AsyncChatHelperStream(self, loop, cancel, throw=throw)
        return ChatHelperStream(self, loop, cancel, throw=throw)

    def _loop(self, prompt: PromptLike, *, stream: bool) -> ToolLoop:
        message = _as_message(prompt)
        params = self._parameters
        declared = [tool for tool in params.tools or () if _tool_name(tool) not in self._tools]
        sent = declared + [entry.tool for entry in self._tools.values()]
        per_round = params.replace(tools=sent or None, stream=stream, **_PER_EXCHANGE)
        return ToolLoop(
            self._messages,
            message,
            per_round,
            self._tools,
            system=self._system_prompt,
            limit=self._number_of_messages,
            max_rounds=self._max_tool_rounds,
            auto_handle=self._auto_handle_tool_calls,
        )

    def _exchange(self, loop: ToolLoop, cancel: Optional[threading.Event], *, throw: bool = False) -> Steps:
        """The whole exchange, not streamed, as steps that either client drives
        (``OpenAI._drive``): yields each request to send, is given its result."""
        completions = self.client.chat.completions
        step: Step = loop.start()
        while not isinstance(step, Done):
            if isinstance(step, RunTools):
                step = loop.ran((yield ToolRound(step.jobs, self._tool_workers)))
            elif cancel is not None and cancel.is_set():
                step = loop.stop("the call was cancelled")
            else:
                request, count, profile = completions._request(step.messages, step.parameters, stream=False)
                answer = yield from completions._completion(request, count, step.parameters, profile)
                step = loop.answered(answer)
        self.last_errors = list(loop.errors)
        if throw:
            step.result.throw()  # after the history and last_errors are up to date
        return step.result

    def __repr__(self) -> str:
        return "<OpenAIChatHelper model=%r messages=%d tools=%s>" % (
            self._parameters.model,
            len(self._messages),
            list(self._tools),
        )


def _as_message(prompt: Any) -> OpenAIMessage:
    """A prompt as the message to send: a text is a ``user`` message; a dict without a role too."""
    if isinstance(prompt, str):
        message = OpenAIMessage("user", prompt)
    elif isinstance(prompt, OpenAIMessage) or is_mapping(prompt):
        message = OpenAIMessage.from_dict(prompt)  # a copy: the caller may reuse theirs
        if message.role is None:
            message.role = "user"
    else:
        wrong_type("prompt", "a text, an OpenAIMessage or a message dict", prompt)
    validate_messages([message])
    return message


class _Rounds:
    """What the two stream forms share: the steps between two requests, the end, the result.
    The drivers below only open each round's stream and hand its chunks on."""

    def __init__(
        self,
        helper: OpenAIChatHelper,
        loop: ToolLoop,
        cancel: Optional[threading.Event],
        *,
        throw: bool = False,
    ) -> None:
        self._helper = helper
        self._loop = loop
        self._cancel = cancel
        self._throw = throw
        self._aborted = False
        self._current: Any = None  # the stream of the round in flight
        self._final: Optional[OpenAIChatCompletionResult] = None
        self._iterator = self._rounds()

    def _rounds(self) -> Any:
        """The chunks of every round, as the driver's (asynchronous) generator."""
        raise NotImplementedError

    def abort(self) -> None:
        """From another thread: the round in flight ends at once, and no other starts."""
        self._aborted = True
        current = self._current
        if current is not None:
            current.abort()

    @property
    def errors(self) -> List[OpenAIError]:
        """What went wrong so far in this exchange (``last_errors`` once it ends)."""
        return list(self._loop.errors)

    def _next(self, step: Step) -> Any:
        """Run the tools (or stop) until the next request, as the client runs steps
        (``AsyncOpenAI``: a coroutine); None once the exchange has ended."""
        return self._helper.client._drive(self._until_asked(step), self._loop.parameters, self._cancel)

    def _until_asked(self, step: Step) -> Generator[ToolRound, Any, Optional[Ask]]:
        while (
            not isinstance(step, Ask) or self._aborted or (self._cancel is not None and self._cancel.is_set())
        ):
            if isinstance(step, Done):
                self._end(step.result)
                return None
            if isinstance(step, RunTools):
                step = self._loop.ran((yield ToolRound(step.jobs, self._helper._tool_workers)))
            else:
                step = self._loop.stop("the stream was cancelled")
        return step

    def _open(self, ask: Ask) -> Any:
        completions = self._helper.client.chat.completions
        request, count, profile = completions._request(ask.messages, ask.parameters, stream=True)
        self._current = completions._open(request, count, ask.parameters, self._cancel, profile)
        return self._current

    def _closed(self, result: OpenAIChatCompletionResult) -> None:
        """Closed by the caller mid-round: what arrived is kept, no tool runs."""
        ended = self._loop.answered(result)
        if not isinstance(ended, Done):
            ended = self._loop.stop("the stream was closed before the exchange ended")
        self._end(ended.result)

    def _end(self, result: OpenAIChatCompletionResult) -> None:
        self._final = result
        self._helper.last_errors = list(self._loop.errors)

    def _finished(self) -> OpenAIChatCompletionResult:
        if self._final is None:  # closed before the first round started
            self._final = OpenAIChatCompletionResult(
                errors=[OpenAIError("the stream was closed before it started", type="cancelled")]
            )
        elif self._throw and not self._final.success:
            self._final.throw()
        return self._final


class ChatHelperStream(_Rounds):
    """The chunks of every round of one exchange, as one iterator; :meth:`result` is the final
    result (the same object ``prompt()`` would return). Also a context manager."""

    _iterator: Generator[OpenAIChatCompletionStreamResult, None, None]

    def __iter__(self) -> Iterator[OpenAIChatCompletionStreamResult]:
        return self._iterator

    def __next__(self) -> OpenAIChatCompletionStreamResult:
        return next(self._iterator)

    def __enter__(self) -> ChatHelperStream:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop: the round in flight is closed, no tool runs, the result is ``cancelled``."""
        self._iterator.close()

    def result(self) -> OpenAIChatCompletionResult:
        """The final result: reads what is left first (running the tools and the next rounds)."""
        for _ in self._iterator:
            pass
        final = self._final
        return final if final is not None else self._finished()

    def _rounds(self) -> Generator[OpenAIChatCompletionStreamResult, None, None]:
        ask = self._next(self._loop.start())
        while ask is not None:
            stream: ChatCompletionStream = self._open(ask)
            try:
                yield from stream
            except GeneratorExit:
                stream.close()
                self._closed(stream.result())
                raise
            finally:
                stream.close()
                self._current = None
            ask = self._next(self._loop.answered(stream.result()))
        self._finished()  # with throw=True, a failure raises here, from the iterator


class AsyncChatHelperStream(_Rounds):
    """:class:`ChatHelperStream` for ``AsyncOpenAI``: ``async for chunk in stream``,
    ``await stream.result()``, ``async with``."""

    _iterator: AsyncGenerator[OpenAIChatCompletionStreamResult, None]

    def __aiter__(self) -> AsyncIterator[OpenAIChatCompletionStreamResult]:
        return self._iterator

    async def __anext__(self) -> OpenAIChatCompletionStreamResult:
        return await self._iterator.__anext__()

    async def __aenter__(self) -> AsyncChatHelperStream:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop: the round in flight is closed, no tool runs, the result is ``cancelled``."""
        await self._iterator.aclose()

    async def result(self) -> OpenAIChatCompletionResult:
        """The final result: reads what is left first (running the tools and the next rounds)."""
        async for _ in self._iterator:
            pass
        final = self._final
        return final if final is not None else self._finished()

    async def _rounds(self) -> AsyncGenerator[OpenAIChatCompletionStreamResult, None]:
        ask = await self._next(self._loop.start())
        while ask is not None:
            stream = self._open(ask)
            try:
                async with stream:
                    async for chunk in stream:
                        yield chunk
            except GeneratorExit:
                self._closed(await stream.result())
                raise
            finally:
                self._current = None
            ask = await self._next(self._loop.answered(await stream.result()))
        self._finished()
