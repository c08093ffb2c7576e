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

Values are validated when the object is built and again by ``body()``,
because fields can be reassigned in between. The rules of the Chat Completions
fields are in ``_chat_rules``; their ranges, size limits and enums in
``_limits``, taken from ``CreateChatCompletionRequest`` in the OpenAI OpenAPI
schema (the tests check them against it), and re-exported here.
"""

from dataclasses import dataclass, fields
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Type, TypeVar, Union

from ._redact import redacted_headers
from ._checks import (check_bool, check_callable, check_choice, check_headers, check_int, check_mapping,
                      check_number, check_str, is_mapping, is_number, wrong_type)
from ._chat_rules import (check_metadata, check_options, check_output, check_sampling, check_seed_fields,
                          check_tools, normalised_tools)
from ._from_dict import camel_case, kwargs_from_dict, snake_case
# The schema's limits and enums, re-exported (``X as X``) for code and tests that read them here.
from ._limits import (
    ALLOWED_TOOLS_MODES as ALLOWED_TOOLS_MODES,
    AUDIO_FORMATS as AUDIO_FORMATS,
    LIST_ORDERS as LIST_ORDERS,
    LOGIT_BIAS_RANGE as LOGIT_BIAS_RANGE,
    METADATA_KEY_MAX_LENGTH as METADATA_KEY_MAX_LENGTH,
    METADATA_MAX_PAIRS as METADATA_MAX_PAIRS,
    METADATA_VALUE_MAX_LENGTH as METADATA_VALUE_MAX_LENGTH,
    MODALITIES as MODALITIES,
    MODERATION_MODES as MODERATION_MODES,
    N_RANGE as N_RANGE,
    PENALTY_RANGE as PENALTY_RANGE,
    PROMPT_CACHE_MODES as PROMPT_CACHE_MODES,
    PROMPT_CACHE_TTLS as PROMPT_CACHE_TTLS,
    REASONING_EFFORTS as REASONING_EFFORTS,
    RESPONSE_FORMAT_TYPES as RESPONSE_FORMAT_TYPES,
    SAFETY_IDENTIFIER_MAX_LENGTH as SAFETY_IDENTIFIER_MAX_LENGTH,
    SEARCH_CONTEXT_SIZES as SEARCH_CONTEXT_SIZES,
    SEED_RANGE as SEED_RANGE,
    SERVICE_TIERS as SERVICE_TIERS,
    STOP_MAX_ITEMS as STOP_MAX_ITEMS,
    TEMPERATURE_RANGE as TEMPERATURE_RANGE,
    TOOL_CHOICE_MODES as TOOL_CHOICE_MODES,
    TOOL_CHOICE_TYPES as TOOL_CHOICE_TYPES,
    TOOL_TYPES as TOOL_TYPES,
    TOP_LOGPROBS_RANGE as TOP_LOGPROBS_RANGE,
    TOP_P_RANGE as TOP_P_RANGE,
    VERBOSITIES as VERBOSITIES,
)
from .messages import OpenAITool

__all__ = [
    "OpenAIParameters",
    "OpenAIChatCompletionParameters",
    "OpenAIChatCompletionsParameters",
    "OpenAIChatCompletionListParameters",
]

Callback = Callable[[Any], Any]

# Fields that shape how the call runs rather than what is asked: never sent.
EXECUTION_OPTIONS: Tuple[str, ...] = ("timeout", "max_retries", "extra_headers", "extra_query", "throw")
CALLBACKS: Tuple[str, ...] = ("on_data", "on_terminate", "on_response", "on_error", "formula")

# from_dict's key mapping, under the names it had when it lived here.
_camel_case, _kwargs_from_dict, _snake_case = camel_case, kwargs_from_dict, snake_case

P = TypeVar("P")


def _repr_value(name: str, value: Any) -> str:
    if name in ("extra_headers", "extra_query") and is_mapping(value):
        value = redacted_headers(value)
    if name in CALLBACKS and value is not None:
        # Like a function's own repr, without the memory address.
        qualname = getattr(value, "__qualname__", None)
        return "<function %s>" % qualname if qualname else "<%s object>" % type(value).__name__
    return repr(value)


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
        return cls(**kwargs_from_dict(cls, d))

    def to_dict(self) -> Dict[str, Any]:
        """The fields that differ from their defaults, by snake_case name (callbacks included).

        ``type(p).from_dict(p.to_dict()) == p``.
        """
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}

    def replace(self: P, **changes: Any) -> P:
        """A copy with some fields changed (snake_case or camelCase names), validated."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        values.update(kwargs_from_dict(type(self), changes))
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
        # The rules live in _chat_rules; depth + 1: each runs one frame below this one.
        check_seed_fields(self)
        check_sampling(self)
        check_output(self, depth + 1)
        check_tools(self, depth + 1)
        check_options(self, depth + 1)

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
            body["tools"] = normalised_tools(self.tools, None)  # body() has just validated them
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
        return cls(**kwargs_from_dict(cls, d))

    def validate(self) -> None:
        """Check every field; raise ``ValueError`` / ``TypeError`` naming the first bad one."""
        check_str("after", self.after, non_empty=True, optional=True)
        check_int("limit", self.limit, 0, optional=True)
        check_choice("order", self.order, LIST_ORDERS, optional=True)
        check_metadata("metadata", self.metadata)
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
