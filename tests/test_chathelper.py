"""OpenAIChatHelper against scripted models on the fake server: every rule of the tool loop,
each exchange run three ways (prompt(), stream(), and prompt() with callbacks), and what the
server received asserted message by message."""

import dataclasses
import enum
import threading
from typing import Any, Dict, List, Optional, Tuple

import pytest

from both_clients import Runner, sync_only
from conversations import ScriptedModel, tool_call
from fakeserver import FakeServer
from openai_params import (
    InternalServerError,
    OpenAI,
    OpenAIChatCompletionParameters,
    OpenAIChatCompletionResult,
    OpenAIChatHelper,
    OpenAIMessage,
    OpenAITool,
)

SYSTEM = {"role": "system", "content": "You are terse."}
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = {"name": "get_weather", "description": "Current weather for a city", "parameters": CITY}
TIME = {"name": "get_time", "description": "Local time in a city", "parameters": CITY}
MODES = ["prompt", "stream", "callbacks"]


def weather(city: str) -> str:
    return "18 C in %s" % city


def local_time(city: str) -> Dict[str, str]:
    return {"city": city, "time": "12:00"}


def api_form(tool: Dict[str, Any]) -> Dict[str, Any]:
    return {"type": "function", "function": tool}


def assistant(*calls: Dict[str, Any]) -> Dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": list(calls)}


def reply(call_id: str, content: str) -> Dict[str, Any]:
    return {"role": "tool", "content": content, "tool_call_id": call_id}


def sent(message: Dict[str, Any]) -> Dict[str, Any]:
    """A message as the server received it, without the keys a streamed answer adds as null."""
    return {key: value for key, value in message.items() if value is not None or key == "content"}


def exchange(
    run: Runner, helper: OpenAIChatHelper, prompt: Any, mode: str
) -> Tuple[OpenAIChatCompletionResult, List[Any]]:
    """One prompt in one of the forms of MODES (and "plain-callbacks": on_terminate without
    stream=True), on the client of ``run``; returns the final result and the chunks seen."""
    if mode == "prompt":
        return run(helper.prompt(prompt)), []
    if mode == "stream":
        with run.stream(helper.stream(prompt)) as stream:
            chunks = list(stream)
        return stream.result(), chunks
    chunks: List[Any] = []
    ended: List[Any] = []
    responses: List[Any] = []
    original = helper.parameters
    helper.parameters = original.replace(
        stream=mode == "callbacks",
        on_data=chunks.append if mode == "callbacks" else None,
        on_terminate=ended.append,
        on_response=responses.append,
        on_error=responses.append,
    )
    try:
        result = run(helper.prompt(prompt))  # OpenAI: a handle, waited for; AsyncOpenAI: awaited
    finally:
        helper.parameters = original
    assert ended == [result] and responses == [result]  # once each, at the end
    return result, chunks


@pytest.fixture
def helper(client: OpenAI, run: Runner) -> OpenAIChatHelper:
    """A helper with two tools, on a client of the kind of ``run`` (both_clients.py)."""
    made = client.chat.create("You are terse.", model="m")
    made.register_tool(WEATHER, weather)
    made.register_tool(TIME, local_time)
    return made


# --- the loop: rounds in order, replies, what the server received --------------------------------


@pytest.mark.parametrize("mode", MODES + ["plain-callbacks"])
def test_two_parallel_calls_then_one_then_the_answer(
    helper: OpenAIChatHelper, fake_server: FakeServer, mode: str, run: Runner
) -> None:
    model = ScriptedModel(
        [("get_weather", {"city": "Paris"}), ("get_time", {"city": "Paris"})],
        [("get_weather", {"city": "London"})],
        "Paris: 18 C at noon. London: 18 C.",
    )
    fake_server.default = model
    result, chunks = exchange(run, helper, "Weather and time in Paris, then London?", mode)
    assert result.success, result.errors
    assert result.choice.message.content == "Paris: 18 C at noon. London: 18 C."

    user = {"role": "user", "content": "Weather and time in Paris, then London?"}
    round1 = assistant(
        tool_call(1, 0, "get_weather", {"city": "Paris"}), tool_call(1, 1, "get_time", {"city": "Paris"})
    )
    replies1 = [reply("call_1_0", "18 C in Paris"), reply("call_1_1", '{"city": "Paris", "time": "12:00"}')]
    round2 = assistant(tool_call(2, 0, "get_weather", {"city": "London"}))
    replies2 = [reply("call_2_0", "18 C in London")]
    assert len(model.received) == 3
    assert [sent(m) for m in model.messages(1)] == [SYSTEM, user]
    assert [sent(m) for m in model.messages(2)] == [SYSTEM, user, round1] + replies1
    assert [sent(m) for m in model.messages(3)] == [SYSTEM, user, round1] + replies1 + [round2] + replies2
    for body in model.received:
        assert body["tools"] == [api_form(WEATHER), api_form(TIME)]
        assert body["model"] == "m" and "tool_choice" not in body
        assert body.get("stream", False) is (mode in ("stream", "callbacks"))
    # The history is the whole exchange, the final answer last; the system prompt is apart.
    history = [sent(m.to_dict()) for m in helper.messages]
    assert history == [user, round1] + replies1 + [round2] + replies2 + [
        {"role": "assistant", "content": "Paris: 18 C at noon. London: 18 C."}
    ]
    assert helper.last_errors == []
    if mode in ("stream", "callbacks"):  # every round's chunks, in order: two rounds of calls, then the text
        finishes = [c.choice.finish_reason for c in chunks if c.choice is not None and c.choice.finish_reason]
        assert finishes == ["tool_calls", "tool_calls", "stop"]
        assert "".join(c.text for c in chunks) == "Paris: 18 C at noon. London: 18 C."


