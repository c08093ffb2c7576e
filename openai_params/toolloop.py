"""The tool loop and the history rules of a conversation, as pure logic.

One prompt of a chat helper is an *exchange*: ask the model; when its answer
calls tools, run them, send their replies and ask again; stop when it answers
without tool calls, when a request fails, or after ``max_rounds`` rounds of
tool calls. :class:`ToolLoop` decides every step and does no I/O: a driver
sends the requests and runs the handlers, the same way for the synchronous
client and an asynchronous one::

    loop = ToolLoop(history, prompt, parameters, tools, system=..., limit=15, max_rounds=10)
    step = loop.start()
    while not isinstance(step, Done):
        if isinstance(step, Ask):                    # send step.messages with step.parameters
            step = loop.answered(send(step))         # the round's OpenAIChatCompletionResult
        else:                                        # RunTools: the calls of one round
            step = loop.ran([job.run() for job in step.jobs])
    final = step.result

Decided here, once:

* which messages go (the system prompt, then the history, trimmed: see
  :func:`trim_history`), and with which ``tool_choice``: one that forces a call
  (``"required"``, or naming a tool) is sent in the first round only, or every
  round would call again;
* how a call's arguments are read (a JSON object, converted to the parameters'
  types for a tool built from its function, else checked against the handler's
  signature),
  what reply each outcome gives (a ``str`` as is, anything else as JSON,
  dataclasses included), and what goes to the model when something fails:
  every failure is the tool's reply, so the model can recover, and a record in
  ``errors`` (``last_errors`` of the helper). A handler that raises gives its
  exception's type and message, never a traceback; ``KeyboardInterrupt`` and
  ``SystemExit`` are not caught;
* when to stop: after ``max_rounds`` rounds of tool calls the model is not asked
  again, and the result is a failure of type ``tool_rounds_exceeded`` (the
  whole exchange stays in the history).
"""

import dataclasses
import inspect
import json
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from ._checks import did_you_mean, is_mapping, show
from .errors import OpenAIError
from .messages import OpenAIMessage, OpenAITool
from .parameters import OpenAIChatCompletionParameters
from .results import OpenAIChatCompletionResult

__all__ = [
    "ToolEntry",
    "ToolJob",
    "ToolOutcome",
    "Ask",
    "RunTools",
    "Done",
    "ToolLoop",
    "trim_history",
    "forces_a_call",
    "reply_text",
]


class ToolEntry(NamedTuple):
    """A registered tool: what the model is shown, and the function that answers it."""

    tool: OpenAITool
    handler: Callable[..., Any]


# -- one tool call -------------------------------------------------------------------------------


class ToolOutcome(NamedTuple):
    """What running one job gave: a value, or the exception the handler raised."""

    job: "ToolJob"
    value: Any = None
    exception: Optional[Exception] = None


class ToolJob:
    """One tool call of a round, read and ready to run (or already failed: ``error``)."""

    def __init__(
        self,
        index: int,
        call: Mapping[str, Any],
        name: str,
        handler: Optional[Callable[..., Any]] = None,
        arguments: Optional[Dict[str, Any]] = None,
        error: Optional[OpenAIError] = None,
        *,
        positional: Sequence[Any] = (),
    ) -> None:
        self.index = index
        self.call = call
        self.call_id = str(call.get("id") or "")
        self.name = name
        self.handler = handler
        self.arguments = arguments if arguments is not None else {}  # passed by name
        self.positional = list(positional)  # positional-only parameters, in order
        self.error = error

    def run(self) -> ToolOutcome:
        """Call the handler (not when the call already failed). ``Exception`` is caught;
        ``KeyboardInterrupt``, ``SystemExit`` and other ``BaseException`` go through."""
        if self.error is not None or self.handler is None:
            return ToolOutcome(self)
        try:
            value = self.handler(*self.positional, **self.arguments)
        except Exception as exc:  # noqa: BLE001 - a failure goes back to the model
            return ToolOutcome(self, exception=exc)
        return ToolOutcome(self, value=value)

    def __repr__(self) -> str:
        state = "failed: %s" % self.error.type if self.error is not None else "ready"
        return "<ToolJob %d %s %s>" % (self.index, self.name, state)


def _failure(
    kind: str, message: str, name: str, call: Any, cause: Optional[BaseException] = None
) -> OpenAIError:
    body = json.loads(json.dumps(call, default=str)) if is_mapping(call) else call
    return OpenAIError(message, type=kind, param=name, body=body, cause=cause)


def _check_fit(name: str, handler: Callable[..., Any], arguments: Dict[str, Any]) -> None:
    """``ValueError`` when the arguments cannot be passed to the handler (a missing or unknown name)."""
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return  # a builtin without a signature: the call itself will say
    try:
        signature.bind(**arguments)
    except TypeError as exc:
        raise ValueError(
            "the arguments of the call to %r do not fit %s%s: %s" % (name, name, signature, exc)
        ) from None


