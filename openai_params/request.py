"""Building requests: method, URL, headers and body bytes. Pure: no I/O.

Headers are kept minimal on purpose: extra vendor headers make some local
servers (and browsers' CORS preflights in front of them) refuse the request.
Order of precedence, last wins: the client's own headers, the client's
``default_headers``, then the call's ``extra_headers``.

What cannot be sent is refused before a request exists: the base URL
(:func:`check_base_url`) and the client's key, organization and project when they
are set, ``default_headers`` and ``extra_headers`` here, on every request, since a
mapping can change in place (:func:`._checks.check_headers`).
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, Tuple, Type

from ._checks import check_headers, check_str, is_mapping, show, wrong_type
from ._json import check_json
from ._redact import redact_url
from ._version import __version__

if TYPE_CHECKING:
    import json

    from ._http import HTTPRequest

USER_AGENT = "openai_params/%s Python/%s" % (
    __version__,
    ".".join(str(part) for part in sys.version_info[:3]),
)

# Any whitespace (str.isspace's, Unicode included) and the C0 and C1 control characters
# (compiled and kept by re when the first base URL is checked).
_SPACE_OR_CONTROL = r"[\s\x00-\x1f\x7f-\x9f]"

# What a base URL must be, in the order the rules are checked: (what is allowed, test). A test
# gets the text and its urlsplit() parts (None when urlsplit cannot split it: "Invalid IPv6
# URL"); one that raises ValueError (a port out of range or not a number) counts as failed.
_URL_RULES: Tuple[Tuple[str, Callable[[str, Any], bool]], ...] = (
    ("starting with http:// or https://", lambda text, parts: text.startswith(("http://", "https://"))),
    # A request line cannot carry them (the transport would refuse it deep inside a call), and
    # urlsplit() silently drops tabs and newlines, so they are looked for in the text itself.
    ("without spaces or control characters", lambda text, parts: not re.search(_SPACE_OR_CONTROL, text)),
    ("with a host name", lambda text, parts: parts is not None and bool(parts.hostname)),
    ("with a port between 1 and 65535", lambda text, parts: parts.port != 0),
    # Userinfo would never be sent (no Basic auth here) and would show in logs: refused.
    (
        "without a user name or password (send credentials with api_key or default_headers)",
        lambda text, parts: "@" not in parts.netloc,
    ),
    ("without a fragment (#...)", lambda text, parts: "#" not in text),
)


def check_base_url(field: str, value: Any) -> None:
    """``value`` must be an absolute ``http://`` or ``https://`` URL that can be sent as it is."""
    if not isinstance(value, str):
        wrong_type(field, "a URL (a string starting with http:// or https://)", value)
    from urllib.parse import urlsplit  # with the first client, not with the import

    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    for rule, test in _URL_RULES:
        try:
            good = test(value, parts)
        except ValueError:
            good = False
        if not good:
            # The URL may hold a key (?key=...) or a password: quoted redacted.
            raise ValueError("%s must be a URL %s (got %s)" % (field, rule, show(redact_url(value))))


def build_url(base_url: str, path: str, query: Optional[Mapping[str, Any]] = None) -> str:
    """Join ``base_url`` and ``path``; add ``query`` (None values left out, bools as true/false).

    A query already on ``base_url`` (Azure's ``?api-version=...``) is kept, after the path.
    """
    base, _, joined = base_url.partition("?")
    url = base.rstrip("/") + "/" + path.lstrip("/")
    if query:  # (most calls have none: nothing to encode)
        pairs = []
        for key, value in query.items():
            if value is None:
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            pairs.append((key, value))
        if pairs:
            from urllib.parse import urlencode

            joined = "&".join(part for part in (joined, urlencode(pairs)) if part)
    return url + "?" + joined if joined else url


def path_segment(field: str, value: Any) -> str:
    """An id as one segment of a URL path (``/files/{file_id}``): a non-empty string,
    percent-encoded whole, so that a ``/`` or ``?`` in it stays part of the id."""
    check_str(field, value, non_empty=True)
    from urllib.parse import quote

    return quote(value, safe="")


def build_headers(
    *,
    api_key: Optional[str],
    organization: Optional[str],
    project: Optional[str],
    default_headers: Optional[Mapping[str, Optional[str]]] = None,
    extra_headers: Optional[Mapping[str, Optional[str]]] = None,
    has_body: bool = True,
    key_header: str = "Authorization",
) -> Dict[str, str]:
    """The headers of one request, from values that can reach the wire.

    ``api_key``, ``organization`` and ``project`` come checked (by the client's properties,
    or a provider's :class:`~.providers.Endpoint`); the two mappings are checked here.

    A value of ``None`` in ``default_headers`` or ``extra_headers`` removes the
    header set before it (``{"User-Agent": None}``). The key goes as ``Authorization:
    Bearer KEY``, or alone in ``key_header`` (Azure's ``api-key``).
    """
    # As few as the API needs: no Accept, no vendor headers (a CORS preflight in front of a
    # local server may refuse any header it does not know).
    headers = {"User-Agent": USER_AGENT}
    if has_body:
        headers["Content-Type"] = "application/json"
    if api_key:
        headers[key_header] = "Bearer " + api_key if key_header == "Authorization" else api_key
    if organization:
        headers["OpenAI-Organization"] = organization
    if project:
        headers["OpenAI-Project"] = project
    for more in (default_headers, extra_headers):
        if more is None:
            continue
        # Checked on every request: a mapping can change in place after it was set
        # (client.default_headers["X-Title"] = ...). The key, organization and project are
        # checked where they are set (OpenAI's properties, a provider's Endpoint).
        check_headers("headers", more)
        for name, value in more.items():
            matches = [k for k in headers if k.lower() == name.lower()]
            for existing in matches:
                del headers[existing]
            if value is not None:
                headers[name] = value
    return headers


def _mapping_as_dict(value: Any) -> Any:
    # json writes dicts only; the package takes any mapping where it asks for "a dict".
    if is_mapping(value):
        return dict(value)
    raise TypeError("not JSON")  # check_json below says what and where


@lru_cache(maxsize=None)
def _encoder() -> json.JSONEncoder:
    """One encoder, built with the first body (json loads then, not with the import):
    json.dumps() with options builds a new encoder on every call."""
    import json

    # allow_nan=False: NaN and Infinity are not JSON (RFC 8259), and servers reject them.
    return json.JSONEncoder(
        ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_mapping_as_dict
    )


def encode_json(body: Any) -> bytes:
    """JSON as UTF-8, compact, non-ASCII kept as is (smaller, and what servers log readably).

    What JSON cannot hold (a set, a date, NaN, a lone surrogate) raises
    ``TypeError`` / ``ValueError`` naming its place: ``messages[0].content[1] must be ...``.
    """
    try:
        return _encoder().encode(body).encode("utf-8")
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        check_json("", body)  # finds the first bad part and raises, naming it
        raise


@lru_cache(maxsize=None)
def request_type() -> Type[HTTPRequest]:
    """:class:`~._http.HTTPRequest`, imported with the first request (the HTTP layer loads with a
    client, not with this module): an import statement in a function resolves the module again
    on every call."""
    from ._http import HTTPRequest

    return HTTPRequest


def build_request(method: str, url: str, headers: Dict[str, str], body: Any = None) -> HTTPRequest:
    return request_type()(method, url, headers, None if body is None else encode_json(body))
