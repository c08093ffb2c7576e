"""What a request body may hold, and errors that name where it does not.

JSON (RFC 8259) has objects, arrays, strings, finite numbers, ``true``,
``false`` and ``null``: in Python a dict (or any mapping), a list or tuple, a
str, an int or a finite float, a bool and ``None``. Text must be valid
Unicode, since the body is sent as UTF-8: a lone surrogate (half of a UTF-16
pair, ``"\\ud83d"``) cannot be. ``request.encode_json`` turns a body into bytes
in one pass and calls ``check_json`` only when that fails, to say where;
``extra_body`` is checked when the parameters are, since its keys end up at
the top of the body, where its name would be lost.

Pure Python, no ``json`` import: loading the parameters costs nothing more.
"""

from __future__ import annotations

from typing import Any, List

from ._checks import fail, is_finite, is_mapping, wrong_type

__all__ = ["JSON_VALUES", "check_json"]

JSON_VALUES = "a JSON value (a string, a finite number, True, False, None, a list or a dict)"


def check_json(field: str, value: Any) -> None:
    """Raise ``TypeError`` / ``ValueError`` naming the first part of ``value`` JSON cannot hold.

    ``field`` is the name of ``value`` (``"extra_body"``); ``""`` for a whole
    body, whose keys are then named as they are (``messages[0].content[1]``).
    """
    _check(field, value, [])


def _key_path(field: str, key: str) -> str:
    if not field:
        return key
    return "%s.%s" % (field, key) if key.isidentifier() else "%s[%r]" % (field, key)


def _check(field: str, value: Any, parents: List[int]) -> None:
    # The same types, in the same order, as json.JSONEncoder, which also takes subclasses.
    if value is None or isinstance(value, (bool, int)):
        return
    if isinstance(value, str):
        _check_text(field or "the body", value)
    elif isinstance(value, float):
        if not is_finite(value):
            fail(field or "the body", "a finite number (JSON has no NaN or Infinity)", value)
    elif isinstance(value, (list, tuple)) or is_mapping(value):
        if id(value) in parents:
            fail(field or "the body", "JSON without a circular reference (it contains itself)", value)
        parents.append(id(value))
        if isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                _check("%s[%d]" % (field, index), item, parents)
        else:
            for key, item in value.items():
                _check_key(field, key)
                _check(_key_path(field, str(key)), item, parents)
        parents.pop()
    else:
        wrong_type(field or "the body", JSON_VALUES, value)


def _check_key(field: str, key: Any) -> None:
    where = "%s keys" % field if field else "keys"
    if isinstance(key, str):
        _check_text(where, key)
    elif isinstance(key, float) and not is_finite(key):
        fail(where, "strings (JSON has no NaN or Infinity)", key)
    elif not (key is None or isinstance(key, (bool, int, float))):
        wrong_type(where, "strings", key)  # json writes numbers, bools and None as strings; nothing else


def _check_text(field: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        fail(field, "text without lone surrogates (halves of a UTF-16 pair cannot be sent as UTF-8)", text)
