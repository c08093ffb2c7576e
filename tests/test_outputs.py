"""Structured outputs end to end on the fake server: response_format as a Python type.

Every answer shape (a structured answer, a refusal, an answer cut by
``length`` / ``content_filter``, text that is not JSON, JSON that does not fit,
a tool call instead of an answer, several choices) is read the same way whole
and streamed (one reader, ``outputs.OutputReader``), with ``throw`` False and
True, through ``create()``, ``stream()`` and the callbacks, on both clients (the ``run``
fixture of both_clients.py). What the server received is checked too: the
``response_format`` in the request body.
"""

import enum
import json
import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import pytest

from both_clients import Runner
from fakeserver import FakeServer, chat_reply
from openai_params import (
    ContentFilterFinishReasonError,
    InvalidOutputError,
    LengthFinishReasonError,
    OpenAI,
    OpenAIChatCompletionParameters,
    OpenAIChatCompletionResult,
    OpenAIException,
)
from openai_params.outputs import schema_name
from openai_params.schema import json_schema

MESSAGES = [{"role": "user", "content": "Describe Ada."}]


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Person:
    """Someone."""

    name: str
    age: int
    color: Color


ADA = '{"name": "Ada", "age": 36, "color": "blue"}'
ADA_VALUE = Person("Ada", 36, Color.BLUE)


def ask(run: Runner, client: OpenAI, stream: bool, **fields: Any) -> OpenAIChatCompletionResult:
    """One call on the client of ``run``, whole or streamed (iterated to its end, then ``result()``)."""
    if not stream:
        return run(client.chat.completions.create(MESSAGES, **fields))  # type: ignore[no-any-return]
    with run.stream(client.chat.completions.stream(MESSAGES, **fields)) as chunks:
        for _ in chunks:
            pass
    return chunks.result()  # type: ignore[no-any-return]


STREAMED = pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])


def sent_format(server: FakeServer) -> Dict[str, Any]:
    body = server.requests[-1].json
    assert isinstance(body, dict)
    return body["response_format"]  # type: ignore[no-any-return]


# -- what is sent ----------------------------------------------------------------------------------
@STREAMED
def test_the_type_is_sent_as_a_strict_json_schema(
    client: OpenAI, fake_server: FakeServer, stream: bool, run: Runner
) -> None:
    fake_server.add(chat_reply(ADA, stream=stream))
    ask(run, client, stream, response_format=Person)
    assert sent_format(fake_server) == {
        "type": "json_schema",
        "json_schema": {"name": "Person", "schema": json_schema(Person), "strict": True},
    }
    schema = sent_format(fake_server)["json_schema"]["schema"]
    assert schema["required"] == ["name", "age", "color"] and schema["additionalProperties"] is False


def test_a_dict_response_format_is_sent_as_given_and_nothing_is_parsed(
    client: OpenAI, fake_server: FakeServer, run: Runner
) -> None:
    given = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    fake_server.add(chat_reply(ADA))
    result = run(client.chat.completions.create(MESSAGES, response_format=given))
    assert sent_format(fake_server) == given
    assert result.success and result.parsed is None and result.choice.message.parsed is None


def test_a_list_root_is_named_and_read_unwrapped(
    client: OpenAI, fake_server: FakeServer, run: Runner
) -> None:
    fake_server.add(chat_reply('{"value": [%s, %s]}' % (ADA, ADA)))
    result = run(client.chat.completions.create(MESSAGES, response_format=List[Person]))
    assert sent_format(fake_server)["json_schema"]["name"] == "List_Person"
    assert result.parsed == [ADA_VALUE, ADA_VALUE]


@pytest.mark.parametrize(
    "tp, name",
    [(Person, "Person"), (List[Person], "List_Person"), (Optional[int], "Optional_int"), (Color, "Color")],
)
def test_schema_names_fit_the_pattern(tp: Any, name: str) -> None:
    assert schema_name(tp) == name


def test_schema_names_of_odd_types_are_cleaned_and_cut() -> None:
    accented = type("Résumé du jour", (), {})
    assert schema_name(accented) == "Resume_du_jour"
    assert schema_name(type("N" * 100, (), {})) == "N" * 64
    assert schema_name(type("ééé", (), {})) == "eee"
    assert schema_name(type("---", (), {})) == "---"  # dashes are allowed
    assert schema_name(type("&?!", (), {})) == "response"


