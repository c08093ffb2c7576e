"""The rules of the Chat Completions fields: ``OpenAIChatCompletionParameters`` checks.

One function per group of fields, called by the class in this order: the
seed's fields, sampling, output, tools, then the other options. Each raises
``ValueError`` / ``TypeError`` naming the first bad field (see ``_checks``).
The numbers and enums come from ``_limits``, which the tests check against
the OpenAI schema.

``depth`` is how many frames above the function the user's code is, so that a
warning about an unknown value of an open enum points at the caller's line:
each function passes ``depth + 1`` to the ones it calls.
"""

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional

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
from .messages import OpenAITool, check_function_name

if TYPE_CHECKING:  # only for the annotations: parameters.py imports this module
    from .parameters import OpenAIChatCompletionParameters

__all__ = [
    "check_metadata",
    "check_options",
    "check_output",
    "check_sampling",
    "check_seed_fields",
    "check_tools",
    "normalised_tools",
]


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


def check_seed_fields(p: "OpenAIChatCompletionParameters") -> None:
    """The seed's six fields, with the seed's "leave it out" values (``temperature=-1``, ...)."""
    check_str("model", p.model, non_empty=True)
    check_bool("stream", p.stream)
    check_int(
        "max_completion_tokens",
        p.max_completion_tokens,
        0,
        allowed="an integer >= 1, or 0 to leave it out",
        optional=True,
    )
    check_int("n", p.n, *N_RANGE, optional=True)
    if p.temperature != -1:
        check_number(
            "temperature",
            p.temperature,
            *TEMPERATURE_RANGE,
            allowed="between 0 and 2, or -1 to leave it out",
            optional=True,
        )
    check_bool("store", p.store)


def check_sampling(p: "OpenAIChatCompletionParameters") -> None:
    """``top_p``, the penalties, ``logit_bias``, ``logprobs`` / ``top_logprobs``, ``seed`` and ``stop``."""
    if (p.top_p == -1 and p.frequency_penalty is None and p.presence_penalty is None
            and p.logit_bias is None and p.logprobs is None and p.top_logprobs is None
            and p.seed is None and p.stop is None):
        return  # none of them set, as in most calls: nothing to check
    if p.top_p != -1:
        check_number(
            "top_p",
            p.top_p,
            *TOP_P_RANGE,
            allowed="between 0 and 1, or -1 to leave it out",
            optional=True,
        )
    check_number("frequency_penalty", p.frequency_penalty, *PENALTY_RANGE, optional=True)
    check_number("presence_penalty", p.presence_penalty, *PENALTY_RANGE, optional=True)
    if p.logit_bias is not None:
        if not is_mapping(p.logit_bias):
            wrong_type(
                "logit_bias", "a dict of token ids to integers between -100 and 100", p.logit_bias
            )
        for token, bias in p.logit_bias.items():
            # Keys are token ids; JSON object keys are strings, so both
            # 50256 and "50256" are accepted and "50256" is sent.
            allowed = "token ids (integers >= 0, or strings of digits)"
            if not (is_int(token) or isinstance(token, str)):
                wrong_type("logit_bias keys", allowed, token)
            if isinstance(token, str) and not (token and all(ch in "0123456789" for ch in token)):
                fail("logit_bias keys", allowed, token)
            if isinstance(token, int) and token < 0:
                fail("logit_bias keys", allowed, token)
            check_int("logit_bias[%r]" % (token,), bias, *LOGIT_BIAS_RANGE)
    check_bool("logprobs", p.logprobs, optional=True)
    check_int("top_logprobs", p.top_logprobs, *TOP_LOGPROBS_RANGE, optional=True)
    if p.top_logprobs is not None and p.logprobs is not True:
        # The schema: "`logprobs` must be set to `true` if this parameter is used."
        raise ValueError(
            "top_logprobs needs logprobs=True (got top_logprobs=%r with logprobs=%r)"
            % (p.top_logprobs, p.logprobs)
        )
    check_int("seed", p.seed, *SEED_RANGE, allowed="a 64-bit signed integer", optional=True)
    if p.stop is not None and not isinstance(p.stop, str):
        allowed = "a string or a list of 1 to %d strings" % STOP_MAX_ITEMS
        if not isinstance(p.stop, (list, tuple)):
            wrong_type("stop", allowed, p.stop)
        if not 1 <= len(p.stop) <= STOP_MAX_ITEMS:
            raise ValueError(
                "stop must be %s (got %d items: %s)" % (allowed, len(p.stop), show(p.stop))
            )
        for index, item in enumerate(p.stop):
            check_str("stop[%d]" % index, item)


