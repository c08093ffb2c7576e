"""Request building: URL, headers and body, pure (no I/O)."""

import json

from openai_params._redact import redact, redacted_headers
from openai_params.request import USER_AGENT, build_headers, build_request, build_url

KEY = "sk-test-0123456789abcdefghij"


def test_build_url_joins_and_encodes_query() -> None:
    assert build_url("http://h/v1/", "/chat/completions") == "http://h/v1/chat/completions"
    assert (
        build_url("http://h/v1", "models", {"limit": 2, "after": None, "flag": True})
        == "http://h/v1/models?limit=2&flag=true"
    )
    assert build_url("http://h/v1?api-version=1", "x", {"a": "b c"}) == "http://h/v1/x?api-version=1&a=b+c"


def test_headers_minimal_without_key() -> None:
    headers = build_headers(api_key=None, organization=None, project=None)
    assert set(headers) == {"User-Agent", "Content-Type"}
    assert headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("openai_params/") and " Python/3." in USER_AGENT
    assert "Content-Type" not in build_headers(api_key=None, organization=None, project=None, has_body=False)


def test_headers_key_org_project_then_defaults_then_extra() -> None:
    headers = build_headers(
        api_key=KEY,
        organization="org-1",
        project="proj-1",
        default_headers={"X-A": "default", "x-b": "default"},
        extra_headers={"x-a": "extra", "User-Agent": None},
    )
    assert headers["Authorization"] == "Bearer " + KEY
    assert headers["OpenAI-Organization"] == "org-1"
    assert headers["OpenAI-Project"] == "proj-1"
    assert headers["x-a"] == "extra" and "X-A" not in headers
    assert headers["x-b"] == "default"
    assert "User-Agent" not in headers


def test_redaction_hides_the_key() -> None:
    assert KEY not in redact("Bearer " + KEY)
    assert redact("Bearer " + KEY).startswith("Bearer sk-")
    assert redact("short") == "***"
    shown = redacted_headers({"Authorization": "Bearer " + KEY, "api-key": KEY, "X-Trace": "t"})
    assert KEY not in json.dumps(shown)
    assert shown["X-Trace"] == "t"


def test_body_is_compact_utf8() -> None:
    request = build_request("POST", "http://h/v1/x", {}, {"a": "é", "b": [1, 2]})
    assert request.body == '{"a":"é","b":[1,2]}'.encode()


def test_rate_limit_headers_are_not_mistaken_for_secrets() -> None:
    from openai_params._redact import is_secret_header, redact_text

    assert not is_secret_header("x-ratelimit-remaining-tokens")
    for name in ("Authorization", "Proxy-Authorization", "api-key", "X-Auth-Token", "Cookie"):
        assert is_secret_header(name)
    once = redact_text("Bearer " + KEY)
    assert redact_text(once) == once and KEY not in once
