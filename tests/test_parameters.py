"""OpenAIParameters, OpenAIChatCompletionParameters and the list parameters.

The data-driven cases live in tests/data/parameters/ (valid.json: params ->
exact body; invalid.json: params -> exact error). This file adds what JSON
cannot say: defaults, callbacks, NaN, reassignment, warnings, repr.
"""

import ast
import functools
import json
import math
import warnings
from dataclasses import fields
from pathlib import Path
from typing import Any, Dict, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openai_params.list_parameters import OpenAIChatCompletionListParameters
from openai_params.messages import OpenAITool
from openai_params.parameters import (
    CALLBACKS,
    EXECUTION_OPTIONS,
    OpenAIChatCompletionParameters,
    OpenAIChatCompletionsParameters,
    OpenAIParameters,
)

DATA = Path(__file__).resolve().parent / "data" / "parameters"
VALID = json.loads((DATA / "valid.json").read_text(encoding="utf-8"))
INVALID = json.loads((DATA / "invalid.json").read_text(encoding="utf-8"))
ERRORS = {"ValueError": ValueError, "TypeError": TypeError}

P = OpenAIChatCompletionParameters


def _no_op(_: Any) -> None:
    pass


def _other(_: Any) -> None:
    pass


# --- defaults -------------------------------------------------------------

SEED_DEFAULTS = [
    ("model", "gpt-4o-mini"),
    ("stream", False),
    ("max_completion_tokens", 0),
    ("n", 1),
    ("temperature", -1),
    ("store", False),
]

PARENT_DEFAULTS = {
    "timeout": 0.0,
    "max_retries": None,
    "extra_headers": None,
    "extra_query": None,
    "extra_body": None,
    "user": None,
    "throw": False,
    "on_terminate": None,
    "on_response": None,
    "on_error": None,
    "formula": None,
}

CHAT_DEFAULTS = {
    "on_data": None,
    "stream_options": None,
    "top_p": -1,
    "frequency_penalty": None,
    "presence_penalty": None,
    "logit_bias": None,
    "logprobs": None,
    "top_logprobs": None,
    "seed": None,
    "stop": None,
    "metadata": None,
    "modalities": None,
    "audio": None,
    "prediction": None,
    "response_format": None,
    "tools": None,
    "tool_choice": None,
    "parallel_tool_calls": None,
    "reasoning_effort": None,
    "service_tier": None,
    "verbosity": None,
    "web_search_options": None,
    "safety_identifier": None,
    "prompt_cache_key": None,
    "prompt_cache_options": None,
    "moderation": None,
    "max_tokens": None,
}


def test_seed_fields_have_the_seed_defaults_and_come_first() -> None:
    p = P()
    names = [f.name for f in fields(P)]
    assert names[:6] == [name for name, _ in SEED_DEFAULTS]
    for name, default in SEED_DEFAULTS:
        assert getattr(p, name) == default, name
        assert type(getattr(p, name)) is type(default), name


def test_every_field_default() -> None:
    p = P()
    expected = dict(SEED_DEFAULTS, **PARENT_DEFAULTS, **CHAT_DEFAULTS)
    assert {f.name for f in fields(P)} == set(expected)
    for name, default in expected.items():
        assert getattr(p, name) == default, name


def test_parent_defaults() -> None:
    p = OpenAIParameters()
    assert {f.name for f in fields(OpenAIParameters)} == set(PARENT_DEFAULTS)
    for name, default in PARENT_DEFAULTS.items():
        assert getattr(p, name) == default, name
    assert p.body() == {}


def test_inherits_and_alias() -> None:
    assert issubclass(P, OpenAIParameters)
    assert OpenAIChatCompletionsParameters is P
    assert isinstance(P(), OpenAIParameters)


def test_positional_model() -> None:
    assert P("gpt-4o").model == "gpt-4o"
    assert P("m", True).stream is True


def test_constructor_arguments_are_checked_like_a_dataclass_constructor() -> None:
    with pytest.raises(
        TypeError, match=r"unexpected keyword argument 'temperatur'; did you mean 'temperature'"
    ):
        P(temperatur=0.5)
    with pytest.raises(TypeError, match=r"multiple values for argument 'model'"):
        P("gpt-4o", model="gpt-4o-mini")
    with pytest.raises(TypeError, match=r"at most %d positional arguments" % len(fields(P))):
        P(*range(len(fields(P)) + 1))
    assert P(*[f.default for f in fields(P)]) == P()


