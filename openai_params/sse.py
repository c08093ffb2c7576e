"""A sans-I/O, incremental Server-Sent Events decoder.

The decoder never touches a socket: you feed it bytes as they arrive, in
pieces of any size (one byte at a time works), and it hands back the events
those bytes completed.  It follows the WHATWG HTML standard, "Server-sent
events": the grammar below is from "Parsing an event stream", and the rules
of "Interpreting an event stream" are quoted beside the code that follows
them.

    >>> decoder = SSEDecoder()
    >>> decoder.feed(b'data: {"a": 1}\\n\\nda')
    [SSEEvent(event='message', data='{"a": 1}', id=None, retry=None)]
    >>> decoder.feed(b'ta: [DONE]\\n\\n')
    [SSEEvent(event='message', data='[DONE]', id=None, retry=None)]
    >>> decoder.flush()
    []

The grammar, for reference (ABNF, from the standard)::

    stream        = [ bom ] *event
    event         = *( comment / field ) end-of-line
    comment       = colon *any-char end-of-line
    field         = 1*name-char [ colon [ space ] *any-char ] end-of-line
    end-of-line   = ( cr lf / cr / lf )

    ; characters
    lf            = %x000A ; U+000A LINE FEED (LF)
    cr            = %x000D ; U+000D CARRIAGE RETURN (CR)
    space         = %x0020 ; U+0020 SPACE
    colon         = %x003A ; U+003A COLON (:)
    bom           = %xFEFF ; U+FEFF BYTE ORDER MARK
    name-char     = %x0000-0009 / %x000B-000C / %x000E-0039 / %x003B-10FFFF
    any-char      = %x0000-0009 / %x000B-000C / %x000E-10FFFF

Only CR, LF and CRLF end a line.  ``str.splitlines`` is therefore not used:
it also splits on form feeds, NEL, U+2028 and others, which are ordinary
characters inside an SSE line.
"""

from typing import List, Optional, Union

from ._checks import check_int, wrong_type

__all__ = ["SSEDecoder", "SSEError", "SSEEvent", "DEFAULT_MAX_BUFFER"]

#: Default cap on what an unfinished line or undispatched event may hold.
DEFAULT_MAX_BUFFER = 16 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"


class SSEError(ValueError):
    """The stream cannot be decoded any further (an unfinished line or event
    grew beyond ``max_buffer``).

    ``events`` holds the events that the failing ``feed()`` call had already
    completed before the limit was hit, so nothing decoded is lost.
    """

    def __init__(self, message: str, events: Optional[List["SSEEvent"]] = None) -> None:
        super().__init__(message)
        self.events: List[SSEEvent] = list(events or [])


class SSEEvent:
    """One dispatched event.

    ``event`` is the event type ("message" unless an ``event:`` field said
    otherwise), ``data`` the ``data:`` lines joined with "\\n", ``id`` the last
    event ID in force when the event was dispatched (None if the stream never
    sent an ``id`` field), and ``retry`` the reconnection time in milliseconds
    if a valid ``retry:`` field was part of this event's lines, else None.
    """

    __slots__ = ("event", "data", "id", "retry")

    def __init__(
        self,
        event: str = "message",
        data: str = "",
        id: Optional[str] = None,
        retry: Optional[int] = None,
    ) -> None:
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SSEEvent):
            return NotImplemented
        return (self.event, self.data, self.id, self.retry) == (
            other.event,
            other.data,
            other.id,
            other.retry,
        )

    def __repr__(self) -> str:
        return "SSEEvent(event={!r}, data={!r}, id={!r}, retry={!r})".format(
            self.event, self.data, self.id, self.retry
        )


