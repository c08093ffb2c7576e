"""The client against the fake server: what goes out, what comes back."""

import json
import logging
from typing import Any, List, Tuple
from urllib.parse import parse_qs, urlsplit

import pytest

from both_clients import Runner
from openai_params import (
    BadRequestError,
    MockTransport,
    OpenAI,
    OpenAIChatCompletionListParameters,
    OpenAIChatCompletionParameters,
    OpenAIChatCompletionResult,
    OpenAIParameters,
)
from openai_params.transport import HTTPRequest, HTTPResponse
from streamdata import completion

KEY = "sk-client-test-key-abcdef123456"
MESSAGES = [{"role": "user", "content": "Hello"}]


class Answers:
    """A MockTransport whose handler answers from a queue (then with a default completion)."""

    def __init__(self) -> None:
        self.queue: List[HTTPResponse] = []
        self.transport = MockTransport(self.answer)

    def add(self, status: int = 200, body: Any = None, **headers: str) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if not isinstance(body, bytes):
            headers.setdefault("Content-Type", "application/json")
        self.queue.append(HTTPResponse(status, headers=headers, body=data))

    def answer(self, request: HTTPRequest) -> HTTPResponse:
        if self.queue:
            return self.queue.pop(0)
        return HTTPResponse(
            200, headers={"content-type": "application/json"}, body=json.dumps(completion("default")).encode()
        )

    @property
    def requests(self) -> List[HTTPRequest]:
        return self.transport.requests

    def sent(self, index: int = 0) -> Tuple[Any, Any]:
        """The JSON body and the query of request ``index``."""
        request = self.requests[index]
        return (json.loads(request.body) if request.body else None, parse_qs(urlsplit(request.url).query))


@pytest.fixture
def mocked(run: Runner) -> Tuple[OpenAI, Answers]:
    """A client over a MockTransport: for tests where no socket behaviour is under test."""
    answers = Answers()
    made = run.OpenAI(
        api_key=KEY,
        base_url="https://api.example.test/v1",
        transport=answers.transport,
        max_retries=0,
        timeout=5,
    )
    return made, answers


def test_create_sends_body_and_headers(client, fake_server, run) -> None:
    fake_server.add(200, json=completion("Hi there"), headers={"x-request-id": "req_1"})
    params = OpenAIChatCompletionParameters(
        model="gpt-4o-mini", temperature=0.5, max_completion_tokens=20, store=True
    )
    result = run(client.chat.completions.create(MESSAGES, params))
    assert isinstance(result, OpenAIChatCompletionResult)
    assert result.success and result.choice.message.content == "Hi there"
    assert result.request_id == "req_1" and result.usage["total_tokens"] == 7
    sent = fake_server.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.json == {
        "messages": MESSAGES,
        "model": "gpt-4o-mini",
        "temperature": 0.5,
        "max_completion_tokens": 20,
        "store": True,
    }
    assert sent.headers["authorization"] == "Bearer " + client.api_key
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["user-agent"].startswith("openai_params/")
    assert "openai-organization" not in sent.headers and "openai-project" not in sent.headers


def test_parameters_as_kwargs_dict_and_object_plus_kwargs(mocked, run) -> None:
    client, answers = mocked
    run(client.chat.completions.create(MESSAGES, model="a", n=2))
    run(client.chat.completions.create(MESSAGES, {"model": "b", "maxCompletionTokens": 5, "maxRetries": 1}))
    run(client.chat.completions.create(MESSAGES, OpenAIChatCompletionParameters(model="c"), seed=7))
    bodies = [answers.sent(i)[0] for i in range(3)]
    assert bodies[0] == {"messages": MESSAGES, "model": "a", "n": 2}
    assert bodies[1] == {"messages": MESSAGES, "model": "b", "max_completion_tokens": 5}
    assert bodies[2] == {"messages": MESSAGES, "model": "c", "seed": 7}


def test_extra_headers_query_body(mocked, run) -> None:
    client, answers = mocked
    run(
        client.chat.completions.create(
            MESSAGES,
            extra_headers={"X-Trace": "t1"},
            extra_query={"api-version": "2024"},
            extra_body={"keep_alive": "5m"},
        )
    )
    body, query = answers.sent()
    assert answers.requests[0].headers["X-Trace"] == "t1"
    assert query == {"api-version": ["2024"]}
    assert body["keep_alive"] == "5m"


