"""OpenAIError records and the exception tree (openai_params/errors.py)."""

import http.client
import json
import socket
from typing import Any, Dict, Type

import pytest

from openai_params._redact import redact, redact_text
from openai_params.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    APIUserAbortError,
    AuthenticationError,
    BadRequestError,
    CallbackError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    OpenAIError,
    OpenAIException,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

KEY = "sk-proj-SECRETSECRETSECRET1234"


def _body(**error: Any) -> bytes:
    return json.dumps({"error": error}).encode()


def test_openai_error_json_fills_every_field() -> None:
    error = OpenAIError.from_response(
        400,
        {"Content-Type": "application/json", "X-Request-Id": "req_123"},
        _body(
            message="Invalid value for 'temperature'",
            type="invalid_request_error",
            code="invalid_value",
            param="temperature",
        ),
    )
    assert error.status == 400
    assert error.message == "Invalid value for 'temperature'"
    assert error.type == "invalid_request_error"
    assert error.code == "invalid_value"
    assert error.param == "temperature"
    assert error.request_id == "req_123"
    assert error.body == {
        "error": {
            "message": "Invalid value for 'temperature'",
            "type": "invalid_request_error",
            "code": "invalid_value",
            "param": "temperature",
        }
    }
    assert error.headers["x-request-id"] == "req_123"
    assert error.is_bad_request_error and not error.is_rate_limit_error
    exc = error.exception()
    assert isinstance(exc, BadRequestError) and exc.error is error
    assert exc.status_code == 400 and exc.request_id == "req_123" and exc.code == "invalid_value"


def test_request_id_also_from_request_id_header() -> None:
    error = OpenAIError.from_response(500, {"request-id": "abc"}, _body(message="boom"))
    assert error.request_id == "abc"


def test_numeric_code_becomes_a_string() -> None:
    error = OpenAIError.from_response(429, {}, _body(message="busy", code=429))
    assert error.code == "429"


@pytest.mark.parametrize(
    "payload, message, type_, code",
    [
        ({"error": "model 'x' not found"}, "model 'x' not found", None, None),  # Ollama
        (
            {"object": "error", "message": "bad input", "type": "BadRequestError", "code": 400},
            "bad input",
            "BadRequestError",
            "400",
        ),  # vLLM
        ({"detail": "Not authenticated"}, "Not authenticated", None, None),  # FastAPI
        (
            {"detail": [{"loc": ["body", "model"], "msg": "field required"}]},
            '[{"loc": ["body", "model"], "msg": "field required"}]',
            None,
            None,
        ),
        (
            [{"error": {"message": "quota", "code": 429, "status": "RESOURCE_EXHAUSTED"}}],
            "quota",
            None,
            "429",
        ),  # a gateway
    ],
)
def test_error_shapes_of_compatible_servers(payload: Any, message: str, type_: Any, code: Any) -> None:
    error = OpenAIError.from_response(404, {"content-type": "application/json"}, json.dumps(payload).encode())
    assert (error.message, error.type, error.code) == (message, type_, code)
    assert error.body == payload


def test_html_from_a_proxy_says_status_content_type_and_first_200_characters() -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 500 + "</body></html>"
    error = OpenAIError.from_response(502, {"Content-Type": "text/html"}, page.encode())
    assert "502 Bad Gateway" in error.message
    assert "text/html" in error.message
    assert page[:200] in error.message
    assert page[:201] not in error.message
    assert error.type == "invalid_response"
    assert error.is_server_error
    assert isinstance(error.exception(), InternalServerError)


def test_empty_body() -> None:
    error = OpenAIError.from_response(503, {"Content-Type": "text/plain"}, b"")
    assert "503" in error.message and "empty" in error.message and "text/plain" in error.message


def test_no_content_type() -> None:
    error = OpenAIError.from_response(500, {}, b"oops")
    assert "no content type" in error.message and "'oops'" in error.message


def test_bad_utf8_does_not_raise_and_says_so() -> None:
    error = OpenAIError.from_response(500, {"content-type": "application/json"}, b'{"error": "\xff\xfe"}')
    assert "UTF-8" in error.message
    assert "500" in error.message


def test_truncated_json() -> None:
    error = OpenAIError.from_response(
        500, {"content-type": "application/json"}, b'{"error": {"message": "cut'
    )
    assert "not JSON" in error.message and "application/json" in error.message
    assert '{"error": {"message": "cut' in error.message


