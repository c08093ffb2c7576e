"""``python -m openai_params batch``: a JSONL file of requests in, a JSONL file of results out.

    python -m openai_params batch requests.jsonl --output results.jsonl --concurrency 16
    python -m openai_params batch requests.jsonl --output results.jsonl --batch-api

The files are the Batch API's (docs/scale.md): one request a line in
(``custom_id``, ``method``, ``url``, ``body``), one result a line out
(``custom_id``, ``response`` with ``status_code`` and ``body``, or ``error``),
so the same files go to either engine: by default the paced fan-out of
:mod:`.fanout` on this machine; with ``--batch-api`` the provider's Batch API
(upload, create, poll, download, merge).

Every input line is checked before anything is sent; the bad ones are
reported with their line numbers (exit status 2). Each result is appended to
the output and flushed as it arrives, so a run stopped at any point (Ctrl-C,
a kill, a crash) and started again with the same arguments skips every
``custom_id`` already in the output: only the calls in flight at the stop are
sent again. A Batch API run remembers its batch in ``OUTPUT.batch`` and, run
again, collects that batch instead of starting another.
"""

import argparse
import json
import os
import time
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, NamedTuple, Optional, Set, Tuple

from .cli import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    _add_connection_options,
    _fail,
    _Output,
    _Parser,
    _prog,
)

if TYPE_CHECKING:
    from .client import OpenAI
    from .errors import OpenAIError
    from .results import OpenAIChatCompletionResult, OpenAIResult

__all__ = ["run_batch", "read_requests", "read_done", "output_line", "BatchLine"]

#: the one ``url`` this command sends (the Batch API's name for /chat/completions)
CHAT_URL = "/v1/chat/completions"

#: Results that are not written: nothing was done for them (or waiting would fix it), so a
#: run started again sends them again. By the error's type or code.
NOT_WRITTEN = frozenset(
    (
        "not_sent",  # the run stopped (insufficient_quota) before sending it
        "cancelled",  # in flight at Ctrl-C
        "insufficient_quota",  # refused: nothing was done, and it may work once the account is topped up
        "batch_expired",  # the Batch API's completion window passed before it ran
        "batch_cancelled",  # the batch was cancelled before it ran
    )
)

#: Problems listed at most, when the input has many bad lines.
MAX_PROBLEMS = 20

_DESCRIPTION = """\
Send every request of a JSONL file (the Batch API's input format: custom_id,
method, url, body) and write one result per line (its output format). Started
again with the same arguments, it skips the custom_ids already in the output."""


class BatchLine(NamedTuple):
    """One checked input line: its number, ``custom_id``, the messages and parameters to send,
    and the line's text as read (sent as it is to the Batch API)."""

    number: int
    custom_id: str
    messages: Any
    parameters: Dict[str, Any]
    text: str


# -- reading the input and the output (pure apart from reading the files) -------------------------


def read_requests(lines: Iterator[str], model: Optional[str] = None) -> Tuple[List[BatchLine], List[str]]:
    """The checked requests of a Batch API input file, and its problems as ``"line N: ..."``.

    A line must be a JSON object with a non-empty string ``custom_id`` used by no other
    line, ``method`` ``"POST"``, ``url`` ``"/v1/chat/completions"`` and a ``body`` object
    that makes a valid request (its messages and every known parameter are checked as
    ``create`` checks them; keys this package does not know are sent as they are).
    ``model`` is used for a body without one. Blank lines are skipped.
    """
    from .client import _chat_parameters
    from .messages import validate_messages
    from .parameters import NOT_SENT, OpenAIChatCompletionParameters

    known = {f.name for f in fields(OpenAIChatCompletionParameters)} - NOT_SENT
    found: List[BatchLine] = []
    problems: List[str] = []
    first_seen: Dict[str, int] = {}
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError as exc:
            problems.append("line %d: not JSON (%s)" % (number, exc))
            continue
        if not isinstance(line, dict):
            problems.append("line %d: not a JSON object" % number)
            continue
        custom_id = line.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            problems.append("line %d: no custom_id (a non-empty string is required)" % number)
            continue
        if custom_id in first_seen:
            problems.append(
                "line %d: duplicate custom_id %r (first on line %d)"
                % (number, custom_id, first_seen[custom_id])
            )
            continue
        first_seen[custom_id] = number
        if line.get("method", "POST") != "POST":
            problems.append("line %d: method must be POST (got %r)" % (number, line.get("method")))
            continue
        if line.get("url") != CHAT_URL:
            problems.append("line %d: url must be %s (got %r)" % (number, CHAT_URL, line.get("url")))
            continue
        body = line.get("body")
        if not isinstance(body, dict):
            problems.append("line %d: body must be a JSON object (the request)" % number)
            continue
        parameters = {key: value for key, value in body.items() if key in known}
        extra = {key: value for key, value in body.items() if key not in known and key != "messages"}
        if extra:
            parameters["extra_body"] = extra
        if model and "model" not in parameters:
            parameters["model"] = model
        try:
            messages = validate_messages(body.get("messages"))
            params = _chat_parameters(parameters, {})
            if params.stream:
                raise ValueError("stream must not be set in a batch (each answer is written whole)")
            params.body()
        except (TypeError, ValueError) as exc:
            problems.append("line %d (custom_id %r): %s" % (number, custom_id, exc))
            continue
        found.append(BatchLine(number, custom_id, messages, parameters, text.strip()))
    return found, problems


