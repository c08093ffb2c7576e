"""Turn the chunks of a streamed chat completion into the completion itself.

Pure and tolerant: feed every ``chat.completion.chunk`` dict to
:meth:`ChatCompletionAccumulator.add`, then :meth:`~ChatCompletionAccumulator.result`
returns the ``chat.completion`` dict that the same call without streaming
would have returned (schema ``CreateChatCompletionResponse``)::

    acc = ChatCompletionAccumulator()
    acc.add({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]})
    acc.add({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]})
    acc.result()["choices"][0]["message"]["content"]   # "Hello"

Real servers send more than the schema promises, and less: chunks with
``choices: []`` (the usage chunk; Azure's content-filter chunk first, with an
empty id and model), tool-call deltas that omit ``index`` or reuse one for a
different call (Ollama numbers every call 0), nulls everywhere.  None of it
raises; what cannot be placed is dropped, and unknown keys are kept.

How values from successive chunks combine:

- text pieces (``content``, ``refusal``, ``function.arguments``, unknown
  string delta keys such as DeepSeek's ``reasoning_content``) are concatenated;
- ``role``, a tool call's ``id``, ``type`` and ``function.name`` are set once;
- lists (``logprobs.content``, ``logprobs.refusal``, ``annotations``) are
  concatenated;
- anything else (top-level ``id``, ``model``, ``usage``, ``finish_reason``,
  unknown keys): the last value wins, except that null, "" or 0 never replace
  a real value seen earlier.
"""

import json
from typing import Any, Dict, List, Mapping, Optional

from ._checks import MAPPING

__all__ = ["ChatCompletionAccumulator"]

# Chunk keys that do not go into the completion: "object" changes to
# "chat.completion", "choices" is rebuilt, and "obfuscation" is per-chunk
# padding.  Every other key is carried over.
_CHUNK_KEYS = frozenset(("object", "choices", "obfuscation"))
# The keys of a streamed choice that are merged by name; any other is kept as it comes.
_CHOICE_KEYS = frozenset(("index", "delta", "message", "finish_reason", "logprobs"))
# Inside a tool call's "function" (or "custom" tool) object: concatenated ("name" is set once).
_TEXT_KEYS = frozenset(("arguments", "input"))
# Equal to nothing but itself: a key not yet in a dict.
_ABSENT = object()


def _is_empty(value: Any) -> bool:
    """Null, "", 0, [] and {}: placeholders that must not hide a real value (False is real)."""
    return value is None or (
        not value and isinstance(value, (str, int, float, list, dict)) and not isinstance(value, bool)
    )


def _set(target: Dict[str, Any], key: str, value: Any) -> None:
    """Last value wins, but an empty value never replaces a real one."""
    if key not in target or not _is_empty(value):
        target[key] = value


