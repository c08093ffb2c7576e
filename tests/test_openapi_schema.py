"""body() against the official schema: CreateChatCompletionRequest.

tests/data/openapi/ holds the reference OpenAPI document. Its schemas mix
OpenAPI 3.1 (JSON Schema 2020-12, ``{"type": "null"}`` in ``anyOf``) with the
3.0 keyword ``nullable: true``, which JSON Schema does not know; ``_convert``
turns the latter into the former, and ``$ref``s to ``#/components/schemas/...``
resolve inside the same document.

Three things are checked here:
- every range, size limit and enum that openai_params/_limits.py (read here
  through parameters.py) and messages.py hard-code is the schema's;
- every request field of the schema is a field of the parameters class
  (except the deprecated-and-replaced ones);
- body() plus a conversation validates, for the valid corpus and for
  generated combinations of every field.
"""

import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any, Dict, List, Set

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openai_params import _limits as limits
from openai_params import messages as messages_module
from openai_params.messages import MESSAGE_ROLES, validate_messages
from openai_params.parameters import (
    CALLBACKS,
    EXECUTION_OPTIONS,
    OpenAIChatCompletionParameters,
)

DATA = Path(__file__).resolve().parent / "data"
SPEC = json.loads((DATA / "openapi" / "openai-chat-completions.openapi.json").read_text(encoding="utf-8"))
SCHEMAS = SPEC["components"]["schemas"]
VALID_PARAMS = json.loads((DATA / "parameters" / "valid.json").read_text(encoding="utf-8"))
VALID_MESSAGES = json.loads((DATA / "messages" / "valid.json").read_text(encoding="utf-8"))

HELLO = [{"role": "user", "content": "Hello"}]

# Request fields the schema still lists but marks deprecated, each replaced by
# a field that is present: functions/function_call by tools/tool_choice,
# prompt_cache_retention by prompt_cache_options.ttl.
DEPRECATED_AND_REPLACED = {"functions", "function_call", "prompt_cache_retention"}


def _convert(node: Any, *, in_properties: bool = False) -> Any:
    """OpenAPI 3.0 ``nullable: true`` -> JSON Schema's null type, recursively."""
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    if in_properties:  # keys are property names, not keywords
        return {key: _convert(value) for key, value in node.items()}
    out = {
        key: _convert(value, in_properties=(key == "properties"))
        for key, value in node.items()
        if key not in ("nullable", "discriminator")
    }
    if node.get("nullable") is True:
        if "type" in out:
            kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = kinds + ["null"]
            if "enum" in out:
                out["enum"] = list(out["enum"]) + [None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _validator(ref: str) -> Any:
    document = {"$ref": ref, "components": _convert(SPEC["components"])}
    cls = jsonschema.validators.validator_for({"$schema": "https://json-schema.org/draft/2020-12/schema"})
    cls.check_schema(document)
    return cls(document)


REQUEST = _validator("#/components/schemas/CreateChatCompletionRequest")


def _errors(body: Dict[str, Any]) -> List[str]:
    return ["%s: %s" % ("/".join(map(str, e.absolute_path)), e.message) for e in REQUEST.iter_errors(body)]


def _request_properties() -> Dict[str, Any]:
    """The properties of CreateChatCompletionRequest, its allOf parts merged (later parts win)."""
    found: Dict[str, Any] = {}

    def walk(schema: Dict[str, Any]) -> None:
        if "$ref" in schema:
            walk(SCHEMAS[schema["$ref"].rsplit("/", 1)[1]])
        for part in schema.get("allOf", []):
            walk(part)
        found.update(schema.get("properties", {}))

    walk(SCHEMAS["CreateChatCompletionRequest"])
    return found


PROPS = _request_properties()


def _resolve(schema: Dict[str, Any]) -> Dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _non_null(schema: Dict[str, Any]) -> Dict[str, Any]:
    """The non-null branch of an ``anyOf: [X, {type: null}]``."""
    schema = _resolve(schema)
    for key in ("anyOf", "oneOf"):
        branches = [b for b in schema.get(key, []) if b.get("type") != "null"]
        if len(branches) == 1 and len(schema[key]) == 2:
            return _resolve(branches[0])
    return schema


def _enum(schema: Dict[str, Any]) -> List[str]:
    return list(_non_null(schema)["enum"])


def _const_types(refs: List[Dict[str, Any]]) -> Set[str]:
    return {value for ref in refs for value in _resolve(ref)["properties"]["type"]["enum"]}


# --- the validator itself works ---------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m"},  # no messages
        {"model": "m", "messages": []},
        {"model": "m", "messages": HELLO, "temperature": 2.5},
        {"model": "m", "messages": HELLO, "n": 0},
        {"model": "m", "messages": HELLO, "stop": ["a", "b", "c", "d", "e"]},
        {"model": "m", "messages": HELLO, "safety_identifier": "x" * 65},
        {"model": "m", "messages": HELLO, "modalities": ["video"]},
        {"model": "m", "messages": HELLO, "tool_choice": "sometimes"},
        {"model": "m", "messages": HELLO, "response_format": {"type": "json_schema", "json_schema": {}}},
        {"model": "m", "messages": [{"role": "tool", "content": "x"}]},
    ],
)
def test_the_converted_schema_rejects_bad_bodies(body: Dict[str, Any]) -> None:
    assert _errors(body)