@pytest.mark.parametrize("mode", MODES)
def test_a_tool_choice_naming_a_function_goes_in_the_first_round_only(
    helper: OpenAIChatHelper, fake_server: FakeServer, mode: str, run: Runner
) -> None:
    fake_server.default = model = ScriptedModel([("get_weather", {"city": "Paris"})], "Sunny.")
    forced = {"type": "function", "function": {"name": "get_weather"}}
    helper.parameters = helper.parameters.replace(tool_choice=forced)
    result, _ = exchange(run, helper, "Weather in Paris?", mode)
    assert result.success and result.text == "Sunny."
    assert model.received[0]["tool_choice"] == forced
    assert "tool_choice" not in model.received[1]
    assert helper.parameters.tool_choice == forced  # kept for the next prompt


@pytest.mark.parametrize("choice", ["auto", "none"])
def test_a_tool_choice_that_forces_nothing_goes_in_every_round(
    helper: OpenAIChatHelper, fake_server: FakeServer, choice: str, run: Runner
) -> None:
    fake_server.default = model = ScriptedModel([("get_weather", {"city": "Paris"})], "Sunny.")
    helper.parameters = helper.parameters.replace(tool_choice=choice)
    assert run(helper.prompt("Weather?")).success
    assert [body["tool_choice"] for body in model.received] == [choice, choice]


# --- failures go back to the model ----------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_an_unknown_tool_is_answered_with_an_error_and_the_model_recovers(
    helper: OpenAIChatHelper, fake_server: FakeServer, mode: str, run: Runner
) -> None:
    fake_server.default = model = ScriptedModel([("get_wether", {"city": "Paris"})], "Sorry, I cannot tell.")
    result, _ = exchange(run, helper, "Weather in Paris?", mode)
    assert result.success and result.text == "Sorry, I cannot tell."
    expected = (
        "Error: there is no tool named 'get_wether'; did you mean 'get_weather'? "
        "(the tools are: get_time, get_weather)"
    )
    assert sent(model.messages(2)[-1]) == reply("call_1_0", expected)
    assert [(e.type, e.param, e.message) for e in helper.last_errors] == [
        ("unknown_tool", "get_wether", expected[len("Error: ") :])
    ]
    assert helper.last_errors[0].body == tool_call(1, 0, "get_wether", {"city": "Paris"})


BAD_ARGUMENTS = [
    ('{"city": ', "are not valid JSON (Expecting value: line 1 column 10 (char 9)): '{\"city\": '"),
    ('["Paris"]', "must be a JSON object (got '[\"Paris\"]')"),
    ("{}", "do not fit get_weather(city: str) -> str: missing a required argument: 'city'"),
    (
        '{"city": "Paris", "unit": "F"}',
        "do not fit get_weather(city: str) -> str: got an unexpected keyword argument 'unit'",
    ),
]


@pytest.mark.parametrize(
    "arguments, problem", BAD_ARGUMENTS, ids=["not-json", "not-object", "missing", "unknown"]
)
def test_arguments_that_are_not_json_or_do_not_fit_are_answered_with_an_error(
    helper: OpenAIChatHelper, fake_server: FakeServer, arguments: str, problem: str, run: Runner
) -> None:
    ran: List[str] = []
    helper.register_tool(WEATHER, lambda **kwargs: ran.append("ran"))  # replaced below
    helper.register_tool(WEATHER, weather)
    fake_server.default = model = ScriptedModel([("get_weather", arguments)], "Sorry.")
    result = run(helper.prompt("Weather?"))
    assert result.success and ran == []
    message = "the arguments of the call to 'get_weather' " + problem
    assert sent(model.messages(2)[-1]) == reply("call_1_0", "Error: " + message)
    assert [(e.type, e.message) for e in helper.last_errors] == [("invalid_tool_arguments", message)]


