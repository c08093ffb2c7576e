"""Providers: the built-in table, the providers file, model strings, several providers from one client.

Every file lives in ``tmp_path`` and every variable is set with ``monkeypatch``: the real home
and the real environment are never read (tests/conftest.py also points XDG_CONFIG_HOME away).
"""

import json
import os
import warnings
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import pytest

from both_clients import Runner
from fakeserver import FakeServer
from openai_params import OpenAI, cli
from openai_params.providers import BUILT_IN, FILE_VARIABLE, find_file, open_providers, parse
from streamdata import DONE, SSE_HEADERS, chunk, completion, event, text_stream

MESSAGES = [{"role": "user", "content": "Hi"}]
KEY_A = "sk-provider-a-key-0123456789"
KEY_B = "sk-provider-b-key-9876543210"


@pytest.fixture(autouse=True)
def no_provider_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """None of the built-in providers' variables, and an empty XDG config folder of our own."""
    for provider in BUILT_IN.values():
        for variable in (provider.key_variable, provider.base_url_variable, provider.version_variable):
            if variable:
                monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def write(path: Path, content: Any, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2), encoding="utf-8")
    os.chmod(str(path), mode)
    return path


def two_servers_file(tmp_path: Path, a: FakeServer, b: FakeServer) -> Path:
    return write(
        tmp_path / "providers.json",
        {
            "providers": {
                "a": {"baseURL": a.url + "/v1", "apiKeyEnv": "A_KEY", "profile": "llama.cpp"},
                "b": {
                    "baseURL": b.url + "/v2",
                    "apiKey": KEY_B,
                    "organization": "org-b",
                    "project": "proj-b",
                },
            },
            "models": {"fast": {"provider": "b", "model": "model-x"}},
        },
    )


# -- the file's shapes ----------------------------------------------------------------------------
def test_a_4d_aikit_file_reads_as_it_is(tmp_path: Path) -> None:
    # The four keys of AIProviders.json and its models section, nothing of ours.
    path = write(
        tmp_path / "AIProviders.json",
        {
            "providers": {
                "local": {"baseURL": "http://localhost:11434/v1"},
                "work": {
                    "baseURL": "https://api.example.com/v1",
                    "apiKey": "sk-work-0123456789abcdef",
                    "organization": "org-1",
                    "project": "proj-1",
                },
            },
            "models": {"my-gpt": {"provider": "work", "model": "gpt-4o"}},
        },
    )
    table = open_providers(str(path), None, {})
    assert table is not None and table.source == str(path)
    work = table.providers["work"]
    assert (work.base_url, work.api_key, work.organization, work.project) == (
        "https://api.example.com/v1",
        "sk-work-0123456789abcdef",
        "org-1",
        "proj-1",
    )
    assert (work.profile, work.key_required) == (None, False)  # None: the profile is chosen by the host
    assert table.models == {"my-gpt": ("work", "gpt-4o")}
    assert set(BUILT_IN) < set(table.providers)  # the built-in ones stay beside the file's


def test_our_keys_and_an_entry_over_a_built_in_provider() -> None:
    table = parse(
        {
            "providers": {
                "mistral": {"apiKeyEnv": "MY_MISTRAL_KEY"},  # only its key variable changes
                "box": {"baseURL": "http://10.0.0.2:8080/v1", "profile": "llama.cpp", "apiKey": None},
                "openai": {"organization": "", "project": None},  # null and "" leave a field unset
            }
        }
    )
    mistral = table.providers["mistral"]
    assert mistral.base_url == BUILT_IN["mistral"].base_url and mistral.profile == "mistral"
    assert (mistral.key_variable, mistral.key_required) == ("MY_MISTRAL_KEY", True)
    assert table.providers["box"].profile == "llama.cpp" and table.providers["box"].api_key is None
    assert table.providers["openai"]._replace(source="built-in") == BUILT_IN["openai"]


def test_a_file_that_gives_nothing_is_the_built_in_table() -> None:
    for content in ({}, {"providers": {}, "models": {}}, {"providers": None}):
        table = parse(content)
        assert table.providers == BUILT_IN and table.models == {}


