"""Chat messages and function tools.

``OpenAIMessage`` is one message of a conversation, both the kind you send
(``create(messages, ...)``) and the kind that comes back (``choice.message``,
``choice.delta``). It keeps the whole dict it was built from, so fields a
server adds (``reasoning_content``, ``annotations``, ...) are never lost.

``OpenAITool`` is a function the model may call. It accepts the short form
``{"name", "description", "parameters"}`` as well as the API's form
``{"type": "function", "function": {...}}``, and always writes the API's form.
``OpenAITool.from_function`` builds one from a Python function (see
``function_tools``), which ``call`` then runs.

``validate_messages`` checks a conversation before it is sent and returns
plain dicts ready for ``json.dumps``; its errors name the exact place, like
``messages[2].content``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional

from ._checks import (
    MAPPING,
    check_bool,
    check_mapping,
    check_str,
    did_you_mean,
    fail,
    is_mapping,
    show,
    warn_unknown,
    wrong_type,
)

if TYPE_CHECKING:
    from .function_tools import FunctionSignature
    from .tool_calls import ToolCall

__all__ = ["OpenAIMessage", "OpenAITool", "validate_messages", "is_function_tool", "MESSAGE_ROLES"]

# ChatCompletionRequestMessage: one schema per role ("function" is deprecated
# but still accepted by the API).
MESSAGE_ROLES = ("developer", "system", "user", "assistant", "tool", "function")

# Roles whose request schema lists "content" as required.
_CONTENT_REQUIRED = ("developer", "system", "user", "tool", "function")


def _data_key(key: str, doc: str) -> Any:
    """An attribute of :class:`OpenAIMessage` that reads ``data[key]`` (``None`` when it is
    not there) and writes it (``None`` removes the key)."""

    def get(message: OpenAIMessage) -> Any:
        return message.data.get(key)

    def put(message: OpenAIMessage, value: Any) -> None:
        message._set(key, value)

    return property(get, put, doc=doc)


class OpenAIMessage:
    """A chat message, as sent in ``messages`` or received in a choice.

    Keyword arguments are the API's fields; ``None`` means "not set" and is
    left out of ``to_dict()``::

        >>> m = OpenAIMessage("user", "Hello")
        >>> m.to_dict()
        {'role': 'user', 'content': 'Hello'}
        >>> OpenAIMessage.from_dict({"role": "assistant", "content": None, "x": 1}).data
        {'role': 'assistant', 'content': None, 'x': 1}

    The attributes ``role``, ``content``, ``name``, ``tool_calls``,
    ``tool_call_id`` and ``refusal`` read and write ``data``; ``data`` is the
    whole dict, unknown keys included. ``parsed`` is not in ``data``: the
    content read as the ``response_format`` type of the call, set on the
    messages of a result (see docs/structured-outputs.md).
    """

    data: Dict[str, Any]
    #: The content as the call's ``response_format`` type; None when not asked for, or refused.
    parsed: Any = None

    def __init__(self, role: Optional[str] = None, content: Any = None, **fields: Any) -> None:
        self.data = {}
        if role is not None:
            self.data["role"] = role
        if content is not None:
            self.data["content"] = content
        for key, value in fields.items():
            if value is not None:
                self.data[key] = value

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OpenAIMessage:
        """Build a message from a dict as the API writes it. Unknown keys are kept, never an error."""
        if isinstance(d, OpenAIMessage):
            d = d.data
        if not isinstance(d, MAPPING):
            wrong_type("message", "a dict", d)
        message = cls()
        message.data = dict(d)
        return message

    def to_dict(self) -> Dict[str, Any]:
        """The message as a plain dict: the keys that are set (a shallow copy of ``data``)."""
        return dict(self.data)

    def _set(self, key: str, value: Any) -> None:
        if value is None:
            self.data.pop(key, None)
        else:
            self.data[key] = value

    role: Optional[str] = _data_key(
        "role",
        '``"system"``, ``"user"``, ``"assistant"``, ``"tool"``, ... or ``None`` (a delta may omit it).',
    )
    content: Any = _data_key("content", "A string, a list of content parts, or ``None``.")
    name: Optional[str] = _data_key("name", "The participant's name, if given.")

    @property
    def tool_calls(self) -> Optional[List[ToolCall]]:
        """The tool calls of an assistant message: the API's dicts, which also read as objects
        (``call.function.name``, ``call.function.parsed_arguments``; see ``tool_calls``)."""
        calls = self.data.get("tool_calls")
        if not isinstance(calls, list):
            return calls
        from .tool_calls import ToolCall

        if not all(isinstance(call, ToolCall) for call in calls):
            # Wrapped once; the list is the message's own (the given one is not changed).
            calls = [ToolCall(call) if is_mapping(call) else call for call in calls]
            self.data["tool_calls"] = calls
        return calls

    @tool_calls.setter
    def tool_calls(self, value: Optional[List[Dict[str, Any]]]) -> None:
        self._set("tool_calls", value)

    tool_call_id: Optional[str] = _data_key("tool_call_id", "The call a ``tool`` message answers.")
    refusal: Optional[str] = _data_key("refusal", "The model's refusal message, if it refused.")

    @property
    def function_call(self) -> Optional[Dict[str, Any]]:
        """The deprecated single function call, if the server sent one."""
        return self.data.get("function_call")

    @property
    def audio(self) -> Optional[Dict[str, Any]]:
        """Audio output data, if audio was requested."""
        return self.data.get("audio")

    @property
    def annotations(self) -> Optional[List[Dict[str, Any]]]:
        """URL citations and other annotations, if any."""
        return self.data.get("annotations")

    @property
    def reasoning_content(self) -> Optional[str]:
        """The model's reasoning, from servers that send it (DeepSeek, vLLM, llama.cpp, ...;
        a profile reads a server's other names for it, such as ``reasoning``, as this)."""
        found = self.data.get("reasoning_content")
        return found if isinstance(found, str) else None

    @property
    def text(self) -> str:
        """The content as text: a string as is, the text parts of a list joined, ``""`` for ``None``.

        Setting it replaces the text and keeps the other parts: a string (or no content)
        becomes the new string; in a list, the first text part takes the new text and the
        other text parts go (so reading it back gives what was set), or a text part is put
        first when there was none.
        """
        content = self.content
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "".join(
                part["text"]
                for part in content
                if is_mapping(part) and part.get("type") == "text" and isinstance(part.get("text"), str)
            )
        return ""

    @text.setter
    def text(self, value: str) -> None:
        check_str("text", value)
        content = self.content
        if not isinstance(content, (list, tuple)):
            self.content = value
            return
        parts: List[Any] = []
        placed = False
        for part in content:
            if is_mapping(part) and part.get("type") == "text":
                if placed:
                    continue
                part = dict(part, text=value)
                placed = True
            parts.append(part)
        if not placed:
            parts.insert(0, {"type": "text", "text": value})
        self.content = parts

    # -- content parts: images and files (built by openai_params.content) ----------------------
    def _add_part(self, part: Dict[str, Any], what: str) -> OpenAIMessage:
        role = self.role
        if role is not None and role != "user":
            # ChatCompletionRequestUserMessageContentPart is the only one with images and files.
            raise ValueError("%s go in a 'user' message (this message's role is %r)" % (what, role))
        from .content import as_parts

        parts = as_parts(self.content)
        parts.append(part)
        self.content = parts
        return self

    def add_image_url(self, url: str, detail: Optional[str] = None) -> OpenAIMessage:
        """Add an image by URL (``https://...`` or a ``data:`` URL); returns the message.

        ``detail`` is ``"auto"``, ``"low"`` or ``"high"`` (None: left out, the API's
        ``auto``). A text content becomes a list of parts, text first::

            >>> m = OpenAIMessage("user", "What is this?").add_image_url("https://x/a.png", "low")
            >>> [part["type"] for part in m.content]
            ['text', 'image_url']
        """
        from .content import image_url_part

        return self._add_part(image_url_part(url, detail), "images")

    def add_image(self, image: Any, detail: Optional[str] = None) -> OpenAIMessage:
        """Add a local image (a path or bytes) inline, as a ``data:`` URL; returns the message.

        The MIME type comes from the image's first bytes (PNG, JPEG, GIF, WebP; anything
        else is a ``ValueError``); more than 20 MB is refused before the file is read.
        """
        from .content import image_part

        return self._add_part(image_part(image, detail), "images")

    def add_file(self, file: Any, filename: Optional[str] = None) -> OpenAIMessage:
        """Add a local file (a PDF, say; a path or bytes) inline, base64; returns the message.

        ``filename`` defaults to the path's last part. More than 512 MB is refused before
        the file is read.
        """
        from .content import file_part

        return self._add_part(file_part(file, filename), "files")

    def add_file_id(self, file_id: str) -> OpenAIMessage:
        """Add a file uploaded before (``client.files``, purpose ``user_data``) by its id; returns the message."""
        from .content import file_id_part

        return self._add_part(file_id_part(file_id), "files")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OpenAIMessage):
            return NotImplemented
        return self.data == other.data

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dict

    def __repr__(self) -> str:
        inner = ", ".join("%s=%s" % (key, show(value)) for key, value in self.data.items())
        return "OpenAIMessage(%s)" % inner


