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

    >>> decide_retry(RetryPolicy(), status=429, headers={"retry-after-ms": "250"}, body=b"",
    ...              attempt=1, max_retries=2)
    RetryDecision(retry=True, delay=0.25, reason='429 Too Many Requests: retry-after-ms 250', retry_after=0.25)
"""

import json
import random
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

__all__ = ["RetryPolicy", "RetryDecision", "decide_retry", "parse_retry_after"]

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
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError("RetryPolicy.%s must be a number of seconds >= 0 (got %r)"
                                 % (name, value))
        if (isinstance(self.jitter, bool) or not isinstance(self.jitter, (int, float))
                or not 0 <= self.jitter <= 1):
            raise ValueError("RetryPolicy.jitter must be between 0 and 1 (got %r)" % (self.jitter,))

    def backoff(self, retry_number: int, rand: Callable[[], float] = random.random) -> float:
        """The wait before retry number ``retry_number`` (1 for the first retry)."""
        delay = min(self.initial_delay * (2.0 ** max(retry_number - 1, 0)), self.max_delay)
        return delay * (1.0 - self.jitter * rand())


@dataclass(frozen=True)
class RetryDecision:
    """``retry``: try again after ``delay`` seconds. ``reason`` says why, in words, for
    logs and error messages. ``retry_after`` is what the server asked for, if it did,
    even when it was too long to honour."""

    retry: bool
    delay: float
    reason: str
    retry_after: Optional[float] = None


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


def _status_text(status: int) -> str:
    from http import HTTPStatus  # the enum only

    try:
        return "%d %s" % (status, HTTPStatus(status).phrase)
    except ValueError:
        return str(status)


def decide_retry(policy: RetryPolicy, *, status: Optional[int], headers: Mapping[str, str],
                 body: bytes, attempt: int, max_retries: int, error: Optional[str] = None,
                 now: Optional[float] = None,
                 rand: Callable[[], float] = random.random) -> RetryDecision:
    """Whether to retry after attempt number ``attempt`` (1 for the first), and the wait.

    ``status`` is None when no response came (``error`` then names what happened, e.g.
    ``"ConnectionResetError"``); ``headers`` has lower-case keys; ``body`` is the response
    body (read for 429 ``insufficient_quota``). ``now`` and ``rand`` make it deterministic
    in tests.
    """
    if status is not None and 200 <= status < 400:
        why = "success" if status < 300 else "redirects are never followed"
        return RetryDecision(False, 0.0, "%s: %s" % (_status_text(status), why))
    what = _status_text(status) if status is not None else (error or "connection error")
    retry_after = parse_retry_after(headers, now) if status is not None else None

    should = headers.get("x-should-retry") if status is not None else None
    if should is not None and should.strip().lower() in ("true", "false"):
        retryable = should.strip().lower() == "true"
        why = "x-should-retry: %s" % should.strip().lower()
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
        return RetryDecision(False, 0.0, "%s: no retries left (max_retries=%d)" % (what, max_retries),
                             retry_after)
    if retry_after is not None:
        source = "retry-after-ms" if "retry-after-ms" in headers and _number(
            headers["retry-after-ms"]) is not None else "retry-after"
        if retry_after > policy.max_retry_after:
            return RetryDecision(
                False, 0.0, "%s: the server asked to wait %.3g s (%s), more than the %.3g s cap"
                % (what, retry_after, source, policy.max_retry_after), retry_after)
        return RetryDecision(True, retry_after, "%s: %s %s" % (what, source, headers[source].strip()),
                             retry_after)
    delay = policy.backoff(attempt, rand)
    return RetryDecision(True, delay, "%s: %s, backoff %.3g s" % (what, why, delay))