# -- where the file is found --------------------------------------------------------------------
def test_search_order_argument_then_variable_then_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = write(tmp_path / "given.json", {})
    from_variable = write(tmp_path / "variable.json", {})
    xdg = write(tmp_path / "xdg" / "openai_params" / "providers.json", {})
    environ = {FILE_VARIABLE: str(from_variable), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert find_file(str(given), environ) == (str(given), "providers")
    assert find_file(None, environ) == (str(from_variable), FILE_VARIABLE)
    del environ[FILE_VARIABLE]
    assert find_file(None, environ) == (str(xdg), "XDG_CONFIG_HOME")
    xdg.unlink()
    assert find_file(None, environ) is None


def test_xdg_default_is_dot_config_in_home_and_a_relative_value_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    path = write(tmp_path / "home" / ".config" / "openai_params" / "providers.json", {})
    assert find_file(None, {}) == (str(path), "XDG_CONFIG_HOME")
    assert find_file(None, {"XDG_CONFIG_HOME": "relative/dir"}) == (str(path), "XDG_CONFIG_HOME")


def test_never_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("providers.json", "AIProviders.json"):
        write(tmp_path / name, {"providers": {"here": {"baseURL": "http://127.0.0.1:1/v1"}}})
        write(
            tmp_path / "openai_params" / name, {"providers": {"here": {"baseURL": "http://127.0.0.1:1/v1"}}}
        )
    monkeypatch.chdir(tmp_path)
    assert find_file(None, dict(os.environ)) is None
    assert OpenAI(base_url="http://127.0.0.1:1/v1")._providers is None


def test_the_client_reads_the_variable_and_xdg_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path / "config" / "openai_params" / "providers.json",
        {"models": {"x": {"provider": "ollama", "model": "m"}}},
    )
    assert OpenAI()._providers.models == {"x": ("ollama", "m")}  # type: ignore[union-attr]
    monkeypatch.setenv(
        FILE_VARIABLE, str(write(tmp_path / "v.json", {"models": {"y": {"provider": "vllm", "model": "n"}}}))
    )
    assert OpenAI()._providers.models == {"y": ("vllm", "n")}  # type: ignore[union-attr]
    monkeypatch.setenv(FILE_VARIABLE, str(tmp_path / "missing.json"))
    with pytest.raises(
        ValueError, match=r"^providers file .*missing\.json \(from OPENAI_PARAMS_PROVIDERS\) cannot be read"
    ):
        OpenAI()


def test_the_file_is_read_once_when_the_client_is_made(tmp_path: Path, fake_server: FakeServer) -> None:
    path = write(
        tmp_path / "p.json",
        {
            "models": {"fast": {"provider": "local", "model": "real"}},
            "providers": {"local": {"baseURL": fake_server.url + "/v1"}},
        },
    )
    client = OpenAI(providers=str(path), max_retries=0)
    path.unlink()  # nothing reads it again: not per request
    fake_server.add(200, json=completion("ok"))
    assert client.chat.completions.create(MESSAGES, model="fast").success
    assert fake_server.requests[0].json["model"] == "real"


# -- the permissions warning -------------------------------------------------------------------------
posix_only = pytest.mark.skipif(os.name != "posix", reason="mode bits: POSIX only (skipped on Windows)")


