"""A JSON value read along a shape (see ``_shapes``): what ``schema.from_json`` runs.

Everything is checked on the way down, and the first mismatch raises
``ValueError`` naming its JSON path and what was expected::

    $.items[2].price: expected a number, got "12"

The path is put together only when something fails: each level that catches
``_Mismatch`` adds its own step and raises it again. ``bool`` and ``int`` are
kept apart (JSON's ``true`` is not ``1``); a whole float (``3.0``) is an
integer, as JSON Schema says; an ``int`` is a valid ``float``.
"""

import datetime as _dt
import json
import re
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple

from ._checks import did_you_mean, is_finite, is_mapping
from ._shapes import (
    NO_DEFAULT,
    AnyOf,
    Array,
    Choice,
    Described,
    OpenMap,
    Record,
    Scalar,
    Shape,
    admits_null,
    json_kind,
)

__all__ = ["convert", "parse_json"]

_MAX_SHOWN = 60


class _Mismatch(Exception):
    def __init__(self, message: str, cause: Optional[BaseException] = None) -> None:
        super().__init__(message)
        self.message, self.cause = message, cause
        self.steps: List[str] = []  # innermost first

    def at(self, step: str) -> "_Mismatch":
        self.steps.append(step)
        return self


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _expected(what: str, value: Any) -> _Mismatch:
    return _Mismatch("expected %s, got %s" % (what, _show(value)))


def _key_step(key: str) -> str:
    return "." + key if key.isidentifier() else "[%s]" % json.dumps(key, ensure_ascii=False)


def parse_json(text: Any) -> Any:
    """``json.loads``, refusing ``NaN`` and ``Infinity`` (not JSON); ``ValueError`` starting with ``$:``."""

    def no_constant(name: str) -> Any:
        raise ValueError("%s is not a JSON value" % name)

    try:
        return json.loads(text, parse_constant=no_constant)
    except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ValueError("$: not valid JSON (%s)" % exc) from None


def convert(shape: Shape, value: Any) -> Any:
    """``value`` read along ``shape``; ``ValueError("$.path: expected ..., got ...")`` if it does not fit."""
    try:
        return _read(shape, value)
    except _Mismatch as exc:
        raise ValueError("$%s: %s" % ("".join(reversed(exc.steps)), exc.message)) from exc.cause


# -- scalars: the Python type -> what it is called in a message, and a reader ---------------------------
# A reader returns the Python value or raises ValueError; _read_scalar turns that into a mismatch.


def _read_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError


def _read_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():  # JSON Schema: 3.0 is an integer
        return int(value)
    raise ValueError


