"""Results: built from status, headers and JSON; tolerant of what servers add."""

import json

import pytest

from openai_params._http import HTTPResponse
from openai_params.errors import APIResponseValidationError, OpenAIError, RateLimitError
from openai_params.results import (
    OpenAIChatCompletionResult,
    OpenAIChatCompletionStreamResult,
    OpenAIResult,
    parse_duration,
    read_result,
)

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "m",
    "system_fingerprint": "fp",
    "service_tier": "default",
    "vendor_extra": {"kept": True},
    "choices": [
        {
            "index": 1,
            "message": {"role": "assistant", "content": "second"},
            "finish_reason": "stop",
            "logprobs": None,
        },
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "first",
                "refusal": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            "finish_reason": "tool_calls",
            "logprobs": None,
        },
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
}


def test_completion_fields() -> None:
    r = OpenAIChatCompletionResult(status=200, headers={"X-Request-Id": "req_1"}, body=COMPLETION)
    assert r.success and not r.errors and r.error is None
    assert r.request_id == "req_1"
    assert r.choice is not None and r.choice.index == 0
    assert r.choice.message is not None and r.choice.message.content == "first"
    assert r.text == "first"
    assert [c.index for c in r.choices] == [1, 0]
    assert r.choice.tool_calls[0]["function"]["name"] == "f"
    assert r.usage == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert (r.id, r.model, r.created, r.system_fingerprint, r.service_tier) == (
        "chatcmpl-1",
        "m",
        1700000000,
        "fp",
        "default",
    )
    assert r.body["vendor_extra"] == {"kept": True} and r.data is r.body
    assert r.throw() is r


def test_missing_keys_give_none() -> None:
    r = OpenAIChatCompletionResult(status=200, body={"weird": 1})
    assert r.choice is None and r.choices == [] and r.text == "" and r.usage is None
    assert r.id is None and r.model is None


def test_failed_result_throws_its_error() -> None:
    error = OpenAIError(status=429, message="slow down", type="rate_limit_exceeded", request_id="req_9")
    r = OpenAIResult(status=429, headers={}, errors=[error])
    assert not r.success and r.request_id == "req_9"
    with pytest.raises(RateLimitError) as info:
        r.throw()
    assert info.value.error is error
    assert "failed" in repr(r)


def test_status_without_errors_is_not_success_unless_2xx() -> None:
    assert not OpenAIResult().success
    assert not OpenAIResult(status=500).success
    assert OpenAIResult(status=204).success


def test_rate_limit_headers() -> None:
    r = OpenAIResult(
        status=200,
        headers={
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "59",
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-limit-tokens": "150000",
            "x-ratelimit-remaining-tokens": "149984",
            "x-ratelimit-reset-tokens": "6m0s",
        },
    )
    rl = r.rate_limit
    assert (rl.limit_requests, rl.remaining_requests, rl.limit_tokens, rl.remaining_tokens) == (
        60,
        59,
        150000,
        149984,
    )
    assert rl.reset_requests_seconds == 1.0 and rl.reset_tokens_seconds == 360.0
    assert bool(rl) and not bool(OpenAIResult(status=200).rate_limit)


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1h2m3s", 3723.0),
        ("2.5", 2.5),
        ("0.5s", 0.5),
        ("", None),
        (None, None),
        ("soon", None),
        ("5x", None),
    ],
)
def test_parse_duration(text, seconds) -> None:
    assert parse_duration(text) == seconds


