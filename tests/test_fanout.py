"""create_many / iter_many against the fake server (and its rate limiter): what the server saw.

Most tests run against both clients (the ``many`` fixture): ``OpenAI`` runs the
fan-out on threads, ``AsyncOpenAI`` on asyncio tasks; both run the same
:class:`~openai_params.fanout.FanOut`, so the same requests go out and the same
results come back, in the same order and shape.
"""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import pytest

from both_clients import sockets_to
from fake_ratelimit import RateLimiter
from fakeserver import FakeServer, RecordedRequest, Reply
from openai_params import AsyncOpenAI, OpenAI
from openai_params.fanout import OUTPUT, plan
from openai_params.pacing import DONE, START, WAIT
from openai_params.results import OpenAIChatCompletionResult
from streamdata import completion
from test_async import sockets_become

AnyClient = Union[OpenAI, AsyncOpenAI]


def user(text: str) -> List[Dict[str, Any]]:
    return [{"role": "user", "content": text}]


def echo(request: RecordedRequest) -> Reply:
    text = request.json["messages"][-1]["content"]
    # The later requests answer first: results come back out of order.
    delay = 0.15 if text in ("0", "1") else 0.0
    return Reply(200, json=completion("echo: " + text), delay=delay)


class Many:
    """One of the two clients, and how its fan-out is run to the end."""

    def __init__(self, kind: str) -> None:
        self.is_async = kind == "async"

    def client(self, server: FakeServer, **options: Any) -> AnyClient:
        settings: Dict[str, Any] = dict(api_key="sk-test", base_url=server.url + "/v1", proxies={})
        settings.update(options)
        return (AsyncOpenAI if self.is_async else OpenAI)(**settings)

    def create_many(self, client: AnyClient, *args: Any, **kwargs: Any) -> List[OpenAIChatCompletionResult]:
        made = client.chat.completions.create_many(*args, **kwargs)
        if self.is_async:
            return asyncio.run(_awaited(made))
        return made

    def iter_many(
        self, client: AnyClient, *args: Any, stop: Optional[int] = None, **kwargs: Any
    ) -> List[Tuple[int, OpenAIChatCompletionResult]]:
        """The pairs, as they came; with ``stop``, the loop is left after that many."""
        pairs = client.chat.completions.iter_many(*args, **kwargs)
        if self.is_async:
            return asyncio.run(_collect(pairs, stop))
        seen = []
        for pair in pairs:
            seen.append(pair)
            if stop is not None and len(seen) == stop:
                break
        pairs.close()  # as a for loop's generator is closed when it is dropped
        return seen


async def _awaited(made: Any) -> Any:
    return await made


async def _collect(pairs: Any, stop: Optional[int]) -> List[Tuple[int, OpenAIChatCompletionResult]]:
    seen = []
    async for pair in pairs:
        seen.append(pair)
        if stop is not None and len(seen) == stop:
            break
    await pairs.aclose()
    assert asyncio.all_tasks() == {asyncio.current_task()}  # no call left running
    return seen


@pytest.fixture(params=["sync", "async"])
def many(request: pytest.FixtureRequest) -> Many:
    return Many(request.param)


@pytest.fixture
def echo_client(fake_server: FakeServer, many: Many) -> Iterator[AnyClient]:
    fake_server.default = echo
    made = many.client(fake_server, timeout=10)
    try:
        yield made
    finally:
        made.close()


def test_results_come_in_input_order(echo_client: AnyClient, many: Many, fake_server: FakeServer) -> None:
    requests = [user(str(n)) for n in range(12)]
    results = many.create_many(echo_client, requests, model="m", concurrency=4)
    assert [r.text for r in results] == ["echo: %d" % n for n in range(12)]
    assert all(r.success for r in results) and len(fake_server.requests) == 12


