"""create_many / iter_many against the fake server (and its rate limiter): what the server saw."""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator, List

import pytest

from fake_ratelimit import RateLimiter
from fakeserver import FakeServer, RecordedRequest, Reply
from openai_params import OpenAI
from streamdata import completion


def user(text: str) -> List[Dict[str, Any]]:
    return [{"role": "user", "content": text}]


def echo(request: RecordedRequest) -> Reply:
    text = request.json["messages"][-1]["content"]
    # The later requests answer first: results come back out of order.
    delay = 0.15 if text in ("0", "1") else 0.0
    return Reply(200, json=completion("echo: " + text), delay=delay)


@pytest.fixture
def echo_client(fake_server: FakeServer) -> Iterator[OpenAI]:
    fake_server.default = echo
    with OpenAI(api_key="sk-test", base_url=fake_server.url + "/v1", timeout=10) as made:
        yield made


def test_results_come_in_input_order(echo_client: OpenAI, fake_server: FakeServer) -> None:
    requests = [user(str(n)) for n in range(12)]
    results = echo_client.chat.completions.create_many(requests, model="m", concurrency=4)
    assert [r.text for r in results] == ["echo: %d" % n for n in range(12)]
    assert all(r.success for r in results) and len(fake_server.requests) == 12


def test_iter_many_yields_each_result_as_it_finishes_with_its_index(echo_client: OpenAI) -> None:
    seen = list(echo_client.chat.completions.iter_many([user(str(n)) for n in range(8)], model="m"))
    indexes = [index for index, _ in seen]
    assert sorted(indexes) == list(range(8))
    assert indexes[-2:] != [0, 1] or indexes != sorted(indexes)  # "0" and "1" were held back
    assert indexes.index(0) > indexes.index(5)
    assert all(result.text == "echo: %d" % index for index, result in seen)


def test_never_more_in_flight_than_concurrency_the_server_counts(fake_server: FakeServer) -> None:
    fake_server.default = Reply(200, json=completion("x"), delay=0.1)
    with OpenAI(api_key="sk-test", base_url=fake_server.url + "/v1") as client:
        results = client.chat.completions.create_many([user("q")] * 20, model="m", concurrency=4)
    assert all(r.success for r in results)
    assert fake_server.max_in_flight == 4


def test_dict_requests_carry_their_own_parameters_and_custom_id_is_not_sent(
    echo_client: OpenAI, fake_server: FakeServer
) -> None:
    requests = [
        {"custom_id": "a", "messages": user("0"), "temperature": 0.5},
        {"custom_id": "b", "messages": user("1"), "model": "other"},
        user("2"),
    ]
    results = echo_client.chat.completions.create_many(requests, {"model": "m", "seed": 7})
    assert [r.success for r in results] == [True, True, True]
    bodies = {r.json["messages"][0]["content"]: r.json for r in fake_server.requests}
    assert bodies["0"]["temperature"] == 0.5 and bodies["0"]["model"] == "m" and bodies["0"]["seed"] == 7
    assert bodies["1"]["model"] == "other" and "temperature" not in bodies["1"]
    assert all("custom_id" not in body for body in bodies.values())


def test_failures_are_results_and_the_rest_still_runs(fake_server: FakeServer) -> None:
    def answer(request: RecordedRequest) -> Reply:
        if request.json["messages"][0]["content"] == "bad":
            return Reply(400, json={"error": {"message": "no", "type": "invalid_request_error"}})
        return Reply(200, json=completion("ok"))

    fake_server.default = answer
    with OpenAI(api_key="sk-test", base_url=fake_server.url + "/v1") as client:
        results = client.chat.completions.create_many(
            [
                user("a"),
                "not a message list",
                user("bad"),
                {"temperature": 9, "messages": user("b")},
                user("c"),
            ],
            model="m",
        )
    assert [r.success for r in results] == [True, False, False, False, True]
    assert results[1].errors[0].type == "invalid_request" and "request 1" in results[1].errors[0].message
    assert results[2].errors[0].status == 400
    assert "temperature" in results[3].errors[0].message
    assert len(fake_server.requests) == 3  # the two that could not be built were never sent


def test_a_failed_attempt_is_retried_through_the_pacer(fake_server: FakeServer) -> None:
    fake_server.add(503, json={"error": {"message": "busy", "type": "server_error"}})
    fake_server.default = Reply(200, json=completion("ok"))
    with OpenAI(api_key="sk-test", base_url=fake_server.url + "/v1", max_retries=1) as client:
        (result,) = client.chat.completions.create_many([user("a")], model="m", concurrency=1)
    assert result.success and len(fake_server.requests) == 2


