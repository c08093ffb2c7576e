"""The rules of the Chat Completions fields, as a table.

``FIELD_RULES`` gives each request field of ``OpenAIChatCompletionParameters``
the rule that checks its value: a function ``rule(field, value)`` that raises
``ValueError`` / ``TypeError`` naming the bad field (see ``_checks``), or
warns for an unknown value of an open enum. A rule only sees values other
than the field's default (defaults are valid); ``None`` is the default of most
fields, and the others take it too, as "leave it out". ``FIELD_NEEDS`` lists
the fields that only make sense with another one set to ``True``, and
``SENT_AS`` how a value is written in the body when that is not a plain copy.

The numbers and enums come from ``_limits``, which the tests check against
the OpenAI schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Sequence, Tuple

from ._checks import (
    check_bool,
    check_choice,
    check_int,
    check_mapping,
    check_number,
    check_str,
    did_you_mean,
    fail,
    is_int,
    is_mapping,
    show,
    warn_unknown,
    wrong_type,
)
from ._limits import (
    ALLOWED_TOOLS_MODES,
    AUDIO_FORMATS,
    LOGIT_BIAS_RANGE,
    METADATA_KEY_MAX_LENGTH,
    METADATA_MAX_PAIRS,
    METADATA_VALUE_MAX_LENGTH,
    MODALITIES,
    MODERATION_MODES,
    N_RANGE,
    PENALTY_RANGE,
    PROMPT_CACHE_MODES,
    PROMPT_CACHE_TTLS,
    REASONING_EFFORTS,
    RESPONSE_FORMAT_TYPES,
    SAFETY_IDENTIFIER_MAX_LENGTH,
    SEARCH_CONTEXT_SIZES,
    SEED_RANGE,
    SERVICE_TIERS,
    STOP_MAX_ITEMS,
    TEMPERATURE_RANGE,
    TOOL_CHOICE_MODES,
    TOOL_CHOICE_TYPES,
    TOOL_TYPES,
    TOP_LOGPROBS_RANGE,
    TOP_P_RANGE,
    VERBOSITIES,
)
from .messages import OpenAITool, check_function_name, is_function_tool

__all__ = ["FIELD_NEEDS", "FIELD_RULES", "SENT_AS", "check_metadata", "check_needs"]

if TYPE_CHECKING:
    Rule = Callable[[str, Any], None]  # a field's check: (field name, value); raises if wrong


def check_metadata(field: str, value: Any) -> None:
    """``metadata`` (of a request or of a list filter): at most 16 pairs of short strings."""
    if value is None:
        return
    allowed = "a dict of at most %d string keys and values" % METADATA_MAX_PAIRS
    if not is_mapping(value):
        wrong_type(field, allowed, value)
    if len(value) > METADATA_MAX_PAIRS:
        raise ValueError("%s must be %s (got %d pairs)" % (field, allowed, len(value)))
    for key, item in value.items():
        check_str(field + " key", key, max_length=METADATA_KEY_MAX_LENGTH)
        check_str("%s[%r]" % (field, key), item, max_length=METADATA_VALUE_MAX_LENGTH)


def _number_or_minus_one(field: str, value: Any, minimum: float, maximum: float) -> None:
    """``temperature`` / ``top_p``: -1, their default, leaves them out."""
    if value != -1:
        allowed = "between %s and %s, or -1 to leave it out" % (minimum, maximum)
        check_number(field, value, minimum, maximum, allowed=allowed, optional=True)


def _open_enum(field: str, value: Any, known: Sequence[str]) -> None:
    """A string the API lists values for, where servers add their own: an unknown one warns."""
    check_str(field, value, optional=True)
    if value is not None and value not in known:
        warn_unknown(field, value, known)


def _logit_bias(field: str, value: Any) -> None:
    """A dict of token ids (ints, or strings of digits) to integers between -100 and 100."""
    if not is_mapping(value):
        wrong_type(field, "a dict of token ids to integers between -100 and 100", value)
    # JSON object keys are strings, so both 50256 and "50256" are accepted and "50256" is sent.
    allowed = "token ids (integers >= 0, or strings of digits)"
    for token, bias in value.items():
        if not (is_int(token) or isinstance(token, str)):
            wrong_type(field + " keys", allowed, token)
        if isinstance(token, str) and not (token and all(ch in "0123456789" for ch in token)):
            fail(field + " keys", allowed, token)
        if isinstance(token, int) and token < 0:
            fail(field + " keys", allowed, token)
        check_int("%s[%r]" % (field, token), bias, LOGIT_BIAS_RANGE[0], LOGIT_BIAS_RANGE[1])


def _stop(field: str, value: Any) -> None:
    """A string, or a list of 1 to 4 strings."""
    if isinstance(value, str):
        return
    allowed = "a string or a list of 1 to %d strings" % STOP_MAX_ITEMS
    if not isinstance(value, (list, tuple)):
        wrong_type(field, allowed, value)
    if not 1 <= len(value) <= STOP_MAX_ITEMS:
        raise ValueError("%s must be %s (got %d items: %s)" % (field, allowed, len(value), show(value)))
    for index, item in enumerate(value):
        check_str("%s[%d]" % (field, index), item)


def _modalities(field: str, value: Any) -> None:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        wrong_type(field, 'a list of "text" and/or "audio"', value)
    for index, modality in enumerate(value):
        check_choice("%s[%d]" % (field, index), modality, MODALITIES)


def _audio(field: str, value: Any) -> None:
    """A ``voice`` (a name, or ``{"id": ...}``) and a ``format``, both required."""
    check_mapping(field, value)
    voice = value.get("voice")
    if voice is None:
        raise ValueError('%s.voice is required (a voice name like "alloy", or {"id": "voice_..."})' % field)
    if is_mapping(voice):
        check_str(field + ".voice.id", voice.get("id"), non_empty=True)
    else:
        check_str(field + ".voice", voice, non_empty=True)
    if value.get("format") is None:
        raise ValueError(
            "%s.format is required (one of %s)" % (field, ", ".join(repr(f) for f in AUDIO_FORMATS))
        )
    check_choice(field + ".format", value.get("format"), AUDIO_FORMATS)


def _prediction(field: str, value: Any) -> None:
    """``{"type": "content", "content": <a string or a non-empty list of text parts>}``."""
    check_mapping(field, value)
    check_choice(field + ".type", value.get("type"), ("content",))
    content = value.get("content")
    if isinstance(content, str):
        return
    if not isinstance(content, (list, tuple)) or not content:
        wrong_type(field + ".content", "a string or a non-empty list of text parts", content)
    for index, part in enumerate(content):
        if not is_mapping(part) or part.get("type") != "text" or not isinstance(part.get("text"), str):
            wrong_type("%s.content[%d]" % (field, index), 'a text part {"type": "text", "text": "..."}', part)


def _response_format(field: str, value: Any) -> None:
    """A ``type`` (an unknown one warns: servers add their own) and, for ``json_schema``, the schema;
    or a Python type, whose schema is sent (``outputs.response_format_json``) and whose
    answer is read back as it."""
    if not is_mapping(value):
        from .outputs import response_format_json

        response_format_json(value)  # TypeError naming the part of the type that has no schema
        return
    kind = value.get("type")
    check_str(field + ".type", kind, non_empty=True)
    _open_enum(field + ".type", kind, RESPONSE_FORMAT_TYPES)
    if kind != "json_schema":
        return
    spec = value.get("json_schema")
    where = field + ".json_schema"
    if spec is None:
        raise ValueError(
            '%s is required when type is "json_schema" (a dict like {"name": "answer", "schema": {...}})'
            % where
        )
    check_mapping(where, spec)
    if "name" not in spec:
        raise ValueError("%s.name is required" % where)
    check_function_name(where + ".name", spec["name"])
    check_str(where + ".description", spec.get("description"), optional=True)
    check_mapping(where + ".schema", spec.get("schema"), optional=True)
    check_bool(where + ".strict", spec.get("strict"), optional=True)


def _tools(field: str, value: Any) -> None:
    """A list of tools: function tools as ``OpenAITool`` accepts them, Python functions
    (``OpenAITool.from_function``), custom tools, or others (warned)."""
    if isinstance(value, (str, Mapping)) or not isinstance(value, (list, tuple)):
        wrong_type(
            field, 'a list of tools like [{"name": ..., "description": ..., "parameters": {...}}]', value
        )
    for index, tool in enumerate(value):
        path = "%s[%d]" % (field, index)
        if isinstance(tool, OpenAITool):
            tool.validate(path)
            continue
        if is_function_tool(tool):
            try:
                OpenAITool.from_function(tool)
            except TypeError as exc:  # it names the function and the parameter
                raise TypeError("%s: %s" % (path, exc)) from None
            continue
        if not is_mapping(tool):
            wrong_type(path, "an OpenAITool, a tool dict or a function", tool)
        kind = tool.get("type")
        if kind is None or kind == "function":
            OpenAITool.from_dict(tool, path=path)
            continue
        check_str(path + ".type", kind, non_empty=True)
        if kind == "custom":
            _named(path + ".custom", tool.get("custom"), "my_tool")
        else:
            # Servers add built-in tool types (Groq's "browser_search", ...).
            warn_unknown(path + ".type", kind, TOOL_TYPES)


def _named(field: str, value: Any, example: str) -> None:
    """A dict with a non-empty ``name``: a custom tool, or the tool a ``tool_choice`` names."""
    if not is_mapping(value):
        wrong_type(field, 'a dict like {"name": "%s"}' % example, value)
    check_str(field + ".name", value.get("name"), non_empty=True)


def _tool_json(tool: Any) -> Dict[str, Any]:
    """One tool (checked already) in the API's form; function tools go through ``OpenAITool``."""
    if isinstance(tool, OpenAITool):
        return tool.to_dict()
    if is_function_tool(tool):
        return OpenAITool.from_function(tool).to_dict()
    if tool.get("type") in (None, "function"):
        return OpenAITool.from_dict(tool).to_dict()
    return dict(tool)


