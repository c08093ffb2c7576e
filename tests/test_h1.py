"""The sans-I/O HTTP/1.1 code (``openai_params._h1``), side by side with ``http.client``.

The request head it writes is compared with the bytes ``http.client`` writes for the same
request.
Two corpora: ``tests/data/response_heads/*.http`` (responses that must be read, each
beside a ``.json`` with what must come out; written with ``http.client`` as the
witness, except where the ``.json`` says under ``http_client`` how it differs) and
``tests/data/response_bad/*.http`` (responses that must be refused, with a part of
the message). Every case is fed whole, byte by byte, and split at every position.
"""

import http.client
import io
import json
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import pytest

from openai_params._h1 import (
    NEED_DATA,
    BodyEnd,
    ProtocolError,
    RemoteDisconnected,
    ResponseHead,
    ResponseReader,
    connect_head,
    host_field,
    request_head,
)

DATA = Path(__file__).resolve().parent / "data"
GOOD = sorted((DATA / "response_heads").glob("*.http"))
BAD = sorted((DATA / "response_bad").glob("*.http"))


def expected_for(path: Path) -> Dict[str, Any]:
    loaded: Dict[str, Any] = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    return loaded


def read(pieces: Iterable[bytes], method: str = "GET") -> Tuple[ResponseHead, bytes, BodyEnd, ResponseReader]:
    """Feed ``pieces`` then the close; collect the events (and check their order)."""
    reader = ResponseReader(method)
    head: Optional[ResponseHead] = None
    body: List[bytes] = []
    end: Optional[BodyEnd] = None

    def drain() -> None:
        nonlocal head, end
        while end is None:
            event = reader.next_event()
            if event is NEED_DATA:
                return
            if isinstance(event, ResponseHead):
                assert head is None
                head = event
            elif isinstance(event, bytes):
                assert head is not None and event
                body.append(event)
            else:
                assert isinstance(event, BodyEnd) and head is not None
                end = event

    for piece in pieces:
        reader.feed(piece)
        drain()
    if end is None:
        reader.feed(b"")
        drain()
    assert head is not None and end is not None
    return head, b"".join(body), end, reader


def splits(raw: bytes) -> Iterable[Tuple[str, List[bytes]]]:
    yield "whole", [raw]
    yield "byte by byte", [raw[i : i + 1] for i in range(len(raw))]
    for i in range(1, len(raw)):
        yield "split at %d" % i, [raw[:i], raw[i:]]


def summary(head: ResponseHead, body: bytes, reusable: bool) -> Dict[str, Any]:
    headers = {name: " ".join(value.split()) for name, value in head.joined().items()}
    return {
        "status": head.status,
        "reason": head.reason,
        "headers": headers,
        "body": body.decode("latin-1"),
        "reusable": reusable,
    }


class _File(io.BytesIO):
    def close(self) -> None:  # http.client closes it at the end of the body: keep what is left
        pass


class _Socket:
    def __init__(self, raw: bytes) -> None:
        self.file = _File(raw)

    def makefile(self, mode: str) -> _File:
        return self.file


def read_with_http_client(raw: bytes) -> Dict[str, Any]:
    sock = _Socket(raw)
    response = http.client.HTTPResponse(sock, method="GET")  # type: ignore[arg-type]
    response.begin()
    body = response.read()
    headers: Dict[str, str] = {}
    for name, value in response.getheaders():
        name = name.lower()
        headers[name] = headers[name] + ", " + value if name in headers else value
    left = sock.file.read()
    return {
        "status": response.status,
        "reason": response.reason,
        "headers": {name: " ".join(value.split()) for name, value in headers.items()},
        "body": body.decode("latin-1"),
        "reusable": not response.will_close and not left,
    }


@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_each_response_reads_as_expected_however_it_is_split(path: Path) -> None:
    raw = path.read_bytes()
    expected = expected_for(path)
    for how, pieces in splits(raw):
        head, body, end, reader = read(pieces)
        got = summary(head, body, reader.reusable)
        want = {key: expected[key] for key in got}
        assert got == want, how
        if "trailers" in expected:
            assert dict(end.trailers) == expected["trailers"], how


@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_http_client_reads_each_response_the_same_way(path: Path) -> None:
    """The witness: where http.client reads a case differently, the case says how and why."""
    raw = path.read_bytes()
    expected = expected_for(path)
    head, body, _, reader = read([raw])
    ours = summary(head, body, reader.reusable)
    try:
        theirs: Any = read_with_http_client(raw)
    except http.client.HTTPException as exc:
        theirs = exc
    if "http_client" in expected:
        assert theirs != ours, "http.client now agrees: drop the note in %s.json" % path.stem
    else:
        assert theirs == ours


