"""``python -m openai_params batch``: input checks, output records, resume, Ctrl-C, the Batch API.

What a run sent is read from the fake server's log (``server.requests``): each request's
user message is ``q<n>`` for the line whose custom_id is ``r<n>``.
"""

import io
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from fake_batches import FakeBatchAPI
from fake_ratelimit import RateLimiter
from fakeserver import FakeServer, RecordedRequest, Reply
from openai_params import cli
from openai_params.batch_cli import read_done, read_requests
from sigint import popen_interruptible

ROOT = Path(__file__).resolve().parent.parent


def line(n: int, **body: Any) -> Dict[str, Any]:
    request = {"model": "m", "messages": [{"role": "user", "content": "q%d" % n}]}
    request.update(body)
    return {"custom_id": "r%d" % n, "method": "POST", "url": "/v1/chat/completions", "body": request}


def write_jsonl(path: Path, records: List[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def records(path: Path) -> List[Dict[str, Any]]:
    return [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines()]


def sent_ids(requests: List[RecordedRequest]) -> List[str]:
    """The custom_ids of the chat requests a server received, from their messages."""
    return [
        "r" + r.json["messages"][-1]["content"][1:]
        for r in requests
        if r.path.endswith("/chat/completions") and r.json
    ]


def run(capsys: Any, *argv: str) -> Tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def limited(fake_server: FakeServer) -> RateLimiter:
    limiter = RateLimiter(requests=25, window=0.2)
    fake_server.default = limiter.reply
    return limiter


# -- the input, checked before anything is sent ------------------------------------------------------


def test_every_bad_line_is_reported_with_its_number() -> None:
    lines = [
        json.dumps(line(0)),
        "not json",
        "[1, 2]",
        json.dumps({"method": "POST", "url": "/v1/chat/completions", "body": {}}),
        json.dumps(line(0)),
        json.dumps(dict(line(5), url="/v1/embeddings")),
        json.dumps(dict(line(6), method="GET")),
        json.dumps(line(7, temperature=7)),
        json.dumps(dict(line(8), body=[1])),
        json.dumps(line(9, messages=[])),
        json.dumps(line(10, stream=True)),
        "",
        json.dumps(line(12)),
    ]
    found, problems = read_requests(iter(lines))
    assert [r.custom_id for r in found] == ["r0", "r12"] and [r.number for r in found] == [1, 13]
    assert [p.split(":")[0].split(" (")[0] for p in problems] == ["line %d" % n for n in range(2, 12)]
    text = "\n".join(problems)
    for expected in (
        "line 2: not JSON",
        "line 3: not a JSON object",
        "line 4: no custom_id",
        "line 5: duplicate custom_id 'r0' (first on line 1)",
        "line 6: url must be /v1/chat/completions (got '/v1/embeddings')",
        "line 7: method must be POST",
        "line 8 (custom_id 'r7'): temperature must be between 0 and 2",
        "line 9: body must be a JSON object",
        "line 10 (custom_id 'r9'): messages must be a non-empty list",
        "line 11 (custom_id 'r10'): stream must not be set",
    ):
        assert expected in text


def test_known_fields_become_parameters_and_the_rest_is_sent_as_it_is() -> None:
    body = {"messages": [{"role": "user", "content": "x"}], "temperature": 0, "top_k": 40}
    record = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": body}
    (found,), problems = read_requests(iter([json.dumps(record)]), model="fallback")
    assert problems == []
    assert found.parameters == {"temperature": 0, "extra_body": {"top_k": 40}, "model": "fallback"}


def test_bad_lines_stop_the_run_before_anything_is_sent(
    capsys: Any, tmp_path: Path, fake_server: FakeServer
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [line(0), line(0), dict(line(2), url="/chat")])
    code, out, err = run(
        capsys,
        "batch",
        str(source),
        "--output",
        str(tmp_path / "out.jsonl"),
        "--base-url",
        fake_server.url + "/v1",
    )
    assert code == 2 and out == ""
    assert "in.jsonl line 2: duplicate custom_id 'r0' (first on line 1)" in err
    assert "in.jsonl line 3: url must be" in err and "nothing was sent" in err
    assert fake_server.requests == [] and not (tmp_path / "out.jsonl").exists()


def test_read_done_cuts_a_half_written_last_line(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b'{"custom_id": "a"}\n{"custom_id": "b"}\n{"custom_id": "c", "resp')
    done, problems = read_done(str(path))
    assert done == {"a", "b"} and problems == []
    assert path.read_bytes() == b'{"custom_id": "a"}\n{"custom_id": "b"}\n'
    assert read_done(str(tmp_path / "missing.jsonl")) == (set(), [])


# -- the paced fan-out -------------------------------------------------------------------------------


def test_every_request_gets_one_output_record_and_a_rerun_sends_nothing(
    capsys: Any, tmp_path: Path, fake_server: FakeServer, limited: RateLimiter
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [line(n) for n in range(60)])
    output = tmp_path / "out.jsonl"
    argv = ["batch", str(source), "--output", str(output), "--base-url", fake_server.url + "/v1"]
    code, out, err = run(capsys, *argv, "--concurrency", "6")
    assert code == 0, err
    got = records(output)
    assert sorted(r["custom_id"] for r in got) == sorted("r%d" % n for n in range(60))
    assert all(r["response"]["status_code"] == 200 and r["error"] is None for r in got)
    by_id = {r["custom_id"]: r for r in got}
    assert by_id["r7"]["response"]["body"]["choices"][0]["message"]["content"] == "echo: q7"
    assert "60/60 done" in err and limited.limited <= 6
    sent = len(fake_server.requests)
    code, _, err = run(capsys, *argv)
    assert code == 0 and len(fake_server.requests) == sent and len(records(output)) == 60


def test_failures_are_written_as_records_and_the_exit_status_says_so(
    capsys: Any, tmp_path: Path, fake_server: FakeServer
) -> None:
    def answer(request: RecordedRequest) -> Reply:
        if request.json["messages"][0]["content"] == "q1":
            return Reply(
                400, json={"error": {"message": "bad", "type": "invalid_request_error", "code": "nope"}}
            )
        return Reply(200, json={"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]})

    fake_server.default = answer
    source = write_jsonl(tmp_path / "in.jsonl", [line(0), line(1)])
    output = tmp_path / "out.jsonl"
    code, _, err = run(capsys, "batch", str(source), "-o", str(output), "--base-url", fake_server.url + "/v1")
    assert code == 1 and "1 errors" in err
    by_id = {r["custom_id"]: r for r in records(output)}
    assert by_id["r1"]["response"]["status_code"] == 400
    assert by_id["r1"]["response"]["body"]["error"]["code"] == "nope"


def test_a_request_that_got_no_answer_is_an_error_record(capsys: Any, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [line(0)])
    output = tmp_path / "out.jsonl"
    code, _, err = run(
        capsys,
        "batch",
        str(source),
        "-o",
        str(output),
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--max-retries",
        "0",
    )
    assert code == 1
    (record,) = records(output)
    assert record["response"] is None and record["error"]["code"] == "connection_error"


def test_insufficient_quota_stops_and_a_rerun_sends_only_the_rest(
    capsys: Any, tmp_path: Path, fake_server: FakeServer
) -> None:
    limiter = RateLimiter(quota=10)
    fake_server.default = limiter.reply
    source = write_jsonl(tmp_path / "in.jsonl", [line(n) for n in range(30)])
    output = tmp_path / "out.jsonl"
    argv = [
        "batch",
        str(source),
        "-o",
        str(output),
        "--base-url",
        fake_server.url + "/v1",
        "--concurrency",
        "2",
    ]
    code, _, err = run(capsys, *argv)
    assert (
        code == 1
        and "error: 429 insufficient_quota: You exceeded" in err
        and "run the same command again" in err
    )
    written = [r["custom_id"] for r in records(output)]
    assert len(written) == 10  # the refused ones are not written: they were never done
    first_run = len(fake_server.requests)
    assert first_run <= 12
    limiter.quota = None
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    assert sorted(r["custom_id"] for r in records(output)) == sorted("r%d" % n for n in range(30))
    assert not set(sent_ids(fake_server.requests[first_run:])) & set(written)


def test_progress_on_a_terminal(
    capsys: Any, tmp_path: Path, fake_server: FakeServer, monkeypatch: Any
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    fake_server.default = Reply(
        200, json={"choices": [{"index": 0, "message": {"content": "x"}}], "usage": {"total_tokens": 5}}
    )
    source = write_jsonl(tmp_path / "in.jsonl", [line(n) for n in range(5)])
    assert (
        cli.main(
            ["batch", str(source), "-o", str(tmp_path / "o.jsonl"), "--base-url", fake_server.url + "/v1"]
        )
        == 0
    )
    shown = terminal.getvalue()
    assert "\r" in shown and "5/5 done" in shown and "25 tokens" in shown


def _env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["killed", "ctrl-c"])
def test_a_run_stopped_part_way_and_started_again_sends_nothing_twice(
    tmp_path: Path, fake_server: FakeServer, how: int
) -> None:
    total, stop_at = 60, 20
    source = write_jsonl(tmp_path / "in.jsonl", [line(n) for n in range(total)])
    output = tmp_path / "out.jsonl"
    proc: Dict[str, subprocess.Popen] = {}
    stopped = threading.Event()
    once = threading.Lock()  # the server answers on several threads: one of them signals, once
    started = threading.Event()  # proc["run"] is set
    answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]}

    def reply(request: RecordedRequest) -> Reply:
        # Once the output holds stop_at lines, the process is stopped while this request is out,
        # held until the process has ended (the fixture's close releases it).
        with once:
            if stopped.is_set() or not output.exists() or output.read_bytes().count(b"\n") < stop_at:
                return Reply(200, json=answer, delay=0.01)
            stopped.set()
        assert started.wait(60)
        proc["run"].send_signal(how)
        return Reply(200, json=answer, hang=True)

    fake_server.default = reply
    argv = [
        sys.executable,
        "-m",
        "openai_params",
        "batch",
        str(source),
        "-o",
        str(output),
        "--concurrency",
        "4",
    ]
    env = _env(OPENAI_BASE_URL=fake_server.url + "/v1")
    proc["run"] = popen_interruptible(
        argv, env=env, cwd=str(ROOT), stderr=subprocess.PIPE, stdout=subprocess.PIPE
    )
    started.set()
    _, first_err = proc["run"].communicate(timeout=60)
    assert stopped.is_set()
    if how == signal.SIGINT:
        assert proc["run"].returncode == 130
        assert b"run the same command again" in first_err
    else:
        assert proc["run"].returncode == -signal.SIGKILL
    written_before, _ = read_done(str(output))
    first_run = len(fake_server.requests)
    assert stop_at <= len(written_before) < total

    done = subprocess.run(argv, env=env, cwd=str(ROOT), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    ids = [r["custom_id"] for r in records(output)]
    assert sorted(ids) == sorted("r%d" % n for n in range(total))  # each exactly once
    resent = sent_ids(fake_server.requests[first_run:])
    assert not set(resent) & written_before  # no answer already written was paid for again
    assert len(resent) == total - len(written_before)


def test_a_second_ctrl_c_during_the_orderly_stop_still_ends_with_the_line_and_130(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    # The first SIGINT while calls are held; the second the moment the process cancels one of
    # them (it shuts that socket), that is while it handles the first.
    total = 12
    source = write_jsonl(tmp_path / "in.jsonl", [line(n) for n in range(total)])
    output = tmp_path / "out.jsonl"
    proc: Dict[str, subprocess.Popen] = {}
    once = threading.Lock()
    started, gone = threading.Event(), threading.Event()
    answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]}

    def reply(request: RecordedRequest) -> Reply:
        if request.json["messages"][-1]["content"] in ("q0", "q1"):
            return Reply(200, json=answer)
        with once:  # the other calls are held until the process cancels them
            if started.wait(60) and "first" not in proc:
                proc["first"] = proc["run"]
                proc["run"].send_signal(signal.SIGINT)
        return Reply(200, json=answer, hang=True, gone=gone)

    def second() -> None:
        if gone.wait(60):
            proc["run"].send_signal(signal.SIGINT)

    fake_server.default = reply
    argv = [sys.executable, "-m", "openai_params", "batch", str(source), "-o", str(output)]
    argv += ["--concurrency", "4"]
    env = _env(OPENAI_BASE_URL=fake_server.url + "/v1")
    proc["run"] = popen_interruptible(
        argv, env=env, cwd=str(ROOT), stderr=subprocess.PIPE, stdout=subprocess.PIPE
    )
    started.set()
    sender = threading.Thread(target=second)
    sender.start()
    try:
        _, first_err = proc["run"].communicate(timeout=60)
    finally:
        gone.set()
        sender.join()
    # 130, or killed by the SIGINT once the line was out and the handler given back (what a
    # shell reports as 130 too). Never a hang, never without the line.
    assert proc["run"].returncode in (130, -signal.SIGINT), first_err
    assert b"of %d results are in" % total in first_err
    assert b"run the same command again" in first_err
    written_before, _ = read_done(str(output))
    first_run = len(fake_server.requests)

    fake_server.default = Reply(200, json=answer)
    done = subprocess.run(argv, env=env, cwd=str(ROOT), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert sorted(r["custom_id"] for r in records(output)) == sorted("r%d" % n for n in range(total))
    assert not set(sent_ids(fake_server.requests[first_run:])) & written_before


def test_a_forced_end_writes_the_line_to_the_descriptor_and_exits_130(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from openai_params.batch_cli import _exit_interrupted\n"
        "from openai_params.cli import _Output\n"
        "sys.stderr.write('buffered, never flushed')\n"
        "_exit_interrupted(_Output(sys.stderr), 'interrupted: 3 of 9\\n', False)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=_env(), cwd=str(tmp_path), capture_output=True)
    assert done.returncode == 130
    assert done.stderr.endswith(b"interrupted: 3 of 9\n")


# -- the Batch API -----------------------------------------------------------------------------------


@pytest.fixture
def batch_api(fake_server: FakeServer) -> FakeBatchAPI:
    api = FakeBatchAPI()
    fake_server.default = api.reply
    return api


def batch_argv(source: Path, output: Path, server: FakeServer) -> List[str]:
    return [
        "batch",
        str(source),
        "-o",
        str(output),
        "--batch-api",
        "--poll-interval",
        "0.001",
        "--poll-max",
        "0.002",
        "--base-url",
        server.url + "/v1",
    ]


def test_batch_api_uploads_creates_polls_and_merges(
    capsys: Any, tmp_path: Path, fake_server: FakeServer, batch_api: FakeBatchAPI
) -> None:
    source = write_jsonl(
        tmp_path / "in.jsonl", [line(0), line(1, messages=[{"role": "user", "content": "[fail]"}]), line(2)]
    )
    output = tmp_path / "out.jsonl"
    code, _, err = run(capsys, *batch_argv(source, output, fake_server))
    assert code == 1, err  # one request failed
    got = {r["custom_id"]: r for r in records(output)}
    assert set(got) == {"r0", "r1", "r2"}
    assert got["r0"]["response"]["body"]["choices"][0]["message"]["content"] == "echo: q0"
    assert got["r1"]["error"]["code"] == "server_error"
    (upload,) = [r for r in fake_server.requests if r.path == "/v1/files"]
    assert upload.body.count(b'"custom_id"') == 3
    (create,) = [r for r in fake_server.requests if r.path == "/v1/batches"]
    assert create.json["endpoint"] == "/v1/chat/completions" and create.json["completion_window"] == "24h"
    assert os.listdir(tmp_path) == ["in.jsonl", "out.jsonl"]  # the state and the downloads are gone
    assert "completed: 3 results merged" in err


def test_an_expired_batch_keeps_what_was_done_and_a_rerun_sends_the_rest(
    capsys: Any, tmp_path: Path, fake_server: FakeServer, batch_api: FakeBatchAPI
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [line(n) for n in range(4)])
    output = tmp_path / "out.jsonl"
    batch_api.outcomes.append("expired")
    code, _, err = run(capsys, *batch_argv(source, output, fake_server))
    assert code == 1 and "2 not done" in err
    assert sorted(r["custom_id"] for r in records(output)) == ["r0", "r1"]
    code, _, err = run(capsys, *batch_argv(source, output, fake_server))
    assert code == 0, err
    assert sorted(r["custom_id"] for r in records(output)) == ["r0", "r1", "r2", "r3"]
    second_upload = [r for r in fake_server.requests if r.path == "/v1/files"][1]
    assert b'"r2"' in second_upload.body and b'"r0"' not in second_upload.body


def test_a_rerun_collects_the_batch_it_started_instead_of_paying_again(
    capsys: Any, tmp_path: Path, fake_server: FakeServer, batch_api: FakeBatchAPI
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [line(0), line(1)])
    output = tmp_path / "out.jsonl"
    file_id = batch_api.add_file(source.read_bytes(), "batch")["id"]
    from openai_params import OpenAI

    with OpenAI(api_key="k", base_url=fake_server.url + "/v1") as client:
        batch_id = client.batches.create(file_id).body["id"]
    (tmp_path / "out.jsonl.batch").write_text(json.dumps({"batch_id": batch_id, "input_file_id": file_id}))
    code, _, err = run(capsys, *batch_argv(source, output, fake_server))
    assert code == 0, err
    assert [r.path for r in fake_server.requests if r.method == "POST"] == ["/v1/batches"]  # ours, above
    assert sorted(r["custom_id"] for r in records(output)) == ["r0", "r1"]


def test_ctrl_c_while_polling_leaves_the_batch_running_and_a_rerun_collects_it(
    tmp_path: Path, fake_server: FakeServer, batch_api: FakeBatchAPI
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [line(0), line(1)])
    output = tmp_path / "out.jsonl"
    proc: Dict[str, subprocess.Popen] = {}

    released, started, polled = threading.Event(), threading.Event(), threading.Event()

    def reply(request: RecordedRequest) -> Reply:
        answer = batch_api.reply(request)
        if request.method == "GET" and "/batches/" in request.path and not polled.is_set():
            polled.set()
            assert started.wait(60)
            # At the first poll, which is held until the process has ended: it is interrupted
            # while polling, and cannot have seen the batch finish.
            proc.pop("run").send_signal(signal.SIGINT)
            answer.hang, answer.release = True, released
        return answer

    fake_server.default = reply
    argv = [sys.executable, "-m", "openai_params"] + batch_argv(source, output, fake_server)
    argv[argv.index("--poll-interval") + 1] = "30"  # a run the signal missed would wait here
    argv[argv.index("--poll-max") + 1] = "30"
    first = popen_interruptible(
        argv, env=_env(), cwd=str(ROOT), stderr=subprocess.PIPE, stdout=subprocess.PIPE
    )
    proc["run"] = first
    started.set()
    try:
        _, first_err = first.communicate(timeout=60)
    finally:
        released.set()
    assert first.returncode == 130, first_err
    assert b"keeps running at the provider; run the same command again" in first_err
    assert (tmp_path / "out.jsonl.batch").exists()
    argv[argv.index("--poll-interval") + 1] = "0.001"
    argv[argv.index("--poll-max") + 1] = "0.002"
    done = subprocess.run(argv, env=_env(), cwd=str(ROOT), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert sorted(r["custom_id"] for r in records(output)) == ["r0", "r1"]
    assert len(batch_api.batches) == 1  # collected, not created again
    assert [r.path for r in fake_server.requests if r.method == "POST"] == ["/v1/files", "/v1/batches"]


def test_a_failed_batch_says_why(
    capsys: Any, tmp_path: Path, fake_server: FakeServer, batch_api: FakeBatchAPI
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [line(0)])
    batch_api.outcomes.append("failed")
    code, _, err = run(capsys, *batch_argv(source, tmp_path / "out.jsonl", fake_server))
    assert code == 1 and "failed: line 1: line 1 is not valid" in err
    assert not (tmp_path / "out.jsonl.batch").exists()


# -- the real server -----------------------------------------------------------------------------------


@pytest.mark.integration
def test_fifty_requests_through_the_cli_against_the_real_server(real_server: Any, tmp_path: Path) -> None:
    questions = ["What is %d plus %d?" % (n, n) for n in range(50)]
    source = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {
                "custom_id": "q%d" % n,
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": real_server.model,
                    "messages": [{"role": "user", "content": text}],
                    "max_completion_tokens": 8,
                    "temperature": 0,
                },
            }
            for n, text in enumerate(questions)
        ],
    )
    output = tmp_path / "out.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "openai_params",
            "batch",
            str(source),
            "-o",
            str(output),
            "--concurrency",
            "4",
        ],
        env=_env(OPENAI_BASE_URL=real_server.base_url),
        cwd=str(ROOT),
        capture_output=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    got = records(output)
    assert sorted(r["custom_id"] for r in got) == sorted("q%d" % n for n in range(50))
    for record in got:
        assert record["response"]["status_code"] == 200
        assert record["response"]["body"]["choices"][0]["message"]["content"] is not None
    assert b"50/50 done" in done.stderr