@posix_only
@pytest.mark.parametrize(
    "mode, readers",
    [(0o644, "group and others"), (0o640, "group"), (0o604, "others"), (0o600, None), (0o400, None)],
)
def test_a_key_in_a_file_others_can_read_is_warned_about(
    tmp_path: Path, mode: int, readers: Optional[str]
) -> None:
    path = write(tmp_path / "p.json", {"providers": {"x": {"baseURL": "http://h/v1", "apiKey": KEY_A}}}, mode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        OpenAI(providers=str(path))
    mine = [w for w in caught if issubclass(w.category, UserWarning)]  # not a GC's ResourceWarning
    texts = [str(w.message) for w in mine]
    if readers is None:
        assert texts == []
    else:
        assert texts == [
            "providers file %s holds an API key and is readable by %s (mode %04o): run chmod 600 on it, "
            "or name a variable with apiKeyEnv instead of apiKey" % (path, readers, mode)
        ]
        assert mine[0].filename == __file__  # points at the line that made the client
        assert KEY_A not in texts[0]


@posix_only
def test_a_readable_file_without_a_key_is_not_warned_about(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.json", {"providers": {"x": {"baseURL": "http://h/v1", "apiKeyEnv": "X_KEY"}}}, 0o644
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        OpenAI(providers=str(path))


# -- a malformed file: the error names the file, and the line or the key ------------------------------
@pytest.mark.parametrize(
    "text, message",
    [
        (
            '{\n  "providers": {\n    "a": {"baseURL": "http://h/v1"}\n    "b": {}\n',
            r"is not valid JSON: Expecting ',' delimiter: line 4 column 5 \(char \d+\)$",
        ),
        ("", r"is not valid JSON: Expecting value: line 1 column 1"),
        ("[]", r"^the top level in .* must be a JSON object \(got \[\], a list\)$"),
        (
            '{"provider": {}}',
            r"^the top level in .* has an unknown key 'provider'; did you mean 'providers'\?",
        ),
        (
            '{"providers": {"a": {"baseUrl": "http://h/v1"}}}',
            r"^providers\.a in .* has an unknown key 'baseUrl'; did you mean 'baseURL'\?",
        ),
        (
            '{"providers": {"a": {"baseURL": 8080}}}',
            r"^providers\.a\.baseURL in .* must be a string \(got 8080, an int\)$",
        ),
        (
            '{"providers": {"a": {"baseURL": "localhost:8080"}}}',
            r"^providers\.a\.baseURL in .* must be a URL starting with http:// or https://",
        ),
        (
            '{"providers": {"a": {"apiKey": "k"}}}',
            r"^providers\.a\.baseURL in .* is missing: every provider that is not built in needs one$",
        ),
        (
            '{"providers": {"a": {"baseURL": "http://h/v1", "apiKey": "k", "apiKeyEnv": "K"}}}',
            r"^providers\.a in .* gives both apiKey and apiKeyEnv",
        ),
        (
            '{"providers": {"a": {"baseURL": "http://h/v1", "apiKeyEnv": "my key"}}}',
            r"^providers\.a\.apiKeyEnv in .* must be the name of an environment variable",
        ),
        (
            '{"providers": {"a:b": {"baseURL": "http://h/v1"}}}',
            r"^providers\[\"a:b\"\] in .*: a provider name must be a non-empty string without ':'",
        ),
        (
            '{"providers": {"llama.cpp": {"baseURL": 1}}}',
            r"^providers\[\"llama\.cpp\"\]\.baseURL in .* must be a string",
        ),
        (
            '{"providers": {"a": "http://h/v1"}}',
            r"^providers\.a in .* must be a JSON object \(got 'http://h/v1', a str\)$",
        ),
        (
            '{"models": {"fast": {"provider": "grok", "model": "m"}}}',
            r"^models\.fast\.provider in .*: 'grok' is not a provider of the file or a built-in one; "
            r"did you mean 'groq'\?",
        ),
        (
            '{"models": {"fast": {"provider": "groq"}}}',
            r"^models\.fast\.model in .* must be a non-empty string \(got None\)$",
        ),
        (
            '{"models": {"fast": {"provider": "groq", "model": "m", "temperature": 0}}}',
            r"^models\.fast in .* has an unknown key 'temperature'",
        ),
    ],
)
def test_a_malformed_file_is_refused_naming_the_file_and_the_line_or_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path / "bad.json", text)
    with pytest.raises((TypeError, ValueError), match=message) as caught:
        OpenAI(providers=str(path))
    assert str(path) in str(caught.value)


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"providers": {"caf\xe9": {}}}')
    with pytest.raises(
        ValueError, match=r"^providers file .*latin1\.json is not UTF-8 text \(byte 0xe9 at position 19\)$"
    ):
        OpenAI(providers=str(path))


def test_a_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"models": {"f": {"provider": "groq", "model": "m"}}}).encode()
    )
    assert OpenAI(providers=str(path))._providers.models == {"f": ("groq", "m")}  # type: ignore[union-attr]


# -- model strings --------------------------------------------------------------------------------
TABLE = parse(
    {
        "providers": {"local": {"baseURL": "http://127.0.0.1:8080/v1"}},
        "models": {
            "fast": {"provider": "groq", "model": "llama-3.1-8b-instant"},
            "a:b": {"provider": "local", "model": "x"},
        },
    },
    "test.json",
)


@pytest.mark.parametrize(
    "model, expected",
    [
        ("ollama:llama3:8b", ("ollama", "llama3:8b")),  # split at the first colon only
        ("local:smollm2", ("local", "smollm2")),  # a provider of the file
        ("llama.cpp:m", ("llama.cpp", "m")),
        ("fast", ("groq", "llama-3.1-8b-instant")),  # an alias
        ("a:b", ("local", "x")),  # an alias with a colon: "a" is no provider
        ("llama3:8b", (None, "llama3:8b")),  # Ollama's tags: not a provider, sent as it is
        ("deepseek-r1:7b", (None, "deepseek-r1:7b")),  # close to "deepseek", but not a slip of it
        ("mistral-nemo:12b", (None, "mistral-nemo:12b")),
        ("ft:gpt-4o-mini:my-org:custom:id", (None, "ft:gpt-4o-mini:my-org:custom:id")),  # fine-tuned ids
        ("gpt-4o-mini", (None, "gpt-4o-mini")),
        (
            "mistral:7b",
            ("mistral", "7b"),
        ),  # a provider's name wins (docs/providers.md: write ollama:mistral:7b)
    ],
)
def test_model_strings_resolve_provider_then_alias_then_bare(
    model: str, expected: Tuple[Optional[str], str]
) -> None:
    assert TABLE.resolve(model) == expected


