"""Providers: which server a model string goes to, with which key and which profile.

One table holds them, from two sources:

* :data:`BUILT_IN`, below: OpenAI, Azure OpenAI, Mistral, Groq, DeepSeek and the local
  servers, each with its base URL, the variable that holds its key and its profile;
* the providers file, in 4D AIKit's ``AIProviders.json`` shape plus two keys of ours
  (``apiKeyEnv``, ``profile``); an entry named like a built-in one changes only the
  fields it gives::

    {"providers": {"local": {"baseURL": "http://127.0.0.1:8080/v1", "profile": "llama.cpp"},
                   "mistral": {"apiKeyEnv": "MY_MISTRAL_KEY"}},
     "models": {"fast": {"provider": "groq", "model": "llama-3.1-8b-instant"}}}

The file is looked for in one place at a time (:func:`find_file`): ``OpenAI(providers=PATH)``,
else ``$OPENAI_PARAMS_PROVIDERS``, else ``$XDG_CONFIG_HOME/openai_params/providers.json``
(``~/.config`` when the variable is unset); never the current directory. A client reads it
once, when it is made.

A model string (:meth:`ProviderTable.resolve`), as in 4D AIKit:

1. ``provider:model``, split at the first colon (``ollama:llama3:8b`` is Ollama's
   ``llama3:8b``), when the part before it names a provider of the table;
2. else an alias of the file's ``models``;
3. else the model as it is, for the client's own server: ``llama3:8b`` on an Ollama base
   URL stays ``llama3:8b``. Only a prefix that looks like a misspelt provider name
   (``Mistral:``, ``mistrl:``) is refused, with the providers and aliases there are.

A client without any provider configuration (no ``provider=``, no ``providers=``, no file
found) does none of this: its model names are sent as they are, colons and all.

Everything here is pure but :func:`find_file` and :func:`read_file` (the one file read).
"""

import json
import os
import re
import warnings
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from ._checks import _stacklevel, check_header_value, did_you_mean, is_mapping, show, wrong_type
from .profiles import profile_for
from .request import check_base_url

__all__ = [
    "BUILT_IN",
    "Provider",
    "Endpoint",
    "ProviderTable",
    "find_file",
    "read_file",
    "parse",
    "open_providers",
    "FILE_VARIABLE",
]

FILE_VARIABLE = "OPENAI_PARAMS_PROVIDERS"
_XDG_PATH = ("openai_params", "providers.json")


class Provider(NamedTuple):
    """One provider as configured: where it is, where its key comes from, its profile."""

    name: str
    base_url: Optional[str]
    key_variable: Optional[str] = None  # the environment variable holding its key
    key_required: bool = False  # a cloud service needs one; a local server does not
    profile: Optional[str] = None  # None: chosen by the host of its base URL, else generic
    api_key: Optional[str] = None  # a key written in the providers file itself
    organization: Optional[str] = None
    project: Optional[str] = None
    key_header: str = "Authorization"  # "Bearer KEY"; any other header gets the key alone
    base_url_variable: Optional[str] = None  # a variable whose value makes the base URL
    version_variable: Optional[str] = None  # a variable whose value is sent as ?api-version=
    source: str = "built-in"  # "built-in", or where the file entry came from


# The built-in providers: a table, so that a reader checks rows, not branches.
# Key variables are the ones each provider's own documentation and SDK use. Local servers
# need no key; the optional ones (vLLM's and llama-server's --api-key) are read when set.
BUILT_IN: Dict[str, Provider] = {
    p.name: p
    for p in (
        Provider("openai", "https://api.openai.com/v1", "OPENAI_API_KEY", True, "openai"),
        # Azure OpenAI's v1 API: https://RESOURCE.openai.azure.com/openai/v1, the key in an
        # "api-key" header; AZURE_OPENAI_ENDPOINT and OPENAI_API_VERSION are the variables the
        # official SDK reads. The v1 API needs no api-version; it is sent when the variable is set.
        Provider(
            "azure",
            None,
            "AZURE_OPENAI_API_KEY",
            True,
            "azure",
            key_header="api-key",
            base_url_variable="AZURE_OPENAI_ENDPOINT",
            version_variable="OPENAI_API_VERSION",
        ),
        Provider("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", True, "mistral"),
        Provider("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY", True, "groq"),
        Provider("deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", True, "deepseek"),
        Provider("ollama", "http://localhost:11434/v1", None, False, "ollama"),
        Provider("lmstudio", "http://localhost:1234/v1", None, False, "lmstudio"),
        Provider("vllm", "http://localhost:8000/v1", "VLLM_API_KEY", False, "vllm"),
        Provider("llama.cpp", "http://localhost:8080/v1", "LLAMA_API_KEY", False, "llama.cpp"),
        Provider("llama-cpp-python", "http://localhost:8000/v1", None, False, "llama-cpp-python"),
    )
}

