"""``client.files``: upload, list, retrieve, delete and download files (what the Batch API reads).

    uploaded = client.files.create("requests.jsonl", purpose="batch")
    file_id = uploaded.body["id"] if uploaded.success else None
    client.files.content(file_id, "copy.jsonl")       # streamed to the path
    client.files.delete(file_id)

Every call returns an :class:`~.results.OpenAIResult` (``body`` is the file
object or the list; ``items`` lists) and never raises for a failed call unless
``throw=True`` is set in ``parameters``. An upload is sent as
multipart/form-data streamed from disk (:mod:`.multipart`): a 200 MB file is
never read into memory; a download is written piece by piece.
"""

import os
from typing import TYPE_CHECKING, Any, Generator, Optional, Union

from ._checks import check_choice, check_int, check_str, warn_unknown, wrong_type
from .errors import OpenAIException
from .request import path_segment
from .results import OpenAIResult, read_result

if TYPE_CHECKING:
    from ._http import HTTPRequest
    from .client import OpenAI
    from .parameters import OpenAIParameters

__all__ = ["Files", "FILE_PURPOSES"]

#: ``purpose`` values the OpenAI API documents for an upload (CreateFileRequest); others warn.
FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")

#: what ``content`` adds to the path while it writes (renamed to the path once complete)
PARTIAL_SUFFIX = ".part"

PathOrBytes = Union[str, "os.PathLike[str]", bytes]


class Files:
    """``client.files`` (see the module docstring)."""

    def __init__(self, client: "OpenAI") -> None:
        self._client = client

    def create(
        self,
        file: PathOrBytes,
        *,
        purpose: str,
        filename: Optional[str] = None,
        parameters: "Optional[OpenAIParameters]" = None,
    ) -> OpenAIResult:
        """Upload ``file`` (a path, read as it is sent, or bytes) for ``purpose``
        (``"batch"`` for the Batch API). ``filename``: the name the server records
        (default: the path's last part)."""
        from .multipart import Field, FileField, MultipartBody

        check_str("purpose", purpose, non_empty=True)
        if purpose not in FILE_PURPOSES:
            warn_unknown("purpose", purpose, FILE_PURPOSES)
        check_str("filename", filename, non_empty=True, optional=True)
        if not isinstance(file, (str, bytes, bytearray, os.PathLike)):
            wrong_type("file", "a path or bytes", file)
        try:
            part = FileField(
                "file", file, filename, _content_type(filename or _name(file))
            )  # (a size is read)
        except OSError as exc:
            raise ValueError("file %s cannot be read: %s" % (_name(file), exc.strerror or exc)) from exc
        body = MultipartBody([Field("purpose", purpose), part])
        request = self._client.build_request("POST", "/files", options=parameters)
        request.headers["Content-Type"] = body.content_type
        request.headers["Content-Length"] = str(body.length)
        request.body = body
        return self._client._call(request, OpenAIResult, parameters)

    def retrieve(self, file_id: str, parameters: "Optional[OpenAIParameters]" = None) -> OpenAIResult:
        return self._client._call_api("GET", _file_path(file_id), OpenAIResult, parameters)

    def list(
        self,
        *,
        purpose: Optional[str] = None,
        limit: Optional[int] = None,
        order: Optional[str] = None,
        after: Optional[str] = None,
        parameters: "Optional[OpenAIParameters]" = None,
    ) -> OpenAIResult:
        """The files (``items``); ``limit`` 1 to 10,000, ``order`` ``"asc"`` / ``"desc"``, ``after`` an id."""
        check_str("purpose", purpose, optional=True)
        check_int("limit", limit, 1, 10000, optional=True)
        check_choice("order", order, ("asc", "desc"), optional=True)
        check_str("after", after, optional=True)
        query = {"purpose": purpose, "limit": limit, "order": order, "after": after}
        return self._client._call_api("GET", "/files", OpenAIResult, parameters, query=query)

    def delete(self, file_id: str, parameters: "Optional[OpenAIParameters]" = None) -> OpenAIResult:
        return self._client._call_api("DELETE", _file_path(file_id), OpenAIResult, parameters)

    def content(
        self,
        file_id: str,
        path: Union[str, "os.PathLike[str]"],
        parameters: "Optional[OpenAIParameters]" = None,
    ) -> OpenAIResult:
        """Download a file's content to ``path``, piece by piece. It is written to
        ``path + ".part"`` and renamed once complete, so ``path`` never holds half a file.
        On success ``body`` is ``{"path": path, "bytes": size}``."""
        target = os.fspath(path)
        check_str("path", target, non_empty=True)
        client = self._client
        request = client.build_request("GET", _file_path(file_id) + "/content", options=parameters)
        # Written as steps (steps.py): OpenAI runs them here, AsyncOpenAI returns a coroutine.
        return client._drive(_download(request, target, parameters), parameters, None)


def _download(
    request: "HTTPRequest", target: str, parameters: "Optional[OpenAIParameters]"
) -> Generator[Any, Any, OpenAIResult]:
    """The download as steps: open the response, write each piece as it comes."""
    from .steps import Open, Read

    response = yield Open(request)
    if isinstance(response, OpenAIException):
        return _done(OpenAIResult(errors=[response.error]), parameters)
    try:
        if not 200 <= response.status < 300:
            return _done(read_result(response, OpenAIResult), parameters)
        partial = target + PARTIAL_SUFFIX
        size = 0
        try:
            with open(partial, "wb") as handle:
                for piece in response.iter_bytes():
                    if not piece:  # a body from the asyncio transport, with nothing yet
                        yield Read(response)
                        continue
                    handle.write(piece)
                    size += len(piece)
            os.replace(partial, target)
        except OpenAIException as exc:
            _remove(partial)
            result = OpenAIResult(status=response.status, headers=response.headers, errors=[exc.error])
            return _done(result, parameters)
        except BaseException:  # a cancel too (GeneratorExit, when the driver stops)
            _remove(partial)
            raise
        result = OpenAIResult(
            status=response.status, headers=response.headers, body={"path": target, "bytes": size}
        )
        return _done(result, parameters)
    finally:
        response.close()


def _file_path(file_id: str) -> str:
    return "/files/" + path_segment("file_id", file_id)


def _name(file: PathOrBytes) -> str:
    return "upload" if isinstance(file, (bytes, bytearray)) else os.fspath(file)


def _content_type(name: str) -> str:
    """JSON Lines files as ``application/jsonl``; anything else as octet-stream (the server looks
    at the purpose, not at this)."""
    return "application/jsonl" if name.endswith(".jsonl") else "application/octet-stream"


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _done(result: OpenAIResult, parameters: "Optional[OpenAIParameters]") -> OpenAIResult:
    if parameters is not None and parameters.throw:
        result.throw()
    return result
