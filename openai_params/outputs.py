"""Typed outputs: a Python type as ``response_format``, and the answer read back as that type.

What is sent: ``response_format=Person`` becomes

    {"type": "json_schema",
     "json_schema": {"name": "Person", "schema": json_schema(Person), "strict": true}}

How the answer is read: :class:`OutputReader` is the one place, used for a
whole answer (``client``: once a call's result is complete, an emulated ``n``
merged) and for the final result of a stream (``stream``) alike. For each choice of a successful result it sets
``message.parsed`` (``from_json(Person, content)``) and links each tool call to
the tool built from a function that it names (``call.function.tool``, for
``parsed_arguments``). A choice whose answer cannot be read as the type makes
the result a failure: one ``invalid_output`` error per such choice, keeping the
raw content as ``error.body``, with a ``code`` that says why (the table
``_CUT`` and :meth:`OutputReader._read_choice`). A refusal is not a failure:
``parsed`` stays None and ``message.refusal`` says why. Neither is a choice
that called a tool instead of answering.
"""

import json
import re
import typing
import unicodedata
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple

from ._checks import is_mapping, show, wrong_type
from .errors import OpenAIError
from .messages import OpenAIMessage, OpenAITool, is_function_tool
from .results import OpenAIChatCompletionResult, OpenAIChoice, OpenAIResult
from .tool_calls import ToolCall

if TYPE_CHECKING:
    from .parameters import OpenAIChatCompletionParameters

__all__ = ["OutputReader", "output_reader", "response_format_json", "schema_name"]

# finish_reason values that mean the answer was cut before its end: (code, why), quoted in
# the error. "length": max_completion_tokens (or the context) ran out; "content_filter":
# the provider's filter stopped it. Either way the JSON is incomplete.
_CUT: Dict[str, Tuple[str, str]] = {
    "length": ("length", "was cut at the token limit (finish_reason 'length') before its end"),
    "content_filter": (
        "content_filter",
        "was cut by the content filter (finish_reason 'content_filter') before its end",
    ),
}

# json_schema.name, like a function name: "a-z, A-Z, 0-9, or contain underscores and
# dashes, with a maximum length of 64" (ResponseFormatJsonSchema).
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_-]+")
_NAME_MAX = 64


def schema_name(tp: Any) -> str:
    """A name for the type that fits ``^[a-zA-Z0-9_-]{1,64}$``: ``Person``, ``List_Person``,
    ``Optional_int``, ``Union_int_str``; accents dropped (``Été`` gives ``Ete``), other
    characters replaced by ``_``; ``"response"`` when nothing of the name is left."""
    from ._shapes import UNIONS  # loaded by json_schema, which response_format_json calls first

    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is None:
        name = str(getattr(tp, "__name__", None) or "")
    else:  # List[Person], list[Person], Optional[int], int | None, Literal["a"], ...
        members = [arg for arg in args if arg is not Ellipsis and not isinstance(arg, (str, int))]
        if origin in UNIONS:
            head = "Union"
            if len(members) == 2 and type(None) in members:
                head, members = "Optional", [arg for arg in members if arg is not type(None)]
        else:
            head = str(
                getattr(tp, "_name", None)
                or getattr(origin, "_name", None)
                or getattr(origin, "__name__", "")
            )
        name = "_".join([head[:1].upper() + head[1:]] + [schema_name(arg) for arg in members])
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return _NOT_NAME.sub("_", ascii_name).strip("_")[:_NAME_MAX] or "response"


def response_format_json(tp: Any) -> Dict[str, Any]:
    """The ``response_format`` sent for a type; ``TypeError`` naming the part that has no schema."""
    if isinstance(tp, (str, bytes, int, float, list, tuple, set)) or tp is None:
        wrong_type(
            "response_format",
            'a dict like {"type": "json_object"} or a type (a dataclass, a TypedDict, List[...], ...)',
            tp,
        )
    from .schema import json_schema

    try:
        schema = json_schema(tp)
    except (TypeError, ValueError) as exc:
        raise type(exc)("response_format: %s" % exc) from None
    return {"type": "json_schema", "json_schema": {"name": schema_name(tp), "schema": schema, "strict": True}}


class OutputReader:
    """What a call's answer is read as: the ``response_format`` type (None for none) and the
    tools built from functions, by name. :meth:`read` applies them to a result."""

    def __init__(self, response_type: Any = None, tools: Optional[Mapping[str, OpenAITool]] = None) -> None:
        self.response_type = response_type
        self.tools: Dict[str, OpenAITool] = dict(tools or {})

    def read(self, result: OpenAIResult) -> None:
        """Set ``message.parsed`` and link tool calls on every choice of a successful chat
        result; append an ``invalid_output`` error for each choice whose answer does not fit."""
        if not isinstance(result, OpenAIChatCompletionResult) or not result.success:
            return
        for choice in result.choices:
            message = choice.message
            if message is None:
                continue
            if self.tools:
                for call in message.tool_calls or ():
                    if isinstance(call, ToolCall):
                        call.function.tool = self.tools.get(call.function.name or "")
            if self.response_type is not None:
                error = self._read_choice(choice, message, result)
                if error is not None:
                    result.errors.append(error)

    def _read_choice(
        self, choice: OpenAIChoice, message: OpenAIMessage, result: OpenAIChatCompletionResult
    ) -> Optional[OpenAIError]:
        from ._shapes import type_name  # the name schema's own messages use: Person, List[Person]

        where = "choices[%d]" % choice.index
        content = message.content
        if isinstance(content, list):  # content parts, as some servers send: their text
            content = message.text

        def failed(code: str, why: str) -> OpenAIError:
            return OpenAIError(
                "%s %s" % (where, why),
                status=result.status,
                type="invalid_output",
                code=code,
                body=content,
                headers=result.headers,
            )

        if message.refusal:
            return None  # parsed stays None; message.refusal says why
        cut = _CUT.get(choice.finish_reason or "")
        if cut is not None:
            return failed(
                cut[0], cut[1] + "; its content cannot be read as %s" % type_name(self.response_type)
            )
        if content is None and message.tool_calls:
            return None  # the model called a tool instead of answering
        if not isinstance(content, str):
            return failed(
                "invalid_json",
                "has no text content to read as %s (got %s)" % (type_name(self.response_type), show(content)),
            )
        try:
            value = json.loads(content)
        except ValueError as exc:
            return failed("invalid_json", "is not valid JSON (%s): %s" % (exc, show(content)))
        from .schema import from_json

        try:
            message.parsed = from_json(self.response_type, value)
        except ValueError as exc:
            return failed("mismatch", "does not fit %s: %s" % (type_name(self.response_type), exc))
        return None


def output_reader(params: "OpenAIChatCompletionParameters") -> Optional[OutputReader]:
    """The reader a call needs, or None when it asks for nothing typed (a dict
    ``response_format``, tools given as dicts)."""
    response_format = params.response_format
    response_type = None if response_format is None or is_mapping(response_format) else response_format
    tools: Dict[str, OpenAITool] = {}
    for tool in params.tools or ():
        if isinstance(tool, OpenAITool):
            if tool.signature is not None:
                tools[tool.name] = tool
        elif callable(tool) and is_function_tool(tool):
            made = OpenAITool.from_function(tool)
            tools[made.name] = made
    if response_type is None and not tools:
        return None
    return OutputReader(response_type, tools)
