"""The tool loop as pure logic (openai_params/toolloop.py): no server, no thread.

History trimming is table-driven: hand-written cases, then a tool group at every
position of a history, for every limit, checked against a declarative oracle
(the longest suffix that fits and does not start with a tool reply).
"""

import datetime
import enum
import json
import uuid
from typing import Any, Dict, List, Optional

import pytest

from openai_params import OpenAIChatCompletionParameters, OpenAIError, OpenAIMessage, OpenAITool
from openai_params.results import OpenAIChatCompletionResult
from openai_params.toolloop import (
    Ask,
    Done,
    RunTools,
    ToolEntry,
    ToolLoop,
    forces_a_call,
    prepare,
    reply_text,
    trim_history,
)

# --- trimming -------------------------------------------------------------------------------------

# One letter a message: u user, a assistant (text), c assistant with tool_calls, t tool reply.
LETTERS = {
    "u": lambda n: OpenAIMessage("user", "u%d" % n),
    "a": lambda n: OpenAIMessage("assistant", "a%d" % n),
    "c": lambda n: OpenAIMessage("assistant", None, tool_calls=[{"id": "call_%d" % n}]),
    "t": lambda n: OpenAIMessage("tool", "t%d" % n, tool_call_id="call_x"),
}


def history(spec: str) -> List[OpenAIMessage]:
    return [LETTERS[letter](n) for n, letter in enumerate(spec)]


def letters(messages: List[OpenAIMessage]) -> str:
    return "".join("c" if m.tool_calls else m.role[0] for m in messages)  # type: ignore[index]


TRIM_CASES = [
    # history, limit, keep_from, what stays
    ("uaua", 2, None, "ua"),
    ("uaua", 4, None, "uaua"),
    ("uaua", 0, None, "uaua"),  # 0: no limit
    ("uctta", 4, None, "ctta"),
    ("uctta", 3, None, "a"),  # the group of three goes whole: shorter than the limit
    ("ctta", 3, None, "a"),
    ("ctt", 2, None, ""),
    ("ctt", 3, None, "ctt"),
    ("tua", 2, None, "ua"),  # a reply without its call (edited history) goes first
    ("ttua", 3, None, "ua"),
    ("uctctta", 4, None, "ctta"),  # two groups in a row
    ("uctctta", 5, None, "ctta"),
    ("uctctta", 6, None, "ctctta"),
    ("uaucttu", 2, 6, "u"),  # the exchange under way starts at 6
    ("uaucttu", 2, 3, "cttu"),  # ... at 3: the group it starts with is never removed
    ("uaucttu", 2, 0, "uaucttu"),
    ("uaucttuct", 3, 6, "uct"),
]


@pytest.mark.parametrize("spec, limit, keep_from, kept", TRIM_CASES)
def test_trimming_cases(spec: str, limit: int, keep_from: Optional[int], kept: str) -> None:
    messages = history(spec)
    originals = list(messages)
    removed = trim_history(messages, limit, keep_from)
    assert letters(messages) == kept
    assert removed == len(spec) - len(kept)
    assert messages == originals[removed:] and all(a is b for a, b in zip(messages, originals[removed:]))


def _oracle(spec: str, limit: int, keep_from: Optional[int]) -> str:
    """The longest suffix that holds at most ``limit`` messages and starts at a message that is not
    a tool reply; never starting after ``keep_from`` (then the latest such start before it)."""
    if limit <= 0:
        return spec
    starts = [i for i in range(len(spec) + 1) if i == len(spec) or spec[i] != "t"]
    bound = len(spec) if keep_from is None else keep_from
    fitting = [i for i in starts if len(spec) - i <= limit]
    if fitting and fitting[0] <= bound:
        return spec[fitting[0] :]
    allowed = [i for i in starts if i <= bound]
    return spec[allowed[-1] :] if allowed else spec


def _with_group_everywhere() -> List[str]:
    plain = "uauaua"
    specs = []
    for replies in (1, 2, 3):
        group = "c" + "t" * replies
        for position in range(len(plain) + 1):
            specs.append(plain[:position] + group + plain[position:])
        specs.append(group + group + plain)
        specs.append(plain + group + group)
    return specs