def test_fields_never_set_read_the_class_defaults() -> None:
    p = P(temperature=0.5)
    assert p.n == 1 and p.top_p == -1 and p.tools is None
    assert p == P(temperature=0.5, n=1) and p != P(temperature=0.6)
    p.n = 3  # assigned after construction: checked and sent like a given field
    assert p.body() == {"model": "gpt-4o-mini", "n": 3, "temperature": 0.5}
    p.n = 0
    with pytest.raises(ValueError, match=r"^n must be"):
        p.body()


def test_default_body() -> None:
    assert P().body() == {"model": "gpt-4o-mini"}


# --- the corpus -------------------------------------------------------------


@pytest.mark.parametrize("case", VALID, ids=[c["name"] for c in VALID])
def test_valid_case_body(case: Dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no known value may warn
        assert P.from_dict(case["params"]).body() == case["body"]


@pytest.mark.parametrize("case", VALID, ids=[c["name"] for c in VALID])
def test_valid_case_round_trips(case: Dict[str, Any]) -> None:
    p = P.from_dict(case["params"])
    again = P.from_dict(p.to_dict())
    assert again == p
    assert again.body() == case["body"]
    assert p.replace().body() == case["body"]


@pytest.mark.parametrize("case", INVALID, ids=[c["name"] for c in INVALID])
def test_invalid_case_raises_at_construction(case: Dict[str, Any]) -> None:
    with pytest.raises(ERRORS[case["error"]]) as info:
        P.from_dict(case["params"])
    assert str(info.value) == case["message"]


@pytest.mark.parametrize("case", INVALID, ids=[c["name"] for c in INVALID])
def test_invalid_case_raises_in_body_after_reassignment(case: Dict[str, Any]) -> None:
    from openai_params._from_dict import (
        kwargs_from_dict as _kwargs_from_dict,  # the key mapping, without validation
    )

    p = P()
    for name, value in _kwargs_from_dict(P, case["params"]).items():
        setattr(p, name, value)  # plain assignment: no validation yet
    with pytest.raises(ERRORS[case["error"]]) as info:
        p.body()
    assert str(info.value) == case["message"]
    with pytest.raises(ERRORS[case["error"]]):
        p.validate()


def test_corpus_covers_every_field() -> None:
    from openai_params._from_dict import snake_case as _snake_case

    seen = {_snake_case(key) for case in VALID + INVALID for key in case["params"]}
    missing = {f.name for f in fields(P)} - set(CALLBACKS) - seen
    assert not missing


# --- omission rules -----------------------------------------------------------


@pytest.mark.parametrize(
    "name, left_out, sent",
    [
        ("stream", [False], [True]),
        ("max_completion_tokens", [0, None], [1, 4096]),
        ("n", [1, None], [2, 128]),
        ("temperature", [-1, -1.0, None], [0, 0.0, 1, 2]),
        ("store", [False], [True]),
        ("top_p", [-1, None], [0, 0.5, 1]),
    ],
)
def test_leave_it_out_values(name: str, left_out: List[Any], sent: List[Any]) -> None:
    for value in left_out:
        assert name not in P(**{name: value}).body(), value
    for value in sent:
        body = P(**{name: value}).body()
        assert body[name] == value and type(body[name]) is type(value), value


@pytest.mark.parametrize("name", sorted(set(CHAT_DEFAULTS) - set(CALLBACKS) - {"top_p"}))
def test_every_other_field_is_left_out_when_none(name: str) -> None:
    assert P(**{name: None}).body() == {"model": "gpt-4o-mini"}


def test_model_is_always_sent() -> None:
    assert P(model="x").body() == {"model": "x"}


def test_callbacks_and_execution_options_are_never_sent() -> None:
    p = P(
        stream=True,
        timeout=12.5,
        max_retries=4,
        extra_headers={"X-Title": "t"},
        extra_query={"api-version": "1"},
        throw=True,
        on_data=_no_op,
        on_terminate=_no_op,
        on_response=_no_op,
        on_error=_no_op,
        formula=_no_op,
    )
    body = p.body()
    assert body == {"model": "gpt-4o-mini", "stream": True}
    for name in EXECUTION_OPTIONS + CALLBACKS:
        assert name not in body
    assert "extraHeaders" not in json.dumps(body)


def test_user_is_sent() -> None:
    assert OpenAIParameters(user="u1").body() == {"user": "u1"}
    assert P(user="u1").body() == {"model": "gpt-4o-mini", "user": "u1"}


def test_extra_body_is_merged_last() -> None:
    p = P(
        temperature=0.5, user="a", extra_body={"temperature": 0.1, "user": "b", "model": "other", "top_k": 5}
    )
    assert p.body() == {"model": "other", "temperature": 0.1, "user": "b", "top_k": 5}
    assert list(p.body())[-1] == "top_k"


def test_body_copies_containers() -> None:
    stop = ["a"]
    metadata = {"k": "v"}
    p = P(stop=stop, metadata=metadata, tools=[{"name": "f"}])
    body = p.body()
    body["stop"].append("b")
    body["metadata"]["x"] = "y"
    assert stop == ["a"] and metadata == {"k": "v"}


def test_body_is_json_serialisable_and_ordered() -> None:
    p = P(store=True, temperature=1, stream=True, n=2, max_completion_tokens=3, model="m", seed=1)
    body = p.body()
    assert list(body)[:6] == ["model", "stream", "max_completion_tokens", "n", "temperature", "store"]
    assert json.loads(json.dumps(body)) == body


def test_tuple_stop_and_int_logit_bias_keys_are_normalised() -> None:
    body = P(stop=("x", "y"), logit_bias={50256: -100, "7": 1}).body()
    assert body["stop"] == ["x", "y"]
    assert body["logit_bias"] == {"50256": -100, "7": 1}


def test_tools_are_normalised_through_openai_tool() -> None:
    tool = OpenAITool("lookup", "Look a word up", {"type": "object"})
    body = P(
        tools=[tool, {"name": "f"}, {"type": "function", "function": {"name": "g"}, "x-extra": 1}]
    ).body()
    assert body["tools"] == [
        {
            "type": "function",
            "function": {"name": "lookup", "description": "Look a word up", "parameters": {"type": "object"}},
        },
        {"type": "function", "function": {"name": "f"}},
        {"type": "function", "function": {"name": "g"}, "x-extra": 1},
    ]


# --- validation beyond the corpus ---------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["temperature", "top_p", "frequency_penalty", "presence_penalty", "timeout"],
)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_rejected(name: str, value: float) -> None:
    with pytest.raises(ValueError) as info:
        P(**{name: value})
    assert str(info.value).startswith(name + " must be ")
    assert str(info.value).endswith("(got %r)" % value)


