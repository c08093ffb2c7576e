"""Profiles: what one kind of server needs, as data, and the one function that applies it.

A server that speaks "OpenAI-compatible" rarely honours every field: Mistral
answers 422 to ``max_completion_tokens``, llama-cpp-python's server ignores
``n`` and answers 500 to a ``json_schema`` response format, Groq refuses
``logit_bias``. A :class:`Profile` writes down what one kind of server needs,
rule by rule, and :func:`adapt` applies it to a request body, pure and
without I/O::

    >>> body = {"messages": [{"role": "user", "content": "Hi"}], "model": "m",
    ...         "max_completion_tokens": 5}
    >>> adapted, applied = adapt(PROFILES["llama-cpp-python"], body)
    >>> adapted["max_tokens"], [str(rule) for rule in applied]
    (5, ['max_completion_tokens -> max_tokens'])
    >>> adapt(PROFILES["generic"], body)[0] is body   # nothing to do: the same dict back
    True

The rule kinds, in the order :func:`adapt` applies them:

=====================  ===========================================================
``translate``          a field's value replaced by the server's word for it
                       (Mistral: ``tool_choice`` ``"required"`` -> ``"any"``)
``forced_tool_choice`` how the server must be told to call a tool: ``"named"``
                       (``"required"`` with one tool is sent as that tool's name:
                       llama-cpp-python ignores ``"required"``) or ``"required"``
                       (a named tool is sent as ``"required"`` with only that tool:
                       llama.cpp's server ignores the named form)
``rename``             a field sent under the server's name for it
                       (``max_completion_tokens`` -> ``max_tokens``); when the
                       target is set too, the target wins and the source is left out
``stream_usage``       False: the server sends no usage chunk in a stream, whatever
                       ``stream_options.include_usage`` says; a stream that asks for
                       it is sent as one request without ``stream`` (where the
                       server reports ``usage``) and its answer delivered as chunks,
                       the usage chunk last, all at once when the answer is done
                       (one warning per client; see docs/providers.md)
``drop``               fields the server rejects (or ignores), left out with one
                       warning per client naming the field and the profile;
                       ``"a.b"`` names a key inside an object field
``response_format``    how a JSON Schema is sent: ``"json_schema"`` as OpenAI
                       writes it, or ``"json_object+schema"``
                       (``{"type": "json_object", "schema": ...}``, llama-cpp-python)
``tool_call_content``  ``""``: an assistant message with ``tool_calls`` whose
                       ``content`` is null or missing is sent with ``""``
``drop_message_keys``  keys left out of every message (Groq refuses ``name``)
``n``                  False: ``n > 1`` is emulated by ``n`` requests (the
                       client merges their choices; see docs/providers.md)
``reasoning``          response keys read as ``message.reasoning_content``
                       (vLLM's and Ollama's ``reasoning``), in whole answers and
                       in stream deltas
=====================  ===========================================================

Choosing one (:func:`profile_for`): the name, dict or :class:`Profile` given;
else the profile of a known host in the base URL (``api.mistral.ai`` ->
``mistral``); else ``generic``, which changes nothing. No request is ever sent
to guess. The evidence for each built-in rule is in docs/providers.md.
"""

from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple, Union

from ._checks import did_you_mean, is_mapping, show, wrong_type

__all__ = ["Profile", "Applied", "PROFILES", "HOSTS", "WARNINGS", "adapt", "profile_for", "read_reasoning"]

#: How a JSON Schema response format may be sent (see ``Profile.response_format``).
RESPONSE_FORMATS = ("json_schema", "json_object+schema")
#: How a forced tool call may be asked for (see ``Profile.forced_tool_choice``).
FORCED_TOOL_CHOICES = ("named", "required")


