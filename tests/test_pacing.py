"""The pacing state machine, on a clock the tests move by hand: nothing sleeps here."""

import heapq
from typing import Dict, List, Optional, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openai_params.pacing import DONE, START, WAIT, Action, Pacer, PacingPolicy, estimate_tokens
from openai_params.retry import RetryPolicy

NO_JITTER = PacingPolicy(retry=RetryPolicy(jitter=0.0))


def start_all(pacer: Pacer, now: float, more: bool = True) -> List[int]:
    """Start calls while the pacer says START; their tickets."""
    tickets = []
    while True:
        action = pacer.next_action(now, more)
        if action.kind != START:
            return tickets
        tickets.append(pacer.start(now, action.index if action.index is not None else 100 + len(tickets)))


def ok(pacer: Pacer, ticket: int, now: float, **headers: str) -> None:
    pacer.finish(ticket, now, status=200, headers={k.replace("_", "-"): v for k, v in headers.items()})


def test_at_most_concurrency_calls_start_then_it_waits_for_one_to_finish() -> None:
    pacer = Pacer(3)
    tickets = start_all(pacer, 0.0)
    assert len(tickets) == 3 and pacer.in_flight == 3
    assert pacer.next_action(0.0, True) == Action(WAIT)
    ok(pacer, tickets[0], 0.1)
    assert pacer.next_action(0.1, True) == Action(START)


def test_done_once_nothing_is_left_and_nothing_is_in_flight() -> None:
    pacer = Pacer(2)
    (ticket,) = start_all(pacer, 0.0)[:1]
    assert pacer.next_action(0.0, False) == Action(WAIT)
    ok(pacer, ticket, 0.0)
    assert pacer.next_action(0.0, False) == Action(WAIT)  # the second one is still out
    ok(pacer, 2, 0.0)
    assert pacer.next_action(0.0, False) == Action(DONE)


@pytest.mark.parametrize(
    "reset, seconds",
    [("20ms", 0.02), ("1s", 1.0), ("6m0s", 360.0), ("1.5s", 1.5), ("2", 2.0), ("1m30s", 90.0)],
)
def test_no_request_left_waits_for_the_reset_the_header_gives(reset: str, seconds: float) -> None:
    pacer = Pacer(4)
    ticket = pacer.start(10.0, 0)
    ok(pacer, ticket, 10.0, x_ratelimit_remaining_requests="0", x_ratelimit_reset_requests=reset)
    action = pacer.next_action(10.0, True)
    assert action.kind == WAIT
    assert action.delay == pytest.approx(seconds + pacer.policy.margin)
    assert pacer.next_action(10.0 + seconds + pacer.policy.margin, True).kind == START


def test_calls_started_after_the_answered_one_are_taken_off_what_is_left() -> None:
    pacer = Pacer(16)
    tickets = [pacer.start(0.0, n) for n in range(8)]
    ok(pacer, tickets[0], 0.1, x_ratelimit_remaining_requests="9", x_ratelimit_reset_requests="1s")
    # 9 left by the server's count, 7 started after the answered one: 2 more may start.
    assert [a.kind for a in (pacer.next_action(0.1, True),)] == [START]
    pacer.start(0.1, 50)
    pacer.start(0.1, 51)
    assert pacer.next_action(0.1, True).kind == WAIT
    assert pacer.next_action(0.1, True).delay == pytest.approx(1.0 + pacer.policy.margin)


def test_a_later_answer_from_the_same_window_never_raises_what_is_left() -> None:
    pacer = Pacer(8)
    first, second = pacer.start(0.0, 0), pacer.start(0.0, 1)
    ok(pacer, second, 0.1, x_ratelimit_remaining_requests="0", x_ratelimit_reset_requests="900ms")
    # The first call was counted earlier, so its answer says more were left: the low count holds.
    ok(pacer, first, 0.12, x_ratelimit_remaining_requests="5", x_ratelimit_reset_requests="880ms")
    assert pacer.next_action(0.12, True).kind == WAIT


