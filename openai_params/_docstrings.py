"""A function's docstring read for a tool: its summary, and a description per parameter.

Three common styles are read; a docstring in none of them gives its summary and
no parameter descriptions (never an error):

Google (``Args:``, also ``Arguments:``, ``Parameters:``, ``Params:``, ``Keyword Args:``)::

    Args:
        city: The city, continued
            on more indented lines.
        unit (str): A type in parentheses is allowed.

NumPy (a section title underlined with dashes)::

    Parameters
    ----------
    city : str
        The city.

reST / Sphinx fields (``:param``, also ``:parameter``, ``:arg``, ``:argument``,
``:key``, ``:keyword``, with or without a type)::

    :param city: The city.
    :param str unit: The unit.

The summary is the first paragraph (up to the first blank line or section), its
lines joined with spaces. Pure string work: ``inspect.cleandoc`` removes the
indentation first.
"""

import re
from inspect import cleandoc
from typing import Dict, List, Optional, Tuple

__all__ = ["parse_docstring"]

# Google section titles that hold parameters, and the titles of the sections that end them.
_GOOGLE_PARAMETERS = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Other Parameters):\s*$"
)
_GOOGLE_SECTION = re.compile(r"^[A-Z][A-Za-z ]*:\s*$")
# "name: text", "name (type): text", "*name: text" at the entries' indentation.
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:(?:\s+(.*))?$")
# NumPy: a title line, then a line of dashes.
_NUMPY_PARAMETERS = ("Parameters", "Other Parameters", "Arguments", "Keyword Arguments")
_NUMPY_UNDERLINE = re.compile(r"^-{3,}\s*$")
# "name", "name : type", "a, b : type" (several names share one description).
_NUMPY_ENTRY = re.compile(r"^\*{0,2}(\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?$")
# ":param name: text", ":param type name: text".
_REST_FIELD = re.compile(r"^:(param|parameter|arg|argument|key|keyword)\s+(?:[^:]*\s)?\*{0,2}(\w+)\s*:(.*)$")
_REST_ANY_FIELD = re.compile(r"^:\w+[^:]*:")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _join(parts: List[str]) -> str:
    return " ".join(part.strip() for part in parts if part.strip())


def _underlined(lines: List[str], index: int) -> bool:
    """Whether ``lines[index]`` has a NumPy underline (a line of dashes) below it."""
    return index + 1 < len(lines) and _NUMPY_UNDERLINE.match(lines[index + 1]) is not None


def _is_section_start(lines: List[str], index: int) -> bool:
    line = lines[index]
    if _GOOGLE_SECTION.match(line) or _REST_ANY_FIELD.match(line):
        return True
    return bool(line.strip()) and _underlined(lines, index)


def _summary(lines: List[str]) -> Optional[str]:
    found: List[str] = []
    for index, line in enumerate(lines):
        if not line.strip() or _is_section_start(lines, index):
            break
        found.append(line)
    return _join(found) or None


def _google(lines: List[str], start: int, found: Dict[str, str]) -> None:
    """The entries under a Google title at ``lines[start - 1]``."""
    entry_indent: Optional[int] = None
    name: Optional[str] = None
    text: List[str] = []
    for line in lines[start:]:
        if not line.strip():
            continue
        indent = _indent(line)
        if indent == 0:
            break  # the next section, or text after the section
        if entry_indent is None:
            entry_indent = indent
        match = _GOOGLE_ENTRY.match(line.strip()) if indent <= entry_indent else None
        if match:
            if name is not None:
                found.setdefault(name, _join(text))
            name, text = match.group(1), [match.group(2) or ""]
        elif name is not None:
            text.append(line)
    if name is not None:
        found.setdefault(name, _join(text))


def _numpy(lines: List[str], start: int, found: Dict[str, str]) -> None:
    """The entries after a NumPy title and its underline (``lines[start]`` is the first entry)."""
    names: List[str] = []
    text: List[str] = []

    def flush() -> None:
        for one in names:
            found.setdefault(one, _join(text))

    index = start
    while index < len(lines):
        line = lines[index]
        if line.strip() and _indent(line) == 0:
            if _underlined(lines, index):
                break  # the next section
            match = _NUMPY_ENTRY.match(line)
            flush()
            names = [one.strip().lstrip("*") for one in match.group(1).split(",")] if match else []
            text = []
        elif names:
            text.append(line)
        index += 1
    flush()


def _rest(lines: List[str], found: Dict[str, str]) -> None:
    name: Optional[str] = None
    text: List[str] = []
    field_indent = 0
    for line in lines:
        stripped = line.strip()
        if name is not None:
            if stripped and _indent(line) > field_indent and not _REST_ANY_FIELD.match(stripped):
                text.append(line)  # a continuation line, more indented than its field
                continue
            found.setdefault(name, _join(text))
            name = None
        match = _REST_FIELD.match(stripped)
        if match:
            name, text, field_indent = match.group(2), [match.group(3)], _indent(line)
    if name is not None:
        found.setdefault(name, _join(text))


def parse_docstring(doc: Optional[str]) -> Tuple[Optional[str], Dict[str, str]]:
    """``(summary, {parameter: description})`` from a docstring (``None`` gives ``(None, {})``).

    >>> parse_docstring('''Weather for a city.
    ...
    ...     Args:
    ...         city: The city's name.
    ...     ''')
    ('Weather for a city.', {'city': "The city's name."})
    """
    if not doc or not doc.strip():
        return None, {}
    lines = cleandoc(doc).splitlines()
    found: Dict[str, str] = {}
    for index, line in enumerate(lines):
        if _GOOGLE_PARAMETERS.match(line):
            _google(lines, index + 1, found)
        elif line.strip() in _NUMPY_PARAMETERS and _underlined(lines, index):
            _numpy(lines, index + 2, found)
    _rest(lines, found)
    return _summary(lines), {name: text for name, text in found.items() if text}
