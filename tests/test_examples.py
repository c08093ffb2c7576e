"""The scripts in examples/ run as written: offline against a scripted model on the fake
server (asserting on what it received), and against the real server (integration)."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from conversations import ScriptedModel
from fakeserver import FakeServer

ROOT = Path(__file__).resolve().parent.parent
CHAT_WITH_TOOLS = ROOT / "examples" / "chat_with_tools.py"


def _run(script: Path, env_extra: Dict[str, str]) -> "subprocess.CompletedProcess[str]":
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, str(script)], cwd=str(ROOT), env=env, timeout=300, capture_output=True, text=True
    )


def _forced(name: str) -> Dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def test_chat_with_tools_offline(fake_server: FakeServer) -> None:
    fake_server.default = model = ScriptedModel(
        [("get_weather", {"city": "Paris"})],
        "It is sunny in Paris.",
        [("get_time", {"city": "Paris"})],
        "It is 09:30 in Paris.",
    )
    done = _run(CHAT_WITH_TOOLS, {"OPENAI_BASE_URL": fake_server.url + "/v1", "OPENAI_MODEL": "m"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "user: What is the weather in Paris?",
        '  call: get_weather {"city": "Paris"}',
        "  reply: 18 C and sunny in Paris",
        "assistant: It is sunny in Paris.",
        "user: And what time is it there?",
        '  call: get_time {"city": "Paris"}',
        '  reply: {"city": "Paris", "time": "09:30"}',
        "assistant: It is 09:30 in Paris.",
    ]
    first, second, third, fourth = model.received
    assert [b.get("tool_choice") for b in model.received] == [
        _forced("get_weather"),
        None,
        _forced("get_time"),
        None,
    ]
    assert [t["function"]["name"] for t in first["tools"]] == ["get_weather", "get_time"]
    # The llama-cpp-python profile: the assistant's tool calls go back with content "".
    assert second["messages"][-2]["content"] == "" and second["messages"][-2]["tool_calls"]
    assert second["messages"][-1] == {
        "role": "tool",
        "content": "18 C and sunny in Paris",
        "tool_call_id": "call_1_0",
    }
    # The second prompt carries the first exchange.
    assert [m["role"] for m in third["messages"]] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]
    assert json.loads(fourth["messages"][-1]["content"]) == {"city": "Paris", "time": "09:30"}


@pytest.mark.integration
# The example forces each first round with a tool_choice object, which llama.cpp's server reads as "auto".
@pytest.mark.parametrize("real_server", ["llama-cpp-python"], indirect=True)
def test_chat_with_tools_on_the_real_server(real_server: Any) -> None:
    done = _run(CHAT_WITH_TOOLS, {"OPENAI_BASE_URL": real_server.base_url, "OPENAI_MODEL": real_server.model})
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[1] for line in lines if line.startswith("  call:")][:2] == [
        "get_weather",
        "get_time",
    ]
    assert len([line for line in lines if line.startswith("assistant: ")]) == 2
