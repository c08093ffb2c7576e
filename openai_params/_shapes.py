"""Python types read once, as shapes: the one place that looks at type hints.

A shape says what a type looks like in JSON. ``schema.json_schema`` renders it
as JSON Schema and ``_convert`` reads a JSON value along it, so the two can
never disagree about a type. The rules, in the order ``_build`` applies them:

| Python type | shape |
| --- | --- |
| ``Annotated[T, "text"]`` | ``T``, described by the first ``str`` in the metadata |
| ``str``, ``int``, ``float``, ``bool``, ``None``, ``datetime``, ``date``, ``time``, ``UUID`` | ``Scalar`` |
| ``Union[...]``, ``Optional[T]``, ``A | B`` | ``AnyOf`` of the members |
| ``Literal[...]``, an ``Enum`` (str or int values) | ``Choice`` |
| ``List[T]``, ``Sequence[T]``, ``Set[T]``, ``Tuple[T, ...]`` ... | ``Array`` (``_ARRAYS``: what it builds) |
| ``Dict[str, T]``, ``Mapping[str, T]`` | ``OpenMap`` (refused in strict mode by the renderer) |
| a dataclass, a ``TypedDict``, an ``ObjectType`` | ``Record`` (recursion ends at the same object) |
| ``NewType("Id", int)`` | the shape of ``int`` |
| anything else | ``TypeError`` naming the path, with a hint from ``_HINTS`` |

Shapes are cached per root type (``shape_of``); nothing here depends on the
strict flag.
"""

import dataclasses
import datetime as _dt
import enum
import sys
import types
import typing
import uuid
from collections import abc
from functools import lru_cache
from inspect import cleandoc
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Sequence, Tuple

__all__ = [
    "NO_DEFAULT",
    "AnyOf",
    "Array",
    "Choice",
    "Described",
    "Field",
    "ObjectType",
    "OpenMap",
    "Record",
    "Scalar",
    "Shape",
    "UNIONS",
    "admits_null",
    "cache_key",
    "json_kind",
    "shape_of",
    "type_name",
]

NO_DEFAULT: Any = dataclasses.MISSING  # "this field has no default value"


class Shape:
    """What a Python type looks like in JSON (base class)."""

    __slots__ = ()


class Scalar(Shape):
    """A JSON scalar; ``python`` is the type read from it, ``format`` the JSON Schema format if any."""

    __slots__ = ("json_type", "format", "python")

    def __init__(self, json_type: str, python: type, format: Optional[str] = None) -> None:
        self.json_type, self.python, self.format = json_type, python, format


class Choice(Shape):
    """One of fixed values: ``Literal`` or an ``Enum``. ``values`` pairs each JSON value with its Python one."""

    __slots__ = ("values", "lookup", "description")

    def __init__(self, values: Sequence[Tuple[Any, Any]], description: Optional[str] = None) -> None:
        self.values = tuple(values)
        # Keyed by kind too: 1 and True are equal in Python but not the same JSON value.
        self.lookup = {(json_kind(j), j): p for j, p in self.values}
        self.description = description


class Array(Shape):
    """A JSON array of ``item``; ``build`` makes the Python container (list, tuple, set, frozenset)."""

    __slots__ = ("item", "build")

    def __init__(self, item: Shape, build: Callable[[List[Any]], Any]) -> None:
        self.item, self.build = item, build


class OpenMap(Shape):
    """A JSON object with any ``str`` keys and values of ``value`` (``Dict[str, T]``, named ``name``)."""

    __slots__ = ("value", "name")

    def __init__(self, value: Shape, name: str) -> None:
        self.value, self.name = value, name


class AnyOf(Shape):
    """Any of ``branches`` (a ``Union``), tried in order when reading."""

    __slots__ = ("branches",)

    def __init__(self, branches: Sequence[Shape]) -> None:
        self.branches = tuple(branches)


class Described(Shape):
    """``shape`` with a description (``Annotated[T, "text"]``)."""

    __slots__ = ("shape", "text")

    def __init__(self, shape: Shape, text: str) -> None:
        self.shape, self.text = shape, text


class Field:
    """One key of a ``Record``.

    ``optional``: the key may be absent (a default, a default factory, a
    ``NotRequired`` key). ``default``: the value put back when it is absent,
    or ``NO_DEFAULT`` to leave the key out and let ``build`` decide (a
    dataclass applies its own default or factory).
    """

    __slots__ = ("name", "shape", "optional", "default", "description")

    def __init__(
        self, name: str, shape: Shape, optional: bool, default: Any, description: Optional[str]
    ) -> None:
        self.name, self.shape, self.optional = name, shape, optional
        self.default, self.description = default, description