def check_output(p: "OpenAIChatCompletionParameters", depth: int) -> None:
    """What comes back: ``metadata``, ``modalities``, ``audio``, ``prediction``, ``response_format``."""
    check_metadata("metadata", p.metadata)
    if p.modalities is not None:
        if isinstance(p.modalities, str) or not isinstance(p.modalities, (list, tuple)):
            wrong_type("modalities", 'a list of "text" and/or "audio"', p.modalities)
        for index, modality in enumerate(p.modalities):
            check_choice("modalities[%d]" % index, modality, MODALITIES)
    if p.audio is not None:
        check_mapping("audio", p.audio)
        voice = p.audio.get("voice")
        if voice is None:
            raise ValueError(
                'audio.voice is required (a voice name like "alloy", or {"id": "voice_..."})'
            )
        if is_mapping(voice):
            check_str("audio.voice.id", voice.get("id"), non_empty=True)
        else:
            check_str("audio.voice", voice, non_empty=True)
        if p.audio.get("format") is None:
            raise ValueError(
                "audio.format is required (one of %s)" % ", ".join(repr(f) for f in AUDIO_FORMATS)
            )
        check_choice("audio.format", p.audio.get("format"), AUDIO_FORMATS)
    if p.prediction is not None:
        check_mapping("prediction", p.prediction)
        check_choice("prediction.type", p.prediction.get("type"), ("content",))
        content = p.prediction.get("content")
        if not isinstance(content, str):
            if not isinstance(content, (list, tuple)) or not content:
                wrong_type("prediction.content", "a string or a non-empty list of text parts", content)
            for index, part in enumerate(content):
                if (
                    not is_mapping(part)
                    or part.get("type") != "text"
                    or not isinstance(part.get("text"), str)
                ):
                    wrong_type(
                        "prediction.content[%d]" % index,
                        'a text part {"type": "text", "text": "..."}',
                        part,
                    )
    if p.response_format is not None:
        check_response_format(p.response_format, depth + 1)


def check_response_format(rf: Mapping[str, Any], depth: int) -> None:
    """``response_format``; an unknown ``type`` warns (servers add their own)."""
    check_mapping("response_format", rf)
    kind = rf.get("type")
    check_str("response_format.type", kind, non_empty=True)
    if kind not in RESPONSE_FORMAT_TYPES:
        warn_unknown("response_format.type", str(kind), RESPONSE_FORMAT_TYPES, stacklevel=depth + 1)
    if kind == "json_schema":
        spec = rf.get("json_schema")
        if spec is None:
            raise ValueError(
                'response_format.json_schema is required when type is "json_schema" '
                '(a dict like {"name": "answer", "schema": {...}})'
            )
        check_mapping("response_format.json_schema", spec)
        if "name" not in spec:
            raise ValueError("response_format.json_schema.name is required")
        check_function_name("response_format.json_schema.name", spec["name"])
        check_str("response_format.json_schema.description", spec.get("description"), optional=True)
        check_mapping("response_format.json_schema.schema", spec.get("schema"), optional=True)
        check_bool("response_format.json_schema.strict", spec.get("strict"), optional=True)


