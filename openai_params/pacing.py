"""Pacing a fan-out of many calls: a state machine with the clock injected. No I/O, no sleeping.

A driver (the thread pool of :mod:`.fanout`, or an asyncio loop) asks the
:class:`Pacer` what to do, tells it when a call starts and when it finishes,
and does nothing else: every decision is here, so both drivers behave the same
and the rules are tested without waiting.

    pacer = Pacer(concurrency=8, max_retries=2)
    while True:
        action = pacer.next_action(clock(), more=new_requests_left)
        if action.kind == START:     # action.index: a request to retry; None: the next new one
            ticket = pacer.start(clock(), index, cost)           # then send it
        elif action.kind == WAIT:    # for a call to finish, at most action.delay s (None: no limit)
            verdict = pacer.finish(ticket, clock(), status=..., headers=..., error_code=...)
            # verdict.final: that result is the request's answer; else it is offered again
        else:                        # DONE
            break

The rules, in the order :meth:`Pacer.next_action` applies them:

1. **Stopped.** After a 429 whose code is ``insufficient_quota`` nothing more
   starts: an empty account is not fixed by waiting. The calls in flight end;
   the driver reports everything else as not sent.
2. **Window.** At most ``window`` calls in flight, an additive-increase /
   multiplicative-decrease window on ``concurrency``: it starts at
   ``concurrency``, halves on a 429 (once per round: 429s from calls that
   started before the last cut do not cut again), never below 1, and grows by
   one per window's worth of successes while the headers show room.
3. **Not before.** A 429 sets a time shared by the whole run before which
   nothing starts: its ``retry-after-ms`` / ``Retry-After``, else the
   ``x-ratelimit-reset-*`` of the exhausted limit, else ``backoff_429``.
4. **Budgets.** ``x-ratelimit-remaining-requests`` / ``-tokens`` and
   ``x-ratelimit-reset-requests`` / ``-tokens`` (``"1s"``, ``"6m0s"``,
   ``"20ms"``) of every answer give what is left until a time. Each start
   spends one request and its estimated tokens from them; when what is left
   cannot pay for the next call, nothing starts until the reset. Within a
   window the answer to the call that started last is believed (the server
   counted it after the others); the calls started after it, and those started
   before it but still out, may not be in its count, so they are taken off
   again: the estimate errs on the side of waiting. The server counts requests
   as they arrive, not as they started (a call on a pooled connection overtakes
   one still connecting), so what is left never goes above the lowest count
   heard in the window less the calls still out. Past its reset a budget is
   forgotten until the next answer says.
5. **Retries first.** A call to retry whose wait is over starts before a new one.

What :meth:`Pacer.finish` decides for each answer (``Verdict``): a success is
final; a 429 is retried after the shared wait, up to ``rate_limit_retries``
times per request (these do not use up ``max_retries``); any other failure is
retried as :func:`.retry.decide_retry` says (408, 409, 5xx, no response), up to
``max_retries``; an ``insufficient_quota`` 429 is final and stops the run.
"""

import heapq
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

from ._checks import check_int, check_number
from .results import RateLimit
from .retry import RetryPolicy, decide_retry, parse_retry_after

__all__ = ["PacingPolicy", "Pacer", "Action", "Verdict", "START", "WAIT", "DONE", "estimate_tokens"]

START = "start"
WAIT = "wait"
DONE = "done"

#: A budget whose reset the server did not say is trusted this long (seconds).
_UNKNOWN_RESET = 1.0
#: Two resets closer than this are the same window (the headers round to milliseconds).
_SAME_WINDOW = 0.05


