"""The tool calls of an assistant message, as dicts that also read as objects.

``message.tool_calls`` is a list of :class:`ToolCall`: each is the dict the API
wrote (``call["function"]["name"]`` works, it compares equal to that dict and is
sent back as is), with attributes besides::

    call = result.choice.message.tool_calls[0]
    call.id, call.type, call.function.name, call.function.arguments
    call.function.parsed_arguments   # the arguments as values

``parsed_arguments`` is a dict of the arguments' JSON. For a tool built by
``OpenAITool.from_function`` and given in the call's ``tools``, the result
reader links each call to its tool (``function.tool``), and the arguments are
then converted to the function's parameter types, defaults put back for
``null``; ``tool.call(call)`` runs the function with them.
"""

import json
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

from ._checks import is_mapping, show

if TYPE_CHECKING:
    from .messages import OpenAITool

__all__ = ["ToolCall", "FunctionCall"]


class FunctionCall(Dict[str, Any]):
    """The ``function`` of a tool call: ``name`` and ``arguments`` (a JSON string)."""

    #: The tool the call was made to, when the result reader knows it (set by results).
    tool: Optional["OpenAITool"] = None

    @property
    def name(self) -> Optional[str]:
        return self.get("name")

    @property
    def arguments(self) -> Optional[str]:
        """The arguments as the model wrote them: a JSON string (possibly not valid JSON)."""
        return self.get("arguments")

    @property
    def parsed_arguments(self) -> Dict[str, Any]:
        """The arguments as values: converted to the function's types for a tool built from a
        function (see module docstring), else the JSON object as a dict.

        Raises ``ValueError`` naming the call when the arguments are not a JSON object or do
        not fit the function's parameters. Read once, then kept.
        """
        cached = self.__dict__.get("_parsed")
        if cached is not None and cached[0] == self.get("arguments"):
            return cached[1]  # type: ignore[no-any-return]
        if self.tool is not None:
            parsed = self.tool.parse_arguments(self.get("arguments"))
        else:
            parsed = parse_arguments_json(self.name, self.get("arguments"))
        self.__dict__["_parsed"] = (self.get("arguments"), parsed)
        return parsed


def parse_arguments_json(name: Optional[str], arguments: Any) -> Dict[str, Any]:
    """A call's ``arguments`` (a JSON string, or already a dict) as a dict; ``ValueError`` otherwise."""
    where = "the arguments of the call to %r" % name
    if is_mapping(arguments):
        return dict(arguments)
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return {}  # some servers send "" for a function without parameters
    if not isinstance(arguments, str):
        raise ValueError("%s must be a JSON object (got %s)" % (where, show(arguments)))
    try:
        value = json.loads(arguments)
    except ValueError as exc:
        raise ValueError("%s are not valid JSON (%s): %s" % (where, exc, show(arguments))) from None
    if not isinstance(value, dict):
        raise ValueError("%s must be a JSON object (got %s)" % (where, show(arguments)))
    return value


class ToolCall(Dict[str, Any]):
    """One tool call of an assistant message: the API's dict, with ``id``, ``type``, ``function``."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__(data)
        function: Any = self.get("function")
        if is_mapping(function) and not isinstance(function, FunctionCall):
            self["function"] = FunctionCall(function)

    @property
    def id(self) -> Optional[str]:
        return self.get("id")

    @property
    def type(self) -> Optional[str]:
        return self.get("type")

    @property
    def function(self) -> FunctionCall:
        """The function part (an empty one when the call has none, as a custom tool's call)."""
        function = self.get("function")
        return function if isinstance(function, FunctionCall) else FunctionCall()
