"""openai_params.schema: Python types -> JSON Schema (json_schema) and JSON -> typed values (from_json).

tests/data/schema/<case>.json holds, for each type of CASES below, the
expected strict schema (``strict``; absent when strict mode refuses the type),
the plain one when it differs (``plain``) and an example of what a model would
send (``example``). The expected schemas are written by hand from the rules in
docs/structured-outputs.md. Every strict schema also goes through
``check_strict`` (OpenAI's strict-mode rules, written here independently of the
code) and, inside a ``response_format``, through the reference OpenAPI
schema's ``ResponseFormatJsonSchema``; every example validates against its
schema (jsonschema, formats checked) and reads back as the expected value.
"""

import datetime as dt
import enum
import json
import re
import sys
import uuid
from dataclasses import MISSING, Field, dataclass, field, fields, make_dataclass, replace
from pathlib import Path
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    List,
    Literal,
    NewType,
    Optional,
    Sequence,
    Set,
    Tuple,
    TypedDict,
    Union,
)

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openai_params import from_json, json_schema
from openai_params.schema import WRAPPER_KEY, ObjectType

DATA = Path(__file__).resolve().parent / "data"
SPEC = json.loads((DATA / "openapi" / "openai-chat-completions.openapi.json").read_text(encoding="utf-8"))
UTC = dt.timezone.utc


# -- the types of the table ------------------------------------------------------------------------------


class Color(enum.Enum):
    """A colour of the palette."""

    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Person:
    name: str
    age: int


@dataclass
class Settings:
    """Display settings."""

    theme: str = "dark"
    size: int = 12
    tags: List[str] = field(default_factory=list)
    note: Optional[str] = None
    ratio: Optional[float] = 0.5


@dataclass
class Item:
    name: str
    price: float
    quantity: int = 1


@dataclass
class Order:
    """An order of items."""

    id: int
    items: List[Item]
    customer: Person
    paid: bool = False


@dataclass
class DescribedFields:
    title: str = field(metadata={"description": "The title, in English."})
    pages: int = field(default=0, metadata={"description": "Number of pages."})


@dataclass
class Event:
    name: str
    at: dt.datetime
    day: dt.date
    start: dt.time
    id: uuid.UUID


@dataclass
class Palette:
    main: Color
    others: List[Color]
    level: Priority = Priority.LOW


@dataclass
class Node:
    value: int
    children: List["Node"]


@dataclass
class Tree:
    name: str
    root: Optional["Branch"]


@dataclass
class Branch:
    leaves: List[str]
    sub: List["Branch"]
    owner: Optional[Tree]


class Movie(TypedDict):
    title: str
    year: int


class MovieFilter(TypedDict, total=False):
    genre: str
    min_year: int


@dataclass
class Cat:
    meow: bool


@dataclass
class Dog:
    bark: str


@dataclass
class Empty:
    pass


@dataclass
class InitFalse:
    a: int
    b: int = field(init=False, default=0)


@dataclass(frozen=True)
class Point:
    x: int
    y: int


@dataclass
class Pair:
    first: Person
    second: Person


@dataclass
class Choices:
    mode: Optional[Literal["fast", "slow"]] = None
    kind: Literal["a", "b"] = "a"


UserId = NewType("UserId", int)
WEATHER = ObjectType(
    "get_weather",
    [
        ("city", str, MISSING, "City name"),
        ("days", int, 3, "How many days"),
        ("unit", Optional[str], None, None),
    ],
    "Get the weather.",
)

if sys.version_info >= (3, 9):
    from typing import Annotated

    @dataclass
    class Review:
        score: Annotated[int, "From 1 to 5"]
        text: Annotated[str, "The review", 42]  # metadata that is not a str is not a description
        tags: List[Annotated[str, "a tag"]]

    @dataclass
    class Folder:
        name: str
        parent: Annotated[Optional["Folder"], "The folder it is in."]
        first: Annotated[List["Folder"], "The folders in it."]


if sys.version_info >= (3, 10):

    @dataclass
    class Profile:
        scores: list[float]
        nick: str | None = None


if sys.version_info >= (3, 11):
    from typing import NotRequired

    class Book(TypedDict):
        title: str
        subtitle: NotRequired[str]


def _since(version: Tuple[int, int], make: Callable[[], Any]) -> Any:
    """The type ``make`` builds, or the Python version it needs (the case is then skipped)."""
    return make() if sys.version_info >= version else version


