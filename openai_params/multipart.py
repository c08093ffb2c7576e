"""multipart/form-data bodies (RFC 7578), built with the standard library and sent in pieces.

A file is never read whole: :class:`MultipartBody` is the body's parts, with
its length (``Content-Length``) computed up front from the sizes of the
texts and the file; iterating over it yields the bytes to send, reading the
file in 64 KiB pieces. It can be iterated again (the file is opened anew), so
an attempt that the transport makes again sends the same bytes.

    body = MultipartBody([Field("purpose", "batch"), FileField("file", "requests.jsonl")])
    body.content_type    # 'multipart/form-data; boundary=...'
    body.length          # the whole size, for Content-Length
    b"".join(body)       # the bytes (what the transport sends, piece by piece)

What the format is, in RFC 7578's terms: each part starts with
``--boundary CRLF``, then ``Content-Disposition: form-data; name="..."``
(and ``filename="..."`` for a file), an optional ``Content-Type``, an empty
line, the content and a CRLF; the body ends with ``--boundary-- CRLF``. Names
and file names are written as HTML forms do (WHATWG "multipart/form-data
encoding algorithm"): UTF-8, with ``"``, CR and LF percent-encoded.
"""

import errno
import os
from typing import Iterator, List, Optional, Sequence, Union

__all__ = ["MultipartBody", "Field", "FileField"]

_PIECE = 65536  # bytes read from a file at a time


def _quoted(text: str) -> bytes:
    # WHATWG: replace 0x0A (LF) with `%0A`, 0x0D (CR) with `%0D` and 0x22 (") with `%22`.
    return text.replace("\n", "%0A").replace("\r", "%0D").replace('"', "%22").encode("utf-8")


class Field:
    """A text field: ``name`` and its ``value``."""

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value.encode("utf-8")

    def head(self) -> bytes:
        return b'Content-Disposition: form-data; name="%s"\r\n\r\n' % _quoted(self.name)


class FileField:
    """A file field: its bytes, or the path of a file read as the body is sent.

    ``filename`` defaults to the path's last part (``"upload"`` for bytes).
    """

    def __init__(
        self,
        name: str,
        source: Union[str, "os.PathLike[str]", bytes],
        filename: Optional[str] = None,
        content_type: str = "application/octet-stream",
    ) -> None:
        self.name = name
        self.content_type = content_type
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.data: Optional[bytes] = bytes(source)
            self.path: Optional[str] = None
            self.size = len(self.data)
            self.filename = filename or "upload"
        else:
            self.data = None
            self.path = os.fspath(source)
            # OSError for a missing file, before anything is sent; a directory or a pipe has
            # no size to announce.
            self.size = os.path.getsize(self.path)
            if not os.path.isfile(self.path):
                raise OSError(errno.EINVAL, "not a regular file", self.path)
            self.filename = filename or os.path.basename(self.path)

    def head(self) -> bytes:
        return b'Content-Disposition: form-data; name="%s"; filename="%s"\r\nContent-Type: %s\r\n\r\n' % (
            _quoted(self.name),
            _quoted(self.filename),
            self.content_type.encode("ascii"),
        )

    def pieces(self) -> Iterator[bytes]:
        if self.path is None:
            yield self.data or b""
            return
        left = self.size
        with open(self.path, "rb") as handle:
            while left > 0:
                piece = handle.read(min(_PIECE, left))
                if not piece:
                    raise ValueError(
                        "%s became shorter while it was being sent (%d bytes were announced)"
                        % (self.path, self.size)
                    )
                left -= len(piece)
                yield piece


Part = Union[Field, FileField]


class MultipartBody:
    """A multipart/form-data body: iterable (again and again) over its bytes; ``length`` known."""

    def __init__(self, parts: Sequence[Part], boundary: Optional[str] = None) -> None:
        if boundary is None:
            boundary = "openai-params-" + os.urandom(16).hex()
        self.boundary = boundary
        self.parts: List[Part] = list(parts)
        self.content_type = "multipart/form-data; boundary=" + boundary
        delimiter = len(boundary) + 4  # "--" boundary CRLF
        self.length = len(boundary) + 6  # the close: "--" boundary "--" CRLF
        for part in self.parts:
            size = len(part.value) if isinstance(part, Field) else part.size
            self.length += delimiter + len(part.head()) + size + 2

    def __iter__(self) -> Iterator[bytes]:
        dash = b"--" + self.boundary.encode("ascii")
        for part in self.parts:
            yield dash + b"\r\n" + part.head()
            if isinstance(part, Field):
                yield part.value
            else:
                yield from part.pieces()
            yield b"\r\n"
        yield dash + b"--\r\n"

    def __repr__(self) -> str:
        return "<MultipartBody %d bytes, %d parts>" % (self.length, len(self.parts))