def _tool_choice(field: str, value: Any) -> None:
    """A mode (``"auto"``, ...) or a dict naming a tool; an unknown dict ``type`` warns."""
    if isinstance(value, str):
        if value not in TOOL_CHOICE_MODES:
            raise ValueError(
                "%s must be one of %s, or a dict such as "
                '{"type": "function", "function": {"name": "my_function"}} (got %s)%s'
                % (
                    field,
                    ", ".join(repr(m) for m in TOOL_CHOICE_MODES),
                    show(value),
                    did_you_mean(value, TOOL_CHOICE_MODES),
                )
            )
        return
    if not is_mapping(value):
        wrong_type(field, "'none', 'auto', 'required' or a dict", value)
    kind = value.get("type")
    check_str(field + ".type", kind, non_empty=True)
    if kind in ("function", "custom"):
        _named("%s.%s" % (field, kind), value.get(kind), "my_function")
    elif kind == "allowed_tools":
        allowed = value.get("allowed_tools")
        where = field + ".allowed_tools"
        if not is_mapping(allowed):
            wrong_type(where, 'a dict like {"mode": "auto", "tools": [...]}', allowed)
        check_choice(where + ".mode", allowed.get("mode"), ALLOWED_TOOLS_MODES)
        tools = allowed.get("tools")
        if not isinstance(tools, (list, tuple)):
            wrong_type(where + ".tools", "a list of tool dicts", tools)
        for index, tool in enumerate(tools):
            check_mapping("%s.tools[%d]" % (where, index), tool)
    else:
        warn_unknown(field + ".type", str(kind), TOOL_CHOICE_TYPES)


