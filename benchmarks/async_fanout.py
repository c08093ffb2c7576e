#!/usr/bin/env python3
"""asyncio fan-out: many calls at once on one event loop, three clients compared.

    python benchmarks/async_fanout.py [--calls 1000] [--in-flight 100]
                                      [--streams 100] [--chunks 2000] [--rounds 3]
                                      [--only calls|streams] [--no-memory]

Two workloads against a local asyncio HTTP/1.1 server:

* calls:   ``--calls`` non-streamed chat completions, ``--in-flight`` at a time;
* streams: ``--streams`` streams at once, each of ``--chunks`` chunks, every chunk
           read as a chunk object and the final text checked.

Three contenders, each in a fresh process per round (so that one's memory and
warm-up never count for another), each driven by the same user code (the calls:
one coroutine per call, ``asyncio.gather`` of them all, an ``asyncio.Semaphore``
holding ``--in-flight`` at a time; the streams: one coroutine per stream):

* project: ``openai_params.AsyncOpenAI`` (``create()``; ``stream()`` then
           ``async for`` and ``await result()``);
* openai:  the official package's ``AsyncOpenAI`` (benchmark-only), when installed;
* raw:     a raw asyncio baseline, the least an honest client does per call:
           ``asyncio.open_connection`` with idle keep-alive connections kept in a
           list, the JSON body encoded and the request head written by hand, the
           status line and header fields split, the body read by its
           ``Content-Length`` or by its chunks (SSE lines kept across chunk
           boundaries), ``json.loads`` of the body or of each event, the status
           checked. No validation, timeouts, retries or result objects: what the
           project does beyond this is what the 1.5x allows.

What is measured and why it is fair:

* **The server runs in its own process**, the same one for all three, started once.
  In the client's process its work would count in every column alike and compress
  the ratios toward 1; in its own process the client's own cost is what is timed
  (on a machine with a spare core the two run side by side). The server's answers
  are prepared bytes, so it stays cheap next to any client.
* **Wall time** of one run: from after the client's package is imported (its import
  cost is ``import_time.py``'s subject, and the raw loop imports nothing) to the
  end of the workload, the client made and closed inside it. The median of the
  rounds, the order of the contenders rotating each round.
* **Peak memory** in a separate run of each: the peak of ``tracemalloc`` (Python
  allocations: every object and buffer, not the interpreter's own RSS), counted
  from before the client's package is imported (its modules included), and, as a
  second figure, above what the process held after a first call (or stream) that
  loaded what the client loads lazily: the workload's own objects (responses,
  buffers, accumulated text).
* Both packages are byte-compiled, as installed (this checkout's is copied into a
  temporary folder and compiled there).

Targets: project/openai <= 0.5x and project/raw <= 1.5x in time; project/openai
<= 1/3 in peak memory (the first tracemalloc figure).
"""

import argparse
import asyncio
import compileall
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MESSAGES = [{"role": "user", "content": "Say hello"}]
KEY = "sk-bench-0000000000000000"

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


def _chunk(content: Optional[str], finish: Optional[str] = None, role: Optional[str] = None) -> bytes:
    delta: Dict[str, Any] = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    data = b"data: " + json.dumps(body).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def stream_batches(chunks: int, per_write: int = 50) -> List[bytes]:
    """The chunked body of a stream of ``chunks`` chunks ("w0 ", "w1 ", ...), in writes of
    ``per_write`` chunks (a server flushes as tokens come; many come per network write)."""
    events = [_chunk("", role="assistant")] + [_chunk("w%d " % i) for i in range(chunks - 2)]
    events.append(_chunk(None, finish="stop"))
    done = b"data: [DONE]\n\n"
    events.append(b"%x\r\n%s\r\n" % (len(done), done))
    events.append(b"0\r\n\r\n")
    return [b"".join(events[i : i + per_write]) for i in range(0, len(events), per_write)]


def expected_text(chunks: int) -> str:
    return "".join("w%d " % i for i in range(chunks - 2))


# -- the server -------------------------------------------------------------------------------------------
def serve(port_queue: Any, chunks: int) -> None:
    batches = stream_batches(chunks)
    whole = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-request-id: req_bench\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(COMPLETION), COMPLETION)
    )
    stream_head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nx-request-id: req_bench\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                if b'"stream":true' in body.replace(b" ", b""):
                    writer.write(stream_head)
                    for batch in batches:
                        writer.write(batch)
                        await writer.drain()
                else:
                    writer.write(whole)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_queue.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# -- the contenders (each runs in its own process: see measure()) ----------------------------------------
async def project_calls(url: str, calls: int, in_flight: int) -> None:
    from openai_params import AsyncOpenAI

    async with AsyncOpenAI(api_key=KEY, base_url=url, max_retries=0) as client:
        gate = asyncio.Semaphore(in_flight)

        async def one() -> None:
            async with gate:
                r = await client.chat.completions.create(MESSAGES, model="bench")
                assert r.success and r.choice.message.content == "Hello!", r.errors

        await asyncio.gather(*(one() for _ in range(calls)))