# case name -> (type, the value its example reads as)
CASES: Dict[str, Tuple[Any, Any]] = {
    "str": (str, "hi"),
    "int": (int, 3),
    "float": (float, 2.5),
    "bool": (bool, True),
    "none": (None, None),
    "datetime": (dt.datetime, dt.datetime(2024, 5, 1, 12, 30, 0, 500000, dt.timezone(dt.timedelta(hours=2)))),
    "date": (dt.date, dt.date(2024, 2, 29)),
    "time": (dt.time, dt.time(23, 59, 59)),
    "uuid": (uuid.UUID, uuid.UUID("12345678-1234-5678-1234-567812345678")),
    "optional_int": (Optional[int], None),
    "union_int_str": (Union[int, str], "x"),
    "literal_str": (Literal["a", "b"], "b"),
    "literal_mixed": (Literal["a", 1, True, None], True),
    "enum_str": (Color, Color.GREEN),
    "enum_int": (Priority, Priority.HIGH),
    "list_int": (List[int], [1, 2, 3]),
    "sequence_str": (Sequence[str], ["a", "b"]),
    "tuple_float": (Tuple[float, ...], (1.5, 2.0)),
    "set_str": (Set[str], {"a", "b"}),
    "frozenset_int": (FrozenSet[int], frozenset({1, 3})),
    "list_of_lists": (List[List[int]], [[1], [], [2, 3]]),
    "person": (Person, Person("Ada", 36)),
    "settings": (Settings, Settings(theme="dark", size=14, tags=[], note=None, ratio=None)),
    "order": (
        Order,
        Order(7, [Item("pen", 1.5, 1), Item("ink", 3.0, 2)], Person("Ada", 36), False),
    ),
    "described_fields": (DescribedFields, DescribedFields("Dune", 412)),
    "event": (
        Event,
        Event(
            "launch",
            dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
            dt.date(2024, 5, 1),
            dt.time(9, 15),
            uuid.UUID("12345678-1234-5678-1234-567812345678"),
        ),
    ),
    "palette": (Palette, Palette(Color.RED, [Color.GREEN, Color.BLUE], Priority.HIGH)),
    "node": (Node, Node(1, [Node(2, [])])),
    "list_of_nodes": (List[Node], [Node(1, [])]),
    "tree": (Tree, Tree("t", Branch(["a"], [Branch([], [], None)], None))),
    "movie": (Movie, {"title": "Alien", "year": 1979}),
    "movie_filter": (MovieFilter, {"genre": "horror"}),
    "book": (_since((3, 11), lambda: Book), {"title": "Dune"}),
    "dict_str_int": (Dict[str, int], {"a": 1, "b": 2}),
    "optional_person": (Optional[Person], None),
    "union_cat_dog": (Union[Cat, Dog], Dog("woof")),
    "review": (_since((3, 9), lambda: Review), _since((3, 9), lambda: Review(4, "Good.", ["sf"]))),
    "annotated_items": (_since((3, 9), lambda: List[Annotated[int, "a score"]]), [5, 4]),
    "annotated_root": (_since((3, 9), lambda: Annotated[Person, "Who wrote it."]), Person("Ada", 36)),
    "pep585_list": (_since((3, 9), lambda: list[int]), [1]),
    "pep585_dict": (_since((3, 9), lambda: dict[str, list[int]]), {"a": [1, 2]}),
    "pep604_optional": (_since((3, 10), lambda: int | None), 5),
    "pep604_field": (_since((3, 10), lambda: Profile), _since((3, 10), lambda: Profile([1.0, 2.5], "ada"))),
    "newtype": (UserId, 5),
    "literal_enum_member": (Literal[Color.RED, Color.BLUE], Color.BLUE),
    "empty": (Empty, Empty()),
    "init_false": (InitFalse, InitFalse(1)),
    "set_of_points": (Set[Point], {Point(1, 2), Point(0, 0)}),
    "pair": (Pair, Pair(Person("A", 1), Person("B", 2))),
    "choices": (Choices, Choices(None, "a")),
    "object_type": (WEATHER, {"city": "Paris", "days": 3, "unit": None}),
}


def _load(name: str) -> Dict[str, Any]:
    return json.loads((DATA / "schema" / (name + ".json")).read_text(encoding="utf-8"))


def _case(name: str) -> Tuple[Any, Any, Dict[str, Any]]:
    tp, expected = CASES[name]
    if isinstance(tp, tuple) and tp and isinstance(tp[0], int):
        pytest.skip("Python %d.%d has no such type" % tp)
    return tp, expected, _load(name)


STRICT_CASES = [name for name in CASES if "strict" in _load(name)]


def test_the_table_and_the_files_match() -> None:
    files = sorted(p.stem for p in (DATA / "schema").glob("*.json"))
    assert files == sorted(CASES)
    assert len(CASES) >= 40


# -- OpenAI's strict-mode rules, checked on the schema alone --------------------------------------------

# The keywords strict mode supports (OpenAI structured outputs, "Supported schemas").
STRICT_KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "const",
    "description", "format", "$ref", "$defs", "pattern", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
}  # fmt: skip
STRICT_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
JSON_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}