@pytest.mark.parametrize(
    "name",
    [
        "max_completion_tokens",
        "n",
        "temperature",
        "top_p",
        "frequency_penalty",
        "presence_penalty",
        "top_logprobs",
        "seed",
        "max_tokens",
        "timeout",
        "max_retries",
    ],
)
@pytest.mark.parametrize("value", [True, False])
def test_bool_is_never_a_number(name: str, value: bool) -> None:
    kwargs: Dict[str, Any] = {name: value}
    if name == "top_logprobs":
        kwargs["logprobs"] = True
    with pytest.raises(TypeError) as info:
        P(**kwargs)
    assert str(info.value).startswith(name + " must be ")
    assert str(info.value).endswith("(got %r, a bool)" % value)


@pytest.mark.parametrize("name", CALLBACKS)
def test_callbacks_must_be_callable(name: str) -> None:
    with pytest.raises(TypeError) as info:
        P(**{name: "print"})
    assert str(info.value) == "%s must be a callable taking one argument, or None (got 'print', a str)" % name


def test_reassignment_then_body_revalidates() -> None:
    p = P(temperature=0.5)
    p.temperature = 3
    with pytest.raises(
        ValueError, match=r"^temperature must be between 0 and 2, or -1 to leave it out \(got 3\)$"
    ):
        p.body()
    p.temperature = -1
    assert p.body() == {"model": "gpt-4o-mini"}
    p.stream_options = {"include_usage": True}
    with pytest.raises(ValueError, match="stream_options needs stream=True"):
        p.body()
    p.stream = True
    assert p.body()["stream_options"] == {"include_usage": True}


def test_replace_validates_and_accepts_camel_case() -> None:
    p = P(model="a", temperature=0.2)
    q = p.replace(maxRetries=3, temperature=1)
    assert (q.model, q.temperature, q.max_retries) == ("a", 1, 3)
    assert p.max_retries is None
    with pytest.raises(ValueError, match=r"n must be an integer between 1 and 128 \(got 0\)"):
        p.replace(n=0)
    with pytest.raises(ValueError, match="did you mean 'maxRetries'"):
        p.replace(maxRetry=3)


def test_logit_bias_key_rules() -> None:
    with pytest.raises(ValueError, match=r"logit_bias keys must be token ids .* \(got -1\)"):
        P(logit_bias={-1: 5})
    with pytest.raises(ValueError, match=r"\(got '\\u00b2'\)|\(got '²'\)"):
        P(logit_bias={"\u00b2": 5})  # a digit to str.isdigit(), not a token id
    with pytest.raises(TypeError, match=r"logit_bias keys .* \(got 1.5, a float\)"):
        P(logit_bias={1.5: 5})
    with pytest.raises(TypeError, match=r"\(got True, a bool\)"):
        P(logit_bias={"1": True})


