"""Request parameters: what to send, and how to run the call.

``OpenAIParameters`` holds the options every call shares (timeout, retries,
extra headers, callbacks, ...). ``OpenAIChatCompletionParameters`` adds the
fields of a Chat Completions request. Both are plain dataclasses: build them
with keywords or with ``from_dict`` (which also accepts camelCase names), change
a field whenever you like, and call ``body()`` for the JSON body to send::

    >>> p = OpenAIChatCompletionParameters(model="gpt-4o", temperature=0.2)
    >>> p.body()
    {'model': 'gpt-4o', 'temperature': 0.2}

``body()`` holds only what must be sent: a field at its "leave it out" value
(``temperature=-1``, ``max_completion_tokens=0``, ``n=1``, ``None``, ...) is
not in it, so the server's own default applies. Callbacks and execution options
(``timeout``, ``max_retries``, ``extra_headers``, ``extra_query``, ``throw``)
are never in it.

Every range, size limit and enum below comes from ``CreateChatCompletionRequest``
in the OpenAI OpenAPI schema; the tests check them against it. Values are
validated when the object is built and again by ``body()``, because fields can
be reassigned in between.
"""

from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar, Union

from ._redact import is_secret_header
from ._checks import (
    is_mapping,
    check_bool,
    check_callable,
    check_choice,
    check_headers,
    check_int,
    check_mapping,
    check_number,
    check_str,
    did_you_mean,
    fail,
    is_int,
    is_number,
    show,
    warn_unknown,
    wrong_type,
)
from .messages import OpenAITool, check_function_name

__all__ = [
    "OpenAIParameters",
    "OpenAIChatCompletionParameters",
    "OpenAIChatCompletionsParameters",
    "OpenAIChatCompletionListParameters",
]

Callback = Callable[[Any], Any]

# --- Limits and enums of CreateChatCompletionRequest (tests/test_schema.py
# --- checks each one against the reference schema). ---
TEMPERATURE_RANGE = (0, 2)
TOP_P_RANGE = (0, 1)
PENALTY_RANGE = (-2, 2)  # frequency_penalty, presence_penalty
N_RANGE = (1, 128)
TOP_LOGPROBS_RANGE = (0, 20)
LOGIT_BIAS_RANGE = (-100, 100)  # from the description: "a bias value from -100 to 100"
SEED_RANGE = (-(2**63), 2**63 - 1)  # the schema writes the int64 bounds as +-9223372036854776000
STOP_MAX_ITEMS = 4
# Metadata: "Set of 16 key-value pairs ... Keys are strings with a maximum
# length of 64 characters. Values are strings with a maximum length of 512."
METADATA_MAX_PAIRS = 16
METADATA_KEY_MAX_LENGTH = 64
METADATA_VALUE_MAX_LENGTH = 512
SAFETY_IDENTIFIER_MAX_LENGTH = 64

# Closed enums: anything else is an error.
MODALITIES: Tuple[str, ...] = ("text", "audio")
AUDIO_FORMATS: Tuple[str, ...] = ("wav", "aac", "mp3", "flac", "opus", "pcm16")
TOOL_CHOICE_MODES: Tuple[str, ...] = ("none", "auto", "required")
ALLOWED_TOOLS_MODES: Tuple[str, ...] = ("auto", "required")
LIST_ORDERS: Tuple[str, ...] = ("asc", "desc")

# Open enums: OpenAI adds values and compatible servers add their own, so an
# unknown value is sent as given, with a warning naming the closest known one.
REASONING_EFFORTS: Tuple[str, ...] = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
SERVICE_TIERS: Tuple[str, ...] = ("auto", "default", "flex", "scale", "priority", "fast")
VERBOSITIES: Tuple[str, ...] = ("low", "medium", "high")
RESPONSE_FORMAT_TYPES: Tuple[str, ...] = ("text", "json_schema", "json_object")  # vLLM adds "structural_tag"
TOOL_TYPES: Tuple[str, ...] = ("function", "custom")
TOOL_CHOICE_TYPES: Tuple[str, ...] = ("function", "allowed_tools", "custom")
SEARCH_CONTEXT_SIZES: Tuple[str, ...] = ("low", "medium", "high")
PROMPT_CACHE_TTLS: Tuple[str, ...] = ("30m",)
PROMPT_CACHE_MODES: Tuple[str, ...] = ("implicit", "explicit")
MODERATION_MODES: Tuple[str, ...] = ("score", "block")

