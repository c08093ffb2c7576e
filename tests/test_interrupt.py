"""Ctrl-C as a request to stop (``_interrupt.py``): the handler sets the Stop and wakes whoever
waits; a second Ctrl-C calls ``again``; nothing is installed where SIGINT is not Python's."""

import os
import queue
import signal
import threading
from typing import Any, Iterator, List

import pytest

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
