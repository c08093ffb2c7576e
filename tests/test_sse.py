"""The SSE decoder: a hand-written corpus run whole, byte by byte and split at
every position; a reference decoder written straight from the WHATWG text as
an oracle for random streams; the buffer cap; memory that does not grow."""

import json
import tracemalloc
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openai_params.sse import DEFAULT_MAX_BUFFER, SSEDecoder, SSEError, SSEEvent

CORPUS = Path(__file__).resolve().parent / "data" / "sse"
CASES = sorted(path.stem for path in CORPUS.glob("*.sse"))

Outcome = Tuple[List[SSEEvent], int, bool, Optional[str], Optional[int]]


def decode(pieces: Sequence[bytes], max_buffer: int = DEFAULT_MAX_BUFFER) -> Outcome:
    """Feed the pieces, then end the stream; return everything observable."""
    decoder = SSEDecoder(max_buffer)
    events: List[SSEEvent] = []
    for piece in pieces:
        events.extend(decoder.feed(piece))
    outcome = (events, decoder.comments_seen, decoder.has_partial, decoder.last_event_id, decoder.retry)
    assert decoder.flush() == []  # the standard never dispatches an unfinished event
    assert not decoder.has_partial
    return outcome


def load(name: str) -> Tuple[bytes, Outcome]:
    raw = (CORPUS / (name + ".sse")).read_bytes()
    spec = json.loads((CORPUS / (name + ".json")).read_text(encoding="utf-8"))
    events = [
        SSEEvent(e.get("event", "message"), e["data"], e.get("id"), e.get("retry")) for e in spec["events"]
    ]
    return raw, (events, spec["comments"], spec["has_partial"], spec["last_event_id"], spec["retry"])


def test_corpus_is_complete() -> None:
    # every stream has its expectation and the other way round; no case silently skipped
    assert len(CASES) >= 30
    assert sorted(path.stem for path in CORPUS.glob("*.json")) == CASES


@pytest.mark.parametrize("name", CASES)
def test_corpus_whole(name: str) -> None:
    raw, expected = load(name)
    assert decode([raw]) == expected


@pytest.mark.parametrize("name", CASES)
def test_corpus_byte_by_byte(name: str) -> None:
    raw, expected = load(name)
    assert decode([raw[i : i + 1] for i in range(len(raw))]) == expected


@pytest.mark.parametrize("name", CASES)
def test_corpus_split_in_two_everywhere(name: str) -> None:
    raw, expected = load(name)
    for cut in range(len(raw) + 1):
        assert decode([raw[:cut], raw[cut:]]) == expected, cut


@pytest.mark.parametrize("name", CASES)
def test_corpus_split_in_three_around_every_position(name: str) -> None:
    # a short middle piece isolates every CR, LF and byte of a UTF-8 sequence
    raw, expected = load(name)
    for first in range(len(raw) + 1):
        for second in range(first, min(first + 4, len(raw)) + 1):
            pieces = [raw[:first], raw[first:second], raw[second:]]
            assert decode(pieces) == expected, (first, second)


@pytest.mark.parametrize("name", CASES)
def test_corpus_trailing_junk(name: str) -> None:
    # an unfinished line after the stream changes nothing already dispatched
    raw, (events, comments, _, last_id, retry) = load(name)
    for junk in (b"data: never dispatched", b"\xe2\x82", b"x"):
        assert decode([raw, junk]) == (events, comments, True, last_id, retry)


def test_utf8_split_at_every_byte_position() -> None:
    text = "a\u00e9\u20ac\U0001f600\u65e5\u00e9\U0001f680z"
    raw = ("data: " + text + "\n\n").encode("utf-8")
    for cut in range(len(raw) + 1):
        events = decode([raw[:cut], raw[cut:]])[0]
        assert events == [SSEEvent(data=text)], cut
    for size in range(1, 8):
        pieces = [raw[i : i + size] for i in range(0, len(raw), size)]
        assert decode(pieces)[0] == [SSEEvent(data=text)], size


