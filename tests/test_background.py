"""Background calls: callbacks exactly once, in order, under success, failure, cancel and raising.

The callback tests run on both clients (the ``run`` fixture, both_clients.py): ``OpenAI`` runs
the call on a worker thread and gives a handle, ``AsyncOpenAI`` runs it in the awaiting task;
the callbacks see the same. The tests of the handle itself (``result(timeout)``, ``cancel()``)
and of the worker threads (``close()``, ``max_workers``, Ctrl-C) are ``OpenAI``'s only.
"""

import threading
from typing import Any, Dict, List

import pytest

from fakeserver import Reply
from openai_params import OpenAI, OpenAIChatCompletionParameters
from sigint import popen_interruptible
from streamdata import DONE, SSE_HEADERS, chunk, completion, event, text_stream

MESSAGES = [{"role": "user", "content": "hi"}]


class Recorder:
    """Records every callback, with the thread it ran on."""

    def __init__(self) -> None:
        self.calls: List[str] = []
        self.data: List[Any] = []
        self.finals: Dict[str, Any] = {}
        self.threads: List[str] = []

    def params(self, **fields: Any) -> OpenAIChatCompletionParameters:
        return OpenAIChatCompletionParameters(
            on_data=self.on_data if fields.get("stream") else None,
            on_terminate=self.make("terminate"),
            on_response=self.make("response"),
            on_error=self.make("error"),
            **fields,
        )

    def on_data(self, item: Any) -> None:
        self.calls.append("data")
        self.data.append(item)
        self.threads.append(threading.current_thread().name)

    def make(self, name: str) -> Any:
        def callback(result: Any) -> None:
            self.calls.append(name)
            self.finals[name] = result

        return callback


def test_non_streamed_call_with_callbacks(client, fake_server, run) -> None:
    fake_server.add(200, json=completion("done"))
    rec = Recorder()
    final = run(client.chat.completions.create(MESSAGES, rec.params()))
    assert final.success and final.text == "done"
    assert rec.calls == ["response", "terminate"]
    assert rec.finals["terminate"] is final


def test_streamed_call_every_chunk_in_order(client, fake_server, run) -> None:
    fake_server.add(200, pieces=text_stream(["a", "b", "c"]), headers=SSE_HEADERS)
    rec = Recorder()
    final = run(client.chat.completions.create(MESSAGES, rec.params(stream=True)))
    assert [c.text for c in rec.data] == ["", "a", "b", "c", ""]
    assert rec.calls == ["data"] * 5 + ["response", "terminate"]
    assert final.success and final.text == "abc"
    here = threading.current_thread().name
    # OpenAI: on a worker thread; AsyncOpenAI: in the task that awaits the call.
    assert all((name == here) is run.is_async for name in rec.threads)
    assert fake_server.requests[0].json["stream"] is True


def test_failure_calls_on_error_once(client, fake_server, run) -> None:
    fake_server.add(500, json={"error": {"message": "boom", "type": "server_error"}})
    rec = Recorder()
    final = run(client.chat.completions.create(MESSAGES, rec.params()))
    assert not final.success and final.errors[0].is_server_error
    assert rec.calls == ["error", "terminate"]


def test_broken_stream_calls_on_error_once(client, fake_server, run) -> None:
    fake_server.add(200, pieces=text_stream(["a", "b"]), cut_after=2, headers=SSE_HEADERS)
    rec = Recorder()
    final = run(client.chat.completions.create(MESSAGES, rec.params(stream=True)))
    assert not final.success and final.errors[0].type == "stream_error"
    assert rec.calls == ["data", "data", "data", "error", "terminate"]
    assert rec.data[-1].success is False


def test_connection_refused_still_terminates(fake_server, run) -> None:
    closed = run.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=5)
    rec = Recorder()
    final = run(closed.chat.completions.create(MESSAGES, rec.params(stream=True)))
    assert not final.success and final.errors[0].is_connection_error
    # The stream's one item says it failed (as the iterator would), then the ending callbacks.
    assert rec.calls == ["data", "error", "terminate"]
    assert rec.data[0].success is False and rec.data[0].errors[0].is_connection_error