def read_done(path: str) -> Tuple[Set[str], List[str]]:
    """The ``custom_id`` s an output file already holds, and its problems. A last line without
    its newline (a run killed while writing it) is cut off the file, to be done again."""
    done: Set[str] = set()
    problems: List[str] = []
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return done, problems
    with handle:
        data = handle.read()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with open(path, "r+b") as cut:
            cut.truncate(end)
    for number, raw in enumerate(data[:end].splitlines(), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except ValueError:
            problems.append("%s line %d: not JSON" % (path, number))
            continue
        custom_id = record.get("custom_id") if isinstance(record, dict) else None
        if not isinstance(custom_id, str):
            problems.append("%s line %d: no custom_id" % (path, number))
            continue
        done.add(custom_id)
    return done, problems


def output_line(custom_id: str, result: "OpenAIResult") -> Dict[str, Any]:
    """The Batch API output record of one result: ``response`` when the server answered,
    ``error`` when it did not (no connection, a request that could not be built)."""
    record: Dict[str, Any] = {"id": "batch_req_" + os.urandom(12).hex(), "custom_id": custom_id}
    if result.status is not None and result.body is not None:
        record["response"] = {
            "status_code": result.status,
            "request_id": result.request_id,
            "body": result.body,
        }
        record["error"] = None
    else:
        error = result.errors[0] if result.errors else None
        record["response"] = None
        record["error"] = {
            "code": (error.code or error.type) if error is not None else "unknown",
            "message": error.message if error is not None else "the call did not complete",
        }
    return record


# -- the command --------------------------------------------------------------------------------


def build_batch_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=_prog() + " batch", description=_DESCRIPTION)
    parser.add_argument("input", metavar="INPUT.jsonl", help="the requests, one JSON object a line")
    parser.add_argument(
        "--output",
        "-o",
        required=True,
        metavar="PATH",
        help="where results are appended (created if missing)",
    )
    engine = parser.add_mutually_exclusive_group()
    engine.add_argument(
        "--concurrency", type=int, default=8, metavar="N", help="calls in flight at most (default: 8)"
    )
    engine.add_argument(
        "--batch-api",
        action="store_true",
        help="use the provider's Batch API: upload, create, poll, download",
    )
    parser.add_argument("--model", metavar="NAME", help="the model for lines whose body has none")
    poll = parser.add_argument_group("--batch-api polling")
    poll.add_argument(
        "--poll-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="first wait between polls (default: 5)",
    )
    poll.add_argument(
        "--poll-max",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="the longest wait between polls (default: 60)",
    )
    _add_connection_options(parser)
    return parser


def run_batch(args: argparse.Namespace, client: "OpenAI", out: _Output, err: _Output) -> int:
    """The ``batch`` command, its arguments parsed by :func:`build_batch_parser`: every input
    line is checked, then the requests not yet in the output are sent; returns the exit status."""
    if args.concurrency < 1:
        raise UsageError("--concurrency must be 1 or more (got %d)" % args.concurrency)
    if not 0 < args.poll_interval <= args.poll_max:
        raise UsageError("--poll-interval must be > 0 and at most --poll-max")
    model = args.model or os.environ.get("OPENAI_MODEL") or None
    try:
        with open(args.input, encoding="utf-8") as handle:
            requests, problems = read_requests(iter(handle), model)
        problems = ["%s %s" % (args.input, problem) for problem in problems]
    except OSError as exc:
        raise UsageError("cannot read %s: %s" % (args.input, exc.strerror or exc)) from None
    except UnicodeDecodeError as exc:
        raise UsageError("%s is not UTF-8 text (byte %d)" % (args.input, exc.start)) from None
    done, output_problems = read_done(args.output)
    problems += output_problems
    if problems:
        for problem in problems[:MAX_PROBLEMS]:
            err.write("error: %s\n" % problem)
        if len(problems) > MAX_PROBLEMS:
            err.write("error: ... and %d more\n" % (len(problems) - MAX_PROBLEMS))
        err.write("nothing was sent: fix the lines above and run the command again\n")
        return EXIT_USAGE
    todo = [line for line in requests if line.custom_id not in done]
    progress = _Progress(err, len(requests), len(requests) - len(todo))
    if args.batch_api:
        return _run_batch_api(client, args, requests, todo, progress, err)
    return _run_fanout(client, args, todo, progress, err)


