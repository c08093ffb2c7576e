"""client.files and client.batches against the fake Files / Batch API; multipart bodies."""

import json
import os
import time
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from both_clients import Runner
from fake_batches import FakeBatchAPI, parse_multipart
from fakeserver import FakeServer, Reply
from openai_params import OpenAI
from openai_params.multipart import Field, FileField, MultipartBody


@pytest.fixture
def api(fake_server: FakeServer) -> FakeBatchAPI:
    made = FakeBatchAPI()
    fake_server.default = made.reply
    return made


@pytest.fixture
def client(fake_server: FakeServer) -> Iterator[OpenAI]:
    with OpenAI(api_key="sk-test", base_url=fake_server.url + "/v1", max_retries=0, timeout=5) as made:
        yield made


# -- multipart ---------------------------------------------------------------------------------------


def test_a_multipart_body_is_what_a_parser_reads_and_its_length_is_known_up_front(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 1000)  # 256,000 bytes: several pieces
    body = MultipartBody([Field("purpose", "batch"), FileField("file", path)], boundary="b0undary")
    pieces = list(body)
    whole = b"".join(pieces)
    assert len(whole) == body.length
    assert max(len(p) for p in pieces) <= 65536 and len(pieces) >= 5  # read in pieces, never whole
    assert b"".join(body) == whole  # iterable again: an attempt made again sends the same bytes
    fields = parse_multipart(body.content_type, whole)
    assert fields == {"purpose": (None, b"batch"), "file": ("data.bin", path.read_bytes())}
    assert whole.startswith(b'--b0undary\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n')


@settings(max_examples=40, deadline=None)
@given(
    value=st.text(max_size=50),
    content=st.binary(max_size=300),
    name=st.text(
        alphabet=st.characters(blacklist_characters='"\r\n', blacklist_categories=("Cs",)),
        min_size=1,
        max_size=20,
    ),
)
def test_any_fields_read_back_as_they_were_given(value: str, content: bytes, name: str) -> None:
    body = MultipartBody([Field("purpose", value), FileField("file", content, filename=name)])
    whole = b"".join(body)
    assert len(whole) == body.length
    assert parse_multipart(body.content_type, whole) == {
        "purpose": (None, value.encode("utf-8")),
        "file": (name, content),
    }


def test_names_are_quoted_as_html_forms_quote_them() -> None:
    body = MultipartBody([FileField("file", b"x", filename='a"b\r\nc\u00e9.txt')], boundary="B")
    assert b'filename="a%22b%0D%0Ac\xc3\xa9.txt"' in b"".join(body)


def test_a_file_that_shrinks_while_it_is_sent_is_an_error_not_a_short_body(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"x" * 100)
    body = MultipartBody([FileField("file", path)])
    path.write_bytes(b"x" * 10)
    with pytest.raises(ValueError, match="shorter"):
        b"".join(body)


# -- files -------------------------------------------------------------------------------------------


def test_upload_streams_the_file_with_its_content_length(
    client: OpenAI, api: FakeBatchAPI, fake_server: FakeServer, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_bytes(b'{"custom_id": "a"}\n' * 20000)
    result = client.files.create(path, purpose="batch")
    assert result.success, result.errors
    assert result.body["filename"] == "requests.jsonl" and result.body["bytes"] == path.stat().st_size
    (sent,) = fake_server.requests
    assert sent.method == "POST" and sent.path == "/v1/files"
    assert sent.headers["content-length"] == str(len(sent.body)) and "transfer-encoding" not in sent.headers
    fields = parse_multipart(sent.headers["content-type"], sent.body)
    assert fields["purpose"] == (None, b"batch") and fields["file"][1] == path.read_bytes()
    assert api.contents[result.body["id"]] == path.read_bytes()


def test_an_upload_retried_after_a_503_sends_the_whole_body_again(
    fake_server: FakeServer, api: FakeBatchAPI, tmp_path: Path
) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"line\n" * 30000)
    fake_server.add(
        503, json={"error": {"message": "busy", "type": "server_error"}}, headers={"retry-after-ms": "1"}
    )
    with OpenAI(api_key="sk-test", base_url=fake_server.url + "/v1", max_retries=1) as client:
        result = client.files.create(path, purpose="batch", filename="named.jsonl")
    assert result.success
    first, second = fake_server.requests
    assert first.body == second.body
    assert parse_multipart(second.headers["content-type"], second.body)["file"] == (
        "named.jsonl",
        path.read_bytes(),
    )