async def project_streams(url: str, streams: int, chunks: int) -> None:
    from openai_params import AsyncOpenAI

    want = expected_text(chunks)
    async with AsyncOpenAI(api_key=KEY, base_url=url, max_retries=0) as client:

        async def one() -> None:
            count = 0
            async with client.chat.completions.stream(MESSAGES, model="bench") as stream:
                async for _ in stream:
                    count += 1
            final = await stream.result()
            assert count == chunks and final.choice.message.content == want, (count, final.errors)

        await asyncio.gather(*(one() for _ in range(streams)))


async def openai_calls(url: str, calls: int, in_flight: int) -> None:
    import openai

    async with openai.AsyncOpenAI(api_key=KEY, base_url=url, max_retries=0, timeout=600) as client:
        gate = asyncio.Semaphore(in_flight)

        async def one() -> None:
            async with gate:
                r = await client.chat.completions.create(messages=MESSAGES, model="bench")  # type: ignore[arg-type]
                assert r.choices[0].message.content == "Hello!"

        await asyncio.gather(*(one() for _ in range(calls)))


async def openai_streams(url: str, streams: int, chunks: int) -> None:
    import openai

    want = expected_text(chunks)
    async with openai.AsyncOpenAI(api_key=KEY, base_url=url, max_retries=0, timeout=600) as client:

        async def one() -> None:
            parts = []
            count = 0
            stream = await client.chat.completions.create(messages=MESSAGES, model="bench", stream=True)  # type: ignore[arg-type]
            async for chunk in stream:
                count += 1
                if chunk.choices and chunk.choices[0].delta.content:
                    parts.append(chunk.choices[0].delta.content)
            assert count == chunks and "".join(parts) == want

        await asyncio.gather(*(one() for _ in range(streams)))