class SSEDecoder:
    """Incremental decoder: ``feed(bytes) -> [SSEEvent]``, then ``flush()``.

    ``max_buffer`` caps both the bytes of a line still waiting for its line
    end and the characters of ``data`` collected for an event still waiting
    for its blank line; going beyond raises :class:`SSEError`, after which the
    decoder refuses further input (the stream's framing is lost).

    Only what is still needed is kept: the unfinished tail of the last line and
    the current event's fields.  Bytes already turned into lines are dropped,
    so memory does not grow with the length of the stream.
    """

    def __init__(self, max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        check_int("max_buffer", max_buffer, 1)
        self.max_buffer = max_buffer
        #: Comment lines (starting with ":") seen so far, e.g. keep-alive pings.
        self.comments_seen = 0
        self._failed: Optional[str] = None
        self._retry: Optional[int] = None
        # "The last event ID string of the event source": set from the buffer below at
        # each dispatch, and kept across streams (a reconnecting client sends it).
        self._last_id: Optional[str] = None
        self._offset = 0  # bytes fed so far, for error messages
        self._reset_stream()

    def _reset_stream(self) -> None:
        # Pieces of the current, unfinished line (no CR or LF in any of them).
        # Kept as a list so that a long line fed in small pieces costs O(n).
        self._parts: List[bytes] = []
        self._parts_len = 0
        # A piece ended in CR: if the next piece starts with LF, that LF is
        # the second half of a CRLF already counted as one line end.
        self._skip_lf = False
        self._at_start = True  # the BOM may only appear here
        # "When a stream is parsed, a data buffer, an event type buffer, and a
        # last event ID buffer must be associated with it."
        self._data: List[str] = []
        self._data_len = 0
        self._event_type = ""
        self._id_buffer: Optional[str] = None
        self._event_retry: Optional[int] = None
        self._fields_pending = False

    # -- public state -----------------------------------------------------

    @property
    def has_partial(self) -> bool:
        """True if the stream, were it to end now, would leave something
        unfinished: bytes of a line without its line end, or field lines of
        an event without the blank line that dispatches it."""
        if self._fields_pending:
            return True
        if self._at_start and self._parts_len == len(_BOM):
            return b"".join(self._parts) != _BOM  # a lone BOM is not content
        return self._parts_len > 0

    @property
    def last_event_id(self) -> Optional[str]:
        """The last event ID string: the ID committed by the blank line that ended the
        latest block, what a reconnecting client would send as ``Last-Event-ID``
        (None if none was ever committed).

        An ``id:`` line takes effect only when its block ends: ``"id: 42\n"`` alone, or a
        block cut off at the end of the stream, leaves it unchanged.  It survives
        :meth:`flush`, and the next stream's first blank line sets it again.
        """
        return self._last_id

    @property
    def retry(self) -> Optional[int]:
        """The latest reconnection time in milliseconds the server asked for
        with a ``retry:`` field, or None."""
        return self._retry

    # -- feeding ----------------------------------------------------------

    def feed(self, data: Union[bytes, bytearray]) -> List[SSEEvent]:
        """Take the next piece of the stream; return the events it completed."""
        if not isinstance(data, bytes):
            if not isinstance(data, bytearray):
                wrong_type("data", "bytes or a bytearray", data)
            data = bytes(data)  # kept pieces must not change under us
        if self._failed is not None:
            raise SSEError("the decoder failed earlier and cannot go on: " + self._failed)
        if not data:
            return []
        start = self._offset
        self._offset += len(data)
        if self._skip_lf:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
                start += 1
                if not data:
                    return []

        # Everything up to the last line end forms complete lines; the rest is
        # the start of a line whose end has not arrived yet.
        has_cr = b"\r" in data
        cut = data.rfind(b"\n")
        if has_cr:
            cut = max(cut, data.rfind(b"\r"))
        if cut < 0:
            self._keep_partial(data, start)
            return []
        if cut == len(data) - 1:  # the usual case: a piece ends with its event
            complete, tail = data, b""
        else:
            complete, tail = data[: cut + 1], data[cut + 1 :]
        if self._parts:
            self._parts.append(complete)
            complete = b"".join(self._parts)
            self._parts = []
            self._parts_len = 0

        # "a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair, a
        # single U+000A LINE FEED (LF) character not preceded by a U+000D
        # CARRIAGE RETURN (CR) character, and a single U+000D CARRIAGE RETURN
        # (CR) character not followed by a U+000A LINE FEED (LF) character
        # being the ways in which a line can end."
        # CRLF first, so that it becomes one LF and not two.  A piece without
        # CR (every Chat Completions server ends lines with LF) has nothing to
        # replace.
        if has_cr:  # earlier pieces of the line hold no CR or LF
            if not tail and complete[-1:] == b"\r":
                # The piece ends in CR: its LF, if any, is in the next piece.
                self._skip_lf = True
            complete = complete.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

        if self._at_start:
            # "The UTF-8 decode algorithm strips one leading UTF-8 Byte Order
            # Mark (BOM), if any."  Only at the very start of the stream.
            self._at_start = False
            if complete.startswith(_BOM):
                complete = complete[3:]

        # "Streams must be decoded using the UTF-8 decode algorithm": bad
        # bytes become U+FFFD, never an exception.  Decoding whole lines at
        # once gives the same text as decoding each line: LF is ASCII and can
        # never be part of a multi-byte sequence.
        lines = complete.decode("utf-8", "replace").split("\n")
        del lines[-1]  # the empty string after the final line end
        events = self._process_lines(lines)
        if tail:
            try:
                self._keep_partial(tail, start + cut + 1)
            except SSEError as exc:
                exc.events[:0] = events
                raise
        return events

    def flush(self, dispatch_incomplete: bool = False) -> List[SSEEvent]:
        """Signal the end of the stream and reset for a new one.

        "Once the end of the file is reached, any pending data must be
        discarded. (If the file ends in the middle of an event, before the
        final empty line, the incomplete event is not dispatched.)"  So by
        default this returns ``[]``; check :attr:`has_partial` before calling
        it to learn whether the stream stopped mid-line or mid-event.

        ``dispatch_incomplete=True`` is a lenient, non-standard mode for
        servers that close the connection without the final blank line: the
        unfinished line is taken as complete and the pending event is
        dispatched as if the blank line had arrived.

        ``comments_seen``, ``retry`` and ``last_event_id`` carry over; everything
        else (the last event ID *buffer* included) starts afresh, as for a new
        stream.
        """
        events: List[SSEEvent] = []
        try:
            if dispatch_incomplete and self._failed is None and self.has_partial:
                lines = []
                if self._parts:
                    line = b"".join(self._parts)
                    if self._at_start and line.startswith(_BOM):
                        line = line[3:]
                    lines.append(line.decode("utf-8", "replace"))
                lines.append("")  # the blank line that never came
                events = self._process_lines(lines)
        finally:
            self._failed = None
            self._reset_stream()
        return events

    # -- internals --------------------------------------------------------

    def _keep_partial(self, piece: bytes, start: int) -> None:
        self._parts.append(piece)
        self._parts_len += len(piece)
        if self._parts_len + self._data_len > self.max_buffer:
            self._fail(
                "unfinished line starting at byte {} exceeds max_buffer={} bytes without a line end".format(
                    start + len(piece) - self._parts_len, self.max_buffer
                ),
                [],
            )

    def _fail(self, message: str, events: List[SSEEvent]) -> None:
        self._failed = message
        self._parts = []
        self._parts_len = 0
        self._data = []
        self._data_len = 0
        raise SSEError(message, events)

    def _process_lines(self, lines: List[str]) -> List[SSEEvent]:
        events: List[SSEEvent] = []
        # The data buffer and its length stay in locals while the lines are read (stored
        # back below; _fail empties them). The data may hold what max_buffer leaves beside
        # the bytes of an unfinished line (as _keep_partial counts them).
        data, data_len = self._data, self._data_len
        room = self.max_buffer - self._parts_len
        for line in lines:
            if not line:
                # "If the line is empty (a blank line): Dispatch the event."
                # Dispatch step 1: "Set the last event ID string of the event
                # source to the value of the last event ID buffer."  Step 2:
                # "If the data buffer is an empty string, set the data buffer
                # and the event type buffer to the empty string and return."
                # Step 3 (drop the data buffer's final LF) is what joining the
                # lines with LF does.
                self._last_id = self._id_buffer
                if data:
                    events.append(
                        SSEEvent(
                            self._event_type or "message",
                            "\n".join(data),
                            self._id_buffer,
                            self._event_retry,
                        )
                    )
                    data, data_len = [], 0
                self._event_type = ""
                self._event_retry = None
                self._fields_pending = False
                continue
            if line[0] == ":":
                # "If the line starts with a U+003A COLON character (:): Ignore
                # the line."  Counted, so a caller can tell keep-alives apart
                # from silence.
                self.comments_seen += 1
                continue
            # "If the line contains a U+003A COLON character (:): Collect the
            # characters on the line before the first U+003A COLON character
            # (:), and let field be that string. Collect the characters on the
            # line after the first U+003A COLON character (:), and let value be
            # that string. If value starts with a U+0020 SPACE character,
            # remove it from value."
            # "Otherwise, the string is not empty but does not contain a U+003A
            # COLON character (:): ... using the whole line as the field name,
            # and the empty string as the field value."
            name, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            self._fields_pending = True
            # "Field names must be compared literally, with no case folding
            # performed."
            if name == "data":
                # "Append the field value to the data buffer, then append a
                # single U+000A LINE FEED (LF) character to the data buffer."
                data.append(value)
                data_len += len(value) + 1
                if data_len > room:
                    self._fail(
                        "event data exceeds max_buffer={} characters without "
                        "a blank line to dispatch it".format(self.max_buffer),
                        events,
                    )
            elif name == "event":
                # "Set the event type buffer to field value."
                self._event_type = value
            elif name == "id":
                # "If the field value does not contain U+0000 NULL, then set
                # the last event ID buffer to the field value. Otherwise,
                # ignore the field."  The buffer is not reset by a dispatch.
                if "\x00" not in value:
                    self._id_buffer = value
            elif name == "retry":
                # "If the field value consists of only ASCII digits, then
                # interpret the field value as an integer in base ten, and set
                # the event stream's reconnection time to that integer.
                # Otherwise, ignore the field."  (isdigit alone would accept
                # "²" and Arabic-Indic digits; int() refuses absurdly long
                # digit strings on newer Pythons, which we ignore too.)
                if value.isascii() and value.isdigit():
                    try:
                        retry = int(value)
                    except ValueError:
                        continue
                    self._retry = self._event_retry = retry
            # "Otherwise: The field is ignored."
        self._data, self._data_len = data, data_len
        return events