def test_json_without_an_error_object_on_an_error_status() -> None:
    error = OpenAIError.from_response(500, {}, b'{"unexpected": true}')
    assert error.message.startswith("HTTP 500 Internal Server Error")
    assert error.body == {"unexpected": True}


def test_2xx_with_an_unreadable_body_is_a_validation_error() -> None:
    error = OpenAIError.from_response(200, {"content-type": "application/json"}, b"not json")
    assert error.type == "invalid_response"
    assert isinstance(error.exception(), APIResponseValidationError)
    odd = OpenAIError.from_response(200, {}, b"[1, 2]")
    assert odd.type == "invalid_response"


def test_2xx_with_an_error_object_keeps_the_server_message() -> None:
    error = OpenAIError.from_response(200, {}, _body(message="context too long", type="server_error"))
    assert error.message == "context too long" and error.status == 200


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_names_status_and_location(status: int) -> None:
    error = OpenAIError.from_response(status, {"Location": "https://elsewhere.example/v1"}, b"")
    assert error.message.startswith("redirect not followed: %d " % status)
    assert error.message.endswith(" to https://elsewhere.example/v1")
    assert error.type == "redirect" and error.is_redirect
    assert type(error.exception()) is APIStatusError


def test_redirect_without_location() -> None:
    error = OpenAIError.from_response(301, {}, b"")
    assert "301 Moved Permanently" in error.message and "no Location" in error.message


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: Dict[str, str], expected: Any) -> None:
    assert OpenAIError.from_response(429, headers, b"").retry_after == expected


def test_retry_after_http_date() -> None:
    import email.utils
    import time

    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    seconds = OpenAIError.from_response(429, {"Retry-After": when}, b"").retry_after
    assert seconds is not None and 25 <= seconds <= 31


@pytest.mark.parametrize(
    "status, cls",
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_exception_class_per_status(status: int, cls: Type[OpenAIException]) -> None:
    exc = OpenAIError.from_response(status, {}, _body(message="m")).exception()
    assert type(exc) is cls
    assert isinstance(exc, APIStatusError) and isinstance(exc, OpenAIException)


@pytest.mark.parametrize(
    "type_, cls",
    [
        ("connection_error", APIConnectionError),
        ("timeout", APITimeoutError),
        ("stream_error", APIConnectionError),
        ("cancelled", APIUserAbortError),
        ("callback_error", CallbackError),
        ("invalid_response", APIResponseValidationError),
        ("something_else", OpenAIException),
    ],
)
def test_exception_class_per_type(type_: str, cls: Type[OpenAIException]) -> None:
    assert type(OpenAIError("m", type=type_).exception()) is cls


def test_the_tree() -> None:
    assert issubclass(APITimeoutError, APIConnectionError)
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        UnprocessableEntityError,
        RateLimitError,
        InternalServerError,
    ):
        assert issubclass(cls, APIStatusError)
    for branch in (
        APIConnectionError,
        APIStatusError,
        APIResponseValidationError,
        APIUserAbortError,
        CallbackError,
    ):
        assert issubclass(branch, OpenAIException)
    assert issubclass(OpenAIException, Exception)


def test_flags() -> None:
    flags = [
        "is_bad_request_error",
        "is_authentication_error",
        "is_permission_denied_error",
        "is_not_found_error",
        "is_conflict_error",
        "is_unprocessable_entity_error",
        "is_rate_limit_error",
        "is_server_error",
    ]
    for status, expected in zip([400, 401, 403, 404, 409, 422, 429, 502], flags):
        error = OpenAIError("m", status=status)
        assert [f for f in flags if getattr(error, f)] == [expected]
    timeout = OpenAIError("m", type="timeout")
    assert timeout.is_timeout_error and timeout.is_connection_error
    assert OpenAIError("m", type="connection_error").is_connection_error
    assert not OpenAIError("m", type="connection_error").is_timeout_error
    assert OpenAIError("m", type="cancelled").is_cancelled
    assert OpenAIError("m", type="callback_error").is_callback_error
    assert OpenAIError("m", type="stream_error").is_stream_error


def test_from_exception_maps_low_level_errors() -> None:
    assert OpenAIError.from_exception(socket.timeout("timed out")).type == "timeout"
    assert OpenAIError.from_exception(TimeoutError()).type == "timeout"
    refused = OpenAIError.from_exception(ConnectionRefusedError(111, "Connection refused"))
    assert refused.type == "connection_error" and "ConnectionRefusedError" in refused.message
    remote = OpenAIError.from_exception(http.client.RemoteDisconnected("closed"))
    assert remote.type == "connection_error"
    incomplete = OpenAIError.from_exception(http.client.IncompleteRead(b"", 10))
    assert incomplete.type == "connection_error"
    assert OpenAIError.from_exception(KeyError("x")).type == "client_error"