def test_header_checks_accept_ordinary_headers() -> None:
    p = P(extra_headers={"X-Title": "Café app", "HTTP-Referer": "https://example.com", "x_custom.v1": "a b"})
    assert p.extra_headers is not None


# --- from_dict ------------------------------------------------------------------


def test_from_dict_snake_and_camel_case_for_every_field() -> None:
    from openai_params._from_dict import camel_case as _camel_case

    for f in fields(P):
        if f.name in CALLBACKS:
            value: Any = _no_op
        elif f.name in ("model", "user", "safety_identifier", "prompt_cache_key", "reasoning_effort"):
            value = "low"
        else:
            continue
        assert getattr(P.from_dict({f.name: value}), f.name) is value
        assert getattr(P.from_dict({_camel_case(f.name): value}), f.name) is value


@pytest.mark.parametrize(
    "key, name",
    [
        ("onData", "on_data"),
        ("onTerminate", "on_terminate"),
        ("onResponse", "on_response"),
        ("onError", "on_error"),
        ("maxRetries", "max_retries"),
        ("extraHeaders", "extra_headers"),
        ("extraQuery", "extra_query"),
        ("extraBody", "extra_body"),
        ("maxCompletionTokens", "max_completion_tokens"),
        ("topLogprobs", "top_logprobs"),
        ("parallelToolCalls", "parallel_tool_calls"),
        ("webSearchOptions", "web_search_options"),
    ],
)
def test_camel_case_names_of_the_seed(key: str, name: str) -> None:
    from openai_params._from_dict import snake_case as _snake_case

    assert _snake_case(key) == name


def test_from_dict_callbacks() -> None:
    p = P.from_dict({"stream": True, "onData": _no_op, "onTerminate": _other, "formula": _no_op})
    assert p.on_data is _no_op and p.on_terminate is _other and p.formula is _no_op


@pytest.mark.parametrize(
    "d, message",
    [
        (
            {"temprature": 1},
            "unknown parameter 'temprature' for OpenAIChatCompletionParameters; did you mean 'temperature'?",
        ),
        (
            {"maxRetry": 1},
            "unknown parameter 'maxRetry' for OpenAIChatCompletionParameters; did you mean 'maxRetries'?",
        ),
        (
            {"max_retry": 1},
            "unknown parameter 'max_retry' for OpenAIChatCompletionParameters; did you mean 'max_retries'?",
        ),
        (
            {"onDelta": print},
            "unknown parameter 'onDelta' for OpenAIChatCompletionParameters; did you mean 'onData'?",
        ),
        (
            {"Temprature": 1},
            "unknown parameter 'Temprature' for OpenAIChatCompletionParameters; did you mean 'temperature'?",
        ),
        (
            {"max_completion": 1},
            "unknown parameter 'max_completion' for OpenAIChatCompletionParameters; "
            "did you mean 'max_completion_tokens'?",
        ),
        ({"frobnicate": 1}, "unknown parameter 'frobnicate' for OpenAIChatCompletionParameters"),
        (
            {"messages": []},
            "unknown parameter 'messages': pass the messages to create(messages, params), not in the parameters",
        ),
        ({"apiKey": "sk-x"}, "unknown parameter 'apiKey': set it on the client: OpenAI(api_key=...)"),
        (
            {"base_url": "http://x"},
            "unknown parameter 'base_url': set it on the client: OpenAI(base_url=...)",
        ),
        (
            {"max_retries": 1, "maxRetries": 2},
            "parameter max_retries is given twice (as 'max_retries' and 'maxRetries')",
        ),
        (
            {"timeout": 1, "maxRetries": 1, "seed": 2, "MaxRetries": 2},
            "parameter max_retries is given twice (as 'maxRetries' and 'MaxRetries')",
        ),
    ],
)
def test_from_dict_rejects_unknown_keys(d: Dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        P.from_dict(d)
    assert str(info.value) == message


def test_from_dict_parent_class_knows_only_its_fields() -> None:
    with pytest.raises(ValueError, match="unknown parameter 'temperature' for OpenAIParameters"):
        OpenAIParameters.from_dict({"temperature": 1})
    assert OpenAIParameters.from_dict({"maxRetries": 2}).max_retries == 2


def test_from_dict_type_errors() -> None:
    with pytest.raises(
        TypeError, match=r"from_dict\(\) argument must be a dict of parameters \(got \[\], a list\)"
    ):
        P.from_dict([])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"parameter names must be strings \(got 1, an int\)"):
        P.from_dict({1: 2})  # type: ignore[dict-item]