@pytest.mark.parametrize("mode", MODES)
def test_a_handler_that_raises_gives_its_type_and_message_never_a_traceback(
    helper: OpenAIChatHelper, fake_server: FakeServer, mode: str, run: Runner
) -> None:
    problem = ValueError("no such city: 'Atlantis'")

    def failing(city: str) -> str:
        raise problem

    helper.register_tool(WEATHER, failing)
    fake_server.default = model = ScriptedModel(
        [("get_weather", {"city": "Atlantis"}), ("get_time", {"city": "Paris"})], "Atlantis is not a city."
    )
    result, _ = exchange(run, helper, "Weather in Atlantis?", mode)
    assert result.success
    error_reply = "Error: get_weather raised ValueError: no such city: 'Atlantis'"
    assert [sent(m) for m in model.messages(2)[-2:]] == [
        reply("call_1_0", error_reply),
        reply("call_1_1", '{"city": "Paris", "time": "12:00"}'),  # the other call still ran
    ]
    assert "Traceback" not in str(model.received)
    (error,) = helper.last_errors
    assert (error.type, error.message, error.cause) == ("tool_error", error_reply[len("Error: ") :], problem)


@pytest.mark.parametrize("raised", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("workers", [1, 2])
def test_keyboard_interrupt_and_system_exit_are_not_caught(
    helper: OpenAIChatHelper, fake_server: FakeServer, raised: type, workers: int, run: Runner
) -> None:
    def stop(city: str) -> str:
        raise raised()

    helper.register_tool(WEATHER, stop)
    helper.tool_workers = workers
    fake_server.default = model = ScriptedModel(
        [("get_weather", {"city": "Paris"}), ("get_time", {"city": "Paris"})], "never"
    )
    with pytest.raises(raised):
        run(helper.prompt("Weather?"))
    assert len(model.received) == 1


def test_a_return_value_that_is_not_json_is_an_error_reply(
    helper: OpenAIChatHelper, fake_server: FakeServer, run: Runner
) -> None:
    helper.register_tool(WEATHER, lambda city: {city: object()})
    helper.register_tool(TIME, lambda city: float("nan"))
    fake_server.default = model = ScriptedModel(
        [("get_weather", {"city": "Paris"}), ("get_time", {"city": "Paris"})], "Sorry."
    )
    assert run(helper.prompt("Weather?")).success
    replies = [m["content"] for m in model.messages(2)[-2:]]
    assert replies[0].startswith("Error: get_weather returned {'Paris': <object object at ")
    assert replies[0].endswith(", which cannot be sent as JSON (object is not JSON serializable)")
    # (Python 3.8 words the reason without ": nan")
    assert replies[1].startswith(
        "Error: get_time returned nan, which cannot be sent as JSON (Out of range float values are not JSON compliant"
    )
    assert [e.type for e in helper.last_errors] == ["tool_error", "tool_error"]


@dataclasses.dataclass
class Forecast:
    city: str
    highs: List[int]
    note: Optional[str] = None


@pytest.mark.parametrize(
    "value, content",
    [
        ("plain text, as is", "plain text, as is"),
        ("", ""),
        ({"a": [1, 2.5, None, True]}, '{"a": [1, 2.5, null, true]}'),
        ([1, "é"], '[1, "é"]'),
        (None, "null"),
        (42, "42"),
        (Forecast("Paris", [18, 20]), '{"city": "Paris", "highs": [18, 20], "note": null}'),
        ({"days": [Forecast("Oslo", [2])]}, '{"days": [{"city": "Oslo", "highs": [2], "note": null}]}'),
    ],
    ids=["str", "empty", "dict", "list", "none", "int", "dataclass", "nested-dataclass"],
)
def test_a_str_is_sent_as_is_anything_else_as_json(
    helper: OpenAIChatHelper, fake_server: FakeServer, value: Any, content: str, run: Runner
) -> None:
    helper.register_tool(WEATHER, lambda city: value)
    fake_server.default = model = ScriptedModel([("get_weather", {"city": "Paris"})], "Done.")
    assert run(helper.prompt("Weather?")).success
    assert model.messages(2)[-1] == reply("call_1_0", content)
    assert helper.last_errors == []


# --- the round limit, manual handling, concurrency --------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_model_that_always_calls_stops_after_max_tool_rounds(
    helper: OpenAIChatHelper, fake_server: FakeServer, mode: str, run: Runner
) -> None:
    fake_server.default = model = ScriptedModel([("get_weather", {"city": "Paris"})])
    helper.max_tool_rounds = 3
    helper.number_of_messages = 0  # keep everything
    result, _ = exchange(run, helper, "Weather?", mode)
    assert not result.success
    (error,) = result.errors
    assert error.type == "tool_rounds_exceeded"
    assert error.message == (
        "the model still called tools after 3 rounds (max_tool_rounds=3): their replies are in the history, "
        "and the model was not asked again"
    )
    assert len(model.received) == 3
    # The whole exchange is kept: the prompt, then three rounds of call + reply.
    roles = [m.role for m in helper.messages]
    assert roles == ["user"] + ["assistant", "tool"] * 3
    assert [m.tool_call_id for m in helper.messages if m.role == "tool"] == [
        "call_1_0",
        "call_2_0",
        "call_3_0",
    ]
    assert helper.last_errors == [error]
    assert result.choice.message.tool_calls[0]["id"] == "call_3_0"  # the last answer's body
    with pytest.raises(Exception, match="tool_rounds_exceeded|still called tools"):
        result.throw()