def test_raising_on_data_ends_the_call_with_its_error(client, fake_server, run) -> None:
    fake_server.add(200, pieces=text_stream(["a", "b", "c"]), headers=SSE_HEADERS)
    rec = Recorder()
    params = rec.params(stream=True)
    seen: List[str] = []

    def explode(item: Any) -> None:
        seen.append(item.text)
        if item.text == "a":
            raise RuntimeError("bad handler")

    params.on_data = explode
    final = run(client.chat.completions.create(MESSAGES, params))
    assert seen == ["", "a"]  # no chunk after the one that raised
    assert not final.success
    error = final.errors[-1]
    assert error.is_callback_error and isinstance(error.cause, RuntimeError)
    assert "bad handler" in error.message
    assert rec.calls == ["error", "terminate"]


def test_raising_on_terminate_is_reported_not_lost(client, fake_server, run) -> None:
    fake_server.add(200, json=completion("x"))
    called = []

    def bad_terminate(result: Any) -> None:
        called.append(result)
        raise ValueError("terminate broke")

    final = run(client.chat.completions.create(MESSAGES, on_terminate=bad_terminate))
    assert len(called) == 1
    assert final.errors and final.errors[-1].is_callback_error
    assert "terminate broke" in final.errors[-1].message


def test_raising_on_response_calls_terminate_not_on_error(client, fake_server, run) -> None:
    fake_server.add(200, json=completion("x"))
    rec = Recorder()
    params = rec.params()

    def bad_response(result: Any) -> None:
        rec.calls.append("response")
        raise KeyError("nope")

    params.on_response = bad_response
    final = run(client.chat.completions.create(MESSAGES, params))
    assert rec.calls == ["response", "terminate"]
    assert not final.success and final.errors[-1].is_callback_error


def test_cancel_aborts_an_in_flight_stream(client, fake_server) -> None:
    hold = threading.Event()
    first_seen = threading.Event()
    fake_server.add(
        200, pieces=[event(chunk("a", role="assistant")), hold, event(chunk("b")), DONE], headers=SSE_HEADERS
    )
    rec = Recorder()
    params = rec.params(stream=True)

    def on_data(item: Any) -> None:
        rec.on_data(item)
        first_seen.set()

    params.on_data = on_data
    handle = client.chat.completions.create(MESSAGES, params)
    assert first_seen.wait(10)
    assert handle.cancel() is True
    final = handle.result(timeout=5)  # promptly, though the server still holds the stream
    assert not hold.is_set()
    assert not final.success and final.errors[0].is_cancelled
    assert final.text == "a"
    assert rec.calls.count("terminate") == 1 and rec.calls[-2:] == ["error", "terminate"]
    assert handle.cancel() is False
    hold.set()


def test_formula_alias(client, fake_server, run) -> None:
    fake_server.add(200, pieces=text_stream(["x"]), headers=SSE_HEADERS)
    fake_server.add(200, json=completion("y"))
    streamed: List[str] = []
    final = run(
        client.chat.completions.create(MESSAGES, stream=True, formula=lambda c: streamed.append(c.text))
    )
    assert final.text == "x" and "x" in streamed
    finals: List[Any] = []
    assert run(client.chat.completions.create(MESSAGES, formula=finals.append)).text == "y"
    assert finals[0].text == "y"


def test_result_timeout_and_throw(client, fake_server) -> None:
    release = threading.Event()
    fake_server.add(200, json=completion("late"), hang=True, release=release)
    handle = client.chat.completions.create(MESSAGES, on_terminate=lambda r: None)
    with pytest.raises(TimeoutError):
        handle.result(timeout=0.05)
    assert not handle.done()
    release.set()
    assert handle.result(timeout=10).text == "late"
    fake_server.add(404, json={"error": {"message": "no", "type": "invalid_request_error"}})
    handle = client.chat.completions.create(MESSAGES, on_terminate=lambda r: None, throw=True)
    from openai_params import NotFoundError

    with pytest.raises(NotFoundError):
        handle.result(timeout=10)


