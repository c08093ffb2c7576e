"""Limits and enums of ``CreateChatCompletionRequest``, from the OpenAI OpenAPI schema.

Plain constants, nothing else: the parameter classes check values against
them, and ``tests/test_openapi_schema.py`` checks each one against the reference
schema in ``tests/data/openapi/``, so a change in the schema shows up as a
failing test rather than as a silently stale rule.
"""

from __future__ import annotations

from typing import Tuple

__all__ = [
    "ALLOWED_TOOLS_MODES",
    "AUDIO_FORMATS",
    "LIST_ORDERS",
    "LOGIT_BIAS_RANGE",
    "METADATA_KEY_MAX_LENGTH",
    "METADATA_MAX_PAIRS",
    "METADATA_VALUE_MAX_LENGTH",
    "MODALITIES",
    "MODERATION_MODES",
    "N_RANGE",
    "PENALTY_RANGE",
    "PROMPT_CACHE_MODES",
    "PROMPT_CACHE_TTLS",
    "REASONING_EFFORTS",
    "RESPONSE_FORMAT_TYPES",
    "SAFETY_IDENTIFIER_MAX_LENGTH",
    "SEARCH_CONTEXT_SIZES",
    "SEED_RANGE",
    "SERVICE_TIERS",
    "STOP_MAX_ITEMS",
    "TEMPERATURE_RANGE",
    "TOOL_CHOICE_MODES",
    "TOOL_CHOICE_TYPES",
    "TOOL_TYPES",
    "TOP_LOGPROBS_RANGE",
    "TOP_P_RANGE",
    "VERBOSITIES",
]

# --- Ranges and sizes. ---
TEMPERATURE_RANGE = (0, 2)
TOP_P_RANGE = (0, 1)
PENALTY_RANGE = (-2, 2)  # frequency_penalty, presence_penalty
N_RANGE = (1, 128)
TOP_LOGPROBS_RANGE = (0, 20)
LOGIT_BIAS_RANGE = (-100, 100)  # from the description: "a bias value from -100 to 100"
SEED_RANGE = (-(2**63), 2**63 - 1)  # the schema writes the int64 bounds as +-9223372036854776000
STOP_MAX_ITEMS = 4
# Metadata: "Set of 16 key-value pairs ... Keys are strings with a maximum
# length of 64 characters. Values are strings with a maximum length of 512."
METADATA_MAX_PAIRS = 16
METADATA_KEY_MAX_LENGTH = 64
METADATA_VALUE_MAX_LENGTH = 512
SAFETY_IDENTIFIER_MAX_LENGTH = 64

# --- Closed enums: anything else is an error. ---
MODALITIES: Tuple[str, ...] = ("text", "audio")
AUDIO_FORMATS: Tuple[str, ...] = ("wav", "aac", "mp3", "flac", "opus", "pcm16")
TOOL_CHOICE_MODES: Tuple[str, ...] = ("none", "auto", "required")
ALLOWED_TOOLS_MODES: Tuple[str, ...] = ("auto", "required")
LIST_ORDERS: Tuple[str, ...] = ("asc", "desc")  # GET /chat/completions, query parameter "order"

# --- Open enums: OpenAI adds values and compatible servers add their own, so
# --- an unknown value is sent as given, with a warning naming the closest known one.
REASONING_EFFORTS: Tuple[str, ...] = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
SERVICE_TIERS: Tuple[str, ...] = ("auto", "default", "flex", "scale", "priority", "fast")
VERBOSITIES: Tuple[str, ...] = ("low", "medium", "high")
RESPONSE_FORMAT_TYPES: Tuple[str, ...] = ("text", "json_schema", "json_object")  # vLLM adds "structural_tag"
TOOL_TYPES: Tuple[str, ...] = ("function", "custom")
TOOL_CHOICE_TYPES: Tuple[str, ...] = ("function", "allowed_tools", "custom")
SEARCH_CONTEXT_SIZES: Tuple[str, ...] = ("low", "medium", "high")
PROMPT_CACHE_TTLS: Tuple[str, ...] = ("30m",)
PROMPT_CACHE_MODES: Tuple[str, ...] = ("implicit", "explicit")
MODERATION_MODES: Tuple[str, ...] = ("score", "block")