@dataclass(frozen=True)
class PacingPolicy:
    """The knobs of :class:`Pacer`; the defaults suit OpenAI's limits.

    ``decrease``: the window is multiplied by it on a 429. ``increase``: added to the
    window per window's worth of successes. ``backoff_429``: the shared wait after a 429
    that says nothing of when to come back. ``max_pause``: the longest shared wait
    honoured (a longer ``Retry-After`` is cut to it). ``rate_limit_retries``: 429s a
    request may get before its 429 is its result. ``margin``: added to every wait
    for a reset, so that a call does not arrive a hair before the window turns.
    """

    decrease: float = 0.5
    increase: float = 1.0
    backoff_429: float = 1.0
    max_pause: float = 600.0
    rate_limit_retries: int = 10
    margin: float = 0.01
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        check_number("PacingPolicy.decrease", self.decrease, 0.01, 1)
        for name in ("increase", "backoff_429", "max_pause", "margin"):
            check_number("PacingPolicy." + name, getattr(self, name), 0)
        check_int("PacingPolicy.rate_limit_retries", self.rate_limit_retries, 0)


@dataclass(frozen=True)
class Action:
    """What the driver does next: ``START`` a call (``index``: the request to retry, or
    None for the next new one), ``WAIT`` (for a call to finish, at most ``delay``
    seconds; ``delay`` None: no limit), or ``DONE``."""

    kind: str
    index: Optional[int] = None
    delay: Optional[float] = None


@dataclass(frozen=True)
class Verdict:
    """What became of a finished call: ``final`` (its result is the answer) or not (it
    will be offered again by ``next_action``); ``stop``: the run stops (no new call
    starts); ``reason`` in words, for logs."""

    final: bool
    reason: str
    stop: bool = False


class _Budget:
    """What a server says is left of one limit (requests or tokens) until ``reset_at``, from
    the answer to the call numbered ``seq``, less what was spent since; never more than the
    lowest count heard in the window (``floor``) less what the calls still out spend."""

    __slots__ = ("left", "reset_at", "seq", "floor")

    def __init__(self) -> None:
        self.left: Optional[float] = None
        self.reset_at = 0.0
        self.seq = 0
        self.floor = 0.0

    def forget_if_past(self, now: float) -> None:
        if self.left is not None and now >= self.reset_at:
            self.left = None

    def heard(
        self,
        left: Optional[int],
        reset: Optional[float],
        started_since: float,
        out: float,
        now: float,
        seq: int,
    ) -> None:
        """The answer to call ``seq`` said ``left`` remain until ``reset`` seconds from now;
        ``started_since`` were spent by calls started after it (perhaps not counted in it),
        ``out`` is what the calls still in flight spend.

        Within a window, the answer to the call that started last is the one that knows
        most: the server counted it after the others. An older one is ignored. But the
        server counts requests as they arrive, not always in the order they started (a call
        on a new connection is overtaken by one on a pooled connection): so what is left is
        never more than the lowest count heard in the window, the latest the server made,
        less what the calls still out spend."""
        if left is None:
            return
        reset_at = now + (reset if reset is not None else _UNKNOWN_RESET)
        if self.left is None or reset_at > self.reset_at + _SAME_WINDOW:  # a new window
            self.left, self.reset_at, self.seq, self.floor = left - started_since, reset_at, seq, left
            return
        if seq > self.seq:
            self.left, self.reset_at, self.seq = left - started_since, reset_at, seq
        self.floor = min(self.floor, left)
        self.left = min(self.left, self.floor - out)

    def spend(self, amount: float) -> None:
        if self.left is not None:
            self.left -= amount

    def blocks(self, amount: float, now: float) -> bool:
        return self.left is not None and self.left < amount and now < self.reset_at


@dataclass
class _Call:
    index: int
    seq: int
    cost: float
    max_retries: int
    requests: int


