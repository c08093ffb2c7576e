"""The size limits of OpenAI's structured outputs, checked on a strict schema once it is built.

OpenAI structured outputs, "Objects have limitations on nesting depth and
size", and the limits on enums and on the total length of names. They are
counted on the finished schema (what the server will see), not on the Python
type: a dataclass used in two places is written twice, and counts twice; a
definition under ``$defs`` is counted once, and its ``$ref``s are followed
once along each path when measuring the nesting.
"""

from typing import Any, Dict, Set, Tuple

__all__ = ["LIMITS", "check_limits"]

# (what is counted, the most allowed, how a message names it)
LIMITS = (
    ("depth", 10, "levels of nested objects"),
    ("properties", 5000, "object properties in all"),
    ("enum_values", 1000, "enum values in all"),
    ("characters", 120000, "characters of property names, definition names and enum values"),
)
# "For a single enum property with string values, the total string length of all enum
# values cannot exceed 15,000 characters when there are more than 250 enum values."
BIG_ENUM_VALUES, BIG_ENUM_CHARACTERS = 250, 15000

# The keywords whose value holds schemas (a list of them for anyOf).
_SUBSCHEMAS = ("items", "anyOf", "additionalProperties")


def check_limits(schema: Dict[str, Any], name: str) -> None:
    """Raise ``ValueError`` naming the first limit ``schema`` (for the type ``name``) goes over."""
    counts = {"depth": 0, "properties": 0, "enum_values": 0, "characters": 0}
    counts["depth"], deepest = _depth(schema, schema, name, {"#"})
    _count(schema, counts, name)
    for key, most, what in LIMITS:
        if counts[key] > most:
            where = " (the deepest at %s)" % deepest if key == "depth" else ""
            raise ValueError(
                "%s: the strict schema has %d %s%s; OpenAI's structured outputs allow %d"
                % (name, counts[key], what, where, most)
            )


def _count(node: Any, counts: Dict[str, int], path: str) -> None:
    if isinstance(node, list):
        for item in node:
            _count(item, counts, path)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ("properties", "$defs"):
            if key == "properties":
                counts["properties"] += len(value)
            counts["characters"] += sum(len(k) for k in value)
            for child_name, child in value.items():
                _count(child, counts, "%s.%s" % (path, child_name))
        elif key == "enum":
            length = sum(len(v) for v in value if isinstance(v, str))
            counts["enum_values"] += len(value)
            counts["characters"] += length
            if len(value) > BIG_ENUM_VALUES and length > BIG_ENUM_CHARACTERS:
                raise ValueError(
                    "%s: an enum of %d values has %d characters of strings; OpenAI's structured outputs "
                    "allow %d when there are more than %d values"
                    % (path, len(value), length, BIG_ENUM_CHARACTERS, BIG_ENUM_VALUES)
                )
        elif key in _SUBSCHEMAS:
            _count(value, counts, path + "[]" if key == "items" else path)


def _deeper(a: Tuple[int, str], b: Tuple[int, str]) -> Tuple[int, str]:
    return b if b[0] > a[0] else a


def _depth(node: Any, root: Dict[str, Any], path: str, refs: Set[str]) -> Tuple[int, str]:
    """The most objects nested along one path from ``node``, and that path."""
    if isinstance(node, list):
        best = (0, path)
        for item in node:
            best = _deeper(best, _depth(item, root, path, refs))
        return best
    if not isinstance(node, dict):
        return 0, path
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref in refs:  # recursion: each definition counts once along a path
            return 0, path
        target = root if ref == "#" else root["$defs"][ref.rsplit("/", 1)[1]]
        return _depth(target, root, path, refs | {ref})
    best = (0, path)
    for key, value in node.items():
        if key == "properties":
            for child_name, child in value.items():
                best = _deeper(best, _depth(child, root, "%s.%s" % (path, child_name), refs))
        elif key in _SUBSCHEMAS:
            best = _deeper(best, _depth(value, root, path + "[]" if key == "items" else path, refs))
    return best[0] + (node.get("type") == "object"), best[1]