@pytest.mark.parametrize("spec", _with_group_everywhere())
def test_a_tool_group_at_every_position_never_loses_its_call(spec: str) -> None:
    for limit in range(len(spec) + 2):
        for keep_from in [None] + [i for i in range(len(spec) + 1) if i == len(spec) or spec[i] != "t"]:
            messages = history(spec)
            trim_history(messages, limit, keep_from)
            kept = letters(messages)
            assert kept == _oracle(spec, limit, keep_from), (spec, limit, keep_from)
            assert not kept.startswith("t")
            assert spec.endswith(kept)
            if keep_from is None and limit > 0:
                assert len(kept) <= limit


# --- the rules as tables ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "choice, forces",
    [
        (None, False),
        ("auto", False),
        ("none", False),
        ("required", True),
        ({"type": "function", "function": {"name": "get_weather"}}, True),
        ({"type": "custom", "custom": {"name": "grammar"}}, True),
        ({"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": []}}, True),
        ({"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": []}}, False),
    ],
)
def test_which_tool_choice_forces_a_call(choice: Any, forces: bool) -> None:
    assert forces_a_call(choice) is forces


class Unit(enum.Enum):
    CELSIUS = "C"


def test_reply_text_writes_what_from_json_reads() -> None:
    value = {"unit": Unit.CELSIUS, "day": datetime.date(2026, 11, 29), "id": uuid.UUID(int=1)}
    assert json.loads(reply_text(value)) == {"unit": "C", "day": "2026-11-29", "id": str(uuid.UUID(int=1))}


def test_reply_text_refuses_what_json_cannot_say() -> None:
    assert reply_text("as is") == "as is"
    assert reply_text({"b": 1, "a": "é"}) == '{"b": 1, "a": "é"}'
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        reply_text({1, 2})
    with pytest.raises(ValueError, match="Out of range float"):
        reply_text(float("inf"))
    with pytest.raises(TypeError, match="type is not JSON serializable"):
        reply_text(OpenAITool)  # a class, even a dataclass one, is not a value


def weather(city: str, unit: str = "C") -> str:
    return city + unit


ENTRIES = {"get_weather": ToolEntry(OpenAITool("get_weather"), weather)}


def call(name: Any, arguments: Any, call_id: str = "call_1") -> Dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


@pytest.mark.parametrize(
    "given, kind, message",
    [
        (
            call("get_time", "{}"),
            "unknown_tool",
            "there is no tool named 'get_time' (the tools are: get_weather)",
        ),
        (call(None, "{}"), "unknown_tool", "there is no tool named None (the tools are: get_weather)"),
        ({"id": "x"}, "unknown_tool", "there is no tool named None (the tools are: get_weather)"),
        ("junk", "unknown_tool", "a tool call must be an object (got 'junk')"),
        (
            call("get_weather", "{"),
            "invalid_tool_arguments",
            "the arguments of the call to 'get_weather' are not valid JSON",
        ),
        (
            call("get_weather", "3"),
            "invalid_tool_arguments",
            "the arguments of the call to 'get_weather' must be a JSON object (got '3')",
        ),
        (
            call("get_weather", 3),
            "invalid_tool_arguments",
            "the arguments of the call to 'get_weather' must be a JSON object (got 3)",
        ),
        (
            call("get_weather", '{"town": "Oslo"}'),
            "invalid_tool_arguments",
            "the arguments of the call to 'get_weather' do not fit get_weather(city: str, unit: str = 'C') -> str: "
            "missing a required argument: 'city'",
        ),
    ],
)
def test_prepare_names_what_is_wrong(given: Any, kind: str, message: str) -> None:
    job = prepare(0, given, ENTRIES)
    assert job.error is not None and job.error.type == kind
    assert job.error.message.startswith(message)
    outcome = job.run()  # a failed job runs nothing
    assert outcome.value is None and outcome.exception is None


@pytest.mark.parametrize("arguments", ["", "  ", None, {}])
def test_empty_arguments_are_an_empty_object(arguments: Any) -> None:
    job = prepare(
        0, call("get_weather", arguments), {"get_weather": ToolEntry(OpenAITool("get_weather"), lambda: "ok")}
    )
    assert job.error is None and job.arguments == {}
    assert job.run().value == "ok"


def test_a_prepared_job_passes_the_arguments_by_name() -> None:
    job = prepare(2, call("get_weather", '{"unit": "F", "city": "Oslo"}', "call_9"), ENTRIES)
    assert (job.index, job.call_id, job.name, job.arguments) == (
        2,
        "call_9",
        "get_weather",
        {"unit": "F", "city": "Oslo"},
    )
    assert job.run().value == "OsloF"


