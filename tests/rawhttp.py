"""Plain-urllib helpers for the tests that talk to the real server without any client code.

Nothing from ``openai_params`` is used here on purpose: these helpers are the
independent witness that checks what the package builds against what a real
server does with it.
"""

import json
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

TIMEOUT = 60.0

# https://platform.openai.com/docs/api-reference/chat/object (finish_reason)
FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "function_call")


class Answer:
    """What came back from one request: status, lower-cased headers, raw body."""

    def __init__(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def error_message(self) -> str:
        """The server's error message: ``error.message``, else ``detail``, else the raw text."""
        try:
            data = self.json()
        except ValueError:
            return self.body.decode("utf-8", "replace")
        if isinstance(data, dict):
            error = data.get("error")
            if isinstance(error, dict) and isinstance(error.get("message"), str):
                return str(error["message"])
            if "detail" in data:
                return json.dumps(data["detail"])
        return json.dumps(data)


def request(method: str, url: str, body: Optional[Dict[str, Any]] = None) -> Answer:
    """One HTTP request with urllib; HTTP errors come back as an Answer, not an exception."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as response:
            return Answer(response.status, _lower(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Answer(exc.code, _lower(exc.headers.items()), exc.read())


def post_chat(base_url: str, body: Dict[str, Any]) -> Answer:
    return request("POST", base_url + "/chat/completions", body)


def wait_until_idle(base_url: str, limit: float = 120.0) -> None:
    """Wait until no slot of the server is busy, for servers that say so (llama.cpp's
    ``GET /slots``; a server without it answers 404 or 501 and is not waited for).

    A request an earlier test left behind (a client closed with work in flight) keeps its slot
    generating, and llama.cpp batches the slots together: a greedy answer computed beside it
    can come out different from the same answer computed alone.
    """
    root = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
    give_up = time.monotonic() + limit
    while True:
        answer = request("GET", root + "/slots")
        if answer.status != 200:
            return
        if not any(slot.get("is_processing") for slot in answer.json()):
            return
        assert time.monotonic() < give_up, "the server at %s stayed busy for %.0f s" % (root, limit)
        time.sleep(0.05)  # polling an observable condition, not waiting for one to happen


def _lower(items: Any) -> Dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}


def sse_data(body: bytes) -> List[str]:
    """The ``data`` of each event of a text/event-stream body, in order.

    Follows the WHATWG event-stream rules this test needs: lines end with CRLF,
    LF or CR; a blank line dispatches the event; lines starting with ":" are
    comments; "data:" may be followed by one optional space; several data lines
    of one event are joined with LF. A field other than data/event/id/retry is
    an error here, because an OpenAI-compatible stream has no reason to send one.
    """
    text = body.decode("utf-8")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    events = []  # type: List[str]
    data = []  # type: List[str]
    for line in lines:
        if line == "":
            if data:
                events.append("\n".join(data))
                data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field not in ("event", "id", "retry"):
            raise AssertionError("unexpected SSE line %r" % line)
    if data:
        raise AssertionError("stream ended inside an event (no blank line after %r)" % data)
    return events


def check_completion(answer: Answer) -> Dict[str, Any]:
    """Assert a well-formed non-streamed chat completion and return it."""
    assert answer.status == 200, "HTTP %d: %s" % (answer.status, answer.error_message())
    assert answer.content_type.startswith("application/json"), answer.content_type
    completion = answer.json()
    assert completion.get("object") == "chat.completion", completion
    assert isinstance(completion.get("id"), str) and completion["id"], completion
    assert isinstance(completion.get("created"), int), completion
    assert isinstance(completion.get("model"), str), completion
    choices = completion.get("choices")
    assert isinstance(choices, list) and choices, completion
    assert sorted(c.get("index") for c in choices) == list(range(len(choices))), choices
    for choice in choices:
        message = choice.get("message")
        assert isinstance(message, dict), choice
        assert message.get("role") == "assistant", choice
        _check_content_or_calls(message, choice)
        assert choice.get("finish_reason") in FINISH_REASONS, choice
    usage = completion.get("usage")
    assert isinstance(usage, dict), completion
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert type(usage.get(key)) is int and usage[key] >= 0, usage
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"], usage
    return completion


def _check_content_or_calls(message: Dict[str, Any], choice: Any) -> None:
    content = message.get("content")
    calls = message.get("tool_calls")
    if content is None:
        # The schema allows a null content only when the model called a tool or function.
        assert calls or message.get("function_call"), choice
    else:
        assert isinstance(content, str), choice
    if calls is not None:
        assert isinstance(calls, list) and calls, choice
        for call in calls:
            assert call.get("type") == "function" and isinstance(call.get("id"), str), call
            assert isinstance(call["function"].get("name"), str), call
            assert isinstance(call["function"].get("arguments"), str), call


def check_stream(answer: Answer) -> Tuple[List[Dict[str, Any]], Dict[int, str]]:
    """Assert a well-formed SSE chat completion stream; return its chunks and the text per choice."""
    assert answer.status == 200, "HTTP %d: %s" % (answer.status, answer.error_message())
    assert answer.content_type.startswith("text/event-stream"), answer.content_type
    events = sse_data(answer.body)
    assert events and events[-1] == "[DONE]", events[-3:]
    assert "[DONE]" not in events[:-1], events
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks, "no chunk before [DONE]"
    texts = {}  # type: Dict[int, str]
    finished = set()
    ids = set()
    roles = set()
    for chunk in chunks:
        assert chunk.get("object") == "chat.completion.chunk", chunk
        assert isinstance(chunk.get("id"), str) and isinstance(chunk.get("created"), int), chunk
        ids.add(chunk["id"])
        assert isinstance(chunk.get("choices"), list), chunk
        for choice in chunk["choices"]:
            index = choice.get("index")
            assert isinstance(index, int), choice
            delta = choice.get("delta")
            assert isinstance(delta, dict), choice
            if delta.get("role") is not None:
                roles.add(delta["role"])
            content = delta.get("content")
            if content is not None:
                assert isinstance(content, str), choice
                texts[index] = texts.get(index, "") + content
            reason = choice.get("finish_reason")
            if reason is not None:
                assert reason in FINISH_REASONS, choice
                assert index not in finished, "two finish_reasons for choice %d" % index
                finished.add(index)
    assert len(ids) == 1, "chunks of one stream carry one id: %s" % ids
    # llama.cpp's server sometimes starts a stream without any delta.role (seen, not predictable).
    assert roles <= {"assistant"}, roles
    assert finished, "no chunk carried a finish_reason"
    return chunks, texts


# A function tool most tests share: forced with FORCE_WEATHER, it makes the model call it.
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
FORCE_WEATHER = {"type": "function", "function": {"name": "get_weather"}}
