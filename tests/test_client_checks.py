"""What ``OpenAI()`` refuses before anything is sent, and the credentials it never shows.

The tests that send run on both clients (the ``run`` fixture, both_clients.py); those of the
constructor alone do not (``AsyncOpenAI``'s constructor is ``OpenAI``'s, test_async.py)."""

import json
import logging
import math
import sys
import traceback
from typing import Any, Dict, List

import pytest

from both_clients import Runner
from openai_params import (
    AuthenticationError,
    MockTransport,
    OpenAI,
    OpenAIChatCompletionParameters,
    OpenAIParameters,
)
from openai_params._http import HTTPResponse
from streamdata import SSE_HEADERS, completion, text_stream

KEY = "sk-checks-test-key-0123456789abcdef"
MESSAGES = [{"role": "user", "content": "Hello"}]
INJECTION = "org-1\r\n X-Injected: y"


@pytest.fixture
def no_env(monkeypatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)


def make(run: Runner, fake_server, **kwargs: Any) -> OpenAI:
    """A client of the kind of ``run`` (both_clients.py) on the fake server."""
    return run.OpenAI(base_url=fake_server.url + "/v1", max_retries=0, timeout=5, **kwargs)


def everything_about(exc: BaseException) -> str:
    """The exception as a user could ever see it: text, repr, args, the whole chain."""
    parts: List[str] = []
    seen: BaseException = exc
    while True:
        parts += [str(seen), repr(seen), repr(seen.args)]
        nxt = seen.__cause__ or seen.__context__
        if nxt is None:
            break
        seen = nxt
    parts.append("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return "\n".join(parts)


def assert_no_key(text: str, key: str = KEY) -> None:
    # Neither the key nor a recognisable half of it.
    for piece in (key, key[: len(key) // 2], key[len(key) // 2 :]):
        assert piece not in text


# -- issue 9.1: a key read from a file ---------------------------------------------------------


@pytest.mark.parametrize("around", ["\n", "\r\n", "  ", "\t\n"])
def test_whitespace_around_the_key_is_stripped_for_create(
    fake_server, no_env, around: str, run: Runner
) -> None:
    fake_server.add(200, json=completion("ok"))
    with make(run, fake_server, api_key=around + KEY + around) as client:
        assert run(client.chat.completions.create(MESSAGES, model="m")).success
        assert client.api_key == KEY
    assert fake_server.requests[0].headers["authorization"] == "Bearer " + KEY


def test_a_key_from_a_file_works_for_stream_and_background_calls(fake_server, no_env, run: Runner) -> None:
    fake_server.add(200, pieces=text_stream(["Hi"]), headers=SSE_HEADERS)
    fake_server.add(200, json=completion("ok"))
    with make(run, fake_server, api_key=KEY + "\n") as client:
        with run.stream(client.chat.completions.stream(MESSAGES, model="m")) as stream:
            assert "".join(chunk.text or "" for chunk in stream) == "Hi"
        assert run(client.chat.completions.create(MESSAGES, model="m", on_terminate=lambda r: None)).success
    assert [r.headers["authorization"] for r in fake_server.requests] == ["Bearer " + KEY] * 2


def test_a_key_from_the_environment_is_stripped(fake_server, no_env, monkeypatch, run: Runner) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY + "\n")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-1\n")
    fake_server.add(200, json=completion("ok"))
    with make(run, fake_server) as client:
        assert run(client.chat.completions.create(MESSAGES, model="m")).success
    sent = fake_server.requests[0].headers
    assert sent["authorization"] == "Bearer " + KEY and sent["openai-organization"] == "org-1"


def test_azure_api_key_header_is_stripped(fake_server, no_env, run: Runner) -> None:
    fake_server.add(200, json=completion("ok"))
    with make(run, fake_server, default_headers={"api-key": KEY + "\r\n", "X-Title": " app "}) as client:
        assert run(client.chat.completions.create(MESSAGES, model="m")).success
    sent = fake_server.requests[0].headers
    assert sent["api-key"] == KEY and sent["x-title"] == "app"


@pytest.mark.parametrize("bad", ["\x00", "\n", "\r", "\x7f", "\u2028", "\x1b"])
def test_a_key_with_a_control_character_is_refused_without_showing_it(no_env, bad: str) -> None:
    key = KEY[:12] + bad + KEY[12:]
    with pytest.raises(ValueError) as caught:
        OpenAI(api_key=key)
    assert str(caught.value).startswith("api_key must be a header value")
    assert "position 12" in str(caught.value)
    assert_no_key(everything_about(caught.value), key[:12])
    assert_no_key(everything_about(caught.value), key[13:])
    with pytest.raises(ValueError) as caught:
        OpenAI(default_headers={"api-key": key})
    assert str(caught.value).startswith("default_headers['api-key'] must be a header value")
    assert_no_key(everything_about(caught.value), key[13:])


def test_a_key_of_the_wrong_type_is_refused_without_showing_it(no_env) -> None:
    with pytest.raises(TypeError, match=r"^api_key must be a string \(got an int\)$"):
        OpenAI(api_key=12345)
    with pytest.raises(TypeError) as caught:
        OpenAI(api_key=KEY.encode())
    assert_no_key(everything_about(caught.value))


def test_a_key_reassigned_after_construction_is_checked_when_set_and_never_shown(
    fake_server, no_env, run: Runner
) -> None:
    # Checked on the line that sets it, as in the constructor: stripped, and a value that
    # cannot be a header is refused there, without showing it; the client keeps its key.
    fake_server.add(200, json=completion("ok"))
    with make(run, fake_server, api_key=KEY) as client:
        for bad, error in ((KEY + "\r\nX-Injected: y", ValueError), (KEY.encode(), TypeError)):
            with pytest.raises(error) as caught:
                client.api_key = bad
            assert str(caught.value).startswith("api_key must be ")
            assert_no_key(everything_about(caught.value))
            assert client.api_key == KEY
        client.api_key = "\t" + KEY[::-1] + "\n"  # read from a file: stripped
        assert client.api_key == KEY[::-1]
        run(client.chat.completions.create(MESSAGES, model="m"))
    assert [r.headers["authorization"] for r in fake_server.requests] == ["Bearer " + KEY[::-1]]


def test_a_key_echoed_by_the_server_stays_hidden_in_background_errors(
    fake_server, no_env, run: Runner
) -> None:
    body = {"error": {"message": "Incorrect API key provided: " + KEY, "type": "invalid_request_error"}}
    fake_server.add(401, json=body)
    fake_server.add(401, json=body)
    with make(run, fake_server, api_key=KEY) as client:
        result = run(client.chat.completions.create(MESSAGES, model="m", on_terminate=lambda r: None))
        error = result.errors[0]
        assert error.is_authentication_error
        texts = [error.message, repr(error), str(error.body), repr(error.cause)]
        with pytest.raises(AuthenticationError) as caught:
            run(client.chat.completions.create(MESSAGES, model="m", throw=True, on_terminate=lambda r: None))
    for text in texts + [everything_about(caught.value)]:
        assert_no_key(text)


# -- issue 9.2: one check for every header that reaches the wire ---------------------------------


@pytest.mark.parametrize("argument", ["organization", "project"])
def test_header_injection_through_the_constructor_is_refused(
    fake_server, no_env, argument: str, run: Runner
) -> None:
    with pytest.raises(ValueError, match="^%s must be a header value" % argument):
        make(run, fake_server, **{argument: INJECTION})


@pytest.mark.parametrize(
    "variable, header",
    [("OPENAI_ORG_ID", "organization"), ("OPENAI_PROJECT_ID", "project"), ("OPENAI_API_KEY", "api_key")],
)
def test_header_injection_through_the_environment_is_refused(
    monkeypatch, no_env, variable: str, header: str
) -> None:
    monkeypatch.setenv(variable, INJECTION)
    with pytest.raises(ValueError) as caught:
        OpenAI()
    assert str(caught.value).startswith(variable + " must be a header value")


@pytest.mark.parametrize(
    "headers, field",
    [
        ({"X-Title": INJECTION}, "default_headers['X-Title']"),
        ({"X-Title": "a\x00b"}, "default_headers['X-Title']"),
        ({"X-Title": "café ☕"}, "default_headers['X-Title']"),
        ({"X-A\r\nX-Injected": "1"}, "default_headers header names"),
        ({"X A": "1"}, "default_headers header names"),
        ({"": "1"}, "default_headers header names"),
    ],
)
def test_default_headers_are_checked_like_extra_headers(no_env, headers: Dict[str, str], field: str) -> None:
    with pytest.raises(ValueError) as caught:
        OpenAI(default_headers=headers)
    assert str(caught.value).startswith(field + " must be ")
    with pytest.raises(ValueError) as caught_extra:
        OpenAIParameters(extra_headers=headers)
    # The same check: the same words, only the field differs.
    assert str(caught_extra.value).replace("extra_headers", "default_headers") == str(caught.value)


def test_an_injected_header_never_reaches_the_server(fake_server, no_env, run: Runner) -> None:
    fake_server.add(200, json=completion("ok"))
    with make(run, fake_server, organization="org-1", project="proj-1") as client:
        for field in ("organization", "project"):  # checked when set, as in the constructor
            with pytest.raises(ValueError) as caught:
                setattr(client, field, INJECTION)
            assert str(caught.value) == (
                "%s must be a header value of Latin-1 characters without CR, LF, NUL or other "
                "control characters (got %r)" % (field, INJECTION)
            )
        assert (client.organization, client.project) == ("org-1", "proj-1")
        client.default_headers["X-Title"] = "t\r\nX-Injected: y"  # in place: checked at the call
        with pytest.raises(ValueError, match=r"^headers\['X-Title'\] must be"):
            run(client.models.list())
    assert fake_server.requests == []


def test_none_in_default_headers_leaves_a_header_out(fake_server, no_env, run: Runner) -> None:
    fake_server.add(200, json={"object": "list", "data": []})
    with make(run, fake_server, default_headers={"User-Agent": None}) as client:
        run(client.models.list())
    assert "user-agent" not in fake_server.requests[0].headers


# -- issue 9.3: credentials in base_url -----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://alice:pw@127.0.0.1:1/v1",
        "http://%s@127.0.0.1:1/v1" % KEY,
        "https://alice:%s@api.example.com/v1" % KEY,
    ],
)
def test_userinfo_in_base_url_is_refused_and_not_shown(no_env, url: str) -> None:
    with pytest.raises(ValueError) as caught:
        OpenAI(base_url=url)
    text = str(caught.value)
    assert text.startswith("base_url must be a URL without a user name or password")
    assert "pw" not in text.replace("password", "")
    assert_no_key(everything_about(caught.value))


