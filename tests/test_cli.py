"""The command line: options, exit codes, error lines, the printed request, streaming.

Most tests call ``cli.main(argv)`` in process, against the shared fake server
(``fake_server``, tests/fakeserver.py) where an answer is needed. The promise of
docs/cli.md (one line on standard error, never a traceback; exit 1 for a failed
call, 2 for a usage error, 130 for Ctrl-C) is also checked on real processes,
``python -m openai_params``. The tests marked ``integration`` run against the
real llama.cpp server, through a pipe and through a pseudo-terminal.
"""

import io
import json
import os
import select
import shlex
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest

from fakeserver import FakeServer, Reply
from openai_params import cli
from openai_params.errors import OpenAIError
from openai_params.request import build_request
from sigint import popen_interruptible
from streamdata import DONE, SSE_HEADERS, chunk, completion, event

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-test-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
OFFLINE = "http://127.0.0.1:9/v1"  # never contacted: only --dry-run / --curl / usage errors use it


def run(capsys: Any, *argv: str) -> Tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_no_key(*texts: str) -> None:
    for text in texts:
        assert KEY not in text
        assert KEY[8:] not in text  # not even the secret part on its own


def request_of(dry_run_output: str) -> Tuple[str, Dict[str, str], Any]:
    """Split ``--dry-run`` output into the request line, the headers and the JSON body."""
    head, _, body = dry_run_output.partition("\n\n")
    lines = head.splitlines()
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return lines[0], headers, json.loads(body) if body.strip() else None


def api(server: FakeServer) -> str:
    """The base URL of the fake server's API."""
    return server.url + "/v1"


def choices(*texts: str) -> Dict[str, Any]:
    """A completion with one choice per text."""
    return completion(
        texts[0],
        choices=[
            {
                "index": i,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {"role": "assistant", "content": text},
            }
            for i, text in enumerate(texts)
        ],
    )


def events(chunks: Sequence[Any], *, done: bool = True) -> Dict[str, Any]:
    """``add()`` options for an SSE answer made of ``chunks`` (a ``threading.Event`` holds it)."""
    pieces = [item if isinstance(item, threading.Event) else event(item) for item in chunks]
    return {"headers": SSE_HEADERS, "pieces": pieces + ([DONE] if done else [])}


RATE_LIMITED = {
    "error": {
        "message": "Rate limit reached for requests",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
}


def rate_limited(server: FakeServer) -> None:
    server.add(429, json=RATE_LIMITED, headers={"x-request-id": "req_abc123"})


# -- usage errors: exit 2, one line, no traceback -------------------------------------------------


def test_help_returns_0(capsys: Any) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--max-completion-tokens" in out and "models" in out and "OPENAI_API_KEY" in out
    assert "--api-key " not in out  # no option takes the key itself
    assert cli.main(["models", "--help"]) == 0
    assert "--base-url" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["--temperature", "warm", "Hi"],
        ["--stream", "--no-stream", "Hi"],
        ["--dry-run", "--curl", "Hi"],
        ["--response-format", "yaml", "Hi"],
        ["-n", "two", "Hi"],
        ["--api-key", KEY, "Hi"],
        ["--api-key=" + KEY, "Hi"],
        ["--api", KEY, "Hi"],
        ["Hi", KEY],
        ["models", "Hi"],
    ],
)
def test_argparse_errors_exit_2(capsys: Any, argv: List[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert_no_key(out, err)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--param", "temprature=0.5", "Hi"], "did you mean 'temperature'"),
        (["--param", "max_completion_token=5", "Hi"], "did you mean 'max_completion_tokens'"),
        (["--temperature", "3", "Hi"], "temperature"),
        (["-n", "0", "Hi"], "n must"),
        (["--max-completion-tokens", "-1", "Hi"], "max_completion_tokens"),
        (["--param", 'top_p="high"', "Hi"], "top_p"),
        (["--param", "temperature", "Hi"], "--param needs KEY=VALUE"),
        (["--param", "=1", "Hi"], "--param needs KEY=VALUE"),
        (["--stop", "a", "--stop", "b", "--stop", "c", "--stop", "d", "--stop", "e", "Hi"], "stop"),
        (["--timeout", "0", "Hi"], "timeout"),
        (["--base-url", "ftp://example.invalid/v1", "Hi"], "base_url"),
        ([], "no prompt"),
        (["  "], "the prompt is empty"),
        (["--base-url", OFFLINE, "models"], "put the models command first"),
    ],
)
def test_bad_values_are_one_line_usage_errors(capsys: Any, argv: List[str], expected: str) -> None:
    code, out, err = run(capsys, "--dry-run", *argv)
    assert code == 2, err
    assert out == ""
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert expected in err
    assert "Traceback" not in err


