"""Building requests: method, URL, headers and body bytes. Pure: no I/O.

Headers are kept minimal on purpose: extra vendor headers make some local
servers (and browsers' CORS preflights in front of them) refuse the request.
Order of precedence, last wins: the client's own headers, the client's
``default_headers``, then the call's ``extra_headers``.
"""

import json
import sys
from typing import Any, Dict, Mapping, Optional
from urllib.parse import urlencode, urlsplit

from ._redact import is_secret_header, redact, redacted_headers
from ._version import __version__
from .transport import HTTPRequest

USER_AGENT = "openai_params/%s Python/%s" % (__version__, ".".join(str(part) for part in sys.version_info[:3]))

def build_url(base_url: str, path: str, query: Optional[Mapping[str, Any]] = None) -> str:
    """Join ``base_url`` and ``path``; add ``query`` (None values left out, bools as true/false).

    A query already on ``base_url`` (Azure's ``?api-version=...``) is kept, after the path.
    """
    base, _, base_query = base_url.partition("?")
    url = base.rstrip("/") + "/" + path.lstrip("/")
    pairs = []
    for key, value in (query or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        pairs.append((key, value))
    extra = urlencode(pairs)
    joined = "&".join(part for part in (base_query, extra) if part)
    return url + ("?" + joined if joined else "")


def build_headers(*, api_key: Optional[str], organization: Optional[str], project: Optional[str],
                  default_headers: Optional[Mapping[str, str]] = None,
                  extra_headers: Optional[Mapping[str, str]] = None,
                  has_body: bool = True) -> Dict[str, str]:
    # The minimal set: no Accept, no vendor headers (a CORS preflight in front of a
    # local server may refuse any header it does not know).
    headers = {"User-Agent": USER_AGENT}
    if has_body:
        headers["Content-Type"] = "application/json"
    if api_key:
        headers["Authorization"] = "Bearer " + api_key
    if organization:
        headers["OpenAI-Organization"] = organization
    if project:
        headers["OpenAI-Project"] = project
    for more in (default_headers, extra_headers):
        for name, value in (more or {}).items():
            # A header set to None in extra_headers removes one set earlier.
            matches = [k for k in headers if k.lower() == name.lower()]
            for existing in matches:
                del headers[existing]
            if value is not None:
                headers[name] = value
    return headers


# One encoder, built once: json.dumps() with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode_json(body: Any) -> bytes:
    """JSON as UTF-8, compact, non-ASCII kept as is (smaller, and what servers log readably)."""
    return _ENCODER.encode(body).encode("utf-8")


def build_request(method: str, url: str, headers: Dict[str, str], body: Any = None) -> HTTPRequest:
    return HTTPRequest(method=method, url=url, headers=headers,
                       body=None if body is None else encode_json(body))


def describe(request: HTTPRequest) -> str:
    """The request as text, key redacted: what ``--dry-run`` prints."""
    lines = ["%s %s" % (request.method, request.url)]
    lines += ["%s: %s" % item for item in redacted_headers(request.headers).items()]
    if request.body is not None:
        lines += ["", json.dumps(json.loads(request.body.decode("utf-8")), indent=2,
                                 ensure_ascii=False)]
    return "\n".join(lines)


def as_curl(request: HTTPRequest) -> str:
    """An equivalent ``curl`` command; the key is read from ``$OPENAI_API_KEY``, never printed."""
    import shlex

    lines = ["curl -sS -X %s %s" % (request.method, shlex.quote(request.url))]
    for name, value in request.headers.items():
        if name.lower() == "authorization" and value.startswith("Bearer "):
            lines.append('-H "Authorization: Bearer $OPENAI_API_KEY"')
        elif is_secret_header(name):
            lines.append("-H " + shlex.quote("%s: %s" % (name, redact(value))))
        else:
            lines.append("-H " + shlex.quote("%s: %s" % (name, value)))
    if request.body is not None:
        lines.append("--data-raw " + shlex.quote(request.body.decode("utf-8")))
    return " \\\n  ".join(lines)


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL, lower-cased, default ports filled in."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return "%s://%s:%d" % (parts.scheme.lower(), (parts.hostname or "").lower(), port)
