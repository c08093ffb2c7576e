"""The call-chain tables in docs/how-it-works.md name functions that exist.

Each row of the two tables (a non-streamed and a streamed call) is one step,
``module.function`` or ``module.Class.method`` inside ``openai_params``. A rename
or a move that leaves a table behind fails here, naming the row.
"""

import importlib
import re
from pathlib import Path
from typing import Any, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "how-it-works.md"
SECTION = "## The call chain, function by function"
ROW = re.compile(r"^\| *(\d+) *\| *`([A-Za-z_][\w.]*)` *\|(.*)\|\s*$")


def _tables() -> List[List[Tuple[int, str, str]]]:
    """The section's tables, each a list of (step number, name, what it does)."""
    text = PAGE.read_text(encoding="utf-8")
    assert SECTION in text, "docs/how-it-works.md has no %r section" % SECTION
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    tables: List[List[Tuple[int, str, str]]] = []
    in_table = False
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            if not in_table:
                tables.append([])
            tables[-1].append((int(match.group(1)), match.group(2), match.group(3).strip()))
        in_table = bool(match) or (in_table and line.startswith("|"))
    return tables


TABLES = _tables()
STEPS = [(index, number, name) for index, table in enumerate(TABLES) for number, name, _ in table]


def resolve(name: str) -> Any:
    """``module.Class.method`` inside openai_params -> the object, via importlib and getattr."""
    module_name, _, rest = name.partition(".")
    obj: Any = importlib.import_module("openai_params." + module_name)
    for attribute in rest.split("."):
        obj = getattr(obj, attribute)
    return obj


def test_two_tables_numbered_in_order_with_a_line_each() -> None:
    assert len(TABLES) == 2, "expected a non-streamed and a streamed table, found %d" % len(TABLES)
    for table in TABLES:
        assert [number for number, _, _ in table] == list(range(1, len(table) + 1))
        assert len(table) >= 8
        assert all(what for _, _, what in table)
    assert TABLES[0][0][1] == "client.ChatCompletions.create"
    assert TABLES[1][0][1] == "client.ChatCompletions.stream"


@pytest.mark.parametrize("table, number, name", STEPS, ids=["%d.%d-%s" % step for step in STEPS])
def test_every_step_names_a_function_that_exists(table: int, number: int, name: str) -> None:
    assert "." in name, "step %d names %r: write it as module.function" % (number, name)
    try:
        obj = resolve(name)
    except (ImportError, AttributeError) as exc:
        pytest.fail(
            "docs/how-it-works.md, table %d step %d: %s does not exist (%s)" % (table + 1, number, name, exc)
        )
    assert callable(obj), "%s is not a function or method" % name


def test_resolve_fails_on_a_name_that_does_not_exist() -> None:
    assert callable(resolve("client.ChatCompletions.create"))
    with pytest.raises(AttributeError):
        resolve("client.ChatCompletions.no_such_step")
    with pytest.raises(ImportError):
        resolve("no_such_module.function")