def _stream_options(field: str, value: Any) -> None:
    check_mapping(field, value)
    for key in ("include_usage", "include_obfuscation"):
        check_bool("%s.%s" % (field, key), value.get(key), optional=True)


def _web_search_options(field: str, value: Any) -> None:
    """``search_context_size`` (an unknown one warns) and an approximate ``user_location``."""
    check_mapping(field, value)
    _open_enum(field + ".search_context_size", value.get("search_context_size"), SEARCH_CONTEXT_SIZES)
    location = value.get("user_location")
    if location is None:
        return
    where = field + ".user_location"
    check_mapping(where, location)
    check_choice(where + ".type", location.get("type"), ("approximate",))
    approximate = location.get("approximate")
    check_mapping(where + ".approximate", approximate)
    for key, item in approximate.items():
        check_str("%s.approximate.%s" % (where, key), item)


def _prompt_cache_options(field: str, value: Any) -> None:
    """``ttl`` and ``mode``, open enums."""
    check_mapping(field, value)
    for key, known in (("ttl", PROMPT_CACHE_TTLS), ("mode", PROMPT_CACHE_MODES)):
        _open_enum("%s.%s" % (field, key), value.get(key), known)


def _moderation(field: str, value: Any) -> None:
    """A ``model`` and an optional ``policy`` per side; an unknown policy ``mode`` warns."""
    check_mapping(field, value)
    check_str(field + ".model", value.get("model"), non_empty=True)
    policy = value.get("policy")
    if policy is None:
        return
    check_mapping(field + ".policy", policy)
    for side in ("input", "output"):
        config = policy.get(side)
        if config is None:
            continue
        where = "%s.policy.%s" % (field, side)
        check_mapping(where, config)
        mode = config.get("mode")
        check_str(where + ".mode", mode, non_empty=True)
        _open_enum(where + ".mode", mode, MODERATION_MODES)