@pytest.mark.parametrize(
    "model, near",
    [
        ("Mistral:large", "mistral"),
        ("mistrl:large", "mistral"),
        ("olama:x", "ollama"),
        ("lcoal:x", "local"),
        ("deepsek:x", "deepseek"),
    ],
)
def test_a_prefix_that_looks_like_a_misspelt_provider_is_refused(model: str, near: str) -> None:
    with pytest.raises(ValueError) as caught:
        TABLE.resolve(model)
    text = str(caught.value)
    assert text.startswith(
        "model %r: %r is not a provider; did you mean %r?" % (model, model.split(":")[0], near)
    )
    assert (
        "(known providers: azure, deepseek, groq, llama-cpp-python, llama.cpp, lmstudio, local, mistral, "
        "ollama, openai, vllm; aliases: a:b, fast (file: test.json))" in text
    )
    assert "PROVIDER:%s" % model in text


def test_a_provider_without_a_model_after_the_colon() -> None:
    with pytest.raises(
        ValueError, match=r"^model 'ollama:' names the provider 'ollama' but no model after the colon$"
    ):
        TABLE.resolve("ollama:")


def test_an_unknown_provider_argument_lists_them_with_did_you_mean() -> None:
    with pytest.raises(ValueError) as caught:
        OpenAI(provider="mistrall")
    assert str(caught.value) == (
        "provider 'mistrall' is not a known provider; did you mean 'mistral'? (known providers: azure, "
        "deepseek, groq, llama-cpp-python, llama.cpp, lmstudio, mistral, ollama, openai, vllm)"
    )
    with pytest.raises(TypeError, match=r"^provider must be a provider name, a string \(got 3, an int\)$"):
        OpenAI(provider=3)  # type: ignore[arg-type]


def test_without_any_provider_configuration_model_names_go_as_they_are(
    fake_server: FakeServer, run: Runner
) -> None:
    fake_server.add(200, json=completion("ok"))
    fake_server.add(200, json=completion("ok"))
    with run.OpenAI(base_url=fake_server.url + "/v1", max_retries=0) as client:
        assert client._providers is None  # nothing to resolve: the hot path does no work
        assert run(client.chat.completions.create(MESSAGES, model="mistral:7b")).success
        assert run(client.chat.completions.create(MESSAGES, model="Mistral:7b")).success
    assert [r.json["model"] for r in fake_server.requests] == ["mistral:7b", "Mistral:7b"]


# -- OpenAI(provider=...) --------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_each_built_in_provider_sets_base_url_key_and_profile(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = BUILT_IN[name]
    if row.base_url_variable:
        monkeypatch.setenv(row.base_url_variable, "https://res.example.com")
    if row.key_variable:
        monkeypatch.setenv(row.key_variable, "key-of-%s-0123456789" % name)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://wrong.example/v1")
    client = OpenAI(provider=name)
    expected_url = row.base_url or "https://res.example.com/openai/v1"
    request = client.chat.completions.build_request(MESSAGES, model="m")
    assert request.url == expected_url + "/chat/completions"
    assert client.provider == name and client.profile.name == row.profile == name
    if row.key_variable:
        key = "key-of-%s-0123456789" % name
        sent = request.headers.get("api-key") if name == "azure" else request.headers.get("Authorization")
        assert sent == (key if name == "azure" else "Bearer " + key)
    else:
        assert "Authorization" not in request.headers


@pytest.mark.parametrize("name", ["ollama", "lmstudio", "vllm", "llama.cpp", "llama-cpp-python"])
def test_local_servers_need_no_key_and_never_get_openais(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY_A)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-openai")
    client = OpenAI(provider=name)
    assert client.api_key is None and client.organization is None
    request = client.chat.completions.build_request(MESSAGES, model="m")
    assert "Authorization" not in request.headers and "OpenAI-Organization" not in request.headers