def test_stream_chunk_without_choices() -> None:
    chunk = OpenAIChatCompletionStreamResult(status=200, body={"choices": [], "usage": {"total_tokens": 4}})
    assert chunk.choice is None and chunk.text == "" and chunk.usage == {"total_tokens": 4}
    assert chunk.success and not chunk.terminated
    delta = OpenAIChatCompletionStreamResult(
        status=200, body={"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]}
    )
    assert delta.text == "Hi" and delta.choice is not None and delta.choice.delta is not None


def test_list_items() -> None:
    r = OpenAIResult(status=200, body={"object": "list", "data": [{"id": "a"}, {"id": "b"}]})
    assert [m["id"] for m in r.items] == ["a", "b"]
    assert OpenAIResult(status=200, body=[1]).items == []


# -- reading a whole response: what counts as a completion ---------------------------------------
def _response(body: bytes, status: int = 200, content_type: str = "application/json") -> HTTPResponse:
    return HTTPResponse(status, headers={"content-type": content_type, "x-request-id": "req_r"}, body=body)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"status":"ok"}',
        b"null",
        b"[]",
        b'"done"',
        b"42",
        b'{"choices": "x"}',
        b'{"choices": []}',
        b'{"choices": [1]}',
    ],
)
def test_a_2xx_body_that_is_not_a_chat_completion_is_invalid_response(raw: bytes) -> None:
    result = read_result(_response(raw), OpenAIChatCompletionResult)
    assert not result.success and result.choice is None
    error = result.errors[0]
    assert error.type == "invalid_response" and error.status == 200
    assert "a chat completion" in error.message
    assert repr(raw.decode())[1:-1] in error.message  # the start of the body is quoted
    with pytest.raises(APIResponseValidationError):
        result.throw()


@pytest.mark.parametrize("raw", [b"null", b"[]", b'"ok"', b"3.5"])
def test_a_generic_2xx_result_needs_a_json_object(raw: bytes) -> None:
    result = read_result(_response(raw), OpenAIResult)
    assert not result.success and result.errors[0].type == "invalid_response"
    assert "a JSON object" in result.errors[0].message


def test_read_result_success_keeps_status_headers_and_body() -> None:
    body = {"object": "list", "data": [{"id": "m1"}]}
    result = read_result(_response(json.dumps(body).encode()), OpenAIResult)
    assert result.success and result.body == body and result.request_id == "req_r"
    chat = read_result(_response(json.dumps(COMPLETION).encode()), OpenAIChatCompletionResult)
    assert chat.success and chat.choice is not None and chat.throw() is chat


def test_a_2xx_with_an_error_object_is_the_servers_error() -> None:
    raw = b'{"error": {"message": "model not loaded", "type": "server_error"}}'
    result = read_result(_response(raw), OpenAIChatCompletionResult)
    assert not result.success
    assert (result.errors[0].message, result.errors[0].type) == ("model not loaded", "server_error")


def test_a_2xx_that_is_not_a_completion_fails_create_and_throw(fake_server, run) -> None:
    client = run.OpenAI(api_key="k", base_url=fake_server.url + "/v1", max_retries=0)
    fake_server.add(200, json={"status": "ok"})
    result = run(client.chat.completions.create([{"role": "user", "content": "hi"}], model="m"))
    assert not result.success and result.errors[0].type == "invalid_response"
    assert "status" in result.errors[0].message
    fake_server.add(200, body=b"null", headers={"Content-Type": "application/json"})
    with pytest.raises(APIResponseValidationError):
        run(client.chat.completions.create([{"role": "user", "content": "hi"}], model="m", throw=True))
    fake_server.add(200, json=[])
    assert not run(client.models.list()).success


@pytest.mark.parametrize(
    "value", ["inf", "-inf", "nan", "NaN", "abc", "1e400", "1.5", "", " ", "0x10", "1_000"]
)
def test_rate_limit_values_that_are_not_finite_integers_are_none(value: str) -> None:
    headers = {
        "x-ratelimit-limit-tokens": value,
        "x-ratelimit-remaining-requests": value,
        "x-ratelimit-limit-requests": "60",
    }
    rate_limit = OpenAIResult(status=200, headers=headers).rate_limit
    assert rate_limit.limit_tokens is None and rate_limit.remaining_requests is None
    assert rate_limit.limit_requests == 60
    assert "limit_requests=60" in repr(rate_limit)


def test_rate_limit_integral_values() -> None:
    headers = {
        "x-ratelimit-limit-tokens": " 150000 ",
        "x-ratelimit-remaining-tokens": "59.0",
        "x-ratelimit-limit-requests": "1e3",
    }
    rate_limit = OpenAIResult(status=200, headers=headers).rate_limit
    assert (rate_limit.limit_tokens, rate_limit.remaining_tokens, rate_limit.limit_requests) == (
        150000,
        59,
        1000,
    )