def test_cr_at_end_of_piece_then_lf_is_one_line_end() -> None:
    # CR ends a piece, LF starts the next: one CRLF, not CR + a blank line
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: b\r") == []
    assert decoder.feed(b"") == []  # an empty piece in between changes nothing
    assert decoder.feed(b"\ndata: c\r\n\r") == [SSEEvent(data="a\nb\nc")]
    assert decoder.feed(b"\n") == []  # the LF of the final CRLF, not another blank line
    assert not decoder.has_partial


def test_bom_only_at_stream_start() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef") == []
    assert decoder.feed(b"\xbb") == []
    assert decoder.feed(b"\xbfdata: a\n\n") == [SSEEvent(data="a")]
    assert decoder.feed(b"\xef\xbb\xbfdata: b\n\n") == []


def test_lone_bom_is_not_partial() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"\xef\xbb\xbf")
    assert not decoder.has_partial
    decoder.feed(b"d")
    assert decoder.has_partial


def test_feed_returns_only_dispatched_events_and_counts_comments() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b": ping\n\n: ping\n\n") == []
    assert decoder.comments_seen == 2
    assert decoder.feed(b"data: x\n\n: ping\n\n") == [SSEEvent(data="x")]
    assert decoder.comments_seen == 3


def test_has_partial_tracks_event_boundaries() -> None:
    decoder = SSEDecoder()
    assert not decoder.has_partial
    decoder.feed(b"data: a")
    assert decoder.has_partial  # mid-line
    decoder.feed(b"\n")
    assert decoder.has_partial  # a field line, no blank line yet
    decoder.feed(b"\n")
    assert not decoder.has_partial
    decoder.feed(b"retry: 10\n")
    assert decoder.has_partial  # even a field that will not dispatch anything
    decoder.feed(b"\n: comment\n")
    assert not decoder.has_partial


def test_flush_discards_unfinished_event_by_default() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\ndata: [DONE]\n") == [SSEEvent(data="a")]
    assert decoder.has_partial
    assert decoder.flush() == []
    assert not decoder.has_partial
    # the next stream starts afresh: the data above is gone
    assert decoder.feed(b"data: b\n\n") == [SSEEvent(data="b")]


@pytest.mark.parametrize(
    "tail, expected",
    [
        (b"data: [DONE]", [SSEEvent(data="[DONE]")]),
        (b"data: [DONE]\n", [SSEEvent(data="[DONE]")]),
        (b"data: a\ndata: b", [SSEEvent(data="a\nb")]),
        (b"data: a\r", [SSEEvent(data="a")]),
        (b"event: x\ndata: \xc3", [SSEEvent("x", "\ufffd")]),
        (b"\xef\xbb\xbfdata: a", [SSEEvent(data="a")]),
        (b": comment", []),
        (b"event: x", []),
        (b"", []),
    ],
)
def test_flush_dispatch_incomplete(tail: bytes, expected: List[SSEEvent]) -> None:
    decoder = SSEDecoder()
    assert decoder.feed(tail) == []
    assert decoder.flush(dispatch_incomplete=True) == expected
    assert not decoder.has_partial
    assert decoder.flush(dispatch_incomplete=True) == []


def test_flush_starts_a_new_stream() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"\xef\xbb\xbfid: 7\nretry: 100\n: c\ndata: a\n\n")
    assert (decoder.last_event_id, decoder.retry, decoder.comments_seen) == ("7", 100, 1)
    decoder.flush()
    # retry, the comment count and the committed id carry over ...
    assert (decoder.last_event_id, decoder.retry, decoder.comments_seen) == ("7", 100, 1)
    # ... a BOM is allowed again and the id buffer is new: the next blank line commits it
    assert decoder.feed(b"\xef\xbb\xbfdata: b\n\n") == [SSEEvent(data="b")]
    assert (decoder.last_event_id, decoder.retry, decoder.comments_seen) == (None, 100, 1)