def test_a_type_without_a_schema_is_refused_before_anything_is_sent(
    client: OpenAI, fake_server: FakeServer, run: Runner
) -> None:
    import decimal

    with pytest.raises(TypeError, match=r"^response_format: .*Decimal.*use float or str"):
        OpenAIChatCompletionParameters(response_format=decimal.Decimal)
    with pytest.raises(TypeError, match=r"response_format must be a dict .* or a type"):
        OpenAIChatCompletionParameters(response_format="json_object")
    with pytest.raises(TypeError, match="response_format"):
        run(client.chat.completions.create(MESSAGES, response_format=Dict[str, int]))
    assert fake_server.requests == []


# -- what comes back -------------------------------------------------------------------------------
@STREAMED
def test_a_structured_answer_is_parsed(
    client: OpenAI, fake_server: FakeServer, stream: bool, run: Runner
) -> None:
    fake_server.add(chat_reply(ADA, stream=stream))
    result = ask(run, client, stream, response_format=Person)
    assert result.success, result.errors
    assert result.parsed == ADA_VALUE and isinstance(result.parsed.color, Color)
    assert result.choice.message.parsed is result.parsed
    assert result.choice.message.content == ADA  # the text is kept
    assert "parsed" not in result.choice.message.to_dict()  # and never sent back


@STREAMED
def test_every_choice_is_parsed(client: OpenAI, fake_server: FakeServer, stream: bool, run: Runner) -> None:
    bob = '{"name": "Bob", "age": 7, "color": "red"}'
    fake_server.add(chat_reply(choices=[{"content": ADA}, {"content": bob}], stream=stream))
    result = ask(run, client, stream, response_format=Person, n=2)
    assert [c.message.parsed for c in result.choices] == [ADA_VALUE, Person("Bob", 7, Color.RED)]


@STREAMED
def test_a_refusal_is_not_a_failure(
    client: OpenAI, fake_server: FakeServer, stream: bool, run: Runner
) -> None:
    fake_server.add(chat_reply(refusal="I can't help with that.", stream=stream))
    result = ask(run, client, stream, response_format=Person, throw=True)
    assert result.success and result.parsed is None
    assert result.choice.message.refusal == "I can't help with that."


@STREAMED
def test_a_tool_call_instead_of_an_answer_is_not_a_failure(
    client: OpenAI, fake_server: FakeServer, stream: bool, run: Runner
) -> None:
    calls = [{"id": "call_1", "name": "lookup", "arguments": '{"who": "Ada"}'}]
    fake_server.add(chat_reply(tool_calls=calls, stream=stream))
    tool = {"name": "lookup", "parameters": {"type": "object", "properties": {"who": {"type": "string"}}}}
    result = ask(run, client, stream, response_format=Person, tools=[tool], throw=True)
    assert result.success and result.parsed is None
    assert result.choice.message.tool_calls[0].function.parsed_arguments == {"who": "Ada"}


# Answers that cannot be read as Person: (reply keywords, error code, exception class, message part).
FAILURES = {
    "length": (
        {"content": '{"name": "Ada", "ag', "finish_reason": "length"},
        "length",
        LengthFinishReasonError,
        "choices[0] was cut at the token limit (finish_reason 'length')",
    ),
    "content_filter": (
        {"content": '{"name": "', "finish_reason": "content_filter"},
        "content_filter",
        ContentFilterFinishReasonError,
        "choices[0] was cut by the content filter",
    ),
    "not JSON": (
        {"content": "Ada is 36."},
        "invalid_json",
        InvalidOutputError,
        "choices[0] is not valid JSON",
    ),
    "no content": (
        {"content": None},
        "invalid_json",
        InvalidOutputError,
        "has no text content to read as Person",
    ),
    "mismatch": (
        {"content": '{"name": "Ada", "age": "36", "color": "blue"}'},
        "mismatch",
        InvalidOutputError,
        "choices[0] does not fit Person: $.age: expected an integer",
    ),
    "unknown enum value": (
        {"content": '{"name": "Ada", "age": 36, "color": "green"}'},
        "mismatch",
        InvalidOutputError,
        "$.color",
    ),
}