def test_to_dict_holds_only_changed_fields() -> None:
    assert P().to_dict() == {}
    p = P(model="m", temperature=0, on_data=_no_op)
    assert p.to_dict() == {"model": "m", "temperature": 0, "on_data": _no_op}


# --- warnings for open enums ------------------------------------------------------


@pytest.mark.parametrize(
    "name, value, suggestion",
    [
        ("reasoning_effort", "hihg", "high"),
        ("reasoning_effort", "HIGH", "high"),
        ("service_tier", "flexible", "flex"),
        ("verbosity", "meduim", "medium"),
    ],
)
def test_unknown_enum_string_warns_with_the_closest_value(name: str, value: str, suggestion: str) -> None:
    with pytest.warns(UserWarning) as record:
        p = P(**{name: value})
    message = str(record[0].message)
    assert message.startswith("%s %r is not one of the known values (" % (name, value))
    assert message.endswith("and is sent as given; did you mean %r?" % suggestion)
    assert record[0].filename == __file__  # points at the caller, not at the library
    with pytest.warns(UserWarning):
        assert p.body()[name] == value  # sent as given


def test_unknown_enum_without_close_match() -> None:
    with pytest.warns(UserWarning) as record:
        P(reasoning_effort="zzzzzz")
    assert str(record[0].message).endswith("and is sent as given")


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"response_format": {"type": "structural_tag", "structures": []}}, "response_format.type"),
        ({"tools": [{"type": "browser_search"}]}, "tools[0].type"),
        ({"tool_choice": {"type": "file_search"}}, "tool_choice.type"),
        ({"web_search_options": {"search_context_size": "huge"}}, "web_search_options.search_context_size"),
        ({"prompt_cache_options": {"ttl": "24h"}}, "prompt_cache_options.ttl"),
        (
            {"moderation": {"model": "m", "policy": {"input": {"mode": "flag"}}}},
            "moderation.policy.input.mode",
        ),
    ],
)
def test_vendor_extensions_warn_and_are_sent(kwargs: Dict[str, Any], field: str) -> None:
    with pytest.warns(UserWarning, match="^" + field.replace("[", r"\[").replace("]", r"\]") + " ") as record:
        p = P(**kwargs)
    assert record[0].filename == __file__
    with pytest.warns(UserWarning):
        body = p.body()
    key = next(iter(kwargs))
    assert body[key] == kwargs[key]


def test_body_warns_once_per_unknown_value() -> None:
    with pytest.warns(UserWarning):
        p = P(tools=[{"type": "browser_search"}])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        p.body()
    assert len(record) == 1
    assert record[0].filename == __file__


# --- callbacks ------------------------------------------------------------------------


def test_has_callbacks() -> None:
    assert not P().has_callbacks()
    for name in CALLBACKS:
        assert P(**{name: _no_op}).has_callbacks(), name
    assert not OpenAIParameters().has_callbacks()
    assert OpenAIParameters(formula=_no_op).has_callbacks()


def test_formula_is_on_data_when_streaming_else_on_terminate() -> None:
    streaming = P(stream=True, formula=_no_op)
    assert streaming.data_callback is _no_op and streaming.terminate_callback is None
    blocking = P(formula=_no_op)
    assert blocking.data_callback is None and blocking.terminate_callback is _no_op
    assert OpenAIParameters(formula=_no_op).terminate_callback is _no_op


def test_explicit_callbacks_win_over_formula() -> None:
    p = P(stream=True, formula=_no_op, on_data=_other, on_terminate=_other)
    assert p.data_callback is _other and p.terminate_callback is _other
    p = P(formula=_no_op, on_terminate=_other)
    assert p.terminate_callback is _other
    assert P(on_data=_other).data_callback is _other  # even without stream


# --- repr ---------------------------------------------------------------------------------


def test_repr_shows_only_changed_fields() -> None:
    assert repr(P()) == "OpenAIChatCompletionParameters()"
    assert repr(P(model="m", temperature=0.2)) == "OpenAIChatCompletionParameters(model='m', temperature=0.2)"
    assert repr(OpenAIParameters(throw=True)) == "OpenAIParameters(throw=True)"
    assert repr(P(on_data=_no_op)) == "OpenAIChatCompletionParameters(on_data=<function _no_op>)"
    assert repr(P(on_error=lambda r: None)) == (
        "OpenAIChatCompletionParameters(on_error=<function test_repr_shows_only_changed_fields.<locals>.<lambda>>)"
    )
    assert (
        repr(P(on_terminate=functools.partial(print, "x")))
        == "OpenAIChatCompletionParameters(on_terminate=<partial object>)"
    )