def check_strict(schema: Dict[str, Any]) -> None:
    """Raise AssertionError where ``schema`` breaks a strict-mode rule or limit."""
    assert schema.get("type") == "object" and "anyOf" not in schema, "the root must be an object"
    defs = schema.get("$defs", {})
    counts = {"properties": 0, "enum": 0, "chars": sum(len(name) for name in defs)}

    def walk(node: Dict[str, Any], where: str) -> None:
        unknown = set(node) - STRICT_KEYWORDS
        assert not unknown, "%s: keywords strict mode does not support: %s" % (where, unknown)
        if "$ref" in node:
            assert list(node) == ["$ref"], "%s: $ref beside other keywords" % where
            ref = node["$ref"]
            assert ref == "#" or (ref.startswith("#/$defs/") and ref[8:] in defs), "%s: dangling %s" % (
                where,
                ref,
            )
            return
        kinds = node.get("type", [])
        for kind in kinds if isinstance(kinds, list) else [kinds]:
            assert kind in JSON_TYPES, where
        if "format" in node:
            assert node["format"] in STRICT_FORMATS, where
        if node.get("type") == "object":
            properties = node.get("properties")
            assert isinstance(properties, dict), "%s: an object without properties (an open map)" % where
            assert node.get("required") == list(properties), "%s: every property must be required" % where
            assert node.get("additionalProperties") is False, "%s: additionalProperties must be false" % where
            counts["properties"] += len(properties)
            counts["chars"] += sum(len(k) for k in properties)
            for key, child in properties.items():
                walk(child, where + "." + key)
        if "enum" in node:
            counts["enum"] += len(node["enum"])
            counts["chars"] += sum(len(v) for v in node["enum"] if isinstance(v, str))
        if "items" in node:
            walk(node["items"], where + "[]")
        for branch in node.get("anyOf", []):
            walk(branch, where)

    def depth(node: Dict[str, Any], seen: Tuple[str, ...]) -> int:
        if "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                return 0
            return depth(schema if ref == "#" else defs[ref[8:]], seen + (ref,))
        children = list(node.get("properties", {}).values()) + node.get("anyOf", [])
        children += [node["items"]] if "items" in node else []
        deepest = max((depth(child, seen) for child in children), default=0)
        return deepest + (node.get("type") == "object")

    walk(schema, "$")
    for name, definition in defs.items():
        walk(definition, "$defs." + name)
    assert depth(schema, ("#",)) <= 10, "more than 10 levels of nested objects"
    assert counts["properties"] <= 5000 and counts["enum"] <= 1000 and counts["chars"] <= 120000, counts


def _object(**properties: Any) -> Dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _deep(levels: int) -> Dict[str, Any]:
    schema = _object()
    for _ in range(levels - 1):
        schema = _object(inner=schema)
    return schema


@pytest.mark.parametrize(
    "schema, complaint",
    [
        ({"anyOf": [_object(), {"type": "null"}]}, "the root must be an object"),
        ({**_object(a={"type": "string"}), "required": []}, "every property must be required"),
        ({**_object(), "additionalProperties": True}, "additionalProperties must be false"),
        (_object(a={"type": "object", "additionalProperties": {"type": "string"}}), "open map"),
        (_object(a={"type": "string", "default": "x"}), "keywords strict mode does not support"),
        (_object(a={"type": "array", "prefixItems": []}), "keywords strict mode does not support"),
        (_object(a={"type": "string", "format": "uri"}), "$.a"),
        (_object(a={"$ref": "#/$defs/Missing"}), "dangling"),
        (_object(a={"$ref": "#", "description": "x"}), "$ref beside other keywords"),
        (_deep(11), "more than 10 levels"),
    ],
)  # fmt: skip
def test_the_strict_checker_finds_what_it_checks(schema: Dict[str, Any], complaint: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(complaint)):
        check_strict(schema)
    check_strict(_deep(10))


def _response_format_validator() -> Any:
    from test_openapi_schema import _validator

    return _validator("#/components/schemas/ResponseFormatJsonSchema")


RESPONSE_FORMAT = _response_format_validator()
META = jsonschema.Draft202012Validator


def _validate_example(schema: Dict[str, Any], example: Any) -> None:
    META.check_schema(schema)
    META(schema, format_checker=META.FORMAT_CHECKER).validate(example)


# -- the table ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_json_schema_is_the_expected_one(name: str) -> None:
    tp, _, files = _case(name)
    if "strict" in files:
        assert json_schema(tp) == files["strict"]
    assert json_schema(tp, strict=False) == files.get("plain", files.get("strict"))


