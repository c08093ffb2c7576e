"""Ctrl-C as a request to stop (``_interrupt.py``): the handler sets the Stop and wakes whoever
waits; a second Ctrl-C calls ``again``; nothing is installed where SIGINT is not Python's."""

import dis
import os
import queue
import signal
import sys
import threading
from typing import Any, Dict, Iterator, List

import pytest

from fakeserver import FakeServer, Reply
from openai_params._interrupt import Stop, ctrl_c


@pytest.fixture
def default_sigint() -> Iterator[None]:
    """SIGINT as Python sets it up (a test run started in the background may have it ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_the_first_ctrl_c_sets_the_stop_and_the_second_calls_again(default_sigint: None) -> None:
    calls: List[str] = []
    with ctrl_c(lambda: calls.append("again")) as stop:
        signal.raise_signal(signal.SIGINT)  # no KeyboardInterrupt: the handler runs, and returns
        assert stop.requested and calls == []
        signal.raise_signal(signal.SIGINT)
        assert calls == ["again"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)


def test_a_ctrl_c_wakes_a_run_waiting_on_its_queue(default_sigint: None) -> None:
    waiting: queue.SimpleQueue[Any] = queue.SimpleQueue()
    with ctrl_c(lambda: None) as stop:
        stop.wake(waiting)
        # Sent to the process from another thread, as a terminal sends it: it is delivered to
        # this thread, blocked in the get() below, and the handler runs inside that get().
        timer = threading.Timer(0.0, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        assert waiting.get(timeout=60) is None and stop.requested
        timer.join()


def test_a_stop_requested_before_the_run_waits_wakes_it_at_once() -> None:
    stop, waiting = Stop(), queue.SimpleQueue()  # type: ignore[var-annotated]
    stop.set()
    stop.wake(waiting)
    assert waiting.get(timeout=60) is None
    assert stop.sleep(60) is True


def test_sleep_ends_when_the_stop_is_set_from_another_thread() -> None:
    stop = Stop()
    assert stop.sleep(0.001) is False
    setter = threading.Thread(target=stop.set)
    setter.start()
    assert stop.sleep(60) is True
    setter.join()


def test_nothing_is_installed_when_sigint_is_ignored_or_off_the_main_thread() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job's SIGINT
    try:
        with ctrl_c(lambda: None) as stop:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert not stop.requested
    finally:
        signal.signal(signal.SIGINT, previous)
    seen: List[Any] = []

    def off_main() -> None:
        with ctrl_c(lambda: None):
            seen.append(signal.getsignal(signal.SIGINT))

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=off_main)
    thread.start()
    thread.join()
    assert seen == [before]


# -- a KeyboardInterrupt wherever a signal lands: the library's own windows ---------------------------
#
# A trace function raises KeyboardInterrupt at the Nth point of this thread where every supported
# CPython runs signal handlers: a function's first bytecode, and the bytecode after a call returned
# (3.8 to 3.10 check before nearly every bytecode; 3.11 and later there, and at backward jumps).
# After each, the run's at-exit cleanup (what the interpreter's exit runs) must end: a lock left
# held would hang it.


class _RaiseAt:
    """``sys.settrace`` function raising KeyboardInterrupt at the ``at``-th such point."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.count = 0
        self._after_call: Dict[int, bool] = {}  # frame id -> its last bytecode was a call

    def __call__(self, frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "call":
            self._after_call[id(frame)] = True  # its first bytecode comes next
        elif event == "opcode":
            point = self._after_call.get(id(frame), False)
            name = dis.opname[frame.f_code.co_code[frame.f_lasti]]
            self._after_call[id(frame)] = name.startswith("CALL") and "INTRINSIC" not in name
            if point and frame.f_code.co_filename.endswith(_WHERE):
                self.count += 1
                if self.count == self.at:
                    raise KeyboardInterrupt("at point %d" % self.at)
        return self


#: Where the points are: the package and the threading code it runs (not a weakref callback run by
#: the garbage collector, where an exception is only printed).
_WHERE = tuple(
    os.sep + name for name in ("background.py", "fanout.py", "_cancel.py", "threading.py", "queue.py")
)


def _opcode_events() -> bool:
    """This CPython gives 'opcode' events to a trace function (3.12.1, for one, does not)."""
    seen: List[str] = []

    def trace(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        seen.append(event)
        return trace

    sys.settrace(trace)
    try:
        _opcode_probe()
    finally:
        sys.settrace(None)
    return "opcode" in seen


def _opcode_probe() -> int:
    return len(str(1))


needs_opcode_events = pytest.mark.skipif(not _opcode_events(), reason="no opcode events to trace here")


def _at_exit_ends(workers: Any) -> bool:
    """Run ``workers``' at-exit cleanup on a thread; True if it ends (it waits 1 s at most)."""
    cleanup = threading.Thread(target=workers._at_exit, daemon=True)
    cleanup.start()
    cleanup.join(10)
    return not cleanup.is_alive()


def _raising_at_each_bytecode(body: Any) -> int:
    """Run ``body(trace)`` with a KeyboardInterrupt at point 1, 2, ... until one run ends
    before the point comes; the number of runs."""
    at = 0
    while True:
        at += 1
        trace = _RaiseAt(at)
        body(trace)
        if trace.count < at:
            return at


@needs_opcode_events
def test_a_ctrl_c_anywhere_in_submit_leaves_nothing_that_hangs_the_exit(monkeypatch: Any) -> None:
    from openai_params import background
    from openai_params.background import BackgroundCall, Workers
    from openai_params.results import OpenAIChatCompletionResult

    def body(trace: _RaiseAt) -> None:
        workers = Workers(2, on_drained=lambda: None)
        call = BackgroundCall(lambda cancel: OpenAIChatCompletionResult())
        sys.settrace(trace)
        try:
            workers.submit(call)
        except KeyboardInterrupt:
            pass
        except RuntimeError as exc:  # CPython's own window: Thread.start() waits on an Event,
            assert "release unlocked lock" in str(exc)  # and Condition.wait releases twice
        finally:
            sys.settrace(None)
        assert _at_exit_ends(workers), "at point %d" % trace.at

    monkeypatch.setattr(background, "EXIT_WAIT", 0.01)  # a call left waiting is waited for that long
    assert _raising_at_each_bytecode(body) > 10


@needs_opcode_events
def test_a_second_ctrl_c_anywhere_in_the_fan_outs_cleanup_leaves_nothing_that_hangs_the_exit(
    fake_server: FakeServer, monkeypatch: Any
) -> None:
    from openai_params import OpenAI, background
    from openai_params.fanout import plan, run_on_threads

    made: List[Any] = []

    class Recorded(background.Workers):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(background, "Workers", Recorded)
    release = threading.Event()
    answer = {"choices": [{"index": 0, "message": {"content": "x"}}]}
    fake_server.default = lambda request: (
        Reply(200, json=answer)
        if request.json["messages"][0]["content"] == "0"
        else Reply(200, json=answer, hang=True, release=release)
    )
    client = OpenAI(api_key="sk-test", base_url=fake_server.url + "/v1", proxies={})

    def body(trace: _RaiseAt) -> None:
        made.clear()
        requests = [[{"role": "user", "content": str(n)}] for n in range(4)]
        pairs = run_on_threads(plan(client.chat.completions, requests, {"model": "m"}, concurrency=3))
        next(pairs)  # "0" answered: "1", "2", "3" are out, held
        sys.settrace(trace)  # the first Ctrl-C, in the caller's loop; the second inside the cleanup
        try:
            pairs.throw(KeyboardInterrupt("the first"))
        except KeyboardInterrupt:
            pass
        finally:
            sys.settrace(None)
        assert _at_exit_ends(made[0]), "at point %d" % trace.at

    try:
        assert _raising_at_each_bytecode(body) > 1  # few points: the cleanup only starts a thread
    finally:
        release.set()
        client.close()