@pytest.mark.parametrize("mode", MODES)
def test_auto_handle_off_returns_the_tool_calls_to_the_caller(
    helper: OpenAIChatHelper, fake_server: FakeServer, mode: str, run: Runner
) -> None:
    ran: List[str] = []
    helper.register_tool(WEATHER, lambda city: ran.append(city))
    helper.auto_handle_tool_calls = False
    fake_server.default = model = ScriptedModel([("get_weather", {"city": "Paris"})], "Sunny in Paris.")
    result, _ = exchange(run, helper, "Weather?", mode)
    assert result.success and ran == [] and len(model.received) == 1
    (call,) = result.choice.message.tool_calls
    assert call == tool_call(1, 0, "get_weather", {"city": "Paris"})
    assert [m.role for m in helper.messages] == ["user", "assistant"]
    # The caller answers the call and asks again.
    again = run(helper.prompt({"role": "tool", "tool_call_id": call["id"], "content": "sunny"}))
    assert again.text == "Sunny in Paris."
    assert [sent(m) for m in model.messages(2)][-2:] == [assistant(call), reply("call_1_0", "sunny")]


def test_tool_workers_run_a_rounds_handlers_at_once_and_reply_in_order(
    helper: OpenAIChatHelper, fake_server: FakeServer, run: Runner
) -> None:
    both = threading.Barrier(2, timeout=10)  # passes only when the two handlers run at the same time
    threads: Dict[str, str] = {}

    def meet(name: str) -> Any:
        def handler(city: str) -> str:
            threads[name] = threading.current_thread().name
            both.wait()
            return "%s for %s" % (name, city)

        return handler

    helper.register_tool(WEATHER, meet("weather"))
    helper.register_tool(TIME, meet("time"))
    helper.tool_workers = 4
    fake_server.default = model = ScriptedModel(
        [("get_time", {"city": "Oslo"}), ("get_weather", {"city": "Paris"})], "Done."
    )
    assert run(helper.prompt("Both?")).success
    assert [sent(m) for m in model.messages(2)[-2:]] == [
        reply("call_1_0", "time for Oslo"),
        reply("call_1_1", "weather for Paris"),
    ]
    assert threads["time"] != threads["weather"]


def test_one_worker_runs_the_handlers_in_the_models_order(
    helper: OpenAIChatHelper, fake_server: FakeServer, run: Runner
) -> None:
    order: List[str] = []
    helper.register_tool(WEATHER, lambda city: order.append("weather " + city) or "ok")
    helper.register_tool(TIME, lambda city: order.append("time " + city) or "ok")
    fake_server.default = ScriptedModel(
        [("get_time", {"city": "A"}), ("get_weather", {"city": "B"}), ("get_time", {"city": "C"})], "Done."
    )
    assert run(helper.prompt("Go")).success
    assert order == ["time A", "weather B", "time C"]


# --- a failed round, throw, cancel, close --------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_request_ends_the_exchange_with_its_error(
    helper: OpenAIChatHelper, fake_server: FakeServer, mode: str, run: Runner
) -> None:
    model = ScriptedModel([("get_weather", {"city": "Paris"})], "never")
    fake_server.add(model)
    fake_server.add(500, json={"error": {"message": "boom", "type": "server_error"}})
    result, _ = exchange(run, helper, "Weather?", mode)
    assert not result.success and result.errors[0].status == 500
    assert helper.last_errors == result.errors
    assert [m.role for m in helper.messages] == ["user", "assistant", "tool"]
    assert len(fake_server.requests) == 2


def test_throw_raises_the_final_error_after_the_history_is_kept(
    helper: OpenAIChatHelper, fake_server: FakeServer, run: Runner
) -> None:
    fake_server.add(ScriptedModel([("get_weather", {"city": "Paris"})]))
    fake_server.add(500, json={"error": {"message": "boom", "type": "server_error"}})
    helper.parameters = helper.parameters.replace(throw=True)
    with pytest.raises(InternalServerError, match="boom"):
        run(helper.prompt("Weather?"))
    assert [m.role for m in helper.messages] == ["user", "assistant", "tool"]
    assert helper.last_errors[0].status == 500
    fake_server.add(ScriptedModel([("get_weather", {"city": "Paris"})]))
    fake_server.add(500, json={"error": {"message": "boom", "type": "server_error"}})
    with pytest.raises(InternalServerError, match="boom"):
        with run.stream(helper.stream("Again?")) as stream:
            for _ in stream:
                pass


