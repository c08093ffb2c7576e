"""Python types <-> JSON Schema, for structured outputs and tools. Pure, standard library only.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Person:
    ...     name: str
    ...     age: int
    >>> json_schema(Person)["required"]
    ['name', 'age']
    >>> from_json(Person, '{"name": "Ada", "age": 36}')
    Person(name='Ada', age=36)

``json_schema(tp, strict=True)`` writes the schema OpenAI's strict mode
accepts; ``from_json(tp, value)`` reads what a model sent back, checked all
the way down. Types are read once into shapes (``_shapes``: the type table);
this module renders shapes as JSON Schema under the strict or plain rules
(``STRICT`` / ``PLAIN``), and ``_strict_limits`` checks OpenAI's size limits;
``_convert`` reads JSON values along the same shapes.

For the other modules of the package (not public names):

- A root that is not an object (``List[Person]``, an ``Enum``, ``int``,
  ``Optional[Person]``) is wrapped: the schema is an object with the one
  required key ``WRAPPER_KEY`` (``"value"``). ``from_json`` unwraps it
  itself: given a one-key object ``{"value": ...}`` for such a root it reads
  the inside, otherwise the value as it is.
- ``ObjectType(name, fields, description)`` describes an object field by
  field (a function's parameters: ``(name, type, default, description)``,
  ``NO_DEFAULT`` for none); ``json_schema`` and ``from_json`` take it like a
  type, ``from_json`` returning a ``dict`` with the defaults put back.
"""

import datetime as _dt
import enum
import json
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, List, Optional, Set, Tuple

from ._checks import is_finite
from ._convert import convert, parse_json
from ._shapes import (
    NO_DEFAULT,
    AnyOf,
    Array,
    Choice,
    Described,
    ObjectType,
    OpenMap,
    Record,
    Scalar,
    Shape,
    admits_null,
    cache_key,
    json_kind,
    shape_of,
    type_name,
)
from ._strict_limits import check_limits

__all__ = ["NO_DEFAULT", "WRAPPER_KEY", "ObjectType", "from_json", "json_schema"]

WRAPPER_KEY = "value"


@dataclass(frozen=True)
class _Rules:
    every_key_required: bool
    optional_keys_nullable: bool
    write_defaults: bool
    open_maps: bool
    check_limits: bool


# OpenAI structured outputs, strict mode: "all fields must be required", "additionalProperties:
# false must always be set in objects", optional fields are emulated by a union with null,
# "default" is not a supported keyword, and every object lists its properties. The plain schema
# is ordinary JSON Schema. additionalProperties is false in both: from_json refuses unknown keys.
#                                   strict  plain
_RULES = {
    "every_key_required": (True, False),  # an optional key is still listed in "required" ...
    "optional_keys_nullable": (True, False),  # ... and takes null for "absent" (from_json: the default)
    "write_defaults": (False, True),  # "default": the field's default, when JSON can hold it
    "open_maps": (False, True),  # Dict[str, T] as {"type": "object", "additionalProperties": T}
    "check_limits": (True, False),  # _strict_limits.LIMITS
}
STRICT = _Rules(**{rule: modes[0] for rule, modes in _RULES.items()})
PLAIN = _Rules(**{rule: modes[1] for rule, modes in _RULES.items()})


def json_schema(tp: Any, *, strict: bool = True) -> Dict[str, Any]:
    """The JSON Schema of the Python type ``tp``, as a new dict (yours to change).

    ``strict=True`` follows OpenAI's structured-outputs rules: every key
    required, optional ones nullable, ``additionalProperties: false``, no
    ``default``, no open maps, the size limits checked. ``strict=False``
    gives the plain schema (optional keys not required, defaults written).
    ``TypeError`` names the path of a type with no JSON form
    (``Order.items[].price``); ``ValueError`` a strict schema over a limit.
    """
    key = cache_key(tp)
    if key is None:
        return _render_root(tp, STRICT if strict else PLAIN)
    schema: Dict[str, Any] = json.loads(_cached(key, bool(strict)))
    return schema