# --- the exchange, step by step ----------------------------------------------------------------------


def answer(*calls: Dict[str, Any], text: Optional[str] = None) -> OpenAIChatCompletionResult:
    message: Dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = list(calls)
    body = {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}]}
    return OpenAIChatCompletionResult(status=200, body=body)


def make_loop(history: List[OpenAIMessage], **options: Any) -> ToolLoop:
    params = OpenAIChatCompletionParameters(model="m", tool_choice=options.pop("tool_choice", None))
    return ToolLoop(
        history,
        OpenAIMessage("user", "Weather?"),
        params,
        ENTRIES,
        system=OpenAIMessage("system", "Be brief."),
        **options,
    )


def test_an_exchange_step_by_step() -> None:
    history: List[OpenAIMessage] = []
    loop = make_loop(history, tool_choice="required")
    first = loop.start()
    assert isinstance(first, Ask) and first.round == 0
    assert first.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather?"},
    ]
    assert first.parameters.tool_choice == "required"
    step = loop.answered(answer(call("get_weather", '{"city": "Oslo"}', "c1"), call("get_time", "{}", "c2")))
    assert isinstance(step, RunTools) and [job.name for job in step.jobs] == ["get_weather", "get_time"]
    # Outcomes handed back in any order: the replies go in the model's order.
    step = loop.ran([job.run() for job in reversed(step.jobs)])
    assert isinstance(step, Ask) and step.round == 1
    assert step.parameters.tool_choice is None  # forcing: first round only
    assert [(m["role"], m.get("tool_call_id")) for m in step.messages[-2:]] == [
        ("tool", "c1"),
        ("tool", "c2"),
    ]
    assert [m["content"] for m in step.messages[-2:]][0] == "OsloC"
    done = loop.answered(answer(text="Cold."))
    assert isinstance(done, Done) and done.result.text == "Cold."
    assert [e.type for e in loop.errors] == ["unknown_tool"]
    assert [m.role for m in history] == ["user", "assistant", "tool", "tool", "assistant"]


def test_the_round_limit() -> None:
    history: List[OpenAIMessage] = []
    loop = make_loop(history, max_rounds=2, limit=0)
    step: Any = loop.start()
    asks = 0
    while not isinstance(step, Done):
        if isinstance(step, Ask):
            asks += 1
            step = loop.answered(answer(call("get_weather", '{"city": "Oslo"}', "c%d" % asks)))
        else:
            step = loop.ran([job.run() for job in step.jobs])
    assert asks == 2
    assert [e.type for e in step.result.errors] == ["tool_rounds_exceeded"]
    assert step.result.choice.message.tool_calls[0]["id"] == "c2"
    assert [m.role for m in history] == ["user", "assistant", "tool", "assistant", "tool"]


def test_ran_must_follow_a_run_tools_step() -> None:
    loop = make_loop([])
    loop.start()
    with pytest.raises(RuntimeError, match="ran\\(\\) answers the RunTools step"):
        loop.ran([])


def test_stopping_with_calls_pending_answers_them() -> None:
    history: List[OpenAIMessage] = []
    loop = make_loop(history)
    loop.start()
    loop.answered(answer(call("get_weather", '{"city": "Oslo"}', "c1")))
    done = loop.stop("the call was cancelled")
    assert [e.type for e in done.result.errors] == ["cancelled"]
    assert history[-1].to_dict() == {
        "role": "tool",
        "content": "Error: not run: the call was cancelled",
        "tool_call_id": "c1",
    }
    # Before anything was sent, stopping leaves the history alone.
    untouched: List[OpenAIMessage] = []
    assert make_loop(untouched).stop("x").result.errors[0].type == "cancelled" and untouched == []


def test_a_failed_answer_ends_the_exchange_and_keeps_the_prompt() -> None:
    history: List[OpenAIMessage] = []
    loop = make_loop(history)
    loop.start()
    failed = OpenAIChatCompletionResult(status=500, body=None, errors=[OpenAIError("boom", status=500)])
    done = loop.answered(failed)
    assert isinstance(done, Done) and done.result is failed
    assert loop.errors == failed.errors and [m.role for m in history] == ["user"]


def test_the_body_of_a_step_is_json() -> None:
    loop = make_loop([OpenAIMessage("user", "earlier")])
    json.dumps(loop.start().messages)