def test_bad_messages_fail_before_anything_is_sent(mocked, run) -> None:
    client, answers = mocked
    with pytest.raises(ValueError, match="messages"):
        run(client.chat.completions.create([]))
    with pytest.raises((TypeError, ValueError), match=r"messages\[0\]"):
        run(client.chat.completions.create([{"content": "no role"}]))
    with pytest.raises(ValueError, match="temperature"):
        run(client.chat.completions.create(MESSAGES, temperature=3))
    assert answers.requests == []


def test_stream_without_callback_points_to_stream(mocked, run) -> None:
    client, answers = mocked
    with pytest.raises(ValueError, match=r"stream\(\)|\.stream\("):
        run(client.chat.completions.create(MESSAGES, stream=True))
    assert answers.requests == []


def test_environment_fallbacks(monkeypatch, fake_server, run) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.url + "/v1")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-9")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-9")
    fake_server.add(200, json={"object": "list", "data": [{"id": "m1"}]})
    client = run.OpenAI()
    assert run(client.models.list()).items == [{"id": "m1"}]
    sent = fake_server.requests[0]
    assert sent.headers["authorization"] == "Bearer " + KEY
    assert sent.headers["openai-organization"] == "org-9"
    assert sent.headers["openai-project"] == "proj-9"


def test_default_base_url_and_no_key(run) -> None:
    client = run.OpenAI()
    assert client.base_url == "https://api.openai.com/v1"
    request = client.chat.completions.build_request(MESSAGES)
    assert "Authorization" not in request.headers
    with pytest.raises(ValueError, match="base_url"):
        run.OpenAI(base_url="ftp://x")
    with pytest.raises(ValueError, match="timeout"):
        run.OpenAI(timeout=0)
    with pytest.raises(TypeError, match="max_retries"):
        run.OpenAI(max_retries=True)


