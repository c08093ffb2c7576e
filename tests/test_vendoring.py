"""The package works when copied under another name, as people vendor it."""

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

from streamdata import completion

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "openai_params"


def test_every_import_inside_the_package_is_relative_or_stdlib() -> None:
    stdlib = getattr(sys, "stdlib_module_names", None)
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top != "openai_params", "%s: absolute import of %s" % (path.name, name)
                if stdlib is not None:  # Python 3.10+ lists the standard library
                    assert top in stdlib or top == "__future__", "%s imports %s" % (path.name, name)


def test_a_vendored_copy_runs_a_call(tmp_path: Path, fake_server) -> None:
    vendor = tmp_path / "yourtool" / "_vendor"
    shutil.copytree(str(PACKAGE), str(vendor / "openai_params"), ignore=shutil.ignore_patterns("__pycache__"))
    for folder in (tmp_path / "yourtool", vendor):
        (folder / "__init__.py").write_text("")
    fake_server.add(200, json=completion("from the vendored copy"))
    script = (
        "import sys, json\n"
        "from yourtool._vendor.openai_params import OpenAI, OpenAIChatCompletionParameters\n"
        "client = OpenAI(api_key='k', base_url=sys.argv[1], max_retries=0)\n"
        "r = client.chat.completions.create([{'role': 'user', 'content': 'hi'}],\n"
        "                                   OpenAIChatCompletionParameters(temperature=0))\n"
        "print(json.dumps({'text': r.text, 'leaked': sorted(m for m in sys.modules\n"
        "                  if m.split('.')[0] == 'openai_params')}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, fake_server.url + "/v1"],
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out == {"text": "from the vendored copy", "leaked": []}
    assert fake_server.requests[0].json["temperature"] == 0