@pytest.mark.parametrize(
    "header",
    [
        "Authorization",
        "authorization",
        "Proxy-Authorization",
        "api-key",
        "X-Api-Key",
        "x-goog-api-key",
        "X-Auth-Token",
        "Cookie",
        "X-Client-Secret",
        "X-Password",
    ],
)
def test_repr_redacts_credentials(header: str) -> None:
    secret = "sk-proj-VERYSECRET1234"
    p = P(
        extra_headers={header: "Bearer " + secret, "X-Title": "my app"}, extra_query={"key": secret, "v": "1"}
    )
    for text in (repr(p), str(p), "%r" % [p]):
        assert secret not in text
        assert "'X-Title': 'my app'" in text
        assert "'v': '1'" in text
        assert "sk-...1234" in text  # the one redaction form (openai_params._redact)
    assert (
        p.extra_headers is not None and p.extra_headers[header] == "Bearer " + secret
    )  # the value itself is kept


# --- list parameters ------------------------------------------------------------------------


def test_list_parameters_query() -> None:
    assert OpenAIChatCompletionListParameters().query() == {}
    q = OpenAIChatCompletionListParameters(
        after="chatcmpl-1", limit=50, order="desc", metadata={"a": "1", "b": "x y"}, model="gpt-4o"
    )
    assert q.query() == {
        "after": "chatcmpl-1",
        "limit": "50",
        "order": "desc",
        "metadata[a]": "1",
        "metadata[b]": "x y",
        "model": "gpt-4o",
    }
    assert OpenAIChatCompletionListParameters.from_dict({"limit": 5, "order": "asc"}).query() == {
        "limit": "5",
        "order": "asc",
    }


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            {"order": "descending"},
            ValueError,
            "order must be one of 'asc', 'desc' (got 'descending'); did you mean 'desc'?",
        ),
        ({"limit": -1}, ValueError, "limit must be an integer >= 0 (got -1)"),
        ({"limit": "10"}, TypeError, "limit must be an integer >= 0 (got '10', a str)"),
        ({"after": ""}, ValueError, "after must be a non-empty string (got '')"),
        (
            {"metadata": {"k": 1}},
            TypeError,
            "metadata['k'] must be a string of at most 512 characters (got 1, an int)",
        ),
        ({"model": 3}, TypeError, "model must be a non-empty string (got 3, an int)"),
    ],
)
def test_list_parameters_validation(kwargs: Dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error) as info:
        OpenAIChatCompletionListParameters(**kwargs)
    assert str(info.value) == message
    q = OpenAIChatCompletionListParameters()
    for name, value in kwargs.items():
        setattr(q, name, value)
    with pytest.raises(error):
        q.query()


def test_list_parameters_unknown_key() -> None:
    with pytest.raises(
        ValueError,
        match="unknown parameter 'limt' for OpenAIChatCompletionListParameters; did you mean 'limit'",
    ):
        OpenAIChatCompletionListParameters.from_dict({"limt": 3})


# --- import cost -----------------------------------------------------------------------------

# functools, re: loaded by dataclasses and typing anyway; sys: built in, always loaded;
# __future__: `from __future__ import annotations` (annotations left unevaluated).
CHEAP = {
    "__future__",
    "dataclasses",
    "typing",
    "warnings",
    "math",
    "difflib",
    "functools",
    "collections",
    "re",
    "sys",
}


@pytest.mark.parametrize(
    "module",
    [
        "parameters.py",
        "list_parameters.py",
        "_chat_rules.py",
        "_limits.py",
        "_from_dict.py",
        "messages.py",
        "_checks.py",
        "_json.py",
    ],
)
def test_modules_import_only_cheap_stdlib_modules(module: str) -> None:
    source = (Path(__file__).resolve().parent.parent / "openai_params" / module).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module or "")
    assert imported <= CHEAP, imported - CHEAP


# --- property tests for the numeric ranges --------------------------------------------------

RANGES = [
    # field, low, high, integer?, extra kwargs
    ("temperature", 0, 2, False, {}),
    ("top_p", 0, 1, False, {}),
    ("frequency_penalty", -2, 2, False, {}),
    ("presence_penalty", -2, 2, False, {}),
    ("n", 1, 128, True, {}),
    ("top_logprobs", 0, 20, True, {"logprobs": True}),
    ("max_completion_tokens", 1, 2**31, True, {}),
]


def _inside(low: float, high: float, integer: bool) -> Any:
    if integer:
        return st.integers(min_value=int(low), max_value=int(high))
    return st.one_of(
        st.floats(min_value=low, max_value=high), st.integers(min_value=int(low), max_value=int(high))
    )


