"""Errors: the :class:`OpenAIError` record and the exception tree. No I/O here.

A failed call is described by an :class:`OpenAIError` record (status, message,
type, code, param, request id, body, headers, and the ``is_*`` flags). With
``throw=True`` (or ``result.throw()``) the record is raised as the exception
that fits it, which carries the record as ``.error``::

    OpenAIException                    root: every error this package raises
    ├── APIConnectionError             no usable answer: refused, reset, cut, TLS, proxy
    │   └── APITimeoutError            nothing arrived within the timeout
    ├── APIStatusError                 the server answered with a status >= 300
    │   ├── BadRequestError            400
    │   ├── AuthenticationError        401
    │   ├── PermissionDeniedError      403
    │   ├── NotFoundError              404
    │   ├── ConflictError              409
    │   ├── UnprocessableEntityError   422
    │   ├── RateLimitError             429
    │   └── InternalServerError        >= 500
    ├── APIResponseValidationError     a 2xx answer whose body cannot be read
    ├── APIUserAbortError              the call was cancelled
    ├── CallbackError                  a user callback raised (``__cause__`` is its exception)
    └── InvalidOutputError             the answer does not fit ``response_format`` (also a ValueError)
        ├── LengthFinishReasonError        cut at the token limit (``finish_reason`` ``length``)
        └── ContentFilterFinishReasonError cut by the content filter (``content_filter``)

The names are the official ``openai`` package's, so ported code reads the same.

Type strings used in records: ``"connection_error"``, ``"timeout"``,
``"stream_error"`` (a stream cut or malformed mid-way), ``"cancelled"``,
``"callback_error"``, ``"invalid_response"`` (a body that cannot be read),
``"invalid_output"`` (a typed answer that does not fit its type, or was cut: ``code``
``"length"``, ``"content_filter"``, ``"invalid_json"`` or ``"mismatch"``),
``"redirect"`` (a 3xx, never followed), else whatever the server said.

Secrets: a record never keeps an ``Authorization``, ``Proxy-Authorization``,
``api-key`` (or similar) header value, and its ``repr``/``str`` hide anything
that looks like an API key.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Mapping, Optional, Tuple, Type, Union

from ._redact import is_secret_header, redact_text, redact_url

__all__ = [
    "OpenAIError",
    "OpenAIException",
    "APIConnectionError",
    "APITimeoutError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "APIResponseValidationError",
    "APIUserAbortError",
    "CallbackError",
    "InvalidOutputError",
    "LengthFinishReasonError",
    "ContentFilterFinishReasonError",
]

_SNIPPET = 200  # characters of an unreadable body quoted in the message


def _redact_body(body: Any) -> Any:
    """The body with key-like text redacted in every string (a server may echo the key back)."""
    if isinstance(body, str):
        return redact_text(body)
    if isinstance(body, dict):
        return {key: _redact_body(value) for key, value in body.items()}
    if isinstance(body, list):
        return [_redact_body(value) for value in body]
    return body


def _safe_headers(headers: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """Lower-cased copy without credential headers: a record never stores a secret."""
    if not headers:
        return {}
    return {k.lower(): v for k, v in headers.items() if not is_secret_header(k)}


def _opt_str(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        import json  # with the first error answer, not with the import

        return json.dumps(value)
    return str(value)


class OpenAIError:
    """What went wrong in one call: a plain record, safe to print and to log.

    ``status`` is the HTTP status (None when no answer came back: connection
    error, timeout, cancel, callback error). ``retry_after`` is how long the
    server asked to wait, in seconds, when it said (``retry-after-ms`` /
    ``Retry-After``). ``cause`` is the exception behind the record, if any.

        if not result.success:
            error = result.errors[0]
            if error.is_rate_limit_error:
                print("slow down:", error.message, error.retry_after)
    """

    __slots__ = (
        "status",
        "message",
        "type",
        "code",
        "param",
        "request_id",
        "body",
        "headers",
        "cause",
        "retry_after",
    )

    def __init__(
        self,
        message: str = "",
        *,
        status: Optional[int] = None,
        type: Optional[str] = None,
        code: Optional[str] = None,
        param: Optional[str] = None,
        request_id: Optional[str] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        cause: Optional[BaseException] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        self.status = status
        self.message = redact_text(str(message)) if message else ""
        self.type = type
        self.code = code
        self.param = param
        self.headers: Dict[str, str] = _safe_headers(headers)
        self.request_id = (
            request_id
            if request_id is not None
            else (self.headers.get("x-request-id") or self.headers.get("request-id"))
        )
        self.body = _redact_body(body)
        self.cause = cause
        self.retry_after = retry_after

    # -- flags -------------------------------------------------------------------------------
    @property
    def is_bad_request_error(self) -> bool:
        return self.status == 400

    @property
    def is_authentication_error(self) -> bool:
        return self.status == 401

    @property
    def is_permission_denied_error(self) -> bool:
        return self.status == 403

    @property
    def is_not_found_error(self) -> bool:
        return self.status == 404

    @property
    def is_conflict_error(self) -> bool:
        return self.status == 409

    @property
    def is_unprocessable_entity_error(self) -> bool:
        return self.status == 422

    @property
    def is_rate_limit_error(self) -> bool:
        return self.status == 429

    @property
    def is_server_error(self) -> bool:
        return self.status is not None and self.status >= 500

    @property
    def is_redirect(self) -> bool:
        return self.status is not None and 300 <= self.status < 400

    @property
    def is_connection_error(self) -> bool:
        """No usable answer; True for timeouts too (APITimeoutError is an APIConnectionError)."""
        return self.type in ("connection_error", "timeout")

    @property
    def is_timeout_error(self) -> bool:
        return self.type == "timeout"

    @property
    def is_cancelled(self) -> bool:
        return self.type == "cancelled"

    @property
    def is_callback_error(self) -> bool:
        return self.type == "callback_error"

    @property
    def is_stream_error(self) -> bool:
        return self.type == "stream_error"

    @property
    def is_invalid_output(self) -> bool:
        return self.type == "invalid_output"

    # -- building ----------------------------------------------------------------------------
    @classmethod
    def from_response(
        cls, status: int, headers: Mapping[str, str], body: bytes, *, expected: str = "what was expected"
    ) -> OpenAIError:
        """The record for an answer that is not a success (or a 2xx whose body is unreadable).

        Reads the OpenAI error JSON ``{"error": {"message", "type", "code", "param"}}`` and the
        shapes compatible servers send instead (``{"error": "text"}``, ``{"message": ...}``,
        ``{"detail": ...}``, a list holding one of those). Anything else (an HTML page from a
        proxy, an empty, truncated or non-UTF-8 body) gives a message that says the status, the
        content type and the first 200 characters. A 2xx is an error only through an
        ``{"error": ...}`` object; any other JSON there is an ``invalid_response`` saying the
        body is not ``expected`` (``"a chat completion ..."``). A 3xx says where it pointed:
        redirects are never followed, so that a key never travels to another host.

        >>> OpenAIError.from_response(429, {"retry-after": "2"}, b'{"error": {"message": "slow down",'
        ...     b' "type": "requests", "code": "rate_limit_exceeded"}}').retry_after
        2.0
        """
        from .retry import _status_text, parse_retry_after  # with the first response

        lowered = {k.lower(): v for k, v in headers.items()}
        retry_after = parse_retry_after(lowered)
        content_type = lowered.get("content-type", "")
        common: Dict[str, Any] = {"status": status, "headers": lowered, "retry_after": retry_after}
        if 300 <= status < 400:
            location = lowered.get("location")
            where = (" to " + redact_url(location)) if location else " (no Location header)"
            return cls(
                "redirect not followed: %s%s" % (_status_text(status), where),
                type="redirect",
                body=_json_or_text(body),
                **common,
            )
        parsed, problem = _parse_json(body)
        if problem is None:
            success = 200 <= status < 300
            found = None if success and not _has_error_key(parsed) else _error_fields(parsed)
            if found is not None:
                message, type_, code, param = found
                if not message:
                    message = "HTTP %s" % _status_text(status)
                return cls(message, type=type_, code=code, param=param, body=parsed, **common)
            if not success:
                return cls("HTTP %s: %s" % (_status_text(status), _snippet(body)), body=parsed, **common)
            problem = "a JSON body that is not " + expected
        described = _describe_body(body, content_type, problem)
        return cls(
            "HTTP %s with %s" % (_status_text(status), described),
            type="invalid_response",
            body=_text(body),
            **common,
        )

    @classmethod
    def from_exception(
        cls, exc: BaseException, *, type: Optional[str] = None, message: Optional[str] = None
    ) -> OpenAIError:
        """The record for an exception.

        An :class:`OpenAIException` gives its own ``.error``; a timeout gives a ``"timeout"``
        record and other socket, TLS and HTTP protocol errors a ``"connection_error"`` one;
        anything else gets ``type`` (for example ``"callback_error"`` for an exception raised
        inside a user callback), else ``"client_error"``. ``cause`` is always ``exc``.
        """
        if isinstance(exc, OpenAIException) and type is None and message is None:
            return exc.error
        if type is None:
            type = _kind_of(exc)
        if message is None:
            text = str(exc)
            message = "%s: %s" % (exc.__class__.__name__, text) if text else exc.__class__.__name__
        status = exc.error.status if isinstance(exc, OpenAIException) else None
        return cls(message, type=type, status=status, cause=exc)

    def exception(self) -> OpenAIException:
        """The exception that fits this record, carrying it as ``.error``.

        ``raise result.errors[0].exception()``; a callback error's ``__cause__`` is the
        exception the callback raised.
        """
        exc = _exception_class(self)(self)
        if self.cause is not None and not isinstance(self.cause, OpenAIException):
            exc.__cause__ = self.cause
        return exc

    def to_dict(self) -> Dict[str, Any]:
        """The record as plain data (for logs or JSON); secrets are never in it."""
        return {
            "status": self.status,
            "message": self.message,
            "type": self.type,
            "code": self.code,
            "param": self.param,
            "request_id": self.request_id,
            "retry_after": self.retry_after,
            "body": self.body,
            "headers": dict(self.headers),
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OpenAIError):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable record

    def __str__(self) -> str:
        from .retry import _status_text

        head = _status_text(self.status) if self.status is not None else (self.type or "error")
        details = [
            "%s=%s" % (name, value)
            for name, value in (
                ("type", self.type if self.status is not None else None),
                ("code", self.code),
                ("param", self.param),
                ("request_id", self.request_id),
                ("retry_after", self.retry_after),
            )
            if value is not None
        ]
        text = "%s: %s" % (head, self.message or "(no message)")
        return text + (" (%s)" % ", ".join(details) if details else "")

    def __repr__(self) -> str:
        fields = ", ".join(
            "%s=%r" % (name, getattr(self, name))
            for name in ("status", "type", "code", "param", "message", "request_id", "retry_after")
            if getattr(self, name) is not None
        )
        return "OpenAIError(%s)" % fields


def _kind_of(exc: BaseException) -> str:
    if isinstance(exc, OpenAIException):
        return exc.error.type or "client_error"
    if isinstance(exc, TimeoutError):
        return "timeout"
    socket_module = sys.modules.get("socket")  # socket.timeout is not a TimeoutError before 3.10
    if socket_module is not None and isinstance(exc, socket_module.timeout):
        return "timeout"
    if isinstance(exc, OSError):  # ConnectionError, ssl.SSLError, ...
        return "connection_error"
    http_client = sys.modules.get("http.client")  # no instance can exist unless it is loaded
    if http_client is not None and isinstance(exc, http_client.HTTPException):
        return "connection_error"
    return "client_error"


def _parse_json(body: bytes) -> Tuple[Any, Optional[str]]:
    """(parsed, None) or (None, what is wrong)."""
    if not body or not body.strip():
        return None, "an empty body"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, "a body that is not valid UTF-8"
    import json  # with the first error answer, not with the import

    try:
        return json.loads(text), None
    except ValueError:
        return None, "a body that is not JSON"


def _error_fields(parsed: Any) -> Optional[Tuple[str, Optional[str], Optional[str], Optional[str]]]:
    """(message, type, code, param) from the error shapes servers send, or None."""
    if isinstance(parsed, list) and parsed and isinstance(parsed[0], dict):
        parsed = parsed[0]  # [{"error": {...}}], as some gateways send
    if not isinstance(parsed, dict):
        return None
    error = parsed.get("error")
    if isinstance(error, str) and error:
        return error, _opt_str(parsed.get("type")), _opt_str(parsed.get("code")), None
    if isinstance(error, dict):
        fields, message = error, error.get("message")
    else:  # vLLM / FastAPI style
        fields, message = parsed, parsed.get("message") or parsed.get("detail")
        if not message:
            return None
    return (
        _opt_str(message) or "",
        _opt_str(fields.get("type")),
        _opt_str(fields.get("code")),
        _opt_str(fields.get("param")),
    )


def _has_error_key(parsed: Any) -> bool:
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    return isinstance(parsed, dict) and bool(parsed.get("error"))


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def _snippet(body: bytes) -> str:
    text = _text(body)
    cut = text[:_SNIPPET]
    return repr(cut) + ("... (%d characters)" % len(text) if len(text) > _SNIPPET else "")


def _describe_body(body: bytes, content_type: str, problem: str) -> str:
    kind = "content type " + content_type if content_type else "no content type"
    if not body:
        return "%s (%s)" % (problem, kind)
    return "%s (%s): %s" % (problem, kind, _snippet(body))


def _json_or_text(body: bytes) -> Any:
    parsed, problem = _parse_json(body)
    return parsed if problem is None else (_text(body) if body else None)


# -- the exceptions ------------------------------------------------------------------------------
class OpenAIException(Exception):
    """Root of every exception this package raises; ``.error`` is the :class:`OpenAIError`.

    Built from a record, or from a message alone: ``APIConnectionError("refused")``.
    """

    default_type: Optional[str] = None
    default_code: Optional[str] = None

    def __init__(self, error: Union[OpenAIError, str] = "") -> None:
        if not isinstance(error, OpenAIError):
            error = OpenAIError(str(error), type=self.default_type, code=self.default_code)
        self.error = error
        super().__init__(str(error))

    @property
    def message(self) -> str:
        return self.error.message

    @property
    def status_code(self) -> Optional[int]:
        return self.error.status

    @property
    def request_id(self) -> Optional[str]:
        return self.error.request_id

    @property
    def type(self) -> Optional[str]:
        return self.error.type

    @property
    def code(self) -> Optional[str]:
        return self.error.code

    @property
    def param(self) -> Optional[str]:
        return self.error.param

    @property
    def body(self) -> Any:
        return self.error.body

    def __str__(self) -> str:
        return str(self.error)

    def __repr__(self) -> str:
        return "%s(%r)" % (self.__class__.__name__, self.error)


class APIConnectionError(OpenAIException):
    """No usable answer: the connection was refused, reset or cut, TLS or the proxy failed."""

    default_type = "connection_error"


class APITimeoutError(APIConnectionError):
    """Nothing arrived within the timeout (connect, or a wait for bytes)."""

    default_type = "timeout"


class APIStatusError(OpenAIException):
    """The server answered with a status >= 300; ``status_code`` says which."""


class BadRequestError(APIStatusError):
    """400"""


class AuthenticationError(APIStatusError):
    """401"""


class PermissionDeniedError(APIStatusError):
    """403"""


class NotFoundError(APIStatusError):
    """404"""


class ConflictError(APIStatusError):
    """409"""


class UnprocessableEntityError(APIStatusError):
    """422"""


class RateLimitError(APIStatusError):
    """429"""


class InternalServerError(APIStatusError):
    """>= 500"""


class APIResponseValidationError(OpenAIException):
    """A 2xx answer whose body cannot be read."""

    default_type = "invalid_response"


class APIUserAbortError(OpenAIException):
    """The call was cancelled."""

    default_type = "cancelled"


class CallbackError(OpenAIException):
    """A user callback raised; ``__cause__`` is the exception it raised."""

    default_type = "callback_error"


class InvalidOutputError(OpenAIException, ValueError):
    """A typed answer (``response_format`` given a type) that does not fit it; ``error.body`` keeps
    the raw content. Also a ``ValueError``, as a value that does not fit its type is."""

    default_type = "invalid_output"
    default_code = "mismatch"


class LengthFinishReasonError(InvalidOutputError):
    """A typed answer cut at the token limit (``finish_reason`` ``"length"``) before it was whole."""

    default_code = "length"


class ContentFilterFinishReasonError(InvalidOutputError):
    """A typed answer cut by the content filter (``finish_reason`` ``"content_filter"``)."""

    default_code = "content_filter"


_BY_STATUS: Dict[int, Type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

_BY_TYPE: Dict[str, Type[OpenAIException]] = {
    "connection_error": APIConnectionError,
    "stream_error": APIConnectionError,
    "timeout": APITimeoutError,
    "cancelled": APIUserAbortError,
    "callback_error": CallbackError,
    "invalid_response": APIResponseValidationError,
    "invalid_output": InvalidOutputError,
}

# A record's (type, code) that picks a subclass of the class its type gives.
_BY_TYPE_AND_CODE: Dict[Tuple[str, str], Type[OpenAIException]] = {
    ("invalid_output", "length"): LengthFinishReasonError,
    ("invalid_output", "content_filter"): ContentFilterFinishReasonError,
}


def _exception_class(error: OpenAIError) -> Type[OpenAIException]:
    # The type strings this package sets win: a timeout mid-stream has status 200 but is
    # an APITimeoutError; then the status decides.
    by_code = _BY_TYPE_AND_CODE.get((error.type or "", error.code or ""))
    if by_code is not None:
        return by_code
    by_type = _BY_TYPE.get(error.type or "")
    if by_type is not None and not (
        by_type is APIResponseValidationError and error.status is not None and error.status >= 300
    ):
        return by_type
    status = error.status
    if status is not None and status >= 300:
        if status >= 500:
            return InternalServerError
        return _BY_STATUS.get(status, APIStatusError)
    return OpenAIException