def test_upload_from_bytes_and_what_is_refused_before_sending(
    client: OpenAI, api: FakeBatchAPI, fake_server: FakeServer, tmp_path: Path
) -> None:
    assert client.files.create(b'{"a": 1}\n', purpose="batch").body["filename"] == "upload"
    with pytest.raises(ValueError, match="cannot be read"):
        client.files.create(tmp_path / "missing.jsonl", purpose="batch")
    with pytest.raises(ValueError, match="not a regular file"):
        client.files.create(tmp_path, purpose="batch")
    with pytest.raises(TypeError, match="file"):
        client.files.create(123, purpose="batch")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="purpose"):
        client.files.create(b"x", purpose="")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.files.create(b"x", purpose="batchh")
    assert "did you mean 'batch'" in str(caught[0].message)
    assert len(fake_server.requests) == 2


def test_retrieve_list_delete(client: OpenAI, api: FakeBatchAPI, fake_server: FakeServer) -> None:
    file_id = api.add_file(b"x\n", "batch")["id"]
    assert client.files.retrieve(file_id).body["id"] == file_id
    listed = client.files.list(purpose="batch", limit=5, order="asc")
    assert [f["id"] for f in listed.items] == [file_id]
    assert fake_server.requests[-1].query == {"purpose": ["batch"], "limit": ["5"], "order": ["asc"]}
    deleted = client.files.delete(file_id)
    assert deleted.body == {"id": file_id, "object": "file", "deleted": True}
    assert fake_server.requests[-1].method == "DELETE"
    missing = client.files.retrieve(file_id)
    assert not missing.success and missing.errors[0].status == 404
    with pytest.raises(ValueError, match="limit"):
        client.files.list(limit=0)
    with pytest.raises(ValueError, match="file_id"):
        client.files.retrieve("")


def test_content_is_written_to_the_path_piece_by_piece(
    run: Runner, api: FakeBatchAPI, fake_server: FakeServer, tmp_path: Path
) -> None:
    client = run.OpenAI(api_key="sk-test", base_url=fake_server.url + "/v1", max_retries=0, timeout=5)
    content = b"".join(b'{"n": %d}\n' % n for n in range(50000))
    file_id = api.add_file(content, "batch_output")["id"]
    target = tmp_path / "out.jsonl"
    result = run(client.files.content(file_id, target))
    assert result.success and result.body == {"path": str(target), "bytes": len(content)}
    assert target.read_bytes() == content
    assert os.listdir(tmp_path) == ["out.jsonl"]
    assert run(client.files.retrieve(file_id)).success  # the connection went back to the pool
    assert fake_server.connections == 1


def test_a_failed_download_leaves_no_file(run: Runner, fake_server: FakeServer, tmp_path: Path) -> None:
    client = run.OpenAI(api_key="sk-test", base_url=fake_server.url + "/v1", max_retries=0, timeout=5)
    target = tmp_path / "out.jsonl"
    fake_server.add(404, json={"error": {"message": "No such File object", "type": "invalid_request_error"}})
    result = run(client.files.content("file-x", target))
    assert not result.success and result.errors[0].status == 404
    fake_server.add(200, b"0123456789" * 1000, cut_after=5000)
    result = run(client.files.content("file-x", target))
    assert not result.success and result.errors[0].type == "connection_error"
    assert os.listdir(tmp_path) == []
    assert [r.path for r in fake_server.requests] == ["/v1/files/file-x/content"] * 2