@dataclass(frozen=True)
class Profile:
    """What one kind of server needs; every rule kind is described in the module docstring.

    Build one from a dict with :meth:`from_dict` (``{"extends": "llama.cpp", "drop": [...]}``);
    :data:`PROFILES` holds the built-in ones.
    """

    name: str
    description: str = ""
    translate: Mapping[str, Mapping[Any, Any]] = field(default_factory=dict)
    forced_tool_choice: Optional[str] = None
    rename: Mapping[str, str] = field(default_factory=dict)
    drop: Tuple[str, ...] = ()
    response_format: str = "json_schema"
    tool_call_content: Optional[str] = None
    drop_message_keys: Tuple[str, ...] = ()
    n: bool = True
    reasoning: Tuple[str, ...] = ()
    stream_usage: bool = True

    def __hash__(self) -> int:  # (the rule tables are dicts: a profile is known by its name)
        return hash(self.name)

    @cached_property  # (read on every request; computed once)
    def is_generic(self) -> bool:
        """True when no rule changes a request (the body is sent exactly as built)."""
        return not (
            self.translate
            or self.forced_tool_choice is not None
            or self.rename
            or self.drop
            or self.response_format != "json_schema"
            or self.tool_call_content is not None
            or self.drop_message_keys
            or not self.n
            or not self.stream_usage
        )

    @cached_property  # (read with every answer; computed once)
    def reasoning_renames(self) -> Tuple[str, ...]:
        """The response keys this profile reads as ``reasoning_content`` (itself left out)."""
        return tuple(key for key in self.reasoning if key != "reasoning_content")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, field_name: str = "profile") -> "Profile":
        """A profile from a dict: ``extends`` names a built-in to start from (else nothing
        is adapted), and each rule key given replaces that profile's rule.

        >>> Profile.from_dict({"name": "mine", "extends": "mistral", "drop": ["user"]}).drop
        ('user',)

        An unknown key raises ``ValueError`` with the closest known one.
        """
        if not is_mapping(d):
            wrong_type(field_name, "a profile name or a dict of rules", d)
        known = [f.name for f in fields(cls)] + ["extends"]
        for key in d:
            if key not in known:
                raise ValueError(
                    "%s has an unknown rule %s (the rules are: %s)%s"
                    % (field_name, show(key), ", ".join(known), did_you_mean(str(key), known))
                )
        base_name = d.get("extends", "generic")
        base = _known(field_name + ".extends", base_name)
        changes = {key: check(field_name + "." + key, d[key]) for key, check in _CHECKS.items() if key in d}
        changes["name"] = _check_str(
            field_name + ".name", d.get("name", base_name if "extends" in d else "custom")
        )
        return replace(base, **changes)


class Applied(NamedTuple):
    """One rule that changed a request: ``kind`` (a rule kind), the ``field`` it touched,
    and ``text``, how the log line and ``str()`` describe it."""

    kind: str
    field: str
    text: str
    #: For the ``n`` rule: how many requests the call is sent as.
    requests: int = 1

    def __str__(self) -> str:
        return self.text


# -- checking the rules of a dict ----------------------------------------------------------------