@pytest.mark.parametrize("name", STRICT_CASES)
def test_strict_schema_follows_the_strict_rules(name: str) -> None:
    tp, _, files = _case(name)
    schema = json_schema(tp)
    check_strict(schema)
    body = {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
    errors = [e.message for e in RESPONSE_FORMAT.iter_errors(body)]
    assert not errors


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_fits_the_schema_and_reads_as_the_value(name: str) -> None:
    tp, expected, files = _case(name)
    example = files["example"]
    schema = files.get("strict", files.get("plain"))
    _validate_example(schema, example)  # the example is what strict mode sends
    got = from_json(tp, example)
    assert got == expected and type(got) is type(expected)
    assert from_json(tp, json.dumps(example)) == expected
    assert from_json(tp, json.dumps(example).encode("utf-8")) == expected
    if list(schema["properties"]) == [WRAPPER_KEY]:  # a wrapped root reads from the bare value too
        assert from_json(tp, json.dumps(example[WRAPPER_KEY])) == expected


def test_roots_that_are_not_objects_are_wrapped_in_value() -> None:
    for tp in (Person, Movie, WEATHER):
        assert WRAPPER_KEY not in json_schema(tp)["properties"]
    for tp in (List[Person], Color, Optional[Person]):
        schema = json_schema(tp)
        assert list(schema["properties"]) == [WRAPPER_KEY] and schema["required"] == [WRAPPER_KEY]


# -- the cache ----------------------------------------------------------------------------------------


def test_each_call_returns_a_new_schema_that_the_caller_may_change() -> None:
    first = json_schema(Order)
    first["properties"]["items"]["items"]["properties"].clear()
    first["required"].append("x")
    second = json_schema(Order)
    assert second == _load("order")["strict"]
    assert second is not json_schema(Order)


def test_the_cache_keeps_strict_and_plain_apart() -> None:
    assert json_schema(Settings, strict=False) == _load("settings")["plain"]
    assert json_schema(Settings) == _load("settings")["strict"]


def test_a_type_is_read_once(monkeypatch: Any) -> None:
    # The benchmark (benchmarks/json_schema.py) measures the time; here, that later calls read nothing.
    from openai_params import _shapes

    big = make_dataclass("Big", [("f%d" % i, List[Item]) for i in range(50)])
    schema = json_schema(big)
    value = from_json(big, {"f%d" % i: [] for i in range(50)})

    def no_more_reading(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the type hints were read again")

    monkeypatch.setattr(_shapes.typing, "get_type_hints", no_more_reading)
    assert json_schema(big) == schema and json_schema(big, strict=True) == schema
    assert from_json(big, {"f%d" % i: [] for i in range(50)}) == value
    with pytest.raises(TypeError, match="read again"):  # a new type is read (and the failure named)
        json_schema(make_dataclass("Other", [("x", int)]))


# -- from_json: values and errors -----------------------------------------------------------------------


ITEM = {"name": "a", "price": 1}


def _error(tp: Any, value: Any) -> str:
    with pytest.raises(ValueError) as info:
        from_json(tp, value)
    return str(info.value)


@pytest.mark.parametrize(
    "tp, value, message",
    [
        (Order, {"id": 1, "items": [ITEM, ITEM, {"name": "c", "price": "12"}], "customer": {"name": "A", "age": 1}},
         '$.items[2].price: expected a number, got "12"'),
        (Person, {"name": "A", "age": True}, "$.age: expected an integer, got true"),
        (Person, {"name": "A", "age": 1.5}, "$.age: expected an integer, got 1.5"),
        (Cat, {"meow": 1}, "$.meow: expected true or false, got 1"),
        (Person, {"name": "A", "age": 1, "agee": 2}, "$: unknown key \"agee\"; did you mean 'age'?"),
        (Person, {"name": "A", "age": 1, "zzz": 2}, '$: unknown key "zzz" (keys: age, name)'),
        (Person, {"name": "A"}, '$: missing key "age"'),
        (Person, {"name": "A", "age": None}, "$.age: expected an integer, got null"),
        (Person, ["A", 1], '$: expected an object, got ["A", 1]'),
        (List[int], {"value": [1, "2"]}, '$.value[1]: expected an integer, got "2"'),
        (List[int], [1, "2"], '$[1]: expected an integer, got "2"'),
        (List[int], "[1, 2", "$: not valid JSON (Expecting ',' delimiter: line 1 column 6 (char 5))"),
        (float, "NaN", "$: not valid JSON (NaN is not a JSON value)"),
        (List[float], "[1e400]", "$[0]: expected a number, got inf"),
        (List[float], "[1%s]" % ("0" * 400), "$[0]: expected a number, got 1000000"),
        (str, b"\xff", "$: not valid JSON"),
        (Color, {"value": "purple"}, '$.value: expected one of "red", "green", "blue", got "purple"'),
        (Priority, {"value": True}, "$.value: expected one of 1, 2, got true"),
        (Literal["a", 1], {"value": [1]}, '$.value: expected one of "a", 1, got [1]'),
        (dt.datetime, {"value": "2024-05-01"}, '$.value: expected a date-time string ("2024-05-01T12:30:00Z"), got'),
        (dt.date, {"value": "2023-02-29"}, '$.value: expected a date string ("2024-05-01"), got "2023-02-29"'),
        (dt.time, {"value": "24:00:00"}, '$.value: expected a time string ("12:30:00"), got "24:00:00"'),
        (uuid.UUID, {"value": "1234"}, '$.value: expected a UUID string ("12345678-1234-5678-1234-5678123456'),
        (uuid.UUID, {"value": "{12345678-1234-5678-1234-567812345678}"}, "$.value: expected a UUID string"),
        (Union[int, str], {"value": 1.5}, "$.value: expected an integer or a string, got 1.5"),
        (Optional[Person], {"value": {"name": 1, "age": 1}}, "$.value.name: expected a string, got 1"),
        (Union[Cat, Dog], {"value": {"purr": 1}}, '$.value: expected an object or an object, got {"purr": 1}'),
        (Dict[str, int], {"value": {"a b": "x"}}, '$.value["a b"]: expected an integer, got "x"'),
        (Set[str], {"value": "abc"}, '$.value: expected an array, got "abc"'),
        (Node, {"value": 1, "children": [{"value": 2, "children": [{"value": "3", "children": []}]}]},
         '$.children[0].children[0].value: expected an integer, got "3"'),
        (int, {"value": "x" * 100}, '$.value: expected an integer, got "%s...' % ("x" * 56)),
    ],
)  # fmt: skip
def test_mismatches_name_the_path_and_what_was_expected(tp: Any, value: Any, message: str) -> None:
    assert _error(tp, value).startswith(message)


def test_a_class_that_refuses_the_values_is_a_mismatch_that_keeps_the_cause() -> None:
    @dataclass
    class Positive:
        n: int

        def __post_init__(self) -> None:
            if self.n <= 0:
                raise ValueError("n must be positive")

    with pytest.raises(ValueError) as info:
        from_json(List[Positive], {"value": [{"n": 1}, {"n": -1}]})
    assert str(info.value) == "$.value[1]: Positive(...) refused the values: ValueError: n must be positive"
    assert isinstance(info.value.__cause__, ValueError)


@pytest.mark.parametrize(
    "tp, value, expected",
    [
        (int, {"value": 3.0}, 3),  # JSON Schema: a whole number is an integer
        (float, {"value": 3}, 3.0),
        (
            dt.datetime,
            {"value": "2024-05-01t12:30:00.1234567z"},
            dt.datetime(2024, 5, 1, 12, 30, 0, 123456, UTC),
        ),
        (dt.datetime, {"value": "2024-05-01 12:30:00"}, dt.datetime(2024, 5, 1, 12, 30)),
        (
            dt.datetime,
            {"value": "2024-05-01T12:30:00-05:30"},
            dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(-dt.timedelta(hours=5, minutes=30))),
        ),
        (dt.time, {"value": "12:30:00+01:00"}, dt.time(12, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))),
        (
            uuid.UUID,
            {"value": "ABCDEF01-1234-5678-1234-567812345678"},
            uuid.UUID("abcdef01-1234-5678-1234-567812345678"),
        ),
        (Dict[str, int], {"value": {}}, {}),
        (Dict[str, int], {"value": {"a": 1}}, {"a": 1}),  # wrapped
        (Settings, {}, Settings()),  # absent keys take the defaults (plain schema)
        (Settings, {"tags": ["x"]}, Settings(tags=["x"])),
        (MovieFilter, {"genre": None, "min_year": 1990}, {"min_year": 1990}),
        (Union[float, int], {"value": 1}, 1.0),  # the branches are tried in order
        (Union[int, float], {"value": 1}, 1),
    ],
)
def test_values_read_as(tp: Any, value: Any, expected: Any) -> None:
    got = from_json(tp, value)
    assert got == expected and type(got) is type(expected)
    if isinstance(expected, dt.datetime):
        assert got.tzinfo == expected.tzinfo