def _outside(low: float, high: float, integer: bool) -> Any:
    if integer:
        return st.one_of(st.integers(max_value=int(low) - 1), st.integers(min_value=int(high) + 1))
    return st.one_of(
        st.floats(max_value=low, exclude_max=True, allow_nan=False),
        st.floats(min_value=high, exclude_min=True, allow_nan=False),
    )


@pytest.mark.parametrize("name, low, high, integer, extra", RANGES, ids=[r[0] for r in RANGES])
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_in_range_is_accepted_and_sent(
    name: str, low: float, high: float, integer: bool, extra: Dict[str, Any], data: Any
) -> None:
    value = data.draw(_inside(low, high, integer))
    body = P(**{name: value}, **extra).body()
    if name == "n" and value == 1:
        assert "n" not in body  # the seed's default is left out
    else:
        assert body[name] == value


@pytest.mark.parametrize("name, low, high, integer, extra", RANGES, ids=[r[0] for r in RANGES])
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_out_of_range_is_rejected(
    name: str, low: float, high: float, integer: bool, extra: Dict[str, Any], data: Any
) -> None:
    value = data.draw(_outside(low, high, integer))
    if name in ("temperature", "top_p") and value == -1:
        return  # the "leave it out" value
    if name == "max_completion_tokens" and value == 0:
        return  # the "leave it out" value
    if name == "max_completion_tokens" and value > high:
        return  # no upper bound in the schema
    with pytest.raises(ValueError) as info:
        P(**{name: value}, **extra)
    assert str(info.value).startswith(name + " must be ")
    assert str(info.value).endswith("(got %r)" % value)
    p = P(**extra)
    setattr(p, name, value)
    with pytest.raises(ValueError):
        p.body()


@settings(max_examples=100, deadline=None)
@given(
    bias=st.dictionaries(
        st.integers(min_value=0, max_value=200000), st.integers(min_value=-100, max_value=100), max_size=20
    )
)
def test_logit_bias_in_range(bias: Dict[int, int]) -> None:
    assert P(logit_bias=bias).body().get("logit_bias", {}) == {str(k): v for k, v in bias.items()}


@settings(max_examples=100, deadline=None)
@given(value=st.one_of(st.integers(max_value=-101), st.integers(min_value=101)))
def test_logit_bias_out_of_range(value: int) -> None:
    with pytest.raises(
        ValueError, match=r"^logit_bias\['1'\] must be an integer between -100 and 100 \(got -?\d+\)$"
    ):
        P(logit_bias={"1": value})


@settings(max_examples=100, deadline=None)
@given(
    metadata=st.dictionaries(st.text(max_size=64), st.text(max_size=512), max_size=16),
)
def test_metadata_within_limits(metadata: Dict[str, str]) -> None:
    assert P(metadata=metadata).body()["metadata"] == metadata


@settings(max_examples=100, deadline=None)
@given(stop=st.one_of(st.text(), st.lists(st.text(), min_size=1, max_size=4)))
def test_stop_within_limits(stop: Any) -> None:
    assert P(stop=stop).body()["stop"] == stop


@settings(max_examples=50, deadline=None)
@given(stop=st.lists(st.text(), min_size=5, max_size=20))
def test_stop_over_the_limit(stop: List[str]) -> None:
    with pytest.raises(
        ValueError, match=r"^stop must be a string or a list of 1 to 4 strings \(got \d+ items: "
    ):
        P(stop=stop)


# --- where warnings point --------------------------------------------------------------------


def _warning_from(make: Any) -> warnings.WarningMessage:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        make()
    assert len(record) == 1, [str(w.message) for w in record]
    return record[0]


def _quietly(make: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: P(reasoning_effort="hihg"),
        lambda: P.from_dict({"reasoningEffort": "hihg"}),
        lambda: P(model="m").replace(reasoning_effort="hihg"),
        lambda: _quietly(lambda: P(tools=[{"type": "browser_search"}])).replace(model="n"),
        lambda: P(moderation={"model": "m", "policy": {"output": {"mode": "flag"}}}),
    ],
    ids=["constructor", "from_dict", "replace", "replace_keeps_tools", "nested_rule"],
)
def test_warnings_point_at_the_callers_line(make: Any) -> None:
    warning = _warning_from(make)
    assert warning.filename == __file__
    assert "is not one of the known values" in str(warning.message)