def test_insufficient_quota_stops_the_whole_run(fake_server: FakeServer) -> None:
    limiter = RateLimiter(quota=5)
    fake_server.default = limiter.reply
    with OpenAI(api_key="sk-test", base_url=fake_server.url + "/v1") as client:
        results = client.chat.completions.create_many(
            [user(str(n)) for n in range(40)], model="m", concurrency=2
        )
    kinds = [r.errors[0].type if r.errors else "ok" for r in results]
    assert kinds.count("ok") == 5
    assert 1 <= kinds.count("insufficient_quota") <= 2  # the one that stopped it, and one in flight
    assert kinds.count("not_sent") == 40 - len(fake_server.requests)
    assert len(fake_server.requests) <= 5 + 2  # nothing after the stop but what was already out
    assert (
        "insufficient_quota"
        in next(r for r in results if kinds[results.index(r)] == "not_sent").errors[0].message
    )


def test_leaving_the_loop_early_cancels_what_is_in_flight(fake_server: FakeServer) -> None:
    release = threading.Event()
    fake_server.add(200, json=completion("first"))
    fake_server.default = Reply(200, json=completion("slow"), hang=True, release=release)
    try:
        with OpenAI(api_key="sk-test", base_url=fake_server.url + "/v1") as client:
            for _index, result in client.chat.completions.iter_many(
                [user("a")] * 50, model="m", concurrency=3
            ):
                assert result.text == "first"
                break
    finally:
        release.set()
    assert len(fake_server.requests) <= 4  # one answered, three out: nothing else was sent


def test_the_async_client_says_it_has_no_create_many_yet(fake_server: FakeServer) -> None:
    from openai_params import AsyncOpenAI

    client = AsyncOpenAI(api_key="sk-test", base_url=fake_server.url + "/v1")
    with pytest.raises(TypeError, match="use an OpenAI client"):
        client.chat.completions.create_many([user("a")], model="m")
    client.close()
    assert fake_server.requests == []


def test_bad_arguments_are_refused_before_anything_is_sent(
    echo_client: OpenAI, fake_server: FakeServer
) -> None:
    completions = echo_client.chat.completions
    with pytest.raises(ValueError, match="concurrency"):
        completions.create_many([user("a")], model="m", concurrency=0)
    with pytest.raises(ValueError, match="callbacks"):
        completions.create_many([user("a")], model="m", on_terminate=print)
    with pytest.raises(ValueError, match="temperature"):
        completions.create_many([user("a")], model="m", temperature=5)
    assert fake_server.requests == []


def test_against_the_rate_limiter_few_429s_where_a_plain_pool_gets_many(fake_server: FakeServer) -> None:
    limiter = RateLimiter(requests=20, window=0.2)
    fake_server.default = limiter.reply
    total, size = 200, 8
    with OpenAI(api_key="sk-test", base_url=fake_server.url + "/v1") as client:
        results = client.chat.completions.create_many(
            [user(str(n)) for n in range(total)], model="m", concurrency=size
        )
        paced = limiter.limited
        assert all(r.success for r in results) and limiter.accepted == total
        assert [r.text for r in results] == ["echo: %d" % n for n in range(total)]

        limiter.limited = limiter.accepted = 0
        with ThreadPoolExecutor(size) as pool:
            list(pool.map(lambda n: client.chat.completions.create(user(str(n)), model="m"), range(total)))
    print("429s: paced %d, plain pool %d" % (paced, limiter.limited))
    # The plain pool honours Retry-After too, yet each of its threads meets the limit once
    # in nearly every window (10 windows, 8 threads: about 80 when the machine is idle).
    assert paced <= size  # at most the first round, before any header was read
    assert limiter.limited >= 5 * size and limiter.limited >= 5 * max(paced, 1)


def test_a_tokens_per_window_limit_is_kept_too(fake_server: FakeServer) -> None:
    limiter = RateLimiter(requests=1000, tokens=500, window=0.2)  # about 10 of these per window
    fake_server.default = limiter.reply
    with OpenAI(api_key="sk-test", base_url=fake_server.url + "/v1") as client:
        results = client.chat.completions.create_many(
            [user(str(n)) for n in range(60)], model="m", max_completion_tokens=40, concurrency=8
        )
    assert all(r.success for r in results) and limiter.accepted == 60
    assert limiter.limited <= 8  # at most the first round, before the headers said anything
    assert limiter._window_index >= 5  # the limit did bind: the answers spread over six windows