def check_tools(p: "OpenAIChatCompletionParameters", depth: int) -> None:
    """``tools`` and ``tool_choice``; an unknown tool or tool-choice type warns."""
    if p.tools is not None:
        normalised_tools(p.tools, depth + 1)
    choice = p.tool_choice
    if choice is None:
        return
    if isinstance(choice, str):
        if choice not in TOOL_CHOICE_MODES:
            raise ValueError(
                "tool_choice must be one of %s, or a dict such as "
                '{"type": "function", "function": {"name": "my_function"}} (got %s)%s'
                % (
                    ", ".join(repr(m) for m in TOOL_CHOICE_MODES),
                    show(choice),
                    did_you_mean(choice, TOOL_CHOICE_MODES),
                )
            )
        return
    if not is_mapping(choice):
        wrong_type("tool_choice", "'none', 'auto', 'required' or a dict", choice)
    kind = choice.get("type")
    check_str("tool_choice.type", kind, non_empty=True)
    if kind in ("function", "custom"):
        inner = choice.get(kind)
        if not isinstance(inner, Mapping):
            wrong_type("tool_choice.%s" % kind, 'a dict like {"name": "my_function"}', inner)
        check_str("tool_choice.%s.name" % kind, inner.get("name"), non_empty=True)
    elif kind == "allowed_tools":
        allowed = choice.get("allowed_tools")
        if not isinstance(allowed, Mapping):
            wrong_type(
                "tool_choice.allowed_tools", 'a dict like {"mode": "auto", "tools": [...]}', allowed
            )
        check_choice("tool_choice.allowed_tools.mode", allowed.get("mode"), ALLOWED_TOOLS_MODES)
        tools = allowed.get("tools")
        if not isinstance(tools, (list, tuple)):
            wrong_type("tool_choice.allowed_tools.tools", "a list of tool dicts", tools)
        for index, tool in enumerate(tools):
            check_mapping("tool_choice.allowed_tools.tools[%d]" % index, tool)
    else:
        warn_unknown("tool_choice.type", str(kind), TOOL_CHOICE_TYPES, stacklevel=depth + 1)


def normalised_tools(tools: Any, depth: Optional[int]) -> List[Dict[str, Any]]:
    """``tools`` in the API's form; function tools go through ``OpenAITool``.

    ``depth`` places warnings on the caller's line; ``None`` means the
    tools were just validated (and warned about), so stay quiet.
    """
    if isinstance(tools, (str, Mapping)) or not isinstance(tools, (list, tuple)):
        wrong_type(
            "tools",
            'a list of tools like [{"name": ..., "description": ..., "parameters": {...}}]',
            tools,
        )
    result: List[Dict[str, Any]] = []
    for index, tool in enumerate(tools):
        path = "tools[%d]" % index
        if isinstance(tool, OpenAITool):
            tool.validate(path)
            result.append(tool.to_dict())
            continue
        if not is_mapping(tool):
            wrong_type(path, "an OpenAITool or a tool dict", tool)
        kind = tool.get("type")
        if kind is None or kind == "function":
            result.append(OpenAITool.from_dict(tool, path=path).to_dict())
            continue
        check_str(path + ".type", kind, non_empty=True)
        if kind == "custom":
            custom = tool.get("custom")
            if not is_mapping(custom):
                wrong_type(path + ".custom", 'a dict like {"name": "my_tool"}', custom)
            check_str(path + ".custom.name", custom.get("name"), non_empty=True)
        elif depth is not None:
            # Servers add built-in tool types (Groq's "browser_search", ...).
            warn_unknown(path + ".type", kind, TOOL_TYPES, stacklevel=depth + 1)
        result.append(dict(tool))
    return result


