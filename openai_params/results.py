"""Results: plain objects built from what a server sent back. No I/O here.

Every call returns a result rather than raising (unless ``throw=True``): a
result says whether it succeeded, carries the parsed JSON as ``body`` (unknown
keys kept), the response headers, the request id, the rate-limit headers, and
on failure a list of :class:`OpenAIError` records.

    r = client.chat.completions.create(messages, model="gpt-4o-mini")
    if r.success:
        print(r.choice.message.content)
    else:
        print(r.errors[0].message)
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar

from ._checks import MAPPING
from .errors import OpenAIError, OpenAIException
from .messages import OpenAIMessage

if TYPE_CHECKING:
    import json

    from .transport import HTTPResponse

    R = TypeVar("R", bound="OpenAIResult")  # for annotations only

__all__ = [
    "OpenAIResult",
    "OpenAIChatCompletionResult",
    "OpenAIChatCompletionStreamResult",
    "OpenAIChoice",
    "RateLimit",
    "read_result",
]


class RateLimit:
    """The ``x-ratelimit-*`` response headers, parsed.

    ``reset_requests`` / ``reset_tokens`` are kept as the server wrote them
    (OpenAI sends durations such as ``"1s"`` or ``"6m0s"``); ``*_seconds``
    gives them as a number of seconds when they can be read.
    """

    __slots__ = (
        "limit_requests",
        "limit_tokens",
        "remaining_requests",
        "remaining_tokens",
        "reset_requests",
        "reset_tokens",
    )

    def __init__(self, headers: Mapping[str, str]) -> None:
        self.limit_requests = whole_number(headers.get("x-ratelimit-limit-requests"))
        self.limit_tokens = whole_number(headers.get("x-ratelimit-limit-tokens"))
        self.remaining_requests = whole_number(headers.get("x-ratelimit-remaining-requests"))
        self.remaining_tokens = whole_number(headers.get("x-ratelimit-remaining-tokens"))
        self.reset_requests = headers.get("x-ratelimit-reset-requests")
        self.reset_tokens = headers.get("x-ratelimit-reset-tokens")

    @property
    def reset_requests_seconds(self) -> Optional[float]:
        return parse_duration(self.reset_requests)

    @property
    def reset_tokens_seconds(self) -> Optional[float]:
        return parse_duration(self.reset_tokens)

    def __bool__(self) -> bool:
        return any(getattr(self, name) is not None for name in self.__slots__)

    def __repr__(self) -> str:
        fields = ", ".join(
            "%s=%r" % (name, getattr(self, name))
            for name in self.__slots__
            if getattr(self, name) is not None
        )
        return "RateLimit(%s)" % fields


_UNITS = (("ms", 0.001), ("h", 3600.0), ("m", 60.0), ("s", 1.0))
# What a number in a header may be written with: digits, a decimal point, an exponent.
# float() alone would also take "inf", "nan", "1_000" and surrounding "\t".
_NUMBER_CHARS = frozenset("0123456789.eE+-")


def whole_number(text: Optional[str]) -> Optional[int]:
    """A header value read as a finite whole number (``"60"``, ``"60.0"``, ``"1e3"``), else None.

    Never raises: ``"inf"``, ``"nan"``, ``"1e400"``, ``"1.5"`` or ``"abc"`` give None.
    """
    if text is None:
        return None
    text = text.strip()
    if not text or not _NUMBER_CHARS.issuperset(text):
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    if not number.is_integer():  # (False for inf and NaN too)
        return None
    return int(number)


def parse_duration(text: Optional[str]) -> Optional[float]:
    """Read a Go-style duration (``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1h2m"``) or plain seconds."""
    if not text:
        return None
    rest = text.strip()
    try:
        return float(rest)
    except ValueError:
        pass
    total = 0.0
    while rest:
        digits = len(rest) - len(rest.lstrip("0123456789."))
        if digits == 0:
            return None
        number, rest = rest[:digits], rest[digits:]
        for unit, factor in _UNITS:
            if rest.startswith(unit):
                try:
                    total += float(number) * factor
                except ValueError:
                    return None
                rest = rest[len(unit) :]
                break
        else:
            return None
    return total


class OpenAIResult:
    """What one call gave back: success or errors, status, headers and body.

    ``success`` is true when the server answered 2xx with a readable body and
    nothing went wrong afterwards (a stream that broke, a callback that raised).
    """

    #: ``terminated`` when not given: True for a call's result, False for a stream chunk.
    _terminated_default = True

    def __init__(
        self,
        *,
        status: Optional[int] = None,
        headers: Optional[Mapping[str, str]] = None,
        body: Any = None,
        errors: Optional[Sequence[OpenAIError]] = None,
        terminated: Optional[bool] = None,
    ) -> None:
        self.status = status
        self._given_headers = headers
        self._headers: Optional[Dict[str, str]] = None
        self.body = body
        self.errors: List[OpenAIError] = list(errors) if errors else []
        self.terminated = self._terminated_default if terminated is None else terminated

    @property
    def headers(self) -> Dict[str, str]:
        """The response headers, names lower-cased.

        The copy is made when first asked for: the thousands of chunks of a stream
        are given the stream's headers, and most are never asked.
        """
        if self._headers is None:
            given = self._given_headers
            self._headers = {name.lower(): value for name, value in given.items()} if given else {}
        return self._headers

    @headers.setter
    def headers(self, value: Optional[Mapping[str, str]]) -> None:
        self._given_headers, self._headers = value, None

    #: What a 2xx body must be for this kind of result to be a success (see read_result).
    expected_body = "a JSON object"

    @staticmethod
    def is_expected_body(body: Any) -> bool:
        """Whether a parsed 2xx body is what this kind of result reads."""
        return isinstance(body, dict)

    @property
    def success(self) -> bool:
        return not self.errors and self.status is not None and 200 <= self.status < 300

    @property
    def data(self) -> Any:
        """The parsed JSON body (same object as ``body``)."""
        return self.body

    @property
    def items(self) -> List[Any]:
        """The ``data`` list of a list response (``models.list()``, ``completions.list()``), else []."""
        body = self.body
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            return list(body["data"])
        return []

    @property
    def error(self) -> Optional[OpenAIError]:
        """The first error, or None."""
        return self.errors[0] if self.errors else None

    @property
    def request_id(self) -> Optional[str]:
        found = self.headers.get("x-request-id") or self.headers.get("request-id")
        if found:
            return found
        for error in self.errors:
            if error.request_id:
                return error.request_id
        return None

    @property
    def rate_limit(self) -> RateLimit:
        return RateLimit(self.headers)

    @property
    def usage(self) -> Optional[Dict[str, Any]]:
        usage = self.body.get("usage") if isinstance(self.body, dict) else None
        return usage if isinstance(usage, dict) else None

    def throw(self) -> OpenAIResult:
        """Raise the first error as an exception (see ``errors``); return self when successful.

        >>> result.throw().choice.message.content   # doctest: +SKIP
        """
        if self.errors:
            raise self.errors[0].exception()
        if not self.success:
            raise OpenAIError(
                status=self.status,
                message="the call did not complete",
                type="invalid_response",
                headers=self.headers,
            ).exception()
        return self

    def __repr__(self) -> str:
        if self.success:
            return "<%s success status=%s>" % (type(self).__name__, self.status)
        return "<%s failed status=%s errors=%r>" % (type(self).__name__, self.status, self.errors)


class OpenAIChoice:
    """One choice of a completion: ``message`` (full result) or ``delta`` (stream chunk)."""

    __slots__ = ("data", "index", "message", "delta", "finish_reason", "logprobs")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data: Dict[str, Any] = dict(data)
        index = data.get("index")
        self.index: int = index if isinstance(index, int) else 0
        self.message = _message(data.get("message"))
        self.delta = _message(data.get("delta"))  # (a full result has a message, a chunk a delta)
        self.finish_reason: Optional[str] = data.get("finish_reason")
        self.logprobs: Any = data.get("logprobs")

    @property
    def text(self) -> str:
        """The text of this choice: the message's content, or the delta's new text."""
        found = self.message if self.message is not None else self.delta
        return found.text if found is not None else ""

    @property
    def tool_calls(self) -> List[Dict[str, Any]]:
        found = self.message if self.message is not None else self.delta
        return list(found.tool_calls or ()) if found is not None else []

    def __repr__(self) -> str:
        return "OpenAIChoice(index=%d, finish_reason=%r, text=%r)" % (
            self.index,
            self.finish_reason,
            self.text[:60],
        )


def _message(value: Any) -> Optional[OpenAIMessage]:
    """A choice's ``message`` or ``delta``; None when it has none (or not an object)."""
    if value is None:
        return None
    return OpenAIMessage.from_dict(value) if isinstance(value, MAPPING) else None


def _choices(body: Any) -> List[OpenAIChoice]:
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        return []
    return [OpenAIChoice(c) for c in body["choices"] if isinstance(c, MAPPING)]


class _ChoicesMixin:
    body: Any
    #: the body the choices were parsed from, and them (None: not parsed yet)
    _choices_cache: Optional[Tuple[Any, List[OpenAIChoice]]] = None

    def _parsed_choices(self) -> List[OpenAIChoice]:
        # Parsed once per body: a caller reading result.choice.message.content in a loop
        # should not rebuild the objects every time.
        cached = self._choices_cache
        if cached is not None and cached[0] is self.body:
            return cached[1]
        parsed = _choices(self.body)
        self._choices_cache = (self.body, parsed)
        return parsed

    @property
    def choices(self) -> List[OpenAIChoice]:
        return list(self._parsed_choices())  # a copy: the caller may change it

    @property
    def choice(self) -> Optional[OpenAIChoice]:
        """The first choice (index 0), or None when there is none."""
        choices = self._parsed_choices()
        for choice in choices:
            if choice.index == 0:
                return choice
        return choices[0] if choices else None

    @property
    def text(self) -> str:
        choice = self.choice
        return choice.text if choice is not None else ""

    @property
    def parsed(self) -> Any:
        """The first choice's answer as the call's ``response_format`` type (``message.parsed``);
        None without one, when the model refused, or when the answer did not fit (an error then
        says why)."""
        choice = self.choice
        message = choice.message if choice is not None else None
        return message.parsed if message is not None else None

    def _field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None

    @property
    def id(self) -> Optional[str]:
        return self._field("id")  # type: ignore[no-any-return]

    @property
    def model(self) -> Optional[str]:
        return self._field("model")  # type: ignore[no-any-return]

    @property
    def created(self) -> Optional[int]:
        return self._field("created")  # type: ignore[no-any-return]

    @property
    def system_fingerprint(self) -> Optional[str]:
        return self._field("system_fingerprint")  # type: ignore[no-any-return]

    @property
    def service_tier(self) -> Optional[str]:
        return self._field("service_tier")  # type: ignore[no-any-return]


class OpenAIChatCompletionResult(_ChoicesMixin, OpenAIResult):
    """The result of a chat completion, streamed or not.

    ``choice.message.content`` is the answer; ``choices`` has one entry per ``n``.
    A successful result always has a ``choice``: a 2xx answer without one is an
    ``invalid_response`` error.
    """

    expected_body = 'a chat completion (a JSON object with a non-empty "choices" list)'

    @staticmethod
    def is_expected_body(body: Any) -> bool:
        choices = body.get("choices") if isinstance(body, dict) else None
        if isinstance(choices, list):
            for choice in choices:
                if isinstance(choice, MAPPING):
                    return True
        return False


class OpenAIChatCompletionStreamResult(_ChoicesMixin, OpenAIResult):
    """One chunk of a streamed chat completion.

    ``text`` is the new text of the first choice ("" when the chunk has none, as
    in a usage-only chunk, where ``choice`` is None). A stream that failed ends
    with one chunk whose ``success`` is False and whose ``errors`` say why.
    """

    _terminated_default = False


def read_result(response: HTTPResponse, result_type: Type[R]) -> R:
    """Turn a whole HTTP response into a result (pure apart from reading the body).

    A 2xx answer is a success only when its body is JSON of the kind ``result_type``
    reads (:meth:`OpenAIResult.is_expected_body`): a ``{"status": "ok"}``, ``null`` or
    ``[]`` where a completion was due is an ``invalid_response`` error quoting the start
    of the body, and a 2xx carrying an ``{"error": ...}`` object (and no choices) is that
    error, as some compatible servers send.
    """
    status, headers = response.status, response.headers
    try:
        raw = response.read()
    except OpenAIException as exc:
        return result_type(status=status, headers=headers, errors=[exc.error])
    body = _json_or_none(raw)
    if (
        200 <= status < 300
        and result_type.is_expected_body(body)
        and not (isinstance(body, dict) and body.get("error") and not body.get("choices"))
    ):
        return result_type(status=status, headers=headers, body=body)
    error = OpenAIError.from_response(status, headers, raw, expected=result_type.expected_body)
    return result_type(status=status, headers=headers, body=body, errors=[error])


@lru_cache(maxsize=None)
def _decoder() -> json.JSONDecoder:
    """json.loads()'s decoder, built with the first answer (json loads then, not with the import)."""
    import json

    return json.JSONDecoder()


def _json_or_none(raw: bytes) -> Any:
    try:
        return _decoder().decode(raw.decode("utf-8"))
    except ValueError:
        return None