def test_iter_many_yields_each_result_as_it_finishes_with_its_index(
    echo_client: AnyClient, many: Many
) -> None:
    seen = many.iter_many(echo_client, [user(str(n)) for n in range(8)], model="m")
    indexes = [index for index, _ in seen]
    assert sorted(indexes) == list(range(8))
    assert indexes[-2:] != [0, 1] or indexes != sorted(indexes)  # "0" and "1" were held back
    assert indexes.index(0) > indexes.index(5)
    assert all(result.text == "echo: %d" % index for index, result in seen)


def test_never_more_in_flight_than_concurrency_the_server_counts(fake_server: FakeServer, many: Many) -> None:
    fake_server.default = Reply(200, json=completion("x"), delay=0.1)
    client = many.client(fake_server)
    try:
        results = many.create_many(client, [user("q")] * 20, model="m", concurrency=4)
    finally:
        client.close()
    assert all(r.success for r in results)
    assert fake_server.max_in_flight == 4


def test_dict_requests_carry_their_own_parameters_and_custom_id_is_not_sent(
    echo_client: AnyClient, many: Many, fake_server: FakeServer
) -> None:
    requests = [
        {"custom_id": "a", "messages": user("0"), "temperature": 0.5},
        {"custom_id": "b", "messages": user("1"), "model": "other"},
        user("2"),
    ]
    results = many.create_many(echo_client, requests, {"model": "m", "seed": 7})
    assert [r.success for r in results] == [True, True, True]
    bodies = {r.json["messages"][0]["content"]: r.json for r in fake_server.requests}
    assert bodies["0"]["temperature"] == 0.5 and bodies["0"]["model"] == "m" and bodies["0"]["seed"] == 7
    assert bodies["1"]["model"] == "other" and "temperature" not in bodies["1"]
    assert all("custom_id" not in body for body in bodies.values())


def test_failures_are_results_and_the_rest_still_runs(fake_server: FakeServer, many: Many) -> None:
    def answer(request: RecordedRequest) -> Reply:
        if request.json["messages"][0]["content"] == "bad":
            return Reply(400, json={"error": {"message": "no", "type": "invalid_request_error"}})
        return Reply(200, json=completion("ok"))

    fake_server.default = answer
    client = many.client(fake_server)
    try:
        results = many.create_many(
            client,
            [
                user("a"),
                "not a message list",
                user("bad"),
                {"temperature": 9, "messages": user("b")},
                user("c"),
            ],
            model="m",
        )
    finally:
        client.close()
    assert [r.success for r in results] == [True, False, False, False, True]
    assert results[1].errors[0].type == "invalid_request" and "request 1" in results[1].errors[0].message
    assert results[2].errors[0].status == 400
    assert "temperature" in results[3].errors[0].message
    assert len(fake_server.requests) == 3  # the two that could not be built were never sent


def test_a_failed_attempt_is_retried_through_the_pacer(fake_server: FakeServer, many: Many) -> None:
    fake_server.add(503, json={"error": {"message": "busy", "type": "server_error"}})
    fake_server.default = Reply(200, json=completion("ok"))
    client = many.client(fake_server, max_retries=1)
    try:
        (result,) = many.create_many(client, [user("a")], model="m", concurrency=1)
    finally:
        client.close()
    assert result.success and len(fake_server.requests) == 2


def test_a_429_makes_everything_wait_then_the_request_is_sent_again(
    fake_server: FakeServer, many: Many
) -> None:
    fake_server.add(429, headers={"retry-after-ms": "200"}, json={"error": {"message": "slow down"}})
    fake_server.default = echo
    client = many.client(fake_server, max_retries=0)
    try:
        results = many.create_many(client, [user(str(n)) for n in range(4)], model="m", concurrency=1)
    finally:
        client.close()
    assert [r.text for r in results] == ["echo: %d" % n for n in range(4)]
    times = [r.received_at for r in fake_server.requests]
    assert len(times) == 5 and times[1] - times[0] >= 0.2  # the 429's wait, max_retries 0 or not
    assert [r.json["messages"][0]["content"] for r in fake_server.requests] == ["0", "0", "1", "2", "3"]


