#!/usr/bin/env python3
"""Consume a 20,000-chunk chat stream from a local server, three ways, and compare.

    python benchmarks/stream_20k.py [--chunks 20000] [--rounds 5]

* raw:      http.client on one connection, split lines, json.loads each data line
            (the least a client can do; no accumulation, no objects)
* project:  openai_params' client.chat.completions.stream(), iterating every chunk
            and calling result() for the accumulated completion
* openai:   the official `openai` package's stream=True, when it is installed
            (benchmark-only: `python -m pip install openai`)

The server runs in a separate process so it does not compete for the client's
GIL. Rounds alternate between the contenders; the medians are compared, since
this machine is shared and absolute times mean little. Targets (issue 5):
project within 1.5x of raw, and faster than openai.

It also measures peak memory (tracemalloc) of the project reading a stream whose
bytes are ~10x its text, to show memory grows with the text kept, not the bytes read.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import sys
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def make_stream(chunks: int, pad: int = 0) -> bytes:
    parts = []
    base = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "bench",
        "system_fingerprint": "fp_bench",
    }
    first = dict(
        base,
        choices=[
            {
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": None,
                "finish_reason": None,
            }
        ],
    )
    parts.append(b"data: " + json.dumps(first).encode() + b"\n\n")
    for i in range(chunks - 2):  # with the first and the last: `chunks` events
        delta: Dict[str, Any] = {"content": "tok%d " % (i % 100)}
        chunk = dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}])
        if pad:
            # Bytes the stream carries but the final result does not keep (as a provider's
            # per-chunk annotations would): memory must not grow with them.
            chunk["x_pad"] = "." * pad
        parts.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    last = dict(base, choices=[{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}])
    parts.append(b"data: " + json.dumps(last).encode() + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def serve(port_queue: Any, chunks: int, pad: int) -> None:
    payload = make_stream(chunks)
    padded = make_stream(2000, pad=pad) if pad else payload
    # Sent in slices of a few events, as a real server flushes as it generates.
    slice_size = 4096

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            data = padded if body.get("model") == "padded" else payload
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            write = self.wfile.write
            for start in range(0, len(data), slice_size):
                piece = data[start : start + slice_size]
                write(b"%x\r\n%s\r\n" % (len(piece), piece))
            write(b"0\r\n\r\n")
            self.wfile.flush()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever()


MESSAGES = [{"role": "user", "content": "bench"}]


def raw_loop(port: int) -> Callable[[], int]:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    body = json.dumps({"model": "bench", "messages": MESSAGES, "stream": True})

    def run() -> int:
        conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        count = 0
        buffer = b""
        while True:
            piece = response.read1(65536)
            if not piece:
                break
            buffer += piece
            lines = buffer.split(b"\n")
            buffer = lines.pop()
            for line in lines:
                if line.startswith(b"data: "):
                    data = line[6:]
                    if data == b"[DONE]":
                        continue
                    json.loads(data)
                    count += 1
        return count

    return run


def project_loop(port: int) -> Callable[[], int]:
    from openai_params import OpenAI

    client = OpenAI(api_key="bench", base_url="http://127.0.0.1:%d/v1" % port, max_retries=0)

    def run() -> int:
        count = 0
        with client.chat.completions.stream(MESSAGES, model="bench") as stream:
            for _ in stream:
                count += 1
        final = stream.result()
        if not final.success:
            raise SystemExit("project stream failed: %r" % final.errors)
        return count

    return run


def openai_loop(port: int) -> Callable[[], int]:
    import openai

    client = openai.OpenAI(api_key="bench", base_url="http://127.0.0.1:%d/v1" % port, max_retries=0)

    def run() -> int:
        count = 0
        for _ in client.chat.completions.create(model="bench", messages=MESSAGES, stream=True):
            count += 1
        return count

    return run


def peak_memory(port: int) -> Dict[str, float]:
    """Peak traced memory while reading a padded stream: bytes read vs text kept."""
    from openai_params import OpenAI

    client = OpenAI(api_key="bench", base_url="http://127.0.0.1:%d/v1" % port, max_retries=0)
    tracemalloc.start()
    read = 0
    with client.chat.completions.stream(MESSAGES, model="padded") as stream:
        for chunk in stream:
            read += len(json.dumps(chunk.body))
    final = stream.result()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"bytes_read": float(read), "text_kept": float(len(final.text)), "peak": float(peak)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    queue: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(queue, args.chunks, 5000), daemon=True)
    server.start()
    port = queue.get(timeout=30)
    try:
        contenders: Dict[str, Callable[[], int]] = {"raw": raw_loop(port), "project": project_loop(port)}
        try:
            contenders["openai"] = openai_loop(port)
        except ImportError:
            print("official openai package not installed: that comparison is skipped")
        times: Dict[str, List[float]] = {name: [] for name in contenders}
        for name, run in contenders.items():  # warm-up, and check every contender sees every chunk
            got = run()
            if got != args.chunks:
                raise SystemExit("%s saw %d chunks, expected %d" % (name, got, args.chunks))
        for _ in range(args.rounds):
            for name, run in contenders.items():
                started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - started)
        medians = {name: statistics.median(values) for name, values in times.items()}
        print("%d chunks, %d rounds, medians:" % (args.chunks, args.rounds))
        for name, value in medians.items():
            print("  %-8s %8.1f ms  (%.0f chunks/s)" % (name, value * 1000, args.chunks / value))
        ratio = medians["project"] / medians["raw"]
        print(
            "project / raw    = %.2fx  (target <= 1.5x: %s)" % (ratio, "met" if ratio <= 1.5 else "NOT met")
        )
        if "openai" in medians:
            vs = medians["project"] / medians["openai"]
            print("project / openai = %.2fx  (target < 1.0x: %s)" % (vs, "met" if vs < 1.0 else "NOT met"))
        memory = peak_memory(port)
        print(
            "memory: read %.1f MB of chunk JSON, kept %.1f KB of text, peak traced %.1f MB"
            % (memory["bytes_read"] / 1e6, memory["text_kept"] / 1e3, memory["peak"] / 1e6)
        )
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
