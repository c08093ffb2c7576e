"""The accumulator: hand-written chunk streams and the completions they must
give, checked against the official schema; provider quirks; garbage that must
never crash it."""

import copy
import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openai_params.accumulate import ChatCompletionAccumulator
from openai_params.sse import SSEDecoder

DATA = Path(__file__).resolve().parent / "data"
CORPUS = DATA / "accumulate"
CASES = sorted(path.stem for path in CORPUS.glob("*.jsonl"))


def load(name: str) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
    chunks = [
        json.loads(line) for line in (CORPUS / (name + ".jsonl")).read_text("utf-8").splitlines() if line
    ]
    expected = json.loads((CORPUS / (name + ".json")).read_text("utf-8"))
    return chunks, expected


def accumulate(chunks: List[Any]) -> ChatCompletionAccumulator:
    acc = ChatCompletionAccumulator()
    for chunk in chunks:
        acc.add(chunk)
    return acc


def _nullable_to_2020(node: Any) -> Any:
    """The spec still marks some stream fields OpenAPI-3.0 style (`nullable: true`);
    turn that into JSON Schema so that null validates where the spec allows it."""
    if isinstance(node, list):
        return [_nullable_to_2020(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_to_2020(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "$ref" in node:
            return {"anyOf": [{"$ref": node.pop("$ref")}, {"type": "null"}], **node}
        if "type" in node:
            node["type"] = [node["type"], "null"]
        if "enum" in node:
            node["enum"] = list(node["enum"]) + [None]
    return node


SPEC = _nullable_to_2020(
    json.loads((DATA / "openapi" / "openai-chat-completions.openapi.json").read_text("utf-8"))
)


def validator(schema_name: str) -> Any:
    schema = {"$ref": "#/components/schemas/" + schema_name, "components": SPEC["components"]}
    return jsonschema.Draft202012Validator(schema)


RESPONSE = validator("CreateChatCompletionResponse")
CHUNK = validator("CreateChatCompletionStreamResponse")


def test_corpus_is_complete() -> None:
    assert len(CASES) >= 12
    assert sorted(path.stem for path in CORPUS.glob("*.json")) == CASES


@pytest.mark.parametrize("name", CASES)
def test_corpus(name: str) -> None:
    chunks, expected = load(name)
    acc = accumulate(chunks)
    assert acc.result() == expected["result"]
    assert acc.finished_all() is expected["finished_all"]
    assert acc.choice_indexes == expected["choice_indexes"]


@pytest.mark.parametrize("name", CASES)
def test_corpus_results_follow_the_response_schema(name: str) -> None:
    chunks, expected = load(name)
    result = accumulate(chunks).result()
    if expected["finished_all"]:
        RESPONSE.validate(result)
    else:  # an unfinished choice has finish_reason null, which the schema forbids
        assert not RESPONSE.is_valid(result)


@pytest.mark.parametrize("name", CASES)
def test_corpus_chunks_are_what_the_schema_says(name: str) -> None:
    # keeps the corpus honest: realistic cases are valid chunks, quirk cases are not
    chunks, expected = load(name)
    valid = all(CHUNK.is_valid(chunk) for chunk in chunks)
    assert valid is expected["chunks_are_schema_valid"]


def test_the_schema_check_can_fail() -> None:
    chunks, _ = load("text_with_usage")
    result = accumulate(chunks).result()
    del result["choices"][0]["message"]["refusal"]  # required by ChatCompletionResponseMessage
    assert not RESPONSE.is_valid(result)


@pytest.mark.parametrize("name", CASES)
def test_result_does_not_depend_on_how_often_it_is_read(name: str) -> None:
    chunks, expected = load(name)
    acc = ChatCompletionAccumulator()
    for chunk in chunks:
        acc.add(chunk)
        acc.result()  # reading midway changes nothing
    first = acc.result()
    first["choices"].clear()
    first["id"] = "changed"
    assert acc.result() == expected["result"]


@pytest.mark.parametrize("name", CASES)
def test_chunks_are_not_modified(name: str) -> None:
    chunks, _ = load(name)
    before = copy.deepcopy(chunks)
    accumulate(chunks).result()
    assert chunks == before


def test_stream_decoded_from_sse_bytes() -> None:
    # the two modules together: bytes -> events -> chunks -> completion
    raw = (DATA / "sse" / "openai_stream.sse").read_bytes()
    decoder = SSEDecoder()
    acc = ChatCompletionAccumulator()
    for i in range(len(raw)):
        for event in decoder.feed(raw[i : i + 1]):
            if event.data != "[DONE]":
                acc.add(json.loads(event.data))
    result = acc.result()
    assert result["choices"][0]["message"] == {"role": "assistant", "content": "Caf\u00e9", "refusal": None}
    assert acc.finished_all()
    RESPONSE.validate(result)


# -- top-level fields -----------------------------------------------------------


def test_empty_accumulator() -> None:
    acc = ChatCompletionAccumulator()
    assert acc.result() == {
        "id": None,
        "object": "chat.completion",
        "created": None,
        "model": None,
        "choices": [],
    }
    assert acc.choice_indexes == []
    assert not acc.finished_all()  # nothing seen is not "all finished"


def test_later_empty_values_never_hide_real_ones() -> None:
    acc = accumulate(
        [
            {"id": "", "created": 0, "model": "", "choices": []},
            {"id": "c1", "created": 5, "model": "m", "system_fingerprint": None, "choices": []},
            {"id": "", "created": 0, "model": None, "system_fingerprint": "fp", "choices": []},
            {"id": None, "service_tier": "flex", "choices": []},
            {"service_tier": None, "choices": []},
        ]
    )
    result = acc.result()
    assert (result["id"], result["created"], result["model"]) == ("c1", 5, "m")
    assert (result["system_fingerprint"], result["service_tier"]) == ("fp", "flex")


def test_unknown_top_level_keys_kept_object_and_obfuscation_not() -> None:
    acc = accumulate(
        [
            {
                "id": "c",
                "object": "chat.completion.chunk",
                "obfuscation": "abc",
                "x_groq": {"id": "req_1"},
                "choices": [],
            },
            {
                "id": "c",
                "object": "chat.completion.chunk",
                "obfuscation": "de",
                "x_groq": {"id": "req_1", "usage": {"total_tokens": 3}},
                "choices": [],
            },
        ]
    )
    result = acc.result()
    assert result["object"] == "chat.completion"
    assert "obfuscation" not in result
    assert result["x_groq"] == {"id": "req_1", "usage": {"total_tokens": 3}}  # the last non-empty value


def test_usage_absent_when_never_sent_and_last_one_wins() -> None:
    assert "usage" not in accumulate([{"id": "c", "usage": None, "choices": []}]).result()
    acc = accumulate(
        [
            {"usage": {"total_tokens": 1}, "choices": []},
            {"usage": None, "choices": []},
            {"usage": {"total_tokens": 2}, "choices": []},
        ]
    )
    assert acc.result()["usage"] == {"total_tokens": 2}


# -- choices ----------------------------------------------------------------------


def _delta(index: Any = 0, finish: Any = None, **delta: Any) -> Dict[str, Any]:
    return {"choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def _message(acc: ChatCompletionAccumulator, index: int = 0) -> Dict[str, Any]:
    choice = next(c for c in acc.result()["choices"] if c["index"] == index)
    message: Dict[str, Any] = choice["message"]
    return message


@pytest.mark.parametrize("count", [1, 63, 64, 65, 128, 1000])
def test_text_of_many_pieces_is_the_pieces_in_order(count: int) -> None:
    # Pieces are joined in groups as they come (see accumulate._Text): around and across
    # the group's size the text must be the same.
    pieces = ["w%d é€ " % i for i in range(count)]
    acc = accumulate(
        [_delta(content=piece) for piece in pieces]
        + [_delta(index=1, refusal=piece) for piece in pieces]
        + [_delta(index=2, tool_calls=[{"index": 0, "function": {"arguments": piece}}]) for piece in pieces]
    )
    assert _message(acc)["content"] == "".join(pieces)
    assert _message(acc, 1)["refusal"] == "".join(pieces)
    assert _calls(acc, 2)[0]["function"]["arguments"] == "".join(pieces)
    assert acc.result() == acc.result()


def test_a_long_text_costs_about_its_characters() -> None:
    # A stream of 20,000 pieces of a few characters: kept as 20,000 string objects it would
    # cost more than ten times its text.
    import tracemalloc

    acc = ChatCompletionAccumulator()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(20000):
            acc.add({"choices": [{"index": 0, "delta": {"content": "w%d " % i}}]})
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    text = _message(acc)["content"]
    assert len(text) > 100000
    assert held < 3 * len(text), (held, len(text))


def test_content_none_when_never_sent_and_empty_string_kept_otherwise() -> None:
    assert _message(accumulate([_delta(role="assistant")]))["content"] is None
    assert _message(accumulate([_delta(role="assistant", content=None)]))["content"] is None
    # an empty reply that is not a tool call or refusal stays "" as a non-streamed one would be
    assert (
        _message(accumulate([_delta(role="assistant", content=""), _delta(finish="stop")]))["content"] == ""
    )


def test_role_defaults_to_assistant_and_is_set_once() -> None:
    assert _message(accumulate([_delta(content="x")]))["role"] == "assistant"
    assert _message(accumulate([_delta(role="assistant"), _delta(role="tool")]))["role"] == "assistant"


def test_finish_reason_last_non_null_wins() -> None:
    acc = accumulate([_delta(finish="length"), _delta(finish=None), {"choices": [{"index": 0, "delta": {}}]}])
    assert acc.result()["choices"][0]["finish_reason"] == "length"
    merged = accumulate([_delta(finish="length"), _delta(finish="stop")]).result()
    assert merged["choices"][0]["finish_reason"] == "stop"


def test_choices_ordered_by_index_whatever_the_arrival_order() -> None:
    acc = accumulate([_delta(2, content="c"), _delta(0, content="a"), _delta(1, content="b")])
    assert [c["index"] for c in acc.result()["choices"]] == [0, 1, 2]
    assert [c["message"]["content"] for c in acc.result()["choices"]] == ["a", "b", "c"]
    assert acc.choice_indexes == [0, 1, 2]


def test_finished_all_needs_every_choice() -> None:
    acc = accumulate([_delta(0, content="a"), _delta(1, content="b"), _delta(1, finish="stop")])
    assert not acc.finished_all()
    acc.add(_delta(0, finish="length"))
    assert acc.finished_all()


def test_choice_without_valid_index_is_choice_zero() -> None:
    acc = accumulate(
        [
            {"choices": [{"delta": {"content": "a"}}]},
            {"choices": [{"index": None, "delta": {"content": "b"}}]},
            {"choices": [{"index": "1", "delta": {"content": "c"}}]},
            {"choices": [{"index": True, "delta": {"content": "d"}}]},
        ]
    )
    assert acc.choice_indexes == [0]
    assert _message(acc)["content"] == "abcd"


def test_unknown_choice_and_delta_keys_kept() -> None:
    acc = accumulate(
        [
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {"content": "a", "annotations": [{"n": 1}], "mood": {"x": 1}},
                        "stop_reason": None,
                        "content_filter_results": {},
                    }
                ]
            },
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {"annotations": [{"n": 2}], "mood": None},
                        "stop_reason": 42,
                        "content_filter_results": {"hate": {"filtered": False}},
                    }
                ]
            },
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "content_filter_results": {}}]},
        ]
    )
    choice = acc.result()["choices"][0]
    assert choice["stop_reason"] == 42
    assert choice["content_filter_results"] == {"hate": {"filtered": False}}
    assert choice["message"]["annotations"] == [{"n": 1}, {"n": 2}]
    assert choice["message"]["mood"] == {"x": 1}


