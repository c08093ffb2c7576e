"""Streaming: the transport's bytes -> SSE events -> chunk results -> final result.

One generator does the work (:meth:`ChatCompletionStream._chunks`); the
iterator form hands it to the caller, and the callback form is a loop over it
that calls ``on_data`` for each item. Each event is handed on the moment its
bytes have arrived: the transport yields whatever the socket has, the SSE
decoder returns every complete event in it, nothing waits for a buffer to fill.

How a stream ends:

* ``data: [DONE]``: the normal end.
* the connection closes without ``[DONE]`` after every choice got a
  ``finish_reason``: some servers never send ``[DONE]``; that is a success.
* the connection closes, or goes silent for longer than the timeout, while a
  choice is unfinished: an error (``stream_error`` / ``timeout``); what arrived
  before is kept in the final result.
* an ``{"error": ...}`` payload or an ``event: error``: an error from the server.
* the caller closes the stream (leaves the ``with`` block, ``close()``) before any
  of the above: ``cancelled``, keeping what arrived.

A server that ignores ``stream=true`` and answers one whole JSON completion
(``Content-Type: application/json``) gets it delivered as the chunks a streaming
server would have sent (one per choice, then the usage chunk: emulate_usage.py),
and as the final result.
"""

import json
import time
from typing import TYPE_CHECKING, Any, Dict, Generator, Iterator, List, Optional, Tuple

from ._http import HTTPResponse
from .accumulate import ChatCompletionAccumulator
from .errors import APITimeoutError, OpenAIError, OpenAIException
from .profiles import read_reasoning
from .results import OpenAIChatCompletionResult, OpenAIChatCompletionStreamResult, read_result
from .sse import SSEDecoder, SSEError, SSEEvent

if TYPE_CHECKING:
    from .outputs import OutputReader

__all__ = ["ChatCompletionStream"]

#: What the chunk generator yields, instead of a chunk, when the body has no bytes for it yet
#: (only a body from the asyncio transport does that; see async_client.py).
WAITING: Any = object()

# Each event's data is read as json.loads reads it, without that function's per-call
# keyword checks and its two whitespace regex matches: strip JSON's whitespace (RFC 8259:
# "ws = *( %x20 / %x09 / %x0A / %x0D )") and require the value to fill what is left.
_JSON = json.JSONDecoder()
_JSON_WS = " \t\n\r"