def test_last_event_id_is_committed_by_a_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 42\n") == [] and decoder.last_event_id is None
    assert decoder.feed(b"data: a\n") == [] and decoder.last_event_id is None
    assert decoder.feed(b"\n") == [SSEEvent(data="a", id="42")]
    assert decoder.last_event_id == "42"
    decoder.feed(b"id: 43\ndata: cut off")
    assert decoder.flush() == [] and decoder.last_event_id == "42"  # the block never ended
    # The lenient end dispatches the unfinished block, and so commits its id.
    decoder.feed(b"id: 44\ndata: b")
    assert decoder.flush(dispatch_incomplete=True) == [SSEEvent(data="b", id="44")]
    assert decoder.last_event_id == "44"


def test_retry_with_huge_digit_string_is_ignored() -> None:
    # int() refuses more than 4300 digits on newer Pythons; must not raise
    decoder = SSEDecoder()
    events = decoder.feed(b"retry: " + b"9" * 5000 + b"\ndata: a\n\n")
    assert len(events) == 1 and events[0].data == "a"


def test_accepts_bytearray_and_copies_what_it_keeps() -> None:
    assert SSEDecoder().feed(bytearray(b"data: a\r\n\r\n")) == [SSEEvent(data="a")]
    decoder = SSEDecoder()
    buffer = bytearray(b"data: a")
    decoder.feed(buffer)
    buffer[6:7] = b"z"  # a caller reusing its read buffer
    assert decoder.feed(b"\n\n") == [SSEEvent(data="a")]


def test_rejects_text_and_bad_limits() -> None:
    with pytest.raises(
        TypeError, match=r"^data must be bytes or a bytearray \(got 'data: a\\n\\n', a str\)$"
    ):
        SSEDecoder().feed("data: a\n\n")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^max_buffer must be an integer >= 1 \(got 0\)$"):
        SSEDecoder(0)
    with pytest.raises(TypeError, match=r"^max_buffer must be an integer >= 1 \(got True, a bool\)$"):
        SSEDecoder(True)
    with pytest.raises(TypeError, match=r"max_buffer .*\(got '16', a str\)"):
        SSEDecoder("16")  # type: ignore[arg-type]


def test_event_repr_and_equality() -> None:
    event = SSEEvent("error", "{}", "3", 10)
    assert repr(event) == "SSEEvent(event='error', data='{}', id='3', retry=10)"
    assert event == SSEEvent(event="error", data="{}", id="3", retry=10)
    assert event != SSEEvent(event="error", data="{}", id="3")
    assert SSEEvent() == SSEEvent("message", "", None, None)
    assert event != ("error", "{}", "3", 10)


# -- the buffer cap -----------------------------------------------------------


def test_cap_on_an_unfinished_line() -> None:
    line = b"data: " + b"x" * 100
    for pieces in ([line], [line[i : i + 1] for i in range(len(line))]):
        decoder = SSEDecoder(max_buffer=50)
        with pytest.raises(SSEError, match=r"max_buffer=50 bytes") as info:
            for piece in pieces:
                decoder.feed(piece)
        assert isinstance(info.value, ValueError)
        assert "at byte 0" in str(info.value)


def test_cap_is_inclusive() -> None:
    decoder = SSEDecoder(max_buffer=10)
    assert decoder.feed(b"data: abcd") == []  # exactly 10 bytes waiting: allowed
    assert decoder.feed(b"\n\n") == [SSEEvent(data="abcd")]
    assert decoder.feed(b"data: abcd") == []
    with pytest.raises(SSEError):
        decoder.feed(b"e")


def test_cap_on_event_data_built_from_many_lines() -> None:
    decoder = SSEDecoder(max_buffer=100)
    with pytest.raises(SSEError, match="event data exceeds max_buffer=100"):
        for _ in range(100):
            decoder.feed(b"data: 0123456789\n")


def test_cap_on_empty_data_lines() -> None:
    # each empty data line still adds a LF to the data buffer
    decoder = SSEDecoder(max_buffer=100)
    with pytest.raises(SSEError):
        decoder.feed(b"data\n" * 101)


def test_cap_error_keeps_events_already_decoded() -> None:
    decoder = SSEDecoder(max_buffer=20)
    with pytest.raises(SSEError) as info:
        decoder.feed(b"data: a\n\ndata: b\n\ndata: " + b"y" * 30)
    assert info.value.events == [SSEEvent(data="a"), SSEEvent(data="b")]
    with pytest.raises(SSEError) as info:
        SSEDecoder(max_buffer=20).feed(b"data: a\n\ndata: " + b"z" * 30 + b"\n\n")
    assert info.value.events == [SSEEvent(data="a")]