def test_did_you_mean_also_for_dashed_and_camel_names(capsys: Any) -> None:
    code, _, err = run(capsys, "--dry-run", "--base-url", OFFLINE, "--param", "max-retires=3", "Hi")
    assert code == 2 and "did you mean" in err and "max_retries" in err
    code, out, _ = run(capsys, "--dry-run", "--base-url", OFFLINE, "--param", "maxRetries=3", "Hi")
    assert code == 0, out


def test_unknown_enum_value_is_a_warning_line_not_an_error(capsys: Any) -> None:
    code, out, err = run(capsys, "--dry-run", "--base-url", OFFLINE, "--param", "reasoning_effort=hihg", "Hi")
    assert code == 0
    assert err.startswith("warning: ") and err.count("\n") == 1 and "Traceback" not in err
    assert request_of(out)[2]["reasoning_effort"] == "hihg"


@pytest.mark.parametrize(
    "raw, value",
    [
        ("0.5", 0.5),
        ("3", 3),
        ("true", True),
        ("null", None),
        ('"7"', "7"),
        ("hello", "hello"),
        ("", ""),
        ('{"type": "json_object"}', {"type": "json_object"}),
        ("[1, 2]", [1, 2]),
        ("{not json", "{not json"),
    ],
)
def test_param_values_are_json_when_they_parse(raw: str, value: Any) -> None:
    assert cli.parse_value(raw) == value


# -- --dry-run and --curl: the exact request, the key redacted ------------------------------------