def _check_str(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        wrong_type(where, "a non-empty string", value)
    return value


def _check_names(where: str, value: Any) -> Tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        wrong_type(where, "a list of field names", value)
    return tuple(_check_str("%s[%d]" % (where, index), item) for index, item in enumerate(value))


def _check_rename(where: str, value: Any) -> Dict[str, str]:
    if not is_mapping(value):
        wrong_type(where, 'a dict of field names, like {"max_completion_tokens": "max_tokens"}', value)
    return {_check_str(where, key): _check_str("%s.%s" % (where, key), new) for key, new in value.items()}


def _check_translate(where: str, value: Any) -> Dict[str, Dict[Any, Any]]:
    if not is_mapping(value):
        wrong_type(
            where,
            'a dict of fields to {value: replacement}, like {"tool_choice": {"required": "any"}}',
            value,
        )
    out: Dict[str, Dict[Any, Any]] = {}
    for key, table in value.items():
        _check_str(where, key)
        if not is_mapping(table):
            wrong_type("%s.%s" % (where, key), "a dict of {value: replacement}", table)
        out[key] = dict(table)
    return out


def _check_choice(where: str, value: Any, choices: Tuple[str, ...], none: bool = False) -> Any:
    """``value`` when it is one of ``choices`` (or None, when ``none`` allows it)."""
    if value in choices or (none and value is None):
        return value
    raise ValueError(
        "%s must be %sone of %s (got %s)%s"
        % (
            where,
            "None (as given) or " if none else "",
            ", ".join(repr(f) for f in choices),
            show(value),
            did_you_mean(str(value), choices),
        )
    )


def _check_content(where: str, value: Any) -> Optional[str]:
    if value is not None and not isinstance(value, str):
        wrong_type(where, 'None (send as given) or a string (usually "")', value)
    return value


def _check_bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        wrong_type(where, "True or False", value)
    return value


_CHECKS = {
    "description": _check_str,
    "translate": _check_translate,
    "rename": _check_rename,
    "drop": _check_names,
    "response_format": lambda where, value: _check_choice(where, value, RESPONSE_FORMATS),
    "tool_call_content": _check_content,
    "forced_tool_choice": lambda where, value: _check_choice(where, value, FORCED_TOOL_CHOICES, none=True),
    "drop_message_keys": _check_names,
    "n": _check_bool,
    "reasoning": _check_names,
    "stream_usage": _check_bool,
}


# -- the built-in profiles (evidence for each rule: docs/providers.md) -----------------------------

_MAX_TOKENS = {"max_completion_tokens": "max_tokens"}

PROFILES: Mapping[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile("generic", "send what was set, nothing adapted"),
        Profile(
            "openai",
            "api.openai.com",
            # max_tokens is deprecated and refused by reasoning models; the other cap works on all.
            rename={"max_tokens": "max_completion_tokens"},
        ),
        Profile("azure", "Azure OpenAI", rename={"max_tokens": "max_completion_tokens"}),
        Profile(
            "mistral",
            "api.mistral.ai: a strict schema, 422 for any field it does not know",
            translate={"tool_choice": {"required": "any"}},
            rename=dict(_MAX_TOKENS, seed="random_seed"),
            drop=(
                "logprobs",
                "top_logprobs",
                "logit_bias",
                "user",
                "store",
                "metadata",
                "stream_options",
                "modalities",
                "audio",
                "service_tier",
                "reasoning_effort",
                "verbosity",
                "web_search_options",
                "safety_identifier",
                "prompt_cache_key",
                "prompt_cache_options",
                "moderation",
            ),
        ),
        Profile(
            "groq",
            "api.groq.com",
            drop=("logprobs", "top_logprobs", "logit_bias"),
            # reasoning_content: what the client reads Groq's reasoning as, sent back with the
            # history, is refused ("property 'reasoning_content' is unsupported", 400).
            drop_message_keys=("name", "reasoning_content"),
            n=False,
            reasoning=("reasoning",),
        ),
        Profile(
            "deepseek",
            "api.deepseek.com",
            rename=_MAX_TOKENS,
            n=False,
            reasoning=("reasoning_content",),
        ),
        Profile("ollama", "Ollama", rename=_MAX_TOKENS, n=False, reasoning=("reasoning",)),
        Profile(
            "lmstudio", "LM Studio", rename=_MAX_TOKENS, n=False, reasoning=("reasoning_content", "reasoning")
        ),
        Profile("vllm", "vLLM", reasoning=("reasoning_content", "reasoning")),
        Profile(
            "llama.cpp",
            "llama.cpp's C++ llama-server",
            forced_tool_choice="required",
            reasoning=("reasoning_content",),
        ),
        Profile(
            "llama-cpp-python",
            "llama-cpp-python's server (python -m llama_cpp.server)",
            forced_tool_choice="named",
            rename=_MAX_TOKENS,
            stream_usage=False,
            response_format="json_object+schema",
            tool_call_content="",
            n=False,
        ),
    )
}

#: Hosts whose profile is known: (host, or ".suffix" for every host under it; profile name).
HOSTS: Tuple[Tuple[str, str], ...] = (
    ("api.openai.com", "openai"),
    (".openai.azure.com", "azure"),
    (".cognitiveservices.azure.com", "azure"),
    ("api.mistral.ai", "mistral"),
    ("api.groq.com", "groq"),
    ("api.deepseek.com", "deepseek"),
    ("ollama.com", "ollama"),
)

ProfileLike = Union[str, Mapping[str, Any], Profile, None]

#: The rules a caller is warned about, once per client and field: rule kind -> the warning
#: (``%(profile)r`` is the profile's name, ``%(field)s`` the rule's field).
WARNINGS: Mapping[str, str] = {
    "drop": "the %(profile)r profile leaves %(field)s out of the request: this server rejects "
    'or ignores it (warned once per client; profile="generic" sends every field as set)',
    "stream_usage": "the %(profile)r profile sends a stream that asks for %(field)s as one "
    "request without stream, since this server reports usage only there: the chunks come "
    "all at once when the whole answer is done, the usage chunk last (warned once per "
    "client; without include_usage the answer streams as it is generated)",
}


