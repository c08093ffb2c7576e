"""The pure retry policy (openai_params/retry.py)."""

import email.utils
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openai_params.retry import (
    AttemptFailure,
    RetryDecision,
    RetryPolicy,
    decide_failure,
    decide_retry,
    parse_retry_after,
)

POLICY = RetryPolicy()
NOW = 1_700_000_000.0


def decide(
    status: Optional[int],
    headers: Optional[Dict[str, str]] = None,
    body: bytes = b"",
    attempt: int = 1,
    max_retries: int = 2,
    policy: RetryPolicy = POLICY,
) -> RetryDecision:
    return decide_retry(
        policy,
        status=status,
        headers=headers or {},
        body=body,
        attempt=attempt,
        max_retries=max_retries,
        now=NOW,
        rand=lambda: 0.0,
    )


@pytest.mark.parametrize("status", [None, 408, 409, 429, 500, 502, 503, 504, 599])
def test_retryable(status: Optional[int]) -> None:
    decision = decide(status)
    assert decision.retry and decision.delay == 0.5


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 405, 413, 418])
def test_not_retryable(status: int) -> None:
    decision = decide(status)
    assert not decision.retry and decision.delay == 0.0
    assert str(status) in decision.reason


@pytest.mark.parametrize("status", [200, 201, 204, 301, 302, 307, 308])
def test_success_and_redirects_are_final(status: int) -> None:
    assert not decide(status).retry
    if status >= 300:
        assert "never followed" in decide(status).reason


def test_connection_error_reason_names_the_error() -> None:
    decision = decide_retry(
        POLICY,
        status=None,
        headers={},
        body=b"",
        attempt=1,
        max_retries=1,
        error="ConnectionResetError",
        rand=lambda: 0.0,
    )
    assert decision.retry and "ConnectionResetError" in decision.reason


@pytest.mark.parametrize("field", ["code", "type"])
def test_insufficient_quota_is_not_retried(field: str) -> None:
    body = json.dumps(
        {"error": {"message": "You exceeded your current quota", field: "insufficient_quota"}}
    ).encode()
    decision = decide(429, body=body)
    assert not decision.retry and "insufficient_quota" in decision.reason
    assert decide(429, body=json.dumps({"error": {"code": "rate_limit_exceeded"}}).encode()).retry


def test_x_should_retry_decides_first() -> None:
    assert not decide(500, {"x-should-retry": "false"}).retry
    assert decide(400, {"x-should-retry": "true"}).retry
    assert decide(503, {"x-should-retry": "TRUE "}).retry
    assert decide(503, {"x-should-retry": "maybe"}).retry  # unknown value: the status decides
    assert "x-should-retry" in decide(500, {"x-should-retry": "false"}).reason


def test_retry_after_ms() -> None:
    decision = decide(429, {"retry-after-ms": "250"})
    assert decision == RetryDecision(True, 0.25, decision.reason, 0.25)
    assert "retry-after-ms 250" in decision.reason


def test_retry_after_seconds() -> None:
    decision = decide(503, {"retry-after": "3"})
    assert decision.retry and decision.delay == 3.0 and decision.retry_after == 3.0


def test_retry_after_http_date() -> None:
    when = email.utils.formatdate(NOW + 20, usegmt=True)
    decision = decide(429, {"retry-after": when})
    assert decision.retry and decision.delay == pytest.approx(20.0)


def test_retry_after_date_in_the_past_is_zero() -> None:
    when = email.utils.formatdate(NOW - 20, usegmt=True)
    assert decide(429, {"retry-after": when}).delay == 0.0


def test_retry_after_ms_wins_over_retry_after() -> None:
    assert decide(429, {"retry-after-ms": "100", "retry-after": "30"}).delay == 0.1


def test_unreadable_retry_after_falls_back_to_backoff() -> None:
    for value in ("soon", "-5", "nan", "inf", ""):
        decision = decide(429, {"retry-after": value})
        assert decision.retry and decision.delay == 0.5 and decision.retry_after is None


def test_longer_than_the_cap_is_not_retried_and_says_how_long() -> None:
    decision = decide(429, {"retry-after": "120"})
    assert not decision.retry
    assert decision.retry_after == 120.0
    assert "120" in decision.reason and "60" in decision.reason
    assert decide(429, {"retry-after": "60"}).retry  # the cap itself is honoured


def test_cap_is_configurable() -> None:
    assert not decide(429, {"retry-after": "5"}, policy=RetryPolicy(max_retry_after=2)).retry


def test_no_retries_left() -> None:
    assert decide(500, attempt=2, max_retries=2).retry
    last = decide(500, attempt=3, max_retries=2)
    assert not last.retry and "no retries left" in last.reason
    assert not decide(None, max_retries=0).retry
    assert decide(429, {"retry-after": "3"}, attempt=3, max_retries=2).retry_after == 3.0