def test_error_result_and_throw(client, fake_server, run) -> None:
    error_body = {
        "error": {
            "message": "Invalid value for 'model'",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    fake_server.add(400, json=error_body, headers={"x-request-id": "req_bad"})
    result = run(client.chat.completions.create(MESSAGES))
    assert not result.success and result.status == 400
    error = result.errors[0]
    assert (error.status, error.type, error.param, error.code, error.request_id) == (
        400,
        "invalid_request_error",
        "model",
        "model_not_found",
        "req_bad",
    )
    assert error.is_bad_request_error and not error.is_rate_limit_error
    fake_server.add(400, json=error_body)
    with pytest.raises(BadRequestError) as info:
        run(client.chat.completions.create(MESSAGES, throw=True))
    assert info.value.error.param == "model"
    assert len(fake_server.requests) == 2  # a 400 is never retried


def test_retries_use_call_override(client, fake_server, run) -> None:
    fake_server.add(
        500, json={"error": {"message": "oops", "type": "server_error"}}, headers={"retry-after-ms": "1"}
    )
    fake_server.add(200, json=completion("second time"))
    assert not run(client.chat.completions.create(MESSAGES)).success  # client: max_retries=0
    fake_server.add(
        500, json={"error": {"message": "oops", "type": "server_error"}}, headers={"retry-after-ms": "1"}
    )
    fake_server.add(200, json=completion("second time"))
    result = run(client.chat.completions.create(MESSAGES, max_retries=1))
    assert result.success and result.text == "second time"


def test_non_json_200_is_an_error(mocked, run) -> None:
    client, answers = mocked
    answers.add(200, b"<html>proxy login</html>", **{"Content-Type": "text/html"})
    result = run(client.chat.completions.create(MESSAGES))
    assert not result.success
    assert "text/html" in result.errors[0].message and "proxy login" in result.errors[0].message


def test_error_object_with_200_is_an_error(mocked, run) -> None:
    client, answers = mocked
    answers.add(200, {"error": {"message": "model not loaded", "type": "server_error"}})
    result = run(client.chat.completions.create(MESSAGES))
    assert not result.success and result.errors[0].message == "model not loaded"


def test_redirect_is_not_followed_and_key_stays_home(client, fake_server, second_server, run) -> None:
    fake_server.add(307, headers={"Location": second_server.url + "/v1/chat/completions"})
    result = run(client.chat.completions.create(MESSAGES))
    assert not result.success and result.status == 307
    assert second_server.url in result.errors[0].message
    assert second_server.requests == [] and second_server.connections == 0


def test_stored_completion_calls(client, fake_server, run) -> None:
    fake_server.add(200, json=completion("stored"))
    fake_server.add(200, json=completion("stored", metadata={"k": "v"}))
    fake_server.add(200, json={"id": "c/1", "deleted": True})
    fake_server.add(200, json={"object": "list", "data": [{"id": "chatcmpl-1"}]})
    fake_server.add(200, json={"object": "list", "data": [{"role": "user", "content": "Hello"}]})
    completions = client.chat.completions
    assert run(completions.retrieve("c/1")).text == "stored"
    assert run(completions.update("c/1", {"k": "v"})).success
    assert run(completions.delete("c/1")).body["deleted"] is True
    listed = run(
        completions.list(OpenAIChatCompletionListParameters(limit=5, order="desc", metadata={"app": "x"}))
    )
    assert listed.items == [{"id": "chatcmpl-1"}]
    assert run(completions.messages.list("c/1", limit=2)).items[0]["role"] == "user"
    seen = [(r.method, r.path, r.query, r.json) for r in fake_server.requests]
    assert seen[0] == ("GET", "/v1/chat/completions/c%2F1", {}, None)
    assert seen[1] == ("POST", "/v1/chat/completions/c%2F1", {}, {"metadata": {"k": "v"}})
    assert seen[2] == ("DELETE", "/v1/chat/completions/c%2F1", {}, None)
    assert seen[3][:3] == (
        "GET",
        "/v1/chat/completions",
        {"limit": ["5"], "order": ["desc"], "metadata[app]": ["x"]},
    )
    assert seen[4][:3] == ("GET", "/v1/chat/completions/c%2F1/messages", {"limit": ["2"]})
    with pytest.raises(ValueError):
        run(completions.retrieve(""))
    with pytest.raises(ValueError):
        run(completions.update("c1", {"k" * 65: "v"}))


def test_models(client, fake_server, run) -> None:
    fake_server.add(200, json={"object": "list", "data": [{"id": "a"}, {"id": "b"}]})
    fake_server.add(200, json={"id": "a", "object": "model"})
    assert [m["id"] for m in run(client.models.list()).items] == ["a", "b"]
    assert run(client.models.retrieve("a")).body["id"] == "a"
    assert [r.path for r in fake_server.requests] == ["/v1/models", "/v1/models/a"]
    assert "content-type" not in fake_server.requests[0].headers


def test_per_call_options_on_plain_calls(client, fake_server, run) -> None:
    fake_server.add(200, json={"object": "list", "data": []})
    run(client.models.list(OpenAIParameters(extra_headers={"X-A": "1"}, extra_query={"q": "2"})))
    sent = fake_server.requests[0]
    assert sent.headers["x-a"] == "1" and sent.query == {"q": ["2"]}


def test_key_never_in_repr_logs_or_errors(client, fake_server, caplog, run) -> None:
    caplog.set_level(logging.DEBUG, logger="openai_params")
    fake_server.add(
        401,
        json={
            "error": {
                "message": "Incorrect API key provided: " + client.api_key,
                "type": "invalid_request_error",
            }
        },
    )
    result = run(client.chat.completions.create(MESSAGES))
    assert not result.success and result.errors[0].is_authentication_error
    texts = [repr(client), repr(result), str(result.errors[0]), repr(result.errors[0]), caplog.text]
    try:
        result.throw()
    except Exception as exc:  # noqa: BLE001
        texts.append(str(exc))
        texts.append(repr(exc))
    for text in texts:
        assert client.api_key not in text
    assert caplog.records, "the transport logs one line per attempt"


def test_a_reassigned_field_is_checked_again_before_sending(mocked, run) -> None:
    client, answers = mocked
    params = OpenAIChatCompletionParameters(temperature=1)
    params.temperature = 7  # the seed lets fields change after construction
    with pytest.raises(ValueError, match="temperature"):
        run(client.chat.completions.create(MESSAGES, params))
    assert answers.requests == []