def test_the_defaults_of_an_object_type_are_put_back() -> None:
    assert from_json(WEATHER, {"city": "Oslo"}) == {"city": "Oslo", "days": 3, "unit": None}
    assert from_json(WEATHER, '{"city": "Oslo", "days": 2, "unit": "C"}') == {
        "city": "Oslo",
        "days": 2,
        "unit": "C",
    }
    assert "missing key" in _error(WEATHER, {"days": 2})


def test_a_default_factory_runs_for_each_value() -> None:
    first = from_json(Settings, {"tags": None})
    second = from_json(Settings, {"tags": None})
    assert first.tags == [] and first.tags is not second.tags


# -- types without a JSON Schema form -------------------------------------------------------------------


@dataclass
class WithDecimal:
    price: Any


def _type_error(tp: Any, strict: bool = True) -> str:
    with pytest.raises(TypeError) as info:
        json_schema(tp, strict=strict)
    return str(info.value)


def test_a_type_without_json_form_names_its_path_and_what_to_use() -> None:
    import decimal

    line = make_dataclass("Line", [("price", decimal.Decimal)])
    order = make_dataclass("Order", [("items", List[line])])
    assert _type_error(order) == (
        "Order.items[].price: <class 'decimal.Decimal'> has no JSON Schema form; use float or str"
    )
    with pytest.raises(TypeError) as info:  # from_json reads the same shapes
        from_json(order, {"items": []})
    assert str(info.value).startswith("Order.items[].price:")


@pytest.mark.parametrize(
    "tp, message",
    [
        (Any, "Any: typing.Any has no JSON Schema form; name a concrete type"),
        (object, "object: <class 'object'> has no JSON Schema form; name a concrete type"),
        (Callable[[int], str], "Callable[[int], str]: typing.Callable[[int], str] has no JSON Schema form; a function"),
        (bytes, "bytes: <class 'bytes'> has no JSON Schema form; use str"),
        (dt.timedelta, "timedelta: <class 'datetime.timedelta'> has no JSON Schema form; use a float number of"),
        (list, "list: <class 'list'> has no JSON Schema form; give the item type: List[T]"),
        (List, "List: typing.List has no JSON Schema form; give the item type: List[T]"),
        (Tuple[int, str], "Tuple[int, str]: typing.Tuple[int, str] has no JSON Schema form; use Tuple[T, ...]"),
        (Dict[int, str], "Dict[int, str]: typing.Dict[int, str] has no JSON Schema form; JSON object keys are strings"),
        (List[WithDecimal], "List[test_schema.WithDecimal][].price: typing.Any has no JSON Schema form"),
        (complex, "complex: <class 'complex'> has no JSON Schema form; use a dataclass with two floats"),
        (Literal[1.5], "Literal[1.5]: typing.Literal[1.5] has no JSON Schema form; Literal values must be"),
        (enum.Enum("Mixed", {"A": 1.5}), "Mixed: Mixed.A has the value 1.5; enum values must be str or int"),
        (type("Plain", (), {}), "Plain: <class 'test_schema.Plain'> has no JSON Schema form; supported are str, int"),
    ],
)  # fmt: skip
def test_refused_types(tp: Any, message: str) -> None:
    assert _type_error(tp).startswith(message)