class ChatCompletionStream:
    """An iterator of :class:`OpenAIChatCompletionStreamResult`, one per chunk.

    Also a context manager; :meth:`result` drains what is left and returns the
    accumulated :class:`OpenAIChatCompletionResult`, the same object a
    non-streamed call would have returned.

        with client.chat.completions.stream(messages, model="m") as stream:
            for chunk in stream:
                print(chunk.text, end="", flush=True)
        final = stream.result()
    """

    def __init__(
        self,
        response: Optional[HTTPResponse],
        *,
        timeout: float,
        throw: bool = False,
        error: Optional[OpenAIError] = None,
        status: Optional[int] = None,
        headers: Optional[Dict[str, str]] = None,
        reasoning: Tuple[str, ...] = (),
        reader: "Optional[OutputReader]" = None,
    ) -> None:
        self._response = response
        self._reasoning = reasoning  # response keys read as reasoning_content (the profile's)
        self._reader = reader  # reads the whole answer as the call's types (outputs.py)
        self._final: Optional[OpenAIChatCompletionResult] = None
        self._timeout = timeout
        self._throw = throw
        self._accumulator = ChatCompletionAccumulator()
        self._errors: List[OpenAIError] = [error] if error is not None else []
        self._received = 0
        self._stop = False
        self._cancelled = False
        self._ended = False  # the stream reached an end of its own (see the module docstring)
        self.status: Optional[int] = response.status if response is not None else status
        self.headers: Dict[str, str] = dict(response.headers) if response is not None else dict(headers or {})
        self._iterator = self._chunks()

    # -- iterator protocol -------------------------------------------------------------------
    def __iter__(self) -> Iterator[OpenAIChatCompletionStreamResult]:
        # The generator itself: a for loop then runs at the generator's own speed, without
        # a Python-level __next__ per chunk. next(stream) works too, through __next__.
        return self._iterator

    def __next__(self) -> OpenAIChatCompletionStreamResult:
        return next(self._iterator)

    def __enter__(self) -> "ChatCompletionStream":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and close the connection. Safe to call more than once."""
        self._iterator.close()
        self._release()

    def abort(self) -> None:
        """Abort from another thread: the blocked read returns at once and the stream ends as cancelled."""
        self._cancelled = True
        if self._response is not None:
            self._response.abort()

    @property
    def errors(self) -> List[OpenAIError]:
        return list(self._errors)

    def _awaiting(self) -> Any:
        """After :data:`WAITING`: what the asynchronous driver awaits before it resumes the
        generator (the response whose bytes have not arrived)."""
        return self._response

    def result(self) -> OpenAIChatCompletionResult:
        """The accumulated final result: reads what is left first if the stream is still open.

        A stream closed before its end (``break`` then leaving the ``with`` block, an
        exception inside it, ``close()``) gives ``success == False`` with an error of type
        ``cancelled``, and keeps what arrived. It never raises for what already happened:
        with ``throw=True`` only a failure met while reading the rest raises (from the
        iterator, as in a ``for`` loop).
        """
        for _ in self._iterator:
            pass
        if not self._ended:
            self._ended = True
            self._fail(
                "cancelled", "the stream was closed before its end (%d chunks received)" % self._received
            )
        if self._final is None:
            self._final = self._final_result()
        return self._final

    def _final_result(self) -> OpenAIChatCompletionResult:
        body = self._accumulator.result() if self._received else None
        return OpenAIChatCompletionResult(
            status=self.status, headers=self.headers, body=body, errors=self._errors, terminated=True
        )

    def _read_output(self, final: OpenAIChatCompletionResult) -> None:
        """A whole answer arrived: read it as the call's types, with the reader a whole answer
        is read with; an answer that does not fit ends the stream as a failure (its errors)."""
        if self._reader is not None:
            self._reader.read(final)
            self._errors.extend(final.errors)
        self._final = final

    # -- the one generator ---------------------------------------------------------------------
    def _chunks(self) -> Generator[OpenAIChatCompletionStreamResult, None, None]:
        try:
            if not self._errors:
                yield from self._read()
            if not self._errors and not self._accumulator.choice_indexes:
                # As for a whole answer: a 2xx without a single choice is not a completion.
                self._fail(
                    "invalid_response",
                    "the stream ended without a choice (%d chunks received)" % self._received,
                )
            self._ended = True
            if not self._errors and self._reader is not None:
                self._read_output(self._final_result())
            if self._errors:
                yield self._failed()
        finally:
            self._release()

    def _failed(self) -> OpenAIChatCompletionStreamResult:
        if self._throw:
            raise self._errors[0].exception()
        return OpenAIChatCompletionStreamResult(
            status=self.status, headers=self.headers, errors=self._errors, terminated=True
        )

    def _read(self) -> Iterator[OpenAIChatCompletionStreamResult]:
        response = self._response
        if response is None:  # closed before the first read
            return
        if _is_json(self.headers):
            yield from self._whole(response)
            return
        decoder = SSEDecoder()
        timeout = self._timeout
        last_data = time.monotonic()
        try:
            for piece in response.iter_bytes():
                if not piece:
                    # A body read by the asyncio transport has nothing yet: its driver
                    # (async_client.py) awaits the next bytes, then resumes this generator.
                    yield WAITING
                    continue
                events = decoder.feed(piece)
                # The idle timer restarts only when a data event completes: keep-alive
                # comments (llama.cpp's ": ping"), even split across writes, and the first
                # bytes of an event that never completes must not keep a stalled stream
                # alive. The socket's own timeout bounds each wait for bytes.
                if events:
                    last_data = time.monotonic()
                elif timeout and time.monotonic() - last_data > timeout:
                    self._fail(
                        "timeout",
                        "no data event for %.3g s (only keep-alive comments "
                        "or parts of an event arrived)" % timeout,
                    )
                    return
                yield from self._handle(events)
                # Handed on: a stream waiting for its next bytes must not hold them (a
                # hundred streams at once would each keep a read's worth of events).
                events = []
                if self._stop:
                    return
        except APITimeoutError as exc:
            self._fail("timeout", "the stream stalled: %s" % exc.error.message, exc)
            return
        except OpenAIException as exc:
            if self._cancelled or exc.error.is_cancelled:
                self._fail("cancelled", "the stream was cancelled")
            else:
                self._end_early(str(exc.error.message), exc)
            return
        except SSEError as exc:
            self._fail("stream_error", "the stream could not be decoded: %s" % exc, exc)
            return
        if self._cancelled:
            self._fail("cancelled", "the stream was cancelled")
            return
        # The connection closed. Be lenient with a last event that lacks its blank line
        # (a final "data: [DONE]" some servers send without one).
        yield from self._handle(decoder.flush(dispatch_incomplete=True))
        if not self._stop:
            self._end_early("the connection closed before data: [DONE]", None)

    def _whole(self, response: HTTPResponse) -> Iterator[OpenAIChatCompletionStreamResult]:
        """One whole JSON completion (a server that ignored ``stream=true``, or a stream its
        profile sent unstreamed, see emulate_usage.py): delivered as the chunks a streaming
        server would have sent; the final result is that completion."""
        from .emulate_usage import completion_chunks

        whole = read_result(response, OpenAIChatCompletionResult)
        if whole.errors:
            self._errors.extend(whole.errors)
            return
        if self._reasoning:
            read_reasoning(self._reasoning, whole.body)
        self._accumulator.add(whole.body)
        self._stop = True
        for body in completion_chunks(whole.body):
            self._received += 1
            yield OpenAIChatCompletionStreamResult(status=self.status, headers=self.headers, body=body)

    def _handle(self, events: List[SSEEvent]) -> Iterator[OpenAIChatCompletionStreamResult]:
        """Turn decoded events into chunks; set ``_stop`` at ``[DONE]`` or on an error.

        The hot loop of every stream: one pass per event, no calls it can do without.
        """
        chunk = OpenAIChatCompletionStreamResult
        status, headers = self.status, self.headers
        add = self._accumulator.add
        raw_decode = _JSON.raw_decode
        reasoning = self._reasoning
        for event in events:
            data = event.data
            if data == "[DONE]":
                self._stop = True
                return
            text = data.strip(_JSON_WS)
            try:
                payload, end = raw_decode(text)
            except ValueError:
                end = -1
            if end != len(text):
                self._fail("stream_error", "a stream event is not JSON: %r" % data[:200])
                self._stop = True
                return
            if not isinstance(payload, dict):
                self._fail("stream_error", "a stream event is not a JSON object: %r" % data[:200])
                self._stop = True
                return
            if "error" in payload or event.event == "error":
                self._errors.append(_event_error(payload, self.status, self.headers))
                self._stop = True
                return
            self._received += 1
            if reasoning:
                read_reasoning(reasoning, payload)
            add(payload)
            yield chunk(status=status, headers=headers, body=payload)

    def _end_early(self, why: str, cause: Optional[BaseException]) -> None:
        """The bytes stopped before ``[DONE]``: fine if every choice had finished, else broken."""
        if self._received and self._accumulator.finished_all():
            return
        self._fail(
            "stream_error",
            "the stream broke before it finished (%s; %d chunks received)" % (why, self._received),
            cause,
        )

    def _fail(self, kind: str, message: str, cause: Optional[BaseException] = None) -> None:
        self._errors.append(
            OpenAIError(status=self.status, message=message, type=kind, headers=self.headers, cause=cause)
        )

    def _release(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.close()


def _is_json(headers: Dict[str, str]) -> bool:
    """``application/json`` (or ``...+json``), with or without parameters: not an event stream."""
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _event_error(payload: Dict[str, Any], status: Optional[int], headers: Dict[str, str]) -> OpenAIError:
    """An error sent inside the stream, ``{"error": {...}}`` or ``event: error``."""
    found = payload.get("error", payload)
    if not isinstance(found, dict):
        found = {"message": str(found)}
    code = found.get("code")
    return OpenAIError(
        status=status,
        message=str(found.get("message") or "the server sent an error event"),
        type=str(found.get("type") or "stream_error"),
        code=None if code is None else str(code),
        param=found.get("param"),
        request_id=headers.get("x-request-id"),
        body=payload,
        headers=headers,
    )