def test_warnings_from_create_keywords_point_at_the_callers_line(fake_server: Any) -> None:
    from openai_params import OpenAI
    from streamdata import completion

    def warnings_from(make: Any, action: str = "always") -> List[warnings.WarningMessage]:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter(action)
            make()
        assert record
        assert [w.filename for w in record] == [__file__] * len(record)
        return record

    fake_server.add(200, json=completion("ok"))
    with OpenAI(api_key="k", base_url=fake_server.url + "/v1", max_retries=0, timeout=5) as client:
        messages = [{"role": "user", "content": "Hi"}]
        warnings_from(lambda: client.chat.completions.create(messages, reasoning_effort="hihg"))
        record = warnings_from(
            lambda: client.chat.completions.build_request([{"role": "usr", "content": "x"}])
        )
        assert "messages[0].role" in str(record[0].message)
        warnings_from(
            lambda: client.chat.completions.build_request(messages, {"verbosity": "loud"}, model="m")
        )
        # The keywords are checked when the parameters are built and again by body(): both
        # warnings point at the same line, so the default filter shows it once.
        assert (
            len(
                warnings_from(
                    lambda: client.chat.completions.build_request(messages, verbosity="loud"), "default"
                )
            )
            == 1
        )


def test_warnings_point_at_the_caller_under_a_vendored_package_name(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    package = Path(__file__).resolve().parent.parent / "openai_params"
    vendor = tmp_path / "app" / "_vendor"
    shutil.copytree(package, vendor / "openai_params", ignore=shutil.ignore_patterns("__pycache__"))
    for folder in (tmp_path / "app", vendor):
        (folder / "__init__.py").write_text("", encoding="utf-8")
    script = tmp_path / "use_it.py"
    script.write_text(
        "import warnings\n"
        "from app._vendor.openai_params import OpenAIChatCompletionParameters as P\n"
        "with warnings.catch_warnings(record=True) as record:\n"
        "    warnings.simplefilter('always')\n"
        "    P(verbosity='loud')\n"
        "print(record[0].filename)\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, str(script)], cwd=str(tmp_path), capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == str(script)


# --- per-call timeout and retries ------------------------------------------------------------


@pytest.mark.parametrize("value", [1e10, math.inf, math.nan, 86400.5, -1, 2**63])
def test_per_call_timeout_out_of_range_is_refused_at_construction(value: Any) -> None:
    with pytest.raises(ValueError) as info:
        OpenAIParameters(timeout=value)
    assert str(info.value).startswith("timeout must be ")
    assert str(info.value).endswith("(got %r)" % value)
    p = P()
    p.timeout = value
    with pytest.raises(ValueError):
        p.body()


@pytest.mark.parametrize("value", ["5", b"5", [5]])
def test_per_call_timeout_of_the_wrong_type_is_a_type_error(value: Any) -> None:
    with pytest.raises(TypeError, match=r"^timeout must be "):
        OpenAIParameters(timeout=value)


@pytest.mark.parametrize("value", [0, 0.0, None, 0.5, 30, 86400])
def test_per_call_timeout_accepted(value: Any) -> None:
    assert OpenAIParameters(timeout=value).timeout == value


def test_every_request_field_has_a_rule_and_is_checked_whatever_else_is_set() -> None:
    from openai_params._chat_rules import FIELD_NEEDS, FIELD_RULES
    from openai_params.parameters import SHARED_RULES

    shared = {f.name for f in fields(OpenAIParameters)}
    request_fields = [f.name for f in fields(P) if f.name not in shared and f.name not in CALLBACKS]
    assert sorted(FIELD_RULES) == sorted(request_fields)
    assert sorted(SHARED_RULES) == sorted(shared | {"on_data"})
    assert {name for pair in FIELD_NEEDS for name in pair} <= set(request_fields)
    # No shortcut skips a rule when the other fields are at their defaults, or when they are set.
    for others in ({}, {"seed": 1, "parallel_tool_calls": True}):
        with pytest.raises(ValueError, match="^top_p must be"):
            P(top_p=5, **others)
        with pytest.raises(TypeError, match="^max_tokens must be"):
            P(max_tokens="5", **others)


def test_body_holds_copies_of_containers_and_scalars_as_given() -> None:
    from types import MappingProxyType

    stop, modalities = ["a", "b"], ("text",)
    metadata = MappingProxyType({"k": "v"})
    p = P(
        model="m", temperature=0.5, seed=3, logprobs=True, stop=stop, modalities=modalities, metadata=metadata
    )
    body = p.body()
    assert body == {
        "model": "m",
        "temperature": 0.5,
        "logprobs": True,
        "seed": 3,
        "stop": ["a", "b"],
        "metadata": {"k": "v"},
        "modalities": ["text"],
    }
    # JSON's own types, and never the caller's objects: adapting the body cannot change them.
    assert type(body["stop"]) is list and body["stop"] is not stop
    assert type(body["modalities"]) is list
    assert type(body["metadata"]) is dict
    assert body["logprobs"] is True and type(body["seed"]) is int