def test_whole_message_instead_of_delta() -> None:
    # some servers put "message" in their stream chunks
    acc = accumulate(
        [
            {
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
                ]
            }
        ]
    )
    choice = acc.result()["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "hi", "refusal": None}
    # with both, the delta is the increment and the message is ignored
    acc = accumulate(
        [
            {"choices": [{"index": 0, "delta": {"content": "a"}, "message": {"content": "zzz"}}]},
            {"choices": [{"index": 0, "message": {"content": "zzz"}, "delta": {"content": "b"}}]},
        ]
    )
    assert acc.result()["choices"][0]["message"] == {"role": "assistant", "content": "ab", "refusal": None}


def test_logprobs_null_unless_a_list_arrived() -> None:
    acc = accumulate(
        [
            {
                "choices": [
                    {"index": 0, "delta": {"content": "a"}, "logprobs": {"content": None, "refusal": None}}
                ]
            }
        ]
    )
    assert acc.result()["choices"][0]["logprobs"] is None
    acc.add(
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"refusal": "no"},
                    "logprobs": {
                        "refusal": [{"token": "no", "logprob": 0.0, "bytes": None, "top_logprobs": []}]
                    },
                }
            ]
        }
    )
    logprobs = acc.result()["choices"][0]["logprobs"]
    assert logprobs["content"] is None
    assert [entry["token"] for entry in logprobs["refusal"]] == ["no"]