# Responses whose end is known before the connection closes (a body that ends at the close would
# take any bytes after it as body).
DELIMITED = [p for p in GOOD if expected_for(p)["reusable"]]


@pytest.mark.parametrize("path", DELIMITED, ids=[p.stem for p in DELIMITED])
def test_bytes_after_a_complete_response_are_not_part_of_it(path: Path) -> None:
    raw = path.read_bytes()
    expected = expected_for(path)
    for how, pieces in [("whole", [raw + b"junk"]), ("apart", [raw, b"junk"])]:
        head, body, _, reader = read(pieces)
        assert body.decode("latin-1") == expected["body"], how
        assert not reader.reusable, how
        assert reader.leftover.endswith(b"junk"), how


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_each_broken_response_is_refused_however_it_is_split(path: Path) -> None:
    raw = path.read_bytes()
    expected = expected_for(path)
    for how, pieces in splits(raw):
        with pytest.raises(ProtocolError, match=expected["error"]):
            read(pieces)
        assert how


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_http_client_refuses_them_too_unless_the_case_says_otherwise(path: Path) -> None:
    expected = expected_for(path)
    try:
        read_with_http_client(path.read_bytes())
    except (http.client.HTTPException, ConnectionError):
        assert "http_client" not in expected
    else:
        assert expected["http_client"].startswith("accepts")


def test_a_close_before_any_byte_is_a_connection_reset() -> None:
    """What the retry rules read as a pooled connection the server had closed."""
    with pytest.raises(RemoteDisconnected) as caught:
        read([])
    assert isinstance(caught.value, ConnectionResetError)


def test_an_endless_head_is_refused_at_the_cap() -> None:
    reader = ResponseReader(max_head=1000)
    reader.feed(b"HTTP/1.1 200 OK\r\n")
    assert reader.next_event() is NEED_DATA
    fed = 0
    with pytest.raises(ProtocolError, match="longer than 1000 bytes"):
        while fed < 2000:
            reader.feed(b"X-Filler: " + b"a" * 40 + b"\r\n")
            fed += 52
            assert reader.next_event() is NEED_DATA
    assert fed < 1100  # refused as soon as the cap was passed, not at the end
    with pytest.raises(ProtocolError, match="an error was raised before"):
        reader.next_event()


def test_an_endless_chunk_size_line_is_refused() -> None:
    reader = ResponseReader(max_head=100)
    reader.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert isinstance(reader.next_event(), ResponseHead)
    reader.feed(b"1" + b";x" * 100)
    with pytest.raises(ProtocolError, match="chunk size line is longer"):
        reader.next_event()