def test_userinfo_from_the_environment_is_refused(monkeypatch, no_env) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://alice:pw@127.0.0.1:1/v1")
    with pytest.raises(ValueError, match="^OPENAI_BASE_URL must be a URL without a user name"):
        OpenAI()


def test_a_key_in_the_base_url_query_is_redacted_in_every_repr_and_log(
    fake_server, no_env, caplog, run: Runner
) -> None:
    caplog.set_level(logging.DEBUG, logger="openai_params")
    fake_server.add(200, json={"object": "list", "data": []})
    with run.OpenAI(base_url=fake_server.url + "/v1?key=" + KEY, max_retries=0) as client:
        request = client.chat.completions.build_request(MESSAGES, model="m")
        run(client.models.list())
        texts = [repr(client), repr(request), caplog.text]
    assert fake_server.requests[0].query["key"] == [KEY]  # sent as given, only hidden from view
    for text in texts:
        assert "sk-...cdef" in text
        assert_no_key(text)


# -- issue 9.13: constructor arguments refused with the usual message --------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"timeout": math.inf}, ValueError, r"^timeout must be a number of seconds > 0 .*\(got inf\)$"),
        ({"timeout": math.nan}, ValueError, r"^timeout must be .*\(got nan\)$"),
        ({"timeout": sys.maxsize}, ValueError, r"^timeout must be .* at most 86400"),
        ({"timeout": 0}, ValueError, r"^timeout must be"),
        ({"timeout": "5"}, TypeError, r"^timeout must be .*\(got '5', a str\)$"),
        ({"timeout": True}, TypeError, r"^timeout must be"),
        ({"max_workers": 0}, ValueError, r"^max_workers must be an integer >= 1 \(got 0\)$"),
        ({"max_workers": "8"}, TypeError, r"^max_workers must be an integer >= 1 \(got '8', a str\)$"),
        ({"max_retries": "2"}, TypeError, r"^max_retries must be an integer >= 0"),
        ({"max_retries": 1.5}, TypeError, r"^max_retries must be an integer >= 0"),
        ({"max_retries": -1}, ValueError, r"^max_retries must be an integer >= 0 \(got -1\)$"),
        ({"api_key": 12345}, TypeError, r"^api_key must be a string \(got an int\)$"),
        ({"organization": 7}, TypeError, r"^organization must be a string \(got 7, an int\)$"),
        ({"default_headers": [("X-A", "1")]}, TypeError, r"^default_headers must be a dict"),
        ({"default_headers": {"X-A": 1}}, TypeError, r"^default_headers\['X-A'\] must be a string"),
        ({"base_url": 5}, TypeError, r"^base_url must be a URL \(a string starting with http"),
        ({"base_url": "ftp://h/v1"}, ValueError, r"^base_url must be a URL starting with http"),
        ({"base_url": "http://127.0.0.1:8080/v1\n"}, ValueError, r"without spaces or control"),
        ({"base_url": "http://127.0.0.1:8080/v1 "}, ValueError, r"without spaces or control"),
        ({"base_url": "http://local host/v1"}, ValueError, r"without spaces or control"),
        ({"base_url": "http://h\x00st/v1"}, ValueError, r"without spaces or control"),
        ({"base_url": "http://h\tst/v1"}, ValueError, r"without spaces or control"),
        ({"base_url": "http:///v1"}, ValueError, r"with a host name"),
        ({"base_url": "http://[::1/v1"}, ValueError, r"with a host name"),
        ({"base_url": "http://h:99999/v1"}, ValueError, r"with a port between 1 and 65535"),
        ({"base_url": "http://h:x/v1"}, ValueError, r"with a port between 1 and 65535"),
        ({"base_url": "http://h/v1#frag"}, ValueError, r"without a fragment"),
    ],
)
def test_bad_constructor_arguments_are_refused(
    no_env, kwargs: Dict[str, Any], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        OpenAI(**kwargs)


@pytest.mark.parametrize(
    "url",
    [
        "http://local host/v1",
        "http://127.0.0.1:1/v1\n",
        "http://127.0.0.1:x/v1",
        "http://u:pw@127.0.0.1:1/v1",
    ],
)
def test_a_base_url_reassigned_after_construction_is_checked_when_set(
    fake_server, no_env, url: str, run: Runner
) -> None:
    with make(run, fake_server) as client:
        with pytest.raises(ValueError, match="^base_url must be a URL") as caught:
            client.base_url = url
        assert run(client.chat.completions.create(MESSAGES, model="m")).status == 200  # the old URL is kept
    assert "pw" not in str(caught.value).replace("password", "")
    assert len(fake_server.requests) == 1


def test_timeout_type_errors_agree_with_the_parameters(no_env) -> None:
    for make_it in (lambda: OpenAI(timeout="5"), lambda: OpenAIParameters(timeout="5")):
        with pytest.raises(TypeError, match="^timeout must be"):
            make_it()


def test_good_constructor_arguments_are_kept(no_env) -> None:
    client = OpenAI(
        api_key=" k ",
        base_url="http://[::1]:8080/v1/",
        organization="o",
        project="p",
        timeout=86400,
        max_retries=0,
        max_workers=1,
        default_headers={"X-A": "1"},
    )
    assert (client.api_key, client.base_url, client.organization, client.project) == (
        "k",
        "http://[::1]:8080/v1",
        "o",
        "p",
    )
    assert (client.timeout, client.max_retries, client.default_headers) == (86400.0, 0, {"X-A": "1"})
    assert OpenAI(base_url="").base_url == "https://api.openai.com/v1"


# -- issue 10.5: stored-completion messages use the shared checks -------------------------------


def test_messages_list_suggests_the_closest_order(client, fake_server, run: Runner) -> None:
    with pytest.raises(ValueError, match=r"^order must be one of 'asc', 'desc' .*did you mean 'desc'"):
        run(client.chat.completions.messages.list("c1", order="descending"))
    with pytest.raises(TypeError, match=r"^limit must be an integer >= 1"):
        run(client.chat.completions.messages.list("c1", limit="5"))
    with pytest.raises(ValueError, match=r"^limit must be an integer >= 1 \(got 0\)"):
        run(client.chat.completions.messages.list("c1", limit=0))
    with pytest.raises(TypeError, match=r"^completion_id must be a non-empty string"):
        run(client.chat.completions.messages.list(7))
    assert fake_server.requests == []


class _SendsOnly:
    def send(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("never called")


@pytest.mark.parametrize("transport", [object(), "http://127.0.0.1:1", _SendsOnly()])
def test_a_transport_without_send_and_close_is_refused_by_the_constructor(no_env, transport: Any) -> None:
    with pytest.raises(TypeError, match=r"^transport must be an object with send\(\) and close\(\)"):
        OpenAI(api_key=KEY, transport=transport)


# -- each call checks its parameters, again after the caller changed them ---------------


def answered(mock_requests: List[Any]) -> MockTransport:
    """A transport that answers every request with a completion and keeps what it was sent."""

    def handler(request: Any) -> HTTPResponse:
        mock_requests.append(json.loads(request.body))
        return HTTPResponse(200, headers={"content-type": "application/json"}, body=COMPLETION)

    return MockTransport(handler)


COMPLETION = json.dumps(completion("Hi")).encode()


def test_parameters_changed_between_calls_are_checked_again(no_env, run: Runner) -> None:
    sent: List[Any] = []
    client = run.OpenAI(api_key=KEY, base_url="http://127.0.0.1:9/v1", transport=answered(sent))
    params = OpenAIChatCompletionParameters(model="m", metadata={"k": "v"})
    assert run(client.chat.completions.create(MESSAGES, params)).success
    params.temperature = 5  # reassigned
    with pytest.raises(ValueError, match=r"^temperature must be between 0 and 2"):
        run(client.chat.completions.create(MESSAGES, params))
    params.temperature = 1
    params.metadata["k"] = 5  # type: ignore[index]  # changed in place
    with pytest.raises(TypeError, match=r"^metadata\['k'\] must be a string"):
        run(client.chat.completions.create(MESSAGES, params))
    with pytest.raises(TypeError, match=r"^metadata\['k'\] must be a string"):
        client.chat.completions.stream(MESSAGES, params)
    with pytest.raises(TypeError, match=r"^metadata\['k'\] must be a string"):
        client.chat.completions.build_request(MESSAGES, params)
    params.metadata["k"] = "w"  # type: ignore[index]
    assert run(client.chat.completions.create(MESSAGES, params)).success
    assert [body.get("metadata") for body in sent] == [{"k": "v"}, {"k": "w"}]
    assert sent[1]["temperature"] == 1