def prepare(index: int, call: Any, tools: Mapping[str, ToolEntry]) -> ToolJob:
    """Read one tool call of an answer: find its tool, parse and check its arguments."""
    if not is_mapping(call):
        return ToolJob(
            index,
            {},
            "?",
            error=_failure("unknown_tool", "a tool call must be an object (got %s)" % show(call), "?", call),
        )
    function = call.get("function")
    name = function.get("name") if is_mapping(function) else None
    shown = name if isinstance(name, str) else show(name)
    entry = tools.get(name) if isinstance(name, str) else None
    if entry is None:
        known = sorted(tools)
        hint = did_you_mean(shown, known) if known else ""
        message = "there is no tool named %s%s (the tools are: %s)" % (
            show(name),
            hint,
            ", ".join(known) or "none",
        )
        return ToolJob(index, call, shown, error=_failure("unknown_tool", message, shown, call))
    tool = entry.tool
    try:
        # The JSON object of the arguments; for a tool built from its function
        # (OpenAITool.from_function), converted to the parameters' types, a default put
        # back for null, and each field named when it does not fit (function_tools.py).
        values = tool.parse_arguments(function.get("arguments") if is_mapping(function) else None)
        if tool.signature is not None and entry.handler is tool.handler:
            positional, arguments = tool.signature.bind(values)
        else:  # another handler: the names must fit its signature
            _check_fit(shown, entry.handler, values)
            positional, arguments = [], values
    except ValueError as exc:
        return ToolJob(index, call, shown, error=_failure("invalid_tool_arguments", str(exc), shown, call))
    return ToolJob(index, call, shown, entry.handler, arguments, positional=positional)


def _json_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    # The other values the schema module reads from JSON: enums, dates and times, UUIDs.
    from .schema import _NOT_JSON
    from .schema import _json_default as schema_value

    found = schema_value(value)
    if found is _NOT_JSON:
        raise TypeError("%s is not JSON serializable" % type(value).__name__)
    return found