@STREAMED
@pytest.mark.parametrize("case", list(FAILURES), ids=list(FAILURES))
def test_an_answer_that_does_not_fit_is_a_failure(
    client: OpenAI, fake_server: FakeServer, stream: bool, case: str, run: Runner
) -> None:
    reply, code, _, words = FAILURES[case]
    fake_server.add(chat_reply(stream=stream, **reply))
    result = ask(run, client, stream, response_format=Person)
    assert not result.success and result.parsed is None
    (error,) = result.errors
    assert (error.type, error.code, error.status) == ("invalid_output", code, 200)
    assert words in error.message
    assert error.body == reply["content"]  # the raw content is kept
    assert error.is_invalid_output
    assert result.choice.message.content == reply["content"]


@STREAMED
@pytest.mark.parametrize("case", list(FAILURES), ids=list(FAILURES))
def test_with_throw_an_answer_that_does_not_fit_raises(
    client: OpenAI, fake_server: FakeServer, stream: bool, case: str, run: Runner
) -> None:
    reply, code, exception, words = FAILURES[case]
    fake_server.add(chat_reply(stream=stream, **reply))
    with pytest.raises(exception) as raised:
        ask(run, client, stream, response_format=Person, throw=True)
    assert type(raised.value) is exception
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, OpenAIException)
    assert raised.value.error.code == code and words in str(raised.value)
    assert raised.value.body == reply["content"]


def test_a_streamed_failure_is_the_last_chunk_without_throw(
    client: OpenAI, fake_server: FakeServer, run: Runner
) -> None:
    fake_server.add(chat_reply('{"name": "Ada", "ag', finish_reason="length", stream=True))
    with run.stream(client.chat.completions.stream(MESSAGES, response_format=Person)) as stream:
        chunks = list(stream)
    assert all(chunk.success for chunk in chunks[:-1])
    assert not chunks[-1].success and chunks[-1].errors[0].code == "length"
    assert stream.result().errors == chunks[-1].errors
    assert stream.result() is stream.result()


def test_one_choice_of_several_that_does_not_fit(
    client: OpenAI, fake_server: FakeServer, run: Runner
) -> None:
    fake_server.add(chat_reply(choices=[{"content": ADA}, {"content": "{}"}]))
    result = run(client.chat.completions.create(MESSAGES, response_format=Person, n=2))
    assert not result.success
    assert [e.message.split(" ")[0] for e in result.errors] == ["choices[1]"]
    assert result.parsed == ADA_VALUE and result.choices[1].message.parsed is None


@STREAMED
def test_callbacks_get_the_parsed_result(
    client: OpenAI, fake_server: FakeServer, stream: bool, run: Runner
) -> None:
    fake_server.add(chat_reply(ADA, stream=stream))
    got: List[OpenAIChatCompletionResult] = []
    done = threading.Event()

    def on_terminate(result: OpenAIChatCompletionResult) -> None:
        got.append(result)
        done.set()

    extra = {"on_data": lambda chunk: None} if stream else {}
    final = run(
        client.chat.completions.create(
            MESSAGES, response_format=Person, stream=stream, on_terminate=on_terminate, **extra
        )
    )
    assert done.wait(10)
    assert got == [final] and final.parsed == ADA_VALUE


@STREAMED
def test_callbacks_get_the_failure_and_throw_raises(
    client: OpenAI, fake_server: FakeServer, stream: bool, run: Runner
) -> None:
    fake_server.add(chat_reply("not json", stream=stream))
    errors: List[OpenAIChatCompletionResult] = []
    extra = {"on_data": lambda chunk: None} if stream else {}
    with pytest.raises(InvalidOutputError, match="is not valid JSON"):
        run(
            client.chat.completions.create(
                MESSAGES, response_format=Person, stream=stream, on_error=errors.append, throw=True, **extra
            )
        )
    assert len(errors) == 1 and errors[0].errors[0].code == "invalid_json"


