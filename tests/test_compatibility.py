"""Measure what the two real servers do with each chat parameter the package sends,
and check that ``docs/compatibility.md`` says exactly that.

The servers are llama-cpp-python's Python server and llama.cpp's C++
``llama-server`` (see ``scripts/local_server.py``); each is one column of the
tables. For every request field of ``CreateChatCompletionRequest`` that
``OpenAIChatCompletionParameters`` can put in a body, a probe sends a body built
by ``body()`` (plus messages) with plain urllib and classifies the answer:

- honoured: the effect the parameter asks for was observed;
- ignored: 200, but the effect it asks for is absent;
- accepted: 200 and a well-formed completion; no effect was checked (none
  can be seen with this server and model);
- rejected: an error status; the observation carries the server's message.

A second table records behaviour that is not a parameter (error shapes, extra
response keys, headers, how a tool call streams).

Each column of the tables under the headings ``SECTION`` and
``BEHAVIOUR_SECTION`` in ``docs/compatibility.md`` must equal what its server
does now; when a server changes, this test fails with a diff and the new table
to paste. Run ``python3 tests/test_compatibility.py`` to print the measured
tables (it starts the servers itself).

Effects are measured with greedy decoding (temperature 0) or fixed seeds, so
every observation is deterministic for a given server and model.
"""

import dataclasses
import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Sequence, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # when run as a script
    sys.path.insert(0, str(ROOT))

from openai_params import OpenAI  # noqa: E402
from openai_params.parameters import OpenAIChatCompletionParameters  # noqa: E402
from openai_params.profiles import PROFILES, adapt  # noqa: E402
from rawhttp import (  # noqa: E402
    FORCE_WEATHER,
    WEATHER_TOOL,
    Answer,
    check_completion,
    check_stream,
    post_chat,
    request,
    wait_until_idle,
)

DOC = ROOT / "docs" / "compatibility.md"
SECTION = "Two local servers (measured)"
BEHAVIOUR_SECTION = "Other behaviour of the two servers (measured)"
SCHEMA = ROOT / "tests" / "data" / "openapi" / "openai-chat-completions.openapi.json"
RESULTS = ("honoured", "accepted", "ignored", "rejected")


class Column(NamedTuple):
    """One measured column: a server (as scripts/local_server.py names it) and the profile
    the requests are adapted to (``generic``: sent as built, with plain urllib)."""

    label: str
    server: str
    profile: str


COLUMNS = (
    Column("llama-cpp-python", "llama-cpp-python", "generic"),
    Column("llama-cpp-python, its profile", "llama-cpp-python", "llama-cpp-python"),
    Column("llama.cpp", "llama.cpp", "generic"),
    Column("llama.cpp, its profile", "llama.cpp", "llama.cpp"),
)
GENERIC = [column for column in COLUMNS if column.profile == "generic"]
HEADER = ("parameter", "value sent") + tuple(column.label for column in COLUMNS)
# Behaviour is the servers' own: measured with requests as built.
BEHAVIOUR_HEADER = ("behaviour", "request") + tuple(column.label for column in GENERIC)
UNCHANGED = "as sent: the profile changes nothing"

HELLO = [{"role": "user", "content": "Say hello."}]
CATS = [{"role": "user", "content": "Write the word cat ten times."}]
CAPITAL = [{"role": "user", "content": "What is the capital of France?"}]
WEATHER = [{"role": "user", "content": "What is the weather in Paris?"}]
GREEDY = {"temperature": 0, "max_tokens": 12}
HOT = 1.5  # a temperature at which different seeds give different texts
SEEDS = (1, 2, 3)
ACCEPTED = "200 and a well-formed completion; no effect checked"


class Row(NamedTuple):
    """One measurement on one server: what was sent (two cells) and what was seen (one cell)."""

    parameter: str
    value: str
    cell: str