def from_json(tp: Any, value: Any) -> Any:
    """``value`` (parsed JSON, or ``str`` / ``bytes`` to parse) as an instance of ``tp``, checked.

    A mismatch raises ``ValueError`` naming the JSON path and what was
    expected: ``$.items[2].price: expected a number, got "12"``. Unknown keys
    are refused; a key that is optional in the type may be absent or ``null``
    (its default is then used). A root that ``json_schema`` wraps is read from
    ``{"value": ...}`` or from the bare value.
    """
    shape = shape_of(tp)
    if isinstance(value, (str, bytes, bytearray)):
        value = parse_json(value)
    wrapped = _root_record(shape)[0] is None
    if wrapped and isinstance(value, dict) and len(value) == 1 and WRAPPER_KEY in value:
        try:
            return convert(shape, value[WRAPPER_KEY])
        except ValueError as exc:  # the path starts inside the wrapper
            raise ValueError("$.%s%s" % (WRAPPER_KEY, str(exc)[1:])) from exc.__cause__
    return convert(shape, value)


def _root_record(shape: Shape) -> Tuple[Optional[Record], Optional[str]]:
    """The record at the root (and the Annotated description around it), or None: then it is wrapped."""
    if isinstance(shape, Described):
        record, _ = _root_record(shape.shape)
        return record, shape.text
    return (shape, None) if isinstance(shape, Record) else (None, None)


@lru_cache(maxsize=512)
def _cached(key: Tuple[Any, str], strict: bool) -> str:
    # Kept as JSON text: the caller may change the dict it gets, so each call parses a new one,
    # which json's C parser does faster than any copy of a dict tree (benchmarks/json_schema.py).
    return json.dumps(_render_root(key[0], STRICT if strict else PLAIN))


# -- rendering ------------------------------------------------------------------------------------------


class _Renderer:
    def __init__(self, root: Shape, rules: _Rules) -> None:
        self.root, self.rules = root, rules
        self.recursive = _records_in_cycles(root)
        self.defs: Dict[str, Dict[str, Any]] = {}
        self.def_names: Dict[int, str] = {}

    def render(self, shape: Shape, path: str) -> Dict[str, Any]:
        if isinstance(shape, Scalar):
            out = {"type": shape.json_type}
            if shape.format:
                out["format"] = shape.format
            return out
        if isinstance(shape, Choice):
            return _choice(shape)
        if isinstance(shape, Array):
            return {"type": "array", "items": self.render(shape.item, path + "[]")}
        if isinstance(shape, OpenMap):
            if not self.rules.open_maps:
                raise TypeError(
                    "%s: %s has no strict JSON Schema form (strict mode has no open maps); "
                    "use a list of key/value dataclasses (List[Entry] with Entry having key: str and "
                    "value: T), or json_schema(..., strict=False)" % (path, shape.name)
                )
            return {"type": "object", "additionalProperties": self.render(shape.value, path + "{}")}
        if isinstance(shape, AnyOf):
            return {"anyOf": _flat_any_of(self.render(b, path) for b in shape.branches)}
        if isinstance(shape, Described):
            return _describe(self.render(shape.shape, path), shape.text)
        return self.reference(shape, path) if isinstance(shape, Record) else {}

    def reference(self, record: Record, path: str) -> Dict[str, Any]:
        """A record inline, or a $ref when it is part of a cycle (to "#" for the root itself)."""
        if id(record) not in self.recursive:
            return self.record(record, path)
        if record is self.root:
            return {"$ref": "#"}
        return {"$ref": "#/$defs/" + self.define(record)}

    def define(self, record: Record) -> str:
        name = self.def_names.get(id(record))
        if name is None:
            name, number = record.name, 1
            while name in self.defs:
                number += 1
                name = "%s_%d" % (record.name, number)
            self.def_names[id(record)] = name
            self.defs[name] = {}  # taken, before the fields refer back to it
            self.defs[name] = self.record(record, record.name)
        return name

    def record(self, record: Record, path: str) -> Dict[str, Any]:
        properties: Dict[str, Any] = {}
        required: List[str] = []
        for field in record.fields:
            shape, text = field.shape, field.description
            if isinstance(shape, Described):  # the field's own description wins over Annotated's
                text = text or shape.text
                shape = shape.shape
            schema = self.render(shape, "%s.%s" % (path, field.name))
            if field.optional and self.rules.optional_keys_nullable and not admits_null(shape):
                schema = {"anyOf": _flat_any_of([schema, {"type": "null"}])}
            if field.optional and self.rules.write_defaults and field.default is not NO_DEFAULT:
                default = _json_default(field.default)
                if default is not _NOT_JSON:
                    schema["default"] = default
            properties[field.name] = _describe(schema, text) if text else schema
            if self.rules.every_key_required or not field.optional:
                required.append(field.name)
        out: Dict[str, Any] = {"type": "object"}
        if record.description:
            out["description"] = record.description
        out.update(properties=properties, required=required, additionalProperties=False)
        return out