def test_closing_a_stream_mid_round_runs_no_tool_and_keeps_a_valid_history(
    helper: OpenAIChatHelper, fake_server: FakeServer, run: Runner
) -> None:
    ran: List[str] = []
    helper.register_tool(WEATHER, lambda city: ran.append(city) or "ok")
    fake_server.default = model = ScriptedModel([("get_weather", {"city": "Paris"})], "Sunny.")
    with run.stream(helper.stream("Weather?")) as stream:
        next(iter(stream))
    result = stream.result()
    assert not result.success and result.errors[-1].type == "cancelled"
    assert ran == [] and len(model.received) == 1
    assert [m.role for m in helper.messages] == ["user"]  # the unfinished answer is not kept
    assert helper.last_errors == result.errors
    # The conversation goes on.
    assert run(helper.prompt("Weather, please?")).text == "Sunny."
    assert [sent(m) for m in model.messages(2)] == [
        SYSTEM,
        {"role": "user", "content": "Weather?"},
        {"role": "user", "content": "Weather, please?"},
    ]


def test_a_stream_closed_before_it_started_sends_nothing(
    helper: OpenAIChatHelper, fake_server: FakeServer, run: Runner
) -> None:
    stream = run.stream(helper.stream("Weather?"))
    stream.close()
    result = stream.result()
    assert [e.type for e in result.errors] == ["cancelled"]
    assert fake_server.requests == [] and helper.messages == []


@sync_only("a CallHandle's cancel(); AsyncOpenAI's calls are cancelled as tasks (test_cancel.py)")
def test_cancelling_a_handle_between_rounds_stops_the_exchange(
    helper: OpenAIChatHelper, fake_server: FakeServer, run: Runner
) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(city: str) -> str:
        entered.set()
        release.wait(10)
        return "ok"

    helper.register_tool(WEATHER, slow)
    fake_server.default = model = ScriptedModel([("get_weather", {"city": "Paris"})], "never")
    ended: List[Any] = []
    helper.parameters = helper.parameters.replace(on_terminate=ended.append)
    handle = helper.prompt("Weather?")
    assert entered.wait(10)
    assert handle.cancel()
    release.set()
    result = handle.result(timeout=10)
    assert ended == [result]
    assert [e.type for e in result.errors] == ["cancelled"]
    assert len(model.received) == 1
    assert [m.role for m in helper.messages] == ["user", "assistant", "tool"]


# --- construction, registration, reset ----------------------------------------------------------------


def test_the_defaults_are_4d_aikits(client: OpenAI, run: Runner) -> None:
    helper = client.chat.create()
    assert isinstance(helper, OpenAIChatHelper)
    assert helper.system_prompt is None and helper.messages == [] and helper.tools == []
    assert helper.number_of_messages == 15 and helper.auto_handle_tool_calls is True
    assert helper.max_tool_rounds == 10 and helper.tool_workers == 1 and helper.last_errors == []
    assert helper.parameters == OpenAIChatCompletionParameters()
    direct = OpenAIChatHelper(client, "Be brief.", {"model": "m", "temperature": 0}, number_of_messages=4)
    assert direct.system_prompt == OpenAIMessage("system", "Be brief.")
    assert direct.parameters == OpenAIChatCompletionParameters(model="m", temperature=0)
    assert direct.number_of_messages == 4
    made = client.chat.create(OpenAIMessage("developer", "Be brief."), model="m", max_tool_rounds=2)
    assert made.system_prompt == OpenAIMessage("developer", "Be brief.") and made.max_tool_rounds == 2


@pytest.mark.parametrize(
    "setting, value, error, message",
    [
        ("number_of_messages", -1, ValueError, "number_of_messages must be an integer >= 0 (got -1)"),
        ("max_tool_rounds", 0, ValueError, "max_tool_rounds must be an integer >= 1 (got 0)"),
        ("tool_workers", 0, ValueError, "tool_workers must be an integer >= 1 (got 0)"),
        (
            "auto_handle_tool_calls",
            1,
            TypeError,
            "auto_handle_tool_calls must be True or False (got 1, an int)",
        ),
        (
            "system_prompt",
            3,
            TypeError,
            "system_prompt must be a text, an OpenAIMessage or a message dict, or None (got 3, an int)",
        ),
        ("messages", "hi", TypeError, "messages must be a list of messages (got 'hi', a str)"),
    ],
)
def test_settings_are_checked(
    helper: OpenAIChatHelper, setting: str, value: Any, error: type, message: str, run: Runner
) -> None:
    with pytest.raises(error) as info:
        setattr(helper, setting, value)
    assert str(info.value) == message


