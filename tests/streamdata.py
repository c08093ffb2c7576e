"""Helpers that write chat-completion stream events for the fake server."""

import json
from typing import Any, Dict, List, Optional

BASE = {
    "id": "chatcmpl-s",
    "object": "chat.completion.chunk",
    "created": 1700000000,
    "model": "fake-model",
    "system_fingerprint": "fp_1",
}


def event(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n\n"


def chunk(
    content: Optional[str] = None,
    *,
    index: int = 0,
    finish: Optional[str] = None,
    role: Optional[str] = None,
    **delta: Any,
) -> Dict[str, Any]:
    body: Dict[str, Any] = dict(delta)
    if role is not None:
        body["role"] = role
    if content is not None:
        body["content"] = content
    return dict(BASE, choices=[{"index": index, "delta": body, "logprobs": None, "finish_reason": finish}])


DONE = b"data: [DONE]\n\n"


def text_stream(words: List[str]) -> List[bytes]:
    """A complete stream: a role chunk, one chunk per word, a finish chunk, [DONE]."""
    pieces = [event(chunk("", role="assistant"))]
    pieces += [event(chunk(word)) for word in words]
    pieces += [event(chunk(finish="stop")), DONE]
    return pieces


def completion(content: str, **extra: Any) -> Dict[str, Any]:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "fake-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }
    body.update(extra)
    return body


SSE_HEADERS = {"Content-Type": "text/event-stream", "x-request-id": "req_stream"}