def test_decoder_refuses_input_after_an_error_until_flushed() -> None:
    decoder = SSEDecoder(max_buffer=8)
    with pytest.raises(SSEError):
        decoder.feed(b"123456789")
    with pytest.raises(SSEError, match="failed earlier"):
        decoder.feed(b"\n\n")
    assert decoder.flush() == []
    assert decoder.feed(b"data: a\n\n") == [SSEEvent(data="a")]


def test_cap_counts_only_what_is_kept() -> None:
    # many events, each well under the cap, never trip it however much is read
    decoder = SSEDecoder(max_buffer=64)
    for _ in range(1000):
        assert decoder.feed(b"data: 0123456789012345678901234567890123456789\n\n") != []


# -- memory -------------------------------------------------------------------


def _typical_chunk(i: int) -> bytes:
    return (
        'data: {"id":"chatcmpl-abc","object":"chat.completion.chunk","created":1700000000,'
        '"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,'
        '"delta":{"content":"token %d "},"logprobs":null,"finish_reason":null}]}\n\n' % i
    ).encode()


def test_memory_does_not_grow_with_bytes_read() -> None:
    stream = b"".join(_typical_chunk(i) for i in range(20000))  # about 5 MB
    pieces = [stream[i : i + 1000] for i in range(0, len(stream), 1000)]
    decoder = SSEDecoder()
    tracemalloc.start()
    try:
        count = 0
        for piece in pieces:
            count += len(decoder.feed(piece))  # events dropped at once, as a reader would
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 20000
    assert peak < 200_000, peak  # a few pieces' worth, not the 5 MB read


# -- random streams: any split, and a reference decoder -------------------------


def reference_decode(stream: bytes, lenient_end: bool = False) -> Outcome:
    """The WHATWG rules applied literally, one character at a time, to the
    whole stream: an oracle independent of the decoder's buffering."""
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):  # "strips one leading UTF-8 Byte Order Mark"
        text = text[1:]
    lines: List[str] = []
    current: List[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\r" or char == "\n":
            lines.append("".join(current))
            current = []
            if char == "\r" and text[i + 1 : i + 2] == "\n":
                i += 1
        else:
            current.append(char)
        i += 1
    unfinished_line = bool(current)
    if lenient_end:
        if current:
            lines.append("".join(current))
        lines.append("")
    events: List[SSEEvent] = []
    data_buffer, type_buffer = "", ""
    id_buffer: Optional[str] = None
    last_id: Optional[str] = None  # committed by each blank line (dispatch step 1)
    event_retry: Optional[int] = None
    retry: Optional[int] = None
    comments = 0
    pending = False
    for line in lines:
        if line == "":
            last_id = id_buffer
            if data_buffer:
                events.append(SSEEvent(type_buffer or "message", data_buffer[:-1], id_buffer, event_retry))
            data_buffer, type_buffer, event_retry, pending = "", "", None, False
            continue
        if line.startswith(":"):
            comments += 1
            continue
        pending = True
        if ":" in line:
            field, value = line[: line.index(":")], line[line.index(":") + 1 :]
            if value.startswith(" "):
                value = value[1:]
        else:
            field, value = line, ""
        if field == "event":
            type_buffer = value
        elif field == "data":
            data_buffer += value + "\n"
        elif field == "id":
            if "\0" not in value:
                id_buffer = value
        elif field == "retry":
            if value and all(c in "0123456789" for c in value):
                retry = event_retry = int(value)
    has_partial = unfinished_line or pending
    return events, comments, has_partial, last_id, retry


TOKENS = [
    b"data",
    b"data:",
    b"data: ",
    b"event: ",
    b"event:error",
    b"id: ",
    b"id",
    b"retry: ",
    b"retry:12",
    b":",
    b" ",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"x",
    b"7",
    b"\x00",
    b"\xef\xbb\xbf",
    b"\xef\xbb",
    "\u00e9".encode(),
    "\U0001f600".encode(),
    "\u2028".encode(),
    b"\x0c",
    b"\xff",
    b"\xe6\x97",
    b'{"a":1}',
]
# Well-formed-looking lines, each with its own line end: makes CR / CRLF / LF
# next to field text common, which is where splitting goes wrong.
lines = st.tuples(
    st.sampled_from([b"data: ", b"data:", b"data", b"event: ", b"id: ", b"retry: ", b": ", b"", b"x: "]),
    st.sampled_from([b"", b"a", b"12", "\u00e9\U0001f600".encode(), b"\xe6\x97", b"[DONE]"]),
    st.sampled_from([b"\n", b"\r", b"\r\n"]),
).map(b"".join)
streams = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=40).map(b"".join),
    st.lists(lines, max_size=12).map(b"".join),
    st.binary(max_size=60),
)