def test_exponential_backoff_doubles_and_caps() -> None:
    delays = [decide(500, attempt=n, max_retries=10).delay for n in range(1, 8)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_jitter_takes_off_up_to_a_quarter() -> None:
    policy = RetryPolicy()
    assert policy.backoff(1, lambda: 0.0) == 0.5
    assert policy.backoff(1, lambda: 1.0) == pytest.approx(0.375)


@given(attempt=st.integers(min_value=1, max_value=60), r=st.floats(min_value=0, max_value=1))
def test_backoff_bounds(attempt: int, r: float) -> None:
    delay = POLICY.backoff(attempt, lambda: r)
    base = min(0.5 * 2 ** (attempt - 1), 8.0)
    assert 0.75 * base - 1e-9 <= delay <= base + 1e-9


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("initial_delay", -1, ValueError),
        ("max_delay", "8", TypeError),
        ("max_retry_after", True, TypeError),
        ("max_retry_after", float("inf"), ValueError),
        ("initial_delay", float("nan"), ValueError),
        ("jitter", 1.5, ValueError),
    ],
)
def test_policy_validation(field: str, value: object, error: type) -> None:
    # The package's one message form: "<field> must be <what is allowed> (got <value>)".
    with pytest.raises(error, match=r"^RetryPolicy\.%s must be .* \(got " % field):
        options: Dict[str, Any] = {field: value}
        RetryPolicy(**options)


# -- attempts without a response: decide_failure ----------------------------------------------------
def failed(cause: Optional[BaseException], **how: Any) -> RetryDecision:
    return decide_failure(POLICY, AttemptFailure(cause, **how), attempt=1, max_retries=0, rand=lambda: 0.0)


class SSLEOFError(OSError):
    """Stands for ssl.SSLEOFError (matched by name, so that retry.py never imports ssl)."""


class SSLCertVerificationError(ValueError):
    """Stands for ssl.SSLCertVerificationError."""


@pytest.mark.parametrize(
    "cause", [BrokenPipeError(), ConnectionResetError(), ConnectionAbortedError(), SSLEOFError()]
)
def test_a_pooled_connection_closed_before_the_request_was_written_is_resent_free(
    cause: BaseException,
) -> None:
    decision = failed(cause, reused=True, written=False)
    assert decision.retry and not decision.counted and decision.delay == 0.0
    assert type(cause).__name__ in decision.reason and "not a retry" in decision.reason


@pytest.mark.parametrize(
    "how",
    [
        {"reused": True, "written": True},  # the server may have read it: a POST is not sent twice
        {"reused": True, "written": True, "answered": True},
        {"reused": False, "written": False},  # a new connection that fails is a real failure
    ],
)
def test_otherwise_a_connection_failure_is_an_ordinary_attempt(how: Dict[str, bool]) -> None:
    decision = failed(ConnectionResetError(), **how)
    assert decision.counted
    assert not decision.retry and "no retries left (max_retries=0)" in decision.reason
    again = decide_failure(
        POLICY, AttemptFailure(ConnectionResetError(), **how), attempt=1, max_retries=1, rand=lambda: 0.0
    )
    assert again.retry and again.counted and again.delay == 0.5


def test_a_timeout_is_never_a_stale_connection() -> None:
    decision = failed(TimeoutError(), timed_out=True, reused=True, written=False)
    assert decision.counted and not decision.retry


def test_a_timeout_once_the_answer_had_begun_is_not_retried() -> None:
    decision = decide_failure(
        POLICY,
        AttemptFailure(TimeoutError(), timed_out=True, written=True, answered=True),
        attempt=1,
        max_retries=5,
    )
    assert not decision.retry and "the answer had begun" in decision.reason


def test_a_failed_certificate_is_never_retried() -> None:
    decision = decide_failure(POLICY, AttemptFailure(SSLCertVerificationError()), attempt=1, max_retries=5)
    assert not decision.retry and "certificate" in decision.reason


def test_a_timeout_before_any_answer_is_retried() -> None:
    decision = decide_failure(
        POLICY,
        AttemptFailure(TimeoutError(), timed_out=True, written=True),
        attempt=1,
        max_retries=1,
        rand=lambda: 0.0,
    )
    assert decision.retry and decision.counted and "TimeoutError" in decision.reason


def test_parse_retry_after_reads_lower_case_keys() -> None:
    assert parse_retry_after({"retry-after-ms": "10"}) == 0.01
    assert parse_retry_after({"retry-after-ms": "x", "retry-after": "2"}) == 2.0
    assert parse_retry_after({}) is None


def test_importing_does_not_load_email() -> None:
    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys; import openai_params.retry, openai_params.errors, openai_params.transport; "
        "print([m for m in ('email', 'email.utils', 'ssl', 'http.client', 'urllib.request') "
        "if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=str(root), check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "status, reason",
    [
        (200, "200 OK: success"),
        (201, "201 Created: success"),
        (299, "299: success"),  # no standard phrase: the number alone
        (304, "304 Not Modified: redirects are never followed"),
    ],
)
def test_a_2xx_or_3xx_is_never_retried_whatever_the_headers_say(status: int, reason: str) -> None:
    for headers in ({}, {"x-should-retry": "true", "retry-after": "1"}):
        for attempt in (1, 3):
            decision = decide_retry(
                RetryPolicy(), status=status, headers=headers, body=b"", attempt=attempt, max_retries=2
            )
            assert decision == RetryDecision(False, 0.0, reason)
