"""A rate limiter for the fake server: requests and tokens per window, OpenAI's headers, 429s.

    limiter = RateLimiter(requests=20, tokens=10_000, window=0.5)
    server = FakeServer(default=limiter.reply)      # every request goes through it
    ...
    limiter.accepted, limiter.limited              # answers given, 429s given
    server.max_in_flight                           # the most requests it held at once

A fixed window (as OpenAI's limits behave for a client that stays within them):
the counts start again every ``window`` seconds. A request that would go over
either limit gets ``429`` with ``retry-after-ms`` (the time to the next
window) and an OpenAI error body (``rate_limit_exceeded``); rejected requests
are not counted. Every answer carries ``x-ratelimit-limit-*``,
``x-ratelimit-remaining-*`` and ``x-ratelimit-reset-*`` (Go durations, as
OpenAI writes them: ``"1s"``, ``"6m0s"``, ``"20ms"``).

A request's tokens, as a server counts them up front: its messages' JSON at four
characters a token, plus ``max_completion_tokens`` / ``max_tokens`` (else 16).

``quota=N``: after N accepted requests every request gets the 429
``insufficient_quota`` error instead. ``delay``: seconds the server takes over
each accepted request. The answer is a chat completion whose content is the
last user message's text, prefixed with ``"echo: "``.
"""

import json
import threading
import time
from typing import Any, Dict, List, Optional

from fakeserver import RecordedRequest, Reply

__all__ = ["RateLimiter", "go_duration", "request_tokens"]


def go_duration(seconds: float) -> str:
    """``0.02`` -> ``"20ms"``, ``1.5`` -> ``"1.5s"``, ``360`` -> ``"6m0s"`` (Go's time.Duration)."""
    if seconds < 1:
        return "%dms" % max(0, round(seconds * 1000))
    minutes, rest = divmod(seconds, 60)
    text = ("%.3f" % rest).rstrip("0").rstrip(".") + "s"
    return ("%dm" % minutes + text) if minutes else text


def request_tokens(body: Any) -> int:
    if not isinstance(body, dict):
        return 0
    prompt = len(json.dumps(body.get("messages"))) // 4
    most = body.get("max_completion_tokens") or body.get("max_tokens") or 16
    return int(prompt + most * (body.get("n") or 1))


def _last_user_text(body: Any) -> str:
    messages = body.get("messages") if isinstance(body, dict) else None
    for message in reversed(messages or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def completion_for(body: Any, index: int) -> Dict[str, Any]:
    text = "echo: " + _last_user_text(body)
    return {
        "id": "chatcmpl-%d" % index,
        "object": "chat.completion",
        "created": 1700000000,
        "model": (body or {}).get("model", "fake") if isinstance(body, dict) else "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }


class RateLimiter:
    """``reply`` is the server's answer function (see the module docstring)."""

    def __init__(
        self,
        requests: int = 1000,
        tokens: int = 1000000,
        window: float = 1.0,
        *,
        quota: Optional[int] = None,
        delay: float = 0.0,
        clock: Any = time.monotonic,
    ) -> None:
        self.requests = requests
        self.tokens = tokens
        self.window = window
        self.quota = quota
        self.delay = delay
        self._clock = clock
        self._lock = threading.Lock()
        self._start = clock()
        self._window_index = 0
        self._used_requests = 0
        self._used_tokens = 0
        #: requests answered 200, and 429s given (quota ones included)
        self.accepted = 0
        self.limited = 0
        #: the bodies of the requests answered 200, in the order they were answered
        self.answered: List[Any] = []

    def reply(self, request: RecordedRequest) -> Reply:
        if request.method != "POST" or not request.path.endswith("/chat/completions"):
            return Reply(404, json={"error": {"message": "no route", "type": "invalid_request_error"}})
        body = request.json
        cost = request_tokens(body)
        with self._lock:
            now = self._clock()
            index = int((now - self._start) // self.window)
            if index != self._window_index:
                self._window_index, self._used_requests, self._used_tokens = index, 0, 0
            reset = self._start + (index + 1) * self.window - now
            if self.quota is not None and self.accepted >= self.quota:
                self.limited += 1
                return Reply(
                    429,
                    json={
                        "error": {
                            "message": "You exceeded your current quota, please check your plan.",
                            "type": "insufficient_quota",
                            "code": "insufficient_quota",
                        }
                    },
                )
            over = None
            if self._used_requests + 1 > self.requests:
                over = "requests"
            elif self._used_tokens + cost > self.tokens:
                over = "tokens"
            if over is None:
                self._used_requests += 1
                self._used_tokens += cost
                self.accepted += 1
                self.answered.append(body)
                number = self.accepted
            else:
                self.limited += 1
            headers = {
                "x-ratelimit-limit-requests": str(self.requests),
                "x-ratelimit-limit-tokens": str(self.tokens),
                "x-ratelimit-remaining-requests": str(self.requests - self._used_requests),
                "x-ratelimit-remaining-tokens": str(self.tokens - self._used_tokens),
                "x-ratelimit-reset-requests": go_duration(reset),
                "x-ratelimit-reset-tokens": go_duration(reset),
            }
        if over is not None:
            headers["retry-after-ms"] = str(max(1, round(reset * 1000)))
            message = "Rate limit reached for %s: limit %d per %.3g s" % (
                over,
                self.requests if over == "requests" else self.tokens,
                self.window,
            )
            return Reply(
                429,
                json={"error": {"message": message, "type": over, "code": "rate_limit_exceeded"}},
                headers=headers,
            )
        return Reply(200, json=completion_for(body, number), headers=headers, delay=self.delay)