@given(stream=streams, data=st.data())
@settings(max_examples=250, deadline=None)
def test_any_split_gives_the_same_result_as_whole(stream: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(stream)), max_size=8))
    points = sorted(set(cuts))
    pieces = [stream[a:b] for a, b in zip([0] + points, points + [len(stream)])]
    assert decode(pieces) == decode([stream]) == reference_decode(stream)


@given(stream=streams)
@settings(max_examples=100, deadline=None)
def test_every_split_in_two_gives_the_same_result(stream: bytes) -> None:
    expected = reference_decode(stream)
    for cut in range(len(stream) + 1):
        assert decode([stream[:cut], stream[cut:]]) == expected, cut


@given(stream=streams)
@settings(max_examples=150, deadline=None)
def test_decoder_agrees_with_reference(stream: bytes) -> None:
    assert decode([stream]) == reference_decode(stream)
    assert decode([stream[i : i + 1] for i in range(len(stream))]) == reference_decode(stream)


@given(stream=streams)
@settings(max_examples=100, deadline=None)
def test_lenient_flush_agrees_with_reference(stream: bytes) -> None:
    decoder = SSEDecoder()
    events = [event for i in range(len(stream)) for event in decoder.feed(stream[i : i + 1])]
    events += decoder.flush(dispatch_incomplete=True)
    assert events == reference_decode(stream, lenient_end=True)[0]


def test_reference_decoder_agrees_with_the_corpus() -> None:
    # the oracle itself is checked against the hand-written expectations
    for name in CASES:
        raw, expected = load(name)
        assert reference_decode(raw) == expected, name


def test_openai_stream_events_are_json() -> None:
    raw, _ = load("openai_stream")
    events = decode([raw])[0]
    assert events[-1].data == "[DONE]"
    payloads: List[Dict[str, Any]] = [json.loads(event.data) for event in events[:-1]]
    assert "".join(p["choices"][0]["delta"].get("content") or "" for p in payloads) == "Caf\u00e9"


# -- pieces of whole events and the same bytes one at a time agree ------------------------------
PLAIN_THEN_NOT = [
    [b"data: a\n\ndata: b\n\n"],  # plain one-line events
    [b"data: a\n\n", b"event: x\ndata: y\n\n", b"data: z\n\n"],  # plain, other fields, plain
    [b"data: a\n\ndata: b\ndata: c\n\n"],  # a two-line event inside
    [b"id: 7\n\n", b"data: a\n\n"],  # an id in force for later events
    [b"retry: 5\n\n", b"data: a\n\n"],
    [b"data: a\n", b"\ndata: b\n\n"],  # an event under way first
    [b"data: a\n\n\ndata: b\n\n"],  # an extra blank line
    [b"data:a\n\ndata: b\n\n"],  # no space after the colon
    [b"data: \xc3\xa9\n\n", b"data: [DONE]\n\n"],
]


@pytest.mark.parametrize("pieces", PLAIN_THEN_NOT)
def test_whole_events_in_a_piece_give_what_single_bytes_give(pieces: List[bytes]) -> None:
    whole = b"".join(pieces)
    one_byte_at_a_time = [whole[i : i + 1] for i in range(len(whole))]
    assert decode(pieces) == decode(one_byte_at_a_time)
    assert decode([whole]) == decode(one_byte_at_a_time)