def test_the_answer_to_the_call_that_started_last_is_believed() -> None:
    pacer = Pacer(16)
    first, second, third, fourth = (pacer.start(0.0, n) for n in range(4))
    reset = {"x_ratelimit_reset_requests": "1s"}

    # 10 left when the third arrived; the fourth (after it) and the first two (still out,
    # perhaps behind it on the wire) may be missing from that count.
    ok(pacer, third, 0.1, x_ratelimit_remaining_requests="10", **reset)
    assert pacer._requests.left == 10 - 3
    ok(pacer, first, 0.1, x_ratelimit_remaining_requests="12", **reset)  # older news: ignored
    assert pacer._requests.left == 7
    ok(pacer, fourth, 0.1, x_ratelimit_remaining_requests="9", **reset)  # newer: only the second is unsure
    assert pacer._requests.left == 9 - 1
    assert len(start_all(pacer, 0.1)) == 8  # and that is what may start before the reset
    ok(pacer, second, 0.1)


def test_an_answer_that_overtook_others_on_the_wire_does_not_raise_what_is_left() -> None:
    """The server counts requests as they arrive: a call started later, on a pooled connection,
    may be counted before calls started earlier on new ones. Its answer, the newest by start,
    then says more is left than answers already heard: the lowest count holds, less the calls
    still out (seen on the fake server: 429s at the next window's start without this)."""
    pacer = Pacer(8)
    reset = {"x_ratelimit_reset_requests": "1s"}
    first, second, third, fourth = (pacer.start(0.0, n) for n in range(4))
    # The server got them in the order fourth, first, second, third: remaining 7, 6, 5, 4 (of 8).
    ok(pacer, first, 0.1, x_ratelimit_remaining_requests="6", **reset)
    ok(pacer, second, 0.1, x_ratelimit_remaining_requests="5", **reset)
    assert pacer._requests.left == 5 - 2  # the third and fourth may be missing from that count
    ok(pacer, fourth, 0.1, x_ratelimit_remaining_requests="7", **reset)  # newest by start, oldest count
    assert pacer._requests.left == 5 - 1  # not 7: the third is still out
    assert len(start_all(pacer, 0.1)) == 4
    ok(pacer, third, 0.1, x_ratelimit_remaining_requests="4", **reset)
    assert pacer._requests.left == 4 - 4 and pacer.next_action(0.1, True).kind == WAIT


def test_a_budget_is_forgotten_after_its_reset() -> None:
    pacer = Pacer(2)
    ok(pacer, pacer.start(0.0, 0), 0.0, x_ratelimit_remaining_requests="0", x_ratelimit_reset_requests="1s")
    assert pacer.next_action(0.5, True).kind == WAIT
    assert pacer.next_action(1.5, True).kind == START
    assert len(start_all(pacer, 1.5)) == 2  # nothing known any more: the window alone


def test_a_call_that_makes_several_requests_spends_them_all() -> None:
    pacer = Pacer(8)
    ok(pacer, pacer.start(0.0, 0), 0.0, x_ratelimit_remaining_requests="5", x_ratelimit_reset_requests="1s")
    pacer.start(0.0, 1, requests=3)  # n emulated by three requests
    assert pacer.next_action(0.0, True).kind == START
    pacer.start(0.0, 2, requests=2)
    assert pacer.next_action(0.0, True).kind == WAIT


def test_tokens_left_must_pay_for_the_next_call() -> None:
    pacer = Pacer(8)
    ticket = pacer.start(0.0, 0, cost=60)
    pacer.finish(
        ticket,
        0.0,
        status=200,
        headers={"x-ratelimit-remaining-tokens": "100", "x-ratelimit-reset-tokens": "2s"},
    )
    assert pacer.next_action(0.0, True).kind == START
    pacer.start(0.0, 1, cost=60)  # 40 left, a call costs about 60
    action = pacer.next_action(0.0, True)
    assert action.kind == WAIT and action.delay == pytest.approx(2.0 + pacer.policy.margin)


