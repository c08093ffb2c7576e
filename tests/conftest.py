"""Shared fixtures: the real servers, a client on the fake server, a clean environment.

A plain ``pytest`` runs the offline suite only (``addopts = -m "not integration"`` in
pyproject.toml); ``./scripts/test`` builds the real servers and runs everything.

``real_server`` is parametrised over the two real servers (llama-cpp-python's Python
server and llama.cpp's C++ ``llama-server``), so a test that uses it runs on both. A test
that is about one server only says so by narrowing it::

    @pytest.mark.parametrize("real_server", ["llama-cpp-python"], indirect=True)
"""

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

from both_clients import run  # noqa: F401
from conftest_fakeserver import fake_server, proxy_server, second_server  # noqa: F401
from fakeserver import FakeServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openai_params import OpenAI  # noqa: E402  (this checkout's package, found through ROOT)


def _load_local_server() -> Any:
    spec = importlib.util.spec_from_file_location("local_server", str(ROOT / "scripts" / "local_server.py"))
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.hookimpl(tryfirst=True)  # before pytest's own `-m` selection reads the marks
def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """Every test that uses the real server is an integration test, marked or not."""
    for item in items:
        if "real_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def _empty_config_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("xdg-config-home"))


@pytest.fixture(autouse=True)
def _clean_openai_environment(monkeypatch: pytest.MonkeyPatch, _empty_config_home: str) -> None:
    """No test may pick up a developer's real key, base URL, proxy or providers file by accident."""
    monkeypatch.setenv("XDG_CONFIG_HOME", _empty_config_home)  # ~/.config/openai_params is never read
    for name in list(os.environ):
        if name.startswith("OPENAI_") or name.lower() in (
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "no_proxy",
        ):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def client(fake_server: FakeServer, request: pytest.FixtureRequest) -> Iterator[OpenAI]:  # noqa: F811
    """A client on the fake server: no retries, a 5 s timeout; its key is ``client.api_key``.
    An ``OpenAI``; in a test that also asks for ``run`` (both_clients.py), of that run's kind."""
    settings: Dict[str, Any] = dict(
        api_key="sk-test-client-key-0123456789", base_url=fake_server.url + "/v1", max_retries=0, timeout=5
    )
    if "run" in request.fixturenames:
        yield request.getfixturevalue("run").OpenAI(**settings)
        return
    with OpenAI(**settings) as made:
        yield made


REAL_SERVERS = ("llama-cpp-python", "llama.cpp")  # the names scripts/local_server.py knows


class RealServer:
    def __init__(self, name: str, base_url: str, model: str) -> None:
        self.name = name
        self.profile = name  # each server's own profile has the server's name
        self.base_url = base_url
        self.model = model


@pytest.fixture(scope="session")
def _start_real_server() -> Iterator[Callable[[str], RealServer]]:
    """Start a real server by name: each one once per session, on first use; all stop at the end."""
    running: Dict[str, Any] = {}

    def start(name: str) -> RealServer:
        if name not in running:
            running[name] = _load_local_server().LocalServer.start(name, quiet=True)
        return RealServer(name, running[name].base_url, running[name].model)

    try:
        yield start
    finally:
        for server in running.values():
            server.stop()


@pytest.fixture(scope="session", params=REAL_SERVERS)
def real_server(
    request: pytest.FixtureRequest, _start_real_server: Callable[[str], RealServer]
) -> RealServer:
    """A real server with SmolLM2-135M-Instruct, once per server. Fails (never skips) when it cannot start."""
    return _start_real_server(request.param)