def _render_root(tp: Any, rules: _Rules) -> Dict[str, Any]:
    shape = shape_of(tp)
    name = type_name(tp)
    record, text = _root_record(shape)
    renderer = _Renderer(record or shape, rules)
    if record is not None:
        schema = renderer.record(record, name)
        if text:
            schema["description"] = text
    else:
        schema = {
            "type": "object",
            "properties": {WRAPPER_KEY: renderer.render(shape, name)},
            "required": [WRAPPER_KEY],
            "additionalProperties": False,
        }
    if renderer.defs:
        schema["$defs"] = renderer.defs
    if rules.check_limits:
        check_limits(schema, name)
    return schema


def _choice(shape: Choice) -> Dict[str, Any]:
    """``{"type": ..., "enum": [...]}``, or an anyOf of one such per JSON type when they mix."""
    groups: Dict[str, List[Any]] = {}
    for value, _ in shape.values:
        groups.setdefault(json_kind(value), []).append(value)
    branches = [
        {"type": "null"} if kind == "null" else {"type": kind, "enum": v} for kind, v in groups.items()
    ]
    out = branches[0] if len(branches) == 1 else {"anyOf": branches}
    return _describe(out, shape.description) if shape.description else out


def _flat_any_of(schemas: Any) -> List[Dict[str, Any]]:
    out: List[Dict[str, Any]] = []
    for schema in schemas:
        out.extend(schema["anyOf"] if list(schema) == ["anyOf"] else [schema])
    return out


def _describe(schema: Dict[str, Any], text: str) -> Dict[str, Any]:
    # Keywords beside "$ref" are not honoured everywhere; a one-branch anyOf carries the text instead.
    if "$ref" in schema:
        return {"anyOf": [schema], "description": text}
    schema["description"] = text
    return schema


_NOT_JSON = object()


def _json_default(value: Any) -> Any:
    """A default value as JSON, or ``_NOT_JSON`` (then no "default" is written)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, float) and not is_finite(value):
        return _NOT_JSON
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_json_default(v) for v in value]
        return _NOT_JSON if any(v is _NOT_JSON for v in items) else items
    if isinstance(value, (_dt.date, _dt.time)):  # a datetime is a date
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return _NOT_JSON


def _records_in_cycles(root: Shape) -> Set[int]:
    """The ids of the records that can reach themselves: they go in $defs, referenced by $ref."""

    def children(shape: Shape) -> List[Shape]:
        if isinstance(shape, (Array,)):
            return [shape.item]
        if isinstance(shape, OpenMap):
            return [shape.value]
        if isinstance(shape, AnyOf):
            return list(shape.branches)
        if isinstance(shape, Described):
            return [shape.shape]
        if isinstance(shape, Record):
            return [f.shape for f in shape.fields]
        return []

    records: Dict[int, Record] = {}
    stack: List[Shape] = [root]
    while stack:  # every record reachable from the root
        shape = stack.pop()
        if isinstance(shape, Record):
            if id(shape) in records:
                continue
            records[id(shape)] = shape
        stack.extend(children(shape))

    def reaches(start: Record) -> bool:
        seen: Set[int] = set()
        todo = children(start)
        while todo:
            shape = todo.pop()
            if shape is start:
                return True
            if id(shape) not in seen:
                seen.add(id(shape))
                todo.extend(children(shape))
        return False

    return {key for key, record in records.items() if reaches(record)}