def _check_content_parts(field: str, content: Any) -> None:
    # Every role's content is either a string or a non-empty array of parts,
    # each an object with a "type" (ChatCompletionRequest*MessageContentPart).
    # This checks content that is not a string.
    allowed = "a string or a non-empty list of content parts"
    if not isinstance(content, (list, tuple)):
        wrong_type(field, allowed, content)
    if not content:
        fail(field, allowed, content)
    for index, part in enumerate(content):
        where = "%s[%d]" % (field, index)
        if not is_mapping(part):
            wrong_type(where, 'a content part dict like {"type": "text", "text": "..."}', part)
        check_str(where + ".type", part.get("type"), non_empty=True)


def _validate_message(index: int, given: Any) -> Dict[str, Any]:
    message: Dict[str, Any]
    if isinstance(given, OpenAIMessage):
        message = given.to_dict()
    elif isinstance(given, MAPPING):
        message = dict(given)
    else:
        wrong_type(_place(index), 'a dict like {"role": "user", "content": "..."} or an OpenAIMessage', given)
    role = message.get("role")
    if role not in MESSAGE_ROLES:
        check_str(_place(index, "role"), role, non_empty=True)
        # Some servers accept their own roles (llama.cpp templates, "ipython"),
        # so an unknown role is sent; but "User" or "asistant" is a typo.
        warn_unknown(_place(index, "role"), str(role), MESSAGE_ROLES)
    content = message.get("content")
    if content is None:
        if role in _CONTENT_REQUIRED:
            raise ValueError("%s is required for a %r message" % (_place(index, "content"), role))
    elif role == "function":
        check_str(_place(index, "content"), content, optional=True)
    elif not isinstance(content, str):
        _check_content_parts(_place(index, "content"), content)
    if message.get("name") is not None:
        check_str(_place(index, "name"), message["name"])
    elif role == "function":
        raise ValueError("%s is required for a 'function' message" % _place(index, "name"))
    if role == "tool":
        if message.get("tool_call_id") is None:
            raise ValueError(
                "%s is required for a 'tool' message (the id of the call it answers)"
                % _place(index, "tool_call_id")
            )
        check_str(_place(index, "tool_call_id"), message["tool_call_id"])
    tool_calls = message.get("tool_calls")
    if tool_calls is not None:
        if not isinstance(tool_calls, (list, tuple)):
            wrong_type(_place(index, "tool_calls"), "a list of tool call dicts", tool_calls)
        for call_index, call in enumerate(tool_calls):
            if not is_mapping(call):
                wrong_type("%s[%d]" % (_place(index, "tool_calls"), call_index), "a tool call dict", call)
    return message


