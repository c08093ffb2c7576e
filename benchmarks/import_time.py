#!/usr/bin/env python3
"""How much does `import openai_params` cost on top of starting Python?

    python benchmarks/import_time.py [--runs 41] [--python PATH] [--target-ms 15]

1. Wall clock: `python -c pass` and `python -c "import openai_params"` are run
   alternately, many times, each in a fresh interpreter; the medians are
   compared (alternating and medians, because this machine is shared and a
   single run means little). The overhead is median(import) - median(pass).
2. `-X importtime`: the modules the import pulls in. `ssl`, `http.client`,
   `urllib.request` and `email` must not be among them: the transport loads
   them when the first request needs them, not at import.

Prints both, and whether the overhead is under the target (15 ms, issue 2).
Exits 1 if a forbidden module is imported or the overhead is over the target.
The package is imported from this checkout (PYTHONPATH), not from site-packages.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("ssl", "http.client", "urllib.request", "email")


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    # No cached-bytecode surprises between the two commands: both may use it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _time_once(python: str, code: str, env: Dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([python, "-c", code], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


CLIENT_IMPORT = "from openai_params import OpenAI, OpenAIChatCompletionParameters"


def wall_clock(python: str, runs: int, codes: List[str]) -> List[float]:
    """Medians, in seconds, of one fresh interpreter per code, run in rotating order."""
    env = _env()
    times: List[List[float]] = [[] for _ in codes]
    for index in range(runs):
        # Rotate which goes first so a drift in machine load hits every command alike.
        for offset in range(len(codes)):
            which = (index + offset) % len(codes)
            times[which].append(_time_once(python, codes[which], env))
    return [statistics.median(values) for values in times]


def imported_modules(python: str, code: str = "import openai_params") -> Dict[str, Tuple[int, int]]:
    """Modules imported by `import openai_params` beyond a bare start: name -> (self us, cumulative us)."""

    def run(code: str) -> Dict[str, Tuple[int, int]]:
        done = subprocess.run(
            [python, "-X", "importtime", "-c", code],
            env=_env(),
            check=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
        )
        found = {}
        for line in done.stderr.splitlines():
            # "import time:  self [us] | cumulative | imported package"
            if not line.startswith("import time:") or "[us]" in line:
                continue
            fields = line[len("import time:") :].split("|")
            if len(fields) != 3:
                continue
            found[fields[2].strip()] = (int(fields[0]), int(fields[1]))
        return found

    baseline = run("pass")
    return {name: t for name, t in run(code).items() if name not in baseline}


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=41, help="runs of each command (default 41)")
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure (default: this one)")
    parser.add_argument("--target-ms", type=float, default=15.0, help="overhead target in ms (default 15)")
    args = parser.parse_args(argv)

    version = subprocess.run(
        [args.python, "-c", "import sys; print(sys.version.split()[0])"],
        check=True,
        stdout=subprocess.PIPE,
        universal_newlines=True,
    ).stdout.strip()
    print("Python %s (%s), %d alternating runs each" % (version, args.python, args.runs))
    # Warm up: write the package's bytecode (an installed package has it) and
    # fill the OS file cache, so neither measurement pays for compiling.
    for _ in range(2):
        _time_once(args.python, "import openai_params", _env())

    modules = imported_modules(args.python)
    client_modules = imported_modules(args.python, CLIENT_IMPORT)
    forbidden = sorted(
        name for name in set(modules) | set(client_modules)
        if name in FORBIDDEN or name.split(".")[0] in ("ssl", "email")
    )
    heaviest = sorted(modules.items(), key=lambda item: -item[1][0])[:8]
    print("\nmodules imported beyond a bare start: %d" % len(modules))
    print("heaviest (self time under -X importtime, which inflates it):")
    for name, (own, cumulative) in heaviest:
        print("  %-32s %7.2f ms self  %7.2f ms cumulative" % (name, own / 1000, cumulative / 1000))
    if forbidden:
        print("FORBIDDEN at import: %s" % ", ".join(forbidden))
    else:
        print("none of %s is imported" % ", ".join(FORBIDDEN))

    print("`%s` loads %d modules beyond a bare start" % (CLIENT_IMPORT, len(client_modules)))

    bare, loaded, client = wall_clock(args.python, args.runs,
                                      ["pass", "import openai_params", CLIENT_IMPORT])
    overhead_ms = (loaded - bare) * 1000
    print("\nmedian `python -c pass`:                 %7.2f ms" % (bare * 1000))
    print('median `python -c "import openai_params"`: %7.2f ms' % (loaded * 1000))
    print('median `python -c "%s"`: %7.2f ms (+%.2f ms: the client and parameter modules)'
          % (CLIENT_IMPORT, client * 1000, (client - bare) * 1000))
    verdict = "under" if overhead_ms < args.target_ms else "OVER"
    print("import overhead: %.2f ms (%s the %.0f ms target)" % (overhead_ms, verdict, args.target_ms))
    return 1 if forbidden or overhead_ms >= args.target_ms else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