def test_a_hint_is_found_by_a_base_class() -> None:
    path_class = type(Path())  # PosixPath or WindowsPath, under pathlib.PurePath
    assert _type_error(path_class).endswith("has no JSON Schema form; use str")
    assert _type_error(type("MyBytes", (bytes,), {})).endswith("use str (base64 text, for example)")


def test_set_items_must_be_hashable() -> None:
    assert "set items must be hashable" in _type_error(Set[Person])
    assert "set items must be hashable" in _type_error(FrozenSet[List[int]])


def test_dict_is_refused_in_strict_mode_with_a_suggestion() -> None:
    @dataclass
    class Tagged:
        tags: Dict[str, int]

    message = _type_error(Tagged)
    assert message.startswith(
        "Tagged.tags: Dict[str, int] has no strict JSON Schema form (strict mode has no open maps)"
    )
    assert "use a list of key/value dataclasses" in message
    assert json_schema(Tagged, strict=False)["properties"]["tags"] == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }


def test_an_unresolvable_forward_reference_is_named() -> None:
    @dataclass
    class Local:
        other: "Missing"  # type: ignore[name-defined]  # noqa: F821

    message = _type_error(Local)
    assert message.startswith("Local: cannot read the type hints of Local (NameError:")


def test_an_init_var_needs_a_default() -> None:
    from dataclasses import InitVar

    @dataclass
    class Scaled:
        value: float
        scale: InitVar[float]

        def __post_init__(self, scale: float) -> None:
            self.value *= scale

    assert _type_error(Scaled) == (
        "Scaled.scale: an InitVar without a default cannot be read from JSON (it is not a field); give it a default"
    )

    @dataclass
    class Defaulted:
        value: float
        scale: InitVar[float] = 2.0

        def __post_init__(self, scale: float) -> None:
            self.value *= scale

    assert json_schema(Defaulted)["required"] == ["value"]
    assert from_json(Defaulted, {"value": 1.5}) == Defaulted(1.5)  # 3.0 both


def test_a_description_in_metadata_must_be_text() -> None:
    @dataclass
    class Bad:
        x: int = field(metadata={"description": 3})

    assert _type_error(Bad) == "Bad.x: metadata description must be a str (got 3)"


# -- limits ------------------------------------------------------------------------------------------


def _nested(levels: int) -> Any:
    tp: Any = int
    for level in range(levels):
        tp = make_dataclass("L%d" % level, [("inner", tp)])
    return tp


def test_ten_levels_of_objects_pass_and_eleven_do_not() -> None:
    check_strict(json_schema(_nested(10)))
    with pytest.raises(ValueError) as info:
        json_schema(_nested(11))
    assert str(info.value) == (
        "L10: the strict schema has 11 levels of nested objects (the deepest at "
        "L10.inner.inner.inner.inner.inner.inner.inner.inner.inner.inner); OpenAI's structured outputs allow 10"
    )
    json_schema(_nested(11), strict=False)  # the limits are strict mode's
    wrapped = List[_nested(10)]  # the wrapper object is a level too
    assert "11 levels of nested objects" in str(pytest.raises(ValueError, json_schema, wrapped).value)


def test_at_most_5000_properties() -> None:
    fields_ = [("p%d" % i, int, MISSING, None) for i in range(5000)]
    check_strict(json_schema(ObjectType("many", fields_)))
    message = str(
        pytest.raises(
            ValueError, json_schema, ObjectType("many", fields_ + [("x", int, MISSING, None)])
        ).value
    )
    assert (
        message
        == "many: the strict schema has 5001 object properties in all; OpenAI's structured outputs allow 5000"
    )


def test_at_most_1000_enum_values() -> None:
    big = enum.Enum("Big", {"V%d" % i: i for i in range(1000)})
    check_strict(json_schema(big))
    bigger = ObjectType("two", [("a", big, MISSING, None), ("b", Literal[1, 2], MISSING, None)])
    message = str(pytest.raises(ValueError, json_schema, bigger).value)
    assert (
        message
        == "two: the strict schema has 1002 enum values in all; OpenAI's structured outputs allow 1000"
    )


def test_at_most_120000_characters_of_names() -> None:
    names = [("n%d" % i + "x" * 39_997, int, MISSING, None) for i in range(3)]  # 3 x 39,999 + 5 ("value")
    check_strict(json_schema(ObjectType("long", names)))
    longer = ObjectType("long", names + [("y" * 4, int, MISSING, None)])
    message = str(pytest.raises(ValueError, json_schema, longer).value)
    assert message.startswith("long: the strict schema has 120001 characters of property names")


def test_a_big_string_enum_is_limited_in_length() -> None:
    ok = Literal[tuple("%03d" % i + "x" * 56 for i in range(251))]  # 251 x 59 = 14,809 characters
    check_strict(json_schema(ok))
    too_long = Literal[tuple("%03d" % i + "x" * 57 for i in range(251))]  # 251 x 60 = 15,060
    message = str(pytest.raises(ValueError, json_schema, too_long).value)
    assert message.startswith("Literal[")
    assert message.endswith(
        ".value: an enum of 251 values has 15060 characters of strings; OpenAI's structured outputs "
        "allow 15000 when there are more than 250 values"
    )


