#!/usr/bin/env python3
"""2,000 chat requests against a rate-limited local server: the paced fan-out and a plain pool.

    python benchmarks/fanout.py [--requests 2000] [--concurrency 16] [--limit 100] [--window 0.5]

The server is the test suite's fake server with its rate limiter
(tests/fakeserver.py, tests/fake_ratelimit.py) in a separate process: at most
``--limit`` requests per ``--window`` seconds (a fixed window), OpenAI's
``x-ratelimit-*`` headers on every answer, ``429`` with ``retry-after-ms``
beyond the limit.

* paced: ``client.chat.completions.create_many(requests, concurrency=N)``
* async: the same on ``AsyncOpenAI`` (``await ...create_many(...)``): the same
  pacing decisions (``fanout.FanOut``), driven by asyncio tasks instead of threads
* plain: a ``concurrent.futures.ThreadPoolExecutor(N)`` calling
  ``client.chat.completions.create`` per request (the client's default two
  retries, which honour ``retry-after-ms``): what people write first

The ideal is the time the limits allow: ``ceil(requests / limit) - 1`` windows
(the last window's requests go at its start). Target (restated): the paced
runs' wall times within 1.2x of the ideal, none failed, and 429s at most 1 % of
the requests and a tenth of the plain pool's (which honours Retry-After too, so
its time is near the ideal as well: what differs is how hard it hits the limit).
With the defaults the whole script takes about 35 s.
"""

import argparse
import json
import math
import multiprocessing
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))


def serve(limit: int, window: float, conn: Any) -> None:
    """The server process: the rate limiter, plus GET /stats and POST /reset for the benchmark."""
    from fake_ratelimit import RateLimiter
    from fakeserver import FakeServer, RecordedRequest, Reply

    state: Dict[str, Any] = {"limiter": RateLimiter(requests=limit, tokens=10**9, window=window)}

    def reply(request: RecordedRequest) -> Reply:
        limiter = state["limiter"]
        if request.path == "/stats":
            return Reply(200, json={"accepted": limiter.accepted, "limited": limiter.limited})
        if request.path == "/reset":
            state["limiter"] = RateLimiter(requests=limit, tokens=10**9, window=window)
            return Reply(200, json={})
        return limiter.reply(request)

    server = FakeServer(default=reply)
    conn.send(server.url)
    conn.recv()  # until the benchmark is done
    server.close()


def call(url: str, method: str, path: str) -> Dict[str, Any]:
    import http.client

    conn = http.client.HTTPConnection(url.split("//")[1])
    conn.request(method, path, body=b"" if method == "POST" else None)
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--limit", type=int, default=100, help="requests per window")
    parser.add_argument("--window", type=float, default=0.5, help="seconds")
    args = parser.parse_args()

    import asyncio

    from openai_params import AsyncOpenAI, OpenAI

    here, there = multiprocessing.Pipe()
    process = multiprocessing.Process(target=serve, args=(args.limit, args.window, there), daemon=True)
    process.start()
    url = here.recv()
    requests: List[Any] = [[{"role": "user", "content": "Label item %d" % n}] for n in range(args.requests)]
    ideal = (math.ceil(args.requests / args.limit) - 1) * args.window
    print(
        "%d requests, concurrency %d, limit %d per %.3g s: ideal %.2f s"
        % (args.requests, args.concurrency, args.limit, args.window, ideal)
    )
    rows = []
    with OpenAI(api_key="sk-bench", base_url=url + "/v1", max_workers=args.concurrency) as client:
        for name in ("paced", "async", "plain"):
            call(url, "POST", "/reset")
            started = time.monotonic()
            if name == "paced":
                results = client.chat.completions.create_many(
                    requests, model="bench", max_completion_tokens=20, concurrency=args.concurrency
                )
            elif name == "async":

                async def run_async() -> Any:
                    async with AsyncOpenAI(api_key="sk-bench", base_url=url + "/v1") as aclient:
                        return await aclient.chat.completions.create_many(
                            requests, model="bench", max_completion_tokens=20, concurrency=args.concurrency
                        )

                results = asyncio.run(run_async())
            else:
                with ThreadPoolExecutor(args.concurrency) as pool:
                    results = list(
                        pool.map(
                            lambda m: client.chat.completions.create(
                                m, model="bench", max_completion_tokens=20
                            ),
                            requests,
                        )
                    )
            elapsed = time.monotonic() - started
            stats = call(url, "GET", "/stats")
            failed = sum(not r.success for r in results)
            rows.append((name, elapsed, stats["limited"], failed))
            print(
                "%-6s %6.2f s  %.2fx the ideal  %5d 429s  %4d failed"
                % (name, elapsed, elapsed / ideal if ideal else float("nan"), stats["limited"], failed)
            )
    here.send("done")
    process.join(5)
    plain = rows[-1]
    ok = all(
        row[1] <= 1.2 * ideal
        and row[3] == 0
        and row[2] <= args.requests / 100
        and row[2] * 10 <= max(plain[2], 1)
        for row in rows[:-1]
    )
    print(
        "target: paced (both clients) within 1.2x of the ideal, none failed, 429s <= 1%% of the "
        "requests and <= 1/10 of the plain pool's: %s" % ("met" if ok else "NOT met")
    )


if __name__ == "__main__":
    main()