class Pacer:
    """The pacing state of one fan-out (see the module docstring for the rules).

    ``now`` arguments are seconds on any clock that only moves forward
    (``time.monotonic()``); the same clock for every call.
    """

    def __init__(self, concurrency: int, max_retries: int = 2, policy: Optional[PacingPolicy] = None) -> None:
        check_int("concurrency", concurrency, 1)
        check_int("max_retries", max_retries, 0)
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.policy = policy if policy is not None else PacingPolicy()
        self.window = float(concurrency)
        self.not_before = 0.0
        #: why the run stopped (None while it runs)
        self.stopped: Optional[str] = None
        #: 429 answers seen (rate limits, quota included)
        self.rate_limited = 0
        #: attempts made again (429s and other retried failures)
        self.retried = 0
        self._requests = _Budget()
        self._tokens = _Budget()
        self._in_flight: Dict[int, _Call] = {}
        self._seq = 0
        self._cut_seq = 0  # calls started up to this one had started before the last cut
        self._retry_heap: List[Tuple[float, int, int]] = []  # (ready at, order, index)
        self._attempts: Dict[int, int] = {}  # index -> attempts that failed (not 429)
        self._limited: Dict[int, int] = {}  # index -> 429s
        self._cost = 0.0  # the estimated tokens of the next call: the mean so far

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def pending_retries(self) -> List[int]:
        """The requests waiting to be sent again (what is left unsent when the run stops)."""
        return [index for _, _, index in sorted(self._retry_heap)]

    # -- what to do next ---------------------------------------------------------------------------
    def next_action(self, now: float, more: bool) -> Action:
        """``more``: new requests remain to be started."""
        self._requests.forget_if_past(now)
        self._tokens.forget_if_past(now)
        if self.stopped is not None or not (self._retry_heap or more):  # nothing more starts
            return Action(WAIT) if self._in_flight else Action(DONE)
        if len(self._in_flight) >= max(1, int(self.window)):
            return Action(WAIT)
        gate = self.not_before
        if self._requests.blocks(1, now):
            gate = max(gate, self._requests.reset_at + self.policy.margin)
        if self._tokens.blocks(max(self._cost, 1.0), now):
            gate = max(gate, self._tokens.reset_at + self.policy.margin)
        if gate > now:
            return Action(WAIT, delay=gate - now)
        if self._retry_heap and self._retry_heap[0][0] <= now:
            return Action(START, index=heapq.heappop(self._retry_heap)[2])
        if more:
            return Action(START)
        return Action(WAIT, delay=self._retry_heap[0][0] - now)

    def start(
        self,
        now: float,
        index: int,
        cost: float = 0.0,
        max_retries: Optional[int] = None,
        requests: int = 1,
    ) -> int:
        """A call of request ``index`` starts; ``cost`` is its estimated tokens, ``requests``
        the HTTP requests it makes (more than one when a profile emulates ``n``). Returns its
        ticket, for :meth:`finish`. ``max_retries`` for this request (default: the pacer's)."""
        self._seq += 1
        ticket = self._seq
        retries = self.max_retries if max_retries is None else max_retries
        self._in_flight[ticket] = _Call(index, ticket, cost, retries, requests)
        self._requests.spend(requests)
        self._tokens.spend(cost)
        self._cost += (cost - self._cost) / ticket
        return ticket

    def finish(
        self,
        ticket: int,
        now: float,
        *,
        status: Optional[int],
        headers: Mapping[str, str],
        error_code: Optional[str] = None,
    ) -> Verdict:
        """The call ``ticket`` ended: ``status`` None when no answer came; ``headers`` with
        lower-case names; ``error_code`` the error's code or type (``insufficient_quota``)."""
        call = self._in_flight.pop(ticket)
        limits = RateLimit(headers) if headers else None
        if limits:
            # Not in the count this answer gives, perhaps: the calls started after this one,
            # and those started before it that are still out (they may have reached the
            # server after it, on another connection).
            out = self._in_flight.values()
            started_since = self._seq - call.seq + sum(1 for c in out if c.seq < call.seq)
            self._requests.heard(
                limits.remaining_requests,
                limits.reset_requests_seconds,
                started_since,
                sum(c.requests for c in out),
                now,
                call.seq,
            )
            self._tokens.heard(
                limits.remaining_tokens,
                limits.reset_tokens_seconds,
                started_since * self._cost,
                sum(c.cost for c in out),
                now,
                call.seq,
            )
        if status == 429 and error_code == "insufficient_quota":
            self.rate_limited += 1
            self.stopped = "429 insufficient_quota: the account has no credit left; nothing more is sent"
            return Verdict(True, self.stopped, stop=True)
        if status == 429:
            return self._rate_limited(call, now, headers, limits)
        if status is not None and 200 <= status < 300:
            if self._has_room():
                self.window = min(float(self.concurrency), self.window + self.policy.increase / self.window)
            self._forget(call.index)
            return Verdict(True, "success")
        attempts = self._attempts.get(call.index, 0) + 1
        decision = decide_retry(
            self.policy.retry,
            status=status,
            headers=headers,
            body=b"",
            attempt=attempts,
            max_retries=call.max_retries,
            error=error_code,
        )
        if not decision.retry:
            self._forget(call.index)
            return Verdict(True, decision.reason)
        self._attempts[call.index] = attempts
        self._retry(call.index, now + decision.delay)
        return Verdict(False, decision.reason)

    # -- the rules' parts ---------------------------------------------------------------------------
    def _rate_limited(
        self, call: _Call, now: float, headers: Mapping[str, str], limits: Optional[RateLimit]
    ) -> Verdict:
        self.rate_limited += 1
        wait = parse_retry_after(headers)
        source = "Retry-After"
        if wait is None and limits:
            resets = []
            if limits.remaining_requests == 0 and limits.reset_requests_seconds is not None:
                resets.append(limits.reset_requests_seconds)
            if limits.remaining_tokens == 0 and limits.reset_tokens_seconds is not None:
                resets.append(limits.reset_tokens_seconds)
            if resets:
                wait, source = max(resets), "x-ratelimit-reset"
        if wait is None:
            wait, source = self.policy.backoff_429, "backoff"
        wait = min(wait, self.policy.max_pause)
        self.not_before = max(self.not_before, now + wait + self.policy.margin)
        if call.seq > self._cut_seq:  # once per round: calls already out do not cut again
            self.window = max(1.0, self.window * self.policy.decrease)
            self._cut_seq = self._seq
        limited = self._limited.get(call.index, 0) + 1
        if limited > self.policy.rate_limit_retries:
            self._forget(call.index)
            return Verdict(True, "429: still rate limited after %d retries" % self.policy.rate_limit_retries)
        self._limited[call.index] = limited
        self._retry(call.index, self.not_before)
        return Verdict(False, "429: everything waits %.3g s (%s); window %d" % (wait, source, self.window))

    def _has_room(self) -> bool:
        """The headers (if any) leave room for a larger window."""
        for budget, per_call in ((self._requests, 1.0), (self._tokens, max(self._cost, 1.0))):
            if budget.left is not None and budget.left < (self.window + 1) * per_call:
                return False
        return True

    def _retry(self, index: int, ready_at: float) -> None:
        self.retried += 1
        heapq.heappush(self._retry_heap, (ready_at, self._seq, index))

    def _forget(self, index: int) -> None:
        self._attempts.pop(index, None)
        self._limited.pop(index, None)


def estimate_tokens(body: bytes) -> int:
    """A generous guess of the tokens a chat request's JSON ``body`` counts against a
    tokens-per-minute limit: the whole body at three bytes a token, plus the completion
    it may ask for (``max_completion_tokens`` or ``max_tokens``, times ``n``). Servers
    count the prompt roughly and the whole completion allowance up front."""
    import json

    try:
        parsed = json.loads(body.decode("utf-8"))
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return len(body) // 3
    most = parsed.get("max_completion_tokens") or parsed.get("max_tokens") or 0
    n = parsed.get("n") or 1
    if not isinstance(most, int) or not isinstance(n, int):
        most, n = 0, 1
    return len(body) // 3 + most * n