def test_registering_replaces_and_unregistering_removes(
    helper: OpenAIChatHelper, fake_server: FakeServer, run: Runner
) -> None:
    fake_server.default = model = ScriptedModel("Hi.")
    helper.register_tool(OpenAITool.from_dict(WEATHER), lambda city: "replaced")  # same name: in place
    assert [t.name for t in helper.tools] == ["get_weather", "get_time"]
    assert helper.unregister_tool("get_time") is True and helper.unregister_tool("get_time") is False
    run(helper.prompt("a"))
    assert model.received[-1]["tools"] == [api_form(WEATHER)]
    helper.unregister_tools()
    run(helper.prompt("b"))
    assert "tools" not in model.received[-1]
    helper.register_tools([(WEATHER, weather), (TIME, local_time)])
    assert [t.name for t in helper.tools] == ["get_weather", "get_time"]
    helper.unregister_tools()
    helper.register_tools({"get_time": ({"parameters": CITY}, local_time), "get_weather": (WEATHER, weather)})
    assert [t.to_dict() for t in helper.tools] == [
        api_form({"name": "get_time", "parameters": CITY}),
        api_form(WEATHER),
    ]
    with pytest.raises(
        ValueError, match=r"^tools\['clock'\] is a tool named 'get_time': the key and the name must agree$"
    ):
        helper.register_tools({"clock": (TIME, local_time)})
    with pytest.raises(TypeError, match=r"^register_tool\(tool\) needs a handler"):
        helper.register_tool(WEATHER)
    with pytest.raises(TypeError, match=r"^handler must be a callable \(got 'x', a str\)$"):
        helper.register_tool(WEATHER, "x")  # type: ignore[arg-type]


def test_tools_in_the_parameters_are_sent_beside_the_registered_ones(
    client: OpenAI, fake_server: FakeServer, run: Runner
) -> None:
    fake_server.default = model = ScriptedModel([("get_time", {"city": "Oslo"})], "Done.")
    helper = client.chat.create(None, model="m", tools=[TIME, WEATHER])
    helper.register_tool(WEATHER, weather)  # replaces the declared one of that name
    result = run(helper.prompt("Time?"))
    assert result.success
    assert model.received[0]["tools"] == [api_form(TIME), api_form(WEATHER)]
    assert [m["role"] for m in model.messages(1)] == ["user"]  # no system prompt
    # get_time is declared but has no handler: the model is told.
    assert model.messages(2)[-1]["content"].startswith("Error: there is no tool named 'get_time'")


@pytest.mark.parametrize("mode", MODES)
def test_prompt_takes_a_text_a_message_or_a_dict(
    helper: OpenAIChatHelper, fake_server: FakeServer, mode: str, run: Runner
) -> None:
    fake_server.default = model = ScriptedModel("Seen.")
    picture = OpenAIMessage("user", "What is this?").add_image_url("https://example.com/cat.png", "low")
    exchange(run, helper, picture, mode)
    exchange(run, helper, {"content": "And this?"}, mode)  # no role: a user message
    exchange(run, helper, "Thanks", mode)
    assert model.messages(1)[-1] == picture.to_dict()
    assert model.messages(2)[-1] == {"role": "user", "content": "And this?"}
    assert model.messages(3)[-1] == {"role": "user", "content": "Thanks"}
    picture.text = "changed later"  # the helper kept its own copy
    assert helper.messages[0].text == "What is this?"
    with pytest.raises(
        TypeError, match=r"^prompt must be a text, an OpenAIMessage or a message dict \(got 3, an int\)$"
    ):
        run(helper.prompt(3))
    with pytest.raises(ValueError, match=r"^messages\[0\].content is required for a 'user' message$"):
        run(helper.prompt({"role": "user"}))
    assert len(model.received) == 3


def test_reset_keeps_the_system_prompt_parameters_and_tools(
    helper: OpenAIChatHelper, fake_server: FakeServer, run: Runner
) -> None:
    fake_server.default = model = ScriptedModel([("get_wether", {})], "Hi.")
    run(helper.prompt("Hello"))
    assert helper.messages and helper.last_errors
    helper.reset()
    assert helper.messages == [] and helper.last_errors == []
    assert helper.system_prompt == OpenAIMessage("system", "You are terse.")
    assert [t.name for t in helper.tools] == ["get_weather", "get_time"]
    run(helper.prompt("Hello again"))
    assert [sent(m) for m in model.received[-1]["messages"]] == [
        SYSTEM,
        {"role": "user", "content": "Hello again"},
    ]
    assert model.received[-1]["tools"] == [api_form(WEATHER), api_form(TIME)]


def test_stream_true_without_callbacks_points_to_stream(helper: OpenAIChatHelper, run: Runner) -> None:
    helper.parameters = helper.parameters.replace(stream=True)
    with pytest.raises(ValueError, match=r"use helper.stream\(prompt\)"):
        run(helper.prompt("Hi"))
    helper.parameters = helper.parameters.replace(stream=False, on_terminate=print)
    with pytest.raises(ValueError, match=r"^stream\(\) does not take callbacks \(got on_terminate\)"):
        run.stream(helper.stream("Hi"))
    assert helper.messages == []


