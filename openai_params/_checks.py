"""Small typed checks shared by the parameter, message and tool classes.

Every failure reads ``<field> must be <what is allowed> (got <value>)``, for
example::

    temperature must be between 0 and 2, or -1 to leave it out (got 2.5)

A value of the wrong type raises ``TypeError`` (and the message also names the
type it got); a value of the right type that is not allowed raises
``ValueError``. ``bool`` is never accepted where a number is expected, even
though ``True`` is an ``int`` to Python: ``n=True`` is a mistake, not ``n=1``.

Only cheap standard-library modules are imported here; ``difflib`` is loaded
when a suggestion is first needed. A check whose value may be a credential
(a key, a header named like one) never quotes it.
"""

from __future__ import annotations

import re
import sys
from collections import abc as _abc
from typing import Any, Iterable, NoReturn, Optional, Sequence

from ._redact import is_secret_header

__all__ = [
    "MAPPING",
    "MAX_TIMEOUT",
    "article",
    "check_bool",
    "check_callable",
    "check_choice",
    "check_header_name",
    "check_header_value",
    "check_headers",
    "check_int",
    "check_mapping",
    "check_number",
    "check_str",
    "check_timeout",
    "closest",
    "did_you_mean",
    "fail",
    "is_int",
    "is_number",
    "is_finite",
    "show",
    "warn_unknown",
    "wrong_type",
]

# Longest repr of a bad value quoted in a message: enough to recognise it,
# short enough that a 10 kB string does not flood a traceback.
_MAX_SHOWN = 60


#: ``isinstance(value, MAPPING)`` means ``isinstance(value, Mapping)``: dict comes first so
#: that the plain dicts JSON gives are answered in C, without the ABC's ``__instancecheck__``.
#: Hot loops (the stream accumulator) use it directly rather than through :func:`is_mapping`.
MAPPING = (dict, _abc.Mapping)


def is_mapping(value: Any) -> bool:
    """``isinstance(value, Mapping)``, fast for the plain dicts that JSON gives."""
    return isinstance(value, MAPPING)


def show(value: Any) -> str:
    """``repr(value)``, shortened to a readable length."""
    text = repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return text


def article(value: Any) -> str:
    """The type of ``value`` with its article: ``"a str"``, ``"an int"``."""
    name = type(value).__name__
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


def fail(field: str, allowed: str, value: Any) -> NoReturn:
    """Raise ``ValueError("<field> must be <allowed> (got <value>)")``."""
    raise ValueError("%s must be %s (got %s)" % (field, allowed, show(value)))


def wrong_type(field: str, allowed: str, value: Any) -> NoReturn:
    """Raise ``TypeError("<field> must be <allowed> (got <value>, a <type>)")``."""
    if value is None:
        raise TypeError("%s must be %s (got None)" % (field, allowed))
    raise TypeError("%s must be %s (got %s, %s)" % (field, allowed, show(value), article(value)))


def is_int(value: Any) -> bool:
    """True for an ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """True for an ``int`` or ``float`` that is not a ``bool``."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_INFINITY = float("inf")


def is_finite(value: float) -> bool:
    """False for ``inf``, ``-inf`` and NaN (which compares False with everything): what
    ``math.isfinite`` says, without loading ``math`` with the client (it is a shared library)."""
    return -_INFINITY < value < _INFINITY


def _format_bound(bound: float) -> str:
    # 2.0 reads better as "2" in a message that quotes the schema's range.
    if isinstance(bound, float) and bound.is_integer():
        return str(int(bound))
    return str(bound)


def _range_text(kind: str, minimum: Optional[float], maximum: Optional[float]) -> str:
    if minimum is not None and maximum is not None:
        return "%s between %s and %s" % (kind, _format_bound(minimum), _format_bound(maximum))
    if minimum is not None:
        return "%s >= %s" % (kind, _format_bound(minimum))
    if maximum is not None:
        return "%s <= %s" % (kind, _format_bound(maximum))
    return kind


def check_bool(field: str, value: Any, *, optional: bool = False) -> None:
    """``value`` must be ``True`` or ``False`` (or ``None`` when ``optional``)."""
    if value is None and optional:
        return
    if not isinstance(value, bool):
        wrong_type(field, "True or False" + (" (or None to leave it out)" if optional else ""), value)