# -- tool calls --------------------------------------------------------------------


def _calls(acc: ChatCompletionAccumulator, index: int = 0) -> List[Dict[str, Any]]:
    calls: List[Dict[str, Any]] = _message(acc, index).get("tool_calls", [])
    return calls


def test_tool_call_name_and_id_set_once_arguments_concatenated() -> None:
    acc = accumulate(
        [
            _delta(
                tool_calls=[
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get", "arguments": "{"},
                    }
                ]
            ),
            _delta(
                tool_calls=[
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get", "arguments": "}"},
                    }
                ]
            ),
        ]
    )
    assert _calls(acc) == [
        {"id": "call_1", "type": "function", "function": {"name": "get", "arguments": "{}"}}
    ]


def test_tool_calls_ordered_by_index() -> None:
    acc = accumulate(
        [
            _delta(tool_calls=[{"index": 1, "id": "b", "function": {"name": "g", "arguments": "2"}}]),
            _delta(tool_calls=[{"index": 0, "id": "a", "function": {"name": "f", "arguments": "1"}}]),
        ]
    )
    assert [call["id"] for call in _calls(acc)] == ["a", "b"]
    assert all(call["type"] == "function" for call in _calls(acc))  # type filled in when never sent


def test_tool_call_without_index_and_no_previous_call_is_call_zero() -> None:
    acc = accumulate(
        [
            _delta(tool_calls=[{"function": {"name": "f", "arguments": "{"}}]),
            _delta(tool_calls=[{"function": {"arguments": "}"}}]),
        ]
    )
    assert _calls(acc) == [{"id": None, "type": "function", "function": {"name": "f", "arguments": "{}"}}]