def test_insufficient_quota_stops_the_whole_run(fake_server: FakeServer, many: Many) -> None:
    limiter = RateLimiter(quota=5)
    fake_server.default = limiter.reply
    client = many.client(fake_server)
    try:
        results = many.create_many(client, [user(str(n)) for n in range(40)], model="m", concurrency=2)
    finally:
        client.close()
    kinds = [r.errors[0].type if r.errors else "ok" for r in results]
    assert kinds.count("ok") == 5
    assert 1 <= kinds.count("insufficient_quota") <= 2  # the one that stopped it, and one in flight
    assert kinds.count("not_sent") == 40 - len(fake_server.requests)
    assert len(fake_server.requests) <= 5 + 2  # nothing after the stop but what was already out
    assert (
        "insufficient_quota"
        in next(r for r in results if kinds[results.index(r)] == "not_sent").errors[0].message
    )


def test_leaving_the_loop_early_cancels_what_is_in_flight(fake_server: FakeServer, many: Many) -> None:
    release = threading.Event()
    fake_server.add(200, json=completion("first"))
    fake_server.default = Reply(200, json=completion("slow"), hang=True, release=release)
    client = many.client(fake_server)
    try:
        seen = many.iter_many(client, [user("a")] * 50, model="m", concurrency=3, stop=1)
    finally:
        release.set()
        client.close()
    assert [result.text for _, result in seen] == ["first"]
    assert len(fake_server.requests) <= 4  # one answered, three out: nothing else was sent


def test_bad_arguments_are_refused_before_anything_is_sent(
    echo_client: AnyClient, fake_server: FakeServer
) -> None:
    completions = echo_client.chat.completions
    with pytest.raises(ValueError, match="concurrency"):
        completions.create_many([user("a")], model="m", concurrency=0)
    with pytest.raises(ValueError, match="callbacks"):
        completions.iter_many([user("a")], model="m", on_terminate=print)
    with pytest.raises(ValueError, match="temperature"):
        completions.create_many([user("a")], model="m", temperature=5)
    with pytest.raises(TypeError, match="PacingPolicy"):
        completions.iter_many([user("a")], model="m", policy={"decrease": 0.5})
    assert fake_server.requests == []


def test_a_closed_client_refuses_a_fan_out(fake_server: FakeServer, many: Many) -> None:
    client = many.client(fake_server)
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.chat.completions.create_many([user("a")], model="m")
    assert fake_server.requests == []


def test_against_the_rate_limiter_few_429s_where_a_plain_pool_gets_many(
    fake_server: FakeServer, many: Many
) -> None:
    limiter = RateLimiter(requests=20, window=0.2)
    fake_server.default = limiter.reply
    total, size = 200, 8
    client = many.client(fake_server)
    try:
        results = many.create_many(client, [user(str(n)) for n in range(total)], model="m", concurrency=size)
        paced = limiter.limited
        assert all(r.success for r in results) and limiter.accepted == total
        assert [r.text for r in results] == ["echo: %d" % n for n in range(total)]

        limiter.limited = limiter.accepted = 0
        plain_pool(many, client, total, size)
    finally:
        client.close()
    print("429s: paced %d, plain pool %d" % (paced, limiter.limited))
    # The plain pool honours Retry-After too, yet each of its calls in flight meets the limit
    # once in nearly every window (10 windows, 8 at once: about 80 when the machine is idle).
    assert paced <= size  # at most the first round, before any header was read
    assert limiter.limited >= 5 * size and limiter.limited >= 5 * max(paced, 1)


def plain_pool(many: Many, client: AnyClient, total: int, size: int) -> None:
    """``total`` calls, ``size`` at once, each with the transport's own retries and nothing shared:
    a ThreadPoolExecutor, or for AsyncOpenAI its asyncio equivalent (a semaphore and gather)."""

    def one(n: int) -> Any:
        return client.chat.completions.create(user(str(n)), model="m")

    if not many.is_async:
        with ThreadPoolExecutor(size) as pool:
            list(pool.map(one, range(total)))
        return

    async def bounded() -> None:
        slots = asyncio.Semaphore(size)

        async def limited(n: int) -> Any:
            async with slots:
                return await one(n)

        await asyncio.gather(*(limited(n) for n in range(total)))

    asyncio.run(bounded())