def test_from_exception_of_an_openai_exception_is_its_record() -> None:
    record = OpenAIError("down", type="connection_error")
    assert OpenAIError.from_exception(APIConnectionError(record)) is record


def test_callback_error_carries_the_cause() -> None:
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError as exc:
        error = OpenAIError.from_exception(
            exc, type="callback_error", message="on_data raised ZeroDivisionError"
        )
    raised = error.exception()
    assert isinstance(raised, CallbackError)
    assert isinstance(raised.__cause__, ZeroDivisionError)
    assert error.cause is raised.__cause__
    assert error.message == "on_data raised ZeroDivisionError"


def test_exception_from_a_message() -> None:
    exc = APIConnectionError("refused")
    assert exc.error.type == "connection_error" and exc.message == "refused"
    assert "refused" in str(exc)
    assert APIUserAbortError().error.is_cancelled


def test_str_and_repr() -> None:
    error = OpenAIError.from_response(
        429,
        {"x-request-id": "req_9", "retry-after": "2"},
        _body(message="Rate limit reached", type="requests", code="rate_limit_exceeded"),
    )
    text = str(error)
    assert text.startswith("429 Too Many Requests: Rate limit reached")
    assert "code=rate_limit_exceeded" in text and "request_id=req_9" in text
    assert "retry_after=2.0" in text
    assert repr(error).startswith("OpenAIError(status=429")
    assert str(OpenAIError("timed out after 5 s", type="timeout")) == "timeout: timed out after 5 s"


def test_secret_headers_are_never_stored() -> None:
    error = OpenAIError.from_response(
        401,
        {
            "Authorization": "Bearer " + KEY,
            "api-key": KEY,
            "Set-Cookie": "session=" + KEY,
            "x-request-id": "r",
        },
        _body(message="bad key"),
    )
    assert set(error.headers) == {"x-request-id"}
    record = OpenAIError("m", headers={"Proxy-Authorization": "Basic " + KEY})
    assert record.headers == {}


def test_a_key_echoed_by_a_server_is_redacted_everywhere() -> None:
    error = OpenAIError.from_response(401, {}, _body(message="Incorrect API key provided: " + KEY))
    for text in (
        error.message,
        str(error),
        repr(error),
        str(error.exception()),
        repr(error.exception()),
        json.dumps(error.to_dict()["message"]),
    ):
        assert KEY not in text
        assert "SECRETSECRET" not in text
    assert "sk-...1234" in error.message
    bearer = OpenAIError.from_exception(ValueError("header was Bearer abcdefghijklmnopqrstuvwxyz"))
    assert "abcdefghijklmnop" not in bearer.message


def test_a_redirect_location_is_shown_redacted_like_every_url() -> None:
    error = OpenAIError.from_response(302, {"Location": "http://u:pw@h/x?key=" + KEY}, b"")
    assert error.message == "redirect not followed: 302 Found to http://u:***@h/x?key=sk-...1234"


def test_redact() -> None:
    assert redact("Bearer " + KEY) == "Bearer sk-...1234"
    assert redact("short") == "***"
    assert redact_text("no secrets here") == "no secrets here"


def test_records_compare_by_value() -> None:
    a = OpenAIError.from_response(400, {}, _body(message="m"))
    b = OpenAIError.from_response(400, {}, _body(message="m"))
    assert a == b
    assert a != OpenAIError.from_response(400, {}, _body(message="n"))


def test_docstring_examples() -> None:
    import doctest

    import openai_params.errors
    import openai_params.retry

    for module in (openai_params.errors, openai_params.retry):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0


def test_key_echoed_in_an_error_body_is_redacted() -> None:
    key = "sk-proj-echoedkey1234567890"
    body = (
        '{"error": {"message": "Incorrect API key provided: %s", "type": "x", '
        '"details": ["%s"]}}' % (key, key)
    ).encode()
    error = OpenAIError.from_response(401, {"content-type": "application/json"}, body)
    assert key not in repr(error.to_dict()) and key not in error.message
    assert error.body["error"]["message"].startswith("Incorrect API key provided: sk-")
