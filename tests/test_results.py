"""Results: built from status, headers and JSON; tolerant of what servers add."""

import pytest

from openai_params.errors import OpenAIError, RateLimitError
from openai_params.results import (OpenAIChatCompletionResult, OpenAIChatCompletionStreamResult,
                                   OpenAIResult, parse_duration)

COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "m",
    "system_fingerprint": "fp", "service_tier": "default", "vendor_extra": {"kept": True},
    "choices": [
        {"index": 1, "message": {"role": "assistant", "content": "second"}, "finish_reason": "stop",
         "logprobs": None},
        {"index": 0, "message": {"role": "assistant", "content": "first", "refusal": None,
                                 "tool_calls": [{"id": "c1", "type": "function",
                                                 "function": {"name": "f", "arguments": "{}"}}]},
         "finish_reason": "tool_calls", "logprobs": None},
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
        "chatcmpl-1", "m", 1700000000, "fp", "default")
    assert r.body["vendor_extra"] == {"kept": True} and r.data is r.body
    assert r.throw() is r


def test_missing_keys_give_none() -> None:
    r = OpenAIChatCompletionResult(status=200, body={"weird": 1})
    assert r.choice is None and r.choices == [] and r.text == "" and r.usage is None
    assert r.id is None and r.model is None


def test_failed_result_throws_its_error() -> None:
    error = OpenAIError(status=429, message="slow down", type="rate_limit_exceeded",
                        request_id="req_9")
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
    r = OpenAIResult(status=200, headers={
        "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "59",
        "x-ratelimit-reset-requests": "1s", "x-ratelimit-limit-tokens": "150000",
        "x-ratelimit-remaining-tokens": "149984", "x-ratelimit-reset-tokens": "6m0s"})
    rl = r.rate_limit
    assert (rl.limit_requests, rl.remaining_requests, rl.limit_tokens, rl.remaining_tokens) == (
        60, 59, 150000, 149984)
    assert rl.reset_requests_seconds == 1.0 and rl.reset_tokens_seconds == 360.0
    assert bool(rl) and not bool(OpenAIResult(status=200).rate_limit)


@pytest.mark.parametrize("text, seconds", [
    ("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3s", 3723.0), ("2.5", 2.5),
    ("0.5s", 0.5), ("", None), (None, None), ("soon", None), ("5x", None)])
def test_parse_duration(text, seconds) -> None:
    assert parse_duration(text) == seconds


def test_stream_chunk_without_choices() -> None:
    chunk = OpenAIChatCompletionStreamResult(status=200, body={"choices": [], "usage": {"total_tokens": 4}})
    assert chunk.choice is None and chunk.text == "" and chunk.usage == {"total_tokens": 4}
    assert chunk.success and not chunk.terminated
    delta = OpenAIChatCompletionStreamResult(status=200, body={"choices": [
        {"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]})
    assert delta.text == "Hi" and delta.choice is not None and delta.choice.delta is not None


def test_list_items() -> None:
    r = OpenAIResult(status=200, body={"object": "list", "data": [{"id": "a"}, {"id": "b"}]})
    assert [m["id"] for m in r.items] == ["a", "b"]
    assert OpenAIResult(status=200, body=[1]).items == []
