"""Profiles (openai_params/profiles.py): the rules as data, applied to what a server receives.

The expected bodies below are written by hand from each provider's documented
rule (docs/providers.md), never produced by the code under test. The fake
server records what arrived; the assertions are on that.
"""

import json
import logging
import re
import warnings
from typing import Any, Dict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from both_clients import Runner
from fakeserver import FakeServer, Reply
from openai_params import OpenAI, OpenAIChatCompletionParameters, cli
from openai_params.profiles import HOSTS, PROFILES, Profile, adapt, profile_for
from streamdata import DONE, SSE_HEADERS, chunk, completion, event

USER = {"role": "user", "content": "Hi"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}
CLOCK = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}
SCHEMA_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "person", "strict": True, "schema": {"type": "object", "properties": {}}},
}


def make_client(run: Runner, server: FakeServer, profile: Any = None) -> OpenAI:
    """A client of the kind of ``run`` (both_clients.py): the tests that send run on both."""
    return run.OpenAI(api_key="sk-x", base_url=server.url + "/v1", profile=profile, max_retries=0, timeout=5)


def received(server: FakeServer, index: int = 0) -> Dict[str, Any]:
    found = server.requests[index].json
    assert isinstance(found, dict)
    return found


# -- every built-in profile against the fake server: (profile, what is sent, what must arrive) -----
# "sent" is the keyword arguments of create(); "arrives" the body keys the server must get (a value
# of None: the key must be absent). Each row is one documented rule (docs/providers.md).
CASES = [
    (
        "generic",
        {"max_completion_tokens": 5, "seed": 1, "n": 2},
        {"max_completion_tokens": 5, "seed": 1, "n": 2},
    ),
    ("openai", {"max_tokens": 5}, {"max_completion_tokens": 5, "max_tokens": None}),
    ("azure", {"max_tokens": 5}, {"max_completion_tokens": 5, "max_tokens": None}),
    (
        "mistral",
        {
            "max_completion_tokens": 5,
            "seed": 7,
            "tool_choice": "required",
            "tools": [{"type": "function", "function": {"name": "f"}}],
        },
        {
            "max_tokens": 5,
            "max_completion_tokens": None,
            "random_seed": 7,
            "seed": None,
            "tool_choice": "any",
        },
    ),
    (
        "mistral",
        {"logit_bias": {"1": 5}, "user": "u", "temperature": 0.5},
        {"logit_bias": None, "user": None, "temperature": 0.5},
    ),
    (
        "groq",
        {"logprobs": True, "top_logprobs": 2, "logit_bias": {"1": 1}},
        {"logprobs": None, "top_logprobs": None, "logit_bias": None},
    ),
    ("deepseek", {"max_completion_tokens": 9}, {"max_tokens": 9, "max_completion_tokens": None}),
    ("ollama", {"max_completion_tokens": 9, "seed": 3}, {"max_tokens": 9, "seed": 3}),
    ("lmstudio", {"max_completion_tokens": 9}, {"max_tokens": 9}),
    ("vllm", {"max_completion_tokens": 9, "n": 2}, {"max_completion_tokens": 9, "n": 2}),
    (
        "llama.cpp",
        {"max_completion_tokens": 9, "n": 2, "response_format": SCHEMA_FORMAT},
        {"max_completion_tokens": 9, "n": 2, "response_format": SCHEMA_FORMAT},
    ),
    (
        "llama-cpp-python",
        {"max_completion_tokens": 9, "response_format": SCHEMA_FORMAT},
        {
            "max_tokens": 9,
            "max_completion_tokens": None,
            "response_format": {"type": "json_object", "schema": {"type": "object", "properties": {}}},
        },
    ),
    (
        "llama-cpp-python",
        {"max_tokens": 4, "max_completion_tokens": 9},
        {"max_tokens": 4, "max_completion_tokens": None},
    ),
    (
        "llama-cpp-python",
        {"response_format": {"type": "json_object"}},
        {"response_format": {"type": "json_object"}},
    ),
    # A forced tool call in the form each llama server honours.
    (
        "llama-cpp-python",
        {"tools": [WEATHER], "tool_choice": "required"},
        {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
    ),
    ("llama-cpp-python", {"tools": [WEATHER, CLOCK], "tool_choice": "required"}, {"tool_choice": "required"}),
    (
        "llama.cpp",
        {"tools": [WEATHER, CLOCK], "tool_choice": {"type": "function", "function": {"name": "get_time"}}},
        {"tools": [CLOCK], "tool_choice": "required"},
    ),
    (
        "llama.cpp",
        {"tools": [WEATHER, CLOCK], "tool_choice": "auto"},
        {"tools": [WEATHER, CLOCK], "tool_choice": "auto"},
    ),
]


@pytest.mark.parametrize("name, sent, arrives", CASES)
def test_builtin_profile_rules_reach_the_server(
    fake_server: FakeServer, name: str, sent: Dict[str, Any], arrives: Dict[str, Any], run: Runner
) -> None:
    fake_server.default = Reply(200, json=completion("ok"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with make_client(run, fake_server, name) as client:
            result = run(client.chat.completions.create([USER], model="m", **sent))
    assert result.success, result.errors
    body = received(fake_server)
    for key, value in arrives.items():
        if value is None:
            assert key not in body, (name, key, body)
        else:
            assert body[key] == value, (name, key, body)
    assert body["messages"] == [USER]


def test_every_builtin_profile_has_a_case() -> None:
    assert {case[0] for case in CASES} == set(PROFILES)


@pytest.mark.parametrize("content", ["null", "missing"])
def test_llama_cpp_python_sends_empty_content_for_a_tool_call_message(
    fake_server: FakeServer, content: str, run: Runner
) -> None:
    # The server answers HTTP 500 to an assistant message with tool_calls whose content is null
    # or missing, and accepts "" (measured by hand).
    assistant: Dict[str, Any] = {"role": "assistant", "tool_calls": [CALL]}
    if content == "null":
        assistant["content"] = None
    messages = [USER, assistant, {"role": "tool", "tool_call_id": "call_1", "content": "42"}]
    fake_server.add(200, json=completion("ok"))
    with make_client(run, fake_server, "llama-cpp-python") as client:
        assert run(client.chat.completions.create(messages, model="m")).success
    sent = received(fake_server)["messages"]
    assert sent[1] == {"role": "assistant", "tool_calls": [CALL], "content": ""}
    assert sent[0] == USER and sent[2] == messages[2]
    assert "content" not in assistant or assistant["content"] is None  # the caller's dict untouched


def test_groq_leaves_message_names_and_reasoning_out(fake_server: FakeServer, run: Runner) -> None:
    fake_server.add(200, json=completion("ok"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with make_client(run, fake_server, "groq") as client:
            answered = {"role": "assistant", "content": "4", "reasoning_content": "2 and 2"}
            run(client.chat.completions.create([dict(USER, name="ann"), answered, USER], model="m"))
    assert received(fake_server)["messages"] == [USER, {"role": "assistant", "content": "4"}, USER]
    assert any("messages[].name" in str(w.message) and "'groq'" in str(w.message) for w in caught)
    assert any("messages[].reasoning_content" in str(w.message) for w in caught)


# -- the pure function ------------------------------------------------------------------------------


def test_generic_returns_the_same_body_and_nothing_applied() -> None:
    body = {"messages": [USER], "model": "m", "max_completion_tokens": 3, "n": 4}
    adapted, applied = adapt(PROFILES["generic"], body)
    assert adapted is body and applied == []


def test_a_profile_with_nothing_to_do_returns_the_same_body() -> None:
    body = {"messages": [USER], "model": "m", "temperature": 0.2}
    adapted, applied = adapt(PROFILES["llama-cpp-python"], body)
    assert adapted is body and applied == []


def test_adapt_never_changes_its_input() -> None:
    assistant = {"role": "assistant", "content": None, "tool_calls": [CALL]}
    body = {
        "messages": [USER, assistant],
        "model": "m",
        "max_completion_tokens": 3,
        "n": 2,
        "response_format": SCHEMA_FORMAT,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    before = json.dumps(body, sort_keys=True)
    adapted, applied = adapt(PROFILES["llama-cpp-python"], body)
    assert json.dumps(body, sort_keys=True) == before
    assert [rule.kind for rule in applied] == [
        "rename",
        "stream_usage",
        "response_format",
        "n",
        "tool_call_content",
    ]
    assert [str(rule) for rule in applied] == [
        "max_completion_tokens -> max_tokens",
        "stream with include_usage sent unstreamed and delivered as chunks, the server's usage last",
        "response_format json_schema -> json_object with schema",
        "n=2 emulated by 2 requests",
        'messages[1].content null -> ""',
    ]
    assert adapted == {
        "messages": [USER, {"role": "assistant", "content": "", "tool_calls": [CALL]}],
        "model": "m",
        "max_tokens": 3,
        "response_format": {"type": "json_object", "schema": {"type": "object", "properties": {}}},
    }


def test_a_translation_only_touches_the_listed_values() -> None:
    named = {"type": "function", "function": {"name": "f"}}
    for value, expected in (("required", "any"), ("auto", "auto"), (named, named)):
        body = {"messages": [USER], "model": "m", "tool_choice": value}
        assert adapt(PROFILES["mistral"], body)[0]["tool_choice"] == expected


# -- choosing one -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, name",
    [
        ("https://api.openai.com/v1", "openai"),
        ("https://my-resource.openai.azure.com/openai/v1", "azure"),
        ("https://MY-RESOURCE.OPENAI.AZURE.COM/openai/v1", "azure"),
        ("https://res.cognitiveservices.azure.com/openai/v1", "azure"),
        ("https://api.mistral.ai/v1", "mistral"),
        ("https://api.groq.com/openai/v1", "groq"),
        ("https://api.deepseek.com", "deepseek"),
        ("https://ollama.com/v1", "ollama"),
        ("http://127.0.0.1:8080/v1", "generic"),
        ("http://localhost:11434/v1", "generic"),  # a port is not a host: never guessed
        ("https://openai.azure.com.evil.test/v1", "generic"),
        ("https://api.openai.com.evil.test/v1", "generic"),
        ("https://notapi.mistral.ai/v1", "generic"),
    ],
)
def test_a_known_host_picks_its_profile(url: str, name: str) -> None:
    assert profile_for(url, None).name == name
    assert OpenAI(api_key="k", base_url=url).profile.name == name


def test_every_host_names_a_builtin_profile() -> None:
    assert all(name in PROFILES for _, name in HOSTS)


def test_a_given_profile_wins_over_the_host_and_stays_when_the_url_changes() -> None:
    client = OpenAI(api_key="k", base_url="https://api.mistral.ai/v1", profile="generic")
    assert client.profile.name == "generic"
    client.base_url = "https://api.groq.com/openai/v1"
    assert client.profile.name == "generic"
    chosen = OpenAI(api_key="k", base_url="https://api.mistral.ai/v1")
    chosen.base_url = "https://api.groq.com/openai/v1"
    assert chosen.profile.name == "groq"  # picked by the host: follows it
    chosen.profile = "vllm"
    assert chosen.profile.name == "vllm"


def test_unknown_profile_is_refused_before_anything_is_sent(fake_server: FakeServer) -> None:
    with pytest.raises(ValueError) as raised:
        OpenAI(api_key="k", base_url=fake_server.url + "/v1", profile="llamacpp")
    message = str(raised.value)
    assert "'llamacpp' is not a known profile" in message
    assert "did you mean 'llama.cpp'?" in message
    assert all(name in message for name in PROFILES)
    with pytest.raises(TypeError, match="profile must be a profile name"):
        OpenAI(api_key="k", base_url=fake_server.url + "/v1", profile=3)
    assert fake_server.requests == []


# -- user profiles --------------------------------------------------------------------------------


def test_a_dict_extends_a_builtin_and_overrides_rules(fake_server: FakeServer, run: Runner) -> None:
    mine = {"name": "my-llama", "extends": "llama-cpp-python", "drop": ["user"], "tool_call_content": None}
    fake_server.add(200, json=completion("ok"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with make_client(run, fake_server, mine) as client:
            assert client.profile.name == "my-llama"
            messages = [
                USER,
                {"role": "assistant", "content": None, "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "call_1", "content": "1"},
            ]
            run(client.chat.completions.create(messages, model="m", user="u", max_completion_tokens=2))
    body = received(fake_server)
    assert "user" not in body
    assert body["max_tokens"] == 2  # kept from llama-cpp-python
    assert body["messages"][1]["content"] is None  # the override: content sent as given


def test_a_dict_without_extends_starts_from_nothing() -> None:
    profile = Profile.from_dict({"rename": {"max_completion_tokens": "max_new_tokens"}, "n": False})
    assert profile.name == "custom"
    body = {"messages": [USER], "model": "m", "max_completion_tokens": 2, "n": 3, "seed": 1}
    adapted, _ = adapt(profile, body)
    assert adapted == {"messages": [USER], "model": "m", "max_new_tokens": 2, "seed": 1}


@pytest.mark.parametrize(
    "rules, error, expected",
    [
        ({"renames": {}}, ValueError, "profile has an unknown rule 'renames'"),
        ({"renames": {}}, ValueError, "did you mean 'rename'?"),
        ({"extends": "mistrall"}, ValueError, "profile.extends 'mistrall' is not a known profile"),
        ({"extends": "mistrall"}, ValueError, "did you mean 'mistral'?"),
        ({"drop": "user"}, TypeError, "profile.drop must be a list of field names (got 'user'"),
        ({"drop": ["user", 3]}, TypeError, "profile.drop[1] must be a non-empty string (got 3"),
        ({"rename": ["a"]}, TypeError, "profile.rename must be a dict of field names"),
        ({"rename": {"a": ""}}, TypeError, "profile.rename.a must be a non-empty string"),
        ({"translate": {"tool_choice": "any"}}, TypeError, "profile.translate.tool_choice must be a dict"),
        (
            {"response_format": "json_object"},
            ValueError,
            "profile.response_format must be one of 'json_schema', 'json_object+schema'",
        ),
        ({"n": "no"}, TypeError, "profile.n must be True or False (got 'no'"),
        (
            {"forced_tool_choice": "name"},
            ValueError,
            "profile.forced_tool_choice must be None (as given) or one of 'named', 'required'",
        ),
        ({"forced_tool_choice": "name"}, ValueError, "did you mean 'named'?"),
        ({"tool_call_content": 0}, TypeError, "profile.tool_call_content must be None"),
        ({"name": ""}, TypeError, "profile.name must be a non-empty string"),
    ],
)
def test_bad_rules_are_refused(rules: Dict[str, Any], error: type, expected: str) -> None:
    with pytest.raises(error) as raised:
        OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", profile=rules)
    assert expected in str(raised.value)


# -- the warning, the log line, the printed request -------------------------------------------------


def test_a_left_out_field_warns_once_per_client_naming_field_and_profile(
    fake_server: FakeServer, run: Runner
) -> None:
    fake_server.default = Reply(200, json=completion("ok"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with make_client(run, fake_server, "groq") as client:
            for _ in range(3):
                run(client.chat.completions.create([USER], model="m", logit_bias={"1": 1}))
            client.chat.completions.build_request([USER], model="m", logit_bias={"1": 1}, logprobs=True)
        with make_client(run, fake_server, "groq") as other:
            run(other.chat.completions.create([USER], model="m", logit_bias={"1": 1}))
    texts = [str(w.message) for w in caught]
    assert len([t for t in texts if "logit_bias" in t]) == 2  # once per client
    assert len([t for t in texts if "logprobs" in t]) == 1
    assert "the 'groq' profile leaves logit_bias out of the request" in texts[0]
    assert all(w.filename == __file__ for w in caught)  # points at the caller's line
    assert all("logit_bias" not in received(fake_server, i) for i in range(4))


def test_one_debug_line_says_which_rules_applied(fake_server: FakeServer, caplog: Any, run: Runner) -> None:
    fake_server.add(200, json=completion("ok"))
    assistant = {"role": "assistant", "tool_calls": [CALL]}
    messages = [USER, assistant, {"role": "tool", "tool_call_id": "call_1", "content": "1"}]
    with caplog.at_level(logging.DEBUG, logger="openai_params"):
        with make_client(run, fake_server, "llama-cpp-python") as client:
            run(
                client.chat.completions.create(
                    messages, model="m", max_completion_tokens=3, response_format=SCHEMA_FORMAT
                )
            )
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("profile ")]
    assert lines == [
        "profile llama-cpp-python: max_completion_tokens -> max_tokens; "
        'response_format json_schema -> json_object with schema; messages[1].content missing -> ""'
    ]


def test_no_debug_line_when_nothing_applied(fake_server: FakeServer, caplog: Any, run: Runner) -> None:
    fake_server.add(200, json=completion("ok"))
    with caplog.at_level(logging.DEBUG, logger="openai_params"):
        with make_client(run, fake_server, "llama-cpp-python") as client:
            run(client.chat.completions.create([USER], model="m"))
    assert not [r for r in caplog.records if r.getMessage().startswith("profile ")]


def test_build_request_shows_the_adapted_body() -> None:
    client = OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", profile="mistral")
    params = OpenAIChatCompletionParameters(model="m", seed=5, max_completion_tokens=7)
    request = client.chat.completions.build_request([USER], params)
    assert json.loads(request.body) == {"messages": [USER], "model": "m", "max_tokens": 7, "random_seed": 5}
    assert params.seed == 5 and params.max_completion_tokens == 7  # the parameters are untouched


@pytest.mark.parametrize("flag", ["--dry-run", "--curl"])
def test_cli_prints_the_adapted_request(capsys: Any, flag: str) -> None:
    argv = [
        flag,
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--profile",
        "llama-cpp-python",
        "--param",
        "max_completion_tokens=4",
        "Hi",
    ]
    code = cli.main(argv)
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r'"max_tokens": ?4', out) and "max_completion_tokens" not in out


def test_cli_host_profile_and_unknown_profile(capsys: Any) -> None:
    assert cli.main(["--dry-run", "--base-url", "https://api.mistral.ai/v1", "--param", "seed=3", "Hi"]) == 0
    assert re.search(r'"random_seed": ?3', capsys.readouterr().out)
    assert cli.main(["--dry-run", "--base-url", "http://127.0.0.1:9/v1", "--profile", "olama", "Hi"]) == 2
    err = capsys.readouterr().err
    assert "'olama' is not a known profile" in err and "did you mean 'ollama'?" in err


# -- reasoning: a server's other names for it read as message.reasoning_content --------------------


def reasoning_answer(key: str) -> Dict[str, Any]:
    body = completion("42")
    body["choices"][0]["message"][key] = "let me think"
    return body


@pytest.mark.parametrize(
    "profile, key, expected",
    [
        ("vllm", "reasoning", "let me think"),
        ("vllm", "reasoning_content", "let me think"),
        ("ollama", "reasoning", "let me think"),
        ("deepseek", "reasoning_content", "let me think"),
        ("generic", "reasoning", None),  # nothing adapted: the key stays as sent
    ],
)
def test_reasoning_in_a_whole_answer(
    fake_server: FakeServer, profile: str, key: str, expected: Any, run: Runner
) -> None:
    fake_server.add(200, json=reasoning_answer(key))
    with make_client(run, fake_server, profile) as client:
        message = run(client.chat.completions.create([USER], model="m")).choice.message
    assert message.reasoning_content == expected
    assert message.content == "42"
    if expected is None:
        assert message.data[key] == "let me think"


@pytest.mark.parametrize("profile, key", [("vllm", "reasoning"), ("deepseek", "reasoning_content")])
def test_reasoning_deltas_are_accumulated(
    fake_server: FakeServer, profile: str, key: str, run: Runner
) -> None:
    pieces = [event(chunk(role="assistant", **{key: "let "})), event(chunk(**{key: "me"}))]
    pieces += [event(chunk("42")), event(chunk(finish="stop")), DONE]
    fake_server.add(200, pieces=pieces, headers=SSE_HEADERS)
    with make_client(run, fake_server, profile) as client:
        with run.stream(client.chat.completions.stream([USER], model="m")) as stream:
            deltas = [c.choice.delta.reasoning_content for c in stream if c.choice is not None]
            final = stream.result()
    assert deltas == ["let ", "me", None, None]
    assert final.choice.message.reasoning_content == "let me"
    assert final.choice.message.content == "42"
    assert "reasoning" not in final.choice.message.data


def test_both_names_keep_reasoning_content(fake_server: FakeServer, run: Runner) -> None:
    body = reasoning_answer("reasoning_content")
    body["choices"][0]["message"]["reasoning"] = "other"
    fake_server.add(200, json=body)
    with make_client(run, fake_server, "vllm") as client:
        message = run(client.chat.completions.create([USER], model="m")).choice.message
    assert message.reasoning_content == "let me think" and message.data["reasoning"] == "other"


def test_extra_body_is_sent_as_given_after_the_profile() -> None:
    client = OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", profile="mistral")
    params = {"model": "m", "seed": 1, "extra_body": {"user": "u", "safe_prompt": True}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        body = json.loads(client.chat.completions.build_request([USER], params).body)
    assert body == {"messages": [USER], "model": "m", "random_seed": 1, "user": "u", "safe_prompt": True}
    assert caught == []  # nothing was left out


# -- properties of adapt, over generated bodies -------------------------------------------------------

_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 5), st.sampled_from(["required", "auto", "any", ""])
)
_FIELDS = st.sampled_from(
    [
        "max_completion_tokens",
        "max_tokens",
        "seed",
        "n",
        "tool_choice",
        "logit_bias",
        "user",
        "stream_options",
        "response_format",
        "temperature",
        "top_k",
        "random_seed",
    ]
)
_MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "tool"])},
    optional={
        "content": st.one_of(st.none(), st.text(max_size=3)),
        "name": st.just("x"),
        "tool_calls": st.just([CALL]),
    },
)
_BODIES = st.fixed_dictionaries(
    {"messages": st.lists(_MESSAGE, min_size=1, max_size=4), "model": st.just("m")},
    optional={
        "stream_options": st.fixed_dictionaries(
            {}, optional={"include_usage": st.booleans(), "x": st.just(1)}
        ),
        "response_format": st.sampled_from([SCHEMA_FORMAT, {"type": "json_object"}, {"type": "text"}]),
    },
).flatmap(lambda base: st.dictionaries(_FIELDS, _VALUES, max_size=6).map(lambda more: dict(more, **base)))


@settings(max_examples=60, deadline=None)
@given(body=_BODIES, name=st.sampled_from(sorted(PROFILES)))
def test_adapt_is_pure_and_idempotent_and_touches_only_its_rules(body: Dict[str, Any], name: str) -> None:
    profile = PROFILES[name]
    before = json.dumps(body, sort_keys=True)
    adapted, applied = adapt(profile, body)
    assert json.dumps(body, sort_keys=True) == before  # the input is never changed
    again, applied_again = adapt(profile, adapted)
    assert again == adapted and applied_again == []  # a second pass has nothing left to do
    touched = (
        set(profile.translate) | set(profile.rename) | set(profile.rename.values()) | {"tool_choice", "tools"}
    )
    touched |= {field.partition(".")[0] for field in profile.drop} | {"messages", "response_format", "n"}
    for key, value in body.items():
        if key not in touched:
            assert adapted[key] == value, key
    assert (adapted is body) == (applied == [])


def test_profiles_compare_by_rules_and_hash() -> None:
    same = Profile.from_dict({"extends": "mistral"})
    assert same == PROFILES["mistral"] and {same: 1}[PROFILES["mistral"]] == 1
    assert Profile.from_dict({"extends": "mistral", "drop": []}) != PROFILES["mistral"]