# --- history trimming through the helper ------------------------------------------------------------------


def test_the_history_is_trimmed_by_whole_tool_groups(
    helper: OpenAIChatHelper, fake_server: FakeServer, run: Runner
) -> None:
    fake_server.default = model = ScriptedModel(
        "One.", [("get_weather", {"city": "A"}), ("get_time", {"city": "A"})], "Two.", "Three."
    )
    helper.number_of_messages = 4
    run(helper.prompt("1"))  # user, assistant
    run(helper.prompt("2"))  # + user, assistant(calls), tool, tool, assistant: 7 > 4
    # Oldest first, whole groups: "1", "One.", "2" go; the call and its two replies stay together.
    assert [sent(m.to_dict())["role"] for m in helper.messages] == ["assistant", "tool", "tool", "assistant"]
    # While an exchange runs, it is never trimmed: the second request carried the whole exchange.
    assert [m["role"] for m in model.messages(2)] == ["system", "user", "assistant", "user"]
    assert [m.get("content") for m in model.messages(3)[:2]] == ["You are terse.", "2"]
    assert [m["role"] for m in model.messages(3)] == ["system", "user", "assistant", "tool", "tool"]
    run(helper.prompt("3"))
    # 4 + 2 = 6 > 4: the group of three goes whole (the history may end up shorter than the limit).
    assert [sent(m.to_dict()) for m in helper.messages] == [
        {"role": "assistant", "content": "Two."},
        {"role": "user", "content": "3"},
        {"role": "assistant", "content": "Three."},
    ]
    # Before the request, the history older than the prompt was trimmed too.
    assert [m["role"] for m in model.messages(4)] == ["system", "assistant", "user"]


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


def forecast(city: str, unit: Unit = Unit.C, days: int = 1) -> str:
    """Weather forecast for a city."""
    return "%s %s %d" % (city, unit.value, days)


@pytest.mark.parametrize("mode", MODES)
def test_a_function_registered_as_it_is_gets_typed_arguments(
    client: OpenAI, fake_server: FakeServer, mode: str, run: Runner
) -> None:
    fake_server.default = model = ScriptedModel(
        [("forecast", {"city": "Oslo", "unit": "fahrenheit", "days": None})],
        [("forecast", {"city": "Oslo", "unit": "kelvin", "days": 2})],
        "Done.",
    )
    helper = client.chat.create(None, model="m")
    helper.register_tool(forecast)
    result, _ = exchange(run, helper, "Weather?", mode)
    assert result.success, result.errors
    assert model.received[0]["tools"] == [OpenAITool.from_function(forecast).to_dict()]
    assert model.messages(2)[-1]["content"] == "Oslo fahrenheit 1"  # an Enum member, the default for null
    # Arguments that do not fit the types go back to the model, naming the path.
    assert model.messages(3)[-1]["content"].startswith(
        "Error: the arguments of the call to 'forecast' do not fit"
    )
    assert "$.unit" in model.messages(3)[-1]["content"]


def add(a: int, b: int, /) -> int:
    """Add two numbers."""
    return a + b


def test_positional_only_parameters_are_passed_by_position(
    client: OpenAI, fake_server: FakeServer, run: Runner
) -> None:
    fake_server.default = model = ScriptedModel([("add", {"a": 2, "b": 40})], "42.")
    helper = client.chat.create(None, model="m")
    helper.register_tool(add)
    assert run(helper.prompt("2 + 40?")).success
    assert model.messages(2)[-1]["content"] == "42"
    assert helper.last_errors == []


def test_functions_in_the_parameters_are_registered(
    client: OpenAI, fake_server: FakeServer, run: Runner
) -> None:
    fake_server.default = model = ScriptedModel(
        [("forecast", {"city": "Oslo", "unit": None, "days": 3})], "Ok."
    )
    helper = client.chat.create(None, model="m", tools=[forecast, TIME])
    assert [t.name for t in helper.tools] == ["forecast"]
    assert helper.parameters.tools == [TIME]  # declared, no handler: sent as it is
    assert run(helper.prompt("Forecast?")).success
    assert model.received[0]["tools"] == [api_form(TIME), OpenAITool.from_function(forecast).to_dict()]
    assert model.messages(2)[-1]["content"] == "Oslo celsius 3"
    helper.unregister_tools()
    helper.parameters = {
        "model": "m",
        "tools": [OpenAITool.from_function(add)],
    }  # a tool that carries its function
    assert [t.name for t in helper.tools] == ["add"] and helper.parameters.tools is None
    helper.register_tools({"weather_now": forecast})  # a function under another name
    assert [t.name for t in helper.tools] == ["add", "weather_now"]
    assert helper.tools[1].parameters == OpenAITool.from_function(forecast).parameters


