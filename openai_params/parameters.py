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
schema (the tests check them against it).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    ClassVar,
    Dict,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from ._chat_rules import FIELD_NEEDS, FIELD_RULES, SENT_AS, check_needs
from ._checks import (
    check_bool,
    check_callable,
    check_headers,
    check_int,
    check_mapping,
    check_str,
    check_timeout,
    did_you_mean,
    is_mapping,
    is_number,
    wrong_type,
)
from ._from_dict import kwargs_from_dict
from ._json import check_json
from ._redact import redacted_headers
from .messages import OpenAITool

if TYPE_CHECKING:
    from ._chat_rules import Rule

__all__ = [
    "OpenAIParameters",
    "OpenAIChatCompletionParameters",
    "OpenAIChatCompletionsParameters",
]

Callback = Callable[[Any], Any]

# Fields that shape how the call runs rather than what is asked: never sent.
EXECUTION_OPTIONS: Tuple[str, ...] = ("timeout", "max_retries", "extra_headers", "extra_query", "throw")
CALLBACKS: Tuple[str, ...] = ("on_data", "on_terminate", "on_response", "on_error", "formula")

# Never in the body: the options above, and extra_body, which is merged in last.
NOT_SENT = frozenset(EXECUTION_OPTIONS + CALLBACKS + ("extra_body",))
# Sent even at its default value.
ALWAYS_SENT = frozenset({"model"})

P = TypeVar("P")


def _repr_value(name: str, value: Any) -> str:
    if name in ("extra_headers", "extra_query") and is_mapping(value):
        value = redacted_headers(value)
    if name in CALLBACKS and value is not None:
        # Like a function's own repr, without the memory address.
        qualname = getattr(value, "__qualname__", None)
        return "<function %s>" % qualname if qualname else "<%s object>" % type(value).__name__
    return repr(value)


def _timeout(field: str, value: Any) -> None:
    if value is not None and not (is_number(value) and value == 0):  # None and 0: the client's timeout
        check_timeout(field, value)


def _extra_query(field: str, value: Any) -> None:
    check_mapping(field, value)
    for key, item in value.items():
        if not (isinstance(item, str) or is_number(item)):
            wrong_type("%s[%r]" % (field, key), "a string or a number", item)


def _extra_body(field: str, value: Any) -> None:
    check_mapping(field, value)
    check_json(field, value)  # its keys land at the top of the body, where its name would be lost


# The rule of each field every call shares: rule(field, value), as in _chat_rules.FIELD_RULES.
SHARED_RULES: Dict[str, Rule] = {
    "timeout": _timeout,
    "max_retries": lambda field, value: check_int(
        field, value, 0, allowed="an integer >= 0, or None for the client's default"
    ),
    "extra_headers": check_headers,
    "extra_query": _extra_query,
    "extra_body": _extra_body,
    "user": check_str,
    "throw": check_bool,
    **{name: check_callable for name in CALLBACKS},
}
_RULES: Dict[str, Rule] = {**SHARED_RULES, **FIELD_RULES}


def _no_rule(field: str, value: Any) -> None:
    """The rule of a field a subclass adds: its own to check (``__post_init__``)."""


class _Field:
    # (A plain class: a NamedTuple is built by exec'ing generated source, at import.)
    __slots__ = ("default", "rule", "needs", "place")

    def __init__(self, default: Any, rule: Rule, needs: Optional[str], place: Optional[int]) -> None:
        self.default = default
        self.rule = rule
        self.needs = needs  # the field it needs set to True, if any (_NEEDS)
        self.place = place  # its place in the body; None: never sent (NOT_SENT)


@lru_cache(maxsize=None)
def _fields(cls: type) -> Dict[str, _Field]:
    """Every field of ``cls`` by name, in field order (the constructor's positional order).

    A field's place in the body: the request's own fields in field order, then those every
    call shares, such as ``user``.
    """
    needs: Dict[str, str] = dict(getattr(cls, "_NEEDS", ()))
    shared = {f.name for f in fields(OpenAIParameters)}
    sent = sorted((f.name for f in fields(cls) if f.name not in NOT_SENT), key=lambda name: name in shared)
    places = {name: place for place, name in enumerate(sent)}
    return {
        f.name: _Field(f.default, _RULES.get(f.name, _no_rule), needs.get(f.name), places.get(f.name))
        for f in fields(cls)
    }