def _read_float(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int beyond the float range: 1 followed by 400 zeros
            raise ValueError from None
        if is_finite(number):
            return number
    raise ValueError


def _read_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError


def _read_null(value: Any) -> None:
    if value is not None:
        raise ValueError


_DATE = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_TIME = r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?([Zz]|[+-][0-9]{2}:[0-9]{2})?"
# RFC 3339 section 5.6 (date-time, full-date, full-time); the offset may be left out
# for a naive Python value, and the separator may be "T", "t" or a space.
_DATETIME_RE = re.compile(_DATE + "[Tt ]" + _TIME)
_DATE_RE = re.compile(_DATE)
_TIME_RE = re.compile(_TIME)
_UUID_RE = re.compile("([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})")


def _zone(text: Optional[str]) -> Optional[_dt.tzinfo]:
    if not text:
        return None
    if text in "Zz":
        return _dt.timezone.utc
    sign = -1 if text[0] == "-" else 1
    return _dt.timezone(sign * _dt.timedelta(hours=int(text[1:3]), minutes=int(text[4:6])))


def _clock(hour: str, minute: str, second: str, fraction: Optional[str], zone: Optional[str]) -> Any:
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    return int(hour), int(minute), int(second), micro, _zone(zone)


def _matching(pattern: "re.Pattern[str]", make: Callable[..., Any]) -> Callable[[Any], Any]:
    def read(value: Any) -> Any:
        match = pattern.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError
        return make(*match.groups())  # ValueError for month 13, 25 o'clock, a zone of 24 hours

    return read


def _make_datetime(y: str, mo: str, d: str, *clock: Any) -> _dt.datetime:
    h, mi, s, us, tz = _clock(*clock)
    return _dt.datetime(int(y), int(mo), int(d), h, mi, s, us, tz)


def _make_time(*clock: Any) -> _dt.time:
    h, mi, s, us, tz = _clock(*clock)
    return _dt.time(h, mi, s, us, tz)


def _make_date(y: str, m: str, d: str) -> _dt.date:
    return _dt.date(int(y), int(m), int(d))


_SCALARS: Dict[type, Tuple[str, Callable[[Any], Any]]] = {
    str: ("a string", _read_str),
    int: ("an integer", _read_int),
    float: ("a number", _read_float),
    bool: ("true or false", _read_bool),
    type(None): ("null", _read_null),
    _dt.datetime: ('a date-time string ("2024-05-01T12:30:00Z")', _matching(_DATETIME_RE, _make_datetime)),
    _dt.date: ('a date string ("2024-05-01")', _matching(_DATE_RE, _make_date)),
    _dt.time: ('a time string ("12:30:00")', _matching(_TIME_RE, _make_time)),
    uuid.UUID: ('a UUID string ("12345678-1234-5678-1234-567812345678")', _matching(_UUID_RE, uuid.UUID)),
}


# -- the other shapes ----------------------------------------------------------------------------------


def _what(shape: Shape) -> str:
    """What a value of ``shape`` is called in a message."""
    if isinstance(shape, Described):
        return _what(shape.shape)
    if isinstance(shape, Scalar):
        return _SCALARS[shape.python][0]
    if isinstance(shape, Choice):
        return "one of " + ", ".join(_show(j) for j, _ in shape.values)
    if isinstance(shape, AnyOf):
        return " or ".join(_what(b) for b in shape.branches)
    return "an array" if isinstance(shape, Array) else "an object"


def _read_scalar(shape: Scalar, value: Any) -> Any:
    what, read = _SCALARS[shape.python]
    try:
        return read(value)
    except ValueError:
        raise _expected(what, value) from None


def _read_choice(shape: Choice, value: Any) -> Any:
    try:
        return shape.lookup[(json_kind(value), value)]
    except (KeyError, TypeError):  # TypeError: an unhashable value (a list, a dict)
        pass
    raise _expected(_what(shape), value)


def _read_array(shape: Array, value: Any) -> Any:
    if not isinstance(value, (list, tuple)):
        raise _expected("an array", value)
    items = []
    for index, item in enumerate(value):
        try:
            items.append(_read(shape.item, item))
        except _Mismatch as exc:
            raise exc.at("[%d]" % index) from None
    return shape.build(items)


def _read_map(shape: OpenMap, value: Any) -> Dict[str, Any]:
    if not is_mapping(value):
        raise _expected("an object", value)
    out = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise _expected("string keys", key)
        try:
            out[key] = _read(shape.value, item)
        except _Mismatch as exc:
            raise exc.at(_key_step(key)) from None
    return out


def _read_any_of(shape: AnyOf, value: Any) -> Any:
    failures = []
    for branch in shape.branches:
        try:
            return _read(branch, value)
        except _Mismatch as exc:
            failures.append((branch, exc))
    # One branch of the value's own kind: its error says more (and deeper) than a list of kinds.
    same_kind = [exc for branch, exc in failures if _accepts_kind(branch, json_kind(value))]
    if len(same_kind) == 1:
        raise same_kind[0]
    raise _expected(_what(shape), value)


def _accepts_kind(shape: Shape, kind: str) -> bool:
    if isinstance(shape, Described):
        return _accepts_kind(shape.shape, kind)
    if isinstance(shape, Scalar):
        return shape.json_type == kind or (shape.json_type == "number" and kind == "integer")
    if isinstance(shape, Choice):
        return any(json_kind(j) == kind for j, _ in shape.values)
    if isinstance(shape, AnyOf):
        return any(_accepts_kind(b, kind) for b in shape.branches)
    if isinstance(shape, Array):
        return kind == "array"
    return kind == "object"


def _read_record(shape: Record, value: Any) -> Any:
    if not is_mapping(value):
        raise _expected("an object", value)
    for key in value:
        if key not in shape.names:
            known = sorted(shape.names)
            raise _Mismatch(
                "unknown key %s%s"
                % (_show(key), did_you_mean(str(key), known) or " (keys: %s)" % ", ".join(known))
            )
    values = {}
    for field in shape.fields:
        item = value.get(field.name, _ABSENT)
        # An optional key given as null (strict mode's "absent") takes its default, unless null is
        # itself a value of the field's type.
        if item is _ABSENT or (item is None and field.optional and not admits_null(field.shape)):
            if not field.optional:
                raise _Mismatch("missing key %s" % _show(field.name))
            if field.default is not NO_DEFAULT:
                values[field.name] = field.default
            continue
        try:
            values[field.name] = _read(field.shape, item)
        except _Mismatch as exc:
            raise exc.at(_key_step(field.name)) from None
    try:
        return shape.build(**values)
    except (TypeError, ValueError) as exc:  # the class's own checks (__post_init__) refused the values
        message = "%s(...) refused the values: %s: %s" % (shape.name, type(exc).__name__, exc)
        raise _Mismatch(message, exc) from None


def _read_described(shape: Described, value: Any) -> Any:
    return _read(shape.shape, value)


_ABSENT = object()

_READ_BY_SHAPE: Dict[type, Callable[[Any, Any], Any]] = {
    Scalar: _read_scalar,
    Choice: _read_choice,
    Array: _read_array,
    OpenMap: _read_map,
    AnyOf: _read_any_of,
    Record: _read_record,
    Described: _read_described,
}


def _read(shape: Shape, value: Any) -> Any:
    return _READ_BY_SHAPE[type(shape)](shape, value)