def _place(index: int, key: str = "") -> str:
    """Where a message's field is, for a message that names it: ``messages[2].role``
    (written only when a field needs it: most messages are checked without naming any)."""
    return "messages[%d].%s" % (index, key) if key else "messages[%d]" % index


def validate_messages(messages: Any) -> List[Dict[str, Any]]:
    """Check a conversation and return it as a list of plain dicts, ready for JSON.

    ``messages`` is a non-empty list (or tuple) of dicts or ``OpenAIMessage``
    objects, each with a string ``role``; the content a role requires by the
    API's schema must be there. Errors name the place: ``messages[2].role``.
    An unknown role is sent but warns (with the closest known role).
    """
    example = '[{"role": "user", "content": "Hello"}]'
    if not isinstance(messages, (list, tuple)):  # a str, a dict or one message too
        wrong_type("messages", "a list of messages like %s" % example, messages)
    if not messages:
        fail("messages", "a non-empty list of messages like %s" % example, messages)
    return [_validate_message(index, message) for index, message in enumerate(messages)]


# FunctionObject.name: "Must be a-z, A-Z, 0-9, or contain underscores and
# dashes, with a maximum length of 64." (also the json_schema name of a
# response_format).
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
NAME_MAX_LENGTH = 64


def check_function_name(field: str, value: Any) -> None:
    """A function or schema name: 1 to 64 characters from a-z, A-Z, 0-9, ``_`` and ``-``."""
    allowed = "1 to %d characters from a-z, A-Z, 0-9, _ and -" % NAME_MAX_LENGTH
    if not isinstance(value, str):
        wrong_type(field, "a string of " + allowed, value)
    if not value or len(value) > NAME_MAX_LENGTH or not all(ch in _NAME_CHARS for ch in value):
        fail(field, allowed, value)


