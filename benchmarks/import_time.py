#!/usr/bin/env python3
"""What does importing openai_params cost, next to importing the official `openai` package?

    python benchmarks/import_time.py [--runs 41] [--python PATH] [--target-ratio 0.05]

The import a program really makes is `from openai_params import OpenAI,
OpenAIChatCompletionParameters`; the one it replaces is `from openai import OpenAI`.

1. Both packages are measured byte-compiled, as installed: openai_params is copied
   into a temporary folder and compiled there (this checkout's own __pycache__ may be
   stale or missing); `openai` is imported from the interpreter's site-packages, which
   pip byte-compiles at install (a warm-up import writes anything missing).
2. Wall clock: `python -c pass`, `python -c "import openai_params"`, the client import
   and `python -c "from openai import OpenAI"` run in rotating order, many times, each
   in a fresh interpreter; medians are compared (rotation and medians, because this
   machine is shared and a single run means little). A cost is median(command) -
   median(pass); the ratio is the client import's cost over openai's. The same is
   printed for the CPU time of the processes, steadier than the wall clock on a busy
   machine; the target is judged on the wall clock.
3. `-X importtime`: the modules the client import pulls in beyond a bare start.
   `ssl`, `http.client`, `urllib.request`, `email`, `logging`, `socket` and
   `concurrent.futures` must not be among them: they load when a request, a log line
   or a background call first needs them.

Target: the ratio at most 1/20. Exits 1 if it is over, or a module above is imported.
Without the official package (`python -m pip install openai`) the ratio is skipped, and
said so. `--python` picks the interpreter measured (one with `openai` installed).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
CLIENT_IMPORT = "from openai_params import OpenAI, OpenAIChatCompletionParameters"
OPENAI_IMPORT = "from openai import OpenAI"
# Loaded when first needed (a request, a log line, a background call), never by the import.
DEFERRED = ("ssl", "http.client", "urllib.request", "email", "logging", "socket", "concurrent.futures")


def _env(path: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = path
    for name in ("PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE", "PYTHONNOUSERSITE"):
        env.pop(name, None)
    return env


def _run(python: str, args: List[str], env: Dict[str, str]) -> str:
    return subprocess.run([python] + args, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout


def _children_cpu() -> float:
    """CPU seconds used by finished child processes (0 where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time_once(python: str, code: str, env: Dict[str, str]) -> Tuple[float, float]:
    """Wall-clock and CPU seconds of one fresh interpreter running `code`."""
    cpu, start = _children_cpu(), time.perf_counter()
    subprocess.run([python, "-c", code], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, _children_cpu() - cpu


def timed(python: str, runs: int, codes: List[str], env: Dict[str, str]) -> List[Tuple[float, float]]:
    """Median wall-clock and CPU seconds of one fresh interpreter per code, run in rotating order."""
    times: List[List[Tuple[float, float]]] = [[] for _ in codes]
    for index in range(runs):
        # Rotate which goes first so a drift in machine load hits every command alike.
        for offset in range(len(codes)):
            which = (index + offset) % len(codes)
            times[which].append(_time_once(python, codes[which], env))
    return [
        (statistics.median(w for w, _ in values), statistics.median(c for _, c in values)) for values in times
    ]


def imported_modules(python: str, code: str, env: Dict[str, str]) -> Dict[str, Tuple[int, int]]:
    """Modules `code` imports beyond a bare start: name -> (self us, cumulative us)."""

    def run(code: str) -> Dict[str, Tuple[int, int]]:
        done = subprocess.run(
            [python, "-X", "importtime", "-c", code],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        found = {}
        for line in done.stderr.splitlines():
            # "import time:  self [us] | cumulative | imported package"
            if not line.startswith("import time:") or "[us]" in line:
                continue
            fields = line[len("import time:") :].split("|")
            if len(fields) == 3:
                found[fields[2].strip()] = (int(fields[0]), int(fields[1]))
        return found

    baseline = run("pass")
    return {name: t for name, t in run(code).items() if name not in baseline}


def compiled_copy(python: str, into: Path) -> str:
    """This checkout's package, copied into `into` and byte-compiled by `python`; the folder to import from."""
    shutil.copytree(
        str(ROOT / "openai_params"), str(into / "openai_params"), ignore=shutil.ignore_patterns("__pycache__")
    )
    _run(python, ["-m", "compileall", "-q", str(into / "openai_params")], _env(str(into)))
    return str(into)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=41, help="runs of each command (default 41)")
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure (default: this one)")
    parser.add_argument(
        "--target-ratio", type=float, default=0.05, help="client import cost / openai's (default 0.05)"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        env = _env(compiled_copy(args.python, Path(folder)))
        version = _run(args.python, ["-c", "import sys; print(sys.version.split()[0])"], env).strip()
        has_openai = (
            subprocess.run(
                [args.python, "-c", OPENAI_IMPORT],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ).returncode
            == 0
        )
        print("Python %s (%s), %d rotating runs each" % (version, args.python, args.runs))

        modules = imported_modules(args.python, CLIENT_IMPORT, env)
        loaded_early = sorted(
            name for name in modules if name in DEFERRED or name.split(".")[0] in ("ssl", "email", "logging")
        )
        heaviest = sorted(modules.items(), key=lambda item: -item[1][0])[:10]
        print("\n`%s` loads %d modules beyond a bare start" % (CLIENT_IMPORT, len(modules)))
        print("heaviest (self time under -X importtime, which inflates it):")
        for name, (own, cumulative) in heaviest:
            print("  %-32s %7.2f ms self  %7.2f ms cumulative" % (name, own / 1000, cumulative / 1000))
        if loaded_early:
            print("LOADED AT IMPORT (should load when first needed): %s" % ", ".join(loaded_early))
        else:
            print("none of %s is loaded" % ", ".join(DEFERRED))

        codes = ["pass", "import openai_params", CLIENT_IMPORT] + ([OPENAI_IMPORT] if has_openai else [])
        medians = timed(args.python, args.runs, codes, env)
    (bare, bare_cpu) = medians[0]
    print("\nmedians, wall clock (CPU of the process, steadier on a busy machine); cost = command - pass:")
    for code, (wall, cpu) in zip(codes, medians):
        print(
            "  python -c %-66s %8.2f ms  cost %8.2f ms  (CPU %8.2f ms, cost %8.2f ms)"
            % ('"%s"' % code, wall * 1000, (wall - bare) * 1000, cpu * 1000, (cpu - bare_cpu) * 1000)
        )
    if not has_openai:
        print("the official `openai` package is not installed for %s: no ratio" % args.python)
        return 1 if loaded_early else 0
    ratio = (medians[2][0] - bare) / (medians[3][0] - bare)
    cpu_ratio = (medians[2][1] - bare_cpu) / (medians[3][1] - bare_cpu) if medians[3][1] > bare_cpu else 0.0
    verdict = "met" if ratio <= args.target_ratio else "MISSED"
    print(
        "client import cost / `%s` cost = %.3f (1/%.0f; CPU %.3f); target <= %.3f: %s"
        % (
            OPENAI_IMPORT,
            ratio,
            1 / ratio if ratio > 0 else float("inf"),
            cpu_ratio,
            args.target_ratio,
            verdict,
        )
    )
    return 1 if loaded_early or ratio > args.target_ratio else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