def test_a_tokens_per_window_limit_is_kept_too(fake_server: FakeServer, many: Many) -> None:
    limiter = RateLimiter(requests=1000, tokens=500, window=0.2)  # about 10 of these per window
    fake_server.default = limiter.reply
    client = many.client(fake_server)
    try:
        results = many.create_many(
            client, [user(str(n)) for n in range(60)], model="m", max_completion_tokens=40, concurrency=8
        )
    finally:
        client.close()
    assert all(r.success for r in results) and limiter.accepted == 60
    assert limiter.limited <= 8  # at most the first round, before the headers said anything
    assert limiter._window_index >= 5  # the limit did bind: the answers spread over six windows


def test_both_drivers_give_the_same_results_in_the_same_shape(fake_server: FakeServer) -> None:
    def answer(request: RecordedRequest) -> Reply:
        text = request.json["messages"][0]["content"]
        if text.startswith("bad"):
            return Reply(400, json={"error": {"message": "no: " + text, "type": "invalid_request_error"}})
        return Reply(200, json=completion("echo: " + text), delay=0.01 * (len(text) % 3))

    fake_server.default = answer
    requests: List[Any] = [user("a"), user("bad b"), "not messages", {"messages": user("c"), "seed": 1}]
    requests += [user("x" * n) for n in range(1, 13)]

    def shape(results: List[OpenAIChatCompletionResult]) -> List[Any]:
        return [
            (r.success, r.status, r.text, [(e.type, e.status, e.message) for e in r.errors]) for r in results
        ]

    shapes = []
    for kind in ("sync", "async"):
        many = Many(kind)
        client = many.client(fake_server)
        try:
            shapes.append(shape(many.create_many(client, requests, model="m", concurrency=3)))
        finally:
            client.close()
    assert shapes[0] == shapes[1]
    assert [s[0] for s in shapes[0]] == [True, False, False, True] + [True] * 12
    sent = [r.json["messages"][0]["content"] for r in fake_server.requests]
    assert len(sent) == 2 * 15 and sorted(sent[:15]) == sorted(sent[15:])


def _result(
    status: int, headers: Optional[Dict[str, str]] = None, text: str = "ok"
) -> OpenAIChatCompletionResult:
    if status == 200:
        return OpenAIChatCompletionResult(status=200, headers=headers or {}, body=completion(text))
    from openai_params.errors import OpenAIError

    error = OpenAIError("slow down", status=status, type="requests", code="rate_limit_exceeded")
    return OpenAIChatCompletionResult(status=status, headers=headers or {}, errors=[error])


def test_the_decisions_are_the_fan_outs_driven_here_by_hand_with_a_fake_clock() -> None:
    """What both drivers run: FanOut says START / WAIT / OUTPUT / DONE; nothing is sent here,
    and no time passes but the fake clock's."""
    import json

    now = [100.0]
    client = OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1", max_retries=0)
    try:
        fan = plan(
            client.chat.completions,
            [user("a"), user("b"), "bad"],
            {"model": "m"},
            concurrency=2,
            clock=lambda: now[0],
        )
        a, b = fan.next_step(), fan.next_step()
        assert (a.kind, b.kind) == (START, START)
        assert [json.loads(s.job.request.body)["messages"] for s in (a, b)] == [user("a"), user("b")]
        assert fan.next_step().kind == WAIT  # two in flight: the window is full
        fan.finished(a.ticket, _result(429, {"retry-after-ms": "1500"}))
        assert fan.next_step().kind == WAIT  # the window halved to 1, and b is out
        fan.finished(b.ticket, _result(200, text="B"))
        out = fan.next_step()
        assert (out.kind, out.index, out.result.text) == (OUTPUT, 1, "B")
        wait = fan.next_step()
        assert wait.kind == WAIT and wait.delay == pytest.approx(1.5 + 0.01)  # everything waits
        now[0] += 1.6
        again = fan.next_step()  # a retry before a new request
        assert again.kind == START and json.loads(again.job.request.body)["messages"] == user("a")
        fan.finished(again.ticket, _result(200, text="A"))
        last = fan.next_step()
        assert (last.kind, last.index, last.result.text) == (OUTPUT, 0, "A")
        bad = fan.next_step()  # the third request cannot be built: a result at once, nothing sent
        assert bad.kind == OUTPUT and bad.index == 2 and bad.result.errors[0].type == "invalid_request"
        assert fan.next_step().kind == DONE
        assert fan.pacer.rate_limited == 1 and fan.pacer.retried == 1
    finally:
        client.close()


