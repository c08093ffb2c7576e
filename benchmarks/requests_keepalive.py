#!/usr/bin/env python3
"""300 sequential small POST requests to a local keep-alive server, several ways, compared.

    python benchmarks/requests_keepalive.py [--requests 300] [--rounds 7]

* raw:       http.client, one connection, in a loop: the JSON body encoded, the request
             sent with its Content-Type and Authorization headers, the status and headers
             read, the body read by its Content-Length and decoded with ``json.loads``,
             the answer's text checked (the least an honest client does: every contender
             encodes what it sends and decodes what it gets)
* project:   openai_params' ``OpenAI().chat.completions.create()`` (request building,
             transport, result objects); when the client cannot be imported, the
             project's ``Transport.send`` alone
* transport: openai_params' ``Transport.send`` alone (the connection pool, retry
             bookkeeping and response object, without building or parsing)
* openai:    the official ``openai`` package, when it is installed
             (benchmark-only: ``python -m pip install openai``)

The server is a minimal keep-alive HTTP/1.1 responder on raw sockets in a separate
process, so that its cost is small and it does not compete for the client's GIL. Its
time (and the kernel's) is in every contender's wall clock alike, which brings the
wall-clock ratios closer to 1 than the client CPU ratios printed beside them.
Rounds alternate between the contenders (the order rotates each round) and the
medians are compared, since this machine is shared and absolute times mean little.
Targets (restated): project/raw <= 1.6x and project/openai <= 0.5x (wall clock, medians).
Only the project's ratios have targets; the transport's are printed to show where time goes.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "bench",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello!"},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
    }
).encode()
REPLY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-request-id: req_bench\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(COMPLETION), COMPLETION)
)
MESSAGES = [{"role": "user", "content": "Say hello"}]
BODY = json.dumps({"model": "bench", "messages": MESSAGES}).encode()
KEY = "sk-bench-0000000000000000"


# -- the server --------------------------------------------------------------------------------------
def _connection(conn: socket.socket) -> None:
    """Answer every request on one keep-alive connection with the same small completion."""
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(buffer) < length:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            buffer = buffer[length:]
            conn.sendall(REPLY)


def serve(port_queue: Any) -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port_queue.put(listener.getsockname()[1])
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_connection, args=(conn,), daemon=True).start()


# -- the contenders ----------------------------------------------------------------------------------
Runner = Callable[[int], None]


def raw_runner(port: int) -> Runner:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + KEY}

    def run(n: int) -> None:
        for _ in range(n):
            body = json.dumps({"model": "bench", "messages": MESSAGES}).encode()
            conn.request("POST", "/v1/chat/completions", body, headers)
            response = conn.getresponse()
            answer = json.loads(response.read())
            if response.status != 200 or answer["choices"][0]["message"]["content"] != "Hello!":
                raise RuntimeError("raw: unexpected answer")

    return run


def transport_runner(port: int) -> Runner:
    from openai_params.transport import HTTPRequest, Transport

    transport = Transport(proxies={})
    url = "http://127.0.0.1:%d/v1/chat/completions" % port
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + KEY}

    def run(n: int) -> None:
        for _ in range(n):
            response = transport.send(HTTPRequest("POST", url, headers, BODY), timeout=30, max_retries=2)
            if response.status != 200 or not response.read():
                raise RuntimeError("transport: unexpected answer")
            response.close()

    return run


def project_runner(port: int) -> Optional[Runner]:
    try:
        from openai_params import OpenAI
    except ImportError:
        return None
    client = OpenAI(api_key=KEY, base_url="http://127.0.0.1:%d/v1" % port, proxies={})

    def run(n: int) -> None:
        for _ in range(n):
            result = client.chat.completions.create(MESSAGES, model="bench")
            if not result.success or result.choice.message.content != "Hello!":
                raise RuntimeError("project: unexpected answer: %r" % (result,))

    try:
        run(1)
    except Exception as exc:  # noqa: BLE001 - a client still being written: fall back
        print(
            "note: openai_params.OpenAI failed (%s: %s); measuring Transport alone"
            % (type(exc).__name__, exc)
        )
        return None
    return run


def openai_runner(port: int) -> Optional[Runner]:
    try:
        import openai
    except ImportError:
        return None
    client = openai.OpenAI(api_key=KEY, base_url="http://127.0.0.1:%d/v1" % port, max_retries=2)

    def run(n: int) -> None:
        for _ in range(n):
            completion = client.chat.completions.create(
                messages=MESSAGES,  # type: ignore[arg-type]
                model="bench",
            )
            if completion.choices[0].message.content != "Hello!":
                raise RuntimeError("openai: unexpected answer")

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ.pop(name, None)
    queue: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(queue,), daemon=True)
    server.start()
    port = queue.get(timeout=30)
    try:
        runners: Dict[str, Runner] = {"raw": raw_runner(port), "transport": transport_runner(port)}
        project = project_runner(port)
        runners["project"] = project if project is not None else runners["transport"]
        official = openai_runner(port)
        if official is not None:
            runners["openai"] = official
        else:
            print("note: the openai package is not installed; no comparison with it")
        for run in runners.values():  # warm up: connections, imports, caches
            run(20)
        times: Dict[str, List[float]] = {name: [] for name in runners}
        cpu: Dict[str, List[float]] = {name: [] for name in runners}
        names = list(runners)
        for round_number in range(args.rounds):
            order = names[round_number % len(names) :] + names[: round_number % len(names)]
            for name in order:
                started, cpu_started = time.perf_counter(), time.process_time()
                runners[name](args.requests)
                times[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - cpu_started)
    finally:
        server.terminate()
        server.join(5)

    median = {name: statistics.median(values) for name, values in times.items()}
    cpu_median = {name: statistics.median(values) for name, values in cpu.items()}
    print(
        "%d sequential POST requests, %d rounds, medians (wall clock; client CPU):"
        % (args.requests, args.rounds)
    )
    for name, value in median.items():
        print(
            "  %-9s %8.1f ms  (%6.1f us per request; client CPU %6.1f us)"
            % (name, value * 1000, value * 1e6 / args.requests, cpu_median[name] * 1e6 / args.requests)
        )
    # The CPU figures are steadier than the wall clock on a busy machine; the targets
    # are on the wall clock.
    ok = True
    for baseline, limit in (("raw", 1.6), ("openai", 0.5)):
        if baseline not in median:
            continue
        for name in ("project", "transport"):
            ratio = median[name] / median[baseline]
            if name == "project":
                met = ratio <= limit
                ok = ok and met
                target = "  (target project/%s <= %.1fx: %s)" % (baseline, limit, "met" if met else "MISSED")
            else:
                target = ""
            print("%-9s / %-6s = %.2fx%s" % (name, baseline, ratio, target))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