def _run_fanout(
    client: "OpenAI", args: argparse.Namespace, todo: List[BatchLine], progress: "_Progress", err: _Output
) -> int:
    from ._interrupt import ctrl_c
    from .fanout import plan, run_on_threads

    requests = (dict(line.parameters, messages=line.messages) for line in todo)
    stopped: List[OpenAIError] = []  # why the run stopped early (insufficient_quota)
    told: List[bool] = []  # the "interrupted" line is out: a second Ctrl-C only ends the process

    def interrupted() -> str:
        return "interrupted: %d of %d results are in %s; run the same command again to send the rest\n" % (
            progress.done,
            progress.total,
            args.output,
        )

    def again() -> None:
        _exit_interrupted(err, "" if told else interrupted(), progress.live)

    # Ctrl-C sets ``stop`` instead of raising (see _interrupt.py): the fan-out then cancels
    # the calls in flight and ends, and the line below is printed. A second Ctrl-C ends
    # the process at once. Each result is a whole line, flushed: either way nothing is lost.
    with ctrl_c(again) as stop, open(args.output, "a", encoding="utf-8") as output:
        try:
            fan = plan(client.chat.completions, requests, concurrency=args.concurrency)
            results = run_on_threads(fan, stop)
            for index, result in results:
                if any(e.type in NOT_WRITTEN or e.code in NOT_WRITTEN for e in result.errors):
                    if result.errors[0].type != "not_sent":
                        stopped = stopped or result.errors
                    continue
                output.write(
                    json.dumps(output_line(todo[index].custom_id, result), ensure_ascii=False) + "\n"
                )
                output.flush()
                progress.add(result)
        except KeyboardInterrupt:  # SIGINT was not ours to handle (see ctrl_c): the same ending
            stop.set()
        progress.finish()
        if stop.requested:
            err.write(interrupted())
            err.flush()
            told.append(True)
            return EXIT_INTERRUPTED
    if stopped:
        return _fail(
            stopped, client.api_key, err, "the run stopped: run the same command again to send the rest"
        )
    return EXIT_OK if progress.errors == 0 else EXIT_FAILED


def _exit_interrupted(err: _Output, line: str, live: bool) -> None:
    """A second Ctrl-C: write ``line`` and end the process now. Written to the descriptor:
    the main thread may be inside the stream's own write, which a signal handler must not
    enter again. Nothing is flushed: every result is flushed whole as it is written."""
    try:
        fd = err.stream.fileno()
    except (AttributeError, ValueError, OSError):
        fd = 2
    text = ("\r\x1b[K" if live else "") + line
    try:
        os.write(fd, text.encode(err.encoding, "backslashreplace"))
    except (OSError, LookupError):
        pass
    os._exit(EXIT_INTERRUPTED)


# -- the Batch API ----------------------------------------------------------------------------