def test_a_cancelled_download_leaves_no_file_and_closes_its_connection(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """AsyncOpenAI: cancelling the task mid-body closes the connection at once (never pooled),
    removes the partial file, and the client stays usable."""
    import asyncio
    import threading

    from openai_params import AsyncOpenAI
    from test_async import sockets_become

    hold = threading.Event()
    fake_server.add(
        200, headers={"content-type": "application/octet-stream"}, pieces=[b"x" * 1000, hold, b"y"]
    )
    fake_server.add(200, json={"id": "file-y", "object": "file"})
    target = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.part"

    async def scenario() -> Any:
        async with AsyncOpenAI(api_key="sk-test", base_url=fake_server.url + "/v1", proxies={}) as client:
            task = asyncio.ensure_future(client.files.content("file-x", target))
            deadline = time.monotonic() + 5
            while not (partial.exists() and partial.stat().st_size == 1000) and time.monotonic() < deadline:
                await asyncio.sleep(0.01)  # until the first piece is written
            partial_seen = os.listdir(tmp_path)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            after = await sockets_become(fake_server.port, 0)
            hold.set()
            return partial_seen, after, await client.files.retrieve("file-y")

    partial_seen, after, next_call = asyncio.run(scenario())
    assert partial_seen == ["out.jsonl.part"]
    assert os.listdir(tmp_path) == [] and after in (0, None)
    assert next_call.success and fake_server.connections == 2


# -- batches -----------------------------------------------------------------------------------------


def test_create_sends_the_documented_fields(
    client: OpenAI, api: FakeBatchAPI, fake_server: FakeServer
) -> None:
    file_id = api.add_file(b'{"custom_id": "a", "body": {}}\n', "batch")["id"]
    batch = client.batches.create(file_id, metadata={"job": "labels"})
    assert batch.success and batch.body["status"] == "validating"
    assert fake_server.requests[-1].json == {
        "input_file_id": file_id,
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
        "metadata": {"job": "labels"},
    }
    with pytest.raises(ValueError, match="metadata"):
        client.batches.create(file_id, metadata={"k": "v" * 513})
    with pytest.raises(ValueError, match="input_file_id"):
        client.batches.create("")
    with pytest.raises(ValueError, match="limit"):
        client.batches.list(limit=101)


def _jsonl(*contents: str) -> bytes:
    lines = [
        {
            "custom_id": "r%d" % n,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "m", "messages": [{"role": "user", "content": text}]},
        }
        for n, text in enumerate(contents)
    ]
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def test_a_batch_moves_to_completed_with_output_and_error_files(
    client: OpenAI, api: FakeBatchAPI, tmp_path: Path
) -> None:
    uploaded = client.files.create(_jsonl("a", "[fail] b", "c"), purpose="batch")
    batch_id = client.batches.create(uploaded.body["id"]).body["id"]
    statuses = [client.batches.retrieve(batch_id).body["status"] for _ in range(4)]
    assert statuses == ["in_progress", "finalizing", "completed", "completed"]
    batch = client.batches.retrieve(batch_id).body
    assert batch["request_counts"] == {"total": 3, "completed": 2, "failed": 1}
    client.files.content(batch["output_file_id"], tmp_path / "out.jsonl")
    client.files.content(batch["error_file_id"], tmp_path / "err.jsonl")
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    err = [json.loads(line) for line in (tmp_path / "err.jsonl").read_text().splitlines()]
    assert sorted(r["custom_id"] for r in out) == ["r0", "r2"]
    assert [r["custom_id"] for r in err] == ["r1"] and err[0]["response"] is None
    assert [r["id"] for r in client.batches.list(limit=10).items] == [batch_id]


def test_a_batch_that_fails_and_one_cancelled(
    client: OpenAI, api: FakeBatchAPI, fake_server: FakeServer
) -> None:
    file_id = api.add_file(_jsonl("a"), "batch")["id"]
    api.outcomes.append("failed")
    failed = client.batches.create(file_id).body["id"]
    body = client.batches.retrieve(failed).body
    assert body["status"] == "failed" and body["errors"]["data"][0]["line"] == 1
    cancelled = client.batches.create(file_id).body["id"]
    assert client.batches.cancel(cancelled).body["status"] == "cancelling"
    assert fake_server.requests[-1].method == "POST" and fake_server.requests[-1].path.endswith("/cancel")
    assert client.batches.retrieve(cancelled).body["status"] == "cancelled"
    assert not client.batches.retrieve("batch-nope").success


def test_a_batch_that_expires_has_partial_output(client: OpenAI, api: FakeBatchAPI) -> None:
    file_id = api.add_file(_jsonl("a", "b", "c", "d"), "batch")["id"]
    api.outcomes.append("expired")
    batch_id = client.batches.create(file_id).body["id"]
    statuses = [client.batches.retrieve(batch_id).body["status"] for _ in range(2)]
    assert statuses == ["in_progress", "expired"]
    batch = client.batches.retrieve(batch_id).body
    assert batch["request_counts"] == {"total": 4, "completed": 2, "failed": 2}
    errors = api.contents[batch["error_file_id"]].decode().splitlines()
    assert {json.loads(line)["error"]["code"] for line in errors} == {"batch_expired"}


def test_throw_raises_for_a_failed_call(client: OpenAI, api: FakeBatchAPI) -> None:
    from openai_params import NotFoundError, OpenAIParameters

    with pytest.raises(NotFoundError):
        client.batches.retrieve("batch-nope", OpenAIParameters(throw=True))
    with pytest.raises(NotFoundError):
        client.files.content("file-nope", "never-written.jsonl", OpenAIParameters(throw=True))
    assert not os.path.exists("never-written.jsonl")


def test_reply_for_an_unknown_route(client: OpenAI, fake_server: FakeServer, api: FakeBatchAPI) -> None:
    fake_server.add(Reply(200, json={"object": "list", "data": []}))
    assert client.batches.list().items == []


def test_the_async_client_awaits_the_same_calls(fake_server: FakeServer, api: FakeBatchAPI) -> None:
    import asyncio

    from openai_params import AsyncOpenAI

    async def run() -> None:
        async with AsyncOpenAI(api_key="sk-test", base_url=fake_server.url + "/v1") as client:
            uploaded = await client.files.create(_jsonl("a", "b"), purpose="batch")
            batch = await client.batches.create(uploaded.body["id"])
            assert (await client.batches.retrieve(batch.body["id"])).body["status"] == "in_progress"

    asyncio.run(run())
    upload = fake_server.requests[0]
    assert parse_multipart(upload.headers["content-type"], upload.body)["file"][1] == _jsonl("a", "b")