# Fields that shape how the call runs rather than what is asked: never sent.
EXECUTION_OPTIONS: Tuple[str, ...] = ("timeout", "max_retries", "extra_headers", "extra_query", "throw")
CALLBACKS: Tuple[str, ...] = ("on_data", "on_terminate", "on_response", "on_error", "formula")

# Keys people put in a parameters dict that belong somewhere else.
_MISPLACED = {
    "messages": "pass the messages to create(messages, params), not in the parameters",
    "api_key": "set it on the client: OpenAI(api_key=...)",
    "base_url": "set it on the client: OpenAI(base_url=...)",
    "organization": "set it on the client: OpenAI(organization=...)",
    "project": "set it on the client: OpenAI(project=...)",
    "default_headers": "set it on the client, or use extra_headers here",
}

_REDACTED = "<redacted>"

P = TypeVar("P")


def _snake_case(key: str) -> str:
    """``maxRetries`` -> ``max_retries``; snake_case names are returned unchanged."""
    out = []
    for index, ch in enumerate(key):
        if ch.isupper():
            if index:
                out.append("_")
            out.append(ch.lower())
        else:
            out.append(ch)
    return "".join(out)


def _camel_case(name: str) -> str:
    """``max_retries`` -> ``maxRetries``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@lru_cache(maxsize=None)
def _field_names(cls: type) -> FrozenSet[str]:
    """The dataclass field names of ``cls``, computed once per class (from_dict is on the hot path)."""
    return frozenset(f.name for f in fields(cls))


def _kwargs_from_dict(cls: type, d: Any) -> Dict[str, Any]:
    """Map snake_case and camelCase keys of ``d`` to the dataclass fields of ``cls``.

    An unknown key raises ``ValueError`` with the closest field name, written
    in the style (snake or camel) the caller used.
    """
    if not is_mapping(d):
        wrong_type(cls.__name__ + ".from_dict() argument", "a dict of parameters", d)
    names = _field_names(cls)
    kwargs: Dict[str, Any] = {}
    given_as: Dict[str, str] = {}
    for key, value in d.items():
        if not isinstance(key, str):
            wrong_type("parameter names", "strings", key)
        name = key if key in names else _snake_case(key)
        if name not in names:
            if name in _MISPLACED:
                raise ValueError("unknown parameter %r: %s" % (key, _MISPLACED[name]))
            candidates = sorted(_camel_case(n) for n in names) if key != name else sorted(names)
            raise ValueError(
                "unknown parameter %r for %s%s" % (key, cls.__name__, did_you_mean(key, candidates))
            )
        if name in kwargs:
            raise ValueError("parameter %s is given twice (as %r and %r)" % (name, given_as[name], key))
        kwargs[name] = value
        given_as[name] = key
    return kwargs


def _redact(mapping: Any) -> Any:
    """A copy of a headers/query mapping with credential-looking values hidden."""
    if not is_mapping(mapping):
        return mapping
    return {
        key: (_REDACTED if isinstance(key, str) and is_secret_header(key) else value)
        for key, value in mapping.items()
    }


def _repr_value(name: str, value: Any) -> str:
    if name in ("extra_headers", "extra_query"):
        value = _redact(value)
    if name in CALLBACKS and value is not None:
        # Like a function's own repr, without the memory address.
        qualname = getattr(value, "__qualname__", None)
        return "<function %s>" % qualname if qualname else "<%s object>" % type(value).__name__
    return repr(value)


def _check_metadata(field: str, value: Any) -> None:
    if value is None:
        return
    allowed = "a dict of at most %d string keys and values" % METADATA_MAX_PAIRS
    if not is_mapping(value):
        wrong_type(field, allowed, value)
    if len(value) > METADATA_MAX_PAIRS:
        raise ValueError("%s must be %s (got %d pairs)" % (field, allowed, len(value)))
    for key, item in value.items():
        check_str(field + " key", key, max_length=METADATA_KEY_MAX_LENGTH)
        check_str("%s[%r]" % (field, key), item, max_length=METADATA_VALUE_MAX_LENGTH)


@dataclass(repr=False)
class OpenAIParameters:
    """Options every call shares: how to run it, and what to do with its result.

    ``timeout`` is in seconds (0 = the client's default), ``max_retries``
    ``None`` = the client's default. ``extra_headers`` / ``extra_query`` are
    added to the HTTP request, ``extra_body`` is merged last into the JSON
    body. With ``throw=True`` a failure raises instead of coming back as a
    result with ``success == False``.

    Callbacks take one argument, the final result: ``on_terminate`` runs once
    per call whatever happened, then ``on_response`` on success or
    ``on_error`` on failure. ``formula`` is the seed's single callback:
    ``on_data`` when streaming, otherwise ``on_terminate``.
    """

    timeout: Optional[float] = 0.0
    max_retries: Optional[int] = None
    extra_headers: Optional[Mapping[str, str]] = None
    extra_query: Optional[Mapping[str, Any]] = None
    extra_body: Optional[Mapping[str, Any]] = None
    user: Optional[str] = None
    throw: bool = False
    on_terminate: Optional[Callback] = None
    on_response: Optional[Callback] = None
    on_error: Optional[Callback] = None
    formula: Optional[Callback] = None

    def __post_init__(self) -> None:
        # Frames up to the caller: __post_init__, __init__, caller.
        self._validate(3)

    # --- construction -------------------------------------------------------

    @classmethod
    def from_dict(cls: Type[P], d: Mapping[str, Any]) -> P:
        """Build from a dict with snake_case (``max_retries``) or camelCase (``maxRetries``) keys.

        An unknown key raises ``ValueError`` naming the closest known one.
        """
        return cls(**_kwargs_from_dict(cls, d))

    def to_dict(self) -> Dict[str, Any]:
        """The fields that differ from their defaults, by snake_case name (callbacks included).

        ``type(p).from_dict(p.to_dict()) == p``.
        """
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}

    def replace(self: P, **changes: Any) -> P:
        """A copy with some fields changed (snake_case or camelCase names), validated."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        values.update(_kwargs_from_dict(type(self), changes))
        return type(self)(**values)

    # --- validation ---------------------------------------------------------

    def validate(self) -> None:
        """Check every field; raise ``ValueError`` / ``TypeError`` naming the first bad one."""
        self._validate(2)

    def _validate(self, depth: int) -> None:
        """``depth`` is how many frames above this one the user's code is (for warnings)."""
        check_number(
            "timeout",
            self.timeout,
            0,
            allowed="a number of seconds >= 0 (0 = the client's default)",
            optional=True,
        )
        check_int(
            "max_retries",
            self.max_retries,
            0,
            allowed="an integer >= 0, or None for the client's default",
            optional=True,
        )
        check_headers("extra_headers", self.extra_headers)
        check_mapping("extra_query", self.extra_query, optional=True)
        for key, value in (self.extra_query or {}).items():
            if not (isinstance(value, str) or is_number(value)):
                wrong_type("extra_query[%r]" % key, "a string or a number", value)
        check_mapping("extra_body", self.extra_body, optional=True)
        check_str("user", self.user, optional=True)
        check_bool("throw", self.throw)
        for name in CALLBACKS:
            if hasattr(self, name):
                check_callable(name, getattr(self, name))

    # --- what the client uses ----------------------------------------------

    def body(self) -> Dict[str, Any]:
        """The JSON body to send (validated again first): set fields only, ``extra_body`` merged last."""
        self._validate(2)
        return self._body()

    def _body(self) -> Dict[str, Any]:
        """``body()`` without checking again: for an object validated just now and never
        handed out (the client's own, built from a dict or keyword arguments)."""
        body = self._request_fields()
        if self.user is not None:
            # Deprecated in the schema (safety_identifier / prompt_cache_key
            # replace it) but still accepted, and servers use it.
            body["user"] = self.user
        if self.extra_body:
            body.update(self.extra_body)
        return body

    def _request_fields(self) -> Dict[str, Any]:
        """The request fields a subclass adds to the body, validated already."""
        return {}

    def has_callbacks(self) -> bool:
        """True when any callback is set: the client then runs the call in a background thread."""
        return any(getattr(self, name, None) is not None for name in CALLBACKS)

    @property
    def terminate_callback(self) -> Optional[Callback]:
        """The callback to call once at the end: ``on_terminate``, else ``formula``."""
        return self.on_terminate if self.on_terminate is not None else self.formula

    def __repr__(self) -> str:
        # Only fields that differ from their defaults; credentials hidden.
        shown = [
            "%s=%s" % (f.name, _repr_value(f.name, getattr(self, f.name)))
            for f in fields(self)
            if getattr(self, f.name) != f.default
        ]
        return "%s(%s)" % (type(self).__name__, ", ".join(shown))


@dataclass(repr=False)
class _SeedFields:
    """The six fields of the seed, with the seed's defaults.

    They live in their own base class so that they come first in the
    constructor's argument order (dataclasses order fields base classes
    first): ``OpenAIChatCompletionParameters("gpt-4o")`` sets the model.
    """

    # (A docstring also spares the import an inspect.signature() call, which
    # dataclasses makes to write one for classes that have none.)
    model: str = "gpt-4o-mini"
    stream: bool = False
    max_completion_tokens: Optional[int] = 0
    n: Optional[int] = 1
    temperature: Optional[float] = -1
    store: bool = False


@dataclass(repr=False)
class OpenAIChatCompletionParameters(OpenAIParameters, _SeedFields):
    """The parameters of a Chat Completions request (``POST /chat/completions``).

    The seed's fields keep the seed's defaults, which mean "leave it out":
    ``model="gpt-4o-mini"`` (always sent), ``stream=False``,
    ``max_completion_tokens=0``, ``n=1``, ``temperature=-1``, ``store=False``.
    ``top_p=-1`` is left out the same way; every other field defaults to
    ``None``, not sent. ``on_data`` receives each streamed chunk.

    >>> OpenAIChatCompletionParameters().body()
    {'model': 'gpt-4o-mini'}
    >>> OpenAIChatCompletionParameters.from_dict({"maxCompletionTokens": 50, "stream": True}).body()
    {'model': 'gpt-4o-mini', 'stream': True, 'max_completion_tokens': 50}
    """

    on_data: Optional[Callback] = None
    stream_options: Optional[Mapping[str, Any]] = None
    top_p: Optional[float] = -1
    frequency_penalty: Optional[float] = None
    presence_penalty: Optional[float] = None
    logit_bias: Optional[Mapping[Union[str, int], int]] = None
    logprobs: Optional[bool] = None
    top_logprobs: Optional[int] = None
    seed: Optional[int] = None
    stop: Union[str, Sequence[str], None] = None
    metadata: Optional[Mapping[str, str]] = None
    modalities: Optional[Sequence[str]] = None
    audio: Optional[Mapping[str, Any]] = None
    prediction: Optional[Mapping[str, Any]] = None
    response_format: Optional[Mapping[str, Any]] = None
    tools: Optional[Sequence[Union[OpenAITool, Mapping[str, Any]]]] = None
    tool_choice: Union[str, Mapping[str, Any], None] = None
    parallel_tool_calls: Optional[bool] = None
    reasoning_effort: Optional[str] = None
    service_tier: Optional[str] = None
    verbosity: Optional[str] = None
    web_search_options: Optional[Mapping[str, Any]] = None
    safety_identifier: Optional[str] = None
    prompt_cache_key: Optional[str] = None
    prompt_cache_options: Optional[Mapping[str, Any]] = None
    moderation: Optional[Mapping[str, Any]] = None
    max_tokens: Optional[int] = None

    # --- callbacks ----------------------------------------------------------

    @property
    def data_callback(self) -> Optional[Callback]:
        """The callback for each streamed chunk: ``on_data``, else ``formula`` when streaming."""
        if self.on_data is not None:
            return self.on_data
        return self.formula if self.stream else None

    @property
    def terminate_callback(self) -> Optional[Callback]:
        """The callback for the end of the call: ``on_terminate``, else ``formula`` when not streaming."""
        if self.on_terminate is not None:
            return self.on_terminate
        return None if self.stream else self.formula

    # --- validation ---------------------------------------------------------

    def _validate(self, depth: int) -> None:
        super()._validate(depth + 1)
        self._validate_seed_fields()
        self._validate_sampling()
        self._validate_output(depth + 1)
        self._validate_tools(depth + 1)
        self._validate_options(depth + 1)

    def _validate_seed_fields(self) -> None:
        check_str("model", self.model, non_empty=True)
        check_bool("stream", self.stream)
        check_int(
            "max_completion_tokens",
            self.max_completion_tokens,
            0,
            allowed="an integer >= 1, or 0 to leave it out",
            optional=True,
        )
        check_int("n", self.n, *N_RANGE, optional=True)
        if self.temperature != -1:
            check_number(
                "temperature",
                self.temperature,
                *TEMPERATURE_RANGE,
                allowed="between 0 and 2, or -1 to leave it out",
                optional=True,
            )
        check_bool("store", self.store)

    def _validate_sampling(self) -> None:
        if self.top_p != -1:
            check_number(
                "top_p",
                self.top_p,
                *TOP_P_RANGE,
                allowed="between 0 and 1, or -1 to leave it out",
                optional=True,
            )
        check_number("frequency_penalty", self.frequency_penalty, *PENALTY_RANGE, optional=True)
        check_number("presence_penalty", self.presence_penalty, *PENALTY_RANGE, optional=True)
        if self.logit_bias is not None:
            if not is_mapping(self.logit_bias):
                wrong_type(
                    "logit_bias", "a dict of token ids to integers between -100 and 100", self.logit_bias
                )
            for token, bias in self.logit_bias.items():
                # Keys are token ids; JSON object keys are strings, so both
                # 50256 and "50256" are accepted and "50256" is sent.
                allowed = "token ids (integers >= 0, or strings of digits)"
                if not (is_int(token) or isinstance(token, str)):
                    wrong_type("logit_bias keys", allowed, token)
                if isinstance(token, str) and not (token and all(ch in "0123456789" for ch in token)):
                    fail("logit_bias keys", allowed, token)
                if isinstance(token, int) and token < 0:
                    fail("logit_bias keys", allowed, token)
                check_int("logit_bias[%r]" % (token,), bias, *LOGIT_BIAS_RANGE)
        check_bool("logprobs", self.logprobs, optional=True)
        check_int("top_logprobs", self.top_logprobs, *TOP_LOGPROBS_RANGE, optional=True)
        if self.top_logprobs is not None and self.logprobs is not True:
            # The schema: "`logprobs` must be set to `true` if this parameter is used."
            raise ValueError(
                "top_logprobs needs logprobs=True (got top_logprobs=%r with logprobs=%r)"
                % (self.top_logprobs, self.logprobs)
            )
        check_int("seed", self.seed, *SEED_RANGE, allowed="a 64-bit signed integer", optional=True)
        if self.stop is not None and not isinstance(self.stop, str):
            allowed = "a string or a list of 1 to %d strings" % STOP_MAX_ITEMS
            if not isinstance(self.stop, (list, tuple)):
                wrong_type("stop", allowed, self.stop)
            if not 1 <= len(self.stop) <= STOP_MAX_ITEMS:
                raise ValueError(
                    "stop must be %s (got %d items: %s)" % (allowed, len(self.stop), show(self.stop))
                )
            for index, item in enumerate(self.stop):
                check_str("stop[%d]" % index, item)

    def _validate_output(self, depth: int) -> None:
        _check_metadata("metadata", self.metadata)
        if self.modalities is not None:
            if isinstance(self.modalities, str) or not isinstance(self.modalities, (list, tuple)):
                wrong_type("modalities", 'a list of "text" and/or "audio"', self.modalities)
            for index, modality in enumerate(self.modalities):
                check_choice("modalities[%d]" % index, modality, MODALITIES)
        if self.audio is not None:
            check_mapping("audio", self.audio)
            voice = self.audio.get("voice")
            if voice is None:
                raise ValueError(
                    'audio.voice is required (a voice name like "alloy", or {"id": "voice_..."})'
                )
            if is_mapping(voice):
                check_str("audio.voice.id", voice.get("id"), non_empty=True)
            else:
                check_str("audio.voice", voice, non_empty=True)
            if self.audio.get("format") is None:
                raise ValueError(
                    "audio.format is required (one of %s)" % ", ".join(repr(f) for f in AUDIO_FORMATS)
                )
            check_choice("audio.format", self.audio.get("format"), AUDIO_FORMATS)
        if self.prediction is not None:
            check_mapping("prediction", self.prediction)
            check_choice("prediction.type", self.prediction.get("type"), ("content",))
            content = self.prediction.get("content")
            if not isinstance(content, str):
                if not isinstance(content, (list, tuple)) or not content:
                    wrong_type("prediction.content", "a string or a non-empty list of text parts", content)
                for index, part in enumerate(content):
                    if (
                        not is_mapping(part)
                        or part.get("type") != "text"
                        or not isinstance(part.get("text"), str)
                    ):
                        wrong_type(
                            "prediction.content[%d]" % index,
                            'a text part {"type": "text", "text": "..."}',
                            part,
                        )
        if self.response_format is not None:
            self._validate_response_format(self.response_format, depth + 1)

    def _validate_response_format(self, rf: Mapping[str, Any], depth: int) -> None:
        check_mapping("response_format", rf)
        kind = rf.get("type")
        check_str("response_format.type", kind, non_empty=True)
        if kind not in RESPONSE_FORMAT_TYPES:
            warn_unknown("response_format.type", str(kind), RESPONSE_FORMAT_TYPES, stacklevel=depth + 1)
        if kind == "json_schema":
            spec = rf.get("json_schema")
            if spec is None:
                raise ValueError(
                    'response_format.json_schema is required when type is "json_schema" '
                    '(a dict like {"name": "answer", "schema": {...}})'
                )
            check_mapping("response_format.json_schema", spec)
            if "name" not in spec:
                raise ValueError("response_format.json_schema.name is required")
            check_function_name("response_format.json_schema.name", spec["name"])
            check_str("response_format.json_schema.description", spec.get("description"), optional=True)
            check_mapping("response_format.json_schema.schema", spec.get("schema"), optional=True)
            check_bool("response_format.json_schema.strict", spec.get("strict"), optional=True)

    def _validate_tools(self, depth: int) -> None:
        if self.tools is not None:
            self._normalised_tools(depth + 1)
        choice = self.tool_choice
        if choice is None:
            return
        if isinstance(choice, str):
            if choice not in TOOL_CHOICE_MODES:
                raise ValueError(
                    "tool_choice must be one of %s, or a dict such as "
                    '{"type": "function", "function": {"name": "my_function"}} (got %s)%s'
                    % (
                        ", ".join(repr(m) for m in TOOL_CHOICE_MODES),
                        show(choice),
                        did_you_mean(choice, TOOL_CHOICE_MODES),
                    )
                )
            return
        if not is_mapping(choice):
            wrong_type("tool_choice", "'none', 'auto', 'required' or a dict", choice)
        kind = choice.get("type")
        check_str("tool_choice.type", kind, non_empty=True)
        if kind in ("function", "custom"):
            inner = choice.get(kind)
            if not isinstance(inner, Mapping):
                wrong_type("tool_choice.%s" % kind, 'a dict like {"name": "my_function"}', inner)
            check_str("tool_choice.%s.name" % kind, inner.get("name"), non_empty=True)
        elif kind == "allowed_tools":
            allowed = choice.get("allowed_tools")
            if not isinstance(allowed, Mapping):
                wrong_type(
                    "tool_choice.allowed_tools", 'a dict like {"mode": "auto", "tools": [...]}', allowed
                )
            check_choice("tool_choice.allowed_tools.mode", allowed.get("mode"), ALLOWED_TOOLS_MODES)
            tools = allowed.get("tools")
            if not isinstance(tools, (list, tuple)):
                wrong_type("tool_choice.allowed_tools.tools", "a list of tool dicts", tools)
            for index, tool in enumerate(tools):
                check_mapping("tool_choice.allowed_tools.tools[%d]" % index, tool)
        else:
            warn_unknown("tool_choice.type", str(kind), TOOL_CHOICE_TYPES, stacklevel=depth + 1)

    def _normalised_tools(self, depth: Optional[int]) -> List[Dict[str, Any]]:
        """``tools`` in the API's form; function tools go through ``OpenAITool``.

        ``depth`` places warnings on the caller's line; ``None`` means the
        tools were just validated (and warned about), so stay quiet.
        """
        tools = self.tools
        if isinstance(tools, (str, Mapping)) or not isinstance(tools, (list, tuple)):
            wrong_type(
                "tools",
                'a list of tools like [{"name": ..., "description": ..., "parameters": {...}}]',
                tools,
            )
        result: List[Dict[str, Any]] = []
        for index, tool in enumerate(tools):
            path = "tools[%d]" % index
            if isinstance(tool, OpenAITool):
                tool.validate(path)
                result.append(tool.to_dict())
                continue
            if not is_mapping(tool):
                wrong_type(path, "an OpenAITool or a tool dict", tool)
            kind = tool.get("type")
            if kind is None or kind == "function":
                result.append(OpenAITool.from_dict(tool, path=path).to_dict())
                continue
            check_str(path + ".type", kind, non_empty=True)
            if kind == "custom":
                custom = tool.get("custom")
                if not is_mapping(custom):
                    wrong_type(path + ".custom", 'a dict like {"name": "my_tool"}', custom)
                check_str(path + ".custom.name", custom.get("name"), non_empty=True)
            elif depth is not None:
                # Servers add built-in tool types (Groq's "browser_search", ...).
                warn_unknown(path + ".type", kind, TOOL_TYPES, stacklevel=depth + 1)
            result.append(dict(tool))
        return result

    def _validate_options(self, depth: int) -> None:
        check_bool("parallel_tool_calls", self.parallel_tool_calls, optional=True)
        for name, known in (
            ("reasoning_effort", REASONING_EFFORTS),
            ("service_tier", SERVICE_TIERS),
            ("verbosity", VERBOSITIES),
        ):
            value = getattr(self, name)
            check_str(name, value, optional=True)
            if value is not None and value not in known:
                warn_unknown(name, value, known, stacklevel=depth + 1)
        if self.stream_options is not None:
            check_mapping("stream_options", self.stream_options)
            if not self.stream:
                # The schema: "Only set this when you set `stream: true`."
                raise ValueError(
                    "stream_options needs stream=True (got stream_options=%s with stream=False)"
                    % show(self.stream_options)
                )
            for key in ("include_usage", "include_obfuscation"):
                check_bool("stream_options.%s" % key, self.stream_options.get(key), optional=True)
        if self.web_search_options is not None:
            self._validate_web_search(self.web_search_options, depth + 1)
        check_str(
            "safety_identifier",
            self.safety_identifier,
            max_length=SAFETY_IDENTIFIER_MAX_LENGTH,
            optional=True,
        )
        check_str("prompt_cache_key", self.prompt_cache_key, optional=True)
        if self.prompt_cache_options is not None:
            check_mapping("prompt_cache_options", self.prompt_cache_options)
            for key, known in (("ttl", PROMPT_CACHE_TTLS), ("mode", PROMPT_CACHE_MODES)):
                value = self.prompt_cache_options.get(key)
                check_str("prompt_cache_options.%s" % key, value, optional=True)
                if value is not None and value not in known:
                    warn_unknown("prompt_cache_options.%s" % key, value, known, stacklevel=depth + 1)
        if self.moderation is not None:
            self._validate_moderation(self.moderation, depth + 1)
        check_int(
            "max_tokens",
            self.max_tokens,
            0,
            allowed="an integer >= 0, or None to leave it out",
            optional=True,
        )

    def _validate_web_search(self, options: Mapping[str, Any], depth: int) -> None:
        check_mapping("web_search_options", options)
        size = options.get("search_context_size")
        check_str("web_search_options.search_context_size", size, optional=True)
        if size is not None and size not in SEARCH_CONTEXT_SIZES:
            warn_unknown(
                "web_search_options.search_context_size", size, SEARCH_CONTEXT_SIZES, stacklevel=depth + 1
            )
        location = options.get("user_location")
        if location is not None:
            check_mapping("web_search_options.user_location", location)
            check_choice("web_search_options.user_location.type", location.get("type"), ("approximate",))
            approximate = location.get("approximate")
            check_mapping("web_search_options.user_location.approximate", approximate)
            for key, value in approximate.items():
                check_str("web_search_options.user_location.approximate.%s" % key, value)

    def _validate_moderation(self, moderation: Mapping[str, Any], depth: int) -> None:
        check_mapping("moderation", moderation)
        check_str("moderation.model", moderation.get("model"), non_empty=True)
        policy = moderation.get("policy")
        if policy is None:
            return
        check_mapping("moderation.policy", policy)
        for side in ("input", "output"):
            config = policy.get(side)
            if config is None:
                continue
            check_mapping("moderation.policy.%s" % side, config)
            mode = config.get("mode")
            check_str("moderation.policy.%s.mode" % side, mode, non_empty=True)
            if mode not in MODERATION_MODES:
                warn_unknown("moderation.policy.%s.mode" % side, mode, MODERATION_MODES, stacklevel=depth + 1)

    # --- the body -----------------------------------------------------------

    def _request_fields(self) -> Dict[str, Any]:
        body: Dict[str, Any] = {"model": self.model}
        # The seed's "leave it out" values.
        if self.stream:
            body["stream"] = True
        if self.max_completion_tokens:
            body["max_completion_tokens"] = self.max_completion_tokens
        if self.n is not None and self.n != 1:
            body["n"] = self.n
        if self.temperature is not None and self.temperature != -1:
            body["temperature"] = self.temperature
        if self.store:
            body["store"] = True
        if self.stream_options is not None:
            body["stream_options"] = dict(self.stream_options)
        if self.top_p is not None and self.top_p != -1:
            body["top_p"] = self.top_p
        for name in ("frequency_penalty", "presence_penalty"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        if self.logit_bias is not None:
            body["logit_bias"] = {str(token): bias for token, bias in self.logit_bias.items()}
        for name in ("logprobs", "top_logprobs", "seed"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        if self.stop is not None:
            body["stop"] = self.stop if isinstance(self.stop, str) else list(self.stop)
        if self.metadata is not None:
            body["metadata"] = dict(self.metadata)
        if self.modalities is not None:
            body["modalities"] = list(self.modalities)
        for name in ("audio", "prediction", "response_format"):
            value = getattr(self, name)
            if value is not None:
                body[name] = dict(value)
        if self.tools is not None:
            body["tools"] = self._normalised_tools(None)  # body() has just validated them
        if self.tool_choice is not None:
            body["tool_choice"] = (
                self.tool_choice if isinstance(self.tool_choice, str) else dict(self.tool_choice)
            )
        for name in (
            "parallel_tool_calls",
            "reasoning_effort",
            "service_tier",
            "verbosity",
            "web_search_options",
            "safety_identifier",
            "prompt_cache_key",
            "prompt_cache_options",
            "moderation",
            "max_tokens",
        ):
            value = getattr(self, name)
            if value is not None:
                body[name] = dict(value) if is_mapping(value) else value
        return body


OpenAIChatCompletionsParameters = OpenAIChatCompletionParameters
"""The same class under the plural name the official SDK's resource uses."""


@dataclass
class OpenAIChatCompletionListParameters:
    """Filters for listing stored chat completions (``GET /chat/completions``).

    ``after`` is the id of the last completion of the previous page, ``limit``
    how many to return, ``order`` ``"asc"`` or ``"desc"`` by creation time,
    ``metadata`` key/value pairs to match, ``model`` the model that made them.
    ``None`` leaves a filter out (the server's defaults: 20, ``"asc"``).

    >>> OpenAIChatCompletionListParameters(limit=10, metadata={"app": "demo"}).query()
    {'limit': '10', 'metadata[app]': 'demo'}
    """

    after: Optional[str] = None
    limit: Optional[int] = None
    order: Optional[str] = None
    metadata: Optional[Mapping[str, str]] = None
    model: Optional[str] = None

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "OpenAIChatCompletionListParameters":
        """Build from a dict with snake_case or camelCase keys; an unknown key is an error."""
        return cls(**_kwargs_from_dict(cls, d))

    def validate(self) -> None:
        """Check every field; raise ``ValueError`` / ``TypeError`` naming the first bad one."""
        check_str("after", self.after, non_empty=True, optional=True)
        check_int("limit", self.limit, 0, optional=True)
        check_choice("order", self.order, LIST_ORDERS, optional=True)
        _check_metadata("metadata", self.metadata)
        check_str("model", self.model, non_empty=True, optional=True)

    def query(self) -> Dict[str, str]:
        """The query parameters to send; metadata as ``metadata[key]=value`` (validated again first)."""
        self.validate()
        query: Dict[str, str] = {}
        if self.after is not None:
            query["after"] = self.after
        if self.limit is not None:
            query["limit"] = str(self.limit)
        if self.order is not None:
            query["order"] = self.order
        for key, value in (self.metadata or {}).items():
            query["metadata[%s]" % key] = value
        if self.model is not None:
            query["model"] = self.model
        return query
