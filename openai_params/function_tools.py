"""Tools from plain Python functions: the signature and docstring become the tool.

    def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
        '''Current weather for a city.

        Args:
            city: The city's name.
            unit: Celsius or Fahrenheit.
        '''

    tool = OpenAITool.from_function(get_weather)
    tool.to_dict()["function"]["parameters"]   # a strict JSON Schema object
    tool.call(result.choice.message.tool_calls[0])   # runs get_weather(city=..., unit=...)

How a function is read (``read_signature``):

* each parameter is a property of the arguments object, its type hint read by
  ``schema`` (the same rules as ``response_format``), its description from the
  docstring (``_docstrings``: Google, NumPy and reST styles);
* the docstring's summary is the tool's description, the function's
  ``__name__`` its name (both can be given instead);
* strict mode (the default) requires every property; a parameter with a
  default is nullable, and ``null`` gives the default back;
* refused with a ``TypeError`` naming the function and the parameter:
  ``*args`` and ``**kwargs`` (the model sends one object of named
  arguments), and a parameter without a type hint (positional-only ones
  included: their schema comes from the hint too).

Positional-only parameters are passed by position when the function is called.
"""

import inspect
import sys
import typing
from functools import lru_cache, partial
from typing import Any, Callable, Dict, List, Optional, Tuple, Type, TypeVar

from ._checks import is_mapping, show
from ._docstrings import parse_docstring
from .messages import OpenAITool
from .tool_calls import FunctionCall, ToolCall, parse_arguments_json

__all__ = ["FunctionSignature", "read_signature", "tool_from_function", "parse_arguments", "call_tool"]

T = TypeVar("T", bound=OpenAITool)

# inspect.Parameter kinds a tool cannot have (the model sends one object of named arguments),
# as they are written in a signature.
_REFUSED_KINDS: Dict[Any, str] = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}


class FunctionSignature:
    """What ``from_function`` read from a function: its parameters as an object type.

    ``object_type`` is the ``schema`` description of the arguments object (one field per
    parameter: name, type, default, description); ``positional`` the names passed by
    position (positional-only parameters), in order.
    """

    def __init__(self, object_type: Any, positional: Tuple[str, ...]) -> None:
        self.object_type = object_type
        self.positional = positional

    def bind(self, values: Dict[str, Any]) -> Tuple[List[Any], Dict[str, Any]]:
        """The converted arguments as ``(args, kwargs)`` for the function."""
        keywords = dict(values)
        return [keywords.pop(name) for name in self.positional], keywords


def _function_name(function: Callable[..., Any]) -> str:
    inner = getattr(function, "func", function)  # functools.partial
    return str(getattr(inner, "__name__", None) or type(function).__name__)


def _docstring(function: Callable[..., Any]) -> Optional[str]:
    """The docstring that describes the function: a partial's function's, a callable object's
    ``__call__``'s (else its class's); never ``functools.partial``'s own."""
    if isinstance(function, partial):
        return inspect.getdoc(function.func)
    if inspect.isroutine(function) or isinstance(function, type):
        return inspect.getdoc(function)
    return inspect.getdoc(type(function).__call__) or inspect.getdoc(type(function))


def _type_hints(function: Callable[..., Any], where: str) -> Dict[str, Any]:
    """The resolved type hints (``Annotated`` kept) of a function, a partial or a callable object."""
    targets = [function, getattr(function, "func", None)]
    if not inspect.isroutine(function):
        targets.append(type(function).__call__)  # a callable object: its __call__'s hints
    for target in targets:
        if target is None:
            continue
        try:
            if sys.version_info >= (3, 9):
                return typing.get_type_hints(target, include_extras=True)
            return typing.get_type_hints(target)  # 3.8 has no Annotated to keep
        except TypeError:
            continue  # not a function: try what it wraps
        except NameError as exc:  # a forward reference that does not resolve
            raise TypeError(
                "%s: cannot read the type hints (%s); the names in its annotations must be "
                "importable from its module" % (where, exc)
            ) from exc
    return {}


