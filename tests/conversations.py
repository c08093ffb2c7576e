"""Scripted models for the fake server: conversations with tool calls, streamed or not.

A :class:`ScriptedModel` is a reply function for :class:`fakeserver.FakeServer`
(``fake_server.default = model``): each request gets the next turn of its
script, and the last turn repeats. A turn is the answer's text, or a list of
tool calls ``(name, arguments)`` where ``arguments`` is a dict (sent as JSON)
or a string (sent as written, to send broken JSON). A request with
``"stream": true`` is answered with SSE chunks (each call's arguments split
over several deltas, the calls of a turn interleaved, merged by ``index``),
else with one JSON completion. ``model.received`` keeps every request body.

Call ids are ``call_<request>_<position>`` (``call_1_0`` is the first call of
the first answer).

    model = ScriptedModel([("get_weather", {"city": "Paris"})], "It is sunny.")
    fake_server.default = model
"""

import json
from typing import Any, Dict, List, Sequence, Tuple, Union

from fakeserver import RecordedRequest, Reply
from streamdata import BASE, DONE, SSE_HEADERS, event

Call = Tuple[str, Union[Dict[str, Any], str]]
Turn = Union[str, Sequence[Call]]


def _arguments(arguments: Union[Dict[str, Any], str]) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def tool_call(
    request: int, position: int, name: str, arguments: Union[Dict[str, Any], str]
) -> Dict[str, Any]:
    """A tool call as a whole answer writes it (and as the helper sends it back)."""
    return {
        "id": "call_%d_%d" % (request, position),
        "type": "function",
        "function": {"name": name, "arguments": _arguments(arguments)},
    }


class ScriptedModel:
    def __init__(self, *turns: Turn) -> None:
        if not turns:
            raise ValueError("a script needs at least one turn")
        self.turns = turns
        self.received: List[Any] = []

    def __call__(self, request: RecordedRequest) -> Reply:
        self.received.append(request.json)
        number = len(self.received)
        turn = self.turns[min(number, len(self.turns)) - 1]
        streamed = isinstance(request.json, dict) and request.json.get("stream") is True
        if isinstance(turn, str):
            return (
                _streamed_text(turn)
                if streamed
                else Reply(200, json=_whole(number, {"content": turn}, "stop"))
            )
        calls = [
            tool_call(number, position, name, arguments) for position, (name, arguments) in enumerate(turn)
        ]
        if streamed:
            return _streamed_calls(calls)
        return Reply(200, json=_whole(number, {"content": None, "tool_calls": calls}, "tool_calls"))

    def messages(self, request: int) -> List[Dict[str, Any]]:
        """The messages of the n-th request received (1-based)."""
        return self.received[request - 1]["messages"]  # type: ignore[no-any-return]


def _whole(number: int, message: Dict[str, Any], finish: str) -> Dict[str, Any]:
    return dict(
        BASE,
        id="chatcmpl-%d" % number,
        object="chat.completion",
        choices=[
            {
                "index": 0,
                "message": dict({"role": "assistant"}, **message),
                "finish_reason": finish,
                "logprobs": None,
            }
        ],
        usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    )


def _chunk(delta: Dict[str, Any], finish: Any = None) -> bytes:
    return event(
        dict(BASE, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])
    )


def _streamed_text(text: str) -> Reply:
    words = text.split(" ")
    pieces = [_chunk({"role": "assistant", "content": ""})]
    pieces += [_chunk({"content": word if i == 0 else " " + word}) for i, word in enumerate(words)]
    pieces += [_chunk({}, "stop"), DONE]
    return Reply(200, pieces=pieces, headers=SSE_HEADERS)


def _streamed_calls(calls: List[Dict[str, Any]]) -> Reply:
    pieces = [_chunk({"role": "assistant", "content": None})]
    for index, call in enumerate(calls):
        head = {"index": index, "id": call["id"], "type": "function"}
        pieces.append(
            _chunk({"tool_calls": [dict(head, function={"name": call["function"]["name"], "arguments": ""})]})
        )
    # The arguments in three fragments each, the calls interleaved: merged by index.
    fragments = []
    for call in calls:
        text = call["function"]["arguments"]
        third = max(1, len(text) // 3)
        fragments.append([text[:third], text[third : 2 * third], text[2 * third :]])
    for part in range(3):
        for index, pieces_of_call in enumerate(fragments):
            if pieces_of_call[part]:
                delta = {"tool_calls": [{"index": index, "function": {"arguments": pieces_of_call[part]}}]}
                pieces.append(_chunk(delta))
    pieces += [_chunk({}, "tool_calls"), DONE]
    return Reply(200, pieces=pieces, headers=SSE_HEADERS)