@pytest.mark.parametrize(
    "name, variable", [(n, p.key_variable) for n, p in sorted(BUILT_IN.items()) if p.key_required]
)
def test_a_provider_whose_key_variable_is_unset_is_refused(
    name: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.example.com")
    monkeypatch.setenv("OPENAI_API_KEY" if name != "openai" else "UNRELATED", KEY_A)  # never borrowed
    with pytest.raises(ValueError) as caught:
        OpenAI(provider=name)
    assert str(caught.value) == "provider %r needs an API key: set %s (nothing was sent)" % (name, variable)
    assert OpenAI(provider=name, api_key=KEY_B).api_key == KEY_B  # a key given wins


def test_given_settings_win_over_the_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", KEY_A + "\n")
    client = OpenAI(provider="groq", base_url="http://127.0.0.1:9/v1", organization="org-x")
    assert (client.base_url, client.api_key, client.organization) == ("http://127.0.0.1:9/v1", KEY_A, "org-x")


# -- Azure ---------------------------------------------------------------------------------------------
def test_azure_url_query_and_api_key_header(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch, run: Runner
) -> None:
    azure_key = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake_server.url + "/")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", azure_key)
    monkeypatch.setenv("OPENAI_API_VERSION", "preview")
    fake_server.add(200, json=completion("ok"))
    fake_server.add(200, pieces=text_stream(["Hi"]), headers=SSE_HEADERS)
    with run.OpenAI(provider="azure", max_retries=0) as client:
        assert client.base_url == fake_server.url + "/openai/v1?api-version=preview"
        assert azure_key not in repr(client)
        assert run(client.chat.completions.create(MESSAGES, model="my-deployment")).success
        with run.stream(client.chat.completions.stream(MESSAGES, model="my-deployment")) as stream:
            assert "".join(piece.text for piece in stream) == "Hi"
    for received in fake_server.requests:
        assert (received.path, received.query) == (
            "/openai/v1/chat/completions",
            {"api-version": ["preview"]},
        )
        assert received.headers["api-key"] == azure_key and "authorization" not in received.headers
        assert received.json["model"] == "my-deployment"


def test_azure_without_an_endpoint_says_how_to_give_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY_A)
    with pytest.raises(
        ValueError,
        match=r"^provider 'azure' has no base URL: set AZURE_OPENAI_ENDPOINT to https://RESOURCE\.openai\.azure\.com",
    ):
        OpenAI(provider="azure")
    client = OpenAI(provider="azure", base_url="https://res.openai.azure.com/openai/v1")
    assert client.chat.completions.build_request(MESSAGES, model="d").headers["api-key"] == KEY_A


# -- several providers from one client ------------------------------------------------------------
def test_one_client_calls_two_servers_each_with_its_url_key_and_pool(
    tmp_path: Path,
    fake_server: FakeServer,
    second_server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    run: Runner,
) -> None:
    monkeypatch.setenv("A_KEY", KEY_A)
    path = two_servers_file(tmp_path, fake_server, second_server)
    for _ in range(2):
        fake_server.add(200, json=completion("from a"))
    for _ in range(3):
        second_server.add(200, json=completion("from b"))
    second_server.add(200, pieces=text_stream(["str", "eamed"]), headers=SSE_HEADERS)
    with run.OpenAI(
        provider="a", providers=str(path), max_retries=0, default_headers={"X-Secret-Token": "t0ken-for-a"}
    ) as client:
        assert client.profile.name == "llama.cpp"
        assert run(client.chat.completions.create(MESSAGES, model="plain")).text == "from a"
        assert run(client.chat.completions.create(MESSAGES, model="b:model-y")).text == "from b"
        assert run(client.chat.completions.create(MESSAGES, model="fast")).text == "from b"
        assert run(client.chat.completions.create(MESSAGES, model="a:llama3:8b")).text == "from a"
        assert (
            run(client.chat.completions.create(MESSAGES, model="b:bg", on_terminate=lambda r: None)).text
            == "from b"
        )
        with run.stream(client.chat.completions.stream(MESSAGES, model="b:streamed")) as stream:
            assert "".join(piece.text for piece in stream) == "streamed"
    a_got, b_got = fake_server.requests, second_server.requests
    assert [(r.path, r.json["model"]) for r in a_got] == [
        ("/v1/chat/completions", "plain"),
        ("/v1/chat/completions", "llama3:8b"),
    ]
    assert [(r.path, r.json["model"]) for r in b_got] == [
        ("/v2/chat/completions", m) for m in ("model-y", "model-x", "bg", "streamed")
    ]
    assert {r.headers["authorization"] for r in a_got} == {"Bearer " + KEY_A}
    assert {r.headers["authorization"] for r in b_got} == {"Bearer " + KEY_B}
    assert {(r.headers["openai-organization"], r.headers["openai-project"]) for r in b_got} == {
        ("org-b", "proj-b")
    }
    assert all("openai-organization" not in r.headers for r in a_got)
    # The client's default headers may hold its own server's credentials: they stay there.
    assert {r.headers.get("x-secret-token") for r in a_got} == {"t0ken-for-a"}
    assert all("x-secret-token" not in r.headers for r in b_got)
    # One keep-alive pool per host: sequential calls reuse one connection on each server.
    assert fake_server.connections == 1 and second_server.connections == 1