# -- generated dataclasses round-trip ----------------------------------------------------------------

# (type, its values, a default for a field of that type)
_LEAVES = [
    (str, st.text(max_size=5), "d"),
    (int, st.integers(-(2**40), 2**40), 7),
    (float, st.floats(allow_nan=False, allow_infinity=False), 0.5),
    (bool, st.booleans(), True),
    (dt.date, st.dates(), dt.date(2000, 1, 1)),
    (dt.datetime, st.datetimes(timezones=st.none() | st.just(UTC)), dt.datetime(2000, 1, 1, tzinfo=UTC)),
    (uuid.UUID, st.uuids(), uuid.UUID(int=0)),
    (Color, st.sampled_from(Color), Color.BLUE),
    (Literal["x", "y"], st.sampled_from(["x", "y"]), "y"),
]
_counter = iter(range(10**9))


def _compose(children: Any) -> Any:
    def list_of(leaf: Any) -> Any:
        tp, values, _ = leaf
        return List[tp], st.lists(values, max_size=3), field(default_factory=list)

    def optional(leaf: Any) -> Any:
        tp, values, _ = leaf
        return Optional[tp], st.none() | values, None

    return st.one_of(children.map(list_of), children.map(optional), _records(children))


def _records(children: Any) -> Any:
    """Dataclasses of 1 to 4 generated fields, some with a default (those go last, as dataclasses want)."""

    def record(members: Any) -> Any:
        members = [(leaf, has_default and leaf[2] is not MISSING) for leaf, has_default in members]
        members.sort(key=lambda m: m[1])  # without a default first (as dataclasses want); sort() is stable
        names = ["f%d" % i for i in range(len(members))]
        specs = []
        for name, ((tp, _, default), has_default) in zip(names, members):
            if not has_default:
                specs.append((name, tp))
            else:  # a Field for a list (a default factory), else the default value
                specs.append((name, tp, default if isinstance(default, Field) else field(default=default)))
        cls = make_dataclass("Gen%d" % next(_counter), specs)
        values = st.fixed_dictionaries({n: leaf[1] for n, (leaf, _) in zip(names, members)})
        return cls, values.map(lambda kw: cls(**kw)), MISSING

    return st.lists(st.tuples(children, st.booleans()), min_size=1, max_size=4).map(record)


TYPES = _records(st.recursive(st.sampled_from(_LEAVES), _compose, max_leaves=6))


