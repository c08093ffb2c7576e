"""Keeping secrets out of every repr, log line, error message and printed request.

One place decides what a credential looks like, so every module hides the same things.
"""

import re
from typing import Dict, Mapping

__all__ = ["redact", "redact_text", "is_secret_header", "redacted_headers"]

# Parts of a header (or query) name that mark its value as a credential: Authorization,
# Proxy-Authorization, api-key, x-api-key, Cookie, X-Auth-Token, client-secret, ...
_SECRET_PARTS = ("auth", "key", "token", "secret", "cookie", "password", "credential")

# Things that look like keys inside free text (a server that echoes the key back in its
# message, an exception text): "sk-...", "Bearer <token>".
_KEY_PATTERN = re.compile(r"\b(sk-|gsk_|xai-)[A-Za-z0-9_\-]{8,}|(?<=Bearer )[A-Za-z0-9_\-.=]{9,}")


def redact(value: str) -> str:
    """Hide a secret but keep enough to recognise it: ``Bearer sk-...wxyz``.

    >>> redact("Bearer sk-proj-1234567890abcdef")
    'Bearer sk-...cdef'
    """
    scheme, _, token = value.rpartition(" ")
    shown = token[:3] + "..." + token[-4:] if len(token) > 12 else "***"
    return (scheme + " " + shown) if scheme else shown


def redact_text(text: str) -> str:
    """``text`` with anything that looks like an API key replaced by its redacted form."""
    if "sk-" not in text and "Bearer " not in text and "gsk_" not in text and "xai-" not in text:
        return text
    return _KEY_PATTERN.sub(_redact_match, text)


def _redact_match(match: "re.Match[str]") -> str:
    found = match.group(0)
    # Already redacted ("sk-...wxyz"): leave it, so redacting twice changes nothing.
    return found if "..." in found else redact(found)


def is_secret_header(name: str) -> bool:
    """True for header (or query) names that probably carry credentials."""
    lowered = name.lower()
    if lowered.startswith("x-ratelimit-"):  # "...-remaining-tokens" counts tokens, it is not one
        return False
    return any(part in lowered for part in _SECRET_PARTS)


def redacted_headers(headers: Mapping[str, str]) -> Dict[str, str]:
    """``headers`` with every credential value redacted (names and order kept)."""
    return {k: (redact(v) if is_secret_header(k) else v) for k, v in headers.items()}
