"""Keeping secrets out of every repr, log line, error message and printed request.

One place decides what a credential looks like and how a hidden one is shown,
so every module hides the same things the same way. The one form:
``redact(secret)`` keeps the first three and last four characters of a long
secret (``sk-...wxyz``, enough to tell two keys apart) and shows a short one as
``***``; an auth scheme in front stays readable (``Bearer sk-...wxyz``).
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, Mapping, TypeVar

__all__ = ["redact", "redact_text", "redact_url", "is_secret_header", "redacted_headers"]

K = TypeVar("K")

# Parts of a header (or query) name that mark its value as a credential: Authorization,
# Proxy-Authorization, api-key, x-api-key, Cookie, X-Auth-Token, client-secret, ...
_SECRET_PARTS = ("auth", "key", "token", "secret", "cookie", "password", "credential")

# Authorization schemes (RFC 9110 section 11.1 and the IANA registry) kept readable in front
# of a hidden credential. Only these: in "correct horse battery" the first word is the secret.
_AUTH_SCHEMES = frozenset(("bearer", "basic", "digest", "token", "bot", "apikey"))

# A secret shorter than this is shown as "***" whole: showing 7 of its characters would
# give away too much of it.
_SHOW_ENDS_FROM = 20

# Things that look like keys inside free text (a server that echoes the key back in its
# message, an exception text): "sk-...", "Bearer <token>". Compiled (and kept) by re when
# first used: most programs never meet one.
_KEY_PATTERN = r"\b(sk-|gsk_|xai-)[A-Za-z0-9_\-]{8,}|(?<=Bearer )[A-Za-z0-9_\-.=]{9,}"


def redact(value: str) -> str:
    """Hide a secret but keep enough to recognise it: ``Bearer sk-...wxyz``, short ones ``***``.

    >>> redact("Bearer sk-proj-1234567890abcdef")
    'Bearer sk-...cdef'
    >>> redact("hunter2")
    '***'
    """
    scheme, space, token = value.partition(" ")
    if not space or scheme.lower() not in _AUTH_SCHEMES:
        scheme, token = "", value
    shown = token[:3] + "..." + token[-4:] if len(token) >= _SHOW_ENDS_FROM else "***"
    return (scheme + " " + shown) if scheme else shown


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets``, and anything that looks like an API key, redacted."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, redact(secret))
    if "sk-" not in text and "Bearer " not in text and "gsk_" not in text and "xai-" not in text:
        return text
    return re.sub(_KEY_PATTERN, _redact_match, text)


def _redact_match(match: re.Match[str]) -> str:
    found = match.group(0)
    # Already redacted ("sk-...wxyz"): leave it, so redacting twice changes nothing.
    return found if "..." in found else redact(found)


def is_secret_header(name: str) -> bool:
    """True for header (or query) names that probably carry credentials."""
    lowered = name.lower()
    if lowered.startswith("x-ratelimit-"):  # "...-remaining-tokens" counts tokens, it is not one
        return False
    return any(part in lowered for part in _SECRET_PARTS)


def redacted_headers(headers: Mapping[K, Any]) -> Dict[K, Any]:
    """``headers`` with every credential value redacted (names, order and ``None`` values kept).

    Also used for query mappings: a name is secret by the same rule.
    """
    return {
        name: _hidden(value) if isinstance(name, str) and is_secret_header(name) else value
        for name, value in headers.items()
    }


def _hidden(value: Any) -> Any:
    if value is None:
        return None  # "remove this header": nothing to hide
    return redact(value) if isinstance(value, str) else "***"


def redact_url(url: str) -> str:
    """``url`` with its userinfo (``user:password@``) and secret query values hidden.

    >>> redact_url("http://alice:pw@host/v1?api-version=1&key=abc")
    'http://alice:***@host/v1?api-version=1&key=%2A%2A%2A'

    Never raises, whatever the text: it is called while reporting other errors.
    """
    from urllib.parse import parse_qsl, urlencode  # not at the top: parameters import this module

    scheme, sep, rest = url.partition("://")
    if sep:
        # RFC 3986 section 3.2: authority = [ userinfo "@" ] host [ ":" port ], ended by / ? #
        ended = re.search("[/?#]", rest)
        end = ended.start() if ended else len(rest)
        userinfo, at, hostport = rest[:end].rpartition("@")
        if at:
            user, colon, password = userinfo.partition(":")
            shown = user + ":" + redact(password) if colon else redact(user)
            url = scheme + sep + shown + "@" + hostport + rest[end:]
    base, qmark, query = url.partition("?")
    query, hash_, fragment = query.partition("#")
    if not qmark:
        return url
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(is_secret_header(name) for name, _ in pairs):
        return url
    hidden = [(name, redact(value) if is_secret_header(name) else value) for name, value in pairs]
    return base + "?" + urlencode(hidden) + hash_ + fragment