def _json_form(name: str, value: Any) -> Any:
    """A field's value as the body holds it: a copy of containers, in the API's form (``SENT_AS``)."""
    if name in SENT_AS:
        return SENT_AS[name](value)
    if value is None or isinstance(value, (str, int, float)):  # most fields (bool is an int)
        return value
    if is_mapping(value):
        return dict(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


# init=TYPE_CHECKING: type checkers see the generated constructor (every field, by keyword or
# in field order); at run time the class's own __init__ below takes its place, and the
# generated one is not even written. eq=False: __eq__ is written below too (dataclasses
# compiles the methods it generates when the class is defined, and a comparison over every
# field cost the import more than the rest of the class).
@dataclass(repr=False, eq=False, init=TYPE_CHECKING)  # type: ignore[literal-required]
class OpenAIParameters:
    """Options every call shares: how to run it, and what to do with its result.

    ``timeout`` is in seconds (0 = the client's default), ``max_retries``
    ``None`` = the client's default. ``extra_headers`` / ``extra_query`` are
    added to the HTTP request, ``extra_body`` is merged last into the JSON
    body. With ``throw=True`` a failure raises instead of coming back as a
    result with ``success == False``.

    Callbacks take one argument, the final result: ``on_terminate`` runs once
    per call whatever happened, then ``on_response`` on success or
    ``on_error`` on failure. ``formula`` is one callback for both cases:
    ``on_data`` when streaming, otherwise ``on_terminate``.

    An object holds the fields that were given or assigned since; a field never set
    reads its default from the class (where a dataclass keeps it). So the checks and
    ``body()`` look at a handful of fields, not at all of them.
    """

    timeout: Optional[float] = 0.0
    max_retries: Optional[int] = None
    extra_headers: Optional[Mapping[str, str]] = None
    extra_query: Optional[Mapping[str, Any]] = None
    extra_body: Optional[Mapping[str, Any]] = None
    # Deprecated in the schema (safety_identifier / prompt_cache_key replace
    # it) but still accepted, and servers use it.
    user: Optional[str] = None
    throw: bool = False
    on_terminate: Optional[Callback] = None
    on_response: Optional[Callback] = None
    on_error: Optional[Callback] = None
    formula: Optional[Callback] = None

    # (field, the field it needs set to True): see _chat_rules.FIELD_NEEDS.
    _NEEDS: ClassVar[Tuple[Tuple[str, str], ...]] = ()

    if not TYPE_CHECKING:  # (hidden from them: they would take it for the signature)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # Stores what is given, in place of the generated __init__, which would store
            # every field, defaults included.
            cls: type = type(self)  # (typed as a plain type: lru_cache wants a hashable argument)
            known = _fields(cls)
            if len(args) > len(known):
                raise TypeError(
                    "%s() takes at most %d positional arguments (%d given)"
                    % (cls.__name__, len(known), len(args))
                )
            given = self.__dict__  # (a new object's: empty)
            for name, value in zip(known, args):  # positional arguments, in field order
                given[name] = value
            for name in kwargs:
                if name not in known:
                    raise TypeError(
                        "%s() got an unexpected keyword argument %r%s"
                        % (cls.__name__, name, did_you_mean(name, sorted(known)))
                    )
                if name in given:
                    raise TypeError("%s() got multiple values for argument %r" % (cls.__name__, name))
            given.update(kwargs)
            self.__post_init__()

    def __post_init__(self) -> None:
        self.validate()

    def __eq__(self, other: object) -> bool:
        # What the generated one does: equal when of the same class with equal fields.
        if other.__class__ is not self.__class__:
            return NotImplemented
        cls: type = type(self)
        names = _fields(cls)
        return [getattr(self, name) for name in names] == [getattr(other, name) for name in names]

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
        cls: type = type(self)
        known = _fields(cls)
        values = {name: value for name, value in self.__dict__.items() if name in known}
        values.update(kwargs_from_dict(cls, changes))
        return type(self)(**values)

    # --- validation ---------------------------------------------------------

    def validate(self) -> None:
        """Check every field; raise ``ValueError`` / ``TypeError`` naming the first bad one."""
        cls: type = type(self)
        known = _fields(cls)
        # The fields given or assigned since, in that order: the others hold their defaults,
        # which are valid.
        for name, value in self.__dict__.items():
            field = known.get(name)
            if field is not None and value is not field.default:
                field.rule(name, value)
                if field.needs is not None:
                    check_needs(name, value, field.needs, getattr(self, field.needs))

    # --- what the client uses ----------------------------------------------

    def body(self) -> Dict[str, Any]:
        """The JSON body to send (validated again first): ``extra_body`` merged last.

        A field is in it when it is not ``None`` and differs from its default,
        which means "leave it out" (``model`` is always sent).
        """
        self.validate()
        cls: type = type(self)
        known = _fields(cls)
        given = self.__dict__  # the fields given or assigned since; the others hold their defaults
        sent = [  # (place in the body, name, value)
            (known[name].place, name, known[name].default)
            for name in ALWAYS_SENT
            if name in known and name not in given
        ]
        for name, value in given.items():
            field = known.get(name)
            if (
                field is not None
                and field.place is not None
                and (name in ALWAYS_SENT or (value is not None and value != field.default))
            ):
                sent.append((field.place, name, value))
        sent.sort()
        body: Dict[str, Any] = {name: _json_form(name, value) for _, name, value in sent}
        if self.extra_body:
            body.update(self.extra_body)
        return body

    def has_callbacks(self) -> bool:
        """True when any callback is set: the client then runs the call in a background thread."""
        given = self.__dict__  # a callback not in it holds its default, None
        for name in CALLBACKS:
            if given.get(name) is not None:
                return True
        return False

    @property
    def terminate_callback(self) -> Optional[Callback]:
        """The callback to call once at the end: ``on_terminate``, else ``formula``."""
        return self.on_terminate if self.on_terminate is not None else self.formula

    def __repr__(self) -> str:
        # Only fields that differ from their defaults (to_dict); credentials hidden.
        shown = ["%s=%s" % (name, _repr_value(name, value)) for name, value in self.to_dict().items()]
        return "%s(%s)" % (type(self).__name__, ", ".join(shown))


@dataclass(repr=False, eq=False, init=False)
class _LeadingFields:
    """The six fields that come first in the constructor's argument order.

    They live in their own base class because dataclasses order fields base
    classes first: ``OpenAIChatCompletionParameters("gpt-4o")`` sets the model.
    Their defaults mean "leave it out", except ``model``, which is always sent.
    """

    # (A docstring also spares the import an inspect.signature() call, which
    # dataclasses makes to write one for classes that have none.)
    model: str = "gpt-4o-mini"
    stream: bool = False
    max_completion_tokens: Optional[int] = 0
    n: Optional[int] = 1
    temperature: Optional[float] = -1
    store: bool = False


@dataclass(repr=False, eq=False, init=TYPE_CHECKING)  # type: ignore[literal-required]  # see OpenAIParameters
class OpenAIChatCompletionParameters(OpenAIParameters, _LeadingFields):
    """The parameters of a Chat Completions request (``POST /chat/completions``).

    A field's default means "leave it out" (the server's own default applies):
    ``model="gpt-4o-mini"`` (always sent), ``stream=False``,
    ``max_completion_tokens=0``, ``n=1``, ``temperature=-1``, ``store=False``.
    ``top_p=-1`` is left out the same way; every other field defaults to
    ``None``, not sent. ``on_data`` receives each streamed chunk.

    >>> OpenAIChatCompletionParameters().body()
    {'model': 'gpt-4o-mini'}
    >>> OpenAIChatCompletionParameters.from_dict({"maxCompletionTokens": 50, "stream": True}).body()
    {'model': 'gpt-4o-mini', 'stream': True, 'max_completion_tokens': 50}
    """

    _NEEDS: ClassVar[Tuple[Tuple[str, str], ...]] = FIELD_NEEDS

    if not TYPE_CHECKING:
        __init__ = OpenAIParameters.__init__  # stores what is given (see there)

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
    # A dict as the API takes it, or a Python type (a dataclass, List[...], ...): see outputs.py.
    response_format: Union[Mapping[str, Any], Any, None] = None
    tools: Optional[Sequence[Union[OpenAITool, Mapping[str, Any], Callable[..., Any]]]] = None
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


OpenAIChatCompletionsParameters = OpenAIChatCompletionParameters
"""The same class under the plural name the official SDK's resource uses."""
