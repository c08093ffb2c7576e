"""scripts/local_server.py without building anything: the steps around the two servers' builds.

The builds themselves run in ``./scripts/test`` (``local_server.py setup``) and the
real-server tests start what they built; here, the parts that decide what to build,
what to unpack and how a failed step is reported.
"""

import importlib.util
import io
import json
import sys
import tarfile
from pathlib import Path
from typing import Any, List

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def local_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The script as a module, its cache in a temporary folder."""
    spec = importlib.util.spec_from_file_location("local_server", str(ROOT / "scripts" / "local_server.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("OPENAI_PARAMS_SERVER_ENV", str(tmp_path / "cache" / "llama-server"))
    (tmp_path / "cache").mkdir()
    return module


def test_a_failed_step_shows_the_end_of_its_log(
    local_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    command = [
        sys.executable,
        "-c",
        "print('first line'); print('the compiler said no'); raise SystemExit(3)",
    ]
    with pytest.raises(SystemExit) as raised:
        local_server._run_with_progress(command, {}, "compiling something")
    message = str(raised.value)
    assert message.startswith("compiling something failed (exit 3)")
    assert "the compiler said no" in message and "first line" in message
    assert "llama-server-build.log" in message
    assert "[local-server] compiling something ..." in capsys.readouterr().err


def test_a_step_that_succeeds_says_how_long_it_took(
    local_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    local_server._run_with_progress([sys.executable, "-c", "pass"], {}, "a quick step")
    err = capsys.readouterr().err
    assert "[local-server] a quick step ..." in err and "done in" in err


def test_unknown_server_names_the_known_ones(local_server: Any) -> None:
    with pytest.raises(SystemExit) as raised:
        local_server.setup(servers=["llama-cpp"])
    assert str(raised.value) == "unknown server 'llama-cpp'; the servers are: llama-cpp-python, llama.cpp"


def test_command_line_refuses_an_unknown_server(
    local_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert local_server.main(["--server", "nope", "setup"]) == 2
    assert "unknown server 'nope'" in capsys.readouterr().err
    assert local_server.main(["--server"]) == 2
    assert local_server.main(["--server=llama.cpp"]) == 2


def _write_marker(local_server: Any, venv: Path, key: Any) -> Path:
    where = venv / "llama.cpp"
    where.mkdir(parents=True)
    (where / "llama-server").write_bytes(b"binary")
    (where / "openai_params-ready.json").write_text(json.dumps(key))
    return where / "llama-server"


def test_built_binary_is_reused_only_when_built_from_the_same_source_and_flags(local_server: Any) -> None:
    venv = local_server.env_dir()
    assert local_server.cpp_binary(venv) is None  # nothing built yet
    binary = _write_marker(local_server, venv, local_server._cpp_build_key())
    assert local_server.cpp_binary(venv) == binary
    stale = dict(local_server._cpp_build_key(), flags=["-DGGML_NATIVE=ON"])
    (venv / "llama.cpp" / "openai_params-ready.json").write_text(json.dumps(stale))
    assert local_server.cpp_binary(venv) is None
    (venv / "llama.cpp" / "openai_params-ready.json").write_text(json.dumps(local_server._cpp_build_key()))
    binary.unlink()
    assert local_server.cpp_binary(venv) is None


def test_build_flags_make_one_static_binary_without_downloads(local_server: Any) -> None:
    flags = local_server.CPP_CMAKE_FLAGS
    for flag in (
        "-DBUILD_SHARED_LIBS=OFF",
        "-DLLAMA_USE_PREBUILT_UI=OFF",
        "-DLLAMA_BUILD_UI=OFF",
        "-DGGML_NATIVE=OFF",
    ):
        assert flag in flags
    assert (
        local_server._cpp_build_key()["source"]
        == "llama-cpp-python==" + local_server.LLAMA_CPP_PYTHON_VERSION
    )


def _add(archive: tarfile.TarFile, name: str, data: bytes = b"x") -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def test_only_vendor_llama_cpp_is_unpacked(local_server: Any, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    top = "llama_cpp_python-" + local_server.LLAMA_CPP_PYTHON_VERSION
    sdist = work / (top + ".tar.gz")
    with tarfile.open(str(sdist), "w:gz") as archive:
        _add(archive, top + "/pyproject.toml")
        _add(archive, top + "/vendor/llama.cpp/CMakeLists.txt", b"cmake_minimum_required(VERSION 3.14)")
        _add(archive, top + "/vendor/llama.cpp/tools/server/server.cpp")
        _add(archive, top + "/.git/modules/vendor/llama.cpp/HEAD")  # the same words, elsewhere
        _add(archive, top + "/vendor/llama.cpp-extra/file")
    source = local_server._extract_llama_cpp(work)
    assert source == work / top / "vendor" / "llama.cpp"
    assert (source / "CMakeLists.txt").read_bytes() == b"cmake_minimum_required(VERSION 3.14)"
    assert (source / "tools" / "server" / "server.cpp").exists()
    unpacked = sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file())
    assert unpacked == [
        top + "/vendor/llama.cpp/CMakeLists.txt",
        top + "/vendor/llama.cpp/tools/server/server.cpp",
    ]
    assert not sdist.exists()  # the archive is not kept once unpacked


def test_an_sdist_without_llama_cpp_is_an_error(local_server: Any, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    top = "llama_cpp_python-" + local_server.LLAMA_CPP_PYTHON_VERSION
    with tarfile.open(str(work / (top + ".tar.gz")), "w:gz") as archive:
        _add(archive, top + "/pyproject.toml")
    with pytest.raises(SystemExit) as raised:
        local_server._extract_llama_cpp(work)
    assert str(raised.value).startswith("no %s/vendor/llama.cpp/ in " % top)


def test_build_tools_come_from_path_when_new_enough(
    local_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed: List[List[str]] = []
    monkeypatch.setattr(local_server, "_run_with_progress", lambda cmd, env, what: installed.append(cmd))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, version in (("cmake", "cmake version 3.25.1"), ("ninja", "1.11.1")):
        tool = bin_dir / name
        tool.write_text("#!/bin/sh\necho '%s'\n" % version)
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    venv = local_server.env_dir()
    assert local_server._build_tools(venv, {}) == (str(bin_dir / "cmake"), str(bin_dir / "ninja"))
    assert installed == []
    # Too old a CMake, and no Ninja: both come from their PyPI wheels, into the environment.
    (bin_dir / "cmake").write_text("#!/bin/sh\necho 'cmake version 3.10.2'\n")
    (bin_dir / "ninja").unlink()
    tools = local_server._build_tools(venv, {})
    assert tools == (str(venv / "bin" / "cmake"), str(venv / "bin" / "ninja"))
    assert len(installed) == 1 and installed[0][-2:] == ["cmake", "ninja"]
    assert installed[0][:3] == [str(venv / "bin" / "python"), "-m", "pip"]


@pytest.mark.skipif(sys.platform == "win32", reason="the lock is POSIX flock")
def test_a_finished_build_is_used_while_another_run_holds_the_lock(local_server: Any, tmp_path: Path) -> None:
    import fcntl
    import threading

    venv = local_server.env_dir()
    python = venv / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    (venv / "openai_params-ready.json").write_text(json.dumps({"model": str(model)}))
    _write_marker(local_server, venv, local_server._cpp_build_key())
    found: List[Path] = []
    with open(str(venv.parent / (venv.name + ".lock")), "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # another run, building
        try:
            for servers in (["llama-cpp-python"], ["llama.cpp"], local_server.SERVERS):
                worker = threading.Thread(
                    target=lambda names: found.append(local_server.setup(True, names)), args=(servers,)
                )
                worker.start()
                worker.join(timeout=30)
                assert not worker.is_alive(), "setup waited for the lock with %s built" % (servers,)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    assert found == [model, model, model]