def test_nullable_is_converted() -> None:
    assert not _errors(
        {"model": "m", "messages": HELLO, "temperature": None, "n": None, "stop": None, "logit_bias": None}
    )


# --- the package's limits are the schema's ------------------------------------------


def _words(text: str) -> str:
    """A description with its line breaks and runs of spaces made single spaces."""
    return re.sub(r"\s+", " ", text)


def _range(schema: Dict[str, Any]) -> Any:
    schema = _non_null(schema)
    return (schema["minimum"], schema["maximum"])


def test_numeric_ranges_match_the_schema() -> None:
    assert limits.TEMPERATURE_RANGE == _range(PROPS["temperature"])
    assert limits.TOP_P_RANGE == _range(PROPS["top_p"])
    assert limits.PENALTY_RANGE == _range(PROPS["frequency_penalty"]) == _range(PROPS["presence_penalty"])
    assert limits.N_RANGE == _range(PROPS["n"])
    assert limits.TOP_LOGPROBS_RANGE == _range(PROPS["top_logprobs"])
    low, high = _range(PROPS["seed"])  # int64 bounds, written as floats in the JSON
    assert float(limits.SEED_RANGE[0]) == float(low) and float(limits.SEED_RANGE[1]) == float(high)
    assert "must be set to `true`" in PROPS["top_logprobs"]["description"]  # top_logprobs needs logprobs


def test_size_limits_match_the_schema() -> None:
    stop = _resolve(PROPS["stop"])["oneOf"][1]
    assert (stop["minItems"], stop["maxItems"]) == (1, limits.STOP_MAX_ITEMS)
    assert _non_null(PROPS["safety_identifier"])["maxLength"] == limits.SAFETY_IDENTIFIER_MAX_LENGTH
    assert "maxLength" not in _non_null(PROPS["prompt_cache_key"])  # no limit to check
    metadata = _words(_non_null(PROPS["metadata"])["description"])
    assert "Set of %d key-value pairs" % limits.METADATA_MAX_PAIRS in metadata
    assert (
        "Keys are strings with a maximum length of %d characters" % limits.METADATA_KEY_MAX_LENGTH in metadata
    )
    assert (
        "Values are strings with a maximum length of %d characters" % limits.METADATA_VALUE_MAX_LENGTH
        in metadata
    )
    low, high = limits.LOGIT_BIAS_RANGE
    assert "bias value from %d to %d" % (low, high) in _words(PROPS["logit_bias"]["description"])
    assert PROPS["logit_bias"]["additionalProperties"] == {"type": "integer"}
    rule = "Must be a-z, A-Z, 0-9, or contain underscores and dashes, with a maximum length of %d" % (
        messages_module.NAME_MAX_LENGTH
    )
    assert rule in _words(SCHEMAS["FunctionObject"]["properties"]["name"]["description"])
    assert rule in _words(
        SCHEMAS["ResponseFormatJsonSchema"]["properties"]["json_schema"]["properties"]["name"]["description"]
    )


def test_enums_match_the_schema() -> None:
    m = limits
    assert list(m.REASONING_EFFORTS) == _enum(PROPS["reasoning_effort"])
    assert list(m.SERVICE_TIERS) == _enum(PROPS["service_tier"])
    assert list(m.VERBOSITIES) == _enum(PROPS["verbosity"])
    assert list(m.MODALITIES) == _non_null(PROPS["modalities"])["items"]["enum"]
    assert list(m.AUDIO_FORMATS) == PROPS["audio"]["properties"]["format"]["enum"]
    assert list(m.TOOL_CHOICE_MODES) == _resolve(PROPS["tool_choice"])["oneOf"][0]["enum"]
    assert set(m.TOOL_CHOICE_TYPES) == _const_types(_resolve(PROPS["tool_choice"])["oneOf"][1:])
    assert list(m.ALLOWED_TOOLS_MODES) == SCHEMAS["ChatCompletionAllowedTools"]["properties"]["mode"]["enum"]
    assert set(m.RESPONSE_FORMAT_TYPES) == _const_types(PROPS["response_format"]["oneOf"])
    assert set(m.TOOL_TYPES) == _const_types(PROPS["tools"]["items"]["oneOf"])
    assert list(m.SEARCH_CONTEXT_SIZES) == SCHEMAS["WebSearchContextSize"]["enum"]
    assert list(m.PROMPT_CACHE_TTLS) == SCHEMAS["PromptCacheTTLEnum"]["enum"]
    assert list(m.PROMPT_CACHE_MODES) == SCHEMAS["PromptCacheModeEnum"]["enum"]
    assert list(m.MODERATION_MODES) == SCHEMAS["ModerationMode"]["enum"]
    order = [p for p in SPEC["paths"]["/chat/completions"]["get"]["parameters"] if p["name"] == "order"][0]
    assert list(m.LIST_ORDERS) == order["schema"]["enum"]
    location = PROPS["web_search_options"]["properties"]["user_location"]
    assert location["properties"]["type"]["enum"] == ["approximate"] and location["required"] == [
        "type",
        "approximate",
    ]
    assert PROPS["audio"]["required"] == ["voice", "format"]
    assert SCHEMAS["PredictionContent"]["properties"]["type"]["enum"] == ["content"]