def check_options(p: "OpenAIChatCompletionParameters", depth: int) -> None:
    """The rest: open enums, ``stream_options``, web search, prompt cache, moderation, ``max_tokens``."""
    if (p.parallel_tool_calls is None and p.reasoning_effort is None and p.service_tier is None
            and p.verbosity is None and p.stream_options is None and p.web_search_options is None
            and p.safety_identifier is None and p.prompt_cache_key is None
            and p.prompt_cache_options is None and p.moderation is None and p.max_tokens is None):
        return  # none of them set, as in most calls: nothing to check
    check_bool("parallel_tool_calls", p.parallel_tool_calls, optional=True)
    for name, known in (
        ("reasoning_effort", REASONING_EFFORTS),
        ("service_tier", SERVICE_TIERS),
        ("verbosity", VERBOSITIES),
    ):
        value = getattr(p, name)
        check_str(name, value, optional=True)
        if value is not None and value not in known:
            warn_unknown(name, value, known, stacklevel=depth + 1)
    if p.stream_options is not None:
        check_mapping("stream_options", p.stream_options)
        if not p.stream:
            # The schema: "Only set this when you set `stream: true`."
            raise ValueError(
                "stream_options needs stream=True (got stream_options=%s with stream=False)"
                % show(p.stream_options)
            )
        for key in ("include_usage", "include_obfuscation"):
            check_bool("stream_options.%s" % key, p.stream_options.get(key), optional=True)
    if p.web_search_options is not None:
        check_web_search(p.web_search_options, depth + 1)
    check_str(
        "safety_identifier",
        p.safety_identifier,
        max_length=SAFETY_IDENTIFIER_MAX_LENGTH,
        optional=True,
    )
    check_str("prompt_cache_key", p.prompt_cache_key, optional=True)
    if p.prompt_cache_options is not None:
        check_mapping("prompt_cache_options", p.prompt_cache_options)
        for key, known in (("ttl", PROMPT_CACHE_TTLS), ("mode", PROMPT_CACHE_MODES)):
            value = p.prompt_cache_options.get(key)
            check_str("prompt_cache_options.%s" % key, value, optional=True)
            if value is not None and value not in known:
                warn_unknown("prompt_cache_options.%s" % key, value, known, stacklevel=depth + 1)
    if p.moderation is not None:
        check_moderation(p.moderation, depth + 1)
    check_int(
        "max_tokens",
        p.max_tokens,
        0,
        allowed="an integer >= 0, or None to leave it out",
        optional=True,
    )


def check_web_search(options: Mapping[str, Any], depth: int) -> None:
    """``web_search_options``; an unknown ``search_context_size`` warns."""
    check_mapping("web_search_options", options)
    size = options.get("search_context_size")
    check_str("web_search_options.search_context_size", size, optional=True)
    if size is not None and size not in SEARCH_CONTEXT_SIZES:
        warn_unknown(
            "web_search_options.search_context_size", size, SEARCH_CONTEXT_SIZES, stacklevel=depth + 1
        )
    location = options.get("user_location")
    if location is not None:
        check_mapping("web_search_options.user_location", location)
        check_choice("web_search_options.user_location.type", location.get("type"), ("approximate",))
        approximate = location.get("approximate")
        check_mapping("web_search_options.user_location.approximate", approximate)
        for key, value in approximate.items():
            check_str("web_search_options.user_location.approximate.%s" % key, value)


def check_moderation(moderation: Mapping[str, Any], depth: int) -> None:
    """``moderation``; an unknown policy ``mode`` warns."""
    check_mapping("moderation", moderation)
    check_str("moderation.model", moderation.get("model"), non_empty=True)
    policy = moderation.get("policy")
    if policy is None:
        return
    check_mapping("moderation.policy", policy)
    for side in ("input", "output"):
        config = policy.get(side)
        if config is None:
            continue
        check_mapping("moderation.policy.%s" % side, config)
        mode = config.get("mode")
        check_str("moderation.policy.%s.mode" % side, mode, non_empty=True)
        if mode not in MODERATION_MODES:
            warn_unknown("moderation.policy.%s.mode" % side, mode, MODERATION_MODES, stacklevel=depth + 1)
