"""Every ```python example in README.md and docs/ runs as written; docs cover the public names.

An example whose first line is ``# requires: server`` runs against the real
llama.cpp server (OPENAI_BASE_URL points at it); the others run offline.
"""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

import openai_params

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.M | re.S)


def _examples() -> List[Tuple[str, str]]:
    found = []
    pages = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for number, match in enumerate(FENCE.finditer(text), 1):
            found.append(("%s#%d" % (page.relative_to(ROOT).as_posix(), number), match.group(1)))
    return found


EXAMPLES = _examples()


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 5


def _run(code: str, env_extra: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(env_extra)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=str(ROOT), env=env, timeout=180, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "where, code",
    [e for e in EXAMPLES if not e[1].startswith("# requires: server")],
    ids=[e[0] for e in EXAMPLES if not e[1].startswith("# requires: server")],
)
def test_offline_example_runs(where: str, code: str) -> None:
    # Offline examples must not reach anything: point the client at a closed port.
    done = _run(code, {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert done.returncode == 0, "%s failed:\n%s%s" % (where, done.stdout, done.stderr)


@pytest.mark.integration
@pytest.mark.parametrize(
    "where, code",
    [e for e in EXAMPLES if e[1].startswith("# requires: server")],
    ids=[e[0] for e in EXAMPLES if e[1].startswith("# requires: server")],
)
def test_server_example_runs(where: str, code: str, real_server) -> None:
    done = _run(code, {"OPENAI_BASE_URL": real_server.base_url, "OPENAI_MODEL": real_server.model})
    assert done.returncode == 0, "%s failed:\n%s%s" % (where, done.stdout, done.stderr)
    assert done.stdout.strip(), "%s printed nothing" % where


def test_every_public_class_has_a_docs_mention() -> None:
    docs = " ".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.md"))
    missing = [name for name in openai_params.__all__ if name[:1].isupper() and name not in docs]
    assert not missing, "public names not documented in docs/: %s" % missing


def test_all_names_exist() -> None:
    for name in openai_params.__all__:
        assert hasattr(openai_params, name), name
    assert openai_params.OpenAIChatCompletionsParameters is openai_params.OpenAIChatCompletionParameters


def test_every_public_function_is_in_the_index() -> None:
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    functions = [name for name in openai_params.__all__ if name[:1].islower()]
    assert functions, "json_schema and from_json at least"
    missing = [name for name in functions if "`%s`" % name not in index]
    assert not missing, "public functions not in docs/index.md: %s" % missing