def test_a_routed_provider_without_its_key_fails_before_sending(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch, run: Runner
) -> None:
    with run.OpenAI(provider="ollama", base_url=fake_server.url + "/v1", max_retries=0) as client:
        with pytest.raises(ValueError) as caught:
            run(client.chat.completions.create(MESSAGES, model="mistral:7b"))
        assert str(caught.value) == (
            "model 'mistral:7b' uses provider 'mistral', which needs an API key: set MISTRAL_API_KEY "
            "(nothing was sent); to send 'mistral:7b' to this client's own server, write ollama:mistral:7b"
        )
        with pytest.raises(ValueError, match="set GROQ_API_KEY"):
            run.stream(client.chat.completions.stream(MESSAGES, model="groq:x"))
        fake_server.add(200, json=completion("ok"))
        assert run(client.chat.completions.create(MESSAGES, model="ollama:mistral:7b")).success
        fake_server.add(200, json=completion("ok"))
        # No provider is named "llama3": the model goes to the client's own server as it is.
        assert run(client.chat.completions.create(MESSAGES, model="llama3:8b")).success
    assert [r.json["model"] for r in fake_server.requests] == ["mistral:7b", "llama3:8b"]


def test_a_key_variable_named_in_the_file_must_be_set(
    tmp_path: Path, fake_server: FakeServer, second_server: FakeServer, run: Runner
) -> None:
    path = two_servers_file(tmp_path, fake_server, second_server)
    with pytest.raises(
        ValueError,
        match=r"^provider 'a' \(from .*providers\.json\) needs an API key: set A_KEY \(nothing was sent\)$",
    ):
        OpenAI(provider="a", providers=str(path))
    with run.OpenAI(provider="b", providers=str(path), max_retries=0) as client:
        with pytest.raises(
            ValueError, match=r"^model 'a:m' uses provider 'a' \(from .*\), which needs an API key: set A_KEY"
        ):
            run(client.chat.completions.create(MESSAGES, model="a:m"))
    assert fake_server.requests == [] and second_server.requests == []


def test_providers_as_a_dict() -> None:
    client = OpenAI(providers={"models": {"f": {"provider": "ollama", "model": "qwen3:0.6b"}}})
    assert (
        client.chat.completions.build_request(MESSAGES, model="f").url
        == "http://localhost:11434/v1/chat/completions"
    )
    with pytest.raises(ValueError, match=r"^models\.f\.provider in the providers argument: 'olama'"):
        OpenAI(providers={"models": {"f": {"provider": "olama", "model": "m"}}})
    with pytest.raises(
        TypeError,
        match=r"^providers must be the path of a providers file or its content as a dict \(got 3, an int\)$",
    ):
        OpenAI(providers=3)  # type: ignore[arg-type]


