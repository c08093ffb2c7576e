"""What a request body may hold: errors that name the path, never a position or a type alone.

The body is encoded in one pass (``request.encode_json``); only when that fails
is it walked (``_json.check_json``) to name the bad part. ``extra_body`` is
checked with the parameters, since its keys land at the top of the body.
"""

import datetime
import json
import math
from collections import OrderedDict
from types import MappingProxyType
from typing import Any, Dict, List

import pytest

from openai_params import OpenAIChatCompletionParameters, OpenAIParameters
from openai_params._json import check_json
from openai_params.request import encode_json

P = OpenAIChatCompletionParameters
TEXT = {"type": "text", "text": "Describe these"}
NOT_JSON = "must be a JSON value (a string, a finite number, True, False, None, a list or a dict)"


def _error(client: Any, messages: Any, **kwargs: Any) -> BaseException:
    with pytest.raises((TypeError, ValueError)) as info:
        client.chat.completions.build_request(messages, **kwargs)
    return info.value


def test_a_set_in_a_content_part_names_the_part(client: Any) -> None:
    messages = [{"role": "user", "content": [TEXT, {1, 2}]}]
    error = _error(client, messages)
    assert type(error) is TypeError
    assert str(error).startswith("messages[0].content[1] ")  # validate_messages wants a dict here
    messages = [{"role": "user", "content": [TEXT, {"type": "image_url", "image_url": {"url": {"a", "b"}}}]}]
    error = _error(client, messages)
    assert type(error) is TypeError
    assert str(error).startswith("messages[0].content[1].image_url.url " + NOT_JSON + " (got {")
    assert str(error).endswith(", a set)")


def test_a_date_in_extra_body_names_it(client: Any) -> None:
    when = datetime.date(2026, 1, 2)
    expected = "extra_body.when %s (got datetime.date(2026, 1, 2), a date)" % NOT_JSON
    for make in (
        lambda: P(extra_body={"when": when}),
        lambda: OpenAIParameters(extra_body={"when": when}),
        lambda: client.chat.completions.build_request(
            [{"role": "user", "content": "x"}], extra_body={"when": when}
        ),
    ):
        with pytest.raises(TypeError) as info:
            make()
        assert str(info.value) == expected
    p = P()
    p.extra_body = {"a": [1, {"when": when}]}  # reassigned: body() checks again
    with pytest.raises(TypeError, match=r"^extra_body\.a\[1\]\.when must be a JSON value"):
        p.body()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused_everywhere(client: Any, value: float) -> None:
    with pytest.raises(ValueError) as info:
        P(extra_body={"options": {"mirostat_tau": value}})
    assert str(info.value) == (
        "extra_body.options.mirostat_tau must be a finite number (JSON has no NaN or Infinity) (got %r)"
        % value
    )
    schema = {"type": "object", "properties": {"x": {"maximum": value}}}
    error = _error(
        client,
        [{"role": "user", "content": "x"}],
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
    )
    assert type(error) is ValueError
    assert str(error).startswith(
        "response_format.json_schema.schema.properties.x.maximum must be a finite number"
    )
    with pytest.raises(ValueError, match=r"^the body must be a finite number"):
        encode_json(value)
    with pytest.raises(ValueError, match=r"^messages\[0\]\.x must be a finite number"):
        encode_json({"messages": [{"x": value}]})


def test_a_lone_surrogate_names_the_field_not_a_position(client: Any) -> None:
    error = _error(
        client, [{"role": "user", "content": "ok"}, {"role": "user", "content": "bad \ud83d here"}]
    )
    assert type(error) is ValueError
    assert str(error) == (
        "messages[1].content must be text without lone surrogates (halves of a UTF-16 pair cannot "
        "be sent as UTF-8) (got 'bad \\ud83d here')"
    )
    assert "position" not in str(error)
    with pytest.raises(ValueError, match=r"^extra_body\['x y'\] keys must be text without lone surrogates"):
        P(extra_body={"x y": {"\udc00": 1}})
    with pytest.raises(ValueError, match=r"^extra_body\.tag must be text without lone surrogates"):
        P(extra_body={"tag": "\udfff"})


def test_keys_json_cannot_write_are_named() -> None:
    with pytest.raises(TypeError, match=r"^extra_body\.a keys must be strings \(got \(1, 2\), a tuple\)$"):
        P(extra_body={"a": {(1, 2): "x"}})
    with pytest.raises(ValueError, match=r"^extra_body\.a keys must be strings \(JSON has no NaN"):
        P(extra_body={"a": {math.nan: "x"}})


def test_a_circular_reference_is_named() -> None:
    loop: List[Any] = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match=r"^extra_body\.a\[1\] must be JSON without a circular reference"):
        P(extra_body={"a": loop})


def test_what_json_holds_is_sent_unchanged(client: Any) -> None:
    extra: Dict[str, Any] = {
        "text": "café ☕ 日本",
        "numbers": [0, -1, 2.5, 10**20, True, False, None],
        "nested": {"a": [{"b": ()}], "1": "one"},
        "proxy": MappingProxyType({"k": "v"}),
        "ordered": OrderedDict([("z", 1), ("a", 2)]),
    }
    request = client.chat.completions.build_request([{"role": "user", "content": "x"}], extra_body=extra)
    sent = json.loads(request.body.decode("utf-8"))
    assert sent["text"] == "café ☕ 日本" and "café ☕ 日本".encode() in request.body
    assert sent["numbers"] == [0, -1, 2.5, 10**20, True, False, None]
    assert sent["nested"] == {"a": [{"b": []}], "1": "one"}
    assert sent["proxy"] == {"k": "v"} and list(sent["ordered"]) == ["z", "a"]


@pytest.mark.parametrize(
    "value",
    ["x", 1, 1.5, True, None, [1, "a", {"b": None}], {"a": {"b": [1.0, (2, 3)]}}, {1: "int key", None: "n"}],
)
def test_check_json_accepts_what_the_encoder_writes(value: Any) -> None:
    check_json("x", value)
    assert json.loads(encode_json(value)) is not None or value is None


def test_the_encoder_refuses_what_check_json_refuses() -> None:
    # The walk only names the place: both sides must agree on what is not JSON.
    for value in ({1}, datetime.date.today(), math.nan, "\ud800", {(1,): 1}, b"bytes", object()):
        with pytest.raises((TypeError, ValueError)):
            check_json("x", value)
        with pytest.raises((TypeError, ValueError)) as info:
            encode_json({"x": value})
        assert str(info.value).startswith("x ")
