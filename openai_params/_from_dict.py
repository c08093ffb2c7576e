"""Keyword arguments from a dict: what ``from_dict`` and ``replace`` do with keys.

A key may be the field's snake_case name (``max_retries``) or its camelCase
one (``maxRetries``, as JSON configurations write it). An unknown key is an
error whose hint is written in the style the caller used, and a key that
belongs to the client or to ``create()`` (``api_key``, ``messages``, ...) says
where it goes instead.
"""

from __future__ import annotations

from dataclasses import fields
from functools import lru_cache
from typing import Any, Dict, FrozenSet

from ._checks import MAPPING, did_you_mean, wrong_type

__all__ = ["camel_case", "kwargs_from_dict", "snake_case"]

# Keys people put in a parameters dict that belong somewhere else.
_MISPLACED = {
    "messages": "pass the messages to create(messages, params), not in the parameters",
    "api_key": "set it on the client: OpenAI(api_key=...)",
    "base_url": "set it on the client: OpenAI(base_url=...)",
    "organization": "set it on the client: OpenAI(organization=...)",
    "project": "set it on the client: OpenAI(project=...)",
    "default_headers": "set it on the client, or use extra_headers here",
}


def snake_case(key: str) -> str:
    """``maxRetries`` -> ``max_retries``; snake_case names are returned unchanged."""
    out = []
    for index, ch in enumerate(key):
        if ch.isupper():
            if index:
                out.append("_")
            out.append(ch.lower())
        else:
            out.append(ch)
    return "".join(out)


def camel_case(name: str) -> str:
    """``max_retries`` -> ``maxRetries``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@lru_cache(maxsize=None)
def _field_names(cls: type) -> FrozenSet[str]:
    """The dataclass field names of ``cls``, computed once per class (from_dict is on the hot path)."""
    return frozenset(f.name for f in fields(cls))


def kwargs_from_dict(cls: type, d: Any) -> Dict[str, Any]:
    """Map snake_case and camelCase keys of ``d`` to the dataclass fields of ``cls``.

    An unknown key raises ``ValueError`` with the closest field name, written
    in the style (snake or camel) the caller used.
    """
    if not isinstance(d, MAPPING):
        wrong_type(cls.__name__ + ".from_dict() argument", "a dict of parameters", d)
    names = _field_names(cls)
    kwargs: Dict[str, Any] = {}
    given_as: Dict[str, str] = {}
    for key, value in d.items():
        if not isinstance(key, str):
            wrong_type("parameter names", "strings", key)
        name = key if key in names else snake_case(key)
        if name not in names:
            if name in _MISPLACED:
                raise ValueError("unknown parameter %r: %s" % (key, _MISPLACED[name]))
            candidates = sorted(camel_case(n) for n in names) if key != name else sorted(names)
            raise ValueError(
                "unknown parameter %r for %s%s" % (key, cls.__name__, did_you_mean(key, candidates))
            )
        if name in kwargs:
            raise ValueError("parameter %s is given twice (as %r and %r)" % (name, given_as[name], key))
        kwargs[name] = value
        given_as[name] = key
    return kwargs