def reply_text(value: Any) -> str:
    """What a handler's return value is sent as: a ``str`` as is, anything else as JSON
    (dataclasses as objects; enums, dates, times and UUIDs as ``json_schema`` writes them).
    ``TypeError`` / ``ValueError`` when it cannot be JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, allow_nan=False, default=_json_default)


def _reply(outcome: ToolOutcome) -> Tuple[OpenAIMessage, Optional[OpenAIError]]:
    """The ``tool`` message answering one call, and the error record when it failed."""
    job = outcome.job
    error = job.error
    if error is None and outcome.exception is not None:
        exc = outcome.exception
        text = str(exc)
        raised = "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__
        error = _failure("tool_error", "%s raised %s" % (job.name, raised), job.name, job.call, exc)
    content = ""
    if error is None:
        try:
            content = reply_text(outcome.value)
        except (TypeError, ValueError) as exc:
            error = _failure(
                "tool_error",
                "%s returned %s, which cannot be sent as JSON (%s)" % (job.name, show(outcome.value), exc),
                job.name,
                job.call,
                exc,
            )
    if error is not None:
        content = "Error: " + error.message
    return OpenAIMessage("tool", content, tool_call_id=job.call_id), error


# -- the exchange --------------------------------------------------------------------------------


class Ask(NamedTuple):
    """Send ``messages`` with ``parameters``; ``round`` is 0 for the prompt, then 1, 2, ..."""

    messages: List[Dict[str, Any]]
    parameters: OpenAIChatCompletionParameters
    round: int


class RunTools(NamedTuple):
    """Run these jobs (in any order, or at once) and hand their outcomes to :meth:`ToolLoop.ran`."""

    jobs: List[ToolJob]


class Done(NamedTuple):
    """The exchange is over: ``result`` is what the prompt returns."""

    result: OpenAIChatCompletionResult


Step = Union[Ask, RunTools, Done]


def forces_a_call(tool_choice: Any) -> bool:
    """Whether a ``tool_choice`` makes the model call a tool (ChatCompletionToolChoiceOption):
    ``"required"``, a named function or custom tool, or ``allowed_tools`` in mode ``required``."""
    if tool_choice == "required":
        return True
    if not is_mapping(tool_choice):
        return False
    kind = tool_choice.get("type")
    if kind in ("function", "custom"):
        return True
    allowed = tool_choice.get("allowed_tools")
    return kind == "allowed_tools" and is_mapping(allowed) and allowed.get("mode") == "required"


def _role(message: Any) -> Any:
    return message.role if isinstance(message, OpenAIMessage) else message.get("role")


def trim_history(messages: List[Any], limit: int, keep_from: Optional[int] = None) -> int:
    """Remove the oldest messages while there are more than ``limit``; return how many went.

    Messages go in groups: a message and the ``tool`` replies that follow it (an assistant
    message with ``tool_calls`` and their answers), because the API rejects a tool reply
    whose call is gone. So the history never starts with a tool reply, and may end up
    shorter than ``limit``. ``messages[keep_from:]`` is never removed (the exchange under
    way); ``limit`` 0 keeps everything.
    """
    if limit <= 0:
        return 0
    protected = len(messages) if keep_from is None else keep_from
    removed = 0
    while len(messages) - removed > limit:
        end = removed + 1
        while end < len(messages) and _role(messages[end]) == "tool":
            end += 1
        if end > protected:
            break
        removed = end
    del messages[:removed]
    return removed


class ToolLoop:
    """One exchange: the prompt, the rounds of tool calls, the final answer.

    ``history`` is the conversation without the system prompt; it is changed in place
    (the prompt, each answer and each tool reply are appended, and it is trimmed to
    ``limit`` messages before each request and at the end). ``tools`` maps a function
    name to its :class:`ToolEntry`. ``errors`` lists what went wrong, in order.
    """

    def __init__(
        self,
        history: List[OpenAIMessage],
        prompt: OpenAIMessage,
        parameters: OpenAIChatCompletionParameters,
        tools: Mapping[str, ToolEntry],
        *,
        system: Optional[OpenAIMessage] = None,
        limit: int = 15,
        max_rounds: int = 10,
        auto_handle: bool = True,
    ) -> None:
        self.history = history
        self.tools = dict(tools)
        self.system = system
        self.limit = limit
        self.max_rounds = max_rounds
        self.auto_handle = auto_handle
        self.errors: List[OpenAIError] = []
        self.rounds = 0  # rounds of tool calls run so far
        self.parameters = parameters  # the first round's; the execution options of every round
        # A forcing tool_choice in every round would make the model call again and again.
        self._follow_up = (
            parameters.replace(tool_choice=None) if forces_a_call(parameters.tool_choice) else parameters
        )
        self._last: Optional[OpenAIChatCompletionResult] = None
        self._pending: List[ToolJob] = []  # the calls of the round being run
        self._prompt = prompt
        self._start = 0  # where this exchange begins in the history

    def start(self) -> Ask:
        """The first request: the prompt joins the history."""
        self.history.append(self._prompt)
        self._start = len(self.history) - 1
        return self._ask()

    def _ask(self) -> Ask:
        self._start -= trim_history(self.history, self.limit, self._start)
        messages = [self.system.to_dict()] if self.system is not None else []
        messages.extend(message.to_dict() for message in self.history)
        return Ask(messages, self.parameters if self.rounds == 0 else self._follow_up, self.rounds)

    def answered(self, result: OpenAIChatCompletionResult) -> Union[RunTools, Done]:
        """The answer to the last :class:`Ask`: its tool calls to run, or the end."""
        self._last = result
        if not result.success:
            self.errors.extend(result.errors)
            return self._done(result)
        choice = result.choice
        message = choice.message if choice is not None else None
        if message is None:
            return self._done(result)
        self.history.append(OpenAIMessage.from_dict(message.data))
        calls = message.tool_calls
        if not calls or not self.auto_handle:
            return self._done(result)
        self._pending = [prepare(index, call, self.tools) for index, call in enumerate(calls)]
        return RunTools(list(self._pending))

    def ran(self, outcomes: Sequence[ToolOutcome]) -> Union[Ask, Done]:
        """The outcomes of the last :class:`RunTools` (any order): the replies go in the
        model's order; then the next request, or the end after ``max_rounds`` rounds."""
        last = self._last
        if not self._pending or last is None:
            raise RuntimeError("ran() answers the RunTools step that answered() returned")
        self._pending = []
        for outcome in sorted(outcomes, key=lambda outcome: outcome.job.index):
            reply, error = _reply(outcome)
            self.history.append(reply)
            if error is not None:
                self.errors.append(error)
        self.rounds += 1
        if self.rounds >= self.max_rounds:
            return self._failed(
                OpenAIError(
                    "the model still called tools after %d rounds (max_tool_rounds=%d): their replies "
                    "are in the history, and the model was not asked again" % (self.rounds, self.max_rounds),
                    type="tool_rounds_exceeded",
                    status=last.status,
                )
            )
        return self._ask()

    def stop(self, message: str) -> Done:
        """End the exchange early (cancelled): a failure keeping the last answer's body.

        Calls asked for and not run yet get a reply saying so: an assistant message whose
        tool calls have no replies would make the API refuse the next prompt."""
        for job in self._pending:
            self.history.append(OpenAIMessage("tool", "Error: not run: " + message, tool_call_id=job.call_id))
        self._pending = []
        return self._failed(OpenAIError(message, type="cancelled"))

    def _failed(self, error: OpenAIError) -> Done:
        """The end, a failure with ``error`` that keeps the last answer (its errors too)."""
        self.errors.append(error)
        last = self._last
        if last is None:
            return self._done(OpenAIChatCompletionResult(errors=[error]))
        return self._done(
            OpenAIChatCompletionResult(
                status=last.status, headers=last.headers, body=last.body, errors=list(last.errors) + [error]
            )
        )

    def _done(self, result: OpenAIChatCompletionResult) -> Done:
        trim_history(self.history, self.limit)
        return Done(result)
