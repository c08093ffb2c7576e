"""Redaction: one function decides what is hidden and how it is shown."""

import pytest

from openai_params._redact import redact, redact_text, redact_url, redacted_headers

KEY = "sk-proj-SECRETSECRETSECRET1234"


def test_redact_keeps_the_scheme_and_the_ends_of_a_long_secret() -> None:
    assert redact("Bearer " + KEY) == "Bearer sk-...1234"
    assert redact(KEY) == "sk-...1234"


@pytest.mark.parametrize("secret", ["pw", "hunter2", "0123456789abcdefghi"])
def test_redact_hides_a_short_secret_whole(secret: str) -> None:
    assert redact(secret) == "***"
    assert redact("Basic " + secret) == "Basic ***"


def test_redact_keeps_only_a_known_auth_scheme() -> None:
    # The first word of a pass phrase is part of the secret, not a scheme.
    shown = redact("correct horse battery staple")
    assert "correct" not in shown and "horse" not in shown


def test_redact_text_hides_given_secrets_and_key_shaped_text() -> None:
    password = "not-key-shaped-but-secret"
    text = redact_text("failed with %s and %s" % (password, KEY), [password])
    assert password not in text and KEY not in text
    assert redact_text(text, [password]) == text  # twice changes nothing


def test_redacted_headers_keeps_names_order_and_none() -> None:
    shown = redacted_headers({"X-Trace": "t", "api-key": KEY, "Authorization": None})
    assert list(shown) == ["X-Trace", "api-key", "Authorization"]
    assert shown == {"X-Trace": "t", "api-key": "sk-...1234", "Authorization": None}


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://alice:pw@host/v1", "http://alice:***@host/v1"),
        ("http://alice:%s@host:8080/v1?x=1" % KEY, "http://alice:sk-...1234@host:8080/v1?x=1"),
        ("https://%s@host/v1" % KEY, "https://sk-...1234@host/v1"),
        ("http://host/v1?api-version=2024&key=abc", "http://host/v1?api-version=2024&key=%2A%2A%2A"),
        ("http://u:p@host/v1?api_key=abc#top", "http://u:***@host/v1?api_key=%2A%2A%2A#top"),
        ("http://host/a@b", "http://host/a@b"),  # an @ in the path is not userinfo
        ("http://host/v1?q=1", "http://host/v1?q=1"),
        ("not a url", "not a url"),
        ("", ""),
    ],
)
def test_redact_url_hides_userinfo_and_secret_query_values(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize("url", ["http://[::1", "http://a:b:c@@host:x/%zz?%%&=&key", "://@?#"])
def test_redact_url_never_raises(url: str) -> None:
    assert isinstance(redact_url(url), str)