def _run_batch_api(
    client: "OpenAI",
    args: argparse.Namespace,
    requests: List[BatchLine],
    todo: List[BatchLine],
    progress: "_Progress",
    err: _Output,
) -> int:
    state_path = args.output + ".batch"
    state = _read_state(state_path)
    if state is None:
        if not todo:
            err.write("batch: all %d requests already have a result in %s\n" % (len(requests), args.output))
            return EXIT_OK
        input_path = args.output + ".input.jsonl"
        with open(input_path, "w", encoding="utf-8") as handle:
            for line in todo:
                handle.write(line.text + "\n")
        uploaded = client.files.create(input_path, purpose="batch")
        os.remove(input_path)
        if not uploaded.success or not isinstance(uploaded.body.get("id"), str):
            return _fail(uploaded.errors, client.api_key, err, "uploading the requests")
        created = client.batches.create(uploaded.body["id"], endpoint=CHAT_URL)
        if not created.success or not isinstance(created.body.get("id"), str):
            return _fail(created.errors, client.api_key, err, "creating the batch")
        state = {"batch_id": created.body["id"], "input_file_id": uploaded.body["id"]}
        with open(state_path, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        err.write("batch %s created for %d requests\n" % (state["batch_id"], len(todo)))
    batch_id = str(state["batch_id"])
    wait = args.poll_interval
    try:
        while True:
            polled = client.batches.retrieve(batch_id)
            if not polled.success:
                return _fail(polled.errors, client.api_key, err, "polling batch %s" % batch_id)
            batch = polled.body
            progress.batch_status(batch)
            if batch.get("status") in ("completed", "expired", "cancelled", "failed"):
                break
            time.sleep(wait)
            wait = min(wait * 1.5, args.poll_max)
    except KeyboardInterrupt:
        progress.finish(summary=False)
        err.write(
            "interrupted: batch %s keeps running at the provider; run the same command again to "
            "collect its results into %s\n" % (batch_id, args.output)
        )
        return EXIT_INTERRUPTED
    progress.finish(summary=False)
    status = batch["status"]
    if status == "failed":
        os.remove(state_path)
        reasons = [
            "line %s: %s" % (e.get("line"), e.get("message"))
            for e in ((batch.get("errors") or {}).get("data") or [])
            if isinstance(e, dict)
        ]
        err.write("error: batch %s failed: %s\n" % (batch_id, "; ".join(reasons) or "no reason given"))
        return EXIT_FAILED
    done, _ = read_done(args.output)
    merged = errors = 0
    for key in ("output_file_id", "error_file_id"):
        file_id = batch.get(key)
        if not file_id:
            continue
        part_path = args.output + "." + key
        downloaded = client.files.content(file_id, part_path)
        if not downloaded.success:
            return _fail(downloaded.errors, client.api_key, err, "downloading %s %s" % (key, file_id))
        with open(part_path, "rb") as source, open(args.output, "a", encoding="utf-8") as output:
            for raw in source:
                record = json.loads(raw.decode("utf-8"))
                error = record.get("error") or {}
                if record.get("custom_id") in done or error.get("code") in NOT_WRITTEN:
                    continue
                output.write(json.dumps(record, ensure_ascii=False) + "\n")
                output.flush()
                done.add(record.get("custom_id"))
                merged += 1
                response = record.get("response") or {}
                errors += bool(error) or not 200 <= (response.get("status_code") or 0) < 300
        os.remove(part_path)
    os.remove(state_path)
    left = sum(1 for line in requests if line.custom_id not in done)
    err.write(
        "batch %s %s: %d results merged into %s (%d errors)%s\n"
        % (
            batch_id,
            status,
            merged,
            args.output,
            errors,
            "; %d not done: run the same command again to send them" % left if left else "",
        )
    )
    return EXIT_OK if not left and not errors else EXIT_FAILED


def _read_state(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            state = json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError:  # not JSON: refused below, as any other content that is not ours
        state = None
    if not isinstance(state, dict) or not isinstance(state.get("batch_id"), str):
        raise UsageError("%s is not what this command writes: remove it to start a new batch" % path)
    return state


# -- progress -----------------------------------------------------------------------------------


class _Progress:
    """On a terminal, one line rewritten in place (done / total, rate, errors, tokens, time
    left); otherwise a one-line summary at the end."""

    def __init__(self, err: _Output, total: int, already: int) -> None:
        self.err = err
        self.live = err.isatty()
        self.total = total
        self.already = already
        self.done = already
        self.errors = 0
        self.tokens = 0
        self.started = time.monotonic()
        self._shown = 0.0

    def add(self, result: "OpenAIChatCompletionResult") -> None:
        self.done += 1
        if not result.success:
            self.errors += 1
        usage = result.usage or {}
        total_tokens = usage.get("total_tokens")
        if isinstance(total_tokens, int):
            self.tokens += total_tokens
        now = time.monotonic()
        if self.live and now - self._shown >= 0.2:
            self._shown = now
            self.err.write("\r" + self._line(now) + "\x1b[K")
            self.err.flush()

    def batch_status(self, batch: Dict[str, Any]) -> None:
        counts = batch.get("request_counts") or {}
        text = "batch %s: %s, %s of %s done, %s failed" % (
            batch.get("id"),
            batch.get("status"),
            counts.get("completed", "?"),
            counts.get("total", "?"),
            counts.get("failed", "?"),
        )
        if self.live:
            self.err.write("\r" + text + "\x1b[K")
            self.err.flush()

    def _line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        new = self.done - self.already
        rate = new / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        return "%d/%d done, %.1f/s, %d errors, %d tokens, %s left" % (
            self.done,
            self.total,
            rate,
            self.errors,
            self.tokens,
            _duration(left),
        )

    def finish(self, summary: bool = True) -> None:
        """End the live line; then the one-line summary (unless the caller writes its own)."""
        now = time.monotonic()
        if self.live:
            self.err.write("\r\x1b[K")
        if summary and (self.done > self.already or not self.live):
            self.err.write(
                "batch: %d/%d done (%d this run, %d errors), %d tokens, %s\n"
                % (
                    self.done,
                    self.total,
                    self.done - self.already,
                    self.errors,
                    self.tokens,
                    _duration(now - self.started),
                )
            )
        self.err.flush()


def _duration(seconds: float) -> str:
    if seconds < 60:
        return "%.1f s" % seconds
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return "%dh%02dm" % (hours, minutes) if hours else "%dm%02ds" % (minutes, seconds)