# -- the command line ----------------------------------------------------------------------------
def main(capsys: Any, *argv: str) -> Tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lists_providers_with_keys_redacted(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", KEY_A)
    path = write(
        tmp_path / "p.json",
        {
            "providers": {
                "b": {"baseURL": "http://127.0.0.1:9/v2", "apiKey": KEY_B, "profile": "vllm"},
                "eu": {"baseURL": "https://api.mistral.ai/v1", "apiKeyEnv": "EU_KEY"},
                "plain": {"baseURL": "http://127.0.0.1:9/v3"},
            },
            "models": {"fast": {"provider": "groq", "model": "llama-3.1-8b-instant"}},
        },
    )
    code, out, err = main(capsys, "providers", "--providers", str(path))
    assert (code, err) == (0, "")
    assert KEY_A not in out and KEY_B not in out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert lines["b"] == [
        "b",
        "http://127.0.0.1:9/v2",
        "sk-...3210",
        "(in",
        "the",
        "file)",
        "vllm",
        str(path),
    ]
    assert lines["groq"][2:4] == ["$GROQ_API_KEY", "(set)"]
    assert lines["mistral"][2:5] == ["$MISTRAL_API_KEY", "(not", "set)"]
    assert lines["ollama"][2] == "none"
    assert lines["eu"][2:8] == ["$EU_KEY", "(not", "set)", "mistral", "(by", "host)"]
    assert lines["plain"][2:4] == ["none", "generic"]
    assert out.endswith("\nmodel aliases:\nfast -> groq:llama-3.1-8b-instant\n")
    code, out, _ = main(capsys, "providers", "--json", "--providers", str(path))
    listing = json.loads(out)
    assert code == 0 and KEY_B not in out and listing["file"] == str(path)
    assert listing["models"] == {"fast": ["groq", "llama-3.1-8b-instant"]}
    by_name: Dict[str, Any] = {row["name"]: row for row in listing["providers"]}
    assert by_name["groq"]["key"] == "$GROQ_API_KEY (set)" and by_name["b"]["from"] == str(path)


@posix_only
def test_cli_providers_warns_and_reports_a_bad_file(tmp_path: Path, capsys: Any) -> None:
    path = write(
        tmp_path / "p.json", {"providers": {"b": {"baseURL": "http://h/v1", "apiKey": KEY_B}}}, 0o644
    )
    code, _, err = main(capsys, "providers", "--providers", str(path))
    assert code == 0 and err.startswith("warning: providers file %s holds an API key" % path)
    bad = write(tmp_path / "bad.json", "{")
    code, out, err = main(capsys, "providers", "--providers", str(bad))
    assert (code, out) == (2, "") and err.startswith("error: providers file %s is not valid JSON" % bad)


@posix_only
def test_cli_chat_says_the_clients_warnings_and_errors_in_one_line_each(tmp_path: Path, capsys: Any) -> None:
    path = write(
        tmp_path / "p.json",
        {"providers": {"b": {"baseURL": "http://127.0.0.1:9/v1", "apiKey": KEY_B}}},
        0o644,
    )
    code, out, err = main(
        capsys, "--providers", str(path), "--provider", "b", "--dry-run", "--no-stream", "Hi"
    )
    assert code == 0 and out.startswith("POST http://127.0.0.1:9/v1/chat/completions\n")
    assert (
        err
        == "warning: providers file %s holds an API key and is readable by group and others " % path
        + ("(mode 0644): run chmod 600 on it, or name a variable with apiKeyEnv instead of apiKey\n")
    )
    assert KEY_B not in out + err
    code, out, err = main(capsys, "providers", "--api-key", KEY_B)
    assert (
        (code, out) == (2, "") and err.startswith("error: there is no --api-key option") and KEY_B not in err
    )


def test_cli_provider_option(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", KEY_A)
    code, out, _ = main(
        capsys, "--provider", "groq", "--dry-run", "--no-stream", "--model", "llama-3.1-8b-instant", "Hi"
    )
    assert code == 0 and out.startswith("POST https://api.groq.com/openai/v1/chat/completions\n")
    assert KEY_A not in out and "Authorization: Bearer sk-...6789" in out
    code, out, _ = main(capsys, "--provider", "groq", "--curl", "--no-stream", "Hi")
    assert code == 0 and '-H "Authorization: Bearer $GROQ_API_KEY"' in out and KEY_A not in out
    code, out, _ = main(
        capsys, "--provider", "groq", "--curl", "--no-stream", "--model", "ollama:llama3:8b", "Hi"
    )
    assert code == 0 and "http://localhost:11434/v1/chat/completions" in out and "Authorization" not in out
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY_B)
    code, out, _ = main(
        capsys,
        "models",
        "--provider",
        "azure",
        "--base-url",
        "https://r.openai.azure.com/openai/v1",
        "--curl",
    )
    assert code == 0 and '-H "api-key: $AZURE_OPENAI_API_KEY"' in out and KEY_B not in out
    code, out, err = main(capsys, "--provider", "groqq", "--dry-run", "Hi")
    assert (code, out) == (2, "") and err.startswith(
        "error: provider 'groqq' is not a known provider; did you mean 'groq'?"
    )
    code, out, err = main(capsys, "--provider", "mistral", "--dry-run", "Hi")
    assert (code, err) == (
        2,
        "error: provider 'mistral' needs an API key: set MISTRAL_API_KEY (nothing was sent)\n",
    )


# -- each provider's profile -------------------------------------------------------------------------
def test_each_provider_gets_its_own_profile(
    fake_server: FakeServer, second_server: FakeServer, monkeypatch: pytest.MonkeyPatch, run: Runner
) -> None:
    providers = {
        "providers": {
            "py": {"baseURL": fake_server.url + "/v1", "profile": "llama-cpp-python"},
            "v": {"baseURL": second_server.url + "/v1", "profile": "vllm"},
        }
    }
    fake_server.add(200, json=completion("from py"))
    reasoned = completion("42")
    reasoned["choices"][0]["message"]["reasoning"] = "6 times 7"
    second_server.add(200, json=reasoned)
    second_server.add(
        200,
        pieces=[
            event(chunk(reasoning="6 ")),
            event(chunk(reasoning="x 7")),
            event(chunk("42", finish="stop")),
            DONE,
        ],
        headers=SSE_HEADERS,
    )
    fake_server.add(200, json=completion("own"))
    with run.OpenAI(base_url=fake_server.url + "/v1", providers=providers, max_retries=0) as client:
        assert client.profile.name == "generic"  # the client's own server: no provider, no host known
        first = run(client.chat.completions.create(MESSAGES, model="py:m", max_completion_tokens=7))
        second = run(client.chat.completions.create(MESSAGES, model="v:m", max_completion_tokens=7))
        with run.stream(client.chat.completions.stream(MESSAGES, model="v:m")) as stream:
            deltas = [piece.choice.delta.reasoning_content for piece in stream if piece.choice]
        streamed = stream.result()
        own = run(client.chat.completions.create(MESSAGES, model="m", max_completion_tokens=7))
    assert first.success and own.success
    assert deltas[:2] == ["6 ", "x 7"] and streamed.choice.message.reasoning_content == "6 x 7"
    assert second.choice.message.reasoning_content == "6 times 7"  # read by vllm's profile
    sent_py, sent_own = (r.json for r in fake_server.requests)
    assert sent_py["max_tokens"] == 7 and "max_completion_tokens" not in sent_py  # llama-cpp-python's rename
    assert second_server.requests[0].json["max_completion_tokens"] == 7  # vllm takes it as it is
    assert sent_own["max_completion_tokens"] == 7 and "max_tokens" not in sent_own


def test_provider_sets_the_client_profile_unless_one_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", KEY_A)
    client = OpenAI(provider="mistral")
    assert client.profile.name == "mistral"
    body = json.loads(client.chat.completions.build_request(MESSAGES, model="m", seed=3).body or b"")
    assert body["random_seed"] == 3 and "seed" not in body
    assert OpenAI(provider="mistral", profile="generic").profile.name == "generic"
    # A file provider without a profile: chosen by its host, as for any base URL.
    by_host = OpenAI(provider="eu", providers={"providers": {"eu": {"baseURL": "https://api.mistral.ai/v1"}}})
    assert by_host.profile.name == "mistral"


def test_an_unknown_profile_in_the_file_names_the_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path / "p.json", {"providers": {"a": {"baseURL": "http://h/v1", "profile": "llamacpp"}}})
    with pytest.raises(ValueError) as caught:
        OpenAI(providers=str(path))
    assert str(caught.value).startswith("providers.a.profile in %s" % path)
    assert "did you mean 'llama.cpp'?" in str(caught.value)