def check_int(
    field: str,
    value: Any,
    minimum: Optional[int] = None,
    maximum: Optional[int] = None,
    *,
    allowed: Optional[str] = None,
    optional: bool = False,
) -> None:
    """``value`` must be an ``int`` (not a ``bool``) within ``[minimum, maximum]``.

    ``allowed`` replaces the generated description of what is allowed, for
    fields with a special "leave it out" value.
    """
    if value is None and optional:
        return
    if not is_int(value):
        wrong_type(field, allowed or _range_text("an integer", minimum, maximum), value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        fail(field, allowed or _range_text("an integer", minimum, maximum), value)


def check_number(
    field: str,
    value: Any,
    minimum: Optional[float] = None,
    maximum: Optional[float] = None,
    *,
    allowed: Optional[str] = None,
    optional: bool = False,
) -> None:
    """``value`` must be a finite ``int`` or ``float`` (not a ``bool``) within ``[minimum, maximum]``."""
    if value is None and optional:
        return
    if not is_number(value):
        wrong_type(field, allowed or _range_text("a number", minimum, maximum), value)
    # NaN compares False with everything, so test "inside" rather than "outside". An int is
    # always finite (and may be too large for a float: compared as it is).
    if (
        (isinstance(value, float) and not is_finite(value))
        or (minimum is not None and not value >= minimum)
        or (maximum is not None and not value <= maximum)
    ):
        fail(field, allowed or _range_text("a number", minimum, maximum), value)


def check_str(
    field: str,
    value: Any,
    *,
    non_empty: bool = False,
    max_length: Optional[int] = None,
    optional: bool = False,
) -> None:
    """``value`` must be a ``str``, optionally non-empty and at most ``max_length`` characters."""
    if value is None and optional:
        return
    # Checked on every request (roles, contents, the model): the message is only written
    # for a value that fails.
    if not isinstance(value, str):
        wrong_type(field, _str_allowed(non_empty, max_length), value)
    if non_empty and not value:
        fail(field, _str_allowed(non_empty, max_length), value)
    if max_length is not None and len(value) > max_length:
        raise ValueError(
            "%s must be %s (got %d characters: %s)"
            % (field, _str_allowed(non_empty, max_length), len(value), show(value))
        )


def _str_allowed(non_empty: bool, max_length: Optional[int]) -> str:
    """What :func:`check_str` allows, in words."""
    allowed = "a non-empty string" if non_empty else "a string"
    if max_length is not None:
        allowed += " of at most %d characters" % max_length
    return allowed


# The longest wait allowed for one timeout: a day. Longer is a mistake (sys.maxsize, 1e10),
# and socket.settimeout() overflows on such values.
MAX_TIMEOUT = 86400


_TIMEOUT_ALLOWED = "a number of seconds > 0 and at most %d (one day)" % MAX_TIMEOUT


def check_timeout(field: str, value: Any) -> float:
    """``value`` must be a finite number of seconds > 0 and at most a day; returns it as a float."""
    if not is_number(value):
        wrong_type(field, _TIMEOUT_ALLOWED, value)
    # Written as "inside" so that NaN (which compares False with everything) fails too.
    if not 0 < value <= MAX_TIMEOUT:
        fail(field, _TIMEOUT_ALLOWED, value)
    return float(value)


def check_callable(field: str, value: Any) -> None:
    """``value`` must be callable or ``None``."""
    if value is not None and not callable(value):
        wrong_type(field, "a callable taking one argument, or None", value)


def check_mapping(field: str, value: Any, *, optional: bool = False, allowed: str = "a dict") -> None:
    """``value`` must be a mapping (a ``dict``) whose keys are all strings."""
    if value is None and optional:
        return
    if not isinstance(value, MAPPING):
        wrong_type(field, allowed, value)
    for key in value:
        if not isinstance(key, str):
            wrong_type("%s keys" % field, "strings", key)


def check_choice(field: str, value: Any, choices: Sequence[str], *, optional: bool = False) -> None:
    """``value`` must be one of the strings in ``choices`` (a closed enum)."""
    if value is None and optional:
        return
    text = "one of " + ", ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        wrong_type(field, text, value)
    if value not in choices:
        raise ValueError(
            "%s must be %s (got %s)%s" % (field, text, show(value), did_you_mean(value, choices))
        )


def closest(value: str, choices: Iterable[str]) -> Optional[str]:
    """The choice closest to ``value`` (case-insensitive match first), or ``None``."""
    options = list(choices)
    for option in options:
        if option.lower() == value.lower():
            return option
    import difflib  # only paid for when a suggestion is actually needed

    matches = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    if not matches:
        matches = difflib.get_close_matches(value.lower(), options, n=1, cutoff=0.6)
    if not matches:
        # "descending" for "desc", "max_completion" for "max_completion_tokens".
        matches = [
            o for o in options if value and (value.lower().startswith(o) or o.startswith(value.lower()))
        ]
    return matches[0] if matches else None


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """``'; did you mean "x"?'`` for the closest choice, or ``""``."""
    match = closest(value, choices)
    return "; did you mean %r?" % match if match is not None else ""


def warn_unknown(field: str, value: str, known: Sequence[str]) -> None:
    """Warn that ``value`` is not a known value of a vendor-extensible enum.

    The value is still sent: OpenAI-compatible servers add their own values
    (and OpenAI adds new ones), so an unknown string is not an error. The
    warning points at the first line outside this package (see ``_stacklevel``).
    """
    import warnings  # with the first warning, not with the import

    warnings.warn(
        "%s %s is not one of the known values (%s) and is sent as given%s"
        % (field, show(value), ", ".join(repr(k) for k in known), did_you_mean(value, known)),
        UserWarning,
        stacklevel=_stacklevel(),
    )


# This package's name as imported: "openai_params", or "app._vendor.openai_params" when vendored.
_PACKAGE = __name__.rpartition(".")[0]


def _stacklevel() -> int:
    """``warnings.warn``'s ``stacklevel`` for the first frame outside this package.

    Counted from the function that calls ``warnings.warn`` (the caller of this
    one), so a warning points at the user's line however many of the
    package's own functions (generated dataclass ``__init__`` included) sit
    between: a frame belongs to the package when its module is the package or
    one of its submodules.
    """
    level = 1
    frame = sys._getframe(1)  # the function that warns: stacklevel 1
    while frame.f_back is not None:
        module = frame.f_globals.get("__name__", "")
        if module != _PACKAGE and not module.startswith(_PACKAGE + "."):
            break
        frame = frame.f_back
        level += 1
    return level


# RFC 9110 section 5.6.2: token = 1*tchar
#   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
#           "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# RFC 9110 section 5.5: field-value = *field-content
#   field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
#   field-vchar   = VCHAR / obs-text        (VCHAR %x21-7E, obs-text %x80-FF)
# So no control character but HTAB: CR, LF and NUL above all, which would end the header
# line and let a value smuggle in a second header. Nothing beyond U+00FF either: a request head
# is written as Latin-1 (_h1.request_head), as http.client writes it.
_NOT_IN_FIELD_VALUE = re.compile(r"[^\t\x20-\x7e\x80-\xff]")

_FIELD_VALUE = "a header value of Latin-1 characters without CR, LF, NUL or other control characters"


def check_header_name(field: str, name: Any) -> None:
    """``name`` must be a header name: an RFC 9110 token (no spaces, colons, CR or LF)."""
    if isinstance(name, str) and _TOKEN.fullmatch(name) is not None:
        return
    if not isinstance(name, str):
        wrong_type(field, "header names (strings)", name)
    fail(
        field,
        "non-empty HTTP tokens (letters, digits and !#$%&'*+-.^_`|~; no spaces, colons, CR or LF)",
        name,
    )


def check_header_value(field: str, value: Any, *, secret: bool = False) -> None:
    """``value`` must be a string that can be one header's value on the wire (RFC 9110 field-value).

    With ``secret`` (a key, a token) the message never shows the value, only
    where the bad character is.
    """
    if not isinstance(value, str):
        if secret:
            raise TypeError("%s must be a string (got %s)" % (field, article(value)))
        wrong_type(field, "a string", value)
    bad = _NOT_IN_FIELD_VALUE.search(value)
    if bad is None:
        return
    if secret:
        raise ValueError(
            "%s must be %s (got %d characters with %r at position %d; the value "
            "is a credential and is not shown)" % (field, _FIELD_VALUE, len(value), bad.group(), bad.start())
        )
    fail(field, _FIELD_VALUE, value)


def check_headers(field: str, headers: Any) -> None:
    """``headers`` must map header names to header values (or ``None``: leave that header out).

    The one check for every header that reaches the wire: the client's own
    (key, organization, project), ``default_headers`` and each call's
    ``extra_headers``. It runs before anything is sent; a credential's value is
    never quoted in its message (:func:`._redact.is_secret_header` decides).
    """
    if headers is None:
        return
    check_mapping(field, headers, allowed="a dict of header names to string values")
    for name, value in headers.items():
        # Called for every request, so the tests are written out here (two matches per
        # header); the message (and whether the value is a secret) is only worked out for a
        # header that fails.
        if not isinstance(name, str) or _TOKEN.fullmatch(name) is None:
            check_header_name("%s header names" % field, name)
        if value is not None and (not isinstance(value, str) or _NOT_IN_FIELD_VALUE.search(value)):
            check_header_value("%s[%r]" % (field, name), value, secret=is_secret_header(name))