def test_message_roles_match_the_schema() -> None:
    variants = [_resolve(v) for v in SCHEMAS["ChatCompletionRequestMessage"]["oneOf"]]
    roles = {v["properties"]["role"]["enum"][0]: v for v in variants}
    assert set(MESSAGE_ROLES) == set(roles)
    content_required = {role for role, v in roles.items() if "content" in v["required"]}
    assert content_required == set(messages_module._CONTENT_REQUIRED)
    assert "tool_call_id" in roles["tool"]["required"]
    assert "name" in roles["function"]["required"]


def test_every_request_field_is_a_parameter() -> None:
    body_fields = (
        {f.name for f in fields(OpenAIChatCompletionParameters)} - set(CALLBACKS) - set(EXECUTION_OPTIONS)
    )
    body_fields -= {"extra_body"}
    schema_fields = set(PROPS) - {"messages"} - DEPRECATED_AND_REPLACED
    assert body_fields == schema_fields
    for name in DEPRECATED_AND_REPLACED:
        assert PROPS[name].get("deprecated") is True, name


# --- bodies validate ------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [c for c in VALID_PARAMS if c.get("schema", True)],
    ids=[c["name"] for c in VALID_PARAMS if c.get("schema", True)],
)
def test_valid_corpus_bodies_validate(case: Dict[str, Any]) -> None:
    body = dict(OpenAIChatCompletionParameters.from_dict(case["params"]).body(), messages=HELLO)
    assert _errors(body) == []


@pytest.mark.parametrize("case", VALID_MESSAGES, ids=[c["name"] for c in VALID_MESSAGES])
def test_valid_conversations_validate(case: Dict[str, Any]) -> None:
    body = dict(OpenAIChatCompletionParameters().body(), messages=validate_messages(case["messages"]))
    assert _errors(body) == []


# Generated combinations: every field, drawn from values the package accepts
# without a warning, constrained as the package requires (top_logprobs with
# logprobs=True, stream_options with stream=True).