def test_missing_index_after_indexed_calls_joins_the_last_one() -> None:
    acc = accumulate(
        [
            _delta(
                tool_calls=[
                    {"index": 0, "id": "a", "function": {"name": "f", "arguments": "1"}},
                    {"index": 1, "id": "b", "function": {"name": "g", "arguments": "2"}},
                ]
            ),
            _delta(tool_calls=[{"function": {"arguments": "3"}}]),
        ]
    )
    assert [call["function"]["arguments"] for call in _calls(acc)] == ["1", "23"]


def test_arguments_sent_as_an_object_become_json_text() -> None:
    acc = accumulate(
        [_delta(tool_calls=[{"index": 0, "id": "a", "function": {"name": "f", "arguments": {"x": 1}}}])]
    )
    assert json.loads(_calls(acc)[0]["function"]["arguments"]) == {"x": 1}


def test_unknown_tool_call_keys_kept() -> None:
    acc = accumulate(
        [
            _delta(
                tool_calls=[
                    {
                        "index": 0,
                        "id": "a",
                        "function": {"name": "f", "arguments": "", "strict": True},
                        "extra_content": {"google": {"thought_signature": "sig"}},
                    }
                ]
            )
        ]
    )
    call = _calls(acc)[0]
    assert call["extra_content"] == {"google": {"thought_signature": "sig"}}
    assert call["function"]["strict"] is True