# The keys of a file entry: (file key, Provider field). 4D AIKit's four, then ours.
_ENTRY_KEYS = (
    ("baseURL", "base_url"),
    ("apiKey", "api_key"),
    ("organization", "organization"),
    ("project", "project"),
    ("apiKeyEnv", "key_variable"),
    ("profile", "profile"),
)
#: The fields sent in a header, checked as header values.
_HEADER_FIELDS = ("api_key", "organization", "project")
_ALIAS_KEYS = ("provider", "model")
_TOP_KEYS = ("providers", "models")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class Endpoint(NamedTuple):
    """What a request to one provider is sent with: the resolved, checked settings."""

    provider: str
    base_url: str
    api_key: Optional[str]
    key_header: str
    organization: Optional[str]
    project: Optional[str]
    profile: Optional[str]  # a profile name; None: chosen by the host of base_url


class ProviderTable:
    """The built-in providers, the file's entries over them, and the file's model aliases."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        models: Mapping[str, Tuple[str, str]],
        source: Optional[str] = None,
    ) -> None:
        self.providers = dict(providers)
        self.models = dict(models)  # alias -> (provider, model)
        self.source = source  # the file (or "providers argument"); None: built-ins only
        self._endpoints: Dict[str, Endpoint] = {}

    def __repr__(self) -> str:
        return "ProviderTable(%s, models=%s, source=%r)" % (
            sorted(self.providers),
            sorted(self.models),
            self.source,
        )

    def get(self, name: str, field: str = "provider") -> Provider:
        """The provider called ``name``; an unknown one is a ``ValueError`` listing them."""
        if not isinstance(name, str):
            wrong_type(field, "a provider name, a string", name)
        found = self.providers.get(name)
        if found is None:
            raise ValueError(
                "%s %s is not a known provider%s (%s)"
                % (field, show(name), did_you_mean(name, self.providers), self._known())
            )
        return found

    def resolve(self, model: str) -> Tuple[Optional[str], str]:
        """``(provider, model id)`` for a model string; ``(None, model)``: the client's own server.

        >>> table = ProviderTable(BUILT_IN, {"fast": ("groq", "llama-3.1-8b-instant")})
        >>> table.resolve("ollama:llama3:8b"), table.resolve("fast"), table.resolve("llama3:8b")
        (('ollama', 'llama3:8b'), ('groq', 'llama-3.1-8b-instant'), (None, 'llama3:8b'))
        """
        prefix, colon, rest = model.partition(":")
        if colon and prefix in self.providers:
            if not rest:
                raise ValueError(
                    "model %s names the provider %r but no model after the colon" % (show(model), prefix)
                )
            return prefix, rest
        alias = self.models.get(model)
        if alias is not None:
            return alias
        if colon:
            near = _misspelt(prefix, self.providers)
            if near is not None:
                raise ValueError(
                    "model %s: %r is not a provider; did you mean %r? (%s). A model id whose "
                    "part before the first colon is not a provider is sent as it is; to send "
                    "this one, put its provider first (PROVIDER:%s)"
                    % (show(model), prefix, near, self._known(), model)
                )
        return None, model

    def endpoint(
        self,
        name: str,
        environ: Mapping[str, str],
        *,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        organization: Optional[str] = None,
        project: Optional[str] = None,
        used_by: str = "",
    ) -> Endpoint:
        """The settings a request to provider ``name`` is sent with, checked; given values win.

        Its key: ``api_key``, else the file's ``apiKey``, else the key variable's value. A
        provider that needs a key and has none is a ``ValueError`` naming the variable, so
        nothing is sent without it. ``used_by`` says what asked (a model string) in that message.
        """
        provider = self.get(name)
        where = "provider %r%s" % (
            name,
            " (from %s)" % provider.source if provider.source != "built-in" else "",
        )
        field, url = (
            ("base_url", base_url) if base_url is not None else ("%s baseURL" % where, provider.base_url)
        )
        if url is None and provider.base_url_variable:
            field, url = provider.base_url_variable, environ.get(provider.base_url_variable) or None
            if url is not None:
                url = url.rstrip("/")
                if not url.endswith("/openai/v1"):
                    url += "/openai/v1"  # the resource's endpoint -> its v1 API
        if not url:
            # Only Azure's row has no URL of its own: each resource has its own host.
            raise ValueError(
                "%s%s%s no base URL: set %s to https://RESOURCE.openai.azure.com, or pass "
                "base_url='https://RESOURCE.openai.azure.com/openai/v1' (nothing was sent)"
                % (used_by, where, ", which has" if used_by else " has", provider.base_url_variable)
            )
        version = environ.get(provider.version_variable) if provider.version_variable else None
        if version and "api-version=" not in url:
            from urllib.parse import quote

            url += ("&" if "?" in url else "?") + "api-version=" + quote(version.strip(), safe="")
        check_base_url(field, url)
        key: Optional[str]
        if api_key is not None:
            key_field, key = "api_key", api_key
        elif provider.api_key is not None:
            key_field, key = "%s apiKey" % where, provider.api_key
        elif provider.key_variable:
            key_field, key = provider.key_variable, environ.get(provider.key_variable)
        else:
            key_field, key = "api_key", None
        key = _header_value(key_field, key, secret=True)
        if key is None and provider.key_required:
            raise ValueError(
                "%s%s%s an API key: set %s (nothing was sent)"
                % (
                    used_by,
                    where,
                    ", which needs" if used_by else " needs",
                    provider.key_variable or "apiKey or apiKeyEnv in the providers file",
                )
            )
        return Endpoint(
            provider=name,
            base_url=url.rstrip("/"),
            api_key=key,
            key_header=provider.key_header,
            organization=_header_value(
                "organization", organization if organization is not None else provider.organization
            ),
            project=_header_value("project", project if project is not None else provider.project),
            profile=provider.profile,
        )

    def route(self, name: str, environ: Mapping[str, str], model: str, own: Optional[str]) -> Endpoint:
        """:meth:`endpoint` for the provider model string ``model`` named, worked out once per
        table. ``own``: the client's own provider, for the hint in a missing-key message."""
        found = self._endpoints.get(name)
        if found is None:
            try:
                found = self._endpoints[name] = self.endpoint(name, environ, used_by="model %r uses " % model)
            except ValueError as exc:
                # Ollama's "mistral:7b" names a built-in provider too: say how to send it home.
                home = (
                    "%s:%s" % (own, model) if own else "PROVIDER:%s (PROVIDER: this client's server)" % model
                )
                raise ValueError(
                    "%s; to send %r to this client's own server, write %s" % (exc, model, home)
                ) from None
        return found

    def listing(self, environ: Mapping[str, str]) -> List[Dict[str, Any]]:
        """One row per provider, what ``python -m openai_params providers`` prints: where each
        key comes from and whether it is set, never the key (one written in the file is
        shown redacted)."""
        from ._redact import redact

        rows = []
        for name, p in sorted(self.providers.items()):
            url = p.base_url or (p.base_url_variable and "$%s/openai/v1" % p.base_url_variable) or ""
            if p.api_key:
                key = redact(p.api_key) + " (in the file)"
            elif p.key_variable:
                state = "set" if (environ.get(p.key_variable) or "").strip() else "not set"
                key = "$%s (%s%s)" % (p.key_variable, state, "" if p.key_required else ", optional")
            else:
                key = "none"
            profile = p.profile or profile_for(p.base_url, None).name
            if not p.profile and profile != "generic":
                profile += " (by host)"
            rows.append(
                {
                    "name": name,
                    "baseURL": url,
                    "key": key,
                    "apiKeyEnv": p.key_variable,
                    "keyRequired": p.key_required,
                    "profile": profile,
                    "from": p.source,
                }
            )
        return rows

    def _known(self) -> str:
        text = "known providers: %s" % ", ".join(sorted(self.providers))
        if self.models:
            text += "; aliases: %s" % ", ".join(sorted(self.models))
        if self.source:
            text += " (file: %s)" % self.source
        return text


