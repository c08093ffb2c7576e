"""When to retry a failed attempt, and how long to wait first. Pure: no I/O, no sleeping.

The rules, in the order they apply (:func:`decide_retry`):

1. A 2xx is a success and a 3xx is never followed, so neither is retried.
2. ``x-should-retry: true`` / ``false`` from the server decides first.
3. A connection error or a timeout before any response is retried; so are
   408, 409, 429 and every 5xx. Nothing else is: 400, 401, 403, 404 and 422
   cannot get better by waiting, nor can a 429 whose error code or type is
   ``insufficient_quota`` (an empty account).
4. No retry once ``max_retries`` retries were made.
5. The wait: ``retry-after-ms``, else ``Retry-After`` (seconds or an HTTP
   date), when the server sent one; if it asks for more than
   ``max_retry_after`` (60 s) the attempt is not retried and the decision says
   how long it asked for. Otherwise exponential backoff: ``initial_delay``
   doubling per retry, capped at ``max_delay``, minus up to ``jitter`` of it
   at random so that many clients do not retry in step.

    >>> decision = decide_retry(RetryPolicy(), status=429, headers={"retry-after-ms": "250"},
    ...                         body=b"", attempt=1, max_retries=2)
    >>> decision.retry, decision.delay, decision.reason
    (True, 0.25, '429 Too Many Requests: retry-after-ms 250')

An attempt that got no response is described by an :class:`AttemptFailure`
(what failed, whether the whole request had been written, whether the
connection came from the pool) and :func:`decide_failure` applies three rules
before those above (see ``_FAILURE_RULES``): a TLS certificate that failed
verification is never retried; a pooled connection the server had closed
before the request was completely written is sent again at once on a new
connection, without using up a retry (the server cannot have acted on a
request it did not get whole); a timeout once the answer had begun is not
retried. Anything else, including a connection that breaks after the request
was written, is an ordinary attempt under ``max_retries``: the server may
have read it, so a POST is never sent twice for free.
"""

import json
import random
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Mapping, Optional, Tuple

from ._checks import check_number

__all__ = [
    "RetryPolicy",
    "RetryDecision",
    "AttemptFailure",
    "decide_retry",
    "decide_failure",
    "parse_retry_after",
]

