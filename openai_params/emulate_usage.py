"""``include_usage`` on a server that sends no usage chunk: the stream sent whole, then chunked.

OpenAI's ``stream_options: {"include_usage": true}`` adds a last chunk to a
stream, with ``choices: []`` and the ``usage`` of the whole request.
llama-cpp-python's server never sends it (measured: docs/compatibility.md), but
it does report ``usage`` in a whole, non-streamed answer. A profile whose
``stream_usage`` rule is False (:func:`.profiles.adapt`) therefore sends such a
stream as one request without ``stream`` and ``stream_options``, and the client
delivers the whole answer as the chunks a streaming server would have sent
(:func:`completion_chunks`):

* one ``chat.completion.chunk`` per choice, in the order of the choices, whose
  ``delta`` is the whole message (role, content, refusal, tool calls numbered by
  ``index`` as stream deltas are), with the choice's ``logprobs`` and
  ``finish_reason``;
* when the answer has ``usage``, a last chunk with ``choices: []`` and that
  ``usage``, the server's own numbers, never an estimate; the chunks before it
  carry ``"usage": null``, as OpenAI's are.

The final result (``stream.result()``) is the server's whole answer, its usage
included. The price: no text arrives before the whole answer is done, so the
profile warns once per client. A server that ignores ``stream=true`` and answers one JSON
completion is read the same way (:meth:`.stream.ChatCompletionStream._whole`).
"""

from typing import Any, Dict, List

__all__ = ["completion_chunks"]

#: Top-level keys of a completion that a chunk does not carry as they are.
_NOT_IN_CHUNKS = frozenset(("choices", "usage"))


def completion_chunks(completion: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The chunks a streaming server would have sent for ``completion`` (see the module docstring).

    >>> chunks = completion_chunks({"id": "c1", "object": "chat.completion", "choices": [
    ...     {"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
    ...     "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
    >>> [(c["object"], c["choices"], c["usage"]) for c in chunks]  # doctest: +NORMALIZE_WHITESPACE
    [('chat.completion.chunk', [{'index': 0, 'delta': {'role': 'assistant', 'content': 'Hi'},
      'finish_reason': 'stop'}], None),
     ('chat.completion.chunk', [], {'prompt_tokens': 3, 'completion_tokens': 1, 'total_tokens': 4})]

    ``completion`` is not changed; the chunks share its nested values.
    """
    head = {
        key: "chat.completion.chunk" if key == "object" else value
        for key, value in completion.items()
        if key not in _NOT_IN_CHUNKS
    }
    head.setdefault("object", "chat.completion.chunk")
    usage = completion.get("usage")
    choices = completion.get("choices")
    chunks: List[Dict[str, Any]] = []
    for choice in choices if isinstance(choices, list) else ():
        if isinstance(choice, dict):
            chunk = dict(head, choices=[_as_delta(choice)])
            if usage is not None:
                chunk["usage"] = None
            chunks.append(chunk)
    if usage is not None:
        chunks.append(dict(head, choices=[], usage=usage))
    return chunks


def _as_delta(choice: Dict[str, Any]) -> Dict[str, Any]:
    """A whole choice as a streamed one: ``message`` becomes ``delta``, tool calls get their ``index``."""
    message = choice.get("message")
    delta: Dict[str, Any] = dict(message) if isinstance(message, dict) else {}
    calls = delta.get("tool_calls")
    if isinstance(calls, list):
        delta["tool_calls"] = [
            dict({"index": number}, **{key: value for key, value in call.items() if key != "index"})
            if isinstance(call, dict)
            else call
            for number, call in enumerate(calls)
        ]
    out: Dict[str, Any] = {}
    for key, value in choice.items():
        if key == "message":
            out["delta"] = delta
        else:
            out[key] = value
    out.setdefault("delta", delta)
    return out