def _header_value(field: str, value: Optional[str], *, secret: bool = False) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()  # a key read from a file or a variable may end in a newline
        if not value:
            return None
    check_header_value(field, value, secret=secret)
    return value


def _misspelt(prefix: str, names: Iterable[str]) -> Optional[str]:
    """The provider name ``prefix`` looks like a slip of: the same in another case, or one
    letter off (added, missing, changed or swapped) for names of five letters or more.

    Kept this narrow on purpose: Ollama's model ids have colons (``deepseek-r1:7b``,
    ``mistral-nemo:12b``) and must go through as they are.
    """
    low = prefix.lower()
    for name in names:
        other = name.lower()
        if low == other or (min(len(low), len(other)) >= 5 and _one_edit(low, other)):
            return name
    return None


def _one_edit(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diffs) == 1 or (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


# -- the file ---------------------------------------------------------------------------------------
def find_file(given: Optional[str], environ: Mapping[str, str]) -> Optional[Tuple[str, str]]:
    """``(path, where it came from)`` of the providers file, or None when there is none.

    A path given (``providers=``, ``$OPENAI_PARAMS_PROVIDERS``) must exist; the default
    place may hold nothing. Never the current directory.
    """
    if given is not None:
        return os.fspath(given), "providers"
    from_variable = environ.get(FILE_VARIABLE)
    if from_variable:
        return from_variable, FILE_VARIABLE
    config = environ.get("XDG_CONFIG_HOME") or ""
    if not os.path.isabs(config):  # the XDG spec: a relative value is to be ignored
        config = os.path.join(os.path.expanduser("~"), ".config")
    path = os.path.join(config, *_XDG_PATH)
    return (path, "XDG_CONFIG_HOME") if os.path.isfile(path) else None


def read_file(path: str, came_from: str = "providers") -> ProviderTable:
    """Read and check the providers file at ``path``; warn when a key in it is readable by others."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ValueError(
            "providers file %s (from %s) cannot be read: %s" % (path, came_from, exc.strerror or exc)
        ) from None
    try:
        text = raw.decode("utf-8-sig")  # a BOM, as some Windows editors write, is not JSON's
    except UnicodeDecodeError as exc:
        raise ValueError(
            "providers file %s is not UTF-8 text (byte 0x%02x at position %d)"
            % (path, raw[exc.start], exc.start)
        ) from None
    table = parse(text, path)
    if any(p.api_key for p in table.providers.values()):
        _check_private(path)
    return table


def _check_private(path: str) -> None:
    """Warn, as ssh does for a private key, when a file holding a key is readable by others."""
    if os.name != "posix":  # Windows ACLs are not mode bits: nothing to check this way
        return
    mode = os.stat(path).st_mode & 0o777
    readers = [who for who, bit in (("group", 0o040), ("others", 0o004)) if mode & bit]
    if readers:
        warnings.warn(
            "providers file %s holds an API key and is readable by %s (mode %04o): "
            "run chmod 600 on it, or name a variable with apiKeyEnv instead of apiKey"
            % (path, " and ".join(readers), mode),
            UserWarning,
            stacklevel=_stacklevel(),
        )


def parse(text: Union[str, Mapping[str, Any]], source: str = "providers") -> ProviderTable:
    """The table from the file's text (or its parsed content); errors name ``source`` and the
    line or the key: ``providers.local.baseURL in /path/providers.json must be ...``."""
    if isinstance(text, str):
        try:
            data = json.loads(text)
        except ValueError as exc:  # json.JSONDecodeError: its message has line and column
            raise ValueError("providers file %s is not valid JSON: %s" % (source, exc)) from None
    else:
        data = text
    where = " in %s" % source
    _check_object("the top level", data, _TOP_KEYS, where)
    providers = dict(BUILT_IN)
    entries = data.get("providers") or {}
    _check_object("providers", entries, None, where)
    for name, entry in entries.items():
        path = _path("providers", name)
        if not isinstance(name, str) or not name or ":" in name:
            raise ValueError(
                "%s%s: a provider name must be a non-empty string without ':' "
                "(model strings are split at the first colon)" % (path, where)
            )
        _check_object(path, entry, [key for key, _ in _ENTRY_KEYS], where)
        field = "%s.%s%s" % (path, "%s", where)
        values: Dict[str, Any] = {}
        for key, attribute in _ENTRY_KEYS:
            value = entry.get(key)
            if value is None or value == "":
                continue  # absent, null and "" all leave the field unset
            if not isinstance(value, str):
                wrong_type(field % key, "a string", value)
            values[attribute] = value.strip()
            if attribute in _HEADER_FIELDS:
                check_header_value(field % key, values[attribute], secret=attribute == "api_key")
        if "api_key" in values and "key_variable" in values:
            raise ValueError("%s%s gives both apiKey and apiKeyEnv: keep one" % (path, where))
        if "key_variable" in values and not _VARIABLE_NAME.fullmatch(values["key_variable"]):
            raise ValueError(
                "%s must be the name of an environment variable, such as MISTRAL_API_KEY (got %s)"
                % (field % "apiKeyEnv", show(values["key_variable"]))
            )
        if "base_url" in values:
            check_base_url(field % "baseURL", values["base_url"])
        if "profile" in values:
            profile_for(None, values["profile"], field_name=field % "profile")  # a known name
        base = BUILT_IN.get(name)
        if base is None:
            if "base_url" not in values:
                raise ValueError(
                    "%s is missing: every provider that is not built in needs one" % (field % "baseURL")
                )
            base = Provider(name, None)
        if "api_key" in values or "key_variable" in values:
            # The file decides where this entry's key comes from; a variable it names must be set.
            values.setdefault("api_key", None)
            values.setdefault("key_variable", None)
            values["key_required"] = values["key_variable"] is not None or base.key_required
        if "base_url" in values:
            values.update(base_url_variable=None, version_variable=None)
        providers[name] = base._replace(source=source, **values)
    models: Dict[str, Tuple[str, str]] = {}
    aliases = data.get("models") or {}
    _check_object("models", aliases, None, where)
    for alias, entry in aliases.items():
        path = _path("models", alias)
        if not isinstance(alias, str) or not alias:
            raise ValueError("%s%s: an alias must be a non-empty string" % (path, where))
        _check_object(path, entry, _ALIAS_KEYS, where)
        for key in _ALIAS_KEYS:
            value = entry.get(key)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(
                    "%s.%s%s must be a non-empty string (got %s)" % (path, key, where, show(value))
                )
        if entry["provider"] not in providers:
            raise ValueError(
                "%s.provider%s: %r is not a provider of the file or a built-in one%s; providers: %s"
                % (
                    path,
                    where,
                    entry["provider"],
                    did_you_mean(entry["provider"], providers),
                    ", ".join(sorted(providers)),
                )
            )
        models[alias] = (entry["provider"], entry["model"].strip())
    return ProviderTable(providers, models, source)


def _path(section: str, name: Any) -> str:
    if isinstance(name, str) and _IDENTIFIER.fullmatch(name):
        return "%s.%s" % (section, name)
    return "%s[%s]" % (section, json.dumps(name))


def _check_object(field: str, value: Any, allowed: Optional[Sequence[str]], where: str) -> None:
    if not is_mapping(value):
        wrong_type(field + where, "a JSON object", value)
    if allowed is None:
        return
    for key in value:
        if key not in allowed:
            raise ValueError(
                "%s%s has an unknown key %s%s; allowed: %s"
                % (field, where, show(key), did_you_mean(key, allowed), ", ".join(allowed))
            )


# -- what a client reads when it is made ------------------------------------------------------------
def open_providers(
    providers: Union[str, "os.PathLike[str]", Mapping[str, Any], None],
    provider: Optional[str],
    environ: Mapping[str, str],
) -> Optional[ProviderTable]:
    """The table of a new client, or None when it has no provider configuration at all
    (no ``provider``, no ``providers``, no file found): then nothing is ever resolved."""
    if is_mapping(providers):
        return parse(providers, "the providers argument")  # type: ignore[arg-type]
    if providers is not None and not isinstance(providers, (str, os.PathLike)):
        wrong_type("providers", "the path of a providers file or its content as a dict", providers)
    found = find_file(providers, environ)  # type: ignore[arg-type]
    if found is not None:
        return read_file(*found)
    if provider is not None:
        return ProviderTable(BUILT_IN, {})
    return None