def _as_text(value: Any) -> str:
    """A text piece; a server that sends a JSON object instead of the string
    (seen for tool arguments) gets it serialised, as a non-streamed reply would."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


_JOIN = 64  # pieces joined into one string at a time (see _Text)


class _Text:
    """Text that arrives in pieces (a reply's content, a tool call's arguments), for ``str()``
    at the end. A long stream brings thousands of pieces of a few characters, each a string
    object of some 50 bytes beyond its characters: kept as they came, they would cost ten
    times the text. So every ``_JOIN`` pieces are joined into one (each character is copied
    once more, at no cost worth measuring)."""

    __slots__ = ("_joined", "_pieces")

    def __init__(self) -> None:
        self._joined: List[str] = []  # each the join of _JOIN pieces
        self._pieces: List[str] = []  # the pieces since

    def add(self, piece: str) -> None:
        pieces = self._pieces
        pieces.append(piece)
        if len(pieces) >= _JOIN:
            self._joined.append("".join(pieces))
            pieces.clear()

    def __str__(self) -> str:
        return "".join(self._joined) + "".join(self._pieces)


class _ToolCall:
    __slots__ = ("index", "seq", "id", "type", "objects", "extra")

    def __init__(self, index: int, seq: int) -> None:
        self.index = index  # as the server numbered it, for ordering
        self.seq = seq  # creation order, to break ties between calls sharing an index
        self.id: Optional[str] = None
        self.type: Optional[str] = None
        # "function" / "custom" -> {"name": str, "arguments": _Text, other keys}
        self.objects: Dict[str, Dict[str, Any]] = {}
        self.extra: Dict[str, Any] = {}

    def merge(self, delta: Mapping[str, Any]) -> None:
        for key, value in delta.items():
            if key == "index":
                continue
            if key == "id":
                if self.id is None and isinstance(value, str) and value:
                    self.id = value
            elif key == "type":
                if self.type is None and isinstance(value, str) and value:
                    self.type = value
            elif key in ("function", "custom") and isinstance(value, MAPPING):
                obj = self.objects.setdefault(key, {})
                for name, piece in value.items():
                    if name == "name":
                        if obj.get(name) is None and isinstance(piece, str) and piece:
                            obj[name] = piece
                    elif name in _TEXT_KEYS:
                        if piece is not None:
                            text = obj.get(name)
                            if text is None:
                                text = obj[name] = _Text()
                            text.add(_as_text(piece))
                    else:
                        _set(obj, name, piece)
            else:
                _set(self.extra, key, value)

    def to_dict(self) -> Dict[str, Any]:
        kind = self.type
        if kind is None:
            kind = "custom" if "custom" in self.objects and "function" not in self.objects else "function"
        out: Dict[str, Any] = {"id": self.id, "type": kind}
        for key, obj in self.objects.items():
            merged: Dict[str, Any] = {"name": obj.get("name")}
            text_key = "input" if key == "custom" else "arguments"
            for name, value in obj.items():
                if name in _TEXT_KEYS:
                    merged[name] = str(value)
                elif name != "name":
                    merged[name] = value
            merged.setdefault(text_key, "")
            out[key] = merged
        if kind == "function" and "function" not in out:
            out["function"] = {"name": None, "arguments": ""}
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out


class _Choice:
    __slots__ = (
        "index",
        "role",
        "content",
        "refusal",
        "tool_calls",
        "tool_slots",
        "last_tool",
        "function_call",
        "audio",
        "logprobs",
        "finish_reason",
        "extra",
        "extra_delta",
    )

    def __init__(self, index: int) -> None:
        self.index = index
        self.role: Optional[str] = None
        self.content: Optional[_Text] = None  # None until a string piece arrives
        self.refusal: Optional[_Text] = None
        self.tool_calls: List[_ToolCall] = []
        self.tool_slots: Dict[int, _ToolCall] = {}  # the server's index -> current call
        self.last_tool: Optional[_ToolCall] = None
        self.function_call: Optional[_ToolCall] = None  # deprecated single function call
        self.audio: Optional[Dict[str, Any]] = None
        self.logprobs: Optional[Dict[str, Any]] = None
        self.finish_reason: Optional[Any] = None
        self.extra: Dict[str, Any] = {}
        self.extra_delta: Dict[str, Any] = {}

    def add(self, choice: Mapping[str, Any]) -> None:
        # Direct look-ups for the known keys (this runs once per chunk of every stream);
        # a loop over the keys only when the choice carries others.
        delta = choice.get("delta")
        if delta is None and "delta" not in choice:
            delta = choice.get("message")  # a server that streams whole messages
        if isinstance(delta, MAPPING):
            self._add_delta(delta)
        finish_reason = choice.get("finish_reason")
        if finish_reason is not None:
            self.finish_reason = finish_reason
        logprobs = choice.get("logprobs")
        if logprobs is not None and isinstance(logprobs, MAPPING):
            self._add_logprobs(logprobs)
        if not _CHOICE_KEYS.issuperset(choice):
            for key, value in choice.items():
                if key not in _CHOICE_KEYS:
                    _set(self.extra, key, value)

    def _add_delta(self, delta: Mapping[str, Any]) -> None:
        for key, value in delta.items():
            if key == "content":
                if isinstance(value, str):
                    if self.content is None:
                        self.content = _Text()
                    self.content.add(value)
            elif key == "role":
                if self.role is None and isinstance(value, str) and value:
                    self.role = value
            elif key == "refusal":
                if isinstance(value, str) and value:
                    if self.refusal is None:
                        self.refusal = _Text()
                    self.refusal.add(value)
            elif key == "tool_calls":
                if isinstance(value, list):
                    for tool_call in value:
                        if isinstance(tool_call, MAPPING):
                            self._tool_call_for(tool_call).merge(tool_call)
            elif key == "function_call":
                if isinstance(value, MAPPING):
                    if self.function_call is None:
                        self.function_call = _ToolCall(0, 0)
                    self.function_call.merge({"function": value})
            elif key == "audio":
                if isinstance(value, MAPPING):
                    self._add_audio(value)
            else:
                old = self.extra_delta.get(key)
                if isinstance(value, str) and isinstance(old, str):
                    self.extra_delta[key] = old + value
                elif isinstance(value, list) and isinstance(old, list):
                    self.extra_delta[key] = old + value
                else:
                    _set(self.extra_delta, key, value)

    def _add_audio(self, audio: Mapping[str, Any]) -> None:
        # Streamed audio arrives as base64 "data" and "transcript" pieces,
        # with id and expires_at along the way.
        if self.audio is None:
            self.audio = {}
        for key, value in audio.items():
            if key in ("data", "transcript") and isinstance(value, str):
                self.audio[key] = self.audio.get(key, "") + value
            else:
                _set(self.audio, key, value)

    def _tool_call_for(self, delta: Mapping[str, Any]) -> _ToolCall:
        """Find the call this delta continues, or start a new one.

        ChatCompletionMessageToolCallChunk requires ``index``, and the id,
        type and name come in the first delta of each call.  Servers that
        break this are common, so:

        - a delta with an index continues the call at that index, unless it
          brings an id different from that call's id: then it is a new call
          (Ollama numbers every parallel call 0);
        - a delta without an index continues the call with the same id, else
          the last call of this choice, unless it brings a different id;
          with no call yet it starts call 0.
        """
        index = delta.get("index")
        call_id = delta.get("id")
        if not (isinstance(call_id, str) and call_id):
            call_id = None
        if isinstance(index, int) and not isinstance(index, bool):
            call = self.tool_slots.get(index)
            if call is not None and (call_id is None or call.id is None or call.id == call_id):
                self.last_tool = call
                return call
        else:
            call = None
            if call_id is not None:
                for known in self.tool_calls:
                    if known.id == call_id:
                        call = known
                        break
            if call is None:
                last = self.last_tool
                if last is not None and (call_id is None or last.id is None):
                    call = last
            if call is not None:
                self.last_tool = call
                return call
            index = max(c.index for c in self.tool_calls) + 1 if self.tool_calls else 0
        call = _ToolCall(index, len(self.tool_calls))
        self.tool_calls.append(call)
        self.tool_slots[index] = call
        self.last_tool = call
        return call

    def to_dict(self) -> Dict[str, Any]:
        tool_calls = [call.to_dict() for call in sorted(self.tool_calls, key=lambda c: (c.index, c.seq))]
        refusal = str(self.refusal) if self.refusal is not None else None
        content = str(self.content) if self.content is not None else None
        if not content and (tool_calls or refusal or self.function_call is not None):
            # A reply that is a tool call or a refusal has "content": null when
            # not streamed; streamed, its first delta often says content "".
            content = None
        message: Dict[str, Any] = {
            # ChatCompletionResponseMessage requires role, and it is always
            # "assistant"; some servers never send it in a delta.
            "role": self.role or "assistant",
            "content": content,
            "refusal": refusal,
        }
        if tool_calls:
            message["tool_calls"] = tool_calls
        if self.function_call is not None:
            message["function_call"] = self.function_call.to_dict()["function"]
        if self.audio is not None:
            message["audio"] = dict(self.audio)
        for key, value in self.extra_delta.items():
            message.setdefault(key, value)
        out: Dict[str, Any] = {
            "index": self.index,
            "message": message,
            "logprobs": None,
            "finish_reason": self.finish_reason,
        }
        logprobs = self.logprobs
        if logprobs is not None and any(value is not None for value in logprobs.values()):
            # Only when a list (or another real value) came: servers that send
            # {"content": null} without logprobs being asked for get null,
            # as their non-streamed reply has.
            out["logprobs"] = {
                key: (list(value) if isinstance(value, list) else value) for key, value in logprobs.items()
            }
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    def _add_logprobs(self, logprobs: Mapping[str, Any]) -> None:
        if self.logprobs is None:
            self.logprobs = {"content": None, "refusal": None}
        for key, value in logprobs.items():
            old = self.logprobs.get(key)
            if isinstance(value, list):
                self.logprobs[key] = old + value if isinstance(old, list) else list(value)
            else:
                _set(self.logprobs, key, value)


class ChatCompletionAccumulator:
    """Collect ``chat.completion.chunk`` dicts; build the final completion.

    ``add()`` never raises on what a server sent: anything that is not a
    mapping, a ``choices`` that is not a list, a choice without a valid
    ``index`` (taken as 0) are all tolerated.  ``result()`` can be called at
    any time, as often as needed; it builds a new dict each time.
    """

    def __init__(self) -> None:
        self._top: Dict[str, Any] = {}
        self._usage: Optional[Any] = None
        self._choices: Dict[int, _Choice] = {}

    def add(self, chunk: Mapping[str, Any]) -> None:
        """Merge one streamed chunk (a decoded ``data:`` JSON object)."""
        if not isinstance(chunk, MAPPING):
            return
        top = self._top
        for key in chunk:
            if key in _CHUNK_KEYS:
                continue
            value = chunk[key]
            # Most chunks repeat id, created, model and system_fingerprint: one look-up passes
            # over them.
            if top.get(key, _ABSENT) == value:
                continue
            if key == "usage":
                # "When present, it contains a null value except for the last
                # chunk which contains the token usage statistics for the
                # entire request."  (vLLM may send running totals: the last
                # one is the whole.)
                if value is not None:
                    self._usage = value
            else:
                _set(top, key, value)
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            return
        states = self._choices
        for choice in choices:
            if not isinstance(choice, MAPPING):
                continue
            index = choice.get("index")
            if isinstance(index, bool) or not isinstance(index, int):
                index = 0
            state = states.get(index)
            if state is None:
                state = states[index] = _Choice(index)
            state.add(choice)

    @property
    def choice_indexes(self) -> List[int]:
        """The choice indexes seen so far, in order."""
        return sorted(self._choices)

    def finished_all(self) -> bool:
        """True if at least one choice was seen and every one has a finish_reason.

        A stream that closes without ``data: [DONE]`` is complete when this
        holds, and was cut short when it does not.
        """
        if not self._choices:
            return False
        return all(choice.finish_reason is not None for choice in self._choices.values())

    def result(self) -> Dict[str, Any]:
        """The ``chat.completion`` dict a non-streamed call would have returned."""
        out: Dict[str, Any] = {
            "id": self._top.get("id"),
            "object": "chat.completion",
            "created": self._top.get("created"),
            "model": self._top.get("model"),
            "choices": [self._choices[index].to_dict() for index in sorted(self._choices)],
        }
        for key, value in self._top.items():
            out.setdefault(key, value)
        if self._usage is not None:
            out["usage"] = self._usage
        return out