# The rule of every request field: rule(field, value). It only sees values other than the
# field's default; the fields whose default is not None also take None ("leave it out").
# (Lambdas rather than functools.partial: a partial with keywords merges them into a new dict
# on every call, and these run on every request.)
FIELD_RULES: Dict[str, Rule] = {
    "model": lambda field, value: check_str(field, value, non_empty=True),
    "stream": check_bool,
    "max_completion_tokens": lambda field, value: check_int(
        field, value, 0, allowed="an integer >= 1, or 0 to leave it out", optional=True
    ),
    "n": lambda field, value: check_int(field, value, N_RANGE[0], N_RANGE[1], optional=True),
    "temperature": lambda field, value: _number_or_minus_one(
        field, value, TEMPERATURE_RANGE[0], TEMPERATURE_RANGE[1]
    ),
    "store": check_bool,
    "top_p": lambda field, value: _number_or_minus_one(field, value, TOP_P_RANGE[0], TOP_P_RANGE[1]),
    "frequency_penalty": lambda field, value: check_number(field, value, PENALTY_RANGE[0], PENALTY_RANGE[1]),
    "presence_penalty": lambda field, value: check_number(field, value, PENALTY_RANGE[0], PENALTY_RANGE[1]),
    "logit_bias": _logit_bias,
    # (the message then says None leaves it out)
    "logprobs": lambda field, value: check_bool(field, value, optional=True),
    "top_logprobs": lambda field, value: check_int(
        field, value, TOP_LOGPROBS_RANGE[0], TOP_LOGPROBS_RANGE[1]
    ),
    "seed": lambda field, value: check_int(
        field, value, SEED_RANGE[0], SEED_RANGE[1], allowed="a 64-bit signed integer"
    ),
    "stop": _stop,
    "metadata": check_metadata,
    "modalities": _modalities,
    "audio": _audio,
    "prediction": _prediction,
    "response_format": _response_format,
    "tools": _tools,
    "tool_choice": _tool_choice,
    "parallel_tool_calls": lambda field, value: check_bool(field, value, optional=True),
    "reasoning_effort": lambda field, value: _open_enum(field, value, REASONING_EFFORTS),
    "service_tier": lambda field, value: _open_enum(field, value, SERVICE_TIERS),
    "verbosity": lambda field, value: _open_enum(field, value, VERBOSITIES),
    "stream_options": _stream_options,
    "web_search_options": _web_search_options,
    "safety_identifier": lambda field, value: check_str(
        field, value, max_length=SAFETY_IDENTIFIER_MAX_LENGTH
    ),
    "prompt_cache_key": check_str,
    "prompt_cache_options": _prompt_cache_options,
    "moderation": _moderation,
    "max_tokens": lambda field, value: check_int(
        field, value, 0, allowed="an integer >= 0, or None to leave it out"
    ),
}

# (field, the field it needs set to True), each quoting the schema.
FIELD_NEEDS: Tuple[Tuple[str, str], ...] = (
    ("top_logprobs", "logprobs"),  # "`logprobs` must be set to `true` if this parameter is used."
    ("stream_options", "stream"),  # "Only set this when you set `stream: true`."
)


def check_needs(field: str, value: Any, needed: str, needed_value: Any) -> None:
    """``field``, when set, needs ``needed`` to be ``True``."""
    if value is not None and needed_value is not True:
        raise ValueError(
            "%s needs %s=True (got %s=%s with %s=%r)"
            % (field, needed, field, show(value), needed, needed_value)
        )


# How a value (checked already) is written in the body, where that is not a plain copy.
SENT_AS: Dict[str, Callable[[Any], Any]] = {
    "logit_bias": lambda value: {str(token): bias for token, bias in value.items()},
    "tools": lambda value: [_tool_json(tool) for tool in value],
    "response_format": lambda value: dict(value) if is_mapping(value) else _response_format_json(value),
}


def _response_format_json(value: Any) -> Dict[str, Any]:
    from .outputs import response_format_json

    return response_format_json(value)
