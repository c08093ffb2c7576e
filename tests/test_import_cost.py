"""What `from openai_params import OpenAI, OpenAIChatCompletionParameters` loads.

The import a program makes defines the client class; the HTTP layer, the transport and
logging load when a client is made, sockets and the network modules at the first request,
the streaming code at the first stream, worker threads at the first background call (benchmarks/import_time.py measures
what this saves against the official package).
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

from fakeserver import FakeServer
from streamdata import SSE_HEADERS, completion, text_stream

ROOT = Path(__file__).resolve().parent.parent
CLIENT_IMPORT = "from openai_params import OpenAI, OpenAIChatCompletionParameters"
# Loaded when first needed, never by the client import.
DEFERRED = [
    "json",
    "warnings",  # unless the standard library loads it first (_loaded_by_python)
    "logging",
    "math",  # a shared library: _checks.is_finite says what math.isfinite would
    "socket",
    "selectors",
    "concurrent.futures",
    "ssl",
    "http.client",
    "email",
    "urllib.request",
    "urllib.parse",
    "openai_params._http",
    "openai_params._socket_connection",
    "openai_params.retry",
    "openai_params.transport",
    "openai_params.stream",
    "openai_params.sse",
    "openai_params.accumulate",
    "openai_params.background",
    "openai_params.profiles",
    "openai_params.list_parameters",
    "openai_params.providers",
]


# The standard library modules the client import needs. Some load DEFERRED ones by themselves
# on some versions (warnings: at the interpreter's start on 3.11, by importlib on 3.8 to 3.10,
# by typing on 3.12.1), which the package cannot defer.
_NEEDED_BY_THE_IMPORT = "import importlib, typing, dataclasses, re, functools"


def _loaded_by_python() -> List[str]:
    script = "import sys\n%s\nprint(' '.join(m for m in %r if m in sys.modules))" % (
        _NEEDED_BY_THE_IMPORT,
        DEFERRED,
    )
    env: Dict[str, Any] = {"PATH": "", "NO_PROXY": "*"}
    done = subprocess.run([sys.executable, "-c", script], env=env, timeout=60, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def _loaded_after(steps: List[str], *argv: str) -> List[List[str]]:
    """Run ``steps`` one after another in a fresh interpreter; after each, which DEFERRED are
    loaded (leaving out those the standard library itself loads on this version)."""
    by_python = _loaded_by_python()
    names = [name for name in DEFERRED if name not in by_python]
    script = "import sys\nnames = %r\nseen = []\n" % (names,)
    for step in steps:
        script += step + "\nseen.append(sorted(m for m in names if m in sys.modules))\n"
    script += "import json\nprint(json.dumps(seen))\n"  # json is one of them
    env: Dict[str, Any] = {"PATH": "", "NO_PROXY": "*", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script] + list(argv),
        cwd=str(ROOT),
        env=env,
        timeout=60,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_the_client_import_loads_none_of_what_a_call_needs_later() -> None:
    (after_import,) = _loaded_after([CLIENT_IMPORT])
    assert after_import == []


def test_the_modules_of_the_client_import_leave_their_annotations_unevaluated() -> None:
    # An annotation such as Optional[Mapping[str, Any]], evaluated, builds typing objects
    # while the module loads; unevaluated (PEP 563), it costs nothing until asked for.
    script = (
        "import __future__, sys\n"
        + CLIENT_IMPORT
        + "\nprint(sorted(name for name, module in sys.modules.items()"
        " if name.startswith('openai_params.') and name != 'openai_params._version'"
        " and vars(module).get('annotations') is not __future__.annotations))"
    )
    env: Dict[str, Any] = {"PATH": "", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=str(ROOT), env=env, timeout=60, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_each_part_loads_when_first_needed_and_works(fake_server: FakeServer) -> None:
    fake_server.add(200, json=completion("Hi"))
    fake_server.add(200, pieces=text_stream(["He", "llo"]), headers=SSE_HEADERS)
    messages = [{"role": "user", "content": "hi"}]
    made, created, streamed = _loaded_after(
        [
            CLIENT_IMPORT + "\nclient = OpenAI(api_key='sk-x', base_url=sys.argv[1], max_retries=0)",
            "r = client.chat.completions.create(%r, model='m'); assert r.success, r.errors" % (messages,),
            "with client.chat.completions.stream(%r, model='m') as s:\n"
            "    assert ''.join(c.text for c in s) == 'Hello'" % (messages,),
        ],
        fake_server.url + "/v1",
    )
    assert {"openai_params.transport", "logging"} <= set(made) and "http.client" not in made
    assert {"socket", "openai_params._socket_connection"} <= set(created)
    assert {"openai_params.stream", "openai_params.sse", "openai_params.accumulate"} <= set(streamed)