def _known(field_name: str, name: Any) -> Profile:
    if not isinstance(name, str):
        wrong_type(field_name, "a profile name (%s) or a dict of rules" % ", ".join(PROFILES), name)
    found = PROFILES.get(name)
    if found is None:
        raise ValueError(
            "%s %s is not a known profile (the known ones: %s)%s"
            % (field_name, show(name), ", ".join(PROFILES), did_you_mean(name, PROFILES))
        )
    return found


def host_profile(base_url: str) -> Optional[str]:
    """The profile name of a known host in ``base_url``, or None."""
    from urllib.parse import urlsplit

    try:
        host = (urlsplit(base_url).hostname or "").lower()
    except ValueError:
        return None
    for known, name in HOSTS:
        if host == known or (known.startswith(".") and host.endswith(known)):
            return name
    return None


def profile_for(
    base_url: Optional[str], profile: ProfileLike = None, *, field_name: str = "profile"
) -> Profile:
    """The profile for a client: ``profile`` when given (a name, a dict of rules, a
    :class:`Profile`), else the one of a known host in ``base_url``, else ``generic``.

    >>> profile_for("https://api.mistral.ai/v1").name
    'mistral'
    >>> profile_for("http://127.0.0.1:8080/v1", "llama.cpp").name
    'llama.cpp'

    An unknown name raises ``ValueError`` listing the known ones, with a "did you mean".
    """
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, str):
        return _known(field_name, profile)
    if profile is not None:
        return Profile.from_dict(profile, field_name=field_name)
    by_host = host_profile(base_url) if base_url else None
    return PROFILES[by_host or "generic"]


# -- applying one ----------------------------------------------------------------------------------


def adapt(profile: Profile, body: Dict[str, Any]) -> Tuple[Dict[str, Any], List[Applied]]:
    """The request body adapted to ``profile``, and the rules that changed it.

    ``body`` is the whole JSON body (``messages`` included); it is never modified:
    a changed body is a new dict, and when no rule applies ``body`` itself comes back.
    """
    applied: List[Applied] = []
    if profile.is_generic:
        return body, applied
    out = dict(body)
    for name, table in profile.translate.items():
        value = out.get(name)
        try:
            found = value in table
        except TypeError:  # an unhashable value (a dict tool_choice): nothing to translate
            found = False
        if found:
            out[name] = table[value]
            applied.append(
                Applied("translate", name, "%s %s -> %s" % (name, _json(value), _json(table[value])))
            )
    if profile.forced_tool_choice is not None and "tool_choice" in out:
        _force_tool(profile.forced_tool_choice, out, applied)
    for name, new in profile.rename.items():
        if name in out:
            value = out.pop(name)
            if new in out:
                applied.append(Applied("rename", name, "%s left out (%s is set)" % (name, new)))
            else:
                out[new] = value
                applied.append(Applied("rename", name, "%s -> %s" % (name, new)))
    if not profile.stream_usage and out.get("stream") is True and _asks_usage(out):
        # Before the drops: a profile that also drops stream_options still honours the ask.
        del out["stream"]
        out.pop("stream_options", None)
        applied.append(Applied("stream_usage", "stream_options.include_usage", _STREAM_USAGE))
    for name in profile.drop:
        if _drop(out, name):
            applied.append(Applied("drop", name, "%s left out" % name))
    if profile.response_format == "json_object+schema" and "response_format" in out:
        _schema_in_json_object(out, applied)
    if not profile.n:
        n = out.get("n")
        if isinstance(n, int) and not isinstance(n, bool) and n > 1:
            del out["n"]
            applied.append(Applied("n", "n", "n=%d emulated by %d requests" % (n, n), n))
    messages = out.get("messages")
    if isinstance(messages, list) and (profile.tool_call_content is not None or profile.drop_message_keys):
        out["messages"] = _messages(profile, messages, applied)
    if not applied:
        return body, applied
    return out, applied


def copies(applied: Iterable[Applied]) -> int:
    """How many requests an adapted call is sent as: ``n`` when the ``n`` rule applied, else 1."""
    return next((rule.requests for rule in applied if rule.kind == "n"), 1)


#: How the ``stream_usage`` rule describes itself (the log line, ``--dry-run``'s warning, the
#: compatibility table).
_STREAM_USAGE = "stream with include_usage sent unstreamed and delivered as chunks, the server's usage last"