class Record(Shape):
    """A JSON object with known keys; ``build(**values)`` makes the Python value."""

    __slots__ = ("name", "description", "build", "fields", "names")

    def __init__(self, name: str, description: Optional[str], build: Callable[..., Any]) -> None:
        self.name, self.description, self.build = name, description, build
        self.fields: Tuple[Field, ...] = ()  # filled after creation, so a recursive field can point here
        self.names: FrozenSet[str] = frozenset()


class ObjectType:
    """An object described field by field, for what is not a class: a function's parameters.

    ``fields`` holds ``(name, type, default, description)`` tuples; ``default``
    is ``NO_DEFAULT`` (``dataclasses.MISSING``) for a required field.
    ``json_schema(ObjectType(...))`` gives the object's schema and
    ``from_json(ObjectType(...), arguments)`` a ``dict`` with every field,
    defaults put back. Keep the object: schemas are cached per object.
    """

    def __init__(
        self,
        name: str,
        fields: Sequence[Tuple[str, Any, Any, Optional[str]]],
        description: Optional[str] = None,
    ) -> None:
        self.name, self.fields, self.description = name, tuple(fields), description

    def __repr__(self) -> str:
        return "ObjectType(%r)" % self.name


def json_kind(value: Any) -> str:
    """The JSON type of a Python value as ``json.loads`` gives it: ``"integer"``, ``"string"`` ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, abc.Mapping):
        return "object"
    return type(value).__name__


def admits_null(shape: Shape) -> bool:
    """Whether JSON ``null`` is a value of ``shape`` (then an optional key needs no extra null)."""
    if isinstance(shape, Described):
        return admits_null(shape.shape)
    if isinstance(shape, Scalar):
        return shape.json_type == "null"
    if isinstance(shape, Choice):
        return any(j is None for j, _ in shape.values)
    if isinstance(shape, AnyOf):
        return any(admits_null(b) for b in shape.branches)
    return False


_SCALARS: Dict[Any, Scalar] = {
    str: Scalar("string", str),
    int: Scalar("integer", int),
    float: Scalar("number", float),
    bool: Scalar("boolean", bool),
    type(None): Scalar("null", type(None)),
    None: Scalar("null", type(None)),
    _dt.datetime: Scalar("string", _dt.datetime, "date-time"),
    _dt.date: Scalar("string", _dt.date, "date"),
    _dt.time: Scalar("string", _dt.time, "time"),
    uuid.UUID: Scalar("string", uuid.UUID, "uuid"),
}

# Array origin -> what a JSON array is read as.
_ARRAYS: Dict[Any, Callable[[List[Any]], Any]] = {
    list: list,
    abc.Sequence: list,
    abc.MutableSequence: list,
    abc.Collection: list,
    abc.Iterable: list,
    set: set,
    abc.MutableSet: set,
    frozenset: frozenset,
    abc.Set: frozenset,
    tuple: tuple,  # Tuple[T, ...] only; see _array
}
_MAPS = (dict, abc.Mapping, abc.MutableMapping)

UNIONS = tuple(u for u in (typing.Union, getattr(types, "UnionType", None)) if u is not None)  # 3.10: A | B
_ANNOTATED = getattr(typing, "Annotated", None)  # 3.9+
# TypedDict key qualifiers: they say whether a key may be absent, not what it holds.
_KEY_QUALIFIERS = tuple(
    q for q in (getattr(typing, n, None) for n in ("Required", "NotRequired", "ReadOnly")) if q is not None
)

_SUPPORTED = (
    "str, int, float, bool, None, Optional/Union, Literal, Enum, List/Sequence/Set/Tuple[T, ...], "
    "Dict[str, T], a dataclass, a TypedDict, datetime, date, time, UUID"
)
_NO_ANY = "name a concrete type (a schema that allows anything has no strict form)"
# Type (qualified name; a class's bases are looked up too) -> what to use instead.
_HINTS = {
    "decimal.Decimal": "use float or str",
    "fractions.Fraction": "use float or str",
    "builtins.complex": "use a dataclass with two floats",
    "builtins.bytes": "use str (base64 text, for example)",
    "builtins.bytearray": "use str (base64 text, for example)",
    "datetime.timedelta": "use a float number of seconds or an ISO 8601 duration str",
    "pathlib.PurePath": "use str",
    "pathlib._local.PurePath": "use str",  # 3.13
    "typing.Any": _NO_ANY,
    "builtins.object": _NO_ANY,
    "collections.abc.Callable": "a function is not a JSON value (tools are built by OpenAITool.from_function)",
    "builtins.dict": "give the value type: Dict[str, T]",
    "builtins.list": "give the item type: List[T]",
    "builtins.tuple": "use Tuple[T, ...] (any length) or a dataclass for fixed fields",
    "builtins.set": "give the item type: Set[T]",
}


def type_name(tp: Any) -> str:
    """A short readable name: ``Order``, ``List[int]``."""
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    if isinstance(tp, ObjectType):
        return tp.name
    return repr(tp).replace("typing.", "")


def _qualified(tp: Any) -> str:
    if isinstance(tp, type):
        return "%s.%s" % (tp.__module__, tp.__qualname__)
    return repr(tp)


def _refuse(tp: Any, path: str, hint: Optional[str] = None) -> typing.NoReturn:
    origin = typing.get_origin(tp)
    found = origin if origin is not None else tp
    bases = [cls for cls in getattr(found, "__mro__", ()) if cls is not object] or [found]
    for cls in bases:  # a subclass of Decimal or PurePath is found by its base
        hint = hint or _HINTS.get(_qualified(cls))
    raise TypeError("%s: %r has no JSON Schema form; %s" % (path, tp, hint or "supported are " + _SUPPORTED))


def _docstring(cls: type) -> Optional[str]:
    doc = cls.__dict__.get("__doc__")
    if not isinstance(doc, str) or not doc.strip():
        return None
    # What dataclass and Enum (before 3.11) write when the class has no docstring.
    if doc.startswith(cls.__name__ + "(") or doc == "An enumeration.":
        return None
    return cleandoc(doc)


def _hints(cls: Any, path: str) -> Dict[str, Any]:
    try:
        if sys.version_info >= (3, 9):
            return typing.get_type_hints(cls, include_extras=True)
        return typing.get_type_hints(cls)  # pragma: no cover - 3.8 has no Annotated to keep
    except Exception as exc:  # NameError for a forward reference, TypeError for a bad hint
        raise TypeError(
            "%s: cannot read the type hints of %s (%s: %s); the names in its annotations must "
            "be importable from its module" % (path, cls.__name__, type(exc).__name__, exc)
        ) from exc


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")


def _build(tp: Any, path: str, seen: Dict[Any, Record]) -> Shape:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if _ANNOTATED is not None and origin is _ANNOTATED:
        inner = _build(args[0], path, seen)
        text = next((a for a in args[1:] if isinstance(a, str)), None)
        return Described(inner, text) if text else inner
    if origin in _KEY_QUALIFIERS:
        return _build(args[0], path, seen)
    try:
        scalar = _SCALARS.get(tp)
    except TypeError:  # an unhashable hint, such as Annotated with a dict in its metadata
        scalar = None
    if scalar is not None:
        return scalar
    if origin in UNIONS:
        return AnyOf([_build(a, path, seen) for a in args])
    if origin is typing.Literal:
        return Choice([_literal_value(a, tp, path) for a in args])
    if origin in _ARRAYS and args:
        return _array(tp, origin, args, path, seen)
    if origin in _MAPS and args:
        if args[0] is not str:
            _refuse(tp, path, "JSON object keys are strings: use Dict[str, T]")
        return OpenMap(_build(args[1], path + "{}", seen), type_name(tp))
    if origin is None and isinstance(tp, type) and issubclass(tp, enum.Enum):
        return Choice([(_enum_value(member, path), member) for member in tp], _docstring(tp))
    if origin is None and _is_record(tp):
        return seen[tp] if tp in seen else _record(tp, path, seen)
    if hasattr(tp, "__supertype__"):  # NewType
        return _build(tp.__supertype__, path, seen)
    _refuse(tp, path)


def _is_record(tp: Any) -> bool:
    return (
        isinstance(tp, ObjectType)
        or isinstance(tp, type)
        and (dataclasses.is_dataclass(tp) or _is_typeddict(tp))
    )


def _literal_value(value: Any, tp: Any, path: str) -> Tuple[Any, Any]:
    if isinstance(value, enum.Enum):
        return _enum_value(value, path), value
    if value is None or isinstance(value, (str, int)):  # bool is an int
        return value, value
    _refuse(tp, path, "Literal values must be str, int, bool, None or Enum members (got %r)" % (value,))


def _enum_value(member: enum.Enum, path: str) -> Any:
    if isinstance(member.value, (str, int)) and not isinstance(member.value, bool):
        return member.value
    raise TypeError(
        "%s: %s has the value %r; enum values must be str or int to be written in JSON"
        % (path, member, member.value)
    )


def _array(tp: Any, origin: Any, args: Tuple[Any, ...], path: str, seen: Dict[Any, Record]) -> Array:
    if origin is tuple:
        if len(args) != 2 or args[1] is not Ellipsis:
            _refuse(tp, path, "use Tuple[T, ...] (any length) or a dataclass for fixed fields")
        args = args[:1]
    build = _ARRAYS[origin]
    item = _build(args[0], path + "[]", seen)
    if build in (set, frozenset) and not _hashable(item):
        _refuse(tp, path, "set items must be hashable (use List[T], or a frozen dataclass)")
    return Array(item, build)


def _hashable(shape: Shape) -> bool:
    if isinstance(shape, Described):
        return _hashable(shape.shape)
    if isinstance(shape, AnyOf):
        return all(_hashable(b) for b in shape.branches)
    if isinstance(shape, Array):
        return shape.build in (tuple, frozenset) and _hashable(shape.item)
    if isinstance(shape, Record):
        return getattr(shape.build, "__hash__", None) is not None and shape.build is not dict
    return not isinstance(shape, OpenMap)


def _record(tp: Any, path: str, seen: Dict[Any, Record]) -> Record:
    if isinstance(tp, ObjectType):
        record = seen[tp] = Record(tp.name, tp.description, dict)
        specs = [(n, t, d is not NO_DEFAULT, d, text) for n, t, d, text in tp.fields]
    elif _is_typeddict(tp):
        record = seen[tp] = Record(tp.__name__, _docstring(tp), dict)
        hints = _hints(tp, path)
        required = getattr(tp, "__required_keys__", hints if tp.__total__ else ())  # 3.8: totality only
        specs = [(n, t, n not in required, NO_DEFAULT, None) for n, t in hints.items()]
    else:
        record = seen[tp] = Record(tp.__name__, _docstring(tp), tp)
        hints = _hints(tp, path)
        for name, hint in hints.items():  # InitVars are constructor arguments that fields() leaves out
            if isinstance(hint, dataclasses.InitVar) and getattr(tp, name, NO_DEFAULT) is NO_DEFAULT:
                raise TypeError(
                    "%s.%s: an InitVar without a default cannot be read from JSON (it is not a field); "
                    "give it a default" % (path, name)
                )
        specs = []
        for f in dataclasses.fields(tp):
            if not f.init:  # not a constructor argument: nothing to read from JSON
                continue
            text = f.metadata.get("description")
            if text is not None and not isinstance(text, str):
                raise TypeError("%s.%s: metadata description must be a str (got %r)" % (path, f.name, text))
            optional = f.default is not NO_DEFAULT or f.default_factory is not NO_DEFAULT
            specs.append((f.name, hints[f.name], optional, f.default, text))
    record.fields = tuple(
        Field(name, _build(hint, "%s.%s" % (path, name), seen), optional, default, text)
        for name, hint, optional, default, text in specs
    )
    record.names = frozenset(f.name for f in record.fields)
    return record


def cache_key(tp: Any) -> Optional[Tuple[Any, str]]:
    """What a cache of ``tp``'s shape or schema is keyed by; ``None`` for a type that cannot be a key.

    The type alone is not enough: ``Union[int, str] == Union[str, int]`` (and
    so do Literals), but the order is that of the schema's anyOf and enum, and
    the order in which from_json tries the branches. The repr keeps it.
    """
    try:
        hash(tp)
    except TypeError:  # Annotated with a dict in its metadata, for example
        return None
    return tp, repr(tp)


@lru_cache(maxsize=512)
def _cached(key: Tuple[Any, str]) -> Shape:
    return _build(key[0], type_name(key[0]), {})


def shape_of(tp: Any) -> Shape:
    """The shape of ``tp``, built once per type; ``TypeError`` naming the path if it has none."""
    key = cache_key(tp)
    return _build(tp, type_name(tp), {}) if key is None else _cached(key)