def _to_json(value: Any) -> Any:
    """What a model would write for ``value`` (the test's own encoder, not the code under test)."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: _to_json(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_generated_dataclasses_round_trip(data: Any) -> None:
    tp, values, _ = data.draw(TYPES)
    value = data.draw(values)
    schema = json_schema(tp)
    check_strict(schema)
    sent = _to_json(value)
    META(schema, format_checker=META.FORMAT_CHECKER).validate(sent)
    assert from_json(tp, json.dumps(sent)) == value
    # A key with a default, absent: strict mode sends null, the plain schema leaves the key out.
    expected, plain_sent = value, dict(sent)
    for f in fields(tp):
        if (f.default is not MISSING or f.default_factory is not MISSING) and data.draw(st.booleans()):
            default = f.default_factory() if f.default is MISSING else f.default
            expected = replace(expected, **{f.name: default})
            sent[f.name] = None
            del plain_sent[f.name]
    plain = json_schema(tp, strict=False)
    META(schema, format_checker=META.FORMAT_CHECKER).validate(sent)
    META(plain, format_checker=META.FORMAT_CHECKER).validate(plain_sent)
    assert from_json(tp, sent) == expected
    assert from_json(tp, plain_sent) == expected


# -- more rules ------------------------------------------------------------------------------------------


def test_union_order_is_kept_although_typing_calls_the_unions_equal() -> None:
    assert Union[int, str] == Union[str, int]  # so a cache keyed by the type alone would mix them up
    assert json_schema(Union[int, str])["properties"]["value"]["anyOf"] == [
        {"type": "integer"},
        {"type": "string"},
    ]
    assert json_schema(Union[str, int])["properties"]["value"]["anyOf"] == [
        {"type": "string"},
        {"type": "integer"},
    ]
    assert type(from_json(Union[float, int], '{"value": 1}')) is float
    assert type(from_json(Union[int, float], '{"value": 1}')) is int


@dataclass
class Twin:
    """The second class named Node in one schema."""

    value: str
    next: Optional["Twin"]


Twin.__name__ = "Node"


@dataclass
class Both:
    first: List[Node]
    second: List[Twin]


def test_two_recursive_classes_with_one_name_get_two_definitions() -> None:
    schema = json_schema(Both)
    assert schema["properties"] == {
        "first": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
        "second": {"type": "array", "items": {"$ref": "#/$defs/Node_2"}},
    }
    assert schema["$defs"]["Node_2"]["description"] == "The second class named Node in one schema."
    assert schema["$defs"]["Node_2"]["properties"]["next"] == {
        "anyOf": [{"$ref": "#/$defs/Node_2"}, {"type": "null"}]
    }
    check_strict(schema)
    got = from_json(Both, {"first": [{"value": 1, "children": []}], "second": [{"value": "a", "next": None}]})
    assert got == Both([Node(1, [])], [Twin("a", None)])


@pytest.mark.skipif(sys.version_info < (3, 9), reason="Annotated is new in Python 3.9")
def test_a_described_reference_is_a_one_branch_any_of() -> None:
    schema = json_schema(Folder)
    assert schema["properties"]["parent"] == {
        "anyOf": [{"$ref": "#"}, {"type": "null"}],
        "description": "The folder it is in.",
    }
    assert schema["properties"]["first"] == {
        "type": "array",
        "items": {"$ref": "#"},
        "description": "The folders in it.",
    }
    wrapped = json_schema(Annotated[Folder, "A folder."])
    assert wrapped["description"] == "A folder."
    named = json_schema(List[Annotated[Folder, "One folder."]])
    assert named["properties"]["value"]["items"] == {
        "anyOf": [{"$ref": "#/$defs/Folder"}],
        "description": "One folder.",
    }
    check_strict(named)


@pytest.mark.skipif(sys.version_info < (3, 9), reason="Annotated is new in Python 3.9")
def test_a_type_that_cannot_be_a_cache_key_still_works() -> None:
    tp = Annotated[int, {"unhashable": []}, "a number"]
    with pytest.raises(TypeError):
        hash(tp)
    assert json_schema(tp) == {
        "type": "object",
        "properties": {"value": {"type": "integer", "description": "a number"}},
        "required": ["value"],
        "additionalProperties": False,
    }
    assert from_json(tp, '{"value": 4}') == 4


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Required and NotRequired are new in Python 3.11")
def test_typeddict_required_and_not_required_keys() -> None:
    from typing import NotRequired, Required

    class Query(TypedDict, total=False):
        text: Required[str]
        limit: int
        after: NotRequired[Optional[str]]

    strict = json_schema(Query)
    assert strict["required"] == ["text", "limit", "after"]
    assert strict["properties"]["after"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert json_schema(Query, strict=False)["required"] == ["text"]
    assert from_json(Query, {"text": "a", "limit": None, "after": None}) == {"text": "a", "after": None}
    assert from_json(Query, {"text": "a"}) == {"text": "a"}
    assert _error(Query, {"limit": 1}) == '$: missing key "text"'
    assert _error(Query, {"text": "a", "offset": 1}).startswith('$: unknown key "offset"')


def test_a_default_json_cannot_hold_is_left_out_of_the_plain_schema() -> None:
    @dataclass
    class Odd:
        ratio: float = float("nan")
        point: Point = Point(0, 0)
        when: dt.date = dt.date(2024, 1, 2)
        pair: Tuple[int, ...] = (1, 2)

    plain = json_schema(Odd, strict=False)["properties"]
    assert plain["ratio"] == {"type": "number"}
    assert "default" not in plain["point"]
    assert plain["when"] == {"type": "string", "format": "date", "default": "2024-01-02"}
    assert plain["pair"] == {"type": "array", "items": {"type": "integer"}, "default": [1, 2]}
    assert from_json(Odd, {"ratio": 0.5, "point": None, "when": None}) == Odd(ratio=0.5)


@pytest.mark.parametrize(
    "tp, value, message",
    [
        (Dict[str, int], {"value": [1]}, "$.value: expected an object, got [1]"),
        (Dict[str, int], {"value": {1: 2}}, "$.value: expected string keys, got 1"),
        (Union[Literal["a"], int], {"value": 1.5}, '$.value: expected one of "a" or an integer, got 1.5'),
        (
            Union[List[int], str],
            {"value": ["x"]},
            '$.value[0]: expected an integer, got "x"',
        ),  # the array branch
        (Union[int, str], {"value": b"x"}, "$.value: expected an integer or a string, got b'x'"),
        (Optional[Person], {"value": [1]}, "$.value: expected an object or null, got [1]"),
    ],
)
def test_more_mismatches(tp: Any, value: Any, message: str) -> None:
    assert _error(tp, value) == message


def test_set_items_may_be_optional_frozen_dataclasses() -> None:
    assert from_json(Set[Optional[Point]], {"value": [None, {"x": 1, "y": 1}]}) == {None, Point(1, 1)}
    assert "set items must be hashable" in _type_error(Set[Union[Point, List[int]]])


@pytest.mark.skipif(sys.version_info < (3, 9), reason="Annotated is new in Python 3.9")
def test_annotated_inside_other_types() -> None:
    @dataclass
    class Note:
        text: Annotated[Optional[str], "The note."] = "none yet"

    assert json_schema(Note)["properties"]["text"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": "The note.",
    }
    assert from_json(Note, {"text": None}) == Note(None)  # null is a value of the type: it stays
    assert from_json(Note, {}) == Note()
    assert from_json(FrozenSet[Annotated[Point, "a point"]], {"value": [{"x": 1, "y": 2}]}) == {Point(1, 2)}
    assert (
        _error(Optional[Annotated[int, "n"]], {"value": "s"})
        == '$.value: expected an integer or null, got "s"'
    )
    unhashable = List[Annotated[int, {"a": []}]]  # the List itself cannot be hashed
    assert json_schema(unhashable)["properties"]["value"] == {"type": "array", "items": {"type": "integer"}}
