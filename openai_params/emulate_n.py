"""``n > 1`` on a server that ignores ``n``: the same request sent ``n`` times, the answers merged.

A profile whose server does not honour ``n`` (``Profile.n`` False; llama-cpp-python's
server answers one choice whatever ``n`` says) leaves ``n`` out of the body; the
client then sends that request ``n`` times, one after the other, and merges:

* the choices, numbered 0 to n-1 in the order the requests were sent;
* ``usage``, summed (numbers added, nested ``*_details`` objects too): each
  request was billed its prompt and its completion;
* the rest (``id``, ``model``, ``created``, the status and headers) from the first answer.

A request that fails ends the call there: the result keeps the choices that
came before and carries the failure's errors. In the iterator form the
requests are streamed one after the other: every chunk of request k has its
choice numbered k, and the next request is sent when the previous stream ends.
The usage chunks of the requests (``stream_options.include_usage``) are held back
and come as one last chunk with their usage summed, as one stream's would.
"""

from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Sequence

from .errors import OpenAIError
from .results import OpenAIChatCompletionResult, OpenAIChatCompletionStreamResult
from .stream import WAITING, ChatCompletionStream

if TYPE_CHECKING:
    from ._http import HTTPRequest
    from .outputs import OutputReader

__all__ = ["merge_results", "MergedStream"]


def merge_results(results: Sequence[OpenAIChatCompletionResult]) -> OpenAIChatCompletionResult:
    """One result from the results of the ``n`` requests (see the module docstring)."""
    succeeded = [result for result in results if result.success]
    if not succeeded:
        return results[-1]
    first = succeeded[0]
    choices: List[Dict[str, Any]] = []
    usage: Optional[Dict[str, Any]] = None
    for result in succeeded:
        for choice in result.body.get("choices") or ():
            if isinstance(choice, dict):
                choices.append(dict(choice, index=len(choices)))
        if result.usage is not None:
            usage = _sum(usage, result.usage)
    body = dict(first.body, choices=choices)
    if usage is not None:
        body["usage"] = usage
    errors: List[OpenAIError] = [error for result in results for error in result.errors]
    failed = [result for result in results if not result.success]
    status = failed[0].status if failed else first.status
    return OpenAIChatCompletionResult(status=status, headers=first.headers, body=body, errors=errors)


def _sum(total: Optional[Dict[str, Any]], more: Dict[str, Any]) -> Dict[str, Any]:
    """``more`` added into a copy of ``total``: numbers summed, objects merged the same way."""
    out = dict(total or {})
    for key, value in more.items():
        old = out.get(key)
        if _is_number(value) and _is_number(old):
            out[key] = old + value
        elif isinstance(value, dict) and isinstance(old, dict):
            out[key] = _sum(old, value)
        elif key not in out or old is None:
            out[key] = _sum(None, value) if isinstance(value, dict) else value
    return out


def _summed(
    total: Optional[OpenAIChatCompletionStreamResult], chunk: OpenAIChatCompletionStreamResult
) -> OpenAIChatCompletionStreamResult:
    """``chunk`` with the usage of ``total`` (the usage chunks before it) added in."""
    if total is None:
        return chunk
    body = dict(chunk.body, usage=_sum(total.body["usage"], chunk.body["usage"]))
    return OpenAIChatCompletionStreamResult(status=chunk.status, headers=chunk.headers, body=body)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class MergedStream(ChatCompletionStream):
    """The ``n`` streams of an emulated ``n``, one after the other, as one stream.

    ``first`` is the stream already open; ``open_next()`` opens each next one. ``reader``
    reads the merged answer as the call's types (the parts have none), as for one stream.
    ``ahead``: the request, when a driver sends it before ``open_next()`` asks for its
    response (``AsyncOpenAI``): before each next part the generator yields
    :data:`.stream.WAITING`, and :meth:`_awaiting` is that request.
    """

    def __init__(
        self,
        first: ChatCompletionStream,
        open_next: Callable[[], ChatCompletionStream],
        count: int,
        reader: "Optional[OutputReader]" = None,
        *,
        ahead: "Optional[HTTPRequest]" = None,
    ) -> None:
        self._parts = [first]
        self._open_next = open_next
        self._count = count
        self._ahead = ahead
        self._sending = False  # waiting for the driver to send the next request
        super().__init__(
            None,
            timeout=first._timeout,
            throw=first._throw,
            status=first.status,
            headers=first.headers,
            reader=reader,
        )

    def _chunks(self) -> Iterator[OpenAIChatCompletionStreamResult]:  # type: ignore[override]
        usage: Optional[OpenAIChatCompletionStreamResult] = None  # the last usage chunk held back
        for number in range(self._count):
            if number:
                if self._cancelled:
                    return
                if self._ahead is not None:
                    self._sending = True
                    yield WAITING  # the driver sends the request, then resumes this
                    self._sending = False
                    if self._cancelled:
                        return
                self._parts.append(self._open_next())
            part = self._parts[-1]
            for chunk in part:
                if chunk is WAITING:  # a part's bytes have not arrived: its driver awaits them
                    yield chunk
                    continue
                choices = chunk.body.get("choices") if isinstance(chunk.body, dict) else None
                if choices == [] and chunk.body.get("usage") is not None:
                    # Each request's usage chunk: one chunk for the whole call comes last.
                    usage = _summed(usage, chunk)
                    continue
                for choice in choices if isinstance(choices, list) else ():
                    if isinstance(choice, dict):
                        choice["index"] = number
                yield chunk
            if part.errors:
                return
        if usage is not None:
            yield usage
        if self._reader is not None:
            self._read_output(self._merged())
            if self._errors:
                yield self._failed()

    @property
    def errors(self) -> List[OpenAIError]:
        return [error for part in self._parts for error in part.errors] + self._errors

    def _awaiting(self) -> Any:
        return self._ahead if self._sending else self._parts[-1]._awaiting()

    def abort(self) -> None:
        self._cancelled = True
        self._parts[-1].abort()

    def close(self) -> None:
        self._iterator.close()
        for part in self._parts:
            part.close()

    def result(self) -> OpenAIChatCompletionResult:
        """The merged final result (drains what is left first, as for one stream)."""
        for _ in self._iterator:
            pass
        if self._final is not None:  # read as the call's types already
            return self._final
        merged = self._merged()
        if not merged.errors and len(self._parts) < self._count:
            merged.errors.append(
                OpenAIError(
                    status=merged.status,
                    message="the stream was closed before its end (%d of %d requests made)"
                    % (len(self._parts), self._count),
                    type="cancelled",
                    headers=merged.headers,
                )
            )
        return merged

    def _merged(self) -> OpenAIChatCompletionResult:
        merged = merge_results([part.result() for part in self._parts])
        merged.terminated = True
        return merged