def is_function_tool(tool: Any) -> bool:
    """A Python function given where a tool goes (any callable that is not a dict or a class)."""
    return callable(tool) and not is_mapping(tool) and not isinstance(tool, type)


# Keys of the short form: FunctionObject's properties.
_SHORT_FORM_KEYS = ("name", "description", "parameters", "strict")


def _check_tool_fields(path: str, name: Any, description: Any, parameters: Any, strict: Any) -> None:
    check_function_name(path + ".function.name", name)
    check_str(path + ".function.description", description, optional=True)
    check_mapping(path + ".function.parameters", parameters, optional=True)
    check_bool(path + ".function.strict", strict, optional=True)


class OpenAITool:
    """A function tool the model may call.

    >>> tool = OpenAITool("get_weather", "Current weather for a city",
    ...                   {"type": "object", "properties": {"city": {"type": "string"}}})
    >>> tool.to_dict()["function"]["name"]
    'get_weather'

    ``from_dict`` accepts the short form ``{"name", "description",
    "parameters", "strict"}``, the flat form ``{"type": "function", "name",
    ...}`` and the API's form ``{"type": "function", "function": {...}}``.
    ``to_dict()`` always returns the API's form. Keys the API form carries
    beyond the known ones are kept (``extra`` beside ``type``,
    ``function_extra`` inside ``function``).
    """

    type = "function"
    #: The Python function a tool built by ``from_function`` runs (``call``); None otherwise.
    handler: Optional[Callable[..., Any]] = None
    #: How ``from_function`` read the function's signature (for ``parse_arguments``).
    signature: Optional[FunctionSignature] = None

    def __init__(
        self,
        name: str,
        description: Optional[str] = None,
        parameters: Optional[Mapping[str, Any]] = None,
        strict: Optional[bool] = None,
    ) -> None:
        self.name = name
        self.description = description
        self.parameters = parameters
        self.strict = strict
        self.extra: Dict[str, Any] = {}
        self.function_extra: Dict[str, Any] = {}
        self.validate()

    def validate(self, path: str = "tool") -> None:
        """Check the fields; ``path`` prefixes error messages (``tools[1]``)."""
        _check_tool_fields(path, self.name, self.description, self.parameters, self.strict)

    @classmethod
    def from_dict(cls, d: Any, *, path: str = "tool") -> OpenAITool:
        """Build a tool from the short, flat or API form; ``path`` names it in errors."""
        if isinstance(d, OpenAITool):
            return d
        if not is_mapping(d):
            wrong_type(path, 'a tool dict like {"name": ..., "description": ..., "parameters": {...}}', d)
        kind = d.get("type", "function")
        if kind != "function":
            fail(path + ".type", "'function' for an OpenAITool", kind)
        function = d.get("function")
        if function is None:
            # Short form (no "type") or flat form (the Responses API's shape).
            unknown = [key for key in d if key not in _SHORT_FORM_KEYS and key != "type"]
            if unknown:
                key = unknown[0]
                raise ValueError(
                    "%s has an unknown key %r%s (a short-form tool has %s)"
                    % (
                        path,
                        key,
                        did_you_mean(str(key), _SHORT_FORM_KEYS + ("function",)),
                        ", ".join(_SHORT_FORM_KEYS),
                    )
                )
            function, extra = d, {}
            function_path = path
        else:
            if not is_mapping(function):
                wrong_type(path + ".function", "a dict", function)
            extra = {key: value for key, value in d.items() if key not in ("type", "function")}
            function_path = path + ".function"
        if "name" not in function:
            raise ValueError("%s.name is required" % function_path)
        fields = (
            function["name"],
            function.get("description"),
            function.get("parameters"),
            function.get("strict"),
        )
        _check_tool_fields(path, *fields)  # first, so that a message names the place in ``d``
        tool = cls(*fields)
        tool.extra = extra
        tool.function_extra = {
            key: value for key, value in function.items() if key not in _SHORT_FORM_KEYS and key != "type"
        }
        return tool

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        strict: bool = True,
    ) -> OpenAITool:
        """A tool from a Python function: its name, its docstring's summary as the description,
        and its parameters' type hints as the strict JSON Schema of the arguments (parameter
        descriptions from the docstring). See ``function_tools`` and docs/tools.md.

        >>> def get_weather(city: str, unit: str = "c") -> str:
        ...     '''Current weather for a city.'''
        >>> OpenAITool.from_function(get_weather).to_dict()["function"]["parameters"]["required"]
        ['city', 'unit']
        """
        from .function_tools import tool_from_function

        return tool_from_function(cls, function, name=name, description=description, strict=strict)

    def parse_arguments(self, arguments: Any) -> Dict[str, Any]:
        """A tool call's arguments (the JSON string, or a dict) as values: converted to the
        function's parameter types for a tool built by ``from_function`` (a parameter's default
        put back for ``null``), else the JSON object as a dict. ``ValueError`` when they do not fit.
        """
        from .function_tools import parse_arguments

        return parse_arguments(self, arguments)

    def call(self, tool_call: Any) -> Any:
        """Run the function of a tool built by ``from_function`` with a call's arguments, and
        return what it returns. ``tool_call`` is a tool call of a result (or its dict, or its
        ``function`` part, or the arguments alone as a JSON string or a dict)."""
        from .function_tools import call_tool

        return call_tool(self, tool_call)

    def to_dict(self) -> Dict[str, Any]:
        """The API's form, ``{"type": "function", "function": {"name": ...}}``, with the keys that are set."""
        function: Dict[str, Any] = {"name": self.name}
        if self.description is not None:
            function["description"] = self.description
        if self.parameters is not None:
            function["parameters"] = dict(self.parameters)
        if self.strict is not None:
            function["strict"] = self.strict
        function.update(self.function_extra)
        tool: Dict[str, Any] = {"type": "function", "function": function}
        tool.update(self.extra)
        return tool

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OpenAITool):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = ["name=%r" % self.name]
        if self.description is not None:
            parts.append("description=%s" % show(self.description))
        if self.parameters is not None:
            parts.append("parameters=%s" % show(self.parameters))
        if self.strict is not None:
            parts.append("strict=%r" % self.strict)
        return "OpenAITool(%s)" % ", ".join(parts)