class Rejected(Exception):
    """The server answered an error status."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


class Server:
    """Sends bodies built by the package; remembers non-streamed answers (all are deterministic)."""

    def __init__(self, base_url: str, model: str) -> None:
        self.base_url = base_url
        self.model = model
        self._cache = {}  # type: Dict[str, Dict[str, Any]]

    @property
    def root(self) -> str:
        """The server's own endpoints live outside ``/v1``."""
        return self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url

    def body(self, fields: Dict[str, Any], messages: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
        fields = dict(fields)
        fields.setdefault("model", self.model)
        body = OpenAIChatCompletionParameters(**fields).body()
        body["messages"] = list(messages)
        return body

    def send(self, fields: Dict[str, Any], messages: Sequence[Dict[str, Any]] = HELLO) -> Answer:
        answer = post_chat(self.base_url, self.body(fields, messages))
        if answer.status >= 300:
            raise Rejected(answer)
        return answer

    def chat(self, fields: Dict[str, Any], messages: Sequence[Dict[str, Any]] = HELLO) -> Dict[str, Any]:
        """A well-formed non-streamed completion (asserted), from the cache when asked before."""
        key = json.dumps(self.body(fields, messages), sort_keys=True)
        if key not in self._cache:
            self._cache[key] = check_completion(self.send(fields, messages))
        return self._cache[key]

    def text(self, fields: Dict[str, Any], messages: Sequence[Dict[str, Any]] = HELLO) -> str:
        return self.chat(fields, messages)["choices"][0]["message"]["content"] or ""

    def texts_for_seeds(self, fields: Dict[str, Any]) -> List[str]:
        return [self.text(dict(fields, seed=seed)) for seed in SEEDS]


class ProfiledServer(Server):
    """The same probes through the package's client with a profile: what the profile makes
    of each row. Requests the profile leaves as they are go to ``plain`` (the same server,
    as built) so they are not sent twice; ``applied`` collects the rules that changed one."""

    def __init__(self, plain: Server, profile: str) -> None:
        super().__init__(plain.base_url, plain.model)
        self.plain = plain
        self.profile = PROFILES[profile]
        self.client = OpenAI(api_key="sk-dummy", base_url=plain.base_url, profile=profile, max_retries=0)
        self.applied = []  # type: List[str]

    def _adapted(self, fields: Dict[str, Any], messages: Sequence[Dict[str, Any]]) -> bool:
        rules = [str(rule) for rule in adapt(self.profile, self.body(fields, messages))[1]]
        self.applied += [rule for rule in rules if rule not in self.applied]
        return bool(rules)

    def chat(self, fields: Dict[str, Any], messages: Sequence[Dict[str, Any]] = HELLO) -> Dict[str, Any]:
        if not self._adapted(fields, messages):
            return self.plain.chat(fields, messages)
        return super().chat(fields, messages)

    def send(self, fields: Dict[str, Any], messages: Sequence[Dict[str, Any]] = HELLO) -> Answer:
        if not self._adapted(fields, messages):
            return self.plain.send(fields, messages)
        fields = dict(fields, model=fields.get("model", self.model))
        if fields.pop("stream", False):
            # The chunks as the client read them, written back as the event stream they came in.
            with self.client.chat.completions.stream(list(messages), **fields) as stream:
                chunks = [chunk.body for chunk in stream if chunk.success]
                result = stream.result()
            raw = b"".join(b"data: %s\n\n" % json.dumps(chunk).encode("utf-8") for chunk in chunks)
            raw += b"data: [DONE]\n\n"
            # (the server's own type differs when the profile sent the stream unstreamed)
            kind = "text/event-stream"
        else:
            result = self.client.chat.completions.create(list(messages), **fields)
            raw = json.dumps(result.body).encode("utf-8")
            kind = result.headers.get("content-type", "application/json")
        headers = {k.lower(): v for k, v in result.headers.items()}
        answer = Answer(result.status, dict(headers, **{"content-type": kind}), raw)
        if not result.success:
            answer.body = json.dumps(result.errors[0].body).encode("utf-8")
            raise Rejected(answer)
        return answer


Outcome = Tuple[str, str]  # (result, observation)
Probe = Callable[[Server], Outcome]
PROBES = []  # type: List[Tuple[str, str, Probe]]
Behaviour = Callable[[Server], str]
BEHAVIOURS = []  # type: List[Tuple[str, str, Behaviour]]


def probe(parameter: str, value: str) -> Callable[[Probe], Probe]:
    """Register a measurement of ``parameter`` sent at ``value`` (as shown in the table)."""

    def register(func: Probe) -> Probe:
        PROBES.append((parameter, value, func))
        return func

    return register


def behaviour(what: str, sent: str) -> Callable[[Behaviour], Behaviour]:
    """Register an observation of ``what`` the server does when sent ``sent``."""

    def register(func: Behaviour) -> Behaviour:
        BEHAVIOURS.append((what, sent, func))
        return func

    return register


def code(value: Any) -> str:
    return "`%s`" % json.dumps(value)


def accepted_probe(parameter: str, value: Any, **extra: Any) -> None:
    """A parameter whose effect cannot be seen here: only 200 and a well-formed answer count."""

    @probe(parameter, code(value))
    def _measure(server: Server) -> Outcome:
        server.chat(dict(extra, max_tokens=4, **{parameter: value}))
        return "accepted", ACCEPTED


# --- the seed's fields -----------------------------------------------------------------------


@probe("model", code("gpt-4o-mini"))
def _model(server: Server) -> Outcome:
    completion = server.chat({"model": "gpt-4o-mini", "max_tokens": 4})
    if completion["model"] == "gpt-4o-mini":
        return "ignored", (
            "a name the server does not serve is answered by its one loaded model; "
            "the response echoes the name sent"
        )
    return "ignored", "answered by the loaded model, named %s in the response" % code(completion["model"])


@probe("stream", code(True))
def _stream(server: Server) -> Outcome:
    answer = server.send({"stream": True, "max_tokens": 4})
    if not answer.content_type.startswith("text/event-stream"):
        return "ignored", "a plain %s answer came back" % answer.content_type
    check_stream(answer)
    return "honoured", "`text/event-stream` of `chat.completion.chunk` events ending with `data: [DONE]`"


@probe("max_completion_tokens", code(3))
def _max_completion_tokens(server: Server) -> Outcome:
    usage = server.chat({"temperature": 0, "max_completion_tokens": 3})["usage"]
    if usage["completion_tokens"] <= 3:
        return "honoured", "completion_tokens <= 3"
    return "ignored", "the greedy answer runs past 3 tokens; use `max_tokens` with this server"


def n_probe(n: int, label: str) -> None:
    @probe("n", label)
    def _measure(server: Server) -> Outcome:
        choices = server.chat({"n": n, "max_tokens": 4})["choices"]
        if len(choices) == n:
            return "honoured", "%d choices" % n
        return "ignored", "%d choice%s came back" % (len(choices), "" if len(choices) == 1 else "s")


n_probe(2, code(2))
# scripts/local_server.py starts llama.cpp's server with 4 slots (--parallel 4).
n_probe(5, "`5` (more than the C++ server's 4 slots)")


@probe("temperature", "`0`, `1.5`")
def _temperature(server: Server) -> Outcome:
    cold = server.texts_for_seeds(dict(GREEDY, temperature=0))
    hot = server.texts_for_seeds(dict(GREEDY, temperature=HOT))
    if len(set(cold)) == 1 and len(set(hot)) > 1:
        return "honoured", "seeds 1, 2, 3 give one text at temperature 0 and different texts at 1.5"
    if len(set(cold)) > 1:
        return "ignored", "temperature 0 still samples: seeds 1, 2, 3 give different texts"
    return "ignored", "temperature 1.5 with seeds 1, 2, 3 gives one text"


@probe("store", code(True))
def _store(server: Server) -> Outcome:
    completion = server.chat({"store": True, "max_tokens": 4})
    got = request("GET", server.base_url + "/chat/completions/" + completion["id"])
    if got.status == 200 and got.json().get("id") == completion["id"]:
        return "honoured", "`GET /chat/completions/{id}` returns the stored completion"
    return "ignored", "`GET /chat/completions/{id}` answers %d: nothing is stored" % got.status


# --- sampling --------------------------------------------------------------------------------


@probe("top_p", code(0.01))
def _top_p(server: Server) -> Outcome:
    texts = server.texts_for_seeds(dict(GREEDY, temperature=HOT, top_p=0.01))
    if len(set(texts)) == 1:
        return "honoured", "at temperature 1.5, seeds 1, 2, 3 give one text (only the top token is kept)"
    return "ignored", "at temperature 1.5, seeds 1, 2, 3 still give different texts"


@probe("seed", code(42))
def _seed(server: Server) -> Outcome:
    fields = dict(GREEDY, temperature=HOT, seed=42)
    first = server.text(fields)
    again = check_completion(server.send(fields))["choices"][0]["message"]["content"]
    if first != again:
        return "ignored", "at temperature 1.5, two calls with seed 42 give different texts"
    if len(set(server.texts_for_seeds(dict(GREEDY, temperature=HOT)))) > 1:
        return "honoured", "at temperature 1.5, two calls with seed 42 give one text; seeds 1, 2, 3 differ"
    return "accepted", "at temperature 1.5 every seed gives the same text: no effect to see"


@probe("stop", "a word from the middle of the greedy answer")
def _stop(server: Server) -> Outcome:
    full = server.text(GREEDY)
    words = full.split()
    assert len(words) >= 3, "the greedy answer is too short to pick a stop word: %r" % full
    word = words[len(words) // 2]
    cut = full.find(word)
    completion = server.chat(dict(GREEDY, stop=[word]))
    text = completion["choices"][0]["message"]["content"] or ""
    if text == full:
        return "ignored", "the answer runs past the stop word"
    if text == full[:cut] and completion["choices"][0]["finish_reason"] == "stop":
        return "honoured", "the answer ends just before the stop word, finish_reason `stop`"
    return "accepted", "the answer changed but does not end at the stop word"


@probe("max_tokens", code(3))
def _max_tokens(server: Server) -> Outcome:
    completion = server.chat({"temperature": 0, "max_tokens": 3})
    if (
        completion["usage"]["completion_tokens"] <= 3
        and completion["choices"][0]["finish_reason"] == "length"
    ):
        return "honoured", "completion_tokens <= 3, finish_reason `length`"
    return "ignored", "the greedy answer runs past 3 tokens"


def penalty_probe(parameter: str) -> None:
    @probe(parameter, code(2))
    def _measure(server: Server) -> Outcome:
        plain = server.text({"temperature": 0, "max_tokens": 16}, CATS)
        penalised = server.text({"temperature": 0, "max_tokens": 16, parameter: 2}, CATS)
        if penalised != plain:
            return "honoured", "changes the greedy answer to a repetitive prompt"
        return "ignored", "the greedy answer to a repetitive prompt is unchanged"


penalty_probe("frequency_penalty")
penalty_probe("presence_penalty")


@probe("logit_bias", '`{"<id of Yes>": 100}`')
def _logit_bias(server: Server) -> Outcome:
    # Token ids belong to the model's tokenizer: ask this server for the id of "Yes".
    tokens = _tokenize(server, "Yes")
    assert len(tokens) == 1, "'Yes' is not one token for this model: %s" % tokens
    completion = server.chat({"temperature": 0, "max_tokens": 4, "logit_bias": {str(tokens[0]): 100}})
    text = completion["choices"][0]["message"]["content"] or ""
    if text and text == "Yes" * completion["usage"]["completion_tokens"]:
        return "honoured", "every generated token is `Yes`"
    return "ignored", "the greedy answer is not made of the favoured token"


def _tokenize(server: Server, text: str) -> List[int]:
    """Token ids from whichever endpoint the server has (both outside ``/v1``):
    llama-cpp-python's ``/extras/tokenize`` or llama.cpp's ``/tokenize``."""
    for path, body in (("/extras/tokenize", {"input": text}), ("/tokenize", {"content": text})):
        answer = request("POST", server.root + path, body)
        if answer.status == 200:
            return [int(token) for token in answer.json()["tokens"]]
    raise AssertionError("%s has no tokenize endpoint" % server.root)


# --- output shape ----------------------------------------------------------------------------


@probe("logprobs", code(True))
def _logprobs(server: Server) -> Outcome:
    logprobs = server.chat({"temperature": 0, "max_tokens": 3, "logprobs": True})["choices"][0].get(
        "logprobs"
    )
    if isinstance(logprobs, dict) and logprobs.get("content"):
        return "honoured", "`choices[0].logprobs.content` has one entry per token"
    return "ignored", "sent alone, `choices[0].logprobs` is null"


@probe("top_logprobs", "`2` (with `logprobs: true`)")
def _top_logprobs(server: Server) -> Outcome:
    logprobs = server.chat({"temperature": 0, "max_tokens": 3, "logprobs": True, "top_logprobs": 2})
    content = (logprobs["choices"][0].get("logprobs") or {}).get("content") or []
    if content and all(len(entry.get("top_logprobs") or []) >= 2 for entry in content):
        return "honoured", "each token comes with at least 2 `top_logprobs`"
    return "ignored", "no `top_logprobs` per token"


@probe("response_format", code({"type": "json_object"}))
def _json_object(server: Server) -> Outcome:
    greedy = {"temperature": 0, "max_tokens": 100}  # room to close the object: it takes about 50
    plain = server.text(greedy, CAPITAL)
    fields = dict(greedy, response_format={"type": "json_object"})
    shaped = server.chat(fields, CAPITAL)
    for _ in range(2):
        # Alone, the C++ server answers this with the same JSON every time; an answer computed
        # in a batch beside another request (one a client left in flight) can differ, and this
        # small model then strays. Asked again once the server is idle, before concluding.
        if _starts_json_object(shaped):
            break
        wait_until_idle(server.base_url)
        shaped = check_completion(server.send(fields, CAPITAL))
    if not _starts_json_object(shaped):
        return "ignored", "the content is not a JSON object"
    if _is_json_object(plain):
        return "accepted", "the content is JSON, but so it is without the parameter"
    return "honoured", (
        "the content is a JSON object, or its start where `max_tokens` cut it (the same request "
        "without it answers prose)"
    )


def _starts_json_object(completion: Dict[str, Any]) -> bool:
    """A JSON object, or the start of one that ``max_tokens`` cut: held to JSON by a grammar, a
    small model that strays can run on (with white space, say) until the limit."""
    choice = completion["choices"][0]
    text = choice["message"]["content"] or ""
    if _is_json_object(text):
        return True
    return choice.get("finish_reason") == "length" and text.lstrip().startswith("{")


@probe("response_format", '`{"type": "json_schema", ...}`')
def _json_schema(server: Server) -> Outcome:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    fields = {
        "temperature": 0,
        "max_tokens": 30,
        "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}},
    }
    text = server.text(fields, CAPITAL)
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict) and isinstance(value.get("city"), str):
        return "honoured", "the content is a JSON object with the required key"
    return "ignored", "the content does not follow the schema"


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _tool_call_names(completion: Dict[str, Any]) -> List[str]:
    calls = completion["choices"][0]["message"].get("tool_calls") or []
    return [call["function"]["name"] for call in calls]


@probe("tools", "`[get_weather]` (with `tool_choice` naming it)")
def _tools(server: Server) -> Outcome:
    completion = server.chat(
        {"temperature": 0, "max_tokens": 24, "tools": [WEATHER_TOOL], "tool_choice": FORCE_WEATHER}, WEATHER
    )
    if _tool_call_names(completion) == ["get_weather"]:
        arguments = json.loads(completion["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])
        if isinstance(arguments, dict) and isinstance(arguments.get("city"), str):
            return "honoured", "`message.tool_calls` calls `get_weather` with arguments that fit its schema"
        return "honoured", "`message.tool_calls` calls `get_weather` (arguments off its schema)"
    return "ignored", "no tool call came back"


@probe("tool_choice", code(FORCE_WEATHER))
def _tool_choice_named(server: Server) -> Outcome:
    completion = server.chat(
        {"temperature": 0, "max_tokens": 24, "tools": [WEATHER_TOOL], "tool_choice": FORCE_WEATHER}, WEATHER
    )
    if (
        _tool_call_names(completion) == ["get_weather"]
        and completion["choices"][0]["finish_reason"] == "tool_calls"
    ):
        return "honoured", "a call to `get_weather`, finish_reason `tool_calls`"
    return "ignored", "no forced call came back"


@probe("tool_choice", code("required"))
def _tool_choice_required(server: Server) -> Outcome:
    completion = server.chat(
        {"temperature": 0, "max_tokens": 24, "tools": [WEATHER_TOOL], "tool_choice": "required"}, WEATHER
    )
    if _tool_call_names(completion):
        return "honoured", "a tool call came back"
    return "ignored", "a plain text answer, no tool call"


@probe("parallel_tool_calls", code(False))
def _parallel_tool_calls(server: Server) -> Outcome:
    server.chat(
        {
            "temperature": 0,
            "max_tokens": 24,
            "tools": [WEATHER_TOOL],
            "tool_choice": FORCE_WEATHER,
            "parallel_tool_calls": False,
        },
        WEATHER,
    )
    return "accepted", ACCEPTED


@probe("stream_options", code({"include_usage": True}))
def _stream_options(server: Server) -> Outcome:
    chunks, _ = check_stream(
        server.send({"stream": True, "max_tokens": 4, "stream_options": {"include_usage": True}})
    )
    if any(chunk.get("usage") for chunk in chunks):
        return "honoured", "a last chunk carries `usage`"
    return "ignored", "no chunk carries `usage`"


AUDIO_OUT = {"max_tokens": 4, "modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "wav"}}


def audio_probe(parameter: str, label: str) -> None:
    # modalities ["text", "audio"] and audio only make sense together: both rows send both.
    @probe(parameter, label)
    def _measure(server: Server) -> Outcome:
        message = server.chat(AUDIO_OUT)["choices"][0]["message"]
        if message.get("audio"):
            return "honoured", "`message.audio` came back"
        return "ignored", "text only, no `message.audio`"


audio_probe("modalities", code(AUDIO_OUT["modalities"]) + " (with `audio`)")
audio_probe("audio", code(AUDIO_OUT["audio"]) + " (with `modalities`)")

# --- fields this server cannot show an effect for ----------------------------------------------

accepted_probe("user", "user-1234")
accepted_probe("metadata", {"purpose": "compatibility-test"})
accepted_probe("service_tier", "auto")
accepted_probe("reasoning_effort", "low")
accepted_probe("verbosity", "low")
accepted_probe("prediction", {"type": "content", "content": "Hello"})
accepted_probe("web_search_options", {"search_context_size": "low"})
accepted_probe("safety_identifier", "user-hash-1234")
accepted_probe("prompt_cache_key", "compatibility-test")
accepted_probe("prompt_cache_options", {"ttl": "30m"})
accepted_probe("moderation", {"model": "omni-moderation-latest"})


# --- behaviour that is not a parameter ------------------------------------------------------------


@behaviour("error answer", '`"messages": "not a list"`')
def _error_answer(server: Server) -> str:
    answer = post_chat(server.base_url, {"model": server.model, "messages": "not a list", "max_tokens": 4})
    try:
        error = answer.json().get("error")
    except ValueError:
        return "HTTP %d, not JSON" % answer.status
    if not isinstance(error, dict):
        return "HTTP %d, no `error` object: %s" % (answer.status, _keys(answer.json()))
    return "HTTP %d; `error` has %s" % (answer.status, _keys(error))


def _keys(value: Any) -> str:
    return ", ".join("`%s`" % key for key in sorted(value)) if isinstance(value, dict) else "(not an object)"


def _schema_properties(name: str) -> List[str]:
    return list(json.loads(SCHEMA.read_text(encoding="utf-8"))["components"]["schemas"][name]["properties"])


def _extra_keys(found: Dict[str, Any], schema: str) -> List[str]:
    return sorted(key for key in found if key not in _schema_properties(schema))


@behaviour("keys OpenAI's schema does not have", "a completion")
def _extra_completion_keys(server: Server) -> str:
    completion = server.chat({"temperature": 0, "max_tokens": 4})
    parts = [
        ("", _extra_keys(completion, "CreateChatCompletionResponse")),
        ("message: ", _extra_keys(completion["choices"][0]["message"], "ChatCompletionResponseMessage")),
        ("usage: ", _extra_keys(completion["usage"], "CompletionUsage")),
    ]
    said = ["%s%s" % (where, ", ".join("`%s`" % key for key in keys)) for where, keys in parts if keys]
    return "; ".join(said) if said else "none"


@behaviour("keys OpenAI's schema does not have", "a stream chunk")
def _extra_chunk_keys(server: Server) -> str:
    chunks, _ = check_stream(server.send({"stream": True, "temperature": 0, "max_tokens": 4}))
    keys = sorted(
        {key for chunk in chunks for key in _extra_keys(chunk, "CreateChatCompletionStreamResponse")}
    )
    return ", ".join("`%s`" % key for key in keys) if keys else "none"


@behaviour("`x-request-id` header", "a completion, and an error")
def _request_id(server: Server) -> str:
    good = server.send({"max_tokens": 4})
    bad = post_chat(server.base_url, {"model": server.model, "messages": "not a list"})
    seen = ["x-request-id" in good.headers, "x-request-id" in bad.headers]
    return {(True, True): "on both", (False, False): "on neither"}.get(
        tuple(seen), "on the completion only" if seen[0] else "on the error only"
    )


@behaviour("comment lines (`:`)", "a stream of 4 tokens")
def _comments(server: Server) -> str:
    answer = server.send({"stream": True, "max_tokens": 4})
    lines = answer.body.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    count = sum(1 for line in lines if line.startswith(":"))
    return "none" if count == 0 else "%d" % count


@behaviour("a streamed tool call", "`tool_choice` naming the function")
def _streamed_tool_call(server: Server) -> str:
    answer = server.send(
        {
            "stream": True,
            "temperature": 0,
            "max_tokens": 24,
            "tools": [WEATHER_TOOL],
            "tool_choice": FORCE_WEATHER,
        },
        WEATHER,
    )
    chunks, _ = check_stream(answer)
    deltas = [
        call
        for chunk in chunks
        for choice in chunk["choices"]
        for call in choice["delta"].get("tool_calls") or []
    ]
    if not deltas:
        return "no tool call came back"
    named = sum(1 for delta in deltas if (delta.get("function") or {}).get("name"))
    with_id = sum(1 for delta in deltas if delta.get("id"))
    if named == with_id == 1:
        return "the id and the name once, in the first delta; then only `arguments`"
    return "the id in %d and the name in %d of %d deltas" % (with_id, named, len(deltas))


# --- measuring and comparing ---------------------------------------------------------------------


def measure(server: Server) -> List[Row]:
    """One row per parameter probe; the cell is ``result: observation``, and through a
    profile, the rules that changed the request (or that none did)."""
    wait_until_idle(server.base_url)
    rows = []
    for parameter, value, func in PROBES:
        if isinstance(server, ProfiledServer):
            server.applied = []
        try:
            result, observation = func(server)
        except Rejected as exc:
            result, observation = "rejected", "HTTP %d: %s" % (exc.answer.status, _short_error(exc.answer))
        assert result in RESULTS, (parameter, result)
        cell = "%s: %s" % (result, observation)
        if isinstance(server, ProfiledServer):
            cell = "%s (the profile: %s)" % (cell, "; ".join(server.applied)) if server.applied else UNCHANGED
        rows.append(Row("`%s`" % parameter, value, cell))
    return rows


def measure_behaviour(server: Server) -> List[Row]:
    return [Row(what, sent, func(server)) for what, sent, func in BEHAVIOURS]


def _short_error(answer: Answer) -> str:
    """The gist of an error, without what varies by machine (paths, tracebacks)."""
    message = answer.error_message()
    # pydantic validation errors (llama-cpp-python): "... 'loc': ('body', 'x', 'y'), 'msg': "..." ..."
    found = re.search(r"'loc': \(([^)]*)\), 'msg': (\"[^\"]*\"|'[^']*')", message)
    if found:
        loc = ".".join(part.strip(" '") for part in found.group(1).split(",") if part.strip(" '") != "body")
        return "%s: %s" % (loc, found.group(2)[1:-1])
    return message.splitlines()[0][:120] if message else "(no message)"


Table = List[Tuple[str, ...]]  # rows of cells, without the header


def render(header: Sequence[str], table: Table) -> List[str]:
    lines = ["| %s |" % " | ".join(header), "| %s |" % " | ".join("---" for _ in header)]
    lines += ["| %s |" % " | ".join(row) for row in table]
    return lines


def doc_table(text: str, section: str, header: Sequence[str]) -> Table:
    """The rows of the first Markdown table under the heading that contains ``section``."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("#") and section in line]
    assert starts, "no heading containing %r in %s" % (section, DOC)
    found = []  # type: List[str]
    for line in lines[starts[0] + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            found.append(line)
        elif found:
            break
    assert len(found) >= 2, "no table under %r in %s" % (section, DOC)
    cells = [tuple(cell.strip() for cell in line.strip().strip("|").split("|")) for line in found]
    assert cells[0] == tuple(header), "table header is %s, expected %s" % (cells[0], tuple(header))
    for row in cells[2:]:
        assert len(row) == len(header), "row with %d cells: %s" % (len(row), row)
    return cells[2:]


def with_column(table: Table, column: int, rows: Sequence[Row], width: int) -> Table:
    """``table`` with its cells in ``column`` replaced by the measured ``rows``.

    The rows come in the measured order; another column's cell is kept where the
    row (its first two cells) is in ``table``, else it reads "not measured yet".
    """
    kept = {row[:2]: row for row in table}
    out = []
    for parameter, value, cell in rows:
        cells = list(kept.get((parameter, value), (parameter, value) + ("not measured yet",) * (width - 2)))
        cells[column] = cell
        out.append(tuple(cells))
    return out


def request_fields_in_schema() -> List[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))["components"]["schemas"]

    def properties(name: str) -> Dict[str, Any]:
        found = {}  # type: Dict[str, Any]
        for part in schema[name].get("allOf", [schema[name]]):
            if "$ref" in part:
                found.update(properties(part["$ref"].rsplit("/", 1)[-1]))
            else:
                found.update(part.get("properties", {}))
        return found

    return sorted(properties("CreateChatCompletionRequest"))


def sent_by_package() -> List[str]:
    """Request fields of the schema that OpenAIChatCompletionParameters has a field for."""
    names = {field.name for field in dataclasses.fields(OpenAIChatCompletionParameters)}
    return [name for name in request_fields_in_schema() if name in names]


class Measured(NamedTuple):
    column: Column
    parameters: List[Row]
    behaviour: List[Row]  # measured on the generic columns only


def plain_server(started: Any, servers: Dict[str, Server]) -> Server:
    """One Server per real server, shared by its columns (its cache saves requests)."""
    if started.base_url not in servers:
        servers[started.base_url] = Server(started.base_url, started.model)
    return servers[started.base_url]


@pytest.fixture(scope="module")
def _plain_servers() -> Dict[str, Server]:
    return {}


@pytest.fixture(scope="module", params=COLUMNS, ids=[column.label for column in COLUMNS])
def measured(
    request: pytest.FixtureRequest,
    _start_real_server: Callable[[str], Any],
    _plain_servers: Dict[str, Server],
) -> Measured:
    column = request.param
    plain = plain_server(_start_real_server(column.server), _plain_servers)
    if column.profile == "generic":
        return Measured(column, measure(plain), measure_behaviour(plain))
    return Measured(column, measure(ProfiledServer(plain, column.profile)), [])


@pytest.mark.integration
def test_every_parameter_the_package_sends_is_measured(measured: Measured) -> None:
    seen = {row.parameter.strip("`") for row in measured.parameters}
    missing = [name for name in sent_by_package() if name not in seen]
    assert not missing, "no probe for: %s (add one to tests/test_compatibility.py)" % missing
    assert "messages" not in seen and len(sent_by_package()) >= 30


def _check_doc_column(section: str, header: Sequence[str], column: int, rows: Sequence[Row]) -> None:
    documented = doc_table(DOC.read_text(encoding="utf-8"), section, header)
    now = with_column(documented, column, rows, len(header))
    if documented != now:
        diff = "\n".join(
            difflib.unified_diff(
                render(header, documented),
                render(header, now),
                "docs/compatibility.md",
                "measured now",
                lineterm="",
            )
        )
        pytest.fail(
            "docs/compatibility.md is stale: the %r column of the table under %r differs from what "
            "the server does now.\n%s\n\nThe table with that column measured now, to paste into the doc:\n%s"
            % (header[column], section, diff, "\n".join(render(header, now)))
        )


@pytest.mark.integration
def test_doc_table_matches_what_the_server_does(measured: Measured) -> None:
    _check_doc_column(SECTION, HEADER, HEADER.index(measured.column.label), measured.parameters)


@pytest.mark.integration
def test_doc_behaviour_table_matches_what_the_server_does(measured: Measured) -> None:
    if measured.column.profile != "generic":
        return  # behaviour belongs to the server, measured with requests as built
    column = BEHAVIOUR_HEADER.index(measured.column.label)
    _check_doc_column(BEHAVIOUR_SECTION, BEHAVIOUR_HEADER, column, measured.behaviour)


def test_doc_tables_say_a_result_in_every_parameter_cell() -> None:
    text = DOC.read_text(encoding="utf-8")
    for row in doc_table(text, SECTION, HEADER):
        for cell in row[2:]:
            assert cell == UNCHANGED or cell.split(":", 1)[0] in RESULTS, (
                "%s: a cell must start with one of %s: %r" % (row[0], RESULTS, cell)
            )
    assert len(doc_table(text, BEHAVIOUR_SECTION, BEHAVIOUR_HEADER)) == len(BEHAVIOURS)


def test_doc_table_parser_reads_rendered_rows() -> None:
    header = ("parameter", "value sent", "a", "b")
    table = [
        ("`n`", "`2`", "ignored: 1 choice came back", "honoured: 2 choices"),
        ("`stop`", "a word", "honoured: ends before it, finish_reason `stop`", "honoured: the same"),
    ]
    text = "# t\n\n## %s\n\nintro\n\n%s\n\nafter\n\n## next\n| x |\n" % (
        SECTION,
        "\n".join(render(header, table)),
    )
    assert doc_table(text, SECTION, header) == table


def test_one_column_is_replaced_and_new_rows_are_marked() -> None:
    table = [("`n`", "`2`", "ignored: 1 choice", "honoured: 2 choices")]
    rows = [Row("`n`", "`2`", "honoured: 2 choices"), Row("`seed`", "`42`", "honoured: one text")]
    assert with_column(table, 2, rows, 4) == [
        ("`n`", "`2`", "honoured: 2 choices", "honoured: 2 choices"),
        ("`seed`", "`42`", "honoured: one text", "not measured yet"),
    ]


def test_short_error_keeps_the_pydantic_message_and_drops_the_traceback() -> None:
    body = {
        "error": {
            "message": "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', "
            "'response_format', 'type'), 'msg': \"Input should be 'text' or "
            "'json_object'\", 'input': 'json_schema'}\n\n  File \"/srv/app/server.py\", "
            "line 376",
            "type": "internal_server_error",
        }
    }
    answer = Answer(500, {"content-type": "application/json"}, json.dumps(body).encode("utf-8"))
    assert _short_error(answer) == "response_format.type: Input should be 'text' or 'json_object'"


def test_doc_has_every_provider_marked_documented_not_measured() -> None:
    text = DOC.read_text(encoding="utf-8")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    for provider in ("OpenAI", "Azure OpenAI", "Mistral", "Groq", "DeepSeek", "Ollama", "vLLM", "LM Studio"):
        found = [h for h in headings if h[3:].startswith(provider + " ")]
        assert found, "no section for %s in %s" % (provider, DOC)
        assert all("documented, not measured" in h for h in found), found


def main() -> int:
    """Start both servers, measure every column, print the two tables (for docs/compatibility.md)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("local_server", str(ROOT / "scripts" / "local_server.py"))
    if spec is None or spec.loader is None:
        raise SystemExit("scripts/local_server.py not found")
    local_server = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(local_server)
    text = DOC.read_text(encoding="utf-8")
    try:
        parameters = doc_table(text, SECTION, HEADER)
    except AssertionError:  # a new table, or a new column: start from nothing
        parameters = []
    try:
        behaviours = doc_table(text, BEHAVIOUR_SECTION, BEHAVIOUR_HEADER)
    except AssertionError:
        behaviours = []
    for name in dict.fromkeys(column.server for column in COLUMNS):
        running = local_server.LocalServer.start(name, quiet=True)
        try:
            plain = Server(running.base_url, running.model)
            for column in COLUMNS:
                if column.server != name:
                    continue
                if column.profile == "generic":
                    rows = measure(plain)
                    index = BEHAVIOUR_HEADER.index(column.label)
                    behaviours = with_column(
                        behaviours, index, measure_behaviour(plain), len(BEHAVIOUR_HEADER)
                    )
                else:
                    rows = measure(ProfiledServer(plain, column.profile))
                parameters = with_column(parameters, HEADER.index(column.label), rows, len(HEADER))
        finally:
            running.stop()
    print("\n".join(render(HEADER, parameters)))
    print()
    print("\n".join(render(BEHAVIOUR_HEADER, behaviours)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