def test_cancelling_the_awaiting_task_cancels_the_calls_in_flight(fake_server: FakeServer) -> None:
    """AsyncOpenAI: asyncio's cancellation, as for one call: every call in flight is cancelled and
    its connection closed, nothing more is sent, no task is left, and the client stays usable."""
    release = threading.Event()
    arrived = threading.Semaphore(0)

    def answer(request: RecordedRequest) -> Reply:
        if request.json["messages"][0]["content"] == "after":
            return Reply(200, json=completion("after"))
        arrived.release()
        return Reply(200, json=completion("slow"), hang=True, release=release)

    fake_server.default = answer
    client = AsyncOpenAI(api_key="sk-test", base_url=fake_server.url + "/v1", proxies={}, timeout=10)

    async def scenario() -> Tuple[float, Optional[int], Optional[int], Any]:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(
            client.chat.completions.create_many([user(str(n)) for n in range(20)], model="m", concurrency=3)
        )
        for _ in range(3):  # the first three are held by the server
            assert await loop.run_in_executor(None, arrived.acquire, True, 10)
        during = sockets_to(fake_server.port)
        started = loop.time()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        took = loop.time() - started
        assert asyncio.all_tasks() == {asyncio.current_task()}  # no call left running
        after = await sockets_become(fake_server.port, 0)
        release.set()
        return took, during, after, await client.chat.completions.create(user("after"), model="m")

    try:
        took, during, after, next_call = asyncio.run(scenario())
    finally:
        release.set()
        client.close()
    assert took < 1.0
    assert during in (3, None) and after in (0, None)
    assert next_call.text == "after"
    assert len(fake_server.requests) == 4  # the three in flight, then the next call: nothing more


def test_a_stop_set_while_the_run_waits_ends_it_and_cancels_what_is_in_flight(
    fake_server: FakeServer,
) -> None:
    # What Ctrl-C does in the batch command (_interrupt.py): set from another thread, while the
    # run waits for three held calls; the run ends without waiting for them.
    from openai_params._interrupt import Stop
    from openai_params.fanout import plan, run_on_threads

    stop, release = Stop(), threading.Event()
    held = threading.Semaphore(0)

    def reply(request: RecordedRequest) -> Reply:
        if request.json["messages"][-1]["content"] == "0":
            return Reply(200, json=completion("first"))
        held.release()
        return Reply(200, json=completion("late"), hang=True, release=release)

    fake_server.default = reply

    def stop_once_three_are_held() -> None:
        if all(held.acquire(timeout=60) for _ in range(3)):
            stop.set()

    stopper = threading.Thread(target=stop_once_three_are_held)
    stopper.start()
    try:
        with OpenAI(api_key="sk-test", base_url=fake_server.url + "/v1") as client:
            requests = [user(str(n)) for n in range(50)]
            fan = plan(client.chat.completions, requests, {"model": "m"}, concurrency=3)
            seen = list(run_on_threads(fan, stop))
            # Here while the three calls are still held: the run did not wait for them.
            assert not release.is_set() and fake_server.in_flight == 3
    finally:
        release.set()
        stopper.join()
    assert [result.text for _, result in seen] == ["first"]
    assert len(fake_server.requests) == 4  # nothing was sent after the stop