NAME = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
TEXT = st.text(max_size=20)
TEXT_PART = st.fixed_dictionaries({"type": st.just("text"), "text": TEXT})
JSON_SCHEMA = st.just({"type": "object", "properties": {"a": {"type": "string"}}})
FUNCTION_TOOL = st.one_of(
    st.fixed_dictionaries(
        {"name": NAME}, optional={"description": TEXT, "parameters": JSON_SCHEMA, "strict": st.booleans()}
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("function"),
            "function": st.fixed_dictionaries({"name": NAME}, optional={"description": TEXT}),
        }
    ),
)
CUSTOM_TOOL = st.fixed_dictionaries(
    {
        "type": st.just("custom"),
        "custom": st.fixed_dictionaries({"name": NAME}, optional={"format": st.just({"type": "text"})}),
    }
)
TOOL_CHOICE = st.one_of(
    st.sampled_from(limits.TOOL_CHOICE_MODES),
    NAME.map(lambda n: {"type": "function", "function": {"name": n}}),
    NAME.map(lambda n: {"type": "custom", "custom": {"name": n}}),
    st.fixed_dictionaries(
        {
            "type": st.just("allowed_tools"),
            "allowed_tools": st.fixed_dictionaries(
                {
                    "mode": st.sampled_from(limits.ALLOWED_TOOLS_MODES),
                    "tools": st.lists(
                        NAME.map(lambda n: {"type": "function", "function": {"name": n}}), max_size=2
                    ),
                }
            ),
        }
    ),
)
RESPONSE_FORMAT = st.one_of(
    st.just({"type": "text"}),
    st.just({"type": "json_object"}),
    st.fixed_dictionaries(
        {
            "type": st.just("json_schema"),
            "json_schema": st.fixed_dictionaries(
                {"name": NAME}, optional={"description": TEXT, "schema": JSON_SCHEMA, "strict": st.booleans()}
            ),
        }
    ),
)
FIELDS = {
    "model": st.sampled_from(["gpt-4o-mini", "gpt-4o", "o3", "llama3.1:8b", "mistralai/Mistral-7B"]),
    "stream": st.booleans(),
    "max_completion_tokens": st.integers(0, 2**31),
    "n": st.integers(*limits.N_RANGE),
    "temperature": st.one_of(st.just(-1), st.floats(*limits.TEMPERATURE_RANGE)),
    "store": st.booleans(),
    "stream_options": st.fixed_dictionaries(
        {}, optional={"include_usage": st.booleans(), "include_obfuscation": st.booleans()}
    ),
    "top_p": st.one_of(st.just(-1), st.floats(*limits.TOP_P_RANGE)),
    "frequency_penalty": st.floats(*limits.PENALTY_RANGE),
    "presence_penalty": st.integers(*limits.PENALTY_RANGE),
    "logit_bias": st.dictionaries(
        st.one_of(st.integers(0, 200000), st.integers(0, 200000).map(str)),
        st.integers(*limits.LOGIT_BIAS_RANGE),
        max_size=4,
    ),
    "logprobs": st.booleans(),
    "top_logprobs": st.integers(*limits.TOP_LOGPROBS_RANGE),
    "seed": st.integers(*limits.SEED_RANGE),
    "stop": st.one_of(TEXT, st.lists(TEXT, min_size=1, max_size=limits.STOP_MAX_ITEMS)),
    "metadata": st.dictionaries(
        st.text(max_size=64), st.text(max_size=512), max_size=limits.METADATA_MAX_PAIRS
    ),
    "modalities": st.lists(st.sampled_from(limits.MODALITIES), max_size=2),
    "audio": st.fixed_dictionaries(
        {
            "voice": st.one_of(
                st.sampled_from(["alloy", "ash", "verse", "my-voice"]),
                st.text(min_size=1).map(lambda i: {"id": i}),
            ),
            "format": st.sampled_from(limits.AUDIO_FORMATS),
        }
    ),
    "prediction": st.fixed_dictionaries(
        {"type": st.just("content"), "content": st.one_of(TEXT, st.lists(TEXT_PART, min_size=1, max_size=3))}
    ),
    "response_format": RESPONSE_FORMAT,
    "tools": st.lists(st.one_of(FUNCTION_TOOL, CUSTOM_TOOL), max_size=3),
    "tool_choice": TOOL_CHOICE,
    "parallel_tool_calls": st.booleans(),
    "reasoning_effort": st.sampled_from(limits.REASONING_EFFORTS),
    "service_tier": st.sampled_from(limits.SERVICE_TIERS),
    "verbosity": st.sampled_from(limits.VERBOSITIES),
    "web_search_options": st.fixed_dictionaries(
        {},
        optional={
            "search_context_size": st.sampled_from(limits.SEARCH_CONTEXT_SIZES),
            "user_location": st.fixed_dictionaries(
                {
                    "type": st.just("approximate"),
                    "approximate": st.fixed_dictionaries(
                        {}, optional={k: TEXT for k in ("country", "region", "city", "timezone")}
                    ),
                }
            ),
        },
    ),
    "safety_identifier": st.text(max_size=limits.SAFETY_IDENTIFIER_MAX_LENGTH),
    "prompt_cache_key": TEXT,
    "prompt_cache_options": st.fixed_dictionaries(
        {},
        optional={
            "ttl": st.sampled_from(limits.PROMPT_CACHE_TTLS),
            "mode": st.sampled_from(limits.PROMPT_CACHE_MODES),
        },
    ),
    "moderation": st.fixed_dictionaries(
        {"model": st.just("omni-moderation-latest")},
        optional={
            "policy": st.fixed_dictionaries(
                {},
                optional={
                    side: st.fixed_dictionaries({"mode": st.sampled_from(limits.MODERATION_MODES)})
                    for side in ("input", "output")
                },
            )
        },
    ),
    "max_tokens": st.integers(0, 2**31),
    "user": TEXT,
}


def test_generated_combinations_cover_every_body_field() -> None:
    body_fields = (
        {f.name for f in fields(OpenAIChatCompletionParameters)} - set(CALLBACKS) - set(EXECUTION_OPTIONS)
    )
    assert set(FIELDS) == body_fields - {"extra_body"}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.fixed_dictionaries({}, optional=FIELDS))
def test_generated_combinations_validate(values: Dict[str, Any]) -> None:
    if "top_logprobs" in values:
        values["logprobs"] = True
    if "stream_options" in values:
        values["stream"] = True
    params = OpenAIChatCompletionParameters(**values)
    body = params.body()
    assert json.loads(json.dumps(body)) == body
    assert _errors(dict(body, messages=HELLO)) == []
    assert OpenAIChatCompletionParameters.from_dict(params.to_dict()).body() == body