RETRY_STATUSES = frozenset((408, 409, 429))  # and every 5xx
NEVER_RETRY_STATUSES = frozenset((400, 401, 403, 404, 422))


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait between attempts; the number of retries is a per-call setting.

    ``initial_delay`` seconds before the first retry, doubling each time, at most
    ``max_delay``; ``jitter`` is the fraction taken off at random (0.25: the wait is
    75-100 % of the backoff); a server's ``Retry-After`` is honoured up to
    ``max_retry_after`` seconds.
    """

    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        for name in ("initial_delay", "max_delay", "max_retry_after"):
            check_number(
                "RetryPolicy." + name, getattr(self, name), 0, allowed="a finite number of seconds >= 0"
            )
        check_number("RetryPolicy.jitter", self.jitter, 0, 1)

    def backoff(self, retry_number: int, rand: Callable[[], float] = random.random) -> float:
        """The wait before retry number ``retry_number`` (1 for the first retry)."""
        delay = min(self.initial_delay * (2.0 ** max(retry_number - 1, 0)), self.max_delay)
        return delay * (1.0 - self.jitter * rand())


@dataclass(frozen=True)
class RetryDecision:
    """``retry``: try again after ``delay`` seconds. ``reason`` says why, in words, for
    logs and error messages. ``retry_after`` is what the server asked for, if it did,
    even when it was too long to honour. ``counted`` is False only for a re-send the
    server never saw (see :func:`decide_failure`): it does not use up a retry."""

    retry: bool
    delay: float
    reason: str
    retry_after: Optional[float] = None
    counted: bool = True


@dataclass(frozen=True)
class AttemptFailure:
    """How an attempt failed without a usable response, in the terms the decision needs.

    ``cause``: the low-level exception (``ConnectionResetError``, ``socket.timeout``,
    ``ssl.SSLCertVerificationError``, ...). ``timed_out``: it was a timeout. ``written``:
    the whole request had been handed to the connection. ``reused``: the connection came
    from the pool (it had carried an earlier request). ``answered``: the status line and
    headers had arrived, and reading the body failed.
    """

    cause: Optional[BaseException]
    timed_out: bool = False
    written: bool = False
    reused: bool = False
    answered: bool = False


def _certificate(failure: AttemptFailure) -> bool:
    """TLS verification failed (by class name, so that ``ssl`` need not be imported here)."""
    return failure.cause is not None and any(
        cls.__name__ in ("SSLCertVerificationError", "CertificateError")
        for cls in type(failure.cause).__mro__
    )


def _stale(failure: AttemptFailure) -> bool:
    """A pooled connection the server had closed, found out before the request was all
    written: reset, broken pipe, aborted (all ConnectionError), or a TLS EOF. RFC 9112,
    9.3.1: a server may close an idle connection at any time."""
    cause = failure.cause
    closed = isinstance(cause, ConnectionError) or type(cause).__name__ == "SSLEOFError"
    return failure.reused and not failure.written and not failure.timed_out and closed


def _timed_out_mid_body(failure: AttemptFailure) -> bool:
    return failure.timed_out and failure.answered


# The rules decide_failure applies first, in order: (applies?, retry?, counted?, reason).
_FAILURE_RULES: Tuple[Tuple[Callable[[AttemptFailure], bool], bool, bool, str], ...] = (
    (_certificate, False, True, "TLS certificate verification failed: it would fail again"),
    (
        _stale,
        True,
        False,
        "the pooled connection was closed by the server before the request "
        "was written; sent again on a new connection (not a retry)",
    ),
    (_timed_out_mid_body, False, True, "timed out reading the body: the answer had begun"),
)


def parse_retry_after(headers: Mapping[str, str], now: Optional[float] = None) -> Optional[float]:
    """Seconds the server asked to wait, from ``retry-after-ms`` or ``Retry-After``.

    ``headers`` keys must be lower-case. ``Retry-After`` is ``delay-seconds`` or an
    ``HTTP-date`` (RFC 9110, 10.2.3); a date in the past gives 0. Unreadable values
    are ignored (None). ``now`` (epoch seconds) is for tests.

    >>> parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470.0)
    10.0
    """
    value = headers.get("retry-after-ms")
    if value is not None:
        seconds = _number(value)
        if seconds is not None:
            return seconds / 1000.0
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    import email.utils  # only when a server sends a date: keeps "import openai_params" light

    try:
        parsed = email.utils.parsedate_tz(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    when = email.utils.mktime_tz(parsed)
    return max(0.0, when - (time.time() if now is None else now))


def _number(text: str) -> Optional[float]:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    if value != value or value < 0 or value == float("inf"):  # NaN, negative, inf
        return None
    return value


def _error_code(body: bytes) -> Optional[str]:
    """``insufficient_quota`` (or another code/type) from an OpenAI error body, if readable."""
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        return None
    for key in ("code", "type"):
        if error.get(key) == "insufficient_quota":
            return "insufficient_quota"
    return None


@lru_cache(maxsize=128)  # the enum look-up is slow, and each call needs it
def _status_text(status: int) -> str:
    """``"429 Too Many Requests"``; the number alone for a status without a standard phrase."""
    from http import HTTPStatus  # the enum only; http.client is never imported here

    try:
        return "%d %s" % (status, HTTPStatus(status).phrase)
    except ValueError:
        return str(status)


@lru_cache(maxsize=128)  # one decision per status, made once: most responses are a 200
def _final(status: int) -> RetryDecision:
    """The decision for a 2xx (a success) or a 3xx (never followed): never retried."""
    why = "success" if status < 300 else "redirects are never followed"
    return RetryDecision(False, 0.0, "%s: %s" % (_status_text(status), why))


def decide_failure(
    policy: RetryPolicy,
    failure: AttemptFailure,
    *,
    attempt: int,
    max_retries: int,
    rand: Callable[[], float] = random.random,
) -> RetryDecision:
    """Whether to retry after an attempt that got no usable response (see the module docs).

    >>> decide_failure(RetryPolicy(), AttemptFailure(BrokenPipeError(), reused=True),
    ...                attempt=1, max_retries=0).counted
    False
    """
    name = type(failure.cause).__name__ if failure.cause is not None else "connection error"
    for applies, retry, counted, why in _FAILURE_RULES:
        if applies(failure):
            return RetryDecision(retry, 0.0, "%s: %s" % (name, why), counted=counted)
    return decide_retry(
        policy,
        status=None,
        headers={},
        body=b"",
        attempt=attempt,
        max_retries=max_retries,
        error=name,
        rand=rand,
    )


def decide_retry(
    policy: RetryPolicy,
    *,
    status: Optional[int],
    headers: Mapping[str, str],
    body: bytes,
    attempt: int,
    max_retries: int,
    error: Optional[str] = None,
    now: Optional[float] = None,
    rand: Callable[[], float] = random.random,
) -> RetryDecision:
    """Whether to retry after attempt number ``attempt`` (1 for the first), and the wait.

    ``status`` is None when no response came (``error`` then names what happened, e.g.
    ``"ConnectionResetError"``); ``headers`` has lower-case keys; ``body`` is the response
    body (read for 429 ``insufficient_quota``). ``now`` and ``rand`` make it deterministic
    in tests.
    """
    if status is not None and 200 <= status < 400:
        return _final(status)
    what = _status_text(status) if status is not None else (error or "connection error")
    retry_after = parse_retry_after(headers, now) if status is not None else None

    should = headers.get("x-should-retry", "").strip().lower() if status is not None else ""
    if should in ("true", "false"):
        retryable, why = should == "true", "x-should-retry: " + should
    elif status is None:
        retryable, why = True, "no response"
    elif status == 429 and _error_code(body) == "insufficient_quota":
        retryable, why = False, "insufficient_quota: waiting cannot fix an empty account"
    elif status in RETRY_STATUSES or status >= 500:
        retryable, why = True, "retryable status"
    elif status in NEVER_RETRY_STATUSES:
        retryable, why = False, "never retried"
    else:
        retryable, why = False, "not a retryable status"

    if not retryable:
        return RetryDecision(False, 0.0, "%s: %s" % (what, why), retry_after)
    if attempt > max_retries:
        return RetryDecision(
            False, 0.0, "%s: no retries left (max_retries=%d)" % (what, max_retries), retry_after
        )
    if retry_after is not None:
        source = (
            "retry-after-ms"
            if "retry-after-ms" in headers and _number(headers["retry-after-ms"]) is not None
            else "retry-after"
        )
        if retry_after > policy.max_retry_after:
            return RetryDecision(
                False,
                0.0,
                "%s: the server asked to wait %.3g s (%s), more than the %.3g s cap"
                % (what, retry_after, source, policy.max_retry_after),
                retry_after,
            )
        return RetryDecision(
            True, retry_after, "%s: %s %s" % (what, source, headers[source].strip()), retry_after
        )
    delay = policy.backoff(attempt, rand)
    return RetryDecision(True, delay, "%s: %s, backoff %.3g s" % (what, why, delay))