def _asks_usage(body: Dict[str, Any]) -> bool:
    options: Any = body.get("stream_options")
    return is_mapping(options) and options.get("include_usage") is True


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _drop(body: Dict[str, Any], name: str) -> bool:
    """Leave ``name`` (or ``outer.inner``) out of ``body``; True when it was there."""
    outer, _, inner = name.partition(".")
    if not inner:
        if name not in body:
            return False
        del body[name]
        return True
    value: Any = body.get(outer)
    if value is None or not is_mapping(value) or inner not in value:
        return False
    rest = {key: item for key, item in value.items() if key != inner}
    if rest:
        body[outer] = rest
    else:
        del body[outer]
    return True


def _tool_name(tool: Any) -> Optional[str]:
    function: Any = tool.get("function") if is_mapping(tool) else None
    name = function.get("name") if is_mapping(function) else None
    return name if isinstance(name, str) else None


def _force_tool(form: str, body: Dict[str, Any], applied: List[Applied]) -> None:
    """A forced tool call in the form the server honours (see ``Profile.forced_tool_choice``)."""
    choice: Any = body["tool_choice"]
    tools: Any = body.get("tools")
    if not isinstance(tools, list):
        return
    if form == "named" and choice == "required" and len(tools) == 1 and _tool_name(tools[0]):
        name = _tool_name(tools[0])
        body["tool_choice"] = {"type": "function", "function": {"name": name}}
        applied.append(
            Applied("forced_tool_choice", "tool_choice", 'tool_choice "required" -> %s named' % name)
        )
    elif form == "required" and is_mapping(choice) and choice.get("type") == "function":
        name = _tool_name(choice)
        kept = [tool for tool in tools if _tool_name(tool) == name]
        if name and kept:
            body["tool_choice"] = "required"
            body["tools"] = kept
            applied.append(
                Applied(
                    "forced_tool_choice",
                    "tool_choice",
                    'tool_choice %s named -> "required" with that tool only' % name,
                )
            )


def _schema_in_json_object(body: Dict[str, Any], applied: List[Applied]) -> None:
    """``{"type": "json_schema", "json_schema": {"schema": S, ...}}`` -> ``{"type": "json_object", "schema": S}``."""
    given: Any = body.get("response_format")
    if not is_mapping(given) or given.get("type") != "json_schema":
        return
    inner: Any = given.get("json_schema")
    schema = inner.get("schema") if is_mapping(inner) else None
    body["response_format"] = {"type": "json_object", "schema": schema if schema is not None else {}}
    applied.append(
        Applied(
            "response_format", "response_format", "response_format json_schema -> json_object with schema"
        )
    )


def _messages(profile: Profile, messages: List[Any], applied: List[Applied]) -> List[Any]:
    """The messages with the profile's message rules applied (a new list only when one did)."""
    out = messages
    drop_keys = profile.drop_message_keys
    content = profile.tool_call_content
    for index, message in enumerate(messages):
        if not (isinstance(message, dict) or is_mapping(message)):  # (dicts, as the client sends, first)
            continue
        changed: Optional[Dict[str, Any]] = None
        if content is not None and message.get("role") == "assistant" and message.get("tool_calls"):
            if message.get("content") is None:
                changed = dict(message, content=content)
                applied.append(
                    Applied(
                        "tool_call_content",
                        "messages[%d].content" % index,
                        "messages[%d].content %s -> %s"
                        % (index, "null" if "content" in message else "missing", _json(content)),
                    )
                )
        for key in drop_keys:
            if key in message:
                changed = dict(changed if changed is not None else message)
                del changed[key]
                applied.append(
                    Applied("drop", "messages[].%s" % key, "messages[%d].%s left out" % (index, key))
                )
        if changed is not None:
            if out is messages:
                out = list(messages)
            out[index] = changed
    return out


def read_reasoning(renames: Tuple[str, ...], payload: Any) -> None:
    """Move each key of ``renames`` to ``reasoning_content`` in the choices of a completion
    or chunk (``message`` and ``delta``), where ``reasoning_content`` is not there already.

    Runs on what a server sent (a dict the client owns), so it changes it in place.
    """
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if not isinstance(choices, list):
        return
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        for part in ("message", "delta"):
            message = choice.get(part)
            if isinstance(message, dict) and "reasoning_content" not in message:
                for key in renames:
                    if key in message:
                        message["reasoning_content"] = message.pop(key)
                        break