def read_signature(function: Callable[..., Any]) -> Tuple[str, Optional[str], FunctionSignature]:
    """``(name, summary, signature)`` of a function; ``TypeError`` naming what cannot be a tool.

    Read once per function: ``tools=[f]`` builds the tool each time the parameters are
    checked and sent, and the same signature object keeps the schema cached (``schema``
    caches per object type).
    """
    try:
        hash(function)
    except TypeError:  # a callable object that cannot be a cache key
        return _read_signature(function)
    return _read_signature_once(function)


def _read_signature(function: Callable[..., Any]) -> Tuple[str, Optional[str], FunctionSignature]:
    from .schema import NO_DEFAULT, ObjectType

    name = _function_name(function)
    where = "OpenAITool.from_function(%s)" % name
    if not callable(function):
        raise TypeError("%s: expected a function (got %s)" % (where, show(function)))
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError) as exc:  # a builtin without a signature, say
        raise TypeError("%s: cannot read its signature (%s)" % (where, exc)) from exc
    hints = _type_hints(function, where)
    summary, described = parse_docstring(_docstring(function))
    fields = []
    positional = []
    for parameter in parameters:
        stars = _REFUSED_KINDS.get(parameter.kind)
        if stars is not None:
            raise TypeError(
                "%s: %s%s cannot be a tool parameter: the model sends one object of named arguments"
                % (where, stars, parameter.name)
            )
        if parameter.name not in hints:
            raise TypeError(
                "%s: parameter %r has no type annotation; the arguments' schema is built from the "
                "type hints (write %s: str, for example)" % (where, parameter.name, parameter.name)
            )
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            positional.append(parameter.name)
        default = NO_DEFAULT if parameter.default is inspect.Parameter.empty else parameter.default
        fields.append((parameter.name, hints[parameter.name], default, described.get(parameter.name)))
    object_type = ObjectType(name, fields)
    return name, summary, FunctionSignature(object_type, tuple(positional))


_read_signature_once = lru_cache(maxsize=256)(_read_signature)


def tool_from_function(
    cls: Type[T],
    function: Callable[..., Any],
    *,
    name: Optional[str] = None,
    description: Optional[str] = None,
    strict: bool = True,
) -> T:
    """``OpenAITool.from_function``: see the module docstring."""
    from .schema import json_schema

    found_name, summary, signature = read_signature(function)
    schema = json_schema(signature.object_type, strict=strict)  # TypeError naming the parameter
    tool = cls(
        found_name if name is None else name,
        summary if description is None else description,
        schema,
        strict,
    )
    tool.handler = function
    tool.signature = signature
    return tool


def parse_arguments(tool: OpenAITool, arguments: Any) -> Dict[str, Any]:
    """``OpenAITool.parse_arguments``: the arguments as the function's types, else as a dict."""
    values = parse_arguments_json(tool.name, arguments)
    signature = tool.signature
    if signature is None:
        return values
    from .schema import from_json

    try:
        converted: Dict[str, Any] = from_json(signature.object_type, values)
    except ValueError as exc:
        raise ValueError("the arguments of the call to %r do not fit: %s" % (tool.name, exc)) from None
    return converted


def _arguments_of(tool: OpenAITool, tool_call: Any) -> Any:
    """The arguments in what ``call`` was given: a tool call, its function part, or the arguments."""
    function: Any = None
    if isinstance(tool_call, ToolCall) or (is_mapping(tool_call) and is_mapping(tool_call.get("function"))):
        function = tool_call["function"]
    elif isinstance(tool_call, FunctionCall) or (
        is_mapping(tool_call) and isinstance(tool_call.get("arguments"), str) and "name" in tool_call
    ):
        function = tool_call
    if function is None:
        return tool_call  # the arguments themselves: a JSON string or a dict
    called = function.get("name")
    if called is not None and called != tool.name:
        raise ValueError("the call is to %r, not to this tool (%r)" % (called, tool.name))
    return function.get("arguments")


def call_tool(tool: OpenAITool, tool_call: Any) -> Any:
    """``OpenAITool.call``: run the tool's function with a call's arguments."""
    signature = tool.signature
    if tool.handler is None or signature is None:
        raise TypeError(
            "the tool %r has no Python function to run: build it with OpenAITool.from_function" % tool.name
        )
    args, kwargs = signature.bind(parse_arguments(tool, _arguments_of(tool, tool_call)))
    return tool.handler(*args, **kwargs)