class RawConnection:
    """The least an asyncio client does: one keep-alive connection, requests written by hand."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: Optional[asyncio.StreamReader] = None
        self.writer: Optional[asyncio.StreamWriter] = None

    async def request(self, payload: Dict[str, Any]) -> Tuple[int, Dict[bytes, bytes], asyncio.StreamReader]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        body = json.dumps(payload).encode()
        self.writer.write(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (self.host.encode(), self.port, KEY.encode(), len(body), body)
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name:
                headers[name.strip().lower()] = value.strip()
        return status, headers, self.reader

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _host_port(url: str) -> Tuple[str, int]:
    host, port = url.split("//")[1].split("/")[0].split(":")
    return host, int(port)


async def raw_calls(url: str, calls: int, in_flight: int) -> None:
    host, port = _host_port(url)
    idle: List[RawConnection] = []

    async def create(messages: List[Dict[str, str]]) -> Any:
        conn = idle.pop() if idle else RawConnection(host, port)
        status, headers, reader = await conn.request({"model": "bench", "messages": messages})
        data = json.loads(await reader.readexactly(int(headers[b"content-length"])))
        if status != 200:
            raise RuntimeError("status %d" % status)
        idle.append(conn)
        return data

    gate = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with gate:
            data = await create(MESSAGES)
            assert data["choices"][0]["message"]["content"] == "Hello!"

    await asyncio.gather(*(one() for _ in range(calls)))
    for conn in idle:
        conn.close()


async def raw_streams(url: str, streams: int, chunks: int) -> None:
    host, port = _host_port(url)
    want = expected_text(chunks)

    async def one() -> None:
        conn = RawConnection(host, port)
        status, _, reader = await conn.request({"model": "bench", "messages": MESSAGES, "stream": True})
        assert status == 200
        parts = []
        count = 0
        partial = b""  # an SSE line not ended yet: it continues in the next chunk
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2], 16)
            if not size:
                await reader.readexactly(2)
                break
            lines = (partial + (await reader.readexactly(size + 2))[:-2]).split(b"\n")
            partial = lines.pop()
            for line in lines:
                if line.startswith(b"data: ") and line != b"data: [DONE]":
                    count += 1
                    content = json.loads(line[6:])["choices"][0]["delta"].get("content")
                    if content:
                        parts.append(content)
        assert count == chunks and "".join(parts) == want
        conn.close()

    await asyncio.gather(*(one() for _ in range(streams)))


WORKLOADS = {
    ("project", "calls"): project_calls,
    ("project", "streams"): project_streams,
    ("openai", "calls"): openai_calls,
    ("openai", "streams"): openai_streams,
    ("raw", "calls"): raw_calls,
    ("raw", "streams"): raw_streams,
}


def compiled_copy(folder: str) -> str:
    """This checkout's package copied into ``folder`` and byte-compiled there, as an installed
    package is (the official one is, in site-packages): a child must not spend its time
    compiling source, whatever PYTHONDONTWRITEBYTECODE says. The folder to import from."""
    shutil.copytree(
        os.path.join(ROOT, "openai_params"),
        os.path.join(folder, "openai_params"),
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    compileall.compile_dir(os.path.join(folder, "openai_params"), quiet=1)
    return folder


PACKAGES = {"project": "openai_params", "openai": "openai", "raw": None}


def child(contender: str, workload: str, url: str, size: int, width: int, root: str, memory: bool) -> None:
    """Run one workload once in this process; print its time, or its tracemalloc peaks."""
    sys.path.insert(0, root)
    if memory:
        tracemalloc.start()
    package = PACKAGES[contender]
    if package is not None:
        __import__(package)
    function = WORKLOADS[(contender, workload)]
    held = first_peak = 0
    if memory and hasattr(tracemalloc, "reset_peak"):  # Python 3.9+
        # A first call (or stream) loads what a client loads lazily; what is held after it,
        # modules and caches, is not the workload's own.
        run(function, workload, url, 1 if workload == "calls" else size, 1)
        held, first_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
    started = time.perf_counter()
    run(function, workload, url, size, width)
    elapsed = time.perf_counter() - started
    if memory:
        peak = tracemalloc.get_traced_memory()[1]
        print(json.dumps({"peak_bytes": max(peak, first_peak), "above_warm": peak - held}))
    else:
        print(json.dumps({"seconds": elapsed}))


def run(function: Any, workload: str, url: str, size: int, width: int) -> None:
    if workload == "calls":
        asyncio.run(function(url, size, width))
    else:
        asyncio.run(function(url, width, size))


def measure(
    contender: str, workload: str, url: str, size: int, width: int, root: str, memory: bool = False
) -> Dict[str, float]:
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        contender,
        workload,
        url,
        str(size),
        str(width),
        root,
    ]
    done = subprocess.run(
        command + (["--memory"] if memory else []),
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise RuntimeError("%s %s failed:\n%s" % (contender, workload, done.stderr[-3000:]))
    result: Dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        contender, workload, url, size, width, root = sys.argv[2:8]
        child(contender, workload, url, int(size), int(width), root, "--memory" in sys.argv)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=100)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["calls", "streams"], help="run one workload only")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    args = parser.parse_args()

    contenders = ["project", "raw"]
    try:
        import openai  # noqa: F401

        contenders.append("openai")
    except ImportError:
        print("(the official openai package is not installed: no comparison with it)")

    folder = tempfile.TemporaryDirectory()
    root = compiled_copy(folder.name)
    ports: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(ports, args.chunks), daemon=True)
    server.start()
    url = "http://127.0.0.1:%d/v1" % ports.get(timeout=30)
    try:
        for workload, size, width, label in (
            ("calls", args.calls, args.in_flight, "%d calls, %d in flight" % (args.calls, args.in_flight)),
            ("streams", args.chunks, args.streams, "%d streams of %d chunks" % (args.streams, args.chunks)),
        ):
            if args.only not in (None, workload):
                continue
            seen: Dict[str, List[Dict[str, float]]] = {name: [] for name in contenders}
            for round_number in range(args.rounds):
                order = (
                    contenders[round_number % len(contenders) :]
                    + contenders[: round_number % len(contenders)]
                )
                for name in order:
                    seen[name].append(measure(name, workload, url, size, width, root))
            time_of = {name: statistics.median(r["seconds"] for r in runs) for name, runs in seen.items()}
            print("%s (median of %d rounds):" % (label, args.rounds))
            for name in contenders:
                print(
                    "  %-8s %7.3f s  (runs: %s)"
                    % (name, time_of[name], ", ".join("%.3f" % r["seconds"] for r in seen[name]))
                )
            print("  project/raw    time %.2fx (target <= 1.5x)" % (time_of["project"] / time_of["raw"]))
            if "openai" in time_of:
                print(
                    "  project/openai time %.2fx (target <= 0.5x)" % (time_of["project"] / time_of["openai"])
                )
            sys.stdout.flush()
            if args.no_memory:
                continue
            peaks = {
                name: measure(name, workload, url, size, width, root, memory=True) for name in contenders
            }
            for key, title in (("peak_bytes", "all"), ("above_warm", "above a first call")):
                print(
                    "  tracemalloc peak (%s): %s"
                    % (title, ", ".join("%s %.1f MiB" % (n, peaks[n][key] / 1048576.0) for n in contenders))
                )
            if "openai" in peaks:
                print(
                    "  project/openai memory %.2fx (target <= 0.33x); above a first call %.2fx"
                    % (
                        peaks["project"]["peak_bytes"] / peaks["openai"]["peak_bytes"],
                        peaks["project"]["above_warm"] / peaks["openai"]["above_warm"],
                    )
                )
            sys.stdout.flush()
    finally:
        server.terminate()
        folder.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
