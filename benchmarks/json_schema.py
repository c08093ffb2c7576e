#!/usr/bin/env python3
"""json_schema of a 50-field nested dataclass: the first call, and every call after it.

    python benchmarks/json_schema.py [--rounds 15]

The type: a dataclass of 50 fields (str, int, float, bool, Optional, an Enum,
dates, a UUID, lists, Literal, and ten fields holding nested dataclasses that
hold lists of a third one). A first call reads the type hints and renders the
schema; later calls hit the per-type cache and return a fresh copy of the
cached schema (the caller may change what it gets, so the cache never hands
out its own dict).

1. First call: a fresh set of classes is made for each round (make_dataclass),
   so every round measures a real first call; the median is printed.
2. Cached call: json_schema on the same type, many calls per round; the median
   per call is printed against the target (under 1 ms) and as a ratio of the
   first call.
3. Copy strategies, to show why the cache keeps JSON text and parses it on
   each call: a recursive dict/list copy and copy.deepcopy of a cached dict.
4. from_json of a matching value, per call (for scale; no target).

Exits 1 if the cached call is not under 1 ms. Times are CPU seconds of this
process (time.process_time), medians of alternating rounds: on a shared
machine the wall clock also counts the time spent waiting for a core.
"""

import argparse
import copy
import datetime as dt
import enum
import json
import statistics
import sys
import time
import uuid
from dataclasses import field, make_dataclass
from pathlib import Path
from typing import Any, Callable, List, Literal, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openai_params import from_json, json_schema  # noqa: E402
from openai_params import schema as schema_module  # noqa: E402

TARGET = 0.001  # seconds, after the first call


class Unit(enum.Enum):
    KG = "kg"
    L = "l"
    PIECE = "piece"


def make_type(tag: int) -> Any:
    """A fresh 50-field nested dataclass (new classes each time: a real first call)."""
    part = make_dataclass("Part%d" % tag, [("sku", str), ("qty", int), ("unit", Unit)])
    line = make_dataclass(
        "Line%d" % tag,
        [
            ("name", str),
            ("price", float),
            ("parts", List[part]),
            ("note", Optional[str], field(default=None)),
        ],
    )
    kinds: List[Tuple[str, Any]] = [
        ("text", str),
        ("count", int),
        ("ratio", float),
        ("flag", bool),
        ("maybe", Optional[int]),
        ("unit", Unit),
        ("day", dt.date),
        ("at", dt.datetime),
        ("id", uuid.UUID),
        ("tags", List[str]),
        ("mode", Literal["fast", "slow"]),
        ("line", line),
        ("lines", List[line]),
    ]
    fields = []
    for index in range(50):
        name, tp = kinds[index % len(kinds)]
        fields.append(("%s_%d" % (name, index), tp))
    return make_dataclass("Order%d" % tag, fields)


def example(tp: Any) -> Any:
    """A JSON value for ``tp`` (built from its schema: one of each thing)."""

    def value(schema: Any) -> Any:
        if "anyOf" in schema:
            return value(schema["anyOf"][0])
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema["type"]
        if kind == "object":
            return {k: value(v) for k, v in schema["properties"].items()}
        if kind == "array":
            return [value(schema["items"])] * 2
        formats = {"date": "2024-05-01", "date-time": "2024-05-01T12:00:00Z", "uuid": str(uuid.UUID(int=7))}
        if "format" in schema:
            return formats[schema["format"]]
        return {"string": "x", "integer": 3, "number": 1.5, "boolean": True, "null": None}[kind]

    return value(json_schema(tp))


def tree_copy(node: Any) -> Any:
    if type(node) is dict:
        return {key: tree_copy(value) for key, value in node.items()}
    if type(node) is list:
        return [tree_copy(value) for value in node]
    return node


def per_call(fn: Callable[[], Any], calls: int) -> float:
    """CPU seconds per call of this process (steadier than the wall clock on a shared machine)."""
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    cached_type = make_type(0)
    json_schema(cached_type)
    text = schema_module._cached(schema_module.cache_key(cached_type), True)  # what the cache keeps
    cached = json.loads(text)
    value = example(cached_type)

    firsts, hits, deep, recursive, reads = [], [], [], [], []
    for round_number in range(args.rounds):
        fresh = make_type(round_number + 1)
        start = time.process_time()
        json_schema(fresh)
        firsts.append(time.process_time() - start)
        hits.append(per_call(lambda: json_schema(cached_type), 200))
        deep.append(per_call(lambda: copy.deepcopy(cached), 50))
        recursive.append(per_call(lambda: tree_copy(cached), 50))
        reads.append(per_call(lambda: from_json(cached_type, value), 50))

    first, hit = statistics.median(firsts), statistics.median(hits)
    properties = len(json.dumps(json_schema(cached_type)))
    print(
        "json_schema of a 50-field nested dataclass (%d characters of schema), medians of %d rounds"
        % (properties, args.rounds)
    )
    print("  first call:            %8.3f ms" % (first * 1e3))
    print(
        "  cached call:           %8.3f ms   target < %.1f ms: %s"
        % (hit * 1e3, TARGET * 1e3, "ok" if hit < TARGET else "OVER")
    )
    print("  cached / first:        %8.3f" % (hit / first))
    print("copying the cached schema, per call (what a cached call pays):")
    print("  json_schema (json.loads of the cached text): %8.3f ms" % (hit * 1e3))
    print("  a recursive dict/list copy of a cached dict: %8.3f ms" % (statistics.median(recursive) * 1e3))
    print("  copy.deepcopy of a cached dict:              %8.3f ms" % (statistics.median(deep) * 1e3))
    print("from_json of a matching value, per call: %8.3f ms" % (statistics.median(reads) * 1e3))
    return 0 if hit < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