def test_a_head_request_has_no_body_whatever_the_length_says() -> None:
    head, body, _, reader = read([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"], method="HEAD")
    assert (head.status, body, reader.reusable) == (200, b"", True)


def test_a_tunnel_begins_right_after_a_connect_head() -> None:
    reader = ResponseReader("CONNECT")
    reader.feed(b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01")
    assert isinstance(reader.next_event(), ResponseHead)
    assert isinstance(reader.next_event(), BodyEnd)
    assert reader.leftover == b"\x16\x03\x01"
    assert not reader.reusable


@pytest.mark.parametrize(
    "answer, error",
    [
        (b"HTTP/1.1 200 Connection established\r\n\r\n", None),
        (b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", "Tunnel connection failed: 407 Proxy"),
        (b"HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK\r\n", "the proxy sent bytes of its own"),
    ],
)
def test_a_tunnel_is_open_after_a_200_with_nothing_after_it(answer: bytes, error: Optional[str]) -> None:
    reader = ResponseReader("CONNECT")
    reader.feed(answer)
    assert isinstance(reader.next_event(), ResponseHead)
    if error is None:
        reader.check_tunnel()
    else:
        with pytest.raises((OSError, ProtocolError), match=error):
            reader.check_tunnel()


def test_a_refused_connect_has_its_body_read() -> None:
    head, body, _, _ = read(
        [b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\nnope"], method="CONNECT"
    )
    assert (head.status, body) == (407, b"nope")


def test_transfer_codings_other_than_chunked_last_read_to_the_close() -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n\x1f\x8b..."
    head, body, _, reader = read([raw])
    assert body == b"\x1f\x8b..." and not reader.reusable


def test_differing_content_lengths_read_to_the_close() -> None:
    head, body, _, reader = read([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabcd"])
    assert body == b"abcd" and not reader.reusable


def test_many_chunks_in_one_read_come_out_as_one_piece() -> None:
    """One piece per read, not one per chunk: a stream's events are many small chunks."""
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(b"data: %d\n\n" % i), b"data: %d\n\n" % i) for i in range(50))
    reader = ResponseReader()
    reader.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
    assert isinstance(reader.next_event(), ResponseHead)
    piece = reader.next_event()
    assert piece == b"".join(b"data: %d\n\n" % i for i in range(50))
    assert reader.next_event() is NEED_DATA
    reader.feed(b"0\r\n\r\n")
    assert isinstance(reader.next_event(), BodyEnd)
    assert reader.reusable


def test_a_reader_waiting_for_bytes_keeps_only_what_it_has_not_read() -> None:
    """Memory of many streams at once: each read ends inside a chunk, and whenever the reader
    asks for more it holds no byte it has already handed on."""
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(b"data: %d\n\n" % i), b"data: %d\n\n" % i) for i in range(2000))
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    reader = ResponseReader()
    body = []
    for start in range(0, len(data), 1000):
        reader.feed(data[start : start + 1000])
        event = reader.next_event()
        while event is not NEED_DATA and not isinstance(event, BodyEnd):
            if isinstance(event, bytes):
                body.append(event)
            event = reader.next_event()
        if event is NEED_DATA:
            assert len(reader._buffer) == reader._available() < 20
    assert b"".join(body) == b"".join(b"data: %d\n\n" % i for i in range(2000))


def test_a_reader_reads_one_response_only() -> None:
    _, _, _, reader = read([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    with pytest.raises(ProtocolError, match="read to its end"):
        reader.next_event()


def test_the_corpora_are_there() -> None:
    assert len(GOOD) >= 21 and len(BAD) >= 14
    assert all(p.with_suffix(".json").exists() for p in GOOD + BAD)


# -- the request head -----------------------------------------------------------------------------
def _written_by_http_client(
    scheme: str, port: int, method: str, target: str, headers: Dict[str, str], body: Optional[bytes]
) -> bytes:
    """The bytes ``http.client`` writes for a request (its connection writes to a list; nothing
    is opened)."""
    kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = kind("api.example.com", port)
    written: List[bytes] = []
    conn.send = lambda data: written.append(bytes(data))  # type: ignore[method-assign]
    conn.request(method, target, body, headers)
    return b"".join(written)


@pytest.mark.parametrize(
    "method, scheme, port, headers, body",
    [
        ("POST", "http", 8080, {"Content-Type": "application/json", "Authorization": "Bearer k"}, b'{"a":1}'),
        ("GET", "https", 443, {"User-Agent": "x/1"}, None),
        ("POST", "http", 80, {}, None),
        ("DELETE", "http", 11434, {}, None),
        ("POST", "http", 8080, {"Host": "other", "Accept-Encoding": "gzip", "Content-Length": "3"}, b"abc"),
    ],
)
def test_the_request_head_is_what_http_client_writes(
    method: str, scheme: str, port: int, headers: Dict[str, str], body: Optional[bytes]
) -> None:
    written = _written_by_http_client(scheme, port, method, "/v1/x?y=1", headers, body)
    ours = request_head(method, "/v1/x?y=1", host_field(scheme, "api.example.com", port), headers, body)
    assert ours + (body or b"") == written


@pytest.mark.parametrize(
    "method, target, headers, fault",
    [
        ("POST", "/v1", {"X-A": "one\r\nX-Injected: 1"}, "value of the 'X-A' header"),
        ("POST", "/v1", {"X-A": "one\nX-Injected: 1"}, "value of the 'X-A' header"),
        ("POST", "/v1", {"X-A": "nul\0"}, "value of the 'X-A' header"),
        ("POST", "/v1", {"X-Injected: 1\r\nX-A": "v"}, "is not a token"),
        ("POST", "/v1", {"Bad Name": "v"}, "'Bad Name' is not a token"),
        ("POST", "/v1", {"": "v"}, "is not a token"),
        ("POST", "/v1 HTTP/1.1\r\nX-Injected: 1\r\n", {}, "the method or the target"),
        ("GET\r\n", "/v1", {}, "the method or the target"),
    ],
)
def test_a_head_that_would_break_is_refused(
    method: str, target: str, headers: Dict[str, str], fault: str
) -> None:
    with pytest.raises(ValueError, match="invalid request head: .*" + fault.replace("(", ".")):
        request_head(method, target, "Host: h\r\n", headers, b"")


def test_a_header_value_beyond_latin_1_is_refused() -> None:
    with pytest.raises(ValueError, match="not Latin-1"):
        request_head("GET", "/", "Host: h\r\n", {"X-A": "\u20ac"}, None)


def test_the_host_field_and_the_connect_head() -> None:
    assert host_field("https", "api.example.com", 443) == "Host: api.example.com\r\n"
    assert host_field("http", "::1", 8080) == "Host: [::1]:8080\r\n"
    assert host_field("https", "b\u00fccher.example", 443) == "Host: xn--bcher-kva.example\r\n"
    assert connect_head("api.example.com", 443, "Basic eDp5") == (
        b"CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n"
        b"Proxy-Authorization: Basic eDp5\r\n\r\n"
    )