def test_a_429_makes_everything_wait_its_retry_after_and_is_retried_first() -> None:
    pacer = Pacer(4)
    a, b = pacer.start(0.0, 0), pacer.start(0.0, 1)
    verdict = pacer.finish(a, 0.0, status=429, headers={"retry-after-ms": "250"})
    assert not verdict.final and not verdict.stop
    action = pacer.next_action(0.0, True)
    assert action.kind == WAIT and action.delay == pytest.approx(0.25 + pacer.policy.margin)
    assert pacer.next_action(0.3, True) == Action(START, index=0)  # the retry before a new request
    assert pacer.rate_limited == 1 and pacer.retried == 1
    ok(pacer, b, 0.3)


@pytest.mark.parametrize(
    "headers, wait",
    [
        ({"retry-after": "3"}, 3.0),
        ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s"}, 1.5),
        ({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"}, 360.0),
        ({}, PacingPolicy().backoff_429),
        ({"retry-after": "100000"}, PacingPolicy().max_pause),
    ],
)
def test_the_wait_after_a_429(headers: Dict[str, str], wait: float) -> None:
    pacer = Pacer(4)
    pacer.finish(pacer.start(0.0, 0), 0.0, status=429, headers=headers)
    assert pacer.next_action(0.0, True).delay == pytest.approx(wait + pacer.policy.margin)


def test_the_window_halves_once_per_round_and_grows_back_one_per_round() -> None:
    pacer = Pacer(8)
    first_round = start_all(pacer, 0.0)
    assert len(first_round) == 8
    for ticket in first_round[:3]:  # three 429s from calls that were all out before the cut
        pacer.finish(ticket, 0.0, status=429, headers={"retry-after-ms": "0"})
    assert pacer.window == 4
    for ticket in first_round[3:]:
        ok(pacer, ticket, 0.1)
    second_round = start_all(pacer, 0.1)
    assert len(second_round) == int(pacer.window)
    pacer.finish(second_round[0], 0.2, status=429, headers={"retry-after-ms": "0"})  # a new round: cut
    assert pacer.window == pytest.approx(pacer.window) and pacer.window < 4
    low = pacer.window
    for ticket in second_round[1:]:
        ok(pacer, ticket, 0.3)
    grown = []
    for _ in range(40):
        ticket = pacer.start(1.0, 7)
        ok(pacer, ticket, 1.0)
        grown.append(pacer.window)
    assert grown == sorted(grown) and grown[0] > low and grown[-1] == 8  # back to concurrency


def test_the_window_does_not_grow_while_the_headers_show_little_room() -> None:
    pacer = Pacer(8)
    pacer.finish(pacer.start(0.0, 0), 0.0, status=429, headers={"retry-after-ms": "0"})
    assert pacer.window == 4
    for n in range(10):
        ticket = pacer.start(0.1, n)
        ok(pacer, ticket, 0.1, x_ratelimit_remaining_requests="3", x_ratelimit_reset_requests="10s")
    assert pacer.window == 4


def test_insufficient_quota_stops_the_run() -> None:
    pacer = Pacer(4)
    tickets = start_all(pacer, 0.0)
    pacer.finish(tickets[1], 0.0, status=500, headers={})  # to be retried
    verdict = pacer.finish(tickets[0], 0.1, status=429, headers={}, error_code="insufficient_quota")
    assert verdict.final and verdict.stop and "insufficient_quota" in (pacer.stopped or "")
    assert pacer.next_action(5.0, True) == Action(WAIT)  # two still out; nothing new starts
    ok(pacer, tickets[2], 0.2)
    ok(pacer, tickets[3], 0.2)
    assert pacer.next_action(5.0, True) == Action(DONE)
    assert pacer.pending_retries() == [101]


def test_other_failures_are_retried_as_the_retry_rules_say() -> None:
    pacer = Pacer(2, max_retries=1, policy=NO_JITTER)
    verdict = pacer.finish(pacer.start(0.0, 0), 0.0, status=503, headers={})
    assert not verdict.final
    action = pacer.next_action(0.0, False)
    assert action.kind == WAIT and action.delay == pytest.approx(0.5)  # the backoff, not shared
    assert pacer.next_action(0.5, False) == Action(START, index=0)
    verdict = pacer.finish(pacer.start(0.5, 0), 0.5, status=503, headers={})
    assert verdict.final and "no retries left" in verdict.reason
    assert pacer.finish(pacer.start(1.0, 1), 1.0, status=400, headers={}).final
    assert not pacer.finish(pacer.start(1.0, 2), 1.0, status=None, headers={}, error_code="timeout").final
    assert pacer.window == 2  # only 429s cut the window


def test_a_request_rate_limited_too_often_gets_its_429_as_result() -> None:
    pacer = Pacer(2, policy=PacingPolicy(rate_limit_retries=2))
    verdicts = [pacer.finish(pacer.start(float(n), 0), float(n), status=429, headers={}) for n in range(3)]
    assert [v.final for v in verdicts] == [False, False, True]


def test_estimate_tokens_counts_the_body_and_the_completion_allowance() -> None:
    body = b'{"messages":[{"role":"user","content":"hello"}],"max_completion_tokens":50,"n":2}'
    assert estimate_tokens(body) == len(body) // 3 + 100
    assert estimate_tokens(b"not json") == len(b"not json") // 3


# -- a whole run against a simulated limiter, in virtual time -------------------------------------


def simulate(
    total: int, concurrency: int, limit: int, window: float, latencies: List[float]
) -> Tuple[float, int, int]:
    """Run ``total`` requests through a Pacer against a fixed-window limiter of ``limit`` requests
    per ``window``; a request is counted when it starts and answered ``latency`` later.
    Returns (the time the last answer came, 429s, the most calls in flight)."""
    pacer = Pacer(concurrency)
    now, started, used, window_index, limited, most = 0.0, 0, 0, 0, 0, 0
    answers: List[Tuple[float, int, int, Dict[str, str]]] = []  # (time, ticket, status, headers)
    while True:
        action = pacer.next_action(now, started < total)
        if action.kind == START:
            index = action.index if action.index is not None else started
            if action.index is None:
                started += 1
            ticket = pacer.start(now, index)
            most = max(most, pacer.in_flight)
            if int(now // window) != window_index:
                window_index, used = int(now // window), 0
            reset = (window_index + 1) * window - now
            status = 200 if used < limit else 429
            used += status == 200
            limited += status == 429
            headers = {
                "x-ratelimit-remaining-requests": str(limit - used),
                "x-ratelimit-reset-requests": "%dms" % round(reset * 1000),
            }
            if status == 429:
                headers["retry-after-ms"] = str(round(reset * 1000))
            heapq.heappush(answers, (now + latencies[ticket % len(latencies)], ticket, status, headers))
        elif action.kind == DONE:
            return now, limited, most
        else:
            deadline: Optional[float] = None if action.delay is None else now + action.delay
            if answers and (deadline is None or answers[0][0] <= deadline):
                now, ticket, status, headers = heapq.heappop(answers)
                pacer.finish(ticket, now, status=status, headers=headers)
            else:
                assert deadline is not None, "waiting for nothing"
                now = deadline


def test_a_simulated_run_stays_under_the_limit_and_near_the_ideal_time() -> None:
    end, limited, most = simulate(500, 8, limit=50, window=1.0, latencies=[0.05, 0.02, 0.08])
    ideal = 500 / 50 - 1  # ten windows: the last one starts at 9 s
    assert limited == 0 and most == 8
    assert ideal <= end <= 1.2 * ideal


@settings(max_examples=25, deadline=None)
@given(
    concurrency=st.integers(1, 16),
    limit=st.integers(1, 40),
    latencies=st.lists(st.floats(0.001, 0.5), min_size=1, max_size=5),
)
def test_any_simulated_run_finishes_within_concurrency_with_few_429s(
    concurrency: int, limit: int, latencies: List[float]
) -> None:
    end, limited, most = simulate(120, concurrency, limit=limit, window=0.5, latencies=latencies)
    assert most <= concurrency
    # The first round goes out before any header was read; answers slower than the window then
    # carry stale counts, which may cost about one more round while the window shrinks.
    assert limited <= 2 * concurrency