# --- handlers that are coroutine functions (async def) ------------------------------------------------


async def async_weather(city: str) -> str:
    """Current weather for a city."""
    import asyncio

    await asyncio.sleep(0)
    return "sunny in %s" % city


@pytest.mark.parametrize("run", ["async"], indirect=True)
@pytest.mark.parametrize("mode", MODES + ["plain-callbacks"])
def test_async_def_handlers_are_awaited_on_asyncio_beside_plain_ones(
    helper: OpenAIChatHelper, fake_server: FakeServer, mode: str, run: Runner
) -> None:
    helper.register_tool(async_weather)  # built from the function, as a plain one is
    fake_server.default = model = ScriptedModel(
        [("async_weather", {"city": "Paris"}), ("get_time", {"city": "Paris"})],
        [("async_weather", {"city": "Oslo"})],
        "Done.",
    )
    result, _ = exchange(run, helper, "Go", mode)
    assert result.success and result.text == "Done.", result.errors
    assert [sent(m) for m in model.messages(2)[-2:]] == [
        reply("call_1_0", "sunny in Paris"),
        reply("call_1_1", '{"city": "Paris", "time": "12:00"}'),
    ]
    assert sent(model.messages(3)[-1]) == reply("call_2_0", "sunny in Oslo")
    assert helper.last_errors == []


@pytest.mark.parametrize("run", ["async"], indirect=True)
@pytest.mark.parametrize("workers", [1, 2])
def test_async_def_handlers_run_one_after_the_other_or_at_once_with_tool_workers(
    helper: OpenAIChatHelper, fake_server: FakeServer, workers: int, run: Runner
) -> None:
    import asyncio

    events: List[str] = []
    started: Dict[str, asyncio.Event] = {}  # made on the test's loop, by the handlers

    def handler(name: str, other: str) -> Any:
        async def run_it(city: str) -> str:
            events.append("start " + name)
            started.setdefault(name, asyncio.Event()).set()
            if workers > 1:  # at once: each waits until the other has started too
                await asyncio.wait_for(started.setdefault(other, asyncio.Event()).wait(), 10)
            await asyncio.sleep(0)
            events.append("end " + name)
            return "%s for %s" % (name, city)

        return run_it

    helper.register_tool(WEATHER, handler("weather", "time"))
    helper.register_tool(TIME, handler("time", "weather"))
    helper.tool_workers = workers
    fake_server.default = model = ScriptedModel(
        [("get_time", {"city": "A"}), ("get_weather", {"city": "B"})], "Done."
    )
    assert run(helper.prompt("Both?")).success
    if workers == 1:  # the model's order, each to its end before the next
        assert events == ["start time", "end time", "start weather", "end weather"]
    else:
        assert events[:2] == ["start time", "start weather"]
    assert [sent(m) for m in model.messages(2)[-2:]] == [
        reply("call_1_0", "time for A"),
        reply("call_1_1", "weather for B"),
    ]


@pytest.mark.parametrize("run", ["async"], indirect=True)
def test_an_async_def_handler_that_raises_is_a_tool_error(
    helper: OpenAIChatHelper, fake_server: FakeServer, run: Runner
) -> None:
    import asyncio

    async def broken(city: str) -> str:
        await asyncio.sleep(0)
        raise LookupError("no station in " + city)

    helper.register_tool(WEATHER, broken)
    fake_server.default = model = ScriptedModel([("get_weather", {"city": "Atlantis"})], "Sorry.")
    assert run(helper.prompt("Weather?")).success
    assert [e.type for e in helper.last_errors] == ["tool_error"]
    assert sent(model.messages(2)[-1]) == reply(
        "call_1_0", "Error: get_weather raised LookupError: no station in Atlantis"
    )


@sync_only("OpenAI awaits nothing: an async def handler is refused there, awaited on AsyncOpenAI")
@pytest.mark.parametrize("workers", [1, 2])
def test_an_async_def_handler_on_the_sync_client_is_a_tool_error_that_says_why(
    helper: OpenAIChatHelper, fake_server: FakeServer, workers: int, run: Runner
) -> None:
    """The coroutine is closed unrun: no "never awaited" warning."""
    import warnings

    helper.register_tool(WEATHER, async_weather)
    helper.tool_workers = workers
    fake_server.default = model = ScriptedModel(
        [("get_weather", {"city": "Paris"}), ("get_time", {"city": "Paris"})], "Done."
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = run(helper.prompt("Go"))
    assert result.success and [e.type for e in helper.last_errors] == ["tool_error"]
    first, second = model.messages(2)[-2:]
    assert "coroutine function" in first["content"] and "AsyncOpenAI" in first["content"]
    assert sent(second) == reply("call_1_1", '{"city": "Paris", "time": "12:00"}')