# -- on the real server (run by ./scripts/test: integration) ---------------------------------------
def test_a_file_provider_on_the_real_server_next_to_the_clients_own(
    real_server: Any, fake_server: FakeServer
) -> None:
    # The real server (llama-cpp-python) ignores max_completion_tokens: only its profile's rename to
    # max_tokens bounds the answer, so a bounded answer shows the routed request took that profile.
    providers = {
        "providers": {"local": {"baseURL": real_server.base_url, "profile": "llama-cpp-python"}},
        "models": {"small": {"provider": "local", "model": real_server.model}},
    }
    fake_server.add(200, json=completion("own"))
    prompt = [{"role": "user", "content": "Tell me a long story about Paris."}]
    with OpenAI(base_url=fake_server.url + "/v1", providers=providers, max_retries=0, timeout=120) as client:
        routed = client.chat.completions.create(prompt, model="small", max_completion_tokens=5, temperature=0)
        named = client.chat.completions.create(
            prompt, model="local:" + real_server.model, max_completion_tokens=5, temperature=0
        )
        own = client.chat.completions.create(prompt, model="m")
    assert routed.success and named.success, (routed.errors, named.errors)
    assert routed.usage["completion_tokens"] <= 5 and named.usage["completion_tokens"] <= 5
    assert own.text == "own" and [r.json["model"] for r in fake_server.requests] == ["m"]