def test_cancel_aborts_a_call_waiting_for_its_answer(client, fake_server) -> None:
    release = threading.Event()
    arrived = threading.Event()

    def hold(request: Any) -> Reply:
        arrived.set()  # the request reached the server, which now holds its answer
        return Reply(200, json=completion("late"), hang=True, release=release)

    fake_server.add(hold)
    rec = Recorder()
    handle = client.chat.completions.create(MESSAGES, rec.params())
    assert arrived.wait(10)
    assert handle.cancel() is True
    final = handle.result(timeout=5)
    assert not release.is_set()
    assert not final.success and [e.type for e in final.errors] == ["cancelled"]
    assert rec.calls == ["error", "terminate"]
    release.set()


def test_close_lets_every_accepted_call_finish(fake_server) -> None:
    # Hold every answer until the client is closed: most calls are still queued then.
    release = threading.Event()
    fake_server.default = Reply(200, json=completion("ok"), hang=True, release=release)
    finals: List[Any] = []
    with OpenAI(api_key="k", base_url=fake_server.url + "/v1", max_retries=0, timeout=10) as client:
        handles = [client.chat.completions.create(MESSAGES, on_terminate=finals.append) for _ in range(40)]
    release.set()
    results = [handle.result(timeout=20) for handle in handles]
    assert [(r.success, r.text) for r in results] == [(True, "ok")] * 40, [r.errors for r in results]
    assert len(finals) == 40
    assert len(fake_server.requests) == 40
    # Once the last accepted call ended, the client closed every connection it had opened.
    assert fake_server.wait_closed(fake_server.connections, 10)
    with pytest.raises(RuntimeError, match="closed"):
        client.chat.completions.create(MESSAGES, on_terminate=finals.append)
    with pytest.raises(RuntimeError, match="closed"):
        client.chat.completions.create(MESSAGES)
    with pytest.raises(RuntimeError, match="closed"):
        client.chat.completions.stream(MESSAGES)
    assert len(fake_server.requests) == 40


def test_close_with_nothing_in_flight_closes_at_once(client, fake_server) -> None:
    fake_server.add(200, json=completion("x"))
    assert client.chat.completions.create(MESSAGES, on_terminate=lambda r: None).result(10).success
    client.close()
    assert fake_server.wait_closed(fake_server.connections, 10)
    client.close()  # a second close does nothing
    with pytest.raises(RuntimeError, match="closed"):
        client.models.list()


def test_max_workers_bounds_the_calls_in_flight(fake_server) -> None:
    lock = threading.Lock()
    counts = {"arrived": 0, "active": 0, "most": 0}
    third = threading.Event()

    def held(request: Any) -> Reply:
        with lock:
            counts["arrived"] += 1
            counts["active"] += 1
            counts["most"] = max(counts["most"], counts["active"])
            if counts["arrived"] == 3:
                third.set()
        # With two workers the third call cannot arrive while the first two are held: the
        # server holds them (at most 0.5 s) to give a broken bound the chance to show.
        third.wait(0.5)
        with lock:
            counts["active"] -= 1
        return Reply(200, json=completion("ok"))

    fake_server.default = held
    with OpenAI(
        api_key="k", base_url=fake_server.url + "/v1", max_retries=0, timeout=10, max_workers=2
    ) as client:
        handles = [client.chat.completions.create(MESSAGES, on_terminate=lambda r: None) for _ in range(3)]
        assert all(handle.result(timeout=20).success for handle in handles)
    assert len(fake_server.requests) == 3
    assert counts["most"] == 2


def test_throw_with_on_terminate_400(client, fake_server, run) -> None:
    from openai_params import BadRequestError

    fake_server.add(
        400,
        json={
            "error": {"message": "bad temperature", "type": "invalid_request_error", "param": "temperature"}
        },
    )
    seen: List[Any] = []
    with pytest.raises(BadRequestError, match="bad temperature"):
        run(client.chat.completions.create(MESSAGES, on_terminate=seen.append, throw=True))
    assert len(seen) == 1
    assert seen[0].status == 400 and not seen[0].success
    assert seen[0].errors[0].status == 400 and seen[0].errors[0].message == "bad temperature"