def test_custom_tool_call() -> None:
    acc = accumulate(
        [
            _delta(
                tool_calls=[
                    {"index": 0, "id": "c1", "type": "custom", "custom": {"name": "grammar", "input": "a"}}
                ]
            ),
            _delta(tool_calls=[{"index": 0, "custom": {"input": "b"}}]),
        ]
    )
    assert _calls(acc) == [{"id": "c1", "type": "custom", "custom": {"name": "grammar", "input": "ab"}}]


def test_deprecated_function_call() -> None:
    acc = accumulate(
        [
            _delta(role="assistant", content=None, function_call={"name": "f", "arguments": ""}),
            _delta(function_call={"arguments": '{"a":'}),
            _delta(function_call={"arguments": " 1}"}, finish="function_call"),
        ]
    )
    message = _message(acc)
    assert message["function_call"] == {"name": "f", "arguments": '{"a": 1}'}
    assert message["content"] is None
    assert "tool_calls" not in message


def test_tool_calls_per_choice() -> None:
    acc = accumulate(
        [
            _delta(0, tool_calls=[{"index": 0, "id": "a", "function": {"name": "f", "arguments": "A"}}]),
            _delta(1, tool_calls=[{"index": 0, "id": "b", "function": {"name": "f", "arguments": "B"}}]),
            _delta(1, tool_calls=[{"function": {"arguments": "b"}}]),
            _delta(0, tool_calls=[{"index": 0, "function": {"arguments": "a"}}]),
        ]
    )
    assert [call["function"]["arguments"] for call in _calls(acc, 0)] == ["Aa"]
    assert [call["function"]["arguments"] for call in _calls(acc, 1)] == ["Bb"]


# -- never crash ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "chunk",
    [
        None,
        42,
        "data",
        [],
        [{"choices": []}],
        {},
        {"choices": None},
        {"choices": {}},
        {"choices": "x"},
        {"choices": [None, 1, "x", []]},
        {"choices": [{"index": 0, "delta": None}]},
        {"choices": [{"index": 0, "delta": "text"}]},
        {"choices": [{"index": 0, "delta": {"content": 5}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": None}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": "x"}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [None, 3, {"index": None}, {"function": None}]}}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"name": None, "arguments": None}}]},
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {"audio": None, "function_call": "x", "refusal": 3, "role": 7}}]},
        {"choices": [{"index": 0, "logprobs": {"content": "x", "refusal": 3}}]},
        {"choices": [{"index": -1, "finish_reason": 0}]},
        {"usage": "lots", "id": 5, "model": ["m"], "created": "now", "choices": []},
    ],
)
def test_malformed_chunks_never_crash(chunk: Any) -> None:
    acc = ChatCompletionAccumulator()
    acc.add(chunk)
    acc.add({"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}]})
    json.dumps(acc.result())
    assert _message(acc)["content"] == "ok"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "index",
                    "id",
                    "type",
                    "function",
                    "name",
                    "arguments",
                    "content",
                    "refusal",
                    "role",
                    "delta",
                    "choices",
                    "logprobs",
                    "finish_reason",
                    "usage",
                    "tool_calls",
                    "audio",
                    "data",
                    "transcript",
                    "custom",
                    "input",
                    "message",
                    "x",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@given(st.lists(json_values, max_size=8))
@settings(max_examples=100, deadline=None)
def test_any_json_never_crashes(chunks: List[Any]) -> None:
    acc = ChatCompletionAccumulator()
    for chunk in chunks:
        acc.add(chunk)
        acc.add({"choices": [chunk]})
        acc.add({"choices": [{"index": 0, "delta": chunk}]})
        acc.add({"choices": [{"index": 0, "delta": {"tool_calls": [chunk]}}]})
    result = acc.result()
    json.dumps(result)
    assert [c["index"] for c in result["choices"]] == acc.choice_indexes
