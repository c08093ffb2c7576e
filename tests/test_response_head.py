"""The response-head reader that replaces http.client's email-based one: same answers."""

import http.client
import io
from typing import List, Tuple

import pytest

from openai_params._response_head import FastHTTPResponse, read_fields


class FakeSocket:
    """What HTTPResponse needs of a socket: makefile() over fixed bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self.data))  # type: ignore[arg-type]


def both(raw: bytes, method: str = "GET") -> Tuple[http.client.HTTPResponse, FastHTTPResponse]:
    """The same bytes read by http.client's own response class and by ours."""
    ours = FastHTTPResponse(FakeSocket(raw), method=method)  # type: ignore[arg-type]
    theirs = http.client.HTTPResponse(FakeSocket(raw), method=method)  # type: ignore[arg-type]
    ours.begin()
    theirs.begin()
    return theirs, ours


HEADS = [
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\ncontent-length: 99\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\nX-Skip: 1\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close",
    b"HTTP/1.0 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
    b"HTTP/1.1 429 Too Many Requests\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
    b"Retry-After: 2\r\nContent-Length: -5\r\n\r\n",
    b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",  # bare LF line ends
    b"HTTP/1.1 200 OK\r\nX-Long: first\r\n  second\r\n\tthird\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Latin: caf\xe9\r\nX-Empty:\r\nContent-Length: bad\r\n\r\n",
]


@pytest.mark.parametrize("raw", HEADS)
def test_same_decisions_as_http_client(raw: bytes) -> None:
    theirs, ours = both(raw)
    assert (ours.status, ours.reason, ours.version) == (theirs.status, theirs.reason, theirs.version)
    assert (ours.chunked, ours.length, ours.will_close) == (theirs.chunked, theirs.length,
                                                            theirs.will_close)
    assert ours.read() == theirs.read()
    for name in ("content-type", "Set-Cookie", "retry-after", "x-missing", "X-Latin", "x-empty"):
        assert ours.getheader(name) == theirs.getheader(name), name
    # The same fields in the same order (folded values compared with their white space folded).
    assert name_values(ours) == name_values(theirs)


def name_values(response: http.client.HTTPResponse) -> List[Tuple[str, str]]:
    return [(n.lower(), " ".join(v.split())) for n, v in response.getheaders()]


def test_folded_value_is_joined() -> None:
    fields = read_fields(io.BytesIO(b"X-Long: first\r\n  second\r\n\tthird\r\n\r\n"))
    assert fields.get("x-long") == "first second third"


def test_lookups_ignore_case_and_keep_repeats_in_order() -> None:
    fields = read_fields(io.BytesIO(b"A: 1\r\nb: 2\r\na: 3\r\n\r\nbody"))
    assert fields.get("A") == "1" and fields.get_all("a") == ["1", "3"]
    assert "B" in fields and "c" not in fields and fields.get("c", "d") == "d"
    assert fields.raw_items() == [("A", "1"), ("b", "2"), ("a", "3")]
    assert list(fields) == ["A", "b", "a"] and len(fields) == 3


def test_limits_match_http_client() -> None:
    with pytest.raises(http.client.LineTooLong):
        read_fields(io.BytesIO(b"X: " + b"a" * 70000 + b"\r\n\r\n"))
    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        read_fields(io.BytesIO(b"".join(b"X%d: 1\r\n" % i for i in range(101)) + b"\r\n"))


def test_unknown_protocol_is_refused() -> None:
    with pytest.raises(http.client.HTTPException):
        FastHTTPResponse(FakeSocket(b"HTTP/2.0 200 OK\r\n\r\n"), method="GET").begin()  # type: ignore[arg-type]


def test_used_on_real_connections(fake_server) -> None:
    from openai_params.transport import HTTPRequest, Transport

    fake_server.add(200, json={"ok": True}, headers=[("X-Twice", "a"), ("X-Twice", "b")])
    with Transport(proxies={}) as transport:
        response = transport.send(HTTPRequest("GET", fake_server.url + "/x", {}), timeout=5,
                                  max_retries=0)
        assert response.headers["x-twice"] == "a, b" and response.read() == b'{"ok": true}'
        conn = transport._pool._idle[next(iter(transport._pool._idle))][0]  # type: ignore[attr-defined]
        assert conn.response_class is FastHTTPResponse