# -- the interpreter exits while a call is in flight --------------------------------------------
EXIT_SCRIPT = r"""
import sys
from openai_params import OpenAI

client = OpenAI(api_key="k", base_url=sys.argv[1], max_retries=0)
handle = client.chat.completions.create(
    [{"role": "user", "content": "hi"}],
    on_terminate=lambda r: print("terminated:", [e.type for e in r.errors], flush=True))
print("accepted", flush=True)
sys.stdin.readline()  # the test answers once the server holds the call
if sys.argv[2] == "close":
    client.close()  # and the script ends with the call in flight
elif sys.argv[2] == "return":
    pass  # the script ends with the call in flight, the client still open
else:
    print("waiting", flush=True)
    handle.result()  # Ctrl-C lands here
"""


def _run_until_in_flight(fake_server, how: str) -> Any:
    import os
    import subprocess
    import sys
    from pathlib import Path

    arrived = threading.Event()

    def hold(request: Any) -> Reply:
        arrived.set()
        return Reply(200, json=completion("never"), hang=True)  # held until the server closes

    fake_server.add(hold)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    proc = popen_interruptible(
        [sys.executable, "-c", EXIT_SCRIPT, fake_server.url + "/v1", how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        universal_newlines=True,
    )
    assert proc.stdout.readline() == "accepted\n"
    assert arrived.wait(10)
    proc.stdin.write("go\n")
    proc.stdin.flush()
    return proc


def _finish(proc: Any, within: float) -> Any:
    import subprocess

    try:
        out, err = proc.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail("the process did not exit within %s s; stderr: %s" % (within, err[-2000:]))
    return out, err


@pytest.mark.parametrize("how", ["close", "return"])
def test_a_script_that_returns_does_not_wait_for_calls_in_flight(fake_server, how: str) -> None:
    proc = _run_until_in_flight(fake_server, how)
    out, err = _finish(proc, 5)
    assert proc.returncode == 0, err
    # The call in flight ended as cancelled, and on_terminate still ran, once.
    assert out.count("terminated:") == 1 and "terminated: ['cancelled']" in out, (out, err)
    assert "Traceback" not in err


@pytest.mark.skipif(
    not hasattr(__import__("signal"), "SIGINT") or __import__("os").name == "nt", reason="sends SIGINT"
)
def test_ctrl_c_while_waiting_exits_as_interrupted(fake_server) -> None:
    import signal

    proc = _run_until_in_flight(fake_server, "wait")
    assert proc.stdout.readline() == "waiting\n"
    proc.send_signal(signal.SIGINT)
    out, err = _finish(proc, 30)  # the held call ends only when the server closes, after this
    assert proc.returncode in (130, -signal.SIGINT), (proc.returncode, err)
    assert "KeyboardInterrupt" in err
    assert "_shutdown" not in err, err
    assert "terminated: ['cancelled']" in out, (out, err)


def test_a_lingering_worker_takes_the_next_call_and_ends_at_close() -> None:
    from openai_params.background import BackgroundCall, Workers
    from openai_params.results import OpenAIResult

    workers = Workers(1, on_drained=lambda: None, linger=30.0)
    threads: List[threading.Thread] = []

    def start(cancel: Any) -> OpenAIResult:
        threads.append(threading.current_thread())
        return OpenAIResult(status=200, body={})

    first = BackgroundCall(start)
    workers.submit(first)
    assert first.wait(5)
    second = BackgroundCall(start)
    workers.submit(second)  # the worker is still there, waiting: no new thread
    assert second.wait(5)
    assert threads[0] is threads[1]
    workers.close()
    threads[0].join(5)  # close wakes it: it does not wait out its 30 s
    assert not threads[0].is_alive()