def test_result_throw_raises_the_output_error() -> None:
    from openai_params import OpenAIError

    result = OpenAIChatCompletionResult(
        status=200, errors=[OpenAIError("cut", status=200, type="invalid_output", code="length", body='{"a')]
    )
    with pytest.raises(LengthFinishReasonError, match="cut"):
        result.throw()


def test_the_output_exceptions_alone() -> None:
    assert LengthFinishReasonError("cut").error.code == "length"
    assert ContentFilterFinishReasonError("cut").error.type == "invalid_output"
    assert InvalidOutputError("x").error.code == "mismatch"
    assert issubclass(LengthFinishReasonError, InvalidOutputError)
    assert json.dumps(InvalidOutputError("x").error.to_dict())


def test_create_many_reads_every_answer_as_the_type(
    client: OpenAI, fake_server: FakeServer, run: Runner
) -> None:
    fake_server.add(chat_reply(ADA))
    fake_server.add(chat_reply("{}"))
    results = run(
        client.chat.completions.create_many([MESSAGES, MESSAGES], response_format=Person, concurrency=1)
    )
    assert [r.parsed for r in results] == [ADA_VALUE, None]
    assert [r.success for r in results] == [True, False] and results[1].errors[0].code == "mismatch"
    assert all(
        sent.json["response_format"]["json_schema"]["name"] == "Person" for sent in fake_server.requests
    )


def test_content_parts_are_read_as_their_text(client: OpenAI, fake_server: FakeServer, run: Runner) -> None:
    message = {
        "role": "assistant",
        "content": [{"type": "text", "text": ADA[:10]}, {"type": "text", "text": ADA[10:]}],
    }
    body = {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
    fake_server.add(200, json=body)
    assert run(client.chat.completions.create(MESSAGES, response_format=Person)).parsed == ADA_VALUE


# -- with a profile: llama-cpp-python's form of the schema, and n emulated by n requests ------------
def profiled(run: Runner, server: FakeServer) -> OpenAI:
    return run.OpenAI(
        api_key="sk-x", base_url=server.url + "/v1", profile="llama-cpp-python", max_retries=0, timeout=5
    )


@STREAMED
def test_the_llama_cpp_python_profile_sends_json_object_and_the_answer_is_parsed(
    fake_server: FakeServer, stream: bool, run: Runner
) -> None:
    fake_server.add(chat_reply(ADA, stream=stream))
    with profiled(run, fake_server) as client:
        result = ask(run, client, stream, response_format=Person)
    assert sent_format(fake_server) == {"type": "json_object", "schema": json_schema(Person)}
    assert result.success and result.parsed == ADA_VALUE


@STREAMED
def test_an_emulated_n_is_read_once_merged(fake_server: FakeServer, stream: bool, run: Runner) -> None:
    bob = '{"name": "Bob", "age": 7, "color": "red"}'
    fake_server.add(chat_reply(ADA, stream=stream))
    fake_server.add(chat_reply(bob, stream=stream))
    with profiled(run, fake_server) as client:
        result = ask(run, client, stream, response_format=Person, n=2)
    assert len(fake_server.requests) == 2
    assert result.success, result.errors
    assert [c.message.parsed for c in result.choices] == [ADA_VALUE, Person("Bob", 7, Color.RED)]


@STREAMED
def test_an_emulated_n_whose_second_answer_does_not_fit(
    fake_server: FakeServer, stream: bool, run: Runner
) -> None:
    fake_server.add(chat_reply(ADA, stream=stream))
    fake_server.add(chat_reply('{"name": "Bo', finish_reason="length", stream=stream))
    with profiled(run, fake_server) as client:
        result = ask(run, client, stream, response_format=Person, n=2)
        assert [e.code for e in result.errors] == ["length"]
        assert result.errors[0].message.startswith("choices[1] ")
        assert result.parsed == ADA_VALUE
        fake_server.add(chat_reply(ADA, stream=stream))
        fake_server.add(chat_reply('{"name": "Bo', finish_reason="length", stream=stream))
        with pytest.raises(LengthFinishReasonError, match=r"^200 OK: choices\[1\] was cut"):
            ask(run, client, stream, response_format=Person, n=2, throw=True)