def test_dry_run_prints_the_request_with_every_option(capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    code, out, err = run(
        capsys,
        "--dry-run",
        "--base-url",
        OFFLINE,
        "--system",
        "Be brief",
        "--model",
        "m1",
        "--temperature",
        "0.2",
        "--max-completion-tokens",
        "16",
        "-n",
        "2",
        "--stop",
        "END",
        "--stop",
        "\n\n",
        "--seed",
        "7",
        "--response-format",
        "json",
        "--param",
        "top_p=0.5",
        "--param",
        'logit_bias={"50256": -100}',
        "--param",
        "user=u1",
        "Why is 42 special?",
    )
    assert code == 0 and err == ""
    assert_no_key(out, err)
    line, headers, body = request_of(out)
    assert line == "POST " + OFFLINE + "/chat/completions"
    assert headers["Authorization"].startswith("Bearer sk-") and "..." in headers["Authorization"]
    assert headers["Content-Type"] == "application/json"
    assert body == {
        "messages": [
            {"role": "system", "content": "Be brief"},
            {"role": "user", "content": "Why is 42 special?"},
        ],
        "model": "m1",
        "temperature": 0.2,
        "max_completion_tokens": 16,
        "n": 2,
        "stop": ["END", "\n\n"],
        "seed": 7,
        "response_format": {"type": "json_object"},
        "top_p": 0.5,
        "logit_bias": {"50256": -100},
        "user": "u1",
    }


def test_dry_run_defaults(capsys: Any) -> None:
    code, out, _ = run(capsys, "--dry-run", "--base-url", OFFLINE, "Hi")
    assert code == 0
    _, headers, body = request_of(out)
    # Without a key no Authorization header at all; stdout is not a terminal: not streamed.
    assert "Authorization" not in headers
    assert body == {"messages": [{"role": "user", "content": "Hi"}], "model": "gpt-4o-mini"}


def test_model_from_environment_and_named_options_win(capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("OPENAI_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_BASE_URL", OFFLINE)
    assert request_of(run(capsys, "--dry-run", "Hi")[1])[2]["model"] == "env-model"
    assert request_of(run(capsys, "--dry-run", "--param", "model=p", "Hi")[1])[2]["model"] == "p"
    assert (
        request_of(run(capsys, "--dry-run", "--model", "flag", "--param", "model=p", "Hi")[1])[2]["model"]
        == "flag"
    )
    body = request_of(run(capsys, "--dry-run", "--param", "temperature=1", "--temperature", "0", "Hi")[1])[2]
    assert body["temperature"] == 0


def test_stream_flag_and_param_shape_the_body(capsys: Any) -> None:
    body = request_of(run(capsys, "--dry-run", "--base-url", OFFLINE, "--stream", "Hi")[1])[2]
    assert body["stream"] is True
    body = request_of(run(capsys, "--dry-run", "--base-url", OFFLINE, "--param", "stream=true", "Hi")[1])[2]
    assert body["stream"] is True
    body = request_of(
        run(capsys, "--dry-run", "--base-url", OFFLINE, "--param", "stream=true", "--no-stream", "Hi")[1]
    )[2]
    assert "stream" not in body


def test_curl_prints_an_equivalent_command_without_the_key(capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    code, out, err = run(capsys, "--curl", "--base-url", OFFLINE, "--model", "m", "It's 42")
    assert code == 0 and err == ""
    assert_no_key(out, err)
    assert out.startswith("curl ")
    assert "$OPENAI_API_KEY" in out and OFFLINE + "/chat/completions" in out
    assert "--data-raw" in out
    words = shlex.split(out.replace("\\\n", " "))
    body = json.loads(words[words.index("--data-raw") + 1])
    assert body == {"messages": [{"role": "user", "content": "It's 42"}], "model": "m"}


QUERY_SECRET = "q-secret-0123456789abcdefghij"
PASSWORD = "pw-secret-0123456789abcdefghij"


@pytest.mark.parametrize("show", ["--dry-run", "--curl"])
def test_credentials_in_the_base_url_are_redacted(capsys: Any, monkeypatch: Any, show: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    base_url = OFFLINE + "?api-version=2024-06-01&key=" + QUERY_SECRET
    code, out, err = run(capsys, show, "--base-url", base_url, "Hi")
    assert code == 0, err
    assert QUERY_SECRET not in out + err and QUERY_SECRET[-8:] not in out + err
    assert_no_key(out, err)
    assert "/v1/chat/completions?api-version=2024-06-01&key=" in out  # the rest kept as it is
    # A password before the host: the client refuses such a URL, without showing the password.
    code, out, err = run(capsys, show, "--base-url", "http://alice:%s@127.0.0.1:9/v1" % PASSWORD, "Hi")
    assert code == 2 and out == "" and "base_url" in err, err
    assert PASSWORD not in out + err and PASSWORD[-8:] not in out + err


def test_describe_and_as_curl_hide_every_credential() -> None:
    request = build_request(
        "POST",
        "http://alice:%s@127.0.0.1:1/v1/chat/completions?key=%s" % (PASSWORD, QUERY_SECRET),
        {"Authorization": "Bearer " + KEY, "api-key": KEY, "X-Trace": "t1"},
        {"model": "m", "messages": [{"role": "user", "content": "h\u00e9llo"}]},
    )
    text = cli.describe(request)
    assert text.startswith("POST http://alice:")
    assert "X-Trace: t1" in text and "h\u00e9llo" in text
    curl = cli.as_curl(request)
    assert '-H "Authorization: Bearer $OPENAI_API_KEY"' in curl and "h\u00e9llo" in curl
    for shown in (
        text,
        curl,
        cli.describe(request, ensure_ascii=True),
        cli.as_curl(request, ensure_ascii=True),
    ):
        assert_no_key(shown)
        for secret in (PASSWORD, QUERY_SECRET):
            assert secret not in shown and secret[-8:] not in shown
    assert "h\\u00e9llo" in cli.describe(request, ensure_ascii=True)
    assert "h\\u00e9llo" in cli.as_curl(request, ensure_ascii=True)


def test_models_dry_run_and_curl(capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    code, out, err = run(capsys, "models", "--dry-run", "--base-url", OFFLINE)
    assert code == 0
    assert out.splitlines()[0] == "GET " + OFFLINE + "/models"
    code, curl_out, _ = run(capsys, "models", "--curl", "--base-url", OFFLINE)
    words = shlex.split(curl_out.replace("\\\n", " "))
    assert code == 0 and words[words.index("-X") + 1] == "GET"
    assert_no_key(out, err, curl_out)


def test_the_word_models_as_a_prompt(capsys: Any) -> None:
    code, out, _ = run(capsys, "--dry-run", "--base-url", OFFLINE, "--", "models")
    assert code == 0
    assert request_of(out)[2]["messages"] == [{"role": "user", "content": "models"}]


def test_api_key_file(capsys: Any, monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-0000000000000000000000")
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    code, out, err = run(capsys, "--dry-run", "--base-url", OFFLINE, "--api-key-file", str(key_file), "Hi")
    assert code == 0
    assert_no_key(out, err)
    authorization = request_of(out)[1]["Authorization"]
    assert authorization == "Bearer sk-..." + KEY[-4:]  # the file's key, not the environment's


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "cannot read --api-key-file"),
        ("", "must contain the key alone"),
        ("   \n", "must contain the key alone"),
        (KEY + "\n" + KEY + "\n", "must contain the key alone"),
    ],
)
def test_bad_api_key_file(capsys: Any, tmp_path: Path, content: Optional[str], expected: str) -> None:
    key_file = tmp_path / "key"
    if content is not None:
        key_file.write_text(content)
    code, out, err = run(capsys, "--dry-run", "--base-url", OFFLINE, "--api-key-file", str(key_file), "Hi")
    assert code == 2 and out == ""
    assert expected in err and err.count("\n") == 1
    assert_no_key(out, err)


def test_prompt_from_standard_input(capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("Line one\nline two\n"))
    code, out, _ = run(capsys, "--dry-run", "--base-url", OFFLINE, "-")
    assert code == 0
    assert request_of(out)[2]["messages"] == [{"role": "user", "content": "Line one\nline two"}]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    code, out, err = run(capsys, "--dry-run", "--base-url", OFFLINE, "-")
    assert code == 2 and "standard input is empty" in err


# -- talking to a server: output, error lines and exit 1 ------------------------------------------


def test_error_line_format() -> None:
    error = OpenAIError(
        "Rate limit\nreached", status=429, type="requests", code="rate_limit_exceeded", request_id="req_1"
    )
    assert cli.error_line(error) == "error: 429 rate_limit_exceeded: Rate limit reached (request id req_1)"
    assert (
        cli.error_line(OpenAIError("refused", type="connection_error")) == "error: connection_error: refused"
    )
    assert cli.error_line(OpenAIError("", status=500)) == "error: 500: (no message)"
    # A stream that broke after 200 OK: the status is not an error status, so it is left out.
    assert cli.error_line(OpenAIError("cut", status=200, type="stream_error")) == "error: stream_error: cut"


@pytest.mark.parametrize("mode", ["--no-stream", "--stream"])
def test_server_error_is_one_line_and_exit_1(
    capsys: Any, monkeypatch: Any, fake_server: FakeServer, mode: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    rate_limited(fake_server)
    code, out, err = run(capsys, mode, "--base-url", api(fake_server), "--max-retries", "0", "Hi")
    assert code == 1 and out == ""
    assert err == "error: 429 rate_limit_exceeded: Rate limit reached for requests (request id req_abc123)\n"
    assert "Traceback" not in err
    assert_no_key(out, err)
    # The key was sent to the server it belongs to, just never printed.
    assert [r.headers["authorization"] for r in fake_server.requests] == ["Bearer " + KEY]


def test_a_key_echoed_by_the_server_is_not_printed(
    capsys: Any, monkeypatch: Any, fake_server: FakeServer
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    fake_server.add(
        401,
        json={
            "error": {
                "message": "Incorrect API key provided: " + KEY,
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        },
    )
    code, out, err = run(capsys, "--no-stream", "--base-url", api(fake_server), "--max-retries", "0", "Hi")
    assert code == 1 and err.startswith("error: 401 invalid_api_key: Incorrect API key provided: ")
    assert_no_key(out, err)


def test_connection_refused_is_exit_1(capsys: Any) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out, err = run(
        capsys, "--no-stream", "--base-url", "http://127.0.0.1:%d/v1" % port, "--max-retries", "0", "Hi"
    )
    assert code == 1 and out == ""
    assert err.startswith("error: connection_error: ") and err.count("\n") == 1


def test_answer_and_request_received(capsys: Any, fake_server: FakeServer) -> None:
    fake_server.add(200, json=completion("Forty-two."))
    code, out, err = run(
        capsys, "--no-stream", "--base-url", api(fake_server), "--model", "m", "--temperature", "0", "Why 42?"
    )
    assert (code, out, err) == (0, "Forty-two.\n", "")
    sent = fake_server.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.json == {"messages": [{"role": "user", "content": "Why 42?"}], "model": "m", "temperature": 0}
    assert "authorization" not in sent.headers


def test_several_choices_are_printed_apart(capsys: Any, fake_server: FakeServer) -> None:
    fake_server.add(200, json=choices("One.", "Two\nlines.\n", "Three."))
    code, out, _ = run(capsys, "--no-stream", "--base-url", api(fake_server), "-n", "3", "Count")
    assert code == 0
    assert out == ("--- choice 0 ---\nOne.\n--- choice 1 ---\nTwo\nlines.\n--- choice 2 ---\nThree.\n")
    assert fake_server.requests[0].json["n"] == 3


def test_json_prints_the_raw_response(capsys: Any, fake_server: FakeServer) -> None:
    fake_server.add(200, json=completion("Hi!"))
    code, out, _ = run(capsys, "--no-stream", "--json", "--base-url", api(fake_server), "Hi")
    assert code == 0
    assert json.loads(out) == completion("Hi!")


STREAMED = [chunk("", role="assistant"), chunk("Forty"), chunk("-two"), chunk("."), chunk(finish="stop")]


def test_stream_prints_text_as_it_arrives(capsys: Any, fake_server: FakeServer) -> None:
    fake_server.add(200, **events(STREAMED))
    code, out, err = run(capsys, "--stream", "--base-url", api(fake_server), "Why 42?")
    assert (code, out, err) == (0, "Forty-two.\n", "")
    assert fake_server.requests[0].json["stream"] is True


def test_stream_json_prints_one_chunk_per_line(capsys: Any, fake_server: FakeServer) -> None:
    fake_server.add(200, **events(STREAMED))
    code, out, _ = run(capsys, "--stream", "--json", "--base-url", api(fake_server), "Hi")
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == STREAMED


def test_stream_with_several_choices_prints_them_apart_at_the_end(
    capsys: Any, fake_server: FakeServer
) -> None:
    fake_server.add(
        200,
        **events(
            [chunk("A"), chunk("B", index=1), chunk("a", finish="stop"), chunk("b", index=1, finish="stop")]
        ),
    )
    code, out, _ = run(capsys, "--stream", "-n", "2", "--base-url", api(fake_server), "Hi")
    assert code == 0
    assert out == "--- choice 0 ---\nAa\n--- choice 1 ---\nBb\n"


def test_stream_cut_mid_way_keeps_the_text_and_exits_1(capsys: Any, fake_server: FakeServer) -> None:
    fake_server.add(200, **events([chunk("Half an ans")], done=False))
    code, out, err = run(capsys, "--stream", "--base-url", api(fake_server), "--max-retries", "0", "Hi")
    assert code == 1
    assert out == "Half an ans\n"
    assert err.startswith("error: stream_error: ") and err.count("\n") == 1


def test_models_lists_ids(capsys: Any, fake_server: FakeServer) -> None:
    models = {
        "object": "list",
        "data": [{"id": "m-one", "object": "model"}, {"id": "m-two", "object": "model"}],
    }
    fake_server.add(200, json=models)
    assert run(capsys, "models", "--base-url", api(fake_server)) == (0, "m-one\nm-two\n", "")
    fake_server.add(200, json=models)
    code, out, _ = run(capsys, "models", "--json", "--base-url", api(fake_server))
    assert code == 0 and json.loads(out) == models
    rate_limited(fake_server)
    code, out, err = run(capsys, "models", "--base-url", api(fake_server), "--max-retries", "0")
    assert code == 1 and out == "" and err.startswith("error: 429 rate_limit_exceeded: ")
    assert [(r.method, r.path) for r in fake_server.requests] == [("GET", "/v1/models")] * 3


# -- real processes ----------------------------------------------------------------------------


def _env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _read_until(fd: int, wanted: bytes, timeout: float = 60.0) -> bytes:
    """Read from ``fd`` until ``wanted`` shows up or the writer closes (b"" / EIO on a pty)."""
    data = b""
    while wanted not in data:
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, "nothing arrived within %s s; so far: %r" % (timeout, data)
        try:
            piece = os.read(fd, 4096)
        except OSError:  # Linux reports EIO on a pty master once the child side is closed
            break
        if not piece:
            break
        data += piece
    return data


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize(
    "argv, reply, shown",
    [
        # A stream the server holds open after the first chunk: the line printed so far is ended.
        (
            ["--stream", "Hi"],
            Reply(200, **events([chunk("Partial answer"), threading.Event()])),
            b"Partial answer",
        ),
        (["--no-stream", "Hi"], Reply(hang=True), b""),  # no answer until the server closes
        (["models"], Reply(hang=True), b""),
    ],
)
def test_ctrl_c_stops_quietly_with_status_130(
    fake_server: FakeServer, argv: List[str], reply: Reply, shown: bytes
) -> None:
    arrived = threading.Event()

    def answer(request: Any) -> Reply:
        arrived.set()
        return reply

    fake_server.add(answer)
    command = argv[:1] + ["--base-url", api(fake_server)] + argv[1:]
    proc = popen_interruptible(
        [sys.executable, "-m", "openai_params"] + command,
        cwd=str(ROOT),
        env=_env(OPENAI_API_KEY=KEY),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert arrived.wait(60), "the request never arrived"
        seen = _read_until(proc.stdout.fileno(), shown) if shown else b""
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert seen + rest == (shown + b"\n" if shown else b"")
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err
    assert_no_key(err.decode())


def test_python_dash_m_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "openai_params", "--dry-run", "--base-url", OFFLINE, "Hi"],
        cwd=str(ROOT),
        env=_env(OPENAI_API_KEY=KEY),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert_no_key(done.stdout.decode(), done.stderr.decode())
    assert done.stdout.decode().startswith("POST " + OFFLINE + "/chat/completions\n")
    done = subprocess.run(
        [sys.executable, "-m", "openai_params", "--temperature", "9", "Hi"],
        cwd=str(ROOT),
        env=_env(),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.count(b"\n") == 1 and b"Traceback" not in done.stderr


# -- the promise on real processes: one line, the right exit status, never a traceback or the key --

NON_ASCII = "h\u00e9llo \u2014 \u2713"  # "héllo — ✓"
SHOWN_IN_ASCII = "h\\xe9llo \\u2014 \\u2713"  # how a stream that only takes ASCII shows it

# name: (arguments, extra environment, standard input, what the server answers (add() options),
#        expected exit status, expected standard output or None to leave it to the test,
#        text the error line must contain)
NO_TRACEBACK_CASES: Dict[
    str, Tuple[List[str], Dict[str, str], bytes, List[Dict[str, Any]], int, Optional[bytes], str]
] = {
    "timeout inf": (["--no-stream", "--timeout", "inf", "Hi"], {}, b"", [], 2, b"", "timeout"),
    "timeout nan": (["--no-stream", "--timeout", "nan", "Hi"], {}, b"", [], 2, b"", "timeout"),
    "timeout 1e10": (["--no-stream", "--timeout", "1e10", "Hi"], {}, b"", [], 2, b"", "timeout"),
    "per-call timeout 1e10": (
        ["--no-stream", "--param", "timeout=1e10", "Hi"],
        {},
        b"",
        [],
        2,
        b"",
        "timeout",
    ),
    "throw, not streamed": (
        ["--no-stream", "--param", "throw=true", "--max-retries", "0", "Hi"],
        {},
        b"",
        [dict(status=429, json=RATE_LIMITED)],
        1,
        b"",
        "error: 429 rate_limit_exceeded: ",
    ),
    "throw, streamed": (
        ["--stream", "--param", "throw=true", "--max-retries", "0", "Hi"],
        {},
        b"",
        [dict(status=429, json=RATE_LIMITED)],
        1,
        b"",
        "error: 429 rate_limit_exceeded: ",
    ),
    "throw, stream cut": (
        ["--stream", "--param", "throw=true", "--max-retries", "0", "Hi"],
        {},
        b"",
        [dict(status=200, **events([chunk("Half")], done=False))],
        1,
        b"Half\n",
        "error: stream_error: ",
    ),
    "ascii output, streamed": (
        ["--stream", "Hi"],
        {"PYTHONIOENCODING": "ascii"},
        b"",
        [dict(status=200, **events([chunk(NON_ASCII), chunk(finish="stop")]))],
        0,
        SHOWN_IN_ASCII.encode() + b"\n",
        "",
    ),
    "ascii output, not streamed": (
        ["--no-stream", "Hi"],
        {"PYTHONIOENCODING": "ascii"},
        b"",
        [dict(status=200, json=completion(NON_ASCII))],
        0,
        SHOWN_IN_ASCII.encode() + b"\n",
        "",
    ),
    "ascii output, --json": (
        ["--no-stream", "--json", "Hi"],
        {"PYTHONIOENCODING": "ascii"},
        b"",
        [dict(status=200, json=completion(NON_ASCII))],
        0,
        None,
        "",
    ),
    "ascii output, streamed --json": (
        ["--stream", "--json", "Hi"],
        {"PYTHONIOENCODING": "ascii"},
        b"",
        [dict(status=200, **events([chunk(NON_ASCII), chunk(finish="stop")]))],
        0,
        None,
        "",
    ),
    "ascii output, --dry-run": (
        ["--dry-run", NON_ASCII],
        {"PYTHONIOENCODING": "ascii"},
        b"",
        [],
        0,
        None,
        "",
    ),
    "ascii output, --curl": (["--curl", NON_ASCII], {"PYTHONIOENCODING": "ascii"}, b"", [], 0, None, ""),
    "ascii output, error line": (
        ["--no-stream", "--max-retries", "0", "Hi"],
        {"PYTHONIOENCODING": "ascii"},
        b"",
        [dict(status=400, json={"error": {"message": NON_ASCII, "type": "invalid_request_error"}})],
        1,
        b"",
        "error: 400 invalid_request_error: " + SHOWN_IN_ASCII,
    ),
    "ascii input": (
        ["--dry-run", "-"],
        {"PYTHONIOENCODING": "ascii"},
        NON_ASCII.encode("utf-8"),
        [],
        2,
        b"",
        "standard input",
    ),
    "a lone surrogate from the server": (
        ["--no-stream", "Hi"],
        {},
        b"",
        [
            dict(
                status=200,
                body=json.dumps(completion("a\ud800b")),
                headers={"Content-Type": "application/json"},
            )
        ],
        0,
        b"a\\ud800b\n",
        "",
    ),
    "organization ending in a newline": (
        ["--no-stream", "Hi"],
        {"OPENAI_ORG_ID": "org-1\n"},
        b"",
        [dict(status=200, json=completion("ok"))],
        0,
        b"ok\n",
        "",
    ),
    "base URL ending in a newline": (
        ["--no-stream", "Hi"],
        {"OPENAI_BASE_URL": OFFLINE + "\n"},
        b"",
        [],
        2,
        b"",
        "OPENAI_BASE_URL",
    ),
    "base URL with a password": (
        ["--no-stream", "--base-url", "http://alice:%s@127.0.0.1:9/v1" % PASSWORD, "Hi"],
        {},
        b"",
        [],
        2,
        b"",
        "base_url",
    ),
    "key ending in a newline": (
        ["--no-stream", "Hi"],
        {"OPENAI_API_KEY": KEY + "\n"},
        b"",
        [dict(status=200, json=completion("ok"))],
        0,
        b"ok\n",
        "",
    ),
    "key ending in a newline, echoed in a failure": (
        ["--no-stream", "--max-retries", "0", "Hi"],
        {"OPENAI_API_KEY": KEY + "\n"},
        b"",
        [
            dict(
                status=401,
                json={"error": {"message": "Incorrect API key provided: " + KEY, "code": "invalid_api_key"}},
            )
        ],
        1,
        b"",
        "error: 401 invalid_api_key: Incorrect API key provided: sk-",
    ),
}


@pytest.mark.parametrize("name", list(NO_TRACEBACK_CASES))
def test_no_traceback_one_line_and_the_documented_exit_status(fake_server: FakeServer, name: str) -> None:
    argv, env, stdin, replies, status, stdout, error = NO_TRACEBACK_CASES[name]
    for reply in replies:
        fake_server.add(Reply(**reply))
    environment = dict(
        {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": api(fake_server), "PYTHONIOENCODING": "utf-8"}, **env
    )
    done = subprocess.run(
        [sys.executable, "-m", "openai_params"] + argv,
        cwd=str(ROOT),
        env=_env(**environment),
        input=stdin,
        capture_output=True,
        timeout=60,
    )
    err = done.stderr.decode("utf-8")
    out = done.stdout.decode("utf-8")
    assert "Traceback" not in err
    assert_no_key(out, err)
    assert PASSWORD[-8:] not in out + err
    assert done.returncode == status, err
    if status == 0:
        assert err == ""
    else:
        assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
        assert error in err
        if status == 2:  # a usage error: nothing was sent
            assert fake_server.requests == []
    if stdout is not None:
        assert done.stdout == stdout
    if "ascii" in name:
        done.stdout.decode("ascii")  # what an ASCII terminal can show, nothing else
    if "--json" in argv:
        lines = [json.loads(line) for line in out.splitlines()] if "--stream" in argv else [json.loads(out)]
        texts = [
            (line["choices"][0].get("message") or line["choices"][0]["delta"]).get("content")
            for line in lines
        ]
        assert NON_ASCII in texts  # the same value: JSON escapes, not Python ones
    if "--dry-run" in argv and "-" not in argv:
        assert request_of(out)[2]["messages"][0]["content"] == NON_ASCII
    if "--curl" in argv:
        words = shlex.split(out.replace("\\\n", " "))
        assert json.loads(words[words.index("--data-raw") + 1])["messages"][0]["content"] == NON_ASCII
    # Whitespace around a value from the environment is not part of it: stripped.
    if name == "organization ending in a newline":
        assert fake_server.requests[0].headers["openai-organization"] == "org-1"
    if name == "key ending in a newline":
        assert fake_server.requests[0].headers["authorization"] == "Bearer " + KEY


@pytest.mark.integration
def test_models_on_the_real_server(real_server: Any, capsys: Any) -> None:
    code, out, err = run(capsys, "models", "--base-url", real_server.base_url)
    assert code == 0, err
    assert real_server.model in out.splitlines()


@pytest.mark.integration
def test_stream_from_the_real_server_through_a_pipe(real_server: Any) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "openai_params",
            "--stream",
            "--max-completion-tokens",
            "8",
            "--temperature",
            "0",
            "Say hello.",
        ],
        cwd=str(ROOT),
        env=_env(OPENAI_BASE_URL=real_server.base_url, OPENAI_MODEL=real_server.model),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode("utf-8").strip()
    assert done.stderr == b""


@pytest.mark.integration
@pytest.mark.skipif(os.name == "nt", reason="pseudo-terminals are POSIX")
def test_stream_is_the_default_on_a_terminal(real_server: Any) -> None:
    import pty

    master, slave = pty.openpty()
    try:
        # --json shows what came back: chunks (one per line) prove the answer was streamed.
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "openai_params",
                "--json",
                "--max-completion-tokens",
                "8",
                "--temperature",
                "0",
                "Say hello.",
            ],
            cwd=str(ROOT),
            env=_env(OPENAI_BASE_URL=real_server.base_url, OPENAI_MODEL=real_server.model),
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=subprocess.PIPE,
        )
        os.close(slave)
        slave = -1
        output = _read_until(master, b"\0never\0", timeout=120)  # read to the end
        _, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
        if slave != -1:
            os.close(slave)
    assert proc.returncode == 0, err
    lines = [
        json.loads(line) for line in output.decode("utf-8").replace("\r\n", "\n").splitlines() if line.strip()
    ]
    assert lines and all(line["object"] == "chat.completion.chunk" for line in lines)
    text = "".join(
        (line["choices"][0]["delta"].get("content") or "") for line in lines if line.get("choices")
    )
    assert text.strip()


@pytest.mark.integration
@pytest.mark.skipif(os.name == "nt", reason="the demo is a bash script")
@pytest.mark.parametrize("real_server", ["llama-cpp-python"], indirect=True)  # the demo's server
def test_demo_script(real_server: Any) -> None:
    # The demo starts its own server from the environment the fixture built (and cached).
    done = subprocess.run(
        [str(ROOT / "scripts" / "demo"), "Say hello.", "--max-completion-tokens", "8"],
        cwd=str(ROOT),
        env=_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert done.stdout.decode("utf-8").strip()
    assert b"Traceback" not in done.stderr
